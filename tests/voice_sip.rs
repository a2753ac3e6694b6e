//! End to end over SIP with a real peer (pjsua2 from PyPI): the `vaarta` binary serves a site
//! whose number routes to a flow that asks the caller's question to the site's brain (an HTTP
//! server speaking docs/brain-contract.md). The peer calls in and speaks (espeak-ng), records what
//! it hears; the recording is transcribed back. Slow brain → holding message first; brain down →
//! the caller is transferred to the human target by REFER.

mod sip_support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sip_support::*;

const NUMBER: &str = "+911140000000";

impl Server {
    /// A site with `brain_url`, a flow that asks and answers through the brain, its number routed.
    fn site(&self, brain_url: &str, agent: &str) -> (String, String) {
        let settings = json!({
            "languages": ["en-IN"],
            "voice": {"record_calls": true},
            "transfer_targets": [{"name": "support", "destination": agent}],
            "brain": {"kind": "http", "url": brain_url, "api_key": "brain-key", "first_token_timeout_ms": 6000, "total_timeout_ms": 10000}
        });
        let (st, site) = http(
            self.http,
            "POST",
            "/v1/sites",
            Some(ADMIN),
            Some(&json!({"name": "Shop", "settings": settings})),
        );
        assert_eq!(st, 201, "{site}");
        let id = site["site_id"].as_str().unwrap().to_string();
        let (st, key) = http(
            self.http,
            "POST",
            &format!("/v1/sites/{id}/keys"),
            Some(ADMIN),
            Some(&json!({"label": "e2e"})),
        );
        assert_eq!(st, 201, "{key}");
        let key = key["secret"].as_str().unwrap().to_string();
        let flow = "let r = ask(\"Hello, this is the shop. How can I help you?\", #{ timeout_ms: 12000 });\nbrain(r.text);\nhangup(\"answered\");\n";
        let (st, b) = http(
            self.http,
            "PUT",
            &format!("/v1/sites/{id}/flows/shop"),
            Some(&key),
            Some(&json!({"source": flow})),
        );
        assert_eq!(st, 201, "{b}");
        let (st, b) = http(
            self.http,
            "POST",
            &format!("/v1/sites/{id}/flows/shop/activate"),
            Some(&key),
            Some(&json!({})),
        );
        assert_eq!(st, 200, "{b}");
        let (st, b) = http(
            self.http,
            "PUT",
            &format!("/v1/sites/{id}/routes"),
            Some(&key),
            Some(&json!({"channel": "sip", "number": NUMBER, "flow": "shop"})),
        );
        assert_eq!(st, 200, "{b}");
        (id, key)
    }
}

