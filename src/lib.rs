//! pg_rrd: round-robin time series in PostgreSQL with RRDtool's semantics.
//!
//! The pure core (no pgrx): `error`, `def`, `engine`, `ring`, `plan`.
//! The SQL glue, one module per SQL concept: `rrd_type`, `series`,
//! `update`, `fetch`, with table access in `storage` and the mapping of
//! errors to SQLSTATEs in `errors`.

pub mod def;
pub mod engine;
pub mod error;
pub mod plan;
pub mod ring;
pub mod time;

mod errors;
mod fetch;
mod rrd_type;
mod series;
mod storage;
mod update;

::pgrx::pg_module_magic!();

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
