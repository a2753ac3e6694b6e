//! The node's live calls: admission against node and site limits, the live view of every call,
//! the fan-out of call events (SSE, analytics) and their persistence. A session owns its
//! [`CallHandle`]; dropping it removes the call. Persistence runs on one ordered writer task so
//! a slow database never blocks a call, and a database error never ends one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Utc;
use tokio::sync::{broadcast, mpsc, oneshot};
use uuid::Uuid;

use super::types::{CallCommand, CallEvent, CallEventKind, CallInfo, CallOutcome, CallState};
use crate::storage::Store;

/// Admission limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    pub max_calls_per_node: usize,
    /// For sites that set no `voice.max_concurrent_calls`.
    pub default_max_calls_per_site: usize,
}

/// Why a call was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("this node is at its limit of {limit} calls")]
    NodeFull { limit: usize },
    #[error("the site is at its limit of {limit} concurrent calls")]
    SiteFull { limit: usize },
    #[error("this node's speech engines are at their measured capacity of {capacity} calls")]
    SpeechFull { capacity: usize },
}

/// No live call with that id (it ended, or it is on another node).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("call {0} is not live on this node")]
pub struct CallNotFound(pub Uuid);

struct Live {
    info: CallInfo,
    commands: mpsc::Sender<CallCommand>,
}

enum Write {
    Insert(CallInfo),
    Update(CallInfo),
    Turn(Uuid, super::types::TurnRecord),
    Event(u32, CallEvent),
    /// The caller asked not to be called again (`opt_out()` in the flow).
    OptOut {
        site_id: Uuid,
        call_id: Uuid,
        number: String,
    },
    Flush(oneshot::Sender<()>),
}

struct Inner {
    limits: CallLimits,
    live: Mutex<HashMap<Uuid, Live>>,
    events: broadcast::Sender<CallEvent>,
    writer: mpsc::UnboundedSender<Write>,
}

/// The call registry of this node; cheap to clone.
#[derive(Clone)]
pub struct CallRegistry {
    inner: Arc<Inner>,
}

fn lock(m: &Mutex<HashMap<Uuid, Live>>) -> MutexGuard<'_, HashMap<Uuid, Live>> {
    // A panicking session cannot poison the registry for the others.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CallRegistry {
    /// Starts the persistence writer (needs a tokio runtime).
    pub fn new(store: Store, limits: CallLimits) -> Self {
        Self::with_post_call(store, limits, super::post_call::PostCall::default())
    }

    /// Like `new`, with what happens after each call (CRM webhook, notification emails).
    pub fn with_post_call(
        store: Store,
        limits: CallLimits,
        post: super::post_call::PostCall,
    ) -> Self {
        let (writer, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(store, rx, post));
        let (events, _) = broadcast::channel(1024);
        CallRegistry {
            inner: Arc::new(Inner {
                limits,
                live: Mutex::new(HashMap::new()),
                events,
                writer,
            }),
        }
    }

    pub fn limits(&self) -> CallLimits {
        self.inner.limits
    }

    /// Admits a call (node limit, then the site's limit) and announces it.
    pub fn admit(
        &self,
        info: CallInfo,
        site_limit: Option<usize>,
    ) -> Result<CallHandle, AdmitError> {
        let (tx, rx) = mpsc::channel(8);
        {
            let mut live = lock(&self.inner.live);
            let node = self.inner.limits.max_calls_per_node;
            if live.len() >= node {
                metrics::counter!("vaarta_calls_refused_total", "reason" => "node_full")
                    .increment(1);
                return Err(AdmitError::NodeFull { limit: node });
            }
            let site = site_limit.unwrap_or(self.inner.limits.default_max_calls_per_site);
            if live
                .values()
                .filter(|c| c.info.site_id == info.site_id)
                .count()
                >= site
            {
                metrics::counter!("vaarta_calls_refused_total", "reason" => "site_full")
                    .increment(1);
                return Err(AdmitError::SiteFull { limit: site });
            }
            live.insert(
                info.id,
                Live {
                    info: info.clone(),
                    commands: tx,
                },
            );
            metrics::gauge!("vaarta_active_calls").set(live.len() as f64);
        }
        let handle = CallHandle {
            registry: self.clone(),
            id: info.id,
            site_id: info.site_id,
            commands: rx,
            seq: AtomicU32::new(0),
            ended: AtomicBool::new(false),
        };
        let _ = self.inner.writer.send(Write::Insert(info.clone()));
        handle.emit(CallEventKind::Started {
            call: Box::new(info),
        });
        Ok(handle)
    }

    /// Sends call control to a live call.
    /// Live calls on this node.
    pub fn live_count(&self) -> usize {
        lock(&self.inner.live).len()
    }

    pub fn command(&self, call_id: Uuid, cmd: CallCommand) -> Result<(), CallNotFound> {
        let tx = lock(&self.inner.live)
            .get(&call_id)
            .map(|c| c.commands.clone())
            .ok_or(CallNotFound(call_id))?;
        tx.try_send(cmd).map_err(|_| CallNotFound(call_id))
    }

    /// Every call event of this node, live. Consumers filter by site.
    pub fn subscribe(&self) -> broadcast::Receiver<CallEvent> {
        self.inner.events.subscribe()
    }

    /// Live calls, of one site or all.
    pub fn live(&self, site_id: Option<Uuid>) -> Vec<CallInfo> {
        let mut v: Vec<CallInfo> = lock(&self.inner.live)
            .values()
            .filter(|c| site_id.is_none_or(|s| s == c.info.site_id))
            .map(|c| c.info.clone())
            .collect();
        v.sort_by_key(|c| c.started_at);
        v
    }

    pub fn get_live(&self, call_id: Uuid) -> Option<CallInfo> {
        lock(&self.inner.live).get(&call_id).map(|c| c.info.clone())
    }

    /// Resolves when everything emitted so far is in the database.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.writer.send(Write::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// A live call, owned by its session.
