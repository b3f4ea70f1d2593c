//! Reading and writing the rows of `rrd.series`, `rrd.state` and
//! `rrd.chunk` through SPI: every statement pg_rrd runs is here, and runs
//! through [`run`], under a pinned `search_path`. The statements keep
//! their plans for the life of the backend and work on many series at once.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::{self, PgOid};
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, Query, SpiClient, SpiTupleTable};

use crate::batch::SeriesWork;
use crate::def::Definition;
use crate::engine::{CdpState, State};
use crate::error::{shown, Result, RrdError};
use crate::errors::spi;
use crate::ring::Holes;

extension_sql_file!("../sql/schema.sql", name = "schema", requires = [Rrd]);

/// Chunk width of new series: 240 doubles keep a chunk row near 2 KB, under
/// the TOAST threshold with room for HOT updates on its page.
pub const DEFAULT_CHUNK_WIDTH: u64 = 240;

/// Widest chunk row: 1000 doubles and the row's own bytes fill one page.
pub const MAX_CHUNK_WIDTH: u64 = 1000;

/// A series as loaded for one call.
pub struct Series {
    pub id: i64,
    pub def: Rc<Definition>,
    pub width: u64,
    pub state: State,
    /// Per archive: unknown slots not written (see `ring`).
    pub holes: Vec<Holes>,
    /// Version of the state row read (its xmin): any change to the series'
    /// state or definition rewrites that row, so an unchanged version
    /// means the series is as loaded.
    pub version: i64,
}

/// Holes per archive from the stored `(archive, first, last)` triples.
fn holes_from(flat: &[i64], archives: usize) -> Result<Vec<Holes>> {
    let mut out = vec![Holes::new(); archives];
    if !flat.len().is_multiple_of(3) {
        return Err(RrdError::Corrupt {
            msg: "holes are not triples".into(),
        });
    }
    for t in flat.chunks(3) {
        let a = usize::try_from(t[0])
            .ok()
            .filter(|&a| a < archives)
            .ok_or_else(|| RrdError::Corrupt {
                msg: format!("hole of archive {}", t[0]),
            })?;
        out[a].push((t[1], t[2]));
    }
    Ok(out)
}

/// The stored triples of `holes`.
fn holes_flat(holes: &[Holes], out: &mut Vec<i64>) {
    for (a, hs) in holes.iter().enumerate() {
        for &(lo, hi) in hs {
            out.extend_from_slice(&[a as i64, lo, hi]);
        }
    }
}

/// A decoded definition and the stored bytes it came from.
type CachedDef = (Vec<u8>, Rc<Definition>);

thread_local! {
    /// Plans of the statements run on every call, prepared once per backend.
    static PLANS: RefCell<HashMap<&'static str, Rc<OwnedPreparedStatement>>> =
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
        let cached = PLANS.with(|plans| plans.borrow().get(sql).cloned());
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
                PLANS.with(|plans| plans.borrow_mut().insert(sql, Rc::clone(&plan)));
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
        let def: Definition = serde_cbor::from_slice(bytes).map_err(|e| RrdError::Corrupt {
            msg: format!("definition of series {id}: {e}"),
        })?;
        def.validate().map_err(|e| RrdError::Corrupt {
            msg: format!("definition of series {id}: {e}"),
        })?;
        if defs.len() >= DEF_CACHE_MAX {
            defs.clear();
        }
        let def = Rc::new(def);
        defs.insert(id, (bytes.to_vec(), Rc::clone(&def)));
        Ok(def)
    })
}

/// The statement that loads series by name, followed by `$tail`.
macro_rules! load_sql {
    ($tail:literal) => {
        concat!(
            "SELECT s.id, s.name, s.def::bytea, s.chunk_width, st.last_up, st.last_ds, \
             st.pdp_val, st.pdp_unknown_sec, st.cdp_val, st.cdp_unknown, st.holes, st.xmin::text::int8 \
             FROM pg_catalog.unnest($1::text[]) AS n(name) \
             JOIN rrd.series s ON s.name = n.name JOIN rrd.state st ON st.series_id = s.id",
            $tail
        )
    };
}

const LOAD: &str = load_sql!("");

const LOAD_LOCKED: &str = load_sql!(" ORDER BY s.id FOR NO KEY UPDATE OF st FOR KEY SHARE OF s");

