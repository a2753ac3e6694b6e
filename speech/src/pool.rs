//! A bounded pool of blocking engine workers (STT, TTS, VAD...) shared by many calls.
//! Each worker thread owns one engine instance (e.g. a whisper.cpp state); callers submit
//! closures from async code.
//!
//! Work is scheduled by [`Priority`]: a live call's final transcript goes before partials,
//! and both before background (audit) work, so a busy node makes partials and audits wait,
//! never the caller's answer. Admission is decided up front: a partial or background job
//! whose expected wait exceeds its budget gets [`PoolError::Overloaded`] immediately (a
//! partial is only a preview; an audit retries later). A live job is refused only when the
//! queue is full: the session covers its wait with a holding line instead of dropping the turn.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
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
    /// Jobs allowed to wait for a worker (live jobs may use all of it; partial and background
    /// jobs leave room for `workers` live jobs).
    pub queue: usize,
    /// Longest acceptable expected queue wait, in ms, for partial (preview) jobs before they
    /// are turned away. Live jobs are not turned away on expected wait.
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

/// Which work goes first when workers are busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// A caller is waiting for this result (final transcript of a turn).
    Live = 0,
    /// A preview while the caller is still speaking (partial transcript): dropped first.
    Partial = 1,
    /// Work nobody is listening to (audit transcription): runs when live work is done.
    Background = 2,
}

const CLASSES: usize = 3;

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

/// Jobs waiting, one queue per priority class.
struct Queues<W> {
    classes: [VecDeque<Job<W>>; CLASSES],
    closed: bool,
}

impl<W> Queues<W> {
    fn len(&self) -> usize {
        self.classes.iter().map(VecDeque::len).sum()
    }

    /// Jobs a new job of `priority` would wait behind.
    fn ahead_of(&self, priority: Priority) -> usize {
        self.classes[..=priority as usize]
            .iter()
            .map(VecDeque::len)
            .sum()
    }

    fn pop(&mut self) -> Option<Job<W>> {
        self.classes.iter_mut().find_map(VecDeque::pop_front)
    }
}

struct Shared<W> {
    name: String,
    workers: usize,
    capacity: usize,
    queues: Mutex<Queues<W>>,
    ready: Condvar,
    /// Jobs currently running.
    running: AtomicUsize,
    /// Moving average of compute time, in µs (0 = no sample yet).
    avg_compute_us: AtomicU64,
    /// The same per priority class (a final costs more than a partial).
    avg_class_us: [AtomicU64; CLASSES],
}

/// One step of an exponential moving average (1/8 weight for the new sample).
fn average_in(slot: &AtomicU64, d: Duration) {
    let us = d.as_micros().min(u64::MAX as u128) as u64;
    let _ = slot.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
        Some(if old == 0 { us } else { (old * 7 + us) / 8 })
    });
}

