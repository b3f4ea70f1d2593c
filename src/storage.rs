//! Reading and writing the rows of `rrd.series`, `rrd.state` and
//! `rrd.chunk` through SPI. Everything here works on one series, named by
//! its id after the first lookup.

use std::collections::BTreeMap;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::def::Definition;
use crate::engine::{CdpState, Run, State};
use crate::error::{Result, RrdError};
use crate::errors::spi;
use crate::ring::{Chunk, Ring};

extension_sql_file!("../sql/schema.sql", name = "schema", requires = [Rrd]);

/// Chunk width of new series: 240 doubles keep a chunk row near 2 KB, under
/// the TOAST threshold with room for HOT updates on its page.
pub const DEFAULT_CHUNK_WIDTH: u64 = 240;

/// A series as loaded for one call.
pub struct Series {
    pub id: i64,
    pub def: Definition,
    pub width: u64,
    pub state: State,
}

const LOAD: &str = "SELECT s.id, s.def::text, s.chunk_width, st.last_up, st.last_ds, st.pdp_val, \
     st.pdp_unknown_sec, st.cdp_val, st.cdp_unknown \
     FROM rrd.series s JOIN rrd.state st ON st.series_id = s.id WHERE s.name = $1";

/// Loads a series by name; with `lock`, takes its state row's lock so that
/// concurrent updates of one series run one after the other.
pub fn load(client: &mut SpiClient<'_>, name: &str, lock: bool) -> Result<Series> {
    // A row lock needs a read-write SPI call; plain reads stay read-only.
    let table = if lock {
        let query = format!("{LOAD} FOR NO KEY UPDATE OF st");
        spi(client.update(query.as_str(), Some(1), &[name.into()]))
    } else {
        spi(client.select(LOAD, Some(1), &[name.into()]))
    };
    if table.is_empty() {
        return Err(RrdError::UnknownSeries {
            name: name.to_string(),
        });
    }
    let row = table.first();
    let get_err = |what: &str| RrdError::Corrupt {
        msg: format!("series \"{name}\": {what}"),
    };
    let id: i64 = spi(row.get(1)).ok_or_else(|| get_err("id"))?;
    // The definition travels as text: pgrx looks the rrd type up by its
    // bare name, which is not on the caller's search_path.
    let def_text: String = spi(row.get(2)).ok_or_else(|| get_err("definition"))?;
    let def = crate::def::parse(&def_text).map_err(|e| get_err(&e.to_string()))?;
    let width: i32 = spi(row.get(3)).ok_or_else(|| get_err("chunk width"))?;
    let last_up: i64 = spi(row.get(4)).ok_or_else(|| get_err("last update"))?;
    let last_ds: Option<String> = spi(row.get(5));
    let pdp_val: f64 = spi(row.get(6)).ok_or_else(|| get_err("pdp"))?;
    let pdp_unknown_sec: i64 = spi(row.get(7)).ok_or_else(|| get_err("pdp unknown"))?;
    let cdp_val: Vec<f64> = spi(row.get(8)).ok_or_else(|| get_err("cdp"))?;
    let cdp_unknown: Vec<i64> = spi(row.get(9)).ok_or_else(|| get_err("cdp unknown"))?;
    let n = def.archives.len();
    if cdp_val.len() != n || cdp_unknown.len() != n || width < 1 {
        return Err(get_err("state does not match the definition"));
    }
    let cdp = cdp_val
        .into_iter()
        .zip(cdp_unknown)
        .map(|(val, u)| CdpState {
            val,
            unknown_pdps: u.max(0) as u64,
        })
        .collect();
    Ok(Series {
        id,
        def,
        width: width as u64,
        state: State {
            last_up,
            last_ds,
            pdp_val,
            pdp_unknown_sec: pdp_unknown_sec.max(0) as u64,
            cdp,
        },
    })
}

fn cdp_arrays(state: &State) -> (Vec<f64>, Vec<i64>) {
    (
        state.cdp.iter().map(|c| c.val).collect(),
        state.cdp.iter().map(|c| c.unknown_pdps as i64).collect(),
    )
}

