//! The journal (docs/storage.md): how a statement of many series writes.
//! It holds its series' lanes alone, checks every point against its
//! series' tip as the engine would, appends the points to `rrd.journal`
//! (one row per lane) and stores the moved tips in the lanes' rows: a few
//! rows per 128 series, whatever the series. `flush` folds the points into
//! the rings later; every read applies what is still pending.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use pgrx::prelude::*;
use pgrx::spi::{Spi, SpiClient};

use rrd_core::batch::{Batch, OnBad, Value};
use rrd_core::def::DsKind;
use rrd_core::error::{Result, RrdError};
use rrd_core::journal::{self, lane_of, slot_of, LaneRow, Prev, Tip, Window};

use crate::flush;
use crate::interrupts;
use crate::storage;
use crate::storage::journal::{self as stored, Hold, Lane};
use crate::storage::names::{self, Named};

extension_sql_file!(
    "../sql/journal.sql",
    name = "journal_tables",
    requires = ["schema"]
);

/// Tells every backend that names or definitions changed (the triggers on
/// `rrd.series` call it after a DELETE or TRUNCATE). Internal.
#[pg_extern(name = "_names_changed")]
fn names_changed() {
    names::forget();
}

/// Journals a batch of many series (see the module documentation).
/// Returns the points skipped (always 0 with `OnBad::Fail`).
pub fn append(batch: &Batch, on_bad: OnBad) -> Result<i64> {
    if batch.names.is_empty() {
        return Ok(0);
    }
    storage::buffer::release()?;
    Spi::connect_mut(|client| {
        let names: Vec<&str> = batch.names.iter().map(String::as_str).collect();
        let generation = names::generation();
        let mut named = names::resolve(client, &names, false)?;
        let mut lanes = lanes_of(&named);
        stored::lock_lanes(&lanes, Hold::Alone);
        if names::changed_since(generation) {
            // A name or definition changed while this statement waited:
            // every name again, from a snapshot taken after the locks.
            named = names::resolve(client, &names, true)?;
            let more: Vec<i64> = lanes_of(&named)
                .into_iter()
                .filter(|l| lanes.binary_search(l).is_err())
                .collect();
            stored::lock_lanes(&more, Hold::Alone);
            lanes.extend(more);
            lanes.sort_unstable();
        }
        let mut rows = stored::lanes(client, &lanes, true)?;
        let mut windows = Windows::default();
        let mut tips = match tips_of(client, &lanes, &mut rows, &named, &mut windows) {
            Err(Gone) if names::changed_since(generation) => {
                // A series was dropped (and perhaps made anew) while this
                // statement waited for its rows: the names again, as of
                // now. The tips taken so far stay in `rows`.
                named = names::resolve(client, &names, true)?;
                let more: Vec<i64> = lanes_of(&named)
                    .into_iter()
                    .filter(|l| lanes.binary_search(l).is_err())
                    .collect();
                stored::lock_lanes(&more, Hold::Alone);
                rows.extend(stored::lanes(client, &more, true)?);
                lanes.extend(more);
                lanes.sort_unstable();
                tips_of(client, &lanes, &mut rows, &named, &mut windows).map_err(RrdError::from)?
            }
            other => other.map_err(RrdError::from)?,
        };
        let checked = check_points(
            client,
            batch,
            &named,
            &mut tips,
            on_bad,
            &mut rows,
            &mut windows,
        )?;
        let new_rows: Vec<(i64, &LaneRow)> = checked.rows.iter().map(|(l, r)| (*l, r)).collect();
        stored::append(client, &new_rows);
        let added = |l: &i64| checked.added.get(l).copied().unwrap_or(0);
        let saved: Vec<(i64, &[i64], i64)> = lanes
            .iter()
            .map(|l| (*l, rows[l].tips.as_slice(), added(l)))
            .collect();
        stored::save_lanes(client, &saved);
        let full: Vec<(i64, i64)> = lanes
            .iter()
            .map(|l| (*l, rows[l].foldable() + added(l)))
            .filter(|(_, n)| *n >= flush::inline_limit())
            .collect();
        if !full.is_empty() {
            flush::fold_held_groups(client, &full)?;
        }
        Ok(checked.skipped)
    })
}

