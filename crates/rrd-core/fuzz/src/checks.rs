//! What each fuzz target demands of one input, whatever its bytes: the
//! parser returns `Ok` or an error of the kinds its documentation names,
//! never panics, allocates within [`MAX_ONE`] / [`MAX_LIVE`] (enforced by
//! [`Limited`]) and finishes quickly; what parses survives its round trip.
//!
//! Shared by the AFL++ binary of this crate (`src/main.rs`) and the corpus
//! replay that `cargo test -p rrd-core` runs (`tests/corpus.rs`, which
//! includes this file), so that an input the fuzzer kept is checked the same
//! way on every test run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rrd_core::batch::{self, Value};
use rrd_core::def::{self, Definition};
use rrd_core::engine::State;
use rrd_core::error::{RrdError, MAX_NAME_BYTES};
use rrd_core::glob::{self, Pattern};
use rrd_core::import::Imported;
use rrd_core::line::{self, Lines, Piece, MAX_LINE};
use rrd_core::{rrdxml, time, whisper};

/// One target's check of one input; a violated demand panics.
pub type Check = fn(&[u8]);

/// Every target by name, the name being its corpus folder's.
pub const TARGETS: [(&str, Check); 7] = [
    ("def", def_text),
    ("glob", glob_pattern),
    ("stored", stored_bytes),
    ("rrdxml", rrdtool_dump),
    ("whisper", whisper_file),
    ("line", graphite_lines),
    ("spec", update_spec),
];

/// "Now" for the targets that take one, in microseconds (a whole second).
pub const NOW_US: i64 = 1_700_000_000_000_000;

/// Largest single allocation an input may cause (inputs are at most a few
/// hundred KB; a parser that sizes a buffer from a count in the input
/// before checking it shows up here).
pub const MAX_ONE: usize = 64 << 20;

/// Largest total of live allocations.
pub const MAX_LIVE: usize = 512 << 20;

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The input being checked, named in the message of an allocation over the
/// limits (the process aborts: an allocator must not unwind).
static CURRENT: Mutex<String> = Mutex::new(String::new());

/// Names the input that the following checks are about.
pub fn set_current(name: &str) {
    let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
    current.clear();
    current.push_str(name);
}

/// The system allocator with [`MAX_ONE`] and [`MAX_LIVE`] enforced.
pub struct Limited;

fn admit(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    if size > MAX_ONE || live > MAX_LIVE {
        over(size, live);
    }
}

#[cold]
fn over(size: usize, live: usize) -> ! {
    // No allocation from here on: format into the stack.
    let mut buf = [0u8; 256];
    let mut out = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(
        out,
        "fuzz check: an allocation of {size} bytes ({live} live) is over the limits \
         ({MAX_ONE} at once, {MAX_LIVE} live); input: "
    );
    let n = out.position() as usize;
    let mut err = std::io::stderr();
    let _ = err.write_all(&buf[..n]);
    if let Ok(current) = CURRENT.try_lock() {
        let _ = err.write_all(current.as_bytes());
    }
    let _ = err.write_all(b"\n");
    std::process::abort();
}

