//! Replays the fuzz corpus (`fuzz/corpus/TARGET/*`, kept by `make fuzz`) and
//! every crash the fuzzer found (`fuzz/crashes/TARGET/*`, fixed cases kept as
//! regressions) through the checks the fuzzer runs (`fuzz/src/checks.rs`):
//! each input must pass within 10 s, its allocations within the checks'
//! limits. With `RELIABILITY_DIR` set, writes `fuzz.json` there: one line
//! of cases and failures.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "../fuzz/src/checks.rs"]
mod checks;

#[global_allocator]
static ALLOC: checks::Limited = checks::Limited;

/// Longest a case may take (the fuzzer allows 5 s to a release build).
const CASE_LIMIT: Duration = Duration::from_secs(10);

/// The input files of `dir`, sorted: no notes, no hidden files.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(d) => d.flatten().map(|e| e.path()).collect(),
        Err(_) => return Vec::new(),
    };
    files.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        p.is_file() && !name.starts_with('.') && !name.ends_with(".md")
    });
    files.sort();
    files
}

/// A failed case: why, from the panic payload or the timeout.
fn run_case(check: checks::Check, data: Vec<u8>, name: &str) -> Result<(), String> {
    checks::set_current(name);
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            check(&data);
            let _ = tx.send(());
        })
        .map_err(|e| format!("no thread: {e}"))?;
    match rx.recv_timeout(CASE_LIMIT) {
        Ok(()) => thread.join().map_err(|_| "panicked after its check".into()),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Err(format!("did not finish in {} s", CASE_LIMIT.as_secs()))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Ok(()) => Err("ended without a result".into()),
            Err(payload) => Err(payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into())),
        },
    }
}

/// The first bytes of an input, escaped, for the failure's message.
fn excerpt(data: &[u8]) -> String {
    let shown: String = data
        .iter()
        .take(200)
        .flat_map(|b| b.escape_ascii())
        .map(char::from)
        .collect();
    if data.len() > 200 {
        format!("{shown}... ({} bytes)", data.len())
    } else {
        shown
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const TEST: &str = "fuzz corpus replay";

/// Writes this test's line into `dir/fuzz.json` in place of an earlier one,
/// after the lines of other tests, as `pgrx-tests/reliability.py` records.
fn record(dir: &Path, cases: usize, failures: usize, detail: &str) {
    let path = dir.join("fuzz.json");
    let ours = format!("\"test\": {}", json_string(TEST));
    let mut lines: Vec<String> = fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty() && !l.contains(&ours))
        .map(str::to_string)
        .collect();
    lines.push(format!(
        "{{{ours}, \"cases\": {cases}, \"failures\": {failures}, \"detail\": {}}}",
        json_string(detail)
    ));
    fs::create_dir_all(dir).expect("RELIABILITY_DIR");
    let tmp = dir.join("fuzz.json.tmp");
    fs::write(&tmp, lines.join("\n") + "\n").expect("fuzz.json");
    fs::rename(&tmp, &path).expect("fuzz.json");
}

#[test]
fn fuzz_corpus_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let started = Instant::now();
    let mut cases = 0usize;
    let mut crash_files = 0usize;
    let mut per_target = Vec::new();
    let mut failures = Vec::new();
    for (target, check) in checks::TARGETS {
        let corpus = inputs(&root.join("corpus").join(target));
        let crashes = inputs(&root.join("crashes").join(target));
        per_target.push(format!("{target} {}", corpus.len() + crashes.len()));
        crash_files += crashes.len();
        for path in corpus.iter().chain(&crashes) {
            let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path
                .strip_prefix(&root)
                .unwrap_or(path)
                .display()
                .to_string();
            cases += 1;
            if let Err(why) = run_case(check, data.clone(), &name) {
                failures.push(format!("fuzz/{name}: {why}\n  input: {}", excerpt(&data)));
            }
        }
    }
    let detail = format!(
        "{cases} inputs replayed through the fuzz targets' checks ({}), {crash_files} of them \
         crashes kept as regressions, in {:.1} s",
        per_target.join(", "),
        started.elapsed().as_secs_f64()
    );
    if let Some(dir) = std::env::var_os("RELIABILITY_DIR") {
        record(&PathBuf::from(dir), cases, failures.len(), &detail);
    }
    assert!(cases > 0, "no corpus under {}", root.display());
    assert!(
        failures.is_empty(),
        "{} of {cases} fuzz inputs fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{detail}");
}
