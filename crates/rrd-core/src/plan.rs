//! Fetch planning: which archive answers a fetch and which rows it returns,
//! as `rrdtool fetch` decides. No pgrx.

use crate::def::{Cf, Definition};
use crate::error::{Result, RrdError};

/// Earliest fetch start rrdtool accepts (ten 365-day years after the epoch).
pub const MIN_FETCH_START: i64 = 3600 * 24 * 365 * 10;

/// The answer to a fetch request: rows labelled `start + step`, ..., `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Index of the chosen archive.
    pub archive: usize,
    /// Seconds per row of that archive.
    pub step: i64,
    /// Aligned start (exclusive: the first row is labelled `start + step`).
    pub start: i64,
    /// Aligned end, the label of the last row.
    pub end: i64,
    /// Newest slot of the archive, `g` of the slot ending at the last update.
    pub latest: i64,
}

impl Plan {
    /// Number of rows the fetch returns.
    pub fn row_count(&self) -> i64 {
        (self.end - self.start) / self.step
    }
}

/// Whether an archive of consolidation `have` with `steps` per row can
/// answer a request for `want`: the same CF, or any 1-step archive.
fn qualifies(want: Cf, have: Cf, steps: u64) -> bool {
    want == have || steps == 1
}

/// A fetch range must not end before it starts.
fn check_order(start: i64, end: i64) -> Result<()> {
    if end < start {
        return Err(RrdError::TimeRange {
            msg: format!(
                "fetch start {} is after its end {}",
                crate::time::format(start * crate::time::US),
                crate::time::format(end * crate::time::US)
            ),
        });
    }
    Ok(())
}

/// Plans a fetch of `cf` over `[start, end]` (whole seconds) at requested
/// resolution `resolution` seconds (1 = finest), given the last update time
/// `last_up` in whole seconds.
pub fn plan(
    def: &Definition,
    last_up: i64,
    cf: Cf,
    start: i64,
    end: i64,
    resolution: i64,
) -> Result<Plan> {
    if start < MIN_FETCH_START {
        return Err(RrdError::TimeRange {
            msg: "fetch start must be after 1980-01-01 (the first entry to fetch should be after 1980)".into(),
        });
    }
    check_order(start, end)?;
    let mut best_full: Option<(usize, i64)> = None;
    let mut best_part: Option<(usize, i64, i64)> = None;
    for (i, a) in def.archives.iter().enumerate() {
        if !qualifies(cf, a.cf, a.steps) {
            continue;
        }
        let step_i = (def.step * a.steps) as i64;
        let cal_end = last_up - last_up.rem_euclid(step_i);
        let cal_start = cal_end - step_i * a.rows as i64;
        let diff = (resolution - step_i).abs();
        if cal_start <= start {
            if best_full.is_none_or(|(_, d)| diff < d) {
                best_full = Some((i, diff));
            }
        } else {
            let covered = (end - start) - (cal_start - start);
            let better = match best_part {
                None => true,
                Some((_, m, d)) => m < covered || (m == covered && diff < d),
            };
            if better {
                best_part = Some((i, covered, diff));
            }
        }
    }
    let archive = match (best_full, best_part) {
        (Some((i, _)), _) => i,
        (None, Some((i, _, _))) => i,
        (None, None) => {
            return Err(RrdError::param(format!(
                "the series has no archive matching consolidation function {}",
                cf.as_str()
            )))
        }
    };
    let step = (def.step * def.archives[archive].steps) as i64;
    let start = start - start.rem_euclid(step);
    let end = end + (step - end.rem_euclid(step));
    let latest = last_up.div_euclid(step);
    Ok(Plan {
        archive,
        step,
        start,
        end,
        latest,
    })
}

/// Whether slot `g` lies in the ring of `rows` slots ending at `latest`.
pub fn in_ring(latest: i64, rows: u64, g: i64) -> bool {
    g <= latest && g > latest - rows as i64
}

