//! Outbound SIP calls: one call placed now (the API's `POST /v1/calls`; campaigns dial through
//! the same path). The call is admitted and its flow loaded before anything is dialled, so a
//! refusal costs no ringing phone; the returned call then rings in the background and, once
//! answered, runs its flow like any inbound call. SIP failures map to call outcomes
//! (486 busy, 408/480 no answer, 603 declined, 404/484 invalid number, others failed).

use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;
use vaarta_telephony::{DialRequest, HangupCause};

use super::services::{CallRequest, PrepareError};
use super::session::media::MediaEvent;
use super::sip_gateway::{DialOutcome, SipGateway, SipMedia, lock};
use super::types::{CallChannel, CallCommand, CallEventKind, CallInfo, CallOutcome, Direction};
use crate::storage::routes::normalize_number;

/// Longest an attempt may ring before Vaarta gives up on it (the trunk usually ends it first).
const RING_LIMIT: Duration = Duration::from_secs(90);

/// One outbound call to place.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub site_id: Uuid,
    /// E.164 (`+919812345678`), an Indian national number, or a `sip:` URI.
    pub to: String,
    /// A flow of the site (or a shipped one) to run once answered.
    pub flow: String,
    /// Caller id shown to the callee (defaults to the trunk's).
    pub caller_id: Option<String>,
    /// Call variables (`get(...)` in the flow).
    pub vars: Map<String, Value>,
    /// Lead fields (`get(...)` falls back to them; `get("lead")` is the whole map).
    pub lead: Map<String, Value>,
    pub campaign_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
}

/// Why a call was not placed.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error(
        "invalid number {0:?}: use E.164 like +919812345678, a 10-digit Indian number, or a sip: URI"
    )]
    InvalidNumber(String),
    #[error("{0} is on the do-not-call list")]
    DoNotCall(String),
    #[error("numbers need a SIP trunk: configure [telephony.trunk] or dial a sip: URI")]
    NoTrunk,
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error("dialling failed: {0}")]
    Dial(String),
}

/// `to` as it is dialled and stored: E.164 for numbers, the URI for `sip:` targets.
pub fn dial_target(to: &str) -> Result<String, PlaceError> {
    let t = to.trim();
    if let Some(rest) = t.strip_prefix("sip:") {
        let (user, host) = rest.split_once('@').unwrap_or(("", rest));
        let ok_host = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
        let ok_user = user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-_.".contains(c));
        return if ok_host && ok_user && t.len() <= 256 {
            Ok(t.to_string())
        } else {
            Err(PlaceError::InvalidNumber(t.to_string()))
        };
    }
    let clean: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    if clean.is_empty()
        || !clean
            .trim_start_matches('+')
            .chars()
            .all(|c| c.is_ascii_digit())
    {
        return Err(PlaceError::InvalidNumber(t.to_string()));
    }
    let e164 = normalize_number(&clean);
    let digits = e164.len() - 1;
    if !(8..=15).contains(&digits) || e164.starts_with("+0") {
        return Err(PlaceError::InvalidNumber(t.to_string()));
    }
    Ok(e164)
}

/// The outcome of an attempt that never connected.
pub fn outcome_of(cause: &HangupCause) -> CallOutcome {
    match cause {
        HangupCause::Busy => CallOutcome::Busy,
        HangupCause::NoAnswer | HangupCause::Timeout => CallOutcome::NoAnswer,
        HangupCause::Declined => CallOutcome::Declined,
        HangupCause::Failed(404 | 484 | 604) => CallOutcome::InvalidNumber,
        HangupCause::Failed(408 | 480) => CallOutcome::NoAnswer,
        _ => CallOutcome::Failed,
    }
}

