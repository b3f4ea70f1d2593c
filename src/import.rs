//! Other tools' files in and out (docs/import.md): `rrd.import_rrdtool`
//! (`rrdtool dump` XML), `rrd.import_whisper` (`.wsp` bytes) and
//! `rrd.dump` (XML for `rrdtool restore`). The readers and the writer are
//! the pure crate's (`rrdxml`, `whisper`); this module stores and loads.

use pgrx::prelude::*;
use pgrx::spi::Spi;

use rrd_core::error::{Result, RrdError};
use rrd_core::import::{Imported, Tick};
use rrd_core::ring::{Fill, Ring};
use rrd_core::{rrdxml, whisper};

use crate::args::{new_name, required};
use crate::sqlstate::OrRaise;
use crate::storage;
use crate::storage::chunk::DEFAULT_CHUNK_WIDTH;

/// Largest text PostgreSQL holds in one value, less room for a header.
const MAX_TEXT_BYTES: u64 = (1 << 30) - 1024;

/// What to do with a series that already exists.
#[derive(Clone, Copy, PartialEq)]
enum OnExists {
    Error,
    Skip,
    Replace,
}

fn on_exists(v: Option<&str>) -> Result<OnExists> {
    match required(v, "on_exists")? {
        "error" => Ok(OnExists::Error),
        "skip" => Ok(OnExists::Skip),
        "replace" => Ok(OnExists::Replace),
        other => Err(RrdError::param(format!(
            "on_exists must be 'error', 'skip' or 'replace', got \"{}\"",
            rrd_core::error::shown(other)
        ))),
    }
}

/// Stores each imported series under `name` (or `name.suffix`), all or
/// none: the first error leaves nothing stored. Returns each name with
/// what was done: `created`, `replaced` or `skipped`.
fn store(name: &str, series: &[Imported], mode: OnExists) -> Result<Vec<(String, String)>> {
    let name = new_name(name, "series name")?;
    storage::buffer::release()?;
    let names: Vec<String> = series
        .iter()
        .map(|s| match &s.suffix {
            Some(sfx) => format!("{name}.{sfx}"),
            None => name.to_string(),
        })
        .collect();
    for n in &names {
        new_name(n, "series name")?;
    }
    Spi::connect_mut(|client| {
        let mut out = Vec::with_capacity(series.len());
        for (im, n) in series.iter().zip(&names) {
            im.check()?;
            let exists = storage::series::check_free(client, n).is_err();
            let action = match (exists, mode) {
                (false, _) => "created",
                (true, OnExists::Error) => {
                    return Err(RrdError::SeriesExists { name: n.clone() });
                }
                (true, OnExists::Skip) => {
                    out.push((n.clone(), "skipped".to_string()));
                    continue;
                }
                (true, OnExists::Replace) => {
                    storage::series::delete_series(client, n)?;
                    "replaced"
                }
            };
            let width = DEFAULT_CHUNK_WIDTH;
            let id = storage::series::insert_series(client, n, &im.def, width, None, None)?;
            storage::state::insert_state(client, id, &im.state);
            // The file's unknown rows have no recorded cause.
            storage::explain::create(client, id, im.def.step, None, im.state.last_up);
            for (a, arch) in im.def.archives.iter().enumerate() {
                let fill = Fill {
                    ring: Ring::new(arch.rows, width),
                    latest: im.latest(a),
                    value: |g| im.value(a, g),
                };
                storage::chunk::insert_archive_filled(client, id, a, &fill);
            }
            storage::journal::ensure_lane(client, rrd_core::journal::lane_of(id));
            out.push((n.clone(), action.to_string()));
        }
        Ok(out)
    })
}

fn outcome(
    rows: Vec<(String, String)>,
) -> TableIterator<'static, (name!(series, String), name!(action, String))> {
    TableIterator::new(rows)
}

/// Imports `rrdtool dump` output as one series per data source: `name`
/// for a file of one data source, `name.<ds>` for each of several. The
/// state (last update, last input, open PDP and CDPs) and every row come
/// over, so updates continue as `rrdtool restore` of the same dump would.
/// COMPUTE data sources and Holt-Winters archives are refused, or skipped
/// with a NOTICE under `skip_unsupported`.
#[pg_extern(name = "import_rrdtool")]
fn import_rrdtool(
    name: Option<&str>,
    xml: Option<&str>,
    skip_unsupported: default!(Option<bool>, "false"),
    on_exists: default!(Option<&str>, "'error'"),
) -> TableIterator<'static, (name!(series, String), name!(action, String))> {
    import_rrdtool_inner(name, xml, skip_unsupported, on_exists)
        .map(outcome)
        .or_raise()
}

