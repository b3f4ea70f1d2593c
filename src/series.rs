//! Series life cycle and introspection (docs/series.md): `rrd.create`,
//! `rrd.drop`, `rrd.definition`, `rrd.info`, `rrd.last`, `rrd.first`,
//! `rrd.lastupdate`.

use pgrx::prelude::*;
use pgrx::spi::{Spi, SpiClient};
use pgrx::JsonB;
use serde_json::json;

use rrd_core::engine::State;
use rrd_core::error::{Result, RrdError};
use rrd_core::time;

use crate::args::{json, new_name, required, timestamptz, unix_us, Json};
use crate::rrd_type::Rrd;
use crate::sqlstate::OrRaise;
use crate::storage::chunk::{DEFAULT_CHUNK_WIDTH, MAX_CHUNK_WIDTH};
use crate::storage::{self, Series};

/// Loads a series without locking it, for the read-only functions.
fn load_named(name: Option<&str>) -> Result<Series> {
    load_named_with(name, |_, _| ()).map(|(s, ())| s)
}

/// Loads a series without locking it, and what `more` reads of it by id.
fn load_named_with<T>(
    name: Option<&str>,
    more: impl FnOnce(&SpiClient<'_>, i64) -> T,
) -> Result<(Series, T)> {
    let name = required(name, "series name")?;
    Spi::connect_mut(|client| {
        let s = storage::state::load_current(client, name)?;
        let extra = more(client, s.id);
        Ok((s, extra))
    })
}

/// Creates a series and returns its id. `start` defaults to one step before
/// now; updates at or before it are refused, as with `rrdtool create
/// --start`. It is truncated to whole seconds, as rrdtool takes it.
/// `lateness` sets the series' lateness window (docs/late.md), as
/// `--lateness` in the definition does.
#[pg_extern(name = "create")]
fn create_with_window(
    name: Option<&str>,
    def: Option<Rrd>,
    start: default!(Option<TimestampWithTimeZone>, "NULL"),
    chunk_width: default!(Option<i32>, "NULL"),
    meta: default!(Option<Json>, "NULL"),
    tags: default!(Option<Json>, "NULL"),
    lateness: default!(Option<Interval>, "NULL"),
) -> i64 {
    json(meta, "meta")
        .and_then(|meta| {
            let mut def = def;
            if let (Some(d), Some(w)) = (def.as_mut(), lateness) {
                d.def.lateness = crate::args::lateness_secs(w)?;
                d.def.check_lateness()?;
            }
            create_inner(name, def, start, chunk_width, meta, json(tags, "tags")?)
        })
        .or_raise()
}

/// `rrd.create` as a 0.1.0 catalog declares it (without `lateness`), for
/// the time the new library serves such a catalog, until `ALTER EXTENSION
/// pg_rrd UPDATE`: the same C symbol, no SQL of its own.
#[pg_extern(name = "create", sql = false)]
fn create(
    name: Option<&str>,
    def: Option<Rrd>,
    start: Option<TimestampWithTimeZone>,
    chunk_width: Option<i32>,
    meta: Option<Json>,
    tags: Option<Json>,
) -> i64 {
    create_with_window(name, def, start, chunk_width, meta, tags, None)
}

fn create_inner(
    name: Option<&str>,
    def: Option<Rrd>,
    start: Option<TimestampWithTimeZone>,
    chunk_width: Option<i32>,
    meta: Option<JsonB>,
    tags: Option<JsonB>,
) -> Result<i64> {
    crate::args::check_labels(meta.as_ref(), tags.as_ref())?;
    let name = new_name(required(name, "series name")?, "series name")?;
    let def = required(def, "definition")?.def;
    let width = match chunk_width {
        None => DEFAULT_CHUNK_WIDTH,
        Some(w) if (1..=MAX_CHUNK_WIDTH as i32).contains(&w) => w as u64,
        Some(w) => {
            return Err(RrdError::param(format!(
                "chunk_width must be between 1 and {MAX_CHUNK_WIDTH}, got {w}"
            )))
        }
    };
    let start_us = match start {
        Some(t) => unix_us(t, "start")?,
        None => {
            let now = unix_us(pgrx::datetime::now(), "now")?;
            now - def.step as i64 * time::US
        }
    };
    let start_us = time::floor_secs(start_us) * time::US;
    if start_us < 0 {
        return Err(RrdError::TimeRange {
            msg: format!("start {} is before 1970-01-01", time::format(start_us)),
        });
    }
    time::check_storable(start_us, "start")?;
    create_series(name, &def, start_us, width, meta, tags)
}

/// Stores a new series that starts at `start_us` (whole seconds, checked
/// by the caller) and returns its id.
pub fn create_series(
    name: &str,
    def: &rrd_core::def::Definition,
    start_us: i64,
    width: u64,
    meta: Option<JsonB>,
    tags: Option<JsonB>,
) -> Result<i64> {
    let name = new_name(name, "series name")?;
    let state = State::new(def, start_us);
    Spi::connect_mut(|client| {
        storage::journal::check_windows(client, def)?;
        storage::series::check_free(client, name)?;
        // Kept as asked: each ring takes the smaller of it and its size,
        // and an archive grown or added later gets full rows.
        let id = storage::series::insert_series(client, name, def, width, meta, tags)?;
        storage::state::insert_state(client, id, &state);
        storage::explain::create(client, id, def.step, Some(start_us), start_us);
        storage::chunk::allocate_chunks(client, id, def, width);
        storage::journal::ensure_lane(client, rrd_core::journal::lane_of(id));
        Ok(id)
    })
}

/// Removes a series and every row it has.
#[pg_extern(name = "drop")]
fn drop_series(name: Option<&str>) {
    drop_inner(name).or_raise()
}

fn drop_inner(name: Option<&str>) -> Result<()> {
    let name = required(name, "series name")?;
    storage::buffer::release()?;
    Spi::connect_mut(|client| storage::series::delete_series(client, name))
}

/// The definition of a series.
#[pg_extern]
fn definition(name: Option<&str>) -> Rrd {
    Rrd {
        def: (*load_named(name).or_raise().def).clone(),
    }
}

/// Time of the last update (`rrdtool last`).
#[pg_extern]
fn last(name: Option<&str>) -> TimestampWithTimeZone {
    let s = load_named(name).or_raise();
    timestamptz(s.state.last_up).or_raise()
}

/// End of the oldest row an archive holds (`rrdtool first`).
#[pg_extern]
fn first(name: Option<&str>, archive: default!(Option<i32>, 0)) -> TimestampWithTimeZone {
    first_inner(name, archive).or_raise()
}

fn first_inner(name: Option<&str>, archive: Option<i32>) -> Result<TimestampWithTimeZone> {
    let archive = required(archive, "archive")?;
    let s = load_named(name)?;
    let a = usize::try_from(archive)
        .ok()
        .and_then(|i| s.def.archives.get(i))
        .ok_or_else(|| {
            RrdError::param(format!(
                "archive {archive} does not exist (the series has archives 0 to {})",
                s.def.archives.len() - 1
            ))
        })?;
    let step = a.seconds_per_row(s.def.step) as i64;
    let last = time::floor_secs(s.state.last_up);
    let first = last - last.rem_euclid(step) - (a.rows as i64 - 1) * step;
    timestamptz(first * time::US)
}

/// Time and raw value of the last update (`rrdtool lastupdate`); the value
/// is NULL when it was unknown.
#[pg_extern]
fn lastupdate(
    name: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(t, TimestampWithTimeZone),
        name!(value, Option<String>),
    ),
> {
    let s = load_named(name).or_raise();
    TableIterator::once((timestamptz(s.state.last_up).or_raise(), s.state.last_ds))
}

fn num(v: f64) -> serde_json::Value {
    if v.is_finite() {
        json!(v)
    } else {
        serde_json::Value::Null
    }
}

/// What `rrdtool info` tells of a series, with its meta and tags, as jsonb.
#[pg_extern]
fn info(name: Option<&str>) -> JsonB {
    let (s, (meta, tags)) = load_named_with(name, storage::series::labels).or_raise();
    let last = time::floor_secs(s.state.last_up);
    let rra: Vec<_> = s
        .def
        .archives
        .iter()
        .zip(&s.state.cdp)
        .map(|(a, c)| {
            let step = a.seconds_per_row(s.def.step) as i64;
            json!({
                "cf": a.cf.as_str(),
                "rows": a.rows,
                "cur_row": last.div_euclid(step).rem_euclid(a.rows as i64),
                "pdp_per_row": a.steps,
                "xff": a.xff,
                "cdp_prep": { "value": num(c.val), "unknown_datapoints": c.unknown_pdps },
            })
        })
        .collect();
    let ds = &s.def.ds;
    let label = |j: Option<JsonB>| j.map_or_else(|| json!({}), |j| j.0);
    JsonB(json!({
        "id": s.id,
        "meta": label(meta),
        "tags": label(tags),
        "definition": s.def.to_string(),
        "step": s.def.step,
        "lateness": s.def.lateness,
        "last_update": s.state.last_up as f64 / 1e6,
        "chunk_width": s.width,
        "ds": {
            "name": ds.name,
            "type": ds.kind.as_str(),
            "minimal_heartbeat": ds.heartbeat,
            "min": ds.min.map(num),
            "max": ds.max.map(num),
            "last_ds": s.state.last_ds.clone().unwrap_or_else(|| "U".into()),
            "value": num(s.state.pdp_val),
            "unknown_sec": s.state.pdp_unknown_sec,
        },
        "rra": rra,
    }))
}

#[cfg(feature = "pg_test")]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    const DEF: &str = "'--step 10 DS:g:GAUGE:20:U:U RRA:AVERAGE:0.5:1:20'";

    #[pg_test]
    fn create_and_drop_leave_no_rows() {
        let id = Spi::get_one::<i64>(&format!("SELECT rrd.create('t.c', {DEF})"))
            .unwrap()
            .unwrap();
        assert!(id > 0);
        Spi::run("SELECT rrd.update('t.c', now(), 1)").unwrap();
        Spi::run("SELECT rrd.drop('t.c')").unwrap();
        let left = Spi::get_one::<i64>(
            "SELECT (SELECT count(*) FROM rrd.series) + (SELECT count(*) FROM rrd.state) \
             + (SELECT count(*) FROM rrd.chunk)",
        )
        .unwrap()
        .unwrap();
        assert_eq!(left, 0);
    }

    #[pg_test]
    #[should_panic = "series \"t.d\" already exists"]
    fn duplicate_name() {
        Spi::run(&format!("SELECT rrd.create('t.d', {DEF})")).unwrap();
        Spi::run(&format!("SELECT rrd.create('t.d', {DEF})")).unwrap();
    }

    #[pg_test]
    #[should_panic = "series \"t.none\" does not exist"]
    fn unknown_series() {
        Spi::run("SELECT rrd.info('t.none')").unwrap();
    }

    #[pg_test]
    #[should_panic = "illegal attempt to update series \"t.e\" at 2001-09-09 01:46:50+00 when its last update was at 2001-09-09 01:47:00+00"]
    fn out_of_order() {
        Spi::run(&format!(
            "SELECT rrd.create('t.e', {DEF}, to_timestamp(1000000000))"
        ))
        .unwrap();
        Spi::run("SELECT rrd.update('t.e', to_timestamp(1000000020), 1)").unwrap();
        Spi::run("SELECT rrd.update('t.e', to_timestamp(1000000010), 1)").unwrap();
    }
}
