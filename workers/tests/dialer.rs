//! The campaign dialer's decisions with an injected clock, on SQLite and PostgreSQL: calling
//! days and hours in the campaign's time zone, the concurrency cap, retries scheduled per
//! outcome (and moved into the window), pause, do-not-call numbers never placed, completion.
//! Calls are placed by a recorder instead of SIP (the SIP path is tests/campaign_dialer.rs);
//! their ends are stored like real calls and applied by the same post-call code.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;
use vaarta_orchestrator::Store;
use vaarta_orchestrator::calls::outbound::{OutboundRequest, PlaceError};
use vaarta_orchestrator::calls::{CallChannel, CallInfo, CallOutcome, CallState, Direction};
use vaarta_orchestrator::campaigns::attempts::record_call_end;
use vaarta_orchestrator::campaigns::leads_csv::{ColumnMapping, parse};
use vaarta_orchestrator::campaigns::{CampaignSpec, CampaignStatus};
use vaarta_orchestrator::storage::testing::TestDb;
use vaarta_orchestrator::tenancy::{NewSite, SiteSettings};
use vaarta_workers::dialer::{Pacing, Placer, run_tick};

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<CallInfo>>>);

impl Placer for Recorder {
    fn place(
        &self,
        req: OutboundRequest,
    ) -> futures::future::BoxFuture<'_, Result<CallInfo, PlaceError>> {
        Box::pin(async move {
            let call = CallInfo {
                id: Uuid::now_v7(),
                site_id: req.site_id,
                channel: CallChannel::Sip,
                direction: Direction::Outbound,
                caller: String::new(),
                callee: req.to,
                flow: Some(req.flow),
                flow_version: None,
                campaign_id: req.campaign_id,
                lead_id: req.lead_id,
                state: CallState::Ringing,
                language: "en".into(),
                started_at: Utc::now(),
                answered_at: None,
                ended_at: None,
                outcome: None,
                end_reason: None,
            };
            self.0.lock().unwrap().push(call.clone());
            Ok(call)
        })
    }
}

impl Recorder {
    fn placed(&self) -> Vec<CallInfo> {
        self.0.lock().unwrap().clone()
    }

    fn to(&self, number: &str) -> CallInfo {
        self.placed()
            .into_iter()
            .rev()
            .find(|c| c.callee == number)
            .unwrap_or_else(|| panic!("{number} was never placed"))
    }
}

/// The call ends at `at` with `outcome`, stored and applied as after a real call.
async fn end(store: &Store, mut call: CallInfo, outcome: CallOutcome, at: DateTime<Utc>) {
    call.state = CallState::Ended;
    call.outcome = Some(outcome);
    call.ended_at = Some(at);
    store.calls().insert(&call).await.unwrap();
    assert!(record_call_end(store, &call).await.unwrap());
}

fn ist(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{s}+05:30"))
        .unwrap()
        .with_timezone(&Utc)
}

async fn lead(
    store: &Store,
    campaign: Uuid,
    phone: &str,
) -> vaarta_orchestrator::storage::leads::Lead {
    store
        .leads()
        .list(campaign, None, None, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.phone == phone)
        .unwrap()
}

