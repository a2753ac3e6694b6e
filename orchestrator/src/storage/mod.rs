//! Persistence on SQLite (one node, the default) or PostgreSQL (multi-node), behind one [`Store`].
//!
//! Pattern for a new table set (calls, flows, campaigns, ...):
//! 1. add a migration to BOTH `migrations/sqlite` and `migrations/postgres`;
//! 2. add `storage/<thing>.rs` with a `ThingRepo<'a> { store: &'a Store }` whose methods write
//!    their SQL once (`$1`-style placeholders work on both backends) and run it through
//!    [`with_pool!`](crate::with_pool), which expands the same code for each pool type;
//! 3. add `Store::things(&self) -> ThingRepo<'_>` and tests via [`storage_test!`](crate::storage_test)
//!    so they run on both backends.

pub mod analytics;
mod api_keys;
pub mod calls;
pub mod campaigns;
pub mod dnd;
mod flows;
pub mod jobs;
pub mod kb;
pub mod kb_jobs;
pub mod leads;
pub mod routes;
mod sites;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
#[cfg(test)]
mod tests;
pub mod transcriptions;
pub mod webhooks;
pub mod widget_keys;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub use api_keys::ApiKeysRepo;
pub use flows::{FlowSummary, FlowVersion, FlowVersionInfo, FlowsRepo};
pub use sites::SitesRepo;
pub use sqlx::{PgPool, SqlitePool};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::config::DatabaseConfig;

/// Migrations for each backend, embedded in the binary.
pub static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");
pub static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// Storage failures. `NotFound`-like outcomes are `Option`/`bool` results, not errors.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot create database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// Which backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn from_url(url: &str) -> Result<DatabaseKind, StorageError> {
        if url.starts_with("sqlite:") {
            Ok(DatabaseKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseKind::Postgres)
        } else {
            Err(StorageError::UnsupportedUrl(url.to_string()))
        }
    }
}

/// The connection pool of the configured backend. Exposed so job queues (apalis-sqlite,
/// apalis-postgres) share the same pool instead of opening their own.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same block against whichever pool backs `$store`: `$pool` is bound to a
/// `&SqlitePool` in one arm and a `&PgPool` in the other, so the block is type-checked for
/// both. Write SQL that both accept (`$1` placeholders, standard types).
#[macro_export]
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store.backend() {
            $crate::storage::Backend::Sqlite($pool) => $body,
            $crate::storage::Backend::Postgres($pool) => $body,
        }
    };
}

/// Handle to the database; cheap to clone. Repositories hang off it (`store.sites()`).
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

impl Store {
    /// Opens a pool for `config.url`, creating the SQLite file (and its folder) if missing.
    /// Does not migrate; call [`Store::migrate`].
    pub async fn connect(config: &DatabaseConfig) -> Result<Store, StorageError> {
        match DatabaseKind::from_url(&config.url)? {
            DatabaseKind::Sqlite => {
                let options = SqliteConnectOptions::from_str(&config.url)?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5));
                if let Some(dir) = options.get_filename().parent()
                    && !dir.as_os_str().is_empty()
                    && dir != Path::new(":memory:")
                {
                    std::fs::create_dir_all(dir).map_err(|source| StorageError::CreateDir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                Ok(Self::connect_sqlite(options, config.max_connections).await?)
            }
            DatabaseKind::Postgres => {
                let options = PgConnectOptions::from_str(&config.url)?;
                Ok(Self::connect_postgres(options, config.max_connections).await?)
            }
        }
    }

    pub async fn connect_sqlite(
        options: SqliteConnectOptions,
        max: u32,
    ) -> Result<Store, sqlx::Error> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Store::from_backend(Backend::Sqlite(pool)))
    }

    pub async fn connect_postgres(
        options: PgConnectOptions,
        max: u32,
    ) -> Result<Store, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Store::from_backend(Backend::Postgres(pool)))
    }

    pub fn from_backend(backend: Backend) -> Store {
        Store { backend }
    }

    /// Applies the embedded migrations of this backend (idempotent).
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match &self.backend {
            Backend::Sqlite(pool) => SQLITE_MIGRATOR.run(pool).await?,
            Backend::Postgres(pool) => POSTGRES_MIGRATOR.run(pool).await?,
        }
        jobs::migrate(&self.backend).await
    }

    pub fn jobs(&self) -> jobs::JobsRepo<'_> {
        jobs::JobsRepo::new(self)
    }

    /// Round-trips a trivial query: the readiness check.
    pub async fn ping(&self) -> Result<(), StorageError> {
        with_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub fn kind(&self) -> DatabaseKind {
        match self.backend {
            Backend::Sqlite(_) => DatabaseKind::Sqlite,
            Backend::Postgres(_) => DatabaseKind::Postgres,
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.backend {
            Backend::Sqlite(p) => Some(p),
            Backend::Postgres(_) => None,
        }
    }

    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.backend {
            Backend::Postgres(p) => Some(p),
            Backend::Sqlite(_) => None,
        }
    }

    /// Closes every pooled connection (graceful shutdown).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => p.close().await,
            Backend::Postgres(p) => p.close().await,
        }
    }

    pub fn sites(&self) -> SitesRepo<'_> {
        SitesRepo::new(self)
    }

    pub fn api_keys(&self) -> ApiKeysRepo<'_> {
        ApiKeysRepo::new(self)
    }

    pub fn flows(&self) -> FlowsRepo<'_> {
        FlowsRepo::new(self)
    }

    pub fn analytics(&self) -> analytics::AnalyticsRepo<'_> {
        analytics::AnalyticsRepo::new(self)
    }

    pub fn calls(&self) -> calls::CallsRepo<'_> {
        calls::CallsRepo::new(self)
    }

    pub fn kb(&self) -> kb::KbRepo<'_> {
        kb::KbRepo::new(self)
    }

    pub fn kb_jobs(&self) -> kb_jobs::KbJobsRepo<'_> {
        kb_jobs::KbJobsRepo::new(self)
    }

    pub fn routes(&self) -> routes::RoutesRepo<'_> {
        routes::RoutesRepo::new(self)
    }

    pub fn transcriptions(&self) -> transcriptions::TranscriptionsRepo<'_> {
        transcriptions::TranscriptionsRepo::new(self)
    }

    pub fn campaigns(&self) -> campaigns::CampaignsRepo<'_> {
        campaigns::CampaignsRepo::new(self)
    }

    pub fn leads(&self) -> leads::LeadsRepo<'_> {
        leads::LeadsRepo::new(self)
    }

    pub fn dnd(&self) -> dnd::DndRepo<'_> {
        dnd::DndRepo::new(self)
    }

    pub fn webhooks(&self) -> webhooks::WebhooksRepo<'_> {
        webhooks::WebhooksRepo::new(self)
    }

    pub fn widget_keys(&self) -> widget_keys::WidgetKeysRepo<'_> {
        widget_keys::WidgetKeysRepo::new(self)
    }
}
