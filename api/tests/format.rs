//! `POST /v1/format`: chat and call formatting of one answer, shared with the chatbot.

mod common;

use axum::http::{Method, StatusCode};
use serde_json::json;

api_test!(answers_are_formatted_for_calls_and_chat, |app| {
    let (_, _, key) = app.site_with_key("Shop").await;
    let text = "**Order 45678** ships on *Friday*. Track it at https://shop.example/t/45678 🚚\n\n- Call us\n- Or chat";
    let r = app
        .call(
            Method::POST,
            "/v1/format",
            Some(&key),
            Some(json!({"text": text, "channel": "call", "language": "hi"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let call = r.body["text"].as_str().unwrap();
    for gone in ["**", "https://", "🚚", "- Call"] {
        assert!(!call.contains(gone), "{gone:?} left in {call:?}");
    }
    assert!(
        !call.contains("45678"),
        "numbers are made speakable: {call}"
    );
    let r = app
        .call(
            Method::POST,
            "/v1/format",
            Some(&key),
            Some(json!({"text": text, "channel": "chat"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["text"].as_str().unwrap().contains("45678"),
        "chat keeps the number: {}",
        r.text
    );
    // The chatbot's holding phrase becomes the call phrasing.
    let holding = "Please chat par bane rahein, main check kar raha hoon.";
    let r = app
        .call(
            Method::POST,
            "/v1/format",
            Some(&key),
            Some(json!({"text": holding, "channel": "call"})),
        )
        .await;
    assert!(
        r.body["text"]
            .as_str()
            .unwrap()
            .contains("line par bane rahein"),
        "{}",
        r.text
    );

    for (body, field) in [
        (json!({"text": "hi", "channel": "fax"}), "channel"),
        (
            json!({"text": "hi", "channel": "call", "language": "fr"}),
            "language",
        ),
    ] {
        let r = app
            .call(Method::POST, "/v1/format", Some(&key), Some(body))
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
    // Over the body limit of this test app (4 KiB): 413, named.
    let r = app
        .call(
            Method::POST,
            "/v1/format",
            Some(&key),
            Some(json!({"text": "a".repeat(20_001), "channel": "call"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    let r = app
        .call(
            Method::POST,
            "/v1/format",
            None,
            Some(json!({"text": "hi", "channel": "call"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
});
