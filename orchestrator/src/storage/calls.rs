//! Calls, their transcript turns (with per-turn latency) and their event log. Written by the
//! call registry's persistence writer; read by the calls API and analytics.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sqlx::types::Json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::analytics::rollups::touch_call;
use super::{DatabaseKind, StorageError, Store};
use crate::calls::{CallEvent, CallInfo, TurnLatency, TurnRecord};
use crate::with_pool;

/// Enum ↔ its snake_case text column.
pub(crate) fn to_text<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

pub(crate) fn from_text<T: DeserializeOwned>(s: &str) -> Result<T, StorageError> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| StorageError::Corrupt(format!("unknown value {s:?}")))
}

/// Filters of `GET /v1/calls`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CallFilter {
    /// Admin only: restrict to one site.
    pub site_id: Option<Uuid>,
    /// Calls started at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Calls started before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// `sip` or `widget`.
    pub channel: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    /// `ringing`, `active`, `holding`, `transferring`, `ended`.
    pub state: Option<String>,
    /// e.g. `completed`, `transferred`, `caller_hung_up`.
    pub outcome: Option<String>,
    pub campaign_id: Option<Uuid>,
    /// Page size, 1..=500 (default 50).
    pub limit: Option<i64>,
    /// Calls started before this one (the last id of the previous page).
    pub before: Option<Uuid>,
}

/// A call with its transcript and event log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallDetail {
    #[serde(flatten)]
    pub call: CallInfo,
    /// Every `qualify(...)` of the flow merged (later fields win); `null` when it never qualified.
    #[schema(value_type = Option<Object>)]
    pub qualification: Option<serde_json::Map<String, serde_json::Value>>,
    /// The flow's `tag(...)` labels, in order.
    pub tags: Vec<String>,
    /// `GET /v1/calls/{id}/recording` when the call was recorded, else `null`.
    pub recording_url: Option<String>,
    pub transcript: Vec<TurnRecord>,
    pub events: Vec<CallEvent>,
}

#[derive(sqlx::FromRow)]
struct CallRow {
    id: Uuid,
    site_id: Uuid,
    channel: String,
    direction: String,
    caller: String,
    callee: String,
    flow: Option<String>,
    flow_version: Option<i64>,
    campaign_id: Option<Uuid>,
    lead_id: Option<Uuid>,
    state: String,
    language: String,
    started_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    outcome: Option<String>,
    end_reason: Option<String>,
}

