//! Call analytics (docs/analytics.md is the contract): the summary and timeline figures of a
//! site's calls, computed in SQL from the `calls` table (with the per-call columns fixed by
//! [`CallsRepo::finalize`](super::calls::CallsRepo::finalize)) and the bot turns' latency.
//! The summary is the timeline with one bucket, so both always agree.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{DatabaseKind, StorageError, Store};
use crate::calls::CallChannel;
use crate::with_pool;

/// Every outcome key of `outcomes` (always all present, zeros included).
pub const OUTCOME_KEYS: &[&str] = &[
    "completed",
    "transferred",
    "transfer_failed",
    "caller_hung_up",
    "rejected",
    "no_answer",
    "busy",
    "failed",
    "declined",
    "invalid_number",
    "hung_up_by_api",
    "in_progress",
];

/// Language reported for calls and turns whose language is unknown (empty).
pub const UNKNOWN_LANGUAGE: &str = "und";

/// What to count: calls of one site (or every site) started in `[from, to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsQuery {
    pub site_id: Option<Uuid>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub channel: Option<CallChannel>,
    pub campaign_id: Option<Uuid>,
    /// A caller hang-up within this many seconds of the answer is a drop.
    pub drop_within_s: u32,
}

/// Timeline bucket width; buckets are aligned to UTC hours / days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Hour,
    Day,
}

impl Interval {
    pub fn millis(self) -> i64 {
        match self {
            Interval::Hour => 3_600_000,
            Interval::Day => 86_400_000,
        }
    }
}

/// Caller hang-ups counted as drops, by reason. Each drop has exactly one reason, taken in this
/// order: during holding, then within the first seconds, then before resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct DropBreakdown {
    /// The caller hung up while a holding message was the call's state.
    pub during_holding: i64,
    /// The caller hung up before the answer or within `drop_within_s` of it.
    pub within_first_seconds: i64,
    /// The caller hung up with their last words unanswered (or no bot turn at all).
    pub before_resolution: i64,
}

/// The figures of a window: the whole summary, or one timeline bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Calls started in the window.
    pub total_calls: i64,
    /// Of those, answered (the bot was connected).
    pub answered_calls: i64,
    /// Of those, ended.
    pub ended_calls: i64,
    /// Of those, not ended yet.
    pub in_progress_calls: i64,
    /// Answered, ended without transfer, not a drop, and not failed: `completed`,
    /// `hung_up_by_api`, or a caller hang-up that is not a drop.
    pub ai_handled_calls: i64,
    /// Outcome `transferred`.
    pub transferred_calls: i64,
    /// Outcome `transfer_failed`.
    pub transfer_failed_calls: i64,
    /// Caller hang-ups that are drops (see `drops`).
    pub dropped_calls: i64,
    pub drops: DropBreakdown,
    /// `dropped_calls / ended_calls`, 4 decimals; null when no call ended.
    pub drop_rate: Option<f64>,
    /// Answered calls that played at least one holding message.
    pub holding_calls: i64,
    /// `holding_calls / answered_calls`, 4 decimals; null when none answered.
    pub holding_rate: Option<f64>,
    /// Bot turns with a measured response time.
    pub response_turns: i64,
    /// Mean response time (end of caller speech → first bot audio packet), 0.1 ms.
    pub avg_response_ms: Option<f64>,
    /// Nearest-rank 50th percentile of the response times.
    pub p50_response_ms: Option<i64>,
    /// Nearest-rank 90th percentile of the response times.
    pub p90_response_ms: Option<i64>,
    /// Answered and ended calls (those with a duration).
    pub duration_calls: i64,
    /// Mean duration (answered_at → ended_at), 0.1 ms.
    pub avg_duration_ms: Option<f64>,
    pub p50_duration_ms: Option<i64>,
    pub p90_duration_ms: Option<i64>,
    /// Most calls open at the same time within the window (calls started earlier included).
    pub peak_concurrent_calls: i64,
    /// Calls per outcome; every outcome key present, `in_progress` for calls not ended.
    pub outcomes: BTreeMap<String, i64>,
}

/// Calls and turns per language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LanguageUsage {
    /// Language code ("en", "hi", "pa"); `und` when unknown.
    pub language: String,
    /// Calls whose (final) language is this one.
    pub calls: i64,
    /// Transcript turns (caller and bot) in this language, of the window's calls.
    pub turns: i64,
}

