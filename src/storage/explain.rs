//! The rows of `rrd.unknown_spans`: each series' record of why input was
//! unknown (`rrd_core::explain::Spans`), for `rrd.explain`. Updates keep
//! what they observe apart ([`SeriesWork::observed`]) and append it here
//! only when there is any, so that a write of known values never reads or
//! writes this table.

use std::cell::Cell;

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use rrd_core::batch::SeriesWork;
use rrd_core::error::Result;
use rrd_core::explain::{Columns, Spans};

use super::run;
use crate::sqlstate::spi;

/// A series' stored record and its start.
pub struct Record {
    /// The series' start, microseconds, when known.
    pub start_us: Option<i64>,
    /// The spans.
    pub spans: Spans,
}

thread_local! {
    /// Whether `rrd.unknown_spans` was seen to exist: once it has, it stays.
    static PRESENT: Cell<bool> = const { Cell::new(false) };
}

/// Whether the table exists: not under a catalog of 0.1.0 that the new
/// library serves until `ALTER EXTENSION pg_rrd UPDATE`, where writes go on
/// without a record.
fn present(client: &SpiClient<'_>) -> bool {
    super::catalog_has(
        client,
        &PRESENT,
        "SELECT pg_catalog.to_regclass('rrd.unknown_spans') IS NOT NULL",
    )
}

const LOAD: &str = "SELECT start_us, since_us, span_from, span_to, cause, detail \
     FROM rrd.unknown_spans WHERE series_id = $1";

const SAVE: &str = "INSERT INTO rrd.unknown_spans AS u \
     (series_id, start_us, since_us, span_from, span_to, cause, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (series_id) DO UPDATE SET \
     since_us = excluded.since_us, span_from = excluded.span_from, span_to = excluded.span_to, \
     cause = excluded.cause, detail = excluded.detail";

/// The record of series `id` (base step `step`), if it has one.
pub fn load(client: &SpiClient<'_>, id: i64, step: u64, mutating: bool) -> Result<Option<Record>> {
    if !present(client) {
        return Ok(None);
    }
    let Some(row) = run(client, LOAD, &[pg_sys::INT8OID], &[id.into()], mutating).next() else {
        return Ok(None);
    };
    let cols = Columns {
        since: spi(row.get::<i64>(2)).unwrap_or(0),
        from: spi(row.get::<Vec<i64>>(3)).unwrap_or_default(),
        to: spi(row.get::<Vec<i64>>(4)).unwrap_or_default(),
        cause: spi(row.get::<Vec<i16>>(5)).unwrap_or_default(),
        detail: spi(row.get::<Vec<f64>>(6)).unwrap_or_default(),
    };
    Ok(Some(Record {
        start_us: spi(row.get::<i64>(1)),
        spans: Spans::from_columns(step, &cols)?,
    }))
}

/// Writes the record of series `id`.
pub fn save(client: &SpiClient<'_>, id: i64, start_us: Option<i64>, spans: &Spans) {
    if !present(client) {
        return;
    }
    let c = spans.to_columns();
    use pg_sys::*;
    run(
        client,
        SAVE,
        &[
            INT8OID,
            INT8OID,
            INT8OID,
            INT8ARRAYOID,
            INT8ARRAYOID,
            INT2ARRAYOID,
            FLOAT8ARRAYOID,
        ],
        &[
            id.into(),
            start_us.into(),
            c.since.into(),
            c.from.into(),
            c.to.into(),
            c.cause.into(),
            c.detail.into(),
        ],
        true,
    );
}

/// The empty record of a new series that starts at `start_us` (or, for
/// an import, whose updates are recorded from `since_us` on).
pub fn create(client: &SpiClient<'_>, id: i64, step: u64, start_us: Option<i64>, since_us: i64) {
    save(client, id, start_us, &Spans::new(step, since_us));
}

/// Appends what `works` observed to their stored records (only those that
/// observed anything), after their state rows were saved: those rows'
/// locks order writers of one series, so records are appended in turn.
/// A series without a record (older than it), or whose record does not
/// decode, is recorded from these spans on: a record never stops a write.
pub fn save_observed(client: &SpiClient<'_>, works: &[&SeriesWork]) {
    for w in works {
        let Some(seen) = w.observed.as_ref().filter(|s| !s.is_empty()) else {
            continue;
        };
        let fresh = || Spans::new(w.def.step, seen[0].from_us.saturating_sub(1));
        let (start_us, mut spans) = match load(client, w.id, w.def.step, true) {
            Ok(Some(r)) => (r.start_us, r.spans),
            Ok(None) => (None, fresh()),
            Err(e) => {
                pgrx::warning!(
                    "pg_rrd: the unknown spans of series {} start over: {e}",
                    w.id
                );
                (None, fresh())
            }
        };
        spans.append(seen, &w.def, w.state.last_up);
        save(client, w.id, start_us, &spans);
    }
}
