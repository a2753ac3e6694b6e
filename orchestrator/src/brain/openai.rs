//! OpenAI-compatible chat-completions brain (`POST {url}/chat/completions`, `stream: true`):
//! a phone-call system prompt in the caller's language, knowledge-base passages retrieved for the
//! question, and the site's tool connectors offered as functions. A tool call is run through the
//! site's [`ToolExecutor`] (SSRF guard and all) and the answer continues in a second request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

use super::breaker::Breaker;
use super::{AnswerStream, Brain, BrainError, BrainRequest, BrainSettings, Retriever};
use crate::tools::ToolExecutor;

/// Tool rounds per question (a model asking for tools in a loop ends here).
const MAX_TOOL_ROUNDS: usize = 2;

pub struct OpenAiBrain {
    client: reqwest::Client,
    endpoint: String,
    api_key: Option<String>,
    model: String,
    first_token: Duration,
    total: Duration,
    permits: Arc<Semaphore>,
    breaker: Arc<Breaker>,
    retriever: Option<Arc<dyn Retriever>>,
    tools: Option<ToolExecutor>,
}

fn system_prompt(language: &str) -> String {
    let lang = match language {
        "en" => "English",
        "pa" => "Punjabi written in Latin letters",
        _ => "Hinglish (Hindi in Latin letters, mixed with English as Indian callers speak)",
    };
    format!(
        "You are a helpful voice agent on a phone call. Answer in {lang}. Keep answers to one to three short \
         sentences that sound natural when spoken: no markdown, lists, links or emoji. If you do not know, say so \
         and offer to connect the caller to a person."
    )
}

impl OpenAiBrain {
    pub fn new(
        settings: &BrainSettings,
        retriever: Option<Arc<dyn Retriever>>,
        tools: Option<ToolExecutor>,
    ) -> Result<Self, BrainError> {
        let base = settings
            .url
            .clone()
            .ok_or_else(|| BrainError::Unavailable("no brain url configured".into()))?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(1000))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BrainError::Unavailable(e.to_string()))?;
        Ok(OpenAiBrain {
            client,
            endpoint: format!("{}/chat/completions", base.trim_end_matches('/')),
            api_key: settings.api_key.clone(),
            model: settings
                .model
                .clone()
                .unwrap_or_else(|| "gpt-4o-mini".into()),
            first_token: Duration::from_millis(settings.first_token_timeout_ms),
            total: Duration::from_millis(settings.total_timeout_ms),
            permits: Arc::new(Semaphore::new(settings.max_concurrent)),
            breaker: Arc::new(Breaker::new(
                settings.breaker_failures,
                Duration::from_millis(settings.breaker_cooldown_ms),
            )),
            retriever,
            tools,
        })
    }

    fn functions(&self) -> Vec<Value> {
        let Some(t) = &self.tools else {
            return Vec::new();
        };
        t.config()
            .connectors
            .iter()
            .map(|(name, c)| {
                // Arguments are the `{placeholders}` of the connector's URL (plus free-form extras).
                let mut props = serde_json::Map::new();
                let mut rest = c.url.as_str();
                while let Some(i) = rest.find('{') {
                    let Some(j) = rest[i..].find('}') else { break };
                    let arg = &rest[i + 1..i + j];
                    if !arg.starts_with("secret:") {
                        props.insert(arg.to_string(), json!({"type": "string"}));
                    }
                    rest = &rest[i + j + 1..];
                }
                let required: Vec<&String> = props.keys().collect();
                json!({"type": "function", "function": {
                    "name": name,
                    "description": format!("Site tool {name} ({} {})", c.method.as_str(), c.url.split('?').next().unwrap_or("")),
                    "parameters": {"type": "object", "properties": props, "required": required}
                }})
            })
            .collect()
    }
}

/// What one streamed completion produced.
#[derive(Default)]
struct Round {
    tool_calls: Vec<(String, String, String)>, // (id, name, arguments)
}

/// Streams one completion: content deltas go to `tx`; tool calls are collected.
#[allow(clippy::too_many_arguments)] // one round's inputs; grouping them would only rename them
async fn stream_round(
    client: &reqwest::Client,
    endpoint: &str,
    api_key: Option<&str>,
    body: &Value,
    tx: &mpsc::Sender<Result<String, BrainError>>,
    first_deadline: Instant,
    deadline: Instant,
    got_text: &mut bool,
) -> Result<Round, BrainError> {
    let mut req = client.post(endpoint).json(body);
    if let Some(k) = api_key {
        req = req.bearer_auth(k);
    }
    let limit = if *got_text { deadline } else { first_deadline };
    let resp = tokio::time::timeout_at(limit.into(), req.send())
        .await
        .map_err(|_| BrainError::Timeout(0))?
        .map_err(|e| BrainError::Unavailable(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(BrainError::Unavailable(format!(
            "LLM answered HTTP {}",
            resp.status()
        )));
    }
    let mut body = resp.bytes_stream();
    let mut buf = Vec::new();
    let mut round = Round::default();
    loop {
        let limit = if *got_text {
            deadline
        } else {
            first_deadline.min(deadline)
        };
        let Some(chunk) = tokio::time::timeout_at(limit.into(), body.next())
            .await
            .map_err(|_| BrainError::Timeout(0))?
        else {
            break;
        };
        buf.extend_from_slice(&chunk.map_err(|e| BrainError::Unavailable(e.to_string()))?);
        while let Some(i) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line);
            let Some(data) = line.trim().strip_prefix("data:").map(str::trim) else {
                continue;
            };
            if data == "[DONE]" || data.is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(data)
                .map_err(|e| BrainError::BadAnswer(format!("unparsable chunk: {e}")))?;
            let delta = &v["choices"][0]["delta"];
            if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
                *got_text = true;
                if tx.send(Ok(text.to_string())).await.is_err() {
                    return Ok(round);
                }
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let idx = call["index"].as_u64().unwrap_or(0) as usize;
                while round.tool_calls.len() <= idx {
                    round.tool_calls.push(Default::default());
                }
                let slot = &mut round.tool_calls[idx];
                if let Some(id) = call["id"].as_str() {
                    slot.0 = id.to_string();
                }
                if let Some(n) = call["function"]["name"].as_str() {
                    slot.1.push_str(n);
                }
                if let Some(a) = call["function"]["arguments"].as_str() {
                    slot.2.push_str(a);
                }
            }
        }
    }
    Ok(round)
}