fn import_rrdtool_inner(
    name: Option<&str>,
    xml: Option<&str>,
    skip_unsupported: Option<bool>,
    mode: Option<&str>,
) -> Result<Vec<(String, String)>> {
    // The name is checked before a long parse, not after it.
    let name = new_name(required(name, "series name")?, "series name")?;
    let xml = required(xml, "xml")?;
    let opts = rrdxml::Options {
        skip_unsupported: required(skip_unsupported, "skip_unsupported")?,
        tick: Tick(crate::interrupts::check),
    };
    let mode = on_exists(mode)?;
    let dump = rrdxml::read(xml, &opts)?;
    for s in &dump.skipped {
        notice!("pg_rrd: import of \"{name}\" skips {s}");
    }
    store(name, &dump.series, mode)
}

/// Imports a Whisper `.wsp` file as one series (docs/import.md).
#[pg_extern(name = "import_whisper")]
fn import_whisper(
    name: Option<&str>,
    data: Option<&[u8]>,
    heartbeat: default!(Option<i32>, "NULL"),
    on_exists: default!(Option<&str>, "'error'"),
) -> TableIterator<'static, (name!(series, String), name!(action, String))> {
    import_whisper_inner(name, data, heartbeat, on_exists)
        .map(outcome)
        .or_raise()
}

fn import_whisper_inner(
    name: Option<&str>,
    data: Option<&[u8]>,
    heartbeat: Option<i32>,
    mode: Option<&str>,
) -> Result<Vec<(String, String)>> {
    let name = new_name(required(name, "series name")?, "series name")?;
    let data = required(data, "data")?;
    let heartbeat = match heartbeat {
        None => None,
        Some(h) if h > 0 => Some(i64::from(h)),
        Some(h) => {
            return Err(RrdError::param(format!(
                "heartbeat must be positive, got {h}"
            )))
        }
    };
    let mode = on_exists(mode)?;
    let now = crate::update::clock_us()?.div_euclid(rrd_core::time::US);
    let im = whisper::read(
        data,
        &whisper::Options {
            heartbeat,
            now: Some(now),
            tick: Tick(crate::interrupts::check),
        },
    )?;
    store(name, std::slice::from_ref(&im), mode)
}

/// The series as `rrdtool dump` XML, which `rrdtool restore` turns into a
/// file that fetches the same rows and continues the same. Values are
/// written exactly; the last update's microseconds are dropped, as a dump
/// has no room for them.
#[pg_extern(name = "dump")]
fn dump(name: Option<&str>) -> String {
    dump_inner(name).or_raise()
}

fn dump_inner(name: Option<&str>) -> Result<String> {
    let name = required(name, "series name")?;
    Spi::connect_mut(|client| {
        let s = storage::state::load_current(client, name)?;
        let bytes = s.def.total_slots().saturating_mul(rrdxml::BYTES_PER_ROW);
        if bytes > MAX_TEXT_BYTES {
            return Err(RrdError::Limit {
                msg: format!(
                    "a dump of series \"{}\" ({} slots) would exceed the 1 GB a text value holds",
                    rrd_core::error::shown(name),
                    s.def.total_slots()
                ),
                hint: Some("Resize or drop archives of a copy, or fetch the rows instead."),
            });
        }
        let stored: Vec<_> = s
            .def
            .archives
            .iter()
            .enumerate()
            .map(|(a, arch)| {
                let latest =
                    rrd_core::alter::latest_slot(s.state.last_up, arch.seconds_per_row(s.def.step));
                (
                    latest,
                    storage::chunk::read_slots(
                        client,
                        &s,
                        a,
                        latest - arch.rows as i64 + 1,
                        latest,
                    ),
                )
            })
            .collect();
        Ok(rrdxml::write(&s.def, &s.state, |a, g| {
            let (latest, st) = &stored[a];
            if g > *latest || g <= latest - s.def.archives[a].rows as i64 {
                f64::NAN
            } else {
                st.value(g)
            }
        }))
    })
}
