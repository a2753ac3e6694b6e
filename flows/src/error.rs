//! Typed flow errors: everything that can stop a flow, with enough detail for the
//! orchestrator to log it and hand the call to the failover path.

use serde::{Deserialize, Serialize};

/// Why a flow stopped abnormally. Stable snake_case names (used in API output and flow tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowErrorKind {
    /// The source (or an imported module) does not parse.
    Syntax,
    /// The script spent longer than its per-step wall-clock budget between host calls.
    StepTimeout,
    /// The script exceeded its total operation budget.
    TooManyOperations,
    /// Function calls nested deeper than allowed (e.g. runaway recursion).
    StackOverflow,
    /// A string, array or map grew beyond its limit.
    DataTooLarge,
    /// Too many variables or modules.
    TooManyResources,
    /// A call to a function that does not exist (or with the wrong arguments).
    UndefinedFunction,
    /// `import` of a module the site does not have.
    ModuleNotFound,
    /// A tool call was refused by policy (unknown tool, host not allow-listed, SSRF guard).
    ToolDenied,
    /// The host failed in a way the script cannot recover from.
    Host,
    /// The orchestrator cancelled the run (caller gone, shutdown).
    Cancelled,
    /// Any other script error (type mismatch, `throw`, index out of bounds...).
    Runtime,
}

/// A flow failure with its location when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}: {message}{}", location_suffix(*.line, *.column, .module.as_deref()))]
pub struct FlowError {
    pub kind: FlowErrorKind,
    pub message: String,
    /// 1-based line in the flow (or in `module` when set).
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// The imported module the error happened in, if not the main flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

fn location_suffix(line: Option<usize>, column: Option<usize>, module: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(l) = line {
        s.push_str(&format!(" (line {l}"));
        if let Some(c) = column {
            s.push_str(&format!(", column {c}"));
        }
        if let Some(m) = module {
            s.push_str(&format!(", module {m}"));
        }
        s.push(')');
    }
    s
}

impl FlowError {
    pub fn new(kind: FlowErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            line: None,
            column: None,
            module: None,
        }
    }

    pub(crate) fn at(mut self, pos: rhai::Position) -> Self {
        if self.line.is_none() {
            self.line = pos.line();
            self.column = pos.position();
        }
        self
    }
}

/// One problem found by [`crate::check`], e.g. a syntax error or an unknown function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// Set when the problem is inside an imported module rather than the flow itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(m) = &self.module {
            write!(f, "{m}:")?;
        }
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{l}:{c}: {}", self.message),
            (Some(l), None) => write!(f, "{l}: {}", self.message),
            _ => write!(f, "{}", self.message),
        }
    }
}
