-- The journal (docs/storage.md): a statement of many series appends its
-- points here, one row per lane, and a fold later applies them to
-- rrd.state and rrd.chunk. A lane is 128 series, those whose ids share
-- all but the low 7 bits (lane = id >> 7, place = id & 127).

-- One row per lane: the tip of each of its series (last update time and
-- what its last input was, packed as time * 4 + 1, 2 or 3 for none, a
-- number, other text; 0 when not recorded, then the state row has it),
-- how many points its journal rows hold, and how many of those the last
-- fold held back in their series' lateness windows (docs/late.md), which
-- only newer points let a fold apply. Rewritten by every
-- statement that journals points of the lane, never by one-series
-- writes, so writers of distinct series in one lane do not wait on each
-- other unless they journal.
CREATE TABLE rrd.lane (
    lane    bigint PRIMARY KEY,
    tips    bigint[] NOT NULL,
    pending bigint NOT NULL DEFAULT 0,
    held    bigint NOT NULL DEFAULT 0,
    CHECK (pg_catalog.cardinality(tips) OPERATOR(pg_catalog.=) 128)
) WITH (fillfactor = 40);
ALTER TABLE rrd.lane ALTER COLUMN tips SET STORAGE PLAIN;

-- The pending points: per row, the points one statement wrote in one
-- lane, as parallel arrays: each point's place in the lane, its time in
-- microseconds (a single element when all points share it), its value
-- (NaN: unknown) and, only when some point came as numeric, its exact
-- text. Rows are only inserted, and deleted by the fold of their lane.
CREATE TABLE rrd.journal (
    lane  bigint NOT NULL,
    slots smallint[] NOT NULL,
    t     bigint[] NOT NULL,
    v     double precision[] NOT NULL,
    vt    text[]
);
CREATE INDEX journal_lane ON rrd.journal (lane);

-- Series written one at a time (by rrd.update of one series, which
-- writes their state directly) since their lane's tips were last set: the
-- next statement that journals points of the lane takes their tips from
-- their state rows and removes them from here.
CREATE TABLE rrd.tip (
    series_id bigint PRIMARY KEY,
    lane      bigint NOT NULL
);
CREATE INDEX tip_lane ON rrd.tip (lane);

SELECT pg_catalog.pg_extension_config_dump('rrd.lane', '');
SELECT pg_catalog.pg_extension_config_dump('rrd.journal', '');
SELECT pg_catalog.pg_extension_config_dump('rrd.tip', '');
