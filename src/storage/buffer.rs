//! Points of series this transaction has already written directly, kept
//! in memory until the transaction commits (or something reads them).
//!
//! Row-by-row SQL (`SELECT rrd.update(name, t, v) FROM old ORDER BY t`)
//! makes one call per point. Written through, each call would leave a
//! version of its series' state row that nothing can prune before the
//! commit, and every later call would step over all of them. Instead, the
//! first write of a series in a transaction is direct and locks its state
//! row; later small writes of it are checked as the engine would check them
//! and kept here, and written once, with the same engine, when the
//! transaction is about to commit, when a part fills, or before anything
//! else looks at the series' rows (reads, journal writes, folds, changes).
//!
//! Subtransactions: a point belongs to the subtransaction that wrote it,
//! and goes with it if it aborts. Points written out inside a
//! subtransaction that later aborts come back into the buffer (the writing
//! rolled back with it).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::c_void;

use pgrx::pg_sys::{self, SubTransactionId};
use pgrx::prelude::*;
use pgrx::spi::Spi;

use rrd_core::batch::{Batch, OnBad, SeriesWork, Value};
use rrd_core::error::Result;
use rrd_core::journal::{self, Tip};

use super::state::Series;

/// Most points kept in all before they are written out.
const BUFFER_POINTS: usize = 1 << 16;

/// The subtransaction id of the top level.
const TOP: SubTransactionId = 1;

/// Kept points: time, value, and the subtransaction that wrote them.
type Kept = Vec<(i64, Value, SubTransactionId)>;

/// A series this transaction wrote directly, holding its state row.
struct Owned {
    name: String,
    /// The subtransaction whose write locked the state row.
    since: SubTransactionId,
    /// The series as last written.
    base: Series,
    /// The tip after `base` and `points`.
    tip: Tip,
    points: Kept,
    /// Set by [`release`], in that subtransaction: the series' rows may
    /// change by other means, so its writes are direct again.
    released: Option<SubTransactionId>,
}

/// What a series' entry held before a write inside subtransaction `at`
/// (kept points written out, or a direct write), for its abort.
struct Shadow {
    at: SubTransactionId,
    id: i64,
    base: Series,
    points: Kept,
    released: Option<SubTransactionId>,
}

thread_local! {
    static OWNED: RefCell<HashMap<i64, Owned>> = RefCell::new(HashMap::new());
    static SHADOWS: RefCell<Vec<Shadow>> = const { RefCell::new(Vec::new()) };
    static BUFFERED: Cell<usize> = const { Cell::new(0) };
    static CALLBACKS: Cell<bool> = const { Cell::new(false) };
}

fn current_subxact() -> SubTransactionId {
    // SAFETY: inside a transaction.
    unsafe { pg_sys::GetCurrentSubTransactionId() }
}

/// Records that this transaction wrote `series` (named `name`) directly,
/// so that its next small writes are kept here.
/// The caller has written out this series' kept points first.
pub fn own(name: &str, series: Series) {
    ensure_callbacks();
    let sub = current_subxact();
    let tip = Tip::of(&series.state);
    OWNED.with(|o| {
        let mut owned = o.borrow_mut();
        match owned.get_mut(&series.id) {
            Some(known) => {
                // Held since earlier; what this write replaces comes back
                // if its subtransaction aborts.
                if sub != TOP {
                    SHADOWS.with(|sh| {
                        sh.borrow_mut().push(Shadow {
                            at: sub,
                            id: series.id,
                            base: known.base.clone(),
                            points: std::mem::take(&mut known.points),
                            released: known.released,
                        })
                    });
                }
                known.base = series;
                known.tip = tip;
                known.released = None;
            }
            None => {
                owned.insert(
                    series.id,
                    Owned {
                        name: name.to_string(),
                        since: sub,
                        base: series,
                        tip,
                        points: Vec::new(),
                        released: None,
                    },
                );
            }
        }
    });
}

