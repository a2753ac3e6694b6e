//! Site tools: HTTP connector configuration, request rendering and the SSRF policy.
//! Pure policy — the HTTP executor (DNS, pinned connection, size cap) is in the orchestrator.

mod connector;
mod ssrf;

pub use connector::{HttpMethod, ToolConnector, ToolError, ToolRequest, ToolsConfig};
pub use ssrf::{SsrfError, SsrfPolicy};
