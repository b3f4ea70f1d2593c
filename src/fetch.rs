//! Reading a series (docs/fetch.md): `rrd.fetch`, the rows `rrdtool fetch`
//! prints for a time range, and `rrd.fetch_array` and
//! `rrd.fetch_stitched`; [`fetch_names`] reads many series for the
//! catalog's `rrd.fetch_many` and `rrd.fetch_tagged`.

use std::cell::Cell;

use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::prelude::*;
use pgrx::spi::{Spi, SpiClient};
use pgrx::IntoDatum;

use rrd_core::def::{Cf, MAX_SPAN_SECONDS};
use rrd_core::error::{shown, Result, RrdError};
use rrd_core::plan;
use rrd_core::ring::Stored;
use rrd_core::time;

use crate::args::{required, timestamptz, unix_us};
use crate::interrupts;
use crate::sqlstate::OrRaise;
use crate::storage::{self, Series};

type Rows = TableIterator<'static, (name!(t, TimestampWithTimeZone), name!(v, Option<f64>))>;

/// Rows of consolidation `cf` from `start` to `stop` at the archive that
/// best fits `resolution` (NULL: the finest), labelled by the end of each
/// row's interval; NULL where the value is unknown.
#[pg_extern(name = "fetch", stable)]
fn fetch(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: default!(Option<Interval>, "NULL"),
    points: default!(Option<i32>, "NULL"),
) -> TableIterator<'static, (name!(t, TimestampWithTimeZone), name!(v, Option<f64>))> {
    fetch_inner(name, cf, start, stop, resolution, points).or_raise()
}

/// The slots a fetch returns, read once from storage.
pub(crate) struct Reader {
    /// First and last slot returned (by end time / step); empty if first > last.
    pub(crate) first: i64,
    pub(crate) last: i64,
    /// Seconds per row.
    pub(crate) step: i64,
    pub(crate) latest: i64,
    /// The archive read.
    pub(crate) archive: usize,
    pub(crate) slots: Stored,
    /// Slots read so far, to check for a cancel now and then.
    reads: Cell<u32>,
}

impl Reader {
    /// Value of slot `g`; NaN when unknown or out of the ring.
    pub(crate) fn value(&self, g: i64) -> f64 {
        interrupts::tick(&self.reads);
        if !plan::in_ring(self.latest, self.slots.ring.rows, g) {
            return f64::NAN;
        }
        self.slots.value(g)
    }

    fn label(&self, g: i64) -> TimestampWithTimeZone {
        timestamptz(g * self.step * time::US).or_raise()
    }

    /// Rows of the range.
    pub(crate) fn rows(&self) -> i64 {
        (self.last - self.first + 1).max(0)
    }

    /// The range's slots, read through the ring.
    pub(crate) fn slots(self) -> plan::Slots<impl FnMut(i64) -> f64> {
        let window = (self.latest - self.slots.ring.rows as i64 + 1, self.latest);
        plan::Slots {
            first: self.first,
            last: self.last,
            window,
            value: move |g| self.value(g),
        }
    }
}

/// Refuses a read that would return more than `pg_rrd.max_fetch_rows` rows:
/// `what` names the read and its range.
pub(crate) fn check_rows(rows: i64, what: impl FnOnce() -> String) -> Result<()> {
    let max = i64::from(crate::guc::MAX_FETCH_ROWS.get());
    if rows <= max {
        return Ok(());
    }
    Err(RrdError::Limit {
        msg: format!(
            "{} would return {rows} rows, more than pg_rrd.max_fetch_rows ({max})",
            what()
        ),
        hint: Some(
            "Narrow the range, ask for a coarser resolution or for points => n, \
             or raise pg_rrd.max_fetch_rows.",
        ),
    })
}

/// A fetch range in a message: `from X to Y`.
fn range_text(start: i64, stop: i64) -> String {
    format!(
        "from {} to {}",
        time::format(start.saturating_mul(time::US)),
        time::format(stop.saturating_mul(time::US))
    )
}

