//! Client for the central AI brain (the site's chatbot backend) over HTTP, speaking the
//! contract in docs/brain-contract.md: one POST per question; the answer as JSON, or streamed
//! as server-sent events / NDJSON deltas. Strict timeouts, a per-site concurrency cap and a
//! circuit breaker keep the chatbot's load within what the site configured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::{Semaphore, mpsc};

use super::breaker::Breaker;
use super::{AnswerStream, Brain, BrainError, BrainRequest, BrainSettings};

/// One site's HTTP brain client.
pub struct HttpBrain {
    client: reqwest::Client,
    url: String,
    api_key: Option<String>,
    first_token: Duration,
    total: Duration,
    permits: Arc<Semaphore>,
    breaker: Arc<Breaker>,
}

#[derive(Deserialize)]
struct Piece {
    #[serde(default)]
    delta: Option<String>,
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

impl HttpBrain {
    pub fn new(settings: &BrainSettings) -> Result<Self, BrainError> {
        let url = settings
            .url
            .clone()
            .ok_or_else(|| BrainError::Unavailable("no brain url configured".into()))?;
        let client = reqwest::Client::builder()
            .connect_timeout(
                Duration::from_millis(1000)
                    .min(Duration::from_millis(settings.first_token_timeout_ms)),
            )
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BrainError::Unavailable(e.to_string()))?;
        Ok(HttpBrain {
            client,
            url,
            api_key: settings.api_key.clone(),
            first_token: Duration::from_millis(settings.first_token_timeout_ms),
            total: Duration::from_millis(settings.total_timeout_ms),
            permits: Arc::new(Semaphore::new(settings.max_concurrent)),
            breaker: Arc::new(Breaker::new(
                settings.breaker_failures,
                Duration::from_millis(settings.breaker_cooldown_ms),
            )),
        })
    }
}

/// Splits a body into lines across chunk boundaries.
#[derive(Default)]
struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            out.push(
                String::from_utf8_lossy(&line)
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            );
        }
        out
    }
    fn rest(&mut self) -> Option<String> {
        let s = String::from_utf8_lossy(&std::mem::take(&mut self.buf))
            .trim()
            .to_string();
        (!s.is_empty()).then_some(s)
    }
}

enum Format {
    Json,
    Sse,
    Ndjson,
}

/// One line of a streamed answer: `Some(Ok(delta))`, `Some(Err)` for a brain error, `None`
/// for nothing (comments, blank lines, `[DONE]`).
fn parse_line(format: &Format, line: &str) -> Option<Result<String, BrainError>> {
    let payload = match format {
        Format::Sse => line.strip_prefix("data:")?.trim(),
        Format::Ndjson => line.trim(),
        Format::Json => return None,
    };
    if payload.is_empty() || payload == "[DONE]" {
        return None;
    }
    match serde_json::from_str::<Piece>(payload) {
        Ok(Piece { error: Some(e), .. }) => Some(Err(BrainError::BadAnswer(e))),
        Ok(p) => p.delta.or(p.answer).map(Ok),
        Err(e) => Some(Err(BrainError::BadAnswer(format!(
            "unparsable stream line: {e}"
        )))),
    }
}

