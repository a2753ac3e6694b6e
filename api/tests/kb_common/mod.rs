//! Shared by the KB tests: an app with the real embedding model, the job workers on its
//! database (sharing its knowledge base, as `vaarta serve` does), and a job poller.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::Value;
use vaarta_orchestrator::kb::KnowledgeBase;
use vaarta_orchestrator::storage::testing::TestDb;
use vaarta_workers::{Workers, WorkersDeps};

use crate::common::TestApp;

/// A [`TestApp`] with a knowledge base.
pub struct KbApp {
    pub app: TestApp,
    pub kb: Arc<KnowledgeBase>,
}

impl std::ops::Deref for KbApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

pub fn app(db: TestDb) -> KbApp {
    let mut config = vaarta_orchestrator::Config::default();
    config.limits.max_body_bytes = 1024 * 1024;
    config.http.docs_assets_dir = "/nonexistent/swagger-ui".into();
    let embedder = vaarta_speech::embed::Embedder::load(&Default::default(), &Default::default())
        .expect("embedding model (scripts/install-models)");
    let kb = KnowledgeBase::new(db.store.clone(), Arc::new(embedder));
    let mut shared = None;
    let app = TestApp::with_state(db, config, |s| {
        let s = s.with_kb(kb);
        shared = s.kb.clone();
        s
    });
    KbApp {
        app,
        kb: shared.expect("kb"),
    }
}

/// The apalis workers (the `kb.reindex` one among them) on the app's database.
pub async fn workers(app: &KbApp) -> Workers {
    let cfg = vaarta_orchestrator::config::JobsConfig {
        poll_interval_ms: 100,
        heartbeat_s: 1,
        ..Default::default()
    };
    let deps = WorkersDeps {
        store: app.db.store.clone(),
        transcribe: None,
        email: None,
        kb: Some(app.kb.clone()),
    };
    Workers::start(deps, &cfg).await.expect("workers")
}

/// Polls `GET …/kb/reindex/{job}` until the job is `done` or `failed`.
pub async fn wait_job(app: &TestApp, site: &str, key: &str, job: &str) -> Value {
    let start = Instant::now();
    loop {
        let r = app
            .call(
                Method::GET,
                &format!("/v1/sites/{site}/kb/reindex/{job}"),
                Some(key),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if r.body["status"] == "done" || r.body["status"] == "failed" {
            return r.body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "job not finished after 120 s: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