impl SipGateway {
    /// Places a call now and returns it ringing; the rest runs in the background.
    pub async fn place(&self, req: OutboundRequest) -> Result<CallInfo, PlaceError> {
        let target = dial_target(&req.to)?;
        if self
            .services
            .store
            .dnd()
            .blocks(req.site_id, &target)
            .await
            .map_err(PrepareError::from)?
        {
            return Err(PlaceError::DoNotCall(target));
        }
        let sip_uri = if target.starts_with("sip:") {
            target.clone()
        } else {
            let domain = self.trunk_domain.as_deref().ok_or(PlaceError::NoTrunk)?;
            format!("sip:{target}@{domain}")
        };
        let call_req = CallRequest {
            site_id: req.site_id,
            flow: req.flow,
            channel: CallChannel::Sip,
            direction: Direction::Outbound,
            caller: req.caller_id.clone().unwrap_or_default(),
            callee: target.clone(),
            campaign_id: req.campaign_id,
            lead_id: req.lead_id,
            lead: req.lead,
            vars: req.vars,
        };
        let (ctx, handle) = self.services.prepare(call_req).await?;
        let dial = DialRequest {
            to: sip_uri,
            caller_id: req.caller_id,
            headers: vec![("X-Vaarta-Call-Id".into(), handle.id().to_string())],
        };
        let out = match self.telephony.dial(dial).await {
            Ok(o) => o,
            Err(e) => {
                handle.emit(CallEventKind::Ended {
                    outcome: CallOutcome::Failed,
                    reason: e.to_string(),
                });
                return Err(PlaceError::Dial(e.to_string()));
            }
        };
        let (media_tx, media_rx, ring_rx) = self.register_leg(out.call);
        let info = handle.info();
        tracing::info!(call_id = %info.id, site_id = %info.site_id, to = %target, "outbound call ringing");
        let gw = self.clone();
        let mut handle = handle;
        tokio::spawn(async move {
            let call = out.call;
            let ring = tokio::time::timeout(RING_LIMIT, ring_rx);
            tokio::pin!(ring);
            // While it rings, the API may hang it up (CANCEL); a transfer has nothing to move yet.
            let outcome = loop {
                tokio::select! {
                    r = &mut ring => break match r {
                        Ok(Ok(o)) => o,
                        Ok(Err(_)) => DialOutcome::Ended(HangupCause::Failed(0)),
                        Err(_) => {
                            let _ = gw.telephony.hangup(call).await;
                            DialOutcome::Ended(HangupCause::NoAnswer)
                        }
                    },
                    Some(cmd) = handle.next_command() => {
                        if let CallCommand::Hangup { reason } = cmd {
                            let _ = gw.telephony.hangup(call).await;
                            handle.emit(CallEventKind::Ended { outcome: CallOutcome::HungUpByApi, reason });
                            gw.forget(call);
                            return;
                        }
                    }
                }
            };
            match outcome {
                DialOutcome::Answered => {
                    handle.update(|c| c.answered_at = Some(chrono::Utc::now()));
                    let mut audio = out.audio;
                    tokio::spawn(async move {
                        while let Some(frame) = audio.recv().await {
                            if media_tx
                                .send(MediaEvent::Audio(frame.to_vec()))
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                    });
                    let media = SipMedia::new(
                        gw.telephony.clone(),
                        call,
                        gw.trunk_domain.clone(),
                        gw.legs.clone(),
                    );
                    let outcome = super::session::run(ctx, media, media_rx, handle).await;
                    tracing::info!(?outcome, "outbound call ended");
                }
                DialOutcome::Ended(cause) => {
                    let outcome = outcome_of(&cause);
                    tracing::info!(?cause, ?outcome, "outbound call not connected");
                    handle.emit(CallEventKind::Ended {
                        outcome,
                        reason: format!("{cause:?}"),
                    });
                }
            }
            gw.forget(call);
        });
        Ok(info)
    }

    /// Registers a dialled leg: its events go to the returned channel, and how its ringing
    /// ends to the oneshot (an outcome that beat the registration is handed over at once).
    pub(super) fn register_leg(
        &self,
        call: vaarta_telephony::CallId,
    ) -> (
        mpsc::Sender<MediaEvent>,
        mpsc::Receiver<MediaEvent>,
        oneshot::Receiver<DialOutcome>,
    ) {
        let (media_tx, media_rx) = mpsc::channel(256);
        let (ring_tx, ring_rx) = oneshot::channel();
        let mut legs = lock(&self.legs);
        legs.media.insert(call, media_tx.clone());
        match legs.early.remove(&call) {
            Some((_, outcome)) => {
                let _ = ring_tx.send(outcome);
            }
            None => {
                legs.dialing.insert(call, ring_tx);
            }
        }
        (media_tx, media_rx, ring_rx)
    }

    /// Drops an outbound leg's entries once its task is done with it.
    pub(super) fn forget(&self, call: vaarta_telephony::CallId) {
        let mut legs = lock(&self.legs);
        legs.media.remove(&call);
        legs.dialing.remove(&call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_e164_and_junk_is_refused() {
        assert_eq!(dial_target("98123 45678").unwrap(), "+919812345678");
        assert_eq!(dial_target("+44 20 7946 0958").unwrap(), "+442079460958");
        assert_eq!(dial_target("09812345678").unwrap(), "+919812345678");
        assert_eq!(
            dial_target("sip:agent@127.0.0.1:5070").unwrap(),
            "sip:agent@127.0.0.1:5070"
        );
        for bad in [
            "",
            "abc",
            "12",
            "+0123456789",
            "98123x45678",
            "sip:",
            "sip:a b@host",
            "+1234567890123456",
        ] {
            assert!(
                matches!(dial_target(bad), Err(PlaceError::InvalidNumber(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn sip_failures_map_to_outcomes() {
        assert_eq!(outcome_of(&HangupCause::Busy), CallOutcome::Busy);
        assert_eq!(outcome_of(&HangupCause::NoAnswer), CallOutcome::NoAnswer);
        assert_eq!(outcome_of(&HangupCause::Failed(480)), CallOutcome::NoAnswer);
        assert_eq!(outcome_of(&HangupCause::Declined), CallOutcome::Declined);
        assert_eq!(
            outcome_of(&HangupCause::Failed(404)),
            CallOutcome::InvalidNumber
        );
        assert_eq!(outcome_of(&HangupCause::Failed(503)), CallOutcome::Failed);
    }
}
