//! Transfer of a widget call to a human: the agent is dialled over SIP (a number through the
//! trunk, or a `sip:` URI) and, once they answer, the visitor's browser audio and the agent's
//! phone audio are bridged (16 kHz ↔ 8 kHz) until either side hangs up. If the agent does not
//! answer, the session is told the transfer failed and offers a call back.

use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc};
use uuid::Uuid;
use vaarta_telephony::{CallId, DialRequest, Telephony};

use super::media::Outgoing;
use super::protocol::ServerMessage;
use super::rate2x::{Down2x, Up2x};
use crate::calls::outbound::dial_target;
use crate::calls::session::media::{MediaError, MediaEvent};
use crate::calls::sip_gateway::SipGateway;

/// Samples per 20 ms at 8 kHz.
const LEG_FRAME: usize = 160;

/// The agent's leg once connected.
struct Leg {
    telephony: Telephony,
    call: CallId,
    down: Down2x,
    /// 8 kHz samples not yet a whole frame.
    pending: Vec<i16>,
}

/// Shared by the session's transport, the socket's input path and the call's task: whether the
/// visitor is bridged to an agent, and when that ends.
#[derive(Clone, Default)]
pub struct BridgeState {
    leg: Arc<tokio::sync::Mutex<Option<Leg>>>,
    active: Arc<Mutex<bool>>,
    ended: Arc<Notify>,
}

impl BridgeState {
    pub fn is_active(&self) -> bool {
        *self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Visitor audio (16 kHz) to the agent; false when not bridged.
    pub async fn visitor_audio(&self, pcm: &[i16]) -> bool {
        let mut guard = self.leg.lock().await;
        let Some(leg) = guard.as_mut() else {
            return false;
        };
        let down = leg.down.run(pcm);
        leg.pending.extend(down);
        let whole = leg.pending.len() / LEG_FRAME * LEG_FRAME;
        if whole > 0 {
            let frames = leg
                .pending
                .drain(..whole)
                .collect::<Vec<_>>()
                .chunks(LEG_FRAME)
                .map(|c| c.try_into().unwrap_or([0; LEG_FRAME]))
                .collect();
            let _ = leg.telephony.play(leg.call, frames).await;
        }
        true
    }

    /// The visitor hung up: so does the agent's leg.
    pub async fn hangup(&self) {
        if let Some(leg) = self.leg.lock().await.take() {
            let _ = leg.telephony.hangup(leg.call).await;
        }
    }

    /// Returns once the bridge is over (at once if it never started).
    pub async fn finished(&self) {
        loop {
            let notified = self.ended.notified();
            if !self.is_active() {
                return;
            }
            notified.await;
        }
    }

    fn set_active(&self, on: bool) {
        *self.active.lock().unwrap_or_else(|p| p.into_inner()) = on;
        if !on {
            self.ended.notify_waiters();
        }
    }
}

/// Places the agent leg for one widget call.
pub struct SipBridge {
    pub(super) gateway: SipGateway,
    pub(super) call_id: Uuid,
    pub(super) to_session: mpsc::Sender<MediaEvent>,
    pub(super) out: mpsc::Sender<Outgoing>,
    pub(super) state: BridgeState,
}

impl SipBridge {
    /// Dials `destination`; the outcome reaches the session as a `TransferResult`.
    pub fn start(&self, destination: &str) -> Result<(), MediaError> {
        let target = dial_target(destination).map_err(|e| MediaError(e.to_string()))?;
        let uri = match (
            target.starts_with("sip:"),
            self.gateway.trunk_domain.as_deref(),
        ) {
            (true, _) => target.clone(),
            (false, Some(domain)) => format!("sip:{target}@{domain}"),
            (false, None) => {
                return Err(MediaError(format!(
                    "cannot dial {target}: no SIP trunk is configured"
                )));
            }
        };
        let (gw, call_id, to_session, out, state) = (
            self.gateway.clone(),
            self.call_id,
            self.to_session.clone(),
            self.out.clone(),
            self.state.clone(),
        );
        tokio::spawn(async move {
            let (ok, detail) = match connect(&gw, &uri, call_id, out, state).await {
                Ok(()) => (true, format!("bridged to {target}")),
                Err(why) => (false, why),
            };
            let _ = to_session
                .send(MediaEvent::TransferResult { ok, detail })
                .await;
        });
        Ok(())
    }
}

/// Dials, waits for an answer, and starts the two audio directions.
async fn connect(
    gw: &SipGateway,
    uri: &str,
    call_id: Uuid,
    out: mpsc::Sender<Outgoing>,
    state: BridgeState,
) -> Result<(), String> {
    let dial = DialRequest {
        to: uri.to_string(),
        caller_id: None,
        headers: vec![("X-Vaarta-Call-Id".into(), call_id.to_string())],
    };
    let (leg, mut events) = gw
        .dial_agent(dial)
        .await
        .map_err(|why| format!("the agent {why}"))?;
    tracing::info!(%call_id, agent = %uri, "widget caller bridged to an agent");
    state.set_active(true);
    *state.leg.lock().await = Some(Leg {
        telephony: gw.telephony.clone(),
        call: leg.call,
        down: Down2x::default(),
        pending: Vec::new(),
    });
    let _ = out
        .send(Outgoing::Message(ServerMessage::Transfer {
            target: uri.to_string(),
            ok: Some(true),
        }))
        .await;
    let (gw, mut audio, agent_call) = (gw.clone(), leg.audio, leg.call);
    tokio::spawn(async move {
        let mut up = Up2x::default();
        loop {
            tokio::select! {
                frame = audio.recv() => match frame {
                    Some(f) => {
                        if out.send(Outgoing::Audio(up.run(&f))).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                ev = events.recv() => match ev {
                    Some(MediaEvent::Hangup { .. }) | None => break,
                    Some(_) => {}
                },
            }
        }
        if let Some(l) = state.leg.lock().await.take() {
            let _ = l.telephony.hangup(l.call).await;
        }
        gw.forget(agent_call);
        state.set_active(false);
        tracing::info!(%call_id, "widget bridge ended");
    });
    Ok(())
}
