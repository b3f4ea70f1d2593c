//! pg_rrd: round-robin time series in PostgreSQL with RRDtool's semantics.
//!
//! The rules live in the pure crate `rrd_core` (`crates/rrd-core`); this
//! crate is the SQL glue (see `docs/architecture.md`):
//! - one module per SQL concept, each matching its page in `docs/`:
//!   `rrd_type`, `series`, `update`, `ingest`, `fetch`, `catalog`, `tune`;
//! - `schema` loads the tables; `storage` is the one door to them;
//! - `args` (argument checks shared by several functions), `guc` (the
//!   settings), `sqlstate` (errors to SQLSTATEs), `interrupts` (letting a
//!   cancel into long loops).

mod args;
mod catalog;
mod fetch;
mod guc;
mod ingest;
mod interrupts;
mod rrd_type;
mod schema;
mod series;
mod sqlstate;
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