/// For each archive, the slots of its ring that end in `(from, until]`
/// (whole seconds), given the last update `last_up` in whole seconds:
/// `(archive, first, last)`, in archive order, empty windows left out.
pub fn windows(def: &Definition, last_up: i64, from: i64, until: i64) -> Vec<(usize, i64, i64)> {
    def.archives
        .iter()
        .enumerate()
        .filter_map(|(a, archive)| {
            let spr = archive.seconds_per_row(def.step) as i64;
            if spr <= 0 {
                return None;
            }
            let latest = last_up.div_euclid(spr);
            let lo = (from.div_euclid(spr) + 1).max(latest - archive.rows as i64 + 1);
            let hi = until.div_euclid(spr).min(latest);
            (lo <= hi).then_some((a, lo, hi))
        })
        .collect()
}

/// One part of a stitched read: slots `first..=last` of archive `archive`,
/// each `step` seconds long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub archive: usize,
    pub step: i64,
    pub first: i64,
    pub last: i64,
}

/// Plans a stitched read of `cf` over `(start, end]` (whole seconds): each
/// part of the range from the finest archive that still holds it. Going
/// back in time, an archive takes over where the finer ones' rings end,
/// with its whole rows that end at or before that point. Segments come in
/// time order, oldest first.
pub fn stitch(
    def: &Definition,
    last_up: i64,
    cf: Cf,
    start: i64,
    end: i64,
) -> Result<Vec<Segment>> {
    check_order(start, end)?;
    let mut archives: Vec<(usize, i64)> = def
        .archives
        .iter()
        .enumerate()
        .filter(|(_, a)| qualifies(cf, a.cf, a.steps))
        .map(|(i, a)| (i, a.seconds_per_row(def.step) as i64))
        .filter(|&(_, spr)| spr > 0)
        .collect();
    // Finest first; among equals, the archive of the CF asked for.
    archives.sort_by_key(|&(i, spr)| (spr, def.archives[i].cf != cf, i));
    let mut out = Vec::new();
    // Everything after `covered` is answered by a finer archive.
    let mut covered = end;
    for (i, spr) in archives {
        let rows = def.archives[i].rows as i64;
        let latest = last_up.div_euclid(spr);
        let first = (latest - rows + 1).max(start.div_euclid(spr) + 1);
        let last = latest.min(covered.div_euclid(spr));
        if first <= last {
            out.push(Segment {
                archive: i,
                step: spr,
                first,
                last,
            });
            covered = covered.min((first - 1) * spr);
        }
        if covered <= start {
            break;
        }
    }
    out.reverse();
    Ok(out)
}

/// The group of slot `g` when rows are merged `k` at a time: slots
/// `G*k + 1 ..= G*k + k`, which cover `(G*k*step, (G+1)*k*step]`, so that
/// groups of series with different steps line up when `k*step` is equal.
fn group_of(g: i64, k: i64) -> i64 {
    (g - 1).div_euclid(k)
}

/// The label of the group of slot `g` when rows are merged `k` at a time:
/// its last slot (see `group_of`).
pub fn group_label(g: i64, k: i64) -> i64 {
    (group_of(g, k) + 1) * k
}

/// How many consecutive rows to merge so that the rows `first..=last`
/// become at most `points` groups (see `group_of`: groups are aligned, so a
/// group's label does not move as the range slides).
pub fn group_size(first: i64, last: i64, points: i64) -> i64 {
    let points = points.max(1);
    let len = (last - first + 1).max(1);
    let mut k = ((len + points - 1) / points).max(1);
    // Aligned groups may need a longer run; from slot 1 on, `k = last` puts
    // every slot in one group, so the search ends. The group count only
    // changes where `group_of` of either end does, so the search steps
    // from one such `k` to the next: a few of them, however long the range.
    let limit = last.max(2 * len);
    while group_of(last, k) - group_of(first, k) + 1 > points && k < limit {
        k = next_group_change(first - 1, k)
            .min(next_group_change(last - 1, k))
            .min(limit);
    }
    k
}

/// The least `k2 > k` with `x.div_euclid(k2) != x.div_euclid(k)`
/// (`i64::MAX` when there is none).
fn next_group_change(x: i64, k: i64) -> i64 {
    if x < 0 {
        return k + 1;
    }
    match x / k {
        0 => i64::MAX,
        q => x / q + 1,
    }
}

/// The running consolidation of one group of rows: the mean weighted by
/// each value's weight, the smallest, the largest or the last of the known
/// values added, each added in time order.
#[derive(Debug, Clone, Copy)]
struct Group {
    cf: Cf,
    sum: f64,
    weight: f64,
    acc: f64,
}

