#!/usr/bin/python3
"""rrd.graph's SVG rendered by a real browser, and looked at pixel by pixel.

    /usr/bin/python3 pgrx-tests/graph.py [--dir .pgdata/graph] [--port 55450] [--write-docs] [--keep]

Starts a private cluster (scripts/cluster.sh) in DIR, makes a database with
pg_rrd and series of known data (constant values, with stretches of unknown
rows), draws them with rrd.graph, writes each SVG to a folder of its own,
renders it with headless chromium (scripts/install-graph.sh installs it) at
the SVG's own size, decodes the PNG (zlib, no imaging library) and checks:

- lines: the PNG is as large as the SVG says; the series' colour is in every
  pixel column of the plot where the series is known, at the height of its
  value, and in none where it is unknown (the plot's rectangle and time range
  come from the data attributes of <g id="plot">); the other series is drawn
  across the first one's gap; rigid lower/upper limits are the axis.
- area: the area is filled from 0 to the value where known, blank where not.
- stack: the lower series fills 0..a, the upper a..a+b on top of it, and the
  upper one's gap is blank at its height while the lower one still shows.
- pattern and tags: the series chosen are the ones the legend lists.
- time zone: under Europe/Berlin, labels sit at local hours across the day
  the clocks go forward.
- refusals: widths and heights 0 and 100000, an empty or reversed range,
  10,000 series (by pattern and by name), 257 series, a bad colour and a bad
  style, each with its SQLSTATE (22023, 54000); 256 series and the extreme
  sizes are drawn.
- sparkline: the text rrd.sparkline gives equals what this file computes
  from rrd.fetch's rows (bucket averages of known values scaled to
  ▁▂▃▄▅▆▇█, a space where unknown), and bad widths are refused.

With --write-docs, the PNGs docs/graph.md shows are written to docs/graph/.
With RELIABILITY_DIR set, each case's line goes to $RELIABILITY_DIR/graph.json.
The cluster is stopped at the end; its folder removed unless a case failed
or --keep is given.
"""

import argparse
import datetime
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
import zoneinfo

import psycopg

import pgcluster
from pgcluster import ROOT, Cluster, fresh_db, one, run_case

DB = "graph_test"
SUITE = "graph"
UTC = datetime.timezone.utc
# The data: rows of 60 s from T0 on, 120 of them.
T0 = datetime.datetime(2026, 1, 1, tzinfo=UTC)
STEP = 60
ROWS = 120
T1 = T0 + datetime.timedelta(seconds=STEP * ROWS)
DEF = "--step 60 DS:v:GAUGE:120:U:U RRA:AVERAGE:0.5:1:1000"

RED, BLUE, GREEN, PURPLE = "#ff0000", "#0000ff", "#00a000", "#a000a0"

# name -> (tags, value of the row ending at T0 + k*STEP, k = 1..ROWS; None is unknown)
SERIES = {
    # Unknown rows 41..71: (T0+40 min, T0+71 min].
    "g.web01.req": ({"role": "web"}, lambda k: None if 41 <= k <= 71 else (50.0 if k <= 40 else 80.0)),
    "g.web02.req": ({"role": "web"}, lambda k: 30.0),
    "g.db01.req": ({"role": "db"}, lambda k: 10.0 + k / 10.0),
    "s.lower": ({"stack": "yes"}, lambda k: 40.0),
    # Unknown rows 81..100.
    "s.upper": ({"stack": "yes"}, lambda k: None if 81 <= k <= 100 else 20.0),
}


class Case(pgcluster.Case):
    def summary(self, secs):
        tried = "".join(f", {v} {k}" for k, v in self.tried.items())
        return f"graph {self.name}: {self.checks} checks{tried}; {len(self.failures)} failures ({secs:.1f} s)"


def at(k):
    """The end of row k."""
    return T0 + datetime.timedelta(seconds=STEP * k)


# ---------------------------------------------------------------- PNG

