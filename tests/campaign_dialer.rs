//! The campaign dialer end to end, with a crash: the `vaarta` binary dials a 50-lead campaign
//! through a SIP trunk whose far end is a real pjsua2 peer that answers, busies or ignores each
//! call by the number's last digit. Mid-campaign the service is killed (SIGKILL) and started
//! again on the same database. Every lead must end with an outcome that matches what the peer
//! did, and the peer's own log of INVITEs shows no number was dialled twice.

mod sip_support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sip_support::*;

const LEADS: usize = 50;

fn lead_number(i: usize) -> String {
    format!("+9198000000{i:02}")
}

fn expected(number: &str) -> &'static str {
    match number.chars().last().unwrap() {
        '0'..='5' => "completed",
        '6' | '7' => "busy",
        _ => "no_answer",
    }
}

fn leads(server: &Server, key: &str, path: &str) -> Vec<Value> {
    let (st, body) = http(
        server.http,
        "GET",
        &format!("{path}?limit=1000"),
        Some(key),
        None,
    );
    assert_eq!(st, 200, "{body}");
    body.as_array().unwrap().clone()
}

#[test]
fn a_killed_dialer_restarts_and_every_lead_ends_once() {
    // The far end: one pjsua2 process on a fixed port, replaced by a fresh one when the service
    // is killed (the old one would hold the dead service's calls until its SIP timers expire).
    let port = free_udp();
    let far_end = |port: u16| {
        Peer::spawn(&[
            "listen",
            "--by-number",
            "--port",
            &port.to_string(),
            "--calls",
            "1000",
            "--timeout",
            "400",
        ])
    };
    let mut peer = far_end(port);
    peer.wait_for(10, |v| v["ev"] == "ready");
    let trunk = format!(
        "ring_timeout_secs = 4\n[telephony.trunk]\ndomain = \"127.0.0.1:{port}\"\nusername = \"vaarta\"\npassword = \"unused\"\nregister = false\n\
         [jobs]\npoll_interval_ms = 200\ndialer_tick_ms = 250\n"
    );
    let mut server = Server::start_with(&trunk);

    let (st, site) = http(
        server.http,
        "POST",
        "/v1/sites",
        Some(ADMIN),
        Some(&json!({"name": "Dialer", "settings": {"languages": ["en-IN"]}})),
    );
    assert_eq!(st, 201, "{site}");
    let site = site["site_id"].as_str().unwrap().to_string();
    let (_, key) = http(
        server.http,
        "POST",
        &format!("/v1/sites/{site}/keys"),
        Some(ADMIN),
        Some(&json!({"label": "t"})),
    );
    let key = key["secret"].as_str().unwrap().to_string();
    let flow = "say(\"Hello \" + get(\"name\", \"there\") + \", this is a test call.\");\nhangup(\"done\");\n";
    assert_eq!(
        http(
            server.http,
            "PUT",
            &format!("/v1/sites/{site}/flows/hello"),
            Some(&key),
            Some(&json!({"source": flow}))
        )
        .0,
        201
    );
    assert_eq!(
        http(
            server.http,
            "POST",
            &format!("/v1/sites/{site}/flows/hello/activate"),
            Some(&key),
            Some(&json!({}))
        )
        .0,
        200
    );
    let spec = json!({
        "name": "Crash test", "flow": "hello", "telemarketing": false,
        "calling_hours": {"days": [], "start": "00:00", "end": "23:59"},
        "max_concurrent": 4, "calls_per_minute": 600,
        "retry": {"max_attempts": 1}
    });
    let (st, c) = http(
        server.http,
        "POST",
        &format!("/v1/sites/{site}/campaigns"),
        Some(&key),
        Some(&spec),
    );
    assert_eq!(st, 201, "{c}");
    let campaign = format!("/v1/sites/{site}/campaigns/{}", c["id"].as_str().unwrap());

    // Leads through the CSV upload (raw body).
    let mut csv = String::from("name,phone\n");
    for i in 0..LEADS {
        csv.push_str(&format!("Lead {i},{}\n", lead_number(i)));
    }
    let up = upload(&server, &key, &format!("{campaign}/leads"), &csv);
    assert_eq!(up["added"].as_u64(), Some(LEADS as u64), "{up}");

    let (st, b) = http(
        server.http,
        "POST",
        &format!("{campaign}/start"),
        Some(&key),
        None,
    );
    assert_eq!((st, b["status"].as_str()), (200, Some("running")), "{b}");
    let (st, b) = http(
        server.http,
        "POST",
        &format!("{campaign}/start"),
        Some(&key),
        None,
    );
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (409, Some("invalid_transition")),
        "{b}"
    );

    // Kill it once a third of the leads are finished, with calls in flight.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = leads(&server, &key, &format!("{campaign}/leads"))
            .iter()
            .filter(|l| l["status"] == "done")
            .count();
        if done >= LEADS / 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dialer is stuck at {done} leads: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    server.kill();
    let mut seen = drain(peer);
    let mut peer = far_end(port);
    peer.wait_for(10, |v| v["ev"] == "ready");
    server.restart();

    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        let (_, c) = http(server.http, "GET", &campaign, Some(&key), None);
        if c["status"] == "completed" {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "campaign not completed: {c}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(
        status["progress"],
        json!({"total": LEADS, "pending": 0, "dialing": 0, "done": LEADS, "skipped": 0}),
        "{status}"
    );

    // The peer's log is the evidence: no number got two INVITEs.
    std::thread::sleep(Duration::from_millis(500));
    seen.extend(drain(peer));
    let mut invites: HashMap<String, usize> = HashMap::new();
    for v in seen.iter().filter(|v| v["ev"] == "incoming") {
        *invites
            .entry(v["to"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = invites.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "dialled more than once: {twice:?}");

    let all = leads(&server, &key, &format!("{campaign}/leads"));
    let mut interrupted = 0;
    for l in &all {
        let (number, outcome) = (
            l["phone"].as_str().unwrap(),
            l["last_outcome"].as_str().unwrap_or("none"),
        );
        assert_eq!(l["attempts"], 1, "{l}");
        if outcome == "interrupted" {
            interrupted += 1;
            continue;
        }
        assert_eq!(outcome, expected(number), "{l}");
        assert!(
            invites.contains_key(number),
            "{number} has an outcome from a call the peer never saw: {l}"
        );
        if outcome == "completed" {
            assert!(l["result"]["call_id"].is_string(), "{l}");
        }
    }
    assert!(
        interrupted <= 4,
        "only calls in flight at the kill may be cut: {interrupted}"
    );
    eprintln!(
        "{} leads: {} INVITEs seen by the peer, {interrupted} interrupted by the kill",
        all.len(),
        invites.len()
    );
}

/// Stops a peer and returns every event it printed.
fn drain(mut peer: Peer) -> Vec<Value> {
    let _ = peer.child.kill();
    let _ = peer.child.wait();
    let mut seen = std::mem::take(&mut peer.seen);
    while let Ok(v) = peer.lines.recv_timeout(Duration::from_millis(200)) {
        seen.push(v);
    }
    seen
}

fn upload(server: &Server, key: &str, path: &str, csv: &str) -> Value {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(server.http).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{csv}",
        csv.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    serde_json::from_str(raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or(""))
        .unwrap_or(Value::Null)
}
