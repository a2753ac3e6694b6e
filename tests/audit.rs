//! Audit transcription through the real `vaarta` binary: a CRM posts recordings in every
//! format (multipart), polls them and gets words, speakers and the QA checklist; bad uploads
//! are refused with reasons and leave nothing queued; the service is killed (SIGKILL) during a
//! five-minute recording and, restarted, finishes it without redoing finished chunks.

#[path = "../speech/tests/decode_support/mod.rs"]
mod decode_support;
#[path = "../speech/tests/stt_support/mod.rs"]
mod stt_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADMIN: &str = "audit-e2e-admin-token-0123456789";
const AGENT: &str = "Good morning, thank you for calling. How can I help you today?";
const CUSTOMER: &str = "Yes, I want to know when my parcel will be delivered.";

fn models() -> PathBuf {
    stt_support::models_dir()
}

fn free_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn send(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before taking the whole body.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw);
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    send(addr, &head, payload.as_bytes())
}

/// `POST /v1/transcriptions` with a `file` part (and `metadata` when given).
fn upload(
    addr: SocketAddr,
    token: &str,
    name: &str,
    bytes: &[u8],
    metadata: Option<&Value>,
) -> (u16, Value) {
    let b = "vaarta-test-boundary-7d1f";
    let mut body = Vec::new();
    if let Some(m) = metadata {
        body.extend(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{m}\r\n")
                .as_bytes(),
        );
    }
    body.extend(format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend(format!("\r\n--{b}--\r\n").as_bytes());
    let head = format!(
        "POST /v1/transcriptions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={b}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    send(addr, &head, &body)
}

struct Server {
    child: Child,
    http: SocketAddr,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts (or restarts, on the same database) the service with jobs on and calls off.
    fn start(dir: &Path) -> Server {
        let http: SocketAddr = format!("127.0.0.1:{}", free_tcp()).parse().unwrap();
        let config = dir.join("vaarta.toml");
        std::fs::write(
            &config,
            format!(
                "[http]\nbind = \"{http}\"\ndocs_assets_dir = \"{d}/no-docs\"\n[database]\nurl = \"sqlite://{d}/vaarta.db\"\n\
                 [auth]\nadmin_token = \"{ADMIN}\"\n[models]\ndir = \"{m}\"\n[voice]\nenabled = false\n\
                 [jobs]\npoll_interval_ms = 100\nheartbeat_s = 1\n[audit]\nmax_upload_bytes = 50000000\n",
                d = dir.display(),
                m = models().display(),
            ),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaarta"));
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("VAARTA_")) {
            cmd.env_remove(k);
        }
        cmd.env("RUST_LOG", "info,whisper_rs=warn,ort=warn");
        let child = cmd
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            http,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        while !(TcpStream::connect(http).is_ok() && server.log().contains("job workers started")) {
            if let Some(st) = server.child.try_wait().unwrap() {
                panic!("vaarta exited ({st}): {}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "not ready in 90 s: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// A site with a QA checklist; returns (site id, API key).
    fn site(&self, name: &str) -> (String, String) {
        let settings = json!({"audit": {"checklist": [
            {"id": "greeting", "kind": "greeting", "phrases": ["thank you for calling"], "within_ms": 5000},
            {"id": "no_promises", "kind": "prohibited", "phrases": ["guaranteed"]}
        ]}});
        let (st, site) = http(
            self.http,
            "POST",
            "/v1/sites",
            ADMIN,
            Some(&json!({"name": name, "settings": settings})),
        );
        assert_eq!(st, 201, "{site}");
        let id = site["site_id"].as_str().unwrap().to_string();
        let (st, key) = http(
            self.http,
            "POST",
            &format!("/v1/sites/{id}/keys"),
            ADMIN,
            Some(&json!({"label": "crm"})),
        );
        assert_eq!(st, 201, "{key}");
        (id, key["secret"].as_str().unwrap().to_string())
    }

    fn wait_done(&self, key: &str, id: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let (st, t) = http(
                self.http,
                "GET",
                &format!("/v1/transcriptions/{id}"),
                key,
                None,
            );
            assert_eq!(st, 200, "{t}");
            if t["status"] == "completed" || t["status"] == "failed" {
                return t;
            }
            assert!(
                start.elapsed() < limit,
                "not done after {limit:?}: {t}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn accuracy(reference: &str, hyp: &str) -> f64 {
    let (errors, words) = stt_support::word_errors(reference, hyp);
    1.0 - errors as f64 / words as f64
}

fn text_of(t: &Value, speaker: &str) -> String {
    t["result"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["speaker"] == speaker)
        .map(|s| s["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn recordings_in_every_format_are_transcribed_through_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path());
    let (site, key) = server.site("Acme");
    let (_, other_key) = server.site("Other");
    let src = decode_support::speech_wav(tmp.path(), "agent", AGENT, 0.5, 0.7);
    let mut ids = Vec::new();
    for name in [
        "speech.mp3",
        "speech.ogg",
        "speech.flac",
        "speech.m4a",
        "ulaw-8k.wav",
        "alaw-8k.wav",
    ] {
        let bytes = std::fs::read(decode_support::encode(&src, tmp.path(), name)).unwrap();
        let meta = json!({"agent_id": "agent-7", "crm_call_id": format!("crm-{name}")});
        let (st, t) = upload(server.http, &key, name, &bytes, Some(&meta));
        assert_eq!(st, 202, "{name}: {t}");
        assert_eq!(t["status"], "queued");
        assert_eq!(t["site_id"], site.as_str());
        ids.push((name, t["id"].as_str().unwrap().to_string()));
    }
    // Stereo: agent left, customer right (mapping given explicitly).
    let left = decode_support::speech_wav(tmp.path(), "l", AGENT, 0.5, 6.0);
    let right = decode_support::speech_wav(tmp.path(), "r", CUSTOMER, 5.0, 0.5);
    let stereo = std::fs::read(decode_support::stereo(
        tmp.path(),
        "call.wav",
        &left,
        &right,
        16000,
    ))
    .unwrap();
    let (st, t) = upload(
        server.http,
        &key,
        "call.wav",
        &stereo,
        Some(&json!({"channel_mapping": "left_agent", "language": "en"})),
    );
    assert_eq!(st, 202, "{t}");
    let stereo_id = t["id"].as_str().unwrap().to_string();

    for (name, id) in &ids {
        let t = server.wait_done(&key, id, Duration::from_secs(240));
        assert_eq!(t["status"], "completed", "{name}: {t}");
        let text = t["result"]["text"].as_str().unwrap();
        assert!(accuracy(AGENT, text) >= 0.9, "{name}: {text:?}");
        assert_eq!(t["result"]["languages"], json!(["en"]), "{name}");
        let start = t["result"]["segments"][0]["start_ms"].as_i64().unwrap();
        assert!((start - 500).abs() <= 500, "{name}: starts at {start} ms");
        assert_eq!(t["metadata"]["crm_call_id"], format!("crm-{name}"));
        assert_eq!(
            t["result"]["qa"]["checks"][0]["passed"], true,
            "{name}: greeting heard: {}",
            t["result"]["qa"]
        );
    }
    let t = server.wait_done(&key, &stereo_id, Duration::from_secs(240));
    assert!(accuracy(AGENT, &text_of(&t, "agent")) >= 0.9, "{t}");
    assert!(accuracy(CUSTOMER, &text_of(&t, "customer")) >= 0.9, "{t}");
    let talk = t["result"]["talk_time"].as_array().unwrap();
    assert_eq!(talk.len(), 2, "{talk:?}");
    assert!(t["result"]["silence_ms"].as_u64().unwrap() > 0);

    // Listing, filters, tenancy, deletion.
    let (st, list) = http(
        server.http,
        "GET",
        "/v1/transcriptions?status=completed&limit=200",
        &key,
        None,
    );
    assert_eq!(st, 200);
    assert_eq!(list.as_array().unwrap().len(), 7, "{list}");
    assert!(list[0]["result"].is_null(), "lists carry no reports");
    let (_, one) = http(
        server.http,
        "GET",
        "/v1/transcriptions?crm_call_id=crm-speech.flac",
        &key,
        None,
    );
    assert_eq!(one.as_array().unwrap().len(), 1, "{one}");
    let (st, _) = http(
        server.http,
        "GET",
        &format!("/v1/transcriptions/{stereo_id}"),
        &other_key,
        None,
    );
    assert_eq!(st, 404, "another site's key sees nothing");
    let (_, theirs) = http(server.http, "GET", "/v1/transcriptions", &other_key, None);
    assert_eq!(theirs, json!([]));
    let (st, _) = http(
        server.http,
        "DELETE",
        &format!("/v1/transcriptions/{stereo_id}"),
        &other_key,
        None,
    );
    assert_eq!(st, 404);
    let (st, _) = http(
        server.http,
        "DELETE",
        &format!("/v1/transcriptions/{stereo_id}"),
        &key,
        None,
    );
    assert_eq!(st, 204);
    let (st, _) = http(
        server.http,
        "GET",
        &format!("/v1/transcriptions/{stereo_id}"),
        &key,
        None,
    );
    assert_eq!(st, 404);
}

#[test]
fn bad_uploads_are_refused_with_reasons_and_nothing_is_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path());
    let (_, key) = server.site("Acme");
    let src = decode_support::speech_wav(tmp.path(), "s", AGENT, 0.3, 0.3);
    let wav = std::fs::read(decode_support::encode(&src, tmp.path(), "pcm16-16k.wav")).unwrap();
    type Case = (&'static str, Vec<u8>, Option<Value>, u16, &'static str);
    let cases: Vec<Case> = vec![
        ("empty.wav", vec![], None, 422, "empty_file"),
        (
            "cut.wav",
            wav[..wav.len() * 6 / 10].to_vec(),
            None,
            422,
            "truncated",
        ),
        ("notes.txt", wav.clone(), None, 422, "unsupported_file_type"),
        (
            "song.mp3",
            b"this is a text file, not an mp3 at all\n".repeat(50),
            None,
            422,
            "text_not_audio",
        ),
        (
            "ok.wav",
            wav.clone(),
            Some(json!({"agent_id": 5})),
            422,
            "invalid_metadata",
        ),
        (
            "ok.wav",
            wav.clone(),
            Some(json!({"callback_url": "ftp://crm"})),
            422,
            "validation_failed",
        ),
        (
            "ok.wav",
            wav.clone(),
            Some(json!({"callback_url": "https://crm.example/hook"})),
            422,
            "webhook_secret_missing",
        ),
    ];
    for (name, bytes, meta, status, code) in cases {
        let (st, body) = upload(server.http, &key, name, &bytes, meta.as_ref());
        assert_eq!(st, status, "{name}: {body}");
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    // A 2 GB upload is refused from its Content-Length, before the body is read.
    let head = format!(
        "POST /v1/transcriptions HTTP/1.1\r\nHost: {a}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 2147483648\r\nConnection: close\r\n\r\n",
        a = server.http
    );
    let started = Instant::now();
    let (st, body) = send(server.http, &head, &[0u8; 65536]);
    assert_eq!(st, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert!(started.elapsed() < Duration::from_secs(5));
    // No form part with the file.
    let (st, body) = send(
        server.http,
        &format!(
            "POST /v1/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 6\r\nConnection: close\r\n\r\n"
        ),
        b"--b--\r\n",
    );
    assert_eq!(st, 422, "{body}");
    assert_eq!(body["error"]["code"], "missing_file");
    // Nothing was stored or queued, and the service still works.
    let (st, list) = http(server.http, "GET", "/v1/transcriptions", &key, None);
    assert_eq!((st, list), (200, json!([])));
    let (st, t) = upload(server.http, &key, "ok.wav", &wav, None);
    assert_eq!(st, 202, "{t}");
    let t = server.wait_done(&key, t["id"].as_str().unwrap(), Duration::from_secs(120));
    assert_eq!(t["status"], "completed", "{t}");
}

/// About five minutes of speech: 40 sentences, each followed by a pause.
fn five_minutes(dir: &Path) -> Vec<u8> {
    let sentences = [
        "Please call me back tomorrow morning about my order.",
        "I would like to speak with someone from the sales team about a new connection.",
        "My internet connection has been very slow since last week.",
        "Can you send the invoice to my email address?",
        "The delivery was supposed to arrive on Monday but it still has not come.",
    ];
    let parts: Vec<PathBuf> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| decode_support::speech_wav(dir, &format!("p{i}"), s, 0.3, 3.5))
        .collect();
    let out = dir.join("five-minutes.wav");
    let mut args: Vec<&str> = Vec::new();
    for _ in 0..8 {
        args.extend(parts.iter().map(|p| p.to_str().unwrap()));
    }
    args.extend(["-r", "16000", out.to_str().unwrap()]);
    decode_support::run("sox", &args);
    let secs = decode_support::sox_seconds(&out);
    assert!(secs >= 300.0, "the recording is {secs:.0} s");
    std::fs::read(out).unwrap()
}

#[test]
fn a_killed_service_finishes_a_long_recording_without_redoing_chunks() {
    let tmp = tempfile::tempdir().unwrap();
    let long = five_minutes(tmp.path());
    let mut server = Server::start(tmp.path());
    let (_, key) = server.site("Acme");
    let (st, t) = upload(
        server.http,
        &key,
        "five-minutes.wav",
        &long,
        Some(&json!({"crm_call_id": "long-1"})),
    );
    assert_eq!(st, 202, "{t}");
    let id = t["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    let done_before = loop {
        let (_, t) = http(
            server.http,
            "GET",
            &format!("/v1/transcriptions/{id}"),
            &key,
            None,
        );
        let done = t["progress"]["chunks_done"].as_u64().unwrap();
        if done >= 3 {
            assert!(
                done < t["progress"]["chunks_total"].as_u64().unwrap(),
                "killed mid-file: {t}"
            );
            break done;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no progress: {t}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    drop(server);

    let server = Server::start(tmp.path());
    let t = server.wait_done(&key, &id, Duration::from_secs(300));
    assert_eq!(t["status"], "completed", "{t}");
    let p = &t["progress"];
    let total = p["chunks_total"].as_u64().unwrap();
    assert!(total >= 30, "{p}");
    assert_eq!(p["chunks_done"].as_u64().unwrap(), total);
    assert!(p["chunks_resumed"].as_u64().unwrap() >= done_before, "{p}");
    assert_eq!(
        p["chunks_computed"].as_u64().unwrap(),
        total,
        "no finished chunk was transcribed again: {p}"
    );
    assert!(p["runs"].as_u64().unwrap() >= 2, "{p}");
    let duration = t["result"]["duration_ms"].as_u64().unwrap();
    assert!(duration >= 300_000, "{duration}");
    let text = t["result"]["text"].as_str().unwrap().to_lowercase();
    let n = text.matches("invoice").count();
    assert!(
        (7..=8).contains(&n),
        "each of the 8 repetitions once (tiny.en may miss one word): {n}: {text}"
    );
}
