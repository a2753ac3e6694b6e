//! Brain clients against real loopback HTTP servers: the central-brain contract (JSON and
//! streamed answers, first-token and total timeouts, 500, circuit breaker, per-site cap) and the
//! OpenAI-compatible client (streaming, KB passages in the prompt, one tool-call round trip
//! through the site's connector).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;
use vaarta_orchestrator::brain::http::HttpBrain;
use vaarta_orchestrator::brain::openai::OpenAiBrain;
use vaarta_orchestrator::brain::{
    Brain, BrainError, BrainKind, BrainRequest, BrainSettings, Retriever,
};

/// What the fake provider saw (request bodies) and how often the CRM was hit.
type Seen = (Arc<std::sync::Mutex<Vec<Value>>>, Arc<AtomicUsize>);

async fn serve(app: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}")
}

fn req(text: &str) -> BrainRequest {
    BrainRequest {
        site_id: Uuid::nil(),
        session_id: Uuid::now_v7(),
        language: "en".into(),
        text: text.into(),
        history: vec![],
    }
}

async fn collect(b: &dyn Brain, text: &str) -> Result<String, BrainError> {
    let mut s = b.answer(req(text)).await?;
    let mut out = String::new();
    while let Some(d) = s.next().await {
        out.push_str(&d?);
    }
    Ok(out)
}

fn settings(url: String) -> BrainSettings {
    BrainSettings {
        kind: BrainKind::Http,
        url: Some(url),
        api_key: Some("k".into()),
        first_token_timeout_ms: 500,
        total_timeout_ms: 2000,
        max_concurrent: 2,
        breaker_failures: 3,
        breaker_cooldown_ms: 60_000,
        ..Default::default()
    }
}

#[tokio::test]
async fn central_brain_json_and_streamed_answers() {
    let app = Router::new()
        .route("/json", post(|| async { axum::Json(json!({"answer": "Seven days."})) }))
        .route(
            "/sse",
            post(|| async {
                ([("content-type", "text/event-stream")], "data: {\"delta\":\"Seven \"}\n\n: ping\n\ndata: {\"delta\":\"days.\"}\n\ndata: [DONE]\n\n")
            }),
        )
        .route("/ndjson", post(|| async { ([("content-type", "application/x-ndjson")], "{\"delta\":\"Seven \"}\n{\"delta\":\"days.\"}\n") }))
        .route("/err", post(|| async { ([("content-type", "application/json")], "{\"error\":\"no idea\"}") }));
    let base = serve(app).await;
    for path in ["json", "sse", "ndjson"] {
        let b = HttpBrain::new(&settings(format!("{base}/{path}"))).unwrap();
        assert_eq!(
            collect(&b, "return policy?").await.unwrap(),
            "Seven days.",
            "{path}"
        );
    }
    let b = HttpBrain::new(&settings(format!("{base}/err"))).unwrap();
    assert!(matches!(
        collect(&b, "x").await,
        Err(BrainError::BadAnswer(_))
    ));
}

