//! A bounded pool of blocking engine workers (STT, TTS, VAD...) shared by many calls.
//! Each worker thread owns one engine instance (e.g. a whisper.cpp state); callers submit
//! closures from async code. Admission is decided up front: when the queue is full or the
//! expected wait exceeds the latency budget, the caller gets [`PoolError::Overloaded`]
//! immediately, so the orchestrator can play a holding prompt or transfer the call instead
//! of leaving the caller in silence.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tracing::warn;

/// Pool sizing and latency budget (one pool per loaded model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    /// Worker threads, each with its own engine instance.
    pub workers: usize,
    /// Jobs allowed to wait for a worker.
    pub queue: usize,
    /// Longest acceptable expected queue wait, in ms, before callers are turned away.
    pub latency_budget_ms: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            workers: 1,
            queue: 16,
            latency_budget_ms: 1_500,
        }
    }
}

/// Why a job was not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PoolError {
    #[error(
        "{pool} engine overloaded: expected wait {expected_wait_ms} ms exceeds budget {budget_ms} ms ({waiting} waiting)"
    )]
    Overloaded {
        pool: String,
        expected_wait_ms: u64,
        budget_ms: u64,
        waiting: usize,
    },
    #[error("{0} engine job panicked")]
    Panicked(String),
    #[error("{0} engine pool is shut down")]
    Closed(String),
}

/// Timing of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobStats {
    /// From submission to a worker picking it up.
    pub queue_wait: Duration,
    /// Time spent in the job itself.
    pub compute: Duration,
}

type Job<W> = Box<dyn FnOnce(&mut W) + Send>;

struct Shared {
    name: String,
    workers: usize,
    /// Jobs submitted and not yet started.
    waiting: AtomicUsize,
    /// Jobs currently running.
    running: AtomicUsize,
    /// Moving average of compute time, in µs (0 = no sample yet).
    avg_compute_us: AtomicU64,
}

impl Shared {
    fn record_compute(&self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        let _ = self
            .avg_compute_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 { us } else { (old * 7 + us) / 8 })
            });
    }

    /// Expected wait for a job submitted now: rounds of `workers` jobs ahead of it, each
    /// taking the average compute time (a running job counts as a full one: pessimistic).
    fn expected_wait(&self, weight: f64) -> Duration {
        let ahead = self.waiting.load(Ordering::Relaxed) + self.running.load(Ordering::Relaxed);
        if ahead < self.workers {
            return Duration::ZERO;
        }
        let rounds = (ahead - self.workers) / self.workers + 1;
        let avg = self.avg_compute_us.load(Ordering::Relaxed) as f64 * weight.max(0.0);
        Duration::from_micros((avg * rounds as f64) as u64)
    }
}

/// A fixed set of worker threads over engines of type `W`.
pub struct EnginePool<W> {
    tx: Option<SyncSender<(Instant, Job<W>)>>,
    shared: Arc<Shared>,
    budget: Duration,
    threads: Vec<thread::JoinHandle<()>>,
}

impl<W: Send + 'static> EnginePool<W> {
    /// Starts `config.workers` threads, building each worker's engine with `make(index)`
    /// on the calling thread (so a model that fails to load fails here).
    pub fn new<E>(
        name: &str,
        config: PoolConfig,
        mut make: impl FnMut(usize) -> Result<W, E>,
    ) -> Result<Self, E> {
        let workers = config.workers.max(1);
        let (tx, rx) = mpsc::sync_channel::<(Instant, Job<W>)>(config.queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let shared = Arc::new(Shared {
            name: name.to_string(),
            workers,
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            avg_compute_us: AtomicU64::new(0),
        });
        let mut engines = Vec::with_capacity(workers);
        for i in 0..workers {
            engines.push(make(i)?);
        }
        let threads = engines
            .into_iter()
            .enumerate()
            .map(|(i, mut engine)| {
                let rx = Arc::clone(&rx);
                thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || {
                        loop {
                            let next = rx.lock().map(|r| r.recv());
                            let Ok(Ok((_, job))) = next else { break };
                            job(&mut engine);
                        }
                    })
                    .expect("spawning an engine worker thread")
            })
            .collect();
        Ok(Self {
            tx: Some(tx),
            shared,
            budget: Duration::from_millis(config.latency_budget_ms),
            threads,
        })
    }

    /// The pool's name (used in metrics labels and errors).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Expected queue wait for a job submitted now.
    pub fn expected_wait(&self) -> Duration {
        self.shared.expected_wait(1.0)
    }

    /// Runs `job` on a worker within the pool's latency budget.
    pub async fn run<R, F>(&self, job: F) -> Result<(R, JobStats), PoolError>
    where
        R: Send + 'static,
        F: FnOnce(&mut W) -> R + Send + 'static,
    {
        self.run_weighted(1.0, self.budget, job).await
    }

    /// Runs `job`, whose cost is `weight` times an average job (e.g. audio length relative
    /// to typical), turning it away at once if the expected wait exceeds `budget`.
    pub async fn run_weighted<R, F>(
        &self,
        weight: f64,
        budget: Duration,
        job: F,
    ) -> Result<(R, JobStats), PoolError>
    where
        R: Send + 'static,
        F: FnOnce(&mut W) -> R + Send + 'static,
    {
        let shared = &self.shared;
        let name = shared.name.clone();
        let expected = shared.expected_wait(weight);
        let overloaded = |waiting| {
            metrics::counter!("vaarta_engine_overloaded_total", "engine" => name.clone())
                .increment(1);
            PoolError::Overloaded {
                pool: name.clone(),
                expected_wait_ms: expected.as_millis() as u64,
                budget_ms: budget.as_millis() as u64,
                waiting,
            }
        };
        if expected > budget {
            return Err(overloaded(shared.waiting.load(Ordering::Relaxed)));
        }
        let (done_tx, done_rx) = oneshot::channel::<Result<(R, JobStats), PoolError>>();
        let worker_shared = Arc::clone(shared);
        let wrapped: Job<W> = Box::new(move |engine: &mut W| {
            let s = worker_shared;
            // Count as running before leaving the queue, so no admission check sees neither.
            s.running.fetch_add(1, Ordering::Relaxed);
            s.waiting.fetch_sub(1, Ordering::Relaxed);
            if done_tx.is_closed() {
                s.running.fetch_sub(1, Ordering::Relaxed);
                return; // the caller gave up; skip the work
            }
            let start = Instant::now();
            let out = catch_unwind(AssertUnwindSafe(|| job(engine)));
            let compute = start.elapsed();
            s.running.fetch_sub(1, Ordering::Relaxed);
            s.record_compute(compute);
            metrics::histogram!("vaarta_engine_compute_seconds", "engine" => s.name.clone())
                .record(compute.as_secs_f64());
            let res = match out {
                Ok(r) => Ok((r, compute)),
                Err(_) => {
                    warn!(engine = %s.name, "engine job panicked");
                    Err(PoolError::Panicked(s.name.clone()))
                }
            };
            let _ = done_tx.send(res.map(|(r, compute)| {
                (
                    r,
                    JobStats {
                        queue_wait: Duration::ZERO,
                        compute,
                    },
                )
            }));
        });
        let Some(tx) = &self.tx else {
            return Err(PoolError::Closed(name));
        };
        shared.waiting.fetch_add(1, Ordering::Relaxed);
        let submitted = Instant::now();
        match tx.try_send((submitted, wrapped)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let waiting = shared.waiting.fetch_sub(1, Ordering::Relaxed) - 1;
                return Err(overloaded(waiting));
            }
            Err(TrySendError::Disconnected(_)) => {
                shared.waiting.fetch_sub(1, Ordering::Relaxed);
                return Err(PoolError::Closed(name));
            }
        }
        metrics::gauge!("vaarta_engine_queue_depth", "engine" => name.clone())
            .set(shared.waiting.load(Ordering::Relaxed) as f64);
        let (r, mut stats) = done_rx
            .await
            .map_err(|_| PoolError::Closed(name.clone()))??;
        stats.queue_wait = submitted.elapsed().saturating_sub(stats.compute);
        metrics::histogram!("vaarta_engine_queue_wait_seconds", "engine" => name)
            .record(stats.queue_wait.as_secs_f64());
        Ok((r, stats))
    }
}

