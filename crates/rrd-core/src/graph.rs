//! Graphs of series as SVG, in the spirit of `rrdtool graph`, and text
//! sparklines. No pgrx, no fonts: text uses the generic `sans-serif` and
//! `monospace` families, so a viewer draws it with what it has.
//!
//! The SQL glue fetches each series' rows for the range and hands them
//! over as plain data ([`Line`]); [`render`] returns the SVG text.
//!
//! What a graph shows, and the choices where rrdtool leaves room:
//!
//! - The plot area is `width` x `height` pixels, as rrdtool's `--width`
//!   and `--height`; axes, title and legend are drawn around it, so the
//!   image is larger. The root `<svg>` has explicit `width` and `height`,
//!   and `<g id="plot">` carries the area and the time mapping as data
//!   attributes (`data-x0`, `data-y0`, `data-width`, `data-height`,
//!   `data-start`, `data-stop`, `data-lower`, `data-upper`), so a test can
//!   tell which pixel column shows which time.
//! - Each pixel column `c` shows the times `(start + c*span/width,
//!   start + (c+1)*span/width]`. Where rows are coarser than columns, a
//!   column shows the row that covers its middle; where they are finer, the
//!   average of the known rows that end in it. A row ending at `t` covers
//!   `(t - step, t]`, as RRDtool labels rows by their end.
//! - Unknown values (NaN, and the infinities, which no axis can show) draw
//!   nothing: a line breaks, an area has a hole. In a stack, an unknown
//!   series draws nothing at that column and the series above it rest on
//!   the sum of the known ones below, as rrdtool's `STACK` does.
//! - The time axis picks, from a table much like rrdtool's, the finest
//!   spacing of labels whose text does not crowd: seconds, minutes, hours
//!   (`HH:MM`, with the weekday when the range spans more than a day),
//!   days (`Mon 02`, centred on the day), weeks (`Mar 04`, on Mondays),
//!   months (`Jan`, centred) and years. Boundaries are those of local time,
//!   given by the caller's `utc_offset`, asked at each tick so that a
//!   change of daylight saving time moves them.
//! - The value axis has ticks at 1, 2 or 5 times a power of ten and labels
//!   with SI prefixes (`200 m`, `1.5 k`). Without limits it spans the data
//!   (and 0 for areas and stacks); `lower`/`upper` fix either end, as
//!   rrdtool's `--lower-limit`/`--upper-limit` with `--rigid`.
//! - The legend has one row per series: its colour, its name and the
//!   last, minimum, average and maximum of its known values in
//!   `[start, stop]`, printed as rrdtool's `GPRINT` with `%6.2lf %s`;
//!   `nan` when none is known.

use std::fmt::Write as _;
use std::str::FromStr;

use crate::error::{Result, RrdError};
use crate::time::civil_from_days;

/// Smallest plot width or height, in pixels.
pub const MIN_PX: u32 = 16;
/// Largest plot width or height, in pixels: bounds the image and the work.
pub const MAX_PX: u32 = 4096;
/// Most series one graph draws.
pub const MAX_SERIES: usize = 256;
/// Farthest a graph's start or stop lies from 1970, in seconds (about
/// 8.9 million years, beyond every timestamptz): calendar arithmetic on
/// the axis stays far from overflow.
pub const MAX_TIME: i64 = 1 << 48;
/// Widest sparkline, in characters.
pub const MAX_SPARK: usize = 1000;

/// Colours given to series without their own, in order (then again).
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];

/// One series to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Its name, for the legend.
    pub name: String,
    /// Seconds per row.
    pub step: i64,
    /// Unix seconds at the end of the row `values[0]` (its label).
    pub first: i64,
    /// The rows' values, one per `step`; NaN is unknown.
    pub values: Vec<f64>,
    /// `#rgb` or `#rrggbb`; the palette's next colour when `None`.
    pub color: Option<String>,
}

/// How the series are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// Each series a line (rrdtool's `LINE2`).
    #[default]
    Line,
    /// Each series an area from 0 (rrdtool's `AREA`); later ones cover
    /// earlier ones.
    Area,
    /// Each series an area on top of the sum of those before it
    /// (rrdtool's `AREA` then `STACK`).
    Stack,
}

impl FromStr for Style {
    type Err = RrdError;

    /// `line`, `area` or `stack`, in any case.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "line" => Ok(Style::Line),
            "area" => Ok(Style::Area),
            "stack" => Ok(Style::Stack),
            _ => Err(RrdError::param(format!(
                "invalid graph style \"{}\": expected line, area or stack",
                crate::error::shown(s)
            ))),
        }
    }
}

/// Everything about a graph but its series.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Unix seconds at the left edge of the plot.
    pub start: i64,
    /// Unix seconds at the right edge; after `start`.
    pub stop: i64,
    /// Plot area width in pixels, [`MIN_PX`]..=[`MAX_PX`].
    pub width: u32,
    /// Plot area height in pixels, [`MIN_PX`]..=[`MAX_PX`].
    pub height: u32,
    /// Text above the plot.
    pub title: Option<String>,
    /// Text along the value axis.
    pub vertical_label: Option<String>,
    /// How to draw the series.
    pub style: Style,
    /// Fixed bottom of the value axis.
    pub lower: Option<f64>,
    /// Fixed top of the value axis.
    pub upper: Option<f64>,
    /// The consolidation function the rows come from (`AVERAGE`), shown
    /// at the head of the legend.
    pub cf_label: String,
}

/// What the legend prints of one series; NaN where no value is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// The latest known value.
    pub last: f64,
    /// The smallest known value.
    pub min: f64,
    /// The mean of the known values (rows have equal length, so this is
    /// the time-weighted average rrdtool's `GPRINT:AVERAGE` gives).
    pub avg: f64,
    /// The largest known value.
    pub max: f64,
}

/// The legend's figures of `line` over the rows whose end lies in
/// `[start, stop]`, unknown rows left out.
pub fn stats(line: &Line, start: i64, stop: i64) -> Stats {
    let (a, b) = rows_within(line, start, stop);
    let mut s = Stats {
        last: f64::NAN,
        min: f64::NAN,
        avg: f64::NAN,
        max: f64::NAN,
    };
    let (mut sum, mut n) = (0.0, 0u64);
    for &v in &line.values[a..b] {
        if !v.is_finite() {
            continue;
        }
        s.last = v;
        s.min = if n == 0 { v } else { s.min.min(v) };
        s.max = if n == 0 { v } else { s.max.max(v) };
        // Halves, so that a sum of values near f64::MAX stays finite.
        sum += v / 2.0;
        n += 1;
    }
    if n > 0 {
        s.avg = sum / n as f64 * 2.0;
    }
    s
}

/// Indexes `a..b` of the rows of `line` whose end time lies in
/// `[start, stop]`.
fn rows_within(line: &Line, start: i64, stop: i64) -> (usize, usize) {
    if line.step <= 0 || line.values.is_empty() {
        return (0, 0);
    }
    let (first, step, n) = (
        line.first as i128,
        line.step as i128,
        line.values.len() as i128,
    );
    // First i with first + i*step >= start, last with <= stop.
    let a = div_ceil(start as i128 - first, step).clamp(0, n);
    let b = ((stop as i128 - first).div_euclid(step) + 1).clamp(0, n);
    (a as usize, b.max(a) as usize)
}

fn div_ceil(a: i128, b: i128) -> i128 {
    -((-a).div_euclid(b))
}

/// `color` if it is `#rgb` or `#rrggbb` (hex digits in either case), as it
/// goes into the SVG; else an error naming it.
pub fn check_color(color: &str) -> Result<&str> {
    let hex = color.strip_prefix('#').unwrap_or("");
    if (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(color)
    } else {
        Err(RrdError::param(format!(
            "invalid colour \"{}\": expected #rgb or #rrggbb",
            crate::error::shown(color)
        )))
    }
}

/// Refuses a graph of more than [`MAX_SERIES`] series (`n` asked for).
pub fn check_count(n: usize) -> Result<()> {
    if n > MAX_SERIES {
        return Err(RrdError::Limit {
            msg: format!("a graph draws at most {MAX_SERIES} series, asked for {n}"),
            hint: Some(
                "Choose fewer series with a narrower pattern or tags, or draw several graphs.",
            ),
        });
    }
    Ok(())
}

