//! Test databases: a fresh SQLite file or a fresh PostgreSQL schema per test, migrated, and
//! removed on drop (also when the test panics). Enabled by the `test-support` feature.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use super::Store;

/// PostgreSQL server for tests; override with `VAARTA_TEST_DATABASE_URL`.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn test_database_url() -> String {
    std::env::var("VAARTA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_string())
}

/// A migrated, empty [`Store`] owned by one test.
pub struct TestDb {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<String>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("test.db"))
            .create_if_missing(true)
            .foreign_keys(true);
        let store = Store::connect_sqlite(options, 4)
            .await
            .expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        TestDb {
            store,
            _dir: Some(dir),
            pg_schema: None,
        }
    }

    /// Creates schema `t_<uuid>` and points the pool's `search_path` at it.
    pub async fn postgres() -> TestDb {
        let url = test_database_url();
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let base = PgConnectOptions::from_str(&url).expect("VAARTA_TEST_DATABASE_URL");
        let admin = Store::connect_postgres(base.clone(), 1)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} (run scripts/setup --test): {e}"));
        let pool = admin.pg_pool().expect("pg");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(pool)
            .await
            .expect("create schema");
        admin.close().await;
        // `public` second: extensions (hstore, for the apalis job tables) live there.
        let search_path = format!("{schema},public");
        let options = base.options([("search_path", search_path.as_str())]);
        let store = Store::connect_postgres(options, 4)
            .await
            .expect("connect to test schema");
        store.migrate().await.expect("migrate PostgreSQL");
        TestDb {
            store,
            _dir: None,
            pg_schema: Some(schema),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(schema) = self.pg_schema.take() else {
            return;
        };
        // Drop is synchronous and may run inside a runtime: clean up on a helper thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let options = PgConnectOptions::from_str(&test_database_url()).ok()?;
                let admin = Store::connect_postgres(options, 1).await.ok()?;
                let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                // Bounded: a connection of the test's own pool may still hold a lock whose
                // release needs the test's runtime, which is blocked joining this thread; then
                // the schema is left behind rather than the test hanging.
                let mut conn = admin.pg_pool()?.acquire().await.ok()?;
                let _ = sqlx::query("SET lock_timeout = '5s'")
                    .execute(&mut *conn)
                    .await;
                if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *conn)
                    .await
                {
                    eprintln!("test schema {schema} left behind: {e}");
                }
                drop(conn);
                admin.close().await;
                Some(())
            })
        })
        .join();
    }
}

/// Defines a test module `$name` with one `#[tokio::test]` per backend (`sqlite`, `postgres`),
/// each getting a fresh migrated `Store` bound to `$store`.
///
/// ```ignore
/// storage_test!(creates_site, |store| {
///     let site = store.sites().create(&new_site("A")).await.unwrap();
///     assert_eq!(store.sites().get(site.site_id).await.unwrap(), Some(site));
/// });
/// ```
#[macro_export]
macro_rules! storage_test {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let db = $crate::storage::testing::TestDb::sqlite().await;
                let $store: $crate::storage::Store = db.store.clone();
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let db = $crate::storage::testing::TestDb::postgres().await;
                let $store: $crate::storage::Store = db.store.clone();
                $body
            }
        }
    };
}