def decode_png(data):
    """(width, height, rows): rows[y][x] = (r, g, b) of an 8-bit RGB or RGBA
    PNG (what chromium writes), alpha composed over white."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if ihdr is None:
        raise ValueError("PNG without IHDR")
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace != 0:
        raise ValueError(f"PNG of depth {depth}, colour type {ctype}, interlace {interlace}: not decoded here")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        off = y * (stride + 1)
        f = raw[off]
        line = bytearray(raw[off + 1:off + 1 + stride])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                c = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(a, prev[i], c)) & 0xFF
        elif f != 0:
            raise ValueError(f"PNG row {y}: unknown filter {f}")
        px = []
        for x in range(w):
            r, g, b = line[x * bpp], line[x * bpp + 1], line[x * bpp + 2]
            if bpp == 4 and line[x * bpp + 3] != 255:
                a = line[x * bpp + 3]
                r, g, b = ((v * a + 255 * (255 - a)) // 255 for v in (r, g, b))
            px.append((r, g, b))
        rows.append(px)
        prev = line
    return w, h, rows


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def encode_png(rows, alpha):
    """An 8-bit RGB(A) PNG of rows[y][x] = (r, g, b), row y filtered with
    filter y % 5, so that the decoder meets every filter."""
    bpp = 4 if alpha else 3
    w, h = len(rows[0]), len(rows)
    raw, prev = bytearray(), bytearray(w * bpp)
    for y, row in enumerate(rows):
        line = bytearray()
        for px in row:
            line += bytes(px) + (b"\xff" if alpha else b"")
        f = y % 5
        out = bytearray()
        for i, v in enumerate(line):
            a = line[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            pred = (0, a, prev[i], (a + prev[i]) >> 1, paeth(a, prev[i], c))[f]
            out.append((v - pred) & 0xFF)
        raw += bytes([f]) + out
        prev = line

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6 if alpha else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


def png_self_test():
    """The decoder on PNGs made here: every filter, RGB and RGBA."""
    want = [[((x * 80 + y * 7) % 256, (y * 50 + x) % 256, (x * y * 30) % 256) for x in range(4)] for y in range(11)]
    for alpha in (False, True):
        w, h, rows = decode_png(encode_png(want, alpha))
        assert (w, h) == (4, 11) and rows == want, (alpha, rows)


# ---------------------------------------------------------------- SVG and chromium

def svg_size(svg):
    m = re.match(r'<svg [^>]*?width="(\d+)" height="(\d+)"', svg)
    if not m:
        raise ValueError(f"SVG without width and height: {svg[:120]!r}")
    return int(m.group(1)), int(m.group(2))


class Plot:
    """The plot area and time mapping of <g id="plot">."""

    def __init__(self, svg):
        m = re.search(r'<g id="plot"([^>]*)>', svg)
        if not m:
            raise ValueError('SVG without <g id="plot">')
        a = dict(re.findall(r'data-([\w-]+)="([^"]*)"', m.group(1)))
        self.x0, self.y0 = float(a["x0"]), float(a["y0"])
        self.w, self.h = int(a["width"]), int(a["height"])
        self.start, self.stop = int(a["start"]), int(a["stop"])
        self.lower, self.upper = float(a["lower"]), float(a["upper"])

    def x(self, t):
        """The pixel column (in the image) at time t (a datetime)."""
        return self.x0 + (t.timestamp() - self.start) / (self.stop - self.start) * self.w

    def y(self, v):
        """The pixel row (in the image) of value v."""
        return self.y0 + self.h - (v - self.lower) / (self.upper - self.lower) * self.h

    def columns(self, t_from, t_to, margin=2):
        """The image's pixel columns showing only times within (t_from, t_to],
        `margin` columns away from both ends."""
        a, b = self.x(t_from), self.x(t_to)
        return range(int(a) + margin, int(b) - margin)


def legend_names(svg):
    return re.findall(r'<g class="legend-row" data-name="([^"]*)"', svg)


def hex_rgb(c):
    return tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))


def near(px, rgb, tol=40):
    return sum(abs(a - b) for a, b in zip(px, rgb)) <= tol


class Renderer:
    def __init__(self, out_dir):
        self.out = out_dir
        self.chromium = shutil.which("chromium")
        if not self.chromium:
            raise RuntimeError("chromium is not installed (bash scripts/install-graph.sh)")
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=out_dir)

    def render(self, name, svg):
        """Writes NAME.svg, renders NAME.png at the SVG's size: (w, h, rows)."""
        w, h = svg_size(svg)
        svg_path = os.path.join(self.out, f"{name}.svg")
        png_path = os.path.join(self.out, f"{name}.png")
        with open(svg_path, "w", encoding="utf-8") as f:
            f.write(svg)
        if os.path.exists(png_path):
            os.unlink(png_path)
        # As root chromium needs --no-sandbox; a profile of its own keeps it off $HOME.
        cmd = [self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--force-device-scale-factor=1", f"--user-data-dir={self.profile}",
               f"--screenshot={png_path}", f"--window-size={w},{h}", "file://" + svg_path]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if not os.path.exists(png_path):
            raise RuntimeError(f"chromium wrote no {png_path} (exit {p.returncode}): {p.stderr[-800:]}")
        with open(png_path, "rb") as f:
            return decode_png(f.read())

    def close(self):
        shutil.rmtree(self.profile, ignore_errors=True)


