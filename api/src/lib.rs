//! vaarta-api: the REST API (axum). [`app`] builds the router with every middleware;
//! [`serve`] runs it until a shutdown signal.

pub mod auth;
pub mod error;
pub mod layers;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod state;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use error::{ApiError, ApiJson};
pub use state::AppState;

/// The full application: routes, OpenAPI document, error shaping, request ids, tracing,
/// metrics, limits and panic recovery.
pub fn app(state: AppState) -> Router {
    let (router, openapi) = routes::all().split_for_parts();
    let doc = serde_json::to_string(&openapi).expect("OpenAPI serializes");
    let router = router
        .fallback(layers::no_route)
        .layer(axum::Extension(routes::system::OpenApiJson(Arc::new(doc))));
    layers::wrap(router, &state).with_state(state)
}

/// The OpenAPI document as generated from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::all().split_for_parts().1
}

/// Serves `app` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "HTTP API listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
