//! pg_rrd's settings, each defined once here when the library loads.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// `pg_rrd.skip_bad_points`: leave out the points of an `rrd.points`
/// statement that the series refuse, instead of failing the statement.
pub static SKIP_BAD_POINTS: GucSetting<bool> = GucSetting::<bool>::new(false);

/// `pg_rrd.max_fetch_rows`: the most rows one read returns.
pub static MAX_FETCH_ROWS: GucSetting<i32> = GucSetting::<i32>::new(50_000_000);

/// Registers the settings; called once when the library is loaded.
pub fn init() {
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
