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

/// Largest jsonb that pg_rrd takes as meta or tags, in bytes of its stored
/// form: far more than labels need, and little enough to read at once.
pub const MAX_LABEL_BYTES: usize = 1 << 20;

/// A jsonb argument, read as JSON only once its size is checked. pgrx's
/// `JsonB` converts in the call's wrapper, where a value nested deeper
/// than serde_json reads fails with XX000 and a huge one takes seconds that
/// no cancel interrupts; here both are refused with a message.
pub struct Json(std::result::Result<String, usize>);

impl FromDatum for Json {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Json> {
        if is_null {
            return None;
        }
        // SAFETY: PostgreSQL passes a jsonb varlena, detoasted before its
        // size is read; jsonb_out gives a palloc'd C string, copied and freed.
        unsafe {
            let detoasted = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
            let size = pgrx::varlena::varsize_any_exhdr(detoasted);
            if size > MAX_LABEL_BYTES {
                return Some(Json(Err(size)));
            }
            let text = pgrx::direct_function_call::<&std::ffi::CStr>(
                pg_sys::jsonb_out,
                &[Some(detoasted.into())],
            )?;
            let owned = text.to_string_lossy().into_owned();
            pg_sys::pfree(text.as_ptr() as *mut std::ffi::c_void);
            Some(Json(Ok(owned)))
        }
    }
}

// SAFETY: as pgrx's own types read through FromDatum.
unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for Json {
    unsafe fn unbox_arg_unchecked(arg: pgrx::callconv::Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    unsafe fn unbox_nullable_arg(
        arg: pgrx::callconv::Arg<'_, 'fcx>,
    ) -> pgrx::nullable::Nullable<Self> {
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}

mod translatable {
    // The macro names its crate's `Result`, which the module above
    // shadows with the core's.
    pgrx::impl_sql_translatable!(super::Json, arg_only = "jsonb");
}

impl Json {
    /// The value, for argument `what`; `Limit` (54000) when it is larger
    /// than [`MAX_LABEL_BYTES`] or nested deeper than serde_json reads.
    pub fn value(self, what: &str) -> Result<JsonB> {
        let text = self.0.map_err(|size| RrdError::Limit {
            msg: format!("{what} is {size} bytes long, more than the limit of {MAX_LABEL_BYTES}"),
            hint: None,
        })?;
        serde_json::from_str(&text)
            .map(JsonB)
            .map_err(|e| RrdError::Limit {
                msg: format!("{what} cannot be read: {e}"),
                hint: Some("pg_rrd reads JSON nested at most 128 levels deep."),
            })
    }
}

/// A jsonb argument `what`, read (see [`Json::value`]).
pub fn json(v: Option<Json>, what: &str) -> Result<Option<JsonB>> {
    v.map(|j| j.value(what)).transpose()
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

/// An interval of whole seconds, at least `least` (0 or 1), as the setting
/// `what` takes it; a fraction or less is refused, naming the setting.
pub fn whole_secs(iv: Interval, what: &str, least: u64) -> Result<u64> {
    let us = iv.as_micros();
    if us < least as i128 * time::US as i128 || us % time::US as i128 != 0 {
        let bound = if least == 0 {
            "0 or more"
        } else {
            "at least 1"
        };
        return Err(RrdError::param(format!(
            "{what} must be a whole number of seconds, {bound}, got {us} microseconds"
        )));
    }
    Ok(u64::try_from(us / time::US as i128).unwrap_or(u64::MAX))
}

/// A lateness window given as an interval (docs/late.md): whole seconds,
/// 0 or more (0: none).
pub fn lateness_secs(iv: Interval) -> Result<u64> {
    whole_secs(iv, "lateness", 0)
}
