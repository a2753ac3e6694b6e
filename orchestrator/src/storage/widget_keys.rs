//! Public widget keys: what a web page embeds to open widget calls for its site. Separate from
//! API keys because it is published; it only opens voice sessions, and only from the site's
//! allowed origins.

use rand::RngCore;
use uuid::Uuid;

use super::sites::now;
use super::{StorageError, Store};
use crate::with_pool;

/// `wk_` + 32 hex characters (128 random bits).
pub fn generate_widget_key() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("wk_{hex}")
}

/// `store.widget_keys()`.
pub struct WidgetKeysRepo<'a> {
    store: &'a Store,
}

impl<'a> WidgetKeysRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// The site's key, created on first use.
    pub async fn get_or_create(&self, site_id: Uuid) -> Result<String, StorageError> {
        let ts = now();
        let fresh = generate_widget_key();
        with_pool!(self.store, |pool| {
            sqlx::query("INSERT INTO widget_keys (site_id, key, created_at) VALUES ($1, $2, $3) ON CONFLICT (site_id) DO NOTHING")
                .bind(site_id)
                .bind(&fresh)
                .bind(ts)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_scalar::<_, String>("SELECT key FROM widget_keys WHERE site_id = $1")
                .bind(site_id)
                .fetch_one(pool)
                .await
        })?)
    }

    /// Replaces the site's key: pages embedding the old one stop working.
    pub async fn rotate(&self, site_id: Uuid) -> Result<String, StorageError> {
        let (ts, fresh) = (now(), generate_widget_key());
        with_pool!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO widget_keys (site_id, key, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (site_id) DO UPDATE SET key = excluded.key, created_at = excluded.created_at",
            )
            .bind(site_id)
            .bind(&fresh)
            .bind(ts)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(fresh)
    }

    /// The site a key opens, if any.
    pub async fn site_for(&self, key: &str) -> Result<Option<Uuid>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_scalar::<_, Uuid>("SELECT site_id FROM widget_keys WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await
        })?)
    }
}
