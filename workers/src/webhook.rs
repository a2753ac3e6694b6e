//! Delivers one signed webhook per job. A failed attempt schedules the next one after the
//! configured delay (a new job, so no worker sleeps); after the last the delivery is `dead`
//! (the dead-letter list). Receivers get `X-Vaarta-Delivery` (stable across attempts) to drop
//! the rare duplicate after a crash between their 2xx and our bookkeeping.

use std::time::Duration;

use tracing::{info, warn};
use vaarta_orchestrator::Store;
use vaarta_orchestrator::storage::jobs::WebhookJob;

use crate::signing::{SIGNATURE_HEADER, sign};

/// What delivery needs.
#[derive(Clone)]
pub struct WebhookDeps {
    pub store: Store,
    pub http: reqwest::Client,
    pub retry_delays: Vec<Duration>,
}

/// Why a job failed (apalis retries it).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Storage(#[from] vaarta_orchestrator::StorageError),
}

/// Runs one attempt.
#[tracing::instrument(skip_all, fields(delivery_id = %job.delivery_id, attempt = job.attempt))]
pub async fn deliver(job: WebhookJob, deps: &WebhookDeps) -> Result<(), WebhookError> {
    let repo = deps.store.webhooks();
    let Some(d) = repo.get(job.delivery_id).await? else {
        return Ok(());
    };
    if d.status != "pending" {
        return Ok(());
    }
    let secret = deps
        .store
        .sites()
        .get(d.site_id)
        .await?
        .and_then(|s| s.settings.webhook_secret);
    let mut req = deps
        .http
        .post(&d.url)
        .header("content-type", "application/json")
        .header("x-vaarta-delivery", d.id.to_string())
        .header("x-vaarta-event", &d.kind)
        .header("x-vaarta-attempt", job.attempt.to_string())
        .body(d.payload.clone());
    if let Some(secret) = &secret {
        req = req.header(SIGNATURE_HEADER, sign(secret, d.payload.as_bytes()));
    }
    let outcome = match req.send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("receiver answered {}", r.status())),
        Err(e) => Err(format!("request failed: {e}")),
    };
    match outcome {
        Ok(()) => {
            repo.delivered(d.id).await?;
            info!(site_id = %d.site_id, kind = %d.kind, "webhook delivered");
            metrics::counter!("vaarta_webhooks_total", "result" => "delivered").increment(1);
        }
        Err(error) => {
            let next = deps
                .retry_delays
                .get(job.attempt.saturating_sub(1) as usize)
                .copied();
            repo.failed_attempt(d.id, &error, next.is_none()).await?;
            match next {
                Some(delay) => {
                    warn!(site_id = %d.site_id, %error, retry_in_s = delay.as_secs(), "webhook failed; will retry");
                    repo.schedule(d.id, job.attempt + 1, Some(delay)).await?;
                    metrics::counter!("vaarta_webhooks_total", "result" => "retry").increment(1);
                }
                None => {
                    warn!(site_id = %d.site_id, %error, "webhook failed for the last time: dead-lettered");
                    metrics::counter!("vaarta_webhooks_total", "result" => "dead").increment(1);
                }
            }
        }
    }
    Ok(())
}