/// One timeline bucket `[start, end)` (the first and last only count their part inside the window).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A live count of one site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct LiveSite {
    pub site_id: Uuid,
    /// Calls not ended.
    pub current_calls: i64,
    /// By state: `ringing`, `active`, `holding`, `transferring` (all present).
    pub by_state: BTreeMap<String, i64>,
    /// By channel: `sip`, `widget` (all present).
    pub by_channel: BTreeMap<String, i64>,
}

/// Bucket width of the summary: one bucket wider than any window.
const SINGLE: i64 = i64::MAX / 4;

/// Analytics reads: `store.analytics()`.
pub struct AnalyticsRepo<'a> {
    store: &'a Store,
}

/// A bound value of a dynamically built query.
#[derive(Debug, Clone)]
enum Arg {
    Uuid(Uuid),
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
}

/// `WHERE` of the calls in a window, with its arguments (placeholders `$1..`).
struct Window {
    sql: String,
    args: Vec<Arg>,
}

impl Window {
    /// Calls `c` started in the window.
    fn new(q: &AnalyticsQuery) -> Window {
        Self::started_in(q, "c.", "c.started_at")
    }

    /// Turns `t` of the calls started in the window (turns carry their call's columns).
    fn turns(q: &AnalyticsQuery) -> Window {
        Self::started_in(q, "t.", "t.call_started_at")
    }

    fn started_in(q: &AnalyticsQuery, alias: &str, started: &str) -> Window {
        let mut w = Window { sql: String::new(), args: Vec::new() };
        if let Some(s) = q.site_id {
            w.push(&format!("{alias}site_id = "), Arg::Uuid(s));
        }
        w.push(&format!("{started} >= "), Arg::Time(q.from));
        w.push(&format!("{started} < "), Arg::Time(q.to));
        w.filters(q, alias);
        w
    }

    /// Calls of the site (and channel, campaign) regardless of time.
    fn any_time(q: &AnalyticsQuery) -> Window {
        let mut w = Window { sql: String::new(), args: Vec::new() };
        if let Some(s) = q.site_id {
            w.push("c.site_id = ", Arg::Uuid(s));
        }
        w.filters(q, "c.");
        w
    }

    fn filters(&mut self, q: &AnalyticsQuery, alias: &str) {
        if let Some(ch) = q.channel {
            self.push(&format!("{alias}channel = "), Arg::Text(super::calls::to_text(&ch)));
        }
        if let Some(c) = q.campaign_id {
            self.push(&format!("{alias}campaign_id = "), Arg::Uuid(c));
        }
    }

    fn push(&mut self, cond: &str, arg: Arg) {
        self.args.push(arg);
        let and = if self.sql.is_empty() { "" } else { " AND " };
        self.sql += &format!("{and}{cond}${}", self.args.len());
    }

    /// Adds an argument, returning its placeholder.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn where_sql(&self) -> String {
        if self.sql.is_empty() { "1 = 1".to_string() } else { self.sql.clone() }
    }
}

/// Binds the arguments in order. Statements are not kept prepared: PostgreSQL then plans each
/// with the actual window (a cached generic plan would not know a day from ten years and may
/// scan the whole table).
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q.persistent(false);
        for a in $args.iter() {
            q = match a {
                Arg::Uuid(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Time(v) => q.bind(*v),
                Arg::Int(v) => q.bind(*v),
            };
        }
        q
    }};
}

#[derive(sqlx::FromRow)]
struct CountsRow {
    bucket: i64,
    outcome: String,
    language: String,
    total: i64,
    answered: i64,
    ended: i64,
    ai_handled: i64,
    transferred: i64,
    transfer_failed: i64,
    drop_holding: i64,
    drop_early: i64,
    drop_unresolved: i64,
    holding: i64,
}

/// Rounds to `places` decimals (the contract's precision of rates and means).
fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| round(n as f64 / d as f64, 4))
}

