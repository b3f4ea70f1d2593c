//! Many updates of many series, applied in memory before anything is
//! written. No pgrx.
//!
//! Each series gets a [`SeriesWork`]: its definition, its state as loaded,
//! and per archive the chunk rows its updates change ([`ChunkEdit`]). The
//! engine runs point by point, exactly as for single updates; only the
//! writing is gathered, so that each chunk row is rewritten once per
//! batch however many of its slots change, and the state row once per
//! series. A long batch keeps at most one value per ring position.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::def::Definition;
use crate::engine::{self, Run, State};
use crate::error::{Result, RrdError};
use crate::ring::{Chunk, Ring};
use crate::time;

/// No slot: the `g` of a position a batch has not written.
const NONE: i64 = i64::MIN;

/// The slots of one chunk row a batch has written: per position, the
/// newest slot with a known value.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkEdit {
    /// Newest slot written into the row.
    pub hi: i64,
    /// Per offset in the row: `(slot, value)`, slot `NONE` if not written.
    slots: Vec<(i64, f64)>,
}

impl ChunkEdit {
    fn new(len: usize) -> ChunkEdit {
        ChunkEdit {
            hi: NONE,
            slots: vec![(NONE, f64::NAN); len],
        }
    }
}

impl Ring {
    /// Records the known slots of `run` (at most the newest `rows`) in the
    /// edits of their chunk rows. Unknown runs record nothing: the rows keep
    /// their old `hi`, so the slots read as unknown.
    pub fn edit(&self, run: &Run, edits: &mut BTreeMap<u32, ChunkEdit>) {
        if run.value.is_nan() || run.count == 0 {
            return;
        }
        let last = run.first_slot + run.count as i64 - 1;
        let kept = run.count.min(self.rows) as i64;
        for g in (last - kept + 1)..=last {
            let c = self.chunk_of(g);
            let edit = edits
                .entry(c)
                .or_insert_with(|| ChunkEdit::new(self.chunk_len(c)));
            let off = (self.position(g) - c as u64 * self.width) as usize;
            edit.slots[off] = (g, run.value);
            edit.hi = edit.hi.max(g);
        }
    }

    /// Chunk row `c` after `edit`: written slots take their new value, the
    /// others keep what `old` holds for the lap that ends at the new `hi`
    /// (unknown if `old` was written for another lap).
    pub fn apply_edit(&self, c: u32, old: Option<&Chunk>, edit: &ChunkEdit) -> Chunk {
        let hi = edit.hi;
        let base = c as u64 * self.width;
        let dp = edit
            .slots
            .iter()
            .enumerate()
            .map(|(off, &(eg, v))| {
                let g = self.slot_at(hi, base + off as u64);
                if eg == g {
                    v
                } else if let Some(old) = old {
                    self.read(old, g)
                } else {
                    f64::NAN
                }
            })
            .collect();
        Chunk { hi, dp }
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
    /// Updates applied.
    pub applied: u64,
}

impl SeriesWork {
    /// A series as loaded, before any update of the batch.
    pub fn new(id: i64, name: String, def: Rc<Definition>, width: u64, state: State) -> Self {
        let edits = vec![BTreeMap::new(); def.archives.len()];
        SeriesWork {
            id,
            name,
            def,
            width,
            state,
            edits,
            applied: 0,
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
        engine::update(&self.def, &mut self.state, t_us, value, runs).map_err(|e| match e {
            RrdError::OutOfOrder { .. } => RrdError::OutOfOrder {
                series: self.name.clone(),
                time: time::format(t_us),
                last: time::format(last),
            },
            RrdError::BadValue { msg } => RrdError::BadValue {
                msg: format!("series \"{}\" at {}: {msg}", self.name, time::format(t_us)),
            },
            other => other,
        })?;
        for run in runs.iter() {
            let ring = self.ring(run.archive);
            ring.edit(run, &mut self.edits[run.archive]);
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
        Err(e @ (RrdError::OutOfOrder { .. } | RrdError::BadValue { .. }))
            if on_bad == OnBad::Skip =>
        {
            let _ = e;
            Ok(true)
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::def;

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

    /// Small deterministic generator, enough for shuffling test inputs.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
    }

    /// Writing a batch's edits once gives the same chunk rows as merging
    /// after every single update, whatever the laps and gaps.
    #[test]
    fn edits_equal_update_by_update_merges() {
        let mut rng = Lcg(7);
        for case in 0..300 {
            let rows = 1 + rng.next() % 40;
            let width = 1 + rng.next() % 12;
            let ring = Ring::new(rows, width);
            let mut seq: BTreeMap<u32, Chunk> = BTreeMap::new();
            let mut batch_start: BTreeMap<u32, Chunk> = BTreeMap::new();
            let mut edits = BTreeMap::new();
            let mut g = (rng.next() % 100) as i64;
            let split = rng.next() % 30;
            for i in 0..30 {
                if i == split {
                    // A batch boundary: what is stored so far is the old row.
                    batch_start = seq.clone();
                    edits.clear();
                }
                let count = 1 + rng.next() % (2 * rows);
                let value = if rng.next().is_multiple_of(4) {
                    f64::NAN
                } else {
                    (rng.next() % 1000) as f64
                };
                let run = Run {
                    archive: 0,
                    first_slot: g,
                    count,
                    value,
                };
                g += count as i64 + (rng.next() % 3) as i64;
                // Update by update.
                let mut per_chunk = BTreeMap::new();
                ring.spread(run.first_slot, run.count, run.value, &mut per_chunk);
                for (c, new) in per_chunk {
                    if let Some(ch) = ring.merge(c, seq.get(&c), &new) {
                        seq.insert(c, ch);
                    }
                }
                // As a batch.
                ring.edit(&run, &mut edits);
            }
            let mut batched = batch_start.clone();
            for (c, edit) in &edits {
                let ch = ring.apply_edit(*c, batch_start.get(c), edit);
                batched.insert(*c, ch);
            }
            for (c, a) in &seq {
                let b = &batched[c];
                assert_eq!(a.hi, b.hi, "case {case} chunk {c}");
                for (x, y) in a.dp.iter().zip(&b.dp) {
                    assert!(
                        x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                        "case {case} chunk {c}: {:?} vs {:?}",
                        a.dp,
                        b.dp
                    );
                }
            }
            assert_eq!(seq.len(), batched.len(), "case {case}");
        }
    }

    fn work(text: &str) -> SeriesWork {
        let d = Rc::new(def::parse(text).unwrap());
        let state = State::new(&d, 1_000_000 * time::US);
        SeriesWork::new(1, "s".into(), d, 4, state)
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
}
