//! Partials computed straight from the `calls` and `call_turns` tables, per bucket of a time
//! range: the source of every hour's rollup, of a window's partial edge hours, and of queries
//! over every site.

use std::collections::BTreeMap;

use super::partial::{DURATION_BIN_MS, Hist, MAX_DROP_WITHIN_S, Partial};
use super::window::{self, Arg, Window, bind_all};
use super::{AnalyticsQuery, AnalyticsRepo, SINGLE, millis};
use crate::storage::{DatabaseKind, StorageError};
use crate::with_pool;

#[derive(sqlx::FromRow)]
struct CountsRow {
    bucket: i64,
    outcome: String,
    language: String,
    total: i64,
    answered: i64,
    ended: i64,
    transferred: i64,
    transfer_failed: i64,
    holding: i64,
    ai_base: i64,
    drop_holding: i64,
    hangup_unanswered: i64,
}

impl From<CountsRow> for Partial {
    fn from(r: CountsRow) -> Partial {
        Partial {
            total: r.total,
            answered: r.answered,
            ended: r.ended,
            transferred: r.transferred,
            transfer_failed: r.transfer_failed,
            holding: r.holding,
            ai_base: r.ai_base,
            drop_holding: r.drop_holding,
            hangup_unanswered: r.hangup_unanswered,
            outcomes: [(r.outcome, r.total)].into(),
            call_languages: [(r.language, r.total)].into(),
            ..Default::default()
        }
    }
}

/// Rows `(bucket, a, b, c)` of a grouped query.
type Quad = (i64, i64, i64, i64);

