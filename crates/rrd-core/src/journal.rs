//! The journal's rules, without storage: which lane a series belongs to,
//! the little a writer must know of a series to refuse what the engine
//! would refuse ([`Tip`], [`check`]), and the columnar form of the points
//! one statement leaves in one lane ([`LaneRow`]).
//!
//! A statement of many series does not run the engine. It checks each
//! point against its series' tip, appends the points to the journal, one
//! row per lane, and moves the tips, which its lanes' rows hold packed
//! (one `bigint` per series). A fold later runs the engine over each
//! series' journal points in time order, which is their order of writing:
//! the checks let only increasing times in.

use std::collections::BTreeMap;

use crate::batch::{self, OnBad, Value};
use crate::def::{Definition, DsKind};
use crate::engine::{self, State};
use crate::error::{Result, RrdError};

/// Series per lane, as a power of two: a lane is the series whose ids
/// share all but the low [`LANE_BITS`] bits.
pub const LANE_BITS: u32 = 7;

/// Series per lane.
pub const LANE_WIDTH: usize = 1 << LANE_BITS;

/// The lane of series `id`.
pub fn lane_of(id: i64) -> i64 {
    id >> LANE_BITS
}

/// The place of series `id` in its lane.
pub fn slot_of(id: i64) -> usize {
    (id & (LANE_WIDTH as i64 - 1)) as usize
}

/// The series id at place `slot` of `lane`.
pub fn id_at(lane: i64, slot: usize) -> i64 {
    (lane << LANE_BITS) | slot as i64
}

/// What the last input of a series was, as far as a check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prev {
    /// Unknown, or none yet.
    None,
    /// Text the engine reads as a number.
    Number,
    /// Other text (accepted unread, as rrdtool accepts a DCOUNTER's first
    /// input), with the text when known: a DCOUNTER or DDERIVE refuses the
    /// next input with a message that quotes it.
    Other(Option<String>),
}

/// The tip of a series: its last update time and what its last input was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip {
    /// Microseconds since the epoch.
    pub last_up: i64,
    pub prev: Prev,
}

impl Tip {
    /// The tip of a series in `state`.
    pub fn of(state: &State) -> Tip {
        Tip::of_last(state.last_up, state.last_ds.as_deref())
    }

    /// The tip of a series whose state holds last update `last_up` and
    /// last input `last_ds`.
    pub fn of_last(last_up: i64, last_ds: Option<&str>) -> Tip {
        Tip {
            last_up,
            prev: prev_of(last_ds),
        }
    }

    /// The tip as a lane row stores it: time x 4 + 1, 2 or 3 for no, a
    /// numeric or another last input. 0 is "not recorded" (read the state).
    pub fn pack(&self) -> i64 {
        let class = match self.prev {
            Prev::None => 1,
            Prev::Number => 2,
            Prev::Other(_) => 3,
        };
        self.last_up.saturating_mul(4).saturating_add(class)
    }

    /// The tip a lane row holds, or `None` if it holds none (0) or holds
    /// something no tip packs to.
    pub fn unpack(packed: i64) -> Option<Tip> {
        if packed <= 0 {
            return None;
        }
        let prev = match packed & 3 {
            1 => Prev::None,
            2 => Prev::Number,
            3 => Prev::Other(None),
            _ => return None,
        };
        Some(Tip {
            last_up: packed >> 2,
            prev,
        })
    }
}

/// The class of a stored last input (the engine keeps 29 bytes of it).
fn prev_of(last_ds: Option<&str>) -> Prev {
    match last_ds {
        None => Prev::None,
        Some(p) if p.starts_with('U') => Prev::None,
        Some(p) if engine::reads_as_float(p) => Prev::Number,
        Some(p) => Prev::Other(Some(p.to_string())),
    }
}

