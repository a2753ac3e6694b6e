//! Outgoing signed webhooks (audit callbacks, CRM call webhooks): one row per payload, so a
//! delivery survives restarts, is never sent again once delivered, and ends in the dead-letter
//! list (`status = dead`) when the receiver keeps failing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::sites::now;
use super::{StorageError, Store};
use crate::with_pool;

/// One payload to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub site_id: Uuid,
    /// `transcription.completed`, `transcription.failed`, `call.ended`, ...
    pub kind: String,
    /// The transcription or call it is about.
    pub subject_id: Uuid,
    pub url: String,
    /// The exact body sent (and signed).
    pub payload: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, site_id, kind, subject_id, url, payload, status, attempts, last_error, created_at, updated_at, delivered_at";

/// `store.webhooks()`.
pub struct WebhooksRepo<'a> {
    store: &'a Store,
}

impl<'a> WebhooksRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    pub async fn create(
        &self,
        site_id: Uuid,
        kind: &str,
        subject_id: Uuid,
        url: &str,
        payload: &str,
    ) -> Result<WebhookDelivery, StorageError> {
        let id = Uuid::now_v7();
        let ts = now();
        with_pool!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, site_id, kind, subject_id, url, payload, status, attempts, created_at, updated_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,'pending',0,$7,$7)",
            )
            .bind(id)
            .bind(site_id)
            .bind(kind)
            .bind(subject_id)
            .bind(url)
            .bind(payload)
            .bind(ts)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.get(id)
            .await?
            .ok_or_else(|| StorageError::Corrupt("delivery vanished".into()))
    }

    /// Stores a delivery and queues its first attempt.
    pub async fn enqueue(
        &self,
        site_id: Uuid,
        kind: &str,
        subject_id: Uuid,
        url: &str,
        payload: &serde_json::Value,
    ) -> Result<WebhookDelivery, StorageError> {
        let body = serde_json::to_string(payload)
            .map_err(|e| StorageError::Corrupt(format!("webhook payload: {e}")))?;
        let d = self.create(site_id, kind, subject_id, url, &body).await?;
        self.schedule(d.id, 1, None).await?;
        Ok(d)
    }

    /// Queues attempt `attempt` of a delivery (after `delay`); each attempt is pushed once.
    pub async fn schedule(
        &self,
        id: Uuid,
        attempt: u32,
        delay: Option<std::time::Duration>,
    ) -> Result<(), StorageError> {
        let job = super::jobs::WebhookJob {
            delivery_id: id,
            attempt,
        };
        let opts = super::jobs::PushOptions {
            idempotency_key: Some(format!("webhook:{id}:{attempt}")),
            delay,
            max_attempts: Some(3),
        };
        self.store
            .jobs()
            .push(super::jobs::WEBHOOK, &job, opts)
            .await?;
        Ok(())
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<WebhookDelivery>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE id = $1");
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A site's deliveries, newest first; `status` filters (`dead` = the dead-letter list).
    pub async fn list(
        &self,
        site_id: Uuid,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_deliveries WHERE site_id = $1 AND ($2 IS NULL OR status = $2) ORDER BY id DESC LIMIT $3"
        );
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(site_id)
                .bind(status)
                .bind(limit.clamp(1, 500))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Counts a failed attempt; `dead` moves it to the dead-letter list.
    pub async fn failed_attempt(
        &self,
        id: Uuid,
        error: &str,
        dead: bool,
    ) -> Result<(), StorageError> {
        let ts = now();
        let status = if dead { "dead" } else { "pending" };
        with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $2, status = $3, updated_at = $4 \
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(error)
            .bind(status)
            .bind(ts)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    pub async fn delivered(&self, id: Uuid) -> Result<(), StorageError> {
        let ts = now();
        with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, status = 'delivered', last_error = NULL, updated_at = $2, \
                 delivered_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(ts)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Takes a dead delivery off the dead-letter list and queues one more attempt now; false
    /// when it is not dead (delivered, still retrying, or unknown).
    pub async fn revive(
        &self,
        site_id: Uuid,
        id: Uuid,
    ) -> Result<Option<WebhookDelivery>, StorageError> {
        let ts = now();
        let n = with_pool!(self.store, |pool| {
            sqlx::query("UPDATE webhook_deliveries SET status = 'pending', updated_at = $3 WHERE id = $1 AND site_id = $2 AND status = 'dead'")
                .bind(id)
                .bind(site_id)
                .bind(ts)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Ok(None);
        }
        let d = self
            .get(id)
            .await?
            .ok_or_else(|| StorageError::Corrupt("delivery vanished".into()))?;
        // Attempt numbers go on from the last, so the retry is a fresh job (and the worker, past
        // its retry schedule, dead-letters it again if this one fails too).
        self.schedule(id, d.attempts.max(0) as u32 + 1, None)
            .await?;
        Ok(Some(d))
    }
}