impl AnalyticsRepo<'_> {
    /// `column` as integer milliseconds since the epoch, in this backend's SQL.
    fn epoch_ms(&self, column: &str) -> String {
        window::epoch_ms(self.store.kind(), column)
    }

    /// Partials of the calls of `q` (its site, channel, campaign) started in `[q.from, q.to)`,
    /// per bucket `(started − base) / step`: every bucket meeting the range is present (empty
    /// ones carry the concurrency of calls open through them). `step` = [`SINGLE`] gives one
    /// bucket, 0, for the whole range.
    pub(super) async fn raw(
        &self,
        q: &AnalyticsQuery,
        base: i64,
        step: i64,
    ) -> Result<BTreeMap<i64, Partial>, StorageError> {
        let first = (millis(q.from) - base).div_euclid(step);
        let last = (millis(q.to) - 1 - base).div_euclid(step);
        let mut out: BTreeMap<i64, Partial> =
            (first..=last).map(|b| (b, Partial::default())).collect();

        for r in self.counts(q, base, step).await? {
            if let Some(p) = out.get_mut(&r.bucket) {
                p.merge(&Partial::from(r));
            }
        }

        let mut hists: BTreeMap<i64, [Vec<(i64, i64)>; 4]> = BTreeMap::new();
        for (bucket, unresolved, s, n) in self.hangups(q, base, step).await? {
            hists.entry(bucket).or_default()[usize::from(unresolved != 0)]
                .push((s.clamp(0, MAX_DROP_WITHIN_S), n));
        }
        for (bucket, s, n, sum) in self.durations(q, base, step).await? {
            hists.entry(bucket).or_default()[2].push((s, n));
            if let Some(p) = out.get_mut(&bucket) {
                p.duration_sum_ms += sum;
            }
        }
        for (bucket, v, n) in self.responses(q, base, step).await? {
            hists.entry(bucket).or_default()[3].push((v, n));
        }
        for (bucket, [resolved, unresolved, durations, responses]) in hists {
            let Some(p) = out.get_mut(&bucket) else {
                continue;
            };
            p.hangup_resolved_s = Hist::from_pairs(resolved);
            p.hangup_unresolved_s = Hist::from_pairs(unresolved);
            p.duration_s = Hist::from_pairs(durations);
            p.response_ms = Hist::from_pairs(responses);
        }

        for (bucket, language, n) in self.turn_languages(q, base, step).await? {
            if let Some(p) = out.get_mut(&bucket) {
                *p.turn_languages.entry(language).or_default() += n;
            }
        }
        let peaks = self
            .peaks(q, base, step, (last + 1).max(0) as usize)
            .await?;
        for (bucket, p) in out.iter_mut() {
            p.peak = usize::try_from(*bucket)
                .ok()
                .and_then(|b| peaks.get(b))
                .copied()
                .unwrap_or(0);
        }
        Ok(out)
    }

    /// SQL of the bucket of `started` (a column); no per-row arithmetic for [`SINGLE`].
    fn bucket_of(&self, w: &mut Window, started: &str, base: i64, step: i64) -> String {
        if step == SINGLE {
            return "CAST(0 AS BIGINT)".into();
        }
        let base = w.arg(Arg::Int(base));
        let step = w.arg(Arg::Int(step));
        format!("(({}) - {base}) / {step}", self.epoch_ms(started))
    }

    async fn fetch_quads(&self, sql: String, w: &Window) -> Result<Vec<Quad>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            bind_all!(
                sqlx::query_as::<_, Quad>(sqlx::AssertSqlSafe(sql.clone())),
                w.args
            )
            .fetch_all(pool)
            .await
        })?)
    }

    /// One scan of the window's calls: counts, outcomes and calls per language per bucket.
    async fn counts(
        &self,
        q: &AnalyticsQuery,
        base: i64,
        step: i64,
    ) -> Result<Vec<CountsRow>, StorageError> {
        let mut w = Window::calls(q);
        let bucket = self.bucket_of(&mut w, "c.started_at", base, step);
        let hung = "c.outcome = 'caller_hung_up'";
        let n = |cond: &str| format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)");
        let sql = format!(
            "SELECT {bucket} AS bucket, COALESCE(c.outcome, 'in_progress') AS outcome, c.language AS language, COUNT(*) AS total, \
             {answered} AS answered, {ended} AS ended, {transferred} AS transferred, {failed} AS transfer_failed, {holding} AS holding, \
             {ai} AS ai_base, {d_hold} AS drop_holding, {unanswered} AS hangup_unanswered \
             FROM calls c WHERE {where_} GROUP BY 1, 2, 3",
            answered = n("c.answered_at IS NOT NULL"),
            ended = n("c.ended_at IS NOT NULL"),
            transferred = n("c.outcome = 'transferred'"),
            failed = n("c.outcome = 'transfer_failed'"),
            holding = n("c.answered_at IS NOT NULL AND c.holding_count > 0"),
            ai = n("c.answered_at IS NOT NULL AND c.outcome IN ('completed', 'hung_up_by_api')"),
            d_hold = n(&format!("{hung} AND c.ended_holding")),
            unanswered = n(&format!(
                "{hung} AND NOT c.ended_holding AND c.answered_at IS NULL"
            )),
            where_ = w.where_sql(),
        );
        Ok(with_pool!(self.store, |pool| {
            bind_all!(
                sqlx::query_as::<_, CountsRow>(sqlx::AssertSqlSafe(sql.clone())),
                w.args
            )
            .fetch_all(pool)
            .await
        })?)
    }

    /// Answered caller hang-ups not during holding: (bucket, unresolved 0/1, whole seconds of
    /// talk, calls). Whether one is a drop depends on the request's `drop_within_s`.
    async fn hangups(
        &self,
        q: &AnalyticsQuery,
        base: i64,
        step: i64,
    ) -> Result<Vec<Quad>, StorageError> {
        let mut w = Window::calls(q);
        let bucket = self.bucket_of(&mut w, "c.started_at", base, step);
        let sql = format!(
            "SELECT {bucket} AS bucket, CASE WHEN c.last_speaker IS NULL OR c.last_speaker = 'caller' THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END AS unresolved, \
             c.duration_ms / {DURATION_BIN_MS} AS s, COUNT(*) AS n FROM calls c \
             WHERE {} AND c.outcome = 'caller_hung_up' AND NOT c.ended_holding AND c.answered_at IS NOT NULL AND c.duration_ms IS NOT NULL \
             GROUP BY 1, 2, 3",
            w.where_sql()
        );
        self.fetch_quads(sql, &w).await
    }

    /// Talk time of answered, ended calls: (bucket, whole seconds, calls, exact sum in ms).
    async fn durations(
        &self,
        q: &AnalyticsQuery,
        base: i64,
        step: i64,
    ) -> Result<Vec<Quad>, StorageError> {
        let mut w = Window::calls(q);
        let bucket = self.bucket_of(&mut w, "c.started_at", base, step);
        let sql = format!(
            "SELECT {bucket} AS bucket, c.duration_ms / {DURATION_BIN_MS} AS s, COUNT(*) AS n, CAST(SUM(c.duration_ms) AS BIGINT) AS total \
             FROM calls c WHERE {} AND c.duration_ms IS NOT NULL GROUP BY 1, 2",
            w.where_sql()
        );
        self.fetch_quads(sql, &w).await
    }

    /// Bot response times: (bucket, exact ms, turns) — a few thousand distinct values at most.
    async fn responses(
        &self,
        q: &AnalyticsQuery,
        base: i64,
        step: i64,
    ) -> Result<Vec<(i64, i64, i64)>, StorageError> {
        let mut w = Window::turns(q);
        w.sql += " AND t.speaker = 'bot' AND t.first_packet_ms IS NOT NULL";
        let bucket = self.bucket_of(&mut w, "t.call_started_at", base, step);
        let sql = format!(
            "SELECT {bucket} AS bucket, t.first_packet_ms AS v, COUNT(*) AS n FROM call_turns t WHERE {} GROUP BY 1, 2",
            w.where_sql()
        );
        Ok(with_pool!(self.store, |pool| {
            bind_all!(
                sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql.clone())),
                w.args
            )
            .fetch_all(pool)
            .await
        })?)
    }

    /// Caller and bot turns per language: (bucket, language, turns).
    async fn turn_languages(
        &self,
        q: &AnalyticsQuery,
        base: i64,
        step: i64,
    ) -> Result<Vec<(i64, String, i64)>, StorageError> {
        let mut w = Window::turns(q);
        let bucket = self.bucket_of(&mut w, "t.call_started_at", base, step);
        let sql = format!(
            "SELECT {bucket} AS bucket, t.language, COUNT(*) AS n FROM call_turns t WHERE {} GROUP BY 1, 2",
            w.where_sql()
        );
        Ok(with_pool!(self.store, |pool| {
            bind_all!(
                sqlx::query_as::<_, (i64, String, i64)>(sqlx::AssertSqlSafe(sql.clone())),
                w.args
            )
            .fetch_all(pool)
            .await
        })?)
    }

    /// Peak concurrency per bucket 0..n, swept by the database (only one row per bucket comes
    /// back): +1 at the start of every call open at some point of `[from, to)` (calls open at
    /// `from` start there), −1 at its end, ends before starts at the same instant (a call ending
    /// when another starts does not overlap it). An end is booked in the bucket before its
    /// instant, so a bucket's opening level is the sum of the earlier buckets' changes.
    async fn peaks(
        &self,
        q: &AnalyticsQuery,
        base: i64,
        step: i64,
        n: usize,
    ) -> Result<Vec<i64>, StorageError> {
        let mut w = Window::any_time(q);
        let p_from = w.arg(Arg::Time(q.from));
        let p_to = w.arg(Arg::Time(q.to));
        let from_ms = w.arg(Arg::Int(millis(q.from)));
        let to_ms = w.arg(Arg::Int(millis(q.to)));
        let p_base = w.arg(Arg::Int(base));
        let p_step = w.arg(Arg::Int(step));
        let (start, end) = (self.epoch_ms("c.started_at"), self.epoch_ms("c.ended_at"));
        // Calls open at `from` are found through `ended_at` (bounded by the window), never
        // through `started_at < from` (all history): SQLite's unary `+` keeps it off that index.
        let plus = if self.store.kind() == DatabaseKind::Sqlite {
            "+"
        } else {
            ""
        };
        let sql = format!(
            "WITH ov AS (\
               SELECT {start} AS s, {end} AS e FROM calls c WHERE {where_} AND c.started_at >= {p_from} AND c.started_at < {p_to} \
               UNION ALL SELECT {from_ms} AS s, {end} AS e FROM calls c WHERE {where_} AND {plus}c.started_at < {p_from} AND c.ended_at > {p_from} \
               UNION ALL SELECT {from_ms} AS s, NULL AS e FROM calls c WHERE {where_} AND {plus}c.started_at < {p_from} AND c.ended_at IS NULL), \
             ev AS (\
               SELECT s AS t, 1 AS d, (s - {p_base}) / {p_step} AS b FROM ov WHERE e IS NULL OR e > s \
               UNION ALL SELECT e AS t, -1 AS d, (e - 1 - {p_base}) / {p_step} AS b FROM ov WHERE e > s AND e < {to_ms}), \
             run AS (SELECT b, d, SUM(d) OVER (ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS level FROM ev) \
             SELECT b, COALESCE(MAX(CASE WHEN d = 1 THEN level END), 0) AS peak, SUM(d) AS net FROM run GROUP BY b",
            where_ = w.where_sql()
        );
        let rows: Vec<(i64, i64, i64)> = with_pool!(self.store, |pool| {
            bind_all!(
                sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql.clone())),
                w.args
            )
            .fetch_all(pool)
            .await
        })?;
        let by: BTreeMap<i64, (i64, i64)> = rows
            .into_iter()
            .map(|(b, peak, net)| (b, (peak, net)))
            .collect();
        let mut level = 0;
        Ok((0..n as i64)
            .map(|b| {
                let (peak, net) = by.get(&b).copied().unwrap_or((0, 0));
                let p = level.max(peak);
                level += net;
                p
            })
            .collect())
    }
}
