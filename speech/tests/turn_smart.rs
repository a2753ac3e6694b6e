//! Smart Turn v3.2 on real (synthesised) speech: a finished question sounds complete, the same
//! question stopped mid-sentence sounds less complete. Needs `models/turn` (scripts/install-models).
//!
//! The comparison uses the TTS's espeak-ng path because it is deterministic: Piper samples
//! noise (durations change from run to run) and the model is sensitive enough that one run's
//! probability says little. Piper's complete question is checked too, over several syntheses.

mod tts_support;

use tts_support::*;
use vaarta_speech::tts::{Tts, TtsConfig};
use vaarta_speech::turn::SmartTurn;

const RATE: u32 = 16_000;
const COMPLETE: &str = "What is the status of my order?";
const CUT: &str = "What is the status of my";
/// Silences after speech the model may be asked at (short silence, VAD end, a late run).
const TAILS_MS: [usize; 3] = [160, 200, 300];

fn model() -> SmartTurn {
    let path = models_dir().join("turn/smart-turn-v3.2-cpu.onnx");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-models",
        path.display()
    );
    SmartTurn::load(&runtime(), &path, 1).expect("load Smart Turn")
}

fn tts(piper: bool) -> Tts {
    let mut config = TtsConfig::default();
    config.voices.clear();
    if piper {
        config.voices.insert(
            "en".into(),
            models_dir().join("piper/en_US-joe-medium.onnx"),
        );
    }
    Tts::new(&runtime(), config).expect("TTS")
}

/// What the decider hands the model: 500 ms before speech, the speech, `tail_ms` of silence.
fn as_turn(speech: &[f32], tail_ms: usize) -> Vec<f32> {
    let (first, last) = audible_bounds(speech);
    let mut turn = vec![0.0; RATE as usize / 2];
    turn.extend_from_slice(&speech[first..=last]);
    turn.extend(std::iter::repeat_n(0.0, tail_ms * RATE as usize / 1000));
    turn
}

/// P(complete) for each tail in [`TAILS_MS`].
fn probabilities(m: &mut SmartTurn, speech: &[f32]) -> Vec<f32> {
    TAILS_MS
        .iter()
        .map(|&t| m.predict(&as_turn(speech, t)).unwrap())
        .collect()
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len() as f32
}

#[test]
fn a_finished_question_is_complete_and_a_cut_one_is_not() {
    let mut m = model();
    let espeak = tts(false);
    let full = probabilities(&mut m, &espeak.synthesize(COMPLETE, "en", RATE).unwrap());
    let cut = probabilities(&mut m, &espeak.synthesize(CUT, "en", RATE).unwrap());
    eprintln!("P(complete) after {TAILS_MS:?} ms: {COMPLETE:?} {full:.3?}, {CUT:?} {cut:.3?}");
    for p in &full {
        assert!(*p >= 0.5, "complete question: {full:?}");
    }
    assert!(
        mean(&full) - mean(&cut) >= 0.3,
        "complete {full:?} vs cut {cut:?}"
    );
    assert!(mean(&cut) < 0.5, "cut question: {cut:?}");
}

#[test]
fn piper_complete_question_is_complete() {
    let mut m = model();
    let piper = tts(true);
    let runs: Vec<f32> = (0..3)
        .map(|_| {
            let speech = piper.synthesize(COMPLETE, "en", RATE).unwrap();
            m.predict(&as_turn(&speech, 200)).unwrap()
        })
        .collect();
    eprintln!("Piper {COMPLETE:?} P(complete) over 3 syntheses: {runs:.3?}");
    assert!(mean(&runs) >= 0.5, "{runs:?}");
}

#[test]
fn silence_and_odd_lengths_give_a_probability() {
    let mut m = model();
    for audio in [
        vec![0.0f32; 100],
        vec![0.0; 16_000 * 12],
        noise(16_000, 0.01),
    ] {
        let p = m.predict(&audio).unwrap();
        assert!((0.0..=1.0).contains(&p), "{p}");
    }
    let speech = as_turn(&tts(false).synthesize("Yes.", "en", RATE).unwrap(), 200);
    let start = std::time::Instant::now();
    let p = m.predict(&speech).unwrap();
    eprintln!("'Yes.' P(complete) {p:.3} in {:?}", start.elapsed());
}
