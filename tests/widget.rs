//! The website voice widget end to end: the real `vaarta` binary, Debian's chromium driven by
//! playwright-core with a fake microphone playing an espeak-ng question, the demo page and
//! `/widget.js`. The visitor's words must come back as a transcript, the bot's answer as text
//! and as audible PCM played by the page, and the call must be stored with `channel = widget`.
//! Refusals (wrong key, wrong Origin, another site's key) and garbage frames are checked with a
//! plain WebSocket client. Screenshots of every state land in `test-artifacts/widget/`.

mod sip_support;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sip_support::*;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

const FLOW: &str = "let r = ask(\"Hello, this is the shop. How can I help you?\", #{ timeout_ms: 20000 });\n\
    if r.text.to_lower().contains(\"order\") { say(\"Your order has shipped and will arrive tomorrow.\"); }\n\
    else { say(\"Sorry, I can only help with orders.\"); }\nhangup(\"answered\");\n";

/// A site whose widget runs [`FLOW`]; returns (site id, API key, widget key).
fn site(server: &Server, name: &str, origins: &[&str]) -> (String, String, String) {
    let (st, site) = http(
        server.http,
        "POST",
        "/v1/sites",
        Some(ADMIN),
        Some(
            &json!({"name": name, "settings": {"languages": ["en-IN"], "widget_origins": origins}}),
        ),
    );
    assert_eq!(st, 201, "{site}");
    let id = site["site_id"].as_str().unwrap().to_string();
    let (st, key) = http(
        server.http,
        "POST",
        &format!("/v1/sites/{id}/keys"),
        Some(ADMIN),
        Some(&json!({"label": "widget-e2e"})),
    );
    assert_eq!(st, 201, "{key}");
    let key = key["secret"].as_str().unwrap().to_string();
    let (st, b) = http(
        server.http,
        "PUT",
        &format!("/v1/sites/{id}/flows/web"),
        Some(&key),
        Some(&json!({"source": FLOW})),
    );
    assert_eq!(st, 201, "{b}");
    assert_eq!(
        http(
            server.http,
            "POST",
            &format!("/v1/sites/{id}/flows/web/activate"),
            Some(&key),
            Some(&json!({}))
        )
        .0,
        200
    );
    let (st, b) = http(
        server.http,
        "PUT",
        &format!("/v1/sites/{id}/routes"),
        Some(&key),
        Some(&json!({"channel": "widget", "flow": "web"})),
    );
    assert_eq!(st, 200, "{b}");
    let (st, w) = http(
        server.http,
        "GET",
        &format!("/v1/sites/{id}/widget"),
        Some(&key),
        None,
    );
    assert_eq!(st, 200, "{w}");
    let wkey = w["key"].as_str().unwrap().to_string();
    assert!(
        wkey.starts_with("wk_") && w["embed_html"].as_str().unwrap().contains(&wkey),
        "{w}"
    );
    (id, key, wkey)
}

