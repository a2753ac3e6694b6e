//! Flow tests: conversations with expected actions, stored next to a flow and run before a
//! flow version may be activated (activation is refused unless every test passes).

use crate::error::{Diagnostic, FlowErrorKind};
use crate::modules::FlowModules;
use crate::runtime::{FlowOutcome, FlowProgram};
use crate::simulate::{Action, Conversation, SimulationResult};
use crate::text::normalize;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The stored form (`<flow>.tests.json`): `{"tests": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowTestSuite {
    pub tests: Vec<FlowTest>,
}

impl FlowTestSuite {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowTest {
    pub name: String,
    #[serde(default)]
    pub conversation: Conversation,
    #[serde(default)]
    pub expect: Expectations,
}

/// How the run must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedOutcome {
    Transferred,
    HungUp,
    Completed,
    CallerHungUp,
    Error,
}

/// A tool call that must happen; `args` must be contained in the actual arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedTool {
    pub name: String,
    #[serde(default)]
    pub args: Map<String, Value>,
}

/// Assertions on a simulation. Every field is optional; an empty expectation only requires
/// that the flow does not fail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expectations {
    pub outcome: Option<ExpectedOutcome>,
    /// Transfer target (implies a transfer).
    pub transfer_to: Option<String>,
    /// Phrases the bot must say, in this order (case/punctuation-insensitive substrings).
    pub said: Vec<String>,
    /// Phrases the bot must never say.
    pub not_said: Vec<String>,
    /// Tool calls that must happen, in this order (other calls may be interleaved).
    pub tools: Vec<ExpectedTool>,
    /// Tools that must not be called.
    pub tools_not_called: Vec<String>,
    /// Fields the (last) qualification must contain.
    pub qualified: Option<Map<String, Value>>,
    /// No qualification may be recorded.
    pub not_qualified: bool,
    /// Tags that must be set.
    pub tags: Vec<String>,
    /// Whether the number must (true) or must not (false) be opted out.
    pub opted_out: Option<bool>,
    /// Notification templates that must be queued.
    pub notified: Vec<String>,
    /// The error kind, when the flow is expected to fail.
    pub error_kind: Option<FlowErrorKind>,
    /// Call variables that must have these values at the end.
    pub vars: Map<String, Value>,
    /// Call language at the end.
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowTestResult {
    pub name: String,
    pub passed: bool,
    /// One sentence per failed assertion.
    pub failures: Vec<String>,
    pub simulation: SimulationResult,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowTestReport {
    /// True when every test passed (and there was at least one... or none were required).
    pub passed: bool,
    pub total: usize,
    pub failed: usize,
    pub results: Vec<FlowTestResult>,
}

/// Compile the flow and run every test. `Err` only when the flow itself does not compile.
pub fn run_flow_tests(
    source: &str,
    modules: &FlowModules,
    suite: &FlowTestSuite,
) -> Result<FlowTestReport, Vec<Diagnostic>> {
    Ok(FlowProgram::compile(source, modules)?.run_tests(suite))
}

impl FlowProgram {
    pub fn run_tests(&self, suite: &FlowTestSuite) -> FlowTestReport {
        let results: Vec<FlowTestResult> = suite
            .tests
            .iter()
            .map(|t| {
                let simulation = self.simulate(&t.conversation);
                let failures = evaluate(&t.expect, &simulation);
                FlowTestResult {
                    name: t.name.clone(),
                    passed: failures.is_empty(),
                    failures,
                    simulation,
                }
            })
            .collect();
        let failed = results.iter().filter(|r| !r.passed).count();
        FlowTestReport {
            passed: failed == 0,
            total: results.len(),
            failed,
            results,
        }
    }
}

/// Check a simulation against expectations; returns the failures (empty = pass).
pub fn evaluate(e: &Expectations, sim: &SimulationResult) -> Vec<String> {
    let mut f = Vec::new();
    let expects_error = e.outcome == Some(ExpectedOutcome::Error) || e.error_kind.is_some();
    match (&sim.error, expects_error) {
        (Some(err), false) => f.push(format!("flow failed: {err}")),
        (None, true) => f.push(format!(
            "expected the flow to fail, but it ended with {:?}",
            sim.outcome
        )),
        _ => {}
    }
    if let (Some(kind), Some(err)) = (e.error_kind, &sim.error)
        && err.kind != kind
    {
        f.push(format!(
            "expected error kind {kind:?}, got {:?} ({})",
            err.kind, err.message
        ));
    }
    if let Some(want) = e.outcome.filter(|o| *o != ExpectedOutcome::Error) {
        let got = sim.outcome.as_ref().map(|o| match o {
            FlowOutcome::Transferred { .. } => ExpectedOutcome::Transferred,
            FlowOutcome::HungUp { .. } => ExpectedOutcome::HungUp,
            FlowOutcome::Completed => ExpectedOutcome::Completed,
            FlowOutcome::CallerHungUp => ExpectedOutcome::CallerHungUp,
        });
        if got != Some(want) {
            f.push(format!("expected outcome {want:?}, got {:?}", sim.outcome));
        }
    }
    if let Some(target) = &e.transfer_to {
        match &sim.outcome {
            Some(FlowOutcome::Transferred { target: t, .. }) if t == target => {}
            other => f.push(format!("expected transfer to '{target}', got {other:?}")),
        }
    }

    let bot: Vec<String> = sim.bot_lines().map(normalize).collect();
    let mut from = 0;
    for phrase in &e.said {
        let p = normalize(phrase);
        match bot[from..].iter().position(|l| l.contains(&p)) {
            Some(i) => from += i + 1,
            None => f.push(format!(
                "bot never said \"{phrase}\"{}",
                if from > 0 {
                    " (after the earlier phrases)"
                } else {
                    ""
                }
            )),
        }
    }
    for phrase in &e.not_said {
        let p = normalize(phrase);
        if bot.iter().any(|l| l.contains(&p)) {
            f.push(format!("bot said \"{phrase}\" but must not"));
        }
    }

    let tool_calls: Vec<(&String, &Map<String, Value>)> = sim
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Tool { name, args, .. } => Some((name, args)),
            _ => None,
        })
        .collect();
    let mut from = 0;
    for want in &e.tools {
        let found = tool_calls[from..].iter().position(|(n, a)| {
            **n == want.name
                && contains(
                    &Value::Object((*a).clone()),
                    &Value::Object(want.args.clone()),
                )
        });
        match found {
            Some(i) => from += i + 1,
            None => f.push(format!(
                "tool '{}' not called with args {}",
                want.name,
                Value::Object(want.args.clone())
            )),
        }
    }
    for name in &e.tools_not_called {
        if tool_calls.iter().any(|(n, _)| *n == name) {
            f.push(format!("tool '{name}' was called but must not be"));
        }
    }

    let last_qualify = sim.actions.iter().rev().find_map(|a| match a {
        Action::Qualify { result } => Some(result),
        _ => None,
    });
    if let Some(want) = &e.qualified {
        match last_qualify {
            Some(got) if contains(&Value::Object(got.clone()), &Value::Object(want.clone())) => {}
            Some(got) => f.push(format!(
                "qualification {} does not contain {}",
                Value::Object(got.clone()),
                Value::Object(want.clone())
            )),
            None => f.push("expected a qualification, none recorded".into()),
        }
    }
    if e.not_qualified && last_qualify.is_some() {
        f.push("a qualification was recorded but must not be".into());
    }
    for tag in &e.tags {
        if !sim
            .actions
            .iter()
            .any(|a| matches!(a, Action::Tag { label } if label == tag))
        {
            f.push(format!("tag '{tag}' not set"));
        }
    }
    if let Some(want) = e.opted_out {
        let got = sim.actions.iter().any(|a| matches!(a, Action::OptOut));
        if got != want {
            f.push(if want {
                "expected opt_out(), not called".into()
            } else {
                "opt_out() was called but must not be".into()
            });
        }
    }
    for template in &e.notified {
        if !sim
            .actions
            .iter()
            .any(|a| matches!(a, Action::Notify { template: t, .. } if t == template))
        {
            f.push(format!("notification '{template}' not queued"));
        }
    }
    for (k, want) in &e.vars {
        match sim.vars.get(k) {
            Some(got) if contains(got, want) => {}
            got => f.push(format!(
                "var '{k}': expected {want}, got {}",
                got.cloned().unwrap_or(Value::Null)
            )),
        }
    }
    if let Some(lang) = &e.language
        && &sim.language != lang
    {
        f.push(format!(
            "expected language '{lang}', got '{}'",
            sim.language
        ));
    }
    f
}

/// `want` is contained in `got`: objects by subset of keys (recursively), numbers by value,
/// everything else by equality.
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| g.get(k).is_some_and(|gv| contains(gv, wv))),
        (Value::Number(g), Value::Number(w)) => g.as_f64() == w.as_f64(),
        _ => got == want,
    }
}
