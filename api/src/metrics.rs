//! Prometheus metrics: one process-wide recorder, request counter and latency histogram.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const REQUESTS_TOTAL: &str = "vaarta_http_requests_total";
pub const REQUEST_DURATION: &str = "vaarta_http_request_duration_seconds";

/// The global recorder's handle (installed on first use). If some other recorder is already
/// global, a detached one is returned so rendering still works.
pub fn prometheus_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = || {
                PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        Matcher::Full(REQUEST_DURATION.to_string()),
                        &[
                            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                        ],
                    )
                    .expect("non-empty buckets")
                    .set_buckets_for_metric(
                        Matcher::Full(ANALYTICS_QUERY.to_string()),
                        &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
                    )
                    .expect("non-empty buckets")
            };
            let handle = builder()
                .install_recorder()
                .unwrap_or_else(|_| builder().build_recorder().handle());
            metrics::describe_counter!(
                REQUESTS_TOTAL,
                "HTTP requests answered, by method, route and status"
            );
            metrics::describe_histogram!(
                REQUEST_DURATION,
                metrics::Unit::Seconds,
                "HTTP request latency"
            );
            describe_domain_metrics();
            handle
        })
        .clone()
}

pub const ANALYTICS_QUERY: &str = "vaarta_analytics_query_seconds";

/// Descriptions of the metrics recorded across the crates (shown once they have a value).
fn describe_domain_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!("vaarta_active_calls", "Calls live on this node");
    describe_counter!("vaarta_calls_total", "Calls ended on this node, by outcome");
    describe_counter!(
        "vaarta_calls_refused_total",
        "Calls refused at admission, by reason (node_full, site_full)"
    );
    describe_histogram!(
        "vaarta_turn_latency_ms",
        Unit::Milliseconds,
        "Per-turn latency from the end of caller speech, by stage (stt_final, brain_first_token, first_tts_audio, first_packet, overhead)"
    );
    describe_histogram!(
        "vaarta_engine_queue_wait_seconds",
        Unit::Seconds,
        "Wait for a free speech engine instance, by engine"
    );
    describe_gauge!(
        "vaarta_engine_queue_depth",
        "Requests waiting for a speech engine instance, by engine"
    );
    describe_gauge!(
        "vaarta_sip_registered",
        "1 while the SIP trunk registration is up"
    );
    describe_gauge!(
        "vaarta_job_queue_depth",
        "Jobs waiting or running, by queue (read from the database at scrape)"
    );
    describe_gauge!(
        "vaarta_job_failures",
        "Jobs failed or killed and kept in the queue table, by queue (read at scrape)"
    );
    describe_histogram!(
        ANALYTICS_QUERY,
        Unit::Seconds,
        "Analytics summary/timeline computation time, by route"
    );
}

/// Gauges read at scrape time: this node's live calls and the job queues' depths and failures
/// (the queues are in the database, shared by every node).
pub async fn refresh(state: &crate::state::AppState) {
    metrics::gauge!("vaarta_active_calls").set(state.calls.live(None).len() as f64);
    use vaarta_orchestrator::storage::jobs::{EMAIL, TRANSCRIBE, WEBHOOK};
    for queue in [TRANSCRIBE, WEBHOOK, EMAIL] {
        match state.store.jobs().counts(queue).await {
            Ok(counts) => {
                let sum = |names: &[&str]| {
                    counts
                        .iter()
                        .filter(|(s, _)| names.contains(&s.as_str()))
                        .map(|(_, n)| *n)
                        .sum::<i64>() as f64
                };
                metrics::gauge!("vaarta_job_queue_depth", "queue" => queue)
                    .set(sum(&["Pending", "Queued", "Running"]));
                metrics::gauge!("vaarta_job_failures", "queue" => queue)
                    .set(sum(&["Failed", "Killed"]));
            }
            Err(e) => tracing::warn!(error = %e, queue, "job queue counts for /metrics failed"),
        }
    }
}

/// Middleware counting every request under its route template (not the raw path, so ids do
/// not explode the label set).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!(REQUESTS_TOTAL, "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(REQUEST_DURATION, "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}