impl Brain for HttpBrain {
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
            let body = serde_json::json!({
                "site_id": request.site_id,
                "api_key": self.api_key,
                "session_id": request.session_id,
                "channel": "call",
                "language": request.language,
                "text": request.text,
                "history": request.history,
            });
            let mut req = self.client.post(&self.url).json(&body).header(
                "accept",
                "text/event-stream, application/x-ndjson, application/json",
            );
            if let Some(k) = &self.api_key {
                req = req.bearer_auth(k);
            }
            let first_ms = self.first_token.as_millis() as u64;
            let fail = |e: BrainError| {
                self.breaker.failure(Instant::now());
                metrics::counter!("vaarta_brain_errors_total", "kind" => "http").increment(1);
                e
            };
            let resp = match tokio::time::timeout(self.first_token, req.send()).await {
                Err(_) => return Err(fail(BrainError::Timeout(first_ms))),
                Ok(Err(e)) => return Err(fail(BrainError::Unavailable(e.to_string()))),
                Ok(Ok(r)) => r,
            };
            if !resp.status().is_success() {
                return Err(fail(BrainError::Unavailable(format!(
                    "brain answered HTTP {}",
                    resp.status()
                ))));
            }
            let ctype = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_lowercase();
            let format = if ctype.starts_with("text/event-stream") {
                Format::Sse
            } else if ctype.contains("ndjson") || ctype.contains("jsonl") {
                Format::Ndjson
            } else {
                Format::Json
            };
            let (tx, rx) = mpsc::channel::<Result<String, BrainError>>(32);
            let (breaker, first, deadline) =
                (self.breaker.clone(), self.first_token, started + self.total);
            let total_ms = self.total.as_millis() as u64;
            tokio::spawn(async move {
                let _permit = permit;
                let mut body = resp.bytes_stream();
                let mut lines = Lines::default();
                let mut json = Vec::new();
                let mut got_text = false;
                let result: Result<(), BrainError> = async {
                    loop {
                        let limit = if got_text {
                            deadline
                        } else {
                            (started + first).min(deadline)
                        };
                        let next = tokio::time::timeout_at(limit.into(), body.next())
                            .await
                            .map_err(|_| {
                                BrainError::Timeout(if got_text { total_ms } else { first_ms })
                            })?;
                        let Some(chunk) = next else { break };
                        let chunk = chunk.map_err(|e| BrainError::Unavailable(e.to_string()))?;
                        if let Format::Json = format {
                            json.extend_from_slice(&chunk);
                            continue;
                        }
                        for line in lines.push(&chunk) {
                            if let Some(piece) = parse_line(&format, &line) {
                                let delta = piece?;
                                got_text |= !delta.is_empty();
                                if tx.send(Ok(delta)).await.is_err() {
                                    return Ok(());
                                }
                            }
                        }
                    }
                    if let Some(line) = lines.rest()
                        && let Some(piece) = parse_line(&format, &line)
                    {
                        let _ = tx.send(Ok(piece?)).await;
                    }
                    if let Format::Json = format {
                        let p: Piece = serde_json::from_slice(&json).map_err(|e| {
                            BrainError::BadAnswer(format!("not the brain contract's JSON: {e}"))
                        })?;
                        if let Some(e) = p.error {
                            return Err(BrainError::BadAnswer(e));
                        }
                        let answer = p
                            .answer
                            .or(p.delta)
                            .ok_or_else(|| BrainError::BadAnswer("no answer field".into()))?;
                        let _ = tx.send(Ok(answer)).await;
                    }
                    Ok(())
                }
                .await;
                match result {
                    Ok(()) => breaker.success(),
                    Err(e) => {
                        breaker.failure(Instant::now());
                        metrics::counter!("vaarta_brain_errors_total", "kind" => "http")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_lines_parse_per_format() {
        let mut l = Lines::default();
        assert!(l.push(b"data: {\"del").is_empty());
        let lines = l.push(b"ta\":\"Hi\"}\n\ndata: [DONE]\n");
        assert_eq!(lines, vec!["data: {\"delta\":\"Hi\"}", "", "data: [DONE]"]);
        assert_eq!(parse_line(&Format::Sse, &lines[0]).unwrap().unwrap(), "Hi");
        assert!(parse_line(&Format::Sse, &lines[2]).is_none());
        assert!(parse_line(&Format::Sse, ": keep-alive").is_none());
        assert_eq!(
            parse_line(&Format::Ndjson, "{\"delta\":\"a\"}")
                .unwrap()
                .unwrap(),
            "a"
        );
        assert!(matches!(
            parse_line(&Format::Ndjson, "{\"error\":\"down\"}"),
            Some(Err(BrainError::BadAnswer(_)))
        ));
        assert!(matches!(
            parse_line(&Format::Ndjson, "garbage"),
            Some(Err(_))
        ));
    }
}