/// `LOAD` run after [`LOCK_STATES`], as a writing statement: it reads
/// with a new snapshot, so it sees what was committed before the locks.
const LOAD_FRESH: &str = load_sql!(" ORDER BY s.id");

/// Locks the state rows of series by name, in id order.
const LOCK_STATES: &str = "SELECT st.series_id FROM pg_catalog.unnest($1::text[]) AS n(name) \
     JOIN rrd.series s ON s.name = n.name JOIN rrd.state st ON st.series_id = s.id \
     ORDER BY s.id FOR NO KEY UPDATE OF st";

/// Loads the series `names` (distinct), in id order, keyed by name. With
/// `lock`, takes their state rows' locks (in id order, so that two batches
/// never deadlock on each other) so that concurrent updates of one series
/// run one after the other, and a key-share lock on their series rows, so
/// that a load that waited reads the definition committed with the state. The first missing name is an error.
pub fn load_many(
    client: &SpiClient<'_>,
    names: &[&str],
    lock: bool,
) -> Result<HashMap<String, Series>> {
    if lock {
        load_with(client, LOAD_LOCKED, true, names)
    } else {
        load_with(client, LOAD, false, names)
    }
}

/// Locks the state rows of the series `names` (distinct) in id order, then
/// loads them as [`load_many`] does: for a batch of many series, which
/// must hold all its rows before it rewrites any (see `update::apply`).
/// One lock per series, on its state row: every change of a definition
/// rewrites the state row under that lock, so once the state rows are
/// held, the series rows a new snapshot reads are the ones that go with
/// them.
pub fn lock_and_load_many(
    client: &SpiClient<'_>,
    names: &[&str],
) -> Result<HashMap<String, Series>> {
    let list: Vec<&str> = names.to_vec();
    run(
        client,
        LOCK_STATES,
        &[pg_sys::TEXTARRAYOID],
        &[list.into()],
        true,
    );
    load_with(client, LOAD_FRESH, true, names)
}

/// Runs one of the `LOAD` statements for `names`; see [`load_many`].
fn load_with(
    client: &SpiClient<'_>,
    sql: &'static str,
    mutating: bool,
    names: &[&str],
) -> Result<HashMap<String, Series>> {
    let list: Vec<&str> = names.to_vec();
    let table = run(
        client,
        sql,
        &[pg_sys::TEXTARRAYOID],
        &[list.into()],
        mutating,
    );
    let mut out = HashMap::with_capacity(names.len());
    for row in table {
        let name: String = spi(row.get(2)).unwrap_or_default();
        let series = decode(&row).map_err(|what| RrdError::Corrupt {
            msg: format!("series \"{}\": {what}", shown(&name)),
        })?;
        out.insert(name, series);
    }
    if let Some(missing) = names.iter().find(|n| !out.contains_key(**n)) {
        return Err(RrdError::UnknownSeries {
            name: missing.to_string(),
        });
    }
    Ok(out)
}

