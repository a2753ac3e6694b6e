//! The widget's management side on SQLite and PostgreSQL: each site's public key (created once,
//! rotated on demand, never another site's), the embed snippet, `/widget.js`, `/demo`, and the
//! socket's answer to a request that is not a WebSocket. Live widget calls: tests/widget.rs.

mod common;

use axum::http::{Method, StatusCode};

api_test!(
    each_site_has_one_public_widget_key_until_it_is_rotated,
    |app| {
        let (a, _, key_a) = app.site_with_key("A").await;
        let (b, _, key_b) = app.site_with_key("B").await;
        let path = format!("/v1/sites/{a}/widget");
        let first = app.call(Method::GET, &path, Some(&key_a), None).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        let wk = first.body["key"].as_str().unwrap().to_string();
        assert!(wk.starts_with("wk_") && wk.len() == 35, "{wk}");
        assert!(
            first.body["embed_html"]
                .as_str()
                .unwrap()
                .contains(&format!("data-site-id=\"{a}\" data-key=\"{wk}\"")),
            "{}",
            first.text
        );
        assert!(
            first.body["demo_url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/demo?site_id={a}"))
        );
        // Stable across reads (admin sees the same), different per site.
        let again = app
            .call(Method::GET, &path, Some(common::ADMIN), None)
            .await;
        assert_eq!(again.body["key"], wk.as_str());
        let other = app
            .call(
                Method::GET,
                &format!("/v1/sites/{b}/widget"),
                Some(&key_b),
                None,
            )
            .await;
        assert_ne!(other.body["key"], wk.as_str());
        // Another site's API key cannot read or rotate A's widget key.
        assert_eq!(
            app.call(Method::GET, &path, Some(&key_b), None)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call(Method::POST, &format!("{path}/key"), Some(&key_b), None)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call(Method::GET, &path, None, None).await.status,
            StatusCode::UNAUTHORIZED
        );

        let rotated = app
            .call(Method::POST, &format!("{path}/key"), Some(&key_a), None)
            .await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
        let new = rotated.body["key"].as_str().unwrap();
        assert_ne!(new, wk);
        let store = &app.db.store;
        assert_eq!(
            store
                .widget_keys()
                .site_for(new)
                .await
                .unwrap()
                .map(|s| s.to_string()),
            Some(a.clone())
        );
        assert_eq!(
            store.widget_keys().site_for(&wk).await.unwrap(),
            None,
            "the old key opens nothing"
        );
        assert_eq!(
            app.call(Method::GET, &path, Some(&key_a), None).await.body["key"],
            new
        );
    }
);

api_test!(
    the_script_and_the_demo_page_are_served_and_bad_requests_are_clear,
    |app| {
        let (a, _, _) = app.site_with_key("Demo <Shop>").await;
        let js = app.call(Method::GET, "/widget.js", None, None).await;
        assert_eq!(js.status, StatusCode::OK);
        assert!(
            js.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/javascript")
        );
        assert!(js.text.contains("AudioWorkletProcessor") && js.text.contains("/v1/widget/ws"));

        let page = app
            .call(Method::GET, &format!("/demo?site_id={a}"), None, None)
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.text.contains("Demo &lt;Shop&gt;"),
            "the site name is escaped"
        );
        let wk = app
            .db
            .store
            .widget_keys()
            .get_or_create(uuid::Uuid::parse_str(&a).unwrap())
            .await
            .unwrap();
        assert!(page.text.contains(&format!(
            "<script src=\"/widget.js\" data-site-id=\"{a}\" data-key=\"{wk}\"></script>"
        )));

        let r = app.call(Method::GET, "/demo", None, None).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request")
        );
        assert_eq!(
            app.call(Method::GET, "/demo?site_id=nope", None, None)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call(
                Method::GET,
                &format!("/demo?site_id={}", uuid::Uuid::now_v7()),
                None,
                None
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );
        // A plain GET of the socket says what it is.
        let r = app
            .call(
                Method::GET,
                &format!("/v1/widget/ws?site_id={a}&key={wk}"),
                None,
                None,
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
            "{}",
            r.text
        );
    }
);
