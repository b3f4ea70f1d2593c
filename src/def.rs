//! The definition of one series (the `rrd` type's content): base step, one
//! data source and its archives. Parsing and printing of RRDtool's create
//! syntax live here; no pgrx.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::{RrdError, Result};

/// Largest number of ring slots one series may hold over all its archives.
pub const MAX_TOTAL_SLOTS: u64 = 100_000_000;

/// How a data source turns inputs into rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DsKind {
    Gauge,
    Counter,
    Derive,
    Absolute,
    DCounter,
    DDerive,
}

/// Consolidation function of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cf {
    Average,
    Min,
    Max,
    Last,
}

/// The one data source of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSource {
    pub name: String,
    pub kind: DsKind,
    /// Seconds.
    pub heartbeat: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// One round-robin archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Archive {
    pub cf: Cf,
    pub xff: f64,
    /// Base steps (PDPs) per row.
    pub steps: u64,
    pub rows: u64,
}

/// A whole series definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// Base step in seconds.
    pub step: u64,
    pub ds: DataSource,
    pub archives: Vec<Archive>,
}

/// Parses RRDtool create syntax.
pub fn parse(_text: &str) -> Result<Definition> {
    Err(RrdError::syntax("not yet implemented"))
}

impl FromStr for Definition {
    type Err = RrdError;
    fn from_str(s: &str) -> Result<Self> {
        parse(s)
    }
}

impl fmt::Display for Definition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--step {}", self.step)
    }
}
