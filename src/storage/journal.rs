//! The journal's tables (`sql/journal.sql`): lane locks, lane rows with
//! their tips, journal rows, and the markers of series written directly.

use std::collections::{BTreeMap, HashMap};

use pgrx::pg_sys;
use pgrx::spi::SpiClient;
use pgrx::Array;

use rrd_core::batch::Value;
use rrd_core::error::{Result, RrdError};
use rrd_core::journal::{LaneRow, LANE_WIDTH};

use super::run;
use crate::sqlstate::spi;

/// How a statement holds a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Writes one series directly: many such writers share a lane.
    Shared,
    /// Journals points, folds, or changes a series: alone in the lane.
    Alone,
}

/// Marks pg_rrd's lane locks among advisory locks: SQL's advisory lock
/// functions use 1 and 2 here, so no user lock ever equals one of ours.
const LANE_LOCK_FIELD4: u16 = 0x5252;

fn lane_tag(lane: i64) -> pg_sys::LOCKTAG {
    pg_sys::LOCKTAG {
        // SAFETY: set once per backend before any SQL runs.
        locktag_field1: unsafe { pg_sys::MyDatabaseId }.to_u32(),
        locktag_field2: (lane >> 32) as u32,
        locktag_field3: lane as u32,
        locktag_field4: LANE_LOCK_FIELD4,
        locktag_type: pg_sys::LockTagType::LOCKTAG_ADVISORY as u8,
        locktag_lockmethodid: pg_sys::USER_LOCKMETHOD as u8,
    }
}

/// Takes the lock of `lane` until the transaction ends (or the
/// subtransaction that took it aborts); true if this call took it, false
/// if the transaction already held it. Waits, as a row lock does; the
/// deadlock detector sees these waits.
pub fn lock_lane(lane: i64, hold: Hold) -> bool {
    let tag = lane_tag(lane);
    let mode = match hold {
        Hold::Shared => pg_sys::ShareLock,
        Hold::Alone => pg_sys::ExclusiveLock,
    };
    // SAFETY: a valid tag; the lock manager reports failures by ereport.
    let got = unsafe { pg_sys::LockAcquire(&tag, mode as pg_sys::LOCKMODE, false, false) };
    got == pg_sys::LockAcquireResult::LOCKACQUIRE_OK
}

/// Gives back a lock [`lock_lane`] took in this statement (and only then:
/// a lock held since an earlier statement protects what that wrote).
pub fn unlock_lane(lane: i64, hold: Hold) {
    let tag = lane_tag(lane);
    let mode = match hold {
        Hold::Shared => pg_sys::ShareLock,
        Hold::Alone => pg_sys::ExclusiveLock,
    };
    // SAFETY: as above.
    unsafe {
        pg_sys::LockRelease(&tag, mode as pg_sys::LOCKMODE, false);
    }
}

/// Takes the locks of `lanes`, in ascending order: every statement that
/// holds several takes them so, and locks taken in one order never wait
/// on each other in a cycle.
pub fn lock_lanes(lanes: &[i64], hold: Hold) {
    let mut sorted = lanes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for (i, &lane) in sorted.iter().enumerate() {
        crate::interrupts::every(i);
        lock_lane(lane, hold);
    }
}

/// A lane row: its series' packed tips, its pending points, and how many
/// of those the last fold held back in lateness windows.
#[derive(Debug, Clone)]
pub struct Lane {
    pub tips: Vec<i64>,
    pub pending: i64,
    pub held: i64,
}

impl Lane {
    /// Pending points a fold could apply: those added since the last fold.
    pub fn foldable(&self) -> i64 {
        self.pending - self.held
    }
}

const LOCK_LANES: &str = "SELECT lane, tips, pending, held FROM rrd.lane \
     WHERE lane = ANY($1) ORDER BY lane FOR NO KEY UPDATE";

const READ_LANE: &str = "SELECT lane, tips, pending, held FROM rrd.lane WHERE lane = ANY($1)";

thread_local! {
    /// Whether `rrd.lane.held` was seen to exist: once it has, it stays.
    static HELD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the lane rows count held points: not under a catalog of 0.1.0
/// that the new library serves until `ALTER EXTENSION pg_rrd UPDATE`,
/// where no series has a lateness window (their creation is refused).
pub fn windows_supported(client: &SpiClient<'_>) -> bool {
    super::catalog_has(
        client,
        &HELD,
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute \
         WHERE attrelid = 'rrd.lane'::pg_catalog.regclass AND attname = 'held' \
         AND NOT attisdropped)",
    )
}

