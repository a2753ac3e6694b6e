//! SIP calls into the call-session system: routes each inbound INVITE to a site and flow by the
//! dialled number, admits it (503 when the node is full, 486 when the site is), answers, and runs
//! a session whose transport is the SIP leg. Telephony events (DTMF, hangup, transfer results)
//! are forwarded to the call's session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use vaarta_telephony::{
    CallId, Event, HangupCause, IncomingCall, RegistrationState, Telephony, TransferResult,
};

use super::services::{CallRequest, VoiceServices};
use super::session::media::{MediaError, MediaEvent, MediaPort};
use super::types::{CallChannel, Direction};

const FRAME: usize = 160;
/// How long an agent dialled for a bridge may ring (a session gives a transfer 30 s in all).
const AGENT_RING_LIMIT: std::time::Duration = std::time::Duration::from_secs(25);

/// A SIP leg as a session transport (8 kHz G.711 underneath).
pub struct SipMedia {
    telephony: Telephony,
    call: CallId,
    /// `sip:<number>@<domain>` for E.164 transfer targets.
    trunk_domain: Option<String>,
    /// Where a refused REFER's target is kept for the bridge fallback.
    legs: Legs,
}

impl SipMedia {
    pub(super) fn new(
        telephony: Telephony,
        call: CallId,
        trunk_domain: Option<String>,
        legs: Legs,
    ) -> Self {
        Self {
            telephony,
            call,
            trunk_domain,
            legs,
        }
    }
}

fn media_err(e: impl std::fmt::Display) -> MediaError {
    MediaError(e.to_string())
}

impl MediaPort for SipMedia {
    fn sample_rate(&self) -> u32 {
        8000
    }
    async fn play(&self, pcm: Vec<i16>) -> Result<(), MediaError> {
        let frames = pcm
            .chunks(FRAME)
            .map(|c| {
                let mut f = [0i16; FRAME];
                f[..c.len()].copy_from_slice(c);
                f
            })
            .collect();
        self.telephony
            .play(self.call, frames)
            .await
            .map_err(media_err)
    }
    async fn clear(&self) -> Result<(), MediaError> {
        self.telephony
            .clear_playback(self.call)
            .await
            .map_err(media_err)
    }
    async fn hangup(&self) -> Result<(), MediaError> {
        // A leg bridged to an agent belongs to the bridge now: it ends when either side hangs up.
        if lock(&self.legs).bridged.contains_key(&self.call) {
            return Ok(());
        }
        self.telephony.hangup(self.call).await.map_err(media_err)
    }
    async fn transfer(&self, destination: &str) -> Result<(), MediaError> {
        let target = match (
            &self.trunk_domain,
            destination.strip_prefix("tel:").unwrap_or(destination),
        ) {
            (_, d) if d.starts_with("sip:") || d.starts_with("sips:") => d.to_string(),
            (Some(domain), d) => format!("sip:{d}@{domain}"),
            (None, d) => {
                return Err(MediaError(format!(
                    "cannot transfer to {d}: no SIP trunk configured for numbers"
                )));
            }
        };
        lock(&self.legs).transfers.insert(self.call, target.clone());
        self.telephony
            .transfer(self.call, &target)
            .await
            .map_err(media_err)
    }
}

/// The node's SIP legs by telephony call id: where each leg's events go.
#[derive(Default)]
pub(super) struct LegTable {
    /// Connected (or answering) legs: their session's event channel.
    pub media: HashMap<CallId, mpsc::Sender<MediaEvent>>,
    /// Outbound legs still ringing: told how the attempt ends.
    pub dialing: HashMap<CallId, oneshot::Sender<DialOutcome>>,
    /// Outcomes that arrived before their dialler registered (a loopback 486 can beat the
    /// dial reply), kept briefly.
    pub early: HashMap<CallId, (Instant, DialOutcome)>,
    /// Blind transfers in flight: the target, for a bridge when the caller's side refuses REFER.
    pub transfers: HashMap<CallId, String>,
    /// Calls bridged to an agent leg (both directions): when one hangs up, so does the other.
    pub bridged: HashMap<CallId, CallId>,
}

/// How an outbound attempt ended its ringing phase.
#[derive(Debug, Clone)]
pub(super) enum DialOutcome {
    Answered,
    Ended(HangupCause),
}

pub(super) type Legs = Arc<Mutex<LegTable>>;

pub(super) fn lock(legs: &Legs) -> std::sync::MutexGuard<'_, LegTable> {
    legs.lock().unwrap_or_else(|p| p.into_inner())
}

/// The SIP side of the call-session system: takes inbound calls and places outbound ones
/// ([`SipGateway::place`]). Cheap to clone.
#[derive(Clone)]
pub struct SipGateway {
    pub(super) services: VoiceServices,
    pub(super) telephony: Telephony,
    /// `sip:<number>@<domain>` for numbers (transfers and outbound calls).
    pub(super) trunk_domain: Option<String>,
    pub(super) legs: Legs,
}

