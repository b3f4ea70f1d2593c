//! The catalog of series (docs/catalog.md): finding them by name pattern
//! (`rrd.find`), walking the tree of their names (`rrd.children`), reading
//! many at once (`rrd.fetch_many`, `rrd.fetch_tagged`), renaming them
//! (`rrd.rename`), and their free-form metadata and tags (`rrd.set_meta`,
//! `rrd.set_tags`). Patterns are read by the pure `glob` module; the
//! literal prefix of a pattern restricts an index scan, and the rest is a
//! regular expression the server checks.

use std::cell::Cell;
use std::collections::BTreeMap;

use pgrx::prelude::*;
use pgrx::spi::{Spi, SpiClient};

use rrd_core::error::{Result, RrdError};
use rrd_core::glob::{next_node, Pattern};
use rrd_core::{plan, time};

use crate::args::{check_meta, check_tags, json, new_name, required, unix_us, Json};
use crate::fetch;
use crate::interrupts;
use crate::sqlstate::OrRaise;
use crate::storage::{self, Label, Series};

/// Names of series matching `regex`, restricted to those starting with
/// `prefix` through the prefix index when there is one.
fn names(prefix: &str, regex: &str) -> Vec<String> {
    Spi::connect_mut(|client| storage::series::names_matching(client, prefix, regex))
}

/// Names of the series matching Graphite pattern `pattern`, in order: `*`
/// and `?` within one node, `[a-z0-9]` classes, `{a,b}` alternatives. With
/// `from` or `until`, only series holding a known value in a row that ends
/// after `from` and at or before `until`.
#[pg_extern(stable, name = "find")]
fn find(
    pattern: Option<&str>,
    from: default!(Option<TimestampWithTimeZone>, "NULL"),
    until: default!(Option<TimestampWithTimeZone>, "NULL"),
) -> TableIterator<'static, (name!(name, String),)> {
    let range = match (from, until) {
        (None, None) => None,
        (f, u) => Some((f, u)),
    };
    find_names(pattern, range)
        .map(|found| TableIterator::new(found.into_iter().map(|n| (n,))))
        .or_raise()
}

/// A time range of `rrd.find`; an end that is NULL is open.
type Range = (Option<TimestampWithTimeZone>, Option<TimestampWithTimeZone>);

/// The sorted names matching `pattern`, kept only if they hold a known
/// value in `range`.
pub fn find_names(pattern: Option<&str>, range: Option<Range>) -> Result<Vec<String>> {
    let pattern = Pattern::parse(required(pattern, "pattern")?)?;
    let mut found: Vec<String> = names(pattern.literal_prefix(), &pattern.to_posix_regex())
        .into_iter()
        .filter(|n| pattern.matches(n))
        .collect();
    found.sort();
    match range {
        None => Ok(found),
        Some(r) => with_data(found, r),
    }
}

/// The names of `names` whose series hold a known value in `range`.
fn with_data(names: Vec<String>, (from, until): Range) -> Result<Vec<String>> {
    let secs = |t: Option<TimestampWithTimeZone>, what: &str, open: i64| -> Result<i64> {
        match t {
            None => Ok(open),
            Some(t) if !t.is_finite() => Ok(if t.is_infinity() {
                i64::MAX / 4
            } else {
                i64::MIN / 4
            }),
            Some(t) => Ok(time::floor_secs(unix_us(t, what)?)),
        }
    };
    let from = secs(from, "from", i64::MIN / 4)?;
    let until = secs(until, "until", i64::MAX / 4)?;
    Spi::connect_mut(|client| {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let loaded = storage::state::load_many_current(client, &refs)?;
        Ok(names
            .into_iter()
            .filter(|n| {
                loaded
                    .get(n)
                    .is_some_and(|s| holds_known(client, s, from, until))
            })
            .collect())
    })
}

/// Whether `series` holds a known value in a row ending in `(from, until]`
/// (Unix seconds) in any archive.
fn holds_known(client: &SpiClient<'_>, series: &Series, from: i64, until: i64) -> bool {
    let last = time::floor_secs(series.state.last_up);
    let reads = Cell::new(0);
    plan::windows(&series.def, last, from, until)
        .into_iter()
        .any(|(a, lo, hi)| {
            let slots = storage::chunk::read_slots(client, series, a, lo, hi);
            (lo..=hi).any(|g| {
                interrupts::tick(&reads);
                !slots.value(g).is_nan()
            })
        })
}

