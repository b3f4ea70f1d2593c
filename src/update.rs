//! `rrd.update(name, t, v)`: one point, and [`apply`], which every write
//! path (one point, arrays, `rrd.points`) ends in: a batch of many series
//! goes to the journal; the points of one series run through the engine in
//! order, and each changed row is written once.

use std::collections::{HashMap, HashSet};

use pgrx::prelude::*;
use pgrx::spi::Spi;

use rrd_core::batch::{self, Batch, OnBad, SeriesWork, Value};
use rrd_core::error::{Result, RrdError};
use rrd_core::journal::{lane_of, slot_of, Tip};

use crate::args::{required, unix_us};
use crate::flush;
use crate::interrupts;
use crate::journal;
use crate::sqlstate::OrRaise;
use crate::storage;
use crate::storage::journal::Hold;

/// Applies a batch, the end of every write path. A batch of many series,
/// or of one series with a lateness window, goes to the journal
/// ([`journal::append`]); a batch of one other series is applied directly
/// ([`direct`]). Returns the number of points skipped
/// (always 0 with `OnBad::Fail`, where the first refused point fails the
/// whole batch).
pub fn apply(batch: &Batch, on_bad: OnBad) -> Result<i64> {
    match batch.names.len() {
        0 => Ok(0),
        1 => match direct(batch, on_bad)? {
            Some(skipped) => Ok(skipped),
            None => journal::append(batch, on_bad),
        },
        _ => journal::append(batch, on_bad),
    }
}

/// Applies the points of one series: runs them through the engine in
/// order, then writes its state row and each changed chunk row once.
///
/// The series is read without a lock. Its state row is rewritten only if
/// it is still the version that was read, which also locks it; if another
/// transaction changed it in between, it is read again under lock and the
/// points are run again.
///
/// Writers of one series each share its lane, so that they do not wait
/// on each other; a statement that journals points of the lane holds it
/// alone. If the journal holds points of the series, its lane is folded
/// first. The series is then marked as written directly, so that the next
/// journaling statement takes its tip from the state row.
///
/// `None`, with nothing written, when the series has a lateness window:
/// its points go to the journal, whose fold holds the window back
/// (docs/late.md).
fn direct(batch: &Batch, on_bad: OnBad) -> Result<Option<i64>> {
    Spi::connect_mut(|client| {
        let names: Vec<&str> = batch.names.iter().map(String::as_str).collect();
        let generation = storage::names::generation();
        let named = storage::names::resolve(client, &names, false)?;
        if named[0].def.lateness > 0 {
            return Ok(None);
        }
        if let Some(kept) = storage::buffer::keep(named[0].id, batch, on_bad) {
            return kept.map(Some);
        }
        storage::buffer::write_out()?;
        let mut loaded = storage::state::load_many(client, &names, false)?;
        let id_of = |loaded: &HashMap<String, storage::Series>| {
            loaded
                .get(names[0])
                .map(|s| s.id)
                .ok_or_else(|| RrdError::UnknownSeries {
                    name: names[0].to_string(),
                })
        };
        let mut id = id_of(&loaded)?;
        let mut lane = lane_of(id);
        let mut took = storage::journal::lock_lane(lane, Hold::Shared);
        if storage::names::changed_since(generation) {
            // A rename, drop or tune committed while this statement waited
            // for the lane: the name again, as of now, as PostgreSQL looks a
            // relation's name up again once it has its lock. A series gone
            // from the name is 42704; a new one of the name takes the points.
            loaded = storage::state::load_many_now(client, &names)?;
            id = id_of(&loaded)?;
            if lane_of(id) != lane {
                if took {
                    storage::journal::unlock_lane(lane, Hold::Shared);
                }
                lane = lane_of(id);
                took = storage::journal::lock_lane(lane, Hold::Shared);
            }
        }
        // SAFETY: the isolation level of the running transaction.
        let snapshot_per_xact =
            unsafe { pg_sys::XactIsoLevel } >= pg_sys::XACT_REPEATABLE_READ as i32;
        let lanes = storage::journal::lanes(client, &[lane], snapshot_per_xact)?;
        let tip = lanes
            .get(&lane)
            .and_then(|l| Tip::unpack(l.tips[slot_of(id)]));
        if tip.is_some_and(|t| t.last_up > loaded[names[0]].state.last_up) {
            if took {
                storage::journal::unlock_lane(lane, Hold::Shared);
            }
            flush::fold_series(client, id, flush::Window::Keep)?;
            loaded = storage::state::load_many(client, &names, false)?;
        }
        let mut works = names
            .iter()
            .map(|n| series_work(&mut loaded, n))
            .collect::<Result<Vec<_>>>()?;
        let mut skipped = vec![0; works.len()];
        run_points(batch, &mut works, &mut skipped, None, on_bad)?;
        let changed: Vec<&SeriesWork> = works.iter().filter(|w| w.applied > 0).collect();
        let saved = storage::state::save_states(client, &changed);
        let lost: Vec<usize> = (0..works.len())
            .filter(|&i| works[i].applied > 0 && !saved.contains(&works[i].id))
            .collect();
        if !lost.is_empty() {
            let lost_names: Vec<&str> = lost.iter().map(|&i| names[i]).collect();
            let mut again = storage::state::load_many(client, &lost_names, true)?;
            for &i in &lost {
                works[i] = series_work(&mut again, names[i])?;
                skipped[i] = 0;
            }
            let only: HashSet<usize> = lost.iter().copied().collect();
            run_points(batch, &mut works, &mut skipped, Some(&only), on_bad)?;
            let redo: Vec<&SeriesWork> = lost.iter().map(|&i| &works[i]).collect();
            let saved = storage::state::save_states(client, &redo);
            if let Some(w) = redo
                .iter()
                .find(|w| w.applied > 0 && !saved.contains(&w.id))
            {
                return Err(RrdError::Corrupt {
                    msg: format!("state of series \"{}\" changed while locked", w.name),
                });
            }
        }
        let changed: Vec<&SeriesWork> = works.iter().filter(|w| w.applied > 0).collect();
        storage::chunk::write_chunks(client, &changed);
        if let Some(w) = changed.first() {
            storage::journal::mark_direct(client, id);
            storage::buffer::own(names[0], written(w));
        }
        Ok(Some(skipped.iter().sum()))
    })
}

