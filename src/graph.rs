//! Graphs from SQL (docs/graph.md): `rrd.graph` draws series as an SVG in
//! the spirit of `rrdtool graph`, `rrd.sparkline` a line of Unicode blocks.
//! The drawing is the pure crate's (`rrd_core::graph`); this module picks
//! the series, reads their rows as `rrd.fetch` does, and gives the
//! session's time zone.

use pgrx::prelude::*;
use pgrx::spi::Spi;

use rrd_core::error::{Result, RrdError};
use rrd_core::graph::{self, Line, Options, Style};
use rrd_core::plan;

use crate::args::{required, Json};
use crate::catalog::{find_names, tagged_names};
use crate::fetch::{fetch_args, range_secs, reader};
use crate::sqlstate::OrRaise;

/// Seconds east of UTC in the session's time zone at Unix time `t`.
/// Read-only, so that a standby draws graphs too.
fn utc_offset(t: i64) -> i64 {
    Spi::connect(|client| {
        client
            .select(
                "SELECT extract(timezone FROM to_timestamp($1))::float8",
                Some(1),
                &[(t as f64).into()],
            )?
            .first()
            .get_one::<f64>()
    })
    .ok()
    .flatten()
    .map_or(0, |s| s as i64)
}

/// The rows of series `name` as a graph line of at most about `width`
/// values: the archive that best fits a pixel, its rows merged in groups
/// (with the CF) when there are still more than the plot has pixels.
fn line(
    name: &str,
    cf: Option<&str>,
    start: TimestampWithTimeZone,
    stop: TimestampWithTimeZone,
    width: u32,
) -> Result<Line> {
    let (cf_kind, _) = fetch_args(cf, None)?;
    let (s, e) = range_secs(Some(start), Some(stop))?;
    let pixel = ((e - s) / i64::from(width)).max(1);
    let resolution = Interval::from_seconds(pixel as f64);
    let (_, r, _, _) = reader(Some(name), cf, Some(start), Some(stop), Some(resolution))?;
    let k = plan::group_size(r.first, r.last, i64::from(width));
    let step = r.step;
    let (first, values): (i64, Vec<f64>) = if k <= 1 {
        (
            r.first * step,
            (r.first..=r.last).map(|g| r.value(g)).collect(),
        )
    } else {
        let groups: Vec<(i64, f64)> = plan::downsample(r.slots(), k, cf_kind).collect();
        (
            groups.first().map_or(0, |p| p.0 * step),
            groups.into_iter().map(|p| p.1).collect(),
        )
    };
    Ok(Line {
        name: name.to_string(),
        step: step * k.max(1),
        first,
        values,
        color: None,
    })
}

