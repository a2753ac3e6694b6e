//! Test recordings for the decode and file-transcription tests: espeak-ng speech written by
//! sox (WAV variants, FLAC, OGG/Vorbis), lame (MP3) and ffmpeg (M4A/AAC). A missing tool
//! fails the test with the command to run.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch directory for one test (unique per process and name).
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vaarta-decode-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a tool; panics naming the tool and the setup script when it is missing or fails.
/// sox runs without dither (`-D`) so every fixture is identical from run to run.
pub fn run(tool: &str, args: &[&str]) {
    let global: &[&str] = if tool == "sox" { &["-D"] } else { &[] };
    let out = Command::new(tool).args(global).args(args).output().unwrap_or_else(|e| {
        panic!("{tool} is not runnable ({e}): run scripts/setup --test (scripts/setup-test.d/45-audio-tools.sh)")
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// espeak-ng speech of `text` (22.05 kHz mono WAV), padded with `lead_s` of silence before
/// and `trail_s` after.
pub fn speech_wav(dir: &Path, name: &str, text: &str, lead_s: f32, trail_s: f32) -> PathBuf {
    let raw = dir.join(format!("{name}-raw.wav"));
    let out = dir.join(format!("{name}.wav"));
    run(
        "espeak-ng",
        &["-v", "en-us", "-s", "150", "-w", s(&raw), text],
    );
    run(
        "sox",
        &[
            s(&raw),
            s(&out),
            "pad",
            &lead_s.to_string(),
            &trail_s.to_string(),
        ],
    );
    out
}

/// Every accepted format: (file name, how to make it from a source WAV).
pub const FORMATS: &[&str] = &[
    "pcm16-16k.wav",
    "pcm24-44k.wav",
    "pcm32-48k.wav",
    "float-22k.wav",
    "ulaw-8k.wav",
    "alaw-8k.wav",
    "speech.flac",
    "speech.ogg",
    "speech.mp3",
    "speech.m4a",
];

/// Encodes `src` (a WAV) into the format named by `name` (one of [`FORMATS`]) in `dir`.
pub fn encode(src: &Path, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let (i, o) = (s(src), s(&out));
    match name {
        "pcm16-16k.wav" => run("sox", &[i, "-r", "16000", "-b", "16", o]),
        "pcm24-44k.wav" => run("sox", &[i, "-r", "44100", "-b", "24", o]),
        "pcm32-48k.wav" => run(
            "sox",
            &[i, "-r", "48000", "-b", "32", "-e", "signed-integer", o],
        ),
        "float-22k.wav" => run("sox", &[i, "-b", "32", "-e", "floating-point", o]),
        "ulaw-8k.wav" => run("sox", &[i, "-r", "8000", "-e", "u-law", "-b", "8", o]),
        "alaw-8k.wav" => run("sox", &[i, "-r", "8000", "-e", "a-law", "-b", "8", o]),
        "speech.flac" => run("sox", &[i, "-r", "16000", o]),
        "speech.ogg" => run("sox", &[i, "-r", "44100", "-C", "3", o]),
        "speech.mp3" => run("lame", &["--quiet", "-b", "96", i, o]),
        "speech.m4a" => run(
            "ffmpeg",
            &[
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-i",
                i,
                "-c:a",
                "aac",
                "-b:a",
                "64k",
                o,
            ],
        ),
        other => panic!("unknown test format {other}"),
    }
    out
}

/// Duration of an audio file as sox reports it, in seconds.
pub fn sox_seconds(path: &Path) -> f64 {
    let out = Command::new("soxi")
        .arg("-D")
        .arg(path)
        .output()
        .expect("soxi not runnable: run scripts/setup --test");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// A stereo WAV from two mono WAVs (left, right), each padded to start at its offset.
pub fn stereo(dir: &Path, name: &str, left: &Path, right: &Path, rate: u32) -> PathBuf {
    let out = dir.join(name);
    run(
        "sox",
        &[
            "-M",
            s(left),
            s(right),
            "-r",
            &rate.to_string(),
            "-b",
            "16",
            s(&out),
        ],
    );
    out
}

/// Deterministic pseudo-random bytes (xorshift), for fuzz-like inputs.
pub fn noise_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
