//! The post-call CRM webhook and the dead-letter API, on SQLite and PostgreSQL: an ended call of
//! a site with `webhook_url` queues one `call.ended` delivery carrying the lead, outcome,
//! qualification, tags and transcript; dead deliveries are listed and can be tried again.
//! (Delivery itself, signing and retries run in the workers crate: workers/tests/jobs.rs.)

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use vaarta_orchestrator::calls::*;
use vaarta_orchestrator::storage::jobs::WEBHOOK;

/// An outbound call of `site`, up, for `lead`.
fn call(site: &str, lead: Option<Uuid>) -> CallInfo {
    let mut c = common::call_info(site, CallChannel::Sip);
    (c.direction, c.state, c.language) = (Direction::Outbound, CallState::Active, "hi".into());
    (c.caller, c.callee) = ("+911140000000".into(), "+919876500001".into());
    c.flow = Some("sales_qualification".into());
    (c.campaign_id, c.lead_id) = (lead.map(|_| Uuid::now_v7()), lead);
    c
}

fn turn(seq: u32, speaker: Speaker, text: &str) -> CallEventKind {
    common::turn(seq, speaker, text, None)
}

async fn deliveries(app: &common::TestApp, site: &str, key: &str, query: &str) -> Vec<Value> {
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{site}/webhooks{query}"),
            Some(key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

api_test!(
    an_ended_call_queues_one_signed_crm_webhook_and_dead_ones_can_be_retried,
    |app| {
        let (a, _, key_a) = app.site_with_key("A").await;
        let (b, _, key_b) = app.site_with_key("B").await;
        let settings = json!({"webhook_url": "http://127.0.0.1:9/crm", "webhook_secret": "crm-secret-0123456789"});
        let r = app
            .call(
                Method::PATCH,
                &format!("/v1/sites/{a}"),
                Some(common::ADMIN),
                Some(json!({"settings": settings})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        let lead = Uuid::now_v7();
        let h = app.calls.admit(call(&a, Some(lead)), None).unwrap();
        h.emit(turn(
            0,
            Speaker::Bot,
            "Namaste, kya aap abhi baat kar sakte hain?",
        ));
        h.emit(turn(1, Speaker::Caller, "haan ji, budget 80 lakh hai"));
        h.emit(CallEventKind::Action {
            name: "qualify".into(),
            detail: json!({"budget": "80 lakh"}),
        });
        h.emit(CallEventKind::Action {
            name: "qualify".into(),
            detail: json!({"status": "hot", "score": 9}),
        });
        h.emit(CallEventKind::Action {
            name: "tag".into(),
            detail: json!({"label": "lead_hot"}),
        });
        h.emit(CallEventKind::Ended {
            outcome: CallOutcome::Transferred,
            reason: "hot lead".into(),
        });
        let id = h.id();
        drop(h);
        // A call of a site without a webhook URL sends nothing.
        let other = app.calls.admit(call(&b, None), None).unwrap();
        other.emit(CallEventKind::Ended {
            outcome: CallOutcome::Completed,
            reason: "done".into(),
        });
        drop(other);
        app.calls.flush().await;

        let mut list = Vec::new();
        for _ in 0..100 {
            list = deliveries(&app, &a, &key_a, "").await;
            if !list.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(list.len(), 1, "{list:?}");
        let d = &list[0];
        assert_eq!(
            (d["kind"].as_str(), d["status"].as_str(), d["url"].as_str()),
            (
                Some("call.ended"),
                Some("pending"),
                Some("http://127.0.0.1:9/crm")
            )
        );
        assert_eq!(d["subject_id"], id.to_string());
        let body: Value = serde_json::from_str(d["payload"].as_str().unwrap()).unwrap();
        assert_eq!(body["event"], "call.ended");
        assert_eq!(body["call"]["id"], id.to_string());
        assert_eq!(body["outcome"], "transferred");
        assert_eq!(body["lead"]["id"], lead.to_string());
        assert_eq!(
            body["qualification"],
            json!({"budget": "80 lakh", "status": "hot", "score": 9})
        );
        assert_eq!(body["tags"], json!(["lead_hot"]));
        assert_eq!(body["transcript"].as_array().unwrap().len(), 2, "{body}");
        assert_eq!(body["transcript"][1]["text"], "haan ji, budget 80 lakh hai");
        assert!(deliveries(&app, &b, &key_b, "").await.is_empty());
        let store = &app.db.store;
        // The delivery row is written just before its job is pushed: give the push its moment.
        let mut queued = 0;
        for _ in 0..100 {
            queued = store
                .jobs()
                .counts(WEBHOOK)
                .await
                .unwrap()
                .iter()
                .map(|(_, n)| n)
                .sum::<i64>();
            if queued > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(queued, 1, "one delivery job");

        // Dead-letter list and retry.
        let did: Uuid = d["id"].as_str().unwrap().parse().unwrap();
        let path = format!("/v1/sites/{a}/webhooks/{did}/retry");
        let r = app.call(Method::POST, &path, Some(&key_a), None).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::CONFLICT, "not_dead"),
            "{}",
            r.body
        );
        store
            .webhooks()
            .failed_attempt(did, "receiver answered 500", true)
            .await
            .unwrap();
        let dead = deliveries(&app, &a, &key_a, "?status=dead").await;
        assert_eq!(
            (dead.len(), dead[0]["last_error"].as_str()),
            (1, Some("receiver answered 500"))
        );
        assert!(
            deliveries(&app, &a, &key_a, "?status=pending")
                .await
                .is_empty()
        );
        assert_eq!(
            app.call(
                Method::POST,
                &format!("/v1/sites/{b}/webhooks/{did}/retry"),
                Some(&key_b),
                None
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );
        let r = app.call(Method::POST, &path, Some(&key_a), None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(r.body["status"], "pending");
        let queued: i64 = store
            .jobs()
            .counts(WEBHOOK)
            .await
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(queued, 2, "the retry is a new attempt job");
        assert!(
            deliveries(&app, &a, &key_a, "?status=dead")
                .await
                .is_empty()
        );
        let r = app
            .call(
                Method::GET,
                &format!("/v1/sites/{a}/webhooks?status=lost"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/webhooks/{}/retry", Uuid::now_v7()),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
);

api_test!(
    a_site_with_an_llm_gets_a_call_summary_in_its_webhook,
    |app| {
        use axum::{Json, Router, routing::post};
        let router = Router::new().route(
        "/v1/chat/completions",
        post(|Json(body): Json<Value>| async move {
            let transcript = body["messages"][1]["content"].as_str().unwrap_or_default().to_string();
            assert!(transcript.contains("customer: mera order kahan hai"), "{transcript}");
            Json(json!({"choices": [{"message": {"role": "assistant", "content": "Caller asked where their order is; told it arrives tomorrow."}}]}))
        }),
    );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let llm = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

        let (a, _, key) = app.site_with_key("A").await;
        let settings = json!({"webhook_url": "http://127.0.0.1:9/crm", "brain": {"kind": "openai", "url": llm, "api_key": "k"}});
        let r = app
            .call(
                Method::PATCH,
                &format!("/v1/sites/{a}"),
                Some(common::ADMIN),
                Some(json!({"settings": settings})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let h = app.calls.admit(call(&a, None), None).unwrap();
        h.emit(turn(0, Speaker::Caller, "mera order kahan hai"));
        h.emit(turn(1, Speaker::Bot, "Aapka order kal aayega."));
        h.emit(CallEventKind::Ended {
            outcome: CallOutcome::Completed,
            reason: "done".into(),
        });
        drop(h);
        app.calls.flush().await;
        let mut list = Vec::new();
        for _ in 0..100 {
            list = deliveries(&app, &a, &key, "").await;
            if !list.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let body: Value = serde_json::from_str(list[0]["payload"].as_str().unwrap()).unwrap();
        assert_eq!(
            body["summary"],
            "Caller asked where their order is; told it arrives tomorrow."
        );
    }
);
