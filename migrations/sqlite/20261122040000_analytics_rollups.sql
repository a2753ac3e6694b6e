-- Hourly analytics rollups (docs/analytics.md, "Storage and speed"). Both tables are caches of
-- what the calls table says: deleting their rows loses nothing (they are rebuilt on demand).
--
-- analytics_hours: one row per (site, UTC hour) that has a stored rollup; `gen` is bumped by
-- every write to a call started in that hour or before (orchestrator storage::analytics::rollups).
CREATE TABLE analytics_hours (
    site_id BLOB NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    hour_ms INTEGER NOT NULL,          -- hour start, ms since the epoch (UTC)
    gen     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, hour_ms)
) WITHOUT ROWID;

-- analytics_rollups: the hour's figures of one slice ('' = every call; 'channel=sip',
-- 'campaign=<id>', or both joined by ';'), encoded; fresh while `gen` equals the hour's.
CREATE TABLE analytics_rollups (
    site_id BLOB NOT NULL,
    slice   TEXT NOT NULL,
    hour_ms INTEGER NOT NULL,
    gen     INTEGER NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (site_id, slice, hour_ms),
    FOREIGN KEY (site_id, hour_ms) REFERENCES analytics_hours(site_id, hour_ms) ON DELETE CASCADE
);  -- a rowid table: rows of a few KB are better kept out of a WITHOUT ROWID b-tree
