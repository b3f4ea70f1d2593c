//! pg_rrd: round-robin time series in PostgreSQL with RRDtool's semantics.
//!
//! The rules live in the pure crate `rrd_core` (`crates/rrd-core`); this
//! crate is the SQL glue (see `docs/architecture.md`):
//! - one module per SQL concept, each matching its page in `docs/`:
//!   `rrd_type`, `series`, `update`, `ingest`, `journal`, `flush`, `fetch`,
//!   `catalog`, `tune`, `import`; `worker` is the background worker that
//!   folds, `listener` the one that takes Graphite's lines;
//! - `schema` loads the tables; `storage` is the one door to them;
//! - `args` (argument checks shared by several functions), `guc` (the
//!   settings), `sqlstate` (errors to SQLSTATEs), `interrupts` (letting a
//!   cancel into long loops).

mod aggregate;
mod args;
mod catalog;
mod explain;
mod fetch;
mod flush;
mod graph;
mod guc;
mod import;
mod ingest;
mod interrupts;
mod journal;
mod listener;
mod privileges;
mod rrd_type;
mod schema;
mod series;
mod sqlstate;
mod storage;
mod tune;
mod update;
mod verify;
mod worker;

::pgrx::pg_module_magic!();

/// Called once when the library is loaded: defines the settings.
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guc::init();
    worker::register();
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
