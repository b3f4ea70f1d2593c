//! Aggregates over a range of ring slots, read from the stored chunk rows
//! directly (`rrd.aggregate`, docs/aggregate.md): the same slots a fetch of
//! the range returns, summed up without a row per slot.
//!
//! The slots are visited in time order, run by run: each run is a slice of
//! one chunk row, so a year of 10 s slots is a few thousand slices, and
//! [`summarize_scan`] takes the rows as a stream, one slice at a time, so a
//! caller can hand over each row where it lies (a page of the table) with
//! nothing copied and nothing kept. Values agree with PostgreSQL's own
//! aggregates over the fetched rows: `sum` and `avg` add in time order as
//! `sum(float8)` does, `stddev` is the sample standard deviation, and the
//! percentile is `percentile_cont`'s.

use std::collections::BTreeMap;

use crate::plan::in_ring;
use crate::ring::{in_hole, ChunkEdit, Ring, Stored};

/// What [`summarize`] gives; the options are `None` when no slot is known.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Known slots.
    pub count: u64,
    /// Sum of the known values, in time order.
    pub sum: Option<f64>,
    /// `sum / count`.
    pub avg: Option<f64>,
    /// Smallest known value.
    pub min: Option<f64>,
    /// Largest known value.
    pub max: Option<f64>,
    /// The oldest known value and the end time of its slot (seconds).
    pub first: Option<(i64, f64)>,
    /// The newest known value and the end time of its slot (seconds).
    pub last: Option<(i64, f64)>,
    /// Sample standard deviation; `None` below two known slots.
    pub stddev: Option<f64>,
    /// The asked percentile, interpolated as `percentile_cont`; `None` when
    /// none was asked or no slot is known.
    pub percentile: Option<f64>,
}

/// Consecutive slots `g .. g + len` of the range, stored in chunk row
/// `chunk` from offset `offset` on; `lap` is 1 for the runs after the
/// range wrapped round the ring's end (to chunk 0), 0 before.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Run {
    g: i64,
    chunk: u32,
    offset: usize,
    len: usize,
    lap: usize,
}

/// The runs of slots `lo..=hi` (at most one lap, all in the ring's window),
/// in time order.
fn runs(ring: Ring, lo: i64, hi: i64) -> impl Iterator<Item = Run> {
    let mut g = lo;
    let mut lap = 0;
    let mut prev = None;
    std::iter::from_fn(move || {
        if g > hi {
            return None;
        }
        let pos = ring.position(g);
        let chunk = (pos / ring.width) as u32;
        let offset = (pos % ring.width) as usize;
        let room = ring.chunk_len(chunk) - offset;
        let len = room.min((hi - g + 1) as usize);
        if prev.is_some_and(|p| chunk <= p) {
            lap = 1;
        }
        prev = Some(chunk);
        let run = Run {
            g,
            chunk,
            offset,
            len,
            lap,
        };
        g += len as i64;
        Some(run)
    })
}

/// The chunk rows holding slots `lo..=hi` (at most one lap), as inclusive
/// ranges of chunk numbers in the order that visits the slots in time
/// order, each range read upwards: one range, or two when the slots wrap
/// round the ring's end (the chunk of `lo` is then in both).
fn chunk_ranges(ring: Ring, lo: i64, hi: i64) -> Vec<(u32, u32)> {
    let (a, b) = (ring.chunk_of(lo), ring.chunk_of(hi));
    if ring.position(lo) <= ring.position(hi) {
        vec![(a, b)]
    } else {
        vec![(a, ring.chunk_count() - 1), (0, b)]
    }
}

/// The running aggregates: count, sum in time order, extremes, the oldest
/// and newest known slot, and the mean and sum of squared deviations
/// merged run by run (Chan, Golub and LeVeque's pairwise update), so that
/// the standard deviation takes one pass over the slots.
struct Acc {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    first: Option<(i64, f64)>,
    last: Option<(i64, f64)>,
    mean: f64,
    m2: f64,
    /// The known values, when a percentile is asked.
    values: Option<Vec<f64>>,
}

impl Acc {
    fn new(percentile: bool) -> Acc {
        Acc {
            count: 0,
            // `-0.0 + x` is `x` for every x, as PostgreSQL's sum, which
            // starts from the first value, gives: a sum of `-0` stays `-0`.
            sum: -0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            first: None,
            last: None,
            mean: 0.0,
            m2: 0.0,
            values: percentile.then(Vec::new),
        }
    }

