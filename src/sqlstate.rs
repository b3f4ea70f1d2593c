//! The one place where the pure core's errors become PostgreSQL errors,
//! each with its SQLSTATE.

use std::borrow::Cow;

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

use rrd_core::error::{at_most, FileFormat, RrdError};

/// SQLSTATE of each error kind.
fn code(e: &RrdError) -> PgSqlErrorCode {
    use PgSqlErrorCode::*;
    match e {
        RrdError::Syntax { .. } => ERRCODE_INVALID_TEXT_REPRESENTATION,
        RrdError::BadParameter { .. } => ERRCODE_INVALID_PARAMETER_VALUE,
        RrdError::OutOfOrder { .. } => ERRCODE_DATETIME_FIELD_OVERFLOW,
        RrdError::TimeRange { .. } => ERRCODE_DATETIME_FIELD_OVERFLOW,
        RrdError::BadValue { .. } => ERRCODE_INVALID_TEXT_REPRESENTATION,
        RrdError::UnknownSeries { .. } => ERRCODE_UNDEFINED_OBJECT,
        RrdError::SeriesExists { .. } => ERRCODE_DUPLICATE_OBJECT,
        RrdError::Null { .. } => ERRCODE_NULL_VALUE_NOT_ALLOWED,
        RrdError::Limit { .. } => ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        RrdError::Corrupt { .. } => ERRCODE_DATA_CORRUPTED,
        RrdError::BadFile {
            format: FileFormat::RrdtoolDump,
            ..
        } => ERRCODE_INVALID_XML_CONTENT,
        RrdError::BadFile {
            format: FileFormat::Whisper,
            ..
        } => ERRCODE_INVALID_BINARY_REPRESENTATION,
        RrdError::Unsupported { .. } => ERRCODE_FEATURE_NOT_SUPPORTED,
        RrdError::InBatch { source, .. } => code(source),
    }
}

/// Hint shown with some errors.
fn hint(e: &RrdError) -> Option<Cow<'static, str>> {
    match e {
        RrdError::InBatch { source, .. } => hint(source),
        RrdError::OutOfOrder { window: 0, .. } => {
            Some("Updates of one series must come in increasing time order.".into())
        }
        RrdError::OutOfOrder { window, .. } => Some(
            format!(
                "This series takes a point up to {window} s older than its newest point (its \
                 lateness window), unless it is at the time of a point already taken or at or \
                 before one already consolidated."
            )
            .into(),
        ),
        RrdError::Limit { hint, .. } => hint.map(Cow::Borrowed),
        RrdError::Syntax { .. } => Some(
            "Expected RRDtool create syntax, e.g. '--step 10 DS:load:GAUGE:20:U:U RRA:AVERAGE:0.5:1:8640'."
                .into(),
        ),
        _ => None,
    }
}

/// Longest message raised, in characters: a message that quotes a huge
/// input (a definition's token, a pattern) keeps its start.
const MESSAGE_CHARS: usize = 2000;

/// Raises `e` as an ERROR; never returns.
pub fn raise(e: RrdError) -> ! {
    let msg = e.to_string();
    let msg = at_most(&msg, MESSAGE_CHARS);
    let mut report = ErrorReport::new(code(&e), msg.into_owned(), "pg_rrd");
    if let Some(h) = hint(&e) {
        report = report.set_hint(h);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// `value` or the error raised.
pub trait OrRaise<T> {
    /// Unwraps, raising the error as a PostgreSQL ERROR.
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, RrdError> {
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise(e),
        }
    }
}

/// Raises an internal SPI failure (a bug, not user input).
pub fn spi<T>(r: Result<T, pgrx::spi::SpiError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => pgrx::error!("pg_rrd: internal SPI error: {e}"),
    }
}
