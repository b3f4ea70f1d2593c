//! RRDtool's rules without a database, the lower floor of pg_rrd.
//!
//! Everything here is plain Rust: no pgrx, no PostgreSQL, no `unsafe`.
//! The extension (`src/` of the repository) turns SQL arguments into these
//! types, stores what they compute and maps [`error::RrdError`] to
//! SQLSTATEs. `docs/semantics.md` states the rules; `docs/architecture.md`
//! shows where each part sits.
//!
//! - [`def`]: definitions in RRDtool's create syntax, and their stored form.
//! - [`engine`]: one update: rates, primary and consolidated data points.
//! - [`batch`]: many updates of many series, gathered per chunk row.
//! - [`ring`]: ring positions, chunk rows and holes.
//! - [`plan`]: which archive and rows a fetch returns; downsampling,
//!   resampling and stitched reads.
//! - [`alter`]: tune, resize, add and drop archives.
//! - [`glob`]: Graphite name patterns.
//! - [`stats`]: aggregates over a range of slots, from the chunk rows.
//! - [`graph`]: SVG graphs of series, as `rrdtool graph` draws them, and
//!   text sparklines.
//! - [`journal`]: lanes, tips and the journal's rows: writes checked
//!   without the engine, folded later.
//! - [`explain`]: why a fetched slot is unknown, from the unknown spans
//!   recorded as the updates ran.
//! - [`verify`]: what `rrd.verify` checks of stored rows.
//! - [`time`]: epochs, the range of times a series stores, message times.
//! - [`whisper`]: Whisper `.wsp` files read into a series to import.
//! - [`error`]: the one error type.
#![forbid(unsafe_code)]

pub mod alter;
pub mod batch;
pub mod def;
pub mod engine;
pub mod error;
pub mod explain;
pub mod glob;
pub mod graph;
pub mod import;
pub mod journal;
pub mod line;
pub mod plan;
pub mod ring;
pub mod rrdxml;
pub mod stats;
pub mod time;
pub mod verify;
pub mod whisper;

/// Deterministic generators for the property tests, here and in the
/// extension's `#[pg_test]`s.
#[doc(hidden)]
pub mod testrng;
