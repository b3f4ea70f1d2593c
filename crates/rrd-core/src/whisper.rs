//! Whisper `.wsp` files (Graphite's round-robin format) read into one
//! [`Imported`] series: [`read`].
//!
//! A Whisper file is big-endian throughout: 16 bytes of metadata
//! (aggregation type `u32`, maximum retention `u32`, xFilesFactor `f32`,
//! archive count `u32`), 12 bytes per archive (offset of its points,
//! seconds per point, points, each `u32`), then at each offset the
//! archive's ring of 12-byte points (timestamp `u32`, value `f64`).
//!
//! The mapping, which `docs/import.md` states for users:
//!
//! - The finest archive's seconds per point is the step; every archive is
//!   an archive of `seconds per point / step` steps and as many rows as it
//!   has points. The aggregation method is the consolidation function
//!   (average, min, max and last; the others have none and are refused).
//! - **Labels.** Whisper labels a point by the start of its interval
//!   `[ts, ts + spp)`, pg_rrd a slot by its end: the point at `ts` is slot
//!   `ts / spp + 1`, the one ending at `ts + spp`.
//! - **Stale points.** Whisper places points relative to the first one
//!   written (the base, at position 0) and never clears a slot, so a slot
//!   may still hold a point of an earlier lap of the ring. A point counts
//!   only where Whisper's own fetch shows it: its timestamp is a multiple of
//!   the archive's seconds per point, not 0 (a slot never written), sits at
//!   the position the base gives it, and falls in the archive's window
//!   (the `points` intervals ending at the last update). Anything else is
//!   read as unknown, as are NaN values.
//! - **The last update** is the end of the newest point of the finest
//!   archive that has one. The open consolidated data point of each coarser
//!   archive (the part of its row that the last update has not completed)
//!   is rebuilt from the finer archives' points, so that updates after the
//!   import consolidate as if pg_rrd had seen those points; Whisper's own
//!   partial value for that row is not used.
//! - **xff.** See [`rrd_xff`].

use crate::def::{Archive, Cf, DataSource, Definition, DsKind, MAX_INTERVAL_SECONDS};
use crate::engine::{CdpState, State};
use crate::error::{FileFormat, Result, RrdError};
use crate::import::{Imported, Tick};
use crate::time::{self, US};

/// Bytes of the metadata at the start of a file.
const METADATA_BYTES: u64 = 16;
/// Bytes of one archive's entry in the header.
const ARCHIVE_INFO_BYTES: u64 = 12;
/// Bytes of one point: timestamp `u32`, value `f64`.
const POINT_BYTES: u64 = 12;

/// Name of the data source of an imported series (Whisper files have one
/// unnamed series).
pub const DS_NAME: &str = "value";

/// What [`read`] cannot learn from the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Heartbeat of the data source in seconds, positive. `None` gives
    /// twice the step (at most [`MAX_INTERVAL_SECONDS`]): a sender that
    /// reports once a step, with some jitter, keeps every interval known,
    /// while a gap of more than one missed report is unknown, much as
    /// Whisper shows the missed points as gaps. Whisper itself has no
    /// heartbeat, so the file cannot say.
    pub heartbeat: Option<i64>,
    /// The current time, in seconds since the epoch (at or after it).
    /// Points whose interval starts after it are dropped, as Whisper's fetch
    /// never shows them, and a file without any point starts its series at
    /// the step boundary at or before it. `None` drops no point as future
    /// and refuses a file without points, which then has no time to start
    /// from.
    pub now: Option<i64>,
    /// Called every few thousand points read.
    pub tick: Tick,
}

fn bad(msg: impl Into<String>) -> RrdError {
    RrdError::BadFile {
        format: FileFormat::Whisper,
        msg: msg.into(),
    }
}

fn u32_at(bytes: &[u8], at: u64) -> Option<u32> {
    let at = usize::try_from(at).ok()?;
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

fn f64_at(bytes: &[u8], at: u64) -> Option<f64> {
    let at = usize::try_from(at).ok()?;
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(f64::from_be_bytes(b.try_into().ok()?))
}

/// One archive of the file: where its points are and its shape.
#[derive(Debug, Clone, Copy)]
struct Ring<'a> {
    bytes: &'a [u8],
    offset: u64,
    spp: u64,
    points: u64,
}

impl Ring<'_> {
    /// Timestamp and value of ring position `p` (below `points`). The
    /// header checks put every position inside the file; one that is not
    /// reads as never written.
    fn point(&self, p: u64) -> (u32, f64) {
        let at = self.offset + p * POINT_BYTES;
        match (u32_at(self.bytes, at), f64_at(self.bytes, at + 4)) {
            (Some(ts), Some(v)) => (ts, v),
            _ => (0, f64::NAN),
        }
    }

    /// Whether the point `(ts, _)` at position `p` is one Whisper would
    /// show: written, aligned, and at the place the base `base` (the
    /// timestamp at position 0) gives it; and not after `now`.
    fn placed(&self, base: u32, p: u64, ts: u32, now: Option<i64>) -> bool {
        let (ts, base) = (i64::from(ts), i64::from(base));
        let (spp, points) = (self.spp as i64, self.points as i64);
        ts != 0
            && ts % spp == 0
            && now.is_none_or(|now| ts <= now)
            && (ts - base).div_euclid(spp).rem_euclid(points) == p as i64
    }

    /// The base, `None` for an archive never written (Whisper's test too).
    fn base(&self) -> Option<u32> {
        Some(self.point(0).0).filter(|&b| b != 0)
    }

    /// The newest point Whisper would show, as `(ts, value)`.
    fn newest(&self, now: Option<i64>, tick: Tick) -> Option<(u32, f64)> {
        let base = self.base()?;
        let mut best: Option<(u32, f64)> = None;
        for p in 0..self.points {
            tick.at(p + 1);
            let (ts, v) = self.point(p);
            if self.placed(base, p, ts, now) && best.is_none_or(|(b, _)| ts > b) {
                best = Some((ts, v));
            }
        }
        best
    }

    /// Values of the `points` slots ending at pg_rrd slot `latest`, oldest
    /// first; NaN where Whisper shows no point.
    fn window(&self, latest: i64, now: Option<i64>, tick: Tick) -> Vec<f64> {
        let mut rows = vec![f64::NAN; self.points as usize];
        let Some(base) = self.base() else {
            return rows;
        };
        let first = latest - self.points as i64 + 1;
        for p in 0..self.points {
            tick.at(p + 1);
            let (ts, v) = self.point(p);
            if !self.placed(base, p, ts, now) {
                continue;
            }
            let g = i64::from(ts) / self.spp as i64 + 1;
            if (first..=latest).contains(&g) {
                rows[(g - first) as usize] = v;
            }
        }
        rows
    }
}