/// A column of a loaded row that must not be NULL, or what is wrong.
fn column<T: pgrx::FromDatum + pgrx::IntoDatum>(
    row: &pgrx::spi::SpiHeapTupleData<'_>,
    i: usize,
    what: &str,
) -> std::result::Result<T, String> {
    match row.get::<T>(i) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(format!("{what} is NULL")),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// An array column of a loaded row, with no NULL element, or what is wrong.
fn array_column<T>(
    row: &pgrx::spi::SpiHeapTupleData<'_>,
    i: usize,
    what: &str,
) -> std::result::Result<Vec<T>, String>
where
    Vec<Option<T>>: pgrx::FromDatum + pgrx::IntoDatum,
{
    let items: Vec<Option<T>> = column(row, i, what)?;
    items
        .into_iter()
        .enumerate()
        .map(|(k, v)| v.ok_or_else(|| format!("{what}[{}] is NULL", k + 1)))
        .collect()
}

/// The series of a row of `LOAD`, or what is wrong with the stored row.
fn decode(row: &pgrx::spi::SpiHeapTupleData<'_>) -> std::result::Result<Series, String> {
    let id: i64 = column(row, 1, "id")?;
    let bytes: &[u8] = column(row, 3, "definition")?;
    let def = definition(id, bytes).map_err(|e| e.to_string())?;
    let width: i32 = column(row, 4, "chunk width")?;
    let last_up: i64 = column(row, 5, "last update")?;
    let last_ds: Option<String> = row.get(6).map_err(|e| format!("last input: {e}"))?;
    let pdp_val: f64 = column(row, 7, "pdp_val")?;
    let pdp_unknown_sec: i64 = column(row, 8, "pdp_unknown_sec")?;
    let cdp_val: Vec<f64> = array_column(row, 9, "cdp_val")?;
    let cdp_unknown: Vec<i64> = array_column(row, 10, "cdp_unknown")?;
    let holes: Vec<i64> = array_column(row, 11, "holes")?;
    let version: i64 = column(row, 12, "version")?;
    let n = def.archives.len();
    if cdp_val.len() != n || cdp_unknown.len() != n || width < 1 {
        return Err("state does not match the definition".into());
    }
    let holes = holes_from(&holes, n).map_err(|e| e.to_string())?;
    let cdp = cdp_val
        .into_iter()
        .zip(cdp_unknown)
        .map(|(val, u)| CdpState {
            val,
            unknown_pdps: u.max(0) as u64,
        })
        .collect();
    let state = State {
        last_up,
        last_ds,
        pdp_val,
        pdp_unknown_sec: pdp_unknown_sec.max(0) as u64,
        cdp,
    };
    Ok(Series {
        id,
        def,
        width: width as u64,
        state,
        holes,
        version,
    })
}

/// Loads one series by name; see [`load_many`].
pub fn load(client: &SpiClient<'_>, name: &str, lock: bool) -> Result<Series> {
    let mut all = load_many(client, &[name], lock)?;
    all.remove(name).ok_or_else(|| RrdError::UnknownSeries {
        name: name.to_string(),
    })
}

/// Whether a series is named `name`.
pub fn name_taken(client: &SpiClient<'_>, name: &str) -> bool {
    !run(
        client,
        "SELECT 1 FROM rrd.series WHERE name = $1",
        &[pg_sys::TEXTOID],
        &[name.into()],
        true,
    )
    .is_empty()
}

/// Inserts the series row of a new series and returns its id.
pub fn insert_series(
    client: &SpiClient<'_>,
    name: &str,
    def: &Definition,
    width: u64,
    meta: Option<pgrx::JsonB>,
    tags: Option<pgrx::JsonB>,
) -> Result<i64> {
    use pg_sys::*;
    let table = run(
        client,
        "INSERT INTO rrd.series (name, def, chunk_width, meta, tags) \
         VALUES ($1, $2::rrd.rrd, $3, coalesce($4, '{}'), coalesce($5, '{}')) RETURNING id",
        &[TEXTOID, TEXTOID, INT4OID, JSONBOID, JSONBOID],
        &[
            name.into(),
            def.to_string().into(),
            (width as i32).into(),
            meta.into(),
            tags.into(),
        ],
        true,
    );
    table
        .into_iter()
        .next()
        .and_then(|row| spi(row.get::<i64>(1)))
        .ok_or_else(|| RrdError::Corrupt {
            msg: "no id returned".into(),
        })
}

/// Removes series `name` and every row it has, whatever its rows hold.
/// Its state row is locked before its series row, as every writer of the
/// series locks them.
pub fn delete_series(client: &SpiClient<'_>, name: &str) -> Result<()> {
    let locked = |sql: &'static str| {
        run(client, sql, &[pg_sys::TEXTOID], &[name.into()], true)
            .next()
            .and_then(|row| spi(row.get::<i64>(1)))
    };
    let id = locked(
        "SELECT s.id FROM rrd.series s JOIN rrd.state st ON st.series_id = s.id \
         WHERE s.name = $1 FOR NO KEY UPDATE OF st FOR KEY SHARE OF s",
    )
    // A series whose state row is missing can still be dropped.
    .or_else(|| locked("SELECT id FROM rrd.series WHERE name = $1 FOR UPDATE"))
    .ok_or_else(|| RrdError::UnknownSeries {
        name: name.to_string(),
    })?;
    // The trigger on rrd.series removes the state and chunk rows.
    run(
        client,
        "DELETE FROM rrd.series WHERE id = $1",
        &[pg_sys::INT8OID],
        &[id.into()],
        true,
    );
    Ok(())
}

