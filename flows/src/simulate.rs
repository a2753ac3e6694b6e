//! The text simulator: run a scripted conversation through a flow with mocked brain, kb and
//! tools, and get back a stable, serialisable transcript, action list and error. Used by the
//! admin API (`POST …/simulate`), `vaarta flows simulate` and flow tests.

use crate::clock::{CancelToken, parse_local};
use crate::error::{Diagnostic, FlowError};
use crate::host::{
    AskOptions, FlowClock, FlowHost, HostError, HostErrorKind, HostResult, LogLevel, Passage,
    Reply, ToolResponse,
};
use crate::modules::FlowModules;
use crate::runtime::{CallContext, FlowOutcome, FlowProgram};
use crate::tools::ToolsConfig;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// A simulated call. Everything is optional; `caller` is what the caller says, in order.
/// When the caller's turns run out, the caller hangs up at the next `ask`/`listen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Conversation {
    pub caller: Vec<CallerTurn>,
    pub caller_number: String,
    /// "inbound" (default), "outbound" or "widget".
    pub direction: String,
    /// Starting call language (default "hi").
    pub language: String,
    /// Lead fields (outbound calls).
    pub lead: Map<String, Value>,
    /// Initial call variables / site flow settings.
    pub vars: Map<String, Value>,
    /// Site-local time "YYYY-MM-DDTHH:MM" (default 2026-01-05T11:00, a Monday morning).
    pub now: Option<String>,
    /// Site timezone offset (default 330 = IST).
    pub utc_offset_minutes: i32,
    /// Mocked tool answers per tool name, consumed in order (the last one repeats).
    /// A tool without a mock answers `{ok: false, status: 0, error: "no mock"}`.
    pub tools: BTreeMap<String, Vec<ToolResponse>>,
    /// Mocked brain answers, in order. When exhausted: "(brain) <question>".
    pub brain: Vec<String>,
    /// Mocked kb results, in order. When exhausted: no passages.
    pub kb: Vec<Vec<Passage>>,
    /// When set, every tool call must be a configured connector that passes the site's SSRF
    /// policy (host allow-list, IP literals) before the mock answers — as in production.
    pub connectors: Option<ToolsConfig>,
}

impl Default for Conversation {
    fn default() -> Self {
        Self {
            caller: Vec::new(),
            caller_number: "+919800000001".into(),
            direction: "inbound".into(),
            language: "hi".into(),
            lead: Map::new(),
            vars: Map::new(),
            now: None,
            utc_offset_minutes: 330,
            tools: BTreeMap::new(),
            brain: Vec::new(),
            kb: Vec::new(),
            connectors: None,
        }
    }
}

impl Conversation {
    /// A conversation of plain utterances (`--say "…" --say "…"`).
    pub fn from_utterances<I: IntoIterator<Item = S>, S: Into<String>>(utterances: I) -> Self {
        Self {
            caller: utterances
                .into_iter()
                .map(|s| CallerTurn::Text(s.into()))
                .collect(),
            ..Self::default()
        }
    }
}

/// What the caller does at one `ask`/`listen`: a plain utterance or a detailed reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CallerTurn {
    Text(String),
    Reply(CallerReply),
}

/// A detailed caller turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallerReply {
    pub text: String,
    /// DTMF digits pressed.
    pub digits: String,
    /// Detected language (default: the call language).
    pub language: Option<String>,
    /// Recognition confidence (default 0.95).
    pub confidence: Option<f64>,
    /// The caller said nothing (reply has `timed_out`).
    pub silence: bool,
    /// The caller hangs up instead of answering.
    pub hangup: bool,
}

/// Who spoke in a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Bot,
    Caller,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub speaker: Speaker,
    pub text: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digits: String,
}

/// Everything observable a flow did, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Say {
        text: String,
    },
    Ask {
        prompt: String,
    },
    Listen {
        timeout_ms: u64,
    },
    Brain {
        question: String,
        answer: String,
    },
    Kb {
        query: String,
        passages: usize,
    },
    Tool {
        name: String,
        args: Map<String, Value>,
        response: ToolResponse,
    },
    Transfer {
        target: String,
        reason: String,
    },
    Hangup {
        reason: String,
    },
    Tag {
        label: String,
    },
    Qualify {
        result: Map<String, Value>,
    },
    SetLanguage {
        code: String,
    },
    OptOut,
    Notify {
        template: String,
        data: Map<String, Value>,
    },
    Log {
        message: String,
    },
}

