//! The post-call CRM webhook: when a call ends and its site has `settings.webhook_url`, one
//! `call.ended` delivery is queued (signed with `settings.webhook_secret`, retried with backoff,
//! dead-lettered after the last attempt; see storage::webhooks and the workers crate).

use serde_json::{Value, json};

use super::call_facts::CallFacts;
use super::types::CallInfo;
use crate::storage::{StorageError, Store};

/// The event name (`X-Vaarta-Event`, `event` in the body).
pub const CALL_ENDED: &str = "call.ended";

/// Queues the site's `call.ended` webhook for an ended call; nothing when it has no URL.
pub async fn queue_call_ended(store: &Store, call: &CallInfo) -> Result<bool, StorageError> {
    let Some(site) = store.sites().get(call.site_id).await? else { return Ok(false) };
    let Some(url) = site.settings.webhook_url.clone() else { return Ok(false) };
    let mut payload = call_ended_payload(store, call).await?;
    if let Some(t) = payload["transcript"].as_array() {
        let lines: Vec<(String, String)> = t
            .iter()
            .map(|x| (if x["speaker"] == "bot" { "agent" } else { "customer" }.to_string(), x["text"].as_str().unwrap_or_default().to_string()))
            .collect();
        match crate::audit::summary::summarise(site.settings.brain.as_ref(), &lines).await {
            Ok(s) => payload["summary"] = s.into(),
            Err(e) => tracing::warn!(call_id = %call.id, error = %e, "the site's LLM gave no call summary; the webhook goes without one"),
        }
    }
    store.webhooks().enqueue(call.site_id, CALL_ENDED, call.id, &url, &payload).await?;
    Ok(true)
}

/// What a CRM needs from a finished call: the call, its lead, outcome, the flow's
/// qualification, tags and opt-out, and the transcript.
pub async fn call_ended_payload(store: &Store, call: &CallInfo) -> Result<Value, StorageError> {
    let transcript = store.calls().turns(call.id).await?;
    let facts = CallFacts::from_events(&store.calls().events(call.id).await?);
    let lead = call.lead_id.map(|id| json!({ "id": id, "campaign_id": call.campaign_id }));
    Ok(json!({
        "event": CALL_ENDED,
        "call": call,
        "lead": lead,
        "outcome": call.outcome,
        "qualification": facts.qualification,
        "tags": facts.tags,
        "opted_out": facts.opted_out,
        "callback_requested": facts.callback_requested,
        "transcript": transcript,
        // From the site's LLM when it has one (set by queue_call_ended); recordings do not exist
        // yet. Both keys are always present.
        "summary": null,
        "recording_url": null,
    }))
}
