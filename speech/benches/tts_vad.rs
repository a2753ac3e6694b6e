//! TTS time to first audio and real-time factor, VAD cost per 20 ms frame, on the installed
//! models. Prints `RESULT` lines; bench/speech/run-tts-vad adds the piper-tts peer and the table.
//! With Kokoro installed, also Hindi: Kokoro's Hindi voice next to espeak-ng's fallback voice.
//!   VAARTA_MODELS_DIR=models cargo bench -p vaarta-speech --bench tts_vad -- "TEXT"

use std::path::PathBuf;
use std::time::{Duration, Instant};

use vaarta_speech::onnx::OnnxRuntimeConfig;
use vaarta_speech::tts::{KokoroConfig, Tts, TtsConfig};
use vaarta_speech::vad::{VadConfig, VadStream};

const REPS: usize = 3;
/// The Hindi text of the Kokoro and espeak-ng rows.
const HINDI: &str = "नमस्ते, आपका ऑर्डर कल तक पहुँच जाएगा। क्या मैं आपकी और कोई मदद कर सकता हूँ?";

/// Median time to the first sentence, median total time and the audio length, at 22.05 kHz.
fn measure(tts: &Tts, text: &str, lang: &str) -> (Duration, Duration, f64) {
    let _ = tts.synthesize(text, lang, 22050).expect("warm-up");
    let (mut firsts, mut totals, mut audio_secs) = (Vec::new(), Vec::new(), 0.0);
    for _ in 0..REPS {
        let start = Instant::now();
        let mut stream = tts.stream(text, lang, 22050).unwrap();
        let first = stream.next().unwrap().unwrap();
        firsts.push(start.elapsed());
        let mut samples = first.samples.len();
        for c in stream {
            samples += c.unwrap().samples.len();
        }
        totals.push(start.elapsed());
        audio_secs = samples as f64 / 22050.0;
    }
    (median(firsts), median(totals), audio_secs)
}

fn print_tts(
    engine: &str,
    lang: &str,
    threads: usize,
    (first, total, audio_secs): (Duration, Duration, f64),
) {
    println!(
        "RESULT tts engine={engine} lang={lang} threads={threads} first_ms={:.1} total_ms={:.1} audio_s={audio_secs:.3} rtf={:.4}",
        first.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        total.as_secs_f64() / audio_secs
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let models = std::env::var_os("VAARTA_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"));
    let text = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "Thank you for calling. Your order will be delivered on Friday morning. Is there anything else I can help you with today?".into());
    let runtime = OnnxRuntimeConfig {
        library: models.join("onnxruntime/libonnxruntime.so"),
        ..Default::default()
    };
    let voice = models.join("piper/en_US-joe-medium.onnx");

    let mut vad_input = std::collections::HashMap::new();
    for threads in [1usize, 2] {
        let mut config = TtsConfig {
            threads,
            normalize: false,
            kokoro: KokoroConfig {
                enabled: Some(false),
                ..Default::default()
            },
            ..Default::default()
        };
        config.voices.insert("en".into(), voice.clone());
        let tts = Tts::new(&runtime, config).expect("load voice (run scripts/install-models)");
        print_tts("vaarta", "en", threads, measure(&tts, &text, "en"));
        if threads == 1 {
            for rate in [8000u32, 16000] {
                vad_input.insert(rate, tts.synthesize(&text, "en", rate).unwrap());
            }
        }
    }

    // VAD: 60 s of speech-and-silence in 20 ms frames, as a call leg delivers it
    for rate in [8000u32, 16000] {
        let speech = &vad_input[&rate];
        let mut audio = Vec::new();
        while audio.len() < rate as usize * 60 {
            audio.extend_from_slice(speech);
            audio.extend(std::iter::repeat_n(0.0f32, rate as usize));
        }
        audio.truncate(rate as usize * 60);
        // the Python peer reads the same audio
        let dump = std::env::temp_dir().join(format!("vaarta-bench-vad-{rate}.f32"));
        std::fs::write(
            &dump,
            audio
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        )
        .unwrap();
        let vad_config = VadConfig {
            model: models.join("vad/silero_vad.onnx"),
            ..Default::default()
        };
        let mut vad = VadStream::open(&runtime, &vad_config, rate).unwrap();
        let frame = rate as usize / 50;
        vad.push(&audio[..frame * 50]).unwrap(); // warm-up
        let mut runs = Vec::new();
        let mut events = 0;
        for _ in 0..REPS {
            vad.reset();
            let start = Instant::now();
            let mut n = 0;
            for f in audio.chunks(frame) {
                n += vad.push(f).unwrap().len();
            }
            runs.push(start.elapsed());
            events = n;
        }
        let elapsed = median(runs);
        let frames = audio.len() / frame;
        println!(
            "RESULT vad engine=vaarta rate={rate} us_per_frame={:.1} frames={frames} events={events}",
            elapsed.as_secs_f64() * 1e6 / frames as f64
        );
    }

    // Hindi: Kokoro (1 and 2 threads) and espeak-ng's fallback voice, when Kokoro is installed.
    let kokoro_dir = models.join("kokoro");
    if !kokoro_dir.join("kokoro-v1.0.int8.onnx").is_file() {
        eprintln!("Kokoro not installed: no Hindi rows (run scripts/install-models)");
        return;
    }
    for (engine, threads, enabled) in [
        ("vaarta-kokoro", 1, true),
        ("vaarta-kokoro", 2, true),
        ("espeak-ng", 1, false),
    ] {
        let config = TtsConfig {
            threads,
            normalize: false,
            voices: Default::default(),
            kokoro: KokoroConfig {
                enabled: Some(enabled),
                model: kokoro_dir.join("kokoro-v1.0.int8.onnx"),
                vocab: kokoro_dir.join("vocab.json"),
                voices_dir: kokoro_dir.join("voices"),
                ..Default::default()
            },
            ..Default::default()
        };
        let tts = Tts::new(&runtime, config).expect("load Kokoro");
        print_tts(engine, "hi", threads, measure(&tts, HINDI, "hi"));
    }
}