/// The simulator's answer. Field order and content are stable (no timestamps, no ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationResult {
    pub transcript: Vec<TranscriptLine>,
    pub actions: Vec<Action>,
    /// How the flow ended, when it ended normally.
    pub outcome: Option<FlowOutcome>,
    /// Why the flow failed, when it did (the call would go to failover).
    pub error: Option<FlowError>,
    /// Call variables at the end.
    pub vars: Map<String, Value>,
    pub language: String,
    /// Caller turns the flow never asked for.
    pub unused_caller_turns: usize,
}

impl SimulationResult {
    /// Everything the bot said (say + ask prompts), in order.
    pub fn bot_lines(&self) -> impl Iterator<Item = &str> {
        self.transcript
            .iter()
            .filter(|l| l.speaker == Speaker::Bot)
            .map(|l| l.text.as_str())
    }
}

/// Compile `source` and simulate `conversation` through it.
pub fn simulate(
    source: &str,
    modules: &FlowModules,
    conversation: &Conversation,
) -> Result<SimulationResult, Vec<Diagnostic>> {
    Ok(FlowProgram::compile(source, modules)?.simulate(conversation))
}

impl FlowProgram {
    /// Simulate a conversation through this flow (same sandbox limits as real calls).
    pub fn simulate(&self, conversation: &Conversation) -> SimulationResult {
        let c = conversation;
        let unix_ms = c
            .now
            .as_deref()
            .and_then(|s| parse_local(s, c.utc_offset_minutes))
            .or_else(|| parse_local("2026-01-05T11:00", c.utc_offset_minutes))
            .unwrap_or(0);
        let host = SimHost {
            caller: c.caller.iter().cloned().collect(),
            language: if c.language.is_empty() {
                "hi".into()
            } else {
                c.language.clone()
            },
            clock: FlowClock {
                unix_ms,
                utc_offset_minutes: c.utc_offset_minutes,
            },
            tools: c
                .tools
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
                .collect(),
            brain: c.brain.iter().cloned().collect(),
            kb: c.kb.iter().cloned().collect(),
            connectors: c.connectors.clone(),
            transcript: Vec::new(),
            actions: Vec::new(),
        };
        let ctx = CallContext {
            call_id: "simulation".into(),
            site_id: "simulation".into(),
            caller_number: c.caller_number.clone(),
            direction: c.direction.clone(),
            language: host.language.clone(),
            lead: c.lead.clone(),
            vars: c.vars.clone(),
        };
        let run = self.run(host, ctx, &CancelToken::new());
        let (outcome, error) = match run.result {
            Ok(o) => (Some(o), None),
            Err(e) => (None, Some(e)),
        };
        SimulationResult {
            unused_caller_turns: run.host.caller.len(),
            transcript: run.host.transcript,
            actions: run.host.actions,
            outcome,
            error,
            vars: run.vars,
            language: run.language,
        }
    }
}

struct SimHost {
    caller: VecDeque<CallerTurn>,
    language: String,
    clock: FlowClock,
    tools: BTreeMap<String, VecDeque<ToolResponse>>,
    brain: VecDeque<String>,
    kb: VecDeque<Vec<Passage>>,
    connectors: Option<ToolsConfig>,
    transcript: Vec<TranscriptLine>,
    actions: Vec<Action>,
}

impl SimHost {
    fn bot(&mut self, text: &str) {
        self.transcript.push(TranscriptLine {
            speaker: Speaker::Bot,
            text: text.to_string(),
            digits: String::new(),
        });
    }

    fn next_reply(&mut self) -> HostResult<Reply> {
        let turn = self.caller.pop_front().ok_or_else(HostError::hung_up)?;
        let r = match turn {
            CallerTurn::Text(text) => CallerReply {
                text,
                ..CallerReply::default()
            },
            CallerTurn::Reply(r) => r,
        };
        if r.hangup {
            return Err(HostError::hung_up());
        }
        if !r.silence {
            self.transcript.push(TranscriptLine {
                speaker: Speaker::Caller,
                text: r.text.clone(),
                digits: r.digits.clone(),
            });
        }
        Ok(Reply {
            language: r.language.unwrap_or_else(|| self.language.clone()),
            confidence: if r.silence {
                0.0
            } else {
                r.confidence.unwrap_or(0.95)
            },
            timed_out: r.silence,
            text: if r.silence { String::new() } else { r.text },
            digits: r.digits,
            interrupted: false,
        })
    }
}

