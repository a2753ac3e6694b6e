//! Analytics API on SQLite and PostgreSQL: known calls (completed, transfers, drops of each
//! kind, holding, three languages, one live, one before and one after the window) written
//! through the storage layer with fixed times, and every figure of the summary and the
//! timeline asserted exactly; tenant isolation; parameter validation; /metrics.

mod common;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;
use vaarta_orchestrator::Store;
use vaarta_orchestrator::calls::*;

use common::{ADMIN, TestApp};

const T0: &str = "2026-11-20T10:00:00Z";
const WINDOW: &str = "from=2026-11-20T10:00:00Z&to=2026-11-20T13:00:00Z";

/// `T0` + minutes and seconds.
fn t(min: i64, sec: i64) -> DateTime<Utc> {
    T0.parse::<DateTime<Utc>>().unwrap() + Duration::minutes(min) + Duration::seconds(sec)
}

/// One call to write: times in seconds from T0, turns as (speaker, language, first_packet_ms).
struct Spec {
    site: Uuid,
    channel: CallChannel,
    direction: Direction,
    campaign: Option<Uuid>,
    language: &'static str,
    started: DateTime<Utc>,
    answered: Option<DateTime<Utc>>,
    ended: Option<DateTime<Utc>>,
    outcome: Option<CallOutcome>,
    turns: Vec<(Speaker, &'static str, Option<u32>)>,
    /// Events after the call is answered, in order.
    events: Vec<CallEventKind>,
}

fn spec(
    site: Uuid,
    language: &'static str,
    started: DateTime<Utc>,
    answered_after_s: Option<i64>,
    ended: Option<DateTime<Utc>>,
    outcome: Option<CallOutcome>,
) -> Spec {
    Spec {
        site,
        channel: CallChannel::Sip,
        direction: Direction::Inbound,
        campaign: None,
        language,
        started,
        answered: answered_after_s.map(|s| started + Duration::seconds(s)),
        ended,
        outcome,
        turns: vec![],
        events: vec![],
    }
}

/// Writes the call as the registry's writer does: inserted ringing, answered, its turns and
/// events, then (if it ended) the final update.
async fn write(store: &Store, s: Spec) -> Uuid {
    let id = Uuid::now_v7();
    let mut info = CallInfo {
        id,
        site_id: s.site,
        channel: s.channel,
        direction: s.direction,
        caller: "+919800000001".into(),
        callee: "+911140000000".into(),
        flow: Some("assistant".into()),
        flow_version: Some(1),
        campaign_id: s.campaign,
        lead_id: None,
        state: CallState::Ringing,
        language: s.language.into(),
        started_at: s.started,
        answered_at: None,
        ended_at: None,
        outcome: None,
        end_reason: None,
    };
    let calls = store.calls();
    calls.insert(&info).await.unwrap();
    let mut seq = 0;
    let mut event = |kind: CallEventKind, at: DateTime<Utc>| {
        seq += 1;
        (
            seq - 1,
            CallEvent {
                call_id: id,
                site_id: s.site,
                at,
                kind,
            },
        )
    };
    let at = s.answered.unwrap_or(s.started);
    if let Some(a) = s.answered {
        info.answered_at = Some(a);
        info.state = CallState::Active;
        calls.update(&info).await.unwrap();
        let (n, e) = event(
            CallEventKind::State {
                state: CallState::Active,
            },
            a,
        );
        calls.add_event(n, &e).await.unwrap();
    }
    for (i, (speaker, lang, first_packet)) in s.turns.iter().enumerate() {
        let latency = first_packet.map(|ms| TurnLatency {
            first_packet_ms: Some(ms),
            ..Default::default()
        });
        let turn = TurnRecord {
            seq: i as u32,
            speaker: *speaker,
            text: "…".into(),
            language: lang.to_string(),
            confidence: 0.9,
            started_at: at,
            ended_at: at,
            interrupted: false,
            latency,
        };
        calls.add_turn(id, &turn).await.unwrap();
    }
    for k in s.events {
        let (n, e) = event(k, at);
        calls.add_event(n, &e).await.unwrap();
    }
    if let (Some(end), Some(outcome)) = (s.ended, s.outcome) {
        let (n, e) = event(
            CallEventKind::State {
                state: CallState::Ended,
            },
            end,
        );
        calls.add_event(n, &e).await.unwrap();
        info.state = CallState::Ended;
        info.ended_at = Some(end);
        info.outcome = Some(outcome);
        info.end_reason = Some("test".into());
        calls.update(&info).await.unwrap();
        let (n, e) = event(
            CallEventKind::Ended {
                outcome,
                reason: "test".into(),
            },
            end,
        );
        calls.add_event(n, &e).await.unwrap();
    }
    id
}

fn holding() -> Vec<CallEventKind> {
    vec![
        CallEventKind::Holding {
            level: 1,
            text: "ek second".into(),
        },
        CallEventKind::State {
            state: CallState::Holding,
        },
    ]
}

use CallOutcome::*;
use Speaker::{Bot, Caller};

struct Fixture {
    a: Uuid,
    a_key: String,
    b: Uuid,
    b_key: String,
    campaign: Uuid,
}

/// The known calls (see docs/analytics.md for the definitions they exercise).
async fn fixture(app: &TestApp) -> Fixture {
    let (a, _, a_key) = app.site_with_key("Analytics A").await;
    let (b, _, b_key) = app.site_with_key("Analytics B").await;
    let (a, b): (Uuid, Uuid) = (a.parse().unwrap(), b.parse().unwrap());
    let campaign = Uuid::now_v7();
    let store = &app.db.store;

    // C10: before the window, still open at its start (concurrency only).
    write(
        store,
        spec(a, "hi", t(-10, 0), Some(1), Some(t(5, 0)), Some(Completed)),
    )
    .await;
    // C1: completed, holding that ended (back to active), four Hindi turns. 120 s.
    let mut c = spec(a, "hi", t(0, 0), Some(2), Some(t(2, 2)), Some(Completed));
    c.turns = vec![
        (Caller, "hi", None),
        (Bot, "hi", Some(600)),
        (Caller, "hi", None),
        (Bot, "hi", Some(800)),
    ];
    c.events = [
        holding(),
        vec![CallEventKind::State {
            state: CallState::Active,
        }],
    ]
    .concat();
    write(store, c).await;
    // C2: transferred, English. 60 s; overlaps C10 and C1 (peak 3).
    let mut c = spec(a, "en", t(1, 0), Some(1), Some(t(2, 1)), Some(Transferred));
    c.turns = vec![(Caller, "en", None), (Bot, "en", Some(1000))];
    c.events = vec![CallEventKind::Transfer {
        target: "sales".into(),
        reason: "asked".into(),
        ok: Some(true),
    }];
    write(store, c).await;
    // C3: transfer failed, Punjabi, widget; starts the instant C1 ends. 30 s.
    let mut c = spec(
        a,
        "pa",
        t(2, 2),
        Some(1),
        Some(t(2, 33)),
        Some(TransferFailed),
    );
    c.channel = CallChannel::Widget;
    c.turns = vec![(Caller, "pa", None), (Bot, "pa", Some(400))];
    write(store, c).await;
    // C4: caller hung up during holding. 60 s.
    let mut c = spec(
        a,
        "hi",
        t(60, 0),
        Some(1),
        Some(t(61, 1)),
        Some(CallerHungUp),
    );
    c.turns = vec![
        (Caller, "hi", None),
        (Bot, "hi", Some(1200)),
        (Caller, "hi", None),
    ];
    c.events = holding();
    write(store, c).await;
    // C5: caller hung up 5 s after the answer (within the first 10 s), widget; greeting only.
    let mut c = spec(
        a,
        "en",
        t(65, 0),
        Some(1),
        Some(t(65, 6)),
        Some(CallerHungUp),
    );
    c.channel = CallChannel::Widget;
    c.turns = vec![(Bot, "en", None)];
    write(store, c).await;
    // C6: caller hung up after 40 s with their last words unanswered.
    let mut c = spec(
        a,
        "pa",
        t(70, 0),
        Some(1),
        Some(t(70, 41)),
        Some(CallerHungUp),
    );
    c.turns = vec![
        (Caller, "pa", None),
        (Bot, "pa", Some(500)),
        (Caller, "pa", None),
    ];
    write(store, c).await;
    // C7: caller hung up after the bot's answer, 20 s: AI-handled (not a drop).
    let mut c = spec(
        a,
        "hi",
        t(120, 0),
        Some(1),
        Some(t(120, 21)),
        Some(CallerHungUp),
    );
    c.turns = vec![(Caller, "hi", None), (Bot, "hi", Some(700))];
    write(store, c).await;
    // C8: outbound campaign call nobody answered.
    let mut c = spec(a, "hi", t(130, 0), None, Some(t(130, 30)), Some(NoAnswer));
    c.direction = Direction::Outbound;
    c.campaign = Some(campaign);
    write(store, c).await;
    // C9: live (not ended), widget, overlaps C8.
    let mut c = spec(a, "en", t(130, 10), Some(1), None, None);
    c.channel = CallChannel::Widget;
    c.turns = vec![(Caller, "en", None), (Bot, "en", Some(900))];
    write(store, c).await;
    // C11: starts at the window's end (excluded).
    let mut c = spec(
        a,
        "hi",
        t(180, 0),
        Some(1),
        Some(t(180, 11)),
        Some(Completed),
    );
    c.turns = vec![(Caller, "hi", None), (Bot, "hi", Some(300))];
    write(store, c).await;
    // Site B: one completed call with a slow answer and one live call, inside the window.
    let mut c = spec(b, "en", t(0, 30), Some(1), Some(t(3, 0)), Some(Completed));
    c.turns = vec![(Caller, "en", None), (Bot, "en", Some(5000))];
    write(store, c).await;
    write(store, spec(b, "en", t(30, 0), Some(1), None, None)).await;

    Fixture {
        a,
        a_key,
        b,
        b_key,
        campaign,
    }
}

/// Every key of `expected` equals the same key of `got` (messages name the field).
fn assert_fields(got: &Value, expected: &Value, what: &str) {
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&got[k], v, "{what}: field {k} in {got}");
    }
}

