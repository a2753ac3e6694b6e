//! Widget calls into the call-session system: checks a socket's site, public key and Origin,
//! admits the call (the site's widget sessions, then the registry's node and site limits) and
//! runs a session whose transport is the socket. The socket itself is the API crate's; it talks
//! to the call through [`WidgetCall`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use super::bridge::{BridgeState, SipBridge};
use super::media::{Outgoing, WidgetMedia};
use super::protocol::{CloseReason, Refusal, ServerMessage, WIDGET_RATE, event_message};
use crate::calls::registry::AdmitError;
use crate::calls::services::{CallRequest, PrepareError, VoiceServices};
use crate::calls::session::media::MediaEvent;
use crate::calls::types::{CallChannel, CallCommand, CallEvent, CallEventKind, Direction};
use crate::config::WidgetConfig;

/// The flow a widget runs when the site has neither a widget route nor `voice.default_flow`.
pub const DEFAULT_WIDGET_FLOW: &str = "assistant";

/// Where a socket comes from, for the Origin check.
#[derive(Debug, Clone, Default)]
pub struct SocketOrigin {
    /// The `Origin` header.
    pub origin: Option<String>,
    /// The `Host` header: pages Vaarta serves itself (`/demo`) have this as their origin.
    pub host: Option<String>,
}

/// Accepts widget sockets for the node; cheap to clone.
#[derive(Clone)]
pub struct WidgetGateway {
    services: VoiceServices,
    limits: WidgetConfig,
    open: Arc<Mutex<HashMap<Uuid, usize>>>,
    /// Dials agents for transfers; without it a widget transfer fails (callback offered).
    sip: Option<crate::calls::sip_gateway::SipGateway>,
}

/// Counts one open widget session of a site while alive.
struct Slot {
    open: Arc<Mutex<HashMap<Uuid, usize>>>,
    site: Uuid,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.site) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.site);
            }
        }
    }
}

impl WidgetGateway {
    pub fn new(services: VoiceServices, limits: WidgetConfig) -> Self {
        WidgetGateway {
            services,
            limits,
            open: Arc::default(),
            sip: None,
        }
    }

    /// Transfers of widget calls dial the agent through this SIP user agent and bridge audio.
    pub fn with_sip(mut self, sip: crate::calls::sip_gateway::SipGateway) -> Self {
        self.sip = Some(sip);
        self
    }

    pub fn limits(&self) -> &WidgetConfig {
        &self.limits
    }

