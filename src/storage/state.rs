//! The state rows (`rrd.state`): loading series with their definitions and
//! states, and writing states back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use rrd_core::batch::{self, OnBad, SeriesWork, Value};
use rrd_core::def::Definition;
use rrd_core::engine::{CdpState, State};
use rrd_core::error::{shown, Result, RrdError};
use rrd_core::journal::{self, lane_of, slot_of};
use rrd_core::ring::{ChunkEdit, Holes};

use super::{definition, run};
use crate::sqlstate::spi;

/// A series as loaded for one call.
#[derive(Debug, Clone)]
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
    /// Per archive, what the journal's pending points change in its chunk
    /// rows (empty when nothing is pending or the series was loaded to be
    /// written): `state` and `holes` already include those points.
    pub pending: Vec<BTreeMap<u32, ChunkEdit>>,
    /// What the pending points observed as unknown, to add to the stored
    /// record of unknown spans (empty when nothing is pending).
    pub pending_spans: Vec<rrd_core::engine::Span>,
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

/// The statement that loads series by id, after their lanes are held.
const LOAD_IDS: &str = "SELECT s.id, s.name, s.def::bytea, s.chunk_width, st.last_up, st.last_ds, \
     st.pdp_val, st.pdp_unknown_sec, st.cdp_val, st.cdp_unknown, st.holes, st.xmin::text::int8 \
     FROM pg_catalog.unnest($1::int8[]) AS n(id) \
     JOIN rrd.series s ON s.id = n.id JOIN rrd.state st ON st.series_id = s.id";

const LOAD_LOCKED: &str = load_sql!(" ORDER BY s.id FOR NO KEY UPDATE OF st FOR KEY SHARE OF s");

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

/// Loads series by name without a lock, as of now rather than as of the
/// statement's start (a writer that waited and must see what committed
/// meanwhile, without taking row locks before its lane).
pub fn load_many_now(client: &SpiClient<'_>, names: &[&str]) -> Result<HashMap<String, Series>> {
    load_with(client, LOAD, true, names)
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
        pending: Vec::new(),
        pending_spans: Vec::new(),
    })
}

/// Loads the series `ids` that still exist, by id, with names, as a
/// writing statement (it sees what was committed before the caller's
/// locks).
pub fn load_ids(client: &SpiClient<'_>, ids: &[i64]) -> Result<HashMap<i64, (String, Series)>> {
    let table = run(
        client,
        LOAD_IDS,
        &[pg_sys::INT8ARRAYOID],
        &[ids.to_vec().into()],
        true,
    );
    let mut out = HashMap::with_capacity(ids.len());
    for row in table {
        let name: String = spi(row.get(2)).unwrap_or_default();
        let series = decode(&row).map_err(|what| RrdError::Corrupt {
            msg: format!("series \"{}\": {what}", shown(&name)),
        })?;
        out.insert(series.id, (name, series));
    }
    Ok(out)
}

/// Reads the stored state of the series `ids` as the calling statement
/// sees them, each decoded on its own: a row that does not decode is
/// given with what is wrong with it, for `rrd.verify`. Series without a
/// state row are not given.
pub fn load_ids_as_stored(
    client: &SpiClient<'_>,
    ids: &[i64],
) -> Vec<(String, std::result::Result<Series, String>)> {
    let table = run(
        client,
        LOAD_IDS,
        &[pg_sys::INT8ARRAYOID],
        &[ids.to_vec().into()],
        false,
    );
    table
        .map(|row| {
            let name: String = spi(row.get(2)).unwrap_or_default();
            (name, decode(&row))
        })
        .collect()
}

/// Loads series by name for a read: as stored, with the points still
/// pending in the journal applied in memory (see [`Series::pending`]).
pub fn load_many_current(
    client: &SpiClient<'_>,
    names: &[&str],
) -> Result<HashMap<String, Series>> {
    super::buffer::write_out()?;
    let mut all = load_many(client, names, false)?;
    let mut refs: Vec<&mut Series> = all.values_mut().collect();
    merge_pending(client, &mut refs)?;
    Ok(all)
}

/// Loads one series for a read; see [`load_many_current`].
pub fn load_current(client: &SpiClient<'_>, name: &str) -> Result<Series> {
    let mut all = load_many_current(client, &[name])?;
    all.remove(name).ok_or_else(|| RrdError::UnknownSeries {
        name: name.to_string(),
    })
}

