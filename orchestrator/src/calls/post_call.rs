//! After a call has ended and is fully stored: the site's CRM webhook and its notification
//! emails are queued as durable jobs (the call writer starts this; nothing here can slow a call).

use uuid::Uuid;

use crate::storage::Store;

/// What this node queues after each call.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostCall {
    /// Queue notification emails (`[email] enabled`).
    pub emails: bool,
}

/// Queues the post-call jobs of one ended call; failures are logged (the call is stored).
#[tracing::instrument(skip(store, post))]
pub async fn after_call_ended(store: Store, post: PostCall, call_id: Uuid, site_id: Uuid) {
    let call = match store.calls().get(call_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return,
        Err(e) => return tracing::error!(error = %e, "loading the ended call failed: no webhook or emails"),
    };
    if call.lead_id.is_some()
        && let Err(e) = crate::campaigns::attempts::record_call_end(&store, &call).await
    {
        tracing::error!(error = %e, "recording the campaign attempt failed (the dialer's recovery retries it)");
    }
    if let Err(e) = super::crm_webhook::queue_call_ended(&store, &call).await {
        tracing::error!(error = %e, "queueing the call.ended webhook failed");
    }
    if post.emails
        && let Err(e) = super::call_emails::queue_call_emails(&store, &call).await
    {
        tracing::error!(error = %e, "queueing the call's notification emails failed");
    }
}