    /// Checks a socket before anything runs: the key must be the site's widget key and the
    /// Origin one of the site's `widget_origins` (or this server's own, for `/demo`).
    pub async fn authorize(
        &self,
        site_id: &str,
        key: &str,
        from: &SocketOrigin,
    ) -> Result<Uuid, Refusal> {
        let internal = |e: crate::storage::StorageError| {
            tracing::error!(error = %e, "widget authorization failed");
            Refusal::new(CloseReason::Internal, "could not check the key; try again")
        };
        let site_id = Uuid::parse_str(site_id)
            .map_err(|_| Refusal::new(CloseReason::UnknownSite, "site_id is not a site id"))?;
        let site = self
            .services
            .store
            .sites()
            .get(site_id)
            .await
            .map_err(internal)?;
        let site = site.ok_or_else(|| Refusal::new(CloseReason::UnknownSite, "no such site"))?;
        match self
            .services
            .store
            .widget_keys()
            .site_for(key)
            .await
            .map_err(internal)?
        {
            Some(owner) if owner == site_id => {}
            Some(_) => {
                return Err(Refusal::new(
                    CloseReason::BadKey,
                    "this widget key belongs to another site",
                ));
            }
            None => return Err(Refusal::new(CloseReason::BadKey, "unknown widget key")),
        }
        let origin = from
            .origin
            .as_deref()
            .map(|o| o.trim_end_matches('/').to_ascii_lowercase());
        let Some(origin) = origin else {
            return Err(Refusal::new(
                CloseReason::OriginNotAllowed,
                "the request has no Origin header",
            ));
        };
        let listed = site
            .settings
            .widget_origins
            .iter()
            .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(&origin));
        let own = self.limits.allow_same_origin
            && from.host.as_deref().is_some_and(|h| {
                origin
                    .split_once("://")
                    .is_some_and(|(_, auth)| auth.eq_ignore_ascii_case(h))
            });
        if !(listed || own) {
            return Err(Refusal::new(
                CloseReason::OriginNotAllowed,
                format!("origin {origin} is not in the site's widget_origins"),
            ));
        }
        Ok(site_id)
    }

    /// Starts the call for an authorized socket.
    pub async fn start(
        &self,
        site_id: Uuid,
        sample_rate: u32,
        visitor_id: Option<String>,
    ) -> Result<WidgetCall, Refusal> {
        if sample_rate != WIDGET_RATE {
            return Err(Refusal::new(
                CloseReason::BadMessage,
                format!("sample_rate must be {WIDGET_RATE} (got {sample_rate})"),
            ));
        }
        let visitor = match visitor_id {
            Some(v)
                if v.is_empty() || v.chars().count() > 64 || v.chars().any(char::is_control) =>
            {
                return Err(Refusal::new(
                    CloseReason::BadMessage,
                    "visitor_id must be 1..=64 printable characters",
                ));
            }
            Some(v) => v,
            None => format!("visitor-{}", &Uuid::new_v4().simple().to_string()[..12]),
        };
        let slot = self.take_slot(site_id)?;
        let internal = |e: crate::storage::StorageError| {
            Refusal::new(CloseReason::Internal, format!("route lookup failed: {e}"))
        };
        let flow = match self
            .services
            .store
            .routes()
            .resolve_widget(site_id)
            .await
            .map_err(internal)?
        {
            Some(f) => f,
            // No widget route: the site's default flow, else the shipped assistant.
            None => self
                .services
                .store
                .sites()
                .get(site_id)
                .await
                .map_err(internal)?
                .and_then(|s| s.settings.voice.default_flow)
                .unwrap_or_else(|| DEFAULT_WIDGET_FLOW.to_string()),
        };
        let req = CallRequest {
            site_id,
            flow,
            channel: CallChannel::Widget,
            direction: Direction::Inbound,
            caller: visitor,
            callee: "widget".to_string(),
            campaign_id: None,
            lead_id: None,
            lead: Default::default(),
            vars: Default::default(),
        };
        // Subscribe first: the greeting's events must not be missed.
        let events = self.services.registry.subscribe();
        let (ctx, handle) = self.services.prepare(req).await.map_err(refusal)?;
        handle.update(|c| c.answered_at = Some(chrono::Utc::now()));
        let call_id = handle.id();
        let (out_tx, out_rx) = mpsc::channel(512);
        let (to_session, session_rx) = mpsc::channel(256);
        let bridge = BridgeState::default();
        let transfer = self.sip.as_ref().map(|gw| SipBridge {
            gateway: gw.clone(),
            call_id,
            to_session: to_session.clone(),
            out: out_tx.clone(),
            state: bridge.clone(),
        });
        let media = WidgetMedia::new(out_tx.clone(), transfer);
        let forwarded = tokio::spawn(forward_events(events, call_id, out_tx.clone()));
        let max = Duration::from_secs(self.limits.max_session_s.max(1));
        let session_tx = to_session.clone();
        let bridged = bridge.clone();
        let registry = self.services.registry.clone();
        tokio::spawn(async move {
            // The longest call: ended like an API hangup, politely and recorded.
            let limit = tokio::time::sleep(max);
            tokio::pin!(limit);
            let run = crate::calls::session::run(ctx, media, session_rx, handle);
            tokio::pin!(run);
            let outcome = tokio::select! {
                o = &mut run => o,
                _ = &mut limit => {
                    let reason = "the widget call reached [widget] max_session_s".to_string();
                    if registry.command(call_id, CallCommand::Hangup { reason: reason.clone() }).is_err() {
                        let _ = session_tx.send(MediaEvent::Hangup { cause: reason }).await;
                    }
                    run.await
                }
            };
            // Every event up to the call's end (the last line's text) goes out before `ended`.
            let _ = tokio::time::timeout(Duration::from_secs(2), forwarded).await;
            // Handed to an agent: the socket carries the bridge until either side hangs up.
            bridged.finished().await;
            tracing::info!(?outcome, "widget call ended");
            let _ = out_tx
                .send(Outgoing::Message(ServerMessage::Ended {
                    outcome,
                    reason: String::new(),
                }))
                .await;
        });
        Ok(WidgetCall {
            call_id,
            to_session,
            out: out_rx,
            rate: RateWindow::new(self.limits.max_frames_per_s),
            max_frame_bytes: self.limits.max_frame_bytes,
            bridge,
            _slot: slot,
        })
    }

    fn take_slot(&self, site: Uuid) -> Result<Slot, Refusal> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(site).or_default();
        if *n >= self.limits.max_sessions_per_site {
            return Err(Refusal::new(
                CloseReason::TooManySessions,
                format!(
                    "the site has {} widget calls open, the most allowed",
                    self.limits.max_sessions_per_site
                ),
            ));
        }
        *n += 1;
        Ok(Slot {
            open: self.open.clone(),
            site,
        })
    }
}

