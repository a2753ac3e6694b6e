//! Per-turn latency of the call loop with real models: N concurrent calls, each caller asks
//! questions (espeak-ng speech in real time) that the flow answers through a brain with a fixed
//! wait; prints p50/p99 of each stage (ms from the end of the caller's speech) and of Vaarta's
//! own overhead (everything except end-of-turn silence, model compute and the brain's wait).
//! Usage: cargo bench -p vaarta-orchestrator --bench voice_loop -- [CALLS...]   (default 1 15)

#[path = "../tests/voice_support/mod.rs"]
mod voice_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;
use vaarta_orchestrator::Store;
use vaarta_orchestrator::calls::registry::{CallLimits, CallRegistry};
use vaarta_orchestrator::calls::session::{self, SessionContext, SessionSettings};
use vaarta_orchestrator::calls::*;
use vaarta_orchestrator::config::DatabaseConfig;
use voice_support::*;

const TURNS: usize = 3;
const BRAIN_WAIT_MS: u64 = 200;
const FLOW: &str = r#"
let n = 0;
let prompt = "Hello, this is the shop. Ask me anything.";
while n < 3 {
    let r = ask(prompt, #{ timeout_ms: 15000 });
    brain(r.text);
    prompt = "Anything else?";
    n += 1;
}
hangup("done");
"#;

fn pct(v: &mut [u32], p: f64) -> u32 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn run(calls: usize) -> (Vec<TurnLatency>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&DatabaseConfig {
        url: format!("sqlite://{}/b.db", dir.path().display()),
        ..Default::default()
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let site = store
        .sites()
        .create(&vaarta_orchestrator::tenancy::NewSite {
            name: "bench".into(),
            settings: Default::default(),
        })
        .await
        .unwrap();
    let registry = CallRegistry::new(
        store.clone(),
        CallLimits {
            max_calls_per_node: 1000,
            default_max_calls_per_site: 1000,
        },
    );
    let mut events = registry.subscribe();
    let questions = [
        "What are your opening hours?",
        "Do you deliver to Delhi?",
        "How do I return a sofa?",
    ];
    let clips: Vec<Vec<i16>> = questions.iter().map(|q| speech(q)).collect();
    // Questions 12 s apart: room for the answer even when the machine is loaded.
    let pieces: Vec<(u64, &[i16])> = clips
        .iter()
        .enumerate()
        .map(|(i, c)| (4000 + 12_000 * i as u64, c.as_slice()))
        .collect();
    let caller = track(4000 + 12_000 * TURNS as u64, &pieces);
    let mut tasks = Vec::new();
    for i in 0..calls {
        let info = CallInfo {
            id: Uuid::now_v7(),
            site_id: site.site_id,
            channel: CallChannel::Sip,
            direction: Direction::Inbound,
            caller: format!("+9198000{i:05}"),
            callee: "+911140000000".into(),
            flow: None,
            flow_version: None,
            campaign_id: None,
            lead_id: None,
            state: CallState::Ringing,
            language: "en".into(),
            started_at: chrono::Utc::now(),
            answered_at: None,
            ended_at: None,
            outcome: None,
            end_reason: None,
        };
        let handle = registry.admit(info, None).unwrap();
        let brain = ScriptedBrain {
            delay: Duration::from_millis(BRAIN_WAIT_MS),
            answer: Ok(
                "We are open from ten in the morning to seven in the evening, every day.".into(),
            ),
            asked: Arc::new(Mutex::new(Vec::new())),
        };
        let ctx = SessionContext {
            engines: engines(),
            program: vaarta_flows::FlowProgram::compile(FLOW, &vaarta_flows::shipped::modules())
                .unwrap(),
            flow_context: vaarta_flows::CallContext {
                language: "en".into(),
                ..Default::default()
            },
            brain: Arc::new(brain),
            retriever: None,
            tools: None,
            settings: SessionSettings::for_language("en"),
        };
        let (tx, rx) = mpsc::channel(256);
        let media = FakeMedia {
            t0: std::time::Instant::now(),
            leg: Default::default(),
            events: tx.clone(),
            transfer_ok: Some(true),
        };
        feed(caller.clone(), tx);
        tasks.push(tokio::spawn(async move {
            session::run(ctx, media, rx, handle).await
        }));
        // Callers do not all speak at the same instant: spread the starts over a question's span.
        tokio::time::sleep(Duration::from_millis(if calls > 1 {
            10_000 / calls as u64
        } else {
            0
        }))
        .await;
    }
    let mut out = Vec::new();
    let mut failovers = 0;
    let mut ended = 0;
    while ended < calls {
        match tokio::time::timeout(Duration::from_secs(180), events.recv()).await {
            Ok(Ok(e)) => match e.kind {
                CallEventKind::Turn { turn } if turn.speaker == Speaker::Bot => {
                    if let Some(l) = turn.latency {
                        out.push(l);
                    }
                }
                CallEventKind::Failure { .. } => failovers += 1,
                CallEventKind::Ended { .. } => ended += 1,
                _ => {}
            },
            Ok(Err(_)) => continue,
            Err(_) => break,
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    (out, failovers)
}

fn main() {
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let ns = if ns.is_empty() { vec![1, 15] } else { ns };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "voice loop: {TURNS} turns per call, brain wait {BRAIN_WAIT_MS} ms, {cores} CPU cores; ms from the end of the caller's speech"
    );
    println!(
        "| calls | turns answered / asked | failovers | STT final p50/p99 | brain first token p50/p99 | first TTS audio p50/p99 | first packet out p50/p99 | Vaarta overhead p50/p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for n in ns {
        let (lat, failovers) = rt.block_on(run(n));
        let col = |f: fn(&TurnLatency) -> Option<u32>| {
            let mut v: Vec<u32> = lat.iter().filter_map(f).collect();
            format!("{} / {}", pct(&mut v, 0.5), pct(&mut v, 0.99))
        };
        println!(
            "| {n} | {} / {} | {failovers} | {} | {} | {} | {} | {} |",
            lat.len(),
            n * TURNS,
            col(|l| l.stt_final_ms),
            col(|l| l.brain_first_token_ms),
            col(|l| l.first_tts_audio_ms),
            col(|l| l.first_packet_ms),
            col(|l| l.overhead_ms)
        );
    }
}
