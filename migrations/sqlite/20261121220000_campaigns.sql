-- Outbound campaigns and their leads. A lead is one number of one campaign (unique), with the
-- CSV line it came from, its custom columns (flow variables) and its dialling state.
CREATE TABLE campaigns (
    id               BLOB PRIMARY KEY NOT NULL,
    site_id          BLOB NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    flow             TEXT NOT NULL,
    caller_id        TEXT,
    status           TEXT NOT NULL,
    time_zone        TEXT NOT NULL,
    calling_days     TEXT NOT NULL,
    start_time       TEXT NOT NULL,
    end_time         TEXT NOT NULL,
    telemarketing    BOOLEAN NOT NULL,
    max_concurrent   INTEGER NOT NULL,
    calls_per_minute INTEGER NOT NULL,
    retry            TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX campaigns_site ON campaigns(site_id, id);

CREATE TABLE leads (
    id               BLOB PRIMARY KEY NOT NULL,
    campaign_id      BLOB NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    site_id          BLOB NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    line             INTEGER NOT NULL,
    phone            TEXT NOT NULL,
    name             TEXT,
    fields           TEXT NOT NULL,
    status           TEXT NOT NULL,
    skip_reason      TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_outcome     TEXT,
    last_call_id     BLOB,
    result           TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (campaign_id, phone)
);
CREATE INDEX leads_campaign_status ON leads(campaign_id, status, next_attempt_at);