/// Checks one point against a series' tip exactly as [`engine::update`]
/// would, without the rest of the state: the engine refuses a point only
/// for its time, for its own text, or (DCOUNTER, DDERIVE) for the text of
/// the previous input. Returns the tip after the point, or `Ok(None)` when
/// the answer needs the previous input's text and the tip does not carry
/// it (the caller then folds the series and asks again with its state).
/// Errors are the engine's, before the caller names the series.
pub fn check(def: &Definition, tip: &Tip, t_us: i64, value: Option<&str>) -> Result<Option<Tip>> {
    engine::check_time(tip.last_up, t_us)?;
    let interval = engine::interval_secs(tip.last_up, t_us);
    let beyond_heartbeat = (def.ds.heartbeat as f64) < interval;
    if let Some(v) = value.filter(|v| !v.starts_with('U') && !beyond_heartbeat) {
        let previous = match &tip.prev {
            Prev::None => None,
            Prev::Number => Some("0"),
            Prev::Other(Some(p)) => Some(p.as_str()),
            Prev::Other(None) => {
                if matches!(def.ds.kind, DsKind::DCounter | DsKind::DDerive) {
                    return Ok(None);
                }
                Some("0")
            }
        };
        engine::check_input(def, previous, v)?;
    }
    let kept = value
        .filter(|v| *v != "U")
        .map(|v| &v[..engine::kept_len(v)]);
    Ok(Some(Tip {
        last_up: t_us,
        prev: prev_of(kept),
    }))
}

/// [`check`] for a double given as such (not as text): the same answer,
/// without writing the double out as the engine reads it, which only a
/// refusal needs (or a DCOUNTER's or DDERIVE's previous text, or a
/// counter's check of digits).
pub fn check_float(
    def: &Definition,
    tip: &Tip,
    t_us: i64,
    x: f64,
    text: &mut String,
) -> Result<Option<Tip>> {
    let plain = matches!(def.ds.kind, DsKind::Gauge | DsKind::Absolute)
        || (matches!(def.ds.kind, DsKind::DCounter | DsKind::DDerive)
            && !matches!(tip.prev, Prev::Other(_)));
    if plain && !x.is_nan() && engine::check_time(tip.last_up, t_us).is_ok() {
        // The shortest decimal of a double, never in exponent form, reads
        // back as a number (infinities as "inf" and "-inf").
        return Ok(Some(Tip {
            last_up: t_us,
            prev: Prev::Number,
        }));
    }
    crate::batch::float_text(x, text);
    check(def, tip, t_us, Some(text))
}

/// What [`check_point`] made of a point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Let in: the series' tip after it.
    In(Tip),
    /// Left out (`OnBad::Skip`).
    Skipped,
}

/// Checks point `pos` (1-based) of a batch against series `name`'s tip, as
/// `batch::apply_point` applies one: a refusal names the series, the times
/// and the position, and with `OnBad::Skip` a point the engine would
/// refuse for itself is left out instead. `scratch` is reused for the
/// text of doubles.
#[allow(clippy::too_many_arguments)] // the point, its series and its batch
pub fn check_point(
    def: &Definition,
    name: &str,
    tip: &Tip,
    pos: u64,
    t_us: i64,
    value: &Value,
    on_bad: OnBad,
    scratch: &mut String,
) -> Result<Checked> {
    match check_value(def, tip, t_us, value, scratch) {
        Ok(Some(next)) => Ok(Checked::In(next)),
        Ok(None) => Err(RrdError::Corrupt {
            msg: format!("series \"{name}\": the text of its last input is unknown"),
        }),
        Err(e) => refused(name, tip, pos, t_us, on_bad, e),
    }
}

/// A point the engine refuses, named as a batch names it: skipped with
/// `OnBad::Skip` when it may be, or the batch's error.
fn refused(
    name: &str,
    tip: &Tip,
    pos: u64,
    t_us: i64,
    on_bad: OnBad,
    e: RrdError,
) -> Result<Checked> {
    let e = batch::named(name, t_us, tip.last_up, e);
    if on_bad == OnBad::Skip && batch::refusable(&e) {
        Ok(Checked::Skipped)
    } else {
        Err(RrdError::InBatch {
            pos,
            source: Box::new(e),
        })
    }
}

/// [`check`] of a point given as a batch [`Value`].
fn check_value(
    def: &Definition,
    tip: &Tip,
    t_us: i64,
    value: &Value,
    scratch: &mut String,
) -> Result<Option<Tip>> {
    match value {
        Value::Unknown => check(def, tip, t_us, None),
        Value::Float(x) => check_float(def, tip, t_us, *x, scratch),
        Value::Text(t) => check(def, tip, t_us, Some(t)),
    }
}

