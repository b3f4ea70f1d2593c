//! Why a fetched slot is unknown ("explain a NULL"). No pgrx.
//!
//! The ring keeps consolidated values only, so the causes of unknown input
//! are recorded as the updates run: [`engine::update_observed`] reports
//! each update whose input counts as unknown, and [`Spans`] keeps those
//! reports for the time the rings still cover. [`explain`] then works out,
//! from the spans alone, which PDPs of a slot the engine closed unknown
//! (the same arithmetic as the engine: its whole-second counts, its test of
//! more than half a PDP unknown, its closing of several PDPs at once), and
//! names the cause.
//!
//! What the record knows and what it cannot:
//! - Every update after [`Spans::since_us`] was observed. Earlier slots are
//!   answered [`Reason::NotRecorded`] (a series that existed before it kept
//!   a record, or spans dropped by the size cap).
//! - The record is exact for finite inputs. An infinite rate can make the
//!   engine's sums NaN (`inf - inf`) with no unknown input at all; such a
//!   slot is answered [`Reason::Unexplained`], never with a made-up cause.
//! - Bounds and xff are those of the definition given to [`explain`]: a
//!   stored rate out of range keeps its value and side (above the max or
//!   below the min), not the bound then in force.
//!
//! [`engine::update_observed`]: crate::engine::update_observed

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::def::{Cf, Definition, DsKind};
use crate::engine::{interval_secs, mostly_unknown_sec, Cause, Span};
use crate::error::{Result, RrdError};
use crate::ring::in_hole;
use crate::time::{self, US};

/// Stored cause codes (the `cause` column). Stored: never renumbered.
mod code {
    /// [`super::Cause::Gap`]; detail: the heartbeat it exceeded, seconds.
    pub const GAP: i16 = 1;
    /// [`super::Cause::Input`].
    pub const INPUT: i16 = 2;
    /// [`super::Cause::NotANumber`].
    pub const NOT_A_NUMBER: i16 = 3;
    /// [`super::Cause::OutOfRange`] above the max; detail: the rate.
    pub const ABOVE_MAX: i16 = 4;
    /// [`super::Cause::OutOfRange`] below the min; detail: the rate.
    pub const BELOW_MIN: i16 = 5;
    /// [`super::Cause::NoPrevious`].
    pub const NO_PREVIOUS: i16 = 6;
    /// [`super::Cause::Reset`].
    pub const RESET: i16 = 7;
    /// [`super::Cause::NoDigits`].
    pub const NO_DIGITS: i16 = 8;
    /// [`super::Cause::SignChange`].
    pub const SIGN_CHANGE: i16 = 9;
    /// [`super::Cause::TooManyDigits`].
    pub const TOO_MANY_DIGITS: i16 = 10;
    /// [`super::Cause::MostlyUnknown`]; detail: the unknown seconds counted.
    pub const MOSTLY_UNKNOWN: i16 = 11;
    /// The largest code in use.
    pub const LAST: i16 = MOSTLY_UNKNOWN;
}

/// One recorded span: one row of the columns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Recorded {
    from_us: i64,
    to_us: i64,
    code: i16,
    detail: f64,
}

impl Recorded {
    /// The stored form of an observed span; `None` for a cause that is not
    /// stored ([`Cause::BeforeStart`] follows from the series' start).
    fn of(span: Span) -> Option<Recorded> {
        let (code, detail) = match span.cause {
            Cause::BeforeStart => return None,
            Cause::Gap { heartbeat, .. } => (code::GAP, heartbeat as f64),
            Cause::Input => (code::INPUT, 0.0),
            Cause::NotANumber => (code::NOT_A_NUMBER, 0.0),
            Cause::OutOfRange { value, min, .. } => {
                let below = min.is_some_and(|lo| value < lo);
                let c = if below {
                    code::BELOW_MIN
                } else {
                    code::ABOVE_MAX
                };
                (c, value)
            }
            Cause::NoPrevious => (code::NO_PREVIOUS, 0.0),
            Cause::Reset => (code::RESET, 0.0),
            Cause::NoDigits => (code::NO_DIGITS, 0.0),
            Cause::SignChange => (code::SIGN_CHANGE, 0.0),
            Cause::TooManyDigits => (code::TOO_MANY_DIGITS, 0.0),
            Cause::MostlyUnknown { unknown_secs } => (code::MOSTLY_UNKNOWN, unknown_secs as f64),
        };
        Some(Recorded {
            from_us: span.from_us,
            to_us: span.to_us,
            code,
            detail,
        })
    }

    /// An update whose input was unknown (every cause but one: a
    /// [`code::MOSTLY_UNKNOWN`] span is an update with known input).
    fn unknown_input(&self) -> bool {
        self.code != code::MOSTLY_UNKNOWN
    }

    /// What a reason says of this span's cause, with the bounds of `def`.
    fn why(&self, def: &Definition) -> Why {
        match self.code {
            code::GAP => Why::Gap {
                heartbeat: self.detail as u64,
            },
            code::NOT_A_NUMBER => Why::NotANumber,
            code::ABOVE_MAX => Why::AboveMax {
                value: self.detail,
                max: def.ds.max,
            },
            code::BELOW_MIN => Why::BelowMin {
                value: self.detail,
                min: def.ds.min,
            },
            code::NO_PREVIOUS => Why::NoPrevious { kind: def.ds.kind },
            code::RESET => Why::Reset,
            code::NO_DIGITS => Why::NoDigits,
            code::SIGN_CHANGE => Why::SignChange,
            code::TOO_MANY_DIGITS => Why::TooManyDigits,
            // INPUT, and MOSTLY_UNKNOWN which is never a PDP's own cause.
            _ => Why::Input,
        }
    }
}

/// The record of one series' unknown spans: what [`explain`] reads.
///
/// Spans are kept in time order, each the interval of an update whose
/// input was unknown (or of a known one that closed unknown PDPs), and
/// adjacent spans of the same cause are merged into one where that changes
/// nothing the engine's count depends on (a run of `U` at whole-second
/// times is at most two spans, however long).
///
/// Size: after [`Spans::prune`] with [`ring_start_secs`], the record holds
/// the spans of the time the rings cover plus at most the spans of one
/// PDP before it. In the worst case (known and unknown inputs alternating,
/// or a cause changing at every update) that is one span per update, so it
/// is also capped at [`Spans::MAX_LEN`] spans (26 bytes each in the
/// columns, 213 kB at most); past the cap the oldest are dropped and
/// [`Spans::since_us`] moves on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spans {
    step: u64,
    since_us: i64,
    spans: Vec<Recorded>,
}

/// The columns of a [`Spans`], one element per span, for a table row of
/// arrays: `since` is the record's [`Spans::since_us`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Columns {
    /// [`Spans::since_us`].
    pub since: i64,
    /// Start of each span (the update before), microseconds.
    pub from: Vec<i64>,
    /// End of each span (the update), microseconds.
    pub to: Vec<i64>,
    /// Stored cause code of each span.
    pub cause: Vec<i16>,
    /// The cause's number: the heartbeat of a gap, the rate out of range,
    /// the unknown seconds of a mostly unknown PDP; 0 otherwise.
    pub detail: Vec<f64>,
}

impl Spans {
    /// Most spans kept; see [`Spans`] for the size this gives.
    pub const MAX_LEN: usize = 8192;

    /// An empty record of a series of base step `step` whose updates are
    /// all observed after `since_us`: its start for a new series, its last
    /// update for one that existed before it kept a record.
    pub fn new(step: u64, since_us: i64) -> Spans {
        Spans {
            step: step.max(1),
            since_us,
            spans: Vec::new(),
        }
    }

    /// Every span ending after this time (microseconds) is in the record;
    /// slots that depend on earlier ones are not explained.
    pub fn since_us(&self) -> i64 {
        self.since_us
    }

    /// Number of spans kept.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether no span is kept.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Records an observed span: merged into the last one where nothing
    /// is lost, else appended. Spans must come in the order of the updates;
    /// one that starts before the last ends means the record missed
    /// updates, so it starts over from there rather than mislead.
    pub fn push(&mut self, span: Span) {
        let Some(rec) = Recorded::of(span) else {
            return;
        };
        if rec.to_us <= rec.from_us || rec.to_us <= self.since_us {
            return;
        }
        match self.spans.last_mut() {
            Some(last) if rec.from_us < last.to_us => {
                self.spans.clear();
                self.since_us = rec.from_us;
                self.spans.push(rec);
            }
            Some(last) if mergeable(self.step as i64, last, &rec) => last.to_us = rec.to_us,
            _ => self.spans.push(rec),
        }
        if self.spans.len() > Self::MAX_LEN {
            // A quarter at a time, so that a record at the cap is not
            // shifted on every update.
            let drop = self.spans.len() - Self::MAX_LEN * 3 / 4;
            self.since_us = self.since_us.max(self.spans[drop - 1].to_us);
            self.spans.drain(..drop);
        }
    }

    /// Records `observed` (spans in update order, of updates after this
    /// record's) and prunes to what the rings of `def` cover after the last
    /// update `last_up_us`: how a statement's spans join the stored record.
    pub fn append(&mut self, observed: &[Span], def: &Definition, last_up_us: i64) {
        for s in observed {
            self.push(*s);
        }
        self.prune(ring_start_secs(def, last_up_us));
    }

    /// Drops the spans that no slot ending after `before_secs` depends on
    /// (with [`ring_start_secs`]: every slot a ring still holds). A PDP's
    /// fate can depend on the PDP an update started in, so the spans of the
    /// PDP of the last span ending before `before_secs` stay.
    pub fn prune(&mut self, before_secs: i64) {
        let bound = before_secs.saturating_mul(US);
        let k = self.spans.partition_point(|s| s.to_us < bound);
        if k == 0 {
            return;
        }
        let s = self.step as i64;
        let last = time::floor_secs(self.spans[k - 1].to_us);
        let cut = (last - last.rem_euclid(s)).saturating_mul(US);
        let j = self.spans.partition_point(|s| s.to_us < cut);
        if j > 0 {
            self.spans.drain(..j);
            self.since_us = self.since_us.max(cut - 1);
        }
    }

    /// The record as columns, for storage.
    pub fn to_columns(&self) -> Columns {
        Columns {
            since: self.since_us,
            from: self.spans.iter().map(|s| s.from_us).collect(),
            to: self.spans.iter().map(|s| s.to_us).collect(),
            cause: self.spans.iter().map(|s| s.code).collect(),
            detail: self.spans.iter().map(|s| s.detail).collect(),
        }
    }