fn artifacts() -> PathBuf {
    let dir = repo().join("test-artifacts/widget");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs tests/browser/widget_call.mjs and returns what the page saw.
fn browse(url: &str, wav: &std::path::Path, expect: &str, prefix: &str) -> Value {
    browse_with(url, wav, expect, prefix, &[])
}

fn browse_with(
    url: &str,
    wav: &std::path::Path,
    expect: &str,
    prefix: &str,
    extra: &[&str],
) -> Value {
    let out = Command::new("node")
        .arg(repo().join("tests/browser/widget_call.mjs"))
        .args(["--url", url, "--wav"])
        .arg(wav)
        .arg("--shots")
        .arg(artifacts())
        .args(["--expect", expect, "--prefix", prefix, "--timeout", "120"])
        .args(extra)
        .output()
        .expect("node (scripts/setup --test installs playwright-core and chromium)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser driver failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert!(v["failure"].is_null(), "browser: {}", v["failure"]);
    v
}

#[test]
fn a_visitor_talks_to_the_bot_from_the_demo_page_in_chromium() {
    let server = Server::start();
    let (site_id, key, _) = site(&server, "Web Shop", &[]);
    let dir = tempfile::tempdir().unwrap();
    // The greeting plays first; the question comes after it, then silence (no loop).
    let wav = speech_wav(dir.path(), "Where is my order?", 6.0, 2.0);
    let url = format!("http://{}/demo?site_id={site_id}", server.http);
    let seen = browse(&url, &wav, "ended", "");
    let w = &seen["widget"];
    let states: Vec<&str> = seen["states"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        w["state"],
        "ended",
        "the call ended normally: {seen}\n{}",
        server.log()
    );
    for s in ["listening", "speaking", "ended"] {
        assert!(states.contains(&s), "state {s} shown: {states:?}");
    }
    let heard = w["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    assert!(
        heard.contains("order"),
        "the visitor's words came back as a transcript: {heard:?}; {seen}"
    );
    let said = w["botTexts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    assert!(
        said.contains("your order has shipped"),
        "the bot's answer text arrived: {said:?}"
    );
    assert!(
        said.contains("how can i help"),
        "the greeting's text arrived: {said:?}"
    );
    // Bot audio reached the page's player and was not silence: the greeting and the answer are
    // several seconds of speech at 16 kHz.
    let played = w["stats"]["playedSamples"].as_f64().unwrap();
    let peak = w["stats"]["playedPeak"].as_f64().unwrap();
    assert!(
        played > 16000.0 * 3.0,
        "seconds of bot audio played: {played} samples"
    );
    assert!(peak > 0.05, "bot audio is not silent: peak {peak}");
    assert!(
        w["stats"]["framesSent"].as_u64().unwrap() > 100,
        "microphone frames went up: {}",
        w["stats"]
    );
    assert!(
        w["captions"].as_str().unwrap().contains("Assistant: "),
        "captions shown: {}",
        w["captions"]
    );
    for name in ["idle", "listening", "speaking", "ended"] {
        assert!(
            artifacts().join(format!("{name}.png")).exists(),
            "screenshot of {name}"
        );
    }
    // The call is in the one call-session system, with its transcript.
    let (st, list) = http(
        server.http,
        "GET",
        "/v1/calls?channel=widget",
        Some(&key),
        None,
    );
    assert_eq!(st, 200, "{list}");
    let calls = list["calls"]
        .as_array()
        .or_else(|| list.as_array())
        .unwrap();
    assert_eq!(calls.len(), 1, "{list}");
    let id = calls[0]["id"].as_str().unwrap();
    let (st, call) = http(
        server.http,
        "GET",
        &format!("/v1/calls/{id}"),
        Some(&key),
        None,
    );
    assert_eq!(st, 200);
    assert_eq!(call["channel"], "widget", "{call}");
    assert_eq!(call["outcome"], "completed", "{call}");
    let turns = call["transcript"].as_array().unwrap();
    assert!(
        turns.iter().any(|t| t["speaker"] == "caller"
            && t["text"].as_str().unwrap().to_lowercase().contains("order")),
        "{call}"
    );
    assert!(
        turns
            .iter()
            .any(|t| t["speaker"] == "bot" && t["latency"]["first_packet_ms"].is_u64()),
        "answer latency stored: {call}"
    );
}

#[test]
fn the_page_shows_a_refused_call_clearly() {
    // Only the site's own origins: the demo page (served by Vaarta itself) is refused.
    let server = Server::start_with("[widget]\nallow_same_origin = false\n");
    let (site_id, _, _) = site(&server, "Strict Shop", &["https://shop.example"]);
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav(dir.path(), "hello", 0.5, 0.5);
    let seen = browse(
        &format!("http://{}/demo?site_id={site_id}", server.http),
        &wav,
        "error",
        "refused-",
    );
    let w = &seen["widget"];
    assert_eq!(w["state"], "error", "{seen}");
    let error = w["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("origin") && error.contains("widget_origins"),
        "the page says why: {error:?}"
    );
    assert!(artifacts().join("refused-error.png").exists());

    // The visitor says no to the microphone: told how to fix it, nothing connects.
    let seen = browse_with(
        &format!("http://{}/demo?site_id={site_id}", server.http),
        &wav,
        "error",
        "denied-",
        &["--scenario", "denied"],
    );
    let error = seen["widget"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("Microphone access was denied"), "{seen}");
    // The widget points at a server that is not there.
    let dead = format!("http://127.0.0.1:{}", free_tcp());
    let seen = browse_with(
        &format!("http://{}/demo", server.http),
        &wav,
        "error",
        "unreachable-",
        &["--scenario", "unreachable", "--server", &dead],
    );
    let error = seen["widget"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("Cannot reach the voice server"), "{seen}");
    let (_, calls) = http(server.http, "GET", "/v1/calls", Some(ADMIN), None);
    assert_eq!(
        calls.as_array().unwrap().len(),
        0,
        "no call was started: {calls}"
    );
}

// ---- the socket, without a browser ----

type Socket = WebSocket<TcpStream>;

fn connect(server: &Server, query: &str, origin: Option<&str>) -> Socket {
    let mut req = format!("ws://{}/v1/widget/ws?{query}", server.http)
        .into_client_request()
        .unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    let stream = TcpStream::connect(server.http).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let (socket, resp) = tungstenite::client::client(req, stream).unwrap();
    assert_eq!(resp.status(), 101);
    socket
}

/// Reads until the server closes: (JSON messages, close code, close reason).
fn until_closed(ws: &mut Socket) -> (Vec<Value>, u16, String) {
    let mut msgs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(t)) => msgs.push(serde_json::from_str(&t).unwrap()),
            Ok(Message::Close(f)) => {
                // Sends our half of the close handshake.
                let _ = ws.flush();
                return (
                    msgs,
                    f.as_ref().map_or(0, |f| u16::from(f.code)),
                    f.map(|f| f.reason.to_string()).unwrap_or_default(),
                );
            }
            Ok(_) => {}
            Err(e) => panic!("socket error before close: {e}; messages {msgs:?}"),
        }
    }
    panic!("not closed in 60 s: {msgs:?}")
}

