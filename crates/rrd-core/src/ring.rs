//! Ring arithmetic: where a slot of an archive lives in its chunk rows, and
//! how a batch of completed slots is written. No pgrx.
//!
//! An archive of `rows` slots is cut into chunks of `width` consecutive ring
//! positions. Slot `g` (its end time divided by the archive's seconds per
//! row) sits at position `g mod rows`. A chunk row holds nothing but its
//! slot values, so writing one slot changes eight bytes of the row, and a
//! same-page update logs little more than those bytes.
//!
//! Every completed slot is either written to its position (a value, or NaN
//! for a short unknown run) or, for an unknown run of at least a chunk,
//! recorded as a *hole*: a range of slots kept in the state row that read
//! as unknown whatever their positions hold. So a gap of any length costs
//! O(1), however many laps of the ring it spans, and a slot of the window
//! that is in no hole is exactly what its position holds.

use std::collections::BTreeMap;

/// Shape of one archive's ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    /// Slots in the ring (the archive's rows).
    pub rows: u64,
    /// Slots per chunk row.
    pub width: u64,
}

/// Unknown slots that were not written, as inclusive ranges, oldest first.
pub type Holes = Vec<(i64, i64)>;

/// What a batch writes into one chunk row: the offsets it gives, each
/// once, ascending, with the newest value given (NaN for unknown); the
/// other offsets keep the stored value. Its size follows the slots written,
/// not the row's width: a fold of many series holds one per chunk row it
/// touches.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChunkEdit {
    slots: Vec<(u32, f64)>,
}

impl ChunkEdit {
    /// The given slots, as (offset in the row, value), ascending.
    pub fn written(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.slots.iter().map(|&(off, v)| (off as usize, v))
    }

    /// Gives slot `off` the value `v`.
    fn set(&mut self, off: usize, v: f64) {
        let off = off as u32;
        match self.slots.last() {
            None => self.slots.push((off, v)),
            Some(&(last, _)) if last < off => self.slots.push((off, v)),
            _ => match self.slots.binary_search_by_key(&off, |s| s.0) {
                Ok(i) => self.slots[i].1 = v,
                Err(i) => self.slots.insert(i, (off, v)),
            },
        }
    }
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

