//! Whisper on real models and real (espeak-ng) speech: word accuracy on tiny.en, timestamps,
//! reduced audio_ctx, partial results, language detection with base, and bad input.

mod stt_support;

use std::sync::{Arc, OnceLock};

use stt_support::*;
use vaarta_speech::stt::{
    AudioCtxPolicy, CancelFlag, SttConfig, SttError, SttSession, TranscribeOptions, WhisperModel,
};

const SENTENCES: &[&str] = &[
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning about my order.",
    "I would like to speak with someone from the sales team.",
    "My internet connection has been very slow since last week.",
    "Can you send the invoice to my email address?",
];

fn tiny(policy: AudioCtxPolicy) -> Arc<WhisperModel> {
    let cfg = SttConfig {
        models_dir: models_dir(),
        model: "tiny.en".into(),
        audio_ctx: policy,
        ..Default::default()
    };
    whisper_dir("tiny.en");
    WhisperModel::load(&cfg).unwrap()
}

fn tiny_reduced() -> &'static Arc<WhisperModel> {
    static M: OnceLock<Arc<WhisperModel>> = OnceLock::new();
    M.get_or_init(|| tiny(AudioCtxPolicy::default()))
}

#[test]
fn tiny_en_transcribes_known_speech_with_90_percent_word_accuracy() {
    let dir = scratch("accuracy");
    for (label, model) in [
        ("full ctx", tiny(AudioCtxPolicy::Full)),
        ("reduced ctx", Arc::clone(tiny_reduced())),
    ] {
        let mut t = model.transcriber().unwrap();
        let (mut errors, mut words) = (0, 0);
        for (i, s) in SENTENCES.iter().enumerate() {
            let (pcm, _) = speak(s, "en-us", &dir, &format!("s{i}"));
            let out = t
                .transcribe(&pcm, 16_000, &TranscribeOptions::default())
                .unwrap();
            let (e, n) = word_errors(s, &out.text);
            eprintln!(
                "[{label}] {s:?} -> {:?} ({e} errors, ctx {})",
                out.text, out.audio_ctx
            );
            errors += e;
            words += n;
            assert_eq!(out.language.as_deref(), Some("en"));
            assert!(!out.segments.is_empty());
            let last = out.segments.last().unwrap();
            assert!(
                last.end_ms > 500 && last.end_ms <= out.audio_ms + 1_000,
                "segment end {} for {} ms",
                last.end_ms,
                out.audio_ms
            );
        }
        let accuracy = 1.0 - errors as f64 / words as f64;
        eprintln!(
            "[{label}] word accuracy {:.1}% ({errors} errors / {words} words)",
            accuracy * 100.0
        );
        assert!(
            accuracy >= 0.90,
            "[{label}] word accuracy {accuracy:.3} < 0.90"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn initial_prompt_is_accepted_and_nul_bytes_do_not_crash() {
    let dir = scratch("prompt");
    let (pcm, _) = speak("I want to order a pizza for dinner.", "en-us", &dir, "p");
    let mut t = tiny_reduced().transcriber().unwrap();
    let opts = TranscribeOptions {
        initial_prompt: Some("Pizza\0Hut, Domino's".into()),
        ..Default::default()
    };
    let out = t.transcribe(&pcm, 16_000, &opts).unwrap();
    assert!(
        normalise(&out.text).contains(&"pizza".to_string()),
        "{}",
        out.text
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn session_gives_partials_while_speaking_and_a_final_at_end_of_turn() {
    let dir = scratch("session");
    let sentence = "I would like to speak with someone from the sales team.";
    let (pcm, _) = speak(sentence, "en-us", &dir, "sess");
    let mut t = tiny_reduced().transcriber().unwrap();
    let mut session = SttSession::new(Default::default());
    let mut partials = Vec::new();
    for chunk in pcm.chunks(320) {
        session.push(chunk);
        if let Some(job) = session.poll_partial() {
            let r = t
                .transcribe(
                    &job.audio,
                    16_000,
                    &TranscribeOptions {
                        partial: true,
                        ..Default::default()
                    },
                )
                .unwrap();
            if let Some(text) = session.on_partial(&job, Some(&r)) {
                partials.push(text.to_string());
            }
        }
    }
    let final_text = t
        .transcribe(&session.finalize(), 16_000, &TranscribeOptions::default())
        .unwrap()
        .text;
    eprintln!("partials {partials:?}\nfinal {final_text:?}");
    assert!(partials.len() >= 2, "partials: {partials:?}");
    let first = normalise(&partials[0]);
    assert!(
        first.len() < normalise(sentence).len(),
        "first partial covers only the start"
    );
    let (e, n) = word_errors(sentence, &final_text);
    assert!(e * 10 <= n, "final {final_text:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_gives_errors_or_empty_transcripts_never_a_panic() {
    let mut t = tiny_reduced().transcriber().unwrap();
    let o = TranscribeOptions::default();
    assert!(matches!(
        t.transcribe(&[], 16_000, &o),
        Err(SttError::EmptyAudio)
    ));
    assert!(matches!(
        t.transcribe(&[0.1; 8_000], 8_000, &o),
        Err(SttError::SampleRate(8_000))
    ));
    let mut nan = vec![0.1f32; 16_000];
    nan[100] = f32::NAN;
    assert!(matches!(
        t.transcribe(&nan, 16_000, &o),
        Err(SttError::NonFinite(100))
    ));
    assert!(matches!(
        t.transcribe(&[12_000.0; 16_000], 16_000, &o),
        Err(SttError::NotNormalised(_))
    ));
    let bad_lang = TranscribeOptions {
        language: Some("xx\0".into()),
        ..Default::default()
    };
    assert!(matches!(
        t.transcribe(&[0.1; 16_000], 16_000, &bad_lang),
        Err(SttError::Language(_))
    ));
    // silence, a crumb, and a truncated utterance: empty or partial text, no error
    assert!(
        t.transcribe(&vec![0.0; 48_000], 16_000, &o)
            .unwrap()
            .is_empty()
    );
    assert!(t.transcribe(&[0.3; 400], 16_000, &o).unwrap().is_empty());
    let dir = scratch("bad");
    let (pcm, _) = speak(
        "Please call me back tomorrow morning about my order.",
        "en-us",
        &dir,
        "b",
    );
    let truncated = t.transcribe(&pcm[..pcm.len() / 3], 16_000, &o).unwrap();
    assert!(!truncated.text.is_empty());
    // clipped: 4x gain hard-limited to [-1, 1] is still recognisable
    let clipped: Vec<f32> = pcm.iter().map(|s| (s * 4.0).clamp(-1.0, 1.0)).collect();
    let out = t.transcribe(&clipped, 16_000, &o).unwrap();
    assert!(
        normalise(&out.text).contains(&"order".to_string()),
        "{}",
        out.text
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn missing_model_names_the_install_script() {
    let cfg = SttConfig {
        models_dir: scratch("nomodels"),
        ..Default::default()
    };
    let err = WhisperModel::load(&cfg).unwrap_err().to_string();
    assert!(err.contains("scripts/install-models"), "{err}");
}

#[tokio::test]
async fn pooled_transcription_reports_overload_instead_of_waiting() {
    use vaarta_speech::pool::{PoolConfig, PoolError};
    use vaarta_speech::stt::{PooledSttError, stt_pool, transcribe_pooled};
    whisper_dir("tiny.en");
    let cfg = SttConfig {
        models_dir: models_dir(),
        pool: PoolConfig {
            workers: 1,
            queue: 4,
            latency_budget_ms: 1,
        },
        ..Default::default()
    };
    let pool = Arc::new(stt_pool(&WhisperModel::load(&cfg).unwrap()).unwrap());
    let dir = scratch("pool");
    let (pcm, _) = speak(
        "Please call me back tomorrow morning about my order.",
        "en-us",
        &dir,
        "pool",
    );
    let audio: Arc<[f32]> = Arc::from(pcm);
    let (t, stats) = transcribe_pooled(&pool, Arc::clone(&audio), TranscribeOptions::default())
        .await
        .unwrap();
    assert!(
        normalise(&t.text).contains(&"order".to_string()),
        "{}",
        t.text
    );
    assert!(stats.compute.as_millis() > 0);
    // While one utterance is being transcribed, a partial is turned away at once (it is only a
    // preview) and a final is queued and served: a caller's answer is never dropped on budget.
    let busy = {
        let (pool, audio) = (Arc::clone(&pool), Arc::clone(&audio));
        tokio::spawn(
            async move { transcribe_pooled(&pool, audio, TranscribeOptions::default()).await },
        )
    };
    while pool.expected_wait().is_zero() {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let started = std::time::Instant::now();
    let partial = TranscribeOptions {
        partial: true,
        ..TranscribeOptions::default()
    };
    let err = transcribe_pooled(&pool, Arc::clone(&audio), partial)
        .await
        .unwrap_err();
    assert!(
        started.elapsed().as_millis() < 50,
        "answered without waiting"
    );
    assert!(
        matches!(err, PooledSttError::Pool(PoolError::Overloaded { .. })),
        "{err}"
    );
    let (t, stats) = transcribe_pooled(&pool, Arc::clone(&audio), TranscribeOptions::default())
        .await
        .unwrap();
    assert!(
        normalise(&t.text).contains(&"order".to_string()),
        "{}",
        t.text
    );
    assert!(stats.queue_wait.as_millis() > 0, "{stats:?}");
    busy.await.unwrap().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_cancelled_transcription_is_skipped_or_stopped_and_the_transcriber_still_works() {
    let dir = scratch("cancel");
    let sentence = "Please call me back tomorrow morning about my order.";
    let (pcm, _) = speak(sentence, "en-us", &dir, "c");
    // About 25 s of speech: a long run to interrupt.
    let mut long = Vec::new();
    while long.len() < 25 * 16_000 {
        long.extend_from_slice(&pcm);
    }
    let mut t = tiny(AudioCtxPolicy::Full).transcriber().unwrap();
    let started = std::time::Instant::now();
    let whole = t
        .transcribe(&long, 16_000, &TranscribeOptions::default())
        .unwrap();
    let full = started.elapsed();
    assert!(
        normalise(&whole.text).contains(&"order".to_string()),
        "{}",
        whole.text
    );

    // Raised before the job starts (a partial still queued when the final is asked for):
    // nothing runs.
    let flag = CancelFlag::new();
    flag.cancel();
    let opts = TranscribeOptions {
        cancel: Some(flag),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    assert!(matches!(
        t.transcribe(&long, 16_000, &opts),
        Err(SttError::Cancelled)
    ));
    assert!(
        started.elapsed() < full / 4,
        "a pre-cancelled job ran for {:?}",
        started.elapsed()
    );

    // Raised mid-run: whisper.cpp stops at its next check (after the encoder, between decoder
    // steps) and the result is Cancelled, never a half transcript.
    let flag = CancelFlag::new();
    let opts = TranscribeOptions {
        cancel: Some(flag.clone()),
        ..Default::default()
    };
    let raiser = std::thread::spawn(move || {
        std::thread::sleep(full / 8);
        flag.cancel();
    });
    let started = std::time::Instant::now();
    let res = t.transcribe(&long, 16_000, &opts);
    let cancelled = started.elapsed();
    raiser.join().unwrap();
    eprintln!("whole run {full:?}, cancelled after {cancelled:?}");
    assert!(matches!(res, Err(SttError::Cancelled)), "{res:?}");

    // The same transcriber goes on with correct results.
    let out = t
        .transcribe(&pcm, 16_000, &TranscribeOptions::default())
        .unwrap();
    let (errors, words) = word_errors(sentence, &out.text);
    assert!(errors * 5 <= words, "{:?} after a cancelled run", out.text);
    std::fs::remove_dir_all(&dir).ok();
}