impl TryFrom<CallRow> for CallInfo {
    type Error = StorageError;
    fn try_from(r: CallRow) -> Result<CallInfo, StorageError> {
        Ok(CallInfo {
            id: r.id,
            site_id: r.site_id,
            channel: from_text(&r.channel)?,
            direction: from_text(&r.direction)?,
            caller: r.caller,
            callee: r.callee,
            flow: r.flow,
            flow_version: r.flow_version,
            campaign_id: r.campaign_id,
            lead_id: r.lead_id,
            state: from_text(&r.state)?,
            language: r.language,
            started_at: r.started_at,
            answered_at: r.answered_at,
            ended_at: r.ended_at,
            outcome: r.outcome.as_deref().map(from_text).transpose()?,
            end_reason: r.end_reason,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TurnRow {
    seq: i64,
    speaker: String,
    text: String,
    language: String,
    confidence: f32,
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    interrupted: bool,
    stt_final_ms: Option<i64>,
    brain_first_token_ms: Option<i64>,
    first_tts_audio_ms: Option<i64>,
    first_packet_ms: Option<i64>,
    overhead_ms: Option<i64>,
    heard_ms: Option<i64>,
    turn_decision_ms: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    call_id: Uuid,
    at: DateTime<Utc>,
    data: Json<serde_json::Value>,
}

const CALL_COLUMNS: &str = "id, site_id, channel, direction, caller, callee, flow, flow_version, campaign_id, lead_id, state, language, started_at, answered_at, ended_at, outcome, end_reason";

/// Calls repository: `store.calls()`.
pub struct CallsRepo<'a> {
    store: &'a Store,
}

impl<'a> CallsRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    pub async fn insert(&self, c: &CallInfo) -> Result<(), StorageError> {
        let sql = format!(
            "INSERT INTO calls ({CALL_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)"
        );
        with_pool!(self.store, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(c.id)
                .bind(c.site_id)
                .bind(to_text(&c.channel))
                .bind(to_text(&c.direction))
                .bind(&c.caller)
                .bind(&c.callee)
                .bind(&c.flow)
                .bind(c.flow_version)
                .bind(c.campaign_id)
                .bind(c.lead_id)
                .bind(to_text(&c.state))
                .bind(&c.language)
                .bind(c.started_at)
                .bind(c.answered_at)
                .bind(c.ended_at)
                .bind(c.outcome.as_ref().map(to_text))
                .bind(&c.end_reason)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        if c.ended_at.is_some() {
            self.finalize(c.id).await?;
        }
        touch_call(self.store, c.id).await
    }

    /// Writes the mutable fields (state, language, flow, answer/end times, outcome).
    pub async fn update(&self, c: &CallInfo) -> Result<(), StorageError> {
        with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE calls SET state = $2, language = $3, flow = $4, flow_version = $5, answered_at = $6, \
                 ended_at = $7, outcome = $8, end_reason = $9 WHERE id = $1",
            )
            .bind(c.id)
            .bind(to_text(&c.state))
            .bind(&c.language)
            .bind(&c.flow)
            .bind(c.flow_version)
            .bind(c.answered_at)
            .bind(c.ended_at)
            .bind(c.outcome.as_ref().map(to_text))
            .bind(&c.end_reason)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if c.ended_at.is_some() {
            self.finalize(c.id).await?;
        }
        touch_call(self.store, c.id).await
    }

    /// Fixes the call's analytics columns (duration, holding, last speaker) from its stored
    /// turns and events. Runs when a call is written as ended: the registry's ordered writer has
    /// stored every turn and event before that update. Idempotent.
    pub async fn finalize(&self, id: Uuid) -> Result<(), StorageError> {
        let duration = match self.store.kind() {
            DatabaseKind::Sqlite => {
                "CAST(ROUND((unixepoch(ended_at, 'subsec') - unixepoch(answered_at, 'subsec')) * 1000) AS INTEGER)"
            }
            DatabaseKind::Postgres => {
                "CAST(ROUND(EXTRACT(EPOCH FROM (ended_at - answered_at)) * 1000) AS BIGINT)"
            }
        };
        // Same expressions as the backfill in migrations/*/20261122030000_analytics.sql.
        let sql = format!(
            "UPDATE calls SET \
             duration_ms = CASE WHEN answered_at IS NOT NULL THEN {duration} END, \
             holding_count = (SELECT COUNT(*) FROM call_events e WHERE e.call_id = calls.id AND e.kind = 'holding'), \
             ended_holding = COALESCE((SELECT e.data ->> 'state' = 'holding' FROM call_events e \
                 WHERE e.call_id = calls.id AND e.kind = 'state' AND e.data ->> 'state' <> 'ended' ORDER BY e.seq DESC LIMIT 1), FALSE), \
             last_speaker = (SELECT t.speaker FROM call_turns t WHERE t.call_id = calls.id ORDER BY t.seq DESC LIMIT 1) \
             WHERE id = $1 AND ended_at IS NOT NULL"
        );
        with_pool!(self.store, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn add_turn(&self, call_id: Uuid, t: &TurnRecord) -> Result<(), StorageError> {
        let l = t.latency.clone().unwrap_or_default();
        let ms = |v: Option<u32>| v.map(i64::from);
        // The call's site, start, channel and campaign are copied for analytics (no join there).
        let inserted = with_pool!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO call_turns (call_id, seq, speaker, text, language, confidence, started_at, ended_at, interrupted, \
                 stt_final_ms, brain_first_token_ms, first_tts_audio_ms, first_packet_ms, overhead_ms, heard_ms, turn_decision_ms, \
                 site_id, call_started_at, channel, campaign_id) \
                 SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16, c.site_id, c.started_at, c.channel, c.campaign_id \
                 FROM calls c WHERE c.id = $1",
            )
            .bind(call_id)
            .bind(i64::from(t.seq))
            .bind(to_text(&t.speaker))
            .bind(&t.text)
            .bind(&t.language)
            .bind(t.confidence)
            .bind(t.started_at)
            .bind(t.ended_at)
            .bind(t.interrupted)
            .bind(ms(l.stt_final_ms))
            .bind(ms(l.brain_first_token_ms))
            .bind(ms(l.first_tts_audio_ms))
            .bind(ms(l.first_packet_ms))
            .bind(ms(l.overhead_ms))
            .bind(ms(l.heard_ms))
            .bind(ms(l.turn_decision_ms))
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if inserted == 0 {
            return Err(StorageError::Corrupt(format!(
                "turn {} of unknown call {call_id}",
                t.seq
            )));
        }
        touch_call(self.store, call_id).await
    }

    pub async fn add_event(&self, seq: u32, e: &CallEvent) -> Result<(), StorageError> {
        let data = serde_json::to_value(e).map_err(|x| StorageError::Corrupt(x.to_string()))?;
        let kind = data
            .get("type")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown")
            .to_string();
        with_pool!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO call_events (call_id, seq, at, kind, data) VALUES ($1,$2,$3,$4,$5)",
            )
            .bind(e.call_id)
            .bind(i64::from(seq))
            .bind(e.at)
            .bind(&kind)
            .bind(Json(&data))
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Newest first.
    pub async fn list(
        &self,
        site_id: Option<Uuid>,
        f: &CallFilter,
    ) -> Result<Vec<CallInfo>, StorageError> {
        let mut sql = format!("SELECT {CALL_COLUMNS} FROM calls WHERE 1=1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        // Placeholders are numbered in the order the binds below are applied.
        if site_id.is_some() {
            sql += &format!(" AND site_id = {}", next());
        }
        if f.from.is_some() {
            sql += &format!(" AND started_at >= {}", next());
        }
        if f.to.is_some() {
            sql += &format!(" AND started_at < {}", next());
        }
        for (col, v) in [
            ("channel", &f.channel),
            ("direction", &f.direction),
            ("state", &f.state),
            ("outcome", &f.outcome),
        ] {
            if v.is_some() {
                sql += &format!(" AND {col} = {}", next());
            }
        }
        if f.campaign_id.is_some() {
            sql += &format!(" AND campaign_id = {}", next());
        }
        if f.before.is_some() {
            sql += &format!(" AND id < {}", next());
        }
        sql += &format!(
            " ORDER BY started_at DESC, id DESC LIMIT {}",
            f.limit.unwrap_or(50).clamp(1, 500)
        );
        let rows: Vec<CallRow> = with_pool!(self.store, |pool| {
            let mut q = sqlx::query_as::<_, CallRow>(sqlx::AssertSqlSafe(sql.clone()));
            if let Some(s) = site_id {
                q = q.bind(s);
            }
            if let Some(v) = f.from {
                q = q.bind(v);
            }
            if let Some(v) = f.to {
                q = q.bind(v);
            }
            for v in [&f.channel, &f.direction, &f.state, &f.outcome]
                .into_iter()
                .flatten()
            {
                q = q.bind(v.clone());
            }
            if let Some(v) = f.campaign_id {
                q = q.bind(v);
            }
            if let Some(v) = f.before {
                q = q.bind(v);
            }
            q.fetch_all(pool).await
        })?;
        rows.into_iter().map(CallInfo::try_from).collect()
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<CallInfo>, StorageError> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = $1");
        let row: Option<CallRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(CallInfo::try_from).transpose()
    }

    pub async fn turns(&self, id: Uuid) -> Result<Vec<TurnRecord>, StorageError> {
        let rows: Vec<TurnRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT seq, speaker, text, language, confidence, started_at, ended_at, interrupted, stt_final_ms, \
                 brain_first_token_ms, first_tts_audio_ms, first_packet_ms, overhead_ms, heard_ms, turn_decision_ms FROM call_turns WHERE call_id = $1 ORDER BY seq",
            )
            .bind(id)
            .fetch_all(pool)
            .await
        })?;
        let ms = |v: Option<i64>| v.map(|x| x.clamp(0, i64::from(u32::MAX)) as u32);
        rows.into_iter()
            .map(|r| {
                let latency = TurnLatency {
                    stt_final_ms: ms(r.stt_final_ms),
                    brain_first_token_ms: ms(r.brain_first_token_ms),
                    first_tts_audio_ms: ms(r.first_tts_audio_ms),
                    first_packet_ms: ms(r.first_packet_ms),
                    overhead_ms: ms(r.overhead_ms),
                    heard_ms: ms(r.heard_ms),
                    turn_decision_ms: ms(r.turn_decision_ms),
                };
                let any = latency != TurnLatency::default();
                Ok(TurnRecord {
                    seq: r.seq as u32,
                    speaker: from_text(&r.speaker)?,
                    text: r.text,
                    language: r.language,
                    confidence: r.confidence,
                    started_at: r.started_at,
                    ended_at: r.ended_at,
                    interrupted: r.interrupted,
                    latency: any.then_some(latency),
                })
            })
            .collect()
    }

