//! pg_rrd's settings, each defined once here when the library loads.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// `pg_rrd.skip_bad_points`: leave out the points of an `rrd.points`
/// statement that the series refuse, instead of failing the statement.
pub static SKIP_BAD_POINTS: GucSetting<bool> = GucSetting::<bool>::new(false);

/// `pg_rrd.max_fetch_rows`: the most rows one read returns.
pub static MAX_FETCH_ROWS: GucSetting<i32> = GucSetting::<i32>::new(50_000_000);

/// `pg_rrd.flush_interval`: seconds between the background worker's folds.
pub static FLUSH_INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(900);

/// `pg_rrd.flush_database`: the database whose journal the worker folds.
pub static FLUSH_DATABASE: GucSetting<Option<std::ffi::CString>> =
    GucSetting::<Option<std::ffi::CString>>::new(Some(c"postgres"));

/// `pg_rrd.graphite_listen`: host:port the Graphite listener binds; empty
/// (the default) for none.
pub static GRAPHITE_LISTEN: GucSetting<Option<std::ffi::CString>> =
    GucSetting::<Option<std::ffi::CString>>::new(None);

/// `pg_rrd.graphite_max_connections`: senders the listener serves at once.
pub static GRAPHITE_MAX_CONNECTIONS: GucSetting<i32> = GucSetting::<i32>::new(256);

/// `pg_rrd.graphite_batch`: most lines the listener writes per transaction.
pub static GRAPHITE_BATCH: GucSetting<i32> = GucSetting::<i32>::new(50_000);

/// `pg_rrd.graphite_commit_interval`: most milliseconds a line waits for
/// its batch to be written.
pub static GRAPHITE_COMMIT_INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(1000);

/// The address the Graphite listener binds, "" for none.
pub fn graphite_listen() -> String {
    GRAPHITE_LISTEN
        .get()
        .map(|c| c.to_string_lossy().trim().to_string())
        .unwrap_or_default()
}

/// The database the worker folds.
pub fn flush_database() -> String {
    FLUSH_DATABASE
        .get()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether this backend's database is the one the worker folds.
pub fn flush_database_is_current() -> bool {
    // SAFETY: the database of this backend, known once it is connected.
    let current = unsafe {
        let name = pgrx::pg_sys::get_database_name(pgrx::pg_sys::MyDatabaseId);
        if name.is_null() {
            return false;
        }
        std::ffi::CStr::from_ptr(name)
            .to_string_lossy()
            .into_owned()
    };
    current == flush_database()
}

/// Registers the settings; called once when the library is loaded.
pub fn init() {
    GucRegistry::define_int_guc(
        c"pg_rrd.flush_interval",
        c"Seconds between the background worker's folds of the journal.",
        c"Each fold rewrites the state and chunk rows of the series it folds once, and \
          the first fold after a checkpoint writes their pages whole: folding every few \
          checkpoint cycles keeps that cost low. Needs pg_rrd in shared_preload_libraries.",
        &FLUSH_INTERVAL,
        1,
        86_400,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_string_guc(
        c"pg_rrd.flush_database",
        c"The database whose journal the background worker folds.",
        c"Needs pg_rrd in shared_preload_libraries. A change restarts the worker.",
        &FLUSH_DATABASE,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"pg_rrd.graphite_listen",
        c"host:port on which the Graphite listener takes plaintext lines; empty for none.",
        c"Needs pg_rrd in shared_preload_libraries; turning it on needs a restart, a new \
          address or turning it off a reload. The listener writes to the database named by \
          pg_rrd.flush_database.",
        &GRAPHITE_LISTEN,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_rrd.graphite_max_connections",
        c"Senders the Graphite listener serves at once; more are refused and counted.",
        c"",
        &GRAPHITE_MAX_CONNECTIONS,
        1,
        65_536,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_rrd.graphite_batch",
        c"Most lines the Graphite listener writes in one transaction.",
        c"While a batch is written nothing more is read: senders wait, the listener's \
          memory stays bounded.",
        &GRAPHITE_BATCH,
        1,
        10_000_000,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_rrd.graphite_commit_interval",
        c"Most milliseconds a line the Graphite listener took waits before it is committed.",
        c"",
        &GRAPHITE_COMMIT_INTERVAL,
        1,
        60_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_bool_guc(
        c"pg_rrd.skip_bad_points",
        c"Skip refused points written to rrd.points instead of failing the statement.",
        c"Points with a time not after their series' previous one, or a value the data \
          source kind cannot read, are left out and counted in a NOTICE.",
        &SKIP_BAD_POINTS,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_rrd.max_fetch_rows",
        c"The most rows one call of rrd.fetch, rrd.fetch_many, rrd.fetch_tagged, \
          rrd.fetch_stitched or rrd.fetch_array returns.",
        c"A read whose range would give more rows is refused before it reads anything.",
        &MAX_FETCH_ROWS,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
}