/// Applies to each of `series`, in memory, the points the journal holds
/// for it, as a fold would.
fn merge_pending(client: &SpiClient<'_>, series: &mut [&mut Series]) -> Result<()> {
    let mut points: HashMap<i64, Vec<(i64, Value)>> = HashMap::new();
    if let [one] = series {
        // One series: the server picks its points out of the lane's rows.
        points.insert(one.id, super::journal::points_of(client, one.id, false)?);
    } else {
        let mut lanes: Vec<i64> = series.iter().map(|s| lane_of(s.id)).collect();
        lanes.sort_unstable();
        lanes.dedup();
        let rows = super::journal::rows(client, &lanes, false)?;
        // Only the places read are decoded.
        let mut wanted: HashMap<i64, HashSet<usize>> = HashMap::new();
        for s in series.iter() {
            wanted
                .entry(lane_of(s.id))
                .or_default()
                .insert(slot_of(s.id));
        }
        for (lane, lane_rows) in &rows {
            let keep = &wanted[lane];
            for (slot, pts) in journal::by_series_where(lane_rows, |s| keep.contains(&s))? {
                points.insert(journal::id_at(*lane, slot), pts);
            }
        }
    }
    for s in series.iter_mut() {
        let Some(mine) = points.remove(&s.id).filter(|p| !p.is_empty()) else {
            continue;
        };
        let work = run_pending(s, String::new(), &mine);
        s.state = work.state;
        s.holes = work.holes;
        s.pending = work.edits;
        s.pending_spans = work.observed.unwrap_or_default();
    }
    Ok(())
}

/// The work of applying `points` to `series` as loaded. A point the
/// engine refuses (which no writer's check lets into the journal) is left
/// out with a warning rather than ever blocking the series.
pub fn run_pending(series: &Series, name: String, points: &[(i64, Value)]) -> SeriesWork {
    let mut work = SeriesWork::new(
        series.id,
        name,
        Rc::clone(&series.def),
        series.width,
        series.state.clone(),
        series.holes.clone(),
    );
    work.version = series.version;
    work.observed = Some(Vec::new());
    let mut runs = Vec::new();
    let mut text = String::new();
    for (i, (t, v)) in points.iter().enumerate() {
        crate::interrupts::every(i);
        let value = v.as_input(&mut text);
        if let Err(e) =
            batch::apply_point(&mut work, i as u64 + 1, *t, value, OnBad::Fail, &mut runs)
        {
            pgrx::warning!(
                "pg_rrd: a journal point of series {} left out: {e}",
                series.id
            );
        }
    }
    work
}

/// Loads one series by name; see [`load_many`].
pub fn load(client: &SpiClient<'_>, name: &str, lock: bool) -> Result<Series> {
    let mut all = load_many(client, &[name], lock)?;
    all.remove(name).ok_or_else(|| RrdError::UnknownSeries {
        name: name.to_string(),
    })
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
     WHERE st.series_id = u.id AND (st.xmin::text::int8 = u.version OR $14) \
     RETURNING st.series_id";

/// Rewrites the state rows of `works` in one statement, each only if it
/// is still the version it was loaded as (see [`Series::version`]), and
/// returns the ids of the rows rewritten. A rewritten row stays locked to this transaction,
/// so the chunk rows of its series can be read and written safely after.
pub fn save_states(client: &SpiClient<'_>, works: &[&SeriesWork]) -> HashSet<i64> {
    save_with(client, works, false)
}

/// Rewrites the state rows of `works`, which this transaction holds (it
/// wrote them), whatever version they are.
pub fn save_states_held(client: &SpiClient<'_>, works: &[&SeriesWork]) {
    save_with(client, works, true);
}

fn save_with(client: &SpiClient<'_>, works: &[&SeriesWork], held: bool) -> HashSet<i64> {
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
            BOOLOID,
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
            held.into(),
        ],
        true,
    );
    let saved: HashSet<i64> = table.filter_map(|row| spi(row.get::<i64>(1))).collect();
    let observed: Vec<&SeriesWork> = works
        .iter()
        .copied()
        .filter(|w| saved.contains(&w.id))
        .collect();
    super::explain::save_observed(client, &observed);
    saved
}

/// Stores a changed definition, state and holes of series `id`, whatever
/// the stored state was: the caller holds the series' locks and its lane,
/// folded. Writers' caches of the definition are invalidated, and the
/// series marked so that its next journaled point is checked against the
/// new state.
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
    super::names::forget();
    super::journal::mark_direct(client, id);
}