# ---------------------------------------------------------------- checks

def graph(conn, **kw):
    """rrd.graph with named arguments (timestamps as datetimes)."""
    names = list(kw)
    casts = {"series": "::text[]", "colors": "::text[]", "tags": "::jsonb", "start": "::timestamptz",
             "stop": "::timestamptz"}
    sql = "SELECT rrd.graph(" + ", ".join(f"{n} => %s{casts.get(n, '')}" for n in names) + ")"
    args = [psycopg.types.json.Jsonb(v) if n == "tags" else v for n, v in kw.items()]
    return one(conn, sql, args)


def state_of(conn, sql, args=None):
    """(SQLSTATE, message) of `sql`'s error, or (None, None)."""
    try:
        conn.execute(sql, args)
        return None, None
    except psycopg.Error as e:
        return e.sqlstate, (e.diag.message_primary or str(e))


def image_checks(case, what, img, svg):
    w, h, rows = img
    case.check((w, h) == svg_size(svg), f"{what}: PNG is {w}x{h}, the SVG says {svg_size(svg)}")
    # Chromium's page background outside an SVG that fits exactly is never seen:
    # the corners are the SVG's white background.
    for x, y in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
        case.check(rows[y][x] == (255, 255, 255), f"{what}: pixel {x},{y} is {rows[y][x]}, not white")


def has(rows, x, y0, y1, rgb):
    """Some pixel of column x within rows y0..y1 has colour rgb."""
    y0, y1 = max(0, int(y0)), min(len(rows) - 1, int(y1))
    return any(near(rows[y][x], rgb) for y in range(y0, y1 + 1))


def case_lines(ctx, case):
    svg = graph(ctx.conn, series=["g.web01.req", "g.web02.req"], start=T0, stop=T1, colors=[RED, BLUE],
                lower=0.0, upper=100.0, title="Requests per second", vertical_label="req/s", width=600, height=200)
    img = ctx.r.render("lines", svg)
    image_checks(case, "lines", img, svg)
    p = Plot(svg)
    _, _, rows = img
    case.check((p.lower, p.upper) == (0.0, 100.0), f"lines: axis {p.lower}..{p.upper}, not the limits 0..100")
    case.check(legend_names(svg) == ["g.web01.req", "g.web02.req"], f"lines: legend {legend_names(svg)}")
    red, blue = hex_rgb(RED), hex_rgb(BLUE)
    top, bottom = p.y0, p.y0 + p.h - 1
    known = [*p.columns(T0, at(40)), *p.columns(at(71), T1)]
    gap = p.columns(at(40), at(71))
    for x in known:
        v = 50.0 if x < p.x(at(40)) else 80.0
        if not case.check(has(rows, x, p.y(v) - 2, p.y(v) + 2, red),
                          f"lines: no {RED} at column {x} near y {p.y(v):.0f} (value {v})"):
            break
    bad = [x for x in gap if has(rows, x, top, bottom, red)]
    case.check(not bad, f"lines: {RED} in {len(bad)} columns where g.web01.req is unknown, e.g. {bad[:5]}")
    missing = [x for x in p.columns(T0, T1) if not has(rows, x, p.y(30) - 2, p.y(30) + 2, blue)]
    case.check(not missing, f"lines: {BLUE} (g.web02.req, 30) missing in columns {missing[:5]}")
    case.count("columns checked", len(known) + len(gap))
    ctx.docs["lines"] = img
    # The legend figures of the known values.
    row = re.search(r'<g class="legend-row" data-name="g.web01.req"([^>]*)>', svg).group(1)
    figs = dict(re.findall(r'data-(last|min|max)="([^"]*)"', row))
    case.check(figs == {"last": " 80.00  ", "min": " 50.00  ", "max": " 80.00  "}, f"lines: legend figures {figs}")


