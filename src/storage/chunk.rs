//! The chunk rows (`rrd.chunk`): the rings' slots, written at create and
//! once per batch that changes them, read for fetches and changes of shape.

use std::collections::{BTreeMap, HashSet};

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::{SpiClient, SpiTupleTable};

use rrd_core::batch::SeriesWork;
use rrd_core::def::Definition;
use rrd_core::error::RrdError;
use rrd_core::ring::{Fill, Ring, Stored};

use super::run;
use super::state::Series;
use crate::sqlstate::spi;

/// Chunk width of new series: 240 doubles keep a chunk row near 2 KB, under
/// the TOAST threshold with room for HOT updates on its page.
pub const DEFAULT_CHUNK_WIDTH: u64 = 240;

/// Widest chunk row: 1000 doubles and the row's own bytes fill one page.
pub const MAX_CHUNK_WIDTH: u64 = 1000;

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
    insert_archive(client, id, a, rows);
}

/// Inserts the chunk rows of archive `a` of a new series `id`, which has
/// none yet (chunk 0 first).
pub fn insert_archive(client: &SpiClient<'_>, id: i64, a: usize, rows: &[Vec<f64>]) {
    let rows: Vec<(ChunkKey, &[f64])> = rows
        .iter()
        .enumerate()
        .map(|(c, dp)| ((id, a as i16, c as i32), dp.as_slice()))
        .collect();
    insert_chunks(client, &rows);
}

/// Replaces every chunk row of archive `a` of series `id` with those of
/// `fill`, made and inserted a statement's worth at a time so that a ring
/// of millions of rows is never held whole, and a cancel is heard between
/// statements.
pub fn replace_archive_filled<F: Fn(i64) -> f64>(
    client: &SpiClient<'_>,
    id: i64,
    a: usize,
    fill: &Fill<F>,
) {
    replace_archive(client, id, a, &[]);
    insert_archive_filled(client, id, a, fill);
}

/// Inserts the chunk rows of `fill` as archive `a` of series `id`, which
/// has none yet, a statement's worth at a time.
pub fn insert_archive_filled<F: Fn(i64) -> f64>(
    client: &SpiClient<'_>,
    id: i64,
    a: usize,
    fill: &Fill<F>,
) {
    let per = (INSERT_SLOTS as u64 / fill.ring.width.max(1)).clamp(1, u32::MAX as u64) as u32;
    let mut c = 0u32;
    while c < fill.chunk_count() {
        let rows = fill.chunks(c..c.saturating_add(per));
        let keyed: Vec<(ChunkKey, &[f64])> = rows
            .iter()
            .enumerate()
            .map(|(i, dp)| ((id, a as i16, (c as usize + i) as i32), dp.as_slice()))
            .collect();
        insert_chunks(client, &keyed);
        c = c.saturating_add(per);
    }
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
/// it, so the rows never travel to the extension and back. Internal: its
/// name starts with an underscore, and arguments that do not fit a chunk
/// row are refused.
#[pg_extern(immutable, parallel_safe, name = "_set_slots")]
fn set_slots(dp: Array<f64>, offsets: Array<i32>, values: Array<f64>) -> Vec<f64> {
    if offsets.len() != values.len() {
        crate::sqlstate::raise(RrdError::param(format!(
            "rrd._set_slots: offsets and values must have the same length (got {} and {})",
            offsets.len(),
            values.len()
        )));
    }
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
            // The offsets are an argument: a wrong one is a bad parameter,
            // not stored data gone bad.
            None => crate::sqlstate::raise(RrdError::param(format!(
                "rrd._set_slots: slot offset {} is outside a chunk row of {} slots",
                off.map_or_else(|| "NULL".to_string(), |o| o.to_string()),
                out.len()
            ))),
        }
    }
    out
}

const UPDATE_CHUNKS: &str = "UPDATE rrd.chunk c \
     SET dp = rrd._set_slots(c.dp, $4[u.o + 1 : u.o + u.n], $5[u.o + 1 : u.o + u.n]) \
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