/// The brain: answers after `delay_ms`, or fails with 500 when `answer` is None.
fn brain(
    rt: &tokio::runtime::Runtime,
    delay_ms: u64,
    answer: Option<&'static str>,
) -> (String, Arc<AtomicUsize>) {
    use axum::{Json, Router, routing::post};
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/answer",
        post(move |Json(req): Json<Value>| {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                assert_eq!(req["channel"], "call");
                assert_eq!(req["api_key"], "brain-key");
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                match answer {
                    Some(a) => Ok(Json(json!({"answer": a}))),
                    None => Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                }
            }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/answer"), hits)
}

fn transcribe(wav: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vaarta"))
        .env("VAARTA_MODELS_DIR", models())
        .arg("transcribe")
        .arg(wav)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_lowercase()
}

#[test]
fn sip_caller_hears_holding_then_the_brains_answer_and_the_call_is_stored() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (brain_url, hits) = brain(
        &rt,
        3000,
        Some("Your order was shipped yesterday and arrives on Monday."),
    );
    let server = Server::start();
    let (_site, key) = server.site(&brain_url, "sip:agent@127.0.0.1:9");
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav(dir.path(), "Where is my order?", 5.0, 20.0);
    let rec = dir.path().join("heard.wav");
    let uri = format!("sip:{NUMBER}@127.0.0.1:{}", server.sip);
    let mut peer = Peer::spawn(&[
        "call",
        &uri,
        "--play",
        wav.to_str().unwrap(),
        "--record",
        rec.to_str().unwrap(),
        "--timeout",
        "60",
    ]);
    peer.wait_for(30, |v| v["ev"] == "media" && v["status"] == "active");
    // Vaarta hangs up after the answer.
    peer.wait_for(60, |v| v["ev"] == "exit");
    let _ = peer.child.wait();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "brain asked once");

    let heard = transcribe(&rec);
    let greeting = heard
        .find("how can i help")
        .unwrap_or_else(|| panic!("greeting heard: {heard}"));
    let holding = heard
        .find("line")
        .or_else(|| heard.find("checking"))
        .unwrap_or_else(|| panic!("holding message heard: {heard}"));
    let answer = heard
        .find("ship")
        .unwrap_or_else(|| panic!("answer heard: {heard}\n{}", server.log()));
    assert!(
        greeting < holding && holding < answer,
        "order greeting < holding < answer: {heard}"
    );

    // The call, its transcript and latencies are stored.
    let (st, calls) = http(server.http, "GET", "/v1/calls", Some(&key), None);
    assert_eq!(st, 200, "{calls}");
    let call = &calls[0];
    assert_eq!(call["channel"], "sip");
    assert_eq!(call["outcome"], "completed", "{calls}");
    let (st, detail) = http(
        server.http,
        "GET",
        &format!("/v1/calls/{}", call["id"].as_str().unwrap()),
        Some(&key),
        None,
    );
    assert_eq!(st, 200);
    let turns = detail["transcript"].as_array().unwrap();
    let caller = turns
        .iter()
        .find(|t| t["speaker"] == "caller")
        .expect("caller turn");
    assert!(
        caller["text"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("order"),
        "{detail}"
    );
    let answer_turn = turns
        .iter()
        .find(|t| t["speaker"] == "bot" && t["text"].as_str().unwrap().contains("shipped"))
        .expect("answer turn");
    let l = &answer_turn["latency"];
    assert!(
        l["stt_final_ms"].as_u64().is_some() && l["brain_first_token_ms"].as_u64().unwrap() >= 3000,
        "{l}"
    );
    assert!(
        l["first_packet_ms"].as_u64().unwrap() >= l["brain_first_token_ms"].as_u64().unwrap(),
        "{l}"
    );
    assert!(
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "holding"),
        "{detail}"
    );

    // The site records calls: a stereo WAV, caller left, bot right, each side what was said.
    let id = call["id"].as_str().unwrap();
    assert_eq!(
        detail["recording_url"],
        format!("/v1/calls/{id}/recording"),
        "{detail}"
    );
    assert_eq!(
        http(
            server.http,
            "GET",
            &format!("/v1/calls/{id}/recording"),
            Some(&key),
            None
        )
        .0,
        200
    );
    let recording = server.dir.path().join(format!("recordings/{id}.wav"));
    let mut r = hound::WavReader::open(&recording).unwrap();
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 8000));
    let both: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    for (channel, name, words) in [(0usize, "caller", "order"), (1, "bot", "ship")] {
        let path = dir.path().join(format!("{name}.wav"));
        let mut w = hound::WavWriter::create(
            &path,
            hound::WavSpec {
                channels: 1,
                ..spec
            },
        )
        .unwrap();
        for s in both.iter().skip(channel).step_by(2) {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
        let said = transcribe(&path);
        assert!(
            said.contains(words),
            "the {name} side of the recording: {said}"
        );
    }
}

#[test]
fn brain_down_refers_the_caller_to_the_human_target() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (brain_url, _) = brain(&rt, 0, None);
    let mut agent = Peer::spawn(&["listen", "--timeout", "60"]);
    let agent_port = agent.wait_for(10, |v| v["ev"] == "ready")["port"]
        .as_u64()
        .unwrap();
    let server = Server::start();
    let (_site, key) = server.site(&brain_url, &format!("sip:agent@127.0.0.1:{agent_port}"));
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav(dir.path(), "What is the price of the blue sofa?", 5.0, 20.0);
    let uri = format!("sip:{NUMBER}@127.0.0.1:{}", server.sip);
    let mut peer = Peer::spawn(&[
        "call",
        &uri,
        "--play",
        wav.to_str().unwrap(),
        "--timeout",
        "60",
    ]);
    let refer = peer.wait_for(45, |v| v["ev"] == "transfer_request");
    assert!(
        refer["target"]
            .as_str()
            .unwrap()
            .contains(&format!("agent@127.0.0.1:{agent_port}")),
        "{refer}"
    );
    agent.wait_for(20, |v| v["ev"] == "incoming");
    peer.wait_for(30, |v| v["ev"] == "exit");
    std::thread::sleep(Duration::from_millis(500));
    let (_, calls) = http(server.http, "GET", "/v1/calls", Some(&key), None);
    assert_eq!(
        calls[0]["outcome"],
        "transferred",
        "{calls}\n{}",
        server.log()
    );
    let (_, detail) = http(
        server.http,
        "GET",
        &format!("/v1/calls/{}", calls[0]["id"].as_str().unwrap()),
        Some(&key),
        None,
    );
    assert!(
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "failure"),
        "{detail}"
    );
}

