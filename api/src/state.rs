//! Shared state handed to every handler.

use std::path::PathBuf;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use vaarta_orchestrator::calls::registry::{CallLimits, CallRegistry};
use vaarta_orchestrator::{Config, Store};

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Bearer token that grants access to every site.
    pub admin_token: Arc<str>,
    /// Folder with the swagger-ui-dist files served under `/docs`.
    pub docs_assets_dir: Arc<PathBuf>,
    /// Folder holding uPlot for `/dashboard`.
    pub dashboard_assets_dir: Arc<PathBuf>,
    pub max_body_bytes: usize,
    pub request_timeout: std::time::Duration,
    pub metrics: PrometheusHandle,
    /// This node's live calls (call control, live events).
    pub calls: CallRegistry,
    /// The knowledge base; `None` when the embedding model is not installed.
    pub kb: Option<Arc<vaarta_orchestrator::kb::KnowledgeBase>>,
    /// Limits on recordings posted for audit transcription.
    pub audit: AuditUploads,
    /// Places outbound calls; `None` when this node takes no calls.
    pub outbound: Option<vaarta_orchestrator::calls::sip_gateway::SipGateway>,
    /// `[voice] recordings_dir`: call recordings (`<call_id>.wav`).
    pub recordings_dir: Arc<PathBuf>,
    /// Takes website widget calls; `None` when this node takes no calls.
    pub widget: Option<vaarta_orchestrator::calls::widget::WidgetGateway>,
}

/// `[audit] max_upload_bytes` and the decoder limits an upload is checked against.
#[derive(Clone)]
pub struct AuditUploads {
    pub max_upload_bytes: u64,
    pub decode: vaarta_speech::decode::DecodeConfig,
}

impl AppState {
    /// With the knowledge base (loaded by the caller: it needs the embedding model).
    pub fn with_kb(mut self, kb: vaarta_orchestrator::kb::KnowledgeBase) -> AppState {
        self.kb = Some(Arc::new(kb));
        self
    }

    pub fn new(store: Store, config: &Config, admin_token: String) -> AppState {
        AppState {
            store: store.clone(),
            admin_token: admin_token.into(),
            docs_assets_dir: Arc::new(config.http.docs_assets_dir.clone()),
            dashboard_assets_dir: Arc::new(config.http.dashboard_assets_dir.clone()),
            max_body_bytes: config.limits.max_body_bytes,
            request_timeout: std::time::Duration::from_secs(
                config.http.request_timeout_secs.max(1),
            ),
            metrics: crate::metrics::prometheus_handle(),
            calls: CallRegistry::with_post_call(
                store.clone(),
                CallLimits {
                    max_calls_per_node: config.voice.max_calls,
                    default_max_calls_per_site: config.voice.max_calls_per_site,
                },
                vaarta_orchestrator::calls::post_call::PostCall {
                    emails: config.email.enabled,
                },
            ),
            kb: None,
            audit: AuditUploads {
                max_upload_bytes: config.audit.max_upload_bytes,
                decode: config.speech.file_transcribe.decode.clone(),
            },
            outbound: None,
            recordings_dir: Arc::new(config.voice.recordings_dir.clone()),
            widget: None,
        }
    }
}
