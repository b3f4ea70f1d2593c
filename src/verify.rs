//! `rrd.verify` (docs/reliability.md): re-derives what the stored rows of
//! series must agree on and lists every disagreement. Read-only: it takes
//! no lock and runs in the calling statement's snapshot, so a clean result
//! is a statement about one consistent view of the tables.

use std::collections::{HashMap, HashSet};

use pgrx::prelude::*;
use pgrx::spi::Spi;

use rrd_core::journal::{by_series, lane_of, slot_of, Tip};
use rrd_core::verify;

use crate::interrupts;
use crate::storage;

/// Series checked per round, so that memory stays bounded over any number.
const ROUND: usize = 1000;

/// Every problem found in the stored rows of series `name`, or of all
/// series and the tables as a whole when `name` is NULL: one row per
/// problem (`series` NULL for those of no one series). No rows: all is
/// well.
#[pg_extern(stable, name = "verify")]
fn verify(
    name: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(series, Option<String>), name!(problem, String))> {
    TableIterator::new(verify_inner(name))
}

fn verify_inner(name: Option<&str>) -> Vec<(Option<String>, String)> {
    Spi::connect(|client| {
        let mut out: Vec<(Option<String>, String)> = Vec::new();
        if name.is_none() {
            out.extend(
                storage::verify::orphans(client)
                    .into_iter()
                    .map(|p| (None, p)),
            );
        }
        let all = storage::verify::series(client, name);
        if let (Some(n), true) = (name, all.is_empty()) {
            out.push((Some(n.to_string()), "no such series".into()));
        }
        for (r, round) in all.chunks(ROUND).enumerate() {
            interrupts::every(r * ROUND);
            let ids: Vec<i64> = round.iter().map(|(id, _)| *id).collect();
            let stored = storage::state::load_ids_as_stored(client, &ids);
            let mut chunks = storage::verify::chunk_rows(client, &ids);
            let direct: HashSet<i64> = storage::verify::marked_direct(client, &ids)
                .into_iter()
                .collect();
            let mut lanes: Vec<i64> = ids.iter().map(|id| lane_of(*id)).collect();
            lanes.dedup();
            let lane_rows = storage::journal::read_lanes(client, &lanes);
            let journal = match storage::journal::rows(client, &lanes, false) {
                Ok(j) => j,
                Err(e) => {
                    out.push((None, format!("journal: {e}")));
                    Default::default()
                }
            };
            let mut pending: HashMap<i64, HashMap<usize, Vec<_>>> = HashMap::new();
            for (lane, rows) in &journal {
                match by_series(rows) {
                    Ok(p) => {
                        pending.insert(*lane, p.into_iter().collect());
                    }
                    Err(e) => out.push((None, format!("journal of lane {lane}: {e}"))),
                }
            }
            for (lane, row) in &lane_rows {
                if let Err(e) = row {
                    out.push((None, format!("lane {lane}: {e}")));
                }
            }
            for (series_name, loaded) in stored {
                let s = match loaded {
                    Ok(s) => s,
                    Err(e) => {
                        out.push((Some(series_name), format!("state: {e}")));
                        continue;
                    }
                };
                let mut problems = verify::series(
                    &s.def,
                    &s.state,
                    &s.holes,
                    s.width,
                    &chunks.remove(&s.id).unwrap_or_default(),
                );
                let lane = lane_of(s.id);
                let points = pending
                    .get(&lane)
                    .and_then(|p| p.get(&slot_of(s.id)))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let tip = match lane_rows.get(&lane) {
                    Some(Ok(l)) if !direct.contains(&s.id) => Tip::unpack(l.tips[slot_of(s.id)]),
                    _ => None,
                };
                if problems.is_empty() {
                    problems.extend(verify::pending(&s.def, &s.state, points, tip.as_ref()));
                }
                out.extend(problems.into_iter().map(|p| (Some(series_name.clone()), p)));
            }
        }
        out
    })
}
