//! The reads of `rrd.verify` (docs/reliability.md): rows that belong to
//! no series, counts that disagree, the chunk rows of series. Every read
//! runs in the calling statement's snapshot, so that rows written by
//! others meanwhile do not look like damage.

use std::collections::HashMap;

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use rrd_core::verify::ChunkRow;

use super::run;
use crate::sqlstate::spi;

/// The ids and names of the series, ascending by id: all, or the one
/// named.
pub fn series(client: &SpiClient<'_>, name: Option<&str>) -> Vec<(i64, String)> {
    let table = match name {
        Some(n) => run(
            client,
            "SELECT id, name FROM rrd.series WHERE name = $1",
            &[pg_sys::TEXTOID],
            &[n.into()],
            false,
        ),
        None => run(
            client,
            "SELECT id, name FROM rrd.series ORDER BY id",
            &[],
            &[],
            false,
        ),
    };
    table
        .filter_map(|row| Some((spi(row.get::<i64>(1))?, spi(row.get::<String>(2))?)))
        .collect()
}

/// The chunk rows of the series `ids`: archive, chunk and length.
pub fn chunk_rows(client: &SpiClient<'_>, ids: &[i64]) -> HashMap<i64, Vec<ChunkRow>> {
    let table = run(
        client,
        "SELECT series_id, archive, chunk, pg_catalog.cardinality(dp) FROM rrd.chunk \
         WHERE series_id = ANY ($1)",
        &[pg_sys::INT8ARRAYOID],
        &[ids.to_vec().into()],
        false,
    );
    let mut out: HashMap<i64, Vec<ChunkRow>> = HashMap::new();
    for row in table {
        let id: i64 = spi(row.get(1)).unwrap_or_default();
        out.entry(id).or_default().push(ChunkRow {
            archive: spi(row.get::<i16>(2)).map_or(-1, i32::from),
            chunk: spi(row.get::<i32>(3)).unwrap_or(-1),
            len: spi(row.get::<i32>(4)).unwrap_or(0).max(0) as usize,
        });
    }
    out
}

/// Which of `ids` are marked as written directly (`rrd.tip`): their lane's
/// tips are stale until the next journaling statement.
pub fn marked_direct(client: &SpiClient<'_>, ids: &[i64]) -> Vec<i64> {
    run(
        client,
        "SELECT series_id FROM rrd.tip WHERE series_id = ANY ($1)",
        &[pg_sys::INT8ARRAYOID],
        &[ids.to_vec().into()],
        false,
    )
    .filter_map(|row| spi(row.get::<i64>(1)))
    .collect()
}

/// Problems of the tables as a whole, each described: rows that belong to
/// no series, series without a state row, lanes whose count of pending
/// points is not what their journal rows hold.
pub fn orphans(client: &SpiClient<'_>) -> Vec<String> {
    let checks: [&'static str; 6] = [
        "SELECT 'a state row of series id ' || s.series_id || ', which does not exist' \
         FROM rrd.state s WHERE NOT EXISTS (SELECT FROM rrd.series r WHERE r.id = s.series_id)",
        "SELECT 'chunk rows of series id ' || c.series_id || ', which does not exist' \
         FROM (SELECT DISTINCT series_id FROM rrd.chunk) c \
         WHERE NOT EXISTS (SELECT FROM rrd.series r WHERE r.id = c.series_id)",
        "SELECT 'series \"' || r.name || '\" has no state row' \
         FROM rrd.series r WHERE NOT EXISTS (SELECT FROM rrd.state s WHERE s.series_id = r.id)",
        "SELECT 'a tip mark of series id ' || t.series_id || ', which does not exist' \
         FROM rrd.tip t WHERE NOT EXISTS (SELECT FROM rrd.series r WHERE r.id = t.series_id)",
        "SELECT 'lane ' || l.lane || ' counts ' || l.pending || ' pending points, its journal rows hold ' \
                || coalesce(j.n, 0) \
         FROM rrd.lane l LEFT JOIN (SELECT lane, sum(pg_catalog.cardinality(slots)) AS n \
                                    FROM rrd.journal GROUP BY lane) j ON j.lane = l.lane \
         WHERE l.pending <> coalesce(j.n, 0)",
        "SELECT 'journal rows of lane ' || j.lane || ', which has no lane row' \
         FROM (SELECT DISTINCT lane FROM rrd.journal) j \
         WHERE NOT EXISTS (SELECT FROM rrd.lane l WHERE l.lane = j.lane)",
    ];
    let mut out = Vec::new();
    for sql in checks {
        out.extend(run(client, sql, &[], &[], false).filter_map(|row| spi(row.get::<String>(1))));
    }
    out
}
