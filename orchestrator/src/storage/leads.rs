//! Leads of campaigns: `store.leads()`. A number appears once per campaign (re-uploads add
//! only new numbers); numbers on a do-not-call list are stored `skipped` with the reason, so
//! the upload report and the lead list show why they will never be dialled.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::sites::now;
use super::{StorageError, Store};
use crate::campaigns::leads_csv::ParsedLead;
use crate::with_pool;

/// A lead with its dialling state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lead {
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// Line of the uploaded CSV it came from.
    pub line: i64,
    /// E.164.
    pub phone: String,
    pub name: Option<String>,
    /// The CSV's other columns; the flow reads them with `get(name)`.
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// `pending`, `dialing`, `done` or `skipped`.
    pub status: String,
    /// Why a `skipped` lead is never dialled (`do_not_call`).
    pub skip_reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Outcome of the last attempt (`no_answer`, `busy`, `completed`, ...).
    pub last_outcome: Option<String>,
    pub last_call_id: Option<Uuid>,
    /// What the flow recorded (qualification, opt-out, callback).
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    campaign_id: Uuid,
    line: i64,
    phone: String,
    name: Option<String>,
    fields: String,
    status: String,
    skip_reason: Option<String>,
    attempts: i64,
    next_attempt_at: Option<DateTime<Utc>>,
    last_outcome: Option<String>,
    last_call_id: Option<Uuid>,
    result: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, campaign_id, line, phone, name, fields, status, skip_reason, attempts, next_attempt_at, last_outcome, \
    last_call_id, result, created_at, updated_at";

