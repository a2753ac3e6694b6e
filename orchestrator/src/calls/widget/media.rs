//! A widget call as a session transport: bot audio goes through a [`Pacer`] onto the socket's
//! outgoing queue in real time; barge-in clears it (and tells the browser to drop its buffer).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

use super::bridge::SipBridge;
use super::pacer::Pacer;
use super::protocol::{ServerMessage, WIDGET_RATE};
use crate::calls::session::media::{MediaError, MediaPort};

/// How far ahead of real time audio is sent, so the browser's jitter buffer stays fed.
const LEAD: Duration = Duration::from_millis(60);

/// What the socket shell sends to the browser, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// Bot audio at [`WIDGET_RATE`].
    Audio(Vec<i16>),
    Message(ServerMessage),
}

struct Shared {
    pacer: Mutex<Pacer>,
    /// A `clear` to send before the next frame.
    cleared: Mutex<bool>,
    wake: Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The session's side of a widget call.
pub struct WidgetMedia {
    shared: Arc<Shared>,
    out: mpsc::Sender<Outgoing>,
    transfer: Option<SipBridge>,
}

impl WidgetMedia {
    /// The transport and the pacing task that feeds `out` (ends when `out` closes).
    pub fn new(out: mpsc::Sender<Outgoing>, transfer: Option<SipBridge>) -> Self {
        let shared = Arc::new(Shared {
            pacer: Mutex::new(Pacer::new(WIDGET_RATE, LEAD)),
            cleared: Mutex::new(false),
            wake: Notify::new(),
        });
        tokio::spawn(pace(shared.clone(), out.clone()));
        WidgetMedia {
            shared,
            out,
            transfer,
        }
    }
}

/// Releases paced frames onto the socket queue until the socket goes away.
async fn pace(shared: Arc<Shared>, out: mpsc::Sender<Outgoing>) {
    loop {
        let (frames, clear, wake) = {
            let mut p = lock(&shared.pacer);
            let frames = p.poll(Instant::now());
            let clear = std::mem::take(&mut *lock(&shared.cleared));
            (frames, clear, p.next_wake())
        };
        if clear
            && out
                .send(Outgoing::Message(ServerMessage::Clear))
                .await
                .is_err()
        {
            return;
        }
        for f in frames {
            if out.send(Outgoing::Audio(f)).await.is_err() {
                return;
            }
        }
        if out.is_closed() {
            return;
        }
        match wake {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at.into()) => {}
                    _ = shared.wake.notified() => {}
                }
            }
            None => tokio::select! {
                _ = shared.wake.notified() => {}
                _ = out.closed() => return,
            },
        }
    }
}

impl MediaPort for WidgetMedia {
    fn sample_rate(&self) -> u32 {
        WIDGET_RATE
    }
    async fn play(&self, pcm: Vec<i16>) -> Result<(), MediaError> {
        if self.out.is_closed() {
            return Err(MediaError("the widget socket is closed".into()));
        }
        lock(&self.shared.pacer).push(&pcm);
        self.shared.wake.notify_one();
        Ok(())
    }
    async fn clear(&self) -> Result<(), MediaError> {
        if lock(&self.shared.pacer).clear() {
            *lock(&self.shared.cleared) = true;
            self.shared.wake.notify_one();
        }
        Ok(())
    }
    /// The socket closes once the call task has sent `ended` (after the last events, or after a
    /// bridge to an agent ends); here only unplayed audio goes.
    async fn hangup(&self) -> Result<(), MediaError> {
        lock(&self.shared.pacer).clear();
        Ok(())
    }
    async fn transfer(&self, destination: &str) -> Result<(), MediaError> {
        match &self.transfer {
            Some(t) => t.start(destination),
            None => Err(MediaError(format!(
                "cannot reach {destination}: this node has no SIP telephony to bridge widget calls"
            ))),
        }
    }
}