/// What the header says.
struct Header<'a> {
    aggregation: u32,
    xff: f32,
    rings: Vec<Ring<'a>>,
}

/// Reads and checks the header: every archive's points inside the file,
/// after the header and after the previous archive's, archives from the
/// finest to the coarsest, each one's seconds per point a multiple of the
/// previous one's. Nothing is allocated beyond the archive entries, which
/// that order keeps to at most 33.
fn header(bytes: &[u8]) -> Result<Header<'_>> {
    let len = bytes.len() as u64;
    if len < METADATA_BYTES {
        return Err(bad(format!(
            "header too short: the metadata takes {METADATA_BYTES} bytes, the file has {len}"
        )));
    }
    let word = |at: u64| u32_at(bytes, at).unwrap_or(0);
    let aggregation = word(0);
    // maxRetention (bytes 4..8) is derived from the archives; Whisper's
    // fetch uses it only to clip ranges, and so it is not read.
    let xff = f32::from_bits(word(8));
    let count = word(12);
    if !(1..=8).contains(&aggregation) {
        return Err(bad(format!(
            "unknown aggregation type {aggregation} (Whisper's are 1 to 8)"
        )));
    }
    if !(0.0..=1.0).contains(&xff) {
        return Err(bad(format!("xFilesFactor {xff} is not between 0 and 1")));
    }
    if count == 0 {
        return Err(bad("the header lists no archives"));
    }
    let header_end = METADATA_BYTES + ARCHIVE_INFO_BYTES * u64::from(count);
    if header_end > len {
        return Err(bad(format!(
            "the header of {count} archives takes {header_end} bytes, the file has {len}"
        )));
    }
    let mut rings: Vec<Ring<'_>> = Vec::new();
    let mut data_end = header_end;
    for i in 0..u64::from(count) {
        let at = METADATA_BYTES + ARCHIVE_INFO_BYTES * i;
        let offset = u64::from(word(at));
        let spp = u64::from(word(at + 4));
        let points = u64::from(word(at + 8));
        if spp == 0 {
            return Err(bad(format!("archive {i}: 0 seconds per point")));
        }
        if points == 0 {
            return Err(bad(format!("archive {i}: 0 points")));
        }
        if let Some(prev) = rings.last() {
            if spp <= prev.spp {
                return Err(bad(format!(
                    "archive {i}: {spp} seconds per point after archive {}'s {}: archives go from the finest to the coarsest",
                    i - 1,
                    prev.spp
                )));
            }
            if spp % prev.spp != 0 {
                return Err(bad(format!(
                    "archive {i}: {spp} seconds per point is not a multiple of archive {}'s {}",
                    i - 1,
                    prev.spp
                )));
            }
        }
        if offset < data_end {
            let what = if rings.is_empty() {
                "the header".to_string()
            } else {
                format!("archive {}'s points", i - 1)
            };
            return Err(bad(format!(
                "archive {i}: its points at byte {offset} overlap {what}, which end at byte {data_end}"
            )));
        }
        let end = offset + points * POINT_BYTES;
        if end > len {
            return Err(bad(format!(
                "archive {i}: {points} points from byte {offset} end at byte {end}, past the end of the file ({len} bytes)"
            )));
        }
        data_end = end;
        rings.push(Ring {
            bytes,
            offset,
            spp,
            points,
        });
    }
    Ok(Header {
        aggregation,
        xff,
        rings,
    })
}

/// The consolidation function of Whisper's aggregation type.
fn consolidation(aggregation: u32) -> Result<Cf> {
    let name = match aggregation {
        1 => return Ok(Cf::Average),
        3 => return Ok(Cf::Last),
        4 => return Ok(Cf::Max),
        5 => return Ok(Cf::Min),
        2 => "sum",
        6 => "avg_zero",
        7 => "absmax",
        _ => "absmin",
    };
    Err(RrdError::Unsupported {
        msg: format!(
            "whisper aggregation method '{name}' has no RRDtool consolidation function; pg_rrd imports files of average, min, max and last"
        ),
    })
}

/// The xff of an archive of `steps` steps for Whisper's xFilesFactor `w`
/// (in `[0, 1]`).
///
/// Whisper keeps a coarse point when `known / total >= w` (and at least one
/// point is known); RRDtool keeps a row unless `unknown > steps × xff`
/// (`engine.rs`, strictly greater). With `xff = 1 − w` the two agree:
/// `unknown > steps − steps·w` is `known < steps·w`. `1 − w` is exact in
/// a double for any `w` that a 32-bit float holds above 2^-29, so the
/// boundary cases (`w` = 0.5 and 2 of 4 known) fall the same way; `w` =
/// 0.3 is stored as 0.300000011920929, and its xff is 0.699999988079071.
///
/// `w = 0` (keep a point if any is known) would be xff 1, which RRDtool
/// does not take and which would keep a row of unknowns: it becomes
/// `(steps − 0.5) / steps`, under which `steps` unknown PDPs make the row
/// unknown and `steps − 1` do not. So does a `w` so small that `1 − w`
/// is 1 or comes back from a dump's text as 1; any xff above
/// `(steps − 0.5) / steps` decides every row as that one does, since only
/// whole counts of unknown PDPs are compared with `xff · steps`.
///
/// What is counted differs: Whisper counts the points of the next finer
/// archive, RRDtool the archive's PDPs (points of the finest archive).
pub fn rrd_xff(w: f32, steps: u64) -> f64 {
    let xff = 1.0 - f64::from(w);
    // Just below 1 (1 − 2^-53), no text brings the xff back below 1
    // through rrdtool's reader, and a dump of the series would be refused.
    let written = crate::engine::rrd_strtod(&crate::engine::rrd_text(xff));
    if xff < 1.0 && written.is_some_and(|x| x < 1.0) {
        xff.max(0.0)
    } else {
        let n = steps.max(1) as f64;
        (n - 0.5) / n
    }
}

/// The empty accumulator of an open CDP, as `engine.rs` leaves it when a
/// row closes: 0 for AVERAGE (a sum), -inf for MAX, +inf for MIN, NaN for
/// LAST.
fn empty_accumulator(cf: Cf) -> f64 {
    match cf {
        Cf::Average => 0.0,
        Cf::Max => f64::NEG_INFINITY,
        Cf::Min => f64::INFINITY,
        Cf::Last => f64::NAN,
    }
}

/// An open CDP's accumulator after `count` more PDPs of known value `v`,
/// as `engine.rs` accumulates them from its empty accumulator: the sum for
/// AVERAGE, the running extreme for MIN and MAX, the last for LAST.
fn accumulate(cf: Cf, val: f64, v: f64, count: u64) -> f64 {
    match cf {
        Cf::Average => val + v * count as f64,
        Cf::Min => {
            if v < val {
                v
            } else {
                val
            }
        }
        Cf::Max => {
            if v > val {
                v
            } else {
                val
            }
        }
        Cf::Last => v,
    }
}

