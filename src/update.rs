//! `rrd.update`: feed inputs to series, one point, an array of points of
//! one series, or parallel arrays of points of many series. Every form runs
//! the points through the engine in order and writes each changed row once.

use std::collections::{HashMap, HashSet};

use pgrx::prelude::*;
use pgrx::spi::Spi;

use crate::batch::{self, OnBad, SeriesWork};
use crate::error::{Result, RrdError};
use crate::errors::OrRaise;
use crate::series::{required, unix_us};
use crate::storage;

/// The input of one point.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Unknown (NULL or NaN).
    Unknown,
    /// A double, given to the engine as its shortest decimal text.
    Float(f64),
    /// Exact decimal text (from `numeric`).
    Text(String),
}

impl Value {
    fn from_float(v: Option<f64>) -> Value {
        match v {
            Some(x) if !x.is_nan() => Value::Float(x),
            _ => Value::Unknown,
        }
    }
}

/// One point of a batch: the index of its series among the batch's names.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub series: usize,
    pub t_us: i64,
    pub value: Value,
}

/// The points of one statement, with their series' names each once.
#[derive(Debug, Default)]
pub struct Batch {
    pub names: Vec<String>,
    index: HashMap<String, usize>,
    pub points: Vec<Point>,
}

impl Batch {
    /// Index of series `name` in this batch, added if new.
    pub fn series(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len();
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    /// The batch of `points` (indices into this batch's names) alone, with
    /// only the series they name.
    fn part(&self, points: Vec<Point>) -> Batch {
        let mut used = vec![false; self.names.len()];
        for p in &points {
            used[p.series] = true;
        }
        if used.iter().all(|&u| u) {
            return Batch {
                names: self.names.clone(),
                index: self.index.clone(),
                points,
            };
        }
        let mut part = Batch::default();
        let mut new = vec![0; self.names.len()];
        for (i, name) in self.names.iter().enumerate() {
            if used[i] {
                new[i] = part.series(name);
            }
        }
        part.points = points
            .into_iter()
            .map(|p| Point {
                series: new[p.series],
                ..p
            })
            .collect();
        part
    }

    /// Appends a point.
    pub fn push(&mut self, series: usize, t_us: i64, value: Value) {
        self.points.push(Point {
            series,
            t_us,
            value,
        });
    }
}

/// Most points applied at once. A longer batch (an array of millions of
/// points, a `COPY` of any length) is applied in parts of this many, so
/// that its memory stays bounded whatever its length. Every part writes in
/// the statement's transaction, and a failing part fails the statement, so
/// the outcome is that of one batch; a chunk row is then written once per
/// part instead of once per statement.
pub const PART_POINTS: usize = 1 << 20;

/// The points of one statement, applied in parts of [`PART_POINTS`].
#[derive(Debug, Default)]
pub struct Feed {
    /// The part being gathered.
    batch: Batch,
    /// Points of the parts already applied.
    before: u64,
    /// Points skipped so far.
    skipped: i64,
}

impl Feed {
    /// A feed for a statement of `n` points: its first part's room taken
    /// at once.
    pub fn with_capacity(n: usize) -> Feed {
        let mut feed = Feed::default();
        feed.batch.points.reserve(n.min(PART_POINTS));
        feed
    }

    /// Index of series `name` for [`Feed::push`], added if new; it stays
    /// valid from part to part.
    pub fn series(&mut self, name: &str) -> usize {
        self.batch.series(name)
    }

    /// Adds a point of series `s`; true when the part is full and should
    /// be applied.
    pub fn push(&mut self, s: usize, t_us: i64, value: Value) -> bool {
        self.batch.push(s, t_us, value);
        self.batch.points.len() >= PART_POINTS
    }

    /// Points given so far.
    pub fn len(&self) -> u64 {
        self.before + self.batch.points.len() as u64
    }

    /// Applies the points gathered (see [`apply`]); a refused point's
    /// position counts every point of the statement.
    pub fn flush(&mut self, on_bad: OnBad) -> Result<()> {
        let points = std::mem::take(&mut self.batch.points);
        let batch = self.batch.part(points);
        let before = self.before;
        let skipped = apply(&batch, on_bad).map_err(|e| match e {
            RrdError::InBatch { pos, source } => RrdError::InBatch {
                pos: pos + before,
                source,
            },
            other => other,
        })?;
        self.before += batch.points.len() as u64;
        self.skipped += skipped;
        Ok(())
    }