/// Reads the chunk rows of archive `a` holding slots `lo..=hi` (every row
/// when the range spans the ring, none when it is empty).
pub fn read_slots(client: &SpiClient<'_>, series: &Series, a: usize, lo: i64, hi: i64) -> Stored {
    let rows = series.def.archives[a].rows;
    let ring = Ring::new(rows, series.width);
    let chunks = if lo > hi {
        BTreeMap::new()
    } else if (hi - lo + 1) as u64 >= rows {
        read_chunks(client, series.id, a, None)
    } else {
        let wanted = ring
            .chunks_between(lo, hi)
            .into_iter()
            .map(|c| c as i32)
            .collect();
        read_chunks(client, series.id, a, Some(wanted))
    };
    let mut chunks = chunks;
    // Pending journal points, over the rows read.
    if let Some(edits) = series.pending.get(a) {
        let wanted: Option<HashSet<u32>> = if lo > hi || (hi - lo + 1) as u64 >= rows {
            None
        } else {
            Some(ring.chunks_between(lo, hi).into_iter().collect())
        };
        for (&c, edit) in edits {
            if lo > hi || wanted.as_ref().is_some_and(|w| !w.contains(&c)) {
                continue;
            }
            let dp = ring.apply_edit(c, chunks.get(&c).map(Vec::as_slice), edit);
            chunks.insert(c, dp);
        }
    }
    Stored {
        ring,
        holes: series.holes[a].clone(),
        chunks,
    }
}

/// Hands chunk rows `from..=to` of archive `a` of series `id` to `each`,
/// upwards by chunk number, each as the slice of its `dp` array where it
/// lies in its page: nothing is copied or kept, so a year of slots costs
/// one pass over its pages. It reads what a read-only statement of the
/// calling query would see (the active snapshot) through the table's
/// primary key, after the same privilege check (SELECT on `rrd.chunk`).
/// A table under row-level security, or a call with no active snapshot, is
/// read through SPI instead. A row whose array is not a one-dimensional
/// array of doubles, which no pg_rrd statement writes, is left out.
pub fn scan_chunks(
    client: &SpiClient<'_>,
    id: i64,
    a: usize,
    (from, to): (u32, u32),
    each: &mut dyn FnMut(u32, &[f64]),
) {
    if from > to {
        return;
    }
    // SAFETY: catalog lookups inside a transaction; a relation opened here
    // is closed here (its lock kept to the end of the transaction, as a
    // statement keeps it), and an error on the way releases both the scan
    // and the relation with the transaction's resources.
    unsafe {
        let table = if pg_sys::ActiveSnapshotSet() {
            ChunkTable::open()
        } else {
            None
        };
        let Some(t) = table else {
            let list: Vec<i32> = (from..=to).map(|c| c as i32).collect();
            for (c, dp) in read_chunks(client, id, a, Some(list)) {
                each(c, &dp);
            }
            return;
        };
        t.scan(id, a as i16, (from as i32, to as i32), each);
        t.close();
    }
}

/// `rrd.chunk` and its primary key, opened for a direct scan.
struct ChunkTable {
    rel: pg_sys::Relation,
    index: pg_sys::Relation,
    /// Attribute numbers of `chunk` and `dp`.
    chunk: i32,
    dp: i32,
}

