//! Folding the journal into the rings (docs/storage.md): `rrd.flush()`,
//! `rrd.flush(name)`, `rrd.pending()`, and the fold that writers run
//! themselves once a lane holds enough.
//!
//! A fold holds its lanes alone, reads their journal rows, runs each
//! series' points through the engine in time order (the order they were
//! written in), rewrites each state row once and each chunk row once, and
//! deletes the rows: all in the caller's transaction, so a fold that fails
//! or is rolled back leaves the journal as it was, and one that commits
//! has folded every point once.

use std::collections::{BTreeMap, HashMap};

use pgrx::prelude::*;
use pgrx::spi::{Spi, SpiClient};

use rrd_core::batch::SeriesWork;
use rrd_core::error::{Result, RrdError};
use rrd_core::journal::{self, id_at, lane_of, slot_of, LaneRow};

use crate::args::required;
use crate::sqlstate::OrRaise;
use crate::storage;
use crate::storage::journal::Hold;

/// Points a lane's journal may hold before the writer that passes the
/// mark folds the lane itself: 256 steps of all 128 series. With the
/// background worker running, writers leave folding to it for four times
/// as long.
const LANE_FOLD_POINTS: i64 = 128 * 256;

/// Most pending points one fold reads at once; a larger flush folds its
/// lanes in groups of about this many (a lane is never split).
pub const FOLD_POINTS: i64 = 1 << 20;

/// Most lanes (of 128 series) one fold holds in memory at once. With
/// [`FOLD_POINTS`] this bounds what one group holds, whatever the number
/// of series; an `rrd.flush()` of 100,000 series in one call peaked at
/// about 340 MB of private memory (docs/performance.md, W2L).
pub const FOLD_LANES: usize = 64;

/// `lanes` with their pending counts, in groups that one fold takes at a
/// time, ascending.
pub fn groups(lanes: &[(i64, i64)]) -> Vec<Vec<i64>> {
    let mut sorted = lanes.to_vec();
    sorted.sort_unstable();
    sorted.dedup_by_key(|l| l.0);
    let mut out = Vec::new();
    let mut group = Vec::new();
    let mut size = 0;
    for (lane, n) in sorted {
        if !group.is_empty() && (size + n > FOLD_POINTS || group.len() >= FOLD_LANES) {
            out.push(std::mem::take(&mut group));
            size = 0;
        }
        group.push(lane);
        size += n;
    }
    if !group.is_empty() {
        out.push(group);
    }
    out
}

/// Folds `lanes` (with their pending counts), held alone with their rows
/// locked, a group at a time.
pub fn fold_held_groups(client: &SpiClient<'_>, lanes: &[(i64, i64)]) -> Result<i64> {
    let mut total = 0;
    for group in groups(lanes) {
        total += fold_held(client, &group)?;
    }
    Ok(total)
}

/// The pending points at which a writer folds a lane it writes.
pub fn inline_limit() -> i64 {
    if crate::worker::running() {
        4 * LANE_FOLD_POINTS
    } else {
        LANE_FOLD_POINTS
    }
}

/// How a fold treats the points of series with a lateness window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Holds back those inside the window (docs/late.md).
    Keep,
    /// Applies them all, before a call that changes the series.
    Settle,
}

/// Folds the journal rows of `lanes`, which the caller holds alone with
/// their rows locked. Returns the points folded; the points a series'
/// lateness window holds back (with [`Window::Keep`]) go back into the
/// journal as one row per lane, and are not counted.
pub fn fold_held(client: &SpiClient<'_>, lanes: &[i64]) -> Result<i64> {
    fold_held_with(client, lanes, Window::Keep)
}

/// [`fold_held`], settling windows or not.
pub fn fold_held_with(client: &SpiClient<'_>, lanes: &[i64], window: Window) -> Result<i64> {
    let mut lanes = lanes.to_vec();
    lanes.sort_unstable();
    lanes.dedup();
    let rows = storage::journal::rows(client, &lanes, true)?;
    if rows.is_empty() {
        storage::journal::clear(client, &lanes);
        return Ok(0);
    }
    let mut points = HashMap::new();
    for (lane, lane_rows) in &rows {
        for (slot, pts) in journal::by_series(lane_rows)? {
            points.insert(id_at(*lane, slot), pts);
        }
    }
    let ids: Vec<i64> = points.keys().copied().collect();
    // Series dropped since their points were written are gone, and so are
    // their points.
    let loaded = storage::state::load_ids(client, &ids)?;
    let mut total = 0;
    let mut kept: BTreeMap<i64, LaneRow> = BTreeMap::new();
    let works: Vec<SeriesWork> = loaded
        .into_iter()
        .map(|(id, (name, series))| {
            let pts = &points[&id];
            let n = match window {
                Window::Keep => journal::settled_len(&series.def, pts),
                Window::Settle => pts.len(),
            };
            for (t, v) in &pts[n..] {
                kept.entry(lane_of(id))
                    .or_default()
                    .push(slot_of(id), *t, v);
            }
            total += n as i64;
            storage::state::run_pending(&series, name, &pts[..n])
        })
        .collect();
    let mut changed: Vec<&SeriesWork> = works.iter().filter(|w| w.applied > 0).collect();
    let saved = storage::state::save_states(client, &changed);
    let unsaved: Vec<i64> = changed
        .iter()
        .filter(|w| !saved.contains(&w.id))
        .map(|w| w.id)
        .collect();
    if !unsaved.is_empty() {
        // A drop does not take the lane: a series dropped while this fold
        // waited for its state row is gone, and so are its points. Any
        // other change of a state row under a held lane is damage.
        let still = storage::state::load_ids(client, &unsaved)?;
        if let Some(w) = changed
            .iter()
            .find(|w| !saved.contains(&w.id) && still.contains_key(&w.id))
        {
            return Err(RrdError::Corrupt {
                msg: format!(
                    "state of series \"{}\" changed while its lane was held",
                    w.name
                ),
            });
        }
        changed.retain(|w| saved.contains(&w.id));
    }
    storage::chunk::write_chunks(client, &changed);
    storage::journal::clear(client, &lanes);
    let kept: Vec<(i64, &LaneRow)> = kept.iter().map(|(l, r)| (*l, r)).collect();
    storage::journal::hold(client, &kept);
    Ok(total)
}

