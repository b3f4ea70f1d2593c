//! Why a value is unknown (docs/explain.md): `rrd.explain` returns the rows
//! of a fetch, each with the reason its value is NULL, worked out by
//! `rrd_core::explain` from the series' record of unknown input
//! (`rrd.unknown_spans`, kept by every write) and its rings.

use pgrx::prelude::*;
use pgrx::spi::Spi;

use rrd_core::error::Result;
use rrd_core::explain::{self as why, PdpReason, Reason, Slot, Spans};
use rrd_core::time;

use crate::args::{required, timestamptz};
use crate::fetch::{check_rows, fetch_args, range_secs, series_reader, Reader};
use crate::sqlstate::OrRaise;
use crate::storage;
use crate::storage::state::Series;

extension_sql_file!(
    "../sql/explain.sql",
    name = "explain_tables",
    requires = ["schema", "roles"]
);

/// One row of `rrd.explain`.
type Row = (
    TimestampWithTimeZone,
    Option<f64>,
    String,
    Option<String>,
    Option<TimestampWithTimeZone>,
    Option<TimestampWithTimeZone>,
    Option<String>,
);

/// The rows `rrd.fetch(name, cf, start, stop, resolution)` returns, each
/// with why its value is unknown: `kind` a short code (`known`, `pending`,
/// `ring`, `start`, `gap`, `input`, `nan`, `range`, `previous`, `reset`,
/// `counter`, `xff`, `last`, `displaced`, `hole`, `unrecorded`,
/// `unexplained`), `cause` and `cause_from`/`cause_to` the unknown input
/// behind it (for a row of several PDPs, that of its first unknown one),
/// and `reason` one line of English (NULL for a known value).
#[allow(clippy::type_complexity)] // pgrx reads the SQL signature from the written-out type
#[pg_extern(stable)]
fn explain(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: default!(Option<Interval>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(t, TimestampWithTimeZone),
        name!(v, Option<f64>),
        name!(kind, String),
        name!(cause, Option<String>),
        name!(cause_from, Option<TimestampWithTimeZone>),
        name!(cause_to, Option<TimestampWithTimeZone>),
        name!(reason, Option<String>),
    ),
> {
    explain_inner(name, cf, start, stop, resolution)
        .map(TableIterator::new)
        .or_raise()
}

/// The unknown input behind a reason: its cause and interval.
fn behind(r: &Reason) -> Option<&PdpReason> {
    match r {
        Reason::Pdp(p) | Reason::Last(p) => Some(p),
        Reason::Xff { first, .. } => Some(first),
        _ => None,
    }
}

fn explain_inner(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: Option<Interval>,
) -> Result<impl Iterator<Item = Row>> {
    let name = required(name, "series name")?;
    let (cf, resolution) = fetch_args(cf, resolution)?;
    let (start, stop) = range_secs(start, stop)?;
    let (series, r, spans, start_us) = Spi::connect_mut(|client| {
        let series = storage::state::load_current(client, name)?;
        let r = series_reader(client, &series, cf, start, stop, resolution)?;
        check_rows(r.rows(), || format!("rrd.explain of series \"{name}\""))?;
        let def = &series.def;
        let record = storage::explain::load(client, series.id, def.step, false)?;
        let (start_us, mut spans) = match record {
            Some(rec) => (rec.start_us.unwrap_or(0), rec.spans),
            // A series older than the record: nothing recorded yet.
            None => (0, Spans::new(def.step, series.state.last_up)),
        };
        spans.append(&series.pending_spans, def, series.state.last_up);
        Ok::<_, rrd_core::error::RrdError>((series, r, spans, start_us))
    })?;
    // Row by row as the executor asks (a range of many rows is never held
    // in memory at once); the reader checks for a cancel as it goes.
    Ok((r.first..=r.last).map(move |g| explain_row(&series, &r, &spans, start_us, g).or_raise()))
}

/// The row of slot `g` of the archive `r` reads.
fn explain_row(series: &Series, r: &Reader, spans: &Spans, start_us: i64, g: i64) -> Result<Row> {
    let def = &series.def;
    let at = |us: i64| timestamptz(us).ok();
    let v = r.value(g);
    let reason = why::explain(
        &Slot {
            def,
            archive: r.archive,
            slot: g,
            known: !v.is_nan(),
            last_up_us: series.state.last_up,
            start_us,
            latest: r.latest,
            rows: def.archives[r.archive].rows,
            holes: &series.holes[r.archive],
        },
        spans,
    )?;
    let cause = behind(&reason);
    Ok((
        timestamptz(g * r.step * time::US)?,
        (!v.is_nan()).then_some(v),
        reason.kind().to_string(),
        cause.map(|c| c.why.kind().to_string()),
        cause.and_then(|c| at(c.from_us)),
        cause.and_then(|c| at(c.to_us)),
        (reason != Reason::Known).then(|| reason.to_string()),
    ))
}
