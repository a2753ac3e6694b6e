//! Silero VAD on real speech: espeak-ng speech padded with known silence, fed in 20 ms
//! telephone frames, must give speech bounds within ±100 ms at 8 kHz and 16 kHz.

mod tts_support;

use std::time::Duration;

use tts_support::*;
use vaarta_speech::vad::{VadConfig, VadEvent, VadStream};

const TEXT: &str =
    "Hello, thank you for calling. Your order has been shipped and will arrive on Monday.";

fn vad_config() -> VadConfig {
    VadConfig {
        model: models_dir().join("vad/silero_vad.onnx"),
        ..Default::default()
    }
}

fn run_vad(samples: &[f32], rate: u32) -> Vec<VadEvent> {
    let mut vad = VadStream::open(&runtime(), &vad_config(), rate).expect("open VAD");
    let frame = rate as usize / 50; // 20 ms
    let mut events = Vec::new();
    for f in samples.chunks(frame) {
        events.extend(vad.push(f).expect("vad push"));
    }
    events.extend(vad.finish());
    events
}

fn check_bounds(rate: u32) {
    let speech = espeak_speech(TEXT, rate);
    let (first, last) = audible_bounds(&speech);
    let lead = rate as usize; // 1.0 s of silence before
    let trail = rate as usize * 3 / 2; // 1.5 s after
    let mut audio = vec![0.0f32; lead];
    audio.extend_from_slice(&speech);
    audio.extend(std::iter::repeat_n(0.0, trail));
    let true_start = Duration::from_secs_f64((lead + first) as f64 / rate as f64);
    let true_end = Duration::from_secs_f64((lead + last) as f64 / rate as f64);

    let events = run_vad(&audio, rate);
    let starts: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            VadEvent::SpeechStart { at } => Some(*at),
            _ => None,
        })
        .collect();
    let ends: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            VadEvent::SpeechEnd { at } => Some(*at),
            _ => None,
        })
        .collect();
    assert!(
        !starts.is_empty() && !ends.is_empty(),
        "no speech found at {rate} Hz: {events:?}"
    );
    let (start, end) = (starts[0], *ends.last().unwrap());
    let tol = 0.100;
    let ds = start.as_secs_f64() - true_start.as_secs_f64();
    let de = end.as_secs_f64() - true_end.as_secs_f64();
    eprintln!(
        "{rate} Hz: true {true_start:?}..{true_end:?}, vad {start:?}..{end:?} ({} segments)",
        starts.len()
    );
    assert!(
        ds.abs() <= tol,
        "{rate} Hz start off by {ds:.3} s ({start:?} vs {true_start:?})"
    );
    assert!(
        de.abs() <= tol,
        "{rate} Hz end off by {de:.3} s ({end:?} vs {true_end:?})"
    );
    // the speech in between is one utterance: no split longer than the configured min silence
    assert_eq!(
        starts.len(),
        1,
        "speech split into several segments: {events:?}"
    );
}

#[test]
fn speech_bounds_at_8khz() {
    check_bounds(8000);
}

#[test]
fn speech_bounds_at_16khz() {
    check_bounds(16000);
}

#[test]
fn silence_and_noise_give_no_speech() {
    for rate in [8000, 16000] {
        let silence = vec![0.0f32; rate as usize * 3];
        assert!(
            run_vad(&silence, rate).is_empty(),
            "speech in silence at {rate} Hz"
        );
        let hiss = noise(rate as usize * 3, 0.05);
        assert!(
            run_vad(&hiss, rate).is_empty(),
            "speech in white noise at {rate} Hz"
        );
    }
}

#[test]
fn i16_frames_and_odd_frame_sizes_agree_with_float_frames() {
    let rate = 8000;
    let mut audio = vec![0.0f32; 8000];
    audio.extend(espeak_speech("Good morning", rate));
    audio.extend(vec![0.0f32; 8000]);
    let float_events = run_vad(&audio, rate);
    let mut vad = VadStream::open(&runtime(), &vad_config(), rate).unwrap();
    let pcm: Vec<i16> = audio.iter().map(|v| (v * 32767.0) as i16).collect();
    let mut ev = Vec::new();
    for f in pcm.chunks(77) {
        ev.extend(vad.push_i16(f).unwrap());
    }
    ev.extend(vad.finish());
    assert_eq!(ev.len(), float_events.len(), "{ev:?} vs {float_events:?}");
    assert!(!ev.is_empty());
}

#[test]
fn bad_rates_and_missing_model_are_clear_errors() {
    let err = VadStream::open(&runtime(), &vad_config(), 44100)
        .err()
        .expect("44.1 kHz must fail");
    assert!(err.to_string().contains("8000 and 16000"), "{err}");
    let cfg = VadConfig {
        model: "/nonexistent/silero.onnx".into(),
        ..vad_config()
    };
    let err = VadStream::open(&runtime(), &cfg, 8000)
        .err()
        .expect("missing model must fail");
    assert!(err.to_string().contains("install-models"), "{err}");
}

#[test]
fn broken_samples_do_not_poison_the_stream() {
    let rate = 16000;
    let mut vad = VadStream::open(&runtime(), &vad_config(), rate).unwrap();
    let mut junk = vec![f32::NAN; 3200];
    junk.extend(vec![f32::INFINITY; 3200]);
    junk.extend(vec![7.5f32; 3200]);
    vad.push(&junk).unwrap();
    assert!(vad.last_probability().is_finite());
    vad.finish();
    vad.reset();
    // afterwards, real speech is still found
    let mut audio = vec![0.0f32; rate as usize / 2];
    audio.extend(espeak_speech("Good morning, this is a test", rate));
    audio.extend(vec![0.0f32; rate as usize]);
    let mut events = vad.push(&audio).unwrap();
    events.extend(vad.finish());
    assert!(
        matches!(events.first(), Some(VadEvent::SpeechStart { .. })),
        "{events:?}"
    );
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_a_clear_error() {
    let runtime = vaarta_speech::onnx::OnnxRuntimeConfig {
        device: vaarta_speech::onnx::OnnxDevice::Cuda,
        ..runtime()
    };
    let err = VadStream::open(&runtime, &vad_config(), 8000)
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("`cuda` feature"), "{err}");
}
