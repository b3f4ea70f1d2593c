//! Changing a series without losing data: tuning its data source and
//! archives, resizing an archive, adding and dropping archives. No pgrx.
//!
//! Every change works on a definition and its state and returns new ones
//! (and, for archives whose rows move, their chunk rows); the caller
//! stores them all in one transaction. Slots keep their times: an archive
//! that is resized or added holds, for every slot of its new window, the
//! value it would show for that time, or unknown.

use crate::def::{Archive, Cf, Definition, DsKind};
use crate::engine::{CdpState, State};
use crate::error::{Result, RrdError};
use crate::plan::in_ring;
use crate::ring::{Fill, Holes, Ring, Stored};
use crate::time;

/// What `tune` changes; `None` keeps the current setting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tuning {
    /// Heartbeat, seconds.
    pub heartbeat: Option<u64>,
    /// Lower bound of input rates; `Some(None)` removes it.
    pub min: Option<Option<f64>>,
    /// Upper bound of input rates; `Some(None)` removes it.
    pub max: Option<Option<f64>>,
    /// Data source kind.
    pub kind: Option<DsKind>,
    /// Data source name.
    pub ds_name: Option<String>,
    /// New xff of one archive (by 0-based index).
    pub xff: Option<(usize, f64)>,
    /// Lateness window, seconds (docs/late.md); 0 removes it.
    pub lateness: Option<u64>,
}

/// Newest slot of an archive of `seconds_per_row` when the last update was
/// at `last_up` (microseconds): the slot `rrdtool fetch` shows last.
pub fn latest_slot(last_up: i64, seconds_per_row: u64) -> i64 {
    time::floor_secs(last_up).div_euclid(seconds_per_row.max(1) as i64)
}

/// The archive `index` of `def`, or an error that names the valid range.
pub fn archive_at(def: &Definition, index: i64) -> Result<usize> {
    usize::try_from(index)
        .ok()
        .filter(|&i| i < def.archives.len())
        .ok_or_else(|| {
            RrdError::param(format!(
                "archive {index} does not exist (the series has archives 0 to {})",
                def.archives.len() - 1
            ))
        })
}

/// Checks a definition changed by one of this module's functions, its
/// messages prefixed with the change that made it.
fn checked(def: Definition, what: &str) -> Result<Definition> {
    def.validate().map_err(|e| match e {
        RrdError::BadParameter { msg } => RrdError::param(format!("{what}: {msg}")),
        other => other,
    })?;
    Ok(def)
}

/// Applies `t` as `rrdtool tune` does: the definition changes and the
/// stored rows stay as they are, bounds included (they apply to later
/// input). A new data source kind makes the last input unknown, so the
/// next update starts a new rate instead of reading the old input with the
/// new kind's rules.
pub fn tune(def: &Definition, state: &State, t: &Tuning) -> Result<(Definition, State)> {
    let mut new = def.clone();
    let mut st = state.clone();
    if let Some(hb) = t.heartbeat {
        new.ds.heartbeat = hb;
    }
    // `checked` refuses a bound that is not finite, and min >= max.
    if let Some(b) = t.min {
        new.ds.min = b;
    }
    if let Some(b) = t.max {
        new.ds.max = b;
    }
    if let Some(kind) = t.kind {
        if kind != def.ds.kind {
            st.last_ds = None;
        }
        new.ds.kind = kind;
    }
    if let Some(name) = &t.ds_name {
        new.ds.name = name.clone();
    }
    if let Some((a, xff)) = t.xff {
        let a = archive_at(def, a as i64)?;
        if !(xff.is_finite() && (0.0..1.0).contains(&xff)) {
            return Err(RrdError::param(format!(
                "xff {xff} of archive {a} is out of range: it must be at least 0 and less than 1"
            )));
        }
        new.archives[a].xff = xff;
    }
    if let Some(w) = t.lateness {
        new.lateness = w;
    }
    Ok((checked(new, "tune")?, st))
}

