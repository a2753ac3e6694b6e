//! The file transcription pipeline on real models (tiny.en, Silero VAD) and real encoded
//! recordings: words right (≥ 90%) in every format, speakers right by stereo channel,
//! timestamps within 0.5 s, resumable from saved chunks, bad files named.

mod decode_support;
mod stt_support;

use std::path::Path;
use std::sync::Arc;

use decode_support::*;
use vaarta_speech::decode::{DecodeConfig, DecodedAudio, decode_file};
use vaarta_speech::file_transcribe::*;
use vaarta_speech::onnx::OnnxRuntimeConfig;
use vaarta_speech::stt::{SttConfig, Transcriber, WhisperModel};
use vaarta_speech::vad::VadConfig;

const AGENT: &str = "Good morning, thank you for calling. How can I help you today?";
// espeak-ng sentences tiny.en recognises reliably (see the STT tests for its limits).
const CUSTOMER: &str = "Yes, I want to know when my parcel will be delivered.";

fn models() -> std::path::PathBuf {
    let dir = stt_support::models_dir();
    for f in [
        "onnxruntime/libonnxruntime.so",
        "vad/silero_vad.onnx",
        "whisper/tiny.en/model.bin",
    ] {
        assert!(
            dir.join(f).is_file(),
            "model file {} is missing: run scripts/install-models (or set VAARTA_MODELS_DIR)",
            dir.join(f).display()
        );
    }
    dir
}

fn runtime() -> OnnxRuntimeConfig {
    OnnxRuntimeConfig {
        library: models().join("onnxruntime/libonnxruntime.so"),
        ..Default::default()
    }
}

