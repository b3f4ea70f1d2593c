//! `rrd.points`: an entry point for any client library. `INSERT INTO
//! rrd.points (name, t, v) ...` and `COPY rrd.points FROM STDIN` apply
//! their rows as `rrd.update` would, in order, when the statement ends;
//! nothing is stored in `rrd.points` itself.
//!
//! `rrd.points` is a view. A statement trigger opens a batch, a row
//! trigger adds each row to it, and a statement trigger at the end applies
//! the batch (see `update::apply`), so that each chunk row is written once
//! per statement. A failed statement rolls back with its transaction or
//! subtransaction, and so does its open batch.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;

use pgrx::prelude::*;

use crate::batch::OnBad;
use crate::error::{Result as RrdResult, RrdError};
use crate::errors::OrRaise;
use crate::series::unix_us;
use crate::update::{Feed, Value};

/// The batch of one `rrd.points` statement that is still running.
struct Level {
    /// Subtransaction the statement started in.
    subxact: pg_sys::SubTransactionId,
    /// What to do with a refused point, as set when the statement began.
    on_bad: OnBad,
    feed: Feed,
}

thread_local! {
    /// Open batches, innermost last (a statement's trigger may run another).
    static LEVELS: RefCell<Vec<Level>> = const { RefCell::new(Vec::new()) };
    static CALLBACKS: Cell<bool> = const { Cell::new(false) };
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact(_event: pg_sys::XactEvent::Type, _arg: *mut c_void) {
    // Every statement closes its batch; whatever is left at the end of a
    // transaction belongs to statements that failed.
    LEVELS.with(|l| l.borrow_mut().clear());
}

#[pg_guard]
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    my_subid: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        // Statements begun in the aborted subtransaction (or deeper) failed.
        LEVELS.with(|l| l.borrow_mut().retain(|lv| lv.subxact < my_subid));
    }
}

fn ensure_callbacks() {
    if !CALLBACKS.with(|c| c.replace(true)) {
        unsafe {
            pg_sys::RegisterXactCallback(Some(on_xact), std::ptr::null_mut());
            pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
        }
    }
}

/// BEFORE INSERT FOR EACH STATEMENT: opens the statement's batch.
#[pg_trigger]
fn points_statement_start<'a>(
    _trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByRust>>, RrdError> {
    ensure_callbacks();
    let subxact = unsafe { pg_sys::GetCurrentSubTransactionId() };
    let on_bad = if crate::guc::SKIP_BAD_POINTS.get() {
        OnBad::Skip
    } else {
        OnBad::Fail
    };
    LEVELS.with(|l| {
        l.borrow_mut().push(Level {
            subxact,
            on_bad,
            feed: Feed::default(),
        })
    });
    Ok(None)
}

/// INSTEAD OF INSERT FOR EACH ROW: adds the row to the open batch.
#[pg_trigger]
fn points_row<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, RrdError> {
    let new = trigger.new();
    if let Some(row) = &new {
        add_row(row).or_raise();
    }
    Ok(new)
}

fn add_row(row: &PgHeapTuple<'_, AllocatedByPostgres>) -> RrdResult<()> {
    let bad = |e: pgrx::datum::TryFromDatumError| RrdError::param(e.to_string());
    let name: Option<String> = row.get_by_name("name").map_err(bad)?;
    let t: Option<TimestampWithTimeZone> = row.get_by_name("t").map_err(bad)?;
    let v: Option<f64> = row.get_by_name("v").map_err(bad)?;
    // A full part is taken out of its level to be applied, so that a
    // trigger on pg_rrd's tables may write to rrd.points meanwhile.
    let full = LEVELS.with(|l| {
        let mut levels = l.borrow_mut();
        let Some(level) = levels.last_mut() else {
            return Err(RrdError::param(
                "rrd.points takes rows only from INSERT and COPY statements",
            ));
        };
        let pos = level.feed.len() + 1;
        let name = name.ok_or_else(|| RrdError::Null {
            what: format!("name of row {pos}"),
        })?;
        let what = format!("t of row {pos}");
        let t = unix_us(
            t.ok_or_else(|| RrdError::Null { what: what.clone() })?,
            &what,
        )?;
        let value = match v {
            Some(x) if !x.is_nan() => Value::Float(x),
            _ => Value::Unknown,
        };
        let s = level.feed.series(&name);
        Ok(level
            .feed
            .push(s, t, value)
            .then(|| (std::mem::take(&mut level.feed), level.on_bad)))
    })?;
    if let Some((mut feed, on_bad)) = full {
        feed.flush(on_bad)?;
        LEVELS.with(|l| {
            if let Some(level) = l.borrow_mut().last_mut() {
                level.feed = feed;
            }
        });
    }
    Ok(())
}

/// AFTER INSERT FOR EACH STATEMENT: applies the statement's batch.
#[pg_trigger]
fn points_statement_end<'a>(
    _trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByRust>>, RrdError> {
    let level = LEVELS.with(|l| l.borrow_mut().pop());
    if let Some(level) = level {
        let total = level.feed.len();
        let skipped = level.feed.finish(level.on_bad).or_raise();
        if skipped > 0 {
            notice!("pg_rrd: skipped {skipped} of {total} points (pg_rrd.skip_bad_points is on)");
        }
    }
    Ok(None)
}

extension_sql!(
    r#"
-- Rows written here are applied to their series when the statement ends,
-- as rrd.update(name, t, v) row by row; the view itself is always empty.
CREATE VIEW rrd.points AS
    SELECT NULL::text AS name, NULL::timestamptz AS t, NULL::double precision AS v
    WHERE false;
COMMENT ON VIEW rrd.points IS
    'INSERT or COPY (name, t, v) rows here to update series; nothing is stored';
CREATE TRIGGER points_statement_start BEFORE INSERT ON rrd.points
    FOR EACH STATEMENT EXECUTE FUNCTION rrd.points_statement_start();
CREATE TRIGGER points_row INSTEAD OF INSERT ON rrd.points
    FOR EACH ROW EXECUTE FUNCTION rrd.points_row();
CREATE TRIGGER points_statement_end AFTER INSERT ON rrd.points
    FOR EACH STATEMENT EXECUTE FUNCTION rrd.points_statement_end();
"#,
    name = "points_view",
    requires = [
        "schema",
        points_statement_start,
        points_row,
        points_statement_end
    ]
);