    /// The record of a series of base step `step` from its stored columns.
    /// Columns that [`Spans::to_columns`] could not have given (lengths
    /// that differ, unknown codes, spans out of order or empty, numbers
    /// that do not fit their cause) are `Corrupt`.
    pub fn from_columns(step: u64, cols: &Columns) -> Result<Spans> {
        let n = cols.from.len();
        let corrupt = |msg: String| RrdError::Corrupt {
            msg: format!("unknown spans: {msg}"),
        };
        if cols.to.len() != n || cols.cause.len() != n || cols.detail.len() != n {
            return Err(corrupt(format!(
                "columns of {n}, {}, {} and {} elements",
                cols.to.len(),
                cols.cause.len(),
                cols.detail.len()
            )));
        }
        let mut spans = Vec::with_capacity(n);
        let mut end = cols.since;
        for i in 0..n {
            let rec = Recorded {
                from_us: cols.from[i],
                to_us: cols.to[i],
                code: cols.cause[i],
                detail: cols.detail[i],
            };
            let whole =
                |x: f64| x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x <= u32::MAX as f64;
            let detail_fits = match rec.code {
                code::GAP | code::MOSTLY_UNKNOWN => whole(rec.detail),
                // A rate can be infinite (an input of inf), never NaN.
                code::ABOVE_MAX | code::BELOW_MIN => !rec.detail.is_nan(),
                _ => rec.detail == 0.0,
            };
            if !(1..=code::LAST).contains(&rec.code) || !detail_fits {
                return Err(corrupt(format!(
                    "span {} has cause {} with detail {}",
                    i + 1,
                    rec.code,
                    rec.detail
                )));
            }
            // The first span may start before `since` (only its end is
            // after it); the others start where or after the last ended.
            if rec.to_us <= rec.from_us || rec.to_us <= end || (i > 0 && rec.from_us < end) {
                return Err(corrupt(format!(
                    "span {} from {} to {} is out of order",
                    i + 1,
                    rec.from_us,
                    rec.to_us
                )));
            }
            end = rec.to_us;
            spans.push(rec);
        }
        Ok(Spans {
            step: step.max(1),
            since_us: cols.since,
            spans,
        })
    }
}

/// Whether span `b`, which starts where `a` ends, may be merged into `a`
/// without changing what the engine's arithmetic gives for any PDP: the
/// same cause and detail, neither a gap nor a known input (a reason needs
/// their own times), and one of three cases (times `a < b < c`, PDPs by
/// the engine's whole seconds):
/// - all three in one PDP, when the whole seconds the engine counts add up
///   (`floor(b-a) + floor(c-b) == floor(c-a)`, always at whole seconds);
/// - `a` before the PDP of `b` and `c`, when `c`'s microseconds are not
///   below `b`'s (the unknown seconds counted in that PDP add up);
/// - `a`, `b`, `c` in three PDPs, when the engine would close the PDP of
///   `a` on its own for `a`-to-`c` (its open seconds are not 0) or `a` is
///   on a PDP boundary: otherwise the later PDPs would take its value.
fn mergeable(s: i64, a: &Recorded, b: &Recorded) -> bool {
    if a.code != b.code
        || a.detail.to_bits() != b.detail.to_bits()
        || a.code == code::GAP
        || a.code == code::MOSTLY_UNKNOWN
        || a.to_us != b.from_us
    {
        return false;
    }
    let pdp = |t: i64| time::floor_secs(t).div_euclid(s);
    let (pa, pb, pc) = (pdp(a.from_us), pdp(b.from_us), pdp(b.to_us));
    if pa == pb && pb == pc {
        let whole = |x: i64, y: i64| interval_secs(x, y).floor();
        whole(a.from_us, a.to_us) + whole(b.from_us, b.to_us) == whole(a.from_us, b.to_us)
    } else if pa < pb && pb == pc {
        b.to_us.rem_euclid(US) >= b.from_us.rem_euclid(US)
    } else if pa < pb && pb < pc {
        // The open seconds of `a`-to-`c` are those of `a`-to-`b`, counted
        // as if more than one PDP were closed.
        let on_boundary = a.from_us.rem_euclid(s * US) == 0;
        on_boundary || !(Close::of(s, a.from_us, a.to_us).pre_int as u64).is_multiple_of(s as u64)
    } else {
        false
    }
}

/// The oldest time (whole seconds) that any archive's ring still covers
/// after an update at `last_up_us`: the start of the oldest row of the
/// archive that reaches furthest back. [`Spans::prune`] drops what lies
/// before it.
pub fn ring_start_secs(def: &Definition, last_up_us: i64) -> i64 {
    let last = time::floor_secs(last_up_us);
    def.archives
        .iter()
        .map(|a| {
            let w = a.seconds_per_row(def.step).clamp(1, i64::MAX as u64) as i64;
            let latest = last.div_euclid(w);
            latest.saturating_sub(a.rows as i64).saturating_mul(w)
        })
        .min()
        .unwrap_or(last)
}

/// What was unknown about a PDP, as a reason tells it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Why {
    /// Before the series' start.
    BeforeStart,
    /// A gap between updates longer than the heartbeat (then in force).
    Gap {
        /// The heartbeat, seconds.
        heartbeat: u64,
    },
    /// Unknown input (`U`).
    Input,
    /// Input, or a rate, that is not a number.
    NotANumber,
    /// A rate above the max.
    AboveMax {
        /// The rate.
        value: f64,
        /// The definition's max now.
        max: Option<f64>,
    },
    /// A rate below the min.
    BelowMin {
        /// The rate.
        value: f64,
        /// The definition's min now.
        min: Option<f64>,
    },
    /// A counter input with no known input before it to difference.
    NoPrevious {
        /// The data source kind.
        kind: DsKind,
    },
    /// A DCOUNTER that changed direction.
    Reset,
    /// Counter text without digits.
    NoDigits,
    /// DERIVE inputs on both sides of zero.
    SignChange,
    /// Counter text of more than 30 digits.
    TooManyDigits,
}

impl Why {
    /// The short code of this cause for a SQL column.
    pub fn kind(&self) -> &'static str {
        match self {
            Why::BeforeStart => "start",
            Why::Gap { .. } => "gap",
            Why::Input => "input",
            Why::NotANumber => "nan",
            Why::AboveMax { .. } | Why::BelowMin { .. } => "range",
            Why::NoPrevious { .. } => "previous",
            Why::Reset => "reset",
            Why::NoDigits | Why::SignChange | Why::TooManyDigits => "counter",
        }
    }
}

/// How the engine came from the unknown input to an unknown PDP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// The PDP had no known input, or the update that closed it came after
    /// a gap longer than the heartbeat.
    Direct,
    /// More than half of the PDP's seconds were unknown when an update
    /// closed it.
    MoreThanHalf {
        /// The unknown seconds the engine counted.
        unknown_secs: u64,
        /// The PDP's length, seconds.
        step: u64,
    },
    /// One update closed this PDP together with an earlier one, which was
    /// mostly unknown, and rrdtool gives all of them that one's value.
    ClosedWith {
        /// End of the mostly unknown PDP, seconds.
        pdp_end: i64,
        /// The update that closed them, microseconds.
        closed_us: i64,
        /// The unknown seconds counted in that PDP.
        unknown_secs: u64,
        /// The PDP's length, seconds.
        step: u64,
    },
}

/// Why one PDP is unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PdpReason {
    /// End of the PDP, seconds.
    pub pdp_end: i64,
    /// The cause: for a PDP of several causes, the one that decided (a gap
    /// that closed it), else the one covering most of its unknown time
    /// (the earliest of equals).
    pub why: Why,
    /// Start of the cause's interval, microseconds: the update before it,
    /// or the earliest of a run of updates with the same cause.
    pub from_us: i64,
    /// End of the cause's interval (its last update), microseconds.
    pub to_us: i64,
    /// How it made the PDP unknown.
    pub rule: Rule,
}

/// Why a slot is unknown, or that it is known. `Display` gives one line of
/// English; [`Reason::kind`] a short code.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// The slot holds a value.
    Known,
    /// The slot ends after the last update: not consolidated yet.
    Pending {
        /// The last update, microseconds.
        last_up_us: i64,
        /// End of the slot, seconds.
        row_end: i64,
    },
    /// The slot is not among the rows the archive keeps.
    OutOfRing {
        /// End of the oldest row kept, seconds.
        first_end: i64,
        /// End of the newest row kept, seconds.
        last_end: i64,
    },
    /// Every PDP of the slot lies before the series' start.
    BeforeStart {
        /// The series' start, microseconds.
        start_us: i64,
    },
    /// The slot's one PDP is unknown.
    Pdp(PdpReason),
    /// More of the slot's PDPs are unknown than the archive's xff allows.
    Xff {
        /// PDPs known.
        known: u64,
        /// PDPs per row.
        pdps: u64,
        /// The archive's xff.
        xff: f64,
        /// The first unknown PDP.
        first: PdpReason,
    },
    /// A LAST row whose last PDP is unknown.
    Last(PdpReason),
    /// The ring's oldest row, which shows an earlier row: one update
    /// completed more rows than the archive keeps, and rrdtool writes the
    /// first of them (the open row's) in the oldest place.
    Displaced {
        /// End of the slot, seconds.
        row_end: i64,
    },
    /// In a run of unknown rows kept as a hole, with no recorded cause.
    Hole {
        /// End of the hole's first slot, seconds.
        first_end: i64,
        /// End of its last slot, seconds.
        last_end: i64,
    },
    /// The slot depends on updates from before the record began.
    NotRecorded {
        /// The record's [`Spans::since_us`].
        since_us: i64,
    },
    /// Nothing recorded explains it (an infinite rate: see the module
    /// documentation).
    Unexplained,
}

impl Reason {
    /// A stable short code for a SQL column: `known`, `pending`, `ring`,
    /// `start`, `gap`, `input`, `nan`, `range`, `previous`, `reset`,
    /// `counter`, `xff`, `last`, `displaced`, `hole`, `unrecorded`,
    /// `unexplained`.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::Known => "known",
            Reason::Pending { .. } => "pending",
            Reason::OutOfRing { .. } => "ring",
            Reason::BeforeStart { .. } => "start",
            Reason::Pdp(p) => p.why.kind(),
            Reason::Xff { .. } => "xff",
            Reason::Last(_) => "last",
            Reason::Displaced { .. } => "displaced",
            Reason::Hole { .. } => "hole",
            Reason::NotRecorded { .. } => "unrecorded",
            Reason::Unexplained => "unexplained",
        }
    }
}

