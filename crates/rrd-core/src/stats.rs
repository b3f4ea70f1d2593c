//! Aggregates over a range of ring slots, read from the stored chunk rows
//! directly (`rrd.aggregate`, docs/aggregate.md): the same slots a fetch of
//! the range returns, summed up without a row per slot.
//!
//! The slots are visited in time order, run by run: each run is a slice of
//! one chunk row, so a year of 10 s slots is a few thousand slices. Values
//! agree with PostgreSQL's own aggregates over the fetched rows: `sum` and
//! `avg` add in time order as `sum(float8)` does, `stddev` is the sample
//! standard deviation, and the percentile is `percentile_cont`'s.

use crate::plan::in_ring;
use crate::ring::{in_hole, Stored};

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
/// `chunk` from offset `offset` on.
struct Run {
    g: i64,
    chunk: u32,
    offset: usize,
    len: usize,
}

/// The runs of slots `lo..=hi` (all in the ring's window), in time order.
fn runs(stored: &Stored, lo: i64, hi: i64) -> impl Iterator<Item = Run> + '_ {
    let ring = stored.ring;
    let mut g = lo;
    std::iter::from_fn(move || {
        if g > hi {
            return None;
        }
        let pos = ring.position(g);
        let chunk = (pos / ring.width) as u32;
        let offset = (pos % ring.width) as usize;
        let room = ring.chunk_len(chunk) - offset;
        let len = room.min((hi - g + 1) as usize);
        let run = Run {
            g,
            chunk,
            offset,
            len,
        };
        g += len as i64;
        Some(run)
    })
}

/// Calls `each(g, v)` for every known slot of `lo..=hi` in time order, and
/// `tick()` once a run.
fn known(
    stored: &Stored,
    lo: i64,
    hi: i64,
    tick: &mut dyn FnMut(),
    mut each: impl FnMut(i64, f64),
) {
    for run in runs(stored, lo, hi) {
        tick();
        let Some(dp) = stored.chunks.get(&run.chunk) else {
            continue;
        };
        let Some(slice) = dp.get(run.offset..run.offset + run.len) else {
            continue;
        };
        let holed = stored
            .holes
            .iter()
            .any(|&(a, b)| a < run.g + run.len as i64 && run.g <= b);
        for (i, &v) in slice.iter().enumerate() {
            let g = run.g + i as i64;
            if v.is_nan() || (holed && in_hole(&stored.holes, g)) {
                continue;
            }
            each(g, v);
        }
    }
}

/// Aggregates slots `first..=last` of `stored` (whose newest slot is
/// `latest`, of `step` seconds each); slots outside the ring, in holes or
/// unknown are left out. `percentile`, in `[0, 1]` (checked by the caller),
/// asks for that percentile too, which holds the known values in memory
/// (8 bytes each); the rest takes two passes and no memory. `tick` is
/// called once a chunk-row run, for a caller's cancel check.
pub fn summarize(
    stored: &Stored,
    latest: i64,
    step: i64,
    first: i64,
    last: i64,
    percentile: Option<f64>,
    tick: &mut dyn FnMut(),
) -> Summary {
    let rows = stored.ring.rows;
    let lo = first.max(latest - rows as i64 + 1);
    let hi = last.min(latest);
    let mut out = Summary::default();
    if lo > hi || !in_ring(latest, rows, lo) {
        return out;
    }
    let (mut count, mut sum) = (0u64, 0.0f64);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut first_g, mut last_g) = (None, None);
    let mut values = Vec::new();
    known(stored, lo, hi, tick, |g, v| {
        count += 1;
        sum += v;
        // As PostgreSQL's float8 comparisons: a NaN never gets here.
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
        if first_g.is_none() {
            first_g = Some((g, v));
        }
        last_g = Some((g, v));
        if percentile.is_some() {
            values.push(v);
        }
    });
    if count == 0 {
        return out;
    }
    let avg = sum / count as f64;
    out.count = count;
    out.sum = Some(sum);
    out.avg = Some(avg);
    out.min = Some(min);
    out.max = Some(max);
    out.first = first_g.map(|(g, v)| (g * step, v));
    out.last = last_g.map(|(g, v)| (g * step, v));
    if count > 1 {
        let mut squares = 0.0f64;
        known(stored, lo, hi, tick, |_, v| {
            let d = v - avg;
            squares += d * d;
        });
        out.stddev = Some((squares / (count - 1) as f64).sqrt());
    }
    out.percentile = percentile.map(|q| percentile_cont(&mut values, q));
    out
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
        let r: Vec<(i64, u32, usize, usize)> = runs(&s, 98, 105)
            .map(|r| (r.g, r.chunk, r.offset, r.len))
            .collect();
        assert_eq!(r, vec![(98, 2, 0, 2), (100, 0, 0, 4), (104, 1, 0, 2)]);
        let got = summarize(&s, 105, 10, 98, 105, None, &mut || {});
        assert_eq!(got.sum, Some((98..=105).sum::<i64>() as f64));
        assert_eq!(got.first, Some((980, 98.0)));
        assert_eq!(got.last, Some((1050, 105.0)));
    }
}