/// The start and stop arguments of a fetch, in whole seconds.
pub(crate) fn range_secs(
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
) -> Result<(i64, i64)> {
    let start = time::floor_secs(unix_us(required(start, "start")?, "start")?);
    let stop = time::floor_secs(unix_us(required(stop, "stop")?, "stop")?);
    Ok((start, stop))
}

/// The CF and resolution arguments of a fetch, checked.
pub(crate) fn fetch_args(cf: Option<&str>, resolution: Option<Interval>) -> Result<(Cf, i64)> {
    let cf_text = required(cf, "consolidation function")?;
    let cf = Cf::parse(cf_text).ok_or_else(|| {
        RrdError::param(format!(
            "unknown consolidation function \"{cf_text}\" (expected AVERAGE, MIN, MAX or LAST)"
        ))
    })?;
    let resolution = match resolution {
        None => 1,
        Some(iv) => {
            let us = iv.as_micros();
            if us < time::US as i128 {
                return Err(RrdError::param(format!(
                    "resolution must be at least 1 second, got {} microseconds",
                    us
                )));
            }
            let secs = us / time::US as i128;
            if secs > MAX_SPAN_SECONDS as i128 {
                return Err(RrdError::param(format!(
                    "resolution must be at most {MAX_SPAN_SECONDS} seconds (200000 years), got {secs} seconds"
                )));
            }
            secs as i64
        }
    };
    Ok((cf, resolution))
}

/// A one-series read's arguments, checked, and its reader: the series
/// name first, then the CF and resolution, then the range.
pub(crate) fn reader<'a>(
    name: Option<&'a str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: Option<Interval>,
) -> Result<(&'a str, Reader, i64, i64)> {
    let name = required(name, "series name")?;
    let (cf, resolution) = fetch_args(cf, resolution)?;
    let (start, stop) = range_secs(start, stop)?;
    let r = named_reader(name, cf, start, stop, resolution)?;
    Ok((name, r, start, stop))
}

/// The reader of series `name`, for arguments already checked.
fn named_reader(name: &str, cf: Cf, start: i64, stop: i64, resolution: i64) -> Result<Reader> {
    Spi::connect_mut(|client| {
        let series = storage::state::load_current(client, name)?;
        series_reader(client, &series, cf, start, stop, resolution)
    })
}

/// What a fetch of one loaded series reads: the rows it returns and the
/// archive they come from, planned and checked, nothing read yet.
pub(crate) struct ReadPlan {
    /// First and last slot returned (by end time / step); empty if first > last.
    pub(crate) first: i64,
    pub(crate) last: i64,
    /// Seconds per row.
    pub(crate) step: i64,
    pub(crate) latest: i64,
    /// The archive read.
    pub(crate) archive: usize,
    /// The slots both in the range and in the ring (empty if lo > hi).
    lo: i64,
    hi: i64,
}

/// The read of one loaded series, planned as its fetch plans it.
pub(crate) fn read_plan(
    series: &Series,
    cf: Cf,
    start: i64,
    stop: i64,
    resolution: i64,
) -> Result<ReadPlan> {
    let last = time::floor_secs(series.state.last_up);
    let p = plan::plan(&series.def, last, cf, start, stop, resolution)?;
    let rows = series.def.archives[p.archive].rows;
    // Every label must be a valid timestamptz before any row is sent.
    let out_of_range = || RrdError::TimeRange {
        msg: format!("fetch end {} is out of range", p.end),
    };
    timestamptz(p.end.checked_mul(time::US).ok_or_else(out_of_range)?)?;
    Ok(ReadPlan {
        first: p.start / p.step + 1,
        last: p.end / p.step,
        step: p.step,
        latest: p.latest,
        archive: p.archive,
        // Only the chunks of slots both in the range and in the ring.
        lo: (p.start / p.step + 1).max(p.latest - rows as i64 + 1),
        hi: (p.end / p.step).min(p.latest),
    })
}

/// The reader of one loaded series.
pub(crate) fn series_reader(
    client: &SpiClient<'_>,
    series: &Series,
    cf: Cf,
    start: i64,
    stop: i64,
    resolution: i64,
) -> Result<Reader> {
    let p = read_plan(series, cf, start, stop, resolution)?;
    let slots = storage::chunk::read_slots(client, series, p.archive, p.lo, p.hi);
    Ok(Reader {
        first: p.first,
        last: p.last,
        step: p.step,
        latest: p.latest,
        archive: p.archive,
        slots,
        reads: Cell::new(0),
    })
}

