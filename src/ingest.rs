//! Many points in one statement: `rrd.update` over arrays (one series, or
//! parallel arrays of many), and `rrd.points`, an entry point for any
//! client library: `INSERT INTO rrd.points (name, t, v) ...` and
//! `COPY rrd.points FROM STDIN` apply their rows as `rrd.update` would, in
//! order, when the statement ends; nothing is stored in `rrd.points`
//! itself. Every form gathers its points in a [`Feed`] and applies them
//! with `update::apply`, in parts of [`PART_POINTS`].
//!
//! `rrd.points` is a view. A statement trigger opens a feed, a row trigger
//! adds each row to it, and a statement trigger at the end applies it, so
//! that each chunk row is written once per part. A failed statement rolls
//! back with its transaction or subtransaction, and so does its open feed.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;

use pgrx::prelude::*;

use rrd_core::batch::{Batch, OnBad, Value};
use rrd_core::error::{Result as RrdResult, RrdError};

use crate::args::{required, unix_us, unix_us_of};
use crate::interrupts;
use crate::sqlstate::OrRaise;
use crate::update::apply;

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
    pub fn flush(&mut self, on_bad: OnBad) -> RrdResult<()> {
        let points = std::mem::take(&mut self.batch.points);
        let batch = self.batch.part(points);
        self.apply_part(batch, on_bad)
    }

    fn apply_part(&mut self, batch: Batch, on_bad: OnBad) -> RrdResult<()> {
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
    pub fn finish(mut self, on_bad: OnBad) -> RrdResult<i64> {
        // A statement of one part (the usual case) is applied as gathered.
        if self.before == 0 {
            let batch = std::mem::take(&mut self.batch);
            self.apply_part(batch, on_bad)?;
        } else {
            self.flush(on_bad)?;
        }
        Ok(self.skipped)
    }
}

fn on_bad(skip_bad: Option<bool>) -> RrdResult<OnBad> {
    Ok(if required(skip_bad, "skip_bad")? {
        OnBad::Skip
    } else {
        OnBad::Fail
    })
}

/// The time of element `i` (0-based) of the times array.
fn element_time(t: Option<TimestampWithTimeZone>, i: usize) -> RrdResult<i64> {
    // The element's name is only written out for an error.
    let what = || format!("t[{}]", i + 1);
    match t {
        None => Err(RrdError::Null { what: what() }),
        Some(t) => unix_us_of(t, what),
    }
}

fn check_lengths(what: &str, lens: &[usize]) -> RrdResult<()> {
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
) -> RrdResult<i64> {
    let name = required(name, "series name")?;
    let t = required(t, "t")?;
    let v = required(v, "v")?;
    let on_bad = on_bad(skip_bad)?;
    check_lengths("t and v", &[t.len(), v.len()])?;
    let mut feed = Feed::with_capacity(t.len());
    let s = feed.series(name);
    for (i, (ti, vi)) in t.iter().zip(v.iter()).enumerate() {
        interrupts::every(i);
        if feed.push(s, element_time(ti, i)?, Value::from_float(vi)) {
            feed.flush(on_bad)?;
        }
    }
    feed.finish(on_bad)
}

/// Records `rrdtool update` arguments (`'N:42'`, `'1700000000.5:U'`) of
/// one series, in order, in one statement. With `skip_bad`, refused points
/// are left out and counted; a string that does not read is an error either
/// way, naming its position.
#[pg_extern(name = "update")]
fn update_specs(
    name: Option<&str>,
    specs: Option<Array<&str>>,
    skip_bad: default!(Option<bool>, "false"),
) -> i64 {
    update_specs_inner(name, specs, skip_bad).or_raise()
}