impl Brain for OpenAiBrain {
    fn answer(
        &self,
        request: BrainRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<AnswerStream, BrainError>> + Send + '_>,
    > {
        Box::pin(async move {
            let started = Instant::now();
            if !self.breaker.allow(started) {
                return Err(BrainError::CircuitOpen);
            }
            let permit = self
                .permits
                .clone()
                .try_acquire_owned()
                .map_err(|_| BrainError::Overloaded)?;
            let mut system = system_prompt(&request.language);
            if let Some(r) = &self.retriever
                && let Ok(passages) = r.search(request.site_id, &request.text, 3).await
                && !passages.is_empty()
            {
                system.push_str("\n\nFacts from the business's knowledge base (use them; do not invent others):");
                for p in passages {
                    system.push_str(&format!("\n- {}", p.text.replace('\n', " ")));
                }
            }
            let mut messages = vec![json!({"role": "system", "content": system})];
            for h in &request.history {
                if h.role == "user" || h.role == "assistant" {
                    messages.push(json!({"role": h.role, "content": h.text}));
                }
            }
            if request
                .history
                .last()
                .is_none_or(|h| h.role != "user" || h.text != request.text)
            {
                messages.push(json!({"role": "user", "content": request.text}));
            }
            let functions = self.functions();
            let (tx, rx) = mpsc::channel(32);
            let (client, endpoint, key, model, tools, breaker) = (
                self.client.clone(),
                self.endpoint.clone(),
                self.api_key.clone(),
                self.model.clone(),
                self.tools.clone(),
                self.breaker.clone(),
            );
            let (first_deadline, deadline) = (started + self.first_token, started + self.total);
            tokio::spawn(async move {
                let _permit = permit;
                let mut got_text = false;
                let result: Result<(), BrainError> = async {
                    for round_no in 0..=MAX_TOOL_ROUNDS {
                        let mut body = json!({"model": model, "stream": true, "messages": messages});
                        if !functions.is_empty() && round_no < MAX_TOOL_ROUNDS {
                            body["tools"] = Value::Array(functions.clone());
                        }
                        let round = stream_round(&client, &endpoint, key.as_deref(), &body, &tx, first_deadline, deadline, &mut got_text).await?;
                        if round.tool_calls.is_empty() {
                            return Ok(());
                        }
                        let calls: Vec<Value> = round
                            .tool_calls
                            .iter()
                            .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
                            .collect();
                        messages.push(json!({"role": "assistant", "content": null, "tool_calls": calls}));
                        for (id, name, args) in round.tool_calls {
                            let args: serde_json::Map<String, Value> = serde_json::from_str(&args).unwrap_or_default();
                            let result = match &tools {
                                Some(t) => match t.call(&name, &args).await {
                                    Ok(r) => serde_json::to_value(r).unwrap_or_default(),
                                    Err(e) => json!({"ok": false, "error": e.to_string()}),
                                },
                                None => json!({"ok": false, "error": "no tools configured"}),
                            };
                            messages.push(json!({"role": "tool", "tool_call_id": id, "content": result.to_string()}));
                        }
                    }
                    Ok(())
                }
                .await;
                match result {
                    Ok(()) if got_text => breaker.success(),
                    Ok(()) => {
                        breaker.failure(Instant::now());
                        let _ = tx
                            .send(Err(BrainError::BadAnswer("the model gave no text".into())))
                            .await;
                    }
                    Err(e) => {
                        breaker.failure(Instant::now());
                        metrics::counter!("vaarta_brain_errors_total", "kind" => "openai")
                            .increment(1);
                        let _ = tx.send(Err(e)).await;
                    }
                }
                metrics::histogram!("vaarta_brain_answer_ms")
                    .record(started.elapsed().as_secs_f64() * 1000.0);
            });
            let stream =
                futures::stream::unfold(
                    rx,
                    |mut rx| async move { rx.recv().await.map(|x| (x, rx)) },
                );
            Ok(Box::pin(stream) as AnswerStream)
        })
    }
}
