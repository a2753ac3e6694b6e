//! Shared helpers: an app over a fresh test database, and a request helper.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;
use vaarta_api::AppState;
use vaarta_orchestrator::Config;
use vaarta_orchestrator::calls::*;
use vaarta_orchestrator::storage::testing::TestDb;

pub const ADMIN: &str = "admin-token-for-tests-0123456789";

pub struct TestApp {
    pub db: TestDb,
    pub router: Router,
    pub config: Config,
    /// The node's call registry behind the router (tests admit calls directly).
    pub calls: vaarta_orchestrator::calls::registry::CallRegistry,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The `error.code` of an error reply; panics with the body if the shape is wrong.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body: {}", self.text))
    }
}

impl TestApp {
    pub async fn new(db: TestDb) -> TestApp {
        let mut config = Config::default();
        config.limits.max_body_bytes = 4096;
        config.http.docs_assets_dir = "/nonexistent/swagger-ui".into();
        Self::with_config(db, config)
    }

    pub fn with_config(db: TestDb, config: Config) -> TestApp {
        Self::with_state(db, config, |s| s)
    }

    /// Like `with_config`, letting the test add to the state (e.g. a knowledge base).
    pub fn with_state(db: TestDb, config: Config, f: impl FnOnce(AppState) -> AppState) -> TestApp {
        let state = f(AppState::new(db.store.clone(), &config, ADMIN.to_string()));
        let calls = state.calls.clone();
        TestApp {
            router: vaarta_api::app(state),
            db,
            config,
            calls,
        }
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        match body {
            Some(b) => {
                self.raw(
                    method,
                    path,
                    token,
                    Some("application/json"),
                    serde_json::to_vec(&b).unwrap(),
                )
                .await
            }
            None => self.raw(method, path, token, None, Vec::new()).await,
        }
    }

    /// Admin creates a site and a key for it; returns (site_id, key_id, secret).
    pub async fn site_with_key(&self, name: &str) -> (String, String, String) {
        let r = self
            .call(
                Method::POST,
                "/v1/sites",
                Some(ADMIN),
                Some(serde_json::json!({"name": name})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let site_id = r.body["site_id"].as_str().unwrap().to_string();
        let r = self
            .call(
                Method::POST,
                &format!("/v1/sites/{site_id}/keys"),
                Some(ADMIN),
                Some(serde_json::json!({"label": "test"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        (
            site_id,
            r.body["key"]["key_id"].as_str().unwrap().to_string(),
            r.body["secret"].as_str().unwrap().to_string(),
        )
    }
}

/// One `#[tokio::test]` per backend, each with a fresh [`TestApp`] bound to `$app`.
#[macro_export]
macro_rules! api_test {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let $app = $crate::common::TestApp::new(
                    vaarta_orchestrator::storage::testing::TestDb::sqlite().await,
                )
                .await;
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let $app = $crate::common::TestApp::new(
                    vaarta_orchestrator::storage::testing::TestDb::postgres().await,
                )
                .await;
                $body
            }
        }
    };
}

/// An inbound SIP or widget call of `site`, ringing.
pub fn call_info(site: &str, channel: CallChannel) -> CallInfo {
    CallInfo {
        id: Uuid::now_v7(),
        site_id: site.parse().unwrap(),
        channel,
        direction: Direction::Inbound,
        caller: "+919800000001".into(),
        callee: "+911140000000".into(),
        flow: Some("assistant".into()),
        flow_version: None,
        campaign_id: None,
        lead_id: None,
        state: CallState::Ringing,
        language: "hi".into(),
        started_at: chrono::Utc::now(),
        answered_at: None,
        ended_at: None,
        outcome: None,
        end_reason: None,
    }
}

/// A transcript turn event.
pub fn turn(seq: u32, speaker: Speaker, text: &str, latency: Option<TurnLatency>) -> CallEventKind {
    let now = chrono::Utc::now();
    CallEventKind::Turn {
        turn: TurnRecord {
            seq,
            speaker,
            text: text.into(),
            language: "hi".into(),
            confidence: 0.9,
            started_at: now,
            ended_at: now,
            interrupted: false,
            latency,
        },
    }
}
