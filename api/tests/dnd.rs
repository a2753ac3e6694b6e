//! Do-not-call lists on SQLite and PostgreSQL: per-site and global lists through the API, bad
//! numbers named by index, tenant isolation, and a flow's `opt_out()` adding the caller.

mod common;

use axum::http::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;
use vaarta_orchestrator::calls::*;

api_test!(
    site_and_global_lists_are_kept_apart_and_checked_together,
    |app| {
        let (a, _, key_a) = app.site_with_key("A").await;
        let (b, _, key_b) = app.site_with_key("B").await;
        let path = format!("/v1/sites/{a}/dnd");
        let r = app.call(Method::POST, &path, Some(&key_a), Some(json!({"numbers": ["98765 43210", "+44 20 7946 0958", "12", "sip:x@host", "098765-43210"], "reason": "asked on the phone"}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["added"], 2, "{}", r.body);
        assert_eq!(
            r.body["already_listed"], 1,
            "the same number in national form: {}",
            r.body
        );
        let rejected: Vec<u64> = r.body["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["index"].as_u64().unwrap())
            .collect();
        assert_eq!(rejected, vec![2, 3], "{}", r.body);

        let r = app.call(Method::GET, &path, Some(&key_a), None).await;
        assert_eq!(r.status, StatusCode::OK);
        let numbers: Vec<&str> = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["number"].as_str().unwrap())
            .collect();
        assert_eq!(numbers, vec!["+442079460958", "+919876543210"]);
        assert_eq!(r.body[1]["reason"], "asked on the phone");
        assert_eq!(r.body[1]["source"], "api");
        let r = app
            .call(
                Method::GET,
                &format!("{path}?limit=1&after=%2B442079460958"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(r.body.as_array().unwrap().len(), 1);
        assert_eq!(r.body[0]["number"], "+919876543210");
        let r = app
            .call(Method::GET, &format!("{path}?limit=0"), Some(&key_a), None)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Another site's key sees nothing of A's list; the global list is the admin's.
        assert_eq!(
            app.call(Method::GET, &path, Some(&key_b), None)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call(Method::GET, "/v1/dnd", Some(&key_a), None)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let r = app
            .call(
                Method::POST,
                "/v1/dnd",
                Some(common::ADMIN),
                Some(json!({"numbers": ["+919811122233"]})),
            )
            .await;
        assert_eq!(
            (r.status, r.body["added"].as_u64()),
            (StatusCode::OK, Some(1)),
            "{}",
            r.body
        );

        let store = &app.db.store;
        let (a_id, b_id): (Uuid, Uuid) = (a.parse().unwrap(), b.parse().unwrap());
        assert!(store.dnd().blocks(a_id, "+919876543210").await.unwrap());
        assert!(
            !store.dnd().blocks(b_id, "+919876543210").await.unwrap(),
            "site lists are per site"
        );
        assert!(
            store.dnd().blocks(b_id, "+919811122233").await.unwrap(),
            "the global list covers every site"
        );

        let r = app
            .call(
                Method::DELETE,
                &format!("{path}/%2B919876543210"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(
            app.call(
                Method::DELETE,
                &format!("{path}/%2B919876543210"),
                Some(&key_a),
                None
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );
        assert!(!store.dnd().blocks(a_id, "+919876543210").await.unwrap());
        let r = app
            .call(
                Method::POST,
                &path,
                Some(&key_b),
                Some(json!({"numbers": "+919876543210"})),
            )
            .await;
        assert!(
            r.status.is_client_error() && r.body["error"]["message"].is_string(),
            "{}",
            r.body
        );
    }
);

api_test!(opt_out_in_a_call_adds_the_caller_to_the_sites_list, |app| {
    let (a, _, _) = app.site_with_key("A").await;
    let mut info = common::call_info(&a, CallChannel::Sip);
    (info.caller, info.state) = ("09876543210".into(), CallState::Active);
    let h = app.calls.admit(info, None).unwrap();
    h.emit(CallEventKind::Action {
        name: "opt_out".into(),
        detail: json!({}),
    });
    h.emit(CallEventKind::Ended {
        outcome: CallOutcome::Completed,
        reason: "done".into(),
    });
    drop(h);
    app.calls.flush().await;
    let list = app
        .db
        .store
        .dnd()
        .list(Some(a.parse().unwrap()), None, 10)
        .await
        .unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (list[0].number.as_str(), list[0].source.as_str()),
        ("+919876543210", "flow")
    );
});

api_test!(dnd_lists_import_from_csv_with_line_numbered_errors, |app| {
    let (a, _, key) = app.site_with_key("A").await;
    let csv =
        "Name;Mobile No\nRavi;98765 43210\nBad;12\nRavi again;+91 98765 43210\nAsha;9811122233\n";
    let r = app
        .raw(
            Method::POST,
            &format!("/v1/sites/{a}/dnd/import?reason=asked%20on%20call"),
            Some(&key),
            Some("text/csv"),
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            r.body["rows"].as_u64(),
            r.body["added"].as_u64(),
            r.body["duplicates_in_file"].as_u64()
        ),
        (Some(4), Some(2), Some(1)),
        "{}",
        r.body
    );
    assert_eq!(r.body["rejected"][0]["line"], 3);
    let list = app
        .call(Method::GET, &format!("/v1/sites/{a}/dnd"), Some(&key), None)
        .await;
    assert_eq!(list.body[0]["source"], "csv");
    assert_eq!(list.body[0]["reason"], "asked on call");
    let again = app
        .raw(
            Method::POST,
            &format!("/v1/sites/{a}/dnd/import"),
            Some(&key),
            Some("text/csv"),
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(
        (
            again.body["added"].as_u64(),
            again.body["already_listed"].as_u64()
        ),
        (Some(0), Some(2))
    );
    let r = app
        .raw(
            Method::POST,
            "/v1/dnd/import",
            Some(&key),
            Some("text/csv"),
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .raw(
            Method::POST,
            "/v1/dnd/import",
            Some(common::ADMIN),
            Some("text/csv"),
            b"number\n+442079460958\n".to_vec(),
        )
        .await;
    assert_eq!(r.body["added"], 1, "{}", r.text);
    for (ctype, body, status, code) in [
        (
            "application/json",
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        ("text/csv", b"name\nRavi\n".to_vec(), 422, "no_phone_column"),
        ("text/csv", b"\xff\xfe".to_vec(), 422, "invalid_csv"),
    ] {
        let r = app
            .raw(
                Method::POST,
                &format!("/v1/sites/{a}/dnd/import"),
                Some(&key),
                Some(ctype),
                body,
            )
            .await;
        assert_eq!((r.status.as_u16(), r.code()), (status, code), "{}", r.text);
    }
});