#[test]
fn a_refused_refer_falls_back_to_bridging_the_caller_to_the_agent() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (brain_url, _) = brain(&rt, 0, None);
    let dir = tempfile::tempdir().unwrap();
    let agent_wav = speech_wav(
        dir.path(),
        "Hello, this is Priya from the support team.",
        1.0,
        10.0,
    );
    let agent_play = dir.path().join("agent.wav");
    std::fs::rename(&agent_wav, &agent_play).unwrap();
    let agent_rec = dir.path().join("agent-heard.wav");
    let mut agent = Peer::spawn(&[
        "listen",
        "--play",
        agent_play.to_str().unwrap(),
        "--record",
        agent_rec.to_str().unwrap(),
        "--timeout",
        "90",
    ]);
    let agent_port = agent.wait_for(10, |v| v["ev"] == "ready")["port"]
        .as_u64()
        .unwrap();
    let server = Server::start();
    let (_site, key) = server.site(&brain_url, &format!("sip:agent@127.0.0.1:{agent_port}"));
    // The caller asks (the brain is down: transfer), refuses the REFER, then talks to the agent.
    let caller_wav = speech_wav(dir.path(), "What is the price of the blue sofa?", 5.0, 4.0);
    let caller_play = dir.path().join("caller.wav");
    std::fs::rename(&caller_wav, &caller_play).unwrap();
    let later = speech_wav(dir.path(), "Where is my order?", 0.0, 0.5);
    let mut samples: Vec<i16> = hound::WavReader::open(&caller_play)
        .unwrap()
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect();
    let spec = hound::WavReader::open(&caller_play).unwrap().spec();
    // The second sentence comes 16 s in, once the bridge is up.
    samples.resize((16.0 * spec.sample_rate as f32) as usize, 0);
    samples.extend(
        hound::WavReader::open(&later)
            .unwrap()
            .samples::<i16>()
            .map(|s| s.unwrap()),
    );
    samples.extend(std::iter::repeat_n(
        0i16,
        (4.0 * spec.sample_rate as f32) as usize,
    ));
    let mut w = hound::WavWriter::create(&caller_play, spec).unwrap();
    for s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    let caller_rec = dir.path().join("caller-heard.wav");
    let uri = format!("sip:{NUMBER}@127.0.0.1:{}", server.sip);
    let mut peer = Peer::spawn(&[
        "call",
        &uri,
        "--play",
        caller_play.to_str().unwrap(),
        "--record",
        caller_rec.to_str().unwrap(),
        "--refuse-transfer",
        "--hangup-after",
        "24",
        "--timeout",
        "60",
    ]);
    peer.wait_for(45, |v| v["ev"] == "transfer_request");
    agent.wait_for(30, |v| v["ev"] == "incoming");
    peer.wait_for(60, |v| v["ev"] == "exit");
    let _ = peer.child.wait();
    // The caller's hang-up ended the agent's leg too.
    agent.wait_for(20, |v| v["ev"] == "exit");
    let _ = agent.child.wait();
    let caller_heard = transcribe(&caller_rec);
    assert!(
        caller_heard.contains("priya") || caller_heard.contains("support team"),
        "the caller heard the agent: {caller_heard}"
    );
    let agent_heard = transcribe(&agent_rec);
    assert!(
        agent_heard.contains("order"),
        "the agent heard the caller: {agent_heard}"
    );
    let (_, calls) = http(server.http, "GET", "/v1/calls", Some(&key), None);
    assert_eq!(
        calls[0]["outcome"],
        "transferred",
        "{calls}\n{}",
        server.log()
    );
    assert!(
        server.log().contains("REFER refused: bridging"),
        "{}",
        server.log()
    );
}

/// RMS per 20 ms of a WAV (any rate).
fn energy(wav: &Path) -> (Vec<f64>, u32) {
    let mut r = hound::WavReader::open(wav).unwrap();
    let rate = r.spec().sample_rate;
    let s: Vec<i16> = r.samples::<i16>().map(|x| x.unwrap()).collect();
    let n = (rate / 50) as usize;
    (
        s.chunks(n)
            .map(|c| (c.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / c.len() as f64).sqrt())
            .collect(),
        rate,
    )
}

