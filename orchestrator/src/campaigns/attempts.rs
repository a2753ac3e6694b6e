//! The end of a campaign call, applied to its lead: the outcome, the flow's result
//! (qualification, opt-out, callback) and what comes next under the campaign's retry policy
//! and calling window. Runs after every ended call that has a lead (post_call), and in the
//! dialer's recovery for calls whose report a crash lost.

use chrono::Utc;
use serde_json::json;

use super::retry::NextStep;
use crate::calls::CallInfo;
use crate::calls::call_facts::CallFacts;
use crate::storage::leads::AttemptEnd;
use crate::storage::{StorageError, Store};

/// Ended by a restart of the service, not by the call: final, never retried (the callee may
/// have answered; calling again would reach them twice).
pub const INTERRUPTED: &str = "interrupted";
/// `end_reason` of calls a restart cut (storage::calls::end_orphans).
pub const RESTART_REASON: &str = "service restarted during the call";

/// Applies an ended call to its lead; false when the call has no lead or the lead had already
/// moved on (a repeated report).
pub async fn record_call_end(store: &Store, call: &CallInfo) -> Result<bool, StorageError> {
    if call.lead_id.is_none() {
        return Ok(false);
    }
    let facts = CallFacts::from_events(&store.calls().events(call.id).await?);
    record_attempt(store, call, &facts).await
}

/// [`record_call_end`] with the flow's decisions already read.
pub async fn record_attempt(
    store: &Store,
    call: &CallInfo,
    facts: &CallFacts,
) -> Result<bool, StorageError> {
    let Some(lead_id) = call.lead_id else {
        return Ok(false);
    };
    let Some(lead) = store.leads().get(lead_id).await? else {
        return Ok(false);
    };
    if lead.status != "dialing" || lead.last_call_id.is_some_and(|c| c != call.id) {
        return Ok(false);
    }
    let Some(campaign) = store.campaigns().get(None, lead.campaign_id).await? else {
        return Ok(false);
    };
    let result = json!({
        "call_id": call.id,
        "qualification": facts.qualification,
        "tags": facts.tags,
        "opted_out": facts.opted_out,
        "callback_requested": facts.callback_requested,
    });
    let interrupted = call.end_reason.as_deref() == Some(RESTART_REASON);
    let outcome = match (interrupted, call.outcome) {
        (true, _) => INTERRUPTED.to_string(),
        (false, Some(o)) => crate::storage::calls::to_text(&o),
        (false, None) => "failed".to_string(),
    };
    let retry_at = match call.outcome {
        Some(o) if !interrupted && !facts.opted_out => {
            let ended = call.ended_at.unwrap_or_else(Utc::now);
            match campaign.spec.retry.next(
                o,
                u32::try_from(lead.attempts).unwrap_or(u32::MAX),
                ended,
            ) {
                NextStep::RetryAt(at) => Some(
                    campaign
                        .spec
                        .window()
                        .map(|w| w.next_open(at))
                        .unwrap_or(at),
                ),
                NextStep::Done => None,
            }
        }
        _ => None,
    };
    let end = AttemptEnd {
        outcome,
        retry_at,
        skip_reason: None,
        result: Some(result),
    };
    store.leads().finish_attempt(lead.id, &end).await
}
