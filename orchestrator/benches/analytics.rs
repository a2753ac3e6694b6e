//! Analytics latency at scale: loads N calls (default 1,000,000) with four turns each for one
//! site, plus two noise sites of N/10 calls, into SQLite and (when VAARTA_TEST_DATABASE_URL is
//! set) PostgreSQL, then times what `GET /v1/analytics/summary` and `/timeline` compute, for
//! windows of one day, seven days and the whole 90 days: the first request (which builds the
//! hourly rollups), then warm requests, then requests each after a new turn in the last hour.
//! Prints a markdown table.
//! Usage: bench/analytics/run.sh [CALLS]

use std::str::FromStr;
use std::time::Instant;

use sqlx::postgres::PgConnectOptions;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use vaarta_orchestrator::Store;
use vaarta_orchestrator::calls::{Speaker, TurnLatency, TurnRecord};
use vaarta_orchestrator::config::DatabaseConfig;
use vaarta_orchestrator::storage::DatabaseKind;
use vaarta_orchestrator::storage::analytics::{AnalyticsQuery, Interval};

const DAYS: i64 = 90;
const START: &str = "2026-08-01T00:00:00Z";

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Generates `n` calls of `site` (and their turns) in the database itself.
async fn load(store: &Store, site: Uuid, n: i64) {
    let start: DateTime<Utc> = START.parse().unwrap();
    let step_ms = DAYS * 86_400_000 / n;
    let base = start.timestamp();
    // Per call i: started every step; lasts 20..620 s; 60% completed, 10% transferred, 5% transfer
    // failed, 15% caller hang-ups, 5% no answer, 5% failed; languages hi/en/pa; 1 in 7 held;
    // the last 20 still open. Ids are time-ordered like the UUIDv7 the registry gives calls.
    let (calls_sql, turns_sql) = match store.kind() {
        DatabaseKind::Sqlite => (
            format!(
                "WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {last}), \
                 c AS (SELECT i, {base} + i * {step_ms} / 1000 AS s, 20 + (i * 7919) % 600 AS d FROM g) \
                 INSERT INTO calls (id, site_id, channel, direction, caller, callee, flow, state, language, started_at, answered_at, ended_at, outcome, end_reason, duration_ms, holding_count, ended_holding, last_speaker) \
                 SELECT CAST(unhex(printf('%012x', s * 1000)) || randomblob(10) AS BLOB), $1, CASE WHEN i % 5 = 0 THEN 'widget' ELSE 'sip' END, 'inbound', '+919800000001', '+911140000000', 'assistant', \
                   CASE WHEN i > {open} THEN 'active' ELSE 'ended' END, \
                   CASE i % 3 WHEN 0 THEN 'hi' WHEN 1 THEN 'en' ELSE 'pa' END, \
                   strftime('%Y-%m-%dT%H:%M:%S+00:00', s, 'unixepoch'), \
                   CASE WHEN i % 20 = 18 THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%S+00:00', s + 2, 'unixepoch') END, \
                   CASE WHEN i > {open} THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%S+00:00', s + d, 'unixepoch') END, \
                   CASE WHEN i > {open} THEN NULL WHEN i % 20 < 12 THEN 'completed' WHEN i % 20 < 14 THEN 'transferred' WHEN i % 20 = 14 THEN 'transfer_failed' \
                        WHEN i % 20 < 18 THEN 'caller_hung_up' WHEN i % 20 = 18 THEN 'no_answer' ELSE 'failed' END, 'bench', \
                   CASE WHEN i > {open} OR i % 20 = 18 THEN NULL ELSE (d - 2) * 1000 END, \
                   CASE WHEN i % 7 = 0 THEN 1 ELSE 0 END, i % 60 = 15, CASE WHEN i % 40 = 16 THEN 'caller' ELSE 'bot' END \
                 FROM c",
                last = n - 1,
                open = n - 21,
            ),
            "INSERT INTO call_turns (call_id, seq, speaker, text, language, confidence, started_at, ended_at, interrupted, site_id, call_started_at, channel, campaign_id, first_packet_ms) \
             SELECT c.id, s.seq, CASE WHEN s.seq % 2 = 0 THEN 'caller' ELSE 'bot' END, 'bench turn', c.language, 0.9, c.started_at, c.started_at, FALSE, \
               c.site_id, c.started_at, c.channel, c.campaign_id, \
               CASE WHEN s.seq % 2 = 1 THEN 400 + abs(random()) % 1200 END \
             FROM calls c, (SELECT 0 AS seq UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) s WHERE c.site_id = $1 AND c.answered_at IS NOT NULL"
                .to_string(),
        ),
        DatabaseKind::Postgres => (
            format!(
                "INSERT INTO calls (id, site_id, channel, direction, caller, callee, flow, state, language, started_at, answered_at, ended_at, outcome, end_reason, duration_ms, holding_count, ended_holding, last_speaker) \
                 SELECT (lpad(to_hex(s * 1000), 12, '0') || substr(md5(random()::text), 1, 20))::uuid, $1, CASE WHEN i % 5 = 0 THEN 'widget' ELSE 'sip' END, 'inbound', '+919800000001', '+911140000000', 'assistant', \
                   CASE WHEN i > {open} THEN 'active' ELSE 'ended' END, \
                   CASE i % 3 WHEN 0 THEN 'hi' WHEN 1 THEN 'en' ELSE 'pa' END, \
                   to_timestamp(s), CASE WHEN i % 20 = 18 THEN NULL ELSE to_timestamp(s + 2) END, \
                   CASE WHEN i > {open} THEN NULL ELSE to_timestamp(s + d) END, \
                   CASE WHEN i > {open} THEN NULL WHEN i % 20 < 12 THEN 'completed' WHEN i % 20 < 14 THEN 'transferred' WHEN i % 20 = 14 THEN 'transfer_failed' \
                        WHEN i % 20 < 18 THEN 'caller_hung_up' WHEN i % 20 = 18 THEN 'no_answer' ELSE 'failed' END, 'bench', \
                   CASE WHEN i > {open} OR i % 20 = 18 THEN NULL ELSE (d - 2) * 1000 END, \
                   CASE WHEN i % 7 = 0 THEN 1 ELSE 0 END, i % 60 = 15, CASE WHEN i % 40 = 16 THEN 'caller' ELSE 'bot' END \
                 FROM (SELECT i, {base} + i * {step_ms} / 1000 AS s, 20 + (i * 7919) % 600 AS d FROM generate_series(0::bigint, {last}::bigint) AS i) c",
                last = n - 1,
                open = n - 21,
            ),
            "INSERT INTO call_turns (call_id, seq, speaker, text, language, confidence, started_at, ended_at, interrupted, site_id, call_started_at, channel, campaign_id, first_packet_ms) \
             SELECT c.id, s.seq, CASE WHEN s.seq % 2 = 0 THEN 'caller' ELSE 'bot' END, 'bench turn', c.language, 0.9, c.started_at, c.started_at, FALSE, \
               c.site_id, c.started_at, c.channel, c.campaign_id, \
               CASE WHEN s.seq % 2 = 1 THEN 400 + floor(random() * 1200)::bigint END \
             FROM calls c, generate_series(0::bigint, 3::bigint) AS s(seq) WHERE c.site_id = $1 AND c.answered_at IS NOT NULL"
                .to_string(),
        ),
    };
    vaarta_orchestrator::with_pool!(store, |pool| {
        sqlx::query(sqlx::AssertSqlSafe(calls_sql.clone()))
            .bind(site)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(turns_sql.clone()))
            .bind(site)
            .execute(pool)
            .await
            .unwrap();
    });
}

