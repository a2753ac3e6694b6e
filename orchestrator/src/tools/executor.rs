//! The HTTP executor for site tools.

use reqwest::redirect::Policy;
use serde_json::{Map, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use vaarta_flows::tools::{HttpMethod, SsrfError, ToolError, ToolRequest, ToolsConfig};
use vaarta_flows::{HostError, HostErrorKind, ToolResponse};

/// Why a tool call failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolCallError {
    /// Not configured, bad arguments, or refused by the host allow-list (before any IO).
    #[error(transparent)]
    Config(#[from] ToolError),
    /// A resolved address is loopback/private/link-local/... and not explicitly allowed.
    #[error("tool '{tool}' denied: {source}")]
    Denied { tool: String, source: SsrfError },
    #[error("tool '{tool}': cannot resolve '{host}': {message}")]
    Resolve {
        tool: String,
        host: String,
        message: String,
    },
    #[error("tool '{tool}': no answer within {after:?}")]
    Timeout { tool: String, after: Duration },
    #[error("tool '{tool}': response larger than {limit} bytes")]
    TooLarge { tool: String, limit: usize },
    #[error("tool '{tool}': {message}")]
    Http { tool: String, message: String },
}

impl ToolCallError {
    /// Policy refusals: the flow must not continue (the call goes to failover).
    pub fn is_denied(&self) -> bool {
        match self {
            Self::Config(e) => e.is_denied(),
            Self::Denied { .. } => true,
            _ => false,
        }
    }
}

/// Runs a site's tool connectors. Cheap to clone; one per site.
#[derive(Debug, Clone)]
pub struct ToolExecutor {
    config: Arc<ToolsConfig>,
}

impl ToolExecutor {
    pub fn new(config: ToolsConfig) -> Self {
        Self {
            config: Arc::new(config),
        }
    }

    pub fn config(&self) -> &ToolsConfig {
        &self.config
    }

    /// Call tool `name` with the flow's arguments. Non-2xx answers are `Ok` with `ok: false`.
    pub async fn call(
        &self,
        name: &str,
        args: &Map<String, Value>,
    ) -> Result<ToolResponse, ToolCallError> {
        let request = self.config.prepare(name, args)?;
        let connector = &self.config.connectors[name];
        let (status, body) = self.execute(&request).await?;
        Ok(connector.map_response(status, &body))
    }

    /// What a flow's `tool(...)` gets: policy refusals and bad arguments end the flow
    /// (`HostError`), transport failures (timeout, connection refused, too large) become
    /// `{ok: false, status: 0, error}` so the flow can apologise and transfer.
    pub async fn call_for_flow(
        &self,
        name: &str,
        args: &Map<String, Value>,
    ) -> Result<ToolResponse, HostError> {
        match self.call(name, args).await {
            Ok(r) => Ok(r),
            Err(e) if e.is_denied() => Err(HostError::new(HostErrorKind::Denied, e.to_string())),
            Err(e @ ToolCallError::Config(_)) => {
                Err(HostError::new(HostErrorKind::Failed, e.to_string()))
            }
            Err(e) => {
                tracing::warn!(tool = name, error = %e, "tool call failed");
                Ok(ToolResponse {
                    ok: false,
                    status: 0,
                    data: Value::Null,
                    error: Some(e.to_string()),
                })
            }
        }
    }

    /// Resolve, guard, send (pinned to the checked addresses) and read the capped body.
    pub async fn execute(&self, req: &ToolRequest) -> Result<(u16, Vec<u8>), ToolCallError> {
        let tool = req.tool.clone();
        match tokio::time::timeout(req.timeout, self.execute_inner(req)).await {
            Ok(r) => r,
            Err(_) => Err(ToolCallError::Timeout {
                tool,
                after: req.timeout,
            }),
        }
    }

    async fn execute_inner(&self, req: &ToolRequest) -> Result<(u16, Vec<u8>), ToolCallError> {
        let tool = &req.tool;
        let host = req.url.host_str().ok_or_else(|| ToolCallError::Http {
            tool: tool.clone(),
            message: "URL has no host".into(),
        })?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let port = req.url.port_or_known_default().unwrap_or(443);

        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| ToolCallError::Resolve {
                    tool: tool.clone(),
                    host: bare.into(),
                    message: e.to_string(),
                })?
                .collect(),
        };
        let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
        self.config
            .policy
            .check_resolved(bare, &ips)
            .map_err(|source| ToolCallError::Denied {
                tool: tool.clone(),
                source,
            })?;

        let mut builder = reqwest::Client::builder()
            .redirect(Policy::none())
            .no_proxy()
            .timeout(req.timeout)
            .connect_timeout(req.timeout);
        if bare.parse::<IpAddr>().is_err() {
            // Pin the connection to the addresses just checked: reqwest must not look up again.
            builder = builder.resolve_to_addrs(bare, &addrs);
        }
        let client = builder.build().map_err(|e| http(tool, e))?;

        let method = match req.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        };
        let mut rb = client
            .request(method, req.url.clone())
            .header("accept", "application/json");
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &req.body {
            rb = rb.json(body);
        }
        let mut resp = rb.send().await.map_err(|e| {
            if e.is_timeout() {
                ToolCallError::Timeout {
                    tool: tool.clone(),
                    after: req.timeout,
                }
            } else {
                http(tool, e)
            }
        })?;
        let status = resp.status().as_u16();
        let limit = req.max_response_bytes;
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(ToolCallError::TooLarge {
                tool: tool.clone(),
                limit,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| http(tool, e))? {
            if body.len() + chunk.len() > limit {
                return Err(ToolCallError::TooLarge {
                    tool: tool.clone(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}

fn http(tool: &str, e: reqwest::Error) -> ToolCallError {
    // Show the whole source chain (e.g. "connection refused"), not just "error sending request".
    let mut message = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        message.push_str(": ");
        message.push_str(&s.to_string());
        src = s.source();
    }
    ToolCallError::Http {
        tool: tool.to_string(),
        message,
    }
}