fn outcomes(pairs: &[(&str, i64)]) -> Value {
    let mut m = serde_json::Map::new();
    for k in [
        "completed",
        "transferred",
        "transfer_failed",
        "caller_hung_up",
        "rejected",
        "no_answer",
        "busy",
        "failed",
        "declined",
        "invalid_number",
        "hung_up_by_api",
        "in_progress",
    ] {
        m.insert(
            k.into(),
            json!(pairs.iter().find(|(n, _)| *n == k).map_or(0, |(_, c)| *c)),
        );
    }
    Value::Object(m)
}

fn drops(h: i64, e: i64, r: i64) -> Value {
    json!({"during_holding": h, "within_first_seconds": e, "before_resolution": r})
}

fn empty_figures() -> Value {
    json!({
        "total_calls": 0, "answered_calls": 0, "ended_calls": 0, "in_progress_calls": 0,
        "ai_handled_calls": 0, "transferred_calls": 0, "transfer_failed_calls": 0,
        "dropped_calls": 0, "drops": drops(0, 0, 0), "drop_rate": null,
        "holding_calls": 0, "holding_rate": null,
        "response_turns": 0, "avg_response_ms": null, "p50_response_ms": null, "p90_response_ms": null,
        "duration_calls": 0, "avg_duration_ms": null, "p50_duration_ms": null, "p90_duration_ms": null,
        "peak_concurrent_calls": 0, "outcomes": outcomes(&[]),
    })
}