/// Refuses a lateness window under a catalog that cannot hold one back.
pub fn check_windows(client: &SpiClient<'_>, def: &rrd_core::def::Definition) -> Result<()> {
    if def.lateness > 0 && !windows_supported(client) {
        return Err(RrdError::Unsupported {
            msg: "a lateness window needs pg_rrd 0.2.0's tables: run ALTER EXTENSION pg_rrd UPDATE"
                .into(),
        });
    }
    Ok(())
}

/// The read of lane rows the catalog can run: without the held count
/// under 0.1.0.
fn lane_sql(client: &SpiClient<'_>, lock: bool) -> &'static str {
    match (windows_supported(client), lock) {
        (true, true) => LOCK_LANES,
        (true, false) => READ_LANE,
        (false, true) => LOCK_LANES_0_1,
        (false, false) => READ_LANE_0_1,
    }
}

const LOCK_LANES_0_1: &str = "SELECT lane, tips, pending, 0::int8 FROM rrd.lane \
     WHERE lane = ANY($1) ORDER BY lane FOR NO KEY UPDATE";

const READ_LANE_0_1: &str =
    "SELECT lane, tips, pending, 0::int8 FROM rrd.lane WHERE lane = ANY($1)";

const ADD_LANES: &str = "INSERT INTO rrd.lane (lane, tips) \
     SELECT l, pg_catalog.array_fill(0::int8, ARRAY[128]) FROM pg_catalog.unnest($1::int8[]) AS l \
     ON CONFLICT (lane) DO NOTHING";

/// The rows of `lanes` (creating the missing ones). With `lock`, locks
/// them against other writers of the rows (the caller holds the lanes
/// [`Hold::Alone`]; under REPEATABLE READ this is what turns a lane
/// changed since the snapshot into a serialization failure).
pub fn lanes(client: &SpiClient<'_>, lanes: &[i64], lock: bool) -> Result<HashMap<i64, Lane>> {
    let read = |list: &[i64]| -> Result<HashMap<i64, Lane>> {
        let table = run(
            client,
            lane_sql(client, lock),
            &[pg_sys::INT8ARRAYOID],
            &[list.to_vec().into()],
            true,
        );
        let mut out = HashMap::with_capacity(list.len());
        for row in table {
            let (lane, decoded) = lane_row(&row);
            let decoded = decoded.map_err(|msg| RrdError::Corrupt { msg })?;
            out.insert(lane, decoded);
        }
        Ok(out)
    };
    let mut out = read(lanes)?;
    let missing: Vec<i64> = lanes
        .iter()
        .copied()
        .filter(|l| !out.contains_key(l))
        .collect();
    if !missing.is_empty() {
        run(
            client,
            ADD_LANES,
            &[pg_sys::INT8ARRAYOID],
            &[missing.clone().into()],
            true,
        );
        out.extend(read(&missing)?);
    }
    Ok(out)
}

/// The rows of those of `lanes` that have one, as the calling statement
/// sees them (a read: nothing is created or locked). A row whose tips are
/// not one per place is given with what is wrong.
pub fn read_lanes(
    client: &SpiClient<'_>,
    lanes: &[i64],
) -> HashMap<i64, std::result::Result<Lane, String>> {
    let table = run(
        client,
        lane_sql(client, false),
        &[pg_sys::INT8ARRAYOID],
        &[lanes.to_vec().into()],
        false,
    );
    table.map(|row| lane_row(&row)).collect()
}

/// A row of `rrd.lane` (lane, tips, pending, held): its lane, and its contents
/// or what is wrong with them.
fn lane_row(row: &pgrx::spi::SpiHeapTupleData<'_>) -> (i64, std::result::Result<Lane, String>) {
    let lane: i64 = spi(row.get(1)).unwrap_or_default();
    let tips: Vec<Option<i64>> = spi(row.get(2)).unwrap_or_default();
    let pending: i64 = spi(row.get(3)).unwrap_or_default();
    let held: i64 = spi(row.get(4)).unwrap_or_default();
    if tips.len() != LANE_WIDTH {
        return (
            lane,
            Err(format!(
                "lane {lane} holds {} tips, not {LANE_WIDTH}",
                tips.len()
            )),
        );
    }
    let tips = tips.into_iter().map(|t| t.unwrap_or(0)).collect();
    (
        lane,
        Ok(Lane {
            tips,
            pending,
            held,
        }),
    )
}

/// Creates the row of `lane` if it has none (at the creation of a series,
/// so that writers seldom have to).
pub fn ensure_lane(client: &SpiClient<'_>, lane: i64) {
    run(
        client,
        ADD_LANES,
        &[pg_sys::INT8ARRAYOID],
        &[vec![lane].into()],
        true,
    );
}

const SAVE_LANES: &str = "UPDATE rrd.lane l SET tips = $2[u.o + 1 : u.o + 128], \
     pending = l.pending + u.n \
     FROM ROWS FROM (pg_catalog.unnest($1::int8[]), pg_catalog.unnest($3::int8[]), \
                     pg_catalog.unnest($4::int4[])) AS u(lane, n, o) \
     WHERE l.lane = u.lane";

/// Stores the tips of `lanes` and adds `added` points to their pending
/// counts: one statement for every lane.
pub fn save_lanes(client: &SpiClient<'_>, lanes: &[(i64, &[i64], i64)]) {
    if lanes.is_empty() {
        return;
    }
    let ids: Vec<i64> = lanes.iter().map(|l| l.0).collect();
    let mut tips = Vec::with_capacity(lanes.len() * LANE_WIDTH);
    for l in lanes {
        tips.extend_from_slice(l.1);
    }
    let added: Vec<i64> = lanes.iter().map(|l| l.2).collect();
    let offs: Vec<i32> = (0..lanes.len()).map(|i| (i * LANE_WIDTH) as i32).collect();
    use pg_sys::*;
    run(
        client,
        SAVE_LANES,
        &[INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT4ARRAYOID],
        &[ids.into(), tips.into(), added.into(), offs.into()],
        true,
    );
}

const APPEND: &str = "INSERT INTO rrd.journal (lane, slots, t, v, vt) \
     SELECT u.lane, $2[u.so + 1 : u.so + u.sn], $3[u.tof + 1 : u.tof + u.tn], \
            $4[u.so + 1 : u.so + u.sn], \
            CASE WHEN u.text THEN $5[u.so + 1 : u.so + u.sn] END \
     FROM ROWS FROM (pg_catalog.unnest($1::int8[]), pg_catalog.unnest($6::int4[]), \
                     pg_catalog.unnest($7::int4[]), pg_catalog.unnest($8::int4[]), \
                     pg_catalog.unnest($9::int4[]), pg_catalog.unnest($10::bool[])) \
       AS u(lane, so, sn, tof, tn, text)";

/// Appends one journal row per lane, all in one statement.
pub fn append(client: &SpiClient<'_>, rows: &[(i64, &LaneRow)]) {
    if rows.is_empty() {
        return;
    }
    let mut lanes = Vec::with_capacity(rows.len());
    let (mut slots, mut times, mut values) = (Vec::new(), Vec::new(), Vec::new());
    let mut text: Vec<Option<std::string::String>> = Vec::new();
    let (mut so, mut sn, mut to, mut tn, mut has_text) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let any_text = rows.iter().any(|r| r.1.text.is_some());
    for &(lane, row) in rows {
        lanes.push(lane);
        so.push(slots.len() as i32);
        sn.push(row.slots.len() as i32);
        to.push(times.len() as i32);
        tn.push(row.times.len() as i32);
        has_text.push(row.text.is_some());
        slots.extend_from_slice(&row.slots);
        times.extend_from_slice(&row.times);
        values.extend_from_slice(&row.values);
        if any_text {
            match &row.text {
                Some(t) => text.extend(t.iter().cloned()),
                None => text.extend(std::iter::repeat_n(None, row.slots.len())),
            }
        }
    }
    use pg_sys::*;
    run(
        client,
        APPEND,
        &[
            INT8ARRAYOID,
            INT2ARRAYOID,
            INT8ARRAYOID,
            FLOAT8ARRAYOID,
            TEXTARRAYOID,
            INT4ARRAYOID,
            INT4ARRAYOID,
            INT4ARRAYOID,
            INT4ARRAYOID,
            BOOLARRAYOID,
        ],
        &[
            lanes.into(),
            slots.into(),
            times.into(),
            values.into(),
            text.into(),
            so.into(),
            sn.into(),
            to.into(),
            tn.into(),
            has_text.into(),
        ],
        true,
    );
}

/// The journal rows of `lanes`, by lane. `mutating` for a writer, which
/// must see what it wrote earlier in the transaction.
pub fn rows(
    client: &SpiClient<'_>,
    lanes: &[i64],
    mutating: bool,
) -> Result<BTreeMap<i64, Vec<LaneRow>>> {
    let mut out: BTreeMap<i64, Vec<LaneRow>> = BTreeMap::new();
    if lanes.is_empty() {
        return Ok(out);
    }
    let table = run(
        client,
        "SELECT lane, slots, t, v, vt FROM rrd.journal WHERE lane = ANY($1)",
        &[pg_sys::INT8ARRAYOID],
        &[lanes.to_vec().into()],
        mutating,
    );
    for (i, row) in table.enumerate() {
        crate::interrupts::every(i);
        let lane: i64 = spi(row.get(1)).unwrap_or_default();
        let corrupt = |what: &str| RrdError::Corrupt {
            msg: format!("journal row of lane {lane}: {what}"),
        };
        let slots: Array<i16> = spi(row.get(2)).ok_or_else(|| corrupt("slots are NULL"))?;
        let times: Array<i64> = spi(row.get(3)).ok_or_else(|| corrupt("times are NULL"))?;
        let values: Array<f64> = spi(row.get(4)).ok_or_else(|| corrupt("values are NULL"))?;
        let text: Option<Vec<Option<String>>> = spi(row.get(5));
        let row = LaneRow {
            slots: dense(&slots).ok_or_else(|| corrupt("a slot is NULL"))?,
            times: dense(&times).ok_or_else(|| corrupt("a time is NULL"))?,
            values: match values.as_slice() {
                Ok(v) => v.to_vec(),
                Err(_) => values.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
            },
            text,
        };
        out.entry(lane).or_default().push(row);
    }
    Ok(out)
}

/// The elements of an array that holds no NULL, copied at once.
fn dense<T>(a: &Array<'_, T>) -> Option<Vec<T>>
where
    T: pgrx::array::Scalar,
    for<'x> T: pgrx::datum::UnboxDatum<As<'x> = T>,
{
    match a.as_slice() {
        Ok(s) => Some(s.to_vec()),
        Err(_) => a.iter().collect(),
    }
}

/// The pending points of series `id`, in time order, picked out of its
/// lane's journal rows by the server (a read of one series; `mutating` for
/// a writer, which must see what it wrote earlier in the transaction).
pub fn points_of(client: &SpiClient<'_>, id: i64, mutating: bool) -> Result<Vec<(i64, Value)>> {
    let table = run(
        client,
        "SELECT CASE WHEN pg_catalog.cardinality(j.t) = 1 THEN j.t[1] ELSE j.t[p.i] END, \
                j.v[p.i], j.vt[p.i] \
         FROM rrd.journal j, \
              pg_catalog.unnest(pg_catalog.array_positions(j.slots, ($1 & 127)::int2)) AS p(i) \
         WHERE j.lane = $1 >> 7",
        &[pg_sys::INT8OID],
        &[id.into()],
        mutating,
    );
    let mut out = Vec::new();
    for (i, row) in table.enumerate() {
        crate::interrupts::every(i);
        let t: i64 = spi(row.get(1)).ok_or_else(|| RrdError::Corrupt {
            msg: format!("journal point of series {id} without a time"),
        })?;
        let v: Option<f64> = spi(row.get(2));
        let text: Option<String> = spi(row.get(3));
        let value = match text {
            Some(s) => Value::Text(s),
            None => Value::from_float(v),
        };
        out.push((t, value));
    }
    if out.windows(2).any(|w| w[0].0 > w[1].0) {
        out.sort_by_key(|p| p.0);
    }
    Ok(out)
}

/// Removes the journal rows of `lanes` and zeroes their pending counts:
/// the end of their fold.
pub fn clear(client: &SpiClient<'_>, lanes: &[i64]) {
    run(
        client,
        "DELETE FROM rrd.journal WHERE lane = ANY($1)",
        &[pg_sys::INT8ARRAYOID],
        &[lanes.to_vec().into()],
        true,
    );
    let sql = if windows_supported(client) {
        "UPDATE rrd.lane SET pending = 0, held = 0 WHERE lane = ANY($1) AND pending <> 0"
    } else {
        "UPDATE rrd.lane SET pending = 0 WHERE lane = ANY($1) AND pending <> 0"
    };
    run(
        client,
        sql,
        &[pg_sys::INT8ARRAYOID],
        &[lanes.to_vec().into()],
        true,
    );
}

/// Puts back, after [`clear`], the points a fold held back in lateness
/// windows: one journal row per lane, counted as pending and held.
pub fn hold(client: &SpiClient<'_>, rows: &[(i64, &LaneRow)]) {
    if rows.is_empty() {
        return;
    }
    append(client, rows);
    let lanes: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let counts: Vec<i64> = rows.iter().map(|r| r.1.len() as i64).collect();
    run(
        client,
        "UPDATE rrd.lane l SET pending = u.n, held = u.n \
         FROM ROWS FROM (pg_catalog.unnest($1::int8[]), pg_catalog.unnest($2::int8[])) AS u(lane, n) \
         WHERE l.lane = u.lane",
        &[pg_sys::INT8ARRAYOID, pg_sys::INT8ARRAYOID],
        &[lanes.into(), counts.into()],
        true,
    );
}

/// Lanes with points a fold could apply (more pending than held back), in
/// order, with their pending counts.
pub fn pending_lanes(client: &SpiClient<'_>) -> Vec<(i64, i64)> {
    run(
        client,
        if windows_supported(client) {
            "SELECT lane, pending FROM rrd.lane WHERE pending > held ORDER BY lane"
        } else {
            "SELECT lane, pending FROM rrd.lane WHERE pending > 0 ORDER BY lane"
        },
        &[],
        &[],
        true,
    )
    .filter_map(|row| Some((spi(row.get(1))?, spi(row.get(2))?)))
    .collect()
}

/// Points pending in every lane.
pub fn pending_total(client: &SpiClient<'_>) -> i64 {
    run(
        client,
        "SELECT coalesce(sum(pending), 0)::int8 FROM rrd.lane",
        &[],
        &[],
        false,
    )
    .next()
    .and_then(|row| spi(row.get(1)))
    .unwrap_or(0)
}

/// Marks series `id` as written directly (see `sql/journal.sql`).
pub fn mark_direct(client: &SpiClient<'_>, id: i64) {
    run(
        client,
        "INSERT INTO rrd.tip (series_id, lane) VALUES ($1, $1 >> 7) ON CONFLICT DO NOTHING",
        &[pg_sys::INT8OID],
        &[id.into()],
        true,
    );
}

/// Takes the markers of `lanes` away: the series written directly since
/// their lanes' tips were set, with their states' last update and last
/// input.
pub fn take_direct(client: &SpiClient<'_>, lanes: &[i64]) -> Vec<(i64, i64, Option<String>)> {
    run(
        client,
        "WITH d AS (DELETE FROM rrd.tip WHERE lane = ANY($1) RETURNING series_id) \
         SELECT st.series_id, st.last_up, st.last_ds FROM d JOIN rrd.state st USING (series_id)",
        &[pg_sys::INT8ARRAYOID],
        &[lanes.to_vec().into()],
        true,
    )
    .filter_map(tip_row)
    .collect()
}

/// A row of `(series id, last update, last input)`.
fn tip_row(row: pgrx::spi::SpiHeapTupleData<'_>) -> Option<(i64, i64, Option<String>)> {
    Some((
        spi(row.get(1))?,
        spi(row.get(2))?,
        spi::<Option<String>>(row.get(3)),
    ))
}

/// The last update and last input of series `ids` as their state rows hold
/// them.
pub fn state_tips(client: &SpiClient<'_>, ids: &[i64]) -> Vec<(i64, i64, Option<String>)> {
    if ids.is_empty() {
        return Vec::new();
    }
    run(
        client,
        "SELECT series_id, last_up, last_ds FROM rrd.state WHERE series_id = ANY($1)",
        &[pg_sys::INT8ARRAYOID],
        &[ids.to_vec().into()],
        true,
    )
    .filter_map(tip_row)
    .collect()
}