    /// Adds the slots of `dp`, the first of which is slot `g`; NaN is
    /// unknown. Two passes over the slice, each the loop it can be: the sum
    /// is one add after the other in time order, the chain the whole scan
    /// waits on, so nothing else rides on it; the rest runs in independent
    /// lanes over the slice, in cache by then.
    fn add(&mut self, g: i64, dp: &[f64]) {
        let Some(i0) = dp.iter().position(|v| !v.is_nan()) else {
            return;
        };
        let dp = &dp[i0..];
        // NaN adds -0.0, which changes no sum.
        let before = self.sum;
        let (mut n, mut sum) = (0u64, before);
        for &v in dp {
            let known = !v.is_nan();
            n += known as u64;
            sum += if known { v } else { -0.0 };
        }
        let i1 = dp.iter().rposition(|v| !v.is_nan()).unwrap_or(0);
        if self.first.is_none() {
            self.first = Some((g + i0 as i64, dp[0]));
        }
        self.last = Some((g + (i0 + i1) as i64, dp[i1]));
        // The extremes (NaN compares false), and the deviations from the
        // run's own mean, taken from its share of the sum, with the
        // rounding left in that mean corrected for.
        let nf = n as f64;
        let c = (sum - before) / nf;
        let (mut mn, mut mx) = ([self.min; 4], [self.max; 4]);
        let (mut s, mut q) = ([0.0f64; 4], [0.0f64; 4]);
        let mut lanes = dp.chunks_exact(4);
        for four in &mut lanes {
            for k in 0..4 {
                let v = four[k];
                if v < mn[k] {
                    mn[k] = v;
                }
                if v > mx[k] {
                    mx[k] = v;
                }
                let d = if v.is_nan() { 0.0 } else { v - c };
                s[k] += d;
                q[k] += d * d;
            }
        }
        for &v in lanes.remainder() {
            if v < mn[0] {
                mn[0] = v;
            }
            if v > mx[0] {
                mx[0] = v;
            }
            let d = if v.is_nan() { 0.0 } else { v - c };
            s[0] += d;
            q[0] += d * d;
        }
        let fold = |x: [f64; 4], f: fn(f64, f64) -> f64| f(f(x[0], x[1]), f(x[2], x[3]));
        let (s, q) = (s[0] + s[1] + s[2] + s[3], q[0] + q[1] + q[2] + q[3]);
        let mean_b = c + s / nf;
        let m2_b = (q - s * s / nf).max(0.0);
        if self.count == 0 {
            (self.mean, self.m2) = (mean_b, m2_b);
        } else {
            let na = self.count as f64;
            let total = na + nf;
            let delta = mean_b - self.mean;
            self.mean += delta * (nf / total);
            self.m2 += m2_b + delta * delta * (na * nf / total);
        }
        self.count += n;
        self.sum = sum;
        self.min = fold(mn, f64::min);
        self.max = fold(mx, f64::max);
        if let Some(values) = &mut self.values {
            values.extend(dp.iter().copied().filter(|v| !v.is_nan()));
        }
    }

    fn finish(mut self, step: i64, percentile: Option<f64>) -> Summary {
        if self.count == 0 {
            return Summary::default();
        }
        let count = self.count;
        // An infinite value leaves no finite spread: PostgreSQL's stddev
        // gives NaN then.
        let infinite = self.min.is_infinite() || self.max.is_infinite();
        let stddev = (count > 1).then(|| {
            if infinite {
                f64::NAN
            } else {
                (self.m2 / (count - 1) as f64).sqrt()
            }
        });
        let pct = match (percentile, self.values.as_mut()) {
            (Some(q), Some(values)) => Some(percentile_cont(values, q)),
            _ => None,
        };
        Summary {
            count,
            sum: Some(self.sum),
            avg: Some(self.sum / count as f64),
            min: Some(self.min),
            max: Some(self.max),
            first: self.first.map(|(g, v)| (g * step, v)),
            last: self.last.map(|(g, v)| (g * step, v)),
            stddev,
            percentile: pct,
        }
    }
}

/// Where [`summarize_scan`] gets the chunk rows: called with an inclusive
/// range of chunk numbers, it hands each stored row of the range to the
/// sink, upwards by chunk number (rows not stored are left out). The slice
/// need live only for the call.
pub type Scan<'s> = dyn FnMut((u32, u32), &mut dyn FnMut(u32, &[f64])) + 's;

/// Where a range of slots lies and how to read it: the ring, its holes,
/// the edits of points still pending (over the stored rows), the newest
/// slot and the seconds per slot.
pub struct Source<'a> {
    pub ring: Ring,
    pub holes: &'a [(i64, i64)],
    pub pending: Option<&'a BTreeMap<u32, ChunkEdit>>,
    pub latest: i64,
    pub step: i64,
}