#[tokio::test]
async fn slow_or_failing_brain_times_out_then_the_breaker_opens() {
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/slow",
            post(|State(h): State<Arc<AtomicUsize>>| async move {
                h.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(3)).await;
                axum::Json(json!({"answer": "late"}))
            }),
        )
        .route(
            "/down",
            post(|State(h): State<Arc<AtomicUsize>>| async move {
                h.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            }),
        )
        .with_state(hits.clone());
    let base = serve(app).await;
    let slow = HttpBrain::new(&settings(format!("{base}/slow"))).unwrap();
    let t = std::time::Instant::now();
    assert!(matches!(
        collect(&slow, "x").await,
        Err(BrainError::Timeout(500))
    ));
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "first-token timeout is strict: {:?}",
        t.elapsed()
    );

    hits.store(0, Ordering::SeqCst);
    let down = HttpBrain::new(&settings(format!("{base}/down"))).unwrap();
    for _ in 0..3 {
        assert!(matches!(
            collect(&down, "x").await,
            Err(BrainError::Unavailable(_))
        ));
    }
    // Open: no more requests reach the brain.
    for _ in 0..5 {
        assert!(matches!(
            collect(&down, "x").await,
            Err(BrainError::CircuitOpen)
        ));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_brain_that_starts_but_never_finishes_hits_the_total_timeout() {
    // First words at once, then nothing for longer than the whole-answer budget (2 s).
    let app = Router::new().route(
        "/trickle",
        post(|| async {
            let s = futures::stream::unfold(0u32, |i| async move {
                if i > 0 {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Some((
                    Ok::<_, std::io::Error>(format!("data: {{\"delta\":\"part {i} \"}}\n\n")),
                    i + 1,
                ))
            });
            (
                [("content-type", "text/event-stream")],
                axum::body::Body::from_stream(s),
            )
        }),
    );
    let base = serve(app).await;
    let b = HttpBrain::new(&settings(format!("{base}/trickle"))).unwrap();
    let t = std::time::Instant::now();
    let mut s = b.answer(req("x")).await.unwrap();
    assert_eq!(s.next().await.unwrap().unwrap(), "part 0 ");
    let rest = s.next().await.unwrap();
    assert!(matches!(rest, Err(BrainError::Timeout(2000))), "{rest:?}");
    let e = t.elapsed();
    assert!(
        e >= Duration::from_millis(1900) && e < Duration::from_millis(4000),
        "the total budget is strict: {e:?}"
    );
}

#[tokio::test]
async fn the_brain_never_sees_more_than_the_sites_cap() {
    let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let app = Router::new()
        .route(
            "/a",
            post(
                |State((now, max)): State<(Arc<AtomicUsize>, Arc<AtomicUsize>)>| async move {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    axum::Json(json!({"answer": "ok"}))
                },
            ),
        )
        .with_state((now.clone(), max.clone()));
    let base = serve(app).await;
    let b = Arc::new(HttpBrain::new(&settings(format!("{base}/a"))).unwrap());
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move { collect(b.as_ref(), "x").await }));
    }
    let mut ok = 0;
    let mut overloaded = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(BrainError::Overloaded) => overloaded += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, overloaded), (2, 4));
    assert_eq!(max.load(Ordering::SeqCst), 2);
}

struct Faq;
impl Retriever for Faq {
    fn search<'a>(
        &'a self,
        _: Uuid,
        _: &'a str,
        _: usize,
    ) -> futures::future::BoxFuture<'a, Result<Vec<vaarta_flows::Passage>, String>> {
        Box::pin(async {
            Ok(vec![vaarta_flows::Passage {
                text: "Orders ship within 2 days.".into(),
                source: "faq".into(),
                score: 0.9,
            }])
        })
    }
}

#[tokio::test]
async fn openai_compatible_brain_streams_uses_kb_and_calls_a_site_tool() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let tool_hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/v1/chat/completions",
            post(|State((seen, _)): State<Seen>, axum::Json(body): axum::Json<Value>| async move {
                let first = seen.lock().unwrap().is_empty();
                seen.lock().unwrap().push(body);
                let sse = if first {
                    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"order_status\",\"arguments\":\"{\\\"order_\"}}]}}]}\n\n\
                     data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"id\\\":\\\"12345\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"
                } else {
                    "data: {\"choices\":[{\"delta\":{\"content\":\"Your order \"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"has shipped.\"}}]}\n\ndata: [DONE]\n\n"
                };
                ([("content-type", "text/event-stream")], sse).into_response()
            }),
        )
        .route(
            "/orders/{id}",
            get(|State((_, hits)): State<Seen>, Path(id): Path<String>| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"order": id, "status": "shipped"}))
            }),
        )
        .with_state((seen.clone(), tool_hits.clone()));
    let base = serve(app).await;
    let tools: vaarta_flows::tools::ToolsConfig = serde_json::from_value(json!({
        "connectors": {"order_status": {"url": format!("{base}/orders/{{order_id}}")}},
        "policy": {"allowed_hosts": ["127.0.0.1"], "allowed_ips": ["127.0.0.1/32"], "allow_http": true}
    }))
    .unwrap();
    let s = BrainSettings {
        kind: BrainKind::Openai,
        url: Some(format!("{base}/v1")),
        model: Some("test-model".into()),
        ..settings(String::new())
    };
    let b = OpenAiBrain::new(
        &s,
        Some(Arc::new(Faq)),
        Some(vaarta_orchestrator::tools::ToolExecutor::new(tools)),
    )
    .unwrap();
    assert_eq!(
        collect(&b, "where is order 12345?").await.unwrap(),
        "Your order has shipped."
    );
    assert_eq!(tool_hits.load(Ordering::SeqCst), 1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["model"], "test-model");
    assert_eq!(seen[0]["stream"], true);
    assert!(
        seen[0]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("Orders ship within 2 days."),
        "{}",
        seen[0]
    );
    assert_eq!(seen[0]["tools"][0]["function"]["name"], "order_status");
    let tool_msg = seen[1]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("tool result sent back");
    assert!(
        tool_msg["content"].as_str().unwrap().contains("shipped"),
        "{tool_msg}"
    );
}
