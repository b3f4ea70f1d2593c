//! The one door to pg_rrd's tables: every statement pg_rrd runs is in
//! this module's files, and runs through [`run`], planned once per backend
//! under a pinned `search_path`. Split by what the statements touch:
//! [`series`] the rows of `rrd.series`, [`state`] the state rows and their
//! loading, [`chunk`] the chunk rows that hold the rings.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::{self, PgOid};
use pgrx::spi::{OwnedPreparedStatement, Query, SpiClient, SpiTupleTable};

use rrd_core::def::Definition;
use rrd_core::error::{Result, RrdError};

use crate::sqlstate::spi;

pub mod buffer;
pub mod chunk;
pub mod explain;
pub mod journal;
pub mod listener;
pub mod names;
pub mod series;
pub mod state;
pub mod verify;

pub use series::Label;
pub use state::Series;

/// A decoded definition and the stored bytes it came from.
type CachedDef = (Vec<u8>, Rc<Definition>);

thread_local! {
    /// Plans of the statements run on every call, prepared once per backend,
    /// by text and by whether they run as writing statements: the two run
    /// with different snapshots (a read must see what the statement that
    /// calls it sees, so that the journal and the rows it applies to agree).
    static PLANS: RefCell<HashMap<(&'static str, bool), Rc<OwnedPreparedStatement>>> =
        RefCell::new(HashMap::new());
    /// Decoded definitions by series id, with the stored bytes they came
    /// from: a definition is compared, not decoded, on every call.
    static DEFS: RefCell<HashMap<i64, CachedDef>> = RefCell::new(HashMap::new());
}

/// Most definitions kept decoded per backend.
const DEF_CACHE_MAX: usize = 200_000;

/// Runs `sql` through a plan kept for the life of the backend. `types` are
/// the parameters' type OIDs. `mutating` for the statements of a writing
/// call, reads included: they must see what earlier calls of the same
/// statement wrote, which a read-only SPI call does not.
pub(crate) fn run<'c>(
    client: &SpiClient<'c>,
    sql: &'static str,
    types: &[pg_sys::Oid],
    args: &[DatumWithOid<'_>],
    mutating: bool,
) -> SpiTupleTable<'c> {
    pinned(|| {
        // The plan is taken out of the cache before it runs: a trigger on
        // our tables may call back into pg_rrd.
        let cached = PLANS.with(|plans| plans.borrow().get(&(sql, mutating)).cloned());
        let plan = match cached {
            Some(plan) => plan,
            None => {
                let oids: Vec<PgOid> = types.iter().map(|&o| PgOid::from(o)).collect();
                let prepared = if mutating {
                    client.prepare_mut(sql, &oids)
                } else {
                    client.prepare(sql, &oids)
                };
                let plan = Rc::new(spi(prepared).keep());
                PLANS.with(|plans| plans.borrow_mut().insert((sql, mutating), Rc::clone(&plan)));
                plan
            }
        };
        spi((&*plan).execute(client, None, args))
    })
}

/// Runs `f` with the settings every statement of pg_rrd is planned and
/// run under:
/// - `search_path = pg_catalog, pg_temp`, so that no function or operator
///   a user created in a schema on the caller's path is ever chosen by
///   pg_rrd's own statements (which also name what they call from
///   pg_catalog), whatever the caller's path and privileges;
/// - `plan_cache_mode = force_generic_plan`: the statements take arrays,
///   whose length a generic plan cannot see; left to choose, the plan
///   cache would keep planning a custom plan on every call, which cost a
///   single update about 300 microseconds.
fn pinned<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: the GUC nest level is closed below; on error, transaction
    // abort unwinds it as it does for a function's SET clause.
    unsafe {
        let level = pg_sys::NewGUCNestLevel();
        for (name, value) in [
            (c"search_path", c"pg_catalog, pg_temp"),
            (c"plan_cache_mode", c"force_generic_plan"),
        ] {
            pg_sys::set_config_option(
                name.as_ptr(),
                value.as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                0,
                false,
            );
        }
        let out = f();
        pg_sys::AtEOXact_GUC(true, level);
        out
    }
}

/// The definition stored as `bytes` for series `id`, decoded once.
fn definition(id: i64, bytes: &[u8]) -> Result<Rc<Definition>> {
    DEFS.with(|defs| {
        let mut defs = defs.borrow_mut();
        if let Some((b, d)) = defs.get(&id) {
            if b.as_slice() == bytes {
                return Ok(Rc::clone(d));
            }
        }
        let def = Definition::from_stored(bytes).map_err(|e| match e {
            RrdError::Corrupt { msg } => RrdError::Corrupt {
                msg: format!("series {id}: {msg}"),
            },
            other => other,
        })?;
        if defs.len() >= DEF_CACHE_MAX {
            defs.clear();
        }
        let def = Rc::new(def);
        defs.insert(id, (bytes.to_vec(), Rc::clone(&def)));
        Ok(def)
    })
}

/// Whether pg_rrd is installed in this database.
pub fn extension_installed(client: &SpiClient<'_>) -> bool {
    pinned(|| {
        client
            .select(
                "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_rrd'",
                None,
                &[],
            )
            .map(|t| !t.is_empty())
            .unwrap_or(false)
    })
}

/// Whether the catalog has what `probe` (a query of one boolean) asks
/// after, for the objects 0.2.0 adds that a 0.1.0 catalog, which the new
/// library serves until `ALTER EXTENSION pg_rrd UPDATE`, lacks. Once seen,
/// `seen` keeps the answer for the life of the backend.
pub(crate) fn catalog_has(
    client: &SpiClient<'_>,
    seen: &'static std::thread::LocalKey<std::cell::Cell<bool>>,
    probe: &'static str,
) -> bool {
    if seen.get() {
        return true;
    }
    let found = run(client, probe, &[], &[], false)
        .next()
        .and_then(|row| crate::sqlstate::spi(row.get::<bool>(1)))
        .unwrap_or(false);
    seen.set(found);
    found
}