fn config() -> FileTranscribeConfig {
    FileTranscribeConfig {
        vad: VadConfig {
            model: models().join("vad/silero_vad.onnx"),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn transcriber() -> Transcriber {
    let cfg = SttConfig {
        models_dir: models(),
        model: "tiny.en".into(),
        ..Default::default()
    };
    let model: Arc<WhisperModel> = WhisperModel::load(&cfg).expect("load tiny.en");
    model.transcriber().unwrap()
}

fn accuracy(reference: &str, hyp: &str) -> f64 {
    let (errors, words) = stt_support::word_errors(reference, hyp);
    1.0 - errors as f64 / words as f64
}

/// First and last audible moment (ms) of a channel: 10 ms windows with rms above 0.01.
fn audible_ms(samples: &[f32]) -> (u64, u64) {
    let loud: Vec<usize> = samples
        .chunks(160)
        .enumerate()
        .filter(|(_, w)| (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt() > 0.01)
        .map(|(i, _)| i)
        .collect();
    (loud[0] as u64 * 10, (*loud.last().unwrap() as u64 + 1) * 10)
}

fn run_all(
    audio: &DecodedAudio,
    t: &mut Transcriber,
    cfg: &FileTranscribeConfig,
) -> (TranscriptionPlan, FileTranscript) {
    let mut vad = open_vad(&runtime(), cfg).unwrap();
    let plan = plan(audio, &mut vad, cfg).unwrap();
    let results = transcribe_chunks(audio, &plan, &[], t, cfg, |_, _| {}, |_| {}).unwrap();
    (plan.clone(), assemble(&plan, &results))
}

fn assert_near(what: &str, got_ms: u64, truth_ms: u64) {
    let d = got_ms as i64 - truth_ms as i64;
    assert!(
        d.abs() <= 500,
        "{what}: {got_ms} ms vs truth {truth_ms} ms (off by {d} ms)"
    );
}

#[test]
fn every_format_transcribes_with_right_words_and_times() {
    let dir = scratch("ft-formats");
    let src = speech_wav(&dir, "src", AGENT, 1.0, 0.7);
    let truth = decode_file(&src, &DecodeConfig::default()).unwrap();
    let (t0, t1) = audible_ms(&truth.channels[0]);
    let mut t = transcriber();
    let cfg = config();
    for name in FORMATS {
        let audio = decode_file(&encode(&src, &dir, name), &cfg.decode).unwrap();
        let (_, tr) = run_all(&audio, &mut t, &cfg);
        eprintln!(
            "{name}: {:?} | {}..{} ms (truth {t0}..{t1})",
            tr.text,
            tr.segments[0].start_ms,
            tr.segments.last().unwrap().end_ms
        );
        let acc = accuracy(AGENT, &tr.text);
        assert!(acc >= 0.9, "{name}: word accuracy {acc:.2}: {:?}", tr.text);
        assert_eq!(tr.languages, ["en"], "{name}");
        assert_near(&format!("{name} start"), tr.segments[0].start_ms, t0);
        assert_near(
            &format!("{name} end"),
            tr.segments.last().unwrap().end_ms,
            t1,
        );
        assert!(
            tr.segments
                .iter()
                .all(|s| s.speaker == "speaker_1" && s.channel == 0)
        );
        assert!(
            tr.segments
                .iter()
                .all(|s| (0.0..=1.0).contains(&s.confidence))
        );
        assert_near(
            &format!("{name} duration"),
            tr.duration_ms,
            (truth.duration.as_millis()) as u64,
        );
    }
}

/// Agent on the left from 0.5 s, customer on the right after the agent finished.
fn call_recording(dir: &Path, ext: &str) -> std::path::PathBuf {
    let agent = speech_wav(dir, "agent", AGENT, 0.5, 0.0);
    let agent_s = sox_seconds(&agent);
    let customer = speech_wav(dir, "customer", CUSTOMER, agent_s as f32 + 0.8, 0.8);
    let agent_padded = dir.join("agent-padded.wav");
    run(
        "sox",
        &[
            agent.to_str().unwrap(),
            agent_padded.to_str().unwrap(),
            "pad",
            "0",
            &(sox_seconds(&customer) - agent_s).to_string(),
        ],
    );
    let st = stereo(dir, "call.wav", &agent_padded, &customer, 16_000);
    match ext {
        "wav" => st,
        "mp3" => encode(&st, dir, "speech.mp3"),
        other => panic!("{other}"),
    }
}

#[test]
fn stereo_call_gives_agent_and_customer_with_times() {
    let dir = scratch("ft-stereo");
    let mut t = transcriber();
    for ext in ["wav", "mp3"] {
        let path = call_recording(&dir, ext);
        let audio = decode_file(&path, &DecodeConfig::default()).unwrap();
        let (la0, la1) = audible_ms(&audio.channels[0]);
        let (rc0, rc1) = audible_ms(&audio.channels[1]);
        let cfg = config();
        let (plan1, tr) = run_all(&audio, &mut t, &cfg);
        eprintln!("{ext}: {}", tr.text);
        let said = |who: &str| {
            tr.segments
                .iter()
                .filter(|s| s.speaker == who)
                .map(|s| s.text.clone())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let acc_a = accuracy(AGENT, &said("agent"));
        let acc_c = accuracy(CUSTOMER, &said("customer"));
        assert!(acc_a >= 0.9, "{ext} agent {acc_a:.2}: {:?}", said("agent"));
        assert!(
            acc_c >= 0.9,
            "{ext} customer {acc_c:.2}: {:?}",
            said("customer")
        );
        for s in &tr.segments {
            assert_eq!(s.speaker, if s.channel == 0 { "agent" } else { "customer" });
        }
        let first = |who: &str| {
            tr.segments
                .iter()
                .find(|s| s.speaker == who)
                .unwrap()
                .start_ms
        };
        let last = |who: &str| {
            tr.segments
                .iter()
                .rev()
                .find(|s| s.speaker == who)
                .unwrap()
                .end_ms
        };
        assert_near("agent start", first("agent"), la0);
        assert_near("agent end", last("agent"), la1);
        assert_near("customer start", first("customer"), rc0);
        assert_near("customer end", last("customer"), rc1);
        let talk = |who: &str| {
            tr.talk_time
                .iter()
                .find(|x| x.speaker == who)
                .unwrap()
                .talk_time_ms
        };
        assert_near("agent talk time", talk("agent"), la1 - la0);
        assert_near("customer talk time", talk("customer"), rc1 - rc0);
        assert!(
            tr.overtalk_ms < 300,
            "no overlap was recorded, got {} ms",
            tr.overtalk_ms
        );
        assert_near(
            "silence",
            tr.silence_ms,
            tr.duration_ms - (la1 - la0) - (rc1 - rc0),
        );
        assert!(tr.text.starts_with("agent: "), "{}", tr.text);
        // The other mapping swaps the labels of the same channels.
        let swapped = FileTranscribeConfig {
            channel_mapping: ChannelMapping::LeftCustomer,
            ..cfg
        };
        let mut vad = open_vad(&runtime(), &swapped).unwrap();
        let plan2 = plan(&audio, &mut vad, &swapped).unwrap();
        assert_eq!(plan2.chunks.len(), plan1.chunks.len());
        for (a, b) in plan1.chunks.iter().zip(&plan2.chunks) {
            assert_eq!(
                (a.channel, a.start_ms, a.end_ms),
                (b.channel, b.start_ms, b.end_ms)
            );
            assert_ne!(a.speaker, b.speaker);
            assert_eq!(b.speaker, if b.channel == 0 { "customer" } else { "agent" });
        }
    }
}

#[test]
fn resume_skips_saved_chunks_and_gives_the_same_transcript() {
    let dir = scratch("ft-resume");
    // mono: two turns separated by a 2 s pause -> two chunks, speaker_1 then speaker_2
    let a = speech_wav(&dir, "a", AGENT, 0.5, 2.0);
    let b = speech_wav(&dir, "b", CUSTOMER, 0.0, 0.5);
    let mono = dir.join("mono.wav");
    run(
        "sox",
        &[
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            mono.to_str().unwrap(),
        ],
    );
    let audio = decode_file(&mono, &DecodeConfig::default()).unwrap();
    let cfg = config();
    let mut t = transcriber();
    let mut vad = open_vad(&runtime(), &cfg).unwrap();
    let plan = plan(&audio, &mut vad, &cfg).unwrap();
    assert!(plan.chunks.len() >= 2, "{plan:?}");
    // The plan and a finished chunk survive a round trip through storage (JSON).
    let plan: TranscriptionPlan =
        serde_json::from_str(&serde_json::to_string(&plan).unwrap()).unwrap();
    let first = transcribe_chunk(&audio, &plan.chunks[0], &mut t, &cfg).unwrap();
    let saved: ChunkResult = serde_json::from_str(&serde_json::to_string(&first).unwrap()).unwrap();

    let mut progress = Vec::new();
    let mut fresh = Vec::new();
    let resumed = transcribe_chunks(
        &audio,
        &plan,
        &[saved],
        &mut t,
        &cfg,
        |d, n| progress.push((d, n)),
        |r| fresh.push(r.index),
    )
    .unwrap();
    let n = plan.chunks.len();
    assert_eq!(
        fresh,
        (1..n).collect::<Vec<_>>(),
        "only unfinished chunks run"
    );
    assert_eq!(progress.first(), Some(&(1, n)));
    assert_eq!(progress.last(), Some(&(n, n)));
    let full = transcribe_chunks(&audio, &plan, &[], &mut t, &cfg, |_, _| {}, |_| {}).unwrap();
    assert_eq!(assemble(&plan, &resumed).text, assemble(&plan, &full).text);

    let tr = assemble(&plan, &resumed);
    eprintln!("{}", tr.text);
    let said = |who: &str| {
        tr.segments
            .iter()
            .filter(|s| s.speaker == who)
            .map(|s| s.text.clone())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(accuracy(AGENT, &said("speaker_1")) >= 0.9, "{}", tr.text);
    assert!(accuracy(CUSTOMER, &said("speaker_2")) >= 0.9, "{}", tr.text);

    // The pool path (the audit job's) gives the same result as a direct run.
    let model = t.model().clone();
    let pool = vaarta_speech::stt::stt_pool(&model).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pooled = rt
        .block_on(transcribe_chunk_pooled(
            &pool,
            Arc::new(audio.clone()),
            plan.chunks[1].clone(),
            Arc::new(cfg.clone()),
            std::time::Duration::from_secs(600),
        ))
        .unwrap();
    assert_eq!(pooled.segments, full[1].segments);

    // A result saved under another plan is refused, not silently merged.
    let mut alien = first.clone();
    alien.start_ms += 1;
    assert!(matches!(
        transcribe_chunks(&audio, &plan, &[alien], &mut t, &cfg, |_, _| {}, |_| {}),
        Err(FileTranscribeError::PlanMismatch { index: 0 })
    ));
}

#[test]
fn bad_and_silent_files_through_the_pipeline() {
    let dir = scratch("ft-bad");
    let mut t = transcriber();
    let cfg = config();
    let e = transcribe_bytes(
        b"hello, this is not audio".to_vec(),
        &runtime(),
        &mut t,
        &cfg,
        |_, _| {},
    )
    .unwrap_err();
    match e {
        FileTranscribeError::Decode(d) => assert_eq!(d.code(), "text_not_audio"),
        other => panic!("{other}"),
    }
    assert!(matches!(
        transcribe_bytes(vec![], &runtime(), &mut t, &cfg, |_, _| {}),
        Err(FileTranscribeError::Decode(_))
    ));
    let silent = dir.join("silent.wav");
    run(
        "sox",
        &[
            "-n",
            "-r",
            "16000",
            "-b",
            "16",
            silent.to_str().unwrap(),
            "trim",
            "0",
            "3",
        ],
    );
    let mut calls = 0;
    let tr = transcribe_bytes(
        std::fs::read(&silent).unwrap(),
        &runtime(),
        &mut t,
        &cfg,
        |_, _| calls += 1,
    )
    .unwrap();
    assert!(tr.segments.is_empty() && tr.text.is_empty(), "{tr:?}");
    assert_eq!(tr.duration_ms, 3000);
    assert_eq!(tr.silence_ms, 3000);
    assert_eq!(calls, 1, "progress reports (0, 0) once");
}

#[test]
fn overlapping_channels_count_as_overtalk() {
    // agent speaks from 0.5 s; the customer starts 1.5 s later while the agent still talks
    let dir = scratch("ft-overtalk");
    let agent = speech_wav(&dir, "agent", AGENT, 0.5, 2.5);
    let customer = speech_wav(&dir, "customer", CUSTOMER, 2.0, 0.0);
    let customer_padded = dir.join("customer-padded.wav");
    let extra = (sox_seconds(&agent) - sox_seconds(&customer)).max(0.0);
    run(
        "sox",
        &[
            customer.to_str().unwrap(),
            customer_padded.to_str().unwrap(),
            "pad",
            "0",
            &extra.to_string(),
        ],
    );
    let st = stereo(&dir, "overlap.wav", &agent, &customer_padded, 16_000);
    let audio = decode_file(&st, &DecodeConfig::default()).unwrap();
    let (a0, a1) = audible_ms(&audio.channels[0]);
    let (c0, c1) = audible_ms(&audio.channels[1]);
    let truth_overlap = a1.min(c1).saturating_sub(a0.max(c0));
    assert!(
        truth_overlap > 1000,
        "fixture must overlap: {a0}..{a1} vs {c0}..{c1}"
    );
    let cfg = config();
    let mut vad = open_vad(&runtime(), &cfg).unwrap();
    let plan = plan(&audio, &mut vad, &cfg).unwrap();
    let tr = assemble(&plan, &[]);
    eprintln!(
        "overtalk {} ms (truth {truth_overlap}), silence {} ms",
        tr.overtalk_ms, tr.silence_ms
    );
    assert_near("overtalk", tr.overtalk_ms, truth_overlap);
    assert_near(
        "silence",
        tr.silence_ms,
        tr.duration_ms - (a1.max(c1) - a0.min(c0)),
    );
}

#[test]
fn long_speech_is_cut_into_chunks_under_the_cap() {
    // ~35 s of speech with only sentence pauses: merged, then cut below max_chunk_ms.
    let text = "Thank you for calling the support line. Your order was shipped on Monday \
        and it will arrive at your address in three days. If you want to change the delivery \
        time, please visit our website or reply to the message we sent you. The invoice for \
        this order has been sent to your email address. You can pay by card, by bank \
        transfer or in cash when the parcel arrives. Our team is available every day from \
        nine in the morning to nine in the evening. Thank you for your patience and have a \
        very nice day.";
    let dir = scratch("ft-long");
    let src = speech_wav(&dir, "long", text, 0.5, 0.5);
    let audio = decode_file(&src, &DecodeConfig::default()).unwrap();
    assert!(
        audio.duration.as_secs() > 30,
        "fixture too short: {:?}",
        audio.duration
    );
    let cfg = FileTranscribeConfig {
        max_chunk_ms: 12_000,
        ..config()
    };
    let mut t = transcriber();
    let (plan, tr) = run_all(&audio, &mut t, &cfg);
    eprintln!(
        "{} chunks: {:?}",
        plan.chunks.len(),
        plan.chunks
            .iter()
            .map(|c| (c.speech_start_ms, c.speech_end_ms))
            .collect::<Vec<_>>()
    );
    assert!(plan.chunks.len() >= 3, "{plan:?}");
    for c in &plan.chunks {
        assert!(c.speech_end_ms - c.speech_start_ms <= 12_000, "{c:?}");
    }
    let acc = accuracy(text, &tr.text);
    assert!(acc >= 0.9, "word accuracy {acc:.2}: {}", tr.text);
    for w in tr.segments.windows(2) {
        assert!(
            w[0].start_ms <= w[1].start_ms && w[1].end_ms <= tr.duration_ms,
            "{:?}",
            w
        );
    }
}
