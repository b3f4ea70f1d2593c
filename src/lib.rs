//! pg_rrd: round-robin time series in PostgreSQL with RRDtool's semantics.
//!
//! The pure core (no pgrx): `error`, `def`, `engine`, `ring`, `batch`, `plan`, `alter`,
//! `glob`.
//! The SQL glue, one module per SQL concept: `rrd_type`, `series`,
//! `update`, `points`, `fetch`, `catalog`, `tune`, with table access in `storage` and the mapping of
//! errors to SQLSTATEs in `errors`, and the settings in `guc`.

pub mod alter;
pub mod batch;
pub mod def;
pub mod engine;
pub mod error;
pub mod glob;
pub mod plan;
pub mod ring;
#[cfg(any(test, feature = "pg_test"))]
pub mod testrng;
pub mod time;

mod catalog;
mod errors;
mod fetch;
mod guc;
mod points;
mod rrd_type;
mod series;
mod storage;
mod tune;
mod update;

::pgrx::pg_module_magic!();

/// Called once when the library is loaded: defines the settings.
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guc::init();
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