/// The pending points of a series with a lateness window (docs/late.md),
/// as a writer checks a late point against them: the tip of its folded
/// state, which carries the text of its last input, and its pending points
/// in time order.
///
/// A point newer than every pending one is checked against the lane's tip
/// as any point is. A late one (at or before the newest) is let in when it
/// is no more than the window older than the newest, newer than the folded
/// state, and not at the time of a pending point; then the points from its
/// place on are checked again in their new order, so that the order a fold
/// will run them in is one the engine takes, and a late point that would
/// make a later one refused is refused itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub settled: Tip,
    pub points: Vec<(i64, Value)>,
}

impl Window {
    /// The window of a series whose state's tip is `settled` and whose
    /// pending points are `points`, in any order.
    pub fn new(settled: Tip, mut points: Vec<(i64, Value)>) -> Window {
        points.sort_by_key(|p| p.0);
        Window { settled, points }
    }

    /// The time of the newest point, pending or folded.
    pub fn newest(&self) -> i64 {
        self.points.last().map_or(self.settled.last_up, |p| p.0)
    }

    /// Checks the points from the settled tip on and gives the tip after
    /// them all (the one the lane keeps).
    pub fn tip(&self, def: &Definition, scratch: &mut String) -> Result<Tip> {
        let mut tip = self.settled.clone();
        for (t, v) in &self.points {
            tip = step(def, &tip, *t, v, scratch)?;
        }
        Ok(tip)
    }

    /// Adds a point newer than every other, already checked against the
    /// lane's tip.
    pub fn push(&mut self, t_us: i64, value: Value) {
        debug_assert!(t_us > self.newest());
        self.points.push((t_us, value));
    }

    /// Checks a late point (at or before [`Window::newest`]) and takes it
    /// in. Errors are the engine's: a point outside the window, at or
    /// before the folded state, or at the time of a pending point is out of
    /// order (against the newest point, as RRDtool would say), and a value
    /// the engine would refuse at its place, or that would make a later
    /// point refused, is that refusal.
    pub fn insert(
        &mut self,
        def: &Definition,
        t_us: i64,
        value: &Value,
        scratch: &mut String,
    ) -> Result<()> {
        let newest = self.newest();
        let opens = newest.saturating_sub(def.lateness_us());
        if t_us < opens || t_us <= self.settled.last_up {
            engine::check_time(newest, t_us)?;
        }
        let at = self.points.partition_point(|p| p.0 < t_us);
        if self.points.get(at).is_some_and(|p| p.0 == t_us) {
            engine::check_time(t_us, t_us)?;
        }
        let mut tip = self.settled.clone();
        for (t, v) in &self.points[..at] {
            tip = step(def, &tip, *t, v, scratch)?;
        }
        tip = step(def, &tip, t_us, value, scratch)?;
        for (t, v) in &self.points[at..] {
            tip = step(def, &tip, *t, v, scratch)?;
        }
        self.points.insert(at, (t_us, value.clone()));
        Ok(())
    }
}

/// [`check_point`] for a late point of series `name` (at or before its
/// newest, `tip`): checked and taken into `window`, or refused or skipped
/// as `check_point` refuses or skips. The tip stays the newest point's.
#[allow(clippy::too_many_arguments)] // the point, its series and its batch
pub fn check_late(
    def: &Definition,
    name: &str,
    tip: &Tip,
    window: &mut Window,
    pos: u64,
    t_us: i64,
    value: &Value,
    on_bad: OnBad,
    scratch: &mut String,
) -> Result<Checked> {
    match window.insert(def, t_us, value, scratch) {
        Ok(()) => Ok(Checked::In(tip.clone())),
        Err(mut e) => {
            // Out of order for this series: the hint names its window.
            if let RrdError::OutOfOrder { window, .. } = &mut e {
                *window = def.lateness;
            }
            refused(name, tip, pos, t_us, on_bad, e)
        }
    }
}

/// The tip after one point, or its refusal.
fn step(
    def: &Definition,
    tip: &Tip,
    t_us: i64,
    value: &Value,
    scratch: &mut String,
) -> Result<Tip> {
    check_value(def, tip, t_us, value, scratch)?.ok_or_else(|| RrdError::Corrupt {
        msg: "the text of a pending point's previous input is unknown".into(),
    })
}

