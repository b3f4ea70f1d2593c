//! Changing a series in place: `rrd.tune`, `rrd.resize`, `rrd.add_archive`
//! and `rrd.drop_archive`. Each locks the series, computes the change in
//! `alter` and writes the definition, state and chunk rows it touches in
//! the caller's transaction; each returns the new definition.

use pgrx::prelude::*;
use pgrx::spi::{Spi, SpiClient};

use crate::args::required;
use crate::rrd_type::Rrd;
use crate::sqlstate::OrRaise;
use crate::storage::{self, Series};
use rrd_core::alter::{self, Source, Tuning};
use rrd_core::def::{self, DsKind};
use rrd_core::error::{Result, RrdError};
use rrd_core::ring::Stored;

/// Runs `f` on series `name` loaded under lock, its journal folded first.
fn with_series<T>(
    name: Option<&str>,
    f: impl FnOnce(&SpiClient<'_>, Series) -> Result<T>,
) -> Result<T> {
    let name = required(name, "series name")?;
    Spi::connect_mut(|client| {
        crate::flush::fold_named(client, name)?;
        let series = storage::state::load(client, name, true)?;
        f(client, series)
    })
}

/// Every stored slot of archive `a`.
fn all_slots(client: &SpiClient<'_>, series: &Series, a: usize) -> Stored {
    let rows = series.def.archives[a].rows as i64;
    storage::chunk::read_slots(client, series, a, 0, rows - 1)
}

/// A bound given to `rrd.tune`: NaN or the open end's infinity removes it.
fn bound(v: Option<f64>, label: &str, open: f64) -> Result<Option<Option<f64>>> {
    let sql = |x: f64| if x > 0.0 { "Infinity" } else { "-Infinity" };
    match v {
        None => Ok(None),
        Some(v) if v.is_nan() || v == open => Ok(Some(None)),
        Some(v) if v.is_infinite() => Err(RrdError::param(format!(
            "{label} cannot be {}: give {} or NaN to remove the bound",
            sql(v),
            sql(open)
        ))),
        Some(v) => Ok(Some(Some(v))),
    }
}

/// Changes a data source setting or an archive's xff, as `rrdtool tune`
/// does: heartbeat, min, max (`-Infinity`, `Infinity` or `NaN` remove a
/// bound), kind, data source name, and the xff of archive `archive`; and
/// the lateness window (docs/late.md; `interval '0'` removes it). Stored
/// rows are kept as they are; the settings apply from the next update, and
/// the points a window held back are folded first.
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "tune")]
fn tune_with_window(
    name: Option<&str>,
    heartbeat: default!(Option<Interval>, "NULL"),
    min: default!(Option<f64>, "NULL"),
    max: default!(Option<f64>, "NULL"),
    kind: default!(Option<&str>, "NULL"),
    ds_name: default!(Option<&str>, "NULL"),
    archive: default!(Option<i32>, "NULL"),
    xff: default!(Option<f64>, "NULL"),
    lateness: default!(Option<Interval>, "NULL"),
) -> Rrd {
    tune_inner(
        name, heartbeat, min, max, kind, ds_name, archive, xff, lateness,
    )
    .or_raise()
}

/// `rrd.tune` as a 0.1.0 catalog declares it (without `lateness`), until
/// `ALTER EXTENSION pg_rrd UPDATE`: the same C symbol, no SQL of its own.
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "tune", sql = false)]
fn tune(
    name: Option<&str>,
    heartbeat: Option<Interval>,
    min: Option<f64>,
    max: Option<f64>,
    kind: Option<&str>,
    ds_name: Option<&str>,
    archive: Option<i32>,
    xff: Option<f64>,
) -> Rrd {
    tune_inner(name, heartbeat, min, max, kind, ds_name, archive, xff, None).or_raise()
}