impl<W> Shared<W> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queues<W>> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record_compute(&self, priority: Priority, d: Duration) {
        average_in(&self.avg_compute_us, d);
        average_in(&self.avg_class_us[priority as usize], d);
    }

    /// Expected wait for a job with `ahead` queued jobs before it: rounds of `workers` jobs
    /// (the running ones and those ahead), each taking the average compute time scaled by
    /// `weight` (a running job counts as a full one: pessimistic).
    fn expected_wait(&self, ahead: usize, weight: f64) -> Duration {
        let ahead = ahead + self.running.load(Ordering::Relaxed);
        if ahead < self.workers {
            return Duration::ZERO;
        }
        let rounds = (ahead - self.workers) / self.workers + 1;
        let avg = self.avg_compute_us.load(Ordering::Relaxed) as f64 * weight.max(0.0);
        Duration::from_micros((avg * rounds as f64) as u64)
    }

    fn worker_loop(&self, engine: &mut W) {
        loop {
            let job = {
                let mut q = self.lock();
                loop {
                    if let Some(job) = q.pop() {
                        // Count as running before leaving the lock, so no admission check
                        // sees the job in neither place.
                        self.running.fetch_add(1, Ordering::Relaxed);
                        break job;
                    }
                    if q.closed {
                        return;
                    }
                    q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            job(engine);
        }
    }
}

/// A fixed set of worker threads over engines of type `W`.
pub struct EnginePool<W> {
    shared: Arc<Shared<W>>,
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
        let shared = Arc::new(Shared {
            name: name.to_string(),
            workers,
            capacity: config.queue.max(1),
            queues: Mutex::new(Queues {
                classes: std::array::from_fn(|_| VecDeque::new()),
                closed: false,
            }),
            ready: Condvar::new(),
            running: AtomicUsize::new(0),
            avg_compute_us: AtomicU64::new(0),
            avg_class_us: std::array::from_fn(|_| AtomicU64::new(0)),
        });
        let mut engines = Vec::with_capacity(workers);
        for i in 0..workers {
            engines.push(make(i)?);
        }
        let threads = engines
            .into_iter()
            .enumerate()
            .map(|(i, mut engine)| {
                let shared = Arc::clone(&shared);
                thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || shared.worker_loop(&mut engine))
                    .expect("spawning an engine worker thread")
            })
            .collect();
        Ok(Self {
            shared,
            budget: Duration::from_millis(config.latency_budget_ms),
            threads,
        })
    }

    /// The pool's name (used in metrics labels and errors).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Worker threads (one engine each).
    pub fn workers(&self) -> usize {
        self.shared.workers
    }

    /// Expected queue wait for a partial job submitted now.
    pub fn expected_wait(&self) -> Duration {
        self.expected_wait_for(Priority::Partial)
    }

    /// Expected queue wait for a job of `priority` submitted now.
    pub fn expected_wait_for(&self, priority: Priority) -> Duration {
        let ahead = self.shared.lock().ahead_of(priority);
        self.shared.expected_wait(ahead, 1.0)
    }

    /// Moving average of one job's compute time (zero before the first job).
    pub fn average_compute(&self) -> Duration {
        Duration::from_micros(self.shared.avg_compute_us.load(Ordering::Relaxed))
    }

    /// Moving average of one `priority` job's compute time (zero before the first one).
    pub fn average_compute_for(&self, priority: Priority) -> Duration {
        Duration::from_micros(self.shared.avg_class_us[priority as usize].load(Ordering::Relaxed))
    }

    /// Jobs waiting for a worker, over all priorities.
    pub fn waiting(&self) -> usize {
        self.shared.lock().len()
    }

    /// Runs a live `job` (see [`Priority::Live`]).
    pub async fn run<R, F>(&self, job: F) -> Result<(R, JobStats), PoolError>
    where
        R: Send + 'static,
        F: FnOnce(&mut W) -> R + Send + 'static,
    {
        self.run_with(Priority::Live, 1.0, self.budget, job).await
    }

    /// Runs a partial `job` within the pool's latency budget (see [`Priority::Partial`]).
    pub async fn run_partial<R, F>(&self, job: F) -> Result<(R, JobStats), PoolError>
    where
        R: Send + 'static,
        F: FnOnce(&mut W) -> R + Send + 'static,
    {
        self.run_with(Priority::Partial, 1.0, self.budget, job)
            .await
    }

    /// Runs a background `job`, whose cost is `weight` times an average job (e.g. audio length
    /// relative to typical), turning it away at once if the expected wait exceeds `budget`.
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
        self.run_with(Priority::Background, weight, budget, job)
            .await
    }

    /// Runs `job` in class `priority`. Partial and background jobs are turned away when their
    /// expected wait exceeds `budget` or the queue (less room kept for live jobs) is full;
    /// live jobs only when the whole queue is full.
    pub async fn run_with<R, F>(
        &self,
        priority: Priority,
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
        let (done_tx, done_rx) = oneshot::channel::<Result<(R, JobStats), PoolError>>();
        let worker_shared = Arc::clone(shared);
        let wrapped: Job<W> = Box::new(move |engine: &mut W| {
            let s = worker_shared;
            if done_tx.is_closed() {
                s.running.fetch_sub(1, Ordering::Relaxed);
                return; // the caller gave up; skip the work
            }
            let start = Instant::now();
            let out = catch_unwind(AssertUnwindSafe(|| job(engine)));
            let compute = start.elapsed();
            s.running.fetch_sub(1, Ordering::Relaxed);
            s.record_compute(priority, compute);
            metrics::histogram!("vaarta_engine_compute_seconds", "engine" => s.name.clone())
                .record(compute.as_secs_f64());
            let res = match out {
                Ok(r) => Ok(r),
                Err(_) => {
                    warn!(engine = %s.name, "engine job panicked");
                    Err(PoolError::Panicked(s.name.clone()))
                }
            };
            let _ = done_tx.send(res.map(|r| {
                (
                    r,
                    JobStats {
                        queue_wait: Duration::ZERO,
                        compute,
                    },
                )
            }));
        });
        let submitted = Instant::now();
        {
            let mut q = shared.lock();
            if q.closed {
                return Err(PoolError::Closed(name));
            }
            let waiting = q.len();
            let expected = shared.expected_wait(q.ahead_of(priority), weight);
            let room = match priority {
                Priority::Live => shared.capacity,
                _ => shared.capacity.saturating_sub(shared.workers).max(1),
            };
            let over_budget = priority != Priority::Live && expected > budget;
            if over_budget || waiting >= room {
                metrics::counter!("vaarta_engine_overloaded_total", "engine" => name.clone(), "priority" => priority.label())
                    .increment(1);
                return Err(PoolError::Overloaded {
                    pool: name,
                    expected_wait_ms: expected.as_millis() as u64,
                    budget_ms: budget.as_millis() as u64,
                    waiting,
                });
            }
            q.classes[priority as usize].push_back(wrapped);
            metrics::gauge!("vaarta_engine_queue_depth", "engine" => name.clone())
                .set(q.len() as f64);
        }
        shared.ready.notify_one();
        let (r, mut stats) = done_rx
            .await
            .map_err(|_| PoolError::Closed(name.clone()))??;
        stats.queue_wait = submitted.elapsed().saturating_sub(stats.compute);
        metrics::histogram!("vaarta_engine_queue_wait_seconds", "engine" => name, "priority" => priority.label())
            .record(stats.queue_wait.as_secs_f64());
        Ok((r, stats))
    }
}