fn refused(ws: &mut Socket) -> (u16, String, String) {
    let (msgs, code, reason) = until_closed(ws);
    let err = msgs
        .iter()
        .find(|m| m["type"] == "error")
        .unwrap_or_else(|| panic!("an error message before the close: {msgs:?}"));
    (
        code,
        err["code"].as_str().unwrap().to_string(),
        format!("{reason} | {}", err["message"]),
    )
}

#[test]
fn wrong_keys_origins_and_garbage_are_refused_without_touching_other_calls() {
    let server = Server::start_with("[widget]\nmax_sessions_per_site = 2\n");
    let shop = "https://shop.example";
    let (a, key_a, wk_a) = site(&server, "Shop A", &[shop]);
    let (b, _key_b, wk_b) = site(&server, "Shop B", &["https://b.example"]);

    let (code, name, why) = refused(&mut connect(
        &server,
        &format!("site_id={a}&key=wk_0000"),
        Some(shop),
    ));
    assert_eq!((code, name.as_str()), (4401, "bad_key"), "{why}");
    let (code, name, why) = refused(&mut connect(
        &server,
        &format!("site_id={a}&key={wk_b}"),
        Some(shop),
    ));
    assert_eq!((code, name.as_str()), (4401, "bad_key"), "{why}");
    assert!(why.contains("another site"), "{why}");
    let (code, name, why) = refused(&mut connect(
        &server,
        &format!("site_id={a}&key={wk_a}"),
        Some("https://evil.example"),
    ));
    assert_eq!((code, name.as_str()), (4403, "origin_not_allowed"), "{why}");
    assert!(why.contains("evil.example"), "{why}");
    let (code, name, _) = refused(&mut connect(
        &server,
        &format!("site_id={a}&key={wk_a}"),
        None,
    ));
    assert_eq!((code, name.as_str()), (4403, "origin_not_allowed"));
    let (code, name, _) = refused(&mut connect(
        &server,
        &format!("site_id=00000000-0000-0000-0000-000000000000&key={wk_a}"),
        Some(shop),
    ));
    assert_eq!((code, name.as_str()), (4404, "unknown_site"));
    let (code, name, _) = refused(&mut connect(
        &server,
        &format!("key={wk_b}"),
        Some("https://b.example"),
    ));
    assert_eq!((code, name.as_str()), (4404, "unknown_site"));
    let _ = b;

    // A good call stays up while a neighbour sends garbage.
    let mut good = connect(&server, &format!("site_id={a}&key={wk_a}"), Some(shop));
    good.send(Message::Text(
        json!({"type": "start", "visitor_id": "v-good"})
            .to_string()
            .into(),
    ))
    .unwrap();
    let ready = read_json(&mut good, "ready");
    let good_call = ready["call_id"].as_str().unwrap().to_string();

    let mut bad = connect(&server, &format!("site_id={a}&key={wk_a}"), Some(shop));
    bad.send(Message::Text(json!({"type": "start"}).to_string().into()))
        .unwrap();
    read_json(&mut bad, "ready");
    bad.send(Message::Text("{not json".into())).unwrap();
    let (code, name, why) = refused(&mut bad);
    assert_eq!((code, name.as_str()), (4400, "bad_message"), "{why}");

    let mut big = connect(&server, &format!("site_id={a}&key={wk_a}"), Some(shop));
    big.send(Message::Text(json!({"type": "start"}).to_string().into()))
        .unwrap();
    read_json(&mut big, "ready");
    big.send(Message::Binary(vec![0u8; 100_000].into()))
        .unwrap();
    let (code, name, why) = refused(&mut big);
    assert_eq!((code, name.as_str()), (4413, "frame_too_large"), "{why}");

    let mut odd = connect(&server, &format!("site_id={a}&key={wk_a}"), Some(shop));
    odd.send(Message::Text(
        json!({"type": "start", "sample_rate": 44100})
            .to_string()
            .into(),
    ))
    .unwrap();
    let (code, name, why) = refused(&mut odd);
    assert_eq!((code, name.as_str()), (4400, "bad_message"), "{why}");
    assert!(why.contains("16000"), "{why}");

    // The limit: two widget calls per site on this node (the good one plus one more).
    let mut second = connect(&server, &format!("site_id={a}&key={wk_a}"), Some(shop));
    second
        .send(Message::Text(json!({"type": "start"}).to_string().into()))
        .unwrap();
    read_json(&mut second, "ready");
    let mut third = connect(&server, &format!("site_id={a}&key={wk_a}"), Some(shop));
    third
        .send(Message::Text(json!({"type": "start"}).to_string().into()))
        .unwrap();
    let (code, name, _) = refused(&mut third);
    assert_eq!((code, name.as_str()), (4429, "too_many_sessions"));
    second
        .send(Message::Text(json!({"type": "stop"}).to_string().into()))
        .unwrap();
    let (_, code, _) = until_closed(&mut second);
    assert_eq!(code, 1000, "stop ends the call normally");

    // The good call was untouched: it still gets bot audio and ends when asked.
    let mut audio = 0usize;
    let deadline = Instant::now() + Duration::from_secs(30);
    while audio < 16000 && Instant::now() < deadline {
        if let Message::Binary(b) = good.read().unwrap() {
            audio += b.len() / 2;
        }
    }
    assert!(
        audio >= 16000,
        "the good call kept receiving the greeting's audio"
    );
    good.send(Message::Text(json!({"type": "stop"}).to_string().into()))
        .unwrap();
    let (msgs, code, _) = until_closed(&mut good);
    assert_eq!(code, 1000);
    assert!(
        msgs.iter()
            .any(|m| m["type"] == "ended" && m["outcome"] == "caller_hung_up"),
        "{msgs:?}"
    );
    let (st, call) = http(
        server.http,
        "GET",
        &format!("/v1/calls/{good_call}"),
        Some(&key_a),
        None,
    );
    assert_eq!(st, 200);
    assert_eq!(call["channel"], "widget");
    assert_eq!(call["caller"], "v-good");
    // Every refused or broken socket left no call running.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, live) = http(server.http, "GET", "/v1/calls", Some(&key_a), None);
        let n = live["calls"]
            .as_array()
            .or_else(|| live.as_array())
            .map_or(0, |v| v.iter().filter(|c| c["state"] != "ended").count());
        if n == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "calls still live: {live}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The server is still healthy.
    assert_eq!(http(server.http, "GET", "/health", None, None).0, 200);
}

