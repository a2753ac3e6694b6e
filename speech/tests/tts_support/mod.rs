//! Shared helpers for the VAD and TTS tests: model paths and espeak-ng/sox test speech.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use vaarta_speech::onnx::OnnxRuntimeConfig;

/// The models folder (VAARTA_MODELS_DIR, else the repo's models/); fails loudly when a model is
/// missing so a bare checkout says what to run.
pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("VAARTA_MODELS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"));
    for f in [
        "onnxruntime/libonnxruntime.so",
        "vad/silero_vad.onnx",
        "piper/en_US-joe-medium.onnx",
    ] {
        assert!(
            dir.join(f).is_file(),
            "model file {} is missing: run scripts/install-models (or set VAARTA_MODELS_DIR)",
            dir.join(f).display()
        );
    }
    dir
}

pub fn runtime() -> OnnxRuntimeConfig {
    OnnxRuntimeConfig {
        library: models_dir().join("onnxruntime/libonnxruntime.so"),
        ..Default::default()
    }
}

/// Speech from the espeak-ng command, resampled by sox to `rate`, as floats in [-1, 1].
pub fn espeak_speech(text: &str, rate: u32) -> Vec<f32> {
    let dir = std::env::temp_dir().join(format!("vaarta-ttsvad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let raw = dir.join(format!("raw-{rate}.wav"));
    let out = dir.join(format!("speech-{rate}.wav"));
    let st = Command::new("espeak-ng")
        .args(["-v", "en-us", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng not found: run scripts/setup --test");
    assert!(st.success());
    let st = Command::new("sox")
        .arg(&raw)
        .args(["-r", &rate.to_string(), "-c", "1", "-b", "16"])
        .arg(&out)
        .status()
        .expect("sox not found: run scripts/setup --test");
    assert!(st.success());
    read_wav(&out).0
}

pub fn read_wav(path: &std::path::Path) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(path).unwrap();
    let rate = r.spec().sample_rate;
    let s = r
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    (s, rate)
}

pub fn write_wav(path: &std::path::Path, samples: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// First and last sample whose magnitude exceeds 2% of the peak: the audible bounds.
pub fn audible_bounds(x: &[f32]) -> (usize, usize) {
    let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let th = peak * 0.02;
    let first = x.iter().position(|v| v.abs() > th).unwrap_or(0);
    let last = x.iter().rposition(|v| v.abs() > th).unwrap_or(0);
    (first, last)
}

pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
}

/// Deterministic white noise (xorshift), amplitude `amp`.
pub fn noise(len: usize, amp: f32) -> Vec<f32> {
    let mut s: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32 * 2.0 - 1.0) * amp
        })
        .collect()
}
