-- Audit transcriptions of recordings posted by a CRM: the job's row (status, progress, result),
-- the uploaded audio (kept in the database so any node can run the job), and one checkpoint
-- row per finished chunk (a restarted job skips them).
CREATE TABLE transcriptions (
    id               UUID PRIMARY KEY NOT NULL,
    site_id          UUID NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    file_name        TEXT NOT NULL,
    content_type     TEXT,
    size_bytes       BIGINT NOT NULL,
    metadata         JSONB NOT NULL,
    duration_ms      BIGINT,
    chunks_total     BIGINT,
    chunks_done      BIGINT NOT NULL DEFAULT 0,
    chunks_resumed   BIGINT NOT NULL DEFAULT 0,
    chunks_computed  BIGINT NOT NULL DEFAULT 0,
    runs             BIGINT NOT NULL DEFAULT 0,
    plan             JSONB,
    result           JSONB,
    error_code       TEXT,
    error_message    TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    started_at       TIMESTAMPTZ,
    completed_at     TIMESTAMPTZ
);
CREATE INDEX transcriptions_site_created ON transcriptions(site_id, created_at);
CREATE INDEX transcriptions_status ON transcriptions(status);

CREATE TABLE transcription_audio (
    transcription_id  UUID PRIMARY KEY NOT NULL REFERENCES transcriptions(id) ON DELETE CASCADE,
    audio             BYTEA NOT NULL
);

CREATE TABLE transcription_chunks (
    transcription_id  UUID NOT NULL REFERENCES transcriptions(id) ON DELETE CASCADE,
    idx               BIGINT NOT NULL,
    result            JSONB NOT NULL,
    computed_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (transcription_id, idx)
);

-- Outgoing signed webhooks (transcription callbacks, CRM call webhooks): one row per payload,
-- retried with backoff by a job; `dead` rows are the dead-letter list.
CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY NOT NULL,
    site_id         UUID NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    subject_id      UUID NOT NULL,
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_site ON webhook_deliveries(site_id, status, created_at);
