//! The job queues on real SQLite and PostgreSQL with the real models: a stereo recording is
//! transcribed by the queued job (words, speakers by channel, times, QA checklist), its
//! callback is signed and, after a receiver fails three times, delivered exactly once; a job
//! whose worker dies mid-file is taken over and resumes from its checkpoints.

#[path = "../../speech/tests/decode_support/mod.rs"]
mod decode_support;
#[path = "../../speech/tests/stt_support/mod.rs"]
mod stt_support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use vaarta_orchestrator::Store;
use vaarta_orchestrator::audit::{
    AuditSettings, NewTranscription, QaCheck, QaKind, Transcription, TranscriptionMeta,
    TranscriptionStatus,
};
use vaarta_orchestrator::config::{JobsConfig, SpeechConfig};
use vaarta_orchestrator::storage::jobs;
use vaarta_orchestrator::storage::testing::TestDb;
use vaarta_orchestrator::tenancy::{NewSite, SiteSettings};
use vaarta_speech::file_transcribe::{ChannelMapping, FileTranscribeConfig};
use vaarta_speech::stt::{SttPool, WhisperModel, stt_pool};
use vaarta_workers::transcribe::TranscribeDeps;
use vaarta_workers::{Workers, WorkersDeps, signing};

const AGENT: &str = "Good morning, thank you for calling. How can I help you today?";
const CUSTOMER: &str = "Yes, I want to know when my parcel will be delivered.";
const SECRET: &str = "callback-secret-0123456789";

fn speech_config() -> SpeechConfig {
    let mut cfg = SpeechConfig::default();
    cfg.stt.models_dir = vaarta_speech::onnx::default_models_dir();
    cfg
}

fn stt() -> Arc<SttPool> {
    static POOL: std::sync::OnceLock<Arc<SttPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let model =
            WhisperModel::load(&speech_config().stt).expect("tiny.en (run scripts/install-models)");
        Arc::new(stt_pool(&model).unwrap())
    })
    .clone()
}

fn deps(store: &Store) -> WorkersDeps {
    let cfg = speech_config();
    WorkersDeps {
        store: store.clone(),
        transcribe: Some(TranscribeDeps {
            store: store.clone(),
            stt: stt(),
            onnx: cfg.onnx.clone(),
            config: FileTranscribeConfig {
                vad: cfg.file_transcribe.vad.clone(),
                ..cfg.file_transcribe.clone()
            },
            chunk_wait: Duration::from_secs(120),
        }),
        email: None,
        kb: None,
    }
}

fn jobs_config() -> JobsConfig {
    JobsConfig {
        poll_interval_ms: 100,
        heartbeat_s: 1,
        webhook_retry_delays_s: vec![1, 1, 1, 1],
        ..Default::default()
    }
}

async fn site(store: &Store) -> uuid::Uuid {
    let settings = SiteSettings {
        webhook_secret: Some(SECRET.into()),
        audit: AuditSettings {
            checklist: vec![
                QaCheck {
                    id: "greeting".into(),
                    kind: QaKind::Greeting,
                    phrases: vec!["thank you for calling".into()],
                    speaker: "agent".into(),
                    within_ms: Some(5000),
                },
                QaCheck {
                    id: "no_promises".into(),
                    kind: QaKind::Prohibited,
                    phrases: vec!["guaranteed".into()],
                    speaker: "agent".into(),
                    within_ms: None,
                },
                QaCheck {
                    id: "name".into(),
                    kind: QaKind::NameConfirmation,
                    phrases: vec!["am i speaking with".into()],
                    speaker: "agent".into(),
                    within_ms: None,
                },
            ],
        },
        ..Default::default()
    };
    store
        .sites()
        .create(&NewSite {
            name: "Audit".into(),
            settings,
        })
        .await
        .unwrap()
        .site_id
}