/// Keeps the points of `batch` (one series, `id`) if this transaction owns
/// the series and the batch is small: checked now, with the engine's
/// errors, written later. `None` when not kept (the caller writes
/// directly); otherwise the points skipped.
pub fn keep(id: i64, batch: &Batch, on_bad: OnBad) -> Option<Result<i64>> {
    if batch.points.len() > BUFFER_POINTS / 16 {
        return None;
    }
    let sub = current_subxact();
    let kept = OWNED.with(|o| {
        let mut owned = o.borrow_mut();
        let series = owned.get_mut(&id).filter(|s| s.released.is_none())?;
        let mut tip = series.tip.clone();
        let mut new = Vec::with_capacity(batch.points.len());
        let mut skipped = 0;
        let mut text = String::new();
        for (i, p) in batch.points.iter().enumerate() {
            let def = &series.base.def;
            let pos = i as u64 + 1;
            let checked = journal::check_point(
                def,
                &series.name,
                &tip,
                pos,
                p.t_us,
                &p.value,
                on_bad,
                &mut text,
            );
            match checked {
                Ok(journal::Checked::In(next)) => {
                    tip = next;
                    new.push((p.t_us, p.value.clone(), sub));
                }
                Ok(journal::Checked::Skipped) => skipped += 1,
                Err(e) => return Some(Err(e)),
            }
        }
        series.tip = tip;
        BUFFERED.with(|b| b.set(b.get() + new.len()));
        series.points.extend(new);
        Some(Ok(skipped))
    })?;
    if kept.is_ok() && BUFFERED.with(Cell::get) >= BUFFER_POINTS {
        if let Err(e) = write_out() {
            return Some(Err(e));
        }
    }
    Some(kept)
}

/// Writes every kept point: each series' state row and changed chunk rows
/// once. Called before anything reads or changes series rows.
pub fn write_out() -> Result<()> {
    if BUFFERED.with(Cell::get) == 0 {
        return Ok(());
    }
    let sub = current_subxact();
    let taken: Vec<(i64, String, Series, Kept)> = OWNED.with(|o| {
        o.borrow_mut()
            .iter_mut()
            .filter(|(_, s)| !s.points.is_empty())
            .map(|(id, s)| {
                (
                    *id,
                    s.name.clone(),
                    s.base.clone(),
                    std::mem::take(&mut s.points),
                )
            })
            .collect()
    });
    BUFFERED.with(|b| b.set(0));
    let works: Vec<SeriesWork> = taken
        .iter()
        .map(|(_, name, base, points)| {
            let pts: Vec<(i64, Value)> = points.iter().map(|(t, v, _)| (*t, v.clone())).collect();
            super::state::run_pending(base, name.clone(), &pts)
        })
        .collect();
    // At commit no statement is running, and SPI needs a snapshot.
    // SAFETY: pushed and popped here, inside the transaction.
    let pushed = unsafe {
        if pg_sys::ActiveSnapshotSet() {
            false
        } else {
            pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
            true
        }
    };
    Spi::connect_mut(|client| {
        let refs: Vec<&SeriesWork> = works.iter().collect();
        super::state::save_states_held(client, &refs);
        super::chunk::write_chunks(client, &refs);
    });
    if pushed {
        // SAFETY: the snapshot pushed above.
        unsafe { pg_sys::PopActiveSnapshot() };
    }
    OWNED.with(|o| {
        let mut owned = o.borrow_mut();
        for ((id, _, base, points), work) in taken.into_iter().zip(works) {
            if let Some(s) = owned.get_mut(&id) {
                let mut next = base.clone();
                next.state = work.state;
                next.holes = work.holes;
                if sub != TOP {
                    let released = s.released;
                    SHADOWS.with(|sh| {
                        sh.borrow_mut().push(Shadow {
                            at: sub,
                            id,
                            base,
                            points,
                            released,
                        })
                    });
                }
                s.base = next;
            }
        }
    });
    Ok(())
}