def case_area(ctx, case):
    svg = graph(ctx.conn, series=["g.web01.req"], start=T0, stop=T1, style="area", colors=[RED])
    img = ctx.r.render("area", svg)
    image_checks(case, "area", img, svg)
    p = Plot(svg)
    _, _, rows = img
    red = hex_rgb(RED)
    case.check(p.lower <= 0.0 <= p.upper, f"area: axis {p.lower}..{p.upper} without 0")
    for x in [*p.columns(T0, at(40)), *p.columns(at(71), T1)]:
        if not case.check(near(rows[int(p.y(25))][x], red), f"area: column {x} not filled at value 25"):
            break
    bad = [x for x in p.columns(at(40), at(71)) if has(rows, x, p.y0, p.y0 + p.h - 1, red)]
    case.check(not bad, f"area: {RED} in {len(bad)} columns where the series is unknown, e.g. {bad[:5]}")


def case_stack(ctx, case):
    svg = graph(ctx.conn, series=["s.lower", "s.upper"], start=T0, stop=T1, style="stack", colors=[GREEN, PURPLE],
                title="Stacked", width=600, height=200)
    img = ctx.r.render("stack", svg)
    image_checks(case, "stack", img, svg)
    p = Plot(svg)
    _, _, rows = img
    green, purple = hex_rgb(GREEN), hex_rgb(PURPLE)
    case.check(p.lower <= 0.0 and p.upper >= 60.0, f"stack: axis {p.lower}..{p.upper} does not hold 0..60")
    for x in [*p.columns(T0, at(80)), *p.columns(at(100), T1)]:
        ok = near(rows[int(p.y(20))][x], green) and near(rows[int(p.y(50))][x], purple)
        ok = ok and not has(rows, x, p.y0, p.y(62), purple)
        if not case.check(ok, f"stack: column {x}: not s.lower at 20 and s.upper at 50 (on top of 40) only"):
            break
    for x in p.columns(at(80), at(100)):
        ok = near(rows[int(p.y(20))][x], green) and not has(rows, x, p.y0, p.y0 + p.h - 1, purple)
        if not case.check(ok, f"stack: column {x}, where s.upper is unknown: s.lower missing or s.upper drawn"):
            break
    ctx.docs["stack"] = img


def case_select(ctx, case):
    svg = graph(ctx.conn, pattern="g.web*.req", start=T0, stop=T1)
    case.check(legend_names(svg) == ["g.web01.req", "g.web02.req"], f"pattern g.web*.req: legend {legend_names(svg)}")
    img = ctx.r.render("pattern", svg)
    image_checks(case, "pattern", img, svg)
    svg = graph(ctx.conn, tags={"role": "db"}, start=T0, stop=T1)
    case.check(legend_names(svg) == ["g.db01.req"], f"tags role=db: legend {legend_names(svg)}")
    svg = graph(ctx.conn, tags={"stack": "yes"}, start=T0, stop=T1, style="STACK")
    case.check(sorted(legend_names(svg)) == ["s.lower", "s.upper"], f"tags stack=yes: legend {legend_names(svg)}")
    # Names with XML's special characters come out escaped and the document stays valid.
    svg = graph(ctx.conn, series=["x<&>\"'.odd"], start=T0, stop=T1)
    case.check("x&lt;&amp;&gt;&quot;&apos;.odd" in svg and "x<&" not in svg, "odd name not escaped")
    image_checks(case, "odd name", ctx.r.render("odd", svg), svg)


