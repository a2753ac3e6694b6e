//! Campaigns: `store.campaigns()`. JSON-shaped parts (days, retry policy) are stored as text.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::calls::{from_text, to_text};
use super::sites::now;
use super::{StorageError, Store};
use crate::campaigns::{Campaign, CampaignHours, CampaignProgress, CampaignSpec, CampaignStatus};
use crate::with_pool;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    site_id: Uuid,
    name: String,
    flow: String,
    caller_id: Option<String>,
    status: String,
    time_zone: String,
    calling_days: String,
    start_time: String,
    end_time: String,
    telemarketing: bool,
    max_concurrent: i64,
    calls_per_minute: i64,
    retry: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, site_id, name, flow, caller_id, status, time_zone, calling_days, start_time, end_time, telemarketing, \
    max_concurrent, calls_per_minute, retry, created_at, updated_at";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("campaign {what}: {e}"))
}

impl TryFrom<Row> for Campaign {
    type Error = StorageError;
    fn try_from(r: Row) -> Result<Self, StorageError> {
        Ok(Campaign {
            id: r.id,
            site_id: r.site_id,
            status: from_text(&r.status)?,
            spec: CampaignSpec {
                name: r.name,
                flow: r.flow,
                caller_id: r.caller_id,
                time_zone: r.time_zone,
                calling_hours: CampaignHours {
                    days: serde_json::from_str(&r.calling_days).map_err(|e| corrupt("days", e))?,
                    start: r.start_time,
                    end: r.end_time,
                },
                telemarketing: r.telemarketing,
                max_concurrent: u32::try_from(r.max_concurrent)
                    .map_err(|e| corrupt("max_concurrent", e))?,
                calls_per_minute: u32::try_from(r.calls_per_minute)
                    .map_err(|e| corrupt("calls_per_minute", e))?,
                retry: serde_json::from_str(&r.retry).map_err(|e| corrupt("retry", e))?,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// `store.campaigns()`.
pub struct CampaignsRepo<'a> {
    store: &'a Store,
}

impl<'a> CampaignsRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Stores a validated spec as a `draft` campaign.
    pub async fn create(
        &self,
        site_id: Uuid,
        spec: &CampaignSpec,
    ) -> Result<Campaign, StorageError> {
        let (id, ts) = (Uuid::now_v7(), now());
        let days =
            serde_json::to_string(&spec.calling_hours.days).map_err(|e| corrupt("days", e))?;
        let retry = serde_json::to_string(&spec.retry).map_err(|e| corrupt("retry", e))?;
        with_pool!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO campaigns (id, site_id, name, flow, caller_id, status, time_zone, calling_days, start_time, end_time, \
                 telemarketing, max_concurrent, calls_per_minute, retry, created_at, updated_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$15)",
            )
            .bind(id)
            .bind(site_id)
            .bind(&spec.name)
            .bind(&spec.flow)
            .bind(&spec.caller_id)
            .bind(to_text(&CampaignStatus::Draft))
            .bind(&spec.time_zone)
            .bind(&days)
            .bind(&spec.calling_hours.start)
            .bind(&spec.calling_hours.end)
            .bind(spec.telemarketing)
            .bind(i64::from(spec.max_concurrent))
            .bind(i64::from(spec.calls_per_minute))
            .bind(&retry)
            .bind(ts)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.get(Some(site_id), id)
            .await?
            .ok_or_else(|| corrupt("row", "vanished after insert"))
    }

    /// One campaign; `site_id` restricts it to a site (`None`: any).
    pub async fn get(
        &self,
        site_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<Option<Campaign>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM campaigns WHERE id = $1 AND ($2 IS NULL OR site_id = $2)"
        );
        let row: Option<Row> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(site_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Campaign::try_from).transpose()
    }

    /// A site's campaigns, newest first.
    pub async fn list(&self, site_id: Uuid) -> Result<Vec<Campaign>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE site_id = $1 ORDER BY id DESC");
        let rows: Vec<Row> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(site_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Campaign::try_from).collect()
    }