/// Checks what [`render`] would refuse, without drawing: the sizes, the
/// range, the number of series, their steps and colours, and the limits.
pub fn check(lines: &[Line], opts: &Options) -> Result<()> {
    for (what, v) in [("width", opts.width), ("height", opts.height)] {
        if !(MIN_PX..=MAX_PX).contains(&v) {
            return Err(RrdError::param(format!(
                "graph {what} {v} is out of range: the plot area is {MIN_PX} to {MAX_PX} pixels"
            )));
        }
    }
    for (what, t) in [("start", opts.start), ("stop", opts.stop)] {
        if !(-MAX_TIME..=MAX_TIME).contains(&t) {
            return Err(RrdError::TimeRange {
                msg: format!(
                    "graph {what} {t} is out of range: a graph's times are within {MAX_TIME} seconds of 1970"
                ),
            });
        }
    }
    if opts.start >= opts.stop {
        return Err(RrdError::param(format!(
            "empty graph range: start {} is not before stop {}",
            crate::time::format(opts.start.saturating_mul(crate::time::US)),
            crate::time::format(opts.stop.saturating_mul(crate::time::US))
        )));
    }
    check_count(lines.len())?;
    for l in lines {
        if l.step <= 0 {
            return Err(RrdError::param(format!(
                "series \"{}\" has step {}: a step must be positive",
                crate::error::shown(&l.name),
                l.step
            )));
        }
        if let Some(c) = &l.color {
            check_color(c)?;
        }
    }
    for (what, v) in [("lower", opts.lower), ("upper", opts.upper)] {
        if v.is_some_and(|v| !v.is_finite()) {
            return Err(RrdError::param(format!(
                "graph {what} limit must be a finite number"
            )));
        }
    }
    if let (Some(lo), Some(hi)) = (opts.lower, opts.upper) {
        if lo >= hi {
            return Err(RrdError::param(format!(
                "graph lower limit {lo} is not below upper limit {hi}"
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------
// Layout constants. Text widths are estimates for a monospace face at
// 10px (DejaVu Sans Mono advances 0.602 em); a little more, so that
// labels judged apart stay apart with any common face.

const FONT: f64 = 10.0;
const CHAR_W: f64 = 6.3;
const TITLE_FONT: f64 = 13.0;
const TITLE_CHAR_W: f64 = 8.0;
const ROW_H: f64 = 14.0;
const SWATCH: f64 = 10.0;
/// Characters of a series name the legend shows.
const NAME_CHARS: usize = 40;
/// Characters of one legend figure ("%6.2lf %s", 9 with a minus sign)
/// and the gap before it.
const FIG_CHARS: usize = 10;
const LEGEND_COLS: [&str; 4] = ["last", "min", "avg", "max"];

fn text_w(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_W
}

/// Renders `lines` over `[opts.start, opts.stop]` as an SVG document.
/// `utc_offset(t)` is the session's offset from UTC, in seconds east, at
/// Unix time `t`; the time axis follows its local days and hours.
pub fn render(lines: &[Line], opts: &Options, utc_offset: &dyn Fn(i64) -> i64) -> Result<String> {
    check(lines, opts)?;
    let (w, h) = (opts.width as usize, opts.height as usize);
    let span = (opts.stop as f64) - (opts.start as f64);

    let cols: Vec<Vec<f64>> = lines
        .iter()
        .map(|l| columns(l, opts.start, span, w))
        .collect();
    let bands = bands(&cols, opts.style);
    let axis = value_axis(&bands, opts, h);

    // Layout around the plot area.
    let ylab_w = axis
        .labels
        .iter()
        .map(|(_, s)| text_w(s))
        .fold(0.0, f64::max);
    let vlabel = opts.vertical_label.as_deref().filter(|s| !s.is_empty());
    let x0 = (10.0 + if vlabel.is_some() { 16.0 } else { 0.0 } + ylab_w + 6.0).round();
    let title = opts.title.as_deref().filter(|s| !s.is_empty());
    let y0 = if title.is_some() { 30.0 } else { 12.0 };
    let (pw, ph) = (w as f64, h as f64);
    let name_chars = lines
        .iter()
        .map(|l| l.name.chars().count())
        .chain([opts.cf_label.chars().count()])
        .max()
        .unwrap_or(0)
        .clamp(4, NAME_CHARS);
    let legend_w = 10.0 + SWATCH + 6.0 + (name_chars + 4 * FIG_CHARS) as f64 * CHAR_W + 10.0;
    let total_w = (x0 + pw + 20.0).max(legend_w).ceil();
    let legend_y = y0 + ph + 34.0;
    let total_h = (legend_y + ROW_H * (lines.len() + 1) as f64 + 6.0).ceil();

    let mut svg = String::with_capacity(4096 + lines.len() * w * 24);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{tw}\" height=\"{th}\" \
         viewBox=\"0 0 {tw} {th}\" font-family=\"monospace\" font-size=\"{FONT}\">\n\
         <rect id=\"background\" x=\"0\" y=\"0\" width=\"{tw}\" height=\"{th}\" fill=\"#ffffff\"/>\n",
        tw = total_w,
        th = total_h,
    );
    if let Some(t) = title {
        let max_chars = ((total_w - 10.0) / TITLE_CHAR_W).max(1.0) as usize;
        let _ = writeln!(
            svg,
            "<text id=\"title\" x=\"{}\" y=\"20\" text-anchor=\"middle\" font-family=\"sans-serif\" \
             font-size=\"{TITLE_FONT}\" font-weight=\"bold\">{}</text>",
            num(total_w / 2.0),
            esc(&clip(t, max_chars))
        );
    }
    if let Some(v) = vlabel {
        let (vx, vy) = (14.0, y0 + ph / 2.0);
        let max_chars = (ph / CHAR_W).max(1.0) as usize;
        let _ = writeln!(
            svg,
            "<text id=\"vertical-label\" x=\"{vx}\" y=\"{}\" text-anchor=\"middle\" \
             transform=\"rotate(-90 {vx} {})\">{}</text>",
            num(vy),
            num(vy),
            esc(&clip(v, max_chars))
        );
    }

    // The clip's id names its rectangle: graphs inlined in one page share
    // an id only when they share the rectangle too, so each clips right.
    let clip_id = format!("pg-rrd-clip-{x0}-{y0}-{w}-{h}");
    let _ = writeln!(
        svg,
        "<g id=\"plot\" data-x0=\"{x0}\" data-y0=\"{y0}\" data-width=\"{w}\" data-height=\"{h}\" \
         data-start=\"{}\" data-stop=\"{}\" data-lower=\"{}\" data-upper=\"{}\">\n\
         <clipPath id=\"{clip_id}\"><rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\"/></clipPath>",
        opts.start,
        opts.stop,
        axis.lo,
        axis.hi
    );
    let ymap = |v: f64| -> f64 {
        let y = y0 + ph - (v - axis.lo) / (axis.hi - axis.lo) * ph;
        // Far-off values are drawn at a bounded distance; the clip hides them.
        y.clamp(y0 - ph - 2.0, y0 + 2.0 * ph + 2.0)
    };

    // Grid: time, then values.
    let time = time_axis(opts, x0, total_w, utc_offset);
    svg.push_str("<g id=\"grid\" stroke-width=\"1\" shape-rendering=\"crispEdges\">\n");
    for &t in &time.minor {
        let x = x0 + tx(t, opts.start, span, pw).round() + 0.5;
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{y0}\" x2=\"{}\" y2=\"{}\" stroke=\"#eeeeee\"/>",
            num(x),
            num(x),
            y0 + ph
        );
    }
    for &v in &axis.minor {
        let y = ymap(v).round() + 0.5;
        let _ = writeln!(
            svg,
            "<line x1=\"{x0}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#eeeeee\"/>",
            num(y),
            x0 + pw,
            num(y)
        );
    }
    for &t in &time.major {
        let x = x0 + tx(t, opts.start, span, pw).round() + 0.5;
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{y0}\" x2=\"{}\" y2=\"{}\" stroke=\"#cccccc\"/>",
            num(x),
            num(x),
            y0 + ph
        );
    }
    for &(v, _) in &axis.labels {
        let y = ymap(v).round() + 0.5;
        let _ = writeln!(
            svg,
            "<line x1=\"{x0}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#cccccc\"/>",
            num(y),
            x0 + pw,
            num(y)
        );
    }
    svg.push_str("</g>\n");

    // Series.
    let colors: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| l.color.as_deref().unwrap_or(PALETTE[i % PALETTE.len()]))
        .collect();
    let _ = writeln!(svg, "<g id=\"series\" clip-path=\"url(#{clip_id})\">");
    for (i, l) in lines.iter().enumerate() {
        let d = match opts.style {
            Style::Line => line_path(&bands[i].1, x0, &ymap),
            Style::Area | Style::Stack => area_path(&bands[i].0, &bands[i].1, x0, &ymap),
        };
        let paint = match opts.style {
            Style::Line => format!(
                "fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\"",
                colors[i]
            ),
            Style::Area | Style::Stack => format!("fill=\"{}\" stroke=\"none\"", colors[i]),
        };
        let _ = writeln!(
            svg,
            "<path class=\"series\" data-name=\"{}\" data-color=\"{}\" {paint} d=\"{d}\"/>",
            esc(&l.name),
            colors[i]
        );
    }
    svg.push_str("</g>\n");

    // Frame and axis labels. The frame's lines run in the pixels just
    // outside the plot area, so that it hides no drawn pixel (a line at the
    // lower limit stays visible).
    let _ = writeln!(
        svg,
        "<rect id=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" \
         stroke=\"#000000\" stroke-width=\"1\" shape-rendering=\"crispEdges\"/>",
        x0 - 0.5,
        y0 - 0.5,
        w + 1,
        h + 1
    );
    for (v, s) in &axis.labels {
        let _ = writeln!(
            svg,
            "<text class=\"value-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            x0 - 5.0,
            num(ymap(*v) + FONT * 0.35),
            esc(s)
        );
    }
    for (t, s) in &time.labels {
        let _ = writeln!(
            svg,
            "<text class=\"time-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            num(x0 + tx(*t, opts.start, span, pw)),
            y0 + ph + 16.0,
            esc(s)
        );
    }
    svg.push_str("</g>\n");

    // Legend.
    let name_x = 10.0 + SWATCH + 6.0;
    let fig_x = |k: usize| name_x + (name_chars + (k + 1) * FIG_CHARS) as f64 * CHAR_W;
    let _ = writeln!(
        svg,
        "<g id=\"legend\">\n<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>",
        num(name_x),
        num(legend_y + 10.0),
        esc(&clip(&opts.cf_label, name_chars))
    );
    for (k, c) in LEGEND_COLS.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-weight=\"bold\">{c}</text>",
            num(fig_x(k) - CHAR_W * 2.0),
            num(legend_y + 10.0)
        );
    }
    for (i, l) in lines.iter().enumerate() {
        let ry = legend_y + ROW_H * (i + 1) as f64;
        let st = stats(l, opts.start, opts.stop);
        let _ = write!(
            svg,
            "<g class=\"legend-row\" data-name=\"{}\" data-last=\"{}\" data-min=\"{}\" \
             data-avg=\"{}\" data-max=\"{}\"><rect x=\"10\" y=\"{}\" width=\"{SWATCH}\" \
             height=\"{SWATCH}\" fill=\"{}\" stroke=\"#000000\" stroke-width=\"0.5\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            esc(&l.name),
            si_fig(st.last),
            si_fig(st.min),
            si_fig(st.avg),
            si_fig(st.max),
            num(ry + 1.0),
            colors[i],
            num(name_x),
            num(ry + 10.0),
            esc(&clip(&l.name, name_chars))
        );
        for (k, v) in [st.last, st.min, st.avg, st.max].into_iter().enumerate() {
            // Number and prefix apart, the number's end anchored: viewers
            // drop the trailing space of a figure without prefix, which
            // would shift it out of its column.
            let (n, p) = si_parts(v);
            let _ = write!(
                svg,
                "<text class=\"{}\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                LEGEND_COLS[k],
                num(fig_x(k) - 2.0 * CHAR_W),
                num(ry + 10.0),
                esc(&n)
            );
            if !p.is_empty() {
                let _ = write!(
                    svg,
                    "<text x=\"{}\" y=\"{}\">{p}</text>",
                    num(fig_x(k) - CHAR_W),
                    num(ry + 10.0)
                );
            }
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</g>\n</svg>\n");
    Ok(svg)
}

/// `s` cut to `max` characters, the last one an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `s` as XML text or attribute value: the five special characters
/// escaped, and characters XML 1.0 does not allow at all (most controls,
/// U+FFFE, U+FFFF) replaced by U+FFFD, so that any name gives a valid
/// document.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with at most two decimals, trailing zeros dropped.
fn num(v: f64) -> String {
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Pixel offset from the plot's left edge of time `t`.
fn tx(t: i64, start: i64, span: f64, pw: f64) -> f64 {
    ((t as f64) - (start as f64)) / span * pw
}

/// The value `line` shows in each of `w` pixel columns over
/// `[start, start + span]`; NaN where unknown (see the module docs).
fn columns(line: &Line, start: i64, span: f64, w: usize) -> Vec<f64> {
    let n = line.values.len();
    let mut out = vec![f64::NAN; w];
    if n == 0 || line.step <= 0 {
        return out;
    }
    let col = span / w as f64;
    let (first, step) = (line.first as f64, line.step as f64);
    let known = |v: f64| if v.is_finite() { Some(v) } else { None };
    for (c, slot) in out.iter_mut().enumerate() {
        let t0 = start as f64 + c as f64 * col;
        let t1 = t0 + col;
        if step >= col {
            // The row covering the middle: first + (i-1)*step < mid <= first + i*step.
            let i = ((t0 + col / 2.0 - first) / step).ceil();
            if i >= 0.0 && i < n as f64 {
                *slot = known(line.values[i as usize]).unwrap_or(f64::NAN);
            }
        } else {
            // Rows ending in (t0, t1].
            let a = (((t0 - first) / step).floor() + 1.0).max(0.0);
            let b = ((t1 - first) / step).floor().min(n as f64 - 1.0);
            if a > b {
                continue;
            }
            let (mut sum, mut k) = (0.0, 0u32);
            for &v in &line.values[a as usize..=b as usize] {
                if let Some(v) = known(v) {
                    sum += v / 2.0;
                    k += 1;
                }
            }
            if k > 0 {
                *slot = sum / f64::from(k) * 2.0;
            }
        }
    }
    out
}

/// For each series, the bottom and top of what it draws in each column:
/// a line draws its tops; an area spans 0 to its value; a stack spans the
/// sum of the known series before it to that sum plus its value. NaN in
/// the top where nothing is drawn.
fn bands(cols: &[Vec<f64>], style: Style) -> Vec<(Vec<f64>, Vec<f64>)> {
    let w = cols.first().map_or(0, Vec::len);
    let mut base = vec![0.0f64; w];
    cols.iter()
        .map(|c| match style {
            Style::Line | Style::Area => (vec![0.0; w], c.clone()),
            Style::Stack => {
                let bottom = base.clone();
                let top: Vec<f64> = c
                    .iter()
                    .zip(&base)
                    .map(|(&v, &b)| if v.is_nan() { f64::NAN } else { b + v })
                    .collect();
                for (b, &t) in base.iter_mut().zip(&top) {
                    // A sum that overflows draws nothing from there up.
                    if t.is_finite() {
                        *b = t;
                    }
                }
                let top = top
                    .into_iter()
                    .map(|t| if t.is_finite() { t } else { f64::NAN })
                    .collect();
                (bottom, top)
            }
        })
        .collect()
}

/// A line through the known columns' tops, broken where unknown: each
/// run of known columns is one subpath from the run's left edge through
/// the middles of its columns to its right edge, so that it covers
/// exactly the run's columns. Points inside flat stretches are left out.
fn line_path(top: &[f64], x0: f64, ymap: &dyn Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut c = 0;
    while c < top.len() {
        if top[c].is_nan() {
            c += 1;
            continue;
        }
        let a = c;
        while c < top.len() && !top[c].is_nan() {
            c += 1;
        }
        let ys: Vec<f64> = top[a..c].iter().map(|&v| ymap(v)).collect();
        let _ = write!(d, "M{} {}", num(x0 + a as f64), num(ys[0]));
        for (k, &y) in ys.iter().enumerate() {
            let flat = k > 0 && k + 1 < ys.len() && ys[k - 1] == y && ys[k + 1] == y;
            if !flat {
                let _ = write!(d, "L{} {}", num(x0 + (a + k) as f64 + 0.5), num(y));
            }
        }
        let _ = write!(d, "L{} {}", num(x0 + c as f64), num(ys[ys.len() - 1]));
    }
    d
}

/// Areas between bottoms and tops over each run of known columns, one
/// closed subpath per run.
fn area_path(bottom: &[f64], top: &[f64], x0: f64, ymap: &dyn Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut c = 0;
    while c < top.len() {
        if top[c].is_nan() {
            c += 1;
            continue;
        }
        let a = c;
        while c < top.len() && !top[c].is_nan() {
            c += 1;
        }
        // Top edge left to right, bottom edge back, as stairs.
        let _ = write!(d, "M{} {}", num(x0 + a as f64), num(ymap(top[a])));
        for (k, &t) in top.iter().enumerate().take(c).skip(a) {
            let _ = write!(d, "V{}H{}", num(ymap(t)), num(x0 + k as f64 + 1.0));
        }
        for k in (a..c).rev() {
            let _ = write!(d, "V{}H{}", num(ymap(bottom[k])), num(x0 + k as f64));
        }
        d.push('Z');
    }
    d
}

// ---------------------------------------------------------------------
// The value axis.

/// The value range drawn, its gridlines and labels.
#[derive(Debug, Clone, PartialEq)]
struct ValueAxis {
    lo: f64,
    hi: f64,
    /// Values with a major gridline and a label.
    labels: Vec<(f64, String)>,
    /// Values with a minor gridline.
    minor: Vec<f64>,
}

/// Largest magnitude the axis scales to; beyond, values are drawn at the
/// edge, so that spans and steps stay finite.
const AXIS_MAX: f64 = 1e250;

fn value_axis(bands: &[(Vec<f64>, Vec<f64>)], opts: &Options, h: usize) -> ValueAxis {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (bottom, top) in bands {
        for (&b, &t) in bottom.iter().zip(top) {
            if t.is_nan() {
                continue;
            }
            let (a, z) = match opts.style {
                Style::Line => (t, t),
                Style::Area | Style::Stack => (b.min(t), b.max(t)),
            };
            lo = lo.min(a);
            hi = hi.max(z);
        }
    }
    if opts.style != Style::Line {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if lo > hi {
        // Nothing known: 0 to 1, unless a limit says otherwise.
        (lo, hi) = (0.0, 1.0);
    } else if opts.style == Style::Line {
        // A line at the very end of the range would run along the frame,
        // half hidden: leave it a little room, without crossing 0.
        let pad = (hi / 2.0 - lo / 2.0) * 0.1;
        lo = if lo >= 0.0 {
            (lo - pad).max(0.0)
        } else {
            lo - pad
        };
        hi = if hi <= 0.0 {
            (hi + pad).min(0.0)
        } else {
            hi + pad
        };
    }
    let (lo_data, hi_data) = (lo.clamp(-AXIS_MAX, AXIS_MAX), hi.clamp(-AXIS_MAX, AXIS_MAX));
    axis_for(lo_data, hi_data, opts.lower, opts.upper, h)
}

/// The axis over data in `[lo, hi]`, with fixed ends where given.
fn axis_for(lo: f64, hi: f64, lower: Option<f64>, upper: Option<f64>, h: usize) -> ValueAxis {
    let mut lo = lower.unwrap_or(lo).clamp(-AXIS_MAX, AXIS_MAX);
    let mut hi = upper.unwrap_or(hi).clamp(-AXIS_MAX, AXIS_MAX);
    match (lower, upper) {
        (Some(_), None) if hi <= lo => hi = lo + lo.abs().max(1.0),
        (None, Some(_)) if lo >= hi => lo = hi - hi.abs().max(1.0),
        _ => {}
    }
    // A span too small for the magnitude (constant data) is widened, so
    // that steps and labels stay meaningful.
    let mid = lo / 2.0 + hi / 2.0;
    let min_span = (mid.abs() * 1e-9).max(1e-250);
    if hi - lo < min_span {
        let half = if mid == 0.0 {
            1.0
        } else {
            (mid.abs() / 2.0).max(min_span)
        };
        if lower.is_none() {
            lo = mid - half;
        }
        if upper.is_none() {
            hi = mid + half;
        }
        if lower.is_none() && upper.is_none() && mid > 0.0 && lo < 0.0 {
            lo = 0.0;
        }
    }
    let span = hi - lo;
    // About one gridline per 32 px.
    let target = (h / 32).max(1) as f64;
    let step = nice_step(span / target);
    // Quotients a rounding off a whole number count as whole: 1.9e6 / 1e5
    // is 19.000000000000004.
    const SLACK: f64 = 1e-9;
    if lower.is_none() {
        lo = ((lo / step) + SLACK).floor() * step;
    }
    if upper.is_none() {
        hi = ((hi / step) - SLACK).ceil() * step;
    }
    let k0 = ((lo / step) - SLACK).ceil() as i64;
    let k1 = ((hi / step) + SLACK).floor() as i64;
    let ph = h as f64;
    let px_per_step = ph * step / (hi - lo);
    // Labels at least 14 px apart; at most a few hundred of them.
    let stride = ((14.0 / px_per_step).ceil() as i64).max(1);
    let mut labels = Vec::new();
    let mut majors = Vec::new();
    for k in k0..=k1.min(k0 + 1000) {
        let v = k as f64 * step;
        majors.push(v);
        if k.rem_euclid(stride) == 0 {
            labels.push((v, axis_label(v, step * stride as f64)));
        }
    }
    let mantissa = step / 10f64.powi(step.log10().floor() as i32);
    let per = if (mantissa - 2.0).abs() < 0.5 {
        4.0
    } else {
        5.0
    };
    let minor_step = step / per;
    let mut minor = Vec::new();
    if ph * minor_step / (hi - lo) >= 5.0 {
        let m0 = (lo / minor_step).ceil() as i64;
        let m1 = (hi / minor_step).floor() as i64;
        for m in m0..=m1.min(m0 + 5000) {
            if m.rem_euclid(per as i64) != 0 {
                minor.push(m as f64 * minor_step);
            }
        }
    }
    // Major lines without a label are drawn as minor ones.
    for v in majors {
        if !labels.iter().any(|(l, _)| *l == v) {
            minor.push(v);
        }
    }
    ValueAxis {
        lo,
        hi,
        labels,
        minor,
    }
}

/// The least of 1, 2 and 5 times a power of ten at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    let e = raw.log10().floor();
    let p = 10f64.powi(e as i32);
    let f = raw / p;
    let m = if f <= 1.0 + 1e-9 {
        1.0
    } else if f <= 2.0 + 1e-9 {
        2.0
    } else if f <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    m * p
}

/// SI prefixes from 10^-24 (index 0) to 10^24 (index 16).
const SI: [&str; 17] = [
    "y", "z", "a", "f", "p", "n", "µ", "m", "", "k", "M", "G", "T", "P", "E", "Z", "Y",
];

/// The power of 1000 (-8..=8) of `v`'s SI prefix; `None` beyond the table.
fn si_index(v: f64) -> Option<i32> {
    let a = v.abs();
    if a == 0.0 || !a.is_finite() {
        return Some(0);
    }
    let e = (a.log10() / 3.0).floor() as i32;
    (-8..=8).contains(&e).then_some(e)
}

/// An axis label: `v` with its own SI prefix (`800 k`, `1.0 M`, as rrdtool
/// labels), and as many decimals as the label spacing `step` needs in
/// that prefix.
fn axis_label(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    match si_index(v) {
        Some(m) => {
            let scale = 1000f64.powi(m);
            let dec = (-((step / scale).log10() + 1e-9).floor()).clamp(0.0, 12.0) as usize;
            let p = SI[(m + 8) as usize];
            let s = format!("{:.*}", dec, v / scale);
            if p.is_empty() {
                s
            } else {
                format!("{s} {p}")
            }
        }
        None => format!("{v:.1e}"),
    }
}

/// `v` as rrdtool's `GPRINT` with `%6.2lf %s`: the value scaled to its own
/// SI prefix, six wide with two decimals, a space and the prefix (a space
/// for none); `nan` when unknown.
pub fn si_fig(v: f64) -> String {
    let (n, p) = si_parts(v);
    if n.contains('e') && p.is_empty() && v.is_finite() {
        return format!("{n:>8}");
    }
    format!("{n:>6} {}", if p.is_empty() { " " } else { p })
}

/// The number (two decimals) and the SI prefix ("" for none) of `v`, as
/// [`si_fig`] prints them; e-notation and no prefix beyond the prefixes.
fn si_parts(v: f64) -> (String, &'static str) {
    if !v.is_finite() {
        let s = if v.is_nan() {
            "nan"
        } else if v > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        return (s.to_string(), "");
    }
    match si_index(v) {
        Some(mut m) => {
            let mut x = v / 1000f64.powi(m);
            // 999.996 prints as 1.00 k, not 1000.00.
            if (x.abs() * 100.0).round() >= 100_000.0 && m < 8 {
                m += 1;
                x = v / 1000f64.powi(m);
            }
            (format!("{x:.2}"), SI[(m + 8) as usize])
        }
        None => (format!("{v:.2e}"), ""),
    }
}

// ---------------------------------------------------------------------
// The time axis.

/// Units the time axis counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Sec,
    Min,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Unit {
    /// Nominal seconds, to estimate counts and spacing.
    fn secs(self) -> f64 {
        match self {
            Unit::Sec => 1.0,
            Unit::Min => 60.0,
            Unit::Hour => 3600.0,
            Unit::Day => 86_400.0,
            Unit::Week => 604_800.0,
            Unit::Month => 2_629_746.0,
            Unit::Year => 31_556_952.0,
        }
    }
}

/// How a time label reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fmt {
    /// `14:05:30`
    Hms,
    /// `14:05`, or `Mon 14:05` over more than a day.
    Hm,
    /// `Mon 02`
    DayDate,
    /// `Mar 04`
    MonDate,
    /// `Mar`, or `Mar 2024` over more than a year.
    Mon,
    /// `Mar 2024`
    MonYear,
    /// `2024`
    Yyyy,
}

/// One row of the table of time grids: labels every `n` `unit`s, minor
/// gridlines every `minor`, labels centred on their interval or on the
/// tick.
#[derive(Debug, Clone, Copy)]
struct Spec {
    unit: Unit,
    n: i64,
    minor: Option<(Unit, i64)>,
    fmt: Fmt,
    centred: bool,
}

const fn spec(unit: Unit, n: i64, minor: Option<(Unit, i64)>, fmt: Fmt, centred: bool) -> Spec {
    Spec {
        unit,
        n,
        minor,
        fmt,
        centred,
    }
}

/// From fine to coarse; [`time_axis`] takes the first whose labels fit.
const SPECS: &[Spec] = {
    use Fmt::*;
    use Unit::*;
    &[
        spec(Sec, 1, None, Hms, false),
        spec(Sec, 2, Some((Sec, 1)), Hms, false),
        spec(Sec, 5, Some((Sec, 1)), Hms, false),
        spec(Sec, 10, Some((Sec, 2)), Hms, false),
        spec(Sec, 15, Some((Sec, 5)), Hms, false),
        spec(Sec, 30, Some((Sec, 10)), Hms, false),
        spec(Min, 1, Some((Sec, 10)), Hm, false),
        spec(Min, 2, Some((Sec, 30)), Hm, false),
        spec(Min, 5, Some((Min, 1)), Hm, false),
        spec(Min, 10, Some((Min, 2)), Hm, false),
        spec(Min, 15, Some((Min, 5)), Hm, false),
        spec(Min, 30, Some((Min, 10)), Hm, false),
        spec(Hour, 1, Some((Min, 10)), Hm, false),
        spec(Hour, 2, Some((Min, 30)), Hm, false),
        spec(Hour, 3, Some((Hour, 1)), Hm, false),
        spec(Hour, 4, Some((Hour, 1)), Hm, false),
        spec(Hour, 6, Some((Hour, 1)), Hm, false),
        spec(Hour, 12, Some((Hour, 3)), Hm, false),
        spec(Day, 1, Some((Hour, 6)), DayDate, true),
        spec(Day, 2, Some((Day, 1)), MonDate, false),
        spec(Week, 1, Some((Day, 1)), MonDate, false),
        spec(Week, 2, Some((Day, 1)), MonDate, false),
        spec(Month, 1, None, Mon, true),
        spec(Month, 2, Some((Month, 1)), Mon, false),
        spec(Month, 3, Some((Month, 1)), MonYear, false),
        spec(Month, 6, Some((Month, 1)), MonYear, false),
        spec(Year, 1, Some((Month, 3)), Yyyy, true),
        spec(Year, 2, Some((Year, 1)), Yyyy, false),
        spec(Year, 5, Some((Year, 1)), Yyyy, false),
        spec(Year, 10, Some((Year, 2)), Yyyy, false),
        spec(Year, 20, Some((Year, 5)), Yyyy, false),
        spec(Year, 50, Some((Year, 10)), Yyyy, false),
        spec(Year, 100, Some((Year, 20)), Yyyy, false),
        spec(Year, 200, Some((Year, 50)), Yyyy, false),
        spec(Year, 500, Some((Year, 100)), Yyyy, false),
        spec(Year, 1000, Some((Year, 200)), Yyyy, false),
        spec(Year, 2000, Some((Year, 500)), Yyyy, false),
        spec(Year, 5000, Some((Year, 1000)), Yyyy, false),
        spec(Year, 10_000, Some((Year, 2000)), Yyyy, false),
        spec(Year, 20_000, Some((Year, 5000)), Yyyy, false),
        spec(Year, 50_000, Some((Year, 10_000)), Yyyy, false),
        spec(Year, 100_000, Some((Year, 20_000)), Yyyy, false),
    ]
};

/// Pixels between a label and the next beyond their half widths: more
/// for labels on ticks, which read as a scale and need air, than for
/// centred ones, which name their interval.
const GAP_TICK: f64 = 48.0;
const GAP_CENTRED: f64 = 12.0;
/// Least pixels between minor gridlines.
const MINOR_PX: f64 = 5.0;

/// The time axis: labels (time, text), major and minor gridlines.
#[derive(Debug, Clone, PartialEq, Default)]
struct TimeAxis {
    labels: Vec<(i64, String)>,
    major: Vec<i64>,
    minor: Vec<i64>,
}

fn time_axis(opts: &Options, x0: f64, total_w: f64, off: &dyn Fn(i64) -> i64) -> TimeAxis {
    let span = (opts.stop as f64) - (opts.start as f64);
    let pw = f64::from(opts.width);
    let px_per_sec = pw / span;
    for s in SPECS {
        let step_px = s.unit.secs() * s.n as f64 * px_per_sec;
        // A grid this fine cannot fit: skip before counting its ticks.
        if step_px < 8.0 {
            continue;
        }
        let tk = ticks(
            opts.start,
            opts.stop,
            s.unit,
            s.n,
            off,
            opts.width as usize + 8,
        );
        let mut labels = Vec::new();
        for (k, &(t, wall)) in tk.iter().enumerate() {
            let (at, wall_at) = if s.centred {
                // The middle of [t, next tick); the next may lie past stop.
                let next = tk.get(k + 1).map(|&(n, _)| n).unwrap_or_else(|| {
                    let nw = next_wall(wall, s.unit, s.n);
                    to_utc(nw, off)
                });
                (t / 2 + next / 2 + (t % 2 + next % 2) / 2, wall)
            } else {
                (t, wall)
            };
            if at < opts.start || at > opts.stop {
                continue;
            }
            let text = fmt_time(wall_at, s.fmt, span);
            let x = x0 + tx(at, opts.start, span, pw);
            let half = text_w(&text) / 2.0;
            if x - half < 0.0 || x + half > total_w {
                continue;
            }
            labels.push((at, text));
        }
        let gap = if s.centred { GAP_CENTRED } else { GAP_TICK };
        let fits = labels.windows(2).all(|p| {
            let dx = tx(p[1].0, opts.start, span, pw) - tx(p[0].0, opts.start, span, pw);
            dx >= (text_w(&p[0].1) + text_w(&p[1].1)) / 2.0 + gap
        });
        if !fits {
            continue;
        }
        let major: Vec<i64> = tk
            .iter()
            .map(|&(t, _)| t)
            .filter(|&t| t > opts.start && t < opts.stop)
            .collect();
        let minor = match s.minor {
            Some((u, n)) if u.secs() * n as f64 * px_per_sec >= MINOR_PX => {
                ticks(opts.start, opts.stop, u, n, off, opts.width as usize + 8)
                    .into_iter()
                    .map(|(t, _)| t)
                    .filter(|t| {
                        *t > opts.start && *t < opts.stop && major.binary_search(t).is_err()
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        return TimeAxis {
            labels,
            major,
            minor,
        };
    }
    TimeAxis::default()
}

/// Offsets beyond a day are not offsets of any time zone; bounding them
/// keeps the arithmetic in range whatever the caller gives.
fn offset(off: &dyn Fn(i64) -> i64, t: i64) -> i64 {
    off(t).clamp(-86_400, 86_400)
}

/// The boundaries of every `n` `unit`s of local time, from the last at or
/// before `start` through `stop`, as (Unix time, local wall-clock time);
/// at most `max` of them.
fn ticks(
    start: i64,
    stop: i64,
    unit: Unit,
    n: i64,
    off: &dyn Fn(i64) -> i64,
    max: usize,
) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    let mut wall = floor_wall(start.saturating_add(offset(off, start)), unit, n);
    while out.len() < max {
        let t = to_utc(wall, off);
        if t > stop {
            break;
        }
        // A wall-clock time skipped or repeated by a change of offset can
        // map onto or before the previous tick: keep the times increasing.
        if out.last().is_none_or(|&(p, _)| t > p) {
            out.push((t, wall));
        }
        let next = next_wall(wall, unit, n);
        if next <= wall {
            break;
        }
        wall = next;
    }
    out
}

/// The Unix time at which local wall-clock time reads `wall`: when it
/// reads so twice (the clock went back), one of them; when never (the
/// clock jumped over it), a time near the jump.
fn to_utc(wall: i64, off: &dyn Fn(i64) -> i64) -> i64 {
    let guess = wall.saturating_sub(offset(off, wall));
    let t = wall.saturating_sub(offset(off, guess));
    if t.saturating_add(offset(off, t)) == wall {
        t
    } else {
        guess.min(t)
    }
}

const DAY: i64 = 86_400;

/// The last boundary of every `n` `unit`s at or before wall-clock `wall`.
fn floor_wall(wall: i64, unit: Unit, n: i64) -> i64 {
    let days = wall.div_euclid(DAY);
    match unit {
        Unit::Sec | Unit::Min | Unit::Hour | Unit::Day => {
            let size = unit.secs() as i64 * n;
            wall.div_euclid(size) * size
        }
        Unit::Week => {
            // 1970-01-05 (day 4) was a Monday.
            (4 + (days - 4).div_euclid(7 * n) * 7 * n) * DAY
        }
        Unit::Month => {
            let (y, m, _) = civil_from_days(days);
            let idx = (y * 12 + i64::from(m) - 1).div_euclid(n) * n;
            days_from_civil(idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32, 1) * DAY
        }
        Unit::Year => {
            let (y, _, _) = civil_from_days(days);
            days_from_civil(y.div_euclid(n) * n, 1, 1) * DAY
        }
    }
}

/// The boundary after `wall`, itself a boundary.
fn next_wall(wall: i64, unit: Unit, n: i64) -> i64 {
    let days = wall.div_euclid(DAY);
    match unit {
        Unit::Sec | Unit::Min | Unit::Hour | Unit::Day | Unit::Week => {
            wall.saturating_add(unit.secs() as i64 * n)
        }
        Unit::Month => {
            let (y, m, _) = civil_from_days(days);
            let idx = y * 12 + i64::from(m) - 1 + n;
            days_from_civil(idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32, 1) * DAY
        }
        Unit::Year => {
            let (y, _, _) = civil_from_days(days);
            days_from_civil(y + n, 1, 1) * DAY
        }
    }
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Wall-clock `wall` as a label of format `fmt`, over a range of `span`
/// seconds (which decides whether hours name their day and months their
/// year). English names, as rrdtool's in the C locale.
fn fmt_time(wall: i64, fmt: Fmt, span: f64) -> String {
    let days = wall.div_euclid(DAY);
    let sod = wall.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    let wd = WEEKDAYS[(days + 4).rem_euclid(7) as usize];
    let mon = MONTHS[(m - 1) as usize];
    let (hh, mm, ss) = (sod / 3600, sod % 3600 / 60, sod % 60);
    match fmt {
        Fmt::Hms => format!("{hh:02}:{mm:02}:{ss:02}"),
        Fmt::Hm if span > DAY as f64 => format!("{wd} {hh:02}:{mm:02}"),
        Fmt::Hm => format!("{hh:02}:{mm:02}"),
        Fmt::DayDate => format!("{wd} {d:02}"),
        Fmt::MonDate => format!("{mon} {d:02}"),
        Fmt::Mon if span > 366.0 * DAY as f64 => format!("{mon} {y}"),
        Fmt::Mon => mon.to_string(),
        Fmt::MonYear => format!("{mon} {y}"),
        Fmt::Yyyy => format!("{y}"),
    }
}

/// Day count from 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------
// Sparklines.

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `values` as `width` characters of `▁▂▃▄▅▆▇█`, scaled from the least to
/// the greatest character's value; a space where nothing is known. Each
/// character shows the average of the known values of its share of
/// `values` (or, with fewer values than characters, the value it falls
/// on). Constant data gives the middle block.
pub fn sparkline(values: &[f64], width: usize) -> Result<String> {
    sparkline_of(values.len(), |i| values[i], width)
}

/// [`sparkline`] of `n` values read one by one through `value(i)`, `i` in
/// `0..n`, in order (each once, unless there are fewer values than
/// characters): a long range is never held in memory.
pub fn sparkline_of(n: usize, mut value: impl FnMut(usize) -> f64, width: usize) -> Result<String> {
    if !(1..=MAX_SPARK).contains(&width) {
        return Err(RrdError::param(format!(
            "sparkline width {width} is out of range: it is 1 to {MAX_SPARK} characters"
        )));
    }
    let buckets: Vec<f64> = (0..width)
        .map(|j| {
            if n == 0 {
                return f64::NAN;
            }
            // Shares by 128-bit arithmetic: j * n does not overflow.
            let a = (j as u128 * n as u128 / width as u128) as usize;
            let b = (((j as u128 + 1) * n as u128 / width as u128) as usize).max(a + 1);
            let (mut sum, mut k) = (0.0, 0u64);
            for i in a..b.min(n) {
                let v = value(i);
                if v.is_finite() {
                    sum += v / 2.0;
                    k += 1;
                }
            }
            if k == 0 {
                f64::NAN
            } else {
                sum / k as f64 * 2.0
            }
        })
        .collect();
    let known = buckets.iter().copied().filter(|v| !v.is_nan());
    let lo = known.clone().fold(f64::INFINITY, f64::min);
    let hi = known.fold(f64::NEG_INFINITY, f64::max);
    Ok(buckets
        .iter()
        .map(|&v| {
            if v.is_nan() {
                ' '
            } else if hi <= lo {
                BLOCKS[3]
            } else {
                // Halves keep hi - lo finite for values near f64::MAX.
                let f = (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0);
                BLOCKS[((f * 7.0).round() as usize).min(7)]
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000; // 2023-11-14 22:13:20 UTC, a Tuesday

    fn utc(_: i64) -> i64 {
        0
    }

    fn opts(start: i64, stop: i64) -> Options {
        Options {
            start,
            stop,
            width: 600,
            height: 200,
            title: None,
            vertical_label: None,
            style: Style::Line,
            lower: None,
            upper: None,
            cf_label: "AVERAGE".into(),
        }
    }

    fn line(name: &str, step: i64, first: i64, values: Vec<f64>) -> Line {
        Line {
            name: name.into(),
            step,
            first,
            values,
            color: None,
        }
    }

    fn labels(o: &Options, off: &dyn Fn(i64) -> i64) -> Vec<String> {
        time_axis(o, 60.0, 60.0 + f64::from(o.width) + 20.0, off)
            .labels
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    }

    /// Unix seconds of a UTC date and time.
    fn at(y: i64, m: u32, d: u32, hh: i64, mm: i64) -> i64 {
        days_from_civil(y, m, d) * DAY + hh * 3600 + mm * 60
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 59, 60, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(19_675), (2023, 11, 14));
        assert_eq!(WEEKDAYS[(19_675i64 + 4).rem_euclid(7) as usize], "Tue");
    }

    #[test]
    fn ticks_for_an_hour_every_ten_minutes() {
        let start = at(2024, 3, 5, 10, 0);
        let l = labels(&opts(start, start + 3600), &utc);
        assert_eq!(
            l,
            ["10:00", "10:10", "10:20", "10:30", "10:40", "10:50", "11:00"]
        );
    }

    #[test]
    fn ticks_for_a_day_every_four_hours() {
        let start = at(2024, 3, 5, 0, 0);
        let l = labels(&opts(start, start + DAY), &utc);
        assert_eq!(
            l,
            ["00:00", "04:00", "08:00", "12:00", "16:00", "20:00", "00:00"]
        );
    }

    #[test]
    fn ticks_for_a_week_by_day() {
        // Monday 2024-03-04 to the next Monday: labels in the middle of days.
        let start = at(2024, 3, 4, 0, 0);
        let l = labels(&opts(start, start + 7 * DAY), &utc);
        assert_eq!(
            l,
            ["Mon 04", "Tue 05", "Wed 06", "Thu 07", "Fri 08", "Sat 09", "Sun 10"]
        );
    }

    #[test]
    fn ticks_for_a_month_by_week_and_a_year_by_month() {
        let start = at(2024, 3, 1, 0, 0);
        let l = labels(&opts(start, at(2024, 4, 1, 0, 0)), &utc);
        assert_eq!(l, ["Mar 04", "Mar 11", "Mar 18", "Mar 25", "Apr 01"]);
        let l = labels(&opts(at(2024, 1, 1, 0, 0), at(2025, 1, 1, 0, 0)), &utc);
        assert_eq!(
            l,
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        );
        let l = labels(&opts(at(2000, 1, 1, 0, 0), at(2024, 1, 1, 0, 0)), &utc);
        assert!(l.contains(&"2010".to_string()), "{l:?}");
    }

    #[test]
    fn narrow_graphs_get_coarser_labels_that_do_not_overlap() {
        let start = at(2024, 3, 5, 0, 0);
        for width in [16, 40, 100, 200, 300, 600, 1000, 4096] {
            for span in [10, 60, 3600, DAY, 7 * DAY, 31 * DAY, 366 * DAY, 3650 * DAY] {
                let mut o = opts(start, start + span);
                o.width = width;
                let ax = time_axis(&o, 60.0, 60.0 + f64::from(width) + 20.0, &utc);
                let pos: Vec<(f64, f64)> = ax
                    .labels
                    .iter()
                    .map(|(t, s)| {
                        (
                            60.0 + tx(*t, start, span as f64, f64::from(width)),
                            text_w(s),
                        )
                    })
                    .collect();
                for p in pos.windows(2) {
                    assert!(
                        p[1].0 - p[0].0 >= (p[0].1 + p[1].1) / 2.0,
                        "width {width} span {span}: {:?}",
                        ax.labels
                    );
                }
                assert!(ax.minor.len() <= width as usize);
            }
        }
        let mut o = opts(start, start + DAY);
        o.width = 200;
        assert_eq!(labels(&o, &utc), ["00:00", "12:00", "00:00"]);
    }

    #[test]
    fn random_axes_have_increasing_ticks_and_labels_apart() {
        // Ranges from a second to 68 years, widths 16..=4096, zones with
        // whole, half and three-quarter hour offsets that change twice a year.
        let mut rng = crate::testrng::XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..400 {
            let start = rng.below(4_000_000_000) as i64 - 1_000_000_000;
            let bits = 1 + rng.below(31);
            let span = 1 + rng.below(1u64 << bits) as i64;
            let width = MIN_PX + rng.below(u64::from(MAX_PX - MIN_PX + 1)) as u32;
            let base = [0, 19_800, 20_700, -34_200, 3600][rng.below(5) as usize];
            let zone = move |t: i64| {
                base + if t.rem_euclid(31_556_952) < 15_000_000 {
                    0
                } else {
                    3600
                }
            };
            let o = Options {
                width,
                ..opts(start, start + span)
            };
            let ax = time_axis(&o, 60.0, 60.0 + f64::from(width) + 20.0, &zone);
            let pw = f64::from(width);
            for p in ax.labels.windows(2) {
                let (xa, xb) = (
                    tx(p[0].0, start, span as f64, pw),
                    tx(p[1].0, start, span as f64, pw),
                );
                assert!(
                    xb - xa >= (text_w(&p[0].1) + text_w(&p[1].1)) / 2.0,
                    "{start} +{span} at {width}: {:?}",
                    ax.labels
                );
            }
            for ts in [&ax.major, &ax.minor] {
                assert!(ts.windows(2).all(|p| p[0] < p[1]));
                assert!(ts.len() <= width as usize + 8);
            }
            assert!(ax
                .labels
                .iter()
                .all(|(t, _)| (start..=start + span).contains(t)));
        }
    }

    #[test]
    fn ticks_follow_local_time_across_a_dst_change() {
        // Central Europe: +1h, then +2h from 2024-03-31 01:00 UTC.
        let change = at(2024, 3, 31, 1, 0);
        let cet = move |t: i64| if t < change { 3600 } else { 7200 };
        let start = at(2024, 3, 30, 23, 0); // local midnight
        let ax = time_axis(&opts(start, start + 23 * 3600), 60.0, 700.0, &cet);
        let times: Vec<i64> = ax.labels.iter().map(|(t, _)| *t).collect();
        let texts: Vec<&str> = ax.labels.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(texts, ["00:00", "06:00", "12:00", "18:00", "00:00"]);
        // Local 06:00 comes five hours after local midnight that day.
        assert_eq!(times[1] - times[0], 5 * 3600);
        assert_eq!(times[2] - times[1], 6 * 3600);
        assert_eq!(times[1], at(2024, 3, 31, 4, 0));
        // And back in the autumn: 2024-10-27 01:00 UTC, a 25-hour day.
        let back = at(2024, 10, 27, 1, 0);
        let cest = move |t: i64| if t < back { 7200 } else { 3600 };
        let start = at(2024, 10, 26, 22, 0);
        let ax = time_axis(&opts(start, start + 25 * 3600), 60.0, 700.0, &cest);
        let times: Vec<i64> = ax.labels.iter().map(|(t, _)| *t).collect();
        assert_eq!(times[1] - times[0], 7 * 3600);
        assert_eq!(times[1], at(2024, 10, 27, 5, 0));
        assert_eq!(times.last(), Some(&(start + 25 * 3600)));
    }

    #[test]
    fn offsets_that_are_no_time_zone_do_not_break_the_axis() {
        let wild = |t: i64| if t % 2 == 0 { i64::MAX } else { i64::MIN };
        let o = opts(T0, T0 + DAY);
        assert!(render(&[], &o, &wild).is_ok());
        let o = opts(-MAX_TIME, MAX_TIME);
        let svg = render(&[line("a", 60, 0, vec![1.0])], &o, &utc).unwrap();
        assert!(svg.ends_with("</svg>\n"));
        let svg = render(&[line("a", i64::MAX, i64::MIN, vec![1.0; 3])], &o, &wild).unwrap();
        assert!(svg.ends_with("</svg>\n"));
        for (a, b) in [(i64::MIN, 0), (0, i64::MAX), (-MAX_TIME - 1, 0)] {
            let e = render(&[], &opts(a, b), &utc).unwrap_err();
            assert!(matches!(e, RrdError::TimeRange { .. }), "{e}");
        }
    }

    #[test]
    fn si_figures_as_gprint() {
        assert_eq!(si_fig(1234.0), "  1.23 k");
        assert_eq!(si_fig(1.5), "  1.50  ");
        assert_eq!(si_fig(0.0), "  0.00  ");
        assert_eq!(si_fig(-0.0025), " -2.50 m");
        assert_eq!(si_fig(3.2e-6), "  3.20 µ");
        assert_eq!(si_fig(4e-9), "  4.00 n");
        assert_eq!(si_fig(2.5e9), "  2.50 G");
        assert_eq!(si_fig(7e15), "  7.00 P");
        assert_eq!(si_fig(999.996), "  1.00 k");
        assert_eq!(si_fig(f64::NAN), "   nan  ");
        assert_eq!(si_fig(1e300), "1.00e300");
    }

    #[test]
    fn value_axis_nice_ticks_and_prefixes() {
        let ax = axis_for(0.0, 1000.0, None, None, 200);
        let l: Vec<&str> = ax.labels.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(l, ["0", "200", "400", "600", "800", "1.0 k"]);
        let ax = axis_for(0.0, 4500.0, None, None, 200);
        let l: Vec<&str> = ax.labels.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(l, ["0", "1 k", "2 k", "3 k", "4 k", "5 k"]);
        let ax = axis_for(0.0, 0.35, None, None, 200);
        let l: Vec<&str> = ax.labels.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(l, ["0", "100 m", "200 m", "300 m", "400 m"]);
        let ax = axis_for(1.2e6, 1.9e6, None, None, 200);
        assert_eq!(ax.labels[0].1, "1.2 M");
        assert_eq!((ax.lo, ax.hi), (1.2e6, 2.0e6));
        assert_eq!(ax.labels[4].1, "2.0 M");
        // Rigid limits are kept as given.
        let ax = axis_for(0.0, 77.0, Some(-3.0), Some(13.0), 200);
        assert_eq!((ax.lo, ax.hi), (-3.0, 13.0));
        assert!(ax.labels.iter().all(|(v, _)| (-3.0..=13.0).contains(v)));
        // A short plot labels fewer lines.
        let ax = axis_for(0.0, 1000.0, None, None, 16);
        assert!(ax.labels.len() <= 2, "{:?}", ax.labels);
    }

    #[test]
    fn constant_and_unknown_data_give_a_valid_axis() {
        for (lo, hi) in [
            (5.0, 5.0),
            (0.0, 0.0),
            (-7.0, -7.0),
            (1e-300, 1e-300),
            (1e20, 1e20),
        ] {
            let ax = axis_for(lo, hi, None, None, 200);
            assert!(ax.lo < ax.hi && ax.lo <= lo && ax.hi >= hi, "{lo}: {ax:?}");
            assert!(!ax.labels.is_empty());
        }
        let ax = axis_for(f64::MAX, f64::MAX, None, None, 200);
        assert!(ax.lo < ax.hi && ax.hi.is_finite());
        let nan = line("x", 60, T0, vec![f64::NAN; 10]);
        let svg = render(&[nan], &opts(T0, T0 + 600), &utc).unwrap();
        assert!(svg.contains("data-lower=\"0\" data-upper=\"1\""), "{svg}");
        assert!(svg.contains("   nan  "));
        // A lower limit above all data still gives an axis above it.
        let ax = axis_for(0.0, 1.0, Some(10.0), None, 200);
        assert!(ax.lo == 10.0 && ax.hi > 10.0);
    }

    #[test]
    fn escapes_text() {
        assert_eq!(esc("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&apos;");
        assert_eq!(esc("x\u{1}y\u{FFFF}"), "x\u{FFFD}y\u{FFFD}");
        let mut o = opts(T0, T0 + 600);
        o.title = Some("<script>&".into());
        let l = line("a\"<b>", 60, T0, vec![1.0]);
        let svg = render(&[l], &o, &utc).unwrap();
        assert!(!svg.contains("<script>") && !svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;&amp;"));
        assert!(svg.contains("a&quot;&lt;b&gt;"));
    }

    #[test]
    fn refuses_bad_input() {
        let o = opts(T0, T0 + 600);
        let err = |r: Result<String>| match r {
            Err(e) => e,
            Ok(_) => panic!("accepted"),
        };
        for (w, h) in [(0, 200), (100_000, 200), (600, 0), (600, 4097), (15, 200)] {
            let mut o = o.clone();
            o.width = w;
            o.height = h;
            assert!(matches!(
                err(render(&[], &o, &utc)),
                RrdError::BadParameter { .. }
            ));
        }
        let e = err(render(&[], &opts(T0, T0), &utc));
        assert!(e.to_string().contains("empty graph range"), "{e}");
        let many = vec![line("a", 60, T0, vec![]); 10_000];
        let e = err(render(&many, &o, &utc));
        assert!(matches!(e, RrdError::Limit { .. }));
        assert!(
            e.to_string()
                .contains("at most 256 series, asked for 10000"),
            "{e}"
        );
        for c in ["red", "#12", "#1234", "#ggg", "#12345g", "", "#"] {
            let mut l = line("a", 60, T0, vec![1.0]);
            l.color = Some(c.into());
            let e = err(render(&[l], &o, &utc));
            assert!(e.to_string().contains(&format!("\"{c}\"")), "{e}");
        }
        assert_eq!(check_color("#aBc"), Ok("#aBc"));
        assert_eq!(check_color("#0a0B0c"), Ok("#0a0B0c"));
        assert!(render(&[line("a", 0, T0, vec![1.0])], &o, &utc).is_err());
        let mut o2 = o.clone();
        (o2.lower, o2.upper) = (Some(5.0), Some(5.0));
        assert!(render(&[], &o2, &utc).is_err());
        o2.lower = Some(f64::NAN);
        assert!(render(&[], &o2, &utc).is_err());
        assert_eq!("Stack".parse::<Style>(), Ok(Style::Stack));
        assert_eq!("LINE".parse::<Style>(), Ok(Style::Line));
        let e = "bars".parse::<Style>().unwrap_err();
        assert!(e.to_string().contains("\"bars\""), "{e}");
    }

    #[test]
    fn columns_sample_rows_by_their_end() {
        // Rows of 60 s ending at T0+60, T0+120, ...; 10 columns of 60 s.
        let l = line("a", 60, T0 + 60, (1..=10).map(f64::from).collect());
        let c = columns(&l, T0, 600.0, 10);
        assert_eq!(c, (1..=10).map(f64::from).collect::<Vec<_>>());
        // Rows finer than columns are averaged.
        let l = line(
            "a",
            30,
            T0 + 30,
            vec![1.0, 3.0, f64::NAN, 8.0, f64::NAN, f64::NAN],
        );
        let c = columns(&l, T0, 180.0, 3);
        assert_eq!(c[0], 2.0);
        assert_eq!(c[1], 8.0);
        assert!(c[2].is_nan());
        // Coarser rows repeat.
        let l = line("a", 120, T0 + 120, vec![5.0, 6.0]);
        assert_eq!(columns(&l, T0, 240.0, 4), [5.0, 5.0, 6.0, 6.0]);
    }

    #[test]
    fn stacks_sum_the_known_series_below() {
        let cols = vec![
            vec![1.0, 1.0, f64::NAN],
            vec![2.0, f64::NAN, 2.0],
            vec![4.0, 4.0, 4.0],
        ];
        let b = bands(&cols, Style::Stack);
        assert_eq!(b[0].1[..2], [1.0, 1.0]);
        assert_eq!(b[1].0, [1.0, 1.0, 0.0]);
        assert_eq!(b[1].1[0], 3.0);
        assert!(b[1].1[1].is_nan());
        assert_eq!(b[2].0, [3.0, 1.0, 2.0]);
        assert_eq!(b[2].1, [7.0, 5.0, 6.0]);
        let ax = value_axis(
            &b,
            &Options {
                style: Style::Stack,
                ..opts(0, 1)
            },
            200,
        );
        assert!(ax.lo == 0.0 && ax.hi >= 7.0);
    }

    #[test]
    fn unknown_values_break_the_line() {
        let mut v = vec![1.0; 30];
        for x in &mut v[10..20] {
            *x = f64::NAN;
        }
        let l = line("a", 60, T0 + 60, v);
        let o = opts(T0, T0 + 1800);
        let svg = render(std::slice::from_ref(&l), &o, &utc).unwrap();
        let d = path_of(&svg);
        assert_eq!(d.matches('M').count(), 2, "{d}");
        // Columns 0..200 and 400..600 of the 600 drawn, nothing between.
        let x0: f64 = attr(&svg, "data-x0");
        assert!(d.starts_with(&format!("M{} ", num(x0))), "{d}");
        assert!(d.contains(&format!("L{} ", num(x0 + 200.0))), "{d}");
        assert!(!d.contains(&format!("L{} ", num(x0 + 201.0))), "{d}");
        assert!(d.contains(&format!("M{} ", num(x0 + 400.0))), "{d}");
        assert!(
            d.ends_with(&format!(
                "L{} {}",
                num(x0 + 600.0),
                num(attr(&svg, "data-y0") + 100.0)
            )),
            "{d}"
        );
        let mut o = o;
        o.style = Style::Area;
        let d = path_of(&render(&[l], &o, &utc).unwrap());
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('Z').count(), 2, "{d}");
    }

    fn path_of(svg: &str) -> String {
        let p = svg.find("<path class=\"series\"").unwrap();
        let d = svg[p..].find(" d=\"").unwrap() + p + 4;
        let e = svg[d..].find('"').unwrap() + d;
        svg[d..e].to_string()
    }

    fn attr(svg: &str, name: &str) -> f64 {
        let p = svg.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let e = svg[p..].find('"').unwrap() + p;
        svg[p..e].parse().unwrap()
    }

    /// The value of the first `name="..."` in `svg`.
    fn text_attr<'a>(svg: &'a str, name: &str) -> &'a str {
        let p = svg.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        &svg[p..svg[p..].find('"').unwrap() + p]
    }

    #[test]
    fn graphs_of_other_sizes_clip_by_ids_of_their_own() {
        let l = line("a", 60, T0 + 60, vec![1.0; 30]);
        let mut o = opts(T0, T0 + 1800);
        let a = render(std::slice::from_ref(&l), &o, &utc).unwrap();
        o.width = 300;
        o.height = 100;
        let b = render(std::slice::from_ref(&l), &o, &utc).unwrap();
        for svg in [&a, &b] {
            let id = text_attr(svg, "<clipPath id");
            assert_eq!(
                text_attr(svg, "clip-path"),
                format!("url(#{id})"),
                "the series refer to this graph's clip"
            );
            assert_eq!(svg.matches(&format!("id=\"{id}\"")).count(), 1);
        }
        assert_ne!(
            text_attr(&a, "<clipPath id"),
            text_attr(&b, "<clipPath id"),
            "one page inlining both would clip one by the other's rectangle"
        );
        // The same plot rectangle, the same id: sharing it clips each right.
        o.width = 600;
        o.height = 200;
        let c = render(&[l], &o, &utc).unwrap();
        assert_eq!(text_attr(&a, "<clipPath id"), text_attr(&c, "<clipPath id"));
    }

    #[test]
    fn svg_has_its_size_geometry_and_legend() {
        let mut o = opts(T0, T0 + 3600);
        o.title = Some("Load".into());
        o.vertical_label = Some("req/s".into());
        let mut a = line(
            "web01",
            60,
            T0 + 60,
            (0..60).map(|i| f64::from(i) * 100.0).collect(),
        );
        a.color = Some("#ff0000".into());
        let b = line("web02", 60, T0 + 60, vec![f64::NAN; 60]);
        let svg = render(&[a, b], &o, &utc).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\""));
        assert!(svg.contains("<rect id=\"background\""));
        assert_eq!(attr(&svg, "data-width"), 600.0);
        assert_eq!(attr(&svg, "data-height"), 200.0);
        assert_eq!(attr(&svg, "data-start"), T0 as f64);
        let tw = attr(&svg, "width");
        assert!(tw >= attr(&svg, "data-x0") + 600.0);
        assert!(svg.contains("stroke=\"#ff0000\""));
        assert!(svg.contains(&format!("stroke=\"{}\"", PALETTE[1])));
        // last, min, avg, max of web01; nan for web02.
        for f in ["  5.90 k", "  0.00  ", "  2.95 k"] {
            assert!(svg.contains(f), "{f}");
        }
        assert_eq!(svg.matches("   nan  ").count(), 4);
        assert!(svg.contains(">Load</text>") && svg.contains(">req/s</text>"));
        assert!(svg.contains(">AVERAGE</text>"));
        // The frame runs outside the plot area's pixels.
        let x0 = attr(&svg, "data-x0");
        assert!(svg.contains(&format!(
            "id=\"frame\" x=\"{}\" y=\"{}\" width=\"601\" height=\"201\"",
            x0 - 0.5,
            attr(&svg, "data-y0") - 0.5
        )));
    }

    #[test]
    fn lines_get_room_at_the_ends_of_an_automatic_axis() {
        let l = |v: Vec<f64>| line("a", 60, T0 + 60, v);
        let o = opts(T0, T0 + 600);
        let svg = render(&[l(vec![30.0, 80.0])], &o, &utc).unwrap();
        assert_eq!(
            (attr(&svg, "data-lower"), attr(&svg, "data-upper")),
            (20.0, 90.0)
        );
        // Not below 0 for data at 0, and an area starts at 0.
        let svg = render(&[l(vec![0.0, 100.0])], &o, &utc).unwrap();
        assert_eq!(attr(&svg, "data-lower"), 0.0);
        let svg = render(&[l(vec![-5.0, 0.0])], &o, &utc).unwrap();
        assert_eq!(attr(&svg, "data-upper"), 0.0);
        let area = Options {
            style: Style::Area,
            ..o
        };
        let svg = render(&[l(vec![30.0, 80.0])], &area, &utc).unwrap();
        assert_eq!(
            (attr(&svg, "data-lower"), attr(&svg, "data-upper")),
            (0.0, 80.0)
        );
    }

    #[test]
    fn stats_take_the_rows_within_the_range() {
        let l = line("a", 10, 100, vec![1.0, 2.0, f64::NAN, 4.0, 5.0]);
        // Rows end at 100, 110, 120, 130, 140.
        let s = stats(&l, 105, 135);
        assert_eq!((s.last, s.min, s.avg, s.max), (4.0, 2.0, 3.0, 4.0));
        let s = stats(&l, 200, 300);
        assert!(s.last.is_nan() && s.avg.is_nan());
        let s = stats(&l, i64::MIN, i64::MAX);
        assert_eq!(s.max, 5.0);
    }

    #[test]
    fn big_graphs_stay_bounded() {
        let o = Options {
            width: MAX_PX,
            height: MAX_PX,
            ..opts(T0, T0 + 10 * 365 * DAY)
        };
        let lines: Vec<Line> = (0..MAX_SERIES)
            .map(|i| line(&format!("s{i}"), 1, T0, vec![i as f64; 1000]))
            .collect();
        let svg = render(&lines, &o, &utc).unwrap();
        assert!(svg.len() < 2_000_000, "{}", svg.len());
    }

    #[test]
    fn sparklines() {
        assert_eq!(
            sparkline(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 8).unwrap(),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[0.0, f64::NAN, 10.0], 3).unwrap(), "▁ █");
        assert_eq!(sparkline(&[3.0; 5], 5).unwrap(), "▄▄▄▄▄");
        assert_eq!(sparkline(&[], 4).unwrap(), "    ");
        assert_eq!(sparkline(&[f64::NAN; 3], 3).unwrap(), "   ");
        // Bucket averages: (0+2)/2, (8+10)/2.
        assert_eq!(sparkline(&[0.0, 2.0, 8.0, 10.0], 2).unwrap(), "▁█");
        // Fewer values than characters: each value spans its share.
        assert_eq!(sparkline(&[0.0, 1.0], 4).unwrap(), "▁▁██");
        assert_eq!(sparkline(&[f64::MAX, -f64::MAX], 2).unwrap(), "█▁");
        assert_eq!(sparkline(&[1.0], 1).unwrap(), "▄");
        assert!(sparkline(&[1.0], 0).is_err());
        assert!(sparkline(&[1.0], 1001).is_err());
        assert_eq!(
            sparkline(&vec![1.0; 100_000], 1000)
                .unwrap()
                .chars()
                .count(),
            1000
        );
    }
}