/// `secs` (whole seconds since the epoch) as a message shows a time.
fn at(secs: i64) -> String {
    time::format(secs.saturating_mul(US))
}

impl fmt::Display for PdpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (from, to) = (time::format(self.from_us), time::format(self.to_us));
        if let Rule::ClosedWith {
            pdp_end,
            closed_us,
            unknown_secs,
            step,
        } = self.rule
        {
            write!(
                f,
                "the update at {} closed this PDP together with the one ending at {}, which had {unknown_secs} of its {step} s unknown (more than half), and rrdtool gives them all its value; there: ",
                time::format(closed_us),
                at(pdp_end)
            )?;
        }
        match self.why {
            Why::BeforeStart => write!(f, "before the series' start at {to}")?,
            Why::Gap { heartbeat } => write!(
                f,
                "gap of {} s between updates at {from} and {to}, longer than the heartbeat ({heartbeat} s)",
                interval_secs(self.from_us, self.to_us)
            )?,
            Why::Input => write!(f, "unknown input (U) from {from} to {to}")?,
            Why::NotANumber => write!(f, "input that is not a number (NaN) from {from} to {to}")?,
            Why::AboveMax { value, max } => match max {
                Some(m) if value > m => write!(f, "value {value} is above max {m} (input at {to})")?,
                _ => write!(f, "value {value} was above the max then in force (input at {to})")?,
            },
            Why::BelowMin { value, min } => match min {
                Some(m) if value < m => write!(f, "value {value} is below min {m} (input at {to})")?,
                _ => write!(f, "value {value} was below the min then in force (input at {to})")?,
            },
            Why::NoPrevious { kind } => write!(
                f,
                "{} input at {to} with no known input before it to take the difference from",
                kind.as_str()
            )?,
            Why::Reset => write!(
                f,
                "DCOUNTER input at {to} changed direction, which rrdtool takes as a reset"
            )?,
            Why::NoDigits => write!(
                f,
                "counter input at {to} or the one before it has no digits to subtract"
            )?,
            Why::SignChange => write!(
                f,
                "DERIVE inputs at {from} and {to} lie on both sides of zero, which rrdtool cannot subtract across"
            )?,
            Why::TooManyDigits => write!(
                f,
                "counter input at {to} or the one before it has more than 30 digits"
            )?,
        }
        if let Rule::MoreThanHalf { unknown_secs, step } = self.rule {
            write!(
                f,
                "; {unknown_secs} of the PDP's {step} s were unknown, more than half"
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Known => f.write_str("known"),
            Reason::Pending {
                last_up_us,
                row_end,
            } => write!(
                f,
                "after the last update at {}: the row ending at {} is not consolidated yet",
                time::format(*last_up_us),
                at(*row_end)
            ),
            Reason::OutOfRing {
                first_end,
                last_end,
            } => write!(
                f,
                "out of the ring: the archive keeps rows ending from {} to {}",
                at(*first_end),
                at(*last_end)
            ),
            Reason::BeforeStart { start_us } => {
                write!(f, "before the series' start at {}", time::format(*start_us))
            }
            Reason::Pdp(p) => write!(f, "{p}"),
            Reason::Xff {
                known,
                pdps,
                xff,
                first,
            } => write!(
                f,
                "xff shortfall: {known} of {pdps} PDPs known, xff {xff} allows at most {} unknown; the first unknown PDP, ending at {}: {first}",
                allowed_unknown(*pdps, *xff),
                at(first.pdp_end)
            ),
            Reason::Last(p) => write!(
                f,
                "the row's last PDP, ending at {}, is unknown and LAST takes it: {p}",
                at(p.pdp_end)
            ),
            Reason::Displaced { row_end } => write!(
                f,
                "the ring's oldest row (ending at {}) shows an earlier row: one update completed more rows than the archive keeps, and rrdtool writes the first of them here",
                at(*row_end)
            ),
            Reason::Hole {
                first_end,
                last_end,
            } => write!(
                f,
                "in a run of unknown rows ending from {} to {}, with no recorded cause",
                at(*first_end),
                at(*last_end)
            ),
            Reason::NotRecorded { since_us } => write!(
                f,
                "not recorded: causes of unknown input are kept from {} on",
                time::format(*since_us)
            ),
            Reason::Unexplained => f.write_str(
                "no recorded cause explains it (an infinite rate can make a sum of known rates not a number)",
            ),
        }
    }
}

/// The most unknown PDPs of `pdps` that xff `xff` lets a row have.
fn allowed_unknown(pdps: u64, xff: f64) -> u64 {
    let limit = pdps as f64 * xff;
    // The engine's test is `unknown > pdps * xff`; xff is never NaN here.
    (0..=pdps).rev().find(|&u| u as f64 <= limit).unwrap_or(0)
}

/// The slot to explain, and what the caller knows of it.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    /// The series' definition.
    pub def: &'a Definition,
    /// Index of the archive.
    pub archive: usize,
    /// The slot, `g` as in [`crate::engine::Run`]: its end (seconds)
    /// divided by the archive's seconds per row.
    pub slot: i64,
    /// Whether the fetched value is known.
    pub known: bool,
    /// The series' last update, microseconds.
    pub last_up_us: i64,
    /// The series' start, microseconds.
    pub start_us: i64,
    /// Newest slot of the archive's ring.
    pub latest: i64,
    /// Slots in the ring.
    pub rows: u64,
    /// The archive's holes (see [`crate::ring`]).
    pub holes: &'a [(i64, i64)],
}

/// Why slot `q` reads as it does. A known slot is [`Reason::Known`]. For
/// an unknown one: outside the ring, pending, or before the start when it
/// is; else the PDPs the engine closed unknown, worked out from `spans`:
/// a row of one PDP gives that PDP's reason ([`PdpReason`] says which
/// cause is named), a row of several the xff shortfall with its first
/// unknown PDP (or, for LAST, its last PDP). When the spans give a row that
/// should be known: [`Reason::Displaced`], [`Reason::Hole`] or
/// [`Reason::Unexplained`].
///
/// Errors: `BadParameter` for an archive the definition does not have, or
/// spans of another step.
pub fn explain(q: &Slot<'_>, spans: &Spans) -> Result<Reason> {
    let def = q.def;
    let archive = def.archives.get(q.archive).ok_or_else(|| {
        RrdError::param(format!(
            "archive {} does not exist (the series has {})",
            q.archive,
            def.archives.len()
        ))
    })?;
    if def.step == 0 || spans.step != def.step || def.step > i64::MAX as u64 {
        return Err(RrdError::param(format!(
            "unknown spans of step {} for a series of step {}",
            spans.step, def.step
        )));
    }
    if q.known {
        return Ok(Reason::Known);
    }
    let s = def.step as i64;
    let steps = archive.steps;
    let width = i64::try_from(def.step.saturating_mul(steps)).unwrap_or(i64::MAX);
    let end = q.slot.saturating_mul(width);
    if q.slot > q.latest {
        return Ok(Reason::Pending {
            last_up_us: q.last_up_us,
            row_end: end,
        });
    }
    let rows = i64::try_from(q.rows).unwrap_or(i64::MAX);
    let oldest = q.latest.saturating_sub(rows).saturating_add(1);
    if q.slot < oldest {
        return Ok(Reason::OutOfRing {
            first_end: oldest.saturating_mul(width),
            last_end: q.latest.saturating_mul(width),
        });
    }
    let ctx = Ctx::new(def, q.start_us, spans);
    if end <= ctx.start_pdp {
        return Ok(Reason::BeforeStart {
            start_us: q.start_us,
        });
    }
    let Some(t) = ctx.tally(end - width + s, end) else {
        return Ok(Reason::NotRecorded {
            since_us: spans.since_us,
        });
    };
    if let Some(first) = t.first {
        if steps == 1 {
            return Ok(Reason::Pdp(first));
        }
        if t.unknown as f64 > steps as f64 * archive.xff {
            return Ok(Reason::Xff {
                known: steps - t.unknown,
                pdps: steps,
                xff: archive.xff,
                first,
            });
        }
        if let (Cf::Last, Some(last)) = (archive.cf, t.last) {
            return Ok(Reason::Last(last));
        }
    }
    if steps > 1 && q.slot == oldest {
        return Ok(Reason::Displaced { row_end: end });
    }
    if in_hole(q.holes, q.slot) {
        if let Some(&(lo, hi)) = q.holes.iter().find(|h| h.0 <= q.slot && q.slot <= h.1) {
            return Ok(Reason::Hole {
                first_end: lo.saturating_mul(width),
                last_end: hi.saturating_mul(width),
            });
        }
    }
    Ok(Reason::Unexplained)
}

/// What the engine's PDPs were, worked out over a range of them.
#[derive(Debug, Default)]
struct Tally {
    /// Unknown PDPs.
    unknown: u64,
    /// The first unknown one.
    first: Option<PdpReason>,
    /// The last PDP of the range, when unknown.
    last: Option<PdpReason>,
}

/// The engine's value in the PDP accumulator when an update closes it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val {
    /// NaN: no known input reached the PDP.
    Nan,
    /// Zero: a known update ended exactly at its start and none since.
    Zero,
    /// Known input for some of its time.
    Some,
}

/// The state of the PDP an update started in, when that update closed it.
#[derive(Debug, Clone, Copy)]
struct Open {
    /// Unknown seconds the engine counted.
    unknown_sec: u64,
    /// Its accumulator.
    val: Val,
}

/// How one update closes PDPs, as the engine works it out.
#[derive(Debug, Clone, Copy)]
struct Close {
    /// Start of the PDP holding the update before (seconds).
    p0_start: i64,
    /// Start of the PDP holding this update: the last PDP closed ends here.
    occu: i64,
    /// PDPs closed.
    elapsed: i64,
    /// Seconds from the update before to `occu`.
    pre_int: f64,
    /// Seconds of the first PDP closed on its own (0: closed with the rest).
    open_sec: u64,
}

