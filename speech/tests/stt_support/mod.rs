//! Shared helpers for the STT tests: model location, espeak-ng test speech, word error rate.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `VAARTA_MODELS_DIR`, or `<repo>/models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("VAARTA_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../models"))
}

/// The CT2 directory of an installed Whisper model; fails loudly when it is missing.
pub fn whisper_dir(name: &str) -> PathBuf {
    let dir = models_dir().join("whisper").join(name);
    assert!(
        dir.join("model.bin").is_file(),
        "Whisper model {name} is missing at {}: run scripts/install-models (or set VAARTA_MODELS_DIR)",
        dir.display()
    );
    dir
}

/// A scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vaarta-stt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Speech for `text` from espeak-ng (`voice` e.g. `en-us`, `hi`), resampled by sox to
/// 16 kHz mono; returns the samples and the WAV path (for faster-whisper).
pub fn speak(text: &str, voice: &str, dir: &Path, name: &str) -> (Vec<f32>, PathBuf) {
    let raw = dir.join(format!("{name}-espeak.wav"));
    let wav = dir.join(format!("{name}.wav"));
    let ok = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .unwrap_or_else(|e| panic!("espeak-ng not runnable ({e}): run scripts/setup --test"));
    assert!(ok.success(), "espeak-ng failed");
    let ok = Command::new("sox")
        .arg(&raw)
        .args(["-r", "16000", "-c", "1", "-b", "16"])
        .arg(&wav)
        .status()
        .unwrap_or_else(|e| panic!("sox not runnable ({e}): run scripts/setup --test"));
    assert!(ok.success(), "sox failed");
    (read_wav(&wav), wav)
}

/// 16-bit mono WAV → f32 samples.
pub fn read_wav(path: &Path) -> Vec<f32> {
    let mut r = hound::WavReader::open(path).unwrap();
    assert_eq!(r.spec().sample_rate, 16_000);
    r.samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect()
}

/// Lower-case words with punctuation removed.
pub fn normalise(text: &str) -> Vec<String> {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word-level edit distance between reference and hypothesis (after normalising).
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for i in 1..=r.len() {
        let mut cur = vec![i; h.len() + 1];
        for j in 1..=h.len() {
            let sub = prev[j - 1] + usize::from(r[i - 1] != h[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    (prev[h.len()], r.len())
}

/// The repo's Python (with faster-whisper, from `scripts/setup --test`).
pub fn venv_python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        py.is_file(),
        "{} missing: run scripts/setup --test",
        py.display()
    );
    py
}

/// faster-whisper's transcripts of `wavs` with the CT2 model in `model_dir` (greedy, CPU,
/// one process so the model loads once).
pub fn faster_whisper(model_dir: &Path, wavs: &[PathBuf]) -> Vec<String> {
    let script = r#"
import sys
from faster_whisper import WhisperModel
m = WhisperModel(sys.argv[1], device="cpu", compute_type="float32", cpu_threads=1)
for wav in sys.argv[2:]:
    segs, info = m.transcribe(wav, beam_size=1, temperature=0.0, condition_on_previous_text=False, vad_filter=False)
    print(" ".join(s.text.strip() for s in segs).replace("\n", " "))
"#;
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(script)
        .arg(model_dir)
        .args(wavs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "faster-whisper failed (run scripts/setup --test): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(
        lines.len(),
        wavs.len(),
        "one transcript per file: {lines:?}"
    );
    lines
}