/// The lanes of `named`, ascending, each once.
fn lanes_of(named: &[Rc<Named>]) -> Vec<i64> {
    let mut lanes: Vec<i64> = named.iter().map(|n| lane_of(n.id)).collect();
    lanes.sort_unstable();
    lanes.dedup();
    lanes
}

/// The tip of every series of the batch, from its lane's row, or from its
/// state row where the lane holds none or the series was written directly
/// since (those tips go into the lane rows, which the caller stores).
/// Why [`tips_of`] could not give every tip.
enum TipsError {
    /// A series has no state row: dropped since its name was looked up.
    Gone,
    Other(RrdError),
}
use TipsError::Gone;

impl From<RrdError> for TipsError {
    fn from(e: RrdError) -> TipsError {
        TipsError::Other(e)
    }
}

impl From<TipsError> for RrdError {
    fn from(e: TipsError) -> RrdError {
        match e {
            Gone => RrdError::Corrupt {
                msg: "a series of the batch has a series row and no state row".into(),
            },
            TipsError::Other(e) => e,
        }
    }
}

fn tips_of(
    client: &SpiClient<'_>,
    lanes: &[i64],
    rows: &mut HashMap<i64, Lane>,
    named: &[Rc<Named>],
    windows: &mut Windows,
) -> std::result::Result<Vec<Tip>, TipsError> {
    let set = |rows: &mut HashMap<i64, Lane>, id: i64, tip: &Tip| {
        if let Some(lane) = rows.get_mut(&lane_of(id)) {
            lane.tips[slot_of(id)] = tip.pack();
        }
    };
    for (id, last_up, last_ds) in stored::take_direct(client, lanes) {
        set(rows, id, &Tip::of_last(last_up, last_ds.as_deref()));
    }
    let mut tips: Vec<Option<Tip>> = named
        .iter()
        .map(|n| Tip::unpack(rows[&lane_of(n.id)].tips[slot_of(n.id)]))
        .collect();
    // A series with a lateness window whose lane holds no tip, or one
    // without its last input's text, takes it from its state and its
    // pending points: a fold would hold the newest back.
    let mut scratch = String::new();
    for (n, t) in named.iter().zip(tips.iter_mut()) {
        let text_unknown = matches!(
            t,
            None | Some(Tip {
                prev: Prev::Other(None),
                ..
            })
        );
        if n.def.lateness > 0 && text_unknown {
            let window = windows.load(client, n.id, &[])?;
            let tip = window.tip(&n.def, &mut scratch)?;
            set(rows, n.id, &tip);
            *t = Some(tip);
        }
    }
    // A DCOUNTER's or DDERIVE's check may need the text of its last input,
    // which a lane does not keep: fold its points, then its state has it.
    let wants_text = |n: &Named, t: &Option<Tip>| {
        matches!(n.def.ds.kind, DsKind::DCounter | DsKind::DDerive)
            && matches!(
                t,
                Some(Tip {
                    prev: Prev::Other(None),
                    ..
                })
            )
    };
    let fold: Vec<(i64, i64)> = named
        .iter()
        .zip(&tips)
        .filter(|(n, t)| wants_text(n, t))
        .map(|(n, _)| {
            let lane = lane_of(n.id);
            (lane, rows[&lane].pending)
        })
        .collect();
    if !fold.is_empty() {
        flush::fold_held_groups(client, &fold)?;
    }
    let from_state: Vec<i64> = named
        .iter()
        .zip(&tips)
        .filter(|(n, t)| t.is_none() || wants_text(n, t))
        .map(|(n, _)| n.id)
        .collect();
    if !from_state.is_empty() {
        let found: HashMap<i64, Tip> = stored::state_tips(client, &from_state)
            .into_iter()
            .map(|(id, last_up, last_ds)| (id, Tip::of_last(last_up, last_ds.as_deref())))
            .collect();
        for (n, t) in named.iter().zip(tips.iter_mut()) {
            if t.is_none() || wants_text(n, t) {
                let tip = found.get(&n.id).cloned().ok_or(Gone)?;
                set(rows, n.id, &tip);
                *t = Some(tip);
            }
        }
    }
    Ok(tips
        .into_iter()
        .map(|t| {
            t.unwrap_or(Tip {
                last_up: 0,
                prev: Prev::None,
            })
        })
        .collect())
}