fn refusal(e: PrepareError) -> Refusal {
    match e {
        PrepareError::UnknownSite => Refusal::new(CloseReason::UnknownSite, "no such site"),
        PrepareError::Flow(f) => Refusal::new(
            CloseReason::Unavailable,
            format!("the widget's flow cannot run: {f}"),
        ),
        PrepareError::Admit(AdmitError::NodeFull { .. }) => Refusal::new(
            CloseReason::Unavailable,
            "this node is at its call limit; try again shortly",
        ),
        PrepareError::Admit(AdmitError::SpeechFull { .. }) => Refusal::new(
            CloseReason::Unavailable,
            "busy: every agent voice is in use; try again shortly",
        ),
        PrepareError::Admit(a) => Refusal::new(CloseReason::TooManySessions, a.to_string()),
        PrepareError::Storage(s) => Refusal::new(CloseReason::Internal, format!("storage: {s}")),
    }
}

/// The call's events, as widget messages, onto the socket queue until the call ends.
async fn forward_events(
    mut events: broadcast::Receiver<CallEvent>,
    call_id: Uuid,
    out: mpsc::Sender<Outgoing>,
) {
    loop {
        match events.recv().await {
            Ok(ev) if ev.call_id == call_id => {
                if matches!(ev.kind, CallEventKind::Ended { .. }) {
                    return;
                }
                if let Some(m) = event_message(&ev)
                    && out.send(Outgoing::Message(m)).await.is_err()
                {
                    return;
                }
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(skipped = n, "widget event stream lagged")
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Frames per second from one browser, over a sliding one-second window.
struct RateWindow {
    max: u32,
    window_start: Instant,
    count: u32,
}

impl RateWindow {
    fn new(max: u32) -> Self {
        RateWindow {
            max: max.max(1),
            window_start: Instant::now(),
            count: 0,
        }
    }

    fn allow(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.count = 0;
        }
        self.count += 1;
        self.count <= self.max
    }
}

/// One running widget call, driven by the socket shell: browser input goes in through
/// [`WidgetCall::audio`] / [`WidgetCall::control`], everything to send comes out of
/// [`WidgetCall::next`].
pub struct WidgetCall {
    pub call_id: Uuid,
    to_session: mpsc::Sender<MediaEvent>,
    out: mpsc::Receiver<Outgoing>,
    rate: RateWindow,
    max_frame_bytes: usize,
    bridge: BridgeState,
    _slot: Slot,
}

impl WidgetCall {
    /// A binary frame: PCM16 little-endian mono at 16 kHz.
    pub async fn audio(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        if bytes.len() > self.max_frame_bytes {
            return Err(Refusal::new(
                CloseReason::FrameTooLarge,
                format!(
                    "audio frame of {} bytes; the most is {}",
                    bytes.len(),
                    self.max_frame_bytes
                ),
            ));
        }
        if !bytes.len().is_multiple_of(2) {
            return Err(Refusal::new(
                CloseReason::BadMessage,
                "audio frames are 16-bit samples: an even number of bytes",
            ));
        }
        if !self.rate.allow(Instant::now()) {
            return Err(Refusal::new(
                CloseReason::TooFast,
                "more audio frames per second than allowed",
            ));
        }
        let pcm: Vec<i16> = bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        if self.bridge.is_active() && self.bridge.visitor_audio(&pcm).await {
            return Ok(());
        }
        // A full queue means the session is gone or stuck: drop audio rather than block the socket.
        let _ = self.to_session.try_send(MediaEvent::Audio(pcm));
        Ok(())
    }

    /// A text frame after `start`.
    pub async fn control(&mut self, msg: super::protocol::ClientMessage) -> Result<(), Refusal> {
        use super::protocol::ClientMessage;
        match msg {
            ClientMessage::Start { .. } => Err(Refusal::new(
                CloseReason::BadMessage,
                "the call has already started",
            )),
            ClientMessage::Stop => {
                self.hangup("the visitor ended the call").await;
                Ok(())
            }
            ClientMessage::Dtmf { digit } => {
                let mut chars = digit.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii_digit() || c == '*' || c == '#' => {
                        let _ = self.to_session.send(MediaEvent::Dtmf(c)).await;
                        Ok(())
                    }
                    _ => Err(Refusal::new(
                        CloseReason::BadMessage,
                        format!("dtmf digit must be one of 0-9 * # (got {digit:?})"),
                    )),
                }
            }
        }
    }

    /// The browser went away or broke the protocol: the session ends (caller hung up).
    pub async fn hangup(&self, cause: &str) {
        self.bridge.hangup().await;
        let _ = self
            .to_session
            .send(MediaEvent::Hangup {
                cause: cause.to_string(),
            })
            .await;
    }

    /// The next thing to send; `None` once the call is over and everything was sent.
    pub async fn next(&mut self) -> Option<Outgoing> {
        self.out.recv().await
    }
}
