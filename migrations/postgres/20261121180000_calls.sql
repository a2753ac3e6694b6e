-- Calls (every channel), their transcript turns with per-turn latency, their event log, and
-- routes (which flow answers which dialled number / the widget).
CREATE TABLE calls (
    id            UUID PRIMARY KEY NOT NULL,
    site_id       UUID NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    direction     TEXT NOT NULL,
    caller        TEXT NOT NULL,
    callee        TEXT NOT NULL,
    flow          TEXT,
    flow_version  BIGINT,
    campaign_id   UUID,
    lead_id       UUID,
    state         TEXT NOT NULL,
    language      TEXT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    answered_at   TIMESTAMPTZ,
    ended_at      TIMESTAMPTZ,
    outcome       TEXT,
    end_reason    TEXT
);
CREATE INDEX calls_site_started ON calls(site_id, started_at);
CREATE INDEX calls_site_state ON calls(site_id, state);

CREATE TABLE call_turns (
    call_id               UUID NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    seq                   BIGINT NOT NULL,
    speaker               TEXT NOT NULL,
    text                  TEXT NOT NULL,
    language              TEXT NOT NULL,
    confidence            REAL NOT NULL,
    started_at            TIMESTAMPTZ NOT NULL,
    ended_at              TIMESTAMPTZ NOT NULL,
    interrupted           BOOLEAN NOT NULL,
    stt_final_ms          BIGINT,
    brain_first_token_ms  BIGINT,
    first_tts_audio_ms    BIGINT,
    first_packet_ms       BIGINT,
    overhead_ms           BIGINT,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE call_events (
    call_id  UUID NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    seq      BIGINT NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    kind     TEXT NOT NULL,
    data     JSONB NOT NULL,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE call_routes (
    site_id     UUID NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    number      TEXT NOT NULL,
    flow        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site_id, channel, number)
);
CREATE UNIQUE INDEX call_routes_sip_number ON call_routes(number) WHERE channel = 'sip';
