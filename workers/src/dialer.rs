//! The campaign dialer: every tick it looks at the running campaigns and, inside each one's
//! calling window and under its concurrency cap and pace, claims due leads and places their
//! calls through the SIP gateway. The lead rows are the durable queue: a claim (`pending` →
//! `dialing`, attempts + 1) is one atomic statement, so nodes never dial the same lead, and the
//! call id is stored as soon as the call exists. How an attempt ends is applied by the
//! post-call hook (orchestrator::campaigns::attempts); after a crash, [`recover`] finishes the
//! attempts that were live (`interrupted`, never redialled) or whose report was lost.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tracing::{info, warn};
use uuid::Uuid;
use vaarta_orchestrator::calls::CallInfo;
use vaarta_orchestrator::calls::outbound::{OutboundRequest, PlaceError};
use vaarta_orchestrator::calls::services::PrepareError;
use vaarta_orchestrator::calls::sip_gateway::SipGateway;
use vaarta_orchestrator::campaigns::attempts::{INTERRUPTED, record_call_end};
use vaarta_orchestrator::campaigns::{Campaign, CampaignStatus};
use vaarta_orchestrator::storage::leads::{AttemptEnd, Lead};
use vaarta_orchestrator::{Backend, StorageError, Store};

/// How often a running dialer looks for attempts whose end was never recorded.
const RECOVERY_EVERY: Duration = Duration::from_secs(30);

/// Places one call; the SIP gateway in production, a recorder in tests.
pub trait Placer: Send + Sync + 'static {
    fn place(
        &self,
        req: OutboundRequest,
    ) -> futures::future::BoxFuture<'_, Result<CallInfo, PlaceError>>;
}

impl Placer for SipGateway {
    fn place(
        &self,
        req: OutboundRequest,
    ) -> futures::future::BoxFuture<'_, Result<CallInfo, PlaceError>> {
        Box::pin(SipGateway::place(self, req))
    }
}

/// A running dialer.
pub struct Dialer {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Dialer {
    /// Recovers attempts a previous run left open, then dials every `tick`.
    /// With `digests`, it also queues each campaign's daily digest email (`[email] enabled`).
    pub async fn start(
        store: Store,
        placer: impl Placer,
        tick: Duration,
        digests: bool,
    ) -> Result<Dialer, StorageError> {
        let started = Utc::now();
        recover(&store, started).await?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut pace = Pacing::default();
            let mut last_digest: Option<std::time::Instant> = None;
            let mut last_recovery = std::time::Instant::now();
            let mut every = tokio::time::interval(tick);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stopped.wait_for(|s| *s) => break,
                }
                if let Err(e) = run_tick(&store, &placer, &mut pace, Utc::now()).await {
                    warn!(error = %e, "dialer tick failed; next tick retries");
                }
                // Lost reports are rare (a crash between a call's end and its bookkeeping):
                // look for them now and then, not on every tick.
                if last_recovery.elapsed() >= RECOVERY_EVERY {
                    last_recovery = std::time::Instant::now();
                    if let Err(e) = recover(&store, started).await {
                        warn!(error = %e, "dialer recovery failed; it runs again later");
                    }
                }
                if digests && last_digest.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    last_digest = Some(std::time::Instant::now());
                    match vaarta_orchestrator::campaigns::digest::queue_digests(&store, Utc::now())
                        .await
                    {
                        Ok(q) if !q.is_empty() => {
                            info!(emails = q.len(), "campaign digests queued")
                        }
                        Ok(_) => {}
                        Err(e) => {
                            warn!(error = %e, "queueing campaign digests failed; the next minute retries")
                        }
                    }
                }
            }
        });
        info!(tick_ms = tick.as_millis() as u64, "campaign dialer started");
        Ok(Dialer { stop, task })
    }

    /// Stops claiming leads (calls in progress go on and report as usual).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Each campaign's pace between ticks.
#[derive(Default)]
pub struct Pacing(HashMap<Uuid, Pace>);

/// New calls a campaign may start, at `calls_per_minute`, at most a second's worth at once.
struct Pace {
    tokens: f64,
    at: DateTime<Utc>,
}

impl Pace {
    fn take(&mut self, per_minute: u32, now: DateTime<Utc>, want: i64) -> i64 {
        let rate = f64::from(per_minute) / 60.0;
        let cap = rate.max(1.0);
        let elapsed = (now - self.at).num_milliseconds().max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * rate).min(cap);
        self.at = now;
        let n = (self.tokens.floor() as i64).min(want).max(0);
        self.tokens -= n as f64;
        n
    }
}