def time_labels(svg):
    """(time at the label's x, its text) of the time axis' labels."""
    p = Plot(svg)
    out = []
    for x, text in re.findall(r'<text class="time-label" x="([\d.-]+)"[^>]*>([^<]*)<', svg):
        t = p.start + (float(x) - p.x0) / p.w * (p.stop - p.start)
        # Label positions have two decimals: the nearest minute is the label's time.
        out.append((datetime.datetime.fromtimestamp(round(t / 60) * 60, UTC), text))
    return out


def case_timezone(ctx, case):
    # Europe/Berlin goes from +01 to +02 at 2026-03-29 01:00 UTC; that local day has 23 hours.
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    start = datetime.datetime(2026, 3, 28, 23, tzinfo=UTC)
    stop = datetime.datetime(2026, 3, 29, 22, tzinfo=UTC)
    conn = ctx.conn
    for zone, tz in (("Europe/Berlin", berlin), ("UTC", UTC)):
        conn.execute(f"SET TimeZone = '{zone}'")
        try:
            svg = graph(conn, series=["tz.x"], start=start, stop=stop, width=600)
        finally:
            conn.execute("SET TimeZone = 'UTC'")
        labels = time_labels(svg)
        case.check(len(labels) >= 3, f"{zone}: {len(labels)} time labels")
        for t, text in labels:
            local = t.astimezone(tz).strftime("%H:%M")
            case.check(local == text, f"{zone}: label {text!r} at {t:%H:%M} UTC, which is {local} there")
        if zone != "UTC" and len(labels) >= 2:
            gap = labels[1][0] - labels[0][0]
            want = datetime.timedelta(hours=int(labels[1][1][:2]) - 1)
            case.check(labels[0][1] == "00:00" and gap == want,
                       f"{zone}: {labels[0][1]} to {labels[1][1]} spans {gap}, not {want} (the 23-hour day)")
        case.count("labels", len(labels))


def case_refusals(ctx, case):
    conn = ctx.conn
    base = "SELECT rrd.graph(series => ARRAY['g.web01.req'], start => %s::timestamptz, stop => %s::timestamptz"
    tries = [
        ("width 0", base + ", width => 0)", (T0, T1), "22023"),
        ("width 100000", base + ", width => 100000)", (T0, T1), "22023"),
        ("height 0", base + ", height => 0)", (T0, T1), "22023"),
        ("height 100000", base + ", height => 100000)", (T0, T1), "22023"),
        ("empty range", base + ")", (T0, T0), "22023"),
        ("reversed range", base + ")", (T1, T0), "22023"),
        ("bad colour", base + ", colors => ARRAY['#12'])", (T0, T1), "22023"),
        ("bad style", base + ", style => 'bars')", (T0, T1), "22023"),
        ("10,000 series by pattern",
         "SELECT rrd.graph(pattern => 'many.*', start => %s::timestamptz, stop => %s::timestamptz)", (T0, T1), "54000"),
        ("10,000 series by name",
         "SELECT rrd.graph(series => (SELECT array_agg(format('many.%%s', i)) FROM generate_series(1, 10000) i), "
         "start => %s::timestamptz, stop => %s::timestamptz)", (T0, T1), "54000"),
        ("257 series",
         "SELECT rrd.graph(series => (SELECT array_agg(format('many.%%s', i)) FROM generate_series(1, 257) i), "
         "start => %s::timestamptz, stop => %s::timestamptz)", (T0, T1), "54000"),
        ("unknown series", "SELECT rrd.graph(series => ARRAY['no.such'], start => %s::timestamptz, "
         "stop => %s::timestamptz)", (T0, T1), "42704"),
    ]
    for what, sql, args, want in tries:
        got, msg = state_of(conn, sql, args)
        case.check(got == want, f"{what}: SQLSTATE {got} ({msg}), expected {want}")
        if what == "bad colour" and got:
            case.check("#12" in (msg or ""), f"bad colour: message {msg!r} does not name the colour")
        if what.startswith("10,000") and got:
            case.check("256" in (msg or ""), f"{what}: message {msg!r} does not give the limit")
        case.count("refusals")
    accepted = [
        ("256 series", "SELECT length(rrd.graph(series => (SELECT array_agg(format('many.%%s', i)) "
         "FROM generate_series(1, 256) i), start => %s::timestamptz, stop => %s::timestamptz)) > 0", (T0, T1)),
        ("width 16", base + ", width => 16, height => 16) IS NOT NULL", (T0, T1)),
        ("width 4096", base + ", width => 4096, height => 4096) IS NOT NULL", (T0, T1)),
        ("no series known in the range", base + ") IS NOT NULL", (T0 - datetime.timedelta(days=400),
                                                                  T0 - datetime.timedelta(days=399))),
    ]
    for what, sql, args in accepted:
        got, msg = state_of(conn, sql, args)
        case.check(got is None, f"{what}: refused with {got} ({msg})")
    svg = graph(conn, series=["g.web01.req"], start=T0, stop=T1, width=16, height=16)
    image_checks(case, "16x16", ctx.r.render("tiny", svg), svg)


