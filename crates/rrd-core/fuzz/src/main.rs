//! `rrd-fuzz TARGET`: one fuzz target under AFL++ (built by `cargo afl
//! build`), reading one input from stdin when run outside it, so that a
//! crash replays as `rrd-fuzz TARGET < input`.
//!
//! `rrd-fuzz seed ROOT OUT`: writes the first inputs of every target to
//! `OUT/TARGET/`, from the repository at `ROOT`: definitions, patterns and
//! update strings quoted in its documentation, the dumps and Whisper files
//! of rrd-core's tests, and the stored form and a written dump of each
//! definition. `scripts/fuzz.sh` runs both.

use std::fs;
use std::path::Path;

use rrd_core::def;
use rrd_core::engine::State;
use rrd_core::line::MAX_LINE;
use rrd_core::rrdxml;
use rrd_core_fuzz::checks::{Limited, NOW_US, TARGETS};

#[global_allocator]
static ALLOC: Limited = Limited;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("seed") if args.len() == 4 => seed(Path::new(&args[2]), Path::new(&args[3])),
        Some(name) => match TARGETS.iter().find(|(n, _)| *n == name) {
            Some(&(_, check)) => afl::fuzz!(|data: &[u8]| check(data)),
            None => usage(),
        },
        None => usage(),
    }
}

fn usage() {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.0).collect();
    eprintln!(
        "usage: rrd-fuzz TARGET < input   (TARGET: {})\n       rrd-fuzz seed ROOT OUT",
        names.join(", ")
    );
    std::process::exit(2);
}

/// The quoted texts of `md` (between single quotes on one line) that
/// satisfy `keep`.
fn quoted(md: &str, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for line in md.lines() {
        let parts: Vec<&str> = line.split('\'').collect();
        for q in parts
            .iter()
            .skip(1)
            .step_by(2)
            .take(parts.len().saturating_sub(1) / 2)
        {
            if keep(q) {
                out.push(q.to_string());
            }
        }
    }
    out
}

fn docs(root: &Path) -> String {
    let mut all = String::new();
    let mut paths: Vec<_> = fs::read_dir(root.join("docs"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.push(root.join("README.md"));
    paths.sort();
    for p in paths {
        if p.extension().is_some_and(|e| e == "md") {
            all.push_str(&fs::read_to_string(&p).unwrap_or_default());
            all.push('\n');
        }
    }
    all
}

struct Seeds<'a> {
    out: &'a Path,
    count: usize,
}

impl Seeds<'_> {
    fn put(&mut self, target: &str, bytes: &[u8]) {
        let dir = self.out.join(target);
        fs::create_dir_all(&dir).expect("seed folder");
        self.count += 1;
        fs::write(dir.join(format!("seed-{:04}", self.count)), bytes).expect("seed file");
    }
}

fn seed(root: &Path, out: &Path) {
    let md = docs(root);
    let mut s = Seeds { out, count: 0 };

    let mut defs = quoted(&md, |q| q.contains("DS:") || q.contains("RRA:"));
    defs.extend(
        [
            "-s 5m DS:a-b_c:DERIVE:10m:-1e3:1.5e3 RRA:MIN:0:1:1 RRA:LAST:0.99:1h:1d",
            "--step=1 DS:x:DCOUNTER:1:U:U RRA:MAX:0.5:1:1",
            "DS:y:DDERIVE:2147483648:U:U RRA:AVERAGE:0.25:1:1 --step 2147483648",
            "DS:z:ABSOLUTE:1w:0:U RRA:AVERAGE:0.5:1M:1y -s1d",
            "--step 10 DS:c:COUNTER:20:U:U RRA:AVERAGE:0.5:1:100000000",
        ]
        .map(String::from),
    );
    defs.sort();
    defs.dedup();
    for d in &defs {
        s.put("def", d.as_bytes());
        if let Ok(parsed) = def::parse(d) {
            s.put("stored", &parsed.to_stored());
            // A dump of the definition right after creation, when small.
            if parsed.total_slots() <= 64 {
                let state = State::new(&parsed, NOW_US);
                let xml = rrdxml::write(&parsed, &state, |_, g| (g % 7) as f64 - 2.5);
                s.put("rrdxml", xml.as_bytes());
            }
        }
    }

    let mut patterns = quoted(&md, |q| {
        !q.is_empty() && !q.contains(' ') && (q.contains('*') || q.contains('{') || q.contains('?'))
    });
    patterns.extend(
        [
            "dc1.rack04.*.nginx.*",
            "dc{1,2}.rack0[1-4].web0??.nginx.requests",
            "a.{b,c{d,e*}}.[!x-z]?\\*",
            "web{,-canary}.[^a]",
            "x.[]a-].[!]]",
            "servers",
        ]
        .map(String::from),
    );
    patterns.sort();
    patterns.dedup();
    let names = "dc1.rack04.web017.nginx.requests\ndc2.rack01.web001.nginx.requests.5xx\n\
                 servers.web1.cpu\na.ce.q*\nweb-canary.b";
    for p in &patterns {
        s.put("glob", format!("{p}\n{names}").as_bytes());
    }

    let data = root.join("crates/rrd-core/tests/data");
    let mut files: Vec<_> = fs::read_dir(&data)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for f in files {
        let target = match f.extension().and_then(|e| e.to_str()) {
            Some("xml") => "rrdxml",
            Some("wsp") => "whisper",
            _ => continue,
        };
        s.put(target, &fs::read(&f).expect("test data"));
    }

    let lines = [
        "servers.web1.cpu 42.5 1700000000\n",
        "a.b 1 -1\r\nc.d\t-2.5e3\t1700000000.25\n",
        "collectd.host.load.load.shortterm 0.05 1700000010\nbad line\nx 1 2 3\n",
        "p nan 1700000000\np 1 0\np 1 253402300800\n\n",
        "no newline at the end 1",
    ];
    for l in lines {
        s.put("line", l.as_bytes());
    }
    let mut long = "a".repeat(MAX_LINE - 14).into_bytes();
    long.extend_from_slice(b" 1 1700000000\nb 2 1700000001\n");
    s.put("line", &long);

    let mut specs = quoted(&md, |q| {
        q.len() < 40 && q.contains(':') && !q.contains(' ') && !q.contains("DS:")
    });
    specs.extend(
        [
            "N:42",
            "N:U",
            "1000000005:10",
            "1700000000.5:-3.25e2",
            "1e9:7",
            "N:1:2",
            "@now:1",
            "253402300799.999999:1",
        ]
        .map(String::from),
    );
    specs.sort();
    specs.dedup();
    for q in &specs {
        s.put("spec", q.as_bytes());
    }
    eprintln!("rrd-fuzz seed: {} inputs in {}", s.count, out.display());
}
