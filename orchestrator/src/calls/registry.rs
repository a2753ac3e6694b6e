//! TEMPORARY STUB (replaced by the calls branch).
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;
use super::types::*;
use crate::Store;
pub struct CallLimits { pub max_calls_per_node: usize, pub default_max_calls_per_site: usize }
pub struct CallHandle { info: std::sync::Mutex<CallInfo>, rx: mpsc::Receiver<CallCommand>, tx: broadcast::Sender<CallEvent> }
impl CallHandle {
    pub fn id(&self) -> Uuid { self.info.lock().unwrap().id }
    pub fn site_id(&self) -> Uuid { self.info.lock().unwrap().site_id }
    pub fn info(&self) -> CallInfo { self.info.lock().unwrap().clone() }
    pub fn emit(&self, kind: CallEventKind) { let _ = self.tx.send(CallEvent { call_id: self.id(), site_id: self.site_id(), at: chrono::Utc::now(), kind }); }
    pub fn update(&self, f: impl FnOnce(&mut CallInfo)) { f(&mut self.info.lock().unwrap()) }
    pub async fn next_command(&mut self) -> Option<CallCommand> { self.rx.recv().await }
}
#[derive(Debug, thiserror::Error)]
pub enum AdmitError { #[error("node full")] NodeFull { limit: usize }, #[error("site full")] SiteFull { limit: usize } }
#[derive(Clone)]
pub struct CallRegistry { tx: broadcast::Sender<CallEvent>, cmd: std::sync::Arc<std::sync::Mutex<Vec<mpsc::Sender<CallCommand>>>> }
impl CallRegistry {
    pub fn new(_s: Store, _l: CallLimits) -> Self { Self { tx: broadcast::channel(1000).0, cmd: Default::default() } }
    pub fn subscribe(&self) -> broadcast::Receiver<CallEvent> { self.tx.subscribe() }
    pub fn admit(&self, info: CallInfo, _l: Option<usize>) -> Result<CallHandle, AdmitError> { let (t, rx) = mpsc::channel(4); self.cmd.lock().unwrap().push(t); Ok(CallHandle { info: std::sync::Mutex::new(info), rx, tx: self.tx.clone() }) }
    pub fn command(&self, _id: Uuid, c: CallCommand) -> Result<(), ()> { for t in self.cmd.lock().unwrap().iter() { let _ = t.try_send(c.clone()); } Ok(()) }
    pub async fn flush(&self) {}
}