/// An SVG graph of series given by name (`series`), by Graphite pattern
/// (`pattern`) or by tags (`tags`), in that order, from `start` to `stop`.
/// `style` is `line`, `area` or `stack`; `width` and `height` are the plot
/// area's pixels; `lower` and `upper` fix the value axis; `colors` are
/// `#rrggbb` colours for the series in order (others get the palette's).
/// The legend gives each series' last, min, average and max over the range.
#[allow(clippy::too_many_arguments)] // SQL's named arguments, each with a default
#[pg_extern(stable)]
fn graph<'a>(
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    series: default!(Option<Array<'a, &'a str>>, "NULL"),
    pattern: default!(Option<&'a str>, "NULL"),
    tags: default!(Option<Json>, "NULL"),
    cf: default!(Option<&'a str>, "'AVERAGE'"),
    style: default!(Option<&'a str>, "'line'"),
    width: default!(Option<i32>, "600"),
    height: default!(Option<i32>, "200"),
    title: default!(Option<&'a str>, "NULL"),
    vertical_label: default!(Option<&'a str>, "NULL"),
    lower: default!(Option<f64>, "NULL"),
    upper: default!(Option<f64>, "NULL"),
    colors: default!(Option<Array<'a, &'a str>>, "NULL"),
) -> String {
    let args = GraphArgs {
        start,
        stop,
        series,
        pattern,
        tags,
        cf,
        style,
        width,
        height,
        title,
        vertical_label,
        lower,
        upper,
        colors,
    };
    graph_inner(args).or_raise()
}

struct GraphArgs<'a> {
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    // Arrays as PostgreSQL holds them: nothing of a long one is copied
    // before its length is checked.
    series: Option<Array<'a, &'a str>>,
    pattern: Option<&'a str>,
    tags: Option<Json>,
    cf: Option<&'a str>,
    style: Option<&'a str>,
    width: Option<i32>,
    height: Option<i32>,
    title: Option<&'a str>,
    vertical_label: Option<&'a str>,
    lower: Option<f64>,
    upper: Option<f64>,
    colors: Option<Array<'a, &'a str>>,
}

/// A pixel count argument.
fn pixels(v: Option<i32>, what: &str) -> Result<u32> {
    let v = required(v, what)?;
    u32::try_from(v).map_err(|_| {
        RrdError::param(format!(
            "graph {what} {v} is out of range: the plot area is {} to {} pixels",
            graph::MIN_PX,
            graph::MAX_PX
        ))
    })
}

/// The start of a title or label that a graph can show: a character is
/// at least a pixel wide, so no more than the widest plot's pixels (the
/// graph clips it further), and a huge text is never copied whole.
fn text_head(s: &str) -> String {
    let end = s
        .char_indices()
        .nth(graph::MAX_PX as usize)
        .map_or(s.len(), |(i, _)| i);
    s[..end].to_string()
}

fn graph_inner(a: GraphArgs<'_>) -> Result<String> {
    let start = required(a.start, "start")?;
    let stop = required(a.stop, "stop")?;
    let (s, e) = range_secs(Some(start), Some(stop))?;
    let cf = required(a.cf, "consolidation function")?;
    let (cf_kind, _) = fetch_args(Some(cf), None)?;
    let opts = Options {
        start: s,
        stop: e,
        width: pixels(a.width, "width")?,
        height: pixels(a.height, "height")?,
        title: a.title.map(text_head),
        vertical_label: a.vertical_label.map(text_head),
        style: required(a.style, "style")?.parse::<Style>()?,
        lower: a.lower,
        upper: a.upper,
        cf_label: cf_kind.as_str().to_string(),
    };
    // The options first, then the count of series, before any is read.
    graph::check(&[], &opts)?;
    let mut names: Vec<String> = Vec::new();
    if let Some(list) = &a.series {
        graph::check_count(list.len())?;
        for (i, n) in list.iter().enumerate() {
            names.push(
                n.ok_or_else(|| RrdError::Null {
                    what: format!("series name {}", i + 1),
                })?
                .to_string(),
            );
        }
    }
    if let Some(p) = a.pattern {
        names.extend(find_names(Some(p), None)?);
    }
    if a.tags.is_some() {
        names.extend(tagged_names(a.tags)?);
    }
    graph::check_count(names.len())?;
    if names.is_empty() {
        return Err(RrdError::param(
            "a graph needs series: give series, pattern or tags (none matched)",
        ));
    }
    // A colour for each series, from the start of `colors` (more are
    // left unread).
    let colors: Vec<Option<String>> = match &a.colors {
        Some(c) => c
            .iter()
            .take(names.len())
            .map(|c| c.map(str::to_string))
            .collect(),
        None => Vec::new(),
    };
    let mut lines = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let mut l = line(n, Some(cf), start, stop, opts.width)?;
        l.color = colors.get(i).cloned().flatten();
        lines.push(l);
    }
    graph::render(&lines, &opts, &utc_offset)
}

/// The rows of `rrd.fetch(name, cf, start, stop)` as a line of `width`
/// Unicode blocks, from ▁ (the smallest known value) to █ (the largest),
/// a space where unknown: a graph for psql.
#[pg_extern(stable)]
fn sparkline(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    width: default!(Option<i32>, "60"),
) -> String {
    sparkline_inner(name, cf, start, stop, width).or_raise()
}

fn sparkline_inner(
    name: Option<&str>,
    cf: Option<&str>,
    start: Option<TimestampWithTimeZone>,
    stop: Option<TimestampWithTimeZone>,
    width: Option<i32>,
) -> Result<String> {
    let width = required(width, "width")?;
    let width = usize::try_from(width)
        .ok()
        .filter(|w| (1..=graph::MAX_SPARK).contains(w))
        .ok_or_else(|| {
            RrdError::param(format!(
                "sparkline width {width} is out of range: it is 1 to {} characters",
                graph::MAX_SPARK
            ))
        })?;
    let (_, r, _, _) = reader(name, cf, start, stop, None)?;
    crate::fetch::check_rows(r.rows(), || {
        format!(
            "rrd.sparkline of series \"{}\"",
            rrd_core::error::shown(name.unwrap_or(""))
        )
    })?;
    // Value by value (the reader checks for a cancel): a long range is
    // never held in memory at once.
    let n = usize::try_from(r.rows().max(0)).unwrap_or(0);
    graph::sparkline_of(n, |i| r.value(r.first + i as i64), width)
}