/// Resizes archive `a` to `rows` slots, as `rrdtool resize` does: the
/// newest `min(old, new)` slots keep their values and times, and a grown
/// archive's older slots are unknown. Returns the new definition and the
/// chunk rows of the archive in its new shape, to be made a range at a
/// time (its holes are folded into the rows, so it has none).
pub fn resize<'a>(
    def: &Definition,
    state: &State,
    a: usize,
    old: &'a Stored,
    rows: u64,
    width: u64,
) -> Result<(Definition, Fill<impl Fn(i64) -> f64 + 'a>)> {
    // `checked` refuses 0 rows, and more slots than a series may have.
    let mut new = def.clone();
    new.archives[a].rows = rows;
    let new = checked(new, &format!("resize of archive {a}"))?;
    let archive = &def.archives[a];
    let latest = latest_slot(state.last_up, archive.seconds_per_row(def.step));
    let kept = archive.rows.min(rows);
    let fill = Fill {
        ring: Ring::new(rows, width),
        latest,
        value: move |g| {
            if in_ring(latest, kept, g) {
                old.value(g)
            } else {
                f64::NAN
            }
        },
    };
    Ok((new, fill))
}

/// Removes archive `a`: its slots go, and the others keep theirs.
pub fn drop_archive(
    def: &Definition,
    state: &State,
    holes: &[Holes],
    a: usize,
) -> Result<(Definition, State, Vec<Holes>)> {
    if def.archives.len() == 1 {
        return Err(RrdError::param(
            "cannot drop the only archive of a series (drop the series instead)",
        ));
    }
    let mut new = def.clone();
    new.archives.remove(a);
    let mut st = state.clone();
    st.cdp.remove(a);
    let mut hs = holes.to_vec();
    hs.remove(a);
    Ok((new, st, hs))
}

/// An existing archive that can fill a new one: its index and its stored
/// slots.
pub struct Source<'a> {
    /// Index of the archive in the definition.
    pub archive: usize,
    /// Its stored slots: at least those under the new archive's window.
    pub stored: &'a Stored,
}

/// Whether archive `src` can feed `new`: its rows nest in the new rows, and
/// its values are PDPs (one step per row, which every CF keeps as is) or
/// consolidated with the new archive's own CF.
pub fn can_feed(src: &Archive, new: &Archive) -> bool {
    new.steps.is_multiple_of(src.steps) && (src.steps == 1 || src.cf == new.cf)
}

/// The archives of `def` that `add_archive` may read for `new`, each with
/// the first and last of its slots that the fill can need: those under
/// the new archive's window, through the PDPs of its open row.
pub fn feeders(def: &Definition, state: &State, new: &Archive) -> Vec<(usize, i64, i64)> {
    let latest = latest_slot(state.last_up, new.seconds_per_row(def.step));
    def.archives
        .iter()
        .enumerate()
        .filter(|(_, a)| can_feed(a, new))
        .map(|(i, a)| {
            let m = (new.steps / a.steps) as i64;
            let lo = (latest - new.rows as i64).saturating_mul(m) + 1;
            (
                i,
                lo,
                latest_slot(state.last_up, a.seconds_per_row(def.step)),
            )
        })
        .collect()
}

/// Consolidates the values of the `n` PDPs of one row, given as
/// (value, PDPs it stands for) in time order, with `unknown` PDPs besides
/// them, under the archive's CF and xff, as a CDP closes: unknown when the
/// unknown PDPs are more than `xff` of the row; AVERAGE is the mean of the
/// known PDPs, MIN and MAX the extremes, LAST the row's last PDP.
fn consolidate(a: &Archive, parts: &[(f64, u64)], mut unknown: u64) -> f64 {
    for &(v, n) in parts {
        if v.is_nan() {
            unknown += n;
        }
    }
    if unknown as f64 > a.steps as f64 * a.xff {
        return f64::NAN;
    }
    let known = parts.iter().filter(|(v, _)| !v.is_nan());
    match a.cf {
        Cf::Average => {
            let (sum, n) = known.fold((0.0, 0u64), |(s, c), &(v, n)| (s + v * n as f64, c + n));
            sum / n as f64
        }
        Cf::Min => known.fold(f64::INFINITY, |m, &(v, _)| if v < m { v } else { m }),
        Cf::Max => known.fold(f64::NEG_INFINITY, |m, &(v, _)| if v > m { v } else { m }),
        Cf::Last => parts.last().map_or(f64::NAN, |&(v, _)| v),
    }
}