/// Nearest-rank percentile position (1-based) of `p`% among `n` values: ⌈p·n/100⌉.
pub fn nearest_rank(p: i64, n: i64) -> i64 {
    (p * n + 99) / 100
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl<'a> AnalyticsRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// `column` as integer milliseconds since the epoch, in this backend's SQL.
    fn epoch_ms(&self, column: &str) -> String {
        match self.store.kind() {
            DatabaseKind::Sqlite => format!("CAST(ROUND(unixepoch({column}, 'subsec') * 1000) AS INTEGER)"),
            DatabaseKind::Postgres => format!("CAST(ROUND(EXTRACT(EPOCH FROM {column}) * 1000) AS BIGINT)"),
        }
    }

    /// Figures of the whole window (one bucket) and its calls and turns per language.
    pub async fn summary(&self, q: &AnalyticsQuery) -> Result<(Figures, Vec<LanguageUsage>), StorageError> {
        let (mut b, call_languages) = self.buckets(q, millis(q.from), SINGLE, 1).await?;
        let figures = b.pop().map(|b| b.figures).unwrap_or_default();
        Ok((figures, self.languages(q, call_languages).await?))
    }

    /// Figures per `interval` bucket, every bucket present. The first bucket starts at `from`
    /// truncated to the interval (UTC).
    pub async fn timeline(&self, q: &AnalyticsQuery, interval: Interval) -> Result<Vec<Bucket>, StorageError> {
        let step = interval.millis();
        let base = millis(q.from).div_euclid(step) * step;
        let n = (millis(q.to) - base + step - 1).div_euclid(step).max(1);
        Ok(self.buckets(q, base, step, n as usize).await?.0)
    }

    /// Number of buckets `interval` makes of the window (to refuse absurd requests early).
    pub fn bucket_count(q: &AnalyticsQuery, interval: Interval) -> i64 {
        let step = interval.millis();
        let base = millis(q.from).div_euclid(step) * step;
        (millis(q.to) - base + step - 1).div_euclid(step).max(1)
    }

    /// The buckets' figures, and the window's calls per language (read in the same scan).
    async fn buckets(&self, q: &AnalyticsQuery, base: i64, step: i64, n: usize) -> Result<(Vec<Bucket>, BTreeMap<String, i64>), StorageError> {
        let mut out: Vec<Bucket> = (0..n as i64)
            .map(|i| Bucket {
                start: at_millis(base + i * step),
                end: at_millis(base + (i + 1) * step),
                figures: Figures { outcomes: OUTCOME_KEYS.iter().map(|k| (k.to_string(), 0)).collect(), ..Default::default() },
            })
            .collect();
        let slot = |b: i64| usize::try_from(b).ok().filter(|&b| b < n);

        let mut languages: BTreeMap<String, i64> = BTreeMap::new();
        // Rows per (bucket, outcome, language): one scan gives counts, outcomes and languages.
        for r in self.counts(q, base, step).await? {
            let Some(i) = slot(r.bucket) else { continue };
            let f = &mut out[i].figures;
            f.total_calls += r.total;
            f.answered_calls += r.answered;
            f.ended_calls += r.ended;
            f.ai_handled_calls += r.ai_handled;
            f.transferred_calls += r.transferred;
            f.transfer_failed_calls += r.transfer_failed;
            f.drops.during_holding += r.drop_holding;
            f.drops.within_first_seconds += r.drop_early;
            f.drops.before_resolution += r.drop_unresolved;
            f.holding_calls += r.holding;
            *f.outcomes.entry(r.outcome).or_default() += r.total;
            *languages.entry(r.language).or_default() += r.total;
        }
        for b in &mut out {
            let f = &mut b.figures;
            f.in_progress_calls = f.total_calls - f.ended_calls;
            f.dropped_calls = f.drops.during_holding + f.drops.within_first_seconds + f.drops.before_resolution;
            f.drop_rate = ratio(f.dropped_calls, f.ended_calls);
            f.holding_rate = ratio(f.holding_calls, f.answered_calls);
        }
        for s in self.duration_spread(q, base, step).await? {
            let Some(i) = slot(s.bucket) else { continue };
            let f = &mut out[i].figures;
            f.duration_calls = s.n;
            f.avg_duration_ms = Some(round(s.sum as f64 / s.n as f64, 1));
            f.p50_duration_ms = Some(s.p50);
            f.p90_duration_ms = Some(s.p90);
        }
        for s in self.response_spread(q, base, step).await? {
            let Some(i) = slot(s.bucket) else { continue };
            let f = &mut out[i].figures;
            f.response_turns = s.n;
            f.avg_response_ms = Some(round(s.sum as f64 / s.n as f64, 1));
            f.p50_response_ms = Some(s.p50);
            f.p90_response_ms = Some(s.p90);
        }
        let peaks = self.peaks(q, base, step, n).await?;
        for (b, p) in out.iter_mut().zip(peaks) {
            b.figures.peak_concurrent_calls = p;
        }
        Ok((out, languages))
    }

    fn bucket_sql(&self, w: &mut Window, base: i64, step: i64) -> String {
        self.bucket_of(w, "c.started_at", base, step)
    }

    fn bucket_of(&self, w: &mut Window, started: &str, base: i64, step: i64) -> String {
        if step == SINGLE {
            // The summary: no per-row time arithmetic.
            return "CAST(0 AS BIGINT)".into();
        }
        let base = w.arg(Arg::Int(base));
        let step = w.arg(Arg::Int(step));
        format!("(({}) - {base}) / {step}", self.epoch_ms(started))
    }

    async fn counts(&self, q: &AnalyticsQuery, base: i64, step: i64) -> Result<Vec<CountsRow>, StorageError> {
        let mut w = Window::new(q);
        let bucket = self.bucket_sql(&mut w, base, step);
        let early = w.arg(Arg::Int(i64::from(q.drop_within_s) * 1000));
        let hung = "c.outcome = 'caller_hung_up'";
        let early_cond = format!("(c.answered_at IS NULL OR c.duration_ms < {early})");
        let unresolved = "(c.last_speaker IS NULL OR c.last_speaker = 'caller')";
        let n = |cond: &str| format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)");
        let sql = format!(
            "SELECT {bucket} AS bucket, COALESCE(c.outcome, 'in_progress') AS outcome, c.language AS language, COUNT(*) AS total, {answered} AS answered, {ended} AS ended, \
             {ai} AS ai_handled, {transferred} AS transferred, {failed} AS transfer_failed, \
             {d_hold} AS drop_holding, {d_early} AS drop_early, {d_unres} AS drop_unresolved, {holding} AS holding \
             FROM calls c WHERE {where_} GROUP BY 1, 2, 3",
            answered = n("c.answered_at IS NOT NULL"),
            ended = n("c.ended_at IS NOT NULL"),
            ai = n(&format!(
                "c.answered_at IS NOT NULL AND (c.outcome IN ('completed', 'hung_up_by_api') OR ({hung} AND NOT c.ended_holding AND NOT {early_cond} AND NOT {unresolved}))"
            )),
            transferred = n("c.outcome = 'transferred'"),
            failed = n("c.outcome = 'transfer_failed'"),
            d_hold = n(&format!("{hung} AND c.ended_holding")),
            d_early = n(&format!("{hung} AND NOT c.ended_holding AND {early_cond}")),
            d_unres = n(&format!("{hung} AND NOT c.ended_holding AND NOT {early_cond} AND {unresolved}")),
            holding = n("c.answered_at IS NOT NULL AND c.holding_count > 0"),
            where_ = w.where_sql(),
        );
        let rows = with_pool!(self.store, |pool| {
            bind_all!(sqlx::query_as::<_, CountsRow>(sqlx::AssertSqlSafe(sql.clone())), w.args).fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Count, sum and nearest-rank p50/p90 of the call durations per bucket, with window
    /// functions (one sort per bucket, done by the database: durations have too many distinct
    /// values for a histogram).
    async fn duration_spread(&self, q: &AnalyticsQuery, base: i64, step: i64) -> Result<Vec<SpreadRow>, StorageError> {
        let (mut w, value, from) = (Window::new(q), "c.duration_ms", "calls c");
        let bucket = self.bucket_of(&mut w, "c.started_at", base, step);
        let sql = format!(
            "SELECT bucket, v, rn, n, s FROM (\
               SELECT {bucket} AS bucket, {value} AS v, \
                 ROW_NUMBER() OVER (PARTITION BY {bucket} ORDER BY {value}) AS rn, \
                 COUNT(*) OVER (PARTITION BY {bucket}) AS n, \
                 CAST(SUM({value}) OVER (PARTITION BY {bucket}) AS BIGINT) AS s \
               FROM {from} WHERE {} AND {value} IS NOT NULL) x \
             WHERE rn = (50 * n + 99) / 100 OR rn = (90 * n + 99) / 100",
            w.where_sql()
        );
        let rows: Vec<(i64, i64, i64, i64, i64)> = with_pool!(self.store, |pool| {
            bind_all!(sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(sqlx::AssertSqlSafe(sql.clone())), w.args).fetch_all(pool).await
        })?;
        let mut by_bucket: BTreeMap<i64, SpreadRow> = BTreeMap::new();
        for (bucket, v, rn, n, s) in rows {
            let e = by_bucket.entry(bucket).or_insert(SpreadRow { bucket, n, sum: s, p50: 0, p90: 0 });
            if rn == nearest_rank(50, n) {
                e.p50 = v;
            }
            if rn == nearest_rank(90, n) {
                e.p90 = v;
            }
        }
        Ok(by_bucket.into_values().collect())
    }

    /// Response times per bucket from a histogram of exact millisecond values (bot turns have
    /// a few thousand distinct values at most, so this reads far fewer rows than sorting every
    /// turn); the percentiles are the same nearest-rank values.
    async fn response_spread(&self, q: &AnalyticsQuery, base: i64, step: i64) -> Result<Vec<SpreadRow>, StorageError> {
        let mut w = Window::turns(q);
        w.sql += " AND t.speaker = 'bot' AND t.first_packet_ms IS NOT NULL";
        let bucket = self.bucket_of(&mut w, "t.call_started_at", base, step);
        let sql = format!("SELECT {bucket} AS bucket, t.first_packet_ms AS v, COUNT(*) AS n FROM call_turns t WHERE {} GROUP BY 1, 2", w.where_sql());
        let rows: Vec<(i64, i64, i64)> = with_pool!(self.store, |pool| {
            bind_all!(sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql.clone())), w.args).fetch_all(pool).await
        })?;
        let mut hist: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
        for (bucket, v, n) in rows {
            hist.entry(bucket).or_default().push((v, n));
        }
        Ok(hist.into_iter().map(|(bucket, mut values)| spread_of_histogram(bucket, &mut values)).collect())
    }

    /// Peak concurrency per bucket, swept by the database (only one row per bucket comes back):
    /// +1 at the start of every call open at some point of `[from, to)` (calls open at `from`
    /// start there), −1 at its end, ends before starts at the same instant (a call ending when
    /// another starts does not overlap it). An end is booked in the bucket before its instant,
    /// so a bucket's opening level is the sum of the earlier buckets' changes.
    async fn peaks(&self, q: &AnalyticsQuery, base: i64, step: i64, n: usize) -> Result<Vec<i64>, StorageError> {
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
        let plus = if self.store.kind() == DatabaseKind::Sqlite { "+" } else { "" };
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
            bind_all!(sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql.clone())), w.args).fetch_all(pool).await
        })?;
        let by: BTreeMap<i64, (i64, i64)> = rows.into_iter().map(|(b, peak, net)| (b, (peak, net))).collect();
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

    /// Calls (counted by `buckets`) and turns per language of the window's calls, most calls first.
    async fn languages(&self, q: &AnalyticsQuery, calls: BTreeMap<String, i64>) -> Result<Vec<LanguageUsage>, StorageError> {
        let wt = Window::turns(q);
        let turns_sql = format!("SELECT t.language, COUNT(*) FROM call_turns t WHERE {} GROUP BY 1", wt.where_sql());
        let turns: Vec<(String, i64)> = with_pool!(self.store, |pool| {
            bind_all!(sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(turns_sql.clone())), wt.args).fetch_all(pool).await
        })?;
        let name = |l: String| if l.is_empty() { UNKNOWN_LANGUAGE.to_string() } else { l };
        let mut by: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for (l, n) in calls {
            by.entry(name(l)).or_default().0 += n;
        }
        for (l, n) in turns {
            by.entry(name(l)).or_default().1 += n;
        }
        let mut v: Vec<LanguageUsage> = by.into_iter().map(|(language, (calls, turns))| LanguageUsage { language, calls, turns }).collect();
        v.sort_by(|a, b| b.calls.cmp(&a.calls).then(b.turns.cmp(&a.turns)).then(a.language.cmp(&b.language)));
        Ok(v)
    }

    /// Calls not ended now, of the site (channel, campaign), whenever they started.
    pub async fn current(&self, q: &AnalyticsQuery) -> Result<i64, StorageError> {
        let w = Window::any_time(q);
        let sql = format!("SELECT COUNT(*) FROM calls c WHERE {} AND c.ended_at IS NULL", w.where_sql());
        let n = with_pool!(self.store, |pool| {
            bind_all!(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.clone())), w.args).fetch_one(pool).await
        })?;
        Ok(n)
    }

    /// Calls not ended, per site (one site, or every site with a live call), by state and channel.
    pub async fn live(&self, site_id: Option<Uuid>) -> Result<Vec<LiveSite>, StorageError> {
        let mut w = Window { sql: String::new(), args: Vec::new() };
        if let Some(s) = site_id {
            w.push("c.site_id = ", Arg::Uuid(s));
        }
        let sql = format!(
            "SELECT c.site_id, c.state, c.channel, COUNT(*) FROM calls c WHERE {} AND c.ended_at IS NULL GROUP BY 1, 2, 3",
            w.where_sql()
        );
        let rows: Vec<(Uuid, String, String, i64)> = with_pool!(self.store, |pool| {
            bind_all!(sqlx::query_as::<_, (Uuid, String, String, i64)>(sqlx::AssertSqlSafe(sql.clone())), w.args).fetch_all(pool).await
        })?;
        let empty = |site_id| LiveSite {
            site_id,
            current_calls: 0,
            by_state: ["ringing", "active", "holding", "transferring"].iter().map(|k| (k.to_string(), 0)).collect(),
            by_channel: ["sip", "widget"].iter().map(|k| (k.to_string(), 0)).collect(),
        };
        let mut sites: BTreeMap<Uuid, LiveSite> = BTreeMap::new();
        if let Some(s) = site_id {
            sites.insert(s, empty(s));
        }
        for (site, st, ch, n) in rows {
            let e = sites.entry(site).or_insert_with(|| empty(site));
            e.current_calls += n;
            *e.by_state.entry(st).or_default() += n;
            *e.by_channel.entry(ch).or_default() += n;
        }
        Ok(sites.into_values().collect())
    }
}