api_test!(summary_counts_every_figure_exactly, |app| {
    let f = fixture(&app).await;
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/summary?{WINDOW}"),
            Some(&f.a_key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let expected = json!({
        "site_id": f.a.to_string(),
        "from": "2026-11-20T10:00:00Z", "to": "2026-11-20T13:00:00Z",
        "channel": null, "campaign_id": null, "drop_within_s": 10,
        "total_calls": 9, "answered_calls": 8, "ended_calls": 8, "in_progress_calls": 1,
        "ai_handled_calls": 2, "transferred_calls": 1, "transfer_failed_calls": 1,
        "dropped_calls": 3, "drops": drops(1, 1, 1), "drop_rate": 0.375,
        "holding_calls": 2, "holding_rate": 0.25,
        // 400 500 600 700 800 900 1000 1200: rank ⌈4⌉ = 700, rank ⌈7.2⌉ = 1200.
        "response_turns": 8, "avg_response_ms": 762.5, "p50_response_ms": 700, "p90_response_ms": 1200,
        // 5 20 30 40 60 60 120 s: rank 4 = 40 s, rank ⌈6.3⌉ = 120 s; mean 335000/7.
        "duration_calls": 7, "avg_duration_ms": 47857.1, "p50_duration_ms": 40000, "p90_duration_ms": 120000,
        "peak_concurrent_calls": 3, "current_concurrent_calls": 1,
        "outcomes": outcomes(&[("completed", 1), ("transferred", 1), ("transfer_failed", 1), ("caller_hung_up", 4), ("no_answer", 1), ("in_progress", 1)]),
        "languages": [
            {"language": "hi", "calls": 4, "turns": 9},
            {"language": "en", "calls": 3, "turns": 5},
            {"language": "pa", "calls": 2, "turns": 5},
        ],
    });
    assert_fields(&r.body, &expected, "summary");
    assert!(
        r.body["generated_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z')),
        "{}",
        r.text
    );

    // The drop window is a parameter: at 70 s, C6 (40 s) and C7 (20 s) are early drops.
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/summary?{WINDOW}&drop_within_s=70"),
            Some(&f.a_key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_fields(
        &r.body,
        &json!({"drop_within_s": 70, "ai_handled_calls": 1, "dropped_calls": 4, "drops": drops(1, 3, 0), "drop_rate": 0.5}),
        "drop_within_s=70",
    );

    // Filters: the widget channel (C3, C5, C9) and the campaign (C8).
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/summary?{WINDOW}&channel=widget"),
            Some(&f.a_key),
            None,
        )
        .await;
    assert_fields(
        &r.body,
        &json!({
            "channel": "widget", "total_calls": 3, "answered_calls": 3, "ended_calls": 2, "transfer_failed_calls": 1,
            "dropped_calls": 1, "drops": drops(0, 1, 0), "drop_rate": 0.5, "response_turns": 2, "avg_response_ms": 650.0,
            "p50_response_ms": 400, "p90_response_ms": 900, "duration_calls": 2, "avg_duration_ms": 17500.0,
            "p50_duration_ms": 5000, "p90_duration_ms": 30000, "peak_concurrent_calls": 1, "current_concurrent_calls": 1,
            "languages": [{"language": "en", "calls": 2, "turns": 3}, {"language": "pa", "calls": 1, "turns": 2}],
        }),
        "channel=widget",
    );
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/summary?{WINDOW}&campaign_id={}", f.campaign),
            Some(&f.a_key),
            None,
        )
        .await;
    assert_fields(
        &r.body,
        &json!({"total_calls": 1, "answered_calls": 0, "ended_calls": 1, "ai_handled_calls": 0, "dropped_calls": 0, "drop_rate": 0.0,
                "holding_rate": null, "response_turns": 0, "avg_response_ms": null, "duration_calls": 0, "p50_duration_ms": null,
                "peak_concurrent_calls": 1, "current_concurrent_calls": 0, "outcomes": outcomes(&[("no_answer", 1)])}),
        "campaign",
    );
});

api_test!(timeline_gives_the_same_figures_per_bucket, |app| {
    let f = fixture(&app).await;
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/timeline?{WINDOW}&interval=hour"),
            Some(&f.a_key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["interval"], "hour");
    let b = r.body["buckets"].as_array().unwrap();
    assert_eq!(b.len(), 3, "{}", r.text);
    let expected = [
        json!({
            "start": "2026-11-20T10:00:00Z", "end": "2026-11-20T11:00:00Z",
            "total_calls": 3, "answered_calls": 3, "ended_calls": 3, "in_progress_calls": 0,
            "ai_handled_calls": 1, "transferred_calls": 1, "transfer_failed_calls": 1,
            "dropped_calls": 0, "drops": drops(0, 0, 0), "drop_rate": 0.0, "holding_calls": 1, "holding_rate": 0.3333,
            "response_turns": 4, "avg_response_ms": 700.0, "p50_response_ms": 600, "p90_response_ms": 1000,
            "duration_calls": 3, "avg_duration_ms": 70000.0, "p50_duration_ms": 60000, "p90_duration_ms": 120000,
            "peak_concurrent_calls": 3,
            "outcomes": outcomes(&[("completed", 1), ("transferred", 1), ("transfer_failed", 1)]),
        }),
        json!({
            "start": "2026-11-20T11:00:00Z", "end": "2026-11-20T12:00:00Z",
            "total_calls": 3, "answered_calls": 3, "ended_calls": 3, "in_progress_calls": 0,
            "ai_handled_calls": 0, "transferred_calls": 0, "transfer_failed_calls": 0,
            "dropped_calls": 3, "drops": drops(1, 1, 1), "drop_rate": 1.0, "holding_calls": 1, "holding_rate": 0.3333,
            "response_turns": 2, "avg_response_ms": 850.0, "p50_response_ms": 500, "p90_response_ms": 1200,
            "duration_calls": 3, "avg_duration_ms": 35000.0, "p50_duration_ms": 40000, "p90_duration_ms": 60000,
            "peak_concurrent_calls": 1,
            "outcomes": outcomes(&[("caller_hung_up", 3)]),
        }),
        json!({
            "start": "2026-11-20T12:00:00Z", "end": "2026-11-20T13:00:00Z",
            "total_calls": 3, "answered_calls": 2, "ended_calls": 2, "in_progress_calls": 1,
            "ai_handled_calls": 1, "transferred_calls": 0, "transfer_failed_calls": 0,
            "dropped_calls": 0, "drops": drops(0, 0, 0), "drop_rate": 0.0, "holding_calls": 0, "holding_rate": 0.0,
            "response_turns": 2, "avg_response_ms": 800.0, "p50_response_ms": 700, "p90_response_ms": 900,
            "duration_calls": 1, "avg_duration_ms": 20000.0, "p50_duration_ms": 20000, "p90_duration_ms": 20000,
            "peak_concurrent_calls": 2,
            "outcomes": outcomes(&[("caller_hung_up", 1), ("no_answer", 1), ("in_progress", 1)]),
        }),
    ];
    for (i, e) in expected.iter().enumerate() {
        assert_fields(&b[i], e, &format!("bucket {i}"));
    }

    // Days: buckets aligned to UTC midnight, the empty day present with zeros, and the day's
    // figures equal to the summary of the same window.
    let days = "from=2026-11-20T00:00:00Z&to=2026-11-22T00:00:00Z";
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/timeline?{days}&interval=day"),
            Some(&f.a_key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let b = r.body["buckets"].as_array().unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(b[0]["start"], "2026-11-20T00:00:00Z");
    assert_eq!(b[1]["start"], "2026-11-21T00:00:00Z");
    // No call started on day two, but the live call C9 is still open through it.
    let mut empty = empty_figures();
    empty["peak_concurrent_calls"] = json!(1);
    assert_fields(&b[1], &empty, "empty day");
    let s = app
        .call(
            Method::GET,
            &format!("/v1/analytics/summary?{days}"),
            Some(&f.a_key),
            None,
        )
        .await;
    assert_eq!(s.body["total_calls"], 11);
    let mut day = empty_figures();
    for (k, v) in day.as_object_mut().unwrap() {
        *v = s.body[k].clone();
    }
    assert_fields(&b[0], &day, "day vs summary");
});

api_test!(analytics_are_isolated_per_site, |app| {
    let f = fixture(&app).await;
    // Site B's key sees B's two calls only, however it asks.
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/summary?{WINDOW}"),
            Some(&f.b_key),
            None,
        )
        .await;
    assert_fields(
        &r.body,
        &json!({"site_id": f.b.to_string(), "total_calls": 2, "response_turns": 1, "p50_response_ms": 5000, "current_concurrent_calls": 1,
                "languages": [{"language": "en", "calls": 2, "turns": 2}]}),
        "site B",
    );
    for path in ["summary", "timeline"] {
        let r = app
            .call(
                Method::GET,
                &format!("/v1/analytics/{path}?{WINDOW}&site_id={}", f.a),
                Some(&f.b_key),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert_eq!(r.code(), "not_found");
    }
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/live?site_id={}", f.a),
            Some(&f.b_key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = app
        .call(Method::GET, "/v1/analytics/live", Some(&f.a_key), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["total_current_calls"], 1);
    assert_eq!(
        r.body["sites"],
        json!([{"site_id": f.a.to_string(), "current_calls": 1,
        "by_state": {"active": 1, "holding": 0, "ringing": 0, "transferring": 0}, "by_channel": {"sip": 0, "widget": 1}}])
    );
    // The admin sees every site, or the one named; an unknown site is 404.
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/summary?{WINDOW}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_fields(
        &r.body,
        &json!({"site_id": null, "total_calls": 11, "current_concurrent_calls": 2, "peak_concurrent_calls": 4}),
        "admin",
    );
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/summary?{WINDOW}&site_id={}", f.b),
            Some(ADMIN),
            None,
        )
        .await;
    assert_fields(
        &r.body,
        &json!({"site_id": f.b.to_string(), "total_calls": 2}),
        "admin site B",
    );
    let r = app
        .call(
            Method::GET,
            &format!("/v1/analytics/summary?site_id={}", Uuid::now_v7()),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = app
        .call(Method::GET, "/v1/analytics/live", Some(ADMIN), None)
        .await;
    assert_eq!(r.body["total_current_calls"], 2);
    assert_eq!(r.body["sites"].as_array().unwrap().len(), 2);
    let r = app
        .call(Method::GET, "/v1/analytics/summary", None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
});

api_test!(bad_analytics_parameters_are_422_naming_the_field, |app| {
    let (_, _, key) = app.site_with_key("Params").await;
    let cases = [
        (
            "summary?from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z",
            "from",
        ),
        (
            "summary?from=2026-11-20T00:00:00Z&to=2026-11-20T00:00:00Z",
            "from",
        ),
        ("summary?from=yesterday", "from"),
        ("summary?to=2026-13-01T00:00:00Z", "to"),
        ("summary?channel=fax", "channel"),
        ("summary?campaign_id=42", "campaign_id"),
        ("summary?drop_within_s=-1", "drop_within_s"),
        ("summary?drop_within_s=3601", "drop_within_s"),
        ("summary?interval=hour", "interval"),
        ("summary?chanel=sip", "chanel"),
        ("summary?channel=sip&channel=widget", "channel"),
        ("timeline?interval=week", "interval"),
        (
            "timeline?interval=hour&from=2026-01-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            "from",
        ),
        ("live?from=2026-11-20T00:00:00Z", "from"),
        ("live?site_id=x", "site_id"),
    ];
    for (q, field) in cases {
        let r = app
            .call(Method::GET, &format!("/v1/analytics/{q}"), Some(&key), None)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {}",
            r.text
        );
        assert_eq!(r.code(), "validation_failed", "{q}");
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(msg.starts_with(&format!("{field}:")), "{q}: {msg}");
    }
    // A year of days is fine; so are the defaults (the last 7 days).
    let r = app
        .call(
            Method::GET,
            "/v1/analytics/timeline?interval=day&from=2025-11-20T00:00:00Z&to=2026-11-20T00:00:00Z",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["buckets"].as_array().unwrap().len(), 365);
    let r = app
        .call(Method::GET, "/v1/analytics/timeline", Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        (168..=169).contains(&r.body["buckets"].as_array().unwrap().len()),
        "{}",
        r.text
    );
});

api_test!(metrics_expose_calls_jobs_and_analytics, |app| {
    let (site, _, key) = app.site_with_key("Metrics").await;
    let h = app
        .calls
        .admit(common::call_info(&site, CallChannel::Sip), None)
        .unwrap();
    let r = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("vaarta_active_calls "), "{}", r.text);
    h.emit(CallEventKind::Ended {
        outcome: CallOutcome::Completed,
        reason: "done".into(),
    });
    drop(h);
    app.call(Method::GET, "/v1/analytics/summary", Some(&key), None)
        .await;
    let r = app.call(Method::GET, "/metrics", None, None).await;
    for needle in [
        "vaarta_active_calls ",
        "vaarta_calls_total{outcome=\"completed\"}",
        "vaarta_job_queue_depth{queue=\"webhook.deliver\"}",
        "vaarta_job_failures{queue=\"email.send\"}",
        "vaarta_analytics_query_seconds_bucket{route=\"summary\"",
    ] {
        assert!(
            r.text.contains(needle),
            "{needle} missing from /metrics:\n{}",
            r.text
        );
    }
});