#[allow(clippy::too_many_arguments)]
fn tune_inner(
    name: Option<&str>,
    heartbeat: Option<Interval>,
    min: Option<f64>,
    max: Option<f64>,
    kind: Option<&str>,
    ds_name: Option<&str>,
    archive: Option<i32>,
    xff: Option<f64>,
    lateness: Option<Interval>,
) -> Result<Rrd> {
    let heartbeat = heartbeat
        .map(|iv| crate::args::whole_secs(iv, "heartbeat", 1))
        .transpose()?;
    let lateness = lateness.map(crate::args::lateness_secs).transpose()?;
    let kind = match kind {
        None => None,
        Some(k) => Some(DsKind::from_name(k).ok_or_else(|| {
            RrdError::param(format!(
                "unknown data source kind \"{k}\" (expected GAUGE, COUNTER, DERIVE, ABSOLUTE, DCOUNTER or DDERIVE)"
            ))
        })?),
    };
    let xff = match (archive, xff) {
        (None, None) => None,
        (Some(a), Some(x)) => Some((usize::try_from(a).unwrap_or(usize::MAX), x)),
        (None, Some(_)) => return Err(RrdError::param("xff needs the archive it applies to")),
        (Some(_), None) => return Err(RrdError::param("archive is given without an xff to set")),
    };
    let t = Tuning {
        heartbeat,
        min: bound(min, "min", f64::NEG_INFINITY)?,
        max: bound(max, "max", f64::INFINITY)?,
        kind,
        ds_name: ds_name.map(str::to_string),
        xff,
        lateness,
    };
    with_series(name, |client, s| {
        let (def, state) = alter::tune(&s.def, &s.state, &t)?;
        storage::journal::check_windows(client, &def)?;
        storage::state::replace_series(client, s.id, &def, &state, &s.holes);
        Ok(Rrd { def })
    })
}

/// Gives archive `archive` `rows` rows, as `rrdtool resize` does: the
/// newest rows keep their values and times; rows added to a grown archive
/// are unknown.
#[pg_extern]
fn resize(name: Option<&str>, archive: Option<i32>, rows: Option<i64>) -> Rrd {
    resize_inner(name, archive, rows).or_raise()
}

fn resize_inner(name: Option<&str>, archive: Option<i32>, rows: Option<i64>) -> Result<Rrd> {
    let archive = required(archive, "archive")?;
    let rows = required(rows, "rows")?;
    with_series(name, |client, s| {
        let a = alter::archive_at(&s.def, archive as i64)?;
        let rows = u64::try_from(rows)
            .ok()
            .filter(|&r| r > 0)
            .ok_or_else(|| RrdError::param(format!("rows must be at least 1, got {rows}")))?;
        let stored = all_slots(client, &s, a);
        let (def, fill) = alter::resize(&s.def, &s.state, a, &stored, rows, s.width)?;
        let mut holes = s.holes.clone();
        holes[a].clear();
        storage::state::replace_series(client, s.id, &def, &s.state, &holes);
        storage::chunk::replace_archive_filled(client, s.id, a, &fill);
        Ok(Rrd { def })
    })
}

/// Adds an archive, `RRA:CF:xff:steps:rows`, after the others, filled
/// from the finest archive that holds each of its rows (one of one step
/// per row, or one with the same CF), with its own CF and xff.
#[pg_extern]
fn add_archive(name: Option<&str>, archive: Option<&str>) -> Rrd {
    add_inner(name, archive).or_raise()
}

fn add_inner(name: Option<&str>, archive: Option<&str>) -> Result<Rrd> {
    let text = required(archive, "archive")?;
    with_series(name, |client, s| {
        let new = def::parse_archive(text, s.def.step)?;
        let stored: Vec<(usize, Stored)> = alter::feeders(&s.def, &s.state, &new)
            .into_iter()
            .map(|(a, lo, hi)| (a, storage::chunk::read_slots(client, &s, a, lo, hi)))
            .collect();
        let sources: Vec<Source<'_>> = stored
            .iter()
            .map(|(a, st)| Source {
                archive: *a,
                stored: st,
            })
            .collect();
        let n = s.def.archives.len();
        let (def, state, fill) = alter::add_archive(&s.def, &s.state, new, &sources, s.width)?;
        let mut holes = s.holes.clone();
        holes.push(Vec::new());
        storage::state::replace_series(client, s.id, &def, &state, &holes);
        storage::chunk::replace_archive_filled(client, s.id, n, &fill);
        Ok(Rrd { def })
    })
}