/// Writes every kept point and gives up the series: their next writes are
/// direct again. For the calls that change series rows other than by a
/// direct write (journaling, changes of definition, drop).
pub fn release() -> Result<()> {
    write_out()?;
    let sub = current_subxact();
    OWNED.with(|o| {
        for s in o.borrow_mut().values_mut() {
            s.released.get_or_insert(sub);
        }
    });
    Ok(())
}

fn ensure_callbacks() {
    if !CALLBACKS.with(|c| c.replace(true)) {
        // SAFETY: registered once per backend, for its whole life.
        unsafe {
            pg_sys::RegisterXactCallback(Some(on_xact), std::ptr::null_mut());
            pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
        }
    }
}

fn clear() {
    OWNED.with(|o| o.borrow_mut().clear());
    SHADOWS.with(|s| s.borrow_mut().clear());
    BUFFERED.with(|b| b.set(0));
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type, _arg: *mut c_void) {
    use pg_sys::XactEvent::*;
    match event {
        XACT_EVENT_PRE_COMMIT | XACT_EVENT_PARALLEL_PRE_COMMIT | XACT_EVENT_PRE_PREPARE => {
            if let Err(e) = write_out() {
                crate::sqlstate::raise(e);
            }
        }
        _ => clear(),
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    my_subid: SubTransactionId,
    parent: SubTransactionId,
    _arg: *mut c_void,
) {
    use pg_sys::SubXactEvent::*;
    match event {
        SUBXACT_EVENT_ABORT_SUB => aborted(my_subid),
        SUBXACT_EVENT_COMMIT_SUB => committed(my_subid, parent),
        _ => {}
    }
}

/// Subtransaction `sub` (and those inside it) aborted: what it wrote out
/// comes back, what it kept goes, and so do the series it first wrote.
fn aborted(sub: SubTransactionId) {
    let shadows: Vec<Shadow> = SHADOWS.with(|s| {
        let mut all = s.borrow_mut();
        let (gone, keep): (Vec<Shadow>, Vec<Shadow>) = all.drain(..).partition(|sh| sh.at >= sub);
        *all = keep;
        gone
    });
    OWNED.with(|o| {
        let mut owned = o.borrow_mut();
        // A release inside the aborted subtransaction is undone (a shadow
        // below may bring back an older one).
        for s in owned.values_mut() {
            if s.released.is_some_and(|r| r >= sub) {
                s.released = None;
            }
        }
        for sh in shadows.into_iter().rev() {
            if let Some(s) = owned.get_mut(&sh.id) {
                s.base = sh.base;
                s.released = sh.released;
                let mut points = sh.points;
                points.append(&mut s.points);
                s.points = points;
            }
        }
        owned.retain(|_, s| s.since < sub);
        let mut total = 0;
        for s in owned.values_mut() {
            s.points.retain(|p| p.2 < sub);
            total += s.points.len();
            // Every point kept was let in on this tip's way.
            let mut tip = Tip::of(&s.base.state);
            let mut text = String::new();
            for (t, v, _) in &s.points {
                let checked = journal::check_point(
                    &s.base.def,
                    &s.name,
                    &tip,
                    0,
                    *t,
                    v,
                    OnBad::Fail,
                    &mut text,
                );
                if let Ok(journal::Checked::In(next)) = checked {
                    tip = next;
                }
            }
            s.tip = tip;
        }
        BUFFERED.with(|b| b.set(total));
    });
}

/// Subtransaction `sub` committed into `parent`: what it did is the
/// parent's now.
fn committed(sub: SubTransactionId, parent: SubTransactionId) {
    OWNED.with(|o| {
        for s in o.borrow_mut().values_mut() {
            if s.since == sub {
                s.since = parent;
            }
            if s.released == Some(sub) {
                s.released = Some(parent);
            }
            for p in &mut s.points {
                if p.2 == sub {
                    p.2 = parent;
                }
            }
        }
    });
    SHADOWS.with(|s| {
        let mut all = s.borrow_mut();
        for sh in all.iter_mut() {
            if sh.at == sub {
                sh.at = parent;
            }
        }
        all.retain(|sh| sh.at != TOP);
    });
}
