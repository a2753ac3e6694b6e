//! After a call has ended and is fully stored: the site's CRM webhook and its notification
//! emails are queued as durable jobs (the call writer starts this; nothing here can slow a call).

use uuid::Uuid;

use super::call_facts::EndedCall;
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
    let loaded = async {
        let Some(call) = store.calls().get(call_id).await? else {
            return Ok(None);
        };
        let site = store.sites().get(call.site_id).await?;
        Ok::<_, crate::storage::StorageError>(Some((EndedCall::load(&store, call).await?, site)))
    };
    let (ended, site) = match loaded.await {
        Ok(Some(x)) => x,
        Ok(None) => return,
        Err(e) => {
            return tracing::error!(error = %e, "loading the ended call failed: no webhook, emails or lead update");
        }
    };
    if ended.call.lead_id.is_some()
        && let Err(e) =
            crate::campaigns::attempts::record_attempt(&store, &ended.call, &ended.facts).await
    {
        tracing::error!(error = %e, "recording the campaign attempt failed (the dialer's recovery retries it)");
    }
    let Some(site) = site else { return };
    if let Err(e) = super::crm_webhook::queue_call_ended(&store, &site, &ended).await {
        tracing::error!(error = %e, "queueing the call.ended webhook failed");
    }
    if let Err(e) = super::crm_webhook::queue_callback_requested(&store, &site, &ended).await {
        tracing::error!(error = %e, "queueing the callback.requested webhook failed");
    }
    if post.emails
        && let Err(e) = super::call_emails::queue_call_emails(&store, &site, &ended).await
    {
        tracing::error!(error = %e, "queueing the call's notification emails failed");
    }
}
