//! `rrd.update(name, t, v)`: one point, and [`apply`], which every write
//! path (one point, arrays, `rrd.points`) ends in: the points of a batch
//! run through the engine in order, and each changed row is written once.

use std::collections::{HashMap, HashSet};

use pgrx::prelude::*;
use pgrx::spi::Spi;

use rrd_core::batch::{self, Batch, OnBad, SeriesWork, Value};
use rrd_core::error::{Result, RrdError};

use crate::args::{required, unix_us};
use crate::interrupts;
use crate::sqlstate::OrRaise;
use crate::storage;

/// Applies a batch: runs every point through the engine in order, then
/// writes each changed state row and chunk row once. Returns the number of
/// points skipped (always 0 with `OnBad::Fail`, where the first refused
/// point fails the whole batch).
///
/// A batch of one series reads it without a lock. Its state row is
/// rewritten only if it is still the version that was read, which also
/// locks it; if another transaction changed it in between, it is read
/// again under lock and the points are run again.
///
/// A batch of many series locks all their state rows first, in id order.
/// Locking some rows by rewriting them and the rest afterwards would let
/// two batches deadlock: each would hold rows the other then waits for.
/// Locks taken in one order by every batch never form a cycle.
///
/// The chunk rows are read and written only once every state row is held.
pub fn apply(batch: &Batch, on_bad: OnBad) -> Result<i64> {
    if batch.names.is_empty() {
        return Ok(0);
    }
    Spi::connect_mut(|client| {
        let names: Vec<&str> = batch.names.iter().map(String::as_str).collect();
        let mut loaded = if names.len() > 1 {
            storage::state::lock_and_load_many(client, &names)?
        } else {
            storage::state::load_many(client, &names, false)?
        };
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
        Ok(skipped.iter().sum())
    })
}

/// The work of series `name`, taken from the series loaded for it.
fn series_work(loaded: &mut HashMap<String, storage::Series>, name: &str) -> Result<SeriesWork> {
    let s = loaded.remove(name).ok_or_else(|| RrdError::UnknownSeries {
        name: name.to_string(),
    })?;
    let mut work = SeriesWork::new(s.id, name.to_string(), s.def, s.width, s.state, s.holes);
    work.version = s.version;
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
        let value = match &p.value {
            Value::Unknown => None,
            Value::Float(v) => {
                batch::float_text(*v, &mut text);
                Some(text.as_str())
            }
            Value::Text(s) => Some(s.as_str()),
        };
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