fn fetch_inner(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: Option<Interval>,
    points: Option<i32>,
) -> Result<Rows> {
    if let Some(points) = points {
        return downsampled(name, cf, start, stop, resolution, points);
    }
    let (name, r, start, stop) = reader(name, cf, start, stop, resolution)?;
    check_rows(r.rows(), || {
        format!(
            "rrd.fetch of series \"{}\" {} in rows of {} s",
            shown(name),
            range_text(start, stop),
            r.step
        )
    })?;
    let iter = (r.first..=r.last).map(move |g| {
        let v = r.value(g);
        (r.label(g), if v.is_nan() { None } else { Some(v) })
    });
    Ok(TableIterator::new(iter))
}

/// At most `points` rows: the archive that best fits the range cut into
/// `points`, then, if it still has more rows, consecutive rows merged with
/// the requested consolidation (as Grafana's maxDataPoints asks).
fn downsampled(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: Option<Interval>,
    points: i32,
) -> Result<Rows> {
    if points < 1 {
        return Err(RrdError::param(format!(
            "points must be at least 1, got {points}"
        )));
    }
    let (cf_kind, given) = fetch_args(cf, resolution)?;
    let (start_s, stop_s) = range_secs(start, stop)?;
    // The finest resolution that fits the range into `points` rows.
    let span = (stop_s - start_s).max(1);
    let wanted = (span + points as i64 - 1) / points as i64;
    let name = required(name, "series name")?;
    let r = named_reader(name, cf_kind, start_s, stop_s, given.max(wanted))?;
    let k = plan::group_size(r.first, r.last, points as i64);
    check_rows(plan::downsample_len(r.first, r.last, k), || {
        format!(
            "rrd.fetch of series \"{}\" {} with points => {points}",
            shown(name),
            range_text(start_s, stop_s)
        )
    })?;
    let step = r.step;
    // The last group may end after the range: its label must be a time.
    let last_label = plan::group_label(r.last, k).saturating_mul(step);
    timestamptz(last_label.saturating_mul(time::US))?;
    let rows = plan::downsample(r.slots(), k, cf_kind).map(move |(g, v)| {
        let t = timestamptz(g * step * time::US).or_raise();
        (t, if v.is_nan() { None } else { Some(v) })
    });
    Ok(TableIterator::new(rows))
}

/// Most values `rrd.fetch_array` returns in one array.
const MAX_ARRAY_VALUES: i64 = 50_000_000;