/// The open CDP of archive `a` at `last` (seconds, on a step boundary).
///
/// Its PDPs are those ending in `(start, last]`, `start` being the
/// archive's row boundary at or before `last`. Each takes the value of the
/// finest archive `b` finer than `a` whose window holds the slot of `b`
/// containing it (the finest archive for the newest PDPs, a coarser one's
/// slot counting as that many PDPs of its value for older ones when the
/// finest does not reach back so far); PDPs that no window holds are
/// unknown, as are unknown values. Archives before `from`, the first one
/// with a point, hold none and are passed over: their windows say nothing
/// of the time they cover (points older than an archive's retention when
/// written go straight to a coarser one). The work follows the slots
/// read, not the PDPs.
fn open_cdp(def: &Definition, rows: &[Vec<f64>], from: usize, a: usize, last: i64) -> CdpState {
    let step = def.step as i64;
    let arch = &def.archives[a];
    let width = arch.seconds_per_row(def.step) as i64;
    if arch.steps == 1 {
        // A one-step archive's row is its PDP: the engine keeps no CDP.
        return CdpState {
            val: f64::NAN,
            unknown_pdps: 0,
        };
    }
    let start = last - last.rem_euclid(width);
    // (pdps, value), newest first.
    let mut parts: Vec<(u64, f64)> = Vec::new();
    let mut hi = last;
    for (b, finer) in def.archives.iter().enumerate().take(a).skip(from) {
        if hi <= start {
            break;
        }
        let wb = finer.seconds_per_row(def.step) as i64;
        let latest = last.div_euclid(wb);
        let top = hi.min(latest * wb);
        let bottom = start.max((latest - finer.rows as i64) * wb);
        if top < hi {
            parts.push((((hi - top.max(start)) / step) as u64, f64::NAN));
            hi = top.max(start);
        }
        let first = latest - finer.rows as i64 + 1;
        while hi > bottom {
            let g = (hi + wb - 1).div_euclid(wb);
            let lo = ((g - 1) * wb).max(bottom);
            let v = rows[b]
                .get((g - first) as usize)
                .copied()
                .unwrap_or(f64::NAN);
            parts.push((((hi - lo) / step) as u64, v));
            hi = lo;
        }
    }
    if hi > start {
        parts.push((((hi - start) / step) as u64, f64::NAN));
    }
    let mut val = empty_accumulator(arch.cf);
    let mut unknown_pdps = 0u64;
    for &(count, v) in parts.iter().rev() {
        if v.is_nan() {
            unknown_pdps += count;
        } else {
            val = accumulate(arch.cf, val, v, count);
        }
    }
    CdpState { val, unknown_pdps }
}

