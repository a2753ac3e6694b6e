//! Health, readiness, metrics, request ids, OpenAPI and the offline API explorer.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::{ADMIN, TestApp};
use vaarta_orchestrator::storage::testing::TestDb;

async fn app() -> TestApp {
    TestApp::new(TestDb::sqlite().await).await
}

#[tokio::test]
async fn health_and_ready() {
    let app = app().await;
    let r = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let r = app.call(Method::GET, "/ready", None, None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
    // With the database gone, readiness fails but liveness does not.
    app.db.store.close().await;
    let r = app.call(Method::GET, "/ready", None, None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    );
    let r = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

api_test!(ready_on_both_backends, |app| {
    let r = app.call(Method::GET, "/ready", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
});

#[tokio::test]
async fn request_ids_are_set_or_propagated() {
    let app = app().await;
    let r = app.call(Method::GET, "/health", None, None).await;
    let id = r
        .headers
        .get("x-request-id")
        .expect("request id")
        .to_str()
        .unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let req = axum::http::Request::get("/nope")
        .header("x-request-id", "abc-123")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(app.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "abc-123");
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = app().await;
    app.call(Method::GET, "/health", None, None).await;
    app.call(Method::GET, "/v1/sites", None, None).await;
    let r = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = &r.text;
    assert!(
        text.contains("# TYPE vaarta_http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("vaarta_http_requests_total{")
                && l.contains("route=\"/health\"")
                && l.contains("status=\"200\"")),
        "{text}"
    );
    assert!(text.contains("status=\"401\""), "{text}");
    assert!(
        text.contains("# TYPE vaarta_http_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("vaarta_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    // Every sample line is `name{labels} value` with a numeric value.
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
    }
}

/// Every route of the router, as (METHOD, path template). Adding a route means adding it here
/// and to the router with `routes!`, which documents it.
const EXPECTED_ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/assets/{file}"),
    ("GET", "/v1/sites"),
    ("POST", "/v1/sites"),
    ("GET", "/v1/sites/{site_id}"),
    ("PATCH", "/v1/sites/{site_id}"),
    ("DELETE", "/v1/sites/{site_id}"),
    ("GET", "/v1/sites/{site_id}/keys"),
    ("POST", "/v1/sites/{site_id}/keys"),
    ("DELETE", "/v1/sites/{site_id}/keys/{key_id}"),
    ("GET", "/v1/sites/{site_id}/flows"),
    ("GET", "/v1/sites/{site_id}/flows/{name}"),
    ("PUT", "/v1/sites/{site_id}/flows/{name}"),
    ("GET", "/v1/sites/{site_id}/flows/{name}/versions"),
    ("POST", "/v1/sites/{site_id}/flows/{name}/activate"),
    ("POST", "/v1/sites/{site_id}/flows/{name}/simulate"),
    ("DELETE", "/v1/sites/{site_id}/flows/{name}"),
    ("GET", "/v1/sites/{site_id}/routes"),
    ("PUT", "/v1/sites/{site_id}/routes"),
    ("DELETE", "/v1/sites/{site_id}/routes/{channel}/{number}"),
    ("GET", "/v1/calls"),
    ("GET", "/v1/calls/events"),
    ("GET", "/v1/calls/{call_id}"),
    ("POST", "/v1/calls/{call_id}/hangup"),
    ("POST", "/v1/calls/{call_id}/transfer"),
    ("GET", "/v1/analytics/summary"),
    ("GET", "/v1/analytics/timeline"),
    ("GET", "/v1/analytics/live"),
    ("POST", "/v1/format"),
    ("GET", "/v1/sites/{site_id}/kb/documents"),
    ("POST", "/v1/sites/{site_id}/kb/documents"),
    ("POST", "/v1/sites/{site_id}/kb/documents/bulk"),
    ("GET", "/v1/sites/{site_id}/kb/documents/{document_id}"),
    ("PUT", "/v1/sites/{site_id}/kb/documents/{document_id}"),
    ("DELETE", "/v1/sites/{site_id}/kb/documents/{document_id}"),
    ("POST", "/v1/sites/{site_id}/kb/search"),
    ("GET", "/v1/transcriptions"),
    ("POST", "/v1/transcriptions"),
    ("GET", "/v1/transcriptions/{transcription_id}"),
    ("DELETE", "/v1/transcriptions/{transcription_id}"),
    ("GET", "/v1/calls/{call_id}/audit"),
    ("POST", "/v1/calls"),
    ("GET", "/v1/sites/{site_id}/dnd"),
    ("POST", "/v1/sites/{site_id}/dnd"),
    ("DELETE", "/v1/sites/{site_id}/dnd/{number}"),
    ("GET", "/v1/dnd"),
    ("POST", "/v1/dnd"),
    ("DELETE", "/v1/dnd/{number}"),
    ("GET", "/v1/sites/{site_id}/webhooks"),
    ("POST", "/v1/sites/{site_id}/webhooks/{delivery_id}/retry"),
    ("GET", "/v1/sites/{site_id}/campaigns"),
    ("POST", "/v1/sites/{site_id}/campaigns"),
    ("GET", "/v1/sites/{site_id}/campaigns/{campaign_id}"),
    ("PUT", "/v1/sites/{site_id}/campaigns/{campaign_id}"),
    ("DELETE", "/v1/sites/{site_id}/campaigns/{campaign_id}"),
    ("GET", "/v1/sites/{site_id}/campaigns/{campaign_id}/leads"),
    ("POST", "/v1/sites/{site_id}/campaigns/{campaign_id}/leads"),
    ("POST", "/v1/sites/{site_id}/campaigns/{campaign_id}/start"),
    ("POST", "/v1/sites/{site_id}/campaigns/{campaign_id}/pause"),
    ("POST", "/v1/sites/{site_id}/campaigns/{campaign_id}/resume"),
    ("POST", "/v1/sites/{site_id}/campaigns/{campaign_id}/stop"),
    ("GET", "/v1/sites/{site_id}/campaigns/{campaign_id}/export"),
    ("POST", "/v1/sites/{site_id}/dnd/import"),
    ("POST", "/v1/dnd/import"),
    ("GET", "/v1/widget/ws"),
    ("GET", "/v1/sites/{site_id}/widget"),
    ("POST", "/v1/sites/{site_id}/widget/key"),
    ("GET", "/widget.js"),
    ("POST", "/v1/sites/{site_id}/kb/documents/upload"),
    ("POST", "/v1/sites/{site_id}/kb/reindex"),
    ("GET", "/v1/sites/{site_id}/kb/reindex/{job_id}"),
    ("GET", "/dashboard"),
    ("GET", "/dashboard/assets/{file}"),
    ("GET", "/v1/calls/{call_id}/recording"),
    ("GET", "/demo"),
];

#[tokio::test]
async fn openapi_lists_every_route_and_every_documented_route_is_served() {
    let app = app().await;
    let r = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = &r.body;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{method} {path} has responses"
                );
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let expected: BTreeSet<(String, String)> = EXPECTED_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, expected,
        "documented routes differ from the router's routes"
    );

    // Each documented operation is really routed (no `no_route` 404, no 405).
    for (method, path) in &documented {
        let concrete = path
            .replace("{site_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{key_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{file}", "swagger-ui.css")
            .replace("{name}", "order_status")
            .replace("{call_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{document_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{channel}", "sip")
            .replace("{number}", "+911140000000");
        let r = app
            .call(method.parse().unwrap(), &concrete, None, None)
            .await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if r.status == StatusCode::NOT_FOUND {
            assert_ne!(
                r.code(),
                "no_route",
                "{method} {path} is documented but not routed"
            );
        }
    }
    // And undocumented paths are not routed.
    let r = app
        .call(Method::GET, "/v1/undocumented", Some(ADMIN), None)
        .await;
    assert_eq!(r.code(), "no_route");

    // /v1 operations declare the bearer scheme; the scheme exists.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["paths"]["/v1/sites"]["get"]["security"].is_array());
    assert_eq!(serde_json::to_value(vaarta_api::openapi()).unwrap(), *doc);
}

#[tokio::test]
async fn docs_explain_missing_assets_and_serve_installed_ones() {
    let app = app().await;
    let r = app.call(Method::GET, "/docs", None, None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "docs_unavailable")
    );
    assert!(r.text.contains("scripts/setup"), "{}", r.text);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("swagger-ui-bundle.js"),
        "window.SwaggerUIBundle = function () {};",
    )
    .unwrap();
    std::fs::write(dir.path().join("swagger-ui.css"), "body {}").unwrap();
    let mut config = app.config.clone();
    config.http.docs_assets_dir = dir.path().to_path_buf();
    let app = TestApp::with_config(app.db, config);
    let r = app.call(Method::GET, "/docs", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("/openapi.json") && r.text.contains("/docs/assets/swagger-ui-bundle.js")
    );
    let r = app
        .call(Method::GET, "/docs/assets/swagger-ui-bundle.js", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(r.text.contains("SwaggerUIBundle"));
    for bad in [
        "/docs/assets/missing.js",
        "/docs/assets/..%2F..%2Fetc%2Fpasswd",
        "/docs/assets/.hidden",
    ] {
        let r = app.call(Method::GET, bad, None, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}: {}", r.text);
        assert_eq!(r.code(), "not_found");
    }
}