/// Gives series `id` the name `name`.
pub fn rename_series(client: &SpiClient<'_>, id: i64, name: &str) {
    run(
        client,
        "UPDATE rrd.series SET name = $2 WHERE id = $1",
        &[pg_sys::INT8OID, pg_sys::TEXTOID],
        &[id.into(), name.into()],
        true,
    );
}

/// The metadata and tags of series `id`.
pub fn labels(client: &SpiClient<'_>, id: i64) -> (Option<pgrx::JsonB>, Option<pgrx::JsonB>) {
    run(
        client,
        "SELECT meta, tags FROM rrd.series WHERE id = $1",
        &[pg_sys::INT8OID],
        &[id.into()],
        false,
    )
    .next()
    .map_or((None, None), |row| (spi(row.get(1)), spi(row.get(2))))
}

/// A JSON column of `rrd.series` that [`set_label`] writes.
#[derive(Debug, Clone, Copy)]
pub enum Label {
    Meta,
    Tags,
}

/// Sets the metadata or the tags of series `name`; false if there is no
/// such series.
pub fn set_label(client: &SpiClient<'_>, name: &str, label: Label, value: pgrx::JsonB) -> bool {
    let sql = match label {
        Label::Meta => "UPDATE rrd.series SET meta = $2 WHERE name = $1 RETURNING id",
        Label::Tags => "UPDATE rrd.series SET tags = $2 WHERE name = $1 RETURNING id",
    };
    run(
        client,
        sql,
        &[pg_sys::TEXTOID, pg_sys::JSONBOID],
        &[name.into(), value.into()],
        true,
    )
    .next()
    .is_some()
}

/// Writes every chunk row of a new series, all slots unknown. The rows of
/// one series are inserted together, so they share pages with each other
/// rather than with other series': series updated in step then change one
/// row per page per statement, which leaves room for a same-page (HOT)
/// update. The rings take their full size at once, as rrdtool's files do.
pub fn allocate_chunks(client: &SpiClient<'_>, id: i64, def: &Definition, width: u64) {
    let rows: Vec<i64> = def.archives.iter().map(|a| a.rows as i64).collect();
    run(
        client,
        "INSERT INTO rrd.chunk (series_id, archive, chunk, dp) \
         SELECT $1, a.i - 1, c, pg_catalog.array_fill('NaN'::float8, ARRAY[least($2, a.n - c * $2)::int]) \
         FROM pg_catalog.unnest($3::int8[]) WITH ORDINALITY AS a(n, i), \
              pg_catalog.generate_series(0, (a.n - 1) / $2) AS c \
         ORDER BY a.i, c",
        &[pg_sys::INT8OID, pg_sys::INT8OID, pg_sys::INT8ARRAYOID],
        &[id.into(), (width as i64).into(), rows.into()],
        true,
    );
}

fn cdp_arrays(state: &State) -> (Vec<f64>, Vec<i64>) {
    (
        state.cdp.iter().map(|c| c.val).collect(),
        state.cdp.iter().map(|c| c.unknown_pdps as i64).collect(),
    )
}

/// Inserts the state row of a new series.
pub fn insert_state(client: &SpiClient<'_>, id: i64, state: &State) {
    write_state(
        client,
        "INSERT INTO rrd.state (series_id, last_up, last_ds, pdp_val, pdp_unknown_sec, \
         cdp_val, cdp_unknown, holes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        state,
        &[],
    );
}

/// Runs `sql` with a state row's columns as $1 to $8: series id, last
/// update, last input, PDP value and unknown seconds, CDP values and
/// unknown counts, holes.
fn write_state(client: &SpiClient<'_>, sql: &'static str, id: i64, state: &State, holes: &[Holes]) {
    let (cv, cu) = cdp_arrays(state);
    let mut flat = Vec::new();
    holes_flat(holes, &mut flat);
    use pg_sys::*;
    run(
        client,
        sql,
        &[
            INT8OID,
            INT8OID,
            TEXTOID,
            FLOAT8OID,
            INT8OID,
            FLOAT8ARRAYOID,
            INT8ARRAYOID,
            INT8ARRAYOID,
        ],
        &[
            id.into(),
            state.last_up.into(),
            state.last_ds.clone().into(),
            state.pdp_val.into(),
            (state.pdp_unknown_sec as i64).into(),
            cv.into(),
            cu.into(),
            flat.into(),
        ],
        true,
    );
}

