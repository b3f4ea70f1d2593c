//! Many updates of many series, applied in memory before anything is
//! written. No pgrx.
//!
//! Each series gets a [`SeriesWork`]: its definition, its state as loaded,
//! and per archive the chunk rows its updates change ([`ChunkEdit`]). The
//! engine runs point by point, exactly as for single updates; only the
//! writing is gathered, so that each chunk row is rewritten once per
//! batch however many of its slots change, and the state row once per
//! series. A long batch keeps at most one value per ring position.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use crate::def::Definition;
use crate::engine::{self, Run, State};
use crate::error::{Result, RrdError};
use crate::explain::{self, Spans};
use crate::ring::{ChunkEdit, Holes, Ring};
use crate::time;

/// The input of one point.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Unknown (NULL or NaN).
    Unknown,
    /// A double, given to the engine as its shortest decimal text.
    Float(f64),
    /// Exact decimal text (from `numeric`).
    Text(String),
}

impl Value {
    /// The input as the engine takes it (`None`: unknown), a double written
    /// out in `scratch` as [`float_text`] writes it.
    pub fn as_input<'a>(&'a self, scratch: &'a mut String) -> Option<&'a str> {
        match self {
            Value::Unknown => None,
            Value::Float(x) => {
                float_text(*x, scratch);
                Some(scratch.as_str())
            }
            Value::Text(s) => Some(s.as_str()),
        }
    }

    /// The input of a double: unknown when NULL or NaN.
    pub fn from_float(v: Option<f64>) -> Value {
        match v {
            Some(x) if !x.is_nan() => Value::Float(x),
            _ => Value::Unknown,
        }
    }
}

/// One point of a batch: the index of its series among the batch's names.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub series: usize,
    pub t_us: i64,
    pub value: Value,
}

/// The points of one statement, with their series' names each once.
#[derive(Debug, Default)]
pub struct Batch {
    pub names: Vec<String>,
    index: HashMap<String, usize>,
    pub points: Vec<Point>,
}

impl Batch {
    /// Index of series `name` in this batch, added if new.
    pub fn series(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len();
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    /// The batch of `points` (indices into this batch's names) alone, with
    /// only the series they name.
    pub fn part(&self, points: Vec<Point>) -> Batch {
        let mut used = vec![false; self.names.len()];
        for p in &points {
            used[p.series] = true;
        }
        if used.iter().all(|&u| u) {
            return Batch {
                names: self.names.clone(),
                index: self.index.clone(),
                points,
            };
        }
        let mut part = Batch::default();
        let mut new = vec![0; self.names.len()];
        for (i, name) in self.names.iter().enumerate() {
            if used[i] {
                new[i] = part.series(name);
            }
        }
        part.points = points
            .into_iter()
            .map(|p| Point {
                series: new[p.series],
                ..p
            })
            .collect();
        part
    }

    /// Appends a point.
    pub fn push(&mut self, series: usize, t_us: i64, value: Value) {
        self.points.push(Point {
            series,
            t_us,
            value,
        });
    }
}

/// One series' part of a batch.
#[derive(Debug, Clone)]
pub struct SeriesWork {
    /// Series id in `rrd.series`.
    pub id: i64,
    /// Series name, for error messages.
    pub name: String,
    /// Its definition.
    pub def: Rc<Definition>,
    /// Slots per chunk row.
    pub width: u64,
    /// State after the updates applied so far.
    pub state: State,
    /// Per archive: the chunk rows changed so far.
    pub edits: Vec<BTreeMap<u32, ChunkEdit>>,
    /// Per archive: unknown slots not written (see `ring`).
    pub holes: Vec<Holes>,
    /// Updates applied.
    pub applied: u64,
    /// The stored state row's version as loaded (set by the caller that
    /// loaded it): the row is rewritten only if it is still that version.
    pub version: i64,
    /// The series' record of unknown spans, when the caller keeps one
    /// (set after loading): every update then reports to it, and it is
    /// pruned to what the rings cover.
    pub spans: Option<Spans>,
    /// Whether an update changed `spans`, so that it must be written.
    pub spans_changed: bool,
    /// When set, the spans every update reports, as observed: the
    /// extension keeps a statement's apart and appends them to the stored
    /// record only when there are any, so that updates of known input
    /// never read it.
    pub observed: Option<Vec<engine::Span>>,
}

impl SeriesWork {
    /// A series as loaded, before any update of the batch.
    pub fn new(
        id: i64,
        name: String,
        def: Rc<Definition>,
        width: u64,
        state: State,
        holes: Vec<Holes>,
    ) -> Self {
        let n = def.archives.len();
        let mut holes = holes;
        holes.resize(n, Holes::new());
        SeriesWork {
            id,
            name,
            def,
            width,
            version: 0,
            state,
            edits: vec![BTreeMap::new(); n],
            holes,
            applied: 0,
            spans: None,
            spans_changed: false,
            observed: None,
        }
    }

