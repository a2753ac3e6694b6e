-- Calls (every channel), their transcript turns with per-turn latency, their event log, and
-- routes (which flow answers which dialled number / the widget).
CREATE TABLE calls (
    id            BLOB PRIMARY KEY NOT NULL,
    site_id       BLOB NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    direction     TEXT NOT NULL,
    caller        TEXT NOT NULL,
    callee        TEXT NOT NULL,
    flow          TEXT,
    flow_version  INTEGER,
    campaign_id   BLOB,
    lead_id       BLOB,
    state         TEXT NOT NULL,
    language      TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    answered_at   TEXT,
    ended_at      TEXT,
    outcome       TEXT,
    end_reason    TEXT
);
CREATE INDEX calls_site_started ON calls(site_id, started_at);
CREATE INDEX calls_site_state ON calls(site_id, state);

CREATE TABLE call_turns (
    call_id               BLOB NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    seq                   INTEGER NOT NULL,
    speaker               TEXT NOT NULL,
    text                  TEXT NOT NULL,
    language              TEXT NOT NULL,
    confidence            REAL NOT NULL,
    started_at            TEXT NOT NULL,
    ended_at              TEXT NOT NULL,
    interrupted           BOOLEAN NOT NULL,
    stt_final_ms          INTEGER,
    brain_first_token_ms  INTEGER,
    first_tts_audio_ms    INTEGER,
    first_packet_ms       INTEGER,
    overhead_ms           INTEGER,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE call_events (
    call_id  BLOB NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,
    data     TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE call_routes (
    site_id     BLOB NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    number      TEXT NOT NULL,
    flow        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (site_id, channel, number)
);
CREATE UNIQUE INDEX call_routes_sip_number ON call_routes(number) WHERE channel = 'sip';
