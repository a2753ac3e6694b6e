//! Tenant isolation: a site key sees only its own site; other sites look nonexistent (404).

mod common;

use axum::http::{Method, StatusCode};
use common::ADMIN;
use serde_json::json;

api_test!(site_key_cannot_see_or_touch_another_site, |app| {
    let (a, _ka_id, ka) = app.site_with_key("Alpha").await;
    let (b, kb_id, kb) = app.site_with_key("Beta").await;

    // Own site: visible.
    let r = app
        .call(Method::GET, &format!("/v1/sites/{a}"), Some(&ka), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Alpha");

    // Listing shows only the caller's site; the admin sees both.
    let r = app.call(Method::GET, "/v1/sites", Some(&ka), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let ids: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["site_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.as_str()]);
    let r = app.call(Method::GET, "/v1/sites", Some(ADMIN), None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2);

    // Another site's resources answer exactly like a site that does not exist.
    let missing = uuid::Uuid::now_v7();
    let not_found = app
        .call(
            Method::GET,
            &format!("/v1/sites/{missing}"),
            Some(&ka),
            None,
        )
        .await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert_eq!(not_found.code(), "not_found");
    let attempts = [
        (Method::GET, format!("/v1/sites/{b}"), None),
        (
            Method::PATCH,
            format!("/v1/sites/{b}"),
            Some(json!({"name": "pwned"})),
        ),
        (Method::DELETE, format!("/v1/sites/{b}"), None),
        (Method::GET, format!("/v1/sites/{b}/keys"), None),
        (
            Method::POST,
            format!("/v1/sites/{b}/keys"),
            Some(json!({"label": "mine now"})),
        ),
        (Method::DELETE, format!("/v1/sites/{b}/keys/{kb_id}"), None),
        // B's key id under A's path: the key is not A's, so not found either.
        (Method::DELETE, format!("/v1/sites/{a}/keys/{kb_id}"), None),
    ];
    for (method, path, body) in attempts {
        let r = app.call(method.clone(), &path, Some(&ka), body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.text
        );
        assert_eq!(r.code(), "not_found", "{method} {path}");
    }

    // Nothing of B changed: same name, its key still works and is not revoked.
    let r = app
        .call(Method::GET, &format!("/v1/sites/{b}"), Some(&kb), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Beta");
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{b}/keys"),
            Some(ADMIN),
            None,
        )
        .await;
    let keys = r.body.as_array().unwrap();
    assert_eq!(keys.len(), 1, "no key was added to B: {}", r.text);
    assert!(keys[0]["revoked_at"].is_null());

    // Site keys cannot create sites.
    let r = app
        .call(
            Method::POST,
            "/v1/sites",
            Some(&ka),
            Some(json!({"name": "Gamma"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "forbidden");
});

api_test!(missing_wrong_and_revoked_keys_get_401, |app| {
    let (a, ka_id, ka) = app.site_with_key("Alpha").await;
    let path = format!("/v1/sites/{a}");

    let r = app.call(Method::GET, &path, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "unauthorized");
    assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
    let r = app.call(Method::GET, "/v1/sites", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let r = app.call(Method::GET, &path, Some("not-a-key"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let forged = format!("{}0", &ka[..ka.len() - 1]);
    let forged = if forged == ka {
        format!("{}1", &ka[..ka.len() - 1])
    } else {
        forged
    };
    let r = app.call(Method::GET, &path, Some(&forged), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A key may revoke itself; afterwards it is refused everywhere.
    let r = app
        .call(
            Method::DELETE,
            &format!("/v1/sites/{a}/keys/{ka_id}"),
            Some(&ka),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["revoked_at"].is_string());
    for p in [path.as_str(), "/v1/sites"] {
        let r = app.call(Method::GET, p, Some(&ka), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{p}");
        assert_eq!(r.code(), "unauthorized");
    }
    // The admin still sees the key, marked revoked, and never its secret.
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{a}/keys"),
            Some(ADMIN),
            None,
        )
        .await;
    assert!(r.body[0]["revoked_at"].is_string());
    assert!(!r.text.contains(&ka), "secrets are never listed");
});

api_test!(site_crud_as_admin_and_owner, |app| {
    let (a, _, ka) = app.site_with_key("Alpha").await;
    let settings = json!({
        "languages": ["hi-IN", "en-IN", "pa-IN"],
        "voices": {"hi-IN": "hi_IN-pratham-medium"},
        "holding_messages": {"hi-IN": ["Ek minute"]},
        "transfer_targets": [{"name": "sales", "destination": "sip:sales@pbx.example"}],
        "calling_hours": {"start": "09:00", "end": "19:00", "utc_offset": "+05:30", "days": [1, 2, 3, 4, 5, 6]},
        "webhook_url": "https://crm.example/hook",
        "widget_origins": ["https://shop.example"]
    });
    let r = app
        .call(
            Method::PATCH,
            &format!("/v1/sites/{a}"),
            Some(&ka),
            Some(json!({"settings": settings})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["settings"]["languages"],
        json!(["hi-IN", "en-IN", "pa-IN"])
    );
    assert_eq!(r.body["name"], "Alpha");
    let r = app
        .call(Method::GET, &format!("/v1/sites/{a}"), Some(ADMIN), None)
        .await;
    assert_eq!(r.body["settings"]["calling_hours"]["utc_offset"], "+05:30");

    // Only the admin deletes; the owner is told so (it may see its own site).
    let r = app
        .call(Method::DELETE, &format!("/v1/sites/{a}"), Some(&ka), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(Method::DELETE, &format!("/v1/sites/{a}"), Some(ADMIN), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call(Method::GET, &format!("/v1/sites/{a}"), Some(ADMIN), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Its keys went with it.
    let r = app.call(Method::GET, "/v1/sites", Some(&ka), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
});