fn read_json(ws: &mut Socket, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match ws.read().unwrap() {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == kind {
                    return v;
                }
                assert_ne!(v["type"], "error", "{v}");
            }
            Message::Close(f) => panic!("closed while waiting for {kind}: {f:?}"),
            _ => {}
        }
    }
    panic!("no {kind} message in 30 s")
}

/// PCM16 at 16 kHz of a WAV (sox converts).
fn pcm16k(wav: &std::path::Path) -> Vec<i16> {
    let out = wav.with_extension("16k.wav");
    assert!(
        Command::new("sox")
            .arg(wav)
            .args(["-r", "16000", "-c", "1", "-b", "16"])
            .arg(&out)
            .status()
            .unwrap()
            .success()
    );
    hound::WavReader::open(&out)
        .unwrap()
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect()
}

/// Root-mean-square level of PCM16 samples.
fn rms(samples: &[i16]) -> f64 {
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len().max(1) as f64)
        .sqrt()
}

/// A site whose widget flow hands the visitor straight to `agent`.
fn transfer_site(server: &Server, name: &str, agent: &str) -> (String, String, String) {
    let settings = json!({"languages": ["en-IN"], "widget_origins": ["https://shop.example"],
        "transfer_targets": [{"name": "support", "destination": agent}]});
    let (st, site) = http(
        server.http,
        "POST",
        "/v1/sites",
        Some(ADMIN),
        Some(&json!({"name": name, "settings": settings})),
    );
    assert_eq!(st, 201, "{site}");
    let id = site["site_id"].as_str().unwrap().to_string();
    let (_, key) = http(
        server.http,
        "POST",
        &format!("/v1/sites/{id}/keys"),
        Some(ADMIN),
        Some(&json!({"label": "bridge"})),
    );
    let key = key["secret"].as_str().unwrap().to_string();
    let flow = "say(\"Connecting you to our support team.\");\ntransfer(\"support\", \"the visitor asked for a person\");\n";
    assert_eq!(
        http(
            server.http,
            "PUT",
            &format!("/v1/sites/{id}/flows/handoff"),
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
            &format!("/v1/sites/{id}/flows/handoff/activate"),
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
            &format!("/v1/sites/{id}/routes"),
            Some(&key),
            Some(&json!({"channel": "widget", "flow": "handoff"}))
        )
        .0,
        200
    );
    let (_, w) = http(
        server.http,
        "GET",
        &format!("/v1/sites/{id}/widget"),
        Some(&key),
        None,
    );
    (id, key, w["key"].as_str().unwrap().to_string())
}