impl Group {
    fn new(cf: Cf) -> Group {
        Group {
            cf,
            sum: 0.0,
            weight: 0.0,
            acc: f64::NAN,
        }
    }

    /// Adds `v` (skipped when unknown) with weight `w`.
    fn add(&mut self, v: f64, w: f64) {
        if v.is_nan() {
            return;
        }
        self.sum += v * w;
        self.weight += w;
        self.acc = match self.cf {
            Cf::Min if !self.acc.is_nan() => self.acc.min(v),
            Cf::Max if !self.acc.is_nan() => self.acc.max(v),
            Cf::Average => self.acc,
            _ => v,
        };
    }

    /// NaN when no value was known.
    fn value(&self) -> f64 {
        match self.cf {
            Cf::Average if self.weight > 0.0 => self.sum / self.weight,
            Cf::Average => f64::NAN,
            _ => self.acc,
        }
    }
}

/// The slots a fetch reads: `first..=last` in time order, of which only
/// those in `window` (the ring's) hold anything; `value(g)` reads slot `g`
/// of the window (NaN when unknown). The consolidations below read each
/// slot of the window at most once and never a slot outside it, so that
/// their work follows the ring, not the length of the range.
pub struct Slots<F> {
    /// First and last slot of the range.
    pub first: i64,
    pub last: i64,
    /// The slots that can hold a value.
    pub window: (i64, i64),
    /// Reads a slot of the window.
    pub value: F,
}

impl<F: FnMut(i64) -> f64> Slots<F> {
    /// Adds the slots `lo..=hi` of the range that lie in the window to
    /// `group`, each with the weight `weight(g)` gives slot `g`.
    fn add_to(&mut self, lo: i64, hi: i64, group: &mut Group, weight: impl Fn(i64) -> f64) {
        for g in lo.max(self.first).max(self.window.0)..=hi.min(self.last).min(self.window.1) {
            group.add((self.value)(g), weight(g));
        }
    }
}

/// The slots consolidated in aligned groups of `k` (see `group_of`), with
/// `cf` over the known values of each group: the mean, the smallest, the
/// largest or the last. A group with no known value is unknown (NaN). Each
/// group is labelled by its last slot, so its time is the end of the span
/// it covers. Groups come one at a time, in time order.
pub fn downsample<F: FnMut(i64) -> f64>(
    slots: Slots<F>,
    k: i64,
    cf: Cf,
) -> impl Iterator<Item = (i64, f64)> {
    let k = k.max(1);
    let (lo, hi) = if slots.first > slots.last {
        (1, 0)
    } else {
        (group_of(slots.first, k), group_of(slots.last, k))
    };
    let mut slots = slots;
    (lo..=hi).map(move |group| {
        let mut acc = Group::new(cf);
        slots.add_to(group * k + 1, group * k + k, &mut acc, |_| 1.0);
        ((group + 1) * k, acc.value())
    })
}

/// How many rows [`downsample`] gives for slots `first..=last`.
pub fn downsample_len(first: i64, last: i64, k: i64) -> i64 {
    if first > last {
        0
    } else {
        group_of(last, k.max(1)) - group_of(first, k.max(1)) + 1
    }
}

/// Rows of `step` seconds (slot `g` covers `((g-1)*step, g*step]`) brought
/// to rows of `res` seconds, for steps that do not divide `res` (a
/// divisor's rows merge whole, see `downsample`). Output row `j` covers
/// `((j-1)*res, j*res]` and takes the known slots that overlap it, with
/// `cf`: the mean weighted by the seconds each shares with it, the
/// smallest, the largest, or the last. A slot longer than `res` thus gives
/// its value to each output row it covers. Gives the rows `rows` (see
/// [`resample_rows`]) as `(j, value)`, NaN where no known slot overlaps,
/// one at a time in time order.
pub fn resample<F: FnMut(i64) -> f64>(
    slots: Slots<F>,
    step: i64,
    res: i64,
    cf: Cf,
    rows: (i64, i64),
) -> impl Iterator<Item = (i64, f64)> {
    let (step, res) = (step.max(1), res.max(1));
    let mut slots = slots;
    (rows.0..=rows.1).map(move |j| {
        let (from, to) = ((j - 1) * res, j * res);
        // Slots g with (g-1)*step < to and g*step > from.
        let lo = from.div_euclid(step) + 1;
        let hi = (to - 1).div_euclid(step) + 1;
        // Each slot weighs the seconds it shares with the row.
        let mut acc = Group::new(cf);
        slots.add_to(lo, hi, &mut acc, |g| {
            let (a, b) = ((g - 1) * step, g * step);
            (b.min(to) - a.max(from)) as f64
        });
        (j, acc.value())
    })
}

