//! The flow's side of a live call: a [`FlowHost`] whose every method is a request to the
//! session loop, answered over a oneshot. The flow runs on a blocking thread, so waiting here
//! is fine; the loop never waits on the flow.

use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use vaarta_flows::{
    AskOptions, FlowHost, HostError, HostResult, LogLevel, Passage, Reply, ToolResponse,
};

/// What the flow asked for.
#[derive(Debug)]
pub enum HostRequest {
    Say(String),
    Ask {
        prompt: String,
        options: AskOptions,
    },
    Listen(Duration),
    Brain(String),
    Kb(String),
    Tool {
        name: String,
        args: Map<String, Value>,
    },
    Transfer {
        target: String,
        reason: String,
    },
    Hangup(String),
    Tag(String),
    Qualify(Map<String, Value>),
    SetLanguage(String),
    OptOut,
    Notify {
        template: String,
        data: Map<String, Value>,
    },
    Log(String),
}

/// The loop's answer.
#[derive(Debug)]
pub enum HostReply {
    Done,
    Reply(Reply),
    Text(String),
    Passages(Vec<Passage>),
    Tool(ToolResponse),
}

/// A request with its reply slot.
pub type HostCall = (HostRequest, oneshot::Sender<HostResult<HostReply>>);

/// The [`FlowHost`] handed to the flow runtime for one call.
pub struct LiveHost {
    tx: mpsc::Sender<HostCall>,
    utc_offset_minutes: i32,
}

impl LiveHost {
    pub fn new(tx: mpsc::Sender<HostCall>, utc_offset_minutes: i32) -> Self {
        Self {
            tx,
            utc_offset_minutes,
        }
    }

    fn call(&mut self, req: HostRequest) -> HostResult<HostReply> {
        let (reply, rx) = oneshot::channel();
        // The loop has gone: the call is over.
        self.tx
            .blocking_send((req, reply))
            .map_err(|_| HostError::hung_up())?;
        rx.blocking_recv().map_err(|_| HostError::hung_up())?
    }

    fn unit(&mut self, req: HostRequest) -> HostResult<()> {
        self.call(req).map(|_| ())
    }
}

fn unexpected(what: &str) -> HostError {
    HostError::new(
        vaarta_flows::HostErrorKind::Failed,
        format!("internal: unexpected reply to {what}"),
    )
}

impl FlowHost for LiveHost {
    fn say(&mut self, text: &str) -> HostResult<()> {
        self.unit(HostRequest::Say(text.to_string()))
    }
    fn ask(&mut self, prompt: &str, options: &AskOptions) -> HostResult<Reply> {
        match self.call(HostRequest::Ask {
            prompt: prompt.to_string(),
            options: options.clone(),
        })? {
            HostReply::Reply(r) => Ok(r),
            _ => Err(unexpected("ask")),
        }
    }
    fn listen(&mut self, timeout: Duration) -> HostResult<Reply> {
        match self.call(HostRequest::Listen(timeout))? {
            HostReply::Reply(r) => Ok(r),
            _ => Err(unexpected("listen")),
        }
    }
    fn brain(&mut self, question: &str) -> HostResult<String> {
        match self.call(HostRequest::Brain(question.to_string()))? {
            HostReply::Text(t) => Ok(t),
            _ => Err(unexpected("brain")),
        }
    }
    fn kb(&mut self, query: &str) -> HostResult<Vec<Passage>> {
        match self.call(HostRequest::Kb(query.to_string()))? {
            HostReply::Passages(p) => Ok(p),
            _ => Err(unexpected("kb")),
        }
    }
    fn tool(&mut self, name: &str, args: &Map<String, Value>) -> HostResult<ToolResponse> {
        match self.call(HostRequest::Tool {
            name: name.to_string(),
            args: args.clone(),
        })? {
            HostReply::Tool(t) => Ok(t),
            _ => Err(unexpected("tool")),
        }
    }
    fn transfer(&mut self, target: &str, reason: &str) -> HostResult<()> {
        self.unit(HostRequest::Transfer {
            target: target.to_string(),
            reason: reason.to_string(),
        })
    }
    fn hangup(&mut self, reason: &str) -> HostResult<()> {
        self.unit(HostRequest::Hangup(reason.to_string()))
    }
    fn tag(&mut self, label: &str) -> HostResult<()> {
        self.unit(HostRequest::Tag(label.to_string()))
    }
    fn qualify(&mut self, result: &Map<String, Value>) -> HostResult<()> {
        self.unit(HostRequest::Qualify(result.clone()))
    }
    fn set_language(&mut self, code: &str) -> HostResult<()> {
        self.unit(HostRequest::SetLanguage(code.to_string()))
    }
    fn opt_out(&mut self) -> HostResult<()> {
        self.unit(HostRequest::OptOut)
    }
    fn notify(&mut self, template: &str, data: &Map<String, Value>) -> HostResult<()> {
        self.unit(HostRequest::Notify {
            template: template.to_string(),
            data: data.clone(),
        })
    }
    fn log(&mut self, level: LogLevel, message: &str) {
        if level == LogLevel::Info {
            let _ = self.unit(HostRequest::Log(message.to_string()));
        }
    }
    fn now(&mut self) -> vaarta_flows::FlowClock {
        vaarta_flows::FlowClock::system(self.utc_offset_minutes)
    }
}