impl Close {
    /// The engine's arithmetic for an update from `from_us` to `to_us`.
    fn of(s: i64, from_us: i64, to_us: i64) -> Close {
        let (last_sec, last_usec) = (time::floor_secs(from_us), from_us.rem_euclid(US));
        let cur_sec = time::floor_secs(to_us);
        let p0_start = last_sec - last_sec.rem_euclid(s);
        let occu = cur_sec - cur_sec.rem_euclid(s);
        let elapsed = (occu - p0_start) / s;
        let mut pre_int = (occu - last_sec) as f64;
        pre_int -= last_usec as f64 / 1e6;
        let open_sec = if elapsed > 1 {
            (pre_int as u64) % s as u64
        } else {
            0
        };
        Close {
            p0_start,
            occu,
            elapsed,
            pre_int,
            open_sec,
        }
    }
}

/// The record read for one series.
struct Ctx<'a> {
    def: &'a Definition,
    /// The step, seconds.
    s: i64,
    start_us: i64,
    /// Start of the PDP holding the start: PDPs ending at or before it lie
    /// before the start.
    start_pdp: i64,
    spans: &'a [Recorded],
    since_us: i64,
}

impl<'a> Ctx<'a> {
    fn new(def: &'a Definition, start_us: i64, spans: &'a Spans) -> Ctx<'a> {
        let s = def.step as i64;
        let start = time::floor_secs(start_us);
        Ctx {
            def,
            s,
            start_us,
            start_pdp: start - start.rem_euclid(s),
            spans: &spans.spans,
            since_us: spans.since_us,
        }
    }

    /// The PDPs ending at `lo..=hi` (multiples of the step, seconds):
    /// `None` if some of them depend on what is not recorded.
    fn tally(&self, lo: i64, hi: i64) -> Option<Tally> {
        let s = self.s;
        let mut t = Tally::default();
        let add = |t: &mut Tally, end: i64, count: u64, r: PdpReason| {
            t.unknown += count;
            if t.first.is_none() {
                t.first = Some(PdpReason { pdp_end: end, ..r });
            }
        };
        let before = hi.min(self.start_pdp);
        if lo <= before {
            let r = PdpReason {
                pdp_end: lo,
                why: Why::BeforeStart,
                from_us: self.start_us,
                to_us: self.start_us,
                rule: Rule::Direct,
            };
            add(&mut t, lo, ((before - lo) / s + 1) as u64, r);
            if hi == before {
                t.last = Some(PdpReason { pdp_end: hi, ..r });
            }
        }
        let lo = lo.max(self.start_pdp + s);
        if lo > hi {
            return Some(t);
        }
        if us(lo) <= self.since_us {
            return None;
        }
        let first = self.spans.partition_point(|x| x.to_us < us(lo));
        for (i, c) in self.spans.iter().enumerate().skip(first) {
            if c.from_us >= us(hi) {
                break;
            }
            let g = Close::of(s, c.from_us, c.to_us);
            let p0_end = g.p0_start + s;
            let (e_lo, e_hi) = (p0_end.max(lo), g.occu.min(hi));
            if e_lo > e_hi {
                continue;
            }
            let (p0, rest) = self.decide(i, &g, e_lo == p0_end)?;
            let mut note = |end: i64, count: u64, r: PdpReason| {
                add(&mut t, end, count, r);
                if end + (count as i64 - 1) * s == hi {
                    t.last = Some(PdpReason { pdp_end: hi, ..r });
                }
            };
            if e_lo == p0_end {
                if let Some(r) = p0 {
                    note(
                        p0_end,
                        1,
                        PdpReason {
                            pdp_end: p0_end,
                            ..r
                        },
                    );
                }
            }
            let r_lo = e_lo.max(p0_end + s);
            if let (Some(r), true) = (rest, r_lo <= e_hi) {
                note(r_lo, ((e_hi - r_lo) / s + 1) as u64, r);
            }
        }
        Some(t)
    }

    /// What span `i`, an update that closes PDPs (`g`), gave them: the
    /// reason of the first (`None`: known; not worked out unless `first`)
    /// and of the others (`None`: known). `None` when that depends on what
    /// is not recorded.
    fn decide(&self, i: usize, g: &Close, first: bool) -> Option<Decided> {
        let c = &self.spans[i];
        let step = self.def.step;
        let split = g.open_sec > 0;
        let p0_end = g.p0_start + self.s;
        if !c.unknown_input() {
            // A known input closed unknown PDPs: the first was mostly
            // unknown (the engine reported it so), and the others share
            // its value unless it was closed on its own.
            if split && !first {
                return Some((None, None));
            }
            let unknown_secs = c.detail as u64;
            let (open, parts) = self.walk(i, g.p0_start)?;
            debug_assert_eq!(open.unknown_sec, unknown_secs, "{c:?}");
            let cause = self.pick(g.p0_start, &parts);
            let head = PdpReason {
                rule: Rule::MoreThanHalf { unknown_secs, step },
                ..cause
            };
            let rest = (!split).then_some(PdpReason {
                rule: Rule::ClosedWith {
                    pdp_end: p0_end,
                    closed_us: c.to_us,
                    unknown_secs,
                    step,
                },
                ..cause
            });
            return Some((Some(head), rest));
        }
        let own = PdpReason {
            pdp_end: p0_end,
            why: c.why(self.def),
            from_us: c.from_us,
            to_us: c.to_us,
            rule: Rule::Direct,
        };
        // Closed apart from the first, the others have no known input.
        if split && !first {
            return Some((None, Some(own)));
        }
        let (open, mut parts) = self.walk(i, g.p0_start)?;
        let u = open.unknown_sec;
        let gap = c.code == code::GAP;
        // The engine's tests in `close_pdps`, in its order, and its
        // divisor, of which only an exact 0 (0/0) matters here.
        let (beyond_heartbeat, divisor) = if split {
            let open_f = g.open_sec as f64;
            (
                gap && open_f > c.detail,
                step.wrapping_sub(u) as f64 - open_f,
            )
        } else {
            let span = (g.elapsed as u64).wrapping_mul(step);
            (gap, span.wrapping_sub(u) as f64 - g.pre_int)
        };
        let no_value = open.val == Val::Nan || (open.val == Val::Zero && divisor == 0.0);
        let head = if beyond_heartbeat {
            Some(own)
        } else if mostly_unknown_sec(step, u) {
            Some(PdpReason {
                rule: Rule::MoreThanHalf {
                    unknown_secs: u,
                    step,
                },
                ..self.pick(g.p0_start, &parts)
            })
        } else if no_value {
            let p0_end_us = us(p0_end);
            parts.push((
                c.from_us.max(us(g.p0_start)),
                c.to_us.min(p0_end_us),
                Some(i),
            ));
            Some(self.pick(g.p0_start, &parts))
        } else {
            None
        };
        // Closed with the first, the others take its value.
        let rest = (split || head.is_some()).then_some(own);
        Some((head, rest))
    }

    /// The cause covering most of the unknown `parts` of the PDP starting
    /// at `p0` (seconds), the earliest of equals.
    fn pick(&self, p0: i64, parts: &[Part]) -> PdpReason {
        // Time per cause, in the order first seen.
        let mut totals: Vec<(Option<i16>, i64, usize)> = Vec::new();
        for (k, &(lo, hi, which)) in parts.iter().enumerate() {
            let key = which.map(|j| self.spans[j].code);
            match totals.iter_mut().find(|e| e.0 == key) {
                Some(e) => e.1 += hi - lo,
                None => totals.push((key, hi - lo, k)),
            }
        }
        let mut best: Option<&(Option<i16>, i64, usize)> = None;
        for e in &totals {
            if best.is_none_or(|b| e.1 > b.1) {
                best = Some(e);
            }
        }
        let pdp_end = p0 + self.s;
        match best.and_then(|b| parts[b.2].2) {
            Some(j) => {
                let x = &self.spans[j];
                PdpReason {
                    pdp_end,
                    why: x.why(self.def),
                    from_us: x.from_us,
                    to_us: x.to_us,
                    rule: Rule::Direct,
                }
            }
            None => PdpReason {
                pdp_end,
                why: Why::BeforeStart,
                from_us: self.start_us,
                to_us: self.start_us,
                rule: Rule::Direct,
            },
        }
    }

    /// The engine's state of the PDP starting at `p0` (seconds) when span
    /// `i`, which starts in it, closes it: the unknown seconds it counted
    /// (those before the start, the whole seconds of an unknown update
    /// that entered the PDP, those of each unknown update inside it,
    /// floored as the engine floors them) and whether known input reached
    /// it; with its unknown parts before span `i`. `None` if a span that
    /// reaches into the PDP may be missing from the record.
    fn walk(&self, i: usize, p0: i64) -> Option<(Open, Vec<Part>)> {
        let s = self.s;
        let b0 = us(p0);
        let c = &self.spans[i];
        let start = time::floor_secs(self.start_us);
        let start_in = p0 <= start && start < p0 + s;
        let recorded = if start_in {
            self.start_us >= self.since_us
        } else {
            b0 > self.since_us
        };
        if !recorded {
            return None;
        }
        let mut parts = Vec::new();
        let mut j = self.spans[..i].partition_point(|x| x.to_us < b0);
        let (mut unknown_sec, mut val, mut cursor) = if start_in {
            // `State::new`: the seconds before the start are unknown.
            if self.start_us > b0 {
                parts.push((b0, self.start_us, None));
            }
            (start.rem_euclid(s) as u64, Val::Nan, self.start_us)
        } else {
            match self.spans[..i].get(j).filter(|e| e.from_us < b0) {
                Some(e) if e.unknown_input() => {
                    // An unknown update entered the PDP: the engine counts
                    // its whole seconds past the PDP's start.
                    let age = time::floor_secs(e.to_us) - p0;
                    let post = age as f64 + e.to_us.rem_euclid(US) as f64 / 1e6;
                    if e.to_us > b0 {
                        parts.push((b0, e.to_us, Some(j)));
                    }
                    j += 1;
                    (post.floor() as u64, Val::Nan, e.to_us)
                }
                // A known update entered it; one that ended exactly at its
                // start left the accumulator at 0 (rate times 0 seconds).
                _ => (0, Val::Zero, b0),
            }
        };
        let mut known_time = false;
        for (k, x) in self.spans.iter().enumerate().take(i).skip(j) {
            if !x.unknown_input() {
                continue;
            }
            if x.from_us > cursor {
                known_time = true;
            }
            let whole = interval_secs(x.from_us, x.to_us).floor();
            unknown_sec = (unknown_sec as f64 + whole) as u64;
            parts.push((x.from_us, x.to_us, Some(k)));
            cursor = x.to_us;
        }
        if c.from_us > cursor {
            known_time = true;
        }
        if known_time {
            val = Val::Some;
        }
        Some((Open { unknown_sec, val }, parts))
    }
}

