//! Letting a cancel in: loops over user-sized input (the points of a
//! batch, the slots of a ring) call these, so that `statement_timeout`,
//! `pg_cancel_backend` and `pg_terminate_backend` stop them within a few
//! thousand items.

use std::cell::Cell;

/// How many items a loop handles between two checks.
const EVERY: u32 = 4096;

/// Checks for a cancel when `i` (a loop's 0-based index) ends a run of
/// [`EVERY`] items.
pub fn every(i: usize) {
    if (i + 1).is_multiple_of(EVERY as usize) {
        pgrx::check_for_interrupts!();
    }
}

/// Checks for a cancel now: for the pure core's readers, which call it
/// every few thousand elements (`rrd_core::import::Tick`).
pub fn check() {
    pgrx::check_for_interrupts!();
}

/// Counts one more item read through a shared counter, and checks for a
/// cancel every [`EVERY`] items.
pub fn tick(count: &Cell<u32>) {
    let n = count.get().wrapping_add(1);
    count.set(n);
    if n.is_multiple_of(EVERY) {
        pgrx::check_for_interrupts!();
    }
}