/// The output rows `j` of [`resample`] that slots `first..=last` of `step`
/// seconds touch at resolution `res`, kept to those that end after
/// `start` and begin at or before `stop` (whole seconds). Empty when
/// `.0 > .1`.
pub fn resample_rows(
    first: i64,
    last: i64,
    step: i64,
    res: i64,
    start: i64,
    stop: i64,
) -> (i64, i64) {
    let (step, res) = (step.max(1), res.max(1));
    if first > last {
        return (1, 0);
    }
    let lo = ((first - 1) * step).div_euclid(res) + 1;
    let hi = (last * step - 1).div_euclid(res) + 1;
    // j*res > start and (j-1)*res <= stop.
    (
        lo.max(start.div_euclid(res) + 1),
        hi.min(stop.div_euclid(res) + 1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slots `rows` (contiguous, in order) seen through `window`.
    fn slots(rows: &[(i64, f64)], window: (i64, i64)) -> Slots<impl FnMut(i64) -> f64 + '_> {
        let first = rows.first().map_or(1, |r| r.0);
        let last = rows.last().map_or(0, |r| r.0);
        Slots {
            first,
            last,
            window,
            value: move |g: i64| {
                assert!(
                    g >= window.0 && g <= window.1 && g >= first && g <= last,
                    "slot {g} read outside the window {window:?} of {first}..={last}"
                );
                rows[(g - first) as usize].1
            },
        }
    }

    /// Resampling agrees with a brute-force reading second by second:
    /// every output row from the input rows that share a second with it,
    /// slots outside the window counting as unknown (and never read).
    #[test]
    fn resample_weighs_rows_by_shared_seconds() {
        let mut rng = crate::testrng::XorShift(0x9e37_79b9);
        let mut rnd = move |n: u64| rng.below(n);
        for _ in 0..3000 {
            let step = 1 + rnd(90) as i64;
            let res = 1 + rnd(200) as i64;
            let first = rnd(50) as i64 - 10;
            let rows: Vec<(i64, f64)> = (first..first + 1 + rnd(30) as i64)
                .map(|g| {
                    (
                        g,
                        if rnd(5) == 0 {
                            f64::NAN
                        } else {
                            rnd(1000) as f64 / 8.0
                        },
                    )
                })
                .collect();
            let w0 = first - 5 + rnd(25) as i64;
            let window = (w0, w0 + rnd(40) as i64);
            let seen = |g: i64| {
                let v = rows.iter().find(|r| r.0 == g).unwrap().1;
                if g < window.0 || g > window.1 {
                    f64::NAN
                } else {
                    v
                }
            };
            let (lo_slot, hi_slot) = (rows[0].0, rows.last().unwrap().0);
            // Every output row the slots touch, and a random part of them.
            let all = resample_rows(lo_slot, hi_slot, step, res, i64::MIN / 4, i64::MAX / 4);
            let start = (lo_slot - 3) * step + rnd(60) as i64;
            let stop = start + rnd(3000) as i64;
            let part = resample_rows(lo_slot, hi_slot, step, res, start, stop);
            for cf in [Cf::Average, Cf::Min, Cf::Max, Cf::Last] {
                let got: Vec<(i64, f64)> =
                    resample(slots(&rows, window), step, res, cf, all).collect();
                // The seconds each row covers, and the output rows they fall in.
                let lo = (rows[0].0 - 1) * step + 1;
                let hi = rows.last().unwrap().0 * step;
                let want_rows: Vec<i64> =
                    ((lo - 1).div_euclid(res) + 1..=(hi - 1).div_euclid(res) + 1).collect();
                assert_eq!(
                    got.iter().map(|r| r.0).collect::<Vec<_>>(),
                    want_rows,
                    "step {step} res {res}"
                );
                let kept: Vec<(i64, f64)> =
                    resample(slots(&rows, window), step, res, cf, part).collect();
                let want_kept: Vec<i64> = want_rows
                    .iter()
                    .copied()
                    .filter(|&j| j * res > start && (j - 1) * res <= stop)
                    .collect();
                assert_eq!(kept.iter().map(|r| r.0).collect::<Vec<_>>(), want_kept);
                for (j, v) in got {
                    let secs = ((j - 1) * res + 1).max(lo)..=(j * res).min(hi);
                    let known: Vec<(i64, f64)> = secs
                        .clone()
                        .map(|t| {
                            let g = (t - 1).div_euclid(step) + 1;
                            (g, seen(g))
                        })
                        .filter(|r| !r.1.is_nan())
                        .collect();
                    let want = if known.is_empty() {
                        f64::NAN
                    } else {
                        match cf {
                            Cf::Average => {
                                known.iter().map(|r| r.1).sum::<f64>() / known.len() as f64
                            }
                            Cf::Min => known.iter().map(|r| r.1).fold(f64::INFINITY, f64::min),
                            Cf::Max => known.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max),
                            Cf::Last => known.last().unwrap().1,
                        }
                    };
                    let ok = (want.is_nan() && v.is_nan())
                        || (want - v).abs() <= 1e-9 * want.abs().max(1.0);
                    assert!(ok, "{cf:?} step {step} res {res} row {j}: {v}, want {want}");
                }
            }
        }
    }

    /// Where the step divides the resolution, resampling is the plain merge.
    #[test]
    fn resample_of_a_divisor_is_downsample() {
        let rows: Vec<(i64, f64)> = (5..40)
            .map(|g| (g, if g % 7 == 0 { f64::NAN } else { g as f64 }))
            .collect();
        let window = (8, 33);
        for cf in [Cf::Average, Cf::Min, Cf::Max, Cf::Last] {
            let merged: Vec<(i64, f64)> = downsample(slots(&rows, window), 3, cf)
                .map(|(g, v)| (g / 3, v))
                .collect();
            let all = resample_rows(5, 39, 10, 30, 0, 1000);
            let resampled: Vec<(i64, f64)> =
                resample(slots(&rows, window), 10, 30, cf, all).collect();
            assert_eq!(format!("{merged:?}"), format!("{resampled:?}"), "{cf:?}");
        }
    }

    /// A group or row far wider than the window costs the window's slots,
    /// not its own: a thousand years of 10 s slots in one group.
    #[test]
    fn consolidation_reads_only_the_window() {
        let (first, last) = (31_536_000, 31_536_000 + 3_153_600_000);
        let window = (last - 99, last);
        let mut reads = 0;
        let slots = Slots {
            first,
            last,
            window,
            value: |g: i64| {
                reads += 1;
                (g % 7) as f64
            },
        };
        let k = group_size(first, last, 1);
        let groups: Vec<(i64, f64)> = downsample(slots, k, Cf::Max).collect();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].1, 6.0);
        assert_eq!(reads, 100);
        let mut reads = 0;
        let slots = Slots {
            first,
            last,
            window,
            value: |_: i64| {
                reads += 1;
                1.0
            },
        };
        let rows = resample_rows(first, last, 10, 7 * 31_556_952, 0, i64::MAX / 4);
        let out: Vec<(i64, f64)> = resample(slots, 10, 7 * 31_556_952, Cf::Average, rows).collect();
        assert!(out.len() > 100 && out.len() < 200, "{}", out.len());
        assert_eq!(reads, 100);
        assert_eq!(out.iter().filter(|r| !r.1.is_nan()).count(), 1);
    }

    fn def(text: &str) -> Definition {
        crate::def::parse(text).expect("valid definition")
    }

    /// The archive choices docs/semantics.md section 4 records from rrdtool 1.7.2:
    /// 10 s base step with archives of 1, 6 and 60 steps by 30 rows.
    #[test]
    fn archive_choice_matches_rrdtool() {
        let d = def("--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:30 RRA:AVERAGE:0.5:6:30 RRA:AVERAGE:0.5:60:30");
        let last = 1_000_000_000;
        let p = plan(&d, last, Cf::Average, last - 200, last, 10).expect("plan");
        assert_eq!((p.archive, p.step, p.row_count()), (0, 10, 21));
        let p = plan(&d, last, Cf::Average, last - 600, last, 10).expect("plan");
        assert_eq!((p.archive, p.step), (1, 60));
        assert_eq!(
            p.start + p.step,
            (last - 600) - (last - 600).rem_euclid(60) + 60
        );
        let p = plan(&d, last, Cf::Average, last - 200, last, 3600).expect("plan");
        assert_eq!((p.archive, p.step), (2, 600));
        let p = plan(&d, last, Cf::Average, last - 20000, last, 10).expect("plan");
        assert_eq!((p.archive, p.step), (2, 600));
    }

    #[test]
    fn one_step_archives_answer_any_plain_cf() {
        let d = def("--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:30 RRA:MAX:0.5:6:30");
        let last = 1_000_000_000;
        let p = plan(&d, last, Cf::Min, last - 100, last, 1).expect("plan");
        assert_eq!(p.archive, 0);
        let p = plan(&d, last, Cf::Max, last - 100, last, 60).expect("plan");
        assert_eq!(p.archive, 1);
        let d = def("--step 10 DS:x:GAUGE:20:U:U RRA:MAX:0.5:6:30");
        assert!(matches!(
            plan(&d, last, Cf::Average, last - 100, last, 1),
            Err(RrdError::BadParameter { .. })
        ));
    }

    /// The end always moves one step past an aligned stop, as rrdtool does.
    #[test]
    fn alignment_adds_a_step() {
        let d = def("--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:30");
        let p = plan(
            &d,
            1_000_000_100,
            Cf::Average,
            1_000_000_000,
            1_000_000_100,
            10,
        )
        .expect("plan");
        assert_eq!(
            (p.start, p.end, p.row_count()),
            (1_000_000_000, 1_000_000_110, 11)
        );
        let p = plan(
            &d,
            1_000_000_100,
            Cf::Average,
            1_000_000_005,
            1_000_000_005,
            10,
        )
        .expect("plan");
        assert_eq!(
            (p.start, p.end, p.row_count()),
            (1_000_000_000, 1_000_000_010, 1)
        );
    }

    #[test]
    fn refuses_what_rrdtool_refuses() {
        let d = def("--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:30");
        assert!(matches!(
            plan(&d, 0, Cf::Average, MIN_FETCH_START - 1, MIN_FETCH_START, 1),
            Err(RrdError::TimeRange { .. })
        ));
        assert!(matches!(
            plan(&d, 0, Cf::Average, MIN_FETCH_START + 10, MIN_FETCH_START, 1),
            Err(RrdError::TimeRange { .. })
        ));
    }

    #[test]
    fn ring_window() {
        assert!(in_ring(100, 10, 100));
        assert!(in_ring(100, 10, 91));
        assert!(!in_ring(100, 10, 90));
        assert!(!in_ring(100, 10, 101));
    }

    #[test]
    fn windows_keep_to_the_range_and_the_rings() {
        let d = def("--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:30 RRA:MAX:0.5:6:5");
        let last = 1_000_000_000;
        // The rings: 10 s slots 99999971..=100000000, 60 s slots
        // 16666662..=16666666 (the last ending at 999999960).
        assert_eq!(
            windows(&d, last, last - 100, last + 100),
            vec![(0, 99_999_991, 100_000_000), (1, 16_666_666, 16_666_666)]
        );
        assert_eq!(
            windows(&d, last, 0, last),
            vec![(0, 99_999_971, 100_000_000), (1, 16_666_662, 16_666_666)]
        );
        assert_eq!(windows(&d, last, last, last + 1000), vec![]);
        assert!(windows(&d, last, last - 10, last - 5).is_empty());
    }

    #[test]
    fn group_sizes_keep_within_points() {
        for first in 1..40 {
            for len in 1..200 {
                for points in 1..30 {
                    let last = first + len - 1;
                    let k = group_size(first, last, points);
                    let groups = group_of(last, k) - group_of(first, k) + 1;
                    assert!(
                        groups <= points,
                        "{first} {last} {points}: k {k} gives {groups}"
                    );
                    if k > 1 {
                        let fewer = group_of(last, k - 1) - group_of(first, k - 1) + 1;
                        assert!(
                            fewer > points,
                            "{first} {last} {points}: k {k} is not the least"
                        );
                    }
                }
            }
        }
    }

    /// Over a thousand years of 10 s slots the search still ends at once,
    /// with the least group length.
    #[test]
    fn group_sizes_of_long_ranges() {
        let first = 31_536_000;
        for (len, points) in [(3_153_600_000, 1), (3_153_600_000, 10), (157_680_000, 7)] {
            let last = first + len - 1;
            let k = group_size(first, last, points);
            assert!(group_of(last, k) - group_of(first, k) < points);
            assert!(group_of(last, k - 1) - group_of(first, k - 1) >= points);
        }
    }

    #[test]
    fn downsample_consolidates_known_values() {
        // Groups of 3: slots 1-3, 4-6, 7-9, 10-12.
        let rows = [
            (3, 2.0),
            (4, 1.0),
            (5, f64::NAN),
            (6, 3.0),
            (7, 8.0),
            (8, 4.0),
            (9, f64::NAN),
            (10, f64::NAN),
        ];
        let all = (i64::MIN, i64::MAX);
        let avg: Vec<(i64, f64)> = downsample(slots(&rows, all), 3, Cf::Average).collect();
        assert_eq!(avg.len(), 4);
        assert_eq!(downsample_len(3, 10, 3), 4);
        assert_eq!((avg[0].0, avg[0].1), (3, 2.0));
        assert_eq!((avg[1].0, avg[1].1), (6, 2.0));
        assert_eq!((avg[2].0, avg[2].1), (9, 6.0));
        assert_eq!(avg[3].0, 12);
        assert!(avg[3].1.is_nan());
        let one =
            |cf: Cf, i: usize| -> f64 { downsample(slots(&rows, all), 3, cf).nth(i).unwrap().1 };
        assert_eq!((one(Cf::Max, 1), one(Cf::Max, 2)), (3.0, 8.0));
        assert_eq!((one(Cf::Min, 1), one(Cf::Min, 2)), (1.0, 4.0));
        assert_eq!((one(Cf::Last, 1), one(Cf::Last, 2)), (3.0, 4.0));
        assert_eq!(downsample(slots(&rows, all), 1, Cf::Average).count(), 8);
        // Outside the window slots are unknown: 3 and 7 are cut off.
        let cut: Vec<(i64, f64)> = downsample(slots(&rows, (4, 6)), 3, Cf::Average).collect();
        assert_eq!(cut.len(), 4);
        assert!(cut[0].1.is_nan() && cut[2].1.is_nan());
        assert_eq!(cut[1].1, 2.0);
    }

    #[test]
    fn stitched_reads_take_the_finest_archive_of_each_part() {
        let d = crate::def::parse(
            "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:6 RRA:AVERAGE:0.5:3:4 RRA:MAX:0.5:2:100 RRA:AVERAGE:0.5:6:10",
        )
        .unwrap();
        // Last update at 1000: 10 s rows ending 950..1000 (slots 95..100);
        // before 940, the 30 s rows ending 900 and 930 (the ring holds slots
        // 30..33); before 870, the 60 s rows ending 420..840.
        let segs = stitch(&d, 1000, Cf::Average, 0, 1000).unwrap();
        let spans: Vec<(usize, i64, i64, i64)> = segs
            .iter()
            .map(|s| (s.archive, s.step, s.first, s.last))
            .collect();
        assert_eq!(
            spans,
            vec![(3, 60, 7, 14), (1, 30, 30, 31), (0, 10, 95, 100)]
        );
        // Labels never overlap and go forward in time.
        let mut prev = i64::MIN;
        for s in &segs {
            assert!(s.first * s.step > prev);
            prev = s.last * s.step;
        }
        // A range inside the finest ring reads only it.
        let segs = stitch(&d, 1000, Cf::Average, 960, 990).unwrap();
        assert_eq!(
            segs,
            vec![Segment {
                archive: 0,
                step: 10,
                first: 97,
                last: 99
            }]
        );
        // MAX: the 1-step AVERAGE ring first, then the 20 s MAX archive.
        let segs = stitch(&d, 1000, Cf::Max, 0, 1000).unwrap();
        assert_eq!(
            segs.iter().map(|s| s.archive).collect::<Vec<_>>(),
            vec![2, 0]
        );
        assert!(stitch(&d, 1000, Cf::Average, 10, 5).is_err());
    }
}
