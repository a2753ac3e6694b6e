//! API keys table: hashed site keys.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sites::now;
use super::{StorageError, Store};
use crate::tenancy::api_key::{constant_time_eq, hash_key, parse_prefix};
use crate::tenancy::{ApiKey, GeneratedKey};
use crate::with_pool;

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    site_id: Uuid,
    prefix: String,
    key_hash: String,
    label: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<KeyRow> for ApiKey {
    fn from(r: KeyRow) -> ApiKey {
        ApiKey {
            key_id: r.id,
            site_id: r.site_id,
            prefix: format!("{}{}", crate::tenancy::KEY_PREFIX, r.prefix),
            label: r.label,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

const COLUMNS: &str = "id, site_id, prefix, key_hash, label, created_at, last_used_at, revoked_at";

/// API keys repository: `store.api_keys()`.
pub struct ApiKeysRepo<'a> {
    store: &'a Store,
}

impl<'a> ApiKeysRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Creates a key for `site_id`; returns its metadata and the full secret (shown once).
    /// The site must exist (foreign key).
    pub async fn create(
        &self,
        site_id: Uuid,
        label: &str,
    ) -> Result<(ApiKey, String), StorageError> {
        let generated = GeneratedKey::new();
        let key = ApiKey {
            key_id: Uuid::now_v7(),
            site_id,
            prefix: format!("{}{}", crate::tenancy::KEY_PREFIX, generated.prefix),
            label: label.to_string(),
            created_at: now(),
            last_used_at: None,
            revoked_at: None,
        };
        with_pool!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO api_keys (id, site_id, prefix, key_hash, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(key.key_id)
            .bind(site_id)
            .bind(&generated.prefix)
            .bind(&generated.hash)
            .bind(label)
            .bind(key.created_at)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok((key, generated.secret))
    }

    /// Keys of one site, oldest first, including revoked ones.
    pub async fn list(&self, site_id: Uuid) -> Result<Vec<ApiKey>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE site_id = $1 ORDER BY id");
        let rows: Vec<KeyRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(site_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(ApiKey::from).collect())
    }

    pub async fn get(&self, site_id: Uuid, key_id: Uuid) -> Result<Option<ApiKey>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE site_id = $1 AND id = $2");
        let row: Option<KeyRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(site_id)
                .bind(key_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(ApiKey::from))
    }

    /// Marks the key revoked (idempotent: the first revocation time is kept). `None` if the
    /// key does not exist in that site.
    pub async fn revoke(
        &self,
        site_id: Uuid,
        key_id: Uuid,
    ) -> Result<Option<ApiKey>, StorageError> {
        with_pool!(self.store, |pool| {
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE site_id = $2 AND id = $3 AND revoked_at IS NULL")
                .bind(now())
                .bind(site_id)
                .bind(key_id)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        self.get(site_id, key_id).await
    }

    /// Resolves a presented key to its live (unrevoked) record and stamps `last_used_at`.
    /// `None` for unknown, malformed or revoked keys.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<ApiKey>, StorageError> {
        let Some(prefix) = parse_prefix(presented) else {
            return Ok(None);
        };
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE prefix = $1");
        let row: Option<KeyRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(prefix)
                .fetch_optional(pool)
                .await
        })?;
        let Some(row) = row else { return Ok(None) };
        if !constant_time_eq(hash_key(presented).as_bytes(), row.key_hash.as_bytes())
            || row.revoked_at.is_some()
        {
            return Ok(None);
        }
        let used = now();
        with_pool!(self.store, |pool| {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(used)
                .bind(row.id)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        let mut key = ApiKey::from(row);
        key.last_used_at = Some(used);
        Ok(Some(key))
    }
}