async fn dialer_follows_the_rules(db: TestDb) {
    let store = db.store.clone();
    let site = store
        .sites()
        .create(&NewSite {
            name: "Rules".into(),
            settings: SiteSettings::default(),
        })
        .await
        .unwrap()
        .site_id;
    let spec: CampaignSpec = serde_json::from_value(json!({
        "name": "Rules", "flow": "sales_qualification", "time_zone": "Asia/Kolkata",
        "calling_hours": {"days": [1, 2, 3, 4, 5, 6], "start": "10:00", "end": "19:00"},
        "max_concurrent": 2, "calls_per_minute": 600
    }))
    .unwrap();
    let c = store.campaigns().create(site, &spec).await.unwrap();
    let csv = "phone\n+919700000001\n+919700000002\n+919700000003\n+919700000004\n+919700000005\n";
    store
        .leads()
        .add(
            site,
            c.id,
            &parse(csv.as_bytes(), &ColumnMapping::default())
                .unwrap()
                .leads,
        )
        .await
        .unwrap();
    // Put on the list after the upload: never placed.
    store
        .dnd()
        .add(Some(site), "+919700000001", "asked", "api")
        .await
        .unwrap();
    let rec = Recorder::default();
    let mut pace = Pacing::default();
    macro_rules! tick {
        ($at:expr) => {
            run_tick(&store, &rec, &mut pace, $at).await.unwrap()
        };
    }

    // Draft: nothing.
    tick!(ist("2026-11-23T11:00:00"));
    assert!(rec.placed().is_empty());
    store
        .campaigns()
        .set_status(
            None,
            c.id,
            &[CampaignStatus::Draft],
            CampaignStatus::Running,
        )
        .await
        .unwrap()
        .unwrap();
    // Sunday, and Monday before 10:00 IST: closed.
    tick!(ist("2026-11-22T11:00:00"));
    tick!(ist("2026-11-23T09:59:00"));
    assert!(rec.placed().is_empty(), "outside the window");
    // Monday 10:00: at most two at once, whatever the pace allows.
    for s in 0..5 {
        tick!(ist("2026-11-23T10:00:00") + Duration::seconds(s));
    }
    let placed: Vec<String> = rec.placed().iter().map(|c| c.callee.clone()).collect();
    assert_eq!(
        placed,
        vec!["+919700000002", "+919700000003"],
        "two at once, the DND number skipped"
    );
    assert_eq!(store.leads().count_dialing(c.id).await.unwrap(), 2);
    let skipped = lead(&store, c.id, "+919700000001").await;
    assert_eq!(
        (skipped.status.as_str(), skipped.skip_reason.as_deref()),
        ("skipped", Some("do_not_call"))
    );

    // Busy → retried 4 h later (14:05 IST, inside the window); completed → done.
    end(
        &store,
        rec.to("+919700000002"),
        CallOutcome::Busy,
        ist("2026-11-23T10:05:00"),
    )
    .await;
    end(
        &store,
        rec.to("+919700000003"),
        CallOutcome::Completed,
        ist("2026-11-23T10:06:00"),
    )
    .await;
    let busy = lead(&store, c.id, "+919700000002").await;
    assert_eq!(
        (
            busy.status.as_str(),
            busy.last_outcome.as_deref(),
            busy.next_attempt_at
        ),
        ("pending", Some("busy"), Some(ist("2026-11-23T14:05:00")))
    );
    assert_eq!(lead(&store, c.id, "+919700000003").await.status, "done");

    // Paused: no new calls.
    store
        .campaigns()
        .set_status(
            None,
            c.id,
            &[CampaignStatus::Running],
            CampaignStatus::Paused,
        )
        .await
        .unwrap()
        .unwrap();
    tick!(ist("2026-11-23T10:10:00"));
    assert_eq!(rec.placed().len(), 2);
    store
        .campaigns()
        .set_status(
            None,
            c.id,
            &[CampaignStatus::Paused],
            CampaignStatus::Running,
        )
        .await
        .unwrap()
        .unwrap();
    for s in 0..3 {
        tick!(ist("2026-11-23T10:10:00") + Duration::seconds(s));
    }
    let placed: Vec<String> = rec.placed().iter().map(|c| c.callee.clone()).collect();
    assert_eq!(
        placed[2..],
        ["+919700000004", "+919700000005"],
        "the busy lead waits for its time"
    );

    // No answer at 18:00 IST → 20:00 is outside the window → Tuesday 10:00.
    end(
        &store,
        rec.to("+919700000004"),
        CallOutcome::NoAnswer,
        ist("2026-11-23T18:00:00"),
    )
    .await;
    let na = lead(&store, c.id, "+919700000004").await;
    assert_eq!(na.next_attempt_at, Some(ist("2026-11-24T10:00:00")));
    end(
        &store,
        rec.to("+919700000005"),
        CallOutcome::Declined,
        ist("2026-11-23T18:01:00"),
    )
    .await;
    assert_eq!(
        lead(&store, c.id, "+919700000005").await.status,
        "done",
        "declined is final"
    );

    // 14:05: the busy lead's second attempt.
    tick!(ist("2026-11-23T14:05:00"));
    let again = rec.placed().last().unwrap().clone();
    assert_eq!(again.callee, "+919700000002");
    assert_eq!(lead(&store, c.id, "+919700000002").await.attempts, 2);
    end(&store, again, CallOutcome::Busy, ist("2026-11-23T14:06:00")).await;
    // Next at 18:06 the same day (inside the window); nothing is due before.
    tick!(ist("2026-11-23T17:00:00"));
    assert_eq!(rec.placed().len(), 5);
    tick!(ist("2026-11-23T18:06:00"));
    let last = rec.to("+919700000002");
    end(&store, last, CallOutcome::Busy, ist("2026-11-23T18:07:00")).await;
    let done = lead(&store, c.id, "+919700000002").await;
    assert_eq!(
        (
            done.status.as_str(),
            done.attempts,
            done.last_outcome.as_deref()
        ),
        ("done", 3, Some("busy")),
        "max_attempts 3"
    );
    // Tuesday 10:00: the no-answer lead's second attempt.
    for s in 0..2 {
        tick!(ist("2026-11-24T10:00:00") + Duration::seconds(s));
    }
    assert_eq!(store.leads().count_dialing(c.id).await.unwrap(), 1);
    end(
        &store,
        rec.to("+919700000004"),
        CallOutcome::Completed,
        ist("2026-11-24T10:03:00"),
    )
    .await;
    assert_eq!(lead(&store, c.id, "+919700000004").await.attempts, 2);

    // Every lead has an outcome: the next tick completes the campaign.
    tick!(ist("2026-11-24T10:04:00"));
    assert_eq!(
        store
            .campaigns()
            .get(None, c.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        CampaignStatus::Completed
    );
    assert!(
        !rec.placed().iter().any(|c| c.callee == "+919700000001"),
        "the DND number was never placed"
    );
    assert_eq!(rec.placed().len(), 7);

    // The export: one row per lead with its outcome and the last call's transcript.
    let now = Utc::now();
    let turn = vaarta_orchestrator::calls::TurnRecord {
        seq: 0,
        speaker: vaarta_orchestrator::calls::Speaker::Bot,
        text: "Namaste, Skyline se baat kar rahi hoon.".into(),
        language: "hi".into(),
        confidence: 1.0,
        started_at: now,
        ended_at: now,
        interrupted: false,
        latency: None,
    };
    store
        .calls()
        .add_turn(rec.to("+919700000003").id, &turn)
        .await
        .unwrap();
    let c = store.campaigns().get(None, c.id).await.unwrap().unwrap();
    let csv = vaarta_orchestrator::campaigns::export::export(
        &store,
        &c,
        vaarta_orchestrator::campaigns::export::ExportFormat::Csv,
    )
    .await
    .unwrap();
    let mut r = ::csv::Reader::from_reader(csv.as_slice());
    let headers = r.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<::csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    let by_phone = |p: &str| rows.iter().find(|r| &r[col("phone")] == p).unwrap().clone();
    assert_eq!(
        (
            &by_phone("+919700000001")[col("status")],
            &by_phone("+919700000001")[col("skip_reason")]
        ),
        ("skipped", "do_not_call")
    );
    let done = by_phone("+919700000003");
    assert_eq!(
        (&done[col("last_outcome")], &done[col("attempts")]),
        ("completed", "1")
    );
    assert_eq!(
        &done[col("transcript")],
        "Vaarta: Namaste, Skyline se baat kar rahi hoon."
    );
    assert_eq!(&by_phone("+919700000002")[col("last_outcome")], "busy");
    let json = vaarta_orchestrator::campaigns::export::export(
        &store,
        &c,
        vaarta_orchestrator::campaigns::export::ExportFormat::Json,
    )
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["leads"].as_array().unwrap().len(), 5);
    assert_eq!(v["campaign"]["status"], "completed");

    // The daily digest: at 20:00 in the campaign's zone, once per day. (Lead times are the
    // database's real clock, so the digest is asked for today.)
    use vaarta_orchestrator::campaigns::digest::queue_digests;
    let mut site_row = store.sites().get(site).await.unwrap().unwrap();
    site_row.settings.notifications.email_to = vec!["sales@example.com".into()];
    store
        .sites()
        .update(
            site,
            &vaarta_orchestrator::tenancy::SitePatch {
                name: None,
                settings: Some(site_row.settings),
            },
        )
        .await
        .unwrap();
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Kolkata)
        .date_naive();
    let at = |h: u32, m: u32| {
        today
            .and_hms_opt(h, m, 0)
            .unwrap()
            .and_local_timezone(chrono_tz::Asia::Kolkata)
            .unwrap()
            .with_timezone(&Utc)
    };
    assert!(
        queue_digests(&store, at(19, 59)).await.unwrap().is_empty(),
        "not before 20:00"
    );
    let sent = queue_digests(&store, at(20, 0)).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].subject,
        format!("Rules: campaign digest for {today}")
    );
    let text = &sent[0].text;
    for want in [
        "Leads: 5 total, 4 done",
        "Leads with an attempt today: 5",
        "completed: 2",
        "busy: 1",
        "declined: 1",
        "skipped: 1",
        "Qualified today: 0",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    assert!(
        queue_digests(&store, at(21, 30)).await.unwrap().is_empty(),
        "one digest a day"
    );
}

#[tokio::test]
async fn dialer_rules_on_sqlite() {
    dialer_follows_the_rules(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn dialer_rules_on_postgres() {
    dialer_follows_the_rules(TestDb::postgres().await).await;
}
