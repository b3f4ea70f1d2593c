//! The definition of one series (the `rrd` type's content): base step, one
//! data source and its archives. Parsing and printing of RRDtool's create
//! syntax live here; no pgrx.
//!
//! Accepted text, tokens separated by whitespace, in any order:
//!
//! - `--step N`, `--step=N`, `-s N` or `-sN`, at most once (default 300);
//! - `--lateness N` or `--lateness=N`, at most once: pg_rrd's own option,
//!   the lateness window in seconds (default 0, RRDtool's strict order);
//! - exactly one `DS:name:KIND:heartbeat:min:max`;
//! - one or more `RRA:CF:xff:steps:rows`.
//!
//! Counts and durations follow RRDtool 1.7.2: a bare number is a count (for
//! the step and the heartbeat, seconds), a number with one unit letter is a
//! duration (`s`, `m` minute, `h`, `d`, `w`, `M` 31 days, `y` 366 days). A
//! duration for `steps` must be a whole multiple of the step and one for
//! `rows` a whole multiple of the row width; RRDtool refuses the rest too.
//!
//! Printing gives the canonical form, plain integers and shortest
//! round-trip numbers, so that `parse(print(d)) == d`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::{Result, RrdError};

/// Largest number of ring slots one series may hold over all its archives.
pub const MAX_TOTAL_SLOTS: u64 = 100_000_000;

/// Most archives one series may have: archive numbers are stored as
/// `smallint`.
pub const MAX_ARCHIVES: usize = i16::MAX as usize;

/// Base step when the text gives none, as in RRDtool.
pub const DEFAULT_STEP: u64 = 300;

/// Largest step or heartbeat, in seconds (2^31).
pub const MAX_INTERVAL_SECONDS: u64 = 1 << 31;

/// Longest time one archive may span (step × steps × rows), in seconds:
/// 200000 Gregorian years, well inside PostgreSQL's timestamp range, so
/// that slot times computed from any archive never overflow.
pub const MAX_SPAN_SECONDS: u64 = 200_000 * 31_556_952;

/// Longest data source name, as in RRDtool.
pub const MAX_DS_NAME_LEN: usize = 19;

/// How a data source turns inputs into rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DsKind {
    /// The input is the rate itself.
    Gauge,
    /// An unsigned integer counter; wraps at 2^32 or 2^64 are undone.
    Counter,
    /// A signed integer counter, no wrap handling.
    Derive,
    /// A count since the previous input (the counter resets on read).
    Absolute,
    /// A floating-point COUNTER; a change of direction is a reset.
    DCounter,
    /// A floating-point DERIVE.
    DDerive,
}

impl DsKind {
    /// Every kind, in RRDtool's documentation order.
    pub const ALL: [DsKind; 6] = [
        DsKind::Gauge,
        DsKind::Counter,
        DsKind::Derive,
        DsKind::Absolute,
        DsKind::DCounter,
        DsKind::DDerive,
    ];

