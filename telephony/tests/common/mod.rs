//! Shared helpers for the interop tests: real peers (pjsua2, baresip) as child processes,
//! test speech from espeak-ng + sox, and audio similarity checks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::mpsc;
use vaarta_telephony::{Event, Frame, Telephony, TelephonyConfig};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vaarta-tel-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn require(bin: &str, what: &str) -> PathBuf {
    let p = Path::new(bin);
    if p.is_absolute() {
        assert!(
            p.exists(),
            "{what} is missing at {bin}: run `scripts/setup --test` (scripts/setup-test.d/30-sip-peers.sh)"
        );
        return p.to_path_buf();
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(bin))
            .find(|c| c.exists())
    });
    found.unwrap_or_else(|| panic!("{what} (`{bin}`) is not installed: run `scripts/setup --test` (scripts/setup-test.d/30-sip-peers.sh)"))
}

/// Speech as 8 kHz mono 16-bit WAV, made by espeak-ng and sox.
pub fn speech_wav(dir: &Path, name: &str, text: &str) -> PathBuf {
    let espeak = require("espeak-ng", "espeak-ng");
    let sox = require("sox", "sox");
    let raw = dir.join(format!("{name}-raw.wav"));
    let out = dir.join(format!("{name}.wav"));
    let ok = std::process::Command::new(espeak)
        .args(["-s", "150", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng runs");
    assert!(ok.success(), "espeak-ng failed");
    let ok = std::process::Command::new(sox)
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out)
        .status()
        .expect("sox runs");
    assert!(ok.success(), "sox failed");
    out
}

/// A copy of `wav` with `secs` of trailing silence (baresip hangs up when its aufile source ends).
pub fn padded_wav(wav: &Path, secs: u32) -> PathBuf {
    let out = wav.with_extension("padded.wav");
    let ok = std::process::Command::new(require("sox", "sox"))
        .arg(wav)
        .arg(&out)
        .args(["pad", "0", &secs.to_string()])
        .status()
        .expect("sox runs");
    assert!(ok.success(), "sox pad failed");
    out
}

/// Samples of a 16-bit WAV, brought to 8 kHz mono (decimating 16/32/48 kHz).
pub fn read_wav(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let spec = r.spec();
    let ch = spec.channels as usize;
    let all: Vec<i16> = r.samples::<i16>().map(|s| s.expect("sample")).collect();
    let mono: Vec<i16> = all.chunks(ch).map(|c| c[0]).collect();
    let step = (spec.sample_rate / 8000).max(1) as usize;
    mono.into_iter().step_by(step).collect()
}

/// Save 8 kHz mono samples (kept in the scratch dir for inspection after a failure).
pub fn write_wav(path: &Path, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for s in samples {
        w.write_sample(*s).expect("write");
    }
    w.finalize().expect("finalize wav");
}

/// 20 ms frames of a WAV, for `Telephony::play`.
pub fn wav_frames(path: &Path) -> Vec<Frame> {
    read_wav(path)
        .chunks(160)
        .map(|c| {
            let mut f = [0i16; 160];
            f[..c.len()].copy_from_slice(c);
            f
        })
        .collect()
}

/// Log RMS energy over 40 ms windows every 5 ms (fine hop so alignment is not quantised).
pub fn envelope(samples: &[i16]) -> Vec<f64> {
    const WIN: usize = 320;
    const HOP: usize = 40;
    if samples.len() < WIN {
        return Vec::new();
    }
    (0..=(samples.len() - WIN) / HOP)
        .map(|i| {
            let w = &samples[i * HOP..i * HOP + WIN];
            let e = w.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / WIN as f64;
            (e + 1.0).ln()
        })
        .collect()
}

/// Best Pearson correlation of the energy envelopes over all alignments (received audio may
/// start later and carry silence around the signal).
pub fn envelope_similarity(reference: &[i16], received: &[i16]) -> f64 {
    let a = envelope(reference);
    let b = envelope(received);
    assert!(a.len() > 20, "reference too short");
    let mut best = -1.0f64;
    if b.len() < a.len() {
        return best;
    }
    for lag in 0..=(b.len() - a.len()) {
        let w = &b[lag..lag + a.len()];
        let (ma, mb) = (mean(&a), mean(w));
        let (mut num, mut da, mut db) = (0.0, 0.0, 0.0);
        for (x, y) in a.iter().zip(w) {
            num += (x - ma) * (y - mb);
            da += (x - ma).powi(2);
            db += (y - mb).powi(2);
        }
        if da > 0.0 && db > 0.0 {
            best = best.max(num / (da.sqrt() * db.sqrt()));
        }
    }
    best
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Vaarta on loopback with an ephemeral SIP port and an RTP range of its own.
pub async fn start_vaarta(
    tweak: impl FnOnce(&mut TelephonyConfig),
) -> (Telephony, mpsc::Receiver<Event>) {
    let mut cfg = TelephonyConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let base = 20000 + (std::process::id() % 400) as u16 * 100;
    cfg.rtp_port_min = base;
    cfg.rtp_port_max = base + 98;
    tweak(&mut cfg);
    Telephony::start(cfg).await.expect("telephony starts")
}

/// Next event matching `pred`, failing the test after `secs`.
pub async fn next_event<T>(
    rx: &mut mpsc::Receiver<Event>,
    secs: u64,
    mut pred: impl FnMut(&Event) -> Option<T>,
) -> T {
    let fut = async {
        loop {
            let e = rx.recv().await.expect("event stream open");
            if let Some(t) = pred(&e) {
                return t;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .expect("expected telephony event did not arrive in time")
}

/// The next incoming call (owning its audio receiver).
pub async fn next_incoming(
    rx: &mut mpsc::Receiver<Event>,
    secs: u64,
) -> vaarta_telephony::IncomingCall {
    let fut = async {
        loop {
            if let Event::Incoming(c) = rx.recv().await.expect("event stream open") {
                return c;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .expect("no incoming call in time")
}

/// Drain an audio receiver until it closes (the call ended) or `secs` pass.
pub async fn collect_audio(mut audio: mpsc::Receiver<Frame>, secs: u64) -> Vec<i16> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(secs), async {
        while let Some(f) = audio.recv().await {
            out.extend_from_slice(&f);
        }
    })
    .await;
    out
}

/// A pjsua2 peer (tests/peers/pjsua_peer.py) printing JSON events.
pub struct Pjsua {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    pub port: u16,
    pub seen: Vec<serde_json::Value>,
}

impl Pjsua {
    pub async fn spawn(args: &[&str]) -> Pjsua {
        let py = repo_root().join(".venv/bin/python");
        let py = require(
            py.to_str().unwrap(),
            "the pjsua2 peer's Python (.venv with pjsua2-python)",
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pjsua_peer.py");
        let mut child = Command::new(py)
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn pjsua peer");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut p = Pjsua {
            child,
            lines,
            port: 0,
            seen: Vec::new(),
        };
        let ready = p.wait_for(10, |v| v["ev"] == "ready").await;
        p.port = ready["port"].as_u64().expect("port") as u16;
        p
    }

    /// Wait for an event matching `pred` (events seen before are searched first).
    pub async fn wait_for(
        &mut self,
        secs: u64,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        let fut = async {
            loop {
                match self.lines.next_line().await {
                    Ok(Some(l)) => {
                        let Ok(v) = serde_json::from_str::<serde_json::Value>(&l) else {
                            continue;
                        };
                        self.seen.push(v.clone());
                        if pred(&v) {
                            return v;
                        }
                    }
                    _ => panic!(
                        "pjsua peer exited before the expected event; saw {:?}",
                        self.seen
                    ),
                }
            }
        };
        match tokio::time::timeout(Duration::from_secs(secs), fut).await {
            Ok(v) => v,
            Err(_) => panic!(
                "pjsua peer: expected event not seen in {secs}s; saw {:?}",
                self.seen
            ),
        }
    }

    /// Wait for the peer to exit by itself (it flushes its recording on exit).
    pub async fn finish(mut self, secs: u64) -> Vec<serde_json::Value> {
        let _ = self.wait_for(secs, |v| v["ev"] == "exit").await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        self.seen
    }
}

/// A baresip peer (Debian package) with its own config dir: audio source is a WAV (aufile),
/// everything it decodes and encodes is dumped to WAV (sndfile), driven over ctrl_tcp.
pub struct Baresip {
    child: Child,
    ctrl: tokio::net::TcpStream,
    buf: Vec<u8>,
    pub dir: PathBuf,
    pub sip_port: u16,
    pub seen: Vec<serde_json::Value>,
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Baresip {
    /// `source`: WAV the peer sends; `auto_answer`: answer incoming calls at once.
    pub async fn spawn(dir: &Path, source: &Path, auto_answer: bool) -> Baresip {
        let bin = require("baresip", "baresip (Debian package baresip-core)");
        let sip_port = free_port();
        let ctrl_port = free_tcp_port();
        let rtp = 40000 + (std::process::id() % 200) as u16 * 100;
        let source = &padded_wav(source, 60);
        let config = format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{sip_port}\naudio_player nothing,nothing\naudio_source aufile,{src}\naudio_alert nothing,nothing\n\
             audio_srate 8000\naudio_channels 1\nrtp_ports {rtp}-{rtp_end}\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
             module sndfile.so\nsnd_path {dir}\nmodule_app account.so\nmodule_app menu.so\nmodule_app ctrl_tcp.so\nctrl_tcp_listen 127.0.0.1:{ctrl_port}\n",
            src = source.display(),
            rtp_end = rtp + 98,
            dir = dir.display(),
        );
        std::fs::write(dir.join("config"), config).unwrap();
        let answer = if auto_answer { "auto" } else { "manual" };
        std::fs::write(
            dir.join("accounts"),
            format!("<sip:baresip@127.0.0.1:{sip_port}>;regint=0;answermode={answer}\n"),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("-f")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn baresip");
        let mut ctrl = None;
        for _ in 0..50 {
            if let Ok(s) = tokio::net::TcpStream::connect(("127.0.0.1", ctrl_port)).await {
                ctrl = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ctrl = ctrl.expect("baresip ctrl_tcp did not come up");
        Baresip {
            child,
            ctrl,
            buf: Vec::new(),
            dir: dir.to_path_buf(),
            sip_port,
            seen: Vec::new(),
        }
    }

    /// Run a baresip command (`dial sip:..`, `hangup`, `accept`).
    pub async fn command(&mut self, command: &str, params: &str) {
        use tokio::io::AsyncWriteExt;
        let json =
            serde_json::json!({"command": command, "params": params, "token": "t"}).to_string();
        let frame = format!("{}:{},", json.len(), json);
        self.ctrl
            .write_all(frame.as_bytes())
            .await
            .expect("ctrl write");
    }

    /// Wait for an event (`type` field, e.g. CALL_ESTABLISHED, CALL_CLOSED).
    pub async fn wait_event(&mut self, secs: u64, kind: &str) -> serde_json::Value {
        if let Some(v) = self.seen.iter().find(|v| v["type"] == kind) {
            return v.clone();
        }
        let fut = async {
            use tokio::io::AsyncReadExt;
            loop {
                // netstrings: "<len>:<json>,"
                while let Some(colon) = self.buf.iter().position(|b| *b == b':') {
                    let Ok(len) = std::str::from_utf8(&self.buf[..colon])
                        .unwrap_or("x")
                        .parse::<usize>()
                    else {
                        self.buf.clear();
                        break;
                    };
                    if self.buf.len() < colon + 1 + len + 1 {
                        break;
                    }
                    let body = self.buf[colon + 1..colon + 1 + len].to_vec();
                    self.buf.drain(..colon + 1 + len + 1);
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                        self.seen.push(v.clone());
                        if v["type"] == kind {
                            return v;
                        }
                    }
                }
                let mut chunk = [0u8; 4096];
                let n = self.ctrl.read(&mut chunk).await.expect("ctrl read");
                assert!(
                    n > 0,
                    "baresip closed its control connection; saw {:?}",
                    self.seen
                );
                self.buf.extend_from_slice(&chunk[..n]);
            }
        };
        match tokio::time::timeout(Duration::from_secs(secs), fut).await {
            Ok(v) => v,
            Err(_) => panic!("baresip: no {kind} within {secs}s; saw {:?}", self.seen),
        }
    }

    /// The WAV baresip dumped for decoded (received) audio.
    pub fn decoded_dump(&self) -> PathBuf {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name().is_some_and(|n| {
                    n.to_string_lossy().starts_with("dump-")
                        && n.to_string_lossy().ends_with("-dec.wav")
                })
            })
            .unwrap_or_else(|| {
                panic!(
                    "no decoded-audio dump from baresip in {}",
                    self.dir.display()
                )
            })
    }

    pub async fn quit(mut self) {
        self.command("quit", "").await;
        let _ = tokio::time::timeout(Duration::from_secs(3), self.child.wait()).await;
    }
}
