//! Starts this node's apalis workers on the service's database and stops them on shutdown.
//! Each start uses fresh worker names, so a node restarted right after a crash registers at
//! once; the jobs its previous life held are re-queued by the heartbeat once that life has
//! missed two heartbeats.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, warn};
use vaarta_orchestrator::config::{EmailConfig, JobsConfig};
use vaarta_orchestrator::kb::KnowledgeBase;
use vaarta_orchestrator::storage::jobs::{self, EmailJob, TranscribeJob, WebhookJob};
use vaarta_orchestrator::storage::kb_jobs::KbReindexJob;
use vaarta_orchestrator::{Backend, StorageError, Store};

use crate::email::{self, EmailDeps};
use crate::transcribe::{self, TranscribeDeps};
use crate::webhook::{self, WebhookDeps};

/// Everything the workers use; `transcribe` is `None` when the speech engines are not loaded
/// (transcriptions then wait in the queue for a node that has them).
#[derive(Clone)]
pub struct WorkersDeps {
    pub store: Store,
    pub transcribe: Option<TranscribeDeps>,
    /// `[email]` when enabled: the notification email worker runs.
    pub email: Option<EmailConfig>,
    /// The knowledge base (with its embedding model): the `kb.reindex` worker runs. Share the
    /// API's instance so its search cache sees the job's writes at once.
    pub kb: Option<Arc<KnowledgeBase>>,
}

/// Running workers.
pub struct Workers {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
}

impl Workers {
    /// Starts the workers `config` asks for and re-queues transcriptions whose job was lost
    /// (pushing is idempotent per transcription).
    pub async fn start(deps: WorkersDeps, config: &JobsConfig) -> Result<Workers, StorageError> {
        let stop = watch::channel(false).0;
        let mut tasks = JoinSet::new();
        let node = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.webhook_timeout_ms))
            .user_agent(concat!("vaarta/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StorageError::Corrupt(format!("HTTP client: {e}")))?;
        let webhook_deps = Arc::new(WebhookDeps {
            store: deps.store.clone(),
            http,
            retry_delays: config
                .webhook_retry_delays_s
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
        });
        let spec = |kind: &str, concurrency: usize| Spec {
            name: format!("{kind}@{node}"),
            poll: Duration::from_millis(config.poll_interval_ms.max(50)),
            heartbeat: Duration::from_secs(config.heartbeat_s.max(1)),
            concurrency: concurrency.max(1),
            kind: kind.to_string(),
        };
        let s = spec(jobs::WEBHOOK, config.webhook_concurrency);
        let queue = deps.store.jobs().queue(&s.kind).await?;
        spawn(
            &mut tasks,
            &deps.store,
            queue,
            s,
            stop.subscribe(),
            webhook_deps,
            |job: WebhookJob, d: Arc<WebhookDeps>| async move { webhook::deliver(job, &d).await },
        );
        if let Some(cfg) = &deps.email {
            let d = EmailDeps::new(deps.store.clone(), cfg)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?;
            let s = spec(jobs::EMAIL, 2);
            let queue = deps.store.jobs().queue(&s.kind).await?;
            spawn(
                &mut tasks,
                &deps.store,
                queue,
                s,
                stop.subscribe(),
                Arc::new(d),
                |job: EmailJob, d: Arc<EmailDeps>| async move { email::send(job, &d).await },
            );
        }
        if let Some(kb) = deps.kb.clone() {
            let s = spec(jobs::KB_REINDEX, 1);
            let queue = deps.store.jobs().queue(&s.kind).await?;
            spawn(
                &mut tasks,
                &deps.store,
                queue,
                s,
                stop.subscribe(),
                kb,
                |job: KbReindexJob, kb: Arc<KnowledgeBase>| async move { kb.run_job(job.job_id).await },
            );
            for id in deps.store.kb_jobs().unfinished().await? {
                deps.store.kb_jobs().push(id).await?;
            }
        } else {
            info!(
                "knowledge base not loaded: KB indexing jobs wait for a node that has the embedding model"
            );
        }
        if let Some(t) = deps.transcribe.clone() {
            let s = spec(jobs::TRANSCRIBE, config.transcribe_concurrency);
            let queue = deps.store.jobs().queue(&s.kind).await?;
            spawn(
                &mut tasks,
                &deps.store,
                queue,
                s,
                stop.subscribe(),
                Arc::new(t),
                |job: TranscribeJob, d: Arc<TranscribeDeps>| async move {
                    transcribe::run(job, &d).await
                },
            );
            requeue_unfinished(&deps.store).await?;
        } else {
            info!("speech engines not loaded: audit transcriptions wait for a node that has them");
        }
        info!(node = %node, "job workers started");
        Ok(Workers { tasks, stop })
    }

    /// Stops taking jobs and waits for the running ones, at most [`SHUTDOWN_GRACE`]: a worker
    /// stuck on its database is then aborted, so stopping never hangs (its job is retried and
    /// unfinished transcriptions resume from their checkpoints on the next start).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!(
                left = self.tasks.len(),
                grace_s = SHUTDOWN_GRACE.as_secs(),
                "job workers did not stop in time; aborting them"
            );
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}

