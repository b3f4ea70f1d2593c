//! Aggregates inside the store (docs/aggregate.md): `rrd.aggregate` sums up
//! the rows `rrd.fetch` would return for a range, from the chunk rows
//! directly, scanned row by row (`rrd_core::stats`), and `rrd.aggregate_many` /
//! `rrd.aggregate_tagged` do it for each series of a pattern or tags.

use pgrx::prelude::*;
use pgrx::spi::{Spi, SpiClient};

use rrd_core::def::Cf;
use rrd_core::error::{Result, RrdError};
use rrd_core::ring::Ring;
use rrd_core::stats::{self, Source, Summary};

use crate::args::{required, timestamptz, Json};
use crate::catalog::{find_names, tagged_names};
use crate::fetch::{fetch_args, range_secs, read_plan};
use crate::interrupts;
use crate::sqlstate::OrRaise;
use crate::storage::{self, Series};

/// One row of aggregates, as SQL gets it.
type Row = (
    i64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<TimestampWithTimeZone>,
    Option<TimestampWithTimeZone>,
);

/// The percentile argument, checked.
fn fraction(percentile: Option<f64>) -> Result<Option<f64>> {
    match percentile {
        Some(q) if !(0.0..=1.0).contains(&q) => Err(RrdError::param(format!(
            "percentile must be between 0 and 1, got {q}"
        ))),
        q => Ok(q),
    }
}

/// The aggregates of the rows a fetch of one loaded series returns,
/// summed up while its chunk rows are scanned, one row at a time.
fn summary(
    client: &SpiClient<'_>,
    series: &Series,
    cf: Cf,
    (start, stop): (i64, i64),
    resolution: i64,
    percentile: Option<f64>,
) -> Result<Row> {
    let p = read_plan(series, cf, start, stop, resolution)?;
    let ring = Ring::new(series.def.archives[p.archive].rows, series.width);
    let src = Source {
        ring,
        holes: &series.holes[p.archive],
        pending: series.pending.get(p.archive),
        latest: p.latest,
        step: p.step,
    };
    let mut runs = 0usize;
    let mut tick = || {
        interrupts::every(runs);
        runs += 1;
    };
    let mut scan = |range: (u32, u32), sink: &mut dyn FnMut(u32, &[f64])| {
        storage::chunk::scan_chunks(client, series.id, p.archive, range, sink)
    };
    let s = stats::summarize_scan(&src, p.first, p.last, percentile, &mut tick, &mut scan);
    row(s)
}

/// One summary as SQL gets it.
fn row(s: Summary) -> Result<Row> {
    let at = |p: Option<(i64, f64)>| -> Result<Option<TimestampWithTimeZone>> {
        p.map(|(t, _)| timestamptz(t.saturating_mul(rrd_core::time::US)))
            .transpose()
    };
    Ok((
        s.count as i64,
        s.sum,
        s.avg,
        s.min,
        s.max,
        s.first.map(|p| p.1),
        s.last.map(|p| p.1),
        s.stddev,
        s.percentile,
        at(s.first)?,
        at(s.last)?,
    ))
}