impl TryFrom<Row> for Lead {
    type Error = StorageError;
    fn try_from(r: Row) -> Result<Self, StorageError> {
        fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, StorageError> {
            serde_json::from_str(s).map_err(|e| StorageError::Corrupt(format!("lead {what}: {e}")))
        }
        Ok(Lead {
            id: r.id,
            campaign_id: r.campaign_id,
            line: r.line,
            phone: r.phone,
            name: r.name,
            fields: json("fields", &r.fields)?,
            status: r.status,
            skip_reason: r.skip_reason,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_outcome: r.last_outcome,
            last_call_id: r.last_call_id,
            result: r.result.as_deref().map(|s| json("result", s)).transpose()?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// What an upload added.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeadsAdded {
    /// New leads that will be dialled.
    pub added: usize,
    /// New leads on a do-not-call list: stored as `skipped`, never dialled.
    pub skipped_dnd: usize,
    /// Numbers the campaign already had.
    pub already_in_campaign: usize,
}

/// `store.leads()`.
pub struct LeadsRepo<'a> {
    store: &'a Store,
}

impl<'a> LeadsRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Adds parsed leads to a campaign in one transaction.
    pub async fn add(
        &self,
        site_id: Uuid,
        campaign_id: Uuid,
        leads: &[ParsedLead],
    ) -> Result<LeadsAdded, StorageError> {
        let mut out = LeadsAdded::default();
        let ts = now();
        let dnd = self.store.dnd().numbers_blocked_for(site_id).await?;
        let blocked: Vec<bool> = leads.iter().map(|l| dnd.contains(&l.phone)).collect();
        macro_rules! insert_all {
            ($pool:expr) => {{
                let mut tx = $pool.begin().await?;
                for (l, dnd) in leads.iter().zip(&blocked) {
                    let fields = serde_json::to_string(&l.fields).map_err(|e| StorageError::Corrupt(format!("lead fields: {e}")))?;
                    let (status, reason) = if *dnd { ("skipped", Some("do_not_call")) } else { ("pending", None) };
                    let n = sqlx::query(
                        "INSERT INTO leads (id, campaign_id, site_id, line, phone, name, fields, status, skip_reason, attempts, created_at, updated_at) \
                         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,0,$10,$10) ON CONFLICT (campaign_id, phone) DO NOTHING",
                    )
                    .bind(Uuid::now_v7())
                    .bind(campaign_id)
                    .bind(site_id)
                    .bind(i64::try_from(l.line).unwrap_or(i64::MAX))
                    .bind(&l.phone)
                    .bind(&l.name)
                    .bind(&fields)
                    .bind(status)
                    .bind(reason)
                    .bind(ts)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    match (n, dnd) {
                        (0, _) => out.already_in_campaign += 1,
                        (_, true) => out.skipped_dnd += 1,
                        _ => out.added += 1,
                    }
                }
                tx.commit().await?;
            }};
        }
        match self.store.backend() {
            super::Backend::Sqlite(pool) => insert_all!(pool),
            super::Backend::Postgres(pool) => insert_all!(pool),
        }
        Ok(out)
    }

    /// A campaign's leads in upload order, `limit` after the lead `after`; `status` filters.
    pub async fn list(
        &self,
        campaign_id: Uuid,
        status: Option<&str>,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Lead>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM leads WHERE campaign_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4"
        );
        let rows: Vec<Row> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(campaign_id)
                .bind(status)
                .bind(after)
                .bind(limit.clamp(1, 1000))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Lead::try_from).collect()
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<Lead>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM leads WHERE id = $1");
        let row: Option<Row> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Lead::try_from).transpose()
    }

    /// Takes the next due lead of a campaign for an attempt: `pending` → `dialing`, attempts
    /// + 1, in one statement, so two dialers (nodes) never take the same lead.
    pub async fn claim_next(
        &self,
        campaign_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Lead>, StorageError> {
        let pick = "SELECT id FROM leads WHERE campaign_id = $1 AND status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= $2) \
                    ORDER BY next_attempt_at IS NOT NULL, next_attempt_at, id LIMIT 1";
        let lock = match self.store.backend() {
            super::Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            super::Backend::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE leads SET status = 'dialing', attempts = attempts + 1, last_call_id = NULL, updated_at = $3 \
             WHERE id = ({pick}{lock}) AND status = 'pending' RETURNING {COLUMNS}"
        );
        let row: Option<Row> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(campaign_id)
                .bind(now)
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        row.map(Lead::try_from).transpose()
    }

    /// Records the call of a lead's live attempt.
    pub async fn set_call(&self, id: Uuid, call_id: Uuid) -> Result<(), StorageError> {
        let ts = now();
        with_pool!(self.store, |pool| {
            sqlx::query("UPDATE leads SET last_call_id = $2, updated_at = $3 WHERE id = $1 AND status = 'dialing'")
                .bind(id)
                .bind(call_id)
                .bind(ts)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Gives a claimed lead back untouched (the attempt never started: node full).
    pub async fn release(&self, id: Uuid) -> Result<(), StorageError> {
        let ts = now();
        with_pool!(self.store, |pool| {
            sqlx::query("UPDATE leads SET status = 'pending', attempts = attempts - 1, updated_at = $2 WHERE id = $1 AND status = 'dialing'")
                .bind(id)
                .bind(ts)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Ends a lead's live attempt: `pending` again at `retry_at`, or `done` (`skipped` with
    /// `skip_reason`). Only a `dialing` lead changes (so a late or repeated report is a no-op);
    /// returns whether it did.
    pub async fn finish_attempt(&self, id: Uuid, end: &AttemptEnd) -> Result<bool, StorageError> {
        let ts = now();
        let (status, next_at, skip) = match (&end.retry_at, &end.skip_reason) {
            (_, Some(reason)) => ("skipped", None, Some(reason.as_str())),
            (Some(at), None) => ("pending", Some(*at), None),
            (None, None) => ("done", None, None),
        };
        let result = end
            .result
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StorageError::Corrupt(format!("lead result: {e}")))?;
        Ok(with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE leads SET status = $2, next_attempt_at = $3, last_outcome = $4, result = COALESCE($5, result), skip_reason = $6, updated_at = $7 \
                 WHERE id = $1 AND status = 'dialing'",
            )
            .bind(id)
            .bind(status)
            .bind(next_at)
            .bind(&end.outcome)
            .bind(result)
            .bind(skip)
            .bind(ts)
            .execute(pool)
            .await?
            .rows_affected()
        }) > 0)
    }

    /// Leads of a campaign with a live attempt (across nodes).
    pub async fn count_dialing(&self, campaign_id: Uuid) -> Result<i64, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM leads WHERE campaign_id = $1 AND status = 'dialing'",
            )
            .bind(campaign_id)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Leads still to finish (pending or dialing).
    pub async fn count_open(&self, campaign_id: Uuid) -> Result<i64, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE campaign_id = $1 AND status IN ('pending', 'dialing')")
                .bind(campaign_id)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Every `dialing` lead (all campaigns): the dialer's recovery looks at them.
    pub async fn dialing(&self) -> Result<Vec<Lead>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM leads WHERE status = 'dialing' ORDER BY id");
        let rows: Vec<Row> = with_pool!(self.store, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .fetch_all(pool)
        .await?);
        rows.into_iter().map(Lead::try_from).collect()
    }
}

/// How an attempt ended, for [`LeadsRepo::finish_attempt`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttemptEnd {
    /// `completed`, `busy`, `no_answer`, ..., `interrupted` (cut by a restart).
    pub outcome: String,
    /// Try again then (already inside the calling window); `None`: the lead is done.
    pub retry_at: Option<DateTime<Utc>>,
    /// The lead will never be dialled (`do_not_call`).
    pub skip_reason: Option<String>,
    /// What the flow recorded; kept from earlier attempts when `None`.
    pub result: Option<Value>,
}
