//! The update engine: RRDtool 1.7.2's PDP and CDP consolidation, in plain
//! Rust. It turns one input `(t, value)` into new state and runs of ring
//! slots to write; it knows nothing of storage.

use serde::{Deserialize, Serialize};

use crate::def::Definition;
use crate::error::Result;

/// Per-archive consolidation accumulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdpState {
    /// Accumulator (sum for AVERAGE, running min/max, last for LAST); NaN if none.
    pub val: f64,
    /// Unknown PDPs in the open CDP.
    pub unknown_pdps: u64,
}

/// The small per-series state that changes on every update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Last update time, microseconds since the Unix epoch.
    pub last_up: i64,
    /// Raw text of the last input; `None` is RRDtool's "U".
    pub last_ds: Option<String>,
    /// PDP accumulator (rate x seconds); NaN if none.
    pub pdp_val: f64,
    /// Unknown seconds in the open PDP.
    pub pdp_unknown_sec: u64,
    /// One per archive, in definition order.
    pub cdp: Vec<CdpState>,
}

/// Consecutive ring slots of one archive that all receive `value`.
/// A slot is named by its index `g = slot_end_seconds / (step * steps)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub archive: usize,
    pub first_slot: i64,
    pub count: u64,
    pub value: f64,
}
