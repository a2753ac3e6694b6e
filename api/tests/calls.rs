//! Calls API (list, detail with transcript and latency, hang up, transfer, live events) and
//! routes API, on SQLite and PostgreSQL, with tenant isolation.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use futures::StreamExt;
use serde_json::json;
use tower::ServiceExt;
use uuid::Uuid;
use vaarta_orchestrator::calls::registry::CallHandle;
use vaarta_orchestrator::calls::*;

use common::{call_info, turn};

/// A finished call with a two-turn transcript.
fn finished_call(app: &common::TestApp, site: &str) -> Uuid {
    let h: CallHandle = app
        .calls
        .admit(call_info(site, CallChannel::Sip), None)
        .unwrap();
    h.emit(CallEventKind::State {
        state: CallState::Active,
    });
    h.emit(turn(0, Speaker::Caller, "mera order kahan hai", None));
    let l = TurnLatency {
        stt_final_ms: Some(320),
        brain_first_token_ms: Some(700),
        first_tts_audio_ms: Some(950),
        first_packet_ms: Some(960),
        overhead_ms: Some(4),
        heard_ms: Some(960),
        turn_decision_ms: Some(300),
    };
    h.emit(turn(1, Speaker::Bot, "Aapka order kal aayega.", Some(l)));
    h.emit(CallEventKind::Ended {
        outcome: CallOutcome::Completed,
        reason: "done".into(),
    });
    h.id()
}

api_test!(calls_are_listed_filtered_and_detailed_per_site, |app| {
    let (a, _, key_a) = app.site_with_key("A").await;
    let (b, _, key_b) = app.site_with_key("B").await;
    let id = finished_call(&app, &a);
    let widget = app
        .calls
        .admit(call_info(&a, CallChannel::Widget), None)
        .unwrap();
    let _other = finished_call(&app, &b);
    app.calls.flush().await;

    let r = app.call(Method::GET, "/v1/calls", Some(&key_a), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body.as_array().unwrap().len(), 2, "{}", r.text);
    let r = app
        .call(Method::GET, "/v1/calls?channel=widget", Some(&key_a), None)
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["id"], widget.id().to_string());
    let r = app
        .call(
            Method::GET,
            "/v1/calls?outcome=completed&channel=sip",
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["outcome"], "completed");
    // The admin sees all sites, or one.
    let r = app
        .call(Method::GET, "/v1/calls", Some(common::ADMIN), None)
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 3);
    let r = app
        .call(
            Method::GET,
            &format!("/v1/calls?site_id={b}"),
            Some(common::ADMIN),
            None,
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);

    let r = app
        .call(Method::GET, &format!("/v1/calls/{id}"), Some(&key_a), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "ended");
    assert_eq!(r.body["transcript"][0]["text"], "mera order kahan hai");
    assert_eq!(r.body["transcript"][1]["latency"]["first_packet_ms"], 960);
    assert!(
        r.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "ended"),
        "{}",
        r.text
    );

    assert_eq!(r.body["tags"], serde_json::json!([]));
    assert!(
        r.body["qualification"].is_null() && r.body["recording_url"].is_null(),
        "{}",
        r.text
    );
    // Not recorded: the recording says so; another site's key cannot tell the call exists.
    let r = app
        .call(
            Method::GET,
            &format!("/v1/calls/{id}/recording"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "no_recording"),
        "{}",
        r.text
    );
    let r = app
        .call(
            Method::GET,
            &format!("/v1/calls/{id}/recording"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "not_found"),
        "{}",
        r.text
    );

    // Site B's key sees nothing of A.
    let r = app
        .call(Method::GET, &format!("/v1/calls/{id}"), Some(&key_b), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            Method::GET,
            &format!("/v1/calls?site_id={a}"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            Method::POST,
            &format!("/v1/calls/{}/hangup", widget.id()),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Bad filters name themselves.
    for (q, field) in [
        ("channel=fax", "channel"),
        ("limit=0", "limit"),
        ("outcome=great", "outcome"),
    ] {
        let r = app
            .call(Method::GET, &format!("/v1/calls?{q}"), Some(&key_a), None)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {}",
            r.text
        );
        assert!(r.text.contains(field), "{}", r.text);
    }
    let r = app
        .call(Method::GET, "/v1/calls?from=yesterday", Some(&key_a), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
});