struct SpreadRow {
    bucket: i64,
    n: i64,
    sum: i64,
    p50: i64,
    p90: i64,
}

/// Count, sum and nearest-rank p50/p90 of a histogram of (value, count).
fn spread_of_histogram(bucket: i64, values: &mut [(i64, i64)]) -> SpreadRow {
    values.sort_unstable();
    let n: i64 = values.iter().map(|(_, c)| c).sum();
    let sum: i64 = values.iter().map(|(v, c)| v * c).sum();
    let at_rank = |rank: i64| {
        let mut seen = 0;
        values.iter().find(|(_, c)| {
            seen += c;
            seen >= rank
        })
        .map_or(0, |(v, _)| *v)
    };
    SpreadRow { bucket, n, sum, p50: at_rank(nearest_rank(50, n)), p90: at_rank(nearest_rank(90, n)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_is_the_ceiling() {
        assert_eq!(nearest_rank(50, 1), 1);
        assert_eq!(nearest_rank(50, 4), 2);
        assert_eq!(nearest_rank(50, 5), 3);
        assert_eq!(nearest_rank(90, 10), 9);
        assert_eq!(nearest_rank(90, 11), 10);
        assert_eq!(nearest_rank(90, 1), 1);
    }

    use crate::calls::{CallEvent, CallEventKind, CallInfo, CallState, Direction, Speaker, TurnLatency, TurnRecord};
    use crate::storage_test;

    // A call left open by a node that died is ended at start-up (`end_orphans`); its analytics
    // columns are fixed then too: duration, holding state at the end, last speaker.
    storage_test!(orphans_are_finalized_for_analytics, |store| {
        let site = store.sites().create(&crate::tenancy::NewSite { name: "Orphans".into(), settings: Default::default() }).await.unwrap().site_id;
        let started = Utc::now() - chrono::Duration::minutes(5);
        let mut call = CallInfo {
            id: Uuid::now_v7(),
            site_id: site,
            channel: CallChannel::Sip,
            direction: Direction::Inbound,
            caller: "+919800000001".into(),
            callee: "+911140000000".into(),
            flow: None,
            flow_version: None,
            campaign_id: None,
            lead_id: None,
            state: CallState::Active,
            language: "pa".into(),
            started_at: started,
            answered_at: Some(started),
            ended_at: None,
            outcome: None,
            end_reason: None,
        };
        store.calls().insert(&call).await.unwrap();
        let turn = |seq, speaker| TurnRecord {
            seq,
            speaker,
            text: "…".into(),
            language: "pa".into(),
            confidence: 0.9,
            started_at: started,
            ended_at: started,
            interrupted: false,
            latency: (speaker == Speaker::Bot).then(|| TurnLatency { first_packet_ms: Some(650), ..Default::default() }),
        };
        store.calls().add_turn(call.id, &turn(0, Speaker::Caller)).await.unwrap();
        store.calls().add_turn(call.id, &turn(1, Speaker::Bot)).await.unwrap();
        for (seq, kind) in [CallEventKind::Holding { level: 1, text: "ek second".into() }, CallEventKind::State { state: CallState::Holding }].into_iter().enumerate() {
            store.calls().add_event(seq as u32, &CallEvent { call_id: call.id, site_id: site, at: started, kind }).await.unwrap();
        }
        let q = AnalyticsQuery { site_id: Some(site), from: started - chrono::Duration::hours(1), to: Utc::now() + chrono::Duration::hours(1), channel: None, campaign_id: None, drop_within_s: 10 };
        // While live, the call's turns count; its duration and holding count once it has ended.
        let (f, _) = store.analytics().summary(&q).await.unwrap();
        assert_eq!((f.in_progress_calls, f.duration_calls, f.holding_calls, f.response_turns, f.p50_response_ms), (1, 0, 0, 1, Some(650)));
        assert_eq!(store.analytics().current(&q).await.unwrap(), 1);

        assert_eq!(store.calls().end_orphans("node restarted").await.unwrap(), 1);
        let (f, languages) = store.analytics().summary(&q).await.unwrap();
        assert_eq!((f.in_progress_calls, f.ended_calls, f.duration_calls, f.holding_calls), (0, 1, 1, 1));
        assert!(f.avg_duration_ms.unwrap() >= 300_000.0, "{f:?}");
        assert_eq!(f.outcomes["failed"], 1);
        assert_eq!(languages, vec![LanguageUsage { language: "pa".into(), calls: 1, turns: 2 }]);
        assert_eq!(store.analytics().current(&q).await.unwrap(), 0);
        // Ended while holding with the bot's answer last: a failure, not a drop nor AI-handled.
        assert_eq!((f.dropped_calls, f.ai_handled_calls), (0, 0));
        call.outcome = Some(crate::calls::CallOutcome::CallerHungUp);
        call.state = CallState::Ended;
        call.ended_at = Some(Utc::now());
        store.calls().update(&call).await.unwrap();
        let (f, _) = store.analytics().summary(&q).await.unwrap();
        assert_eq!((f.dropped_calls, f.drops.during_holding), (1, 1));
    });

    #[test]
    fn histogram_percentiles_are_nearest_rank() {
        // 400 500 600 700 700 900 1000 1200 → p50 rank 4 = 700, p90 rank 8 = 1200.
        let mut h = vec![(1200, 1), (400, 1), (700, 2), (500, 1), (600, 1), (900, 1), (1000, 1)];
        let s = spread_of_histogram(0, &mut h);
        assert_eq!((s.n, s.sum, s.p50, s.p90), (8, 6000, 700, 1200));
        let s = spread_of_histogram(0, &mut [(5, 1)]);
        assert_eq!((s.n, s.p50, s.p90), (1, 5, 5));
    }

    #[test]
    fn timeline_buckets_are_aligned_to_utc() {
        let q = AnalyticsQuery {
            site_id: None,
            from: "2026-11-21T10:30:00Z".parse().unwrap(),
            to: "2026-11-21T13:00:00Z".parse().unwrap(),
            channel: None,
            campaign_id: None,
            drop_within_s: 10,
        };
        assert_eq!(AnalyticsRepo::bucket_count(&q, Interval::Hour), 3);
        assert_eq!(AnalyticsRepo::bucket_count(&q, Interval::Day), 1);
    }
}