/// A widget call driven like a browser: 20 ms frames in real time (silence, then `speech` once
/// the bridge is up), everything received recorded, `stop` after `talk_s` more seconds.
struct Visit {
    msgs: Vec<Value>,
    /// Audio received after the transfer was confirmed.
    bridged_audio: Vec<i16>,
    close: u16,
}

fn visit(server: &Server, wkey: &str, site: &str, speech: &[i16], talk_s: f32) -> Visit {
    let mut ws = connect(
        server,
        &format!("site_id={site}&key={wkey}"),
        Some("https://shop.example"),
    );
    ws.send(Message::Text(json!({"type": "start"}).to_string().into()))
        .unwrap();
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let (mut msgs, mut bridged_audio) = (Vec::new(), Vec::new());
    let (mut bridged_at, mut sent, mut stopped, mut next) =
        (None::<Instant>, 0usize, false, Instant::now());
    // Speak once the agent's voice arrives (the bridge carries audio both ways by then), or 3 s
    // after the transfer at the latest: on a loaded machine the agent's leg may take a moment.
    let mut agent_heard = false;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(
            Instant::now() < deadline,
            "widget call did not end: {msgs:?}"
        );
        if Instant::now() >= next {
            next += Duration::from_millis(20);
            let frame: Vec<i16> = match bridged_at {
                Some(at)
                    if sent < speech.len()
                        && (agent_heard || at.elapsed() > Duration::from_secs(3)) =>
                {
                    let end = (sent + 320).min(speech.len());
                    let f = speech[sent..end].to_vec();
                    sent = end;
                    f
                }
                _ => vec![0; 320],
            };
            let bytes: Vec<u8> = frame.iter().flat_map(|s| s.to_le_bytes()).collect();
            let _ = ws.send(Message::Binary(bytes.into()));
            if let Some(at) = bridged_at
                && !stopped
                && sent >= speech.len()
                && at.elapsed() > Duration::from_secs_f32(talk_s)
            {
                ws.send(Message::Text(json!({"type": "stop"}).to_string().into()))
                    .unwrap();
                stopped = true;
            }
        }
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "transfer" && v["ok"] == true {
                    bridged_at = Some(Instant::now());
                }
                msgs.push(v);
            }
            Ok(Message::Binary(b)) if bridged_at.is_some() => {
                let frame: Vec<i16> = b
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect();
                agent_heard |= rms(&frame) > 1000.0;
                bridged_audio.extend(frame);
            }
            Ok(Message::Close(f)) => {
                let _ = ws.flush();
                return Visit {
                    msgs,
                    bridged_audio,
                    close: f.map_or(0, |f| u16::from(f.code)),
                };
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(tungstenite::Error::ConnectionClosed) => {
                return Visit {
                    msgs,
                    bridged_audio,
                    close: 0,
                };
            }
            Err(e) => panic!("socket: {e}; {msgs:?}"),
        }
    }
}