/// Removes archive `archive` and its rows; later archives move one down.
#[pg_extern]
fn drop_archive(name: Option<&str>, archive: Option<i32>) -> Rrd {
    drop_inner(name, archive).or_raise()
}

fn drop_inner(name: Option<&str>, archive: Option<i32>) -> Result<Rrd> {
    let archive = required(archive, "archive")?;
    with_series(name, |client, s| {
        let a = alter::archive_at(&s.def, archive as i64)?;
        let (def, state, holes) = alter::drop_archive(&s.def, &s.state, &s.holes, a)?;
        storage::state::replace_series(client, s.id, &def, &state, &holes);
        storage::chunk::replace_archive(client, s.id, a, &[]);
        storage::chunk::shift_archives(client, s.id, a, s.def.archives.len());
        Ok(Rrd { def })
    })
}

#[cfg(feature = "pg_test")]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    const DEF: &str = "'--step 10 DS:g:GAUGE:20:U:U RRA:AVERAGE:0.5:1:20 RRA:MAX:0.5:2:10'";

    fn series(name: &str) {
        Spi::run(&format!(
            "SELECT rrd.create('{name}', {DEF}, to_timestamp(1000000000))"
        ))
        .unwrap();
        Spi::run(&format!(
            "SELECT rrd.update('{name}', array(SELECT to_timestamp(1000000000 + 10 * i) \
             FROM generate_series(1, 30) i), array(SELECT i::float8 FROM generate_series(1, 30) i))"
        ))
        .unwrap();
    }

    fn text(sql: &str) -> String {
        Spi::get_one::<String>(sql).unwrap().unwrap()
    }

    #[pg_test]
    fn each_change_returns_the_new_definition() {
        series("t.t");
        assert_eq!(
            text("SELECT rrd.tune('t.t', heartbeat => '30 s', max => 100)::text"),
            "--step 10 DS:g:GAUGE:30:U:100 RRA:AVERAGE:0.5:1:20 RRA:MAX:0.5:2:10"
        );
        assert_eq!(
            text("SELECT rrd.resize('t.t', 1, 40)::text"),
            "--step 10 DS:g:GAUGE:30:U:100 RRA:AVERAGE:0.5:1:20 RRA:MAX:0.5:2:40"
        );
        assert_eq!(
            text("SELECT rrd.add_archive('t.t', 'RRA:MIN:0:4:5')::text"),
            "--step 10 DS:g:GAUGE:30:U:100 RRA:AVERAGE:0.5:1:20 RRA:MAX:0.5:2:40 RRA:MIN:0:4:5"
        );
        // The 10 s archive holds 110..300: MIN of 40 s rows from it.
        assert_eq!(
            text(
                "SELECT string_agg(coalesce(v::text, '-'), ' ' ORDER BY t) FROM rrd.fetch('t.t', 'MIN', \
                 to_timestamp(1000000120), to_timestamp(1000000280), '40 s')"
            ),
            "13 17 21 25 -"
        );
        assert_eq!(
            text("SELECT rrd.drop_archive('t.t', 0)::text"),
            "--step 10 DS:g:GAUGE:30:U:100 RRA:MAX:0.5:2:40 RRA:MIN:0:4:5"
        );
    }

    #[pg_test]
    #[should_panic = "archive 2 does not exist (the series has archives 0 to 1)"]
    fn resize_of_a_missing_archive() {
        series("t.r");
        Spi::run("SELECT rrd.resize('t.r', 2, 10)").unwrap();
    }

    #[pg_test]
    #[should_panic = "cannot drop the only archive of a series"]
    fn dropping_the_last_archive() {
        series("t.d");
        Spi::run("SELECT rrd.drop_archive('t.d', 1)").unwrap();
        Spi::run("SELECT rrd.drop_archive('t.d', 0)").unwrap();
    }

    #[pg_test]
    #[should_panic = "min cannot be Infinity: give -Infinity or NaN to remove the bound"]
    fn min_of_infinity() {
        series("t.m");
        Spi::run("SELECT rrd.tune('t.m', min => 'Infinity')").unwrap();
    }
}
