//! Call summaries from the site's LLM (an OpenAI-compatible brain, `settings.brain.kind =
//! "openai"`): a few sentences for the CRM about a recording or a call. Sites without an LLM
//! get no summary (the field stays `null`); a failing LLM never fails the transcription or the
//! webhook, it only leaves the summary out.

use std::time::Duration;

use serde_json::{Value, json};

use crate::brain::{BrainError, BrainKind, BrainSettings};

/// Longest transcript sent (characters); longer ones keep their start and end.
const MAX_TRANSCRIPT: usize = 24_000;

const SYSTEM: &str = "You summarise phone calls for a CRM. Write two to four plain sentences: why the customer \
    called or was called, what was agreed or promised, and any follow-up needed (with dates, amounts, order numbers). \
    No markdown, no lists, no preamble.";

/// Whether this brain can summarise.
pub fn can_summarise(brain: Option<&BrainSettings>) -> bool {
    brain.is_some_and(|b| b.kind == BrainKind::Openai && b.url.is_some())
}

/// `speaker: text` lines, cut in the middle when too long.
fn transcript_text(lines: &[(String, String)]) -> String {
    let full: String = lines
        .iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(s, t)| format!("{s}: {}\n", t.trim()))
        .collect();
    if full.chars().count() <= MAX_TRANSCRIPT {
        return full;
    }
    let half = MAX_TRANSCRIPT / 2;
    let head: String = full.chars().take(half).collect();
    let tail: String = full
        .chars()
        .rev()
        .take(half)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}\n[…]\n{tail}")
}

/// Asks the LLM for a summary of `lines` (speaker, text). `Ok(None)`: nothing to summarise or
/// no LLM configured.
pub async fn summarise(
    brain: Option<&BrainSettings>,
    lines: &[(String, String)],
) -> Result<Option<String>, BrainError> {
    let Some(b) = brain.filter(|b| can_summarise(Some(b))) else {
        return Ok(None);
    };
    let text = transcript_text(lines);
    if text.trim().is_empty() {
        return Ok(None);
    }
    let url = format!(
        "{}/chat/completions",
        b.url.as_deref().unwrap_or_default().trim_end_matches('/')
    );
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(2000))
        .timeout(Duration::from_millis(b.total_timeout_ms.max(1000)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| BrainError::Unavailable(e.to_string()))?;
    let body = json!({
        "model": b.model.clone().unwrap_or_else(|| "gpt-4o-mini".into()),
        "temperature": 0.2,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
    });
    let mut req = client.post(&url).json(&body);
    if let Some(k) = &b.api_key {
        req = req.bearer_auth(k);
    }
    let res = req.send().await.map_err(|e| {
        if e.is_timeout() {
            BrainError::Timeout(b.total_timeout_ms)
        } else {
            BrainError::Unavailable(e.to_string())
        }
    })?;
    if !res.status().is_success() {
        return Err(BrainError::Unavailable(format!(
            "the LLM answered {}",
            res.status()
        )));
    }
    let v: Value = res
        .json()
        .await
        .map_err(|e| BrainError::BadAnswer(e.to_string()))?;
    let summary = v["choices"][0]["message"]["content"]
        .as_str()
        .map(str::trim)
        .unwrap_or_default();
    if summary.is_empty() {
        return Err(BrainError::BadAnswer(
            "no summary text in the LLM's answer".into(),
        ));
    }
    Ok(Some(summary.chars().take(4000).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    async fn fake_llm(status: u16, content: &'static str) -> (String, Arc<Mutex<Vec<Value>>>) {
        use axum::{Json, Router, routing::post};
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let app = Router::new().route(
            "/v1/chat/completions",
            post(move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
                let s = s.clone();
                async move {
                    assert_eq!(headers["authorization"], "Bearer llm-key");
                    s.lock().unwrap().push(body);
                    let code = axum::http::StatusCode::from_u16(status).unwrap();
                    (code, Json(json!({"choices": [{"message": {"role": "assistant", "content": content}}]})))
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        (format!("http://{addr}/v1"), seen)
    }

    fn brain(url: &str) -> BrainSettings {
        BrainSettings {
            kind: BrainKind::Openai,
            url: Some(url.into()),
            api_key: Some("llm-key".into()),
            model: Some("tiny-llm".into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn the_llm_gets_the_transcript_and_its_answer_is_the_summary() {
        let (url, seen) = fake_llm(
            200,
            "  The customer asked about order 4521; delivery moved to Monday.  ",
        )
        .await;
        let lines = vec![
            ("agent".to_string(), "Thank you for calling.".to_string()),
            ("customer".to_string(), "Where is order 4521?".to_string()),
        ];
        let s = summarise(Some(&brain(&url)), &lines).await.unwrap();
        assert_eq!(
            s.as_deref(),
            Some("The customer asked about order 4521; delivery moved to Monday.")
        );
        let body = seen.lock().unwrap()[0].clone();
        assert_eq!(body["model"], "tiny-llm");
        assert_eq!(
            body["messages"][1]["content"],
            "agent: Thank you for calling.\ncustomer: Where is order 4521?\n"
        );
        assert!(
            body["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains("summarise")
        );
    }

    #[tokio::test]
    async fn no_llm_no_text_or_a_failing_llm_give_no_summary() {
        let lines = vec![("agent".to_string(), "Hello".to_string())];
        assert_eq!(summarise(None, &lines).await.unwrap(), None);
        let http_brain = BrainSettings {
            kind: BrainKind::Http,
            url: Some("http://127.0.0.1:9".into()),
            ..Default::default()
        };
        assert_eq!(
            summarise(Some(&http_brain), &lines).await.unwrap(),
            None,
            "the chatbot contract has no summaries"
        );
        let (url, seen) = fake_llm(200, "unused").await;
        assert_eq!(
            summarise(Some(&brain(&url)), &[("agent".into(), "  ".into())])
                .await
                .unwrap(),
            None
        );
        assert!(
            seen.lock().unwrap().is_empty(),
            "nothing to summarise: no request"
        );
        let (url, _) = fake_llm(500, "x").await;
        assert!(summarise(Some(&brain(&url)), &lines).await.is_err());
        let (url, _) = fake_llm(200, "   ").await;
        assert!(matches!(
            summarise(Some(&brain(&url)), &lines).await,
            Err(BrainError::BadAnswer(_))
        ));
    }

    #[test]
    fn long_transcripts_keep_their_start_and_end() {
        let lines: Vec<(String, String)> = (0..5000)
            .map(|i| ("agent".to_string(), format!("line {i}")))
            .collect();
        let t = transcript_text(&lines);
        assert!(t.chars().count() <= MAX_TRANSCRIPT + 10);
        assert!(
            t.starts_with("agent: line 0\n")
                && t.trim_end().ends_with("line 4999")
                && t.contains("[…]")
        );
    }
}
