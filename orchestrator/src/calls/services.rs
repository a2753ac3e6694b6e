//! What every call on a node shares (storage, registry, engines, brains, KB), and the one way
//! a call of any channel becomes a running session: [`VoiceServices::prepare`] resolves the
//! site's settings and flow, admits the call (node and site limits) and builds its context.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Map, Value};
use uuid::Uuid;
use vaarta_flows::CallContext;

use super::engines::SpeechEngines;
use super::flow_loader::{FlowLoadError, load_flow};
use super::registry::{AdmitError, CallHandle, CallRegistry};
use super::session::{Retriever, SessionContext, SessionSettings};
use super::types::{CallChannel, CallInfo, CallState, Direction};
use crate::brain::Brain;
use crate::storage::{StorageError, Store};
use crate::tenancy::SiteSettings;
use crate::tools::ToolExecutor;
use crate::voice::TurnTakingConfig;

/// Picks the brain for a site (per-site clients keep their own breaker and concurrency cap).
pub trait BrainProvider: Send + Sync {
    fn brain_for(&self, site_id: Uuid, settings: &SiteSettings) -> Arc<dyn Brain>;
}

/// Node-wide dependencies of calls.
#[derive(Clone)]
pub struct VoiceServices {
    pub store: Store,
    pub registry: CallRegistry,
    pub engines: SpeechEngines,
    pub brains: Arc<dyn BrainProvider>,
    pub retriever: Option<Arc<dyn Retriever>>,
    /// Node defaults for turn taking; sites override parts of it.
    pub turn: TurnTakingConfig,
    /// `[voice] recordings_dir`: where calls of recording sites are written.
    pub recordings_dir: Option<std::path::PathBuf>,
    /// `[voice.capacity]`: calls beyond the speech engines' measured capacity are refused.
    pub capacity: super::capacity::SpeechCapacityConfig,
}

/// A call to set up.
#[derive(Debug, Clone)]
pub struct CallRequest {
    pub site_id: Uuid,
    pub flow: String,
    pub channel: CallChannel,
    pub direction: Direction,
    pub caller: String,
    pub callee: String,
    pub campaign_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    /// Lead fields (outbound) readable with `get`.
    pub lead: Map<String, Value>,
    /// Extra call variables.
    pub vars: Map<String, Value>,
}

