//! Notification emails end to end on SQLite and PostgreSQL, through a real SMTP server on
//! loopback (aiosmtpd): a call that qualified a hot lead, failed its transfer and asked the
//! flow to `notify` queues three emails when it ends; the SMTP server is down at first, so each
//! fails, is retried as a new delayed job, and arrives exactly once when the server is up.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;
use vaarta_orchestrator::Store;
use vaarta_orchestrator::calls::post_call::PostCall;
use vaarta_orchestrator::calls::registry::{CallLimits, CallRegistry};
use vaarta_orchestrator::calls::*;
use vaarta_orchestrator::config::{EmailConfig, JobsConfig};
use vaarta_orchestrator::storage::jobs::EMAIL;
use vaarta_orchestrator::storage::testing::TestDb;
use vaarta_orchestrator::tenancy::{NewSite, NotificationSettings, SiteSettings};
use vaarta_workers::{Workers, WorkersDeps};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Sink(Child);

impl Sink {
    fn start(port: u16, dir: &Path) -> Sink {
        let mut child = Command::new(repo().join(".venv/bin/python"))
            .arg(repo().join("workers/tests/peers/smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("aiosmtpd in .venv (scripts/setup --test)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("ready"), "SMTP sink did not start: {line:?}");
        Sink(child)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn turn(seq: u32, speaker: Speaker, text: &str) -> CallEventKind {
    let now = chrono::Utc::now();
    CallEventKind::Turn {
        turn: TurnRecord {
            seq,
            speaker,
            text: text.into(),
            language: "en".into(),
            confidence: 0.9,
            started_at: now,
            ended_at: now,
            interrupted: false,
            latency: None,
        },
    }
}

async fn email_jobs(store: &Store) -> i64 {
    store
        .jobs()
        .counts(EMAIL)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum()
}

async fn wait_until<F: std::future::Future<Output = bool>>(
    secs: u64,
    what: &str,
    mut f: impl FnMut() -> F,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn received(dir: &Path) -> Vec<(String, serde_json::Value)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let raw = std::fs::read_to_string(p).unwrap();
            let env =
                serde_json::from_str(&std::fs::read_to_string(p.with_extension("json")).unwrap())
                    .unwrap();
            (raw, env)
        })
        .collect()
}

async fn emails_are_queued_after_the_call_and_retried_until_the_server_answers(db: TestDb) {
    let store = db.store.clone();
    let settings = SiteSettings {
        notifications: NotificationSettings {
            email_to: vec!["sales@example.com".into(), "ops@example.com".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let site = store
        .sites()
        .create(&NewSite {
            name: "Skyline Homes".into(),
            settings,
        })
        .await
        .unwrap()
        .site_id;
    let quiet = store
        .sites()
        .create(&NewSite {
            name: "Quiet".into(),
            settings: SiteSettings::default(),
        })
        .await
        .unwrap()
        .site_id;

    let registry = CallRegistry::with_post_call(
        store.clone(),
        CallLimits {
            max_calls_per_node: 10,
            default_max_calls_per_site: 10,
        },
        PostCall { emails: true },
    );
    let call = |site_id: Uuid| CallInfo {
        id: Uuid::now_v7(),
        site_id,
        channel: CallChannel::Sip,
        direction: Direction::Outbound,
        caller: "+911140000000".into(),
        callee: "+919876500001".into(),
        flow: Some("sales_qualification".into()),
        flow_version: None,
        campaign_id: None,
        lead_id: None,
        state: CallState::Active,
        language: "en".into(),
        started_at: chrono::Utc::now(),
        answered_at: None,
        ended_at: None,
        outcome: None,
        end_reason: None,
    };
    let h = registry.admit(call(site), None).unwrap();
    h.emit(turn(
        0,
        Speaker::Bot,
        "Are you looking for a flat in Noida?",
    ));
    h.emit(turn(1, Speaker::Caller, "Yes, my budget is eighty lakh."));
    h.emit(CallEventKind::Action {
        name: "qualify".into(),
        detail: json!({"status": "hot", "budget": "80 lakh"}),
    });
    h.emit(CallEventKind::Action {
        name: "notify".into(),
        detail: json!({"template": "lead_followup", "data": {"project": "Skyline"}}),
    });
    h.emit(CallEventKind::Action {
        name: "callback_requested".into(),
        detail: json!({"reason": "transfer failed"}),
    });
    h.emit(CallEventKind::Ended {
        outcome: CallOutcome::TransferFailed,
        reason: "sales did not answer".into(),
    });
    drop(h);
    // A site without recipients gets nothing.
    let q = registry.admit(call(quiet), None).unwrap();
    q.emit(CallEventKind::Action {
        name: "qualify".into(),
        detail: json!({"status": "hot"}),
    });
    q.emit(CallEventKind::Ended {
        outcome: CallOutcome::Completed,
        reason: "done".into(),
    });
    drop(q);
    registry.flush().await;
    wait_until(10, "three emails queued", || async {
        email_jobs(&store).await == 3
    })
    .await;

    // The SMTP server is down: every first attempt fails and queues its retry.
    let port = free_port();
    let email = EmailConfig {
        enabled: true,
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        tls: "none".into(),
        timeout_ms: 3000,
        retry_delays_s: vec![1, 1],
        ..Default::default()
    };
    let jobs = JobsConfig {
        poll_interval_ms: 100,
        heartbeat_s: 1,
        ..Default::default()
    };
    let workers = Workers::start(
        WorkersDeps {
            store: store.clone(),
            transcribe: None,
            email: Some(email),
            kb: None,
        },
        &jobs,
    )
    .await
    .unwrap();
    wait_until(20, "retries queued after the failed attempts", || async {
        email_jobs(&store).await >= 6
    })
    .await;

    let dir = tempfile::tempdir().unwrap();
    let _sink = Sink::start(port, dir.path());
    wait_until(30, "three emails delivered", || async {
        received(dir.path()).len() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    workers.shutdown().await;

    let mail = received(dir.path());
    assert_eq!(mail.len(), 3, "each email exactly once: {mail:#?}");
    let subjects: Vec<String> = mail
        .iter()
        .map(|(raw, _)| {
            raw.lines()
                .find(|l| l.starts_with("Subject: "))
                .unwrap_or("")
                .to_string()
        })
        .collect();
    for want in [
        "Subject: Qualified lead: +919876500001",
        "Subject: Call back +919876500001: transfer failed",
        "Subject: lead_followup: +919876500001",
    ] {
        assert!(
            subjects.iter().any(|s| s == want),
            "{want:?} not in {subjects:?}"
        );
    }
    for (raw, envelope) in &mail {
        assert_eq!(
            envelope["to"],
            json!(["sales@example.com", "ops@example.com"]),
            "{envelope}"
        );
        assert!(raw.contains("From: Vaarta <vaarta@localhost>"), "{raw}");
        assert!(
            raw.contains("Site: Skyline Homes")
                && raw.contains("status: hot")
                && raw.contains("budget: 80 lakh"),
            "{raw}"
        );
        assert!(
            raw.contains("Caller: Yes, my budget is eighty lakh."),
            "{raw}"
        );
        assert!(raw.contains("Outcome: transfer_failed"), "{raw}");
    }
    assert!(
        mail.iter()
            .any(|(raw, _)| raw.contains(r#"Data: {"project":"Skyline"}"#)),
        "the notify data is in its email"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_on_sqlite() {
    emails_are_queued_after_the_call_and_retried_until_the_server_answers(TestDb::sqlite().await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_on_postgres() {
    emails_are_queued_after_the_call_and_retried_until_the_server_answers(TestDb::postgres().await)
        .await;
}
