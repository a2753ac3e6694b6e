//! Notification emails about one finished call: a qualified lead, a failed transfer (the
//! caller was promised a callback), and each `notify(template, data)` of the flow. Rendered
//! here as plain text; the `email.send` job only delivers them.

use std::fmt::Write as _;

use crate::storage::jobs::{EMAIL, EmailJob, PushOptions};
use crate::storage::{StorageError, Store};

use super::call_facts::{CallFacts, EndedCall};
use super::types::{CallInfo, CallOutcome, Direction, Speaker, TurnRecord};
use crate::tenancy::Site;

/// Qualification statuses worth an email.
const QUALIFIED: &[&str] = &["hot", "qualified"];

/// Queues the emails the site asked for about `call`; returns how many.
pub async fn queue_call_emails(
    store: &Store,
    site: &Site,
    ended: &EndedCall,
) -> Result<usize, StorageError> {
    let n = &site.settings.notifications;
    if n.email_to.is_empty() {
        return Ok(0);
    }
    let (call, facts, transcript) = (&ended.call, &ended.facts, &ended.turns);
    let mut emails = Vec::new();
    if n.qualified_lead
        && facts
            .status()
            .is_some_and(|s| QUALIFIED.contains(&s.as_str()))
    {
        emails.push((
            "qualified_lead".to_string(),
            format!("Qualified lead: {}", party(call)),
            "The flow qualified this lead.".to_string(),
        ));
    }
    let transfer_failed =
        call.outcome == Some(CallOutcome::TransferFailed) || facts.callback_requested;
    if n.transfer_failed && transfer_failed {
        emails.push((
            "transfer_failed".to_string(),
            format!("Call back {}: transfer failed", party(call)),
            "The transfer to a human failed; the caller was told someone would call back."
                .to_string(),
        ));
    }
    if n.flow_notify {
        for req in &facts.notifies {
            let data = if req.data.is_null() {
                String::new()
            } else {
                format!("\nData: {}", req.data)
            };
            emails.push((
                format!("notify:{}", req.template),
                format!("{}: {}", req.template, party(call)),
                format!("The flow asked to notify you ({}).{data}", req.template),
            ));
        }
    }
    let count = emails.len();
    for (i, (template, subject, lead)) in emails.into_iter().enumerate() {
        let key = format!("{}:{i}:{template}", call.id);
        let job = EmailJob {
            site_id: call.site_id,
            template,
            to: n.email_to.clone(),
            subject,
            text: body(&site.name, call, facts, transcript, &lead),
            key: key.clone(),
            attempt: 1,
        };
        let opts = PushOptions {
            idempotency_key: Some(format!("email:{key}:1")),
            delay: None,
            max_attempts: Some(1),
        };
        store.jobs().push(EMAIL, &job, opts).await?;
    }
    Ok(count)
}

/// The other party's number (the caller inbound, the callee outbound).
fn party(call: &CallInfo) -> &str {
    match call.direction {
        Direction::Outbound => &call.callee,
        Direction::Inbound => &call.caller,
    }
}

fn body(
    site: &str,
    call: &CallInfo,
    facts: &CallFacts,
    transcript: &[TurnRecord],
    lead: &str,
) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{lead}\n");
    let _ = writeln!(t, "Site: {site}");
    let (channel, direction) = (
        crate::storage::calls::to_text(&call.channel),
        crate::storage::calls::to_text(&call.direction),
    );
    let _ = writeln!(t, "Call: {} ({channel}, {direction})", call.id);
    let _ = writeln!(t, "Number: {}", party(call));
    let _ = writeln!(
        t,
        "Started: {}",
        call.started_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if let Some(o) = call.outcome {
        let _ = writeln!(t, "Outcome: {}", crate::storage::calls::to_text(&o));
    }
    if let Some(q) = &facts.qualification {
        let _ = writeln!(t, "\nQualification:");
        for (k, v) in q {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            let _ = writeln!(t, "  {k}: {v}");
        }
    }
    if !facts.tags.is_empty() {
        let _ = writeln!(t, "Tags: {}", facts.tags.join(", "));
    }
    if !transcript.is_empty() {
        let _ = writeln!(t, "\nTranscript:");
        for turn in transcript {
            let who = match turn.speaker {
                Speaker::Caller => "Caller",
                Speaker::Bot => "Vaarta",
            };
            let _ = writeln!(t, "  {who}: {}", turn.text);
        }
    }
    t
}