/// Aggregates slots `first..=last` of `src`, reading the chunk rows through
/// `scan`; slots outside the ring, in holes or unknown are left out.
/// `percentile`, in `[0, 1]` (checked by the caller), asks for that
/// percentile too, which holds the known values in memory (8 bytes each);
/// the rest takes one pass and no memory. `tick` is called once a run,
/// for a caller's cancel check.
pub fn summarize_scan(
    src: &Source<'_>,
    first: i64,
    last: i64,
    percentile: Option<f64>,
    tick: &mut dyn FnMut(),
    scan: &mut Scan<'_>,
) -> Summary {
    let ring = src.ring;
    let rows = ring.rows;
    let lo = first.max(src.latest - rows as i64 + 1);
    let hi = last.min(src.latest);
    if lo > hi || !in_ring(src.latest, rows, lo) {
        return Summary::default();
    }
    let mut acc = Acc::new(percentile.is_some());
    let mut todo = runs(ring, lo, hi).peekable();
    let mut edited = Vec::new();
    // One run: its slice of the stored row `dp` (None: no row stored),
    // with the pending edits and the holes over it.
    let mut visit = |acc: &mut Acc, run: Run, dp: Option<&[f64]>| {
        tick();
        let edit = src.pending.and_then(|p| p.get(&run.chunk));
        let holed = src
            .holes
            .iter()
            .any(|&(a, b)| a < run.g + run.len as i64 && run.g <= b);
        let row: &[f64] = match (dp, edit) {
            (_, Some(edit)) => {
                edited = ring.apply_edit(run.chunk, dp, edit);
                &edited
            }
            (Some(dp), None) => dp,
            (None, None) => return,
        };
        let Some(slice) = row.get(run.offset..run.offset + run.len) else {
            return;
        };
        if holed {
            let masked: Vec<f64> = slice
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if in_hole(src.holes, run.g + i as i64) {
                        f64::NAN
                    } else {
                        v
                    }
                })
                .collect();
            acc.add(run.g, &masked);
        } else {
            acc.add(run.g, slice);
        }
    };
    for (lap, range) in chunk_ranges(ring, lo, hi).into_iter().enumerate() {
        scan(range, &mut |c, dp| {
            // Runs of this lap before row `c` have no stored row.
            while let Some(&run) = todo.peek() {
                if run.lap != lap || run.chunk > c {
                    // Not a row this lap asks for (or one seen already).
                    return;
                }
                todo.next();
                if run.chunk == c {
                    visit(&mut acc, run, Some(dp));
                    return;
                }
                visit(&mut acc, run, None);
            }
        });
        // The rest of the lap's runs have no stored row.
        while let Some(&run) = todo.peek() {
            if run.lap != lap {
                break;
            }
            todo.next();
            visit(&mut acc, run, None);
        }
    }
    acc.finish(src.step, percentile)
}

/// [`summarize_scan`] over rows read already, pending points applied:
/// slots `first..=last` of `stored`, whose newest slot is `latest`, of
/// `step` seconds each.
pub fn summarize(
    stored: &Stored,
    latest: i64,
    step: i64,
    first: i64,
    last: i64,
    percentile: Option<f64>,
    tick: &mut dyn FnMut(),
) -> Summary {
    let src = Source {
        ring: stored.ring,
        holes: &stored.holes,
        pending: None,
        latest,
        step,
    };
    summarize_scan(&src, first, last, percentile, tick, &mut |(a, b), sink| {
        for (&c, dp) in stored.chunks.range(a..=b) {
            sink(c, dp);
        }
    })
}

