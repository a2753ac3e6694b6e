//! Do-not-call lists, per site and global: every outbound path asks [`DndRepo::blocks`] before
//! dialling, and a flow's `opt_out()` adds the caller to its site's list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::sites::now;
use super::{StorageError, Store};
use crate::with_pool;

/// One number on a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct DndEntry {
    /// E.164 (`+919812345678`).
    pub number: String,
    /// The site whose list holds it; absent for the global list.
    pub site_id: Option<Uuid>,
    pub reason: String,
    /// `api`, `flow` (the caller opted out during a call), ...
    pub source: String,
    pub created_at: DateTime<Utc>,
}

const GLOBAL: &str = "global";

fn scope(site_id: Option<Uuid>) -> String {
    site_id.map_or_else(|| GLOBAL.to_string(), |s| s.to_string())
}

/// `store.dnd()`.
pub struct DndRepo<'a> {
    store: &'a Store,
}

impl<'a> DndRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Adds `number` (already E.164) to a site's list or the global one (`None`); adding it
    /// again keeps the first entry. Returns whether it was new.
    pub async fn add(
        &self,
        site_id: Option<Uuid>,
        number: &str,
        reason: &str,
        source: &str,
    ) -> Result<bool, StorageError> {
        let (scope, ts) = (scope(site_id), now());
        Ok(with_pool!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO dnd_numbers (scope, site_id, number, reason, source, created_at) VALUES ($1,$2,$3,$4,$5,$6) \
                 ON CONFLICT (scope, number) DO NOTHING",
            )
            .bind(&scope)
            .bind(site_id)
            .bind(number)
            .bind(reason)
            .bind(source)
            .bind(ts)
            .execute(pool)
            .await?
            .rows_affected()
        }) > 0)
    }

    /// Removes a number from a list; false when it was not there.
    pub async fn remove(&self, site_id: Option<Uuid>, number: &str) -> Result<bool, StorageError> {
        let scope = scope(site_id);
        Ok(with_pool!(self.store, |pool| {
            sqlx::query("DELETE FROM dnd_numbers WHERE scope = $1 AND number = $2")
                .bind(&scope)
                .bind(number)
                .execute(pool)
                .await?
                .rows_affected()
        }) > 0)
    }

    /// A list in number order, `limit` entries after `after` (for paging).
    pub async fn list(
        &self,
        site_id: Option<Uuid>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DndEntry>, StorageError> {
        let scope = scope(site_id);
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT number, site_id, reason, source, created_at FROM dnd_numbers \
                 WHERE scope = $1 AND number > $2 ORDER BY number LIMIT $3",
            )
            .bind(&scope)
            .bind(after.unwrap_or(""))
            .bind(limit.clamp(1, 1000))
            .fetch_all(pool)
            .await?
        }))
    }

    /// Whether a site may not call `number`: on the site's list or the global one.
    pub async fn blocks(&self, site_id: Uuid, number: &str) -> Result<bool, StorageError> {
        let scope = scope(Some(site_id));
        let hit: Option<String> = with_pool!(self.store, |pool| {
            sqlx::query_scalar("SELECT number FROM dnd_numbers WHERE number = $1 AND (scope = $2 OR scope = 'global') LIMIT 1")
                .bind(number)
                .bind(&scope)
                .fetch_optional(pool)
                .await?
        });
        Ok(hit.is_some())
    }

    /// Every number a site may not call (its list and the global one), for checking many
    /// numbers at once (lead uploads).
    pub async fn numbers_blocked_for(
        &self,
        site_id: Uuid,
    ) -> Result<std::collections::HashSet<String>, StorageError> {
        let scope = scope(Some(site_id));
        let rows: Vec<String> = with_pool!(self.store, |pool| {
            sqlx::query_scalar(
                "SELECT number FROM dnd_numbers WHERE scope = $1 OR scope = 'global'",
            )
            .bind(&scope)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().collect())
    }
}