// SAFETY: every call is passed to `System` unchanged; the counter only
// decides whether to abort first.
unsafe impl GlobalAlloc for Limited {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        admit(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        admit(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ONE {
            over(new_size, LIVE.load(Ordering::Relaxed));
        }
        if new_size > layout.size() {
            admit(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Text inputs: invalid UTF-8 becomes U+FFFD, so that every input reaches
/// the parser.
fn text(data: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Every error has a message, and the message can be made.
fn message(e: &RrdError) -> String {
    let m = e.to_string();
    assert!(!m.is_empty(), "an error without a message: {e:?}");
    m
}

/// Equal doubles, NaN equal to NaN, or at most one unit in the last place
/// of the larger apart: rrdtool's decimal reader gives a few doubles for no
/// text, and a dump brings those back that far off (see `rrdxml` and
/// `engine::rrd_text`). Just below a power of two that unit is two doubles:
/// 2^-1007 comes back as the double two below it.
fn close(a: f64, b: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let m = a.abs().max(b.abs());
    let ulp = if m.next_up().is_finite() {
        m.next_up() - m
    } else {
        m - m.next_down()
    };
    a.is_finite()
        && b.is_finite()
        && a.is_sign_negative() == b.is_sign_negative()
        && (a - b).abs() <= ulp
}

/// `rrd_core::def::parse`: a definition that parses validates, prints to
/// text that parses to the same definition and prints the same again, and
/// its stored bytes decode to it.
pub fn def_text(data: &[u8]) {
    let text = text(data);
    match def::parse(&text) {
        Ok(d) => definition_round_trips(&d, "parsed"),
        Err(e) => {
            message(&e);
            assert!(
                matches!(e, RrdError::Syntax { .. } | RrdError::BadParameter { .. }),
                "parse gave {e:?}"
            );
        }
    }
}

fn definition_round_trips(d: &Definition, from: &str) {
    if let Err(e) = d.validate() {
        panic!("a {from} definition does not validate: {e}\n{d:?}");
    }
    let printed = d.to_string();
    match def::parse(&printed) {
        Ok(again) => {
            assert_eq!(&again, d, "{printed:?} parses to another definition");
            assert_eq!(again.to_string(), printed, "printing is not canonical");
        }
        Err(e) => panic!("a {from} definition prints as {printed:?}, which does not parse: {e}"),
    }
    assert_eq!(
        Definition::from_stored(&d.to_stored()).as_ref(),
        Ok(d),
        "stored bytes of {printed:?}"
    );
}

/// `Definition::from_stored`, what the extension decodes an `rrd` value
/// from: `Corrupt` or a definition that passes every check of a parsed one.
pub fn stored_bytes(data: &[u8]) {
    match Definition::from_stored(data) {
        Ok(d) => {
            definition_round_trips(&d, "decoded");
            assert_eq!(
                Definition::from_stored(&d.to_stored()).as_ref(),
                Ok(&d),
                "re-encoded bytes"
            );
        }
        Err(e) => {
            message(&e);
            assert!(matches!(e, RrdError::Corrupt { .. }), "gave {e:?}");
        }
    }
}

/// `rrd_core::glob::Pattern::parse`. The first line is the pattern, each
/// further line (at most 16) a name to match: a matching name has as many
/// nodes and starts with the literal prefix; `child` and `matches` agree,
/// as do `child` and `next_node`.
pub fn glob_pattern(data: &[u8]) {
    let text = text(data);
    let mut lines = text.split('\n');
    let pattern = lines.next().unwrap_or_default();
    let p = match Pattern::parse(pattern) {
        Ok(p) => p,
        Err(e) => {
            message(&e);
            assert!(matches!(e, RrdError::BadParameter { .. }), "gave {e:?}");
            return;
        }
    };
    let nodes = p.node_count();
    assert!(nodes >= 1, "{pattern:?}: a pattern of no node");
    let re = p.to_posix_regex();
    assert!(re.starts_with('^') && re.ends_with('$'), "{re}");
    let below = p.to_posix_descendants_regex();
    assert!(below.starts_with('^') && below.ends_with("\\."), "{below}");
    let prefix = p.literal_prefix().to_string();
    if p.is_literal() {
        assert!(p.matches(&prefix), "{pattern:?} does not match its text");
        assert_eq!(prefix.split('.').count(), nodes, "{pattern:?}");
    }
    for name in lines.take(16) {
        // Matching costs the name's length times the pattern's: past a few
        // million steps a slow run is that product, not a fault.
        if name.len() > MAX_NAME_BYTES || name.len().saturating_mul(pattern.len()) > 1 << 22 {
            continue;
        }
        let parts: Vec<&str> = name.split('.').collect();
        if p.matches(name) {
            assert_eq!(parts.len(), nodes, "{pattern:?} matches {name:?}");
            assert!(
                name.starts_with(&prefix),
                "{pattern:?} matches {name:?} without its prefix {prefix:?}"
            );
            if p.is_literal() {
                assert_eq!(name, prefix, "literal {pattern:?}");
            }
            assert_eq!(p.child(&format!("{name}.x.y")), Some(("x", false)));
            assert_eq!(p.child(&format!("{name}.z")), Some(("z", true)));
        }
        let child = p.child(name);
        if parts.len() > nodes {
            let head = parts[..nodes].join(".");
            if p.matches(&head) {
                assert_eq!(child, glob::next_node(nodes, name), "{pattern:?} {name:?}");
            } else {
                assert_eq!(child, None, "{pattern:?} {name:?}");
            }
        } else {
            assert_eq!(child, None, "{pattern:?} {name:?}: not below it");
        }
    }
}

/// `rrd_core::rrdxml::read`, strict and skipping what pg_rrd has not: a
/// dump the strict reader takes is taken the same with nothing skipped,
/// every series passes `Imported::check`, and a dump written of it by
/// `rrdxml::write` reads back as it.
pub fn rrdtool_dump(data: &[u8]) {
    let text = text(data);
    let strict = rrdxml::read(&text, &rrdxml::Options::default());
    let loose = rrdxml::read(
        &text,
        &rrdxml::Options {
            skip_unsupported: true,
            ..rrdxml::Options::default()
        },
    );
    match (&strict, &loose) {
        (Ok(s), Ok(l)) => {
            assert!(l.skipped.is_empty(), "skipped {:?}", l.skipped);
            assert_eq!(s.series.len(), l.series.len());
            for (a, b) in s.series.iter().zip(&l.series) {
                same_import(a, b, "strict and skipping readers");
            }
        }
        (Ok(_), Err(e)) => panic!("the strict reader takes it, the skipping one refuses: {e}"),
        (Err(e), _) => import_error(e),
    }
    if let Err(e) = &loose {
        import_error(e);
    }
    if let Ok(dump) = loose {
        assert!(!dump.series.is_empty(), "a dump of no series");
        // Several data sources: each series is named after its own; one
        // alone (nothing skipped) keeps the name given.
        for s in &dump.series {
            if dump.series.len() > 1 {
                assert_eq!(s.suffix.as_deref(), Some(s.def.ds.name.as_str()));
            } else if dump.skipped.is_empty() {
                assert_eq!(s.suffix, None);
            }
            if let Some(suffix) = &s.suffix {
                assert_eq!(suffix, &s.def.ds.name);
            }
            imported_round_trips(s);
        }
    }
}

/// `rrd_core::whisper::read`, without and with a heartbeat and a current
/// time: every series passes `Imported::check` and reads back from the dump
/// `rrdxml::write` makes of it.
pub fn whisper_file(data: &[u8]) {
    let now = NOW_US / 1_000_000 + 2000;
    for opts in [
        whisper::Options::default(),
        whisper::Options {
            heartbeat: Some(1),
            now: Some(now),
            ..whisper::Options::default()
        },
    ] {
        match whisper::read(data, &opts) {
            Ok(im) => {
                assert_eq!(im.suffix, None);
                assert_eq!(im.def.ds.name, whisper::DS_NAME);
                if let Some(hb) = opts.heartbeat {
                    assert_eq!(im.def.ds.heartbeat, hb as u64);
                }
                if let Some(now) = opts.now {
                    let widest = im
                        .def
                        .archives
                        .iter()
                        .map(|a| a.seconds_per_row(im.def.step))
                        .max()
                        .unwrap_or(0);
                    let bound = (now as i128 + widest as i128) * 1_000_000;
                    assert!(
                        i128::from(im.state.last_up) <= bound,
                        "last update {} after now {now} and a row",
                        im.state.last_up
                    );
                }
                imported_round_trips(&im);
            }
            Err(e) => import_error(&e),
        }
    }
}

fn import_error(e: &RrdError) {
    message(e);
    assert!(
        matches!(
            e,
            RrdError::BadFile { .. }
                | RrdError::Unsupported { .. }
                | RrdError::BadParameter { .. }
                | RrdError::TimeRange { .. }
        ),
        "gave {e:?}"
    );
}

fn same_state(a: &State, b: &State, what: &str) {
    assert_eq!(a.last_up, b.last_up, "{what}: last update");
    assert_eq!(a.last_ds, b.last_ds, "{what}: last input");
    assert!(close(a.pdp_val, b.pdp_val), "{what}: {a:?} {b:?}");
    assert_eq!(a.pdp_unknown_sec, b.pdp_unknown_sec, "{what}");
    assert_eq!(a.cdp.len(), b.cdp.len(), "{what}");
    for (x, y) in a.cdp.iter().zip(&b.cdp) {
        assert!(close(x.val, y.val), "{what}: {x:?} {y:?}");
        assert_eq!(x.unknown_pdps, y.unknown_pdps, "{what}");
    }
}

/// The same definition, its doubles (bounds, xff) [`close`]: a dump
/// carries them as text for rrdtool's reader.
fn same_def(a: &Definition, b: &Definition, what: &str) {
    let bound = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => close(x, y),
        (x, y) => x.is_none() && y.is_none(),
    };
    let (x, y) = (&a.ds, &b.ds);
    assert!(
        a.step == b.step
            && (&x.name, x.kind, x.heartbeat) == (&y.name, y.kind, y.heartbeat)
            && bound(x.min, y.min)
            && bound(x.max, y.max)
            && a.archives.len() == b.archives.len()
            && a.archives.iter().zip(&b.archives).all(|(p, q)| {
                (p.cf, p.steps, p.rows) == (q.cf, q.steps, q.rows) && close(p.xff, q.xff)
            }),
        "{what}: definitions differ\n{a:?}\n{b:?}"
    );
}

fn same_import(a: &Imported, b: &Imported, what: &str) {
    same_def(&a.def, &b.def, what);
    same_state(&a.state, &b.state, what);
    assert_eq!(a.rows.len(), b.rows.len(), "{what}");
    for (n, (x, y)) in a.rows.iter().zip(&b.rows).enumerate() {
        assert_eq!(x.len(), y.len(), "{what}: archive {n}");
        for (i, (u, v)) in x.iter().zip(y).enumerate() {
            assert!(
                close(*u, *v),
                "{what}: archive {n} row {i}: {u:e} and {v:e}"
            );
        }
    }
}

fn imported_round_trips(im: &Imported) {
    if let Err(e) = im.check() {
        panic!("a series read from a file fails its check: {e}");
    }
    definition_round_trips(&im.def, "imported");
    let xml = rrdxml::write(&im.def, &im.state, |a, g| im.value(a, g));
    let back = match rrdxml::read(&xml, &rrdxml::Options::default()) {
        Ok(back) => back,
        Err(e) => panic!("a written dump does not read back: {e}\n{xml}"),
    };
    assert_eq!(back.series.len(), 1);
    assert!(back.skipped.is_empty());
    let b = &back.series[0];
    assert_eq!(b.suffix, None);
    // A dump has whole seconds.
    let mut want = im.clone();
    want.state.last_up = time::floor_secs(im.state.last_up) * 1_000_000;
    same_import(&want, b, "written and read back");
}

/// A piece of [`Lines::feed`], owned.
#[derive(Debug, PartialEq)]
enum Owned {
    Line(Vec<u8>),
    TooLong,
}

fn own(p: Piece<'_>) -> Owned {
    match p {
        Piece::Line(l) => Owned::Line(l.to_vec()),
        Piece::TooLong => Owned::TooLong,
    }
}

/// `line::Lines` and `line::parse`: the stream fed whole and fed in pieces
/// of varying sizes gives the same lines; no line is longer than
/// [`MAX_LINE`] nor holds a newline; what is held stays within it; every
/// point read is within the protocol's rules and reads back the same from
/// its printed form.
pub fn graphite_lines(data: &[u8]) {
    let mut whole = Vec::new();
    let mut lines = Lines::default();
    lines.feed(data, |p| whole.push(own(p)));
    assert!(lines.held() <= MAX_LINE);
    lines.finish(|p| whole.push(own(p)));
    assert_eq!(lines.held(), 0);

    let mut pieces = Vec::new();
    let mut lines = Lines::default();
    let mut rest = data;
    // Sizes from a generator seeded by the input, some about MAX_LINE.
    let mut seed = (data.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while !rest.is_empty() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = match seed % 8 {
            0 => MAX_LINE - 2 + (seed >> 8) as usize % 5,
            1..=3 => 1 + (seed >> 8) as usize % 3,
            _ => 1 + (seed >> 8) as usize % 200,
        };
        let (head, tail) = rest.split_at(n.min(rest.len()));
        lines.feed(head, |p| pieces.push(own(p)));
        assert!(lines.held() <= MAX_LINE);
        rest = tail;
    }
    lines.finish(|p| pieces.push(own(p)));
    assert_eq!(whole, pieces, "fed whole and fed in pieces");

    for piece in &whole {
        if let Owned::Line(l) = piece {
            assert!(l.len() <= MAX_LINE, "a line of {} bytes", l.len());
            assert!(!l.contains(&b'\n'));
            graphite_line(l);
        }
    }
    if !data.contains(&b'\n') {
        graphite_line(data);
    }
}

fn graphite_line(l: &[u8]) {
    let p = match line::parse(l, NOW_US) {
        Ok(p) => p,
        Err(r) => {
            assert!(!r.as_str().is_empty());
            if l.len() > MAX_LINE {
                assert_eq!(r, line::Refusal::TooLong);
            }
            return;
        }
    };
    assert!(l.len() <= MAX_LINE);
    assert!(p.value.is_finite(), "{p:?}");
    assert!(!p.path.is_empty() && p.path.len() <= MAX_NAME_BYTES);
    assert!(!p.path.chars().any(|c| c.is_control() || c == ' '), "{p:?}");
    assert!(
        p.t_us == NOW_US || (1_000_000..=time::MAX_US).contains(&p.t_us),
        "{p:?}"
    );
    let secs = if p.t_us == NOW_US {
        "-1".to_string()
    } else if p.t_us % 1_000_000 == 0 {
        (p.t_us / 1_000_000).to_string()
    } else {
        return;
    };
    let printed = format!("{} {} {secs}", p.path, p.value);
    assert_eq!(
        line::parse(printed.as_bytes(), NOW_US),
        Ok(p.clone()),
        "{printed:?}"
    );
}

/// `rrd_core::batch::parse_spec`: a time in pg_rrd's range (`N` is now),
/// the value exactly the text after the colon (`U` unknown), and an update
/// at a whole second reads back the same from its printed form.
pub fn update_spec(data: &[u8]) {
    let text = text(data);
    let (t_us, value) = match batch::parse_spec(&text, NOW_US) {
        Ok(got) => got,
        Err(e) => {
            message(&e);
            assert!(
                matches!(e, RrdError::BadValue { .. } | RrdError::TimeRange { .. }),
                "gave {e:?}"
            );
            return;
        }
    };
    let (t, v) = text.split_once(':').expect("an update without a colon");
    assert!((0..=time::MAX_US).contains(&t_us), "{t_us}");
    if t == "N" {
        assert_eq!(t_us, NOW_US);
    }
    match &value {
        Value::Unknown => assert_eq!(v, "U"),
        Value::Text(s) => {
            assert_eq!(s, v);
            assert!(!s.contains(':'));
        }
        Value::Float(_) => panic!("a float from text"),
    }
    if t_us % 1_000_000 == 0 {
        let printed = format!("{}:{v}", t_us / 1_000_000);
        assert_eq!(
            batch::parse_spec(&printed, NOW_US + 1),
            Ok((t_us, value)),
            "{printed:?}"
        );
    }
}
