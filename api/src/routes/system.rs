//! Process health, readiness, metrics and the OpenAPI document.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Status of a health or readiness probe.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    pub status: &'static str,
}

/// The serialized OpenAPI document, shared with the `/openapi.json` handler.
#[derive(Clone)]
pub struct OpenApiJson(pub Arc<String>);

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(get, path = "/health", tag = "system", responses((status = 200, body = Status)))]
pub async fn health() -> axum::Json<Status> {
    axum::Json(Status { status: "ok" })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/ready", tag = "system", responses(
    (status = 200, body = Status),
    (status = 503, description = "database unreachable", body = ErrorBody),
))]
pub async fn ready(State(state): State<AppState>) -> Result<axum::Json<Status>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(axum::Json(Status { status: "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "database unreachable",
            ))
        }
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "system", responses(
    (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::metrics::refresh(&state).await;
    state.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses(
    (status = 200, description = "OpenAPI document", content_type = "application/json"),
))]
pub async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
}