api_test!(live_calls_take_hangup_and_transfer_commands, |app| {
    let (a, _, key) = app.site_with_key("A").await;
    let mut h = app
        .calls
        .admit(call_info(&a, CallChannel::Sip), None)
        .unwrap();
    let r = app
        .call(
            Method::POST,
            &format!("/v1/calls/{}/transfer", h.id()),
            Some(&key),
            Some(json!({"target": "sales"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(
        h.next_command().await,
        Some(CallCommand::Transfer {
            target: "sales".into(),
            reason: "transferred through the API".into()
        })
    );
    let r = app
        .call(
            Method::POST,
            &format!("/v1/calls/{}/hangup", h.id()),
            Some(&key),
            Some(json!({"reason": "supervisor"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(
        h.next_command().await,
        Some(CallCommand::Hangup {
            reason: "supervisor".into()
        })
    );
    let r = app
        .call(
            Method::POST,
            &format!("/v1/calls/{}/transfer", h.id()),
            Some(&key),
            Some(json!({"targett": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let id = h.id();
    drop(h);
    let r = app
        .call(
            Method::POST,
            &format!("/v1/calls/{id}/hangup"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.code(), "call_not_live");
});

api_test!(live_events_stream_per_site, |app| {
    let (a, _, key_a) = app.site_with_key("A").await;
    let (b, _, _) = app.site_with_key("B").await;
    let req = Request::builder()
        .uri("/v1/calls/events")
        .header(header::AUTHORIZATION, format!("Bearer {key_a}"))
        .body(Body::empty())
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = res.into_body().into_data_stream();
    let _b_call = finished_call(&app, &b);
    let a_call = finished_call(&app, &a);
    let mut text = String::new();
    while !text.contains("event: ended") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect("event in time")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        text.contains("event: started") && text.contains("event: turn"),
        "{text}"
    );
    assert!(text.contains(&a_call.to_string()), "{text}");
    assert!(!text.contains(&b), "site B's events leaked: {text}");
});

api_test!(routes_map_numbers_to_flows, |app| {
    let (a, _, key_a) = app.site_with_key("A").await;
    let (b, _, key_b) = app.site_with_key("B").await;
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/sites/{a}/routes"),
            Some(&key_a),
            Some(json!({"channel": "sip", "number": "011 4000 0000", "flow": "assistant"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["number"], "+911140000000");
    let found = app
        .db
        .store
        .routes()
        .resolve_sip("sip:+911140000000@10.0.0.1")
        .await
        .unwrap();
    assert_eq!(found, Some((a.parse().unwrap(), "assistant".to_string())));
    // The number belongs to A.
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/sites/{b}/routes"),
            Some(&key_b),
            Some(json!({"channel": "sip", "number": "+911140000000", "flow": "assistant"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.code(), "number_taken");
    // B cannot see or touch A's routes.
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{a}/routes"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            Method::DELETE,
            &format!("/v1/sites/{a}/routes/sip/+911140000000"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Bad input names the field.
    for (body, field) in [
        (json!({"channel": "fax", "flow": "assistant"}), "channel"),
        (
            json!({"channel": "sip", "number": "12", "flow": "assistant"}),
            "number",
        ),
        (
            json!({"channel": "sip", "number": "+911140000001", "flow": "nope"}),
            "flow",
        ),
        (
            json!({"channel": "widget", "number": "+911140000001", "flow": "assistant"}),
            "number",
        ),
    ] {
        let r = app
            .call(
                Method::PUT,
                &format!("/v1/sites/{a}/routes"),
                Some(&key_a),
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{}",
            r.text
        );
    }
    // A site flow in use cannot be deleted; after the route goes, it can.
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/sites/{a}/flows/welcome"),
            Some(&key_a),
            Some(json!({"source": "say(\"hi\"); hangup(\"done\");"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .call(
            Method::POST,
            &format!("/v1/sites/{a}/flows/welcome/activate"),
            Some(&key_a),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/sites/{a}/routes"),
            Some(&key_a),
            Some(json!({"channel": "widget", "flow": "welcome"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        app.db
            .store
            .routes()
            .resolve_widget(a.parse().unwrap())
            .await
            .unwrap()
            .as_deref(),
        Some("welcome")
    );
    let r = app
        .call(
            Method::DELETE,
            &format!("/v1/sites/{a}/flows/welcome"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.code(), "flow_routed");
    let r = app
        .call(
            Method::DELETE,
            &format!("/v1/sites/{a}/flows/welcome"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            Method::DELETE,
            &format!("/v1/sites/{a}/routes/widget/*"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app
        .call(
            Method::DELETE,
            &format!("/v1/sites/{a}/flows/welcome"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{a}/flows/welcome"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{a}/routes"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1, "{}", r.text);
});

api_test!(
    an_ai_call_gets_the_same_audit_report_as_a_recording,
    |app| {
        let (a, _, key_a) = app.site_with_key("A").await;
        let (_, _, key_b) = app.site_with_key("B").await;
        let checklist = json!({"audit": {"checklist": [
            {"id": "greeting", "kind": "greeting", "phrases": ["namaste"], "within_ms": 3000},
            {"id": "no_promises", "kind": "prohibited", "phrases": ["guaranteed"]},
            {"id": "caller_order", "kind": "required", "phrases": ["order"], "speaker": "customer"}
        ]}});
        let r = app
            .call(
                Method::PATCH,
                &format!("/v1/sites/{a}"),
                Some(common::ADMIN),
                Some(json!({"settings": checklist})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let mut info = call_info(&a, CallChannel::Sip);
        let t0 = chrono::Utc::now() - chrono::Duration::seconds(20);
        info.started_at = t0;
        let h = app.calls.admit(info, None).unwrap();
        let at = |ms: i64| t0 + chrono::Duration::milliseconds(ms);
        let timed = |seq, speaker, text: &str, from: i64, to: i64| CallEventKind::Turn {
            turn: TurnRecord {
                seq,
                speaker,
                text: text.into(),
                language: "hi".into(),
                confidence: 0.9,
                started_at: at(from),
                ended_at: at(to),
                interrupted: false,
                latency: None,
            },
        };
        h.emit(timed(
            0,
            Speaker::Bot,
            "Namaste! Main aapki kya madad kar sakti hoon?",
            500,
            2500,
        ));
        h.emit(timed(
            1,
            Speaker::Caller,
            "mera order kahan hai",
            3000,
            4500,
        ));
        // The caller barges in over the bot's answer for 500 ms.
        h.emit(timed(
            2,
            Speaker::Bot,
            "Aapka order kal aayega, guaranteed.",
            5000,
            8000,
        ));
        h.emit(timed(3, Speaker::Caller, "theek hai", 7500, 8500));
        h.emit(CallEventKind::Ended {
            outcome: CallOutcome::Completed,
            reason: "done".into(),
        });
        let id = h.id();
        drop(h);
        app.calls.flush().await;

        let r = app
            .call(
                Method::GET,
                &format!("/v1/calls/{id}/audit"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let b = &r.body;
        assert_eq!(b["segments"].as_array().unwrap().len(), 4);
        assert_eq!(b["segments"][0]["speaker"], "agent");
        assert_eq!(b["segments"][0]["start_ms"], 500);
        assert_eq!(b["segments"][1]["speaker"], "customer");
        assert_eq!(b["languages"], json!(["hi"]));
        let talk: std::collections::HashMap<String, u64> = b["talk_time"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["speaker"].as_str().unwrap().to_string(),
                    t["talk_time_ms"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(talk["agent"], 2000 + 3000);
        assert_eq!(talk["customer"], 1500 + 1000);
        assert_eq!(b["overtalk_ms"], 500);
        let qa = &b["qa"]["checks"];
        assert_eq!(qa[0]["passed"], true);
        assert_eq!(qa[0]["hits"][0]["start_ms"], 500);
        assert_eq!(qa[1]["passed"], false, "the bot promised: {}", b["qa"]);
        assert_eq!(qa[1]["hits"][0]["start_ms"], 5000);
        assert_eq!(qa[2]["passed"], true);
        assert_eq!(
            (b["qa"]["passed"].as_u64(), b["qa"]["failed"].as_u64()),
            (Some(2), Some(1))
        );

        let r = app
            .call(
                Method::GET,
                &format!("/v1/calls/{id}/audit"),
                Some(&key_b),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
);

api_test!(placing_a_call_needs_a_node_that_takes_calls, |app| {
    let (a, _, key) = app.site_with_key("A").await;
    let (b, _, _) = app.site_with_key("B").await;
    let body = json!({"to": "+919812345678", "flow": "assistant"});
    let r = app
        .call(Method::POST, "/v1/calls", Some(&key), Some(body.clone()))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "voice_disabled"),
        "{}",
        r.body
    );
    let r = app
        .call(
            Method::POST,
            "/v1/calls",
            Some(common::ADMIN),
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        "{}",
        r.body
    );
    let r = app
        .call(
            Method::POST,
            "/v1/calls",
            Some(&key),
            Some(json!({"site_id": b, "to": "+919812345678", "flow": "assistant"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another site's id: {}",
        r.body
    );
    let r = app
        .call(
            Method::POST,
            "/v1/calls",
            Some(&key),
            Some(json!({"site_id": a, "to": "+919812345678", "flow": "assistant", "extra": 1})),
        )
        .await;
    assert!(
        r.status.is_client_error()
            && r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("extra"),
        "{}",
        r.body
    );
    let r = app.call(Method::POST, "/v1/calls", None, Some(body)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let calls = app.call(Method::GET, "/v1/calls", Some(&key), None).await;
    assert_eq!(
        calls.body.as_array().unwrap().len(),
        0,
        "nothing was placed"
    );
});
