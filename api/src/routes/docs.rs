//! `/docs`: Swagger UI served from local files (swagger-ui-dist, installed by
//! `scripts/setup.d/20-swagger-ui.sh`), so the explorer works offline.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Vaarta API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
  </script>
</body>
</html>
"##;

fn missing(state: &AppState) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "docs_unavailable",
        format!(
            "API explorer assets not found in {} (run scripts/setup, or set http.docs_assets_dir); /openapi.json still works",
            state.docs_assets_dir.display()
        ),
    )
}

/// Interactive API explorer (Swagger UI).
#[utoipa::path(get, path = "/docs", tag = "system", responses(
    (status = 200, description = "HTML page", content_type = "text/html", body = String),
    (status = 503, description = "assets not installed", body = ErrorBody),
))]
pub async fn page(State(state): State<AppState>) -> Result<Html<&'static str>, ApiError> {
    if tokio::fs::metadata(state.docs_assets_dir.join("swagger-ui-bundle.js"))
        .await
        .is_err()
    {
        return Err(missing(&state));
    }
    Ok(Html(PAGE))
}

/// Static files of the explorer (JavaScript, CSS, images).
#[utoipa::path(get, path = "/docs/assets/{file}", tag = "system",
    params(("file" = String, Path, description = "file name, e.g. swagger-ui-bundle.js")),
    responses(
        (status = 200, description = "the file"),
        (status = 404, body = ErrorBody),
        (status = 503, description = "assets not installed", body = ErrorBody),
    ))]
pub async fn asset(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    if tokio::fs::metadata(state.docs_assets_dir.as_path())
        .await
        .is_err()
    {
        return Err(missing(&state));
    }
    serve_asset(&state.docs_assets_dir, &file).await
}

/// One file of a vendored asset folder (no paths, no dot files), with its content type.
pub(crate) async fn serve_asset(dir: &std::path::Path, file: &str) -> Result<Response, ApiError> {
    let safe = !file.is_empty()
        && !file.starts_with('.')
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !safe {
        return Err(ApiError::not_found("asset"));
    }
    let bytes = tokio::fs::read(dir.join(file))
        .await
        .map_err(|_| ApiError::not_found("asset"))?;
    let content_type = match file.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("png") => "image/png",
        Some("map" | "json") => "application/json",
        _ => "application/octet-stream",
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}
