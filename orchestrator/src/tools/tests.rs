//! The executor against a real loopback HTTP server (allowed explicitly) and the guard
//! refusing the same server when it is not.

use super::*;
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vaarta_flows::HostErrorKind;
use vaarta_flows::tools::ToolsConfig;

/// A tiny HTTP/1.1 server on 127.0.0.1 recording request heads and bodies. It lives as long
/// as the test's runtime (aborted when the test ends).
struct TestServer {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn server() -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                let head_end = loop {
                    let n = match sock.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&tmp[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    match sock.read(&mut tmp).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&tmp[..n]),
                    }
                }
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                log.lock().unwrap().push(format!("{head}{body}"));
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, payload): (&str, String) = if path.starts_with("/orders/404") {
                    ("404 Not Found", r#"{"error":"no such order"}"#.into())
                } else if path.starts_with("/orders/") && head.starts_with("GET") {
                    (
                        "200 OK",
                        r#"{"order":{"status":"shipped","eta":"2026-01-08"}}"#.into(),
                    )
                } else if path.starts_with("/orders/") {
                    (
                        "201 Created",
                        format!(r#"{{"reference":"UP1","echo":{body}}}"#),
                    )
                } else if path == "/big" {
                    ("200 OK", format!("\"{}\"", "x".repeat(2 * 1024 * 1024)))
                } else if path == "/slow" {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    ("200 OK", "{}".into())
                } else if path == "/redirect" {
                    let _ = sock
                        .write_all(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/orders/1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                    return;
                } else {
                    ("404 Not Found", "{}".into())
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                    payload.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    TestServer { port, seen }
}

fn config(host: &str, port: u16, allowed_ips: &[&str]) -> ToolsConfig {
    serde_json::from_value(json!({
        "policy": {"allowed_hosts": [host], "allowed_ips": allowed_ips, "allow_http": true},
        "secrets": {"crm_token": "t0ken"},
        "connectors": {
            "order_status": {
                "url": format!("http://{host}:{port}/orders/{{order_id}}"),
                "headers": {"Authorization": "Bearer {secret:crm_token}"},
                "response": {"status": "/order/status", "eta": "/order/eta"},
                "timeout_ms": 2000
            },
            "order_update": {"method": "POST", "url": format!("http://{host}:{port}/orders/{{order_id}}/updates"), "timeout_ms": 2000},
            "big": {"url": format!("http://{host}:{port}/big"), "max_response_bytes": 1024},
            "slow": {"url": format!("http://{host}:{port}/slow"), "timeout_ms": 300},
            "redirect": {"url": format!("http://{host}:{port}/redirect")}
        }
    }))
    .unwrap()
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn calls_an_explicitly_allowed_loopback_server() {
    let s = server().await;
    let ex = ToolExecutor::new(config("127.0.0.1", s.port, &["127.0.0.1/32"]));
    let r = ex
        .call("order_status", &args(json!({"order_id": "12 34"})))
        .await
        .unwrap();
    assert_eq!(r.data, json!({"status": "shipped", "eta": "2026-01-08"}));
    assert!(r.ok && r.status == 200);
    {
        let seen = s.seen.lock().unwrap();
        assert!(
            seen[0].starts_with("GET /orders/12%2034 HTTP/1.1"),
            "{}",
            seen[0]
        );
        assert!(
            seen[0]
                .to_ascii_lowercase()
                .contains("authorization: bearer t0ken"),
            "{}",
            seen[0]
        );
    }

    let r = ex
        .call(
            "order_update",
            &args(json!({"order_id": "1234", "note": "jaldi"})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(r.data["echo"], json!({"order_id": "1234", "note": "jaldi"}));

    let r = ex
        .call("order_status", &args(json!({"order_id": "404"})))
        .await
        .unwrap();
    assert!(!r.ok);
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn loopback_is_denied_unless_explicitly_allowed() {
    let s = server().await;
    let ex = ToolExecutor::new(config("127.0.0.1", s.port, &[]));
    let e = ex
        .call("order_status", &args(json!({"order_id": "1"})))
        .await
        .unwrap_err();
    assert!(e.is_denied(), "{e}");
    assert!(e.to_string().contains("loopback"), "{e}");
    // A host name that resolves to loopback is caught after DNS.
    let ex = ToolExecutor::new(config("localhost", s.port, &[]));
    let e = ex
        .call("order_status", &args(json!({"order_id": "1"})))
        .await
        .unwrap_err();
    assert!(matches!(e, ToolCallError::Denied { .. }), "{e}");
    assert!(
        s.seen.lock().unwrap().is_empty(),
        "no request may reach the server"
    );

    // Through the flow host API the denial is a HostError the runtime turns into ToolDenied.
    let he = ex
        .call_for_flow("order_status", &args(json!({"order_id": "1"})))
        .await
        .unwrap_err();
    assert_eq!(he.kind, HostErrorKind::Denied);
    let he = ex
        .call_for_flow("not_configured", &Map::new())
        .await
        .unwrap_err();
    assert_eq!(he.kind, HostErrorKind::Denied);
}

#[tokio::test]
async fn resolved_host_names_are_pinned_to_checked_addresses() {
    let s = server().await;
    let ex = ToolExecutor::new(config("localhost", s.port, &["127.0.0.0/8", "::1/128"]));
    let r = ex
        .call("order_status", &args(json!({"order_id": "9"})))
        .await
        .unwrap();
    assert!(r.ok, "{r:?}");
    assert!(
        s.seen.lock().unwrap()[0]
            .to_ascii_lowercase()
            .contains(&format!("host: localhost:{}", s.port))
    );
}

#[tokio::test]
async fn timeouts_size_caps_and_redirects() {
    let s = server().await;
    let ex = ToolExecutor::new(config("127.0.0.1", s.port, &["127.0.0.1"]));
    let t = Instant::now();
    let e = ex.call("slow", &Map::new()).await.unwrap_err();
    assert!(matches!(e, ToolCallError::Timeout { .. }), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // The flow sees a failed response it can handle.
    let r = ex.call_for_flow("slow", &Map::new()).await.unwrap();
    assert!(!r.ok && r.status == 0 && r.error.unwrap().contains("no answer"));

    let e = ex.call("big", &Map::new()).await.unwrap_err();
    assert!(
        matches!(e, ToolCallError::TooLarge { limit: 1024, .. }),
        "{e}"
    );

    // Redirects are not followed (they could lead anywhere).
    let r = ex.call("redirect", &Map::new()).await.unwrap();
    assert_eq!(r.status, 302);
    assert!(!r.ok);
}

#[tokio::test]
async fn connection_refused_is_a_typed_http_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let ex = ToolExecutor::new(config("127.0.0.1", port, &["127.0.0.1"]));
    let e = ex
        .call("order_status", &args(json!({"order_id": "1"})))
        .await
        .unwrap_err();
    assert!(matches!(e, ToolCallError::Http { .. }), "{e}");
}