    /// The kind's name as written in a definition, e.g. `"GAUGE"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DsKind::Gauge => "GAUGE",
            DsKind::Counter => "COUNTER",
            DsKind::Derive => "DERIVE",
            DsKind::Absolute => "ABSOLUTE",
            DsKind::DCounter => "DCOUNTER",
            DsKind::DDerive => "DDERIVE",
        }
    }

    /// The kind named exactly `s`. Upper case only: RRDtool refuses
    /// `gauge`, and a definition that rrdtool refuses should not be one
    /// that we accept.
    pub fn from_name(s: &str) -> Option<DsKind> {
        DsKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Consolidation function of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cf {
    /// Mean of the known PDPs of a row.
    Average,
    /// Smallest known PDP of a row.
    Min,
    /// Largest known PDP of a row.
    Max,
    /// The row's last PDP.
    Last,
}

impl Cf {
    /// Every consolidation function, in RRDtool's order.
    pub const ALL: [Cf; 4] = [Cf::Average, Cf::Min, Cf::Max, Cf::Last];

    /// The function's name as written in a definition, e.g. `"AVERAGE"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Cf::Average => "AVERAGE",
            Cf::Min => "MIN",
            Cf::Max => "MAX",
            Cf::Last => "LAST",
        }
    }

    /// The function named `s`, ignoring ASCII case (for SQL arguments such
    /// as fetch's CF). Definitions use the exact upper-case name instead.
    pub fn parse(s: &str) -> Option<Cf> {
        Cf::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    /// The function named exactly `s` (upper case), as RRDtool reads it.
    fn from_exact_name(s: &str) -> Option<Cf> {
        Cf::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The one data source of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSource {
    /// 1 to 19 characters of `A-Z a-z 0-9 _ -`.
    pub name: String,
    /// How inputs become rates.
    pub kind: DsKind,
    /// Seconds.
    pub heartbeat: u64,
    /// Rates below it are unknown; `None` is RRDtool's `U`.
    pub min: Option<f64>,
    /// Rates above it are unknown; `None` is RRDtool's `U`.
    pub max: Option<f64>,
}

/// One round-robin archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Archive {
    /// How the PDPs of a row are consolidated.
    pub cf: Cf,
    /// Largest fraction of unknown PDPs a row may have and stay known,
    /// in `[0, 1)`.
    pub xff: f64,
    /// Base steps (PDPs) per row.
    pub steps: u64,
    /// Ring slots of the archive.
    pub rows: u64,
}

impl Archive {
    /// Width of one row in seconds (`base_step × steps`), saturating so that
    /// an unvalidated archive cannot panic.
    pub fn seconds_per_row(&self, base_step: u64) -> u64 {
        base_step.saturating_mul(self.steps)
    }
}

/// A whole series definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// Base step in seconds.
    pub step: u64,
    /// The one data source.
    pub ds: DataSource,
    /// At least one, in defined order (fetch breaks ties by it).
    pub archives: Vec<Archive>,
    /// The lateness window in seconds (docs/late.md): a point up to this
    /// much older than the newest one is still taken, and consolidated as
    /// if it had come in order. 0, RRDtool's rule, is left out of the
    /// stored bytes, so that definitions without a window keep theirs.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lateness: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Definition {
    /// Ring slots over all archives (the sum of their rows), saturating.
    pub fn total_slots(&self) -> u64 {
        self.archives
            .iter()
            .fold(0u64, |acc, a| acc.saturating_add(a.rows))
    }

    /// Checks every rule `parse` enforces, for a definition that did not
    /// come from `parse` (decoded bytes, a struct built in code). Errors are
    /// `BadParameter` and name the offending part.
    pub fn validate(&self) -> Result<()> {
        if self.step == 0 || self.step > MAX_INTERVAL_SECONDS {
            return Err(RrdError::param(format!(
                "step {} is out of range: it must be 1 to {MAX_INTERVAL_SECONDS} seconds",
                self.step
            )));
        }
        let ds = &self.ds;
        if !valid_ds_name(&ds.name) {
            return Err(RrdError::param(format!(
                "invalid data source name \"{}\": {NAME_RULE}",
                ds.name
            )));
        }
        if ds.heartbeat == 0 || ds.heartbeat > MAX_INTERVAL_SECONDS {
            return Err(RrdError::param(format!(
                "heartbeat {} is out of range: it must be 1 to {MAX_INTERVAL_SECONDS} seconds",
                ds.heartbeat
            )));
        }
        for (label, v) in [("min", ds.min), ("max", ds.max)] {
            if let Some(v) = v {
                if !v.is_finite() {
                    return Err(RrdError::param(format!(
                        "data source {label} must be a finite number or unknown, not {v}"
                    )));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (ds.min, ds.max) {
            if lo >= hi {
                return Err(RrdError::param(format!(
                    "data source min ({}) must be less than max ({})",
                    fmt_number(lo),
                    fmt_number(hi)
                )));
            }
        }
        if self.archives.is_empty() {
            return Err(RrdError::param("a definition needs at least one archive"));
        }
        if self.archives.len() > MAX_ARCHIVES {
            return Err(too_many_archives(self.archives.len()));
        }
        let mut total = 0u64;
        for a in &self.archives {
            if !(a.xff.is_finite() && (0.0..1.0).contains(&a.xff)) {
                return Err(RrdError::param(format!(
                    "archive \"{a}\": xff {} is out of range: it must be at least 0 and less than 1",
                    a.xff
                )));
            }
            if a.steps == 0 || a.rows == 0 {
                return Err(RrdError::param(format!(
                    "archive \"{a}\": steps and rows must be positive, got {} and {}",
                    a.steps, a.rows
                )));
            }
            if span_seconds(self.step, a.steps, a.rows).is_none_or(|s| s > MAX_SPAN_SECONDS) {
                return Err(RrdError::param(format!(
                    "archive \"{a}\" spans more than {MAX_SPAN_SECONDS} seconds (200000 years)"
                )));
            }
            total = total.saturating_add(a.rows);
            if total > MAX_TOTAL_SLOTS {
                return Err(RrdError::param(format!(
                    "archive \"{a}\" brings the series to {total} ring slots, more than the limit of {MAX_TOTAL_SLOTS}"
                )));
            }
        }
        self.check_lateness()
    }

    /// The span of the finest archive (fewest steps per row; of those the
    /// longest), in seconds: the longest lateness window allowed.
    pub fn finest_span(&self) -> u64 {
        self.archives
            .iter()
            .map(|a| {
                (
                    a.steps,
                    std::cmp::Reverse(span_seconds(self.step, a.steps, a.rows)),
                )
            })
            .min()
            .and_then(|(_, std::cmp::Reverse(s))| s)
            .unwrap_or(0)
    }

    /// The lateness window in microseconds.
    pub fn lateness_us(&self) -> i64 {
        (self.lateness as i64).saturating_mul(crate::time::US)
    }

    /// Refuses a lateness window longer than the finest archive: the
    /// points it holds back would not fit in the ring they are meant for.
    pub fn check_lateness(&self) -> Result<()> {
        if self.lateness > MAX_INTERVAL_SECONDS || self.lateness > self.finest_span() {
            return Err(RrdError::param(format!(
                "lateness window of {} seconds is longer than the finest archive, which spans {} seconds",
                self.lateness,
                self.finest_span()
            )));
        }
        Ok(())
    }
}

/// The error for a definition of `n` archives, more than [`MAX_ARCHIVES`].
fn too_many_archives(n: usize) -> RrdError {
    RrdError::param(format!(
        "a definition may have at most {MAX_ARCHIVES} archives, this one has {n}"
    ))
}

/// Parses RRDtool create syntax (see the module documentation).
///
/// Malformed text gives `RrdError::Syntax`; well-formed numbers that are
/// too large (step, heartbeat, an archive's span, the total slot count)
/// give `RrdError::BadParameter`. Every message names the bad token.
pub fn parse(text: &str) -> Result<Definition> {
    // RRDtool reads options wherever they stand, so the step may follow the
    // archives whose durations depend on it: find it first.
    let mut step = None;
    let mut lateness: Option<u64> = None;
    let mut others = Vec::new();
    let mut tokens = text.split_whitespace();
    while let Some(tok) = tokens.next() {
        if tok == "--lateness" || tok.starts_with("--lateness=") {
            let (value, shown) = match tok.strip_prefix("--lateness=") {
                Some(v) => (v, tok.to_string()),
                None => match tokens.next() {
                    Some(v) => (v, format!("{tok} {v}")),
                    None => return Err(RrdError::syntax(format!("\"{tok}\" needs a value"))),
                },
            };
            if lateness.is_some() {
                return Err(RrdError::syntax(format!(
                    "duplicate lateness \"{shown}\": the lateness window may be given only once"
                )));
            }
            lateness = Some(if value == "0" {
                0
            } else {
                parse_interval("lateness", value, &shown)?
            });
            continue;
        }
        let (value, shown) = if tok == "--step" || tok == "-s" {
            match tokens.next() {
                Some(v) => (v, format!("{tok} {v}")),
                None => return Err(RrdError::syntax(format!("\"{tok}\" needs a value"))),
            }
        } else if let Some(v) = tok.strip_prefix("--step=") {
            (v, tok.to_string())
        } else if let Some(v) = tok.strip_prefix("-s").filter(|_| !tok.starts_with("--")) {
            (v, tok.to_string())
        } else {
            others.push(tok);
            continue;
        };
        // RRDtool silently keeps the last one; two steps are more likely a
        // paste mistake than an intent.
        if step.is_some() {
            return Err(RrdError::syntax(format!(
                "duplicate step \"{shown}\": the step may be given only once"
            )));
        }
        step = Some(parse_interval("step", value, &shown)?);
    }
    let step = step.unwrap_or(DEFAULT_STEP);

    let mut ds: Option<DataSource> = None;
    let mut archives = Vec::new();
    let mut total_slots = 0u64;
    for tok in others {
        if let Some(body) = tok.strip_prefix("DS:") {
            if ds.is_some() {
                return Err(RrdError::syntax(format!(
                    "only one data source per series is supported, found a second one: \"{tok}\""
                )));
            }
            ds = Some(parse_ds(tok, body)?);
        } else if let Some(body) = tok.strip_prefix("RRA:") {
            let archive = parse_rra(tok, body, step)?;
            total_slots = total_slots.saturating_add(archive.rows);
            if total_slots > MAX_TOTAL_SLOTS {
                return Err(RrdError::param(format!(
                    "archive \"{tok}\" brings the series to {total_slots} ring slots, more than the limit of {MAX_TOTAL_SLOTS}"
                )));
            }
            archives.push(archive);
            if archives.len() > MAX_ARCHIVES {
                return Err(too_many_archives(archives.len()));
            }
        } else if tok.starts_with('-') {
            return Err(RrdError::syntax(format!(
                "unsupported option \"{tok}\": only --step (-s) and --lateness may be given"
            )));
        } else {
            return Err(RrdError::syntax(format!(
                "unexpected token \"{tok}\": expected --step N, DS:name:KIND:heartbeat:min:max or RRA:CF:xff:steps:rows"
            )));
        }
    }
    let ds = ds.ok_or_else(|| {
        RrdError::syntax("no data source: expected one DS:name:KIND:heartbeat:min:max")
    })?;
    if archives.is_empty() {
        return Err(RrdError::syntax(
            "no archive: expected at least one RRA:CF:xff:steps:rows",
        ));
    }
    let def = Definition {
        step,
        ds,
        archives,
        lateness: lateness.unwrap_or(0),
    };
    def.check_lateness()?;
    Ok(def)
}

impl FromStr for Definition {
    type Err = RrdError;
    fn from_str(s: &str) -> Result<Self> {
        parse(s)
    }
}

/// The canonical text: `--step N`, `--lateness N` when the series has a
/// window, then the data source, then the archives
/// in their defined order (the order matters to fetch's tie-breaks).
impl fmt::Display for Definition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--step {}", self.step)?;
        if self.lateness > 0 {
            write!(f, " --lateness {}", self.lateness)?;
        }
        write!(f, " {}", self.ds)?;
        for a in &self.archives {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// `DS:name:KIND:heartbeat:min:max`, with `U` for an unset bound.
impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DS:{}:{}:{}:{}:{}",
            self.name,
            self.kind.as_str(),
            self.heartbeat,
            fmt_bound(self.min),
            fmt_bound(self.max)
        )
    }
}

/// `RRA:CF:xff:steps:rows` with steps and rows as plain counts.
impl fmt::Display for Archive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RRA:{}:{}:{}:{}",
            self.cf.as_str(),
            fmt_number(self.xff),
            self.steps,
            self.rows
        )
    }
}

const NAME_RULE: &str = "use 1 to 19 of the characters A-Z a-z 0-9 _ -";

const DURATION_HINT: &str =
    "expected a positive count or a duration such as 10s, 5m, 1h, 1d, 1w, 1M or 1y";

const UNIT_HINT: &str = "units: s, m = minute, h, d, w, M = 31 days, y = 366 days";

