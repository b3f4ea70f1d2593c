//! Ring arithmetic: where a slot of an archive lives in its chunk rows, and
//! how a chunk row is rewritten or read. No pgrx.
//!
//! An archive of `rows` slots is cut into chunks of `width` consecutive ring
//! positions. Slot `g` (its end time divided by the archive's seconds per
//! row) sits at position `g mod rows`. Each chunk row remembers `hi`, the
//! newest slot it was written for; a position in it is valid for slot `g`
//! only when `g` is the newest slot at or before `hi` that maps to that
//! position. Slots written as unknown are never stored: the chunk keeps its
//! old `hi`, so the reader sees them as unknown. That is what makes a long
//! gap cost nothing, however many laps of the ring it spans.

use std::collections::BTreeMap;

/// Shape of one archive's ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    /// Slots in the ring (the archive's rows).
    pub rows: u64,
    /// Slots per chunk row.
    pub width: u64,
}

/// A chunk row as stored: the newest slot written into it and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub hi: i64,
    pub dp: Vec<f64>,
}

impl Ring {
    /// A ring of `rows` slots in chunks of at most `width`.
    pub fn new(rows: u64, width: u64) -> Ring {
        let width = width.clamp(1, rows.max(1));
        Ring { rows, width }
    }

    /// Ring position of slot `g`.
    pub fn position(&self, g: i64) -> u64 {
        g.rem_euclid(self.rows as i64) as u64
    }

    /// Chunk number holding slot `g`.
    pub fn chunk_of(&self, g: i64) -> u32 {
        (self.position(g) / self.width) as u32
    }

    /// Number of chunk rows of the ring.
    pub fn chunk_count(&self) -> u32 {
        self.rows.div_ceil(self.width) as u32
    }

    /// Slots in chunk `c` (the last one may be short).
    pub fn chunk_len(&self, c: u32) -> usize {
        let start = c as u64 * self.width;
        (self.rows - start).min(self.width) as usize
    }

    /// The newest slot at or before `hi` that maps to position `pos`.
    pub(crate) fn slot_at(&self, hi: i64, pos: u64) -> i64 {
        let back = (self.position(hi) as i64 - pos as i64).rem_euclid(self.rows as i64);
        hi - back
    }

    /// Value of slot `g` as stored in `chunk` (which must be `g`'s chunk);
    /// NaN when the chunk was not written for `g`'s lap.
    pub fn read(&self, chunk: &Chunk, g: i64) -> f64 {
        if g > chunk.hi || self.slot_at(chunk.hi, self.position(g)) != g {
            return f64::NAN;
        }
        let off = (self.position(g) - self.chunk_of(g) as u64 * self.width) as usize;
        chunk.dp.get(off).copied().unwrap_or(f64::NAN)
    }

    /// Rewrites chunk `c` with new slot values (`g -> value`, all in this
    /// chunk and newer than anything written before). Positions whose newest
    /// slot was neither kept nor given become unknown.
    pub fn merge(&self, c: u32, old: Option<&Chunk>, new: &BTreeMap<i64, f64>) -> Option<Chunk> {
        let (&hi, _) = new.iter().next_back()?;
        let len = self.chunk_len(c);
        let base = c as u64 * self.width;
        let mut dp = vec![f64::NAN; len];
        for (off, slot) in dp.iter_mut().enumerate() {
            let g = self.slot_at(hi, base + off as u64);
            if let Some(v) = new.get(&g) {
                *slot = *v;
            } else if let Some(old) = old {
                *slot = self.read(old, g);
            }
        }
        Some(Chunk { hi, dp })
    }

    /// Chunk numbers holding slots `lo..=hi`, each once, walking a chunk at
    /// a time so that the cost follows the number of chunks, not of slots.
    pub fn chunks_between(&self, lo: i64, hi: i64) -> Vec<u32> {
        let mut out = Vec::new();
        // One lap visits every chunk; within a lap only the first recurs.
        let hi = hi.min(lo + self.rows as i64 - 1);
        let mut g = lo;
        while g <= hi {
            let c = self.chunk_of(g);
            if out.first() != Some(&c) && out.last() != Some(&c) {
                out.push(c);
            }
            let next = ((c as u64 + 1) * self.width).min(self.rows);
            g += (next - self.position(g)) as i64;
        }
        out
    }

