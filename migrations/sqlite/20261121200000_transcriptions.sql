-- Audit transcriptions of recordings posted by a CRM: the job's row (status, progress, result),
-- the uploaded audio (kept in the database so any node can run the job), and one checkpoint
-- row per finished chunk (a restarted job skips them).
CREATE TABLE transcriptions (
    id               BLOB PRIMARY KEY NOT NULL,
    site_id          BLOB NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    file_name        TEXT NOT NULL,
    content_type     TEXT,
    size_bytes       INTEGER NOT NULL,
    metadata         TEXT NOT NULL,
    duration_ms      INTEGER,
    chunks_total     INTEGER,
    chunks_done      INTEGER NOT NULL DEFAULT 0,
    chunks_resumed   INTEGER NOT NULL DEFAULT 0,
    chunks_computed  INTEGER NOT NULL DEFAULT 0,
    runs             INTEGER NOT NULL DEFAULT 0,
    plan             TEXT,
    result           TEXT,
    error_code       TEXT,
    error_message    TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    started_at       TEXT,
    completed_at     TEXT
);
CREATE INDEX transcriptions_site_created ON transcriptions(site_id, created_at);
CREATE INDEX transcriptions_status ON transcriptions(status);

CREATE TABLE transcription_audio (
    transcription_id  BLOB PRIMARY KEY NOT NULL REFERENCES transcriptions(id) ON DELETE CASCADE,
    audio             BLOB NOT NULL
);

CREATE TABLE transcription_chunks (
    transcription_id  BLOB NOT NULL REFERENCES transcriptions(id) ON DELETE CASCADE,
    idx               INTEGER NOT NULL,
    result            TEXT NOT NULL,
    computed_at       TEXT NOT NULL,
    PRIMARY KEY (transcription_id, idx)
);

-- Outgoing signed webhooks (transcription callbacks, CRM call webhooks): one row per payload,
-- retried with backoff by a job; `dead` rows are the dead-letter list.
CREATE TABLE webhook_deliveries (
    id              BLOB PRIMARY KEY NOT NULL,
    site_id         BLOB NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    subject_id      BLOB NOT NULL,
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    delivered_at    TEXT
);
CREATE INDEX webhook_deliveries_site ON webhook_deliveries(site_id, status, created_at);