/// The sorted names of the series whose tags contain `tags`.
pub fn tagged_names(tags: Option<Json>) -> Result<Vec<String>> {
    let tags = required(json(tags, "tags")?, "tags")?;
    check_tags(&tags.0)?;
    Ok(Spi::connect_mut(|client| {
        storage::series::names_tagged(client, tags)
    }))
}

/// The next level of the tree of names below `prefix` (a name pattern; NULL
/// or empty for the top level): each node once, with its path, whether a
/// series ends there (`leaf`) and whether longer names go on below it
/// (`branch`). A node can be both.
#[allow(clippy::type_complexity)] // pgrx reads the SQL signature from the written-out type
#[pg_extern(stable)]
fn children(
    prefix: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(path, String),
        name!(node, String),
        name!(leaf, bool),
        name!(branch, bool),
    ),
> {
    let rows = children_inner(prefix).or_raise();
    TableIterator::new(
        rows.into_iter()
            .map(|(path, (node, leaf, branch))| (path, node, leaf, branch)),
    )
}

/// Children by path: (node, leaf, branch).
fn children_inner(prefix: Option<&str>) -> Result<BTreeMap<String, (String, bool, bool)>> {
    let mut out: BTreeMap<String, (String, bool, bool)> = BTreeMap::new();
    let mut add = |name: &str, levels: usize, node: &str, last: bool| {
        // The path is the name's first `levels` + 1 nodes.
        let end = name
            .match_indices('.')
            .nth(levels)
            .map_or(name.len(), |(i, _)| i);
        let e = out
            .entry(name[..end].to_string())
            .or_insert_with(|| (node.to_string(), false, false));
        if last {
            e.1 = true;
        } else {
            e.2 = true;
        }
    };
    match prefix.filter(|p| !p.is_empty()) {
        None => {
            for name in names("", "") {
                if let Some((node, last)) = next_node(0, &name) {
                    add(&name, 0, node, last);
                }
            }
        }
        Some(p) => {
            let pattern = Pattern::parse(p)?;
            let levels = pattern.node_count();
            let mut prefix = pattern.literal_prefix().to_string();
            if pattern.is_literal() {
                prefix.push('.');
            }
            for name in names(&prefix, &pattern.to_posix_descendants_regex()) {
                if let Some((node, last)) = pattern.child(&name) {
                    add(&name, levels, node, last);
                }
            }
        }
    }
    Ok(out)
}

/// Sets the metadata or tags of series `name` to `value`, after `check`.
fn set_label(
    name: Option<&str>,
    value: Option<Json>,
    label: Label,
    check: fn(&serde_json::Value) -> Result<()>,
) -> Result<()> {
    let name = required(name, "series name")?;
    let what = match label {
        Label::Meta => "meta",
        Label::Tags => "tags",
    };
    let value = required(json(value, what)?, what)?;
    check(&value.0)?;
    if Spi::connect_mut(|client| storage::series::set_label(client, name, label, value)) {
        Ok(())
    } else {
        Err(RrdError::UnknownSeries {
            name: name.to_string(),
        })
    }
}

/// Replaces the free-form metadata of a series (a JSON object).
#[pg_extern]
fn set_meta(name: Option<&str>, meta: Option<Json>) {
    set_label(name, meta, Label::Meta, check_meta).or_raise()
}

/// Replaces the tags of a series: a JSON object of string values, such as
/// `{"host": "web017", "dc": "dc1"}`. Find series by tag with
/// `SELECT name FROM rrd.series WHERE tags @> '{"dc": "dc1"}'` (indexed).
#[pg_extern]
fn set_tags(name: Option<&str>, tags: Option<Json>) {
    set_label(name, tags, Label::Tags, check_tags).or_raise()
}