const SAVE_STATES: &str = "UPDATE rrd.state st SET last_up = u.last_up, last_ds = u.last_ds, \
     pdp_val = u.pdp_val, pdp_unknown_sec = u.pdp_unknown_sec, \
     cdp_val = $6[u.o + 1 : u.o + u.n], cdp_unknown = $7[u.o + 1 : u.o + u.n], \
     holes = coalesce($10[u.ho + 1 : u.ho + u.hn], '{}') \
     FROM ROWS FROM (pg_catalog.unnest($1::int8[]), \
                     pg_catalog.unnest($2::int8[]), \
                     pg_catalog.unnest($3::text[]), \
                     pg_catalog.unnest($4::float8[]), \
                     pg_catalog.unnest($5::int8[]), \
                     pg_catalog.unnest($8::int4[]), \
                     pg_catalog.unnest($9::int4[]), \
                     pg_catalog.unnest($11::int4[]), \
                     pg_catalog.unnest($12::int4[]), \
                     pg_catalog.unnest($13::int8[])) \
       AS u(id, last_up, last_ds, pdp_val, pdp_unknown_sec, o, n, ho, hn, version) \
     WHERE st.series_id = u.id AND st.xmin::text::int8 = u.version \
     RETURNING st.series_id";

/// Rewrites the state rows of `works` in one statement, each only if it
/// is still the version it was loaded as (see [`Series::version`]), and
/// returns the ids of the rows rewritten. A rewritten row stays locked to this transaction,
/// so the chunk rows of its series can be read and written safely after.
pub fn save_states(client: &SpiClient<'_>, works: &[&SeriesWork]) -> HashSet<i64> {
    if works.is_empty() {
        return HashSet::new();
    }
    // In id order, the order every locking statement takes.
    let mut works = works.to_vec();
    works.sort_by_key(|w| w.id);
    let loaded: Vec<i64> = works.iter().map(|w| w.version).collect();
    let mut ids = Vec::with_capacity(works.len());
    let mut last_up = Vec::with_capacity(works.len());
    let mut last_ds = Vec::with_capacity(works.len());
    let mut pdp_val = Vec::with_capacity(works.len());
    let mut pdp_unknown = Vec::with_capacity(works.len());
    let mut cdp_val = Vec::new();
    let mut cdp_unknown = Vec::new();
    let mut offs = Vec::with_capacity(works.len());
    let mut lens = Vec::with_capacity(works.len());
    let mut holes = Vec::new();
    let mut hole_offs = Vec::with_capacity(works.len());
    let mut hole_lens = Vec::with_capacity(works.len());
    for w in &works {
        hole_offs.push(holes.len() as i32);
        holes_flat(&w.holes, &mut holes);
        hole_lens.push(holes.len() as i32 - hole_offs.last().copied().unwrap_or(0));
        let st = &w.state;
        ids.push(w.id);
        last_up.push(st.last_up);
        last_ds.push(st.last_ds.clone());
        pdp_val.push(st.pdp_val);
        pdp_unknown.push(st.pdp_unknown_sec as i64);
        offs.push(cdp_val.len() as i32);
        lens.push(st.cdp.len() as i32);
        for c in &st.cdp {
            cdp_val.push(c.val);
            cdp_unknown.push(c.unknown_pdps as i64);
        }
    }
    use pg_sys::*;
    let table = run(
        client,
        SAVE_STATES,
        &[
            INT8ARRAYOID,
            INT8ARRAYOID,
            TEXTARRAYOID,
            FLOAT8ARRAYOID,
            INT8ARRAYOID,
            FLOAT8ARRAYOID,
            INT8ARRAYOID,
            INT4ARRAYOID,
            INT4ARRAYOID,
            INT8ARRAYOID,
            INT4ARRAYOID,
            INT4ARRAYOID,
            INT8ARRAYOID,
        ],
        &[
            ids.into(),
            last_up.into(),
            last_ds.into(),
            pdp_val.into(),
            pdp_unknown.into(),
            cdp_val.into(),
            cdp_unknown.into(),
            offs.into(),
            lens.into(),
            holes.into(),
            hole_offs.into(),
            hole_lens.into(),
            loaded.into(),
        ],
        true,
    );
    table.filter_map(|row| spi(row.get::<i64>(1))).collect()
}