/// How many of a series' pending points, in time order, a fold applies:
/// those older than the lateness window before the newest, which no later
/// point can come before. Without a window, all.
pub fn settled_len(def: &Definition, points: &[(i64, Value)]) -> usize {
    match points.last() {
        Some(&(newest, _)) if def.lateness > 0 => {
            let opens = newest.saturating_sub(def.lateness_us());
            points.partition_point(|p| p.0 < opens)
        }
        _ => points.len(),
    }
}

/// The points one statement leaves in one lane, as the journal row holds
/// them: per point its series' place in the lane, its time and its value.
/// When every point has the same time (a collector's step) the row holds
/// that time once. Values are doubles (NaN: unknown); the exact decimal
/// text of a `numeric` input goes beside them in `text`, which is absent
/// when no point has one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaneRow {
    pub slots: Vec<i16>,
    pub times: Vec<i64>,
    pub values: Vec<f64>,
    pub text: Option<Vec<Option<String>>>,
}

impl LaneRow {
    /// Appends a point of the series at `slot`.
    pub fn push(&mut self, slot: usize, t_us: i64, value: &Value) {
        let n = self.slots.len();
        // Times are kept once while they are all the same.
        if n == 0 {
            self.times.push(t_us);
        } else if self.times.len() > 1 || self.times[0] != t_us {
            if self.times.len() == 1 {
                self.times = vec![self.times[0]; n];
            }
            self.times.push(t_us);
        }
        self.slots.push(slot as i16);
        self.values.push(match value {
            Value::Float(x) => *x,
            Value::Unknown | Value::Text(_) => f64::NAN,
        });
        // The text column is kept beside the others once any point has one.
        let text = match value {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        };
        if text.is_some() || self.text.is_some() {
            self.text.get_or_insert_with(|| vec![None; n]).push(text);
        }
    }

    /// Points in the row.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the row holds no point.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The row's points, `(slot, time, value)`, or what is wrong with the
    /// stored row.
    pub fn points(&self) -> Result<Vec<(usize, i64, Value)>> {
        self.points_where(|_| true)
    }

    /// The row's points of the places `keep` accepts; see [`LaneRow::points`].
    pub fn points_where(&self, keep: impl Fn(usize) -> bool) -> Result<Vec<(usize, i64, Value)>> {
        let n = self.slots.len();
        let corrupt = |what: &str| RrdError::Corrupt {
            msg: format!("journal row of {n} points: {what}"),
        };
        if self.values.len() != n || !(self.times.len() == n || self.times.len() == 1 && n > 0) {
            return Err(corrupt("its arrays differ in length"));
        }
        if self.text.as_ref().is_some_and(|t| t.len() != n) {
            return Err(corrupt("its text array differs in length"));
        }
        let mut out = Vec::new();
        for i in 0..n {
            let slot = usize::try_from(self.slots[i])
                .ok()
                .filter(|&s| s < LANE_WIDTH)
                .ok_or_else(|| corrupt(&format!("slot {} is outside a lane", self.slots[i])))?;
            if !keep(slot) {
                continue;
            }
            let t = if self.times.len() == 1 {
                self.times[0]
            } else {
                self.times[i]
            };
            let value = match self.text.as_ref().and_then(|t| t[i].clone()) {
                Some(s) => Value::Text(s),
                None => Value::from_float(Some(self.values[i])),
            };
            out.push((slot, t, value));
        }
        Ok(out)
    }
}

/// The pending points of a lane's journal rows, per series place, each
/// series' points in time order (stable: a repeated time, which no check
/// lets in, would keep its order of writing).
pub fn by_series(rows: &[LaneRow]) -> Result<BTreeMap<usize, Vec<(i64, Value)>>> {
    by_series_where(rows, |_| true)
}

