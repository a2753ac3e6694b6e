//! Concurrent calls as callers live them: the real `vaarta serve` (embedded default: SQLite,
//! KB-only brain over an FAQ, the shipped `assistant` flow), three pjsua2 softphones dialling at
//! once and asking their questions at staggered moments, each recording what it hears; the
//! recordings are judged by an independent STT (faster-whisper on the same model files) in
//! `bench/conversation/harness.py`, which `bench/conversation/run.sh` runs for 1, 5 and 10 calls.

mod sip_support;

use std::process::Command;

use serde_json::{Value, json};
use sip_support::*;

const NUMBER: &str = "+911140000000";

/// A site on the embedded defaults: English, KB-only brain over the bench's FAQ (the answers to
/// the harness's questions), the shipped flow.
fn site(server: &Server) -> (String, String) {
    let (st, site) = http(
        server.http,
        "POST",
        "/v1/sites",
        Some(ADMIN),
        Some(&json!({"name": "Shop", "settings": {"languages": ["en-IN"]}})),
    );
    assert_eq!(st, 201, "{site}");
    let id = site["site_id"].as_str().unwrap().to_string();
    let (st, key) = http(
        server.http,
        "POST",
        &format!("/v1/sites/{id}/keys"),
        Some(ADMIN),
        Some(&json!({"label": "e2e"})),
    );
    assert_eq!(st, 201, "{key}");
    let key = key["secret"].as_str().unwrap().to_string();
    let faq = std::fs::read_to_string(repo().join("bench/conversation/faq.csv")).unwrap();
    let doc = json!({"title": "FAQ", "type": "faq_csv", "content": faq});
    let (st, b) = http(
        server.http,
        "POST",
        &format!("/v1/sites/{id}/kb/documents"),
        Some(&key),
        Some(&doc),
    );
    assert_eq!(st, 201, "{b}");
    let (st, b) = http(
        server.http,
        "PUT",
        &format!("/v1/sites/{id}/routes"),
        Some(&key),
        Some(&json!({"channel": "sip", "number": NUMBER, "flow": "assistant"})),
    );
    assert_eq!(st, 200, "{b}");
    (id, key)
}

/// Runs the caller harness with `calls` softphones; its JSON report.
fn harness(server: &Server, calls: usize, out: &std::path::Path) -> Value {
    let uri = format!("sip:{NUMBER}@127.0.0.1:{}", server.sip);
    let py = repo().join(".venv/bin/python");
    let run = Command::new(&py)
        .arg(repo().join("bench/conversation/harness.py"))
        .args(["--uri", &uri, "--calls", &calls.to_string(), "--out"])
        .arg(out)
        .arg("--model")
        .arg(models().join("whisper/tiny.en"))
        .output()
        .expect("the caller harness (.venv from scripts/setup --test)");
    assert!(
        run.status.success(),
        "harness failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "harness output ({e}): {}",
            String::from_utf8_lossy(&run.stdout)
        )
    })
}

#[test]
fn three_concurrent_callers_are_all_answered_and_never_left_in_silence() {
    let server = Server::start();
    let (_site, key) = site(&server);
    let dir = tempfile::tempdir().unwrap();
    let report = harness(&server, 3, dir.path());
    let s = &report["summary"];
    let calls = &report["calls"];
    let log = server.log();
    assert_eq!(s["connected"], 3, "{report:#}\n{log}");
    assert_eq!(
        s["silent_ends"], 0,
        "a caller heard nothing after the question: {report:#}\n{log}"
    );
    assert_eq!(s["correct"], 3, "every answer heard: {report:#}");
    let longest = s["longest_silence_ms"].as_u64().unwrap();
    assert!(
        longest <= 2500,
        "longest silence after a question {longest} ms: {report:#}"
    );

    // The stored latency is what the caller heard: from the end of their speech.
    let (st, list) = http(server.http, "GET", "/v1/calls", Some(&key), None);
    assert_eq!(st, 200, "{list}");
    let mut heard = Vec::new();
    for call in list.as_array().unwrap() {
        let (_, detail) = http(
            server.http,
            "GET",
            &format!("/v1/calls/{}", call["id"].as_str().unwrap()),
            Some(&key),
            None,
        );
        let answer = detail["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["speaker"] == "bot" && !t["latency"].is_null())
            .cloned();
        let answer = answer.unwrap_or_else(|| panic!("an answer turn with latency: {detail:#}"));
        let l = &answer["latency"];
        assert_eq!(l["heard_ms"], l["first_packet_ms"], "{l}");
        assert!(
            l["turn_decision_ms"].as_u64().unwrap() >= 300,
            "the VAD's own silence is inside: {l}"
        );
        heard.push(l["heard_ms"].as_u64().unwrap());
    }
    assert_eq!(heard.len(), 3, "{list:#}");
    // Open (issue 18): the stored figure is still earlier than what a caller's recording shows
    // (CI run: stored 1096 ms, callers' first audio 1500-1880 ms; the jitter buffer, the pacer's
    // lead and the VAD's end estimate are in the gap), so it is reported, not asserted.
    let first: Vec<u64> = calls
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["first_audio_ms"].as_u64())
        .collect();
    eprintln!(
        "stored heard_ms {heard:?}; callers' first agent audio after the question {first:?} ms"
    );
    assert_eq!(first.len(), 3, "every caller heard the agent: {report:#}");
}
