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
                        &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                    )
                    .expect("non-empty buckets")
            };
            let handle = builder().install_recorder().unwrap_or_else(|_| builder().build_recorder().handle());
            metrics::describe_counter!(REQUESTS_TOTAL, "HTTP requests answered, by method, route and status");
            metrics::describe_histogram!(REQUEST_DURATION, metrics::Unit::Seconds, "HTTP request latency");
            handle
        })
        .clone()
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
    metrics::histogram!(REQUEST_DURATION, "method" => method, "route" => route).record(start.elapsed().as_secs_f64());
    res
}
