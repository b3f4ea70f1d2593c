//! Checks of SQL arguments that several functions share: required
//! arguments, times, and the labels (`meta`, `tags`) of a series.

use pgrx::prelude::*;
use pgrx::JsonB;

use rrd_core::error::{shown, Result, RrdError, MAX_NAME_BYTES};
use rrd_core::time;

/// Unwraps a required SQL argument.
pub fn required<T>(v: Option<T>, what: &str) -> Result<T> {
    v.ok_or_else(|| RrdError::Null {
        what: what.to_string(),
    })
}

/// Unix microseconds of a finite timestamptz argument.
pub fn unix_us(t: TimestampWithTimeZone, what: &str) -> Result<i64> {
    unix_us_of(t, || what.to_string())
}

/// [`unix_us`], with the argument's name made only for an error (for the
/// elements of long arrays).
pub fn unix_us_of(t: TimestampWithTimeZone, what: impl FnOnce() -> String) -> Result<i64> {
    if !t.is_finite() {
        return Err(RrdError::TimeRange {
            msg: format!("{} must be finite", what()),
        });
    }
    time::from_pg(t.into_inner()).ok_or_else(|| RrdError::TimeRange {
        msg: format!(
            "{} is out of range: pg_rrd reads times up to {} and takes updates up to {}",
            what(),
            time::format(i64::MAX),
            time::format(time::MAX_US)
        ),
    })
}

/// A timestamptz from Unix microseconds.
pub fn timestamptz(unix_us: i64) -> Result<TimestampWithTimeZone> {
    TimestampWithTimeZone::try_from(time::to_pg(unix_us)).map_err(|_| RrdError::TimeRange {
        msg: format!("time {} is out of range", time::format(unix_us)),
    })
}

/// Checks that `tags` is an object of string values.
pub fn check_tags(tags: &serde_json::Value) -> Result<()> {
    let obj = tags.as_object().ok_or_else(|| {
        RrdError::param(format!("tags must be a JSON object of strings, got {tags}"))
    })?;
    if let Some((k, v)) = obj.iter().find(|(_, v)| !v.is_string()) {
        return Err(RrdError::param(format!(
            "tag \"{k}\" must have a string value, got {v}"
        )));
    }
    Ok(())
}

/// Checks that `meta` is a JSON object.
pub fn check_meta(meta: &serde_json::Value) -> Result<()> {
    if !meta.is_object() {
        return Err(RrdError::param(format!(
            "meta must be a JSON object, got {meta}"
        )));
    }
    Ok(())
}

/// Checks `meta` and `tags` as given to `rrd.create`.
pub fn check_labels(meta: Option<&JsonB>, tags: Option<&JsonB>) -> Result<()> {
    if let Some(m) = meta {
        check_meta(&m.0)?;
    }
    if let Some(t) = tags {
        check_tags(&t.0)?;
    }
    Ok(())
}

/// `name` if a series may take it: not empty, and at most
/// [`MAX_NAME_BYTES`] long, so that a huge name is refused before it
/// reaches an index.
pub fn new_name<'a>(name: &'a str, what: &str) -> Result<&'a str> {
    if name.is_empty() {
        return Err(RrdError::param(format!("{what} must not be empty")));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(RrdError::Limit {
            msg: format!(
                "{what} \"{}\" is {} bytes long, more than the limit of {MAX_NAME_BYTES}",
                shown(name),
                name.len()
            ),
            hint: None,
        });
    }
    Ok(name)
}