    /// Applies what is left; the number of points skipped in all.
    pub fn finish(mut self, on_bad: OnBad) -> Result<i64> {
        self.flush(on_bad)?;
        Ok(self.skipped)
    }
}

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
            storage::lock_and_load_many(client, &names)?
        } else {
            storage::load_many(client, &names, false)?
        };
        let mut works = names
            .iter()
            .map(|n| series_work(&mut loaded, n))
            .collect::<Result<Vec<_>>>()?;
        let mut skipped = vec![0; works.len()];
        run_points(batch, &mut works, &mut skipped, None, on_bad)?;
        let changed: Vec<&SeriesWork> = works.iter().filter(|w| w.applied > 0).collect();
        let saved = storage::save_states(client, &changed);
        let lost: Vec<usize> = (0..works.len())
            .filter(|&i| works[i].applied > 0 && !saved.contains(&works[i].id))
            .collect();
        if !lost.is_empty() {
            let lost_names: Vec<&str> = lost.iter().map(|&i| names[i]).collect();
            let mut again = storage::load_many(client, &lost_names, true)?;
            for &i in &lost {
                works[i] = series_work(&mut again, names[i])?;
                skipped[i] = 0;
            }
            let only: HashSet<usize> = lost.iter().copied().collect();
            run_points(batch, &mut works, &mut skipped, Some(&only), on_bad)?;
            let redo: Vec<&SeriesWork> = lost.iter().map(|&i| &works[i]).collect();
            let saved = storage::save_states(client, &redo);
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
        storage::write_chunks(client, &changed);
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
        interruptible(i);
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

/// Lets a cancel or a statement timeout in every 4096 points of a loop
/// over a batch: a batch of millions of points stays interruptible.
fn interruptible(i: usize) {
    if (i + 1).is_multiple_of(4096) {
        pgrx::check_for_interrupts!();
    }
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

fn on_bad(skip_bad: Option<bool>) -> Result<OnBad> {
    Ok(if required(skip_bad, "skip_bad")? {
        OnBad::Skip
    } else {
        OnBad::Fail
    })
}

/// The time of element `i` (0-based) of the times array.
fn element_time(t: Option<TimestampWithTimeZone>, i: usize) -> Result<i64> {
    let what = format!("t[{}]", i + 1);
    unix_us(required(t, &what)?, &what)
}

fn check_lengths(what: &str, lens: &[usize]) -> Result<()> {
    if lens.windows(2).any(|w| w[0] != w[1]) {
        let got: Vec<String> = lens.iter().map(|n| n.to_string()).collect();
        return Err(RrdError::param(format!(
            "{what} must have the same length (got {})",
            got.join(", ")
        )));
    }
    Ok(())
}

/// Records the points `(t[i], v[i])` of one series in order. With
/// `skip_bad`, points the series refuses (times not after the previous
/// one, values its data source kind cannot read) are left out instead of
/// failing the call. Returns the number of points left out.
#[pg_extern(name = "update")]
fn update_series_array(
    name: Option<&str>,
    t: Option<Array<TimestampWithTimeZone>>,
    v: Option<Array<f64>>,
    skip_bad: default!(Option<bool>, "false"),
) -> i64 {
    update_series_array_inner(name, t, v, skip_bad).or_raise()
}

fn update_series_array_inner(
    name: Option<&str>,
    t: Option<Array<TimestampWithTimeZone>>,
    v: Option<Array<f64>>,
    skip_bad: Option<bool>,
) -> Result<i64> {
    let name = required(name, "series name")?;
    let t = required(t, "t")?;
    let v = required(v, "v")?;
    let on_bad = on_bad(skip_bad)?;
    check_lengths("t and v", &[t.len(), v.len()])?;
    let mut feed = Feed::with_capacity(t.len());
    let s = feed.series(name);
    for (i, (ti, vi)) in t.iter().zip(v.iter()).enumerate() {
        interruptible(i);
        if feed.push(s, element_time(ti, i)?, Value::from_float(vi)) {
            feed.flush(on_bad)?;
        }
    }
    feed.finish(on_bad)
}

/// Records point `i` of each array, `(name[i], t[i], v[i])`, in order: one
/// statement for many series, such as one step of a collector. A name may
/// repeat; the points of one series must come in time order. With
/// `skip_bad`, refused points are left out and counted.
#[pg_extern(name = "update")]
fn update_many(
    names: Option<Array<&str>>,
    t: Option<Array<TimestampWithTimeZone>>,
    v: Option<Array<f64>>,
    skip_bad: default!(Option<bool>, "false"),
) -> i64 {
    update_many_inner(names, t, v, skip_bad).or_raise()
}

fn update_many_inner(
    names: Option<Array<&str>>,
    t: Option<Array<TimestampWithTimeZone>>,
    v: Option<Array<f64>>,
    skip_bad: Option<bool>,
) -> Result<i64> {
    let names = required(names, "names")?;
    let t = required(t, "t")?;
    let v = required(v, "v")?;
    let on_bad = on_bad(skip_bad)?;
    check_lengths("names, t and v", &[names.len(), t.len(), v.len()])?;
    let mut feed = Feed::with_capacity(t.len());
    for (i, ((ni, ti), vi)) in names.iter().zip(t.iter()).zip(v.iter()).enumerate() {
        interruptible(i);
        let name = required(ni, &format!("names[{}]", i + 1))?;
        let s = feed.series(name);
        if feed.push(s, element_time(ti, i)?, Value::from_float(vi)) {
            feed.flush(on_bad)?;
        }
    }
    feed.finish(on_bad)
}
