//! Shared by the end-to-end SIP tests: the `vaarta` binary on loopback ports (killable and
//! restartable on the same database), a pjsua2 peer driven by JSON lines, and a tiny HTTP client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const ADMIN: &str = "voice-e2e-admin-token-0123456789";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn models() -> PathBuf {
    std::env::var_os("VAARTA_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("models"))
}

pub fn free_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One JSON request on its own connection: (status, body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let ctype = if body.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}{ctype}Content-Length: {}\r\nConnection: close\r\n\r\n{payload}", payload.len()).unwrap();
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).unwrap();
    // Binary bodies (a recording) are not JSON: only the status matters then.
    let raw = String::from_utf8_lossy(&bytes);
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

pub struct Server {
    pub child: Child,
    pub http: SocketAddr,
    pub sip: u16,
    pub dir: tempfile::TempDir,
    config: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `vaarta serve` on loopback ports with a fresh SQLite database; `extra` is appended to
    /// its TOML config (e.g. a `[telephony.trunk]` or `[jobs]` table).
    pub fn start_with(extra: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let http: SocketAddr = format!("127.0.0.1:{}", free_tcp()).parse().unwrap();
        let sip = free_udp();
        let rtp = 42000 + (sip % 200) * 40;
        let config = dir.path().join("vaarta.toml");
        std::fs::write(
            &config,
            format!(
                "[http]\nbind = \"{http}\"\ndocs_assets_dir = \"{d}/no-docs\"\n[database]\nurl = \"sqlite://{d}/vaarta.db\"\n\
                 [auth]\nadmin_token = \"{ADMIN}\"\n[models]\ndir = \"{m}\"\n\
                 [voice]\nrecordings_dir = \"{d}/recordings\"\n\
                 [telephony]\nbind = \"127.0.0.1:{sip}\"\nrtp_port_min = {rtp}\nrtp_port_max = {}\n{extra}\n",
                rtp + 38,
                d = dir.path().display(),
                m = models().display(),
            ),
        )
        .unwrap();
        let child = Self::spawn(&config, &dir);
        let mut server = Server {
            child,
            http,
            sip,
            dir,
            config,
        };
        server.wait_ready();
        server
    }

    pub fn start() -> Server {
        Self::start_with("")
    }

    fn spawn(config: &Path, dir: &tempfile::TempDir) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("server.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaarta"));
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("VAARTA_")) {
            cmd.env_remove(k);
        }
        cmd.env(
            "RUST_LOG",
            "info,vaarta_orchestrator=debug,whisper_rs=warn,ort=warn",
        );
        cmd.arg("--config")
            .arg(config)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        let before = self.log().matches("SIP user agent listening").count();
        loop {
            if TcpStream::connect(self.http).is_ok()
                && self.log().matches("SIP user agent listening").count() > before
            {
                break;
            }
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("vaarta exited ({st}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "not ready in 90 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The same config and database again (after `kill`).
    pub fn restart(&mut self) {
        self.child = Self::spawn(&self.config, &self.dir);
        self.wait_ready();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

pub struct Peer {
    pub child: Child,
    pub lines: std::sync::mpsc::Receiver<Value>,
    pub seen: Vec<Value>,
}

impl Peer {
    pub fn spawn(args: &[&str]) -> Peer {
        let py = repo().join(".venv/bin/python");
        let mut child = Command::new(py)
            .arg(repo().join("telephony/tests/peers/pjsua_peer.py"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("pjsua2 peer (.venv from scripts/setup --test)");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        Peer {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    pub fn wait_for(&mut self, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(_) => panic!("peer event not seen in {secs} s; saw {:?}", self.seen),
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// espeak-ng speech of `text`, laid after `lead_s` of silence and followed by `tail_s`.
pub fn speech_wav(dir: &Path, text: &str, lead_s: f32, tail_s: f32) -> PathBuf {
    let raw = dir.join("raw.wav");
    assert!(
        Command::new("espeak-ng")
            .args(["-v", "en-us", "-s", "150", "-w"])
            .arg(&raw)
            .arg(text)
            .status()
            .unwrap()
            .success()
    );
    let mut r = hound::WavReader::open(&raw).unwrap();
    let spec = r.spec();
    let rate = spec.sample_rate as f32;
    let mut samples = vec![0i16; (lead_s * rate) as usize];
    samples.extend(r.samples::<i16>().map(|s| s.unwrap()));
    samples.extend(std::iter::repeat_n(0i16, (tail_s * rate) as usize));
    let out = dir.join("question.wav");
    let mut w = hound::WavWriter::create(
        &out,
        hound::WavSpec {
            channels: 1,
            sample_rate: spec.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        },
    )
    .unwrap();
    for s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    out
}