/// Aggregates of the rows `rrd.fetch(name, cf, start, stop, resolution)`
/// returns: how many are known, their sum, average, smallest and largest,
/// the oldest and newest known value (and the end of its row), the sample
/// standard deviation and, when `percentile` (0 to 1) is given, that
/// percentile as `percentile_cont` computes it. Pending points of the
/// journal count, as in a fetch. The archive is the one fetch would read.
#[allow(clippy::type_complexity)] // pgrx reads the SQL signature from the written-out type
#[pg_extern(stable)]
fn aggregate(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: default!(Option<Interval>, "NULL"),
    percentile: default!(Option<f64>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(count, i64),
        name!(sum, Option<f64>),
        name!(avg, Option<f64>),
        name!(min, Option<f64>),
        name!(max, Option<f64>),
        name!(first, Option<f64>),
        name!(last, Option<f64>),
        name!(stddev, Option<f64>),
        name!(percentile, Option<f64>),
        name!(first_t, Option<TimestampWithTimeZone>),
        name!(last_t, Option<TimestampWithTimeZone>),
    ),
> {
    aggregate_inner(name, cf, start, stop, resolution, percentile)
        .map(|row| TableIterator::new(std::iter::once(row)))
        .or_raise()
}

fn aggregate_inner(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: Option<Interval>,
    percentile: Option<f64>,
) -> Result<Row> {
    let percentile = fraction(percentile)?;
    let name = required(name, "series name")?;
    let (cf, resolution) = fetch_args(cf, resolution)?;
    let range = range_secs(start, stop)?;
    Spi::connect_mut(|client| {
        let series = storage::state::load_current(client, name)?;
        summary(client, &series, cf, range, resolution, percentile)
    })
}

/// One row of aggregates per series of `names`, read one series at a time.
fn aggregate_names(
    names: Vec<String>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: Option<Interval>,
    percentile: Option<f64>,
) -> Result<Vec<(String, Row)>> {
    let percentile = fraction(percentile)?;
    let (cf, resolution) = fetch_args(cf, resolution)?;
    let (start, stop) = range_secs(start, stop)?;
    Spi::connect_mut(|client| {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut loaded = storage::state::load_many_current(client, &refs)?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            // A series dropped since its name was found is left out.
            if let Some(series) = loaded.remove(&name) {
                let row = summary(client, &series, cf, (start, stop), resolution, percentile)?;
                out.push((name, row));
            }
        }
        Ok(out)
    })
}

/// The rows of one series' aggregates, named.
type ManyRows = TableIterator<
    'static,
    (
        name!(name, String),
        name!(count, i64),
        name!(sum, Option<f64>),
        name!(avg, Option<f64>),
        name!(min, Option<f64>),
        name!(max, Option<f64>),
        name!(first, Option<f64>),
        name!(last, Option<f64>),
        name!(stddev, Option<f64>),
        name!(percentile, Option<f64>),
        name!(first_t, Option<TimestampWithTimeZone>),
        name!(last_t, Option<TimestampWithTimeZone>),
    ),
>;

fn many_rows(rows: Vec<(String, Row)>) -> ManyRows {
    TableIterator::new(
        rows.into_iter()
            .map(|(n, r)| (n, r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10)),
    )
}

/// `rrd.aggregate` for every series whose name matches Graphite pattern
/// `pattern` (see `rrd.find`), one row per series, in name order.
#[allow(clippy::type_complexity)] // pgrx reads the SQL signature from the written-out type
#[pg_extern(stable)]
fn aggregate_many(
    pattern: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: default!(Option<Interval>, "NULL"),
    percentile: default!(Option<f64>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(count, i64),
        name!(sum, Option<f64>),
        name!(avg, Option<f64>),
        name!(min, Option<f64>),
        name!(max, Option<f64>),
        name!(first, Option<f64>),
        name!(last, Option<f64>),
        name!(stddev, Option<f64>),
        name!(percentile, Option<f64>),
        name!(first_t, Option<TimestampWithTimeZone>),
        name!(last_t, Option<TimestampWithTimeZone>),
    ),
> {
    required(pattern, "pattern")
        .and_then(|p| find_names(Some(p), None))
        .and_then(|names| aggregate_names(names, cf, start, stop, resolution, percentile))
        .map(many_rows)
        .or_raise()
}

/// `rrd.aggregate` for every series whose tags contain `tags` (`@>`), one
/// row per series, in name order.
#[allow(clippy::type_complexity)] // as above
#[pg_extern(stable)]
fn aggregate_tagged(
    tags: Option<Json>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: default!(Option<Interval>, "NULL"),
    percentile: default!(Option<f64>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(count, i64),
        name!(sum, Option<f64>),
        name!(avg, Option<f64>),
        name!(min, Option<f64>),
        name!(max, Option<f64>),
        name!(first, Option<f64>),
        name!(last, Option<f64>),
        name!(stddev, Option<f64>),
        name!(percentile, Option<f64>),
        name!(first_t, Option<TimestampWithTimeZone>),
        name!(last_t, Option<TimestampWithTimeZone>),
    ),
> {
    tagged_names(tags)
        .and_then(|names| aggregate_names(names, cf, start, stop, resolution, percentile))
        .map(many_rows)
        .or_raise()
}