/// The rows of `rrd.fetch` as one row: the end time of the first row, the
/// seconds per row, and the values in order (NULL where unknown). One row
/// of arrays travels to a client far faster than as many rows.
#[allow(clippy::type_complexity)] // pgrx reads the SQL signature from the written-out type
#[pg_extern(name = "fetch_array", stable)]
fn fetch_array(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: default!(Option<Interval>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(start, TimestampWithTimeZone),
        name!(step, Interval),
        name!(v, Float8Array),
    ),
> {
    fetch_array_inner(name, cf, start, stop, resolution).or_raise()
}

#[allow(clippy::type_complexity)] // as above
fn fetch_array_inner(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: Option<Interval>,
) -> Result<
    TableIterator<
        'static,
        (
            name!(start, TimestampWithTimeZone),
            name!(step, Interval),
            name!(v, Float8Array),
        ),
    >,
> {
    let (name, r, start, stop) = reader(name, cf, start, stop, resolution)?;
    let count = r.rows();
    if count > MAX_ARRAY_VALUES {
        return Err(RrdError::param(format!(
            "fetch_array returns at most {MAX_ARRAY_VALUES} values, the range has {count}; \
             use rrd.fetch or a coarser resolution"
        )));
    }
    check_rows(count, || {
        format!(
            "rrd.fetch_array of series \"{}\" {}",
            shown(name),
            range_text(start, stop)
        )
    })?;
    let values = Float8Array((r.first..=r.last).map(|g| r.value(g)).collect());
    let step = Interval::from_micros(r.step * time::US);
    let first = r.label(r.first);
    Ok(TableIterator::once((first, step, values)))
}

/// A `double precision[]` of doubles, NaN as NULL. It is built in one
/// allocation, the doubles copied as they are, with a check for a cancel
/// as it fills: an array of tens of millions of values is built in a
/// fraction of the time of one element at a time, and a cancel stops it.
pub struct Float8Array(pub Vec<f64>);

impl IntoDatum for Float8Array {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        let values = self.0;
        let n = values.len();
        // SAFETY: builds a one-dimensional float8 array in memory of its
        // exact size, laid out as PostgreSQL's array.h lays one out: the
        // header, the dimension and lower bound, the null bitmap when some
        // element is NULL, then the known elements, each MAXALIGNed part
        // where array.h aligns it.
        unsafe {
            if n == 0 {
                return Some(pg_sys::Datum::from(pg_sys::construct_empty_array(
                    pg_sys::FLOAT8OID,
                )));
            }
            let nulls = values.iter().filter(|v| v.is_nan()).count();
            let align = |x: usize| x.next_multiple_of(pg_sys::MAXIMUM_ALIGNOF as usize);
            let header = std::mem::size_of::<pg_sys::ArrayType>() + 2 * std::mem::size_of::<i32>();
            let data_at = if nulls > 0 {
                align(header + n.div_ceil(8))
            } else {
                align(header)
            };
            let size = data_at + 8 * (n - nulls);
            let array = pg_sys::palloc0(size).cast::<pg_sys::ArrayType>();
            pgrx::set_varsize_4b(array.cast(), size as i32);
            (*array).ndim = 1;
            (*array).dataoffset = if nulls > 0 { data_at as i32 } else { 0 };
            (*array).elemtype = pg_sys::FLOAT8OID;
            let dims = array.add(1).cast::<i32>();
            *dims = n as i32;
            *dims.add(1) = 1;
            let bitmap = dims.add(2).cast::<u8>();
            let mut data = array.cast::<u8>().add(data_at).cast::<f64>();
            for (i, v) in values.iter().enumerate() {
                interrupts::every(i);
                if v.is_nan() {
                    continue;
                }
                if nulls > 0 {
                    *bitmap.add(i / 8) |= 1 << (i % 8);
                }
                data.write_unaligned(*v);
                data = data.add(1);
            }
            Some(pg_sys::Datum::from(array))
        }
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::FLOAT8ARRAYOID
    }
}

// SAFETY: returns the datum `into_datum` makes, as pgrx returns a `Vec`.
unsafe impl pgrx::callconv::BoxRet for Float8Array {
    unsafe fn box_into<'fcx>(
        self,
        fcinfo: &mut pgrx::callconv::FcInfo<'fcx>,
    ) -> pgrx::datum::Datum<'fcx> {
        match self.into_datum() {
            // SAFETY: a datum of the function's result type.
            Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
            None => fcinfo.return_null(),
        }
    }
}

// SAFETY: the same SQL type as `Vec<Option<f64>>`, which it stands for.
unsafe impl SqlTranslatable for Float8Array {
    const TYPE_IDENT: &'static str = <Vec<Option<f64>> as SqlTranslatable>::TYPE_IDENT;
    const TYPE_ORIGIN: TypeOrigin = <Vec<Option<f64>> as SqlTranslatable>::TYPE_ORIGIN;
    const ARGUMENT_SQL: std::result::Result<SqlMappingRef, ArgumentError> =
        <Vec<Option<f64>> as SqlTranslatable>::ARGUMENT_SQL;
    const RETURN_SQL: std::result::Result<ReturnsRef, ReturnsError> =
        <Vec<Option<f64>> as SqlTranslatable>::RETURN_SQL;
}

type ManyRows = TableIterator<
    'static,
    (
        name!(name, String),
        name!(t, TimestampWithTimeZone),
        name!(v, Option<f64>),
    ),
>;