/// RRDtool's name rule (its regular expression also admits `-`).
fn valid_ds_name(name: &str) -> bool {
    (1..=MAX_DS_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Seconds in one duration unit. RRDtool's month is 31 days and its year
/// 366 days, so that a "1M" or "1y" archive never holds less than it says.
fn unit_seconds(unit: &str) -> Option<u64> {
    Some(match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "M" => 31 * 86_400,
        "y" => 366 * 86_400,
        _ => return None,
    })
}

/// A count or duration as written in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Amount {
    /// Bare digits.
    Count(u64),
    /// Digits and a unit, converted to seconds.
    Seconds(u64),
}

impl Amount {
    fn value(self) -> u64 {
        match self {
            Amount::Count(n) | Amount::Seconds(n) => n,
        }
    }
}

/// Why a count or duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AmountError {
    Malformed,
    UnknownUnit(String),
    Zero,
    TooLarge,
}

/// Reads digits with an optional unit letter.
///
/// RRDtool looks only at the first character after the digits, so it
/// reads `10min` as 10 minutes but also `1month` as 1 minute. We accept the
/// unit letter alone and refuse longer suffixes rather than guess.
fn parse_amount(text: &str) -> std::result::Result<Amount, AmountError> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits_end == 0 {
        return Err(AmountError::Malformed);
    }
    let (digits, unit) = text.split_at(digits_end);
    // Only ASCII digits are left, so the one possible failure is overflow.
    let n: u64 = digits.parse().map_err(|_| AmountError::TooLarge)?;
    let amount = if unit.is_empty() {
        Amount::Count(n)
    } else {
        let per = unit_seconds(unit).ok_or_else(|| AmountError::UnknownUnit(unit.to_string()))?;
        Amount::Seconds(n.checked_mul(per).ok_or(AmountError::TooLarge)?)
    };
    if n == 0 {
        return Err(AmountError::Zero);
    }
    Ok(amount)
}

/// Turns an `AmountError` into the user's error, naming the field `what`,
/// its text and the whole token.
fn amount_error(e: AmountError, what: &str, text: &str, token: &str) -> RrdError {
    match e {
        AmountError::Malformed => RrdError::syntax(format!(
            "invalid {what} \"{text}\" in \"{token}\": {DURATION_HINT}"
        )),
        AmountError::UnknownUnit(u) => RrdError::syntax(format!(
            "invalid {what} \"{text}\" in \"{token}\": unknown unit \"{u}\" ({UNIT_HINT})"
        )),
        AmountError::Zero => RrdError::syntax(format!(
            "invalid {what} \"{text}\" in \"{token}\": must be positive"
        )),
        AmountError::TooLarge => {
            RrdError::param(format!("{what} \"{text}\" in \"{token}\" is too large"))
        }
    }
}

/// Reads a step or heartbeat: a count of seconds or a duration.
fn parse_interval(what: &str, text: &str, token: &str) -> Result<u64> {
    let secs = parse_amount(text)
        .map_err(|e| amount_error(e, what, text, token))?
        .value();
    if secs > MAX_INTERVAL_SECONDS {
        return Err(RrdError::param(format!(
            "{what} \"{text}\" in \"{token}\" is too large: {secs} seconds, at most {MAX_INTERVAL_SECONDS}"
        )));
    }
    Ok(secs)
}

