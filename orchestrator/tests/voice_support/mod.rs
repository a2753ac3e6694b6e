//! Test harness for call sessions: a fake transport that behaves like a paced RTP leg (what
//! the far end would hear, with `clear` cutting queued audio), a real-time caller feed built
//! from espeak-ng speech, scripted brains, and the real speech engines.

#![allow(dead_code)]

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use vaarta_orchestrator::brain::{AnswerStream, Brain, BrainError, BrainRequest};
use vaarta_orchestrator::calls::engines::SpeechEngines;
use vaarta_orchestrator::calls::session::media::{MediaError, MediaEvent, MediaPort};

pub const RATE: u32 = 8000;

/// Loads the engines once per test binary (Whisper + Piper take seconds).
pub fn engines() -> SpeechEngines {
    static ENGINES: std::sync::OnceLock<SpeechEngines> = std::sync::OnceLock::new();
    ENGINES
        .get_or_init(|| {
            let mut cfg = vaarta_orchestrator::config::SpeechConfig::default();
            cfg.stt.models_dir = vaarta_speech::onnx::default_models_dir();
            SpeechEngines::load(&cfg)
                .expect("speech models (run scripts/install-models; VAARTA_MODELS_DIR)")
        })
        .clone()
}

/// espeak-ng speech of `text`, 8 kHz mono.
pub fn speech(text: &str) -> Vec<i16> {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("s.wav");
    let st = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng installed");
    assert!(st.success());
    let mut r = hound::WavReader::open(&wav).unwrap();
    let rate = r.spec().sample_rate;
    let f: Vec<f32> = r
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let out = vaarta_speech::resample::resample(&f, rate, RATE).unwrap();
    out.iter()
        .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
        .collect()
}

/// A caller track: `(at_ms, samples)` pieces laid over silence, `total_ms` long.
pub fn track(total_ms: u64, pieces: &[(u64, &[i16])]) -> Vec<i16> {
    let mut t = vec![0i16; (total_ms * u64::from(RATE) / 1000) as usize];
    for (at, s) in pieces {
        let start = (*at * u64::from(RATE) / 1000) as usize;
        for (i, v) in s.iter().enumerate() {
            if let Some(x) = t.get_mut(start + i) {
                *x = *v;
            }
        }
    }
    t
}

/// Streams `track` to the session in 20 ms frames in real time; stops when the session ends.
pub fn feed(track: Vec<i16>, tx: mpsc::Sender<MediaEvent>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for frame in track.chunks(160) {
            tick.tick().await;
            if tx.send(MediaEvent::Audio(frame.to_vec())).await.is_err() {
                return;
            }
        }
        // Then silence until the session ends.
        loop {
            tick.tick().await;
            if tx.send(MediaEvent::Audio(vec![0; 160])).await.is_err() {
                return;
            }
        }
    });
}

#[derive(Default)]
pub struct Leg {
    /// What the far end hears, sample-accurate from `t0`.
    pub heard: Vec<i16>,
    pub clears: Vec<Duration>,
    pub hangups: usize,
    pub transfers: Vec<String>,
    /// (time, samples) of every play call.
    pub plays: Vec<(Duration, usize)>,
}

/// A transport that plays out in real time like an RTP pacer.
#[derive(Clone)]
pub struct FakeMedia {
    pub t0: Instant,
    pub leg: Arc<Mutex<Leg>>,
    /// Where transfer results go (the session's event channel).
    pub events: mpsc::Sender<MediaEvent>,
    /// Answer transfers with this result (None: never answer).
    pub transfer_ok: Option<bool>,
}

impl FakeMedia {
    fn now_index(&self) -> usize {
        (self.t0.elapsed().as_micros() as u64 * u64::from(RATE) / 1_000_000) as usize
    }
    pub fn heard(&self) -> Vec<i16> {
        self.leg.lock().unwrap().heard.clone()
    }
}

impl MediaPort for FakeMedia {
    fn sample_rate(&self) -> u32 {
        RATE
    }
    async fn play(&self, pcm: Vec<i16>) -> Result<(), MediaError> {
        let now = self.now_index();
        let mut leg = self.leg.lock().unwrap();
        leg.plays.push((self.t0.elapsed(), pcm.len()));
        if leg.heard.len() < now {
            leg.heard.resize(now, 0);
        }
        leg.heard.extend(pcm);
        Ok(())
    }
    async fn clear(&self) -> Result<(), MediaError> {
        let now = self.now_index();
        let mut leg = self.leg.lock().unwrap();
        leg.clears.push(self.t0.elapsed());
        leg.heard.truncate(now);
        Ok(())
    }
    async fn hangup(&self) -> Result<(), MediaError> {
        self.leg.lock().unwrap().hangups += 1;
        Ok(())
    }
    async fn transfer(&self, destination: &str) -> Result<(), MediaError> {
        self.leg
            .lock()
            .unwrap()
            .transfers
            .push(destination.to_string());
        if let Some(ok) = self.transfer_ok {
            let tx = self.events.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let _ = tx
                    .send(MediaEvent::TransferResult {
                        ok,
                        detail: "test".into(),
                    })
                    .await;
            });
        }
        Ok(())
    }
}

/// A brain that answers `text` after `delay`, in two pieces, or fails.
pub struct ScriptedBrain {
    pub delay: Duration,
    pub answer: Result<String, String>,
    pub asked: Arc<Mutex<Vec<BrainRequest>>>,
}

impl Brain for ScriptedBrain {
    fn answer(
        &self,
        request: BrainRequest,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<AnswerStream, BrainError>> + Send + '_>>
    {
        self.asked.lock().unwrap().push(request);
        let (delay, answer) = (self.delay, self.answer.clone());
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            let text = answer.map_err(BrainError::Unavailable)?;
            let mid = text.len() / 2;
            let cut = text[..mid].rfind(' ').unwrap_or(mid);
            let parts: Vec<Result<String, BrainError>> =
                vec![Ok(text[..cut].to_string()), Ok(text[cut..].to_string())];
            Ok(Box::pin(futures::stream::iter(parts)) as AnswerStream)
        })
    }
}

/// Transcribes bot audio (8 kHz) with the engines' Whisper.
pub async fn transcribe(engines: &SpeechEngines, pcm: &[i16]) -> String {
    let f: Vec<f32> = pcm.iter().map(|s| f32::from(*s) / 32768.0).collect();
    let wide = vaarta_speech::resample::resample(&f, RATE, 16_000).unwrap();
    let (t, _) =
        vaarta_speech::stt::transcribe_pooled(&engines.stt, wide.into(), Default::default())
            .await
            .unwrap();
    t.text.to_lowercase()
}

/// RMS energy per 20 ms window.
pub fn energy(pcm: &[i16]) -> Vec<f64> {
    pcm.chunks(160)
        .map(|c| {
            (c.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / c.len() as f64).sqrt()
        })
        .collect()
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}
