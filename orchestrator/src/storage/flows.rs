//! Flow versions table: every upload of a site's flow is kept as a new immutable version;
//! one version per flow may be active (the one calls run). Rollback = activate an older one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::sites::now;
use super::{StorageError, Store};
use crate::with_pool;

/// One stored version of a flow, with its source and flow tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FlowVersion {
    pub name: String,
    /// 1, 2, 3... per (site, flow name).
    pub version: i64,
    /// The Rhai source.
    pub source: String,
    /// The flow tests (`FlowTestSuite` JSON) run when this version is activated, if any.
    #[schema(value_type = Option<Object>)]
    pub tests: Option<serde_json::Value>,
    /// Whether this is the version calls run.
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A version without its source: the version history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FlowVersionInfo {
    pub version: i64,
    pub active: bool,
    /// Whether flow tests are stored with this version.
    pub has_tests: bool,
    /// Length of the source in characters.
    pub source_chars: i64,
    pub created_at: DateTime<Utc>,
}

/// A flow of a site: its newest and its active version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FlowSummary {
    pub name: String,
    pub latest_version: i64,
    /// `None` until a version is activated.
    pub active_version: Option<i64>,
    pub versions: i64,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    name: String,
    version: i64,
    source: String,
    tests: Option<Json<serde_json::Value>>,
    active: bool,
    created_at: DateTime<Utc>,
}