impl SipGateway {
    pub fn new(
        services: VoiceServices,
        telephony: Telephony,
        trunk_domain: Option<String>,
    ) -> Self {
        Self {
            services,
            telephony,
            trunk_domain,
            legs: Arc::default(),
        }
    }

    /// Runs until the telephony event stream ends (telephony shut down).
    pub async fn run(self, mut events: mpsc::Receiver<Event>) {
        while let Some(ev) = events.recv().await {
            match ev {
                Event::Incoming(inc) => {
                    let (tx, rx) = mpsc::channel(256);
                    lock(&self.legs).media.insert(inc.call, tx.clone());
                    let gw = self.clone();
                    tokio::spawn(async move {
                        let call = inc.call;
                        incoming(
                            gw.services,
                            gw.telephony,
                            inc,
                            tx,
                            rx,
                            gw.trunk_domain,
                            gw.legs.clone(),
                        )
                        .await;
                        lock(&gw.legs).media.remove(&call);
                    });
                }
                Event::Answered { call } => {
                    self.dial_outcome(call, DialOutcome::Answered);
                }
                Event::Dtmf { call, digit } => forward(&self.legs, call, MediaEvent::Dtmf(digit)),
                Event::Hangup { call, cause } => {
                    let peer = {
                        let mut legs = lock(&self.legs);
                        legs.transfers.remove(&call);
                        let peer = legs.bridged.remove(&call);
                        if let Some(p) = peer {
                            legs.bridged.remove(&p);
                        }
                        peer
                    };
                    if let Some(peer) = peer {
                        tracing::info!(%call, %peer, "bridged call ended: hanging up the other side");
                        let t = self.telephony.clone();
                        tokio::spawn(async move {
                            let _ = t.hangup(peer).await;
                        });
                        continue;
                    }
                    if !self.dial_outcome(call, DialOutcome::Ended(cause.clone())) {
                        forward(
                            &self.legs,
                            call,
                            MediaEvent::Hangup {
                                cause: cause_text(&cause),
                            },
                        )
                    }
                }
                Event::Transfer { call, result } => {
                    let target = lock(&self.legs).transfers.remove(&call);
                    match (result, target) {
                        (TransferResult::Succeeded, _) => forward(
                            &self.legs,
                            call,
                            MediaEvent::TransferResult {
                                ok: true,
                                detail: "REFER accepted, target answered".into(),
                            },
                        ),
                        // The caller's side would not move the call: Vaarta dials the agent itself
                        // and bridges the two legs.
                        (TransferResult::Failed(code), Some(target)) => {
                            tokio::spawn(self.clone().bridge_fallback(call, target, code));
                        }
                        (TransferResult::Failed(code), None) => forward(
                            &self.legs,
                            call,
                            MediaEvent::TransferResult {
                                ok: false,
                                detail: format!("transfer failed ({code})"),
                            },
                        ),
                    }
                }
                Event::Registration(state) => {
                    let up = matches!(state, RegistrationState::Registered { .. });
                    metrics::gauge!("vaarta_sip_registered").set(if up { 1.0 } else { 0.0 });
                    tracing::info!(?state, "SIP trunk registration");
                }
                _ => {}
            }
        }
    }

    /// Dials a human agent for a bridge and waits (at most 25 s) for the answer: the answered
    /// leg with its event channel (registered; `forget` it when done), or why it did not answer.
    pub(super) async fn dial_agent(
        &self,
        dial: vaarta_telephony::DialRequest,
    ) -> Result<(vaarta_telephony::OutgoingCall, mpsc::Receiver<MediaEvent>), String> {
        let out = self
            .telephony
            .dial(dial)
            .await
            .map_err(|e| format!("dialling failed: {e}"))?;
        let (_tx, events, ring) = self.register_leg(out.call);
        let cause = match tokio::time::timeout(AGENT_RING_LIMIT, ring).await {
            Ok(Ok(DialOutcome::Answered)) => return Ok((out, events)),
            Ok(Ok(DialOutcome::Ended(cause))) => cause,
            Ok(Err(_)) => vaarta_telephony::HangupCause::Failed(0),
            Err(_) => {
                let _ = self.telephony.hangup(out.call).await;
                vaarta_telephony::HangupCause::NoAnswer
            }
        };
        self.forget(out.call);
        Err(format!("did not answer ({cause:?})"))
    }