impl<W> Drop for EnginePool<W> {
    fn drop(&mut self) {
        self.tx.take(); // workers finish queued jobs, then see the channel closed
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(workers: usize, queue: usize, budget_ms: u64) -> EnginePool<u32> {
        EnginePool::new(
            "test",
            PoolConfig {
                workers,
                queue,
                latency_budget_ms: budget_ms,
            },
            |i| Ok::<_, ()>(i as u32),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn runs_jobs_on_worker_engines() {
        let p = pool(2, 4, 1_000);
        let (v, stats) = p.run(|engine: &mut u32| *engine + 10).await.unwrap();
        assert!(v == 10 || v == 11);
        assert!(stats.compute < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn overload_is_reported_immediately() {
        let p = Arc::new(pool(1, 8, 150));
        // Teach the pool that a job takes ~200 ms.
        p.run(|_| thread::sleep(Duration::from_millis(200)))
            .await
            .unwrap();
        let busy = {
            let p = Arc::clone(&p);
            tokio::spawn(async move { p.run(|_| thread::sleep(Duration::from_millis(300))).await })
        };
        while p.shared.running.load(Ordering::Relaxed) + p.shared.waiting.load(Ordering::Relaxed)
            == 0
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let t = Instant::now();
        let err = p.run(|_| ()).await.unwrap_err();
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "turned away without waiting"
        );
        match err {
            PoolError::Overloaded {
                expected_wait_ms,
                budget_ms,
                ..
            } => {
                assert!(expected_wait_ms > budget_ms);
                assert_eq!(budget_ms, 150);
            }
            other => panic!("unexpected {other:?}"),
        }
        // A caller with a larger budget still gets in, and its queue wait is measured.
        let (_, stats) = p
            .run_weighted(1.0, Duration::from_secs(5), |_| ())
            .await
            .unwrap();
        assert!(stats.queue_wait >= Duration::from_millis(50), "{stats:?}");
        busy.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn full_queue_is_overload_not_a_wait() {
        let p = Arc::new(pool(1, 1, 60_000));
        let gate = Arc::new(std::sync::Barrier::new(2));
        let g = Arc::clone(&gate);
        let p1 = Arc::clone(&p);
        let first = tokio::spawn(async move {
            p1.run(move |_| {
                g.wait();
            })
            .await
        });
        while p.shared.running.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let p2 = Arc::clone(&p);
        let second = tokio::spawn(async move { p2.run(|_| 2).await });
        while p.shared.waiting.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let err = p.run(|_| 3).await.unwrap_err();
        assert!(
            matches!(err, PoolError::Overloaded { waiting: 1, .. }),
            "{err:?}"
        );
        gate.wait();
        first.await.unwrap().unwrap();
        assert_eq!(second.await.unwrap().unwrap().0, 2);
    }

    #[tokio::test]
    async fn a_panicking_job_does_not_kill_the_worker() {
        let p = pool(1, 2, 1_000);
        let err = p.run(|_| -> u32 { panic!("boom") }).await.unwrap_err();
        assert_eq!(err, PoolError::Panicked("test".into()));
        assert_eq!(p.run(|e| *e).await.unwrap().0, 0);
    }
}