fn update_specs_inner(
    name: Option<&str>,
    specs: Option<Array<&str>>,
    skip_bad: Option<bool>,
) -> RrdResult<i64> {
    let name = required(name, "series name")?;
    let specs = required(specs, "updates")?;
    let on_bad = on_bad(skip_bad)?;
    let now = crate::update::clock_us()?;
    let mut feed = Feed::with_capacity(specs.len());
    let s = feed.series(name);
    for (i, spec) in specs.iter().enumerate() {
        interrupts::every(i);
        let spec = spec.ok_or_else(|| RrdError::Null {
            what: format!("updates[{}]", i + 1),
        })?;
        let (t, value) = rrd_core::batch::parse_spec(spec, now).map_err(|e| RrdError::InBatch {
            pos: i as u64 + 1,
            source: Box::new(e),
        })?;
        if feed.push(s, t, value) {
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
) -> RrdResult<i64> {
    let names = required(names, "names")?;
    let t = required(t, "t")?;
    let v = required(v, "v")?;
    let on_bad = on_bad(skip_bad)?;
    check_lengths("names, t and v", &[names.len(), t.len(), v.len()])?;
    let mut feed = Feed::with_capacity(t.len());
    for (i, ((ni, ti), vi)) in names.iter().zip(t.iter()).zip(v.iter()).enumerate() {
        interrupts::every(i);
        let name = ni.ok_or_else(|| RrdError::Null {
            what: format!("names[{}]", i + 1),
        })?;
        let s = feed.series(name);
        if feed.push(s, element_time(ti, i)?, Value::from_float(vi)) {
            feed.flush(on_bad)?;
        }
    }
    feed.finish(on_bad)
}

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

/// The trigger functions of `rrd.points`, as C functions of their own
/// rather than pgrx's `#[pg_trigger]`: called other than as a trigger, they
/// refuse with 0A000 as PL/pgSQL's do, where pgrx's wrapper fails with
/// XX000. Each keeps the symbol name pgrx gave it, which the catalogs of
/// earlier versions name.
macro_rules! points_trigger {
    ($symbol:ident, $finfo:ident, $sql:literal, $body:ident) => {
        #[no_mangle]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static pg_sys::Pg_finfo_record {
            static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }

        #[no_mangle]
        #[doc(hidden)]
        #[pg_guard]
        pub unsafe extern "C-unwind" fn $symbol(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
            // SAFETY: PostgreSQL calls this with its own fcinfo, which
            // from_fcinfo reads only after checking that a trigger called.
            let trigger = unsafe { fcinfo.as_ref().map(|f| PgTrigger::from_fcinfo(f)) };
            match trigger {
                Some(Ok(trigger)) => $body(&trigger),
                _ => crate::sqlstate::raise(RrdError::Unsupported {
                    msg: format!(
                        "{} is a trigger function of rrd.points: it can only be called as a trigger",
                        $sql
                    ),
                }),
            }
        }
    };
}

points_trigger!(
    _points_statement_start_wrapper,
    pg_finfo__points_statement_start_wrapper,
    "rrd._points_statement_start()",
    points_statement_start
);
points_trigger!(
    _points_row_wrapper,
    pg_finfo__points_row_wrapper,
    "rrd._points_row()",
    points_row
);
points_trigger!(
    _points_statement_end_wrapper,
    pg_finfo__points_statement_end_wrapper,
    "rrd._points_statement_end()",
    points_statement_end
);

/// BEFORE INSERT FOR EACH STATEMENT: opens the statement's batch.
fn points_statement_start(_trigger: &PgTrigger<'_>) -> pg_sys::Datum {
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
    pg_sys::Datum::from(0)
}

/// INSTEAD OF INSERT FOR EACH ROW: adds the row to the open batch, and
/// returns the row, which counts it as inserted.
fn points_row(trigger: &PgTrigger<'_>) -> pg_sys::Datum {
    // The view's columns are (name text, t timestamptz, v float8), read
    // straight from the row: this runs once per row of a COPY.
    let data = trigger.trigger_data();
    let tuple = data.tg_trigtuple;
    if !tuple.is_null() {
        // SAFETY: the row and the view's descriptor, as PostgreSQL gives
        // them to the trigger; each column is read as its own type.
        let (name, t, v) = unsafe {
            let desc = (*data.tg_relation).rd_att;
            let at = |n: usize| {
                pgrx::htup::heap_getattr_raw(tuple, std::num::NonZeroUsize::new(n).unwrap(), desc)
            };
            let name = at(1).and_then(|d| <&str as FromDatum>::from_datum(d, false));
            let t = at(2).and_then(|d| TimestampWithTimeZone::from_datum(d, false));
            let v = at(3).and_then(|d| f64::from_datum(d, false));
            (name, t, v)
        };
        add_row(name, t, v).or_raise();
    }
    pg_sys::Datum::from(tuple)
}

fn add_row(name: Option<&str>, t: Option<TimestampWithTimeZone>, v: Option<f64>) -> RrdResult<()> {
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
        let s = level.feed.series(name);
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
fn points_statement_end(_trigger: &PgTrigger<'_>) -> pg_sys::Datum {
    let level = LEVELS.with(|l| l.borrow_mut().pop());
    if let Some(level) = level {
        let total = level.feed.len();
        let skipped = level.feed.finish(level.on_bad).or_raise();
        if skipped > 0 {
            notice!("pg_rrd: skipped {skipped} of {total} points (pg_rrd.skip_bad_points is on)");
        }
    }
    pg_sys::Datum::from(0)
}

extension_sql!(
    r#"
CREATE FUNCTION rrd._points_statement_start() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', '_points_statement_start_wrapper';
CREATE FUNCTION rrd._points_row() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', '_points_row_wrapper';
CREATE FUNCTION rrd._points_statement_end() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', '_points_statement_end_wrapper';
-- Rows written here are applied to their series when the statement ends,
-- as rrd.update(name, t, v) row by row; the view itself is always empty.
CREATE VIEW rrd.points AS
    SELECT NULL::text AS name, NULL::timestamptz AS t, NULL::double precision AS v
    WHERE false;
COMMENT ON VIEW rrd.points IS
    'INSERT or COPY (name, t, v) rows here to update series; nothing is stored';
CREATE TRIGGER points_statement_start BEFORE INSERT ON rrd.points
    FOR EACH STATEMENT EXECUTE FUNCTION rrd._points_statement_start();
CREATE TRIGGER points_row INSTEAD OF INSERT ON rrd.points
    FOR EACH ROW EXECUTE FUNCTION rrd._points_row();
CREATE TRIGGER points_statement_end AFTER INSERT ON rrd.points
    FOR EACH STATEMENT EXECUTE FUNCTION rrd._points_statement_end();
"#,
    name = "points_view",
    requires = ["schema"]
);
