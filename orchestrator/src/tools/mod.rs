//! Site tool connectors: executes the HTTP connectors configured per site
//! ([`vaarta_flows::tools::ToolsConfig`]) behind the SSRF guard.
//!
//! Order of checks for every call: connector exists and renders → scheme + host allow-list →
//! DNS resolution → every resolved address passes the guard → the request is pinned to those
//! checked addresses (no second lookup, so no DNS rebinding) → no redirects, no proxies →
//! overall timeout → response size cap → JSON pointer mapping.

mod executor;
#[cfg(test)]
mod tests;

pub use executor::{ToolCallError, ToolExecutor};
