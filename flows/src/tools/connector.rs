//! Per-site HTTP tool connectors: config, request rendering and response mapping.

use super::ssrf::{SsrfError, SsrfPolicy};
use crate::host::ToolResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;

/// A site's tools (config section `tools` of a site).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolsConfig {
    /// Tool name (as used in `tool("order_status", ...)`) → connector.
    pub connectors: BTreeMap<String, ToolConnector>,
    /// Where connectors may connect.
    pub policy: SsrfPolicy,
    /// Secret name → value, referenced from headers/URLs as `{secret:NAME}`. Never exposed to
    /// flows; the API redacts them in responses (`SiteSettings::redacted`).
    pub secrets: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
    fn has_body(self) -> bool {
        matches!(self, Self::Post | Self::Put | Self::Patch)
    }
}

/// One HTTP connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolConnector {
    pub method: HttpMethod,
    /// URL template: `https://crm.example.com/orders/{order_id}?lang={lang}`. `{arg}` is replaced by
    /// the URL-encoded tool argument, `{secret:NAME}` by a site secret (also encoded).
    pub url: String,
    /// Header templates, same placeholders (not encoded; CR/LF refused).
    pub headers: BTreeMap<String, String>,
    /// JSON body template for POST/PUT/PATCH. A string that is exactly `"{arg}"` is replaced by
    /// the argument's JSON value; other strings get text substitution. Default: all args as an object.
    pub body: Option<Value>,
    /// Output field → JSON pointer into the response (`"status": "/data/order/status"`).
    /// Empty: the whole response body is the tool's `data`.
    pub response: BTreeMap<String, String>,
    pub timeout_ms: u64,
    pub max_response_bytes: usize,
}

impl Default for ToolConnector {
    fn default() -> Self {
        Self {
            method: HttpMethod::Get,
            url: String::new(),
            headers: BTreeMap::new(),
            body: None,
            response: BTreeMap::new(),
            timeout_ms: 5000,
            max_response_bytes: 256 * 1024,
        }
    }
}

/// A rendered, policy-checked (host name level) request, ready for the executor.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolRequest {
    pub tool: String,
    pub method: HttpMethod,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    pub timeout: Duration,
    pub max_response_bytes: usize,
}

/// Why a tool call could not be made or its answer used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    #[error("tool '{0}' is not configured for this site")]
    UnknownTool(String),
    #[error("tool '{tool}': missing argument '{arg}'")]
    MissingArg { tool: String, arg: String },
    #[error("tool '{tool}': secret '{secret}' is not configured")]
    MissingSecret { tool: String, secret: String },
    #[error("tool '{tool}': invalid URL: {message}")]
    InvalidUrl { tool: String, message: String },
    #[error("tool '{tool}': invalid header '{header}'")]
    InvalidHeader { tool: String, header: String },
    #[error("tool '{tool}' denied: {source}")]
    Denied { tool: String, source: SsrfError },
}

impl ToolError {
    /// Denials and configuration errors are not the caller's fault: the flow cannot recover.
    pub fn is_denied(&self) -> bool {
        matches!(self, Self::Denied { .. } | Self::UnknownTool(_))
    }
}

impl ToolsConfig {
    /// Render the named connector with `args` and check its URL against the policy (scheme,
    /// host allow-list, IP literals). DNS results must still pass [`SsrfPolicy::check_resolved`].
    pub fn prepare(&self, tool: &str, args: &Map<String, Value>) -> Result<ToolRequest, ToolError> {
        let c = self
            .connectors
            .get(tool)
            .ok_or_else(|| ToolError::UnknownTool(tool.to_string()))?;
        let r = Renderer {
            tool,
            args,
            secrets: &self.secrets,
        };
        let url_text = r.render(&c.url, true)?;
        let url = Url::parse(&url_text).map_err(|e| ToolError::InvalidUrl {
            tool: tool.into(),
            message: e.to_string(),
        })?;
        self.policy
            .check_url(&url)
            .map_err(|source| ToolError::Denied {
                tool: tool.into(),
                source,
            })?;
        let mut headers = Vec::with_capacity(c.headers.len());
        for (name, template) in &c.headers {
            let value = r.render(template, false)?;
            let bad = |s: &str| s.contains(['\r', '\n']);
            if bad(name) || bad(&value) || name.is_empty() {
                return Err(ToolError::InvalidHeader {
                    tool: tool.into(),
                    header: name.clone(),
                });
            }
            headers.push((name.clone(), value));
        }
        let body = if c.method.has_body() {
            Some(match &c.body {
                Some(t) => r.render_json(t)?,
                None => Value::Object(args.clone()),
            })
        } else {
            None
        };
        Ok(ToolRequest {
            tool: tool.to_string(),
            method: c.method,
            url,
            headers,
            body,
            timeout: Duration::from_millis(c.timeout_ms.max(1)),
            max_response_bytes: c.max_response_bytes,
        })
    }
}