/// Inserts the state row of a new series.
pub fn insert_state(client: &mut SpiClient<'_>, id: i64, state: &State) {
    let (cv, cu) = cdp_arrays(state);
    spi(client.update(
        "INSERT INTO rrd.state (series_id, last_up, last_ds, pdp_val, pdp_unknown_sec, cdp_val, cdp_unknown) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        None,
        &[
            id.into(),
            state.last_up.into(),
            state.last_ds.clone().into(),
            state.pdp_val.into(),
            (state.pdp_unknown_sec as i64).into(),
            cv.into(),
            cu.into(),
        ],
    ));
}

/// Rewrites the state row of a series.
pub fn save_state(client: &mut SpiClient<'_>, id: i64, state: &State) {
    let (cv, cu) = cdp_arrays(state);
    spi(client.update(
        "UPDATE rrd.state SET last_up = $2, last_ds = $3, pdp_val = $4, pdp_unknown_sec = $5, \
         cdp_val = $6, cdp_unknown = $7 WHERE series_id = $1",
        None,
        &[
            id.into(),
            state.last_up.into(),
            state.last_ds.clone().into(),
            state.pdp_val.into(),
            (state.pdp_unknown_sec as i64).into(),
            cv.into(),
            cu.into(),
        ],
    ));
}

/// Reads chunk rows `chunks` (or all, if `None`) of one archive.
pub fn read_chunks(
    client: &SpiClient<'_>,
    id: i64,
    archive: usize,
    chunks: Option<Vec<i32>>,
) -> BTreeMap<u32, Chunk> {
    let mut out = BTreeMap::new();
    let table = match chunks {
        Some(list) => spi(client.select(
            "SELECT chunk, hi, dp FROM rrd.chunk WHERE series_id = $1 AND archive = $2 AND chunk = ANY($3)",
            None,
            &[id.into(), (archive as i16).into(), list.into()],
        )),
        None => spi(client.select(
            "SELECT chunk, hi, dp FROM rrd.chunk WHERE series_id = $1 AND archive = $2",
            None,
            &[id.into(), (archive as i16).into()],
        )),
    };
    for row in table {
        let c: Option<i32> = spi(row.get(1));
        let hi: Option<i64> = spi(row.get(2));
        let dp: Option<Vec<f64>> = spi(row.get(3));
        if let (Some(c), Some(hi), Some(dp)) = (c, hi, dp) {
            out.insert(c as u32, Chunk { hi, dp });
        }
    }
    out
}

/// Applies the engine's runs: each touched chunk row is read once and
/// written once, whatever number of its slots changed. Unknown runs touch
/// nothing (see `ring`).
pub fn apply_runs(client: &mut SpiClient<'_>, series: &Series, runs: &[Run]) {
    for (a, archive) in series.def.archives.iter().enumerate() {
        let ring = Ring::new(archive.rows, series.width);
        let mut per_chunk = BTreeMap::new();
        for r in runs.iter().filter(|r| r.archive == a) {
            ring.spread(r.first_slot, r.count, r.value, &mut per_chunk);
        }
        if per_chunk.is_empty() {
            continue;
        }
        let wanted: Vec<i32> = per_chunk.keys().map(|&c| c as i32).collect();
        let old = read_chunks(client, series.id, a, Some(wanted));
        for (c, new) in per_chunk {
            let existing = old.get(&c);
            let Some(chunk) = ring.merge(c, existing, &new) else {
                continue;
            };
            let args = [
                series.id.into(),
                (a as i16).into(),
                (c as i32).into(),
                chunk.hi.into(),
                chunk.dp.into(),
            ];
            let sql = if existing.is_some() {
                "UPDATE rrd.chunk SET hi = $4, dp = $5 WHERE series_id = $1 AND archive = $2 AND chunk = $3"
            } else {
                "INSERT INTO rrd.chunk (series_id, archive, chunk, hi, dp) VALUES ($1, $2, $3, $4, $5)"
            };
            spi(client.update(sql, None, &args));
        }
    }
}