/// Reads a Whisper file into one series (no suffix).
///
/// Errors:
/// - `BadFile` (Whisper) for bytes that are not a Whisper file, naming the
///   bad part: a short header, an unknown aggregation type, an xFilesFactor
///   outside `[0, 1]`, no archives, an archive of 0 seconds per point or 0
///   points, archives out of order or whose seconds per point do not divide,
///   points overlapping the header or another archive's or running past the
///   end of the file. Bytes after the last archive are ignored.
/// - `Unsupported` for the aggregation methods pg_rrd has no consolidation
///   function for (sum, avg_zero, absmax, absmin).
/// - `BadParameter` for a series pg_rrd does not take (a step beyond
///   2^31 seconds, an archive spanning more than 200000 years, more ring
///   slots than its limit: [`Definition::validate`]), for a bad heartbeat
///   or `now`, and for a file without points when `now` is `None`.
/// - `TimeRange` for a `now` past the year 9999.
///
/// Memory: the archives' windows, 8 bytes per point of the file (a point
/// takes 12), allocated only once the header has been checked against the
/// file's length and the definition validated.
pub fn read(bytes: &[u8], opts: &Options) -> Result<Imported> {
    let h = header(bytes)?;
    let cf = consolidation(h.aggregation)?;
    let step = h.rings[0].spp;
    let heartbeat = match opts.heartbeat {
        None => step.saturating_mul(2).min(MAX_INTERVAL_SECONDS),
        Some(hb) if hb > 0 => hb as u64,
        Some(hb) => {
            return Err(RrdError::param(format!(
                "heartbeat must be a positive number of seconds, not {hb}"
            )))
        }
    };
    if let Some(now) = opts.now {
        if now < 0 {
            return Err(RrdError::param(format!(
                "now ({now}) is before the Unix epoch"
            )));
        }
        time::check_storable(now.saturating_mul(US), "now")?;
    }
    let archives = h
        .rings
        .iter()
        .map(|r| {
            let steps = r.spp / step;
            Archive {
                cf,
                xff: rrd_xff(h.xff, steps),
                steps,
                rows: r.points,
            }
        })
        .collect();
    let def = Definition {
        lateness: 0,
        step,
        ds: DataSource {
            name: DS_NAME.to_string(),
            kind: DsKind::Gauge,
            heartbeat,
            min: None,
            max: None,
        },
        archives,
    };
    def.validate()?;

    let newest = h.rings.iter().enumerate().find_map(|(a, r)| {
        r.newest(opts.now, opts.tick)
            .map(|(ts, v)| (a, i64::from(ts) + r.spp as i64, v))
    });
    let imported = match newest {
        None => {
            let Some(now) = opts.now else {
                return Err(RrdError::param(
                    "the whisper file holds no points: give the current time to start the series at",
                ));
            };
            let start = now - now.rem_euclid(step as i64);
            let rows = h
                .rings
                .iter()
                .map(|r| vec![f64::NAN; r.points as usize])
                .collect();
            Imported {
                suffix: None,
                state: State::new(&def, start * US),
                def,
                rows,
            }
        }
        Some((from, last, value)) => {
            let rows: Vec<Vec<f64>> = h
                .rings
                .iter()
                .map(|r| r.window(last.div_euclid(r.spp as i64), opts.now, opts.tick))
                .collect();
            let cdp = (0..def.archives.len())
                .map(|a| open_cdp(&def, &rows, from, a, last))
                .collect();
            // What the engine holds right after an input that ends on a
            // step boundary: an empty PDP, NaN if that input was unknown.
            // The input itself (`last_ds`) the file does not keep.
            let state = State {
                last_up: last * US,
                last_ds: None,
                pdp_val: if value.is_nan() { f64::NAN } else { 0.0 },
                pdp_unknown_sec: 0,
                cdp,
            };
            Imported {
                suffix: None,
                def,
                state,
                rows,
            }
        }
    };
    imported.check()?;
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{self, Run};
    use crate::testrng::XorShift;
    use std::collections::BTreeMap;

    const NAN: f64 = f64::NAN;

    /// A Whisper file as the tests build it: the header's fields, and each
    /// archive's ring of (timestamp, value) slots, zero where never written.
    #[derive(Clone)]
    struct Wsp {
        aggregation: u32,
        max_retention: Option<u32>,
        xff: f32,
        archives: Vec<WspArchive>,
    }

    #[derive(Clone)]
    struct WspArchive {
        spp: u32,
        slots: Vec<(u32, f64)>,
        /// The interval at position 0, once written.
        base: Option<u32>,
    }

    impl Wsp {
        fn new(aggregation: u32, xff: f32, archives: &[(u32, u32)]) -> Wsp {
            Wsp {
                aggregation,
                max_retention: None,
                xff,
                archives: archives
                    .iter()
                    .map(|&(spp, points)| WspArchive {
                        spp,
                        slots: vec![(0, 0.0); points as usize],
                        base: None,
                    })
                    .collect(),
            }
        }

        /// Writes `v` for the interval holding `ts` where Whisper writes
        /// it: the first interval written is position 0, the others follow
        /// round the ring from there.
        fn put(&mut self, a: usize, ts: u32, v: f64) {
            let arch = &mut self.archives[a];
            let interval = ts - ts % arch.spp;
            let base = *arch.base.get_or_insert(interval);
            let points = arch.slots.len() as i64;
            let pos = (i64::from(interval) - i64::from(base))
                .div_euclid(i64::from(arch.spp))
                .rem_euclid(points);
            arch.slots[pos as usize] = (interval, v);
        }

        fn bytes(&self) -> Vec<u8> {
            let mut out = Vec::new();
            let retention = self
                .archives
                .iter()
                .map(|a| a.spp as u64 * a.slots.len() as u64)
                .max()
                .unwrap_or(0) as u32;
            out.extend(self.aggregation.to_be_bytes());
            out.extend(self.max_retention.unwrap_or(retention).to_be_bytes());
            out.extend(self.xff.to_be_bytes());
            out.extend((self.archives.len() as u32).to_be_bytes());
            let mut offset = 16 + 12 * self.archives.len() as u32;
            for a in &self.archives {
                out.extend(offset.to_be_bytes());
                out.extend(a.spp.to_be_bytes());
                out.extend((a.slots.len() as u32).to_be_bytes());
                offset += 12 * a.slots.len() as u32;
            }
            for a in &self.archives {
                for &(ts, v) in &a.slots {
                    out.extend(ts.to_be_bytes());
                    out.extend(v.to_be_bytes());
                }
            }
            out
        }
    }

    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits() || a == b
    }

    fn same_rows(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(*x, *y))
    }

    fn same_state(a: &State, b: &State) -> bool {
        a.last_up == b.last_up
            && a.last_ds == b.last_ds
            && same(a.pdp_val, b.pdp_val)
            && a.pdp_unknown_sec == b.pdp_unknown_sec
            && a.cdp.len() == b.cdp.len()
            && a.cdp
                .iter()
                .zip(&b.cdp)
                .all(|(x, y)| same(x.val, y.val) && x.unknown_pdps == y.unknown_pdps)
    }

    fn same_import(a: &Imported, b: &Imported) -> bool {
        a.suffix == b.suffix
            && a.def == b.def
            && same_state(&a.state, &b.state)
            && a.rows.len() == b.rows.len()
            && a.rows.iter().zip(&b.rows).all(|(x, y)| same_rows(x, y))
    }

    fn at(now: i64) -> Options {
        Options {
            heartbeat: None,
            now: Some(now),
            ..Options::default()
        }
    }

    fn bad_msg(r: Result<Imported>) -> String {
        match r {
            Err(RrdError::BadFile {
                format: FileFormat::Whisper,
                msg,
            }) => msg,
            other => panic!("expected a bad whisper file, got {other:?}"),
        }
    }

    #[test]
    fn header_maps_to_a_definition() {
        let mut w = Wsp::new(1, 0.5, &[(60, 1440), (300, 2016), (3600, 8760)]);
        w.put(0, 1_700_000_000, 1.0);
        let imp = read(&w.bytes(), &at(1_700_000_100)).unwrap();
        assert_eq!(imp.suffix, None);
        assert_eq!(
            imp.def.to_string(),
            "--step 60 DS:value:GAUGE:120:U:U RRA:AVERAGE:0.5:1:1440 \
             RRA:AVERAGE:0.5:5:2016 RRA:AVERAGE:0.5:60:8760"
        );
        let hb = Options {
            heartbeat: Some(600),
            now: None,
            ..Options::default()
        };
        assert_eq!(read(&w.bytes(), &hb).unwrap().def.ds.heartbeat, 600);
        for h in [0, -5] {
            let opts = Options {
                heartbeat: Some(h),
                now: None,
                ..Options::default()
            };
            assert!(matches!(
                read(&w.bytes(), &opts),
                Err(RrdError::BadParameter { .. })
            ));
        }
        // Twice a step beyond the longest heartbeat: the longest.
        let mut w = Wsp::new(1, 0.5, &[(1 << 30, 2)]);
        w.put(0, 1 << 30, 1.0);
        let imp = read(&w.bytes(), &Options::default()).unwrap();
        assert_eq!(imp.def.ds.heartbeat, MAX_INTERVAL_SECONDS);
    }

    #[test]
    fn aggregation_methods() {
        for (t, cf) in [(1, Cf::Average), (3, Cf::Last), (4, Cf::Max), (5, Cf::Min)] {
            let mut w = Wsp::new(t, 0.5, &[(10, 6), (60, 4)]);
            w.put(0, 1000, 1.0);
            let imp = read(&w.bytes(), &at(2000)).unwrap();
            assert!(imp.def.archives.iter().all(|a| a.cf == cf), "type {t}");
        }
        for (t, name) in [(2, "sum"), (6, "avg_zero"), (7, "absmax"), (8, "absmin")] {
            let w = Wsp::new(t, 0.5, &[(10, 6)]);
            match read(&w.bytes(), &at(2000)) {
                Err(RrdError::Unsupported { msg }) => assert!(
                    msg.starts_with(&format!(
                        "whisper aggregation method '{name}' has no RRDtool consolidation function"
                    )),
                    "{msg}"
                ),
                other => panic!("type {t}: {other:?}"),
            }
        }
        for t in [0, 9, u32::MAX] {
            let w = Wsp::new(t, 0.5, &[(10, 6)]);
            let msg = bad_msg(read(&w.bytes(), &at(2000)));
            assert!(msg.contains(&format!("aggregation type {t}")), "{msg}");
        }
    }

    /// Whisper's rule (keep when known / total >= w, and something is
    /// known) and the engine's (unknown when u > steps * xff) decide every
    /// count of unknowns the same way.
    #[test]
    fn xff_keeps_what_whisper_keeps() {
        let ws: [f32; 12] = [
            0.0,
            1e-12,
            1e-9,
            0.1,
            0.25,
            0.3,
            1.0 / 3.0,
            0.5,
            0.7,
            0.9,
            0.99,
            1.0,
        ];
        for w in ws {
            for n in (2..=130u64).chain([600, 1440, 86_400, 1 << 32]) {
                let x = rrd_xff(w, n);
                assert!((0.0..1.0).contains(&x), "w {w} n {n}: xff {x}");
                let us: Vec<u64> = if n <= 130 {
                    (0..=n).collect()
                } else {
                    let k = (n as f64 * f64::from(w)).round() as u64;
                    vec![
                        0,
                        1,
                        n - 1,
                        n,
                        k.saturating_sub(1),
                        k.min(n),
                        (k + 1).min(n),
                    ]
                };
                for u in us {
                    let known = n - u;
                    let whisper = known > 0 && known as f64 / n as f64 >= f64::from(w);
                    let rrd = u as f64 <= n as f64 * x;
                    assert_eq!(whisper, rrd, "w {w} steps {n} unknown {u}: xff {x}");
                }
            }
        }
        assert_eq!(rrd_xff(0.5, 5), 0.5);
        assert_eq!(rrd_xff(1.0, 5), 0.0);
        assert_eq!(rrd_xff(0.0, 4), 0.875);
        assert_eq!(rrd_xff(0.3, 4), 1.0 - f64::from(0.3f32));
    }

    /// The same through the engine: rows of 4 PDPs with 0 to 4 unknown
    /// under the xff of Whisper's 0, 0.5 and 1.
    #[test]
    fn xff_through_the_engine() {
        for (w, known_from) in [(0.0f32, 1), (0.5, 2), (1.0, 4)] {
            let mut def = Definition {
                lateness: 0,
                step: 10,
                ds: DataSource {
                    name: "x".into(),
                    kind: DsKind::Gauge,
                    heartbeat: 20,
                    min: None,
                    max: None,
                },
                archives: vec![Archive {
                    cf: Cf::Average,
                    xff: rrd_xff(w, 4),
                    steps: 4,
                    rows: 10,
                }],
            };
            def.validate().unwrap();
            let mut st = State::new(&def, 400 * US);
            let mut runs = Vec::new();
            let mut t = 400;
            for known in 0..=4u64 {
                for k in 0..4 {
                    t += 10;
                    let v = (k < known).then_some("3");
                    engine::update(&def, &mut st, t * US, v, &mut runs).unwrap();
                }
                let row = runs.last().unwrap();
                assert_eq!(row.first_slot, t / 40);
                assert_eq!(
                    !row.value.is_nan(),
                    known >= known_from,
                    "w {w}: {known} of 4 known"
                );
            }
            def.archives[0].xff = 1.0;
            assert!(def.validate().is_err());
        }
    }

    /// Points become the slots ending where their interval ends; points of
    /// an earlier lap and misplaced or unaligned points are unknown.
    #[test]
    fn labels_shift_and_stale_points_drop() {
        let mut w = Wsp::new(1, 0.5, &[(60, 5)]);
        for (k, ts) in [600, 660, 720, 780, 840].iter().enumerate() {
            w.put(0, *ts, k as f64);
        }
        // The next lap: 900, 960 and 1080 overwrite 600, 660 and 780;
        // 1020 is never written, so its slot keeps 720 from the lap before.
        w.put(0, 900, 10.0);
        w.put(0, 960 + 7, 11.0);
        w.put(0, 1080, 12.0);
        let imp = read(&w.bytes(), &at(2000)).unwrap();
        // The newest point covers [1080, 1140): the last update is 1140,
        // and the window the slots ending 900 to 1140.
        assert_eq!(imp.state.last_up, 1140 * US);
        assert_eq!(imp.latest(0), 19);
        assert!(same_rows(&imp.rows[0], &[4.0, 10.0, 11.0, NAN, 12.0]));
        assert_eq!(imp.value(0, 1020 / 60), 11.0);
        assert_eq!(imp.value(0, 900 / 60), 4.0);

        // A point in the wrong slot, one not on its interval, one never
        // written (timestamp 0): all unknown.
        let mut w = Wsp::new(1, 0.5, &[(60, 5)]);
        for ts in [600, 660, 720, 780, 840] {
            w.put(0, ts, f64::from(ts));
        }
        w.archives[0].slots[1] = (780, 99.0);
        w.archives[0].slots[2] = (721, 99.0);
        w.archives[0].slots[3] = (0, 99.0);
        let imp = read(&w.bytes(), &at(2000)).unwrap();
        assert_eq!(imp.state.last_up, 900 * US);
        assert!(same_rows(&imp.rows[0], &[600.0, NAN, NAN, NAN, 840.0]));

        // A NaN value is unknown; it still moves the last update.
        let mut w = Wsp::new(1, 0.5, &[(60, 5)]);
        w.put(0, 600, 1.0);
        w.put(0, 660, NAN);
        let imp = read(&w.bytes(), &at(2000)).unwrap();
        assert_eq!(imp.state.last_up, 720 * US);
        assert!(imp.state.pdp_val.is_nan());
        assert!(same_rows(&imp.rows[0], &[NAN, NAN, NAN, 1.0, NAN]));
    }

    /// Points after `now` are not shown; a file of only such points, or of
    /// none, starts at `now`.
    #[test]
    fn now_drops_future_points_and_starts_empty_files() {
        let mut w = Wsp::new(1, 0.5, &[(60, 5), (300, 4)]);
        w.put(0, 600, 1.0);
        w.put(0, 660, 2.0);
        w.put(0, 720, 3.0);
        let imp = read(&w.bytes(), &at(700)).unwrap();
        assert_eq!(imp.state.last_up, 720 * US);
        assert_eq!(imp.value(0, 12), 2.0);
        let imp = read(&w.bytes(), &Options::default()).unwrap();
        assert_eq!(imp.state.last_up, 780 * US);

        let empty = Wsp::new(1, 0.5, &[(60, 5), (300, 4)]);
        let imp = read(&empty.bytes(), &at(1000)).unwrap();
        assert!(same_state(&imp.state, &State::new(&imp.def, 960 * US)));
        assert!(imp.rows.iter().flatten().all(|v| v.is_nan()));
        let imp = read(&w.bytes(), &at(599)).unwrap();
        assert_eq!(imp.state.last_up, 540 * US);
        assert!(matches!(
            read(&empty.bytes(), &Options::default()),
            Err(RrdError::BadParameter { .. })
        ));
        assert!(matches!(
            read(&empty.bytes(), &at(-1)),
            Err(RrdError::BadParameter { .. })
        ));
        assert!(matches!(
            read(&empty.bytes(), &at(i64::MAX)),
            Err(RrdError::TimeRange { .. })
        ));
    }

    /// The open row of a coarse archive comes from the finest archive
    /// where it reaches, from the next one's slots (each as many PDPs of
    /// its value) where it does not, and is unknown beyond both.
    #[test]
    fn open_cdp_falls_back_to_coarser_archives() {
        for (t, want) in [(1, 366.0), (3, 3.0), (4, 40.0), (5, 1.0)] {
            let mut w = Wsp::new(t, 0.5, &[(10, 3), (60, 4), (600, 3)]);
            for (ts, v) in [(6060, 10.0), (6180, 30.0), (6240, 40.0)] {
                w.put(1, ts, v);
            }
            w.put(2, 5400, 7.0);
            // Whisper's partial value for the open 600 s row: not used.
            w.put(2, 6000, 99.0);
            for (ts, v) in [(6270, 1.0), (6280, 2.0), (6290, 3.0)] {
                w.put(0, ts, v);
            }
            let imp = read(&w.bytes(), &at(6300)).unwrap();
            assert_eq!(imp.state.last_up, 6300 * US);
            // The 600 s row open over (6000, 6300]: 3 PDPs from the finest
            // archive, 21 from the 60 s one (6 of them unknown), and 6
            // before the 60 s window.
            let cdp = &imp.state.cdp[2];
            assert_eq!((cdp.val, cdp.unknown_pdps), (want, 12), "type {t}");
            // The 60 s archive's row ended at 6300: nothing open.
            let empty = empty_accumulator(imp.def.archives[1].cf);
            assert!(same(imp.state.cdp[1].val, empty));
            assert_eq!(imp.state.cdp[1].unknown_pdps, 0);
            assert!(imp.state.cdp[0].val.is_nan());
            assert!(same_rows(&imp.rows[1], &[10.0, NAN, 30.0, 40.0]));
            assert!(same_rows(&imp.rows[2], &[NAN, NAN, 7.0]));
        }
    }

    /// A coarse archive finer than the first one with points is empty;
    /// the last update then comes from the first archive that has one.
    #[test]
    fn last_update_from_the_finest_archive_with_points() {
        let mut w = Wsp::new(1, 0.5, &[(10, 6), (60, 10), (600, 4)]);
        w.put(1, 1200, 5.0);
        w.put(1, 1260, 6.0);
        w.put(2, 600, 4.0);
        let imp = read(&w.bytes(), &at(5000)).unwrap();
        assert_eq!(imp.state.last_up, 1320 * US);
        assert!(imp.rows[0].iter().all(|v| v.is_nan()));
        assert_eq!(imp.value(1, 22), 6.0);
        // The open 600 s row (1200, 1320]: 12 PDPs of the 60 s archive.
        assert_eq!(imp.state.cdp[2].val, 5.0 * 6.0 + 6.0 * 6.0);
        assert_eq!(imp.state.cdp[2].unknown_pdps, 0);
        assert_eq!(imp.value(2, 2), 4.0);
    }

    /// Every malformed file is a bad Whisper file, and the message names
    /// the bad part.
    #[test]
    fn bad_files_name_the_bad_part() {
        let mut good = Wsp::new(1, 0.5, &[(60, 5), (300, 4)]);
        good.put(0, 600, 1.0);
        let bytes = good.bytes();
        let len = bytes.len();
        let set = |at: usize, word: u32| {
            let mut b = bytes.clone();
            b[at..at + 4].copy_from_slice(&word.to_be_bytes());
            b
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "header too short: the metadata takes 16 bytes, the file has 0"),
            (bytes[..15].to_vec(), "the file has 15"),
            (bytes[..30].to_vec(), "the header of 2 archives takes 40 bytes, the file has 30"),
            (bytes[..len - 1].to_vec(), "archive 1: 4 points from byte 100 end at byte 148, past the end of the file (147 bytes)"),
            (set(8, f32::NAN.to_bits()), "xFilesFactor NaN is not between 0 and 1"),
            (set(8, f32::INFINITY.to_bits()), "xFilesFactor inf"),
            (set(8, (-0.25f32).to_bits()), "xFilesFactor -0.25"),
            (set(8, 1.5f32.to_bits()), "xFilesFactor 1.5"),
            (set(12, 0), "the header lists no archives"),
            (set(12, u32::MAX), "the header of 4294967295 archives takes 51539607556 bytes, the file has 148"),
            (set(20, 0), "archive 0: 0 seconds per point"),
            (set(36, 0), "archive 1: 0 points"),
            (set(32, 60), "archive 1: 60 seconds per point after archive 0's 60: archives go from the finest to the coarsest"),
            (set(32, 30), "archive 1: 30 seconds per point after archive 0's 60"),
            (set(32, 90), "archive 1: 90 seconds per point is not a multiple of archive 0's 60"),
            (set(16, 0), "archive 0: its points at byte 0 overlap the header, which end at byte 40"),
            (set(16, 39), "overlap the header"),
            (set(28, 40 + 12), "archive 1: its points at byte 52 overlap archive 0's points, which end at byte 100"),
            (set(28, len as u32), "archive 1: 4 points from byte 148 end at byte 196, past the end of the file (148 bytes)"),
            (set(28, u32::MAX), "past the end of the file"),
            (set(24, u32::MAX), "archive 0: 4294967295 points from byte 40"),
        ];
        for (b, want) in cases {
            let msg = bad_msg(read(&b, &at(1000)));
            assert!(msg.contains(want), "want {want:?}, got {msg:?}");
            let full = RrdError::BadFile {
                format: FileFormat::Whisper,
                msg,
            };
            assert!(full.to_string().starts_with("invalid whisper file: "));
        }
        // Bytes after the last archive are not read.
        let mut longer = bytes.clone();
        longer.extend([7; 5]);
        let (a, b) = (read(&longer, &at(1000)), read(&bytes, &at(1000)));
        assert!(same_import(&a.unwrap(), &b.unwrap()));
        // Nor is the maximum retention, which Whisper derives from the
        // archives and uses only to clip fetches.
        let mut odd = good.clone();
        odd.max_retention = Some(1);
        let (a, b) = (read(&odd.bytes(), &at(1000)), read(&bytes, &at(1000)));
        assert!(same_import(&a.unwrap(), &b.unwrap()));
        // Series pg_rrd does not take: the definition's own errors.
        for shape in [&[((1 << 31) + 2, 2)][..], &[(1, 2), (4_000_000_000, 2000)]] {
            let w = Wsp::new(1, 0.5, shape);
            match read(&w.bytes(), &at(1000)) {
                Err(RrdError::BadParameter { msg }) => {
                    assert!(msg.contains("step") || msg.contains("spans"), "{msg}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    /// Random pg_rrd histories, written as Whisper would hold them (the
    /// engine's rows as points, unknown rows never written so that older
    /// laps show through, sometimes Whisper's partial value for each open
    /// coarse row), import to the engine's own state and rows, and the
    /// two then continue alike.
    #[test]
    fn import_equals_updating_point_by_point() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        // Written points the import drops (earlier laps), over all cases.
        let mut stale = 0;
        for case in 0..400 {
            let step = [1u32, 10, 60, 300][rng.below(4) as usize];
            let mut spp = vec![step];
            for _ in 0..rng.below(4) {
                let last = *spp.last().unwrap();
                spp.push(last * (2 + rng.below(4) as u32));
            }
            let max_steps = u64::from(*spp.last().unwrap() / step);
            let shape: Vec<(u32, u32)> = spp
                .iter()
                .enumerate()
                .map(|(i, &s)| {
                    // The finest archive reaches back over every open row.
                    let min = if i == 0 { max_steps } else { 1 };
                    (s, (min + rng.below(12)) as u32)
                })
                .collect();
            let aggregation = [1, 3, 4, 5][rng.below(4) as usize];
            let wxff = [0.0f32, 0.25, 0.3, 0.5, 1.0][rng.below(5) as usize];
            let mut w = Wsp::new(aggregation, wxff, &shape);
            let cf = consolidation(aggregation).unwrap();
            let def = Definition {
                lateness: 0,
                step: u64::from(step),
                ds: DataSource {
                    name: DS_NAME.into(),
                    kind: DsKind::Gauge,
                    heartbeat: 2 * u64::from(step),
                    min: None,
                    max: None,
                },
                archives: shape
                    .iter()
                    .map(|&(s, rows)| {
                        let steps = u64::from(s / step);
                        Archive {
                            cf,
                            xff: rrd_xff(wxff, steps),
                            steps,
                            rows: u64::from(rows),
                        }
                    })
                    .collect(),
            };
            let step = i64::from(step);
            let t0 = 1_600_000_000 / step * step + step * rng.below(2 * max_steps) as i64;
            let mut st = State::new(&def, t0 * US);
            let longest = shape
                .iter()
                .map(|&(s, r)| i64::from(s) * i64::from(r))
                .max();
            let count =
                max_steps as i64 + 1 + rng.below(3 * longest.unwrap() as u64 / step as u64) as i64;
            let mut runs = Vec::new();
            let mut gap = 0;
            let mut input = |rng: &mut XorShift, k: i64| -> Option<String> {
                if gap > 0 && k != count {
                    gap -= 1;
                    return None;
                }
                if k < count && rng.below(25) == 0 {
                    gap = rng.below(3 * max_steps + 3);
                }
                (k == count || rng.below(4) > 0)
                    .then(|| format!("{}", (rng.below(4000) as f64 - 2000.0) / 8.0))
            };
            for k in 1..=count {
                let v = input(&mut rng, k);
                engine::update(&def, &mut st, (t0 + k * step) * US, v.as_deref(), &mut runs)
                    .unwrap();
            }
            // The engine's rows, slot by slot, and the same into the file.
            let mut rings = vec![BTreeMap::new(); def.archives.len()];
            for r in &runs {
                let width = i64::from(spp[r.archive]);
                for g in r.first_slot..r.first_slot + r.count as i64 {
                    rings[r.archive].insert(g, r.value);
                    if !r.value.is_nan() {
                        w.put(r.archive, ((g - 1) * width) as u32, r.value);
                    }
                }
            }
            let last = t0 + count * step;
            let partial = rng.below(2) == 0;
            if partial {
                for (a, &s) in spp.iter().enumerate().skip(1) {
                    let s = i64::from(s);
                    if last % s != 0 {
                        w.put(a, (last - last % s) as u32, 1e6);
                    }
                }
            }
            let now = last + rng.below(step as u64) as i64;
            let imp = read(&w.bytes(), &at(now)).unwrap_or_else(|e| panic!("case {case}: {e}"));
            assert_eq!(imp.def, def, "case {case}");
            let mut want = st.clone();
            want.last_ds = None;
            assert!(
                same_state(&imp.state, &want),
                "case {case}: state\n{:?}\nwant\n{want:?}",
                imp.state
            );
            for (a, ring) in rings.iter().enumerate() {
                let width = i64::from(spp[a]);
                let latest = last / width;
                let rows = def.archives[a].rows as i64;
                let mut expect: Vec<f64> = (latest - rows + 1..=latest)
                    .map(|g| ring.get(&g).copied().unwrap_or(NAN))
                    .collect();
                if partial && a > 0 && last % width != 0 {
                    // Whisper's partial point took that slot's place.
                    expect[0] = NAN;
                }
                assert!(
                    same_rows(&imp.rows[a], &expect),
                    "case {case} archive {a}:\n{:?}\nwant\n{expect:?}",
                    imp.rows[a]
                );
            }
            for (a, arch) in w.archives.iter().enumerate() {
                let written = arch.slots.iter().filter(|s| s.0 != 0).count();
                let shown = imp.rows[a].iter().filter(|v| !v.is_nan()).count();
                let open = partial && a > 0 && last % i64::from(arch.spp) != 0;
                stale += written - shown - usize::from(open);
            }
            // Going on from the import is going on from the engine.
            let mut mine = imp.state.clone();
            for k in count + 1..=count + 3 * max_steps as i64 + 5 {
                let v = input(&mut rng, k);
                let t = (t0 + k * step) * US;
                let (mut r1, mut r2) = (Vec::new(), Vec::new());
                engine::update(&def, &mut st, t, v.as_deref(), &mut r1).unwrap();
                engine::update(&def, &mut mine, t, v.as_deref(), &mut r2).unwrap();
                let same_runs = |a: &[Run], b: &[Run]| {
                    a.len() == b.len()
                        && a.iter().zip(b).all(|(x, y)| {
                            (x.archive, x.first_slot, x.count) == (y.archive, y.first_slot, y.count)
                                && same(x.value, y.value)
                        })
                };
                assert!(same_runs(&r1, &r2), "case {case} step {k}:\n{r1:?}\n{r2:?}");
                assert!(same_state(&st, &mine), "case {case} step {k}");
            }
        }
        assert!(stale > 1000, "{stale} stale points");
    }

    /// Random and mutated files: every one reads or is refused with a
    /// file, feature or parameter error, never a panic, and quickly.
    #[test]
    fn fuzzed_files_never_panic() {
        let mut rng = XorShift(0x5851_f42d_4c95_7f2d);
        let mut seeds: Vec<Vec<u8>> = vec![
            include_bytes!("../tests/data/whisper-average.wsp").to_vec(),
            include_bytes!("../tests/data/whisper-max.wsp").to_vec(),
        ];
        for _ in 0..20 {
            let n = 1 + rng.below(4) as usize;
            let mut spp = vec![1 + rng.below(60) as u32];
            for _ in 1..n {
                let last = *spp.last().unwrap();
                spp.push(last * (2 + rng.below(5) as u32));
            }
            let shape: Vec<(u32, u32)> =
                spp.iter().map(|&s| (s, 1 + rng.below(20) as u32)).collect();
            let mut w = Wsp::new(1 + rng.below(8) as u32, rng.below(5) as f32 / 4.0, &shape);
            let t0 = 1_500_000_000 + rng.below(1 << 20) as u32;
            for _ in 0..rng.below(200) {
                let a = rng.below(n as u64) as usize;
                let ts = t0 + rng.below(100_000) as u32;
                w.put(a, ts, rng.below(1000) as f64);
            }
            seeds.push(w.bytes());
        }
        let start = std::time::Instant::now();
        let mut outcomes = [0usize; 4];
        for i in 0..20_000u64 {
            let mut b = seeds[rng.below(seeds.len() as u64) as usize].clone();
            match rng.below(10) {
                0 => {
                    // Pure noise, sometimes behind a plausible header.
                    let n = rng.below(300) as usize;
                    b = (0..n).map(|_| rng.next_u64() as u8).collect();
                    if rng.below(2) == 0 && n >= 16 {
                        b[..4].copy_from_slice(&(1 + rng.below(5) as u32).to_be_bytes());
                        b[12..16].copy_from_slice(&(1 + rng.below(3) as u32).to_be_bytes());
                    }
                }
                _ => {
                    for _ in 0..1 + rng.below(4) {
                        if b.is_empty() {
                            break;
                        }
                        let len = b.len() as u64;
                        match rng.below(6) {
                            0 => {
                                let at = rng.below(len) as usize;
                                b[at] ^= 1 + rng.below(255) as u8;
                            }
                            1 => b.truncate(rng.below(len) as usize),
                            2 | 3 => {
                                // A word of the header (or just past it).
                                let words = (len / 4).min(4 + 3 * 6);
                                let at = 4 * rng.below(words.max(1)) as usize;
                                let word = match rng.below(8) {
                                    0 => 0,
                                    1 => u32::MAX,
                                    2 => 1 << 31,
                                    3 => len as u32,
                                    4 => (len as u32).wrapping_sub(12),
                                    5 => f32::NAN.to_bits(),
                                    6 => rng.below(64) as u32,
                                    _ => rng.next_u64() as u32,
                                };
                                if at + 4 <= b.len() {
                                    b[at..at + 4].copy_from_slice(&word.to_be_bytes());
                                }
                            }
                            4 => {
                                // A point's timestamp.
                                let at = rng.below(len) as usize;
                                let ts = t_near(&mut rng);
                                if at + 4 <= b.len() {
                                    b[at..at + 4].copy_from_slice(&ts.to_be_bytes());
                                }
                            }
                            _ => b.extend((0..rng.below(40)).map(|_| rng.next_u64() as u8)),
                        }
                    }
                }
            }
            let opts = Options {
                heartbeat: [None, Some(1), Some(600), Some(-1)][rng.below(4) as usize],
                now: [None, Some(1_500_100_000), Some(0), Some(1 << 33)][rng.below(4) as usize],
                ..Options::default()
            };
            let r = std::panic::catch_unwind(|| read(&b, &opts));
            let r = r.unwrap_or_else(|_| panic!("case {i} panicked: {b:?} {opts:?}"));
            match r {
                Ok(imp) => {
                    imp.check().unwrap();
                    outcomes[0] += 1;
                }
                Err(RrdError::BadFile {
                    format: FileFormat::Whisper,
                    ..
                }) => outcomes[1] += 1,
                Err(RrdError::Unsupported { .. }) => outcomes[2] += 1,
                Err(RrdError::BadParameter { .. }) => outcomes[3] += 1,
                Err(e) => panic!("case {i}: unexpected error {e:?} for {b:?}"),
            }
        }
        // Each kind of outcome is reached, so the mutations are not all
        // stopped at the first check.
        assert!(outcomes.iter().all(|&n| n > 100), "{outcomes:?}");
        eprintln!("fuzz outcomes {outcomes:?} in {:?}", start.elapsed());
    }

    fn t_near(rng: &mut XorShift) -> u32 {
        match rng.below(3) {
            0 => 1_500_000_000 + rng.below(200_000) as u32,
            1 => rng.next_u64() as u32,
            _ => 0,
        }
    }

    /// A file made by the `whisper` package (tests/data/make-whisper-fixtures.py)
    /// against what its own fetch shows.
    #[test]
    fn real_whisper_files() {
        for (bytes, expected, cf, wxff) in [
            (
                &include_bytes!("../tests/data/whisper-average.wsp")[..],
                include_str!("../tests/data/whisper-average.expected"),
                Cf::Average,
                0.5f32,
            ),
            (
                &include_bytes!("../tests/data/whisper-max.wsp")[..],
                include_str!("../tests/data/whisper-max.expected"),
                Cf::Max,
                0.0,
            ),
        ] {
            let imp = read(bytes, &at(1_700_004_000)).unwrap();
            let shape: Vec<(Cf, u64, u64)> = imp
                .def
                .archives
                .iter()
                .map(|a| (a.cf, a.steps, a.rows))
                .collect();
            assert_eq!(imp.def.step, 10);
            assert_eq!(shape, [(cf, 1, 30), (cf, 6, 20), (cf, 60, 10)]);
            for a in &imp.def.archives {
                assert_eq!(a.xff, rrd_xff(wxff, a.steps));
            }
            let (mut rows, mut cdps) = (0, 0);
            for line in expected.lines() {
                let f: Vec<&str> = line.split(' ').collect();
                let num = |s: &str| -> f64 {
                    if s == "None" {
                        NAN
                    } else {
                        s.parse().unwrap()
                    }
                };
                match f[0] {
                    "last_up" => assert_eq!(imp.state.last_up, f[1].parse::<i64>().unwrap() * US),
                    "row" => {
                        let a: usize = f[1].parse().unwrap();
                        let ts: i64 = f[2].parse().unwrap();
                        let width = imp.def.archives[a].seconds_per_row(10) as i64;
                        let got = imp.value(a, ts / width + 1);
                        assert!(same(got, num(f[3])), "{line}: got {got}");
                        rows += 1;
                    }
                    "cdp" => {
                        let a: usize = f[1].parse().unwrap();
                        let cdp = &imp.state.cdp[a];
                        let want = num(f[2]);
                        assert!(
                            (cdp.val - want).abs() <= 1e-9 * want.abs(),
                            "{line}: got {}",
                            cdp.val
                        );
                        assert_eq!(cdp.unknown_pdps, f[3].parse::<u64>().unwrap(), "{line}");
                        cdps += 1;
                    }
                    _ => panic!("{line}"),
                }
            }
            assert_eq!((rows, cdps), (60, 2));
            let again = read(bytes, &Options::default()).unwrap();
            assert!(same_import(&again, &imp));
        }
    }
}
