-- What the caller hears: end of the caller's speech (the VAD's speech-end timestamp) → first
-- bot audio packet, and the end-of-turn decision time within it.
ALTER TABLE call_turns ADD COLUMN heard_ms BIGINT;
ALTER TABLE call_turns ADD COLUMN turn_decision_ms BIGINT;