impl From<VersionRow> for FlowVersion {
    fn from(r: VersionRow) -> FlowVersion {
        FlowVersion {
            name: r.name,
            version: r.version,
            source: r.source,
            tests: r.tests.map(|t| t.0),
            active: r.active,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    name: String,
    latest_version: i64,
    active_version: Option<i64>,
    versions: i64,
}

const COLUMNS: &str = "name, version, source, tests, active, created_at";

/// Flows repository: `store.flows()`. Names are assumed validated by the caller.
pub struct FlowsRepo<'a> {
    store: &'a Store,
}

impl<'a> FlowsRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Stores `source` (and its tests) as the next version of `name`; not active yet.
    pub async fn put(
        &self,
        site_id: Uuid,
        name: &str,
        source: &str,
        tests: Option<&serde_json::Value>,
    ) -> Result<FlowVersion, StorageError> {
        let created_at = now();
        // The next version number is computed in the INSERT; a concurrent upload of the same
        // flow loses the primary-key race and simply retries with the next number.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let inserted: Result<i64, sqlx::Error> = with_pool!(self.store, |pool| {
                sqlx::query_scalar(
                    "INSERT INTO flow_versions (site_id, name, version, source, tests, active, created_at) \
                     SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4, FALSE, $5 \
                     FROM flow_versions WHERE site_id = $1 AND name = $2 \
                     RETURNING version",
                )
                .bind(site_id)
                .bind(name)
                .bind(source)
                .bind(tests.map(Json))
                .bind(created_at)
                .fetch_one(pool)
                .await
            });
            match inserted {
                Ok(version) => {
                    return Ok(FlowVersion {
                        name: name.to_string(),
                        version,
                        source: source.to_string(),
                        tests: tests.cloned(),
                        active: false,
                        created_at,
                    });
                }
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() && attempt < 5 => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// One version, or the latest when `version` is `None`.
    pub async fn get(
        &self,
        site_id: Uuid,
        name: &str,
        version: Option<i64>,
    ) -> Result<Option<FlowVersion>, StorageError> {
        let row: Option<VersionRow> = match version {
            Some(v) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM flow_versions WHERE site_id = $1 AND name = $2 AND version = $3"
                );
                with_pool!(self.store, |pool| {
                    sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(site_id)
                        .bind(name)
                        .bind(v)
                        .fetch_optional(pool)
                        .await
                })?
            }
            None => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM flow_versions WHERE site_id = $1 AND name = $2 ORDER BY version DESC LIMIT 1"
                );
                with_pool!(self.store, |pool| {
                    sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(site_id)
                        .bind(name)
                        .fetch_optional(pool)
                        .await
                })?
            }
        };
        Ok(row.map(FlowVersion::from))
    }

    /// The active version of `name`, if one is active.
    pub async fn active(
        &self,
        site_id: Uuid,
        name: &str,
    ) -> Result<Option<FlowVersion>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM flow_versions WHERE site_id = $1 AND name = $2 AND active"
        );
        let row: Option<VersionRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(site_id)
                .bind(name)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(FlowVersion::from))
    }

    /// The site's flows by name, each with its latest and active version.
    pub async fn list(&self, site_id: Uuid) -> Result<Vec<FlowSummary>, StorageError> {
        let rows: Vec<SummaryRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT name, MAX(version) AS latest_version, \
                 MAX(CASE WHEN active THEN version END) AS active_version, COUNT(*) AS versions \
                 FROM flow_versions WHERE site_id = $1 GROUP BY name ORDER BY name",
            )
            .bind(site_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| FlowSummary {
                name: r.name,
                latest_version: r.latest_version,
                active_version: r.active_version,
                versions: r.versions,
            })
            .collect())
    }

    /// The version history of `name`, newest first (empty when the flow does not exist).
    pub async fn versions(
        &self,
        site_id: Uuid,
        name: &str,
    ) -> Result<Vec<FlowVersionInfo>, StorageError> {
        let rows: Vec<(i64, bool, bool, i64, DateTime<Utc>)> = with_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT version, active, tests IS NOT NULL, CAST(LENGTH(source) AS BIGINT), created_at \
                 FROM flow_versions WHERE site_id = $1 AND name = $2 ORDER BY version DESC",
            )
            .bind(site_id)
            .bind(name)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(version, active, has_tests, source_chars, created_at)| FlowVersionInfo {
                    version,
                    active,
                    has_tests,
                    source_chars,
                    created_at,
                },
            )
            .collect())
    }

    /// Makes `version` the only active version of `name` in one statement; `false` when that
    /// version does not exist (nothing changes then).
    pub async fn activate(
        &self,
        site_id: Uuid,
        name: &str,
        version: i64,
    ) -> Result<bool, StorageError> {
        if self.get(site_id, name, Some(version)).await?.is_none() {
            return Ok(false);
        }
        with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE flow_versions SET active = (version = $3) \
                 WHERE site_id = $1 AND name = $2 AND (active OR version = $3)",
            )
            .bind(site_id)
            .bind(name)
            .bind(version)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(true)
    }

    /// Deletes every version of a flow; false when it did not exist.
    pub async fn delete(&self, site_id: Uuid, name: &str) -> Result<bool, StorageError> {
        let n = with_pool!(self.store, |pool| {
            sqlx::query("DELETE FROM flow_versions WHERE site_id = $1 AND name = $2")
                .bind(site_id)
                .bind(name)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use crate::storage_test;
    use crate::tenancy::NewSite;

    async fn site(store: &crate::storage::Store, name: &str) -> Uuid {
        let new = NewSite {
            name: name.into(),
            settings: Default::default(),
        };
        store.sites().create(&new).await.unwrap().site_id
    }

    storage_test!(flow_versions_are_kept_and_activated, |store| {
        let a = site(&store, "Alpha").await;
        let flows = store.flows();
        assert_eq!(flows.get(a, "main", None).await.unwrap(), None);
        assert!(flows.list(a).await.unwrap().is_empty());

        let tests = json!({"tests": []});
        let v1 = flows
            .put(a, "main", "say(\"one\");", Some(&tests))
            .await
            .unwrap();
        let v2 = flows.put(a, "main", "say(\"two\");", None).await.unwrap();
        let other = flows
            .put(a, "transfer_rules", "fn x() { 1 }", None)
            .await
            .unwrap();
        assert_eq!((v1.version, v2.version, other.version), (1, 2, 1));

        assert_eq!(flows.get(a, "main", None).await.unwrap(), Some(v2.clone()));
        assert_eq!(
            flows.get(a, "main", Some(1)).await.unwrap(),
            Some(v1.clone())
        );
        assert_eq!(
            flows.get(a, "main", Some(1)).await.unwrap().unwrap().tests,
            Some(tests)
        );
        assert_eq!(flows.get(a, "main", Some(3)).await.unwrap(), None);
        assert_eq!(flows.active(a, "main").await.unwrap(), None);

        assert!(flows.activate(a, "main", 2).await.unwrap());
        assert_eq!(flows.active(a, "main").await.unwrap().unwrap().version, 2);
        // Rollback: exactly one version stays active.
        assert!(flows.activate(a, "main", 1).await.unwrap());
        assert_eq!(flows.active(a, "main").await.unwrap().unwrap().version, 1);
        assert!(!flows.activate(a, "main", 9).await.unwrap());
        assert_eq!(flows.active(a, "main").await.unwrap().unwrap().version, 1);

        let history = flows.versions(a, "main").await.unwrap();
        let summary: Vec<(i64, bool, bool, i64)> = history
            .iter()
            .map(|v| (v.version, v.active, v.has_tests, v.source_chars))
            .collect();
        assert_eq!(summary, vec![(2, false, false, 11), (1, true, true, 11)]);

        let list = flows.list(a).await.unwrap();
        let list: Vec<(&str, i64, Option<i64>, i64)> = list
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.latest_version,
                    f.active_version,
                    f.versions,
                )
            })
            .collect();
        assert_eq!(
            list,
            vec![("main", 2, Some(1), 2), ("transfer_rules", 1, None, 1)]
        );
    });

    storage_test!(flows_belong_to_their_site, |store| {
        let a = site(&store, "Alpha").await;
        let b = site(&store, "Beta").await;
        store
            .flows()
            .put(a, "main", "say(\"a\");", None)
            .await
            .unwrap();
        let vb = store
            .flows()
            .put(b, "main", "say(\"b\");", None)
            .await
            .unwrap();
        assert_eq!(vb.version, 1, "version numbers are per site");
        assert!(store.flows().activate(b, "main", 1).await.unwrap());
        assert_eq!(store.flows().active(a, "main").await.unwrap(), None);
        assert_eq!(
            store
                .flows()
                .get(a, "main", None)
                .await
                .unwrap()
                .unwrap()
                .source,
            "say(\"a\");"
        );
        assert!(
            store
                .flows()
                .list(b)
                .await
                .unwrap()
                .iter()
                .all(|f| f.name == "main" && f.versions == 1)
        );

        // Deleting a site deletes its flows.
        assert!(store.sites().delete(a).await.unwrap());
        assert!(store.flows().list(a).await.unwrap().is_empty());
        assert_eq!(store.flows().list(b).await.unwrap().len(), 1);
    });
}