#[allow(clippy::type_complexity)] // pgrx reads the SQL signature from the written-out type
/// `rrd.fetch` for every series whose name matches Graphite pattern
/// `pattern` (see `rrd.find`), as `(name, t, v)` rows.
#[pg_extern(stable)]
fn fetch_many(
    pattern: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: default!(Option<Interval>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(t, TimestampWithTimeZone),
        name!(v, Option<f64>),
    ),
> {
    find_names(pattern, None)
        .and_then(|names| fetch::fetch_names("rrd.fetch_many", names, cf, start, stop, resolution))
        .or_raise()
}

#[allow(clippy::type_complexity)] // as above
/// `rrd.fetch` for every series whose tags contain `tags` (`@>`), as
/// `(name, t, v)` rows.
#[pg_extern(stable)]
fn fetch_tagged(
    tags: Option<Json>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    resolution: default!(Option<Interval>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(t, TimestampWithTimeZone),
        name!(v, Option<f64>),
    ),
> {
    tagged_names(tags)
        .and_then(|names| {
            fetch::fetch_names("rrd.fetch_tagged", names, cf, start, stop, resolution)
        })
        .or_raise()
}

/// Renames a series; its data, tags and metadata stay with it.
#[pg_extern]
fn rename(old: Option<&str>, new: Option<&str>) {
    rename_inner(old, new).or_raise()
}

fn rename_inner(old: Option<&str>, new: Option<&str>) -> Result<()> {
    let old = required(old, "series name")?;
    let new = new_name(required(new, "new name")?, "new name")?;
    Spi::connect_mut(|client| {
        crate::flush::fold_named(client, old)?;
        let series = storage::state::load(client, old, true)?;
        if old == new {
            return Ok(());
        }
        storage::series::check_free(client, new)?;
        storage::series::rename_series(client, series.id, new);
        Ok(())
    })
}

#[cfg(feature = "pg_test")]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;
    use rrd_core::glob::Pattern;

    /// PostgreSQL's `~` with the regular expressions a pattern generates
    /// accepts exactly the names the Rust matcher accepts, so `rrd.find`
    /// and `rrd.children` lose nothing in the index scan: random patterns
    /// over a small alphabet (so that names hit them) against random names
    /// with dots, empty nodes, punctuation and non-ASCII characters.
    #[pg_test]
    fn generated_regexes_agree_with_the_matcher() {
        let mut rng = rrd_core::testrng::XorShift(0x2545_f491_4f6c_dd1d);
        let mut rnd = move |n: usize| rng.below(n as u64) as usize;
        const PIECES: &[&str] = &[
            "a", "b", "ab", ".", ".", "*", "?", "[a-b]", "[!a]", "[^.b]", "{a,b}", "{,a}",
            "{a*,?b}", "\\.", "\\*", "é", "-", "[", "(", "$", "^", "+",
        ];
        const CHARS: &[&str] = &["a", "b", ".", "é", "-", "*", "[", "(", "$", "^", "+", "\\"];
        let names: Vec<String> = (0..300)
            .map(|_| (0..rnd(8)).map(|_| CHARS[rnd(CHARS.len())]).collect())
            .collect();
        let (mut patterns, mut hits) = (0, 0);
        for _ in 0..1500 {
            let text: String = (0..1 + rnd(6)).map(|_| PIECES[rnd(PIECES.len())]).collect();
            let Ok(p) = Pattern::parse(&text) else {
                continue;
            };
            patterns += 1;
            for (re, want) in [
                (
                    p.to_posix_regex(),
                    names
                        .iter()
                        .filter(|n| p.matches(n))
                        .cloned()
                        .collect::<Vec<_>>(),
                ),
                (
                    p.to_posix_descendants_regex(),
                    names
                        .iter()
                        .filter(|n| p.child(n).is_some())
                        .cloned()
                        .collect(),
                ),
            ] {
                let got: Vec<String> = Spi::get_one_with_args::<Vec<String>>(
                    "SELECT coalesce(array_agg(n ORDER BY o), '{}') \
                     FROM unnest($1::text[]) WITH ORDINALITY AS u(n, o) WHERE n ~ $2",
                    &[names.clone().into(), re.clone().into()],
                )
                .unwrap()
                .unwrap();
                assert_eq!(got, want, "pattern {text:?}, regex {re:?}");
                hits += want.len();
            }
        }
        assert!(
            patterns > 500 && hits > 1000,
            "{patterns} patterns, {hits} hits"
        );
    }
}