impl ChunkTable {
    /// Opens the table for reading, or `None` when a direct scan would not
    /// read what a statement reads (row-level security on the table, an
    /// unexpected primary key). Raises PostgreSQL's own error without
    /// SELECT on it.
    unsafe fn open() -> Option<ChunkTable> {
        use pg_sys::*;
        // SAFETY: the caller's (catalog lookups in a transaction).
        unsafe {
            let ns = get_namespace_oid(c"rrd".as_ptr(), false);
            let relid = get_relname_relid(c"chunk".as_ptr(), ns);
            if relid == InvalidOid {
                return None;
            }
            let acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT as AclMode);
            if acl != AclResult::ACLCHECK_OK {
                aclcheck_error(acl, ObjectType::OBJECT_TABLE, c"chunk".as_ptr());
            }
            if check_enable_rls(relid, InvalidOid, false)
                == CheckEnableRlsResult::RLS_ENABLED as i32
            {
                return None;
            }
            let att = |name: &std::ffi::CStr| i32::from(get_attnum(relid, name.as_ptr()));
            let (series_id, archive, chunk, dp) = (
                att(c"series_id"),
                att(c"archive"),
                att(c"chunk"),
                att(c"dp"),
            );
            let rel = table_open(relid, AccessShareLock as LOCKMODE);
            let pk = RelationGetPrimaryKeyIndex(rel);
            if pk == InvalidOid || dp <= 0 || chunk <= 0 {
                table_close(rel, NoLock as LOCKMODE);
                return None;
            }
            let index = index_open(pk, AccessShareLock as LOCKMODE);
            let form = (*index).rd_index;
            // The key must be (series_id, archive, chunk), in that order.
            let keys = (*form).indkey.values.as_slice((*form).indnkeyatts as usize);
            if keys
                .iter()
                .map(|&k| i32::from(k))
                .ne([series_id, archive, chunk])
            {
                index_close(index, NoLock as LOCKMODE);
                table_close(rel, NoLock as LOCKMODE);
                return None;
            }
            Some(ChunkTable {
                rel,
                index,
                chunk,
                dp,
            })
        }
    }

    /// Chunk rows `from..=to` of archive `a` of series `id`, in key order.
    unsafe fn scan(
        &self,
        id: i64,
        a: i16,
        (from, to): (i32, i32),
        each: &mut dyn FnMut(u32, &[f64]),
    ) {
        use pg_sys::*;
        // SAFETY: the relations are open; each tuple and the datums in it
        // are used before the next is fetched, while the scan holds its
        // page pinned.
        unsafe {
            let mut keys: [ScanKeyData; 4] = std::mem::zeroed();
            let key = |k: &mut ScanKeyData, att: i16, strategy: u32, proc_: u32, arg: Datum| {
                ScanKeyInit(k, att, strategy as StrategyNumber, Oid::from(proc_), arg)
            };
            key(
                &mut keys[0],
                1,
                BTEqualStrategyNumber,
                F_INT8EQ,
                Datum::from(id),
            );
            key(
                &mut keys[1],
                2,
                BTEqualStrategyNumber,
                F_INT2EQ,
                Datum::from(a),
            );
            key(
                &mut keys[2],
                3,
                BTGreaterEqualStrategyNumber,
                F_INT4GE,
                Datum::from(from),
            );
            key(
                &mut keys[3],
                3,
                BTLessEqualStrategyNumber,
                F_INT4LE,
                Datum::from(to),
            );
            let scan = systable_beginscan_ordered(
                self.rel,
                self.index,
                GetActiveSnapshot(),
                keys.len() as i32,
                keys.as_mut_ptr(),
            );
            let desc = (*self.rel).rd_att;
            let mut copy: Vec<f64> = Vec::new();
            for i in 0.. {
                crate::interrupts::every(i);
                let tuple = systable_getnext_ordered(scan, ScanDirection::ForwardScanDirection);
                if tuple.is_null() {
                    break;
                }
                let mut null = false;
                let c = heap_getattr(tuple, self.chunk, desc, &mut null);
                if null {
                    continue;
                }
                let c = c.value() as i32;
                let dp = heap_getattr(tuple, self.dp, desc, &mut null);
                if null || c < 0 {
                    continue;
                }
                let stored = dp.cast_mut_ptr::<varlena>();
                let plain = pg_detoast_datum(stored);
                if let Some(slots) = doubles(plain, &mut copy) {
                    prefetch(slots);
                    each(c as u32, slots);
                }
                if plain != stored {
                    pfree(plain.cast());
                }
            }
            systable_endscan_ordered(scan);
        }
    }

    unsafe fn close(self) {
        // SAFETY: opened by `open`; the locks stay to the transaction's end.
        unsafe {
            pg_sys::index_close(self.index, pg_sys::NoLock as pg_sys::LOCKMODE);
            pg_sys::table_close(self.rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        }
    }
}

/// Asks for every cache line of `slots` at once: a row read from its page
/// is rarely in the CPU's caches, and its lines then arrive together
/// rather than one after the other as the sum walks them.
fn prefetch(slots: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    for line in slots.chunks(8) {
        // SAFETY: a prefetch is a hint; it reads nothing and never faults.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
}

/// The doubles of array `p` (detoasted) in place, or copied into `copy`
/// with NULL elements as NaN; `None` for an array of another type or more
/// than one dimension, which no pg_rrd statement writes.
unsafe fn doubles(p: *mut pg_sys::varlena, copy: &mut Vec<f64>) -> Option<&[f64]> {
    use pgrx::array::RawArray;
    // SAFETY: `p` is a detoasted array of the column's type; its header
    // is read before its elements, whose count and type it gives.
    unsafe {
        let mut raw = RawArray::from_ptr(std::ptr::NonNull::new(p.cast())?);
        if raw.oid() != pg_sys::FLOAT8OID || raw.dims().len() > 1 {
            return None;
        }
        let len = raw.len();
        let data = raw.data::<f64>().cast::<f64>();
        match raw.nulls() {
            None if data.as_ptr().is_aligned() => {
                Some(std::slice::from_raw_parts(data.as_ptr(), len))
            }
            nulls => {
                // Elements follow one another, NULLs taking no room.
                let bits = nulls.map(|n| n.as_ref());
                copy.clear();
                let mut next = data.as_ptr();
                for i in 0..len {
                    let known = bits.is_none_or(|b| b[i / 8] & (1 << (i % 8)) != 0);
                    if known {
                        copy.push(next.read_unaligned());
                        next = next.add(1);
                    } else {
                        copy.push(f64::NAN);
                    }
                }
                Some(copy)
            }
        }
    }
}