BLOCKS = "▁▂▃▄▅▆▇█"


def expected_sparkline(values, width):
    """What rrd.sparkline must give for these rows (rrd-core's graph::sparkline)."""
    n = len(values)
    buckets = []
    for j in range(width):
        if n == 0:
            buckets.append(None)
            continue
        a = j * n // width
        b = max(a + 1, (j + 1) * n // width)
        known = [v for v in values[a:min(b, n)] if v is not None and v == v]
        buckets.append(sum(known) / len(known) if known else None)
    known = [v for v in buckets if v is not None]
    lo, hi = (min(known), max(known)) if known else (0, 0)
    out = []
    for v in buckets:
        if v is None:
            out.append(" ")
        elif hi <= lo:
            out.append(BLOCKS[3])
        else:
            f = (v - lo) / (hi - lo)
            out.append(BLOCKS[min(7, int(f * 7 + 0.5))])
    return "".join(out)


def case_sparkline(ctx, case):
    conn = ctx.conn
    for name, width in (("g.web01.req", 20), ("g.db01.req", 60), ("g.web02.req", 7), ("g.web01.req", 1000)):
        got = one(conn, "SELECT rrd.sparkline(%s, 'AVERAGE', %s::timestamptz, %s::timestamptz, %s)",
                  (name, T0, T1, width))
        rows = conn.execute("SELECT v FROM rrd.fetch(%s, 'AVERAGE', %s::timestamptz, %s::timestamptz)",
                            (name, T0, T1)).fetchall()
        want = expected_sparkline([r[0] for r in rows], width)
        case.check(got == want, f"sparkline {name} width {width}: {got!r}, expected {want!r} from {len(rows)} rows")
        case.check(got is not None and len(got) == width, f"sparkline {name}: {len(got or '')} characters, not {width}")
        case.count("sparklines")
    # The gap of g.web01.req shows as spaces between low and high blocks.
    got = one(conn, "SELECT rrd.sparkline('g.web01.req', 'AVERAGE', %s::timestamptz, %s::timestamptz, 12)", (T0, T1))
    case.check(bool(re.fullmatch(r"▁+ +█+", got or "")), f"sparkline of g.web01.req: {got!r}")
    for width in (0, 1001):
        got, msg = state_of(conn, "SELECT rrd.sparkline('g.web01.req', 'AVERAGE', %s::timestamptz, "
                            "%s::timestamptz, %s)", (T0, T1, width))
        case.check(got == "22023", f"sparkline width {width}: SQLSTATE {got} ({msg}), expected 22023")


CASES = {
    "lines": case_lines,
    "area": case_area,
    "stack": case_stack,
    "select": case_select,
    "timezone": case_timezone,
    "refusals": case_refusals,
    "sparkline": case_sparkline,
}
WHAT = {
    "lines": "two series drawn as lines by chromium: colour present where known, absent where unknown",
    "area": "an area filled where known, blank where unknown",
    "stack": "a stack: each series on the sum below, a gap of the upper one blank",
    "select": "series by pattern, by tags, and an odd name escaped",
    "timezone": "time labels at local hours across a DST change",
    "refusals": "sizes, ranges, series counts, colours, styles refused with their SQLSTATEs",
    "sparkline": "rrd.sparkline equal to its rows' bucket averages",
}


def setup(ctx):
    conn = ctx.conn = fresh_db(ctx.cluster, DB)
    conn.execute("SET TimeZone = 'UTC'")
    for name, (tags, value) in list(SERIES.items()) + [("x<&>\"'.odd", ({}, lambda k: 1.0))]:
        conn.execute("SELECT rrd.create(%s, %s, start => %s, tags => %s)",
                     (name, DEF, T0, psycopg.types.json.Jsonb(tags)))
        specs = [f"{int(at(k).timestamp())}:{'U' if value(k) is None else repr(value(k))}" for k in range(1, ROWS + 1)]
        conn.execute("SELECT rrd.update(%s, %s::text[])", (name, specs))
    tz0 = datetime.datetime(2026, 3, 28, 12, tzinfo=UTC)
    conn.execute("SELECT rrd.create('tz.x', '--step 600 DS:v:GAUGE:1200:U:U RRA:AVERAGE:0.5:1:1000', start => %s)",
                 (tz0,))
    conn.execute("SELECT rrd.update('tz.x', %s::text[])",
                 ([f"{int(tz0.timestamp()) + 600 * k}:{k % 7}" for k in range(1, 300)],))
    t = time.time()
    n = one(conn, "SELECT count(rrd.create(format('many.%%s', i), '--step 60 DS:v:GAUGE:120:U:U RRA:AVERAGE:0.5:1:10', "
                  "start => %s)) FROM generate_series(1, 10000) i", (T0,))
    print(f"graph: {n} series created in one statement ({time.time() - t:.1f} s)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.path.join(ROOT, ".pgdata", "graph"), help="the private cluster's folder")
    ap.add_argument("--port", type=int, default=55450)
    ap.add_argument("--write-docs", action="store_true", help="write docs/graph/lines.png and stack.png")
    ap.add_argument("--keep", action="store_true", help="leave the cluster's folder behind")
    ap.add_argument("cases", nargs="*", default=list(CASES))
    args = ap.parse_args()
    for c in args.cases:
        if c not in CASES:
            ap.error(f"unknown case {c}")
    png_self_test()

    class Ctx:
        pass
    ctx = Ctx()
    ctx.cluster = Cluster(args.dir, args.port)
    ctx.docs = {}
    print(f"graph: cluster {ctx.cluster.dir} on port {args.port}", flush=True)
    t_all = time.time()
    failed = 0
    out_dir = os.path.join(ctx.cluster.dir, "out")
    try:
        ctx.cluster.start()
        os.makedirs(out_dir, exist_ok=True)
        ctx.r = Renderer(out_dir)
        setup(ctx)
        for name in args.cases:
            failed += run_case(CASES[name], ctx, Case(name), suite=SUITE, what=WHAT.get(name))
        if args.write_docs:
            docs = os.path.join(ROOT, "docs", "graph")
            os.makedirs(docs, exist_ok=True)
            for name in ("lines", "stack"):
                if name in ctx.docs:
                    shutil.copyfile(os.path.join(out_dir, f"{name}.png"), os.path.join(docs, f"{name}.png"))
                    print(f"graph: wrote docs/graph/{name}.png", flush=True)
        ctx.r.close()
        ctx.conn.close()
        pgcluster.drop_db(ctx.cluster, DB)
    except Exception as e:  # noqa: BLE001
        print(f"graph: setup failed: {type(e).__name__}: {e}", flush=True)
        failed += 1
    finally:
        try:
            ctx.cluster.stop()
        except Exception as e:  # noqa: BLE001
            print(f"graph: stopping {ctx.cluster.dir}: {e}", file=sys.stderr)
        if not failed and not args.keep:
            shutil.rmtree(ctx.cluster.dir, ignore_errors=True)
    print(f"graph: {len(args.cases)} cases, {failed} failed ({time.time() - t_all:.1f} s)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