/// Stores a changed definition, state and holes of series `id`, whatever
/// the stored state was: the caller holds the series' locks.
pub fn replace_series(
    client: &SpiClient<'_>,
    id: i64,
    def: &Definition,
    state: &State,
    holes: &[Holes],
) {
    run(
        client,
        "UPDATE rrd.series SET def = $2::rrd.rrd WHERE id = $1",
        &[pg_sys::INT8OID, pg_sys::TEXTOID],
        &[id.into(), def.to_string().into()],
        true,
    );
    write_state(
        client,
        "UPDATE rrd.state SET last_up = $2, last_ds = $3, pdp_val = $4, pdp_unknown_sec = $5, \
         cdp_val = $6, cdp_unknown = $7, holes = $8 WHERE series_id = $1",
        id,
        state,
        holes,
    );
}

/// Replaces every chunk row of archive `a` of series `id` by `rows`
/// (chunk 0 first); with no rows, removes the archive's rows.
pub fn replace_archive(client: &SpiClient<'_>, id: i64, a: usize, rows: &[Vec<f64>]) {
    use pg_sys::*;
    run(
        client,
        "DELETE FROM rrd.chunk WHERE series_id = $1 AND archive = $2",
        &[INT8OID, INT2OID],
        &[id.into(), (a as i16).into()],
        true,
    );
    let rows: Vec<(ChunkKey, &[f64])> = rows
        .iter()
        .enumerate()
        .map(|(c, dp)| ((id, a as i16, c as i32), dp.as_slice()))
        .collect();
    insert_chunks(client, &rows);
}

/// Renumbers the chunk rows of archives `a + 1 .. count` one down, once
/// `a` is gone: one archive at a time, lowest first, so that the primary
/// key never sees two rows with one number.
pub fn shift_archives(client: &SpiClient<'_>, id: i64, a: usize, count: usize) {
    for k in a + 1..count {
        run(
            client,
            "UPDATE rrd.chunk SET archive = $2 - 1 WHERE series_id = $1 AND archive = $2",
            &[pg_sys::INT8OID, pg_sys::INT2OID],
            &[id.into(), (k as i16).into()],
            true,
        );
    }
}

/// Reads chunk rows `chunks` (or all, if `None`) of one archive.
pub fn read_chunks(
    client: &SpiClient<'_>,
    id: i64,
    archive: usize,
    chunks: Option<Vec<i32>>,
) -> BTreeMap<u32, Vec<f64>> {
    let mut out = BTreeMap::new();
    let table = match chunks {
        Some(list) => run(
            client,
            "SELECT chunk, dp FROM rrd.chunk \
             WHERE series_id = $1 AND archive = $2 AND chunk = ANY($3)",
            &[pg_sys::INT8OID, pg_sys::INT2OID, pg_sys::INT4ARRAYOID],
            &[id.into(), (archive as i16).into(), list.into()],
            false,
        ),
        None => run(
            client,
            "SELECT chunk, dp FROM rrd.chunk WHERE series_id = $1 AND archive = $2",
            &[pg_sys::INT8OID, pg_sys::INT2OID],
            &[id.into(), (archive as i16).into()],
            false,
        ),
    };
    for row in table {
        let c: Option<i32> = spi(row.get(1));
        let dp: Option<Vec<f64>> = spi(row.get(2));
        if let (Some(c), Some(dp)) = (c, dp) {
            out.insert(c as u32, dp);
        }
    }
    out
}

/// Key of a chunk row: series id, archive, chunk number.
type ChunkKey = (i64, i16, i32);

/// The slots of stored row `dp` at `offsets` (0-based) set to `values`.
/// The write path's one statement per batch rewrites each changed row with
/// it, so the rows never travel to the extension and back.
#[pg_extern(immutable, parallel_safe)]
fn set_slots(dp: Array<f64>, offsets: Array<i32>, values: Array<f64>) -> Vec<f64> {
    let mut out: Vec<f64> = match dp.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => dp.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
    };
    for (off, v) in offsets.iter().zip(values.iter()) {
        let slot = off
            .and_then(|o| usize::try_from(o).ok())
            .and_then(|o| out.get_mut(o));
        match slot {
            Some(slot) => *slot = v.unwrap_or(f64::NAN),
            None => crate::errors::raise(RrdError::Corrupt {
                msg: format!("slot offset {off:?} outside a chunk row of {}", out.len()),
            }),
        }
    }
    out
}

