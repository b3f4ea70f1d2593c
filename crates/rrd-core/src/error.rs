//! The one error type of the pure core. Each variant is mapped to a SQLSTATE
//! in exactly one place, the extension's `sqlstate.rs`.

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
    #[error("illegal attempt to update series \"{}\" at {time} when its last update was at {last} (time must increase)", shown(series))]
    OutOfOrder {
        /// The series name.
        series: String,
        /// The rejected time, as text.
        time: String,
        /// The series' last update time, as text.
        last: String,
        /// The series' lateness window in seconds (0: none), for the hint.
        window: u64,
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
    #[error("series \"{}\" does not exist", shown(name))]
    UnknownSeries {
        /// The name asked for.
        name: String,
    },
    /// A series of that name exists already (42710).
    #[error("series \"{}\" already exists", shown(name))]
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
    /// A request beyond one of pg_rrd's limits: rows a fetch would return,
    /// the length of a name (54000).
    #[error("{msg}")]
    Limit {
        /// What is too large, and by how much.
        msg: String,
        /// How to stay within the limit.
        hint: Option<&'static str>,
    },
    /// A file to import that is not what it claims to be: XML that is not
    /// an `rrdtool dump` (2200N), `.wsp` bytes that are not a Whisper file
    /// (22P03). `msg` names the bad part and, where known, its position.
    #[error("invalid {format}: {msg}")]
    BadFile {
        /// What the bytes were read as.
        format: FileFormat,
        /// What is wrong.
        msg: String,
    },
    /// Something a file holds that pg_rrd does not do, such as a
    /// Holt-Winters archive or Whisper's `sum` aggregation (0A000).
    #[error("{msg}")]
    Unsupported {
        /// What it is, naming the part of the file.
        msg: String,
    },
    /// Stored bytes that do not decode (XX001).
    #[error("corrupt stored data: {msg}")]
    Corrupt {
        /// What could not be decoded.
        msg: String,
    },
}

/// Formats of files pg_rrd imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `rrdtool dump` XML.
    RrdtoolDump,
    /// A Whisper `.wsp` file.
    Whisper,
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileFormat::RrdtoolDump => "rrdtool dump",
            FileFormat::Whisper => "whisper file",
        })
    }
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

/// Longest series name, in bytes.
pub const MAX_NAME_BYTES: usize = 8192;

/// Most characters of a user's text that a message quotes.
pub const SHOWN_CHARS: usize = 200;

/// `text` as a message quotes it: whole when short, else its first
/// [`SHOWN_CHARS`] characters and how many bytes were left out.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    at_most(text, SHOWN_CHARS)
}

/// `text` whole when it has at most `chars` characters, else its first
/// `chars` characters and how many bytes were left out.
pub fn at_most(text: &str, chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(chars) {
        None => text.into(),
        Some((end, _)) => format!("{}... ({} more bytes)", &text[..end], text.len() - end).into(),
    }
}

/// Result of the pure core.
pub type Result<T> = std::result::Result<T, RrdError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_shown_by_its_prefix() {
        assert_eq!(shown("web01.cpu"), "web01.cpu");
        let long = "é".repeat(SHOWN_CHARS + 50);
        let s = shown(&long);
        assert!(s.starts_with(&"é".repeat(SHOWN_CHARS)));
        assert!(s.ends_with("... (100 more bytes)"), "{s}");
        let e = RrdError::UnknownSeries {
            name: "x".repeat(10 << 20),
        };
        assert!(e.to_string().len() < 300);
    }
}
