//! vaarta-flows: the per-site call-flow runtime (Rhai), its sandbox, static checks, the
//! text-conversation simulator with flow tests, the shipped flows, and tool connector policy
//! (HTTP connector config + SSRF guard; the executor lives in the orchestrator).
//!
//! No IO here: everything a flow does goes through [`FlowHost`].

mod check;
mod clock;
mod engine;
mod error;
mod host;
mod limits;
mod modules;
mod runtime;
pub mod shipped;
pub mod simulate;
pub mod testing;
pub mod text;
pub mod tools;

pub use check::{FlowInfo, HOST_FUNCTIONS, check};
pub use clock::CancelToken;
pub use error::{Diagnostic, FlowError, FlowErrorKind};
pub use host::{
    AskOptions, FlowClock, FlowHost, HostError, HostErrorKind, HostResult, LogLevel, Passage,
    Reply, ToolResponse,
};
pub use limits::SandboxLimits;
pub use modules::FlowModules;
pub use runtime::{CallContext, FlowOutcome, FlowProgram, FlowRun};
pub use simulate::{Conversation, SimulationResult, simulate};
pub use testing::{FlowTest, FlowTestReport, FlowTestSuite, run_flow_tests};
