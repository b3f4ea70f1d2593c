//! What `rrd.verify` re-derives of a stored series (docs/reliability.md):
//! the rules its rows must keep whatever was written, each broken one
//! described in a sentence. No storage here: the extension reads the rows
//! and hands them over.

use crate::alter::latest_slot;
use crate::batch::Value;
use crate::def::Definition;
use crate::engine::{self, kept_len, State};
use crate::journal::Tip;
use crate::ring::{Holes, Ring};

/// One stored chunk row, as `rrd.verify` reads it: its archive and chunk
/// numbers and how many slots it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRow {
    pub archive: i32,
    pub chunk: i32,
    pub len: usize,
}

/// The problems of a series' definition, state, holes and chunk rows
/// (`width`: the series' chunk width). Empty when all is well.
pub fn series(
    def: &Definition,
    state: &State,
    holes: &[Holes],
    width: u64,
    chunks: &[ChunkRow],
) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = def.validate() {
        out.push(format!("definition: {e}"));
        return out;
    }
    let archives = def.archives.len();
    if state.cdp.len() != archives {
        out.push(format!(
            "state: {} consolidation accumulators for {archives} archives",
            state.cdp.len()
        ));
    }
    if holes.len() > archives {
        out.push(format!(
            "state: holes for {} archives of {archives}",
            holes.len()
        ));
    }
    if state.last_up < 0 || crate::time::check_storable(state.last_up, "last update").is_err() {
        out.push(format!(
            "state: last update {} µs is out of range",
            state.last_up
        ));
    }
    if state.pdp_unknown_sec > def.step {
        out.push(format!(
            "state: {} unknown seconds in a PDP of {} s",
            state.pdp_unknown_sec, def.step
        ));
    }
    if let Some(ds) = &state.last_ds {
        if kept_len(ds) != ds.len() {
            out.push(format!(
                "state: last input of {} bytes, longer than kept",
                ds.len()
            ));
        }
    }
    for (a, (arch, cdp)) in def.archives.iter().zip(&state.cdp).enumerate() {
        if arch.steps > 1 && cdp.unknown_pdps >= arch.steps {
            out.push(format!(
                "archive {a}: {} unknown PDPs in an open row of {} steps",
                cdp.unknown_pdps, arch.steps
            ));
        }
    }
    for (a, hs) in holes.iter().enumerate().take(archives) {
        let latest = latest_slot(state.last_up, def.archives[a].seconds_per_row(def.step));
        let mut previous: Option<i64> = None;
        for &(lo, hi) in hs {
            if lo > hi {
                out.push(format!("archive {a}: hole {lo}..{hi} is empty"));
            }
            if hi > latest {
                out.push(format!(
                    "archive {a}: hole {lo}..{hi} ends after the latest slot {latest}"
                ));
            }
            if previous.is_some_and(|p| lo <= p) {
                out.push(format!(
                    "archive {a}: hole {lo}..{hi} overlaps or precedes the one before"
                ));
            }
            previous = Some(hi);
        }
    }
    for (a, arch) in def.archives.iter().enumerate() {
        let ring = Ring::new(arch.rows, width);
        let mut seen = vec![false; ring.chunk_count() as usize];
        for c in chunks.iter().filter(|c| c.archive == a as i32) {
            let Some(slot) = usize::try_from(c.chunk).ok().filter(|&i| i < seen.len()) else {
                out.push(format!(
                    "archive {a}: chunk {} beyond the ring's {} chunks",
                    c.chunk,
                    seen.len()
                ));
                continue;
            };
            if std::mem::replace(&mut seen[slot], true) {
                out.push(format!("archive {a}: chunk {} stored twice", c.chunk));
            }
            let want = ring.chunk_len(c.chunk as u32);
            if c.len != want {
                out.push(format!(
                    "archive {a}: chunk {} holds {} slots, not {want}",
                    c.chunk, c.len
                ));
            }
        }
        let missing: Vec<usize> = (0..seen.len()).filter(|&i| !seen[i]).collect();
        if !missing.is_empty() {
            out.push(format!(
                "archive {a}: {} of {} chunk rows missing (first: chunk {})",
                missing.len(),
                seen.len(),
                missing[0]
            ));
        }
    }
    if let Some(c) = chunks
        .iter()
        .find(|c| c.archive < 0 || c.archive as usize >= archives)
    {
        out.push(format!(
            "chunk rows of archive {}, which the definition has not",
            c.archive
        ));
    }
    out
}