/// An unknown part of a PDP: from and to (microseconds), and the span it
/// is part of (`None`: before the series' start).
type Part = (i64, i64, Option<usize>);

/// What one update gave the PDPs it closed: the reason of the first and
/// of the others, `None` for known.
type Decided = (Option<PdpReason>, Option<PdpReason>);

/// Seconds as microseconds, saturating.
fn us(secs: i64) -> i64 {
    secs.saturating_mul(US)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::def::{Archive, DataSource};
    use crate::engine::{self, rrd_strtod, Run, State};
    use crate::testrng::XorShift;
    use std::collections::BTreeMap;

    const T0: i64 = 1_000_000_000;
    const S: i64 = US;

    fn def(
        step: u64,
        kind: DsKind,
        heartbeat: u64,
        min: Option<f64>,
        max: Option<f64>,
        archives: &[(Cf, f64, u64, u64)],
    ) -> Definition {
        Definition {
            lateness: 0,
            step,
            ds: DataSource {
                name: "x".into(),
                kind,
                heartbeat,
                min,
                max,
            },
            archives: archives
                .iter()
                .map(|&(cf, xff, steps, rows)| Archive {
                    cf,
                    xff,
                    steps,
                    rows,
                })
                .collect(),
        }
    }

    /// A series under test: the engine's state and the spans it reported,
    /// a model ring per archive, the accepted updates, and a shadow series
    /// of the same data source with one-PDP rows that never wrap, whose
    /// rows are the PDPs the engine closed: the truth a reason is checked
    /// against, independent of the spans.
    struct Traced {
        def: Definition,
        start_us: i64,
        state: State,
        spans: Spans,
        prune: bool,
        rings: Vec<BTreeMap<i64, f64>>,
        trace: Vec<(i64, Option<String>)>,
        shadow_def: Definition,
        shadow: State,
        /// The shadow's rows: first slot -> (count, value).
        pdps: BTreeMap<i64, (u64, f64)>,
        runs: Vec<Run>,
    }

    impl Traced {
        fn new(def: Definition, start_us: i64, prune: bool) -> Traced {
            let shadow_def = Definition {
                lateness: 0,
                archives: vec![Archive {
                    cf: Cf::Average,
                    xff: 0.5,
                    steps: 1,
                    rows: 1 << 40,
                }],
                ..def.clone()
            };
            Traced {
                state: State::new(&def, start_us),
                shadow: State::new(&shadow_def, start_us),
                spans: Spans::new(def.step, start_us),
                rings: vec![BTreeMap::new(); def.archives.len()],
                def,
                start_us,
                prune,
                trace: Vec::new(),
                shadow_def,
                pdps: BTreeMap::new(),
                runs: Vec::new(),
            }
        }

        /// One update; whether the engine took it.
        fn update(&mut self, t: i64, v: Option<&str>) -> bool {
            let mut seen = Vec::new();
            self.runs.clear();
            let res = engine::update_observed(
                &self.def,
                &mut self.state,
                t,
                v,
                &mut self.runs,
                &mut |s| seen.push(s),
            );
            if res.is_err() {
                assert!(seen.is_empty());
                return false;
            }
            for s in seen {
                self.spans.push(s);
            }
            if self.prune {
                self.spans
                    .prune(ring_start_secs(&self.def, self.state.last_up));
            }
            for r in &self.runs {
                for k in 0..r.count as i64 {
                    self.rings[r.archive].insert(r.first_slot + k, r.value);
                }
            }
            let mut runs = Vec::new();
            engine::update(&self.shadow_def, &mut self.shadow, t, v, &mut runs).unwrap();
            for r in runs {
                self.pdps.insert(r.first_slot, (r.count, r.value));
            }
            self.trace.push((t, v.map(str::to_string)));
            true
        }

        fn width(&self, a: usize) -> i64 {
            (self.def.step * self.def.archives[a].steps) as i64
        }

        fn latest(&self, a: usize) -> i64 {
            time::floor_secs(self.state.last_up) / self.width(a)
        }

        /// What a fetch shows for slot `g` of archive `a`.
        fn value(&self, a: usize, g: i64) -> f64 {
            let rows = self.def.archives[a].rows as i64;
            let latest = self.latest(a);
            if g > latest || g <= latest - rows {
                return f64::NAN;
            }
            self.rings[a].get(&g).copied().unwrap_or(f64::NAN)
        }

        /// Whether the engine closed the PDP ending at `end` (seconds)
        /// unknown, by the shadow's rows.
        fn pdp_unknown(&self, end: i64) -> bool {
            let g = end / self.def.step as i64;
            match self.pdps.range(..=g).next_back() {
                Some((&first, &(count, v))) if g < first + count as i64 => v.is_nan(),
                _ => true,
            }
        }

        fn reason(&self, a: usize, g: i64) -> Reason {
            let v = self.value(a, g);
            explain(
                &Slot {
                    def: &self.def,
                    archive: a,
                    slot: g,
                    known: !v.is_nan(),
                    last_up_us: self.state.last_up,
                    start_us: self.start_us,
                    latest: self.latest(a),
                    rows: self.def.archives[a].rows,
                    holes: &[],
                },
                &self.spans,
            )
            .unwrap()
        }

        /// The reason of the slot of archive `a` ending at `end` (seconds).
        fn at(&self, a: usize, end: i64) -> Reason {
            assert_eq!(end % self.width(a), 0);
            self.reason(a, end / self.width(a))
        }

        /// The spans' verdict on every PDP the rings cover agrees with the
        /// engine's (the shadow's rows).
        fn check_pdps(&self, counts: &mut [u64; 2]) {
            let s = self.def.step as i64;
            let ctx = Ctx::new(&self.def, self.start_us, &self.spans);
            let closed = time::floor_secs(self.state.last_up);
            let closed = closed - closed.rem_euclid(s);
            let lo = ring_start_secs(&self.def, self.state.last_up) + s;
            let mut end = lo;
            while end <= closed {
                let t = ctx.tally(end, end).unwrap_or_else(|| {
                    panic!("PDP ending at {end} not recorded ({})", self.spans.since_us)
                });
                assert_eq!(
                    t.unknown == 1,
                    self.pdp_unknown(end),
                    "PDP ending at +{} of {:?}\ntrace {:?}\nspans {:?}",
                    end - T0,
                    self.def,
                    self.trace,
                    self.spans
                );
                counts[usize::from(t.unknown == 1)] += 1;
                end += s;
            }
        }

        /// Every slot near each ring: known exactly when its reason is
        /// `Known`, and every other reason true of the trace.
        fn check_slots(&self, kinds: &mut BTreeMap<&'static str, u64>) {
            for a in 0..self.def.archives.len() {
                let rows = self.def.archives[a].rows as i64;
                let latest = self.latest(a);
                for g in latest - rows - 1..=latest + 1 {
                    let r = self.reason(a, g);
                    *kinds.entry(r.kind()).or_default() += 1;
                    let known = !self.value(a, g).is_nan();
                    assert_eq!(known, r == Reason::Known, "{a} {g}: {r:?}");
                    if !known {
                        self.check_true(a, g, &r);
                    }
                    // Every reason reads as a line.
                    let text = r.to_string();
                    assert!(!text.is_empty() && !text.contains('\n'), "{text}");
                }
            }
        }

        /// The updates after `from` up to `to` (microseconds), each with
        /// the input before it; `from` and `to` must be update times (or
        /// the start).
        fn updates_in(&self, from: i64, to: i64) -> Vec<(i64, Option<&str>, Option<&str>, i64)> {
            let times: Vec<i64> = self.trace.iter().map(|u| u.0).collect();
            assert!(
                from == self.start_us || times.contains(&from),
                "{from} is not an update time"
            );
            assert!(times.contains(&to), "{to} is not an update time");
            let mut out = Vec::new();
            let mut prev = (self.start_us, None);
            for (t, v) in &self.trace {
                if *t > from && *t <= to {
                    out.push((*t, v.as_deref(), prev.1, prev.0));
                }
                prev = (*t, v.as_deref());
            }
            out
        }

        /// `r`, said of a PDP of slot `g` of archive `a`, is true of the
        /// trace.
        fn check_pdp_reason(&self, r: &PdpReason) {
            let s = self.def.step as i64;
            assert!(self.pdp_unknown(r.pdp_end), "{r:?}");
            // The PDP the cause lies in.
            let target = match r.rule {
                Rule::ClosedWith {
                    pdp_end,
                    closed_us,
                    unknown_secs,
                    step,
                } => {
                    assert!(unknown_secs as f64 > step as f64 / 2.0);
                    assert!(self.pdp_unknown(pdp_end));
                    // One known update closed both.
                    let ups = self.updates_in(
                        self.trace
                            .iter()
                            .map(|u| u.0)
                            .filter(|&t| t < closed_us)
                            .max()
                            .unwrap_or(self.start_us),
                        closed_us,
                    );
                    let (t, v, _, prev) = ups[0];
                    assert!(
                        v.is_some() && prev < pdp_end * S && t >= r.pdp_end * S,
                        "{r:?}"
                    );
                    pdp_end
                }
                Rule::MoreThanHalf { unknown_secs, step } => {
                    assert!(unknown_secs as f64 > step as f64 / 2.0);
                    r.pdp_end
                }
                Rule::Direct => r.pdp_end,
            };
            let (lo, hi) = ((target - s) * S, target * S);
            if r.why == Why::BeforeStart {
                assert!(lo < self.start_us, "{r:?}");
                return;
            }
            assert!(
                r.from_us < hi && r.to_us > lo,
                "{r:?} does not overlap its PDP"
            );
            let hb = self.def.ds.heartbeat as f64;
            let ups = self.updates_in(r.from_us, r.to_us);
            assert!(!ups.is_empty());
            if let Why::Gap { heartbeat } = r.why {
                assert_eq!(ups.len(), 1, "{r:?}");
                assert_eq!(heartbeat, self.def.ds.heartbeat);
                assert!(interval_secs(r.from_us, r.to_us) > hb, "{r:?}");
                return;
            }
            let kind = self.def.ds.kind;
            let digits = |t: &str| t.bytes().filter(u8::is_ascii_digit).count();
            for &(t, v, prev_v, prev_t) in &ups {
                assert!(interval_secs(prev_t, t) <= hb, "{r:?}: a gap at {t}");
                let unknown = |x: Option<&str>| x.is_none_or(|x| x.starts_with('U'));
                let ok = match r.why {
                    Why::Input => unknown(v),
                    Why::NotANumber => !unknown(v),
                    Why::AboveMax { value, max } => {
                        !unknown(v)
                            && max.is_some_and(|m| value > m)
                            && (kind != DsKind::Gauge || v.and_then(rrd_strtod) == Some(value))
                    }
                    Why::BelowMin { value, min } => {
                        !unknown(v)
                            && min.is_some_and(|m| value < m)
                            && (kind != DsKind::Gauge || v.and_then(rrd_strtod) == Some(value))
                    }
                    Why::NoPrevious { kind: k } => {
                        k == kind
                            && !matches!(kind, DsKind::Gauge | DsKind::Absolute)
                            && !unknown(v)
                            && unknown(prev_v)
                    }
                    Why::Reset => {
                        let (Some(new), Some(old)) =
                            (v.and_then(rrd_strtod), prev_v.and_then(rrd_strtod))
                        else {
                            panic!("{r:?}")
                        };
                        kind == DsKind::DCounter
                            && ((new > 0.0 && old > new) || (new < 0.0 && new > old))
                    }
                    Why::NoDigits => {
                        let (Some(v), Some(p)) = (v, prev_v) else {
                            panic!("{r:?}")
                        };
                        digits(v) == 0 || digits(p) == 0
                    }
                    Why::SignChange => {
                        let (Some(v), Some(p)) = (v, prev_v) else {
                            panic!("{r:?}")
                        };
                        kind == DsKind::Derive && v.starts_with('-') != p.starts_with('-')
                    }
                    Why::TooManyDigits => {
                        let (Some(v), Some(p)) = (v, prev_v) else {
                            panic!("{r:?}")
                        };
                        digits(v) > 30 || digits(p) > 30
                    }
                    Why::Gap { .. } | Why::BeforeStart => unreachable!(),
                };
                assert!(
                    ok,
                    "{r:?} is not true of the update at {t}: {v:?} after {prev_v:?}"
                );
            }
        }

        /// `r`, said of slot `g` of archive `a`, is true.
        fn check_true(&self, a: usize, g: i64, r: &Reason) {
            let arc = &self.def.archives[a];
            let (s, w) = (self.def.step as i64, self.width(a));
            let rows = arc.rows as i64;
            let latest = self.latest(a);
            let start = time::floor_secs(self.start_us);
            let start_pdp = start - start.rem_euclid(s);
            let end = g * w;
            let ends: Vec<i64> = (1..=arc.steps as i64).map(|k| end - w + k * s).collect();
            let unknown: Vec<i64> = ends
                .iter()
                .copied()
                .filter(|&e| self.pdp_unknown(e))
                .collect();
            match r {
                Reason::Known => unreachable!(),
                Reason::Pending { row_end, .. } => assert!(g > latest && *row_end == end),
                Reason::OutOfRing {
                    first_end,
                    last_end,
                } => {
                    assert!(g <= latest - rows);
                    assert_eq!(
                        (*first_end, *last_end),
                        ((latest - rows + 1) * w, latest * w)
                    );
                }
                Reason::BeforeStart { .. } => assert!(end <= start_pdp),
                Reason::Pdp(p) => {
                    assert_eq!((arc.steps, p.pdp_end), (1, end));
                    self.check_pdp_reason(p);
                }
                Reason::Xff {
                    known,
                    pdps,
                    xff,
                    first,
                } => {
                    assert_eq!(*pdps, arc.steps);
                    assert_eq!(*known, arc.steps - unknown.len() as u64, "{r:?}");
                    assert!(unknown.len() as f64 > arc.steps as f64 * xff);
                    assert_eq!(first.pdp_end, unknown[0]);
                    self.check_pdp_reason(first);
                }
                Reason::Last(p) => {
                    assert_eq!((arc.cf, p.pdp_end), (Cf::Last, end));
                    self.check_pdp_reason(p);
                }
                Reason::Displaced { row_end } => {
                    assert!(arc.steps > 1 && g == latest - rows + 1 && *row_end == end);
                    // By its own PDPs the row is known...
                    let by_xff = unknown.len() as f64 > arc.steps as f64 * arc.xff;
                    let by_last = arc.cf == Cf::Last && unknown.contains(&end);
                    let own_known = !by_xff && !by_last;
                    assert!(own_known, "{r:?}");
                    // ...and one update completed more rows than the ring
                    // keeps, this one among them.
                    let mut prev = self.start_us;
                    let long = self.trace.iter().any(|&(t, _)| {
                        let rows_done = time::floor_secs(t) / w - time::floor_secs(prev) / w;
                        let covers = prev < (end - w) * S && t >= end * S;
                        prev = t;
                        covers && rows_done > rows
                    });
                    assert!(long, "{r:?}");
                }
                Reason::Hole { .. } | Reason::NotRecorded { .. } | Reason::Unexplained => {
                    panic!(
                        "slot {g} of archive {a}: {r:?} ({r})\n{:?}\ntrace {:?}\nspans {:?}",
                        self.def, self.trace, self.spans
                    )
                }
            }
        }
    }

    /// A random definition: steps, heartbeats shorter and much longer than
    /// the step, every kind, bounds, archives of one or more PDPs.
    fn random_def(rng: &mut XorShift) -> Definition {
        let step = [1, 5, 10, 60, 300][rng.below(5) as usize];
        let heartbeat = match rng.below(5) {
            0 => (step / 2).max(1),
            1 => step,
            2 => 2 * step + rng.below(step),
            3 => 3 * step,
            _ => 40 * step,
        };
        let kind = DsKind::ALL[rng.below(6) as usize];
        let (min, max) = match rng.below(4) {
            0 => (Some(0.0), Some(100.0)),
            1 => (None, Some(20.0)),
            2 => (Some(-5.0), None),
            _ => (None, None),
        };
        let archives: Vec<(Cf, f64, u64, u64)> = (0..1 + rng.below(3))
            .map(|_| {
                (
                    Cf::ALL[rng.below(4) as usize],
                    [0.0, 0.25, 0.5, 0.7][rng.below(4) as usize],
                    [1, 1, 2, 3, 4, 6][rng.below(6) as usize],
                    [1, 2, 3, 5, 8][rng.below(5) as usize],
                )
            })
            .collect();
        def(step, kind, heartbeat, min, max, &archives)
    }

    /// A random input for `kind`: unknowns, numbers in and out of range,
    /// NaN, counters that climb, wrap and cross zero, texts rrdtool cannot
    /// subtract.
    fn random_input(rng: &mut XorShift, kind: DsKind, level: &mut i64) -> Option<String> {
        match rng.below(12) {
            0 => return None,
            1 => return Some("U".into()),
            2 if rng.below(3) == 0 => return Some("Ux".into()),
            3 if rng.below(3) == 0 => return Some("nan".into()),
            _ => {}
        }
        Some(match kind {
            DsKind::Gauge | DsKind::Absolute => {
                let x = rng.below(180) as i64 - 30;
                if rng.below(4) == 0 {
                    format!("{x}.5")
                } else {
                    x.to_string()
                }
            }
            DsKind::Counter | DsKind::Derive => {
                match rng.below(20) {
                    0 => return Some(String::new()),
                    1 => return Some("1".repeat(31)),
                    _ => {}
                }
                *level += rng.below(400) as i64 - if kind == DsKind::Derive { 200 } else { 20 };
                if kind == DsKind::Counter {
                    *level = level.rem_euclid(1 << 32);
                }
                level.to_string()
            }
            DsKind::DCounter | DsKind::DDerive => {
                *level += rng.below(200) as i64 - 60;
                format!("{}.25", *level)
            }
        })
    }

    /// The law: from the recorded spans alone, every PDP the rings cover
    /// is known or unknown exactly as the engine closed it, and every
    /// unknown slot gets a reason that is true of the trace (a gap really
    /// is two updates that far apart, a value really was input there, an
    /// xff shortfall's count is the engine's), every known one `known`.
    #[test]
    fn reasons_are_true_of_random_histories() {
        let mut rng = XorShift(0x5eed_e791_a1b0_0c1e);
        let mut kinds_seen: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut pdps_seen = [0u64; 2];
        for case in 0..300 {
            let d = random_def(&mut rng);
            let step = d.step as i64;
            let start = T0 * S
                + match rng.below(3) {
                    0 => 0,
                    1 => rng.below(step as u64) as i64 * S,
                    _ => rng.below((step * S) as u64) as i64,
                };
            let span = d
                .archives
                .iter()
                .map(|a| d.step * a.steps * a.rows)
                .max()
                .unwrap() as i64;
            let mut tr = Traced::new(d, start, case % 3 != 0);
            let mut t = start;
            let mut level = 100;
            let hb = tr.def.ds.heartbeat as i64;
            for _ in 0..70 {
                t += match rng.below(9) {
                    0 => 1 + rng.below(S as u64) as i64,
                    1 => (1 + rng.below(step as u64)) as i64 * S,
                    2 => (hb + rng.below(3) as i64 - 1) * S,
                    3 => step * S - t.rem_euclid(step * S),
                    4 => rng.below(3 * span as u64) as i64 * S,
                    5 => rng.below(3 * step as u64) as i64 * S + rng.below(S as u64) as i64 + 1,
                    _ => (step * S).max(1),
                };
                let v = random_input(&mut rng, tr.def.ds.kind, &mut level);
                if !tr.update(t, v.as_deref()) {
                    t = tr.state.last_up;
                    continue;
                }
                let cols = tr.spans.to_columns();
                assert_eq!(
                    Spans::from_columns(tr.def.step, &cols).as_ref(),
                    Ok(&tr.spans)
                );
                tr.check_pdps(&mut pdps_seen);
                tr.check_slots(&mut kinds_seen);
            }
        }
        // Enough of both kinds of PDP were checked.
        assert!(
            pdps_seen[0] > 10_000 && pdps_seen[1] > 10_000,
            "{pdps_seen:?}"
        );
        // The generator reaches every reason a trace can give.
        for k in [
            "known",
            "pending",
            "ring",
            "start",
            "gap",
            "input",
            "nan",
            "range",
            "previous",
            "reset",
            "counter",
            "xff",
            "last",
            "displaced",
        ] {
            assert!(kinds_seen.contains_key(k), "no {k}: {kinds_seen:?}");
        }
        eprintln!("PDPs known, unknown: {pdps_seen:?}; reasons: {kinds_seen:?}");
    }

    /// A series from `start` (seconds) given `updates` at seconds after
    /// it (fractions allowed), all taken.
    fn traced(d: Definition, start: i64, updates: &[(f64, Option<&str>)]) -> Traced {
        let mut tr = Traced::new(d, start * S, true);
        for &(dt, v) in updates {
            let t = start * S + (dt * 1e6).round() as i64;
            assert!(tr.update(t, v), "update at +{dt}");
        }
        tr.check_slots(&mut BTreeMap::new());
        tr.check_pdps(&mut [0; 2]);
        tr
    }

    /// Seconds as a message shows them.
    fn ts(secs: i64) -> String {
        time::format(secs * S)
    }

    /// 2001-09-09 01:47:00 UTC, on a boundary of every step used here.
    const B: i64 = 1_000_000_020 - 1_000_000_020 % 120;

    #[test]
    fn gap_longer_than_the_heartbeat() {
        let d = def(
            60,
            DsKind::Gauge,
            120,
            None,
            None,
            &[(Cf::Average, 0.5, 1, 10)],
        );
        let tr = traced(
            d,
            B,
            &[(60.0, Some("1")), (120.0, Some("2")), (420.0, Some("3"))],
        );
        for end in [B + 180, B + 300, B + 420] {
            let r = tr.at(0, end);
            assert_eq!(r.kind(), "gap");
            assert_eq!(
                r.to_string(),
                format!(
                    "gap of 300 s between updates at {} and {}, longer than the heartbeat (120 s)",
                    ts(B + 120),
                    ts(B + 420)
                )
            );
        }
        assert_eq!(
            tr.at(0, B + 180).to_string(),
            "gap of 300 s between updates at 2001-09-09 01:48:00+00 and 2001-09-09 01:53:00+00, longer than the heartbeat (120 s)"
        );
        assert_eq!(tr.at(0, B + 120), Reason::Known);
    }

    #[test]
    fn value_out_of_range() {
        let d = def(
            60,
            DsKind::Gauge,
            120,
            Some(0.0),
            Some(1000.0),
            &[(Cf::Max, 0.5, 1, 10)],
        );
        let tr = traced(d, B, &[(60.0, Some("1234.5")), (120.0, Some("-2"))]);
        let r = tr.at(0, B + 60);
        assert_eq!(r.kind(), "range");
        assert_eq!(
            r.to_string(),
            format!("value 1234.5 is above max 1000 (input at {})", ts(B + 60))
        );
        assert_eq!(
            tr.at(0, B + 120).to_string(),
            format!("value -2 is below min 0 (input at {})", ts(B + 120))
        );
        // Tuned since so that the value is in range: the text says so.
        let mut tuned = tr.def.clone();
        tuned.ds.max = Some(2000.0);
        let q = Slot {
            def: &tuned,
            archive: 0,
            slot: (B + 60) / 60,
            known: false,
            last_up_us: tr.state.last_up,
            start_us: tr.start_us,
            latest: tr.latest(0),
            rows: 10,
            holes: &[],
        };
        assert_eq!(
            explain(&q, &tr.spans).unwrap().to_string(),
            format!(
                "value 1234.5 was above the max then in force (input at {})",
                ts(B + 60)
            )
        );
    }

    /// Two of six PDPs known, xff 0.5; the unknown inputs are one span.
    #[test]
    fn xff_shortfall_counts_the_pdps() {
        let d = def(
            10,
            DsKind::Gauge,
            20,
            None,
            None,
            &[(Cf::Average, 0.5, 6, 5), (Cf::Average, 0.5, 1, 20)],
        );
        let ups: Vec<(f64, Option<&str>)> = ["1", "U", "U", "U", "U", "6", "7"]
            .iter()
            .enumerate()
            .map(|(k, v)| (10.0 * (k + 1) as f64, (*v != "U").then_some(*v)))
            .collect();
        let tr = traced(d, B, &ups);
        assert_eq!(tr.spans.len(), 1);
        let r = tr.at(0, B + 60);
        assert_eq!(r.kind(), "xff");
        assert_eq!(
            r.to_string(),
            format!(
                "xff shortfall: 2 of 6 PDPs known, xff 0.5 allows at most 3 unknown; the first unknown PDP, ending at {}: unknown input (U) from {} to {}",
                ts(B + 20),
                ts(B + 10),
                ts(B + 50)
            )
        );
        assert_eq!(tr.at(1, B + 30).kind(), "input");
    }

    #[test]
    fn outside_the_ring_before_the_start_and_after_the_last_update() {
        let d = def(
            60,
            DsKind::Gauge,
            120,
            None,
            None,
            &[(Cf::Average, 0.5, 1, 3)],
        );
        let ups: Vec<(f64, Option<&str>)> = (1..=6).map(|k| (60.0 * k as f64, Some("1"))).collect();
        let tr = traced(d, B + 30, &ups);
        assert_eq!(
            tr.at(0, B + 120).to_string(),
            format!(
                "out of the ring: the archive keeps rows ending from {} to {}",
                ts(B + 240),
                ts(B + 360)
            )
        );
        assert_eq!(tr.at(0, B + 420).kind(), "pending");
        assert_eq!(
            tr.at(0, B + 420).to_string(),
            format!(
                "after the last update at {}: the row ending at {} is not consolidated yet",
                ts(B + 390),
                ts(B + 420)
            )
        );
        let d = def(
            60,
            DsKind::Gauge,
            120,
            None,
            None,
            &[(Cf::Average, 0.5, 1, 30)],
        );
        let tr = traced(d, B + 130, &[(60.0, Some("1"))]);
        assert_eq!(
            tr.at(0, B + 120).to_string(),
            format!("before the series' start at {}", ts(B + 130))
        );
        // The row holding the start, 10 of its 60 s before it, and the
        // 50 s after it unknown (the first input 60 s later: U-less but
        // a gap? no: within the heartbeat, known).
        assert_eq!(tr.at(0, B + 180), Reason::Known);
    }

    #[test]
    fn counters_name_why_they_could_not_difference() {
        let one = &[(Cf::Average, 0.5, 1, 10)];
        let case = |kind: DsKind, ups: &[(f64, Option<&str>)], end: i64| {
            traced(def(10, kind, 30, None, None, one), B, ups).at(0, B + end)
        };
        let r = case(DsKind::Counter, &[(10.0, Some("5")), (20.0, Some("9"))], 10);
        assert_eq!(r.kind(), "previous");
        assert_eq!(
            r.to_string(),
            format!(
                "COUNTER input at {} with no known input before it to take the difference from",
                ts(B + 10)
            )
        );
        let r = case(DsKind::Derive, &[(10.0, Some("5")), (20.0, Some("-3"))], 20);
        assert_eq!(
            r.to_string(),
            format!(
                "DERIVE inputs at {} and {} lie on both sides of zero, which rrdtool cannot subtract across",
                ts(B + 10),
                ts(B + 20)
            )
        );
        let r = case(DsKind::Counter, &[(10.0, Some("5")), (20.0, Some(""))], 20);
        assert_eq!(
            (r.kind(), r.to_string().contains("no digits")),
            ("counter", true)
        );
        let long = "9".repeat(31);
        let r = case(
            DsKind::Counter,
            &[(10.0, Some("5")), (20.0, Some(&long))],
            20,
        );
        assert!(r.to_string().contains("more than 30 digits"), "{r}");
        let r = case(
            DsKind::DCounter,
            &[(10.0, Some("5")), (20.0, Some("4.5"))],
            20,
        );
        assert_eq!(r.kind(), "reset");
        let r = case(DsKind::Gauge, &[(10.0, Some("5")), (20.0, Some("nan"))], 20);
        assert_eq!(r.kind(), "nan");
    }

    /// 6 of the 10 s of (B, B+10] were U: the known input that closes it
    /// is reported, and the PDP's reason is its U.
    #[test]
    fn more_than_half_unknown() {
        let d = def(
            10,
            DsKind::Gauge,
            20,
            None,
            None,
            &[(Cf::Average, 0.5, 1, 10)],
        );
        let tr = traced(d, B, &[(1.0, Some("1")), (7.0, None), (12.0, Some("2"))]);
        assert_eq!(
            tr.at(0, B + 10).to_string(),
            format!(
                "unknown input (U) from {} to {}; 6 of the PDP's 10 s were unknown, more than half",
                ts(B + 1),
                ts(B + 7)
            )
        );
    }

    /// A known update from 9.5 s to 35 s closes three PDPs at once
    /// (its first has 0 open seconds by rrdtool's count), and they take
    /// the first one's value: unknown, 6 of its 10 s being U.
    #[test]
    fn pdps_closed_together_share_the_first_ones_fate() {
        let d = def(
            10,
            DsKind::Gauge,
            100,
            None,
            None,
            &[(Cf::Average, 0.5, 1, 10)],
        );
        let tr = traced(
            d,
            B,
            &[
                (1.0, Some("1")),
                (7.0, None),
                (9.5, Some("1")),
                (35.0, Some("2")),
            ],
        );
        assert!(tr.at(0, B + 10).to_string().contains("more than half"));
        for end in [B + 20, B + 30] {
            assert_eq!(
                tr.at(0, end).to_string(),
                format!(
                    "the update at {} closed this PDP together with the one ending at {}, which had 6 of its 10 s unknown (more than half), and rrdtool gives them all its value; there: unknown input (U) from {} to {}",
                    ts(B + 35),
                    ts(B + 10),
                    ts(B + 1),
                    ts(B + 7)
                )
            );
        }
    }

    /// An update 165 s after the last completes 4 rows of 40 s with only
    /// 3 kept: the first, unknown (3 of its 4 PDPs U), shows in the oldest
    /// place, whose own PDPs are known.
    #[test]
    fn the_oldest_row_may_show_an_earlier_one() {
        let d = def(
            10,
            DsKind::Gauge,
            1000,
            None,
            None,
            &[(Cf::Average, 0.5, 4, 3)],
        );
        let tr = traced(
            d,
            T0,
            &[(10.0, None), (20.0, None), (30.0, None), (195.0, Some("5"))],
        );
        assert_eq!(tr.at(0, T0 + 80), Reason::Displaced { row_end: T0 + 80 });
        assert_eq!(tr.at(0, T0 + 120), Reason::Known);
        assert_eq!(tr.at(0, T0 + 40).kind(), "ring");
    }

    /// inf and -inf in one PDP sum to NaN with no unknown input: nothing
    /// recorded explains it, and explain says so rather than guess.
    #[test]
    fn an_infinite_sum_is_unexplained() {
        let d = def(
            10,
            DsKind::Gauge,
            20,
            None,
            None,
            &[(Cf::Average, 0.5, 1, 10)],
        );
        let mut tr = Traced::new(d, B * S, true);
        for (dt, v) in [(3, Some("inf")), (6, Some("-inf")), (12, None)] {
            assert!(tr.update((B + dt) * S, v));
        }
        assert!(tr.value(0, (B + 10) / 10).is_nan());
        assert_eq!(tr.at(0, B + 10), Reason::Unexplained);
        // With the slot in a hole the caller gave, the hole is named.
        let q = Slot {
            def: &tr.def,
            archive: 0,
            slot: (B + 10) / 10,
            known: false,
            last_up_us: tr.state.last_up,
            start_us: tr.start_us,
            latest: tr.latest(0),
            rows: 10,
            holes: &[((B + 10) / 10, (B + 30) / 10)],
        };
        assert_eq!(
            explain(&q, &tr.spans).unwrap(),
            Reason::Hole {
                first_end: B + 10,
                last_end: B + 30
            }
        );
    }

    /// A record begun after the series: what depends on earlier updates is
    /// not explained, the rest is.
    #[test]
    fn slots_before_the_record_are_not_recorded() {
        let d = def(
            10,
            DsKind::Gauge,
            20,
            None,
            None,
            &[(Cf::Average, 0.5, 1, 20)],
        );
        let mut tr = Traced::new(d, B * S, true);
        for k in 1..=5 {
            assert!(tr.update((B + 10 * k) * S, (k % 2 == 0).then_some("1")));
        }
        // The record starts at the last update, +50.
        tr.spans = Spans::new(10, tr.state.last_up);
        for k in 6..=9 {
            assert!(tr.update((B + 10 * k) * S, (k % 2 == 0).then_some("1")));
        }
        let r = tr.at(0, B + 30);
        assert_eq!(
            r,
            Reason::NotRecorded {
                since_us: (B + 50) * S
            }
        );
        assert_eq!(
            r.to_string(),
            format!(
                "not recorded: causes of unknown input are kept from {} on",
                ts(B + 50)
            )
        );
        assert_eq!(tr.at(0, B + 70).kind(), "input");
        assert_eq!(tr.at(0, B + 60), Reason::Known);
    }

    /// Consecutive unknown inputs are one span or two (the updates inside
    /// the first PDP), at any cadence at whole seconds; the reasons stay.
    #[test]
    fn a_run_of_unknown_input_is_at_most_two_spans() {
        for (start, every) in [(B, 60), (B + 13, 7), (B + 1, 300), (B, 1)] {
            let d = def(
                60,
                DsKind::Gauge,
                400,
                None,
                None,
                &[(Cf::Average, 0.5, 1, 100)],
            );
            let mut tr = Traced::new(d, start * S, true);
            for k in 1..=1000 {
                assert!(tr.update((start + every * k) * S, None));
            }
            assert!(tr.spans.len() <= 2, "every {every}: {:?}", tr.spans);
            tr.check_pdps(&mut [0; 2]);
            tr.check_slots(&mut BTreeMap::new());
        }
    }

    /// The stored layout: codes and details of each cause. A change of it
    /// must fail here, on purpose.
    #[test]
    fn columns_are_pinned() {
        let d = def(
            10,
            DsKind::Gauge,
            20,
            Some(0.0),
            Some(100.0),
            &[(Cf::Average, 0.5, 1, 100)],
        );
        let tr = traced(
            d,
            B,
            &[
                (5.0, Some("1")),
                (10.0, None),
                (20.0, Some("150")),
                (30.0, Some("-1")),
                (60.0, Some("5")),
                (61.0, Some("nan")),
                (62.0, Some("5")),
                (68.0, None),
                (72.0, Some("5")),
            ],
        );
        let t = |dt: i64| (B + dt) * S;
        assert_eq!(
            tr.spans.to_columns(),
            Columns {
                since: t(0),
                from: vec![t(5), t(10), t(20), t(30), t(60), t(62), t(68)],
                to: vec![t(10), t(20), t(30), t(60), t(61), t(68), t(72)],
                cause: vec![2, 4, 5, 1, 3, 2, 11],
                detail: vec![0.0, 150.0, -1.0, 20.0, 0.0, 0.0, 7.0],
            }
        );
    }

    #[test]
    fn corrupt_columns_are_refused() {
        let good = Columns {
            since: 100,
            from: vec![100, 300],
            to: vec![200, 400],
            cause: vec![1, 4],
            detail: vec![20.0, 150.0],
        };
        assert!(Spans::from_columns(10, &good).is_ok());
        // A rate out of range can be infinite (an input of inf): the
        // extension stored one and could not read it back.
        let infinite = Columns {
            detail: vec![20.0, f64::INFINITY],
            ..good.clone()
        };
        assert!(Spans::from_columns(10, &infinite).is_ok());
        let bad: Vec<Columns> = vec![
            Columns {
                to: vec![200],
                ..good.clone()
            },
            Columns {
                cause: vec![0, 4],
                ..good.clone()
            },
            Columns {
                cause: vec![1, 12],
                ..good.clone()
            },
            Columns {
                detail: vec![20.5, 150.0],
                ..good.clone()
            },
            Columns {
                detail: vec![20.0, f64::NAN],
                ..good.clone()
            },
            Columns {
                cause: vec![2, 4],
                ..good.clone()
            },
            Columns {
                from: vec![100, 150],
                ..good.clone()
            },
            Columns {
                to: vec![100, 400],
                ..good.clone()
            },
            Columns {
                since: 200,
                ..good.clone()
            },
        ];
        for c in bad {
            let e = Spans::from_columns(10, &c).unwrap_err();
            assert!(
                matches!(&e, RrdError::Corrupt { msg } if msg.starts_with("unknown spans: ")),
                "{c:?}: {e:?}"
            );
        }
    }

    /// Alternating known and unknown input: one span per unknown update,
    /// up to the cap; then the oldest go and `since` follows.
    #[test]
    fn the_record_is_capped() {
        let d = def(
            1,
            DsKind::Gauge,
            20,
            None,
            None,
            &[(Cf::Average, 0.5, 1, 1 << 20)],
        );
        let mut tr = Traced::new(d, B * S, true);
        for k in 1..=2 * (Spans::MAX_LEN as i64 + 100) {
            assert!(tr.update((B + k) * S, (k % 2 == 1).then_some("1")));
        }
        assert!(tr.spans.len() <= Spans::MAX_LEN && tr.spans.len() > Spans::MAX_LEN / 2);
        assert!(tr.spans.since_us() > B * S);
        assert_eq!(tr.at(0, B + 2).kind(), "unrecorded");
        assert_eq!(tr.at(0, B + 2 * Spans::MAX_LEN as i64).kind(), "input");
        assert_eq!(tr.spans.to_columns().from.len(), tr.spans.len());
    }

    #[test]
    fn explain_refuses_what_does_not_fit() {
        let d = def(
            10,
            DsKind::Gauge,
            20,
            None,
            None,
            &[(Cf::Average, 0.5, 1, 10)],
        );
        let q = Slot {
            def: &d,
            archive: 1,
            slot: 0,
            known: false,
            last_up_us: T0 * S,
            start_us: T0 * S,
            latest: T0 / 10,
            rows: 10,
            holes: &[],
        };
        let spans = Spans::new(10, T0 * S);
        assert!(matches!(
            explain(&q, &spans),
            Err(RrdError::BadParameter { .. })
        ));
        let q = Slot { archive: 0, ..q };
        assert!(matches!(
            explain(&q, &Spans::new(60, 0)),
            Err(RrdError::BadParameter { .. })
        ));
        // Absurd slots and rings give a reason, not a panic.
        for (slot, latest, rows) in [
            (i64::MAX, i64::MAX, u64::MAX),
            (i64::MIN, 0, 1),
            (5, 5, u64::MAX),
        ] {
            let q = Slot {
                slot,
                latest,
                rows,
                ..q
            };
            assert!(explain(&q, &spans).is_ok());
        }
    }

    /// A series' work records the same spans as observing by hand, pruned
    /// to the rings, however the points are split into batches.
    #[test]
    fn series_work_records_spans() {
        use crate::batch::SeriesWork;
        use std::rc::Rc;
        let d = def(
            10,
            DsKind::Counter,
            25,
            None,
            None,
            &[(Cf::Average, 0.5, 2, 4)],
        );
        let mut rng = XorShift(0x77);
        let mut level = 0;
        let mut t = B * S;
        let points: Vec<(i64, Option<String>)> = (0..300)
            .map(|_| {
                t += (1 + rng.below(30)) as i64 * S / 2;
                (t, random_input(&mut rng, DsKind::Counter, &mut level))
            })
            .collect();
        let mut tr = Traced::new(d.clone(), B * S, true);
        let mut work = SeriesWork::new(
            1,
            "s".into(),
            Rc::new(d.clone()),
            4,
            State::new(&d, B * S),
            vec![],
        );
        work.spans = Some(Spans::new(10, B * S));
        let mut runs = Vec::new();
        for (t, v) in &points {
            let a = tr.update(*t, v.as_deref());
            let b = work.update(*t, v.as_deref(), &mut runs).is_ok();
            assert_eq!(a, b);
            // Stored and loaded again now and then, as between statements.
            if rng.below(10) == 0 {
                let cols = work.spans.as_ref().unwrap().to_columns();
                work.spans = Some(Spans::from_columns(10, &cols).unwrap());
            }
        }
        assert!(work.spans_changed);
        assert_eq!(work.spans.as_ref(), Some(&tr.spans));
    }
}
