-- Analytics (docs/analytics.md): per-call figures fixed when a call ends, so the summary reads
-- the calls table alone instead of joining every call's events and turns. Written by
-- `CallsRepo::finalize` (same expressions as the backfill below).
ALTER TABLE calls ADD COLUMN duration_ms INTEGER;                          -- answered_at → ended_at
ALTER TABLE calls ADD COLUMN holding_count INTEGER NOT NULL DEFAULT 0;     -- holding messages played
ALTER TABLE calls ADD COLUMN ended_holding BOOLEAN NOT NULL DEFAULT FALSE; -- last state before the end was holding
ALTER TABLE calls ADD COLUMN last_speaker TEXT;                            -- speaker of the last transcript turn

UPDATE calls SET
    duration_ms = CASE WHEN answered_at IS NOT NULL
        THEN CAST(ROUND((unixepoch(ended_at, 'subsec') - unixepoch(answered_at, 'subsec')) * 1000) AS INTEGER) END,
    holding_count = (SELECT COUNT(*) FROM call_events e WHERE e.call_id = calls.id AND e.kind = 'holding'),
    ended_holding = COALESCE((SELECT e.data ->> 'state' = 'holding' FROM call_events e
        WHERE e.call_id = calls.id AND e.kind = 'state' AND e.data ->> 'state' <> 'ended' ORDER BY e.seq DESC LIMIT 1), FALSE),
    last_speaker = (SELECT t.speaker FROM call_turns t WHERE t.call_id = calls.id ORDER BY t.seq DESC LIMIT 1)
WHERE ended_at IS NOT NULL;

-- Calls still open at a window's start (concurrency) and calls open now.
CREATE INDEX calls_site_ended ON calls(site_id, ended_at);
-- Turns carry their call's site, start, channel and campaign (copied when the turn is written),
-- so response times and languages of a window read one index of call_turns without a join.
ALTER TABLE call_turns ADD COLUMN site_id BLOB;
ALTER TABLE call_turns ADD COLUMN call_started_at TEXT;
ALTER TABLE call_turns ADD COLUMN channel TEXT;
ALTER TABLE call_turns ADD COLUMN campaign_id BLOB;
UPDATE call_turns SET (site_id, call_started_at, channel, campaign_id) =
    (SELECT c.site_id, c.started_at, c.channel, c.campaign_id FROM calls c WHERE c.id = call_turns.call_id);
CREATE INDEX call_turns_site_started ON call_turns(site_id, call_started_at, speaker, language, first_packet_ms);