/// The problems of a series' pending journal points (in time order) and
/// of its tip in the lane row (`None`: not recorded there, or the series
/// is marked as written directly): every point after the state's last
/// update and after the one before, each one the engine takes, and the
/// tip at the last of them.
pub fn pending(
    def: &Definition,
    state: &State,
    points: &[(i64, Value)],
    tip: Option<&Tip>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut st = state.clone();
    let mut runs = Vec::new();
    let mut text = String::new();
    for (t, v) in points {
        runs.clear();
        if let Err(e) = engine::update(def, &mut st, *t, v.as_input(&mut text), &mut runs) {
            out.push(format!(
                "journal: the pending point at {} is refused: {e}",
                crate::time::format(*t)
            ));
            return out;
        }
    }
    if let Some(tip) = tip {
        if tip.last_up != st.last_up {
            out.push(format!(
                "journal: the lane's tip is at {}, the last point at {}",
                crate::time::format(tip.last_up),
                crate::time::format(st.last_up)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::def::parse;

    fn rows(def: &Definition, width: u64) -> Vec<ChunkRow> {
        let mut out = Vec::new();
        for (a, arch) in def.archives.iter().enumerate() {
            let ring = Ring::new(arch.rows, width);
            for c in 0..ring.chunk_count() {
                out.push(ChunkRow {
                    archive: a as i32,
                    chunk: c as i32,
                    len: ring.chunk_len(c),
                });
            }
        }
        out
    }

    #[test]
    fn a_sound_series_has_no_problem_and_each_break_is_named() {
        let def =
            parse("--step 10 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:100 RRA:MAX:0.5:6:10").unwrap();
        let state = State::new(&def, 1_700_000_000_000_000);
        let holes = vec![Holes::new(), Holes::new()];
        let chunks = rows(&def, 30);
        assert_eq!(
            series(&def, &state, &holes, 30, &chunks),
            Vec::<String>::new()
        );

        let mut short = chunks.clone();
        short[1].len -= 1;
        short.pop();
        let p = series(&def, &state, &holes, 30, &short);
        assert!(
            p.iter()
                .any(|m| m.contains("chunk 1 holds 29 slots, not 30")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.contains("1 of 1 chunk rows missing")),
            "{p:?}"
        );

        let mut extra = chunks.clone();
        extra.push(ChunkRow {
            archive: 2,
            chunk: 0,
            len: 5,
        });
        extra.push(chunks[0]);
        let p = series(&def, &state, &holes, 30, &extra);
        assert!(
            p.iter()
                .any(|m| m.contains("archive 2, which the definition has not")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.contains("chunk 0 stored twice")),
            "{p:?}"
        );

        let mut bad = state.clone();
        bad.cdp[1].unknown_pdps = 6;
        bad.pdp_unknown_sec = 11;
        let latest = latest_slot(bad.last_up, 10);
        let holes = vec![vec![(5, 4), (latest - 3, latest + 1)], Holes::new()];
        let p = series(&def, &bad, &holes, 30, &chunks);
        for want in [
            "6 unknown PDPs",
            "11 unknown seconds",
            "hole 5..4 is empty",
            "ends after the latest slot",
        ] {
            assert!(p.iter().any(|m| m.contains(want)), "{want}: {p:?}");
        }
    }

    #[test]
    fn pending_points_are_replayed() {
        let def = parse("--step 10 DS:v:COUNTER:20:0:U RRA:AVERAGE:0.5:1:100").unwrap();
        let state = State::new(&def, 1_700_000_000_000_000);
        let t = |s: i64| 1_700_000_000_000_000 + s * 1_000_000;
        let good = vec![
            (t(10), Value::Text("5".into())),
            (t(20), Value::Text("9".into())),
        ];
        let tip = Tip::of_last(t(20), Some("9"));
        assert!(pending(&def, &state, &good, Some(&tip)).is_empty());
        let p = pending(&def, &state, &good, Some(&Tip::of_last(t(10), None)));
        assert!(p[0].contains("the lane's tip is at"), "{p:?}");
        let out_of_order = vec![(t(20), Value::Float(1.0)), (t(10), Value::Float(2.0))];
        let p = pending(&def, &state, &out_of_order, None);
        assert!(p[0].contains("is refused"), "{p:?}");
        let fraction = vec![(t(10), Value::Text("1.5".into()))];
        assert!(pending(&def, &state, &fraction, None)[0].contains("is refused"));
    }
}
