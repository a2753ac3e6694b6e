//! Sites table.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::{StorageError, Store};
use crate::tenancy::{NewSite, Site, SitePatch, SiteSettings};
use crate::with_pool;

#[derive(sqlx::FromRow)]
struct SiteRow {
    id: Uuid,
    name: String,
    settings: Json<SiteSettings>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<SiteRow> for Site {
    fn from(r: SiteRow) -> Site {
        Site {
            site_id: r.id,
            name: r.name,
            settings: r.settings.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: &str = "id, name, settings, created_at, updated_at";

/// Sites repository: `store.sites()`. Inputs are assumed validated (`NewSite::validate`).
pub struct SitesRepo<'a> {
    store: &'a Store,
}

impl<'a> SitesRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    pub async fn create(&self, new: &NewSite) -> Result<Site, StorageError> {
        let now = now();
        let site = Site {
            site_id: Uuid::now_v7(),
            name: new.name.clone(),
            settings: new.settings.clone(),
            created_at: now,
            updated_at: now,
        };
        with_pool!(self.store, |pool| {
            sqlx::query("INSERT INTO sites (id, name, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(site.site_id)
                .bind(&site.name)
                .bind(Json(&site.settings))
                .bind(site.created_at)
                .bind(site.updated_at)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(site)
    }

    pub async fn get(&self, site_id: Uuid) -> Result<Option<Site>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM sites WHERE id = $1");
        let row: Option<SiteRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(site_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Site::from))
    }

    /// Sites in creation order (ids are UUIDv7), at most `limit` after `offset`.
    pub async fn list(&self, limit: u32, offset: u32) -> Result<Vec<Site>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM sites ORDER BY id LIMIT $1 OFFSET $2");
        let rows: Vec<SiteRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(Site::from).collect())
    }

    /// Applies `patch`; `None` when the site does not exist.
    pub async fn update(
        &self,
        site_id: Uuid,
        patch: &SitePatch,
    ) -> Result<Option<Site>, StorageError> {
        let Some(mut site) = self.get(site_id).await? else {
            return Ok(None);
        };
        if let Some(name) = &patch.name {
            site.name = name.clone();
        }
        if let Some(settings) = &patch.settings {
            site.settings = settings.clone();
        }
        site.updated_at = now();
        let done = with_pool!(self.store, |pool| {
            sqlx::query("UPDATE sites SET name = $1, settings = $2, updated_at = $3 WHERE id = $4")
                .bind(&site.name)
                .bind(Json(&site.settings))
                .bind(site.updated_at)
                .bind(site_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok((done == 1).then_some(site))
    }

    /// Deletes the site and, by cascade, everything it owns. `false` if it did not exist.
    pub async fn delete(&self, site_id: Uuid) -> Result<bool, StorageError> {
        let n = with_pool!(self.store, |pool| {
            sqlx::query("DELETE FROM sites WHERE id = $1")
                .bind(site_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }
}

/// Current time truncated to microseconds, the precision both backends keep, so what a
/// repository returns equals what a later read returns.
pub(crate) fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}