    /// Offset of slot `g` in its chunk row.
    pub fn offset(&self, g: i64) -> usize {
        (self.position(g) % self.width) as usize
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

    /// Shortest unknown run kept as a hole instead of written: a chunk (or
    /// the whole ring, if smaller). Shorter runs touch at most two rows.
    pub fn hole_min(&self) -> u64 {
        self.width.min(self.rows)
    }

    /// Value of slot `g` in `dp`, the row of `g`'s chunk. The caller checks
    /// that `g` is in the ring's window and in no hole.
    pub fn read(&self, dp: &[f64], g: i64) -> f64 {
        dp.get(self.offset(g)).copied().unwrap_or(f64::NAN)
    }

    /// Records a run of `count` slots from `first`, all `value`: known
    /// values and short unknown runs go to the edits of their chunk rows
    /// (only the newest `rows` slots matter), longer unknown runs become a
    /// hole. Holes that have left the window are dropped.
    pub fn write_run(
        &self,
        first: i64,
        count: u64,
        value: f64,
        edits: &mut BTreeMap<u32, ChunkEdit>,
        holes: &mut Holes,
    ) {
        if count == 0 {
            return;
        }
        let last = first + count as i64 - 1;
        if value.is_nan() && count >= self.hole_min() {
            match holes.last_mut() {
                Some(h) if h.1 + 1 >= first => h.1 = h.1.max(last),
                _ => holes.push((first, last)),
            }
        } else {
            let kept = count.min(self.rows) as i64;
            for g in (last - kept + 1)..=last {
                let c = self.chunk_of(g);
                edits.entry(c).or_default().set(self.offset(g), value);
            }
        }
        // Slots at or before `last - rows` are out of the window for good.
        let oldest = last - self.rows as i64;
        holes.retain(|h| h.1 > oldest);
    }

    /// Chunk row `c` after `edit`: given slots take their new value, the
    /// others keep the stored one (unknown in a new row).
    pub fn apply_edit(&self, c: u32, old: Option<&[f64]>, edit: &ChunkEdit) -> Vec<f64> {
        let len = self.chunk_len(c);
        let mut dp: Vec<f64> = (0..len)
            .map(|off| old.and_then(|o| o.get(off).copied()).unwrap_or(f64::NAN))
            .collect();
        for (off, v) in edit.written() {
            if let Some(slot) = dp.get_mut(off) {
                *slot = v;
            }
        }
        dp
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
}

/// What is stored of one archive: its ring, its holes and (some of) its
/// chunk rows by chunk number.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The archive's ring.
    pub ring: Ring,
    /// Its holes (see the module documentation).
    pub holes: Holes,
    /// Chunk rows read, by chunk number.
    pub chunks: BTreeMap<u32, Vec<f64>>,
}

impl Stored {
    /// Value stored for slot `g`, which the caller knows is in the ring's
    /// window; NaN when unknown, in a hole, or in a row that was not read.
    pub fn value(&self, g: i64) -> f64 {
        if in_hole(&self.holes, g) {
            return f64::NAN;
        }
        self.chunks
            .get(&self.ring.chunk_of(g))
            .map_or(f64::NAN, |dp| self.ring.read(dp, g))
    }
}

/// Every chunk row of `ring` when the slots of the window ending at slot
/// `latest` hold `value(g)`, with no holes (older positions hold NaN).
pub fn layout(ring: Ring, latest: i64, value: impl Fn(i64) -> f64) -> Vec<Vec<f64>> {
    Fill {
        ring,
        latest,
        value,
    }
    .all()
}

/// The chunk rows of a ring whose window ends at slot `latest` and holds
/// `value(g)`, made a range of rows at a time: a ring of millions of rows
/// is written without ever being held whole.
pub struct Fill<F> {
    /// The ring to fill.
    pub ring: Ring,
    /// Its newest slot.
    pub latest: i64,
    /// The value of each slot of the window.
    pub value: F,
}

impl<F: Fn(i64) -> f64> Fill<F> {
    /// How many chunk rows the ring has.
    pub fn chunk_count(&self) -> u32 {
        self.ring.chunk_count()
    }

    /// Chunk rows `chunks` (a range of chunk numbers, clipped to the ring).
    pub fn chunks(&self, chunks: std::ops::Range<u32>) -> Vec<Vec<f64>> {
        let ring = self.ring;
        let rows = ring.rows as i64;
        (chunks.start..chunks.end.min(ring.chunk_count()))
            .map(|c| {
                let first = c as u64 * ring.width;
                (0..ring.chunk_len(c) as u64)
                    .map(|o| {
                        // The one slot of the window at this position.
                        let p = (first + o) as i64;
                        let g = self.latest - (self.latest - p).rem_euclid(rows);
                        (self.value)(g)
                    })
                    .collect()
            })
            .collect()
    }