/// How long [`Workers::shutdown`] waits for running jobs before aborting them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A transcription whose job never made it into the queue (a crash between the upload's
/// commit and the push) gets one now.
async fn requeue_unfinished(store: &Store) -> Result<(), StorageError> {
    for id in store.transcriptions().unfinished().await? {
        store.transcriptions().enqueue(id).await?;
    }
    Ok(())
}

/// A failed run, as apalis records it (`last_result`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct JobFailed(String);

struct Spec {
    name: String,
    kind: String,
    poll: Duration,
    heartbeat: Duration,
    concurrency: usize,
}

fn spawn<J, D, F, Fut, E>(
    tasks: &mut JoinSet<()>,
    store: &Store,
    queue: String,
    spec: Spec,
    mut stop: watch::Receiver<bool>,
    deps: Arc<D>,
    handler: F,
) where
    J: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + Unpin + 'static,
    D: Send + Sync + 'static,
    F: Fn(J, Arc<D>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    let run = move |job: J, d: Data<Arc<D>>| {
        let handler = handler.clone();
        let d: Arc<D> = (*d).clone();
        async move {
            // A panicking job fails (and is retried) instead of stopping the worker.
            match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(handler(job, d)))
                .await
            {
                Ok(r) => r.map_err(|e| JobFailed(e.to_string())),
                Err(_) => Err(JobFailed("the job panicked".into())),
            }
        }
    };
    let name = spec.name.clone();
    let kind = spec.kind.clone();
    let signal = async move {
        let _ = stop.wait_for(|s| *s).await;
        Ok::<(), std::io::Error>(())
    };
    // The two backends differ only in their storage type; the worker is built the same way.
    macro_rules! run_on {
        ($storage:ty, $config:ty, $pool:expr) => {{
            let config = <$config>::default().queue(&queue).batch_size(spec.concurrency).heartbeat_interval(spec.heartbeat);
            let backend = <$storage>::new(&$pool).with_config(config).poll_with_interval(spec.poll);
            let worker = WorkerBuilder::new(name.as_str()).backend(backend).data(deps).concurrency(spec.concurrency).build(run);
            tasks.spawn(async move {
                if let Err(e) = worker.run_until(signal).await {
                    error!(kind = %kind, error = %e, "job worker stopped");
                }
            });
        }};
    }
    match store.backend().clone() {
        Backend::Sqlite(pool) => {
            run_on!(apalis_sqlite::SqliteStorage<J>, apalis_sqlite::Config, pool)
        }
        Backend::Postgres(pool) => run_on!(
            apalis_postgres::PostgresStorage<J>,
            apalis_postgres::Config,
            pool
        ),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into())
}
