//! The background worker (docs/storage.md): with `pg_rrd` in
//! `shared_preload_libraries` it folds the journal of one database
//! (`pg_rrd.flush_database`) every `pg_rrd.flush_interval` seconds, each
//! group of lanes in a transaction of its own, so that writers seldom
//! fold themselves and a fold holds its lanes only for its own group.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::spi::Spi;

use crate::flush;
use crate::guc;
use crate::storage;

/// Set when the library was preloaded and the worker registered: in the
/// postmaster, and in every backend it starts.
static PRELOADED: AtomicBool = AtomicBool::new(false);

/// Whether the background worker folds the journal of this database.
pub fn running() -> bool {
    PRELOADED.load(Ordering::Relaxed) && guc::flush_database_is_current()
}

/// Registers the worker; called from `_PG_init` while preloading.
pub fn register() {
    // SAFETY: a flag the postmaster sets while it loads preloaded libraries.
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    PRELOADED.store(true, Ordering::Relaxed);
    BackgroundWorkerBuilder::new("pg_rrd flush")
        .set_type("pg_rrd flush")
        .set_function("pg_rrd_flush_main")
        .set_library("pg_rrd")
        .enable_spi_access()
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
    crate::listener::register();
}

/// The worker's life: connect, then fold every interval until told to
/// stop. A change of `pg_rrd.flush_database` ends it, and the postmaster
/// starts it again in the new database.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn pg_rrd_flush_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = guc::flush_database();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    log!(
        "pg_rrd flush: folding the journal of database \"{database}\" every {} s",
        guc::FLUSH_INTERVAL.get()
    );
    while BackgroundWorker::wait_latch(Some(Duration::from_secs(guc::FLUSH_INTERVAL.get() as u64)))
    {
        if BackgroundWorker::sighup_received() {
            // SAFETY: reloads the configuration files, as any backend does on SIGHUP.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            if guc::flush_database() != database {
                log!("pg_rrd flush: pg_rrd.flush_database changed; restarting");
                std::process::exit(1);
            }
        }
        if BackgroundWorker::sigterm_received() {
            break;
        }
        fold_round();
    }
}

/// One round: the lanes with pending points, then each group of them
/// folded and committed on its own.
fn fold_round() {
    let groups = BackgroundWorker::transaction(|| {
        Spi::connect_mut(|client| {
            if !storage::extension_installed(client) {
                return Vec::new();
            }
            flush::pending_groups(client)
        })
    });
    let start = std::time::Instant::now();
    let mut folded = 0;
    for group in &groups {
        if BackgroundWorker::sigterm_received() {
            return;
        }
        folded += BackgroundWorker::transaction(|| {
            Spi::connect_mut(|client| flush::fold(client, group)).unwrap_or_else(|e| {
                crate::sqlstate::raise(e);
            })
        });
    }
    if folded > 0 {
        debug1!(
            "pg_rrd flush: folded {folded} points in {:?}",
            start.elapsed()
        );
    }
}
