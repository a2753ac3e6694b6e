//! The post-call CRM webhook: when a call ends and its site has `settings.webhook_url`, one
//! `call.ended` delivery is queued (signed with `settings.webhook_secret`, retried with backoff,
//! dead-lettered after the last attempt; see storage::webhooks and the workers crate).

use serde_json::{Value, json};

use super::types::{CallEventKind, CallInfo};
use crate::storage::{StorageError, Store};

/// The event name (`X-Vaarta-Event`, `event` in the body).
pub const CALL_ENDED: &str = "call.ended";

/// Queues the site's `call.ended` webhook for an ended call; nothing when it has no URL.
pub async fn queue_call_ended(store: &Store, call: &CallInfo) -> Result<bool, StorageError> {
    let Some(site) = store.sites().get(call.site_id).await? else { return Ok(false) };
    let Some(url) = site.settings.webhook_url.clone() else { return Ok(false) };
    let payload = call_ended_payload(store, call).await?;
    store.webhooks().enqueue(call.site_id, CALL_ENDED, call.id, &url, &payload).await?;
    Ok(true)
}

/// What a CRM needs from a finished call: the call, its lead, outcome, the flow's
/// qualification, tags and opt-out, and the transcript.
pub async fn call_ended_payload(store: &Store, call: &CallInfo) -> Result<Value, StorageError> {
    let transcript = store.calls().turns(call.id).await?;
    let events = store.calls().events(call.id).await?;
    let (mut qualification, mut tags, mut opted_out, mut callback) = (Value::Null, Vec::new(), false, false);
    for e in &events {
        if let CallEventKind::Action { name, detail } = &e.kind {
            match name.as_str() {
                // Later calls refine the qualification: merge, later fields win.
                "qualify" => match (&mut qualification, detail) {
                    (Value::Object(q), Value::Object(d)) => q.extend(d.clone()),
                    _ => qualification = detail.clone(),
                },
                "tag" => tags.extend(detail["label"].as_str().map(str::to_string)),
                "opt_out" => opted_out = true,
                "callback_requested" => callback = true,
                _ => {}
            }
        }
    }
    let lead = call.lead_id.map(|id| json!({ "id": id, "campaign_id": call.campaign_id }));
    Ok(json!({
        "event": CALL_ENDED,
        "call": call,
        "lead": lead,
        "outcome": call.outcome,
        "qualification": qualification,
        "tags": tags,
        "opted_out": opted_out,
        "callback_requested": callback,
        "transcript": transcript,
        // Filled once summaries and recordings exist; present so receivers can rely on the keys.
        "summary": null,
        "recording_url": null,
    }))
}