#[test]
fn caller_talking_over_the_bot_stops_it_and_is_answered() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (brain_url, _) = brain(&rt, 0, Some("unused"));
    let server = Server::start();
    let (site, key) = server.site(&brain_url, "sip:agent@127.0.0.1:9");
    let flow = "say(\"Thank you for calling. Our store sells furniture, kitchen appliances, lights, carpets and curtains. \
                We deliver across the city within three days, and installation is free for every order above five thousand rupees.\");\n\
                let r = listen(8000);\nsay(if r.interrupted { \"You interrupted me.\" } else { \"You waited.\" });\nhangup(\"done\");\n";
    let (st, b) = http(
        server.http,
        "PUT",
        &format!("/v1/sites/{site}/flows/long"),
        Some(&key),
        Some(&json!({"source": flow})),
    );
    assert_eq!(st, 201, "{b}");
    assert_eq!(
        http(
            server.http,
            "POST",
            &format!("/v1/sites/{site}/flows/long/activate"),
            Some(&key),
            Some(&json!({}))
        )
        .0,
        200
    );
    assert_eq!(
        http(
            server.http,
            "PUT",
            &format!("/v1/sites/{site}/routes"),
            Some(&key),
            Some(&json!({"channel": "sip", "number": NUMBER, "flow": "long"}))
        )
        .0,
        200
    );
    let dir = tempfile::tempdir().unwrap();
    let speak_at: f32 = 5.0;
    let wav = speech_wav(dir.path(), "Wait, do you sell beds?", speak_at, 15.0);
    let rec = dir.path().join("heard.wav");
    let uri = format!("sip:{NUMBER}@127.0.0.1:{}", server.sip);
    let mut peer = Peer::spawn(&[
        "call",
        &uri,
        "--play",
        wav.to_str().unwrap(),
        "--record",
        rec.to_str().unwrap(),
        "--timeout",
        "60",
    ]);
    peer.wait_for(60, |v| v["ev"] == "exit");
    let _ = peer.child.wait();

    let (e, _) = energy(&rec);
    let frame = |s: f32| (s * 50.0) as usize;
    // The bot was talking before the caller spoke...
    let before = &e[frame(3.0)..frame(speak_at)];
    assert!(
        before.iter().filter(|&&x| x > 300.0).count() > before.len() / 4,
        "bot audio before: {before:?}"
    );
    // ...and went quiet within the VAD's decision time (250 ms of speech) plus a little.
    let after = &e[frame(speak_at + 0.6)..frame(speak_at + 1.8)];
    assert!(
        after.iter().all(|&x| x < 100.0),
        "bot audio after the caller spoke: {after:?}"
    );
    let heard = transcribe(&rec);
    assert!(
        heard.contains("interrupted"),
        "the flow saw the interruption: {heard}"
    );
    assert!(
        !heard.contains("five thousand"),
        "the rest of the long answer was not played: {heard}"
    );
}

