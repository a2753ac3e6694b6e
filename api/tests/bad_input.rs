//! Bad input gets a 4xx JSON error naming the problem; nothing panics.

mod common;

use axum::http::{Method, StatusCode};
use common::{ADMIN, TestApp};
use serde_json::json;
use vaarta_orchestrator::storage::testing::TestDb;

async fn app() -> TestApp {
    TestApp::new(TestDb::sqlite().await).await
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = app().await;
    let r = app
        .raw(
            Method::POST,
            "/v1/sites",
            Some(ADMIN),
            Some("application/json"),
            b"{\"name\": \"x\"".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "malformed_json");
}

#[tokio::test]
async fn unknown_fields_are_422_and_named() {
    let app = app().await;
    let r = app
        .call(
            Method::POST,
            "/v1/sites",
            Some(ADMIN),
            Some(json!({"name": "x", "nmae": "y"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "invalid_body");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nmae"),
        "{}",
        r.text
    );
    let r = app
        .call(
            Method::POST,
            "/v1/sites",
            Some(ADMIN),
            Some(json!({"name": "x", "settings": {"langauges": ["en-IN"]}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("langauges"), "{}", r.text);
}

#[tokio::test]
async fn wrong_types_are_422() {
    let app = app().await;
    for body in [
        json!({"name": 5}),
        json!({"name": "x", "settings": {"languages": "en-IN"}}),
        json!([1, 2]),
        json!(null),
    ] {
        let r = app
            .call(Method::POST, "/v1/sites", Some(ADMIN), Some(body.clone()))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(r.code(), "invalid_body");
    }
}

#[tokio::test]
async fn invalid_values_are_422_naming_the_field() {
    let app = app().await;
    let cases = [
        (json!({"name": "x".repeat(201)}), "name"),
        (json!({"name": "   "}), "name"),
        (
            json!({"name": "ok", "settings": {"webhook_url": "ftp://files.example"}}),
            "settings.webhook_url",
        ),
        (
            json!({"name": "ok", "settings": {"languages": ["en-IN"], "voices": {"hi-IN": "v"}}}),
            "settings.voices.hi-IN",
        ),
        (
            json!({"name": "ok", "settings": {"holding_messages": {}, "languages": ["x".repeat(300)]}}),
            "settings.languages[0]",
        ),
    ];
    for (body, field) in cases {
        let r = app
            .call(Method::POST, "/v1/sites", Some(ADMIN), Some(body))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.text
        );
        assert_eq!(r.code(), "validation_failed");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{field}: {}",
            r.text
        );
    }
    let (site, _, _) = app.site_with_key("A").await;
    let r = app
        .call(
            Method::POST,
            &format!("/v1/sites/{site}/keys"),
            Some(ADMIN),
            Some(json!({"label": "k".repeat(101)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = app.call(Method::GET, "/v1/sites", Some(ADMIN), None).await;
    assert_eq!(
        r.body.as_array().unwrap().len(),
        1,
        "nothing invalid was stored"
    );
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = app().await;
    let big = json!({"name": "x".repeat(app.config.limits.max_body_bytes + 10)});
    let r = app
        .call(Method::POST, "/v1/sites", Some(ADMIN), Some(big))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.code(), "payload_too_large");
}

#[tokio::test]
async fn missing_content_type_is_415() {
    let app = app().await;
    let r = app
        .raw(
            Method::POST,
            "/v1/sites",
            Some(ADMIN),
            None,
            b"{\"name\":\"x\"}".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    assert_eq!(r.code(), "unsupported_media_type");
}

#[tokio::test]
async fn bad_paths_queries_and_methods_get_json_errors() {
    let app = app().await;
    let r = app.call(Method::GET, "/nope", None, None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "no_route"));
    let r = app.call(Method::PUT, "/v1/sites", Some(ADMIN), None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let r = app
        .call(Method::GET, "/v1/sites?limit=lots", Some(ADMIN), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "{}",
        r.text
    );
    let r = app
        .call(Method::GET, "/v1/sites?limit=100000", Some(ADMIN), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        "{}",
        r.text
    );
    let r = app
        .call(Method::GET, "/v1/sites/not-a-uuid", Some(ADMIN), None)
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let (site, _, _) = app.site_with_key("A").await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/v1/sites/{site}/keys/not-a-uuid"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .raw(Method::GET, "/v1/sites", None, None, Vec::new())
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
#[allow(clippy::unnecessary_literal_unwrap)] // the handler panics on purpose
async fn a_panicking_handler_becomes_a_json_500() {
    let app = app().await;
    let state = vaarta_api::AppState::new(app.db.store.clone(), &app.config, ADMIN.into());
    let router: axum::Router<vaarta_api::AppState> = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            let bug: Option<&str> = None;
            bug.expect("handler bug")
        }),
    );
    let router = vaarta_api::layers::wrap(router, &state).with_state(state);
    let panicking = TestApp {
        router,
        db: app.db,
        config: app.config,
        calls: app.calls,
    };
    let r = panicking.call(Method::GET, "/boom", None, None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.code(), "internal");
    assert!(r.headers.contains_key("x-request-id"));
}