    /// Every chunk row.
    pub fn all(&self) -> Vec<Vec<f64>> {
        self.chunks(0..self.chunk_count())
    }
}

/// Whether slot `g` is in one of `holes`.
pub fn in_hole(holes: &[(i64, i64)], g: i64) -> bool {
    holes.iter().any(|&(lo, hi)| lo <= g && g <= hi)
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
    /// gaps of many laps, written in batches of random length, and checks
    /// every slot in the window against the model after each batch.
    #[test]
    fn ring_matches_model() {
        let mut rng = crate::testrng::XorShift(0x2545_f491_4f6c_dd1d);
        let mut rnd = move |n: u64| rng.below(n);
        for &(rows, width) in &[
            (1, 1),
            (5, 2),
            (7, 3),
            (10, 10),
            (13, 4),
            (30, 240),
            (50, 7),
        ] {
            let ring = Ring::new(rows, width);
            let mut store: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
            let mut holes = Holes::new();
            let mut model = Model {
                rows,
                latest: 1000,
                vals: BTreeMap::new(),
            };
            let mut edits = BTreeMap::new();
            for step in 0..600 {
                let gap = match rnd(10) {
                    0 => rnd(5 * rows + 3) + 1,
                    1 => rnd(rows + 1) + 1,
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
                ring.write_run(first, count, value, &mut edits, &mut holes);
                // End a batch now and then: write the edits.
                if rnd(3) > 0 {
                    continue;
                }
                for (c, edit) in std::mem::take(&mut edits) {
                    let dp = ring.apply_edit(c, store.get(&c).map(Vec::as_slice), &edit);
                    store.insert(c, dp);
                }
                assert!(holes.len() as u64 <= rows / ring.hole_min() + 2);
                for g in model.latest - rows as i64 - 2..=model.latest + 2 {
                    let want = model.get(g);
                    let got = if g > model.latest
                        || g <= model.latest - rows as i64
                        || in_hole(&holes, g)
                    {
                        f64::NAN
                    } else {
                        store
                            .get(&ring.chunk_of(g))
                            .map_or(f64::NAN, |dp| ring.read(dp, g))
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

    /// A gap of many laps is one hole and writes no chunk row.
    #[test]
    fn long_unknown_runs_write_nothing() {
        let ring = Ring::new(8640, 240);
        let mut edits = BTreeMap::new();
        let mut holes = Holes::new();
        ring.write_run(0, 1 << 40, f64::NAN, &mut edits, &mut holes);
        assert!(edits.is_empty());
        assert_eq!(holes, vec![(0, (1 << 40) - 1)]);
        // A short one is written as NaN into its rows.
        ring.write_run(1 << 40, 3, f64::NAN, &mut edits, &mut holes);
        assert_eq!(edits.len(), 1);
    }

    #[test]
    fn geometry() {
        let ring = Ring::new(1000, 240);
        assert_eq!(ring.chunk_count(), 5);
        assert_eq!(ring.chunk_len(4), 40);
        assert_eq!(ring.chunk_of(999), 4);
        assert_eq!(ring.offset(999), 39);
        assert_eq!(ring.chunk_of(1000), 0);
        assert_eq!(ring.position(-1), 999);
    }

    #[test]
    fn fill_in_ranges_is_the_window_slot_by_slot() {
        for (rows, width) in [(1, 1), (7, 3), (10, 10), (100, 7), (64, 128)] {
            let ring = Ring::new(rows, width);
            for latest in [-3i64, 0, 5, 99, 12345] {
                let value = |g: i64| g as f64 * 0.5;
                // The reference: every row unknown, then each slot of the
                // window written where the ring puts it.
                let mut want: Vec<Vec<f64>> = (0..ring.chunk_count())
                    .map(|c| vec![f64::NAN; ring.chunk_len(c)])
                    .collect();
                for g in latest - rows as i64 + 1..=latest {
                    want[ring.chunk_of(g) as usize][ring.offset(g)] = value(g);
                }
                let fill = Fill {
                    ring,
                    latest,
                    value,
                };
                let mut got = Vec::new();
                let mut c = 0;
                while c < fill.chunk_count() {
                    got.extend(fill.chunks(c..c + 2));
                    c += 2;
                }
                let bits = |v: &Vec<Vec<f64>>| -> Vec<Vec<u64>> {
                    v.iter()
                        .map(|r| r.iter().map(|x| x.to_bits()).collect())
                        .collect()
                };
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "rows {rows} width {width} latest {latest}"
                );
                assert_eq!(bits(&fill.all()), bits(&want));
            }
        }
    }
}