impl FlowHost for SimHost {
    fn say(&mut self, text: &str) -> HostResult<()> {
        self.bot(text);
        self.actions.push(Action::Say { text: text.into() });
        Ok(())
    }
    fn ask(&mut self, prompt: &str, _options: &AskOptions) -> HostResult<Reply> {
        self.bot(prompt);
        self.actions.push(Action::Ask {
            prompt: prompt.into(),
        });
        self.next_reply()
    }
    fn listen(&mut self, timeout: Duration) -> HostResult<Reply> {
        self.actions.push(Action::Listen {
            timeout_ms: timeout.as_millis() as u64,
        });
        self.next_reply()
    }
    fn brain(&mut self, question: &str) -> HostResult<String> {
        let answer = self
            .brain
            .pop_front()
            .unwrap_or_else(|| format!("(brain) {question}"));
        // A live call speaks the answer as it streams; the transcript shows it the same way.
        self.bot(&answer);
        self.actions.push(Action::Brain {
            question: question.into(),
            answer: answer.clone(),
        });
        Ok(answer)
    }
    fn kb(&mut self, query: &str) -> HostResult<Vec<Passage>> {
        let passages = self.kb.pop_front().unwrap_or_default();
        self.actions.push(Action::Kb {
            query: query.into(),
            passages: passages.len(),
        });
        Ok(passages)
    }
    fn tool(&mut self, name: &str, args: &Map<String, Value>) -> HostResult<ToolResponse> {
        if let Some(cfg) = &self.connectors
            && let Err(e) = cfg.prepare(name, args)
        {
            let kind = if e.is_denied() {
                HostErrorKind::Denied
            } else {
                HostErrorKind::Failed
            };
            return Err(HostError::new(kind, e.to_string()));
        }
        let response = match self.tools.get_mut(name) {
            Some(q) if q.len() > 1 => q.pop_front().unwrap_or_default(),
            Some(q) if q.len() == 1 => q[0].clone(),
            _ => ToolResponse {
                ok: false,
                status: 0,
                data: Value::Null,
                error: Some(format!("no mock for tool '{name}'")),
            },
        };
        self.actions.push(Action::Tool {
            name: name.into(),
            args: args.clone(),
            response: response.clone(),
        });
        Ok(response)
    }
    fn transfer(&mut self, target: &str, reason: &str) -> HostResult<()> {
        self.actions.push(Action::Transfer {
            target: target.into(),
            reason: reason.into(),
        });
        Ok(())
    }
    fn hangup(&mut self, reason: &str) -> HostResult<()> {
        self.actions.push(Action::Hangup {
            reason: reason.into(),
        });
        Ok(())
    }
    fn tag(&mut self, label: &str) -> HostResult<()> {
        self.actions.push(Action::Tag {
            label: label.into(),
        });
        Ok(())
    }
    fn qualify(&mut self, result: &Map<String, Value>) -> HostResult<()> {
        self.actions.push(Action::Qualify {
            result: result.clone(),
        });
        Ok(())
    }
    fn set_language(&mut self, code: &str) -> HostResult<()> {
        self.language = code.into();
        self.actions.push(Action::SetLanguage { code: code.into() });
        Ok(())
    }
    fn opt_out(&mut self) -> HostResult<()> {
        self.actions.push(Action::OptOut);
        Ok(())
    }
    fn notify(&mut self, template: &str, data: &Map<String, Value>) -> HostResult<()> {
        self.actions.push(Action::Notify {
            template: template.into(),
            data: data.clone(),
        });
        Ok(())
    }
    fn log(&mut self, _level: LogLevel, message: &str) {
        self.actions.push(Action::Log {
            message: message.into(),
        });
    }
    fn now(&mut self) -> FlowClock {
        self.clock
    }
}