const UPDATE_CHUNKS: &str = "UPDATE rrd.chunk c \
     SET dp = rrd.set_slots(c.dp, $4[u.o + 1 : u.o + u.n], $5[u.o + 1 : u.o + u.n]) \
     FROM ROWS FROM (pg_catalog.unnest($1::int8[]), \
                     pg_catalog.unnest($2::int2[]), \
                     pg_catalog.unnest($3::int4[]), \
                     pg_catalog.unnest($6::int4[]), \
                     pg_catalog.unnest($7::int4[])) AS u(s, a, k, o, n) \
     WHERE c.series_id = u.s AND c.archive = u.a AND c.chunk = u.k \
     RETURNING c.series_id, c.archive, c.chunk";

/// Rows whose changed slots are one run of offsets: PostgreSQL's own slice
/// assignment writes them, a copy of the row and one memcpy.
const UPDATE_CHUNK_RUNS: &str = "UPDATE rrd.chunk c \
     SET dp[u.lo + 1 : u.lo + u.n] = $5[u.o + 1 : u.o + u.n] \
     FROM ROWS FROM (pg_catalog.unnest($1::int8[]), \
                     pg_catalog.unnest($2::int2[]), \
                     pg_catalog.unnest($3::int4[]), \
                     pg_catalog.unnest($4::int4[]), \
                     pg_catalog.unnest($6::int4[]), \
                     pg_catalog.unnest($7::int4[])) \
       AS u(s, a, k, lo, o, n) \
     WHERE c.series_id = u.s AND c.archive = u.a AND c.chunk = u.k \
     RETURNING c.series_id, c.archive, c.chunk";

const INSERT_CHUNKS: &str = "INSERT INTO rrd.chunk (series_id, archive, chunk, dp) \
     SELECT u.s, u.a, u.k, $4[u.o + 1 : u.o + u.n] \
     FROM ROWS FROM (pg_catalog.unnest($1::int8[]), \
                     pg_catalog.unnest($2::int2[]), \
                     pg_catalog.unnest($3::int4[]), \
                     pg_catalog.unnest($5::int4[]), \
                     pg_catalog.unnest($6::int4[])) AS u(s, a, k, o, n)";

/// Writes the chunk rows a batch changed: one statement sets the changed
/// slots of every row, each row rewritten once however many of its slots
/// change. Rows are written at create; one found missing is inserted.
pub fn write_chunks(client: &SpiClient<'_>, works: &[&SeriesWork]) {
    // Rows whose changed slots are one run of offsets, and the others.
    let mut runs = SlotEdits::new(true);
    let mut scattered = SlotEdits::new(false);
    for w in works {
        for (arch, edits) in w.edits.iter().enumerate() {
            for (&c, edit) in edits {
                let written: Vec<(usize, f64)> = edit.written().collect();
                let first = written.first().map_or(0, |w| w.0);
                let contiguous = written.iter().enumerate().all(|(i, w)| w.0 == first + i);
                let key = (w.id, arch as i16, c as i32);
                if contiguous {
                    runs.push(key, &written);
                } else {
                    scattered.push(key, &written);
                }
            }
        }
    }
    let expected = runs.s.len() + scattered.s.len();
    if expected == 0 {
        return;
    }
    let mut updated: HashSet<ChunkKey> = HashSet::new();
    let mut count = 0;
    for edits in [runs, scattered] {
        if edits.s.is_empty() {
            continue;
        }
        let table = edits.run(client);
        count += table.len();
        for row in table {
            if let (Some(s), Some(a), Some(k)) = (spi(row.get(1)), spi(row.get(2)), spi(row.get(3)))
            {
                updated.insert((s, a, k));
            }
        }
    }
    if count < expected {
        insert_missing(client, works, &updated);
    }
}

/// Changed slots of many chunk rows, as parallel arrays for one statement.
struct SlotEdits {
    /// Every row's changed slots are one run (`UPDATE_CHUNK_RUNS`), or not
    /// (`UPDATE_CHUNKS`).
    runs: bool,
    s: Vec<i64>,
    a: Vec<i16>,
    k: Vec<i32>,
    /// For runs, each row's first offset; otherwise each slot's offset.
    pos: Vec<i32>,
    vals: Vec<f64>,
    o: Vec<i32>,
    n: Vec<i32>,
}