    /// The ring of archive `a`.
    pub fn ring(&self, a: usize) -> Ring {
        Ring::new(self.def.archives[a].rows, self.width)
    }

    /// Applies one update (`value` as rrdtool's command line would carry
    /// it; `None` is unknown). On error nothing changes, and the error
    /// names the series and the time. `runs` is scratch space.
    pub fn update(&mut self, t_us: i64, value: Option<&str>, runs: &mut Vec<Run>) -> Result<()> {
        runs.clear();
        let last = self.state.last_up;
        match (&mut self.spans, &mut self.observed) {
            (None, Some(seen)) => {
                let before = seen.len();
                let res = engine::update_observed(
                    &self.def,
                    &mut self.state,
                    t_us,
                    value,
                    runs,
                    &mut |span| seen.push(span),
                );
                if res.is_err() {
                    seen.truncate(before);
                }
                res
            }
            (None, None) => engine::update(&self.def, &mut self.state, t_us, value, runs),
            (Some(spans), _) => {
                let mut seen = false;
                let res = engine::update_observed(
                    &self.def,
                    &mut self.state,
                    t_us,
                    value,
                    runs,
                    &mut |span| {
                        spans.push(span);
                        seen = true;
                    },
                );
                if seen {
                    spans.prune(explain::ring_start_secs(&self.def, self.state.last_up));
                    self.spans_changed = true;
                }
                res
            }
        }
        .map_err(|e| named(&self.name, t_us, last, e))?;
        for run in runs.iter() {
            let a = run.archive;
            self.ring(a).write_run(
                run.first_slot,
                run.count,
                run.value,
                &mut self.edits[a],
                &mut self.holes[a],
            );
        }
        self.applied += 1;
        Ok(())
    }

    /// The chunk rows this series' updates change, as `(archive, chunk)`.
    pub fn touched(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        self.edits
            .iter()
            .enumerate()
            .flat_map(|(a, m)| m.keys().map(move |&c| (a, c)))
    }
}

/// The engine's refusal of an update of series `name` at `t_us` after one
/// at `last`, with the series and the times named.
pub fn named(name: &str, t_us: i64, last: i64, e: RrdError) -> RrdError {
    match e {
        RrdError::OutOfOrder { window, .. } => RrdError::OutOfOrder {
            series: name.to_string(),
            time: time::format(t_us),
            last: time::format(last),
            window,
        },
        RrdError::BadValue { msg } => RrdError::BadValue {
            msg: format!("series \"{name}\" at {}: {msg}", time::format(t_us)),
        },
        other => other,
    }
}

/// Whether the engine refused a point for itself (its time or its value),
/// which `OnBad::Skip` leaves out, rather than for anything else.
pub fn refusable(e: &RrdError) -> bool {
    matches!(e, RrdError::OutOfOrder { .. } | RrdError::BadValue { .. })
}

/// What to do with a point the engine refuses (out of order, a value the
/// data source kind cannot read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBad {
    /// Fail the whole batch.
    Fail,
    /// Leave the point out and count it, as `rrdtool update
    /// --skip-past-updates` does for past times.
    Skip,
}

/// Applies one point of a batch: `pos` is its 1-based position, named in
/// the error. Returns whether it was skipped.
pub fn apply_point(
    work: &mut SeriesWork,
    pos: u64,
    t_us: i64,
    value: Option<&str>,
    on_bad: OnBad,
    runs: &mut Vec<Run>,
) -> Result<bool> {
    match work.update(t_us, value, runs) {
        Ok(()) => Ok(false),
        Err(e) if on_bad == OnBad::Skip && refusable(&e) => Ok(true),
        Err(e) => Err(RrdError::InBatch {
            pos,
            source: Box::new(e),
        }),
    }
}

