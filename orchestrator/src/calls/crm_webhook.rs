//! The post-call CRM webhook: when a call ends and its site has `settings.webhook_url`, one
//! `call.ended` delivery is queued (signed with `settings.webhook_secret`, retried with backoff,
//! dead-lettered after the last attempt; see storage::webhooks and the workers crate).

use serde_json::{Value, json};

use super::call_facts::EndedCall;
use super::types::{Speaker, TurnRecord};
use crate::storage::{StorageError, Store};
use crate::tenancy::Site;

/// The event name (`X-Vaarta-Event`, `event` in the body).
pub const CALL_ENDED: &str = "call.ended";

/// Queues the site's `call.ended` webhook for an ended call; nothing when it has no URL.
pub async fn queue_call_ended(
    store: &Store,
    site: &Site,
    ended: &EndedCall,
) -> Result<bool, StorageError> {
    let Some(url) = site.settings.webhook_url.as_deref() else {
        return Ok(false);
    };
    let call = &ended.call;
    let mut payload = call_ended_payload(ended);
    match crate::audit::summary::summarise(
        site.settings.brain.as_ref(),
        &speaker_lines(&ended.turns),
    )
    .await
    {
        Ok(s) => payload["summary"] = s.into(),
        Err(e) => {
            tracing::warn!(call_id = %call.id, error = %e, "the site's LLM gave no call summary; the webhook goes without one")
        }
    }
    store
        .webhooks()
        .enqueue(call.site_id, CALL_ENDED, call.id, url, &payload)
        .await?;
    Ok(true)
}

/// The event name of a callback the caller was promised (no human could take the call).
pub const CALLBACK_REQUESTED: &str = "callback.requested";

/// Queues the site's `callback.requested` webhook when the call ended with a promised callback
/// (a durable job: signed, retried, dead-lettered like `call.ended`); nothing without a URL.
pub async fn queue_callback_requested(
    store: &Store,
    site: &Site,
    ended: &EndedCall,
) -> Result<bool, StorageError> {
    let Some(url) = site.settings.webhook_url.as_deref() else {
        return Ok(false);
    };
    if !ended.facts.callback_requested {
        return Ok(false);
    }
    let call = &ended.call;
    let payload = json!({
        "event": CALLBACK_REQUESTED,
        "call_id": call.id,
        "site_id": call.site_id,
        "caller": call.caller,
        "callee": call.callee,
        "language": call.language,
        "channel": call.channel,
        "outcome": call.outcome,
        "reason": call.end_reason,
        "requested_at": call.ended_at,
    });
    store
        .webhooks()
        .enqueue(call.site_id, CALLBACK_REQUESTED, call.id, url, &payload)
        .await?;
    Ok(true)
}

/// A call's turns as (agent | customer, text), the shape summaries take.
fn speaker_lines(turns: &[TurnRecord]) -> Vec<(String, String)> {
    turns
        .iter()
        .map(|t| {
            (
                if t.speaker == Speaker::Bot {
                    "agent"
                } else {
                    "customer"
                }
                .to_string(),
                t.text.clone(),
            )
        })
        .collect()
}

/// What a CRM needs from a finished call: the call, its lead, outcome, the flow's
/// qualification, tags and opt-out, and the transcript.
pub fn call_ended_payload(ended: &EndedCall) -> Value {
    let (call, facts) = (&ended.call, &ended.facts);
    let lead = call
        .lead_id
        .map(|id| json!({ "id": id, "campaign_id": call.campaign_id }));
    json!({
        "event": CALL_ENDED,
        "call": call,
        "lead": lead,
        "outcome": call.outcome,
        "qualification": facts.qualification,
        "tags": facts.tags,
        "opted_out": facts.opted_out,
        "callback_requested": facts.callback_requested,
        "transcript": ended.turns,
        // From the site's LLM when it has one (set by queue_call_ended). Both keys are always
        // present; `recording_url` is relative to the API's base URL.
        "summary": null,
        "recording_url": facts.recorded.then(|| super::call_facts::recording_path(call.id)),
    })
}