impl ToolConnector {
    /// Turn an HTTP answer into what the flow sees: `ok` for 2xx, `data` mapped through the
    /// JSON pointers (missing pointers give null), the raw text when the body is not JSON.
    pub fn map_response(&self, status: u16, body: &[u8]) -> ToolResponse {
        let ok = (200..300).contains(&status);
        let parsed: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
            Some(Value::Null)
        } else {
            serde_json::from_slice(body).ok()
        };
        let Some(json) = parsed else {
            return ToolResponse {
                ok: false,
                status,
                data: Value::String(String::from_utf8_lossy(body).chars().take(500).collect()),
                error: Some("response is not JSON".into()),
            };
        };
        let data = if self.response.is_empty() {
            json
        } else {
            Value::Object(
                self.response
                    .iter()
                    .map(|(field, ptr)| {
                        (
                            field.clone(),
                            json.pointer(ptr).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
            )
        };
        ToolResponse {
            ok,
            status,
            data,
            error: (!ok).then(|| format!("HTTP {status}")),
        }
    }
}

struct Renderer<'a> {
    tool: &'a str,
    args: &'a Map<String, Value>,
    secrets: &'a BTreeMap<String, String>,
}

impl Renderer<'_> {
    fn lookup(&self, key: &str) -> Result<String, ToolError> {
        if let Some(secret) = key.strip_prefix("secret:") {
            return self
                .secrets
                .get(secret)
                .cloned()
                .ok_or_else(|| ToolError::MissingSecret {
                    tool: self.tool.into(),
                    secret: secret.into(),
                });
        }
        match self.args.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Null) | None => Err(ToolError::MissingArg {
                tool: self.tool.into(),
                arg: key.into(),
            }),
            Some(other) => Ok(other.to_string()),
        }
    }

    /// Replace `{name}` placeholders; `{{` and `}}` are literal braces.
    fn render(&self, template: &str, encode: bool) -> Result<String, ToolError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                out.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if let Some(after) = tail.strip_prefix('}') {
                out.push('}');
                rest = after;
                continue;
            }
            let Some(end) = tail.find('}') else {
                out.push_str(tail);
                rest = "";
                break;
            };
            let value = self.lookup(tail[1..end].trim())?;
            if encode {
                out.push_str(&percent_encode(&value));
            } else {
                out.push_str(&value);
            }
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn render_json(&self, t: &Value) -> Result<Value, ToolError> {
        Ok(match t {
            Value::String(s) => {
                let inner = s.strip_prefix('{').and_then(|x| x.strip_suffix('}'));
                match inner {
                    Some(k) if !k.contains(['{', '}']) && !k.starts_with("secret:") => self
                        .args
                        .get(k.trim())
                        .cloned()
                        .ok_or_else(|| ToolError::MissingArg {
                            tool: self.tool.into(),
                            arg: k.trim().into(),
                        })?,
                    _ => Value::String(self.render(s, false)?),
                }
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|v| self.render_json(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_json(v)?)))
                    .collect::<Result<_, ToolError>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters, so arguments can never
/// change the URL's host, path structure or query.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> ToolsConfig {
        serde_json::from_value(json!({
            "policy": {"allowed_hosts": ["crm.example.com"]},
            "secrets": {"crm_token": "s3cr3t"},
            "connectors": {
                "order_status": {
                    "url": "https://crm.example.com/orders/{order_id}?lang={lang}",
                    "headers": {"Authorization": "Bearer {secret:crm_token}"},
                    "response": {"status": "/order/status", "eta": "/order/eta"}
                },
                "order_update": {
                    "method": "POST",
                    "url": "https://crm.example.com/orders/{order_id}/updates",
                    "body": {"id": "{order_id}", "note": "via voice: {note}", "urgent": "{urgent}"}
                },
                "evil": {"url": "https://attacker.net/{x}"}
            }
        }))
        .unwrap()
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn renders_url_headers_and_body() {
        let c = config();
        let req = c
            .prepare(
                "order_status",
                &args(json!({"order_id": "A1/../2 3", "lang": "hi"})),
            )
            .unwrap();
        assert_eq!(
            req.url.as_str(),
            "https://crm.example.com/orders/A1%2F..%2F2%203?lang=hi"
        );
        assert_eq!(
            req.headers,
            vec![("Authorization".to_string(), "Bearer s3cr3t".to_string())]
        );
        assert_eq!(req.body, None);
        let req = c
            .prepare(
                "order_update",
                &args(json!({"order_id": 42, "note": "jaldi", "urgent": true})),
            )
            .unwrap();
        assert_eq!(req.method, HttpMethod::Post);
        assert_eq!(
            req.body,
            Some(json!({"id": 42, "note": "via voice: jaldi", "urgent": true}))
        );
        // Secrets survive storage (the API redacts them in responses: SiteSettings::redacted).
        let back: ToolsConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back.secrets, c.secrets);
    }

    #[test]
    fn refuses_unknown_tools_missing_args_and_other_hosts() {
        let c = config();
        assert_eq!(
            c.prepare("nope", &Map::new()),
            Err(ToolError::UnknownTool("nope".into()))
        );
        assert!(matches!(
            c.prepare("order_status", &args(json!({"lang": "hi"}))),
            Err(ToolError::MissingArg { .. })
        ));
        let e = c.prepare("evil", &args(json!({"x": "1"}))).unwrap_err();
        assert!(e.is_denied());
        assert!(e.to_string().contains("attacker.net"), "{e}");
    }

    #[test]
    fn maps_responses_through_json_pointers() {
        let c = &config().connectors["order_status"];
        let r = c.map_response(200, br#"{"order":{"status":"shipped","eta":"kal"}}"#);
        assert_eq!(
            r,
            ToolResponse {
                ok: true,
                status: 200,
                data: json!({"status": "shipped", "eta": "kal"}),
                error: None
            }
        );
        let r = c.map_response(404, br#"{"error":"not found"}"#);
        assert!(!r.ok);
        assert_eq!(r.data, json!({"status": null, "eta": null}));
        let r = c.map_response(200, b"<html>");
        assert!(!r.ok && r.error.as_deref() == Some("response is not JSON"));
    }
}