/// Adds archive `new` at the end of `def` and fills it from `sources`
/// (the archives `feeders` names, with their stored slots).
///
/// Each slot of the new window is consolidated, with the new archive's CF
/// and xff, from the finest source whose window holds all of its PDPs; if
/// none does, from the finest that holds some, the rest counting as
/// unknown; with none, it is unknown. The open row's accumulator is made
/// from the PDPs already completed in it, read from a source of one step
/// per row (unknown without one), so later updates consolidate as if the
/// archive had always been there. Returns the new definition, state and
/// the new archive's chunk rows, to be made a range at a time.
///
/// The work is bounded by the sources' rings and the new ring, never by
/// the steps a row stands for: sub-slots outside a source's window are
/// counted as missing without being visited.
pub fn add_archive<'a>(
    def: &Definition,
    state: &State,
    new: Archive,
    sources: &[Source<'a>],
    width: u64,
) -> Result<(Definition, State, Fill<impl Fn(i64) -> f64 + 'a>)> {
    let mut nd = def.clone();
    nd.archives.push(new.clone());
    let nd = checked(nd, "new archive")?;
    let step = def.step;
    let latest = latest_slot(state.last_up, new.seconds_per_row(step));
    // Each source, finest first: its archive, newest slot, and stored slots.
    let mut srcs: Vec<(Archive, i64, &'a Stored)> = sources
        .iter()
        .filter(|s| can_feed(&def.archives[s.archive], &new))
        .map(|s| {
            let a = &def.archives[s.archive];
            (
                a.clone(),
                latest_slot(state.last_up, a.seconds_per_row(step)),
                s.stored,
            )
        })
        .collect();
    srcs.sort_by_key(|s| s.0.steps);
    let mut st = state.clone();
    st.cdp.push(open_cdp(def, state, &new, latest, &srcs));
    let ring = Ring::new(new.rows, width);
    let value = move |g: i64| -> f64 {
        // Sub-slots `lo..=hi` of new slot `g` in source `src`, of `m` slots
        // per new row.
        let span = |src: usize| {
            let (a, _, _) = &srcs[src];
            let m = (new.steps / a.steps) as i64;
            ((g - 1).saturating_mul(m) + 1, g.saturating_mul(m))
        };
        let covers = |src: usize| -> (bool, bool) {
            let (a, src_latest, _) = &srcs[src];
            let (lo, hi) = span(src);
            (
                in_ring(*src_latest, a.rows, lo) && in_ring(*src_latest, a.rows, hi),
                in_ring(*src_latest, a.rows, lo) || in_ring(*src_latest, a.rows, hi),
            )
        };
        let full = (0..srcs.len()).find(|&s| covers(s).0);
        let Some(src) = full.or_else(|| (0..srcs.len()).find(|&s| covers(s).1)) else {
            return f64::NAN;
        };
        let (a, src_latest, stored) = &srcs[src];
        let (lo, hi) = span(src);
        // Only the sub-slots in the source's window are stored; the others
        // count as missing PDPs.
        let first = lo.max(src_latest - a.rows as i64 + 1);
        let last = hi.min(*src_latest);
        let kept = (last - first + 1).max(0);
        let parts: Vec<(f64, u64)> = (first..first + kept)
            .map(|h| (stored.value(h), a.steps))
            .collect();
        let missing = ((hi - lo + 1 - kept) as u64).saturating_mul(a.steps);
        consolidate(&new, &parts, missing)
    };
    Ok((
        nd,
        st,
        Fill {
            ring,
            latest,
            value,
        },
    ))
}

/// The accumulator of the new archive's open row: the PDPs completed since
/// its last full row, from the longest source of one step per row.
fn open_cdp(
    def: &Definition,
    state: &State,
    new: &Archive,
    latest: i64,
    srcs: &[(Archive, i64, &Stored)],
) -> CdpState {
    let pdp_latest = latest_slot(state.last_up, def.step);
    let first = latest * new.steps as i64 + 1;
    // Every one-step archive ends at the newest PDP; the longest reaches
    // furthest back into the open row.
    let fine = srcs
        .iter()
        .filter(|(a, _, _)| a.steps == 1)
        .max_by_key(|(a, _, _)| a.rows);
    let mut cdp = CdpState {
        val: f64::NAN,
        unknown_pdps: 0,
    };
    // PDPs outside the source's window are unknown, counted without a
    // visit: a row may stand for a billion of them.
    let total = (pdp_latest - first + 1).max(0);
    let (lo, hi) = match fine {
        Some((a, src_latest, _)) => (
            first.max(src_latest - a.rows as i64 + 1),
            pdp_latest.min(*src_latest),
        ),
        None => (first, first - 1),
    };
    let seen = (hi - lo + 1).max(0);
    cdp.unknown_pdps = (total - seen) as u64;
    for p in lo..lo + seen {
        let v = match fine {
            Some((_, _, stored)) => stored.value(p),
            None => f64::NAN,
        };
        if v.is_nan() {
            cdp.unknown_pdps += 1;
            continue;
        }
        cdp.val = if cdp.val.is_nan() {
            v
        } else {
            match new.cf {
                Cf::Average => cdp.val + v,
                Cf::Min => cdp.val.min(v),
                Cf::Max => cdp.val.max(v),
                Cf::Last => v,
            }
        };
    }
    cdp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::def::{parse, parse_archive};
    use crate::engine::{update, Run};
    use crate::testrng::XorShift as Rng;
    use std::collections::BTreeMap;

    const S: i64 = time::US;
    const T0: i64 = 1_000_000_000;

    /// A series as an archive store that keeps every slot written.
    struct Model {
        def: Definition,
        state: State,
        slots: Vec<BTreeMap<i64, f64>>,
    }

    impl Model {
        fn new(def: Definition) -> Model {
            let state = State::new(&def, T0 * S);
            let slots = vec![BTreeMap::new(); def.archives.len()];
            Model { def, state, slots }
        }

        fn update(&mut self, t: i64, v: Option<&str>) {
            let mut runs: Vec<Run> = Vec::new();
            update(&self.def, &mut self.state, t, v, &mut runs).unwrap();
            for r in runs {
                for k in 0..r.count as i64 {
                    self.slots[r.archive].insert(r.first_slot + k, r.value);
                }
            }
        }

        fn latest(&self, a: usize) -> i64 {
            latest_slot(
                self.state.last_up,
                self.def.archives[a].seconds_per_row(self.def.step),
            )
        }

        /// Value of slot `g` of archive `a` as a fetch shows it.
        fn at(&self, a: usize, g: i64) -> f64 {
            if !in_ring(self.latest(a), self.def.archives[a].rows, g) {
                return f64::NAN;
            }
            self.slots[a].get(&g).copied().unwrap_or(f64::NAN)
        }

        /// Archive `a` as stored in rows of `width`.
        fn stored(&self, a: usize, width: u64) -> Stored {
            let ring = Ring::new(self.def.archives[a].rows, width);
            let chunks = crate::ring::layout(ring, self.latest(a), |g| self.at(a, g));
            Stored {
                ring,
                holes: Holes::new(),
                chunks: chunks
                    .into_iter()
                    .enumerate()
                    .map(|(c, dp)| (c as u32, dp))
                    .collect(),
            }
        }

        /// Replaces archive `a`'s slots by chunk rows of `width`.
        fn load(&mut self, a: usize, rows: &[Vec<f64>], width: u64) {
            let ring = Ring::new(self.def.archives[a].rows, width);
            let latest = self.latest(a);
            let stored = Stored {
                ring,
                holes: Holes::new(),
                chunks: rows
                    .iter()
                    .cloned()
                    .enumerate()
                    .map(|(c, dp)| (c as u32, dp))
                    .collect(),
            };
            let mut map = BTreeMap::new();
            for g in latest - ring.rows as i64 + 1..=latest {
                map.insert(g, stored.value(g));
            }
            if self.slots.len() <= a {
                self.slots.resize(a + 1, BTreeMap::new());
            }
            self.slots[a] = map;
        }
    }

    /// Random GAUGE history: steps of 1-29 s, now and then a gap longer
    /// than the heartbeat or an unknown input.
    fn history(rng: &mut Rng, from: i64, n: usize) -> Vec<(i64, Option<String>)> {
        let mut t = from;
        (0..n)
            .map(|_| {
                t += match rng.below(20) {
                    0 => 60 + rng.below(400) as i64,
                    _ => 1 + rng.below(29) as i64,
                } * S
                    + rng.below(3) as i64 * 250_000;
                let v = match rng.below(15) {
                    0 => None,
                    _ => Some(format!("{}.{}", rng.below(1000), rng.below(100))),
                };
                (t, v)
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b || ((a - b) / b).abs() < 1e-12
    }

    /// Adding an archive to a series whose finest archive holds the new
    /// window gives the rows, and then the later rows, that the archive
    /// would have had from the start: to the bit for MIN, MAX and LAST,
    /// and within rounding of the sum order for AVERAGE.
    #[test]
    fn added_archive_is_as_if_it_was_always_there() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let base = "--step 10 DS:x:GAUGE:40:U:U RRA:AVERAGE:0.5:1:3000 RRA:MAX:0.3:3:200";
        let mut compared = 0;
        for case in 0..120 {
            let cf = ["AVERAGE", "MIN", "MAX", "LAST"][case % 4];
            let xff = ["0", "0.3", "0.5", "0.9"][rng.below(4) as usize];
            let steps = [2, 3, 6, 7, 12][rng.below(5) as usize];
            let rows = 5 + rng.below(60);
            let extra = format!("RRA:{cf}:{xff}:{steps}:{rows}");
            let width = 1 + rng.below(50);
            let mut with = Model::new(parse(&format!("{base} {extra}")).unwrap());
            let mut without = Model::new(parse(base).unwrap());
            let n = 400 + rng.below(800) as usize;
            let h = history(&mut rng, T0 * S, n);
            let (h1, h2) = h.split_at(h.len() / 2 + rng.below(50) as usize);
            for (t, v) in h1 {
                with.update(*t, v.as_deref());
                without.update(*t, v.as_deref());
            }
            let new = parse_archive(&extra, 10).unwrap();
            let stored: Vec<Stored> = (0..2).map(|a| without.stored(a, width)).collect();
            let sources: Vec<Source> = feeders(&without.def, &without.state, &new)
                .into_iter()
                .map(|(a, _, _)| Source {
                    archive: a,
                    stored: &stored[a],
                })
                .collect();
            let (def, state, rows_new) =
                add_archive(&without.def, &without.state, new.clone(), &sources, width).unwrap();
            assert_eq!(def, with.def);
            without.def = def;
            without.state = state;
            without.load(2, &rows_new.all(), width);
            let check = |a: &Model, b: &Model, what: &str| {
                for g in a.latest(2) - rows as i64 + 1..=a.latest(2) {
                    let (x, y) = (a.at(2, g), b.at(2, g));
                    let ok = if cf == "AVERAGE" {
                        close(x, y)
                    } else {
                        x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
                    };
                    assert!(
                        ok,
                        "case {case} {extra} {what} slot {g}: filled {y}, kept {x}"
                    );
                }
            };
            check(&with, &without, "after the fill");
            for (t, v) in h2 {
                with.update(*t, v.as_deref());
                without.update(*t, v.as_deref());
                check(&with, &without, "after more updates");
            }
            for a in 0..2 {
                for g in with.latest(a) - 300..=with.latest(a) {
                    assert!(
                        with.at(a, g).to_bits() == without.at(a, g).to_bits()
                            || with.at(a, g).is_nan() && without.at(a, g).is_nan()
                    );
                }
            }
            compared += rows;
        }
        assert!(compared > 3000);
    }

    /// A coarser source stands in where the finest one no longer reaches,
    /// and rows no source holds are unknown.
    #[test]
    fn added_archive_reads_coarser_sources_further_back() {
        let def = parse("--step 10 DS:x:GAUGE:40:U:U RRA:MAX:0.5:1:30 RRA:MAX:0.5:3:100").unwrap();
        let mut m = Model::new(def);
        for i in 1..=600 {
            m.update((T0 + i * 10) * S, Some(&i.to_string()));
        }
        let new = parse_archive("RRA:MAX:0.5:6:200", 10).unwrap();
        let stored: Vec<Stored> = (0..2).map(|a| m.stored(a, 7)).collect();
        let sources: Vec<Source> = feeders(&m.def, &m.state, &new)
            .into_iter()
            .map(|(a, _, _)| Source {
                archive: a,
                stored: &stored[a],
            })
            .collect();
        let (_, _, rows) = add_archive(&m.def, &m.state, new, &sources, 16).unwrap();
        m.def
            .archives
            .push(parse_archive("RRA:MAX:0.5:6:200", 10).unwrap());
        m.load(2, &rows.all(), 16);
        // PDP p (ending at 10p s) is input p - T0/10; the MAX archive of
        // 3 steps holds PDPs back to 300, the one of 1 step to 570.
        let latest3 = m.latest(1);
        let (mut full, mut none) = (0, 0);
        for g in m.latest(2) - 199..=m.latest(2) {
            let pdps = 6 * g - 5..=6 * g;
            let input = |p: i64| p - T0 / 10;
            let got = m.at(2, g);
            if pdps.clone().all(|p| (301..=600).contains(&input(p))) {
                assert!(in_ring(latest3, 100, 2 * g - 1));
                assert_eq!(got, input(6 * g) as f64, "slot {g}");
                full += 1;
            } else if !in_ring(latest3, 100, 2 * g) {
                assert!(got.is_nan(), "slot {g}: {got}");
                none += 1;
            }
        }
        assert!(full >= 49 && none >= 100, "{full} {none}");
    }

    /// The open row is read from the one-step archive that reaches
    /// furthest back, whatever the order of the archives.
    #[test]
    fn open_row_from_the_longest_one_step_archive() {
        let base = "--step 10 DS:x:GAUGE:40:U:U RRA:LAST:0:1:2 RRA:MAX:0:1:100";
        let extra = "RRA:AVERAGE:0:6:10";
        let mut with = Model::new(parse(&format!("{base} {extra}")).unwrap());
        let mut without = Model::new(parse(base).unwrap());
        // 6-step rows end at multiples of 60 s; stop 50 s into one.
        let first = (T0 / 60 + 1) * 60;
        for i in 1..=11 {
            let t = (first + 10 * i) * S;
            with.update(t, Some(&i.to_string()));
            without.update(t, Some(&i.to_string()));
        }
        let new = parse_archive(extra, 10).unwrap();
        let stored: Vec<Stored> = (0..2).map(|a| without.stored(a, 4)).collect();
        let sources: Vec<Source> = feeders(&without.def, &without.state, &new)
            .into_iter()
            .map(|(a, _, _)| Source {
                archive: a,
                stored: &stored[a],
            })
            .collect();
        let (_, state, _) = add_archive(&without.def, &without.state, new, &sources, 4).unwrap();
        assert_eq!(state.cdp[2].unknown_pdps, 0);
        assert_eq!(state.cdp[2].val, with.state.cdp[2].val);
    }

    /// A row of a billion steps costs what the rings hold, not its steps:
    /// this ran for seconds (and asked for 16 GB) when every sub-slot and
    /// PDP of the open row was visited.
    #[test]
    fn an_archive_of_a_billion_steps_is_bounded_by_the_rings() {
        let mut m = Model::new(parse("--step 1 DS:x:GAUGE:40:U:U RRA:LAST:0:1:50").unwrap());
        for i in 1..=40 {
            m.update((T0 + i) * S, Some(&i.to_string()));
        }
        let new = parse_archive("RRA:AVERAGE:0.5:1000000000:3", 1).unwrap();
        let stored: Vec<Stored> = vec![m.stored(0, 8)];
        let sources: Vec<Source> = feeders(&m.def, &m.state, &new)
            .into_iter()
            .map(|(a, _, _)| Source {
                archive: a,
                stored: &stored[a],
            })
            .collect();
        let (def, state, fill) = add_archive(&m.def, &m.state, new, &sources, 8).unwrap();
        let rows = fill.all();
        assert_eq!(def.archives.len(), 2);
        assert!(rows.iter().flatten().all(|v| v.is_nan()));
        // The open row holds every PDP since its start: the 40 known ones
        // of the source, the rest unknown.
        let open = &state.cdp[1];
        let first = (T0 / 1_000_000_000) * 1_000_000_000 + 1;
        let pdps = (T0 + 40) - first + 1;
        assert_eq!(open.unknown_pdps as i64, pdps - 40);
        assert_eq!(open.val, (1..=40).sum::<i64>() as f64);
    }

    /// Resizing keeps the newest slots at their times.
    #[test]
    fn resize_keeps_the_newest_slots() {
        let mut rng = Rng(77);
        for case in 0..60 {
            let rows = 1 + rng.below(40);
            let def = parse(&format!("--step 10 DS:x:GAUGE:40:U:U RRA:LAST:0:2:{rows}")).unwrap();
            let mut m = Model::new(def);
            for (t, v) in history(&mut rng, T0 * S, 200) {
                m.update(t, v.as_deref());
            }
            let width = 1 + rng.below(9);
            let new_rows = 1 + rng.below(60);
            let old = m.stored(0, width);
            let (def, chunks) = resize(&m.def, &m.state, 0, &old, new_rows, width).unwrap();
            assert_eq!(def.archives[0].rows, new_rows);
            let mut r = Model {
                def: def.clone(),
                state: m.state.clone(),
                slots: vec![],
            };
            r.load(0, &chunks.all(), width);
            let latest = m.latest(0);
            for g in latest - 80..=latest + 1 {
                let want = if in_ring(latest, rows.min(new_rows), g) {
                    m.at(0, g)
                } else {
                    f64::NAN
                };
                let got = r.at(0, g);
                assert!(
                    want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
                    "case {case} slot {g}"
                );
            }
        }
    }

    #[test]
    fn tune_changes_only_what_it_names() {
        let def = parse("--step 10 DS:x:COUNTER:40:0:U RRA:AVERAGE:0.5:1:10").unwrap();
        let mut state = State::new(&def, T0 * S);
        state.last_ds = Some("42".into());
        let t = Tuning {
            heartbeat: Some(600),
            max: Some(Some(100.0)),
            ..Tuning::default()
        };
        let (d, s) = tune(&def, &state, &t).unwrap();
        assert_eq!(
            d.to_string(),
            "--step 10 DS:x:COUNTER:600:0:100 RRA:AVERAGE:0.5:1:10"
        );
        assert_eq!(format!("{s:?}"), format!("{state:?}"));
        // A new kind forgets the last input; the same kind keeps it.
        let (_, s) = tune(
            &def,
            &state,
            &Tuning {
                kind: Some(DsKind::Counter),
                ..Tuning::default()
            },
        )
        .unwrap();
        assert_eq!(s.last_ds.as_deref(), Some("42"));
        let (d, s) = tune(
            &def,
            &state,
            &Tuning {
                kind: Some(DsKind::Derive),
                min: Some(None),
                ..Tuning::default()
            },
        )
        .unwrap();
        assert_eq!(s.last_ds, None);
        assert_eq!(
            d.to_string(),
            "--step 10 DS:x:DERIVE:40:U:U RRA:AVERAGE:0.5:1:10"
        );
        let (d, _) = tune(
            &def,
            &state,
            &Tuning {
                xff: Some((0, 0.9)),
                ds_name: Some("y".into()),
                ..Tuning::default()
            },
        )
        .unwrap();
        assert_eq!(
            d.to_string(),
            "--step 10 DS:y:COUNTER:40:0:U RRA:AVERAGE:0.9:1:10"
        );
        for (t, msg) in [
            (
                Tuning {
                    min: Some(Some(5.0)),
                    max: Some(Some(5.0)),
                    ..Tuning::default()
                },
                "tune: data source min (5) must be less than max (5)",
            ),
            (
                Tuning {
                    heartbeat: Some(0),
                    ..Tuning::default()
                },
                "tune: heartbeat 0 is out of range",
            ),
            (
                Tuning {
                    xff: Some((1, 0.5)),
                    ..Tuning::default()
                },
                "archive 1 does not exist (the series has archives 0 to 0)",
            ),
            (
                Tuning {
                    xff: Some((0, 1.0)),
                    ..Tuning::default()
                },
                "xff 1 of archive 0 is out of range",
            ),
            (
                Tuning {
                    ds_name: Some("a b".into()),
                    ..Tuning::default()
                },
                "tune: invalid data source name \"a b\"",
            ),
        ] {
            let e = tune(&def, &state, &t).unwrap_err().to_string();
            assert!(e.starts_with(msg), "{e}");
        }
    }

    #[test]
    fn dropping_an_archive_keeps_the_others() {
        let def =
            parse("--step 10 DS:x:GAUGE:40:U:U RRA:AVERAGE:0.5:1:10 RRA:MAX:0.5:6:10").unwrap();
        let mut state = State::new(&def, T0 * S);
        state.cdp[1].unknown_pdps = 3;
        let holes = vec![vec![(1, 2)], vec![(5, 9)]];
        let (d, s, h) = drop_archive(&def, &state, &holes, 0).unwrap();
        assert_eq!(
            d.to_string(),
            "--step 10 DS:x:GAUGE:40:U:U RRA:MAX:0.5:6:10"
        );
        assert_eq!(
            format!("{:?}", s.cdp),
            format!("{:?}", vec![state.cdp[1].clone()])
        );
        assert_eq!(h, vec![vec![(5, 9)]]);
        let e = drop_archive(&d, &s, &h, 0).unwrap_err().to_string();
        assert!(e.contains("only archive"), "{e}");
    }
}