impl Priority {
    fn label(self) -> &'static str {
        match self {
            Priority::Live => "live",
            Priority::Partial => "partial",
            Priority::Background => "background",
        }
    }
}

impl<W> Drop for EnginePool<W> {
    fn drop(&mut self) {
        // Workers finish queued jobs, then see the queue closed.
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
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
        while p.shared.running.load(Ordering::Relaxed) + p.waiting() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let t = Instant::now();
        let err = p.run_partial(|_| ()).await.unwrap_err();
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
        while p.waiting() == 0 {
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

    #[tokio::test]
    async fn live_jobs_go_first_and_are_not_turned_away_on_budget() {
        let p = Arc::new(pool(1, 8, 50));
        p.run(|_| thread::sleep(Duration::from_millis(100)))
            .await
            .unwrap();
        let gate = Arc::new(std::sync::Barrier::new(2));
        let order = Arc::new(Mutex::new(Vec::new()));
        let g = Arc::clone(&gate);
        let p1 = Arc::clone(&p);
        let blocker = tokio::spawn(async move {
            p1.run(move |_| {
                g.wait();
            })
            .await
        });
        while p.shared.running.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let spawn = |priority: Priority, tag: &'static str| {
            let (p, order) = (Arc::clone(&p), Arc::clone(&order));
            tokio::spawn(async move {
                p.run_with(priority, 1.0, Duration::from_secs(60), move |_| {
                    order.lock().unwrap().push(tag)
                })
                .await
            })
        };
        let audit = spawn(Priority::Background, "audit");
        while p.waiting() < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let partial = spawn(Priority::Partial, "partial");
        while p.waiting() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Expected wait is far over the 50 ms budget: a partial is refused, a final is queued.
        assert!(matches!(
            p.run_partial(|_| ()).await,
            Err(PoolError::Overloaded { .. })
        ));
        let live = spawn(Priority::Live, "live");
        while p.waiting() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        gate.wait();
        blocker.await.unwrap().unwrap();
        for h in [live, partial, audit] {
            h.await.unwrap().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec!["live", "partial", "audit"]);
    }
}
