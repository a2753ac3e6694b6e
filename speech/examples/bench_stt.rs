//! STT benchmark: whisper-rs real-time factor per model, thread count and audio_ctx policy,
//! side by side with faster-whisper on the same CT2 model files and audio (its timings are
//! measured by `bench/speech/fw_bench.py` in the same run and passed in as JSON).
//!
//!   cargo run -p vaarta-speech --example bench_stt -- \
//!       --models models --reference fw.json a.wav b.wav ...

use std::path::PathBuf;
use std::time::Instant;

use vaarta_speech::stt::{AudioCtxPolicy, SttConfig, TranscribeOptions, WhisperModel};

#[derive(serde::Deserialize)]
struct FwRow {
    model: String,
    compute_type: String,
    threads: usize,
    audio_s: f64,
    compute_s: f64,
}

fn read_wav(path: &PathBuf) -> Vec<f32> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        r.spec().sample_rate,
        16_000,
        "{}: need 16 kHz",
        path.display()
    );
    r.samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect()
}

fn main() {
    let mut models_dir = PathBuf::from("models");
    let mut reference: Option<PathBuf> = None;
    let mut wavs = Vec::new();
    let mut names = vec!["tiny.en".to_string(), "base".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--models" => models_dir = args.next().expect("--models DIR").into(),
            "--reference" => reference = Some(args.next().expect("--reference FILE").into()),
            "--model" => {
                names = args
                    .next()
                    .expect("--model a,b")
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            _ => wavs.push(PathBuf::from(a)),
        }
    }
    assert!(!wavs.is_empty(), "give 16 kHz WAV files to transcribe");
    let audio: Vec<Vec<f32>> = wavs.iter().map(read_wav).collect();
    let audio_s: f64 = audio.iter().map(|a| a.len() as f64 / 16_000.0).sum();
    let fw: Vec<FwRow> = reference
        .map(|p| {
            serde_json::from_str(&std::fs::read_to_string(&p).expect("reference JSON"))
                .expect("reference rows")
        })
        .unwrap_or_default();

    println!(
        "STT real-time factor (compute time / audio time, lower is faster); {} files, {audio_s:.1} s of speech",
        wavs.len()
    );
    println!(
        "| engine | model | threads | setting | RTF | speed vs faster-whisper int8 (same threads) |"
    );
    println!("|---|---|---|---|---|---|");
    for name in &names {
        for threads in [1usize, 2] {
            let fw_int8 = fw
                .iter()
                .find(|r| &r.model == name && r.threads == threads && r.compute_type == "int8");
            for (label, policy) in [
                ("full audio_ctx", AudioCtxPolicy::Full),
                ("reduced audio_ctx", AudioCtxPolicy::default()),
            ] {
                let cfg = SttConfig {
                    models_dir: models_dir.clone(),
                    model: name.clone(),
                    threads,
                    audio_ctx: policy,
                    language: Some("en".into()),
                    ..Default::default()
                };
                let model = WhisperModel::load(&cfg).expect("model (run scripts/install-models)");
                let mut t = model.transcriber().expect("state");
                let opts = TranscribeOptions::default();
                t.transcribe(&audio[0], 16_000, &opts).expect("warm-up");
                let start = Instant::now();
                for a in &audio {
                    t.transcribe(a, 16_000, &opts).expect("transcribe");
                }
                let rtf = start.elapsed().as_secs_f64() / audio_s;
                let ratio = fw_int8
                    .map(|r| format!("{:.2}x", (r.compute_s / r.audio_s) / rtf))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "| whisper-rs (GGML f16) | {name} | {threads} | {label} | {rtf:.3} | {ratio} |"
                );
            }
            for r in fw
                .iter()
                .filter(|r| &r.model == name && r.threads == threads)
            {
                println!(
                    "| faster-whisper ({}) | {name} | {threads} | full (fixed 30 s) | {:.3} | {} |",
                    r.compute_type,
                    r.compute_s / r.audio_s,
                    if r.compute_type == "int8" {
                        "1.00x".to_string()
                    } else {
                        format!(
                            "{:.2}x",
                            fw_int8
                                .map(|i| i.compute_s / r.compute_s)
                                .unwrap_or(f64::NAN)
                        )
                    }
                );
            }
        }
    }
}