/// GET one call until `pred` holds (or panic after `secs`).
fn wait_call(
    server: &Server,
    key: &str,
    id: &str,
    secs: u64,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (st, detail) = http(
            server.http,
            "GET",
            &format!("/v1/calls/{id}"),
            Some(key),
            None,
        );
        assert_eq!(st, 200, "{detail}");
        if pred(&detail) {
            return detail;
        }
        assert!(
            Instant::now() < deadline,
            "call never got there: {detail}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn outbound_call_from_the_api_runs_its_flow_and_refusals_are_clear() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (brain_url, _) = brain(&rt, 0, Some("unused"));
    let server = Server::start();
    let (site, key) = server.site(&brain_url, "sip:agent@127.0.0.1:9");
    let flow = "say(\"Hello, this is the shop calling about your \" + get(\"item\") + \".\");\nhangup(\"done\");\n";
    let (st, b) = http(
        server.http,
        "PUT",
        &format!("/v1/sites/{site}/flows/reminder"),
        Some(&key),
        Some(&json!({"source": flow})),
    );
    assert_eq!(st, 201, "{b}");
    let (st, b) = http(
        server.http,
        "POST",
        &format!("/v1/sites/{site}/flows/reminder/activate"),
        Some(&key),
        Some(&json!({})),
    );
    assert_eq!(st, 200, "{b}");
    let place = |body: Value| http(server.http, "POST", "/v1/calls", Some(&key), Some(&body));

    // Refusals name the problem and ring nobody.
    let (st, b) = place(json!({"to": "not a number", "flow": "reminder"}));
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (422, Some("invalid_number")),
        "{b}"
    );
    let (st, b) = place(json!({"to": "sip:peer@127.0.0.1:9", "flow": "no_such_flow"}));
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (422, Some("unknown_flow")),
        "{b}"
    );
    let (st, b) = place(json!({"to": "sip:peer@127.0.0.1:9"}));
    assert!(
        (400..500).contains(&st) && b["error"]["message"].as_str().unwrap().contains("flow"),
        "{st} {b}"
    );
    let (st, b) = http(
        server.http,
        "POST",
        "/v1/calls",
        Some(ADMIN),
        Some(&json!({"to": "sip:peer@127.0.0.1:9", "flow": "reminder"})),
    );
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (422, Some("validation_failed")),
        "admin must name the site: {b}"
    );
    let (st, b) = http(
        server.http,
        "POST",
        &format!("/v1/sites/{site}/dnd"),
        Some(&key),
        Some(&json!({"numbers": ["98123 45678", "junk"], "reason": "asked"})),
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(
        (b["added"].as_u64(), b["rejected"][0]["index"].as_u64()),
        (Some(1), Some(1)),
        "{b}"
    );
    let (st, b) = place(json!({"to": "+919812345678", "flow": "reminder"}));
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (409, Some("do_not_call")),
        "{b}"
    );
    let (st, b) = place(json!({"to": "+919812345679", "flow": "reminder"}));
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (422, Some("no_trunk")),
        "numbers need a trunk: {b}"
    );
    let (_, calls) = http(server.http, "GET", "/v1/calls", Some(&key), None);
    assert_eq!(
        calls.as_array().unwrap().len(),
        0,
        "refused calls are not calls: {calls}"
    );

    // Answered: the flow runs with the call's variables and Vaarta hangs up.
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("callee.wav");
    let mut callee = Peer::spawn(&[
        "listen",
        "--record",
        rec.to_str().unwrap(),
        "--timeout",
        "60",
    ]);
    let port = callee.wait_for(10, |v| v["ev"] == "ready")["port"]
        .as_u64()
        .unwrap();
    let (st, call) = place(
        json!({"to": format!("sip:peer@127.0.0.1:{port}"), "flow": "reminder", "variables": {"item": "blue sofa"}}),
    );
    assert_eq!(st, 201, "{call}");
    assert_eq!(
        (call["direction"].as_str(), call["state"].as_str()),
        (Some("outbound"), Some("ringing")),
        "{call}"
    );
    let id = call["id"].as_str().unwrap().to_string();
    callee.wait_for(20, |v| v["ev"] == "incoming");
    callee.wait_for(60, |v| v["ev"] == "exit");
    let _ = callee.child.wait();
    let detail = wait_call(&server, &key, &id, 10, |d| d["outcome"].is_string());
    assert_eq!(detail["outcome"], "completed", "{detail}");
    assert!(detail["answered_at"].is_string(), "{detail}");
    let said = detail["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["speaker"] == "bot" && t["text"].as_str().unwrap().contains("blue sofa"));
    assert!(said, "{detail}");
    let heard = transcribe(&rec);
    assert!(heard.contains("sofa"), "the callee heard: {heard}");

    // Busy: the attempt ends with its outcome, no flow runs.
    let mut busy = Peer::spawn(&["listen", "--busy", "--timeout", "30"]);
    let port = busy.wait_for(10, |v| v["ev"] == "ready")["port"]
        .as_u64()
        .unwrap();
    let (st, call) = place(
        json!({"to": format!("sip:peer@127.0.0.1:{port}"), "flow": "reminder", "variables": {"item": "lamp"}}),
    );
    assert_eq!(st, 201, "{call}");
    let detail = wait_call(&server, &key, call["id"].as_str().unwrap(), 20, |d| {
        d["outcome"].is_string()
    });
    assert_eq!(detail["outcome"], "busy", "{detail}");
    assert!(
        detail["transcript"].as_array().unwrap().is_empty(),
        "{detail}"
    );

    // Ringing: the API hangs it up (CANCEL to the callee).
    let mut ringing = Peer::spawn(&["listen", "--ring", "--timeout", "30"]);
    let port = ringing.wait_for(10, |v| v["ev"] == "ready")["port"]
        .as_u64()
        .unwrap();
    let (st, call) = place(
        json!({"to": format!("sip:peer@127.0.0.1:{port}"), "flow": "reminder", "variables": {"item": "lamp"}}),
    );
    assert_eq!(st, 201, "{call}");
    let id = call["id"].as_str().unwrap();
    ringing.wait_for(20, |v| v["ev"] == "incoming");
    let (st, b) = http(
        server.http,
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        Some(&key),
        Some(&json!({"reason": "agent cancelled"})),
    );
    assert_eq!(st, 202, "{b}");
    ringing.wait_for(20, |v| v["ev"] == "state" && v["state"] == "DISCONNECTED");
    let detail = wait_call(&server, &key, id, 10, |d| d["outcome"].is_string());
    assert_eq!(
        (detail["outcome"].as_str(), detail["end_reason"].as_str()),
        (Some("hung_up_by_api"), Some("agent cancelled")),
        "{detail}"
    );
}