pub struct CallHandle {
    registry: CallRegistry,
    id: Uuid,
    site_id: Uuid,
    commands: mpsc::Receiver<CallCommand>,
    seq: AtomicU32,
    ended: AtomicBool,
}

impl CallHandle {
    pub fn id(&self) -> Uuid {
        self.id
    }

    pub fn site_id(&self) -> Uuid {
        self.site_id
    }

    pub fn info(&self) -> CallInfo {
        self.registry
            .get_live(self.id)
            .expect("a handle's call is live")
    }

    /// Records and announces an event; never blocks.
    pub fn emit(&self, kind: CallEventKind) {
        let inner = &self.registry.inner;
        let mut update = None;
        if let Some(c) = lock(&inner.live).get_mut(&self.id) {
            let info = &mut c.info;
            if let CallEventKind::Action { name, .. } = &kind
                && name == "opt_out"
            {
                let number = match info.direction {
                    super::types::Direction::Outbound => &info.callee,
                    super::types::Direction::Inbound => &info.caller,
                };
                let number = crate::storage::routes::normalize_number(number);
                if number.len() > 8 {
                    let _ = inner.writer.send(Write::OptOut {
                        site_id: self.site_id,
                        call_id: self.id,
                        number,
                    });
                }
            }
            match &kind {
                CallEventKind::State { state } => {
                    info.state = *state;
                    update = Some(info.clone());
                }
                CallEventKind::Ended { outcome, reason } => {
                    info.state = CallState::Ended;
                    info.outcome = Some(*outcome);
                    info.end_reason = Some(reason.clone());
                    info.ended_at = Some(Utc::now());
                    update = Some(info.clone());
                    self.ended.store(true, Ordering::Relaxed);
                    metrics::counter!("vaarta_calls_total", "outcome" => crate::storage::calls::to_text(outcome)).increment(1);
                }
                _ => {}
            }
        }
        let event = CallEvent {
            call_id: self.id,
            site_id: self.site_id,
            at: Utc::now(),
            kind,
        };
        if let Some(info) = update {
            let _ = inner.writer.send(Write::Update(info));
        }
        match &event.kind {
            CallEventKind::Partial { .. } | CallEventKind::BotSpeaking { .. } => {}
            CallEventKind::Turn { turn } => {
                let _ = inner.writer.send(Write::Turn(self.id, turn.clone()));
            }
            CallEventKind::Started { .. } => {}
            _ => {
                let seq = self.seq.fetch_add(1, Ordering::Relaxed);
                let _ = inner.writer.send(Write::Event(seq, event.clone()));
            }
        }
        let _ = inner.events.send(event);
    }

    /// Changes the live call (flow, language, answer time) and persists it.
    pub fn update(&self, f: impl FnOnce(&mut CallInfo)) {
        let inner = &self.registry.inner;
        let info = lock(&inner.live).get_mut(&self.id).map(|c| {
            f(&mut c.info);
            c.info.clone()
        });
        if let Some(info) = info {
            let _ = inner.writer.send(Write::Update(info));
        }
    }

    /// The next call-control command (API hangup/transfer).
    pub async fn next_command(&mut self) -> Option<CallCommand> {
        self.commands.recv().await
    }
}

impl Drop for CallHandle {
    fn drop(&mut self) {
        if !self.ended.load(Ordering::Relaxed) {
            self.emit(CallEventKind::Ended {
                outcome: CallOutcome::Failed,
                reason: "session ended unexpectedly".into(),
            });
        }
        let mut live = lock(&self.registry.inner.live);
        live.remove(&self.id);
        metrics::gauge!("vaarta_active_calls").set(live.len() as f64);
    }
}

async fn write_loop(
    store: Store,
    mut rx: mpsc::UnboundedReceiver<Write>,
    post: super::post_call::PostCall,
) {
    while let Some(w) = rx.recv().await {
        let res = match w {
            Write::Insert(c) => store.calls().insert(&c).await,
            Write::Update(c) => store.calls().update(&c).await,
            Write::Turn(id, t) => store.calls().add_turn(id, &t).await,
            Write::Event(seq, e) => {
                let res = store.calls().add_event(seq, &e).await;
                if res.is_ok() && matches!(e.kind, CallEventKind::Ended { .. }) {
                    // Everything of the call is stored by now (one writer, in order).
                    tokio::spawn(super::post_call::after_call_ended(
                        store.clone(),
                        post,
                        e.call_id,
                        e.site_id,
                    ));
                }
                res
            }
            Write::OptOut {
                site_id,
                call_id,
                number,
            } => {
                tracing::info!(%site_id, %call_id, "caller opted out: number added to the site's do-not-call list");
                store
                    .dnd()
                    .add(
                        Some(site_id),
                        &number,
                        &format!("opted out during call {call_id}"),
                        "flow",
                    )
                    .await
                    .map(|_| ())
            }
            Write::Flush(done) => {
                let _ = done.send(());
                Ok(())
            }
        };
        if let Err(e) = res {
            metrics::counter!("vaarta_call_persist_errors_total").increment(1);
            tracing::error!(error = %e, "persisting a call record failed");
        }
    }
}