/// The rows of `rrd.fetch` for each of `names` (sorted), read with one
/// statement for all the series and one for each series' chunk rows, each
/// through a plan made once per backend.
pub fn fetch_names(
    what: &str,
    names: Vec<String>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: Option<Interval>,
) -> Result<ManyRows> {
    let given = resolution.is_some();
    let (cf, resolution) = fetch_args(cf, resolution)?;
    let (start, stop) = range_secs(start, stop)?;
    let readers = Spi::connect_mut(|client| {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut loaded = storage::state::load_many_current(client, &refs)?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some(series) = loaded.remove(&name) {
                out.push((
                    name,
                    series_reader(client, &series, cf, start, stop, resolution)?,
                ));
            }
        }
        Ok::<_, RrdError>(out)
    })?;
    // With a resolution, every series comes back in rows of it, so that
    // series of different steps share their row times: a finer archive
    // whose step divides it is merged row by row, any other is weighed by
    // the seconds its rows share with each row of the resolution.
    let shaped: Vec<(String, Reader, Shape)> = readers
        .into_iter()
        .map(|(name, r)| {
            let shape = if !given || resolution == r.step {
                Shape::Plain
            } else if resolution > r.step && resolution % r.step == 0 {
                Shape::Merged(resolution / r.step)
            } else {
                Shape::Resampled(plan::resample_rows(
                    r.first, r.last, r.step, resolution, start, stop,
                ))
            };
            (name, r, shape)
        })
        .collect();
    let mut total = 0i64;
    for (_, r, shape) in &shaped {
        let (rows, last_end) = match *shape {
            Shape::Plain => (r.rows(), r.last * r.step),
            Shape::Merged(k) => (
                plan::downsample_len(r.first, r.last, k),
                plan::group_label(r.last, k).saturating_mul(r.step),
            ),
            Shape::Resampled((lo, hi)) => ((hi - lo + 1).max(0), hi.saturating_mul(resolution)),
        };
        total = total.saturating_add(rows);
        if rows > 0 {
            timestamptz(last_end.saturating_mul(time::US))?;
        }
    }
    check_rows(total, || {
        format!(
            "{what} of {} series {}{}",
            shaped.len(),
            range_text(start, stop),
            if given {
                format!(" in rows of {resolution} s")
            } else {
                String::new()
            }
        )
    })?;
    let rows = shaped.into_iter().flat_map(move |(name, r, shape)| {
        let step = r.step;
        let ends: Box<dyn Iterator<Item = (i64, f64)>> = match shape {
            Shape::Plain => Box::new((r.first..=r.last).map(move |g| (g * step, r.value(g)))),
            Shape::Merged(k) => {
                Box::new(plan::downsample(r.slots(), k, cf).map(move |(g, v)| (g * step, v)))
            }
            Shape::Resampled(rows) => Box::new(
                plan::resample(r.slots(), step, resolution, cf, rows)
                    .map(move |(j, v)| (j * resolution, v)),
            ),
        };
        ends.map(move |(end, v)| {
            (
                name.clone(),
                timestamptz(end * time::US).or_raise(),
                if v.is_nan() { None } else { Some(v) },
            )
        })
    });
    Ok(TableIterator::new(rows))
}

/// How a many-series read brings one series to the rows asked for.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// The archive's own rows.
    Plain,
    /// Groups of this many rows.
    Merged(i64),
    /// Rows of the resolution weighed from overlapping rows: these output rows.
    Resampled((i64, i64)),
}

/// Rows of consolidation `cf` from `start` to `stop`, each part of the
/// range from the finest archive that still holds it, with each row's
/// length: recent rows at the finest step, older ones coarser.
#[allow(clippy::type_complexity)] // pgrx reads the SQL signature from the written-out type
#[pg_extern(stable)]
fn fetch_stitched(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
) -> TableIterator<
    'static,
    (
        name!(t, TimestampWithTimeZone),
        name!(v, Option<f64>),
        name!(step, Interval),
    ),
> {
    stitched_inner(name, cf, start, stop)
        .map(TableIterator::new)
        .or_raise()
}