/// One pass over the running campaigns at `now`: the dialer's whole decision, with the clock
/// and the call placement injected (tests drive it directly).
pub async fn run_tick(
    store: &Store,
    placer: &impl Placer,
    pace: &mut Pacing,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let running = store.campaigns().running().await?;
    let pace = &mut pace.0;
    pace.retain(|id, _| running.iter().any(|c| c.id == *id));
    for c in running {
        if store.leads().count_open(c.id).await? == 0 {
            if store
                .campaigns()
                .set_status(
                    None,
                    c.id,
                    &[CampaignStatus::Running],
                    CampaignStatus::Completed,
                )
                .await?
                .is_some()
            {
                info!(campaign_id = %c.id, site_id = %c.site_id, "campaign completed: every lead has an outcome");
            }
            continue;
        }
        let Ok(window) = c.spec.window() else {
            continue;
        };
        if !window.contains(now) {
            continue;
        }
        let free = i64::from(c.spec.max_concurrent) - store.leads().count_dialing(c.id).await?;
        let p = pace.entry(c.id).or_insert(Pace {
            tokens: 1.0,
            at: now,
        });
        let n = p.take(c.spec.calls_per_minute, now, free);
        for _ in 0..n {
            let Some(lead) = store.leads().claim_next(c.id, now).await? else {
                break;
            };
            if !dial(store, placer, &c, lead, now).await? {
                break;
            }
        }
    }
    Ok(())
}

/// Places one claimed lead's call; false when the node or site is full (stop for this tick).
#[tracing::instrument(skip_all, fields(campaign_id = %c.id, site_id = %c.site_id, lead_id = %lead.id, attempt = lead.attempts))]
async fn dial(
    store: &Store,
    placer: &impl Placer,
    c: &Campaign,
    lead: Lead,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    // Checked here too (the placer checks again): a number put on a list after the upload.
    if store.dnd().blocks(c.site_id, &lead.phone).await? {
        let end = AttemptEnd {
            outcome: "skipped".into(),
            skip_reason: Some("do_not_call".into()),
            ..Default::default()
        };
        store.leads().finish_attempt(lead.id, &end).await?;
        return Ok(true);
    }
    let mut fields: Map<String, Value> = lead.fields.clone();
    if let Some(name) = &lead.name {
        fields.insert("name".into(), Value::String(name.clone()));
    }
    fields.insert("phone".into(), Value::String(lead.phone.clone()));
    let req = OutboundRequest {
        site_id: c.site_id,
        to: lead.phone.clone(),
        flow: c.spec.flow.clone(),
        caller_id: c.spec.caller_id.clone(),
        vars: Map::new(),
        lead: fields,
        campaign_id: Some(c.id),
        lead_id: Some(lead.id),
    };
    let (outcome, skip, retry) = match placer.place(req).await {
        Ok(call) => {
            store.leads().set_call(lead.id, call.id).await?;
            metrics::counter!("vaarta_campaign_dials_total").increment(1);
            return Ok(true);
        }
        Err(PlaceError::Prepare(PrepareError::Admit(e))) => {
            info!(error = %e, "no room for another call now; the lead waits");
            store.leads().release(lead.id).await?;
            return Ok(false);
        }
        Err(PlaceError::DoNotCall(_)) => ("skipped", Some("do_not_call".to_string()), false),
        Err(PlaceError::InvalidNumber(_)) => ("invalid_number", None, false),
        Err(e) => {
            warn!(error = %e, "the call could not be placed");
            ("failed", None, true)
        }
    };
    let retry_at = match (
        retry,
        c.spec.retry.next(
            vaarta_orchestrator::calls::CallOutcome::Failed,
            lead.attempts as u32,
            now,
        ),
    ) {
        (true, vaarta_orchestrator::campaigns::NextStep::RetryAt(at)) => {
            Some(c.spec.window().map(|w| w.next_open(at)).unwrap_or(at))
        }
        _ => None,
    };
    store
        .leads()
        .finish_attempt(
            lead.id,
            &AttemptEnd {
                outcome: outcome.into(),
                retry_at,
                skip_reason: skip,
                result: None,
            },
        )
        .await?;
    Ok(true)
}

/// Finishes attempts left `dialing`: a call that ended without its report (a crash between
/// the two) is applied now; a lead claimed by a dead run that never got a call is
/// `interrupted`. On SQLite (one node owns the database) anything from before this run
/// started is dead; on PostgreSQL another node may still be placing it, so only claims older
/// than two minutes count.
pub async fn recover(store: &Store, started: DateTime<Utc>) -> Result<usize, StorageError> {
    let cutoff = match store.backend() {
        Backend::Sqlite(_) => started,
        Backend::Postgres(_) => Utc::now() - chrono::Duration::minutes(2),
    };
    let mut fixed = 0;
    for lead in store.leads().dialing().await? {
        match lead.last_call_id {
            Some(call_id) => {
                let Some(call) = store.calls().get(call_id).await? else {
                    continue;
                };
                if call.outcome.is_some() && record_call_end(store, &call).await? {
                    fixed += 1;
                }
            }
            None if lead.updated_at < cutoff => {
                let end = AttemptEnd {
                    outcome: INTERRUPTED.into(),
                    ..Default::default()
                };
                if store.leads().finish_attempt(lead.id, &end).await? {
                    warn!(lead_id = %lead.id, campaign_id = %lead.campaign_id, "lead attempt cut by a restart before its call was recorded: interrupted");
                    fixed += 1;
                }
            }
            None => {}
        }
    }
    Ok(fixed)
}
