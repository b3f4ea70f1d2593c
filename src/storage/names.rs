//! Series names resolved to ids and definitions, kept per backend: a
//! collector's statement names thousands of series, and looking them up
//! in `rrd.series` on every statement cost more than writing their points.
//!
//! The cache is PostgreSQL's own scheme for its catalogs. Every change of a
//! name or definition (rename, drop, tune and the other changes of shape,
//! a DELETE or TRUNCATE on `rrd.series`) sends a relation cache
//! invalidation of `rrd.series` with its commit, while it still holds the
//! series' lane; every backend clears its cache when the invalidation
//! reaches it. A writer takes its lanes, then reads the invalidations that
//! arrived: if any did, it resolves its names again.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use rrd_core::def::Definition;
use rrd_core::error::{shown, Result, RrdError};

use super::{definition, run};
use crate::sqlstate::spi;

/// A series as a writer needs it.
#[derive(Debug)]
pub struct Named {
    pub id: i64,
    pub def: Rc<Definition>,
}

/// Most names kept per backend.
const NAMES_MAX: usize = 200_000;

thread_local! {
    static NAMES: RefCell<HashMap<String, Rc<Named>>> = RefCell::new(HashMap::new());
    /// Invalidations of `rrd.series` seen so far.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    static SERIES_OID: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
    static REGISTERED: Cell<bool> = const { Cell::new(false) };
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_relcache(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    let ours = SERIES_OID.with(Cell::get);
    if relid == pg_sys::InvalidOid || relid == ours {
        NAMES.with(|n| n.borrow_mut().clear());
        GENERATION.with(|g| g.set(g.get() + 1));
        SERIES_OID.with(|o| o.set(pg_sys::InvalidOid));
    }
}

/// A name resolved in a transaction or subtransaction that aborts may
/// have come from rows it wrote (a series it created): forgotten.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    if event == pg_sys::XactEvent::XACT_EVENT_ABORT {
        NAMES.with(|n| n.borrow_mut().clear());
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    _my: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        NAMES.with(|n| n.borrow_mut().clear());
    }
}

/// The OID of `rrd.series`, looked up once per invalidation.
fn series_oid() -> pg_sys::Oid {
    if !REGISTERED.with(|r| r.replace(true)) {
        // SAFETY: registered once per backend, for its whole life.
        unsafe {
            pg_sys::CacheRegisterRelcacheCallback(Some(on_relcache), pg_sys::Datum::from(0));
            pg_sys::RegisterXactCallback(Some(on_xact), std::ptr::null_mut());
            pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
        }
    }
    let known = SERIES_OID.with(Cell::get);
    if known != pg_sys::InvalidOid {
        return known;
    }
    // SAFETY: catalog lookups inside a transaction.
    let oid = unsafe {
        let ns = pg_sys::get_namespace_oid(c"rrd".as_ptr(), true);
        if ns == pg_sys::InvalidOid {
            return ns;
        }
        pg_sys::get_relname_relid(c"series".as_ptr(), ns)
    };
    SERIES_OID.with(|o| o.set(oid));
    oid
}

/// The invalidations seen so far, for [`changed_since`].
pub fn generation() -> u64 {
    series_oid();
    GENERATION.with(Cell::get)
}

/// Reads the invalidations that have arrived and tells whether any
/// cleared the cache since `generation`.
pub fn changed_since(generation: u64) -> bool {
    // SAFETY: processes the shared invalidation queue, as lock
    // acquisition does.
    unsafe { pg_sys::AcceptInvalidationMessages() };
    GENERATION.with(Cell::get) != generation
}

/// Sends the invalidation of `rrd.series` with this transaction's commit
/// (and applies it here at the end of the statement): the caller changed
/// a name or a definition.
pub fn forget() {
    let oid = series_oid();
    if oid != pg_sys::InvalidOid {
        // SAFETY: a relation that exists, inside a transaction.
        unsafe { pg_sys::CacheInvalidateRelcacheByRelid(oid) };
    }
}

/// The series named `names`, in order; the first missing name is an
/// error. `fresh` skips the cache and reads every name again.
pub fn resolve(client: &SpiClient<'_>, names: &[&str], fresh: bool) -> Result<Vec<Rc<Named>>> {
    series_oid();
    let mut out: Vec<Option<Rc<Named>>> = if fresh {
        vec![None; names.len()]
    } else {
        NAMES.with(|cache| {
            let cache = cache.borrow();
            names.iter().map(|n| cache.get(*n).cloned()).collect()
        })
    };
    let misses: Vec<&str> = names
        .iter()
        .zip(&out)
        .filter(|(_, hit)| hit.is_none())
        .map(|(n, _)| *n)
        .collect();
    if !misses.is_empty() {
        let mut found: HashMap<String, Rc<Named>> = HashMap::with_capacity(misses.len());
        let table = run(
            client,
            "SELECT s.name, s.id, s.def::bytea \
             FROM pg_catalog.unnest($1::text[]) AS n(name) JOIN rrd.series s ON s.name = n.name",
            &[pg_sys::TEXTARRAYOID],
            &[misses.to_vec().into()],
            true,
        );
        for row in table {
            let name: String = spi(row.get(1)).unwrap_or_default();
            let corrupt = |what: &str| RrdError::Corrupt {
                msg: format!("series \"{}\": {what}", shown(&name)),
            };
            let id: i64 = spi(row.get(2)).ok_or_else(|| corrupt("id is NULL"))?;
            let bytes: &[u8] = spi(row.get(3)).ok_or_else(|| corrupt("definition is NULL"))?;
            let def = definition(id, bytes)?;
            let named = Rc::new(Named { id, def });
            found.insert(name, named);
        }
        NAMES.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() + found.len() > NAMES_MAX {
                cache.clear();
            }
            for (name, named) in &found {
                cache.insert(name.clone(), Rc::clone(named));
            }
        });
        for (slot, name) in out.iter_mut().zip(names) {
            if slot.is_none() {
                *slot = found.get(*name).cloned();
            }
        }
    }
    out.into_iter()
        .zip(names)
        .map(|(n, name)| {
            n.ok_or_else(|| RrdError::UnknownSeries {
                name: name.to_string(),
            })
        })
        .collect()
}
