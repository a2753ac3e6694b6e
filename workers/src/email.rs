//! Sends one notification email per job through the configured SMTP server (lettre, rustls).
//! A failed send schedules the next attempt after `[email] retry_delays_s` as a new job (no
//! worker sleeps); after the last the email is dropped, logged and counted.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::{info, warn};
use vaarta_orchestrator::Store;
use vaarta_orchestrator::config::EmailConfig;
use vaarta_orchestrator::storage::jobs::{EMAIL, EmailJob, PushOptions};

/// What sending needs.
#[derive(Clone)]
pub struct EmailDeps {
    pub store: Store,
    pub transport: AsyncSmtpTransport<Tokio1Executor>,
    pub from: Mailbox,
    pub retry_delays: Vec<Duration>,
}

/// Why the email worker could not start, or a job could not be bookkept.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("[email] from: {0}")]
    From(String),
    #[error("[email] SMTP: {0}")]
    Smtp(String),
    #[error(transparent)]
    Storage(#[from] vaarta_orchestrator::StorageError),
}

impl EmailDeps {
    pub fn new(store: Store, cfg: &EmailConfig) -> Result<EmailDeps, EmailError> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e| EmailError::From(format!("{:?}: {e}", cfg.from)))?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_string()).map_err(|e| EmailError::Smtp(e.to_string()))
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.smtp_host)
            .port(cfg.smtp_port);
        b = match cfg.tls.as_str() {
            "tls" => b.tls(Tls::Wrapper(tls(&cfg.smtp_host)?)),
            "none" => b.tls(Tls::None),
            _ => b.tls(Tls::Required(tls(&cfg.smtp_host)?)),
        };
        if !cfg.username.is_empty() {
            b = b.credentials(Credentials::new(cfg.username.clone(), cfg.password.clone()));
        }
        let transport = b
            .timeout(Some(Duration::from_millis(cfg.timeout_ms.max(100))))
            .build();
        Ok(EmailDeps {
            store,
            transport,
            from,
            retry_delays: cfg
                .retry_delays_s
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
        })
    }
}

fn message(job: &EmailJob, from: &Mailbox) -> Result<Message, String> {
    let mut m = Message::builder()
        .from(from.clone())
        .subject(job.subject.clone());
    for to in &job.to {
        m = m.to(to
            .parse::<Mailbox>()
            .map_err(|e| format!("recipient {to:?}: {e}"))?);
    }
    m.header(ContentType::TEXT_PLAIN)
        .body(job.text.clone())
        .map_err(|e| e.to_string())
}

/// Runs one attempt.
#[tracing::instrument(skip_all, fields(site_id = %job.site_id, template = %job.template, attempt = job.attempt))]
pub async fn send(job: EmailJob, deps: &EmailDeps) -> Result<(), EmailError> {
    let msg = match message(&job, &deps.from) {
        Ok(m) => m,
        Err(e) => {
            // A message that cannot be built never will be: no retry.
            warn!(error = %e, "notification email dropped: invalid message");
            metrics::counter!("vaarta_emails_total", "result" => "dropped").increment(1);
            return Ok(());
        }
    };
    let error = match deps.transport.send(msg).await {
        Ok(_) => {
            info!(to = job.to.len(), "notification email sent");
            metrics::counter!("vaarta_emails_total", "result" => "sent").increment(1);
            return Ok(());
        }
        Err(e) => e.to_string(),
    };
    match deps
        .retry_delays
        .get(job.attempt.saturating_sub(1) as usize)
        .copied()
    {
        Some(delay) => {
            warn!(%error, retry_in_s = delay.as_secs(), "sending the notification email failed; will retry");
            metrics::counter!("vaarta_emails_total", "result" => "retry").increment(1);
            let next = EmailJob {
                attempt: job.attempt + 1,
                ..job
            };
            let opts = PushOptions {
                idempotency_key: Some(format!("email:{}:{}", next.key, next.attempt)),
                delay: Some(delay),
                max_attempts: Some(1),
            };
            deps.store.jobs().push(EMAIL, &next, opts).await?;
        }
        None => {
            warn!(%error, "notification email dropped after its last attempt");
            metrics::counter!("vaarta_emails_total", "result" => "dropped").increment(1);
        }
    }
    Ok(())
}