async fn wait_done(store: &Store, id: uuid::Uuid, limit: Duration) -> Transcription {
    let start = Instant::now();
    loop {
        let t = store.transcriptions().get(None, id).await.unwrap().unwrap();
        if matches!(
            t.status,
            TranscriptionStatus::Completed | TranscriptionStatus::Failed
        ) {
            return t;
        }
        assert!(
            start.elapsed() < limit,
            "transcription not finished after {limit:?}: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn accuracy(reference: &str, hyp: &str) -> f64 {
    let (errors, words) = stt_support::word_errors(reference, hyp);
    1.0 - errors as f64 / words as f64
}

/// A callback receiver that answers 500 to the first `fail` requests, then 200; it keeps every
/// body with whether its signature verified.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(String, bool, String)>>>,
    fail: usize,
}

async fn receiver(fail: usize) -> (String, Receiver) {
    let r = Receiver {
        fail,
        ..Default::default()
    };
    let state = r.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let r = state.clone();
            async move {
                let sig = headers
                    .get("x-vaarta-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let ok = signing::verify(SECRET, &body, sig);
                let delivery = headers
                    .get("x-vaarta-delivery")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let mut seen = r.seen.lock().unwrap();
                seen.push((String::from_utf8_lossy(&body).into_owned(), ok, delivery));
                if seen.len() <= r.fail {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

/// Agent (left) greets at 0.5 s; the customer (right) answers from 5 s.
fn stereo_call(dir: &Path) -> Vec<u8> {
    let left = decode_support::speech_wav(dir, "agent", AGENT, 0.5, 6.0);
    let right = decode_support::speech_wav(dir, "customer", CUSTOMER, 5.0, 0.5);
    std::fs::read(decode_support::stereo(
        dir, "call.wav", &left, &right, 16000,
    ))
    .unwrap()
}

async fn transcription_job_end_to_end(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let site_id = site(&store).await;
    let (url, rx) = receiver(3).await;
    let meta = TranscriptionMeta {
        agent_id: Some("agent-7".into()),
        crm_call_id: Some("crm-42".into()),
        channel_mapping: Some(ChannelMapping::LeftAgent),
        callback_url: Some(url),
        ..Default::default()
    };
    let new = NewTranscription {
        site_id,
        file_name: "call.wav".into(),
        content_type: Some("audio/wav".into()),
        meta,
    };
    let t = store
        .transcriptions()
        .create(&new, &stereo_call(dir.path()))
        .await
        .unwrap();
    assert_eq!(t.status, TranscriptionStatus::Queued);

    let workers = Workers::start(deps(&store), &jobs_config()).await.unwrap();
    let done = wait_done(&store, t.id, Duration::from_secs(180)).await;
    assert_eq!(done.status, TranscriptionStatus::Completed, "{done:?}");
    let report = done.result.clone().unwrap();
    let tr = &report.transcript;
    let text_of = |speaker: &str| {
        tr.segments
            .iter()
            .filter(|s| s.speaker == speaker)
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        accuracy(AGENT, &text_of("agent")) >= 0.9,
        "agent: {:?}",
        text_of("agent")
    );
    assert!(
        accuracy(CUSTOMER, &text_of("customer")) >= 0.9,
        "customer: {:?}",
        text_of("customer")
    );
    assert!(
        tr.segments
            .iter()
            .all(|s| (s.speaker == "agent") == (s.channel == 0)),
        "speakers follow channels: {:?}",
        tr.segments
    );
    let first = |speaker: &str| {
        tr.segments
            .iter()
            .find(|s| s.speaker == speaker)
            .unwrap()
            .start_ms as i64
    };
    assert!(
        (first("agent") - 500).abs() <= 500,
        "agent starts at {} ms",
        first("agent")
    );
    assert!(
        (first("customer") - 5000).abs() <= 500,
        "customer starts at {} ms",
        first("customer")
    );
    assert_eq!(done.progress.percent, 100);
    assert_eq!(done.progress.chunks_total, Some(done.progress.chunks_done));
    // QA: greeting said within 5 s, nothing prohibited, the name never confirmed.
    let check = |id: &str| {
        report
            .qa
            .checks
            .iter()
            .find(|c| c.id == id)
            .unwrap()
            .clone()
    };
    assert!(check("greeting").passed);
    assert!((check("greeting").hits[0].start_ms as i64 - 500).abs() <= 500);
    assert!(check("no_promises").passed);
    assert!(!check("name").passed);
    assert_eq!((report.qa.passed, report.qa.failed), (2, 1));

    // The callback: three failures, then one success; every attempt signed; the payload is
    // the finished transcription.
    let start = Instant::now();
    loop {
        let d = store.webhooks().list(site_id, None, 10).await.unwrap();
        if d.first().is_some_and(|d| d.status == "delivered") {
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].attempts, 4);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "callback not delivered: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "3 failures then exactly one success");
    assert!(seen.iter().all(|(_, ok, _)| *ok), "every attempt is signed");
    assert!(
        seen.iter().all(|(_, _, d)| d == &seen[0].2),
        "one delivery id across attempts"
    );
    let body: serde_json::Value = serde_json::from_str(&seen[3].0).unwrap();
    assert_eq!(body["event"], "transcription.completed");
    assert_eq!(body["transcription"]["id"], t.id.to_string());
    assert_eq!(body["transcription"]["metadata"]["crm_call_id"], "crm-42");
    assert_eq!(body["transcription"]["result"]["qa"]["passed"], 2);

    workers.shutdown().await;
    for kind in [jobs::TRANSCRIBE, jobs::WEBHOOK] {
        let counts = store.jobs().counts(kind).await.unwrap();
        assert!(
            counts.iter().all(|(status, _)| status == "Done"),
            "{kind}: nothing left in the queue: {counts:?}"
        );
    }
}

/// Six sentences with long pauses: six chunks.
fn long_mono(dir: &Path) -> Vec<u8> {
    let sentences = [
        "Please call me back tomorrow morning about my order.",
        "I would like to speak with someone from the sales team.",
        "My internet connection has been very slow since last week.",
        "Can you send the invoice to my email address?",
        "The delivery was supposed to arrive on Monday.",
        "Thank you for your help, have a nice day.",
    ];
    let parts: Vec<_> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| decode_support::speech_wav(dir, &format!("s{i}"), s, 0.2, 2.0))
        .collect();
    let out = dir.join("long.wav");
    let mut args: Vec<&str> = parts.iter().map(|p| p.to_str().unwrap()).collect();
    args.extend(["-r", "16000", out.to_str().unwrap()]);
    decode_support::run("sox", &args);
    std::fs::read(out).unwrap()
}

async fn dead_worker_job_resumes_from_checkpoints(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let site_id = site(&store).await;
    let new = NewTranscription {
        site_id,
        file_name: "long.wav".into(),
        content_type: None,
        meta: Default::default(),
    };
    let t = store
        .transcriptions()
        .create(&new, &long_mono(dir.path()))
        .await
        .unwrap();
    let workers = Workers::start(deps(&store), &jobs_config()).await.unwrap();
    let start = Instant::now();
    loop {
        let now = store
            .transcriptions()
            .get(None, t.id)
            .await
            .unwrap()
            .unwrap();
        if now.progress.chunks_done >= 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no progress: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The worker dies: its tasks are dropped mid-job, without giving the job back.
    drop(workers);
    let before = store.transcriptions().chunk_times(t.id).await.unwrap();
    assert!(
        before.len() >= 2 && before.len() < 6,
        "killed mid-file: {before:?}"
    );

    let workers = Workers::start(deps(&store), &jobs_config()).await.unwrap();
    let done = wait_done(&store, t.id, Duration::from_secs(180)).await;
    assert_eq!(done.status, TranscriptionStatus::Completed, "{done:?}");
    let after = store.transcriptions().chunk_times(t.id).await.unwrap();
    assert_eq!(after.len() as u64, done.progress.chunks_total.unwrap());
    for (idx, at) in &before {
        assert!(after.contains(&(*idx, *at)), "chunk {idx} was not redone");
    }
    assert!(
        done.progress.chunks_resumed >= before.len() as u64,
        "{:?}",
        done.progress
    );
    assert!(done.progress.runs >= 2);
    assert_eq!(
        done.progress.chunks_computed,
        done.progress.chunks_total.unwrap(),
        "no chunk transcribed twice"
    );
    let text = &done.result.unwrap().transcript.text;
    assert!(
        text.to_lowercase().contains("invoice") && text.to_lowercase().contains("delivery"),
        "{text}"
    );
    workers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_transcription_job_end_to_end() {
    let db = TestDb::sqlite().await;
    transcription_job_end_to_end(db.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_transcription_job_end_to_end() {
    let db = TestDb::postgres().await;
    transcription_job_end_to_end(db.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_dead_worker_job_resumes_from_checkpoints() {
    let db = TestDb::sqlite().await;
    dead_worker_job_resumes_from_checkpoints(db.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dead_worker_job_resumes_from_checkpoints() {
    let db = TestDb::postgres().await;
    dead_worker_job_resumes_from_checkpoints(db.store.clone()).await;
}
