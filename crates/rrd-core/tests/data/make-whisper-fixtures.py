#!/usr/bin/env python3
"""Writes the Whisper fixtures of rrd-core's whisper tests, and what the
`whisper` package's own fetch shows of them.

    python3 -m venv /tmp/wvenv && /tmp/wvenv/bin/pip install whisper==1.1.10
    cd crates/rrd-core/tests/data && /tmp/wvenv/bin/python make-whisper-fixtures.py

For each file NAME.wsp it writes NAME.expected, lines of:

    last_up SECONDS            end of the newest point of the finest archive
    row A TS VALUE             archive A's point at TS (interval start) as
                               whisper.fetch shows it, VALUE None if none,
                               for every slot of pg_rrd's window of A
    cdp A VAL UNKNOWN          archive A's open consolidation: its PDPs
                               each take the value of the finest archive
                               whose window holds them (see whisper.rs)

The history is a feed every 10 s with jitter, gaps (some longer than the
finest archive, so that its ring keeps points of earlier laps) and one
backfill old enough to go straight into the 60 s archive.
"""

import math
import os
import random

import whisper

ARCHIVES = [(10, 30), (60, 20), (600, 10)]
T0 = 1_700_000_000 - 1_700_000_000 % 600 + 130


def history():
    rnd = random.Random(20240611)
    t = T0
    out = []
    while t < T0 + 4000:
        if rnd.random() < 0.04:
            t += 10 * rnd.choice([3, 7, 35, 40])
            continue
        if rnd.random() < 0.1:
            t += 10
            continue
        out.append((t + rnd.randrange(10), round(rnd.uniform(-50, 150), 3)))
        t += 10
    return out, rnd


def build(path, method, xff):
    if os.path.exists(path):
        os.unlink(path)
    whisper.create(path, ARCHIVES, xFilesFactor=xff, aggregationMethod=method)
    points, rnd = history()
    i = 0
    backfilled = False
    while i < len(points):
        n = rnd.randrange(1, 8)
        batch = points[i : i + n]
        i += n
        now = batch[-1][0] + rnd.randrange(3)
        whisper.update_many(path, batch, now=now)
        if not backfilled and batch[-1][0] > T0 + 2500:
            # Older than the finest archive's 300 s: into the 60 s archive.
            old = [(now - 900 + 13 * k, 1000.0 + k) for k in range(30)]
            whisper.update_many(path, old, now=now)
            backfilled = True
    # The last point ends its interval at last_up; keep it off the 60 s
    # and 600 s boundaries so that both archives have an open row.
    last = points[-1][0] - points[-1][0] % 10
    last_up = last + 10
    assert last_up % 60 != 0 and last_up % 600 != 0, last_up
    return last_up


def window(path, spp, rows, last_up):
    latest = last_up // spp
    first_ts = (latest - rows) * spp
    last_ts = (latest - 1) * spp
    (start, end, step), values = whisper.fetch(
        path, first_ts - 1, last_ts, now=last_ts, archiveToSelect=spp
    )
    assert (start, end, step, len(values)) == (first_ts, last_ts + spp, spp, rows)
    return [(first_ts + k * spp, v) for k, v in enumerate(values)]


def main():
    for name, method, xff in [("whisper-average", "average", 0.5), ("whisper-max", "max", 0.0)]:
        path = name + ".wsp"
        last_up = build(path, method, xff)
        lines = ["last_up %d" % last_up]
        windows = []
        for a, (spp, rows) in enumerate(ARCHIVES):
            w = window(path, spp, rows, last_up)
            windows.append(dict(w))
            lines += ["row %d %d %r" % (a, ts, v) for ts, v in w]
        for a, (spp, _) in enumerate(ARCHIVES):
            if a == 0:
                continue
            start = last_up - last_up % spp
            val = {"average": 0.0, "max": -math.inf}[method]
            unknown = 0
            # PDPs ending at e in (start, last_up], oldest first.
            for e in range(start + 10, last_up + 1, 10):
                v = None
                for b in range(a):
                    wb = ARCHIVES[b][0]
                    ts = (e + wb - 1) // wb * wb - wb
                    if ts in windows[b]:
                        v = windows[b][ts]
                        break
                if v is None or math.isnan(v):
                    unknown += 1
                elif method == "average":
                    val += v
                else:
                    val = max(val, v)
            lines.append("cdp %d %r %d" % (a, val, unknown))
        with open(name + ".expected", "w") as f:
            f.write("\n".join(lines) + "\n")
        print(path, os.path.getsize(path), "bytes, last_up", last_up)


if __name__ == "__main__":
    main()