#[test]
fn a_transfer_bridges_the_visitor_to_a_sip_agent_or_offers_a_call_back() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("agent-heard.wav");
    let agent_says = speech_wav(
        dir.path(),
        "Hello, this is Priya from the support team.",
        0.5,
        8.0,
    );
    let agent_wav = dir.path().join("agent.wav");
    std::fs::rename(&agent_says, &agent_wav).unwrap();
    let mut agent = Peer::spawn(&[
        "listen",
        "--play",
        agent_wav.to_str().unwrap(),
        "--record",
        rec.to_str().unwrap(),
        "--timeout",
        "120",
    ]);
    let agent_port = agent.wait_for(10, |v| v["ev"] == "ready")["port"]
        .as_u64()
        .unwrap();
    let server = Server::start();
    let (site, key, wkey) = transfer_site(
        &server,
        "Bridge Shop",
        &format!("sip:agent@127.0.0.1:{agent_port}"),
    );
    let speech = pcm16k(&speech_wav(
        dir.path(),
        "Where is my order? I would like a refund.",
        0.3,
        0.5,
    ));

    let v = visit(&server, &wkey, &site, &speech, 6.0);
    assert_eq!(v.close, 1000, "{:?}\n{}", v.msgs, server.log());
    assert!(
        v.msgs.iter().any(
            |m| m["type"] == "bot_text" && m["text"].as_str().unwrap().contains("support team")
        ),
        "{:?}",
        v.msgs
    );
    assert!(
        v.msgs
            .iter()
            .any(|m| m["type"] == "transfer" && m["ok"] == true),
        "{:?}",
        v.msgs
    );
    agent.wait_for(20, |e| e["ev"] == "incoming");
    // The agent's voice reached the visitor: speech-level energy in the bridged audio.
    let loudest = v.bridged_audio.chunks(320).map(rms).fold(0.0, f64::max);
    assert!(
        v.bridged_audio.len() > 16000 * 2 && loudest > 1000.0,
        "agent audio bridged: {} samples, loudest {loudest}",
        v.bridged_audio.len()
    );
    // The visitor's voice reached the agent.
    agent.wait_for(30, |e| {
        e["ev"] == "call_ended" || e["ev"] == "disconnected" || e["ev"] == "exit"
    });
    // The agent writes its recording's WAV header when the recorder closes, just after the
    // call ends: try again for a few seconds while the file is not complete yet.
    let mut tries = 0;
    let out = loop {
        let out = Command::new(env!("CARGO_BIN_EXE_vaarta"))
            .env("VAARTA_MODELS_DIR", models())
            .arg("transcribe")
            .arg(&rec)
            .output()
            .unwrap();
        tries += 1;
        if out.status.success() || tries == 10 {
            break out;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let heard = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(
        heard.contains("order") || heard.contains("refund"),
        "the agent heard the visitor: {heard:?} ({})",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, calls) = http(
        server.http,
        "GET",
        "/v1/calls?channel=widget",
        Some(&key),
        None,
    );
    assert_eq!(calls[0]["outcome"], "transferred", "{calls}");

    // Nobody picks up: an apology with a call back, recorded as such.
    let mut busy = Peer::spawn(&["listen", "--busy", "--timeout", "60"]);
    let busy_port = busy.wait_for(10, |v| v["ev"] == "ready")["port"]
        .as_u64()
        .unwrap();
    let (site, key, wkey) = transfer_site(
        &server,
        "Busy Shop",
        &format!("sip:agent@127.0.0.1:{busy_port}"),
    );
    let v = visit(&server, &wkey, &site, &[], 0.0);
    assert_eq!(v.close, 1000, "{:?}", v.msgs);
    assert!(
        v.msgs.iter().any(|m| m["type"] == "bot_text"
            && m["is_final"] == true
            && m["text"].as_str().unwrap().contains("call you back")),
        "{:?}",
        v.msgs
    );
    assert!(
        v.msgs
            .iter()
            .any(|m| m["type"] == "ended" && m["outcome"] == "transfer_failed"),
        "{:?}",
        v.msgs
    );
    let (_, calls) = http(
        server.http,
        "GET",
        "/v1/calls?channel=widget",
        Some(&key),
        None,
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
            .any(|e| e["type"] == "action" && e["name"] == "callback_requested"),
        "{detail}"
    );
}

#[test]
fn a_visitor_talking_over_the_bot_gets_a_clear_and_is_heard() {
    let server = Server::start();
    let (st, site) = http(
        server.http,
        "POST",
        "/v1/sites",
        Some(ADMIN),
        Some(
            &json!({"name": "Talky", "settings": {"languages": ["en-IN"], "widget_origins": ["https://shop.example"]}}),
        ),
    );
    assert_eq!(st, 201);
    let site = site["site_id"].as_str().unwrap().to_string();
    let flow = "say(\"Thank you for calling. Our store sells furniture, kitchen appliances, lights, carpets and curtains, \
                and we deliver across the whole city on every day of the week, including public holidays.\");\n\
                let r = listen(8000);\nsay(if r.interrupted { \"You interrupted me.\" } else { \"You waited.\" });\nhangup(\"done\");\n";
    assert_eq!(
        http(
            server.http,
            "PUT",
            &format!("/v1/sites/{site}/flows/long"),
            Some(ADMIN),
            Some(&json!({"source": flow}))
        )
        .0,
        201
    );
    assert_eq!(
        http(
            server.http,
            "POST",
            &format!("/v1/sites/{site}/flows/long/activate"),
            Some(ADMIN),
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
            Some(ADMIN),
            Some(&json!({"channel": "widget", "flow": "long"}))
        )
        .0,
        200
    );
    let (_, w) = http(
        server.http,
        "GET",
        &format!("/v1/sites/{site}/widget"),
        Some(ADMIN),
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let speech = pcm16k(&speech_wav(
        dir.path(),
        "Wait, I have a question about delivery.",
        0.0,
        0.3,
    ));

    let mut ws = connect(
        &server,
        &format!("site_id={site}&key={}", w["key"].as_str().unwrap()),
        Some("https://shop.example"),
    );
    ws.send(Message::Text(json!({"type": "start"}).to_string().into()))
        .unwrap();
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let (mut msgs, mut first_audio, mut talk_from, mut cleared_at) = (
        Vec::<Value>::new(),
        None::<Instant>,
        None::<Instant>,
        None::<Instant>,
    );
    let (mut sent, mut next, mut after_clear) = (0usize, Instant::now(), 0usize);
    let mut next_line = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no end: {msgs:?}");
        if Instant::now() >= next {
            next += Duration::from_millis(20);
            // Silence until the bot has spoken for 1.5 s, then the visitor's words.
            if talk_from.is_none()
                && first_audio.is_some_and(|t| t.elapsed() > Duration::from_millis(1500))
            {
                talk_from = Some(Instant::now());
            }
            let frame: Vec<i16> = if talk_from.is_some() && sent < speech.len() {
                let end = (sent + 320).min(speech.len());
                let f = speech[sent..end].to_vec();
                sent = end;
                f
            } else {
                vec![0; 320]
            };
            let _ = ws.send(Message::Binary(
                frame
                    .iter()
                    .flat_map(|s| s.to_le_bytes())
                    .collect::<Vec<u8>>()
                    .into(),
            ));
        }
        match ws.read() {
            Ok(Message::Binary(b)) => {
                first_audio.get_or_insert_with(Instant::now);
                if !next_line
                    && cleared_at.is_some_and(|t| t.elapsed() < Duration::from_millis(600))
                {
                    after_clear += b.len() / 2;
                }
            }
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                // A new bot line after the clear (the reply comes fast now): its audio is
                // not the interrupted sentence.
                if cleared_at.is_some() && v["type"] == "bot_text" && v["is_final"] == false {
                    next_line = true;
                }
                if v["type"] == "clear" && cleared_at.is_none() {
                    cleared_at = Some(Instant::now());
                }
                msgs.push(v);
            }
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("socket: {e}; {msgs:?}"),
        }
    }
    let (talk, cleared) = (
        talk_from.expect("the bot spoke"),
        cleared_at.unwrap_or_else(|| panic!("no clear: {msgs:?}")),
    );
    let delay = cleared.duration_since(talk);
    assert!(
        delay < Duration::from_millis(1500),
        "bot audio cleared {delay:?} after the visitor started talking"
    );
    // After the clear, nothing more of the interrupted sentence (the next audio is the reply).
    assert!(
        after_clear < 16000 * 3 / 10,
        "{after_clear} samples right after the clear"
    );
    let said: Vec<&Value> = msgs
        .iter()
        .filter(|m| m["type"] == "bot_text" && m["is_final"] == true)
        .collect();
    assert!(
        said.iter().any(|m| m["interrupted"] == true
            && m["text"]
                .as_str()
                .unwrap()
                .starts_with("Thank you for calling")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|m| m["text"] == "You interrupted me."),
        "the flow saw the interruption: {said:?}"
    );
    assert!(
        msgs.iter().any(|m| m["type"] == "transcript"
            && m["is_final"] == true
            && m["text"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("delivery")),
        "{msgs:?}"
    );
}

#[test]
fn idle_and_flooding_sockets_are_closed_with_their_reasons() {
    let server = Server::start_with("[widget]\nidle_timeout_s = 2\nmax_frames_per_s = 50\n");
    let shop = "https://shop.example";
    let (a, key, wk) = site(&server, "Limits Shop", &[shop]);
    // Nothing sent after start: closed for idleness, and the call ends as a hang-up.
    let mut idle = connect(&server, &format!("site_id={a}&key={wk}"), Some(shop));
    idle.send(Message::Text(json!({"type": "start"}).to_string().into()))
        .unwrap();
    let started = Instant::now();
    let (code, name, why) = refused(&mut idle);
    assert_eq!((code, name.as_str()), (4408, "timeout"), "{why}");
    assert!(
        started.elapsed() >= Duration::from_secs(2) && started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    // A socket that never says start.
    let mut mute = connect(&server, &format!("site_id={a}&key={wk}"), Some(shop));
    mute.send(Message::Binary(vec![0u8; 640].into())).unwrap();
    let (code, name, why) = refused(&mut mute);
    assert_eq!((code, name.as_str()), (4400, "bad_message"), "{why}");
    // More frames a second than allowed.
    let mut flood = connect(&server, &format!("site_id={a}&key={wk}"), Some(shop));
    flood
        .send(Message::Text(json!({"type": "start"}).to_string().into()))
        .unwrap();
    read_json(&mut flood, "ready");
    for _ in 0..80 {
        if flood.send(Message::Binary(vec![0u8; 64].into())).is_err() {
            break;
        }
    }
    let (code, name, why) = refused(&mut flood);
    assert_eq!((code, name.as_str()), (4429, "too_fast"), "{why}");
    // Call records are written in the background: wait for both outcomes.
    let deadline = Instant::now() + Duration::from_secs(10);
    let calls = loop {
        let (_, calls) = http(
            server.http,
            "GET",
            "/v1/calls?channel=widget",
            Some(&key),
            None,
        );
        let done = calls
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !c["outcome"].is_null())
            .count();
        if done >= 2 || Instant::now() > deadline {
            break calls;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let calls = calls.as_array().unwrap();
    assert_eq!(
        calls.len(),
        2,
        "the idle and the flooding call were taken, the mute one never started: {calls:?}"
    );
    assert!(
        calls.iter().all(|c| c["outcome"] == "caller_hung_up"),
        "{calls:?}"
    );
}