    /// Replaces the settable parts; false when the campaign is unknown.
    pub async fn update(
        &self,
        site_id: Uuid,
        id: Uuid,
        spec: &CampaignSpec,
    ) -> Result<bool, StorageError> {
        let days =
            serde_json::to_string(&spec.calling_hours.days).map_err(|e| corrupt("days", e))?;
        let retry = serde_json::to_string(&spec.retry).map_err(|e| corrupt("retry", e))?;
        let ts = now();
        Ok(with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE campaigns SET name = $3, flow = $4, caller_id = $5, time_zone = $6, calling_days = $7, start_time = $8, \
                 end_time = $9, telemarketing = $10, max_concurrent = $11, calls_per_minute = $12, retry = $13, updated_at = $14 \
                 WHERE id = $1 AND site_id = $2",
            )
            .bind(id)
            .bind(site_id)
            .bind(&spec.name)
            .bind(&spec.flow)
            .bind(&spec.caller_id)
            .bind(&spec.time_zone)
            .bind(&days)
            .bind(&spec.calling_hours.start)
            .bind(&spec.calling_hours.end)
            .bind(spec.telemarketing)
            .bind(i64::from(spec.max_concurrent))
            .bind(i64::from(spec.calls_per_minute))
            .bind(&retry)
            .bind(ts)
            .execute(pool)
            .await?
            .rows_affected()
        }) > 0)
    }

    /// Deletes a campaign and its leads; false when unknown.
    pub async fn delete(&self, site_id: Uuid, id: Uuid) -> Result<bool, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query("DELETE FROM campaigns WHERE id = $1 AND site_id = $2")
                .bind(id)
                .bind(site_id)
                .execute(pool)
                .await?
                .rows_affected()
        }) > 0)
    }

    /// Lead counts by state.
    pub async fn progress(&self, id: Uuid) -> Result<CampaignProgress, StorageError> {
        let rows: Vec<(String, i64)> = with_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT status, COUNT(*) FROM leads WHERE campaign_id = $1 GROUP BY status",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        let mut p = CampaignProgress::default();
        for (status, n) in rows {
            p.total += n;
            match status.as_str() {
                "pending" => p.pending += n,
                "dialing" => p.dialing += n,
                "done" => p.done += n,
                "skipped" => p.skipped += n,
                _ => {}
            }
        }
        Ok(p)
    }

    /// Moves a campaign from one of `from` to `to`; `None` when it is in another state (or
    /// unknown), so two concurrent requests cannot both win.
    pub async fn set_status(
        &self,
        site_id: Option<Uuid>,
        id: Uuid,
        from: &[CampaignStatus],
        to: CampaignStatus,
    ) -> Result<Option<Campaign>, StorageError> {
        let ts = now();
        let mut changed = 0;
        for f in from {
            changed += with_pool!(self.store, |pool| {
                sqlx::query("UPDATE campaigns SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2 AND ($5 IS NULL OR site_id = $5)")
                    .bind(id)
                    .bind(to_text(f))
                    .bind(to_text(&to))
                    .bind(ts)
                    .bind(site_id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            if changed > 0 {
                break;
            }
        }
        if changed == 0 {
            return Ok(None);
        }
        self.get(site_id, id).await
    }

    /// Every running campaign (all sites): what the dialer works on.
    pub async fn running(&self) -> Result<Vec<Campaign>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE status = 'running' ORDER BY id");
        let rows: Vec<Row> = with_pool!(self.store, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .fetch_all(pool)
        .await?);
        rows.into_iter().map(Campaign::try_from).collect()
    }

    /// Campaigns running or paused, or changed since `since` (just finished): the digest's.
    pub async fn all_active_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<Campaign>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM campaigns WHERE status IN ('running', 'paused') OR updated_at >= $1 ORDER BY id"
        );
        let rows: Vec<Row> = with_pool!(self.store, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(since)
        .fetch_all(pool)
        .await?);
        rows.into_iter().map(Campaign::try_from).collect()
    }
}