/// Holds `lanes` alone and folds them.
pub fn fold(client: &SpiClient<'_>, lanes: &[i64]) -> Result<i64> {
    storage::buffer::write_out()?;
    storage::journal::lock_lanes(lanes, Hold::Alone);
    storage::journal::lanes(client, lanes, true)?;
    fold_held(client, lanes)
}

/// Folds the lane of series `id` if its journal holds points: for
/// `rrd.flush(name)` and the calls that write a series directly
/// ([`Window::Keep`]) or change it ([`Window::Settle`]).
pub fn fold_series(client: &SpiClient<'_>, id: i64, window: Window) -> Result<i64> {
    storage::buffer::write_out()?;
    let lane = lane_of(id);
    storage::journal::lock_lane(lane, Hold::Alone);
    let rows = storage::journal::lanes(client, &[lane], true)?;
    let foldable = |l: &storage::journal::Lane| match window {
        Window::Keep => l.foldable(),
        Window::Settle => l.pending,
    };
    if rows.get(&lane).is_none_or(|l| foldable(l) == 0) {
        return Ok(0);
    }
    fold_held_with(client, &[lane], window)
}

/// The lanes with pending points, in the groups of [`groups`].
pub fn pending_groups(client: &SpiClient<'_>) -> Vec<Vec<i64>> {
    groups(&storage::journal::pending_lanes(client))
}

/// Folds the lane of series `name` before a call changes the series,
/// settling its lateness window (docs/late.md), and holds the lane until
/// the transaction ends: the calls that change a name or a
/// definition hold the lane while they send their invalidation (see
/// `storage::names`).
pub fn fold_named(client: &SpiClient<'_>, name: &str) -> Result<()> {
    storage::buffer::release()?;
    let id = storage::names::resolve(client, &[name], true)?[0].id;
    fold_series(client, id, Window::Settle).map(|_| ())
}

/// Folds every lane with pending points, a group at a time.
pub fn fold_all(client: &SpiClient<'_>) -> Result<i64> {
    let mut total = 0;
    for group in pending_groups(client) {
        total += fold(client, &group)?;
    }
    Ok(total)
}

/// Folds every point pending in the journal into the rings and returns how
/// many were folded. Reads never need it (they see pending points); it
/// makes the rows on disk current, as before a backup of the chunk rows
/// alone, or measures what a fold costs.
#[pg_extern(name = "flush")]
fn flush_all() -> i64 {
    Spi::connect_mut(|client| fold_all(client)).or_raise()
}

/// Folds the pending points of series `name` (and of the series that
/// share its lane, whose points sit in the same journal rows); returns the
/// points folded.
#[pg_extern(name = "flush")]
fn flush_one(name: Option<&str>) -> i64 {
    flush_one_inner(name).or_raise()
}

fn flush_one_inner(name: Option<&str>) -> Result<i64> {
    let name = required(name, "series name")?;
    Spi::connect_mut(|client| {
        let named = storage::names::resolve(client, &[name], true)?;
        fold_series(client, named[0].id, Window::Keep)
    })
}

/// Points pending in the journal, in all.
#[pg_extern(name = "pending", stable)]
fn pending_all() -> i64 {
    Spi::connect(storage::journal::pending_total)
}

/// Points of series `name` pending in the journal.
#[pg_extern(name = "pending", stable)]
fn pending_one(name: Option<&str>) -> i64 {
    pending_one_inner(name).or_raise()
}

fn pending_one_inner(name: Option<&str>) -> Result<i64> {
    let name = required(name, "series name")?;
    Spi::connect_mut(|client| {
        let id = storage::names::resolve(client, &[name], true)?[0].id;
        let rows = storage::journal::rows(client, &[lane_of(id)], false)?;
        let mut n = 0;
        for lane_rows in rows.values() {
            for row in lane_rows {
                n += row
                    .slots
                    .iter()
                    .filter(|&&s| s as usize == slot_of(id))
                    .count() as i64;
            }
        }
        Ok(n)
    })
}