/// Reads a plain decimal number. Hex, `inf` and `nan` are refused: RRDtool
/// takes the last two, but an infinite or NaN bound only hides a mistake,
/// and `U` says "no bound".
fn parse_number(text: &str) -> Option<f64> {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !plain {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    // Adding +0 turns -0 into 0, so that "-0" and "0" print the same.
    v.is_finite().then_some(v + 0.0)
}

/// Shortest text that reads back as the same `f64`: positional notation
/// for ordinary magnitudes, scientific otherwise (so 1e300 is not 301
/// digits). Both forms are read by RRDtool as well as by `parse_number`.
fn fmt_number(v: f64) -> String {
    let v = v + 0.0;
    let a = v.abs();
    if a == 0.0 || (1e-4..1e16).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

fn fmt_bound(v: Option<f64>) -> String {
    match v {
        Some(x) if !x.is_nan() => fmt_number(x),
        _ => "U".to_string(),
    }
}

/// `step × steps × rows`, or `None` on overflow.
fn span_seconds(step: u64, steps: u64, rows: u64) -> Option<u64> {
    step.checked_mul(steps)?.checked_mul(rows)
}

/// Refuses empty fields, which RRDtool's tokenizer would silently skip
/// (it reads `RRA:AVERAGE::0.5:1:1` as if one colon were there), and
/// fields beyond `count`.
fn check_fields(token: &str, fields: &[&str], count: usize, shape: &str, what: &str) -> Result<()> {
    if fields.iter().any(|f| f.is_empty()) {
        return Err(RrdError::syntax(format!("empty field in \"{token}\"")));
    }
    if fields.len() < count {
        return Err(RrdError::syntax(format!(
            "incomplete {what} \"{token}\": expected {shape}"
        )));
    }
    if let Some(extra) = fields.get(count) {
        return Err(RrdError::syntax(format!(
            "unexpected extra field \"{extra}\" in \"{token}\": expected {shape}"
        )));
    }
    Ok(())
}

/// Reads `name:KIND:heartbeat:min:max` (`body`, the token without `DS:`).
fn parse_ds(token: &str, body: &str) -> Result<DataSource> {
    const SHAPE: &str = "DS:name:KIND:heartbeat:min:max";
    let fields: Vec<&str> = body.split(':').collect();
    // The kind decides the shape (COMPUTE has fewer fields), so look at it
    // before counting fields.
    if let Some(&kind) = fields.get(1) {
        if kind == "COMPUTE" {
            return Err(RrdError::syntax(format!(
                "COMPUTE data sources are not supported: \"{token}\""
            )));
        }
        if !kind.is_empty() && DsKind::from_name(kind).is_none() {
            return Err(RrdError::syntax(format!(
                "unknown data source kind \"{kind}\" in \"{token}\" (expected GAUGE, COUNTER, DERIVE, ABSOLUTE, DCOUNTER or DDERIVE)"
            )));
        }
    }
    check_fields(token, &fields, 5, SHAPE, "data source")?;
    let name = fields[0];
    if !valid_ds_name(name) {
        return Err(RrdError::syntax(format!(
            "invalid data source name \"{name}\" in \"{token}\": {NAME_RULE}"
        )));
    }
    let kind = DsKind::from_name(fields[1]).ok_or_else(|| {
        RrdError::syntax(format!(
            "unknown data source kind \"{}\" in \"{token}\"",
            fields[1]
        ))
    })?;
    let heartbeat = parse_interval("heartbeat", fields[2], token)?;
    let bound = |label: &str, text: &str| -> Result<Option<f64>> {
        if text == "U" {
            return Ok(None);
        }
        parse_number(text).map(Some).ok_or_else(|| {
            RrdError::syntax(format!(
                "invalid {label} \"{text}\" in \"{token}\": expected a finite number or U"
            ))
        })
    };
    let min = bound("min", fields[3])?;
    let max = bound("max", fields[4])?;
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo >= hi {
            return Err(RrdError::syntax(format!(
                "invalid range in \"{token}\": min ({}) must be less than max ({})",
                fields[3], fields[4]
            )));
        }
    }
    Ok(DataSource {
        name: name.to_string(),
        kind,
        heartbeat,
        min,
        max,
    })
}

/// Reads one archive, `RRA:CF:xff:steps:rows` as in a definition (steps
/// and rows may be durations), for a series of base step `step`.
pub fn parse_archive(text: &str, step: u64) -> Result<Archive> {
    let tok = text.trim();
    let body = tok.strip_prefix("RRA:").ok_or_else(|| {
        RrdError::syntax(format!("expected RRA:CF:xff:steps:rows, got \"{tok}\""))
    })?;
    parse_rra(tok, body, step)
}

/// Reads `CF:xff:steps:rows` (`body`, the token without `RRA:`) for a
/// series of base step `step`.
fn parse_rra(token: &str, body: &str, step: u64) -> Result<Archive> {
    const SHAPE: &str = "RRA:CF:xff:steps:rows";
    let fields: Vec<&str> = body.split(':').collect();
    let cf_text = fields.first().copied().unwrap_or("");
    let cf = match Cf::from_exact_name(cf_text) {
        Some(cf) => cf,
        None if matches!(
            cf_text,
            "HWPREDICT" | "MHWPREDICT" | "SEASONAL" | "DEVSEASONAL" | "DEVPREDICT" | "FAILURES"
        ) =>
        {
            return Err(RrdError::syntax(format!(
                "{cf_text} archives (Holt-Winters forecasting) are not supported: \"{token}\""
            )));
        }
        None if cf_text.is_empty() => {
            return Err(RrdError::syntax(format!("empty field in \"{token}\"")))
        }
        None => {
            return Err(RrdError::syntax(format!(
                "unknown consolidation function \"{cf_text}\" in \"{token}\" (expected AVERAGE, MIN, MAX or LAST)"
            )));
        }
    };
    check_fields(token, &fields, 4, SHAPE, "archive")?;
    let xff_text = fields[1];
    let xff = parse_number(xff_text)
        .filter(|x| (0.0..1.0).contains(x))
        .ok_or_else(|| {
            RrdError::syntax(format!(
                "invalid xff \"{xff_text}\" in \"{token}\": expected a number from 0 up to but not including 1"
            ))
        })?;

    let steps_text = fields[2];
    let steps = match parse_amount(steps_text)
        .map_err(|e| amount_error(e, "steps", steps_text, token))?
    {
        Amount::Count(n) => n,
        Amount::Seconds(s) if s % step == 0 => s / step,
        Amount::Seconds(s) => {
            return Err(RrdError::syntax(format!(
                "invalid steps \"{steps_text}\" in \"{token}\": {s} seconds is not a whole multiple of the step ({step} seconds)"
            )));
        }
    };
    let too_long = || {
        RrdError::param(format!(
            "archive \"{token}\" spans more than {MAX_SPAN_SECONDS} seconds (200000 years)"
        ))
    };
    // Bounding the row width first keeps the division below and the span
    // product from overflowing.
    let per_row = step
        .checked_mul(steps)
        .filter(|&w| w <= MAX_SPAN_SECONDS)
        .ok_or_else(too_long)?;

    let rows_text = fields[3];
    let rows = match parse_amount(rows_text)
        .map_err(|e| amount_error(e, "rows", rows_text, token))?
    {
        Amount::Count(n) => n,
        Amount::Seconds(s) if s % per_row == 0 => s / per_row,
        // RRDtool refuses this too ("value would truncate when scaled").
        Amount::Seconds(s) => {
            return Err(RrdError::syntax(format!(
                "invalid rows \"{rows_text}\" in \"{token}\": {s} seconds is not a whole multiple of the {per_row} seconds per row"
            )));
        }
    };
    if span_seconds(step, steps, rows).is_none_or(|s| s > MAX_SPAN_SECONDS) {
        return Err(too_long());
    }
    Ok(Archive {
        cf,
        xff,
        steps,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "--step 10 DS:load:GAUGE:20:U:U RRA:AVERAGE:0.5:1:8640 \
                           RRA:MAX:0.5:6:10080 RRA:AVERAGE:0.5:1h:1y";

    fn ok(text: &str) -> Definition {
        match parse(text) {
            Ok(d) => d,
            Err(e) => panic!("{text:?} should parse, got {e}"),
        }
    }

    fn syntax_msg(text: &str) -> String {
        match parse(text) {
            Err(RrdError::Syntax { msg }) => msg,
            other => panic!("{text:?} should be a syntax error, got {other:?}"),
        }
    }

    fn param_msg(text: &str) -> String {
        match parse(text) {
            Err(RrdError::BadParameter { msg }) => msg,
            other => panic!("{text:?} should be a parameter error, got {other:?}"),
        }
    }

    /// (steps, rows) of each archive.
    fn shape(d: &Definition) -> Vec<(u64, u64)> {
        d.archives.iter().map(|a| (a.steps, a.rows)).collect()
    }

    /// A valid definition with the given step and archive tokens.
    fn with_rras(step: &str, rras: &str) -> String {
        format!("--step {step} DS:x:GAUGE:20:U:U {rras}")
    }

    #[test]
    fn parses_the_design_example() {
        let d = ok(EXAMPLE);
        assert_eq!(d.step, 10);
        assert_eq!(
            d.ds,
            DataSource {
                name: "load".into(),
                kind: DsKind::Gauge,
                heartbeat: 20,
                min: None,
                max: None,
            }
        );
        assert_eq!(
            d.archives.iter().map(|a| a.cf).collect::<Vec<_>>(),
            [Cf::Average, Cf::Max, Cf::Average]
        );
        assert!(d.archives.iter().all(|a| a.xff == 0.5));
        // rrdtool 1.7.2 `info`: 1h:1y at step 10 is pdp_per_row 360, rows
        // 8784 (a year is 366 days).
        assert_eq!(shape(&d), [(1, 8640), (6, 10080), (360, 8784)]);
        assert_eq!(
            d.to_string(),
            "--step 10 DS:load:GAUGE:20:U:U RRA:AVERAGE:0.5:1:8640 \
             RRA:MAX:0.5:6:10080 RRA:AVERAGE:0.5:360:8784"
        );
        assert_eq!(d.total_slots(), 8640 + 10080 + 8784);
        assert_eq!(d.archives[2].seconds_per_row(d.step), 3600);
        assert_eq!(d.validate(), Ok(()));
    }

    /// Each case was run through `rrdtool create` and `rrdtool info`
    /// (RRDtool 1.7.2): step, heartbeat, and (pdp_per_row, rows) per RRA.
    #[test]
    fn durations_match_rrdtool() {
        // (text, step, heartbeat, (pdp_per_row, rows) per RRA)
        type Case = (&'static str, u64, u64, &'static [(u64, u64)]);
        let cases: &[Case] = &[
            (
                "--step 10 DS:l:GAUGE:20:U:U RRA:AVERAGE:0.5:10m:1d",
                10,
                20,
                &[(60, 144)],
            ),
            (
                "--step 10 DS:l:GAUGE:1m:U:U RRA:AVERAGE:.5:1m:25m",
                10,
                60,
                &[(6, 25)],
            ),
            (
                "--step 1m DS:l:GAUGE:1M:U:U RRA:AVERAGE:0.5:1d:1M RRA:MAX:0.5:1w:2w",
                60,
                2_678_400,
                &[(1440, 31), (10080, 2)],
            ),
            (
                "DS:l:COUNTER:1h:0:1e300 RRA:LAST:0:1d:1y RRA:MIN:0.99:5m:1d",
                300,
                3600,
                &[(288, 366), (1, 288)],
            ),
            (
                "--step 1s DS:l:DERIVE:2s:-1e-300:U RRA:AVERAGE:0.5:1h:1w",
                1,
                2,
                &[(3600, 168)],
            ),
            (
                "--step 10 DS:l:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1d RRA:AVERAGE:0.5:6:1d",
                10,
                20,
                &[(1, 8640), (6, 1440)],
            ),
            (
                "-s5 DS:l:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                5,
                20,
                &[(1, 1)],
            ),
            (
                "--step=5 DS:l:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                5,
                20,
                &[(1, 1)],
            ),
            // Leading zeros are a count, as strtoul reads them.
            (
                "--step 10 DS:l:GAUGE:20:U:U RRA:AVERAGE:0.5:010:1",
                10,
                20,
                &[(10, 1)],
            ),
        ];
        for &(text, step, heartbeat, rras) in cases {
            let d = ok(text);
            assert_eq!(d.step, step, "{text}");
            assert_eq!(d.ds.heartbeat, heartbeat, "{text}");
            assert_eq!(shape(&d), rras, "{text}");
        }
        let d = ok("DS:l:COUNTER:1h:0:1e300 RRA:LAST:0:1d:1y");
        assert_eq!((d.ds.min, d.ds.max), (Some(0.0), Some(1e300)));
        assert_eq!(d.ds.kind, DsKind::Counter);
    }

    /// The same cases make rrdtool refuse with "value would truncate when
    /// scaled".
    #[test]
    fn durations_that_do_not_divide_are_refused_like_rrdtool() {
        assert_eq!(
            syntax_msg(&with_rras("10", "RRA:AVERAGE:0.5:7s:1")),
            "invalid steps \"7s\" in \"RRA:AVERAGE:0.5:7s:1\": 7 seconds is not a whole \
             multiple of the step (10 seconds)"
        );
        assert_eq!(
            syntax_msg("--step 1m DS:l:GAUGE:1M:U:U RRA:AVERAGE:0.5:1w:1y"),
            "invalid rows \"1y\" in \"RRA:AVERAGE:0.5:1w:1y\": 31622400 seconds is not a \
             whole multiple of the 604800 seconds per row"
        );
        assert!(syntax_msg(&with_rras("7", "RRA:AVERAGE:0.5:1:1d"))
            .contains("86400 seconds is not a whole multiple of the 7 seconds per row"));
        assert!(syntax_msg(&with_rras("10", "RRA:AVERAGE:0.5:7:1d")).contains("70 seconds per row"));
    }

    #[test]
    fn every_unit() {
        for (unit, secs) in [
            ("s", 1),
            ("m", 60),
            ("h", 3600),
            ("d", 86_400),
            ("w", 604_800),
            ("M", 2_678_400),
            ("y", 31_622_400),
        ] {
            let d = ok(&format!(
                "--step 2{unit} DS:x:GAUGE:3{unit}:U:U RRA:MIN:0:1:1"
            ));
            assert_eq!((d.step, d.ds.heartbeat), (2 * secs, 3 * secs), "{unit}");
            let d = ok(&format!(
                "--step 1 DS:x:GAUGE:1:U:U RRA:MIN:0:1{unit}:4{unit}"
            ));
            assert_eq!(shape(&d), [(secs, 4)], "{unit}");
        }
    }

    #[test]
    fn defaults_order_and_forms() {
        let d = ok("DS:x:GAUGE:600:U:U RRA:AVERAGE:0.5:1:1");
        assert_eq!(d.step, DEFAULT_STEP);
        // The step may come last and still scales the archives' durations.
        let d = ok("RRA:AVERAGE:0.5:1m:1h DS:x:GAUGE:20:U:U --step 10");
        assert_eq!((d.step, shape(&d)), (10, vec![(6, 60)]));
        let d = ok("  \n\t-s 10\nDS:x:ABSOLUTE:20:U:U\tRRA:LAST:0:1:5  ");
        assert_eq!((d.step, d.ds.kind), (10, DsKind::Absolute));
        for kind in DsKind::ALL {
            let d = ok(&format!(
                "DS:x:{}:20:U:U RRA:AVERAGE:0.5:1:1",
                kind.as_str()
            ));
            assert_eq!(d.ds.kind, kind);
        }
        for cf in Cf::ALL {
            let d = ok(&format!("DS:x:GAUGE:20:U:U RRA:{}:0.5:1:1", cf.as_str()));
            assert_eq!(d.archives[0].cf, cf);
        }
        // rrdtool's name regex admits '-'.
        assert_eq!(
            ok("DS:lo-ad_1:GAUGE:20:U:U RRA:MAX:0:1:1").ds.name,
            "lo-ad_1"
        );
        assert_eq!(
            ok("DS:abcdefghijklmnopqrs:GAUGE:20:U:U RRA:MAX:0:1:1")
                .ds
                .name
                .len(),
            19
        );
        let d = ok("DS:x:GAUGE:20:-.5:+5. RRA:MAX:1e-1:1:1");
        assert_eq!(
            (d.ds.min, d.ds.max, d.archives[0].xff),
            (Some(-0.5), Some(5.0), 0.1)
        );
        assert_eq!(
            d.to_string(),
            "--step 300 DS:x:GAUGE:20:-0.5:5 RRA:MAX:0.1:1:1"
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(Cf::parse("average"), Some(Cf::Average));
        assert_eq!(Cf::parse("Max"), Some(Cf::Max));
        assert_eq!(Cf::parse("LAST"), Some(Cf::Last));
        assert_eq!(Cf::parse("min"), Some(Cf::Min));
        assert_eq!(Cf::parse("MEDIAN"), None);
        assert_eq!(Cf::parse(""), None);
        for cf in Cf::ALL {
            assert_eq!(Cf::parse(cf.as_str()), Some(cf));
        }
        for kind in DsKind::ALL {
            assert_eq!(DsKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(DsKind::from_name("gauge"), None);
        assert_eq!(DsKind::DCounter.as_str(), "DCOUNTER");
        let a = Archive {
            cf: Cf::Max,
            xff: 0.5,
            steps: 6,
            rows: 10,
        };
        assert_eq!(a.seconds_per_row(10), 60);
        assert_eq!(
            Archive {
                steps: u64::MAX,
                ..a
            }
            .seconds_per_row(10),
            u64::MAX
        );
    }

    #[test]
    fn number_printing() {
        for (v, s) in [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.5, "0.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-5"),
            (1e15, "1000000000000000"),
            (1e16, "1e16"),
            (1e300, "1e300"),
            (-1.5e-300, "-1.5e-300"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (1.0 - f64::EPSILON / 2.0, "0.9999999999999999"),
        ] {
            assert_eq!(fmt_number(v), s, "{v:e}");
            assert_eq!(parse_number(s), Some(v + 0.0), "{s}");
        }
    }

    #[test]
    fn syntax_errors_name_the_token() {
        let cases: &[(&str, &str)] = &[
            (
                "",
                "no data source: expected one DS:name:KIND:heartbeat:min:max",
            ),
            (
                "--step 10 RRA:AVERAGE:0.5:1:1",
                "no data source: expected one DS:name:KIND:heartbeat:min:max",
            ),
            (
                "--step 10 DS:x:GAUGE:20:U:U",
                "no archive: expected at least one RRA:CF:xff:steps:rows",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1 --step",
                "\"--step\" needs a value",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1 -s",
                "\"-s\" needs a value",
            ),
            (
                "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1 --step 20",
                "duplicate step \"--step 20\": the step may be given only once",
            ),
            (
                "-s10 --step=10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "duplicate step \"--step=10\": the step may be given only once",
            ),
            (
                "--step abc DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "invalid step \"abc\" in \"--step abc\": expected a positive count or a duration \
                 such as 10s, 5m, 1h, 1d, 1w, 1M or 1y",
            ),
            (
                "--step -5 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "invalid step \"-5\" in \"--step -5\": expected a positive count or a duration \
                 such as 10s, 5m, 1h, 1d, 1w, 1M or 1y",
            ),
            (
                "--step= DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "invalid step \"\" in \"--step=\": expected a positive count or a duration \
                 such as 10s, 5m, 1h, 1d, 1w, 1M or 1y",
            ),
            (
                "--step 0 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "invalid step \"0\" in \"--step 0\": must be positive",
            ),
            (
                "--step 0m DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "invalid step \"0m\" in \"--step 0m\": must be positive",
            ),
            // rrdtool would read "10min" as 10 minutes and "1month" as 1
            // minute (only the first suffix letter counts); we refuse both.
            (
                "--step 10min DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "invalid step \"10min\" in \"--step 10min\": unknown unit \"min\" \
                 (units: s, m = minute, h, d, w, M = 31 days, y = 366 days)",
            ),
            (
                "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1month:1",
                "invalid steps \"1month\" in \"RRA:AVERAGE:0.5:1month:1\": unknown unit \"month\" \
                 (units: s, m = minute, h, d, w, M = 31 days, y = 366 days)",
            ),
            (
                "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1H:1d",
                "invalid steps \"1H\" in \"RRA:AVERAGE:0.5:1H:1d\": unknown unit \"H\" \
                 (units: s, m = minute, h, d, w, M = 31 days, y = 366 days)",
            ),
            (
                "--start 1500000000 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "unsupported option \"--start\": only --step (-s) and --lateness may be given",
            ),
            (
                "--no-overwrite DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "unsupported option \"--no-overwrite\": only --step (-s) and --lateness may be given",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1 foo",
                "unexpected token \"foo\": expected --step N, DS:name:KIND:heartbeat:min:max or \
                 RRA:CF:xff:steps:rows",
            ),
            (
                "DS:x:GAUGE:20:U:U rra:AVERAGE:0.5:1:1",
                "unexpected token \"rra:AVERAGE:0.5:1:1\": expected --step N, \
                 DS:name:KIND:heartbeat:min:max or RRA:CF:xff:steps:rows",
            ),
            (
                "DS:x:GAUGE:20:U:U DS:y:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "only one data source per series is supported, found a second one: \
                 \"DS:y:GAUGE:20:U:U\"",
            ),
            (
                "DS:x:GAUGEX:20:U:U RRA:AVERAGE:0.5:1:1",
                "unknown data source kind \"GAUGEX\" in \"DS:x:GAUGEX:20:U:U\" (expected GAUGE, \
                 COUNTER, DERIVE, ABSOLUTE, DCOUNTER or DDERIVE)",
            ),
            (
                "DS:x:gauge:20:U:U RRA:AVERAGE:0.5:1:1",
                "unknown data source kind \"gauge\" in \"DS:x:gauge:20:U:U\" (expected GAUGE, \
                 COUNTER, DERIVE, ABSOLUTE, DCOUNTER or DDERIVE)",
            ),
            (
                "DS:x:COMPUTE:y,2,* RRA:AVERAGE:0.5:1:1",
                "COMPUTE data sources are not supported: \"DS:x:COMPUTE:y,2,*\"",
            ),
            (
                "DS:x:GAUGE:20:U RRA:AVERAGE:0.5:1:1",
                "incomplete data source \"DS:x:GAUGE:20:U\": expected \
                 DS:name:KIND:heartbeat:min:max",
            ),
            (
                "DS:x RRA:AVERAGE:0.5:1:1",
                "incomplete data source \"DS:x\": expected DS:name:KIND:heartbeat:min:max",
            ),
            ("DS: RRA:AVERAGE:0.5:1:1", "empty field in \"DS:\""),
            (
                "DS:x:GAUGE::U:U RRA:AVERAGE:0.5:1:1",
                "empty field in \"DS:x:GAUGE::U:U\"",
            ),
            (
                "DS:x:GAUGE:20:U:U:extra RRA:AVERAGE:0.5:1:1",
                "unexpected extra field \"extra\" in \"DS:x:GAUGE:20:U:U:extra\": expected \
                 DS:name:KIND:heartbeat:min:max",
            ),
            (
                "DS:a.b:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "invalid data source name \"a.b\" in \"DS:a.b:GAUGE:20:U:U\": use 1 to 19 of the \
                 characters A-Z a-z 0-9 _ -",
            ),
            (
                "DS:abcdefghijklmnopqrst:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "invalid data source name \"abcdefghijklmnopqrst\" in \
                 \"DS:abcdefghijklmnopqrst:GAUGE:20:U:U\": use 1 to 19 of the characters \
                 A-Z a-z 0-9 _ -",
            ),
            (
                "DS:x=y[1]:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "invalid data source name \"x=y[1]\" in \"DS:x=y[1]:GAUGE:20:U:U\": use 1 to 19 \
                 of the characters A-Z a-z 0-9 _ -",
            ),
            (
                "DS:x:GAUGE:0:U:U RRA:AVERAGE:0.5:1:1",
                "invalid heartbeat \"0\" in \"DS:x:GAUGE:0:U:U\": must be positive",
            ),
            (
                "DS:x:GAUGE:1.5:U:U RRA:AVERAGE:0.5:1:1",
                "invalid heartbeat \"1.5\" in \"DS:x:GAUGE:1.5:U:U\": unknown unit \".5\" \
                 (units: s, m = minute, h, d, w, M = 31 days, y = 366 days)",
            ),
            (
                "DS:x:GAUGE:20:u:U RRA:AVERAGE:0.5:1:1",
                "invalid min \"u\" in \"DS:x:GAUGE:20:u:U\": expected a finite number or U",
            ),
            (
                "DS:x:GAUGE:20:U:0x10 RRA:AVERAGE:0.5:1:1",
                "invalid max \"0x10\" in \"DS:x:GAUGE:20:U:0x10\": expected a finite number or U",
            ),
            (
                "DS:x:GAUGE:20:inf:U RRA:AVERAGE:0.5:1:1",
                "invalid min \"inf\" in \"DS:x:GAUGE:20:inf:U\": expected a finite number or U",
            ),
            (
                "DS:x:GAUGE:20:U:NaN RRA:AVERAGE:0.5:1:1",
                "invalid max \"NaN\" in \"DS:x:GAUGE:20:U:NaN\": expected a finite number or U",
            ),
            (
                "DS:x:GAUGE:20:U:1e400 RRA:AVERAGE:0.5:1:1",
                "invalid max \"1e400\" in \"DS:x:GAUGE:20:U:1e400\": expected a finite number or U",
            ),
            (
                "DS:x:GAUGE:20:5:5 RRA:AVERAGE:0.5:1:1",
                "invalid range in \"DS:x:GAUGE:20:5:5\": min (5) must be less than max (5)",
            ),
            (
                "DS:x:GAUGE:20:10:-1 RRA:AVERAGE:0.5:1:1",
                "invalid range in \"DS:x:GAUGE:20:10:-1\": min (10) must be less than max (-1)",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:average:0.5:1:1",
                "unknown consolidation function \"average\" in \"RRA:average:0.5:1:1\" \
                 (expected AVERAGE, MIN, MAX or LAST)",
            ),
            // rrdtool reads the upper-case prefix and takes this as AVERAGE.
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGEx:0.5:1:1",
                "unknown consolidation function \"AVERAGEx\" in \"RRA:AVERAGEx:0.5:1:1\" \
                 (expected AVERAGE, MIN, MAX or LAST)",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:HWPREDICT:1440:0.1:0.0035:288",
                "HWPREDICT archives (Holt-Winters forecasting) are not supported: \
                 \"RRA:HWPREDICT:1440:0.1:0.0035:288\"",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1",
                "incomplete archive \"RRA:AVERAGE:0.5:1\": expected RRA:CF:xff:steps:rows",
            ),
            ("DS:x:GAUGE:20:U:U RRA:", "empty field in \"RRA:\""),
            // rrdtool's tokenizer skips the empty field and accepts this.
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE::0.5:1:1",
                "empty field in \"RRA:AVERAGE::0.5:1:1\"",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10:extra",
                "unexpected extra field \"extra\" in \"RRA:AVERAGE:0.5:1:10:extra\": expected \
                 RRA:CF:xff:steps:rows",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:1:1:1",
                "invalid xff \"1\" in \"RRA:AVERAGE:1:1:1\": expected a number from 0 up to but \
                 not including 1",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:-0.1:1:1",
                "invalid xff \"-0.1\" in \"RRA:AVERAGE:-0.1:1:1\": expected a number from 0 up to \
                 but not including 1",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:U:1:1",
                "invalid xff \"U\" in \"RRA:AVERAGE:U:1:1\": expected a number from 0 up to but \
                 not including 1",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:0:1",
                "invalid steps \"0\" in \"RRA:AVERAGE:0.5:0:1\": must be positive",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:0",
                "invalid rows \"0\" in \"RRA:AVERAGE:0.5:1:0\": must be positive",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:0d",
                "invalid rows \"0d\" in \"RRA:AVERAGE:0.5:1:0d\": must be positive",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:0x5",
                "invalid rows \"0x5\" in \"RRA:AVERAGE:0.5:1:0x5\": unknown unit \"x5\" \
                 (units: s, m = minute, h, d, w, M = 31 days, y = 366 days)",
            ),
            (
                "DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:+1:1",
                "invalid steps \"+1\" in \"RRA:AVERAGE:0.5:+1:1\": expected a positive count or a \
                 duration such as 10s, 5m, 1h, 1d, 1w, 1M or 1y",
            ),
        ];
        for &(text, want) in cases {
            assert_eq!(syntax_msg(text), want, "{text}");
        }
    }

    #[test]
    fn absurd_sizes_are_parameter_errors() {
        let cases: &[(&str, &str)] = &[
            (
                "--step 2147483649 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "step \"2147483649\" in \"--step 2147483649\" is too large: 2147483649 seconds, \
                 at most 2147483648",
            ),
            (
                "--step 99999999999999999999 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "step \"99999999999999999999\" in \"--step 99999999999999999999\" is too large",
            ),
            (
                "--step 99999999999999999y DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1",
                "step \"99999999999999999y\" in \"--step 99999999999999999y\" is too large",
            ),
            (
                "DS:x:GAUGE:100y:U:U RRA:AVERAGE:0.5:1:1",
                "heartbeat \"100y\" in \"DS:x:GAUGE:100y:U:U\" is too large: 3162240000 seconds, \
                 at most 2147483648",
            ),
            (
                "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:100000001",
                "archive \"RRA:AVERAGE:0.5:1:100000001\" brings the series to 100000001 ring \
                 slots, more than the limit of 100000000",
            ),
            (
                "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:60000000 RRA:MAX:0.5:1:40000001",
                "archive \"RRA:MAX:0.5:1:40000001\" brings the series to 100000001 ring slots, \
                 more than the limit of 100000000",
            ),
            (
                "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1000000000000:1",
                "archive \"RRA:AVERAGE:0.5:1000000000000:1\" spans more than 6311390400000 \
                 seconds (200000 years)",
            ),
            (
                "--step 1d DS:x:GAUGE:1d:U:U RRA:AVERAGE:0.5:1:80000000",
                "archive \"RRA:AVERAGE:0.5:1:80000000\" spans more than 6311390400000 seconds \
                 (200000 years)",
            ),
            (
                "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:18446744073709551615:1",
                "archive \"RRA:AVERAGE:0.5:18446744073709551615:1\" spans more than 6311390400000 \
                 seconds (200000 years)",
            ),
            (
                "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:18446744073709551616",
                "rows \"18446744073709551616\" in \"RRA:AVERAGE:0.5:1:18446744073709551616\" is \
                 too large",
            ),
        ];
        for &(text, want) in cases {
            assert_eq!(param_msg(text), want, "{text}");
        }
        // Right at the limits is fine.
        let d = ok("--step 2147483648 DS:x:GAUGE:2147483648:U:U RRA:LAST:0:1:2938");
        assert_eq!(d.total_slots(), 2938);
        let d = ok("--step 1 DS:x:GAUGE:1:U:U RRA:LAST:0:1:50000000 RRA:LAST:0:1:50000000");
        assert_eq!(d.total_slots(), MAX_TOTAL_SLOTS);
        ok(&format!(
            "--step 1 DS:x:GAUGE:1:U:U RRA:LAST:0:{MAX_SPAN_SECONDS}:1"
        ));
        param_msg(&format!(
            "--step 1 DS:x:GAUGE:1:U:U RRA:LAST:0:{}:1",
            MAX_SPAN_SECONDS + 1
        ));
        // As many archives as a smallint numbers, and no more.
        let rras = |n: usize| format!("DS:x:GAUGE:1:U:U{}", " RRA:LAST:0:1:1".repeat(n));
        assert_eq!(ok(&rras(MAX_ARCHIVES)).archives.len(), MAX_ARCHIVES);
        assert_eq!(
            param_msg(&rras(40_000)),
            "a definition may have at most 32767 archives, this one has 32768"
        );
        let mut d = ok(&rras(1));
        d.archives = vec![d.archives[0].clone(); MAX_ARCHIVES + 1];
        assert!(d.validate().is_err());
    }

    #[test]
    fn validate_refuses_what_parse_refuses() {
        let good = ok(EXAMPLE);
        let bad: Vec<(Definition, &str)> = vec![
            (
                Definition {
                    lateness: 0,
                    step: 0,
                    ..good.clone()
                },
                "step 0",
            ),
            (
                Definition {
                    lateness: 0,
                    archives: vec![],
                    ..good.clone()
                },
                "at least one archive",
            ),
            {
                let mut d = good.clone();
                d.ds.name = "a b".into();
                (d, "name \"a b\"")
            },
            {
                let mut d = good.clone();
                d.ds.heartbeat = MAX_INTERVAL_SECONDS + 1;
                (d, "heartbeat 2147483649")
            },
            {
                let mut d = good.clone();
                d.ds.min = Some(f64::NAN);
                (d, "min must be a finite")
            },
            {
                let mut d = good.clone();
                (d.ds.min, d.ds.max) = (Some(2.0), Some(1.0));
                (d, "min (2) must be less than max (1)")
            },
            {
                let mut d = good.clone();
                d.archives[1].xff = 1.0;
                (d, "archive \"RRA:MAX:1:6:10080\": xff 1")
            },
            {
                let mut d = good.clone();
                d.archives[0].rows = 0;
                (d, "archive \"RRA:AVERAGE:0.5:1:0\": steps and rows")
            },
            {
                let mut d = good.clone();
                d.archives[2].steps = u64::MAX;
                (
                    d,
                    "archive \"RRA:AVERAGE:0.5:18446744073709551615:8784\" spans",
                )
            },
            {
                let mut d = good.clone();
                d.archives[2].rows = MAX_TOTAL_SLOTS;
                (
                    d,
                    "archive \"RRA:AVERAGE:0.5:360:100000000\" brings the series to 100018720",
                )
            },
        ];
        for (d, want) in bad {
            match d.validate() {
                Err(RrdError::BadParameter { msg }) => assert!(msg.contains(want), "{msg}"),
                other => panic!("{d:?}: expected a parameter error, got {other:?}"),
            }
        }
    }

    /// xorshift64*: enough randomness for round trips, no new crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
            &xs[self.below(xs.len() as u64) as usize]
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        /// A finite f64 of a random kind: small integer, fraction, any bits.
        fn number(&mut self) -> f64 {
            match self.below(4) {
                0 => self.below(2000) as f64 - 1000.0,
                1 => (self.unit() - 0.5) * 10f64.powi(self.below(40) as i32 - 20),
                _ => loop {
                    let v = f64::from_bits(self.next());
                    if v.is_finite() {
                        break v;
                    }
                },
            }
        }
    }

    fn random_definition(rng: &mut Rng) -> Definition {
        let step = *rng.pick(&[1, 5, 10, 60, 300, 3600, 86_400, MAX_INTERVAL_SECONDS]);
        let name_chars = b"abcXYZ019_-";
        let name_len = 1 + rng.below(MAX_DS_NAME_LEN as u64) as usize;
        let name = (0..name_len)
            .map(|_| *rng.pick(name_chars) as char)
            .collect();
        let (mut min, mut max) = (None, None);
        if rng.below(2) == 0 {
            min = Some(rng.number());
        }
        if rng.below(2) == 0 {
            max = Some(rng.number());
        }
        if let (Some(a), Some(b)) = (min, max) {
            if a >= b {
                max = if a == b { None } else { Some(a) };
                min = Some(b);
            }
        }
        let ds = DataSource {
            name,
            kind: *rng.pick(&DsKind::ALL),
            heartbeat: 1 + rng.below(MAX_INTERVAL_SECONDS),
            min,
            max,
        };
        let n = 1 + rng.below(6);
        let mut archives = Vec::new();
        let max_rows = MAX_TOTAL_SLOTS / 6;
        for _ in 0..n {
            let steps_cap = (*rng.pick(&[1, 10, 1000, 100_000])).min(MAX_SPAN_SECONDS / step);
            let steps = 1 + rng.below(steps_cap);
            let rows_cap = (MAX_SPAN_SECONDS / (step * steps)).min(max_rows);
            let rows = 1 + rng.below(rows_cap);
            let xff = match rng.below(3) {
                0 => *rng.pick(&[0.0, 0.5, 0.25, 0.99, 0.9999999999999999]),
                _ => rng.unit(),
            };
            archives.push(Archive {
                cf: *rng.pick(&Cf::ALL),
                xff,
                steps,
                rows,
            });
        }
        Definition {
            step,
            ds,
            archives,
            lateness: 0,
        }
    }

    #[test]
    fn print_then_parse_is_identity() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5000 {
            let d = random_definition(&mut rng);
            assert_eq!(d.validate(), Ok(()), "{d:?}");
            let text = d.to_string();
            let back = ok(&text);
            assert_eq!(back, d, "{text}");
            // Bit-for-bit, not just ==, so that -0 and 0 are told apart.
            assert_eq!(
                back.ds.min.map(f64::to_bits),
                d.ds.min.map(|v| (v + 0.0).to_bits())
            );
            assert_eq!(back.to_string(), text);
        }
    }

    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }

    /// A count or duration of `multiple_of` seconds (`None` for a count),
    /// now and then one that does not divide, to exercise the errors.
    fn random_amount(rng: &mut Rng, multiple_of: Option<u64>) -> (String, u64) {
        const UNITS: [(&str, u64); 7] = [
            ("s", 1),
            ("m", 60),
            ("h", 3600),
            ("d", 86_400),
            ("w", 604_800),
            ("M", 2_678_400),
            ("y", 31_622_400),
        ];
        let k = 1 + rng.below(30);
        if rng.below(2) == 0 {
            return (k.to_string(), k);
        }
        let (unit, secs) = *rng.pick(&UNITS);
        let n = match multiple_of {
            Some(m) if rng.below(8) != 0 => m / gcd(m, secs) * (1 + rng.below(3)),
            _ => k,
        };
        (format!("{n}{unit}"), n * secs)
    }

    /// Texts written the many ways a user may write them.
    fn random_text(rng: &mut Rng) -> String {
        let mut tokens = Vec::new();
        let mut step = DEFAULT_STEP;
        if rng.below(4) != 0 {
            let (v, secs) = random_amount(rng, None);
            step = secs;
            tokens.push(match rng.below(4) {
                0 => format!("--step {v}"),
                1 => format!("--step={v}"),
                2 => format!("-s {v}"),
                _ => format!("-s{v}"),
            });
        }
        let bound = |rng: &mut Rng| -> String {
            match rng.below(4) {
                0 => "U".into(),
                1 => format!("{}", rng.below(100)),
                2 => format!("{:e}", rng.number()),
                _ => format!("{}", rng.number()),
            }
        };
        let (lo, hi) = (bound(rng), bound(rng));
        let (heartbeat, _) = random_amount(rng, None);
        tokens.push(format!(
            "DS:d{}:{}:{heartbeat}:{lo}:{hi}",
            rng.below(100),
            rng.pick(&DsKind::ALL).as_str(),
        ));
        for _ in 0..1 + rng.below(4) {
            let xff = rng.pick(&["0", "0.5", ".5", "0.25", "5e-1", "0.999"]);
            let (steps_text, steps_secs) = random_amount(rng, Some(step));
            let per_row = if steps_text.ends_with(|c: char| c.is_ascii_digit()) {
                step * steps_secs
            } else {
                steps_secs
            };
            let (rows_text, _) = random_amount(rng, Some(per_row));
            tokens.push(format!(
                "RRA:{}:{xff}:{steps_text}:{rows_text}",
                rng.pick(&Cf::ALL).as_str(),
            ));
        }
        for i in (1..tokens.len()).rev() {
            tokens.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let seps = [" ", "  ", "\t", "\n "];
        let mut text = String::new();
        for t in tokens {
            let sep: &&str = rng.pick(&seps);
            text.push_str(sep);
            text.push_str(&t);
        }
        text
    }

    fn assert_canonical(text: &str, d: &Definition) {
        let printed = d.to_string();
        let again = ok(&printed);
        assert_eq!(&again, d, "{text}");
        assert_eq!(again.to_string(), printed, "{text}");
        assert_eq!(d.validate(), Ok(()), "{text}");
    }

    #[test]
    fn parse_print_parse_is_stable() {
        let mut rng = Rng(42);
        let mut parsed = 0;
        for _ in 0..5000 {
            let text = random_text(&mut rng);
            match parse(&text) {
                Ok(d) => {
                    parsed += 1;
                    assert_canonical(&text, &d);
                }
                Err(RrdError::Syntax { .. } | RrdError::BadParameter { .. }) => {}
                Err(e) => panic!("{text}: unexpected error kind {e:?}"),
            }
        }
        // The generator must exercise the success path, not only errors
        // (durations that do not divide and min >= max refuse many texts).
        assert!(parsed > 2000, "only {parsed} of 5000 texts parsed");
    }

    #[test]
    fn mangled_texts_never_panic() {
        let mut rng = Rng(7);
        let junk = [
            ":", " ", "U", "0", "9", "-", ".", "e", "m", "y", "x", "é", "DS:", "RRA:", "--step",
        ];
        for _ in 0..20_000 {
            let mut text: Vec<char> = random_text(&mut rng).chars().collect();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(text.len() as u64 + 1) as usize;
                if rng.below(2) == 0 && at < text.len() {
                    text.remove(at);
                } else {
                    let ins: Vec<char> = rng.pick(&junk).chars().collect();
                    text.splice(at..at, ins);
                }
            }
            let text: String = text.into_iter().collect();
            match parse(&text) {
                Ok(d) => assert_canonical(&text, &d),
                Err(RrdError::Syntax { msg } | RrdError::BadParameter { msg }) => {
                    assert!(!msg.is_empty())
                }
                Err(e) => panic!("{text}: unexpected error kind {e:?}"),
            }
        }
    }
}

impl Definition {
    /// The bytes a definition is stored as: the CBOR encoding of these
    /// types, which is also how the extension's `rrd` type keeps its value
    /// (its `rrd::bytea` cast reads the same bytes).
    pub fn to_stored(&self) -> Vec<u8> {
        serde_cbor::to_vec(self).unwrap_or_default()
    }

    /// A definition from its stored bytes, checked as
    /// [`Definition::validate`] checks a parsed one; `Corrupt` when the
    /// bytes do not decode or decode to a definition no parse could give.
    pub fn from_stored(bytes: &[u8]) -> Result<Definition> {
        let def: Definition = serde_cbor::from_slice(bytes).map_err(|e| RrdError::Corrupt {
            msg: format!("definition: {e}"),
        })?;
        def.validate().map_err(|e| RrdError::Corrupt {
            msg: format!("definition: {e}"),
        })?;
        Ok(def)
    }
}

/// The stored form of a definition is the CBOR encoding of these types.
/// A change of field names, order or types changes the bytes on disk; this
/// test makes such a change deliberate.
#[cfg(test)]
mod golden {
    use super::*;

    #[test]
    fn cbor_bytes_are_stable() {
        let d = parse("--step 10 DS:load:GAUGE:20:0:U RRA:AVERAGE:0.5:1:8640 RRA:MAX:0.5:6:10080")
            .expect("valid definition");
        let bytes = d.to_stored();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "a364737465700a626473a5646e616d65646c6f6164646b696e646547617567656968656172746265617414\
             636d696ef90000636d6178f668617263686976657382a4626366674176657261676563786666f9380065\
             73746570730164726f77731921c0a4626366634d617863786666f938006573746570730664726f7773\
             192760"
        );
        assert_eq!(Definition::from_stored(&bytes), Ok(d));
        assert!(matches!(
            Definition::from_stored(&bytes[..bytes.len() - 1]),
            Err(RrdError::Corrupt { .. })
        ));
    }
}
