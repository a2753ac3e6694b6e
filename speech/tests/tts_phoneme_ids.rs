//! Our espeak-ng phonemes → Piper ids must equal piper-tts's for the same voice and text
//! (piper-tts is installed into .venv by scripts/setup --test).

mod tts_support;

use std::process::Command;

use tts_support::*;
use vaarta_speech::tts::{PiperVoice, espeak};

const SENTENCES: &[&str] = &[
    "Hello world, how are you?",
    "Thank you for calling; your order: shipped!",
    "Your appointment is confirmed for tomorrow morning.",
    "I can connect you to a person.",
];

#[test]
fn phoneme_ids_match_piper_tts() {
    let python = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let voice_path = models_dir().join("piper/en_US-joe-medium.onnx");
    let script = r#"
import json, sys
from piper import PiperVoice, PiperConfig
cfg = PiperConfig.from_dict(json.load(open(sys.argv[1] + ".json")))
v = PiperVoice(session=None, config=cfg)
print(json.dumps([[v.phonemes_to_ids(p) for p in v.phonemize(t)] for t in sys.argv[2:]]))
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&voice_path)
        .args(SENTENCES)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run scripts/setup --test (installs piper-tts)",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "piper-tts failed (run scripts/setup --test): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<Vec<Vec<i64>>> = serde_json::from_slice(&out.stdout).unwrap();

    let voice = PiperVoice::load(&runtime(), &voice_path, 1).unwrap();
    for (text, theirs) in SENTENCES.iter().zip(theirs) {
        assert_eq!(
            theirs.len(),
            1,
            "piper split {text:?} into several sentences"
        );
        let clauses = espeak::phonemize(None, &voice.config.espeak.voice, text).unwrap();
        let ours = voice.phoneme_ids(&clauses);
        assert_eq!(
            ours, theirs[0],
            "phoneme ids differ for {text:?} (ours from {clauses:?})"
        );
    }
}