    /// Splits the known values of a run of `count` slots from `first` into
    /// per-chunk maps, keeping only the newest `rows` slots.
    pub fn spread(
        &self,
        first: i64,
        count: u64,
        value: f64,
        out: &mut BTreeMap<u32, BTreeMap<i64, f64>>,
    ) {
        if value.is_nan() || count == 0 {
            return;
        }
        let last = first + count as i64 - 1;
        let kept = count.min(self.rows) as i64;
        for g in (last - kept + 1)..=last {
            out.entry(self.chunk_of(g)).or_default().insert(g, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference ring that stores every slot ever written.
    struct Model {
        rows: u64,
        latest: i64,
        vals: BTreeMap<i64, f64>,
    }

    impl Model {
        fn get(&self, g: i64) -> f64 {
            if g > self.latest || g <= self.latest - self.rows as i64 {
                return f64::NAN;
            }
            self.vals.get(&g).copied().unwrap_or(f64::NAN)
        }
    }

    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b
    }

    /// Drives rings of several shapes with runs that include unknowns and
    /// gaps of many laps, and checks every slot in the window against the
    /// model after each step.
    #[test]
    fn ring_matches_model() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for &(rows, width) in &[(1, 1), (5, 2), (7, 3), (10, 10), (13, 4), (30, 240)] {
            let ring = Ring::new(rows, width);
            let mut store: BTreeMap<u32, Chunk> = BTreeMap::new();
            let mut model = Model {
                rows,
                latest: 1000,
                vals: BTreeMap::new(),
            };
            for step in 0..400 {
                let gap = match rnd(10) {
                    0 => rnd(5 * rows + 3) + 1,
                    _ => rnd(3) + 1,
                };
                let first = model.latest + 1;
                let count = gap;
                let value = if rnd(4) == 0 {
                    f64::NAN
                } else {
                    (step * 10 + rnd(9)) as f64
                };
                for g in first..first + count as i64 {
                    model.vals.insert(g, value);
                }
                model.latest = first + count as i64 - 1;
                let mut per_chunk = BTreeMap::new();
                ring.spread(first, count, value, &mut per_chunk);
                for (c, new) in per_chunk {
                    if let Some(ch) = ring.merge(c, store.get(&c), &new) {
                        store.insert(c, ch);
                    }
                }
                for g in model.latest - rows as i64 - 2..=model.latest + 2 {
                    let want = model.get(g);
                    let got = if g > model.latest || g <= model.latest - rows as i64 {
                        f64::NAN
                    } else {
                        store
                            .get(&ring.chunk_of(g))
                            .map_or(f64::NAN, |ch| ring.read(ch, g))
                    };
                    assert!(
                        same(want, got),
                        "rows {rows} width {width} step {step} slot {g}: want {want} got {got}"
                    );
                }
            }
        }
    }

    #[test]
    fn chunks_between_matches_slot_by_slot() {
        for &(rows, width) in &[(1, 1), (10, 4), (13, 5), (240, 240), (1000, 240)] {
            let ring = Ring::new(rows, width);
            for lo in -30..30_i64 {
                for len in 0..(2 * rows as i64 + 3) {
                    let hi = lo + len - 1;
                    let mut want: Vec<u32> = Vec::new();
                    for g in lo..=hi {
                        if !want.contains(&ring.chunk_of(g)) {
                            want.push(ring.chunk_of(g));
                        }
                    }
                    assert_eq!(
                        ring.chunks_between(lo, hi),
                        want,
                        "rows {rows} width {width} {lo}..={hi}"
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_runs_write_nothing() {
        let ring = Ring::new(8640, 240);
        let mut out = BTreeMap::new();
        ring.spread(0, 1 << 40, f64::NAN, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn geometry() {
        let ring = Ring::new(1000, 240);
        assert_eq!(ring.chunk_count(), 5);
        assert_eq!(ring.chunk_len(4), 40);
        assert_eq!(ring.chunk_of(999), 4);
        assert_eq!(ring.chunk_of(1000), 0);
        assert_eq!(ring.position(-1), 999);
    }
}
