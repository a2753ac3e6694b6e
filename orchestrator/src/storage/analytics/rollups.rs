//! Hourly rollups: each past hour of a site is stored as an encoded [`Partial`] per *slice*
//! (every call, one channel, one campaign, or both), so a window of N hours reads N small rows
//! instead of every call in it.
//!
//! Rollups are built when a query first needs them and rebuilt when stale: every write to a call
//! (insert, update, turn, end) bumps the generation of the stored hours from the call's start on
//! (`analytics_hours.gen`, see [`touch_call`]); a rollup is fresh while the generation it was
//! computed at is still the hour's. The generation is read before the hour's calls, so a write
//! racing a rebuild leaves the rollup stale, never wrong. The current hour (and later ones) is
//! never stored: it is computed from the calls at each request.

use std::collections::BTreeMap;

use chrono::Utc;
use uuid::Uuid;

use super::partial::Partial;
use super::window::{self, Arg, Window, bind_all};
use super::{AnalyticsQuery, AnalyticsRepo, HOUR_MS, millis};
use crate::storage::{StorageError, Store};
use crate::with_pool;

/// Marks the stored hours of `call_id`'s site from the call's start on as changed. Call it after
/// every write to the call or its turns (the write must be committed first).
pub(crate) async fn touch_call(store: &Store, call_id: Uuid) -> Result<(), StorageError> {
    let started = window::epoch_ms(store.kind(), "c.started_at");
    // hour_ms > started − 1 h ⟺ the hour ends after the call started: its hour and every later one.
    let sql = format!(
        "UPDATE analytics_hours SET gen = gen + 1 WHERE site_id = (SELECT c.site_id FROM calls c WHERE c.id = $1) \
         AND hour_ms > (SELECT {started} - {HOUR_MS} FROM calls c WHERE c.id = $1)"
    );
    with_pool!(store, |pool| {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(call_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The slice key of a query's channel and campaign ("" = every call of the site).
fn slice(q: &AnalyticsQuery) -> String {
    let mut parts = Vec::new();
    if let Some(ch) = q.channel {
        parts.push(format!("channel={}", crate::storage::calls::to_text(&ch)));
    }
    if let Some(c) = q.campaign_id {
        parts.push(format!("campaign={c}"));
    }
    parts.join(";")
}

/// Start of the UTC hour holding `ms`.
pub(super) fn floor_hour(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

impl AnalyticsRepo<'_> {
    /// The partials of the full hours `[h0, h1)` (hour starts, both in the past) of `q`'s site
    /// and slice, by hour start; hours before the slice's first call are left out (all zero).
    pub(super) async fn hours(
        &self,
        q: &AnalyticsQuery,
        h0: i64,
        h1: i64,
    ) -> Result<BTreeMap<i64, Partial>, StorageError> {
        let Some(site) = q.site_id else {
            return Ok(BTreeMap::new());
        };
        let Some(first) = self.first_call_ms(q).await? else {
            return Ok(BTreeMap::new());
        };
        let lo = h0.max(floor_hour(first));
        if lo >= h1 {
            return Ok(BTreeMap::new());
        }
        let slice = slice(q);
        let mut out = self.fresh(site, &slice, lo, h1).await?;
        let mut missing = Vec::new();
        let mut h = lo;
        while h < h1 {
            if !out.contains_key(&h) {
                match missing.last_mut() {
                    Some((_, end)) if *end == h => *end = h + HOUR_MS,
                    _ => missing.push((h, h + HOUR_MS)),
                }
            }
            h += HOUR_MS;
        }
        for (a, b) in missing {
            out.extend(self.build(q, site, &slice, a, b).await?);
        }
        Ok(out)
    }

    /// Start of the slice's first call, whenever it was.
    async fn first_call_ms(&self, q: &AnalyticsQuery) -> Result<Option<i64>, StorageError> {
        let w = Window::any_time(q);
        let sql = format!(
            "SELECT MIN(c.started_at) FROM calls c WHERE {}",
            w.where_sql()
        );
        let first: Option<chrono::DateTime<Utc>> = with_pool!(self.store, |pool| {
            bind_all!(
                sqlx::query_scalar::<_, Option<chrono::DateTime<Utc>>>(sqlx::AssertSqlSafe(
                    sql.clone()
                )),
                w.args
            )
            .fetch_one(pool)
            .await
        })?;
        Ok(first.map(millis))
    }

    /// Stored rollups of `[a, b)` still at their hour's generation, decoded.
    async fn fresh(
        &self,
        site: Uuid,
        slice: &str,
        a: i64,
        b: i64,
    ) -> Result<BTreeMap<i64, Partial>, StorageError> {
        let rows: Vec<(i64, Vec<u8>)> = with_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT r.hour_ms, r.data FROM analytics_rollups r JOIN analytics_hours h ON h.site_id = r.site_id AND h.hour_ms = r.hour_ms \
                 WHERE r.site_id = $1 AND r.slice = $2 AND r.hour_ms >= $3 AND r.hour_ms < $4 AND r.gen = h.gen",
            )
            .bind(site)
            .bind(slice)
            .bind(a)
            .bind(b)
            .fetch_all(pool)
            .await
        })?;
        // A rollup that does not decode (written by another version) is simply rebuilt.
        Ok(rows
            .into_iter()
            .filter_map(|(h, data)| Some((h, Partial::decode(&data)?)))
            .collect())
    }

    /// Computes the hours `[a, b)` from the calls and stores them with the generation read first.
    async fn build(
        &self,
        q: &AnalyticsQuery,
        site: Uuid,
        slice: &str,
        a: i64,
        b: i64,
    ) -> Result<BTreeMap<i64, Partial>, StorageError> {
        let mut w = Window::empty();
        let (p_site, p_a, p_b, p_step) = (
            w.arg(Arg::Uuid(site)),
            w.arg(Arg::Int(a)),
            w.arg(Arg::Int(b)),
            w.arg(Arg::Int(HOUR_MS)),
        );
        let ensure = format!(
            "WITH RECURSIVE h(x) AS (SELECT CAST({p_a} AS BIGINT) UNION ALL SELECT x + {p_step} FROM h WHERE x + {p_step} < {p_b}) \
             INSERT INTO analytics_hours (site_id, hour_ms, gen) SELECT {p_site}, x, 0 FROM h WHERE TRUE ON CONFLICT (site_id, hour_ms) DO NOTHING"
        );
        let gens: Vec<(i64, i64)> = with_pool!(self.store, |pool| {
            async {
                bind_all!(sqlx::query(sqlx::AssertSqlSafe(ensure.clone())), w.args).execute(pool).await?;
                sqlx::query_as("SELECT hour_ms, gen FROM analytics_hours WHERE site_id = $1 AND hour_ms >= $2 AND hour_ms < $3")
                    .bind(site)
                    .bind(a)
                    .bind(b)
                    .fetch_all(pool)
                    .await
            }
            .await
        })?;
        let gens: BTreeMap<i64, i64> = gens.into_iter().collect();

        let range = AnalyticsQuery {
            from: super::at_millis(a),
            to: super::at_millis(b),
            ..q.clone()
        };
        let parts: BTreeMap<i64, Partial> = self
            .raw(&range, a, HOUR_MS)
            .await?
            .into_iter()
            .map(|(i, p)| (a + i * HOUR_MS, p))
            .collect();

        let upsert = "INSERT INTO analytics_rollups (site_id, slice, hour_ms, gen, data) VALUES ($1, $2, $3, $4, $5) \
                      ON CONFLICT (site_id, slice, hour_ms) DO UPDATE SET gen = excluded.gen, data = excluded.data";
        with_pool!(self.store, |pool| {
            async {
                let mut tx = pool.begin().await?;
                for (hour, p) in &parts {
                    let generation = gens.get(hour).copied().unwrap_or(-1);
                    sqlx::query(upsert)
                        .bind(site)
                        .bind(slice)
                        .bind(*hour)
                        .bind(generation)
                        .bind(p.encode())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }
            .await
        })?;
        metrics::counter!("vaarta_analytics_rollups_built_total").increment(parts.len() as u64);
        tracing::debug!(%site, slice, hours = parts.len(), "analytics rollups built");
        Ok(parts)
    }
}