/// What a checked batch writes: per lane its journal row and the points it
/// gains, and the points skipped.
struct Checked {
    rows: BTreeMap<i64, LaneRow>,
    added: BTreeMap<i64, i64>,
    skipped: i64,
}

/// Checks every point of `batch` in order against its series' tip, moving
/// the tips (in `tips` and in the lane rows), and gathers the points let
/// in.
#[allow(clippy::too_many_arguments)] // the batch, its series and what they hold
fn check_points(
    client: &SpiClient<'_>,
    batch: &Batch,
    named: &[Rc<Named>],
    tips: &mut [Tip],
    on_bad: OnBad,
    rows: &mut HashMap<i64, Lane>,
    windows: &mut Windows,
) -> Result<Checked> {
    let mut out = Checked {
        rows: BTreeMap::new(),
        added: BTreeMap::new(),
        skipped: 0,
    };
    let mut text = String::new();
    // This statement's points of series with a window, until their window
    // is read (at their first late point).
    let mut fresh: HashMap<i64, Vec<(i64, Value)>> = HashMap::new();
    for (i, p) in batch.points.iter().enumerate() {
        interrupts::every(i);
        let s = p.series;
        let n = &named[s];
        let pos = i as u64 + 1;
        let name = &batch.names[s];
        let windowed = n.def.lateness > 0;
        let checked = if windowed && p.t_us <= tips[s].last_up {
            let window = windows
                .load(
                    client,
                    n.id,
                    fresh.get(&n.id).map_or(&[][..], Vec::as_slice),
                )
                .map_err(RrdError::from)?;
            journal::check_late(
                &n.def, name, &tips[s], window, pos, p.t_us, &p.value, on_bad, &mut text,
            )?
        } else {
            let checked = journal::check_point(
                &n.def, name, &tips[s], pos, p.t_us, &p.value, on_bad, &mut text,
            )?;
            if windowed && matches!(checked, journal::Checked::In(_)) {
                match windows.0.get_mut(&n.id) {
                    Some(w) => w.push(p.t_us, p.value.clone()),
                    None => fresh
                        .entry(n.id)
                        .or_default()
                        .push((p.t_us, p.value.clone())),
                }
            }
            checked
        };
        match checked {
            journal::Checked::In(tip) => {
                tips[s] = tip;
                let lane = lane_of(n.id);
                out.rows
                    .entry(lane)
                    .or_default()
                    .push(slot_of(n.id), p.t_us, &p.value);
                *out.added.entry(lane).or_default() += 1;
            }
            journal::Checked::Skipped => out.skipped += 1,
        }
    }
    for (s, n) in named.iter().enumerate() {
        if let Some(lane) = rows.get_mut(&lane_of(n.id)) {
            lane.tips[slot_of(n.id)] = tips[s].pack();
        }
    }
    Ok(out)
}

/// The windows of the series with a lateness window that a statement read
/// (docs/late.md), by series id.
#[derive(Default)]
struct Windows(HashMap<i64, Window>);

impl Windows {
    /// The window of series `id`: its state's tip and its pending points,
    /// with `fresh`, the points this statement took before reading it.
    fn load(
        &mut self,
        client: &SpiClient<'_>,
        id: i64,
        fresh: &[(i64, Value)],
    ) -> std::result::Result<&mut Window, TipsError> {
        match self.0.entry(id) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let (_, last_up, last_ds) = stored::state_tips(client, &[id])
                    .into_iter()
                    .next()
                    .ok_or(Gone)?;
                let mut points = stored::points_of(client, id, true)?;
                points.extend_from_slice(fresh);
                let settled = Tip::of_last(last_up, last_ds.as_deref());
                Ok(e.insert(Window::new(settled, points)))
            }
        }
    }
}