/// [`by_series`] for the places `keep` accepts (a read of a few series of a
/// lane decodes only their points).
pub fn by_series_where(
    rows: &[LaneRow],
    keep: impl Fn(usize) -> bool + Copy,
) -> Result<BTreeMap<usize, Vec<(i64, Value)>>> {
    let mut out: BTreeMap<usize, Vec<(i64, Value)>> = BTreeMap::new();
    for row in rows {
        for (slot, t, v) in row.points_where(keep)? {
            out.entry(slot).or_default().push((t, v));
        }
    }
    for points in out.values_mut() {
        if points.windows(2).any(|w| w[0].0 > w[1].0) {
            points.sort_by_key(|p| p.0);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{apply_point, float_text, OnBad, SeriesWork};
    use crate::def;
    use crate::ring::Holes;
    use crate::testrng::Lcg;
    use crate::time;
    use std::rc::Rc;

    const DEFS: [&str; 6] = [
        "--step 10 DS:v:GAUGE:25:U:U RRA:AVERAGE:0.5:1:7 RRA:MAX:0.5:3:5",
        "--step 5 DS:c:COUNTER:12:U:U RRA:AVERAGE:0.3:1:10 RRA:MIN:0.5:4:3",
        "--step 10 DS:d:DERIVE:15:0:U RRA:AVERAGE:0.5:1:20",
        "--step 10 DS:a:ABSOLUTE:30:U:U RRA:LAST:0.5:1:20",
        "--step 10 DS:x:DCOUNTER:30:U:U RRA:AVERAGE:0.5:1:20",
        "--step 10 DS:y:DDERIVE:30:U:U RRA:AVERAGE:0.5:2:20",
    ];

    /// Inputs of every sort: numbers, integers, signs, junk, unknowns.
    fn input(rng: &mut Lcg) -> Option<String> {
        Some(match rng.next_u64() % 12 {
            0 => return None,
            1 => "U".into(),
            2 => "Ujunk".into(),
            3 => "1.5".into(),
            4 => "-7".into(),
            5 => "abc".into(),
            6 => "12x".into(),
            7 => "nan".into(),
            8 => "inf".into(),
            9 => "1e3".into(),
            _ => (rng.next_u64() % 100_000).to_string(),
        })
    }

    /// The law the journal rests on: a tip refuses exactly what the engine
    /// refuses, with the same error, and moves as the state does.
    #[test]
    fn tips_refuse_what_the_engine_refuses() {
        let mut rng = Lcg(29);
        for case in 0..600 {
            let def = def::parse(DEFS[case % DEFS.len()]).unwrap();
            let mut state = State::new(&def, 1_000_000 * time::US);
            let mut tip = Tip::of(&state);
            let mut runs = Vec::new();
            for step in 0..80 {
                let t = state.last_up
                    + match rng.next_u64() % 9 {
                        0 => -((rng.next_u64() % 3) as i64) * time::US,
                        1 => (rng.next_u64() % 100) as i64 * time::US,
                        2 => (rng.next_u64() % 999_999) as i64,
                        _ => (1 + rng.next_u64() % 12) as i64 * time::US,
                    };
                let float = match rng.next_u64() % 8 {
                    0 => Some(-((rng.next_u64() % 1000) as f64) / 7.0),
                    1 => Some(f64::INFINITY),
                    2 => Some(1e-300),
                    3 => Some((rng.next_u64() % 100) as f64),
                    _ => None,
                };
                let v = match float {
                    Some(x) => {
                        let mut text = String::new();
                        float_text(x, &mut text);
                        Some(text)
                    }
                    None => input(&mut rng),
                };
                // Half the time the tip comes back from its packed form.
                let known = if rng.next_u64().is_multiple_of(2) {
                    Tip::unpack(tip.pack()).unwrap()
                } else {
                    tip.clone()
                };
                let mut scratch = String::new();
                let first = |tip: &Tip, scratch: &mut String| match float {
                    Some(x) => check_float(&def, tip, t, x, scratch),
                    None => check(&def, tip, t, v.as_deref()),
                };
                let checked = match first(&known, &mut scratch) {
                    Ok(None) => {
                        assert_eq!(known.prev, Prev::Other(None));
                        first(&tip, &mut scratch)
                    }
                    other => other,
                };
                let mut next = state.clone();
                let applied = engine::update(&def, &mut next, t, v.as_deref(), &mut runs);
                match (&checked, &applied) {
                    (Ok(Some(new)), Ok(())) => {
                        assert_eq!(*new, Tip::of(&next), "case {case} step {step}");
                        state = next;
                        tip = new.clone();
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    _ => panic!("case {case} step {step}: {checked:?} vs {applied:?}"),
                }
            }
        }
    }

    #[test]
    fn tips_pack_and_lanes_split_ids() {
        for tip in [
            Tip {
                last_up: 0,
                prev: Prev::None,
            },
            Tip {
                last_up: 253_402_300_799_999_999,
                prev: Prev::Number,
            },
        ] {
            assert_eq!(Tip::unpack(tip.pack()), Some(tip));
        }
        assert_eq!(Tip::unpack(0), None);
        assert_eq!(Tip::unpack(-5), None);
        assert_eq!(Tip::unpack(4), None);
        for id in [1i64, 127, 128, 129, 1 << 40] {
            assert_eq!(id_at(lane_of(id), slot_of(id)), id);
        }
        assert_eq!(lane_of(127), 0);
        assert_eq!(lane_of(128), 1);
    }

    #[test]
    fn lane_rows_keep_one_time_while_they_can() {
        let mut row = LaneRow::default();
        row.push(3, 10, &Value::Float(1.0));
        row.push(4, 10, &Value::Unknown);
        assert_eq!(row.times, vec![10]);
        row.push(5, 20, &Value::Text("18446744073709551615".into()));
        assert_eq!(row.times, vec![10, 10, 20]);
        let points = row.points().unwrap();
        assert_eq!(points[0], (3, 10, Value::Float(1.0)));
        assert_eq!(points[1], (4, 10, Value::Unknown));
        assert_eq!(
            points[2],
            (5, 20, Value::Text("18446744073709551615".into()))
        );
        let only: BTreeMap<usize, Vec<(i64, Value)>> = by_series(std::slice::from_ref(&row))
            .unwrap()
            .into_iter()
            .filter(|(s, _)| *s == 4)
            .collect();
        assert_eq!(
            by_series_where(std::slice::from_ref(&row), |s| s == 4).unwrap(),
            only
        );
        let mut bad = row.clone();
        bad.slots[0] = 200;
        assert!(bad.points().is_err());
        bad = row.clone();
        bad.values.pop();
        assert!(bad.points().is_err());
    }

    /// What storage holds for the series of one lane.
    #[derive(Default, Clone)]
    struct Stored {
        chunks: BTreeMap<(usize, usize, u32), Vec<f64>>,
        states: BTreeMap<usize, (State, Vec<Holes>)>,
    }

    /// Folds `points` of each series into `stored` as one batch per
    /// series, as the extension's fold does.
    fn fold(defs: &[Rc<Definition>], stored: &mut Stored, rows: &[LaneRow]) {
        let mut text = String::new();
        let mut runs = Vec::new();
        for (slot, points) in by_series(rows).unwrap() {
            let (state, holes) = stored.states[&slot].clone();
            let mut w = SeriesWork::new(1, "s".into(), Rc::clone(&defs[slot]), 3, state, holes);
            for (i, (t, v)) in points.iter().enumerate() {
                let v = v.as_input(&mut text);
                let skipped =
                    apply_point(&mut w, i as u64 + 1, *t, v, OnBad::Fail, &mut runs).unwrap();
                assert!(!skipped);
            }
            for (a, edits) in w.edits.iter().enumerate() {
                let ring = w.ring(a);
                for (&c, edit) in edits {
                    let old = stored.chunks.get(&(slot, a, c)).map(Vec::as_slice);
                    let dp = ring.apply_edit(c, old, edit);
                    stored.chunks.insert((slot, a, c), dp);
                }
            }
            stored.states.insert(slot, (w.state, w.holes));
        }
    }

    /// Any split of a history into statements and any placement of folds
    /// store the same rows, state and holes as a fold after every
    /// statement: the journal changes when points are consolidated, never
    /// what they consolidate to.
    #[test]
    fn folds_anywhere_store_the_same() {
        let mut rng = Lcg(41);
        for case in 0..150 {
            let nseries = 1 + (rng.next_u64() % 5) as usize;
            let defs: Vec<Rc<Definition>> = (0..nseries)
                .map(|i| Rc::new(def::parse(DEFS[(case + i) % 3]).unwrap()))
                .collect();
            let start = 1_000_000 * time::US;
            let mut fresh = Stored::default();
            for (slot, d) in defs.iter().enumerate() {
                fresh
                    .states
                    .insert(slot, (State::new(d, start), Vec::new()));
            }
            // A history checked as the writers check it.
            let mut tips: Vec<Tip> = (0..nseries).map(|s| Tip::of(&fresh.states[&s].0)).collect();
            let mut statements: Vec<LaneRow> = Vec::new();
            for _ in 0..(1 + rng.next_u64() % 12) {
                let mut row = LaneRow::default();
                let step_t = tips.iter().map(|t| t.last_up).max().unwrap()
                    + (1 + rng.next_u64() % 40) as i64 * time::US;
                for _ in 0..(1 + rng.next_u64() % 8) {
                    let s = (rng.next_u64() as usize) % nseries;
                    let t = if rng.next_u64().is_multiple_of(3) {
                        step_t
                    } else {
                        tips[s].last_up + (1 + rng.next_u64() % 15) as i64 * time::US
                    };
                    let value = match rng.next_u64() % 5 {
                        0 => Value::Unknown,
                        1 => Value::Text((rng.next_u64() % 500).to_string()),
                        _ => Value::Float((rng.next_u64() % 1000) as f64),
                    };
                    let mut text = String::new();
                    let v = value.as_input(&mut text);
                    if let Ok(Some(tip)) = check(&defs[s], &tips[s], t, v) {
                        tips[s] = tip;
                        row.push(s, t, &value);
                    }
                }
                if !row.is_empty() {
                    statements.push(row);
                }
            }
            let mut each = fresh.clone();
            for row in &statements {
                fold(&defs, &mut each, std::slice::from_ref(row));
            }
            let mut journal = Vec::new();
            let mut placed = fresh.clone();
            for row in &statements {
                journal.push(row.clone());
                if rng.next_u64().is_multiple_of(3) {
                    fold(&defs, &mut placed, &journal);
                    journal.clear();
                }
            }
            fold(&defs, &mut placed, &journal);
            assert_eq!(
                format!("{:?}", each.chunks),
                format!("{:?}", placed.chunks),
                "case {case}"
            );
            for s in 0..nseries {
                assert_eq!(
                    format!("{:?}", each.states[&s]),
                    format!("{:?}", placed.states[&s]),
                    "case {case} series {s}"
                );
            }
        }
    }

    /// A lane row of series 0's `points`.
    fn row_of(points: &[(i64, Value)]) -> LaneRow {
        let mut row = LaneRow::default();
        for (t, v) in points {
            row.push(0, *t, v);
        }
        row
    }

    /// Points delivered in any order inside a series' lateness window, and
    /// folded at any moments (each fold applying only what the window has
    /// passed), store the same rows, state and holes as the same points
    /// run through the engine in time order; and the window takes every
    /// one of them.
    #[test]
    fn late_points_fold_as_if_in_order() {
        let mut rng = Lcg(53);
        let mut late = 0;
        for case in 0..400 {
            let mut d = def::parse(DEFS[case % DEFS.len()]).unwrap();
            d.lateness = 1 + rng.next_u64() % 40;
            d.validate().unwrap();
            let defs = vec![Rc::new(d)];
            let def = &defs[0];
            let start = 1_000_000 * time::US;
            let mut fresh = Stored::default();
            fresh.states.insert(0, (State::new(def, start), Vec::new()));
            // A history in time order that the engine takes.
            let mut tip = Tip::of(&fresh.states[&0].0);
            let mut history = Vec::new();
            let mut t = start;
            let mut scratch = String::new();
            for _ in 0..(1 + rng.next_u64() % 60) {
                t += match rng.next_u64() % 4 {
                    0 => (1 + rng.next_u64() % 999_999) as i64,
                    _ => (1 + rng.next_u64() % 15) as i64 * time::US,
                };
                let value = match rng.next_u64() % 6 {
                    0 => Value::Unknown,
                    1 => Value::Text((rng.next_u64() % 500).to_string()),
                    2 => Value::Float(-((rng.next_u64() % 1000) as f64) / 8.0),
                    _ => Value::Float((rng.next_u64() % 1000) as f64),
                };
                if let Ok(Some(next)) = check_value(def, &tip, t, &value, &mut scratch) {
                    tip = next;
                    history.push((t, value));
                }
            }
            // Delivered in the order of time plus a delay shorter than the
            // window: each point is then inside the window when it comes.
            let w = def.lateness_us() as u64;
            let mut order: Vec<(i64, usize)> = history
                .iter()
                .enumerate()
                .map(|(i, p)| (p.0 + (rng.next_u64() % w) as i64, i))
                .collect();
            order.sort_unstable();
            let mut stored = fresh.clone();
            let mut window = Window::new(Tip::of(&stored.states[&0].0), Vec::new());
            let mut lane_tip = window.settled.clone();
            for &(_, i) in &order {
                let (t, v) = &history[i];
                if *t > window.newest() {
                    let next = check_value(def, &lane_tip, *t, v, &mut scratch).unwrap();
                    lane_tip = next.expect("a tip with its text");
                    window.push(*t, v.clone());
                } else {
                    late += 1;
                    window
                        .insert(def, *t, v, &mut scratch)
                        .unwrap_or_else(|e| panic!("case {case}: late point at {t}: {e}"));
                }
                assert_eq!(
                    window.tip(def, &mut scratch).unwrap(),
                    lane_tip,
                    "case {case}"
                );
                if rng.next_u64().is_multiple_of(4) {
                    let n = settled_len(def, &window.points);
                    let settled: Vec<(i64, Value)> = window.points.drain(..n).collect();
                    fold(&defs, &mut stored, &[row_of(&settled)]);
                    window.settled = Tip::of(&stored.states[&0].0);
                    if !window.points.is_empty() {
                        assert!(window.points[0].0 >= window.newest() - def.lateness_us());
                    }
                }
            }
            fold(&defs, &mut stored, &[row_of(&window.points)]);
            let mut in_order = fresh.clone();
            fold(&defs, &mut in_order, &[row_of(&history)]);
            assert_eq!(
                format!("{:?}", in_order.chunks),
                format!("{:?}", stored.chunks),
                "case {case}"
            );
            assert_eq!(
                format!("{:?}", in_order.states[&0]),
                format!("{:?}", stored.states[&0]),
                "case {case}"
            );
        }
        assert!(late > 1000, "only {late} late points");
    }

    /// What the window refuses, as RRDtool refuses a point out of order.
    #[test]
    fn windows_refuse_what_is_too_late() {
        let mut d =
            def::parse("--step 10 --lateness 30 DS:v:GAUGE:25:U:U RRA:AVERAGE:0.5:1:7").unwrap();
        let s = |x: i64| x * time::US;
        let settled = Tip::of_last(s(100), Some("1"));
        let pending = vec![(s(140), Value::Float(2.0)), (s(120), Value::Float(3.0))];
        let mut w = Window::new(settled, pending);
        assert_eq!(w.newest(), s(140));
        let mut text = String::new();
        let out_of_order = |r: Result<()>| matches!(r, Err(RrdError::OutOfOrder { .. }));
        // Older than the window, at a pending time, at or before the state.
        assert!(out_of_order(w.insert(
            &d,
            s(109),
            &Value::Float(1.0),
            &mut text
        )));
        assert!(out_of_order(w.insert(
            &d,
            s(120),
            &Value::Float(1.0),
            &mut text
        )));
        w.settled = Tip::of_last(s(115), Some("1"));
        assert!(out_of_order(w.insert(
            &d,
            s(115),
            &Value::Float(1.0),
            &mut text
        )));
        // Inside: taken, in its place.
        w.insert(&d, s(130), &Value::Float(4.0), &mut text).unwrap();
        assert_eq!(
            w.points.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![s(120), s(130), s(140)]
        );
        // The fold keeps what is inside the window of the newest point.
        assert_eq!(settled_len(&d, &w.points), 0);
        w.push(s(155), Value::Unknown);
        assert_eq!(settled_len(&d, &w.points), 1);
        d.lateness = 0;
        assert_eq!(settled_len(&d, &w.points), 4);
        // A counter refuses a fraction where it follows within the
        // heartbeat; a late point that brings a later fraction within it
        // is refused for it.
        let c =
            def::parse("--step 10 --lateness 60 DS:c:COUNTER:20:U:U RRA:AVERAGE:0.5:1:10").unwrap();
        let mut w = Window::new(
            Tip::of_last(s(100), Some("1")),
            vec![(s(150), Value::Float(1.5))],
        );
        assert!(matches!(
            w.insert(&c, s(140), &Value::Float(7.0), &mut text),
            Err(RrdError::BadValue { .. })
        ));
        assert_eq!(w.points.len(), 1);
    }
}