impl SlotEdits {
    fn new(runs: bool) -> SlotEdits {
        SlotEdits {
            runs,
            s: Vec::new(),
            a: Vec::new(),
            k: Vec::new(),
            pos: Vec::new(),
            vals: Vec::new(),
            o: Vec::new(),
            n: Vec::new(),
        }
    }

    fn push(&mut self, key: ChunkKey, written: &[(usize, f64)]) {
        self.s.push(key.0);
        self.a.push(key.1);
        self.k.push(key.2);
        self.o.push(self.vals.len() as i32);
        self.n.push(written.len() as i32);
        if self.runs {
            self.pos.push(written.first().map_or(0, |w| w.0 as i32));
        }
        for &(off, v) in written {
            if !self.runs {
                self.pos.push(off as i32);
            }
            self.vals.push(v);
        }
    }

    fn run<'c>(self, client: &SpiClient<'c>) -> SpiTupleTable<'c> {
        use pg_sys::*;
        let sql = if self.runs {
            UPDATE_CHUNK_RUNS
        } else {
            UPDATE_CHUNKS
        };
        run(
            client,
            sql,
            &[
                INT8ARRAYOID,
                INT2ARRAYOID,
                INT4ARRAYOID,
                INT4ARRAYOID,
                FLOAT8ARRAYOID,
                INT4ARRAYOID,
                INT4ARRAYOID,
            ],
            &[
                self.s.into(),
                self.a.into(),
                self.k.into(),
                self.pos.into(),
                self.vals.into(),
                self.o.into(),
                self.n.into(),
            ],
            true,
        )
    }
}

/// Inserts the changed chunk rows that were not found, unknown but for
/// their new slots.
fn insert_missing(client: &SpiClient<'_>, works: &[&SeriesWork], updated: &HashSet<ChunkKey>) {
    let mut rows: Vec<(ChunkKey, Vec<f64>)> = Vec::new();
    for w in works {
        for (arch, edits) in w.edits.iter().enumerate() {
            let ring = w.ring(arch);
            for (&c, edit) in edits {
                let key = (w.id, arch as i16, c as i32);
                if !updated.contains(&key) {
                    rows.push((key, ring.apply_edit(c, None, edit)));
                }
            }
        }
    }
    let rows: Vec<(ChunkKey, &[f64])> = rows.iter().map(|(k, dp)| (*k, dp.as_slice())).collect();
    insert_chunks(client, &rows);
}

/// Most slots one statement of [`insert_chunks`] carries: an archive of
/// the largest size a series may have is written in parts, each far below
/// the 1 GB a PostgreSQL value may take.
const INSERT_SLOTS: usize = 1 << 20;

/// Inserts chunk rows, in the order given, with one statement per
/// [`INSERT_SLOTS`] slots.
fn insert_chunks(client: &SpiClient<'_>, rows: &[(ChunkKey, &[f64])]) {
    let mut start = 0;
    while start < rows.len() {
        let mut end = start;
        let mut slots = 0;
        while end < rows.len() && (end == start || slots + rows[end].1.len() <= INSERT_SLOTS) {
            slots += rows[end].1.len();
            end += 1;
        }
        insert_chunk_part(client, &rows[start..end]);
        pgrx::check_for_interrupts!();
        start = end;
    }
}

/// Inserts chunk rows with one statement.
fn insert_chunk_part(client: &SpiClient<'_>, rows: &[(ChunkKey, &[f64])]) {
    let (mut s, mut a, mut k) = (Vec::new(), Vec::new(), Vec::new());
    let (mut dp, mut o, mut n) = (Vec::new(), Vec::new(), Vec::new());
    for &((series, arch, chunk), row) in rows {
        s.push(series);
        a.push(arch);
        k.push(chunk);
        o.push(dp.len() as i32);
        n.push(row.len() as i32);
        dp.extend_from_slice(row);
    }
    use pg_sys::*;
    run(
        client,
        INSERT_CHUNKS,
        &[
            INT8ARRAYOID,
            INT2ARRAYOID,
            INT4ARRAYOID,
            FLOAT8ARRAYOID,
            INT4ARRAYOID,
            INT4ARRAYOID,
        ],
        &[s.into(), a.into(), k.into(), dp.into(), o.into(), n.into()],
        true,
    );
}