fn stitched_inner(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
) -> Result<impl Iterator<Item = (TimestampWithTimeZone, Option<f64>, Interval)>> {
    let name = required(name, "series name")?;
    let (cf, _) = fetch_args(cf, None)?;
    let (start, stop) = range_secs(start, stop)?;
    let parts = Spi::connect_mut(|client| {
        let series = storage::state::load_current(client, name)?;
        let last = time::floor_secs(series.state.last_up);
        plan::stitch(&series.def, last, cf, start, stop)?
            .into_iter()
            .map(|seg| {
                let slots =
                    storage::chunk::read_slots(client, &series, seg.archive, seg.first, seg.last);
                Ok((seg, slots))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let rows: i64 = parts.iter().map(|(seg, _)| seg.last - seg.first + 1).sum();
    check_rows(rows, || {
        format!(
            "rrd.fetch_stitched of series \"{}\" {}",
            shown(name),
            range_text(start, stop)
        )
    })?;
    if let Some((seg, _)) = parts.last() {
        timestamptz(seg.last.saturating_mul(seg.step).saturating_mul(time::US))?;
    }
    let reads = Cell::new(0);
    Ok(parts.into_iter().flat_map(move |(seg, slots)| {
        let step = Interval::from_micros(seg.step * time::US);
        let reads = reads.clone();
        (seg.first..=seg.last).map(move |g| {
            interrupts::tick(&reads);
            let v = slots.value(g);
            let t = timestamptz(g * seg.step * time::US).or_raise();
            (t, Some(v).filter(|v| !v.is_nan()), step)
        })
    }))
}

#[cfg(feature = "pg_test")]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn fetch_values(sql: &str) -> Vec<(i64, Option<f64>)> {
        Spi::connect(|client| {
            client
                .select(sql, None, &[])
                .unwrap()
                .map(|r| (r.get::<i64>(1).unwrap().unwrap(), r.get::<f64>(2).unwrap()))
                .collect()
        })
    }

    /// docs/semantics.md, vector A, through SQL.
    #[pg_test]
    fn vector_a_through_sql() {
        Spi::run(
            "SELECT rrd.create('t.a', '--step 10 DS:g:GAUGE:20:U:U RRA:AVERAGE:0.5:1:20 RRA:LAST:0.5:3:10', \
             to_timestamp(1000000000))",
        )
        .unwrap();
        for (dt, v) in [
            (5, "10"),
            (12, "20"),
            (30, "30"),
            (34, "NULL"),
            (40, "40"),
            (75, "50"),
            (80, "60"),
            (95, "70"),
        ] {
            Spi::run(&format!(
                "SELECT rrd.update('t.a', to_timestamp({}), {v}::float8)",
                1_000_000_000 + dt
            ))
            .unwrap();
        }
        let rows = fetch_values(
            "SELECT extract(epoch FROM t)::bigint - 1000000000, v FROM rrd.fetch('t.a', 'AVERAGE', \
             to_timestamp(1000000000), to_timestamp(1000000100), interval '10 s')",
        );
        let want = [
            (10, Some(15.0)),
            (20, Some(28.0)),
            (30, Some(30.0)),
            (40, Some(40.0)),
            (50, None),
            (60, None),
            (70, None),
            (80, Some(60.0)),
            (90, Some(70.0)),
            (100, None),
            (110, None),
        ];
        assert_eq!(rows, want);
        let last = fetch_values(
            "SELECT extract(epoch FROM t)::bigint - 1000000000, v FROM rrd.fetch('t.a', 'LAST', \
             to_timestamp(999999990), to_timestamp(1000000050), interval '30 s')",
        );
        assert_eq!(last, [(20, Some(28.0)), (50, None), (80, None)]);
    }

    #[pg_test]
    #[should_panic = "unknown consolidation function \"MEDIAN\""]
    fn bad_cf() {
        Spi::run("SELECT rrd.create('t.b', '--step 10 DS:g:GAUGE:20:U:U RRA:AVERAGE:0.5:1:20')")
            .unwrap();
        Spi::run("SELECT * FROM rrd.fetch('t.b', 'MEDIAN', now() - interval '1 hour', now())")
            .unwrap();
    }
}
