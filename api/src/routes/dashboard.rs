//! `/dashboard`: a built-in page over the analytics API (live calls, the summary, timeline
//! charts, language mix). The page is static; it asks for an admin token or a site key and
//! calls `/v1/analytics/*` with it, so it sees exactly what that key may see. Charts use uPlot,
//! installed from npm at setup time (`scripts/setup.d/25-dashboard-assets.sh`), never a CDN.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, Response};

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

const PAGE: &str = include_str!("../../assets/dashboard/dashboard.html");
const SCRIPT: &str = include_str!("../../assets/dashboard/dashboard.js");

/// The dashboard page.
#[utoipa::path(get, path = "/dashboard", tag = "analytics",
    responses((status = 200, description = "HTML page", content_type = "text/html", body = String)))]
pub async fn page() -> Html<String> {
    Html(PAGE.replace("/*{{script}}*/", SCRIPT))
}

/// uPlot's files for the dashboard.
#[utoipa::path(get, path = "/dashboard/assets/{file}", tag = "analytics",
    params(("file" = String, Path, description = "uPlot.iife.min.js or uPlot.min.css")),
    responses((status = 200, description = "the file"), (status = 404, body = ErrorBody), (status = 503, description = "assets not installed", body = ErrorBody)))]
pub async fn asset(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    if tokio::fs::metadata(state.dashboard_assets_dir.as_path())
        .await
        .is_err()
    {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dashboard_assets_missing",
            format!(
                "chart library not found in {} (run scripts/setup, or set http.dashboard_assets_dir)",
                state.dashboard_assets_dir.display()
            ),
        ));
    }
    super::docs::serve_asset(&state.dashboard_assets_dir, &file).await
}