/// `percentile_cont(q)` of `values` (not empty): the value at rank
/// `q · (n − 1)`, interpolated between its neighbours as PostgreSQL does.
/// Two selections, no sort.
fn percentile_cont(values: &mut [f64], q: f64) -> f64 {
    let n = values.len();
    let rank = q * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let (_, &mut below, rest) = values.select_nth_unstable_by(lo, f64::total_cmp);
    if hi == lo {
        return below;
    }
    // The next value up is the smallest of those after `lo`.
    let above = rest.iter().copied().fold(f64::INFINITY, f64::min);
    below + (rank - lo as f64) * (above - below)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{layout, Ring};
    use crate::testrng::XorShift as Rng;
    use std::collections::BTreeMap;

    /// A ring of `rows` slots of width `width` whose window ends at
    /// `latest`, holding `value(g)`.
    fn stored(rows: u64, width: u64, latest: i64, value: impl Fn(i64) -> f64) -> Stored {
        let ring = Ring::new(rows, width);
        let chunks: BTreeMap<u32, Vec<f64>> = layout(ring, latest, value)
            .into_iter()
            .enumerate()
            .map(|(c, dp)| (c as u32, dp))
            .collect();
        Stored {
            ring,
            holes: Vec::new(),
            chunks,
        }
    }

    /// The same aggregates slot by slot, the obvious way.
    fn reference(s: &Stored, latest: i64, first: i64, last: i64, q: f64) -> Summary {
        let vals: Vec<(i64, f64)> = (first..=last)
            .filter(|&g| in_ring(latest, s.ring.rows, g))
            .map(|g| (g, s.value(g)))
            .filter(|(_, v)| !v.is_nan())
            .collect();
        if vals.is_empty() {
            return Summary::default();
        }
        let n = vals.len() as f64;
        let sum = vals.iter().fold(0.0, |a, (_, v)| a + v);
        let avg = sum / n;
        let mut sorted: Vec<f64> = vals.iter().map(|p| p.1).collect();
        sorted.sort_by(f64::total_cmp);
        let rank = q * (n - 1.0);
        let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
        let p = sorted[lo] + (rank - lo as f64) * (sorted[hi] - sorted[lo]);
        let sq = vals.iter().fold(0.0, |a, (_, v)| a + (v - avg) * (v - avg));
        Summary {
            count: vals.len() as u64,
            sum: Some(sum),
            avg: Some(avg),
            min: Some(sorted[0]),
            max: Some(*sorted.last().unwrap()),
            first: Some((vals[0].0 * 10, vals[0].1)),
            last: Some((vals[vals.len() - 1].0 * 10, vals[vals.len() - 1].1)),
            stddev: (vals.len() > 1).then(|| (sq / (n - 1.0)).sqrt()),
            percentile: Some(p),
        }
    }

    #[test]
    fn agrees_with_the_slot_by_slot_reference() {
        let mut rng = Rng(5);
        for case in 0..300 {
            let rows = 1 + rng.below(300);
            let width = 1 + rng.below(64);
            let latest = 1000 + rng.below(5000) as i64;
            let seed = rng.below(1000);
            let value = move |g: i64| {
                if (g as u64 ^ seed).is_multiple_of(7) {
                    f64::NAN
                } else {
                    ((g * 37 + seed as i64) % 101) as f64 * 0.25 - 3.0
                }
            };
            let mut s = stored(rows, width, latest, value);
            if rng.below(3) == 0 {
                let a = latest - rng.below(rows) as i64;
                s.holes.push((a, a + rng.below(10) as i64));
            }
            let first = latest - rng.below(rows + 50) as i64;
            let last = first + rng.below(rows + 50) as i64;
            let q = [0.0, 0.5, 0.95, 1.0, 0.333][rng.below(5) as usize];
            let got = summarize(&s, latest, 10, first, last, Some(q), &mut || {});
            let want = reference(&s, latest, first, last, q);
            assert_eq!(got.count, want.count, "case {case}");
            assert_eq!(got.sum, want.sum, "case {case}");
            assert_eq!(got.avg, want.avg, "case {case}");
            assert_eq!((got.min, got.max), (want.min, want.max), "case {case}");
            assert_eq!(
                (got.first, got.last),
                (want.first, want.last),
                "case {case}"
            );
            assert_eq!(got.percentile, want.percentile, "case {case}");
            match (got.stddev, want.stddev) {
                (Some(a), Some(b)) => {
                    assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "case {case}")
                }
                (a, b) => assert_eq!(a, b, "case {case}"),
            }
        }
    }

    #[test]
    fn nothing_known_gives_no_values() {
        let s = stored(10, 4, 100, |_| f64::NAN);
        let got = summarize(&s, 100, 10, 91, 100, Some(0.5), &mut || {});
        assert_eq!(got, Summary::default());
        // A range wholly outside the ring, and an empty one.
        let s = stored(10, 4, 100, |g| g as f64);
        assert_eq!(summarize(&s, 100, 10, 10, 20, None, &mut || {}).count, 0);
        assert_eq!(summarize(&s, 100, 10, 95, 94, None, &mut || {}).count, 0);
    }

    #[test]
    fn runs_follow_the_ring_round_its_end() {
        // 10 rows of width 4: positions 8, 9 then 0.. for a window ending
        // at slot 105 (position 5).
        let s = stored(10, 4, 105, |g| g as f64);
        let r: Vec<(i64, u32, usize, usize)> = runs(s.ring, 98, 105)
            .map(|r| (r.g, r.chunk, r.offset, r.len))
            .collect();
        assert_eq!(r, vec![(98, 2, 0, 2), (100, 0, 0, 4), (104, 1, 0, 2)]);
        assert_eq!(chunk_ranges(s.ring, 98, 105), vec![(2, 2), (0, 1)]);
        assert_eq!(chunk_ranges(s.ring, 100, 105), vec![(0, 1)]);
        let got = summarize(&s, 105, 10, 98, 105, None, &mut || {});
        assert_eq!(got.sum, Some((98..=105).sum::<i64>() as f64));
        assert_eq!(got.first, Some((980, 98.0)));
        assert_eq!(got.last, Some((1050, 105.0)));
    }

    /// A stream with rows missing and points pending gives what the rows
    /// read whole, the pending edits applied over them, give.
    #[test]
    fn a_scan_with_pending_edits_and_missing_rows_agrees() {
        let mut rng = Rng(11);
        for case in 0..300 {
            let rows = 1 + rng.below(200);
            let width = 1 + rng.below(40);
            let latest = 500 + rng.below(3000) as i64;
            let mut s = stored(rows, width, latest, |g| ((g * 13) % 29) as f64 - 7.5);
            // Some rows were never stored.
            let count = s.ring.chunk_count();
            for _ in 0..rng.below(3) {
                s.chunks.remove(&(rng.below(count as u64) as u32));
            }
            // Points pending over the newest slots, some unknown.
            let mut pending = BTreeMap::new();
            let mut holes = Vec::new();
            for _ in 0..rng.below(4) {
                let g = latest - rng.below(rows) as i64;
                let n = 1 + rng.below(width.min(rows));
                let v = if rng.below(4) == 0 {
                    f64::NAN
                } else {
                    rng.below(50) as f64
                };
                s.ring.write_run(g, n, v, &mut pending, &mut holes);
            }
            let mut merged = s.clone();
            merged.holes = holes.clone();
            for (&c, edit) in &pending {
                let dp = s
                    .ring
                    .apply_edit(c, s.chunks.get(&c).map(Vec::as_slice), edit);
                merged.chunks.insert(c, dp);
            }
            let first = latest - rng.below(rows + 20) as i64;
            let last = first + rng.below(rows + 20) as i64;
            let q = [0.0, 0.5, 0.9][rng.below(3) as usize];
            let src = Source {
                ring: s.ring,
                holes: &holes,
                pending: Some(&pending),
                latest,
                step: 10,
            };
            let mut scans = Vec::new();
            let got = summarize_scan(
                &src,
                first,
                last,
                Some(q),
                &mut || {},
                &mut |(a, b), sink| {
                    scans.push((a, b));
                    for (&c, dp) in s.chunks.range(a..=b) {
                        sink(c, dp);
                    }
                },
            );
            let want = summarize(&merged, latest, 10, first, last, Some(q), &mut || {});
            assert_eq!(got, want, "case {case}");
            let slow = reference(&merged, latest, first, last, q);
            assert_eq!(
                (got.count, got.sum, got.first),
                (slow.count, slow.sum, slow.first)
            );
            assert!(scans.len() <= 2, "case {case}: {scans:?}");
        }
    }

    #[test]
    fn sums_as_postgresql_does() {
        // A sum of negative zeros is a negative zero, as `sum(float8)` gives.
        let s = stored(8, 4, 8, |g| if g == 5 { -0.0 } else { f64::NAN });
        let got = summarize(&s, 8, 10, 1, 8, None, &mut || {});
        assert_eq!(got.count, 1);
        assert!(got.sum.unwrap().is_sign_negative());
        // An infinite value: the spread is NaN, as PostgreSQL's stddev.
        let s = stored(8, 4, 8, |g| if g == 5 { f64::INFINITY } else { 1.0 });
        let got = summarize(&s, 8, 10, 1, 8, None, &mut || {});
        assert_eq!(got.sum, Some(f64::INFINITY));
        assert!(got.stddev.unwrap().is_nan());
    }

    /// Runs of one row, and a spike among them, keep the spread accurate.
    #[test]
    fn the_spread_merged_run_by_run_stays_accurate() {
        let s = stored(5000, 1, 5000, |g| {
            if g == 17 {
                1e9
            } else {
                1e6 + (g % 3) as f64
            }
        });
        let got = summarize(&s, 5000, 10, 1, 5000, None, &mut || {});
        let want = reference(&s, 5000, 1, 5000, 0.5).stddev.unwrap();
        let sd = got.stddev.unwrap();
        assert!((sd - want).abs() <= 1e-12 * want, "{sd} vs {want}");
    }
}