/// Why a call was not set up; maps to a SIP code or a widget close reason.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("unknown site")]
    UnknownSite,
    #[error(transparent)]
    Flow(#[from] FlowLoadError),
    #[error(transparent)]
    Admit(#[from] AdmitError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl PrepareError {
    /// SIP response code for an inbound call that cannot be taken.
    pub fn sip_code(&self) -> u16 {
        match self {
            PrepareError::UnknownSite => 404,
            PrepareError::Flow(FlowLoadError::NotFound(_)) => 480,
            PrepareError::Flow(_) => 500,
            PrepareError::Admit(AdmitError::NodeFull { .. } | AdmitError::SpeechFull { .. }) => 503,
            PrepareError::Admit(_) => 486,
            PrepareError::Storage(_) => 500,
        }
    }
}

impl VoiceServices {
    /// Loads the site and its flow, admits the call and returns its session context and handle.
    pub async fn prepare(
        &self,
        req: CallRequest,
    ) -> Result<(SessionContext, CallHandle), PrepareError> {
        let site = self
            .store
            .sites()
            .get(req.site_id)
            .await?
            .ok_or(PrepareError::UnknownSite)?;
        let (program, version) = load_flow(&self.store, req.site_id, &req.flow).await?;
        let mut settings = session_settings(&site.settings, &self.turn);
        if site.settings.voice.record_calls {
            settings.recording_dir = self.recordings_dir.clone();
        }
        let info = CallInfo {
            id: Uuid::now_v7(),
            site_id: req.site_id,
            channel: req.channel,
            direction: req.direction,
            caller: req.caller.clone(),
            callee: req.callee.clone(),
            flow: Some(req.flow.clone()),
            flow_version: version,
            campaign_id: req.campaign_id,
            lead_id: req.lead_id,
            state: CallState::Ringing,
            language: settings.language.clone(),
            started_at: Utc::now(),
            answered_at: None,
            ended_at: None,
            outcome: None,
            end_reason: None,
        };
        let capacity = self.capacity.calls(&self.engines);
        let live = self.registry.live_count();
        super::capacity::record(capacity, live);
        if let Some(cap) = capacity.filter(|c| live >= *c) {
            metrics::counter!("vaarta_calls_refused_total", "reason" => "speech_capacity")
                .increment(1);
            return Err(AdmitError::SpeechFull { capacity: cap }.into());
        }
        let handle = self
            .registry
            .admit(info, site.settings.voice.max_concurrent_calls)?;
        let direction = match (req.channel, req.direction) {
            (CallChannel::Widget, _) => "widget",
            (_, Direction::Inbound) => "inbound",
            (_, Direction::Outbound) => "outbound",
        };
        let mut vars = req.vars;
        vars.entry("transfer_rules".to_string())
            .or_insert_with(|| transfer_rules_vars(&site.settings));
        let flow_context = CallContext {
            call_id: handle.id().to_string(),
            site_id: req.site_id.to_string(),
            caller_number: req.caller,
            direction: direction.to_string(),
            language: settings.language.clone(),
            lead: req.lead,
            vars,
        };
        let tools = (!site.settings.tools.connectors.is_empty())
            .then(|| ToolExecutor::new(site.settings.tools.clone()));
        let ctx = SessionContext {
            engines: self.engines.clone(),
            program,
            flow_context,
            brain: self.brains.brain_for(req.site_id, &site.settings),
            retriever: self.retriever.clone(),
            tools,
            settings,
        };
        Ok((ctx, handle))
    }
}

/// The first transfer target is the human queue the shipped `transfer_rules` module uses; a
/// site with none has no humans, so the module offers a callback instead of a transfer.
fn transfer_rules_vars(s: &SiteSettings) -> Value {
    match s.transfer_targets.first() {
        Some(first) => serde_json::json!({ "human_queue": first.name, "humans": true }),
        None => serde_json::json!({ "humans": false }),
    }
}

/// A site's settings resolved for one call.
pub fn session_settings(s: &SiteSettings, node_turn: &TurnTakingConfig) -> SessionSettings {
    let language = s
        .languages
        .first()
        .map(|l| super::session::phrases::primary(l))
        .unwrap_or_else(|| "hi".to_string());
    let mut turn = node_turn.clone();
    if let Some(ms) = s.voice.holding_after_ms {
        turn.holding_after_ms = ms;
    }
    if let Some(ms) = s.voice.end_of_turn_silence_ms {
        turn.end_of_turn_silence_ms = ms;
    }
    for (lang, words) in &s.voice.backchannels {
        turn.backchannels
            .by_language
            .entry(lang.to_lowercase())
            .or_default()
            .extend(words.iter().cloned());
    }
    let utc_offset_minutes = s
        .calling_hours
        .as_ref()
        .and_then(|h| parse_offset(&h.utc_offset))
        .unwrap_or(330);
    SessionSettings {
        turn,
        language,
        stt_language: None,
        holding_messages: s.holding_messages.clone(),
        transfer_targets: s.transfer_targets.clone(),
        utc_offset_minutes,
        recording_dir: None,
        semantic_turn: s.voice.semantic_turn.unwrap_or(true),
        turn_max_wait_ms: s.voice.turn_max_wait_ms,
    }
}

fn parse_offset(off: &str) -> Option<i32> {
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let (h, m) = off.get(1..)?.split_once(':')?;
    Some(sign * (h.parse::<i32>().ok()? * 60 + m.parse::<i32>().ok()?))
}
