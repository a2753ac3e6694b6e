//! What a finished call's flow decided, read back from its event log: the qualification, tags,
//! opt-out, callback promise and `notify` requests. The CRM webhook and the notification emails
//! both report these.

use serde_json::{Map, Value};

use super::types::{CallEvent, CallEventKind, CallInfo, TurnRecord};
use crate::storage::{StorageError, Store};

/// A flow's `notify(template, data)`.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyRequest {
    pub template: String,
    pub data: Value,
}

/// The flow's decisions in one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallFacts {
    /// Every `qualify(...)` merged, later fields winning; `None` when the flow never qualified.
    pub qualification: Option<Map<String, Value>>,
    pub tags: Vec<String>,
    pub opted_out: bool,
    pub callback_requested: bool,
    pub notifies: Vec<NotifyRequest>,
    /// The call's recording was written (`settings.voice.record_calls`).
    pub recorded: bool,
}

/// Where a call's recording is served, relative to the API's base URL.
pub fn recording_path(call_id: uuid::Uuid) -> String {
    format!("/v1/calls/{call_id}/recording")
}

impl CallFacts {
    pub fn from_events(events: &[CallEvent]) -> CallFacts {
        let mut f = CallFacts::default();
        for e in events {
            let CallEventKind::Action { name, detail } = &e.kind else {
                continue;
            };
            match name.as_str() {
                "qualify" => {
                    if let Value::Object(d) = detail {
                        f.qualification
                            .get_or_insert_with(Map::new)
                            .extend(d.clone());
                    }
                }
                "tag" => {
                    // The shipped transfer_rules module books a callback with tag "callback".
                    f.callback_requested |= detail["label"].as_str() == Some("callback");
                    f.tags.extend(detail["label"].as_str().map(str::to_string));
                }
                "opt_out" => f.opted_out = true,
                "callback_requested" => f.callback_requested = true,
                "recording" => f.recorded = true,
                "notify" => f.notifies.push(NotifyRequest {
                    template: detail["template"].as_str().unwrap_or("notify").to_string(),
                    data: detail["data"].clone(),
                }),
                _ => {}
            }
        }
        f
    }

    /// The qualification's `status` (`hot`, `warm`, `qualified`, ...), lower-cased.
    pub fn status(&self) -> Option<String> {
        self.qualification
            .as_ref()?
            .get("status")?
            .as_str()
            .map(str::to_lowercase)
    }
}

/// An ended call with what its consumers (lead update, CRM webhook, emails) read, loaded once.
#[derive(Debug, Clone)]
pub struct EndedCall {
    pub call: CallInfo,
    pub turns: Vec<TurnRecord>,
    pub facts: CallFacts,
}

impl EndedCall {
    pub async fn load(store: &Store, call: CallInfo) -> Result<EndedCall, StorageError> {
        let turns = store.calls().turns(call.id).await?;
        let facts = CallFacts::from_events(&store.calls().events(call.id).await?);
        Ok(EndedCall { call, turns, facts })
    }
}
