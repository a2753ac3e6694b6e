//! Language detection per utterance with the multilingual base model (converted from the
//! two-part CT2 package): English vs Hindi espeak-ng speech.

mod stt_support;

use stt_support::*;
use vaarta_speech::stt::{SttConfig, TranscribeOptions, WhisperModel};

#[test]
fn base_model_tells_english_from_hindi() {
    whisper_dir("base");
    let cfg = SttConfig {
        models_dir: models_dir(),
        model: "base".into(),
        ..Default::default()
    };
    let model = WhisperModel::load(&cfg).unwrap();
    assert!(model.is_multilingual());
    let mut t = model.transcriber().unwrap();
    let dir = scratch("lang");
    let o = TranscribeOptions::default();

    let (en, _) = speak(
        "Hello, I would like to know the status of my order.",
        "en-us",
        &dir,
        "en",
    );
    let r = t.transcribe(&en, 16_000, &o).unwrap();
    eprintln!("en -> {:?} {:?}", r.language, r.text);
    assert_eq!(r.language.as_deref(), Some("en"));
    assert!(
        normalise(&r.text).contains(&"order".to_string()),
        "{}",
        r.text
    );

    let (hi, _) = speak(
        "नमस्ते, मुझे अपने ऑर्डर के बारे में जानकारी चाहिए। क्या आप मेरी मदद कर सकते हैं?",
        "hi",
        &dir,
        "hi",
    );
    let r = t.transcribe(&hi, 16_000, &o).unwrap();
    eprintln!("hi -> {:?} {:?}", r.language, r.text);
    assert_eq!(r.language.as_deref(), Some("hi"));
    assert!(!r.text.is_empty());

    // A fixed language per call overrides detection.
    let r = t
        .transcribe(
            &en,
            16_000,
            &TranscribeOptions {
                language: Some("en".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(r.language.as_deref(), Some("en"));
    assert_eq!(r.heard_language, None);

    // Detection outside the expected languages is re-decided among them and reported.
    let only_pa = SttConfig {
        detect_languages: vec!["pa".into()],
        ..cfg
    };
    let mut t = WhisperModel::load(&only_pa).unwrap().transcriber().unwrap();
    let r = t.transcribe(&en, 16_000, &o).unwrap();
    eprintln!(
        "en with detect_languages=[pa] -> {:?} heard {:?} {:?}",
        r.language, r.heard_language, r.text
    );
    assert_eq!(r.heard_language.as_deref(), Some("en"));
    assert_eq!(r.language.as_deref(), Some("pa"));
    std::fs::remove_dir_all(&dir).ok();
}
