//! Flow admin API: upload (checked, versioned), activation gated by flow tests, rollback,
//! simulation, and tenant isolation. Every test runs on SQLite and PostgreSQL.

mod common;

use axum::http::{Method, StatusCode};
use common::{Reply, TestApp};
use serde_json::{Value, json};
use vaarta_flows::shipped;
use vaarta_orchestrator::storage::testing::TestDb;

/// Like `api_test!`, with a body limit big enough for real flows (the default test app
/// allows 4 KiB).
macro_rules! flows_test {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let $app = app(TestDb::sqlite().await);
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let $app = app(TestDb::postgres().await);
                $body
            }
        }
    };
}

fn app(db: TestDb) -> TestApp {
    let mut config = vaarta_orchestrator::Config::default();
    config.limits.max_body_bytes = 1024 * 1024;
    config.http.docs_assets_dir = "/nonexistent/swagger-ui".into();
    TestApp::with_config(db, config)
}

/// Gives the site the two CRM connectors order_status calls (activation requires them).
async fn configure_order_tools(app: &TestApp, site: &str) {
    let settings = json!({"tools": {"connectors": {
        "order_status": {"url": "https://crm.example/orders/{order_id}"},
        "order_update": {"method": "POST", "url": "https://crm.example/orders/{order_id}/notes"}
    }, "policy": {"allowed_hosts": ["crm.example"]}, "secrets": {"crm": "s3cret"}}});
    let r = app
        .call(
            Method::PATCH,
            &format!("/v1/sites/{site}"),
            Some(common::ADMIN),
            Some(json!({"settings": settings})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["settings"]["tools"]["secrets"]["crm"], "***",
        "secrets are redacted: {}",
        r.text
    );
}

fn order_tests() -> Value {
    serde_json::from_str(shipped::ORDER_STATUS_TESTS).unwrap()
}

async fn put(app: &TestApp, site: &str, key: &str, name: &str, body: Value) -> Reply {
    app.call(
        Method::PUT,
        &format!("/v1/sites/{site}/flows/{name}"),
        Some(key),
        Some(body),
    )
    .await
}

async fn activate(app: &TestApp, site: &str, key: &str, name: &str, body: Value) -> Reply {
    app.call(
        Method::POST,
        &format!("/v1/sites/{site}/flows/{name}/activate"),
        Some(key),
        Some(body),
    )
    .await
}

async fn simulate(
    app: &TestApp,
    site: &str,
    key: &str,
    path_tail: &str,
    conversation: Value,
) -> Reply {
    app.call(
        Method::POST,
        &format!("/v1/sites/{site}/flows/{path_tail}"),
        Some(key),
        Some(conversation),
    )
    .await
}

/// The bot's lines of a simulation, joined.
fn bot_text(sim: &Value) -> String {
    sim["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["speaker"] == "bot")
        .map(|l| l["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" | ")
}

flows_test!(shipped_order_status_upload_activate_simulate, |app| {
    let (site, _, key) = app.site_with_key("Shop").await;

    let r = put(
        &app,
        &site,
        &key,
        "order_status",
        json!({"source": shipped::ORDER_STATUS, "tests": order_tests()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.body["active"], false);

    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{site}/flows"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!([{"name": "order_status", "latest_version": 1, "active_version": null, "versions": 1}])
    );

    // The flow calls CRM tools the site has not configured yet: refused, naming them.
    let r = activate(&app, &site, &key, "order_status", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "tools_not_configured");
    assert!(
        r.text.contains("order_status") && r.text.contains("order_update"),
        "{}",
        r.text
    );
    configure_order_tools(&app, &site).await;

    // Activation runs the ten shipped flow tests.
    let r = activate(&app, &site, &key, "order_status", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let total = order_tests()["tests"].as_array().unwrap().len();
    assert!(total >= 5);
    assert_eq!(
        r.body,
        json!({"name": "order_status", "version": 1, "tests_passed": total})
    );

    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{site}/flows/order_status"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active_version"], 1);
    assert_eq!(r.body["flow"]["source"], shipped::ORDER_STATUS);
    assert_eq!(r.body["flow"]["tests"], order_tests());

    // A caller finds their order; the CRM tool is mocked like in the shipped tests.
    let conversation = json!({
        "caller": ["mera order number ek do teen chaar paanch hai", "nahi, bas itna hi"],
        "tools": {"order_status": [{"ok": true, "status": 200, "data": {"status": "shipped", "eta": "2026-01-08"}}]}
    });
    let r = simulate(&app, &site, &key, "order_status/simulate", conversation).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let said = bot_text(&r.body);
    assert!(said.contains("ship ho chuka hai"), "{said}");
    assert!(said.contains("8 January"), "{said}");
    assert_eq!(r.body["error"], Value::Null);
    assert_eq!(r.body["outcome"]["outcome"], "hung_up", "{}", r.text);
    let tool = r.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "tool")
        .expect("a tool call");
    assert_eq!(tool["name"], "order_status");
    assert_eq!(tool["args"]["order_id"], "12345");

    // A conversation that is not a conversation is refused, naming the field.
    let r = simulate(
        &app,
        &site,
        &key,
        "order_status/simulate",
        json!({"callr": ["haan"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("callr"), "{}", r.text);
});

flows_test!(invalid_flows_are_refused_with_positions, |app| {
    let (site, _, key) = app.site_with_key("Shop").await;

    let r = put(
        &app,
        &site,
        &key,
        "broken",
        json!({"source": "say(\"namaste\");\nlet x = ;\n"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "flow_invalid");
    let diag = &r.body["diagnostics"][0];
    assert_eq!(diag["line"], 2, "{}", r.text);
    assert!(
        diag["column"].as_u64().is_some_and(|c| c >= 1),
        "{}",
        r.text
    );
    assert!(
        diag["message"].as_str().unwrap().contains("syntax"),
        "{}",
        r.text
    );
    assert!(
        r.body["error"]["message"].as_str().unwrap().contains("2:"),
        "{}",
        r.text
    );

    let r = put(
        &app,
        &site,
        &key,
        "broken",
        json!({"source": "say(\"hi\");\nlaunch_rockets(3);\n"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "flow_invalid");
    assert_eq!(r.body["diagnostics"][0]["line"], 2, "{}", r.text);
    assert!(r.text.contains("launch_rockets"), "{}", r.text);

    let r = put(
        &app,
        &site,
        &key,
        "broken",
        json!({"source": "import \"nowhere\" as n;\nsay(\"hi\");"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("nowhere"), "{}", r.text);

    // Nothing was stored by the refused uploads.
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{site}/flows/broken"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Bad names, bad tests, oversized source.
    for name in ["Main", "has-dash", &"x".repeat(65)] {
        let r = put(&app, &site, &key, name, json!({"source": "say(\"hi\");"})).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            r.text
        );
        assert_eq!(r.code(), "validation_failed");
    }
    let r = put(
        &app,
        &site,
        &key,
        "main",
        json!({"source": "say(\"hi\");", "tests": {"tests": [{"name": "x", "expectt": {}}]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("tests:"),
        "{}",
        r.text
    );
    let huge = format!("say(\"{}\");", "a".repeat(300 * 1024));
    let r = put(&app, &site, &key, "main", json!({"source": huge})).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.code(), "source_too_large");
});

flows_test!(failing_flow_tests_block_activation, |app| {
    let (site, _, key) = app.site_with_key("Shop").await;
    // The shipped source, with one test expecting words the flow never says.
    let mut tests = order_tests();
    tests["tests"][0]["expect"]["said"] = json!(["aapka order chand par hai"]);
    let failing_name = tests["tests"][0]["name"].as_str().unwrap().to_string();
    let r = put(
        &app,
        &site,
        &key,
        "order_status",
        json!({"source": shipped::ORDER_STATUS, "tests": tests}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    configure_order_tools(&app, &site).await;

    let r = activate(&app, &site, &key, "order_status", json!({"version": 1})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "flow_tests_failed");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&failing_name),
        "{}",
        r.text
    );
    let failed = r.body["failed_tests"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{}", r.text);
    assert_eq!(failed[0]["name"], failing_name.as_str());
    assert!(
        failed[0]["failures"][0]
            .as_str()
            .unwrap()
            .contains("chand par"),
        "{}",
        r.text
    );

    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{site}/flows/order_status"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.body["active_version"], Value::Null, "{}", r.text);

    // Unknown versions and flows.
    let r = activate(&app, &site, &key, "order_status", json!({"version": 7})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = activate(&app, &site, &key, "nope", json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
});

flows_test!(versions_and_rollback, |app| {
    let (site, _, key) = app.site_with_key("Shop").await;
    let v1 = "say(\"pehla version\");\nhangup(\"done\");";
    let v2 = "say(\"doosra version\");\nhangup(\"done\");";
    let test_for = |word: &str| json!({"tests": [{"name": "greets", "conversation": {}, "expect": {"said": [word]}}]});
    assert_eq!(
        put(
            &app,
            &site,
            &key,
            "main",
            json!({"source": v1, "tests": test_for("pehla")})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let r = put(
        &app,
        &site,
        &key,
        "main",
        json!({"source": v2, "tests": test_for("doosra")}),
    )
    .await;
    assert_eq!(r.body["version"], 2, "{}", r.text);

    // Before any activation, simulation runs the latest upload.
    let r = simulate(&app, &site, &key, "main/simulate", json!({})).await;
    assert!(bot_text(&r.body).contains("doosra"), "{}", r.text);

    assert_eq!(
        activate(&app, &site, &key, "main", json!({})).await.body["version"],
        2
    );
    // Rollback.
    let r = activate(&app, &site, &key, "main", json!({"version": 1})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["version"], 1);

    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{site}/flows/main"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (
            r.body["latest_version"].clone(),
            r.body["active_version"].clone()
        ),
        (json!(2), json!(1)),
        "{}",
        r.text
    );
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{site}/flows/main?version=1"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.body["flow"]["source"], v1);
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{site}/flows/main/versions"),
            Some(&key),
            None,
        )
        .await;
    let versions: Vec<(i64, bool)> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["active"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, vec![(2, false), (1, true)]);

    // The active version answers simulations; ?version= picks another.
    let r = simulate(&app, &site, &key, "main/simulate", json!({})).await;
    assert!(bot_text(&r.body).contains("pehla"), "{}", r.text);
    let r = simulate(&app, &site, &key, "main/simulate?version=2", json!({})).await;
    assert!(bot_text(&r.body).contains("doosra"), "{}", r.text);

    // A site flow is importable by the site's other flows.
    let module = "fn greeting() { \"ram ram\" }";
    assert_eq!(
        put(&app, &site, &key, "greetings", json!({"source": module}))
            .await
            .status,
        StatusCode::CREATED
    );
    let uses = "import \"greetings\" as g;\nsay(g::greeting());";
    let r = put(&app, &site, &key, "uses_module", json!({"source": uses})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = simulate(&app, &site, &key, "uses_module/simulate", json!({})).await;
    assert!(bot_text(&r.body).contains("ram ram"), "{}", r.text);
});

flows_test!(another_sites_key_cannot_touch_flows, |app| {
    let (a, _, ka) = app.site_with_key("Alpha").await;
    let (b, _, kb) = app.site_with_key("Beta").await;
    let source = "say(\"alpha\");\nhangup(\"done\");";
    assert_eq!(
        put(&app, &a, &ka, "main", json!({"source": source}))
            .await
            .status,
        StatusCode::CREATED
    );

    let attempts = [
        (Method::GET, format!("/v1/sites/{a}/flows"), None),
        (Method::GET, format!("/v1/sites/{a}/flows/main"), None),
        (
            Method::GET,
            format!("/v1/sites/{a}/flows/main/versions"),
            None,
        ),
        (
            Method::PUT,
            format!("/v1/sites/{a}/flows/main"),
            Some(json!({"source": "say(\"pwned\");"})),
        ),
        (
            Method::POST,
            format!("/v1/sites/{a}/flows/main/activate"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/sites/{a}/flows/main/simulate"),
            Some(json!({"caller": ["haan"]})),
        ),
    ];
    for (method, path, body) in attempts {
        let r = app.call(method.clone(), &path, Some(&kb), body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.text
        );
        assert_eq!(r.code(), "not_found", "{method} {path}");
    }

    // A's flow is untouched: one version, not active.
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{a}/flows"),
            Some(&ka),
            None,
        )
        .await;
    assert_eq!(
        r.body,
        json!([{"name": "main", "latest_version": 1, "active_version": null, "versions": 1}])
    );
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{a}/flows/main"),
            Some(&ka),
            None,
        )
        .await;
    assert_eq!(r.body["flow"]["source"], source);
    // And B's own flows do not include A's.
    let r = app
        .call(
            Method::GET,
            &format!("/v1/sites/{b}/flows"),
            Some(&kb),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!([]));
    // B cannot import A's flow as a module either.
    let r = put(
        &app,
        &b,
        &kb,
        "sneaky",
        json!({"source": "import \"main\" as m;\nsay(\"x\");"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "flow_invalid");
});