/// The series as `work` leaves it written.
fn written(work: &SeriesWork) -> storage::Series {
    storage::Series {
        id: work.id,
        def: std::rc::Rc::clone(&work.def),
        width: work.width,
        state: work.state.clone(),
        holes: work.holes.clone(),
        version: 0,
        pending: Vec::new(),
        pending_spans: Vec::new(),
    }
}

/// The work of series `name`, taken from the series loaded for it.
fn series_work(loaded: &mut HashMap<String, storage::Series>, name: &str) -> Result<SeriesWork> {
    let s = loaded.remove(name).ok_or_else(|| RrdError::UnknownSeries {
        name: name.to_string(),
    })?;
    let mut work = SeriesWork::new(s.id, name.to_string(), s.def, s.width, s.state, s.holes);
    work.version = s.version;
    work.observed = Some(Vec::new());
    Ok(work)
}

/// Runs the points of `batch` (of the series in `only`, or all) through
/// their series' work, counting skipped points per series.
fn run_points(
    batch: &Batch,
    works: &mut [SeriesWork],
    skipped: &mut [i64],
    only: Option<&HashSet<usize>>,
    on_bad: OnBad,
) -> Result<()> {
    let mut runs = Vec::new();
    let mut text = String::new();
    for (i, p) in batch.points.iter().enumerate() {
        interrupts::every(i);
        if only.is_some_and(|o| !o.contains(&p.series)) {
            continue;
        }
        let value = p.value.as_input(&mut text);
        let pos = i as u64 + 1;
        if batch::apply_point(&mut works[p.series], pos, p.t_us, value, on_bad, &mut runs)? {
            skipped[p.series] += 1;
        }
    }
    Ok(())
}

/// A single update: its error is the point's own, without a position.
fn update_one(name: Option<&str>, t: Option<TimestampWithTimeZone>, value: Value) -> Result<()> {
    let name = required(name, "series name")?;
    let t = unix_us(required(t, "time")?, "time")?;
    update_at(name, t, value)
}

/// One point of one series at `t` (Unix microseconds).
fn update_at(name: &str, t: i64, value: Value) -> Result<()> {
    let mut batch = Batch::default();
    let s = batch.series(name);
    batch.push(s, t, value);
    match apply(&batch, OnBad::Fail) {
        Err(RrdError::InBatch { source, .. }) => Err(*source),
        other => other.map(|_| ()),
    }
}

/// Records `v` at time `t`. NULL or NaN is unknown. Times must increase.
#[pg_extern(name = "update")]
fn update_float(name: Option<&str>, t: Option<TimestampWithTimeZone>, v: Option<f64>) {
    update_one(name, t, Value::from_float(v)).or_raise()
}

/// Records `v` at time `t`, exactly: counters near 2^64 need all their
/// digits, which a double does not carry.
#[pg_extern(name = "update")]
fn update_numeric(name: Option<&str>, t: Option<TimestampWithTimeZone>, v: Option<AnyNumeric>) {
    let value = match v.map(|n| n.to_string()) {
        Some(s) if s != "NaN" => Value::Text(s),
        _ => Value::Unknown,
    };
    update_one(name, t, value).or_raise()
}

/// Records an `rrdtool update` argument, `time:value`: `'N:42'` (now),
/// `'1700000000:42'`, `'1700000000.25:U'` (docs/update.md).
#[pg_extern(name = "update")]
fn update_spec(name: Option<&str>, spec: Option<&str>) {
    update_spec_inner(name, spec).or_raise()
}

fn update_spec_inner(name: Option<&str>, spec: Option<&str>) -> Result<()> {
    let (t, value) = rrd_core::batch::parse_spec(required(spec, "update")?, clock_us()?)?;
    update_at(required(name, "series name")?, t, value)
}

/// The time `N` stands for: the clock when the statement reads it, as
/// rrdtool takes the time of its call.
pub fn clock_us() -> Result<i64> {
    // SAFETY: reads the clock; no state is touched.
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
    rrd_core::time::from_pg(now).ok_or_else(|| RrdError::TimeRange {
        msg: "the clock is out of pg_rrd's range".into(),
    })
}