    pub async fn events(&self, id: Uuid) -> Result<Vec<CallEvent>, StorageError> {
        let rows: Vec<EventRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT call_id, at, data FROM call_events WHERE call_id = $1 ORDER BY seq",
            )
            .bind(id)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|r| {
                let _ = (r.call_id, r.at);
                serde_json::from_value(r.data.0).map_err(|e| StorageError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// The call with transcript and events, if it belongs to `site_id` (any site when `None`).
    pub async fn detail(
        &self,
        site_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<Option<CallDetail>, StorageError> {
        let Some(call) = self.get(id).await? else {
            return Ok(None);
        };
        if site_id.is_some_and(|s| s != call.site_id) {
            return Ok(None);
        }
        let events = self.events(id).await?;
        let facts = crate::calls::call_facts::CallFacts::from_events(&events);
        Ok(Some(CallDetail {
            transcript: self.turns(id).await?,
            qualification: facts.qualification,
            tags: facts.tags,
            recording_url: facts
                .recorded
                .then(|| crate::calls::call_facts::recording_path(id)),
            events,
            call,
        }))
    }

    /// Calls left `ringing`/`active`/... by a node that died: marked ended at start-up.
    pub async fn end_orphans(&self, reason: &str) -> Result<u64, StorageError> {
        let now = Utc::now();
        let done = with_pool!(self.store, |pool| {
            sqlx::query("UPDATE calls SET state = 'ended', outcome = 'failed', end_reason = $1, ended_at = $2 WHERE state <> 'ended'")
                .bind(reason)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        if done > 0 {
            let ids: Vec<Uuid> = with_pool!(self.store, |pool| {
                sqlx::query_scalar("SELECT id FROM calls WHERE state = 'ended' AND ended_at = $1 AND end_reason = $2").bind(now).bind(reason).fetch_all(pool).await
            })?;
            for id in ids {
                self.finalize(id).await?;
                touch_call(self.store, id).await?;
            }
        }
        Ok(done)
    }
}