/// Appends the text rrdtool would get for a double to `out`: the shortest
/// decimal that reads back as the same double, never in exponent form, so
/// that integral values stay valid counter input.
pub fn float_text(v: f64, out: &mut String) {
    use std::fmt::Write;
    out.clear();
    if v == 0.0 {
        out.push('0');
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Reads an `rrdtool update` argument of one data source, `time:value`:
/// the time `N` (now, `now_us`) or seconds since 1970 with an optional
/// fraction, the value as rrdtool takes it (`U` is unknown). The
/// microseconds of a fractional time come out as rrdtool computes them
/// (the fraction of the double, times 10^6, truncated), so `0.1` is
/// 99999 µs there and here.
pub fn parse_spec(spec: &str, now_us: i64) -> Result<(i64, Value)> {
    let quoted = || crate::error::shown(spec);
    let Some((t, v)) = spec.split_once(':') else {
        return Err(RrdError::value(format!(
            "update \"{}\" is not time:value",
            quoted()
        )));
    };
    if v.contains(':') {
        return Err(RrdError::value(format!(
            "update \"{}\" gives {} values; a pg_rrd series has one data source",
            quoted(),
            v.split(':').count()
        )));
    }
    let t_us = if t == "N" {
        now_us
    } else if t.starts_with('@') {
        return Err(RrdError::value(format!(
            "update \"{}\": at-style times are not taken; give N or seconds since 1970",
            quoted()
        )));
    } else {
        // rrdtool's own reader: its microseconds, not a correct rounding's.
        let secs: f64 = crate::engine::rrd_strtod(t.trim_start())
            .filter(|_| {
                !t.is_empty()
                    && t.trim_start()
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            })
            .ok_or_else(|| {
                RrdError::value(format!(
                    "update \"{}\": time \"{}\" is not N or seconds since 1970",
                    quoted(),
                    crate::error::shown(t)
                ))
            })?;
        let whole = secs.floor();
        if !(0.0..=(time::MAX_US / 1_000_000) as f64).contains(&whole) {
            return Err(RrdError::TimeRange {
                msg: format!(
                    "update \"{}\": time {} is out of range (1970 to {})",
                    quoted(),
                    crate::error::shown(t),
                    time::format(time::MAX_US)
                ),
            });
        }
        let usec = ((secs - whole) * 1e6_f32 as f64) as i64;
        whole as i64 * 1_000_000 + usec
    };
    let value = if v == "U" {
        Value::Unknown
    } else {
        Value::Text(v.to_string())
    };
    Ok((t_us, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::def;
    use crate::testrng::Lcg;

    fn float(v: f64) -> String {
        let mut s = String::new();
        float_text(v, &mut s);
        s
    }

    #[test]
    fn float_text_round_trips_without_exponent() {
        assert_eq!(float(0.0), "0");
        assert_eq!(float(-0.0), "0");
        assert_eq!(float(42.0), "42");
        assert_eq!(float(1e20), "100000000000000000000");
        assert_eq!(float(0.1), "0.1");
        for v in [1.0 / 3.0, 1e-300, 123456.789e10, f64::MAX] {
            assert_eq!(float(v).parse::<f64>().ok(), Some(v));
        }
    }

    /// What storage holds for one series: chunk rows, state and holes.
    #[derive(Debug, Clone, Default)]
    struct Stored {
        chunks: BTreeMap<(usize, u32), Vec<f64>>,
        state: Option<State>,
        holes: Vec<Holes>,
    }

    /// Applies `points` as one batch on top of `stored`, as the SQL glue
    /// does: load, run every point, write each changed row once.
    fn run_batch(def: &Rc<Definition>, stored: &mut Stored, points: &[(i64, Option<String>)]) {
        let mut w = SeriesWork::new(
            1,
            "s".into(),
            Rc::clone(def),
            3,
            stored.state.clone().unwrap(),
            stored.holes.clone(),
        );
        let mut runs = Vec::new();
        for (i, (t, v)) in points.iter().enumerate() {
            apply_point(
                &mut w,
                i as u64 + 1,
                *t,
                v.as_deref(),
                OnBad::Skip,
                &mut runs,
            )
            .unwrap();
        }
        for (a, edits) in w.edits.iter().enumerate() {
            let ring = w.ring(a);
            for (&c, edit) in edits {
                let old = stored.chunks.get(&(a, c)).map(Vec::as_slice);
                let dp = ring.apply_edit(c, old, edit);
                stored.chunks.insert((a, c), dp);
            }
        }
        stored.state = Some(w.state);
        stored.holes = w.holes;
    }

    /// The law of batching: any split of an update history into batches
    /// stores the same rows, state and holes as one update per batch.
    #[test]
    fn batches_equal_point_by_point() {
        let mut rng = Lcg(11);
        let defs = [
            "--step 10 DS:v:GAUGE:25:U:U RRA:AVERAGE:0.5:1:7 RRA:MAX:0.5:3:5 RRA:LAST:0.9:2:4",
            "--step 5 DS:c:COUNTER:12:U:U RRA:AVERAGE:0.3:1:10 RRA:MIN:0.5:4:3",
            "--step 10 DS:d:DERIVE:15:0:U RRA:AVERAGE:0.5:1:20",
        ];
        for case in 0..300 {
            let def = Rc::new(def::parse(defs[case % defs.len()]).unwrap());
            let start = 1_000_000 * time::US;
            let mut points = Vec::new();
            let mut t = start;
            for _ in 0..60 {
                t += match rng.next_u64() % 10 {
                    0 => (rng.next_u64() % 500) as i64 * time::US,
                    1 => (rng.next_u64() % 1000) as i64 * 1000,
                    _ => (1 + rng.next_u64() % 12) as i64 * time::US,
                };
                let v = match rng.next_u64() % 6 {
                    0 => None,
                    _ => Some((rng.next_u64() % 1000).to_string()),
                };
                points.push((t, v));
            }
            let fresh = Stored {
                state: Some(State::new(&def, start)),
                ..Stored::default()
            };
            let mut one_by_one = fresh.clone();
            for p in &points {
                run_batch(&def, &mut one_by_one, std::slice::from_ref(p));
            }
            let mut batched = fresh.clone();
            let mut rest = &points[..];
            while !rest.is_empty() {
                let n = 1 + (rng.next_u64() as usize % rest.len());
                run_batch(&def, &mut batched, &rest[..n]);
                rest = &rest[n..];
            }
            assert_eq!(
                format!("{:?}", one_by_one.state),
                format!("{:?}", batched.state),
                "case {case}"
            );
            assert_eq!(one_by_one.holes, batched.holes, "case {case}");
            assert_eq!(
                format!("{:?}", one_by_one.chunks),
                format!("{:?}", batched.chunks),
                "case {case}"
            );
        }
    }

    fn work(text: &str) -> SeriesWork {
        let d = Rc::new(def::parse(text).unwrap());
        let state = State::new(&d, 1_000_000 * time::US);
        SeriesWork::new(1, "s".into(), d, 4, state, Vec::new())
    }

    #[test]
    fn a_refused_point_changes_nothing_and_is_named() {
        let mut w = work("--step 10 DS:c:COUNTER:20:U:U RRA:AVERAGE:0.5:1:10");
        let mut runs = Vec::new();
        let t = |s: i64| (1_000_000 + s) * time::US;
        apply_point(&mut w, 1, t(10), Some("5"), OnBad::Fail, &mut runs).unwrap();
        let before = w.state.clone();
        let err = apply_point(&mut w, 2, t(20), Some("1.5"), OnBad::Fail, &mut runs).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("point 2 of the batch: series \"s\""));
        // NaN accumulators: compare the printed states.
        assert_eq!(format!("{:?}", w.state), format!("{before:?}"));
        let err = apply_point(&mut w, 3, t(5), Some("6"), OnBad::Fail, &mut runs).unwrap_err();
        assert!(err.to_string().contains("point 3"), "{err}");
        assert!(matches!(err, RrdError::InBatch { .. }));
        // Skipped instead.
        assert!(apply_point(&mut w, 3, t(5), Some("6"), OnBad::Skip, &mut runs).unwrap());
        assert!(!apply_point(&mut w, 4, t(30), Some("7"), OnBad::Skip, &mut runs).unwrap());
        assert_eq!(w.applied, 2);
    }
    #[test]
    fn update_strings_read_as_rrdtool_reads_them() {
        let now = 1_800_000_000_123_456;
        let t = |s: &str| parse_spec(s, now).map(|(t, _)| t);
        assert_eq!(t("N:1"), Ok(now));
        assert_eq!(t("1700000000:42"), Ok(1_700_000_000_000_000));
        assert_eq!(t("1700000000.25:U"), Ok(1_700_000_000_250_000));
        // rrdtool's truncation of the double's fraction.
        assert_eq!(t("1700000000.1:1"), Ok(1_700_000_000_099_999));
        assert_eq!(t("1.7e9:1"), Ok(1_700_000_000_000_000));
        assert_eq!(parse_spec("1:U", now).unwrap().1, Value::Unknown);
        assert_eq!(parse_spec("1:", now).unwrap().1, Value::Text(String::new()));
        assert_eq!(
            parse_spec("1:12.5", now).unwrap().1,
            Value::Text("12.5".into())
        );
        for (bad, why) in [
            ("42", "is not time:value"),
            ("1:2:3", "gives 2 values"),
            ("@now:1", "at-style"),
            ("x:1", "time \"x\" is not N"),
            (":1", "time \"\" is not N"),
            ("inf:1", "is not N"),
            ("-5:1", "out of range"),
            ("1e300:1", "out of range"),
        ] {
            let e = parse_spec(bad, now).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
