//! TTS → STT round trips on the real models: Piper speaks a sentence, whisper tiny.en must hear
//! it back. Covers the widget rate (16 kHz) and the telephone path (8 kHz, then up to 16 kHz as
//! the voice loop does for SIP calls).

mod stt_support;
mod tts_support;

use stt_support::word_errors;
use vaarta_speech::resample::resample;
use vaarta_speech::stt::{SttConfig, TranscribeOptions, WhisperModel};
use vaarta_speech::tts::{Tts, TtsConfig};

const SENTENCES: &[&str] = &[
    "Your order will be delivered on Friday morning.",
    "Thank you for calling, how can I help you today?",
    "I will connect you to our sales team now.",
];

fn tts() -> Tts {
    let mut config = TtsConfig::default();
    config.voices.insert(
        "en".into(),
        tts_support::models_dir().join("piper/en_US-joe-medium.onnx"),
    );
    Tts::new(&tts_support::runtime(), config).expect("load Piper voice")
}

fn round_trip_accuracy(out_rate: u32) -> f64 {
    stt_support::whisper_dir("tiny.en");
    let stt = WhisperModel::load(&SttConfig {
        models_dir: stt_support::models_dir(),
        model: "tiny.en".into(),
        ..Default::default()
    })
    .unwrap();
    let mut transcriber = stt.transcriber().unwrap();
    let tts = tts();
    let (mut errors, mut words) = (0, 0);
    for s in SENTENCES {
        let audio = tts.synthesize(s, "en", out_rate).unwrap();
        let pcm16k = if out_rate == 16_000 {
            audio
        } else {
            resample(&audio, out_rate, 16_000).unwrap()
        };
        let heard = transcriber
            .transcribe(&pcm16k, 16_000, &TranscribeOptions::default())
            .unwrap();
        let (e, n) = word_errors(s, &heard.text);
        eprintln!("[{out_rate} Hz] {s:?} -> {:?} ({e} errors)", heard.text);
        errors += e;
        words += n;
    }
    1.0 - errors as f64 / words as f64
}

#[test]
fn piper_speech_at_16khz_is_heard_back_by_whisper() {
    let accuracy = round_trip_accuracy(16_000);
    assert!(
        accuracy >= 0.9,
        "16 kHz round-trip word accuracy {accuracy:.3} < 0.9"
    );
}

#[test]
fn piper_speech_at_telephone_rate_is_heard_back_by_whisper() {
    let accuracy = round_trip_accuracy(8_000);
    assert!(
        accuracy >= 0.85,
        "8 kHz round-trip word accuracy {accuracy:.3} < 0.85"
    );
}
