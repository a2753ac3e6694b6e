//! Knowledge base API on SQLite and PostgreSQL with the real embedding model: a 32-entry FAQ,
//! paraphrased English questions (hit@3 ≥ 0.9) and romanised Hinglish ones (hit@3 ≥ 0.8);
//! updates and deletes show in search at once; isolation; bad input.

mod common;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use vaarta_orchestrator::storage::testing::TestDb;

macro_rules! kb_test {
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

fn app(db: TestDb) -> common::TestApp {
    let mut config = vaarta_orchestrator::Config::default();
    config.limits.max_body_bytes = 1024 * 1024;
    config.http.docs_assets_dir = "/nonexistent/swagger-ui".into();
    let embedder = vaarta_speech::embed::Embedder::load(&Default::default(), &Default::default()).expect("embedding model (scripts/install-models)");
    let kb = vaarta_orchestrator::kb::KnowledgeBase::new(db.store.clone(), std::sync::Arc::new(embedder));
    common::TestApp::with_state(db, config, |s| s.with_kb(kb))
}

const FAQ: &str = include_str!("fixtures/faq.csv");

/// (question, expected FAQ line starting with)
const ENGLISH: &[(&str, &str)] = &[
    ("Can I send back something I bought?", "What is your return policy"),
    ("When will I get my money back?", "How long does a refund take"),
    ("Can I pay in cash when the parcel arrives?", "Do you offer cash on delivery"),
    ("Do you deliver in Pune?", "Which cities do you deliver to"),
    ("How many days until my furniture arrives?", "How long does delivery take"),
    ("Will you fit the furniture for free?", "Is installation free"),
    ("What guarantee comes with a couch?", "What warranty do sofas have"),
    ("Can I pay in monthly instalments?", "Do you offer EMI"),
    ("What time does the shop open?", "What are your store opening hours"),
    ("My table came broken, what now?", "What if my product arrives damaged"),
    ("Do you send orders abroad?", "Do you ship internationally"),
    ("How much does the recliner cost?", "What is the price of the recliner"),
];

const HINGLISH: &[(&str, &str)] = &[
    ("refund kitne din mein aata hai", "How long does a refund take"),
    ("kya cash on delivery milta hai", "Do you offer cash on delivery"),
    ("mera order track kaise karun", "How can I track my order"),
    ("order cancel karna hai", "Can I cancel my order"),
    ("sofa ki warranty kitni hai", "What warranty do sofas have"),
    ("EMI ka option hai kya", "Do you offer EMI"),
    ("delivery address change kar sakte hain", "Can I change my delivery address"),
    ("store kitne baje khulta hai", "What are your store opening hours"),
    ("GST invoice kaise milega", "How do I get a GST invoice"),
    ("recliner ka price kya hai", "What is the price of the recliner"),
];

async fn search(app: &common::TestApp, site: &str, key: &str, q: &str) -> Value {
    let r = app.call(Method::POST, &format!("/v1/sites/{site}/kb/search"), Some(key), Some(json!({"query": q, "top_k": 3}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn hit(res: &Value, want: &str) -> bool {
    res["passages"].as_array().unwrap().iter().any(|p| p["text"].as_str().unwrap().starts_with(&format!("Q: {want}")))
}

kb_test!(faq_search_finds_paraphrases_and_hinglish, |app| {
    let (site, _, key) = app.site_with_key("Shop").await;
    let r = app.call(Method::POST, &format!("/v1/sites/{site}/kb/documents"), Some(&key), Some(json!({"title": "FAQ", "type": "faq_csv", "content": FAQ}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "ready");
    assert_eq!(r.body["chunk_count"], 32);
    for (set, min) in [(ENGLISH, 0.9), (HINGLISH, 0.8)] {
        let mut hits = 0;
        let mut misses = Vec::new();
        for (q, want) in set {
            let res = search(&app, &site, &key, q).await;
            if hit(&res, want) {
                hits += 1;
            } else {
                misses.push((q, res["passages"].as_array().unwrap().iter().map(|p| p["text"].as_str().unwrap()[..30].to_string()).collect::<Vec<_>>()));
            }
        }
        let rate = hits as f64 / set.len() as f64;
        println!("hit@3 = {rate:.2} over {} questions; misses {misses:?}", set.len());
        if std::env::var_os("KB_TUNE").is_some() { continue; }
        assert!(rate >= min, "hit@3 {rate:.2} < {min}: misses {misses:#?}");
    }
});

kb_test!(updates_and_deletes_show_in_search_and_sites_are_isolated, |app| {
    let (a, _, key_a) = app.site_with_key("A").await;
    let (b, _, key_b) = app.site_with_key("B").await;
    let doc = json!({"title": "Hours", "type": "markdown", "content": "# Opening hours\nWe are open from 10 am to 7 pm on weekdays."});
    let r = app.call(Method::POST, &format!("/v1/sites/{a}/kb/documents"), Some(&key_a), Some(doc)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(search(&app, &a, &key_a, "when are you open").await["passages"][0]["text"].as_str().unwrap().contains("10 am to 7 pm"));
    // Site B sees nothing of A, and cannot reach A's documents.
    assert!(search(&app, &b, &key_b, "when are you open").await["passages"].as_array().unwrap().is_empty());
    assert_eq!(app.call(Method::POST, &format!("/v1/sites/{a}/kb/search"), Some(&key_b), Some(json!({"query": "open"}))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::GET, &format!("/v1/sites/{a}/kb/documents/{id}"), Some(&key_b), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::GET, &format!("/v1/sites/{b}/kb/documents/{id}"), Some(&key_b), None).await.status, StatusCode::NOT_FOUND);

    let new = json!({"title": "Hours", "type": "markdown", "content": "# Opening hours\nWe are open from 11 am to 8 pm every day."});
    let r = app.call(Method::PUT, &format!("/v1/sites/{a}/kb/documents/{id}"), Some(&key_a), Some(new)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let res = search(&app, &a, &key_a, "when are you open").await;
    assert!(res["passages"][0]["text"].as_str().unwrap().contains("11 am to 8 pm"), "{res}");
    assert_eq!(res["passages"].as_array().unwrap().len(), 1, "old passages are gone: {res}");
    let r = app.call(Method::DELETE, &format!("/v1/sites/{a}/kb/documents/{id}"), Some(&key_a), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(search(&app, &a, &key_a, "when are you open").await["passages"].as_array().unwrap().is_empty());
    let r = app.call(Method::GET, &format!("/v1/sites/{a}/kb/documents"), Some(&key_a), None).await;
    assert_eq!(r.body, json!([]));
});

kb_test!(bad_documents_and_queries_are_refused_clearly, |app| {
    let (a, _, key) = app.site_with_key("A").await;
    let post = |body: Value| {
        let (a, key) = (a.clone(), key.clone());
        let app = &app;
        async move { app.call(Method::POST, &format!("/v1/sites/{a}/kb/documents"), Some(&key), Some(body)).await }
    };
    let r = post(json!({"title": "Empty", "type": "text", "content": "  \n "})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "document_invalid"), "{}", r.text);
    let r = post(json!({"title": "Bin", "type": "text", "content": "\u{0}\u{1}\u{2}\u{3}PK\u{3}\u{4}"})).await;
    assert_eq!(r.code(), "document_invalid", "{}", r.text);
    assert!(r.text.contains("binary"), "{}", r.text);
    let r = post(json!({"title": "Pdf", "type": "pdf", "content": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("type"), "{}", r.text);
    let r = post(json!({"title": "FAQ", "type": "faq_csv", "content": "x,y\na,b"})).await;
    assert!(r.text.contains("question"), "{}", r.text);
    // 2 MB over this app's 1 MiB body limit: 413.
    let r = post(json!({"title": "Huge", "type": "text", "content": "a ".repeat(1024 * 1024)})).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    for (q, field) in [(json!({"query": ""}), "query"), (json!({"query": "x", "top_k": 0}), "top_k")] {
        let r = app.call(Method::POST, &format!("/v1/sites/{a}/kb/search"), Some(&key), Some(q)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.text.contains(field), "{}", r.text);
    }
    // Nothing half-stored.
    assert_eq!(app.call(Method::GET, &format!("/v1/sites/{a}/kb/documents"), Some(&key), None).await.body, json!([]));
});