async fn time<F, Fut>(iters: usize, mut f: F) -> (f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f().await; // warm the cache
    let mut ms = Vec::new();
    for _ in 0..iters {
        let t = Instant::now();
        f().await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (pct(&mut ms, 0.5), pct(&mut ms, 0.99))
}

async fn run(label: &str, store: Store, n: i64) {
    store.migrate().await.unwrap();
    let new_site = |name: String| vaarta_orchestrator::tenancy::NewSite {
        name,
        settings: Default::default(),
    };
    let site = store
        .sites()
        .create(&new_site(format!("bench-{n}")))
        .await
        .unwrap()
        .site_id;
    let t = Instant::now();
    load(&store, site, n).await;
    for k in 0..2 {
        let noise = store
            .sites()
            .create(&new_site(format!("noise-{k}")))
            .await
            .unwrap()
            .site_id;
        load(&store, noise, n / 10).await;
    }
    vaarta_orchestrator::with_pool!(&store, |pool| {
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    });
    eprintln!(
        "{label}: loaded {} calls in {:.0} s",
        n + 2 * (n / 10),
        t.elapsed().as_secs_f64()
    );

    let end: DateTime<Utc> = START.parse::<DateTime<Utc>>().unwrap() + Duration::days(DAYS);
    let q = |days: i64| AnalyticsQuery {
        site_id: Some(site),
        from: end - Duration::days(days),
        to: end,
        channel: None,
        campaign_id: None,
        drop_within_s: 10,
    };
    let a = store.analytics();
    let a = &a;
    // The first request over the whole range builds every hour's rollup from the calls.
    let t = Instant::now();
    let calls = a.summary(&q(DAYS)).await.unwrap().0.total_calls;
    println!(
        "| {label} | first summary (builds {} hourly rollups) | {DAYS} d | {calls} | {:.0} | |",
        DAYS * 24,
        t.elapsed().as_secs_f64() * 1000.0
    );
    for (days, iters) in [(1, 50), (7, 50), (DAYS, 50)] {
        let query = &q(days);
        let calls = a.summary(query).await.unwrap().0.total_calls;
        let (p50, p99) = time(iters, || async move {
            let (s, _languages) = a.summary(query).await.unwrap();
            let _ = a.current(query).await.unwrap();
            assert!(s.total_calls > 0);
        })
        .await;
        println!("| {label} | summary | {days} d | {calls} | {p50:.0} | {p99:.0} |");
        let interval = if days <= 7 {
            Interval::Hour
        } else {
            Interval::Day
        };
        let (p50, p99) = time(iters, || async move {
            assert!(!a.timeline(query, interval).await.unwrap().is_empty());
        })
        .await;
        println!(
            "| {label} | timeline ({}) | {days} d | {calls} | {p50:.0} | {p99:.0} |",
            if days <= 7 { "hour" } else { "day" }
        );
    }
    // Live traffic: a turn written to a call of the last hour makes that hour's rollup stale,
    // so each summary rebuilds one hour from the calls.
    let last: Uuid = vaarta_orchestrator::with_pool!(&store, |pool| {
        sqlx::query_scalar(
            "SELECT id FROM calls WHERE site_id = $1 ORDER BY started_at DESC LIMIT 1",
        )
        .bind(site)
        .fetch_one(pool)
        .await
        .unwrap()
    });
    let seq = &std::sync::atomic::AtomicU32::new(100);
    let repo = store.calls();
    let repo = &repo;
    let query = &q(DAYS);
    let (p50, p99) = time(50, || async move {
        let turn = TurnRecord {
            seq: seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            speaker: Speaker::Bot,
            text: "bench".into(),
            language: "hi".into(),
            confidence: 0.9,
            started_at: end,
            ended_at: end,
            interrupted: false,
            latency: Some(TurnLatency {
                first_packet_ms: Some(640),
                ..Default::default()
            }),
        };
        repo.add_turn(last, &turn).await.unwrap();
        let (s, _languages) = a.summary(query).await.unwrap();
        assert!(s.total_calls > 0);
    })
    .await;
    println!(
        "| {label} | new turn + summary (1 stale hour) | {DAYS} d | {calls} | {p50:.0} | {p99:.0} |"
    );
    store.close().await;
}

fn main() {
    let n: i64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("| backend | query | window | calls in window | p50 ms | p99 ms |");
        println!("|---|---|---|---|---|---|");
        // ANALYTICS_BENCH_KEEP=DIR keeps the SQLite file there (to inspect query plans).
        let dir = tempfile::tempdir().unwrap();
        let path = match std::env::var("ANALYTICS_BENCH_KEEP") {
            Ok(keep) => std::path::PathBuf::from(keep).join("analytics.db"),
            Err(_) => dir.path().join("analytics.db"),
        };
        let url = format!("sqlite://{}", path.display());
        run(
            "SQLite",
            Store::connect(&DatabaseConfig {
                url,
                max_connections: 4,
            })
            .await
            .unwrap(),
            n,
        )
        .await;
        if let Ok(url) = std::env::var("VAARTA_TEST_DATABASE_URL") {
            // A fresh schema of its own, dropped afterwards.
            let schema = format!("bench_analytics_{}", Uuid::new_v4().simple());
            let admin = Store::connect(&DatabaseConfig {
                url: url.clone(),
                max_connections: 1,
            })
            .await
            .unwrap();
            let pool = admin.pg_pool().unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(pool)
                .await
                .unwrap();
            let search_path = format!("{schema},public");
            let options = PgConnectOptions::from_str(&url)
                .unwrap()
                .options([("search_path", search_path.as_str())]);
            run(
                "PostgreSQL",
                Store::connect_postgres(options, 4).await.unwrap(),
                n,
            )
            .await;
            if std::env::var("ANALYTICS_BENCH_KEEP").is_ok() {
                eprintln!("kept PostgreSQL schema {schema}");
            } else {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
    });
}
