//! The one error type of the pure core. Each variant is mapped to a SQLSTATE
//! in exactly one place, `errors.rs`, at the pgrx boundary.

use thiserror::Error;

/// Everything a user (or a corrupt row) can make pg_rrd refuse.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RrdError {
    /// The text of a definition could not be read (22P02).
    #[error("invalid rrd definition: {msg}")]
    Syntax {
        /// What is wrong, naming the bad token.
        msg: String,
    },
    /// A parameter has a value out of its allowed range (22023).
    #[error("{msg}")]
    BadParameter {
        /// What is wrong, naming the parameter.
        msg: String,
    },
    /// An update's time is not after the series' last update (22008).
    #[error("illegal attempt to update series \"{series}\" at {time} when its last update was at {last} (time must increase)")]
    OutOfOrder {
        /// The series name.
        series: String,
        /// The rejected time, as text.
        time: String,
        /// The series' last update time, as text.
        last: String,
    },
    /// A time outside the range pg_rrd can store or fetch (22008).
    #[error("{msg}")]
    TimeRange {
        /// What is wrong.
        msg: String,
    },
    /// An input value the data source kind cannot take (22P02), e.g. a
    /// fractional value for a COUNTER.
    #[error("{msg}")]
    BadValue {
        /// What is wrong, naming the value.
        msg: String,
    },
    /// No series of that name (42704).
    #[error("series \"{name}\" does not exist")]
    UnknownSeries {
        /// The name asked for.
        name: String,
    },
    /// A series of that name exists already (42710).
    #[error("series \"{name}\" already exists")]
    SeriesExists {
        /// The name asked for.
        name: String,
    },
    /// A required argument was NULL (22004).
    #[error("{what} must not be NULL")]
    Null {
        /// The argument.
        what: String,
    },
    /// A point of a batch was refused; the SQLSTATE is that of `source`.
    #[error("point {pos} of the batch: {source}")]
    InBatch {
        /// 1-based position of the point in the batch.
        pos: u64,
        /// Why it was refused.
        source: Box<RrdError>,
    },
    /// Stored bytes that do not decode (XX001).
    #[error("corrupt stored data: {msg}")]
    Corrupt {
        /// What could not be decoded.
        msg: String,
    },
}

impl RrdError {
    /// Shorthand for a definition syntax error.
    pub fn syntax(msg: impl Into<String>) -> Self {
        RrdError::Syntax { msg: msg.into() }
    }
    /// Shorthand for a bad parameter.
    pub fn param(msg: impl Into<String>) -> Self {
        RrdError::BadParameter { msg: msg.into() }
    }
    /// Shorthand for a bad input value.
    pub fn value(msg: impl Into<String>) -> Self {
        RrdError::BadValue { msg: msg.into() }
    }
}

/// Result of the pure core.
pub type Result<T> = std::result::Result<T, RrdError>;