    /// After a refused REFER: dials `target` and, once it answers, relays audio between it and
    /// `call` (RTP forwarding in the telephony layer); the session hears how it went.
    async fn bridge_fallback(self, call: CallId, target: String, code: u16) {
        tracing::info!(%call, %target, code, "REFER refused: bridging to the target instead");
        let fail = |detail: String| {
            forward(
                &self.legs,
                call,
                MediaEvent::TransferResult { ok: false, detail },
            )
        };
        let dial = vaarta_telephony::DialRequest {
            to: target.clone(),
            caller_id: None,
            headers: vec![("X-Vaarta-Transfer-Of".into(), call.to_string())],
        };
        let out = match self.dial_agent(dial).await {
            Ok((out, _events)) => out,
            Err(why) => return fail(format!("REFER refused ({code}); {target}: {why}")),
        };
        // From here the bridge table, not the leg table, ties the two legs together.
        self.forget(out.call);
        {
            let mut legs = lock(&self.legs);
            legs.bridged.insert(call, out.call);
            legs.bridged.insert(out.call, call);
        }
        match self.telephony.bridge(call, out.call).await {
            Ok(()) => forward(
                &self.legs,
                call,
                MediaEvent::TransferResult {
                    ok: true,
                    detail: format!("REFER refused ({code}); bridged to {target}"),
                },
            ),
            Err(e) => {
                {
                    let mut legs = lock(&self.legs);
                    legs.bridged.remove(&call);
                    legs.bridged.remove(&out.call);
                }
                let _ = self.telephony.hangup(out.call).await;
                fail(format!(
                    "REFER refused ({code}); bridging to {target} failed: {e}"
                ))
            }
        }
    }

    /// Hands a ringing outcome to its dialler; false when the call is not (or no longer) ringing.
    fn dial_outcome(&self, call: CallId, outcome: DialOutcome) -> bool {
        let mut legs = lock(&self.legs);
        if let Some(tx) = legs.dialing.remove(&call) {
            let _ = tx.send(outcome);
            return true;
        }
        if legs.media.contains_key(&call) {
            return false;
        }
        // Not registered yet: keep it for the dialler (and forget stale ones).
        let now = Instant::now();
        legs.early
            .retain(|_, (at, _)| now.duration_since(*at) < std::time::Duration::from_secs(60));
        legs.early.insert(call, (now, outcome));
        true
    }
}

fn forward(legs: &Legs, call: CallId, ev: MediaEvent) {
    let tx = lock(legs).media.get(&call).cloned();
    if let Some(tx) = tx {
        // Control events must not be lost behind audio: wait for room off the event loop.
        tokio::spawn(async move {
            let _ = tx.send(ev).await;
        });
    }
}

fn cause_text(cause: &HangupCause) -> String {
    format!("{cause:?}")
}

async fn incoming(
    services: VoiceServices,
    telephony: Telephony,
    inc: IncomingCall,
    tx: mpsc::Sender<MediaEvent>,
    mut rx: mpsc::Receiver<MediaEvent>,
    trunk: Option<String>,
    legs: Legs,
) {
    let call = inc.call;
    let route = match services.store.routes().resolve_sip(&inc.callee).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            tracing::info!(callee = %inc.callee, caller = %inc.caller, "no route for the dialled number: 404");
            let _ = telephony.reject(call, 404).await;
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "route lookup failed: 500");
            let _ = telephony.reject(call, 500).await;
            return;
        }
    };
    let (site_id, flow) = route;
    let req = CallRequest {
        site_id,
        flow,
        channel: CallChannel::Sip,
        direction: Direction::Inbound,
        caller: inc.caller.clone(),
        callee: inc.callee.clone(),
        campaign_id: None,
        lead_id: None,
        lead: Default::default(),
        vars: Default::default(),
    };
    let (ctx, handle) = match services.prepare(req).await {
        Ok(x) => x,
        Err(e) => {
            let code = e.sip_code();
            tracing::warn!(error = %e, code, %site_id, "call refused");
            let _ = telephony.reject(call, code).await;
            return;
        }
    };
    // A CANCEL may have arrived while the flow loaded.
    if let Ok(MediaEvent::Hangup { cause }) = rx.try_recv() {
        handle.emit(super::types::CallEventKind::Ended {
            outcome: super::types::CallOutcome::CallerHungUp,
            reason: cause,
        });
        return;
    }
    if let Err(e) = telephony.answer(call).await {
        tracing::warn!(error = %e, "answer failed");
        handle.emit(super::types::CallEventKind::Ended {
            outcome: super::types::CallOutcome::CallerHungUp,
            reason: e.to_string(),
        });
        return;
    }
    handle.update(|c| c.answered_at = Some(chrono::Utc::now()));
    let mut audio = inc.audio;
    tokio::spawn(async move {
        while let Some(frame) = audio.recv().await {
            if tx.send(MediaEvent::Audio(frame.to_vec())).await.is_err() {
                break;
            }
        }
    });
    let media = SipMedia::new(telephony, call, trunk, legs);
    let outcome = super::session::run(ctx, media, rx, handle).await;
    tracing::info!(?outcome, "call ended");
}
