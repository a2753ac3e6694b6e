//! Knowledge base API on SQLite and PostgreSQL with the real embedding model: a 32-entry FAQ,
//! paraphrased English questions (hit@3 ≥ 0.9) and romanised Hinglish ones (hit@3 ≥ 0.8);
//! updates and deletes show in search at once; isolation; bad input. The indexing job runs on
//! the real apalis queue (async uploads, re-index); file uploads (PDF included) in kb_files.rs.

mod common;
mod kb_common;

use kb_common::{wait_job, workers};

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

fn app(db: TestDb) -> kb_common::KbApp {
    kb_common::app(db)
}

const FAQ: &str = include_str!("fixtures/faq.csv");

/// (question, expected FAQ line starting with)
const ENGLISH: &[(&str, &str)] = &[
    (
        "Can I send back something I bought?",
        "What is your return policy",
    ),
    (
        "When will I get my money back?",
        "How long does a refund take",
    ),
    (
        "Can I pay in cash when the parcel arrives?",
        "Do you offer cash on delivery",
    ),
    ("Do you deliver in Pune?", "Which cities do you deliver to"),
    (
        "How many days until my furniture arrives?",
        "How long does delivery take",
    ),
    (
        "Will you fit the furniture for free?",
        "Is installation free",
    ),
    (
        "What guarantee comes with a couch?",
        "What warranty do sofas have",
    ),
    ("Can I pay in monthly instalments?", "Do you offer EMI"),
    (
        "What time does the shop open?",
        "What are your store opening hours",
    ),
    (
        "My table came broken, what now?",
        "What if my product arrives damaged",
    ),
    ("Do you send orders abroad?", "Do you ship internationally"),
    (
        "How much does the recliner cost?",
        "What is the price of the recliner",
    ),
];

const HINGLISH: &[(&str, &str)] = &[
    (
        "refund kitne din mein aata hai",
        "How long does a refund take",
    ),
    (
        "kya cash on delivery milta hai",
        "Do you offer cash on delivery",
    ),
    ("mera order track kaise karun", "How can I track my order"),
    ("order cancel karna hai", "Can I cancel my order"),
    ("sofa ki warranty kitni hai", "What warranty do sofas have"),
    ("EMI ka option hai kya", "Do you offer EMI"),
    (
        "delivery address change kar sakte hain",
        "Can I change my delivery address",
    ),
    (
        "store kitne baje khulta hai",
        "What are your store opening hours",
    ),
    ("GST invoice kaise milega", "How do I get a GST invoice"),
    (
        "recliner ka price kya hai",
        "What is the price of the recliner",
    ),
];

async fn search(app: &common::TestApp, site: &str, key: &str, q: &str) -> Value {
    let r = app
        .call(
            Method::POST,
            &format!("/v1/sites/{site}/kb/search"),
            Some(key),
            Some(json!({"query": q, "top_k": 3})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn hit(res: &Value, want: &str) -> bool {
    res["passages"].as_array().unwrap().iter().any(|p| {
        p["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Q: {want}"))
    })
}

kb_test!(faq_search_finds_paraphrases_and_hinglish, |app| {
    let (site, _, key) = app.site_with_key("Shop").await;
    let r = app
        .call(
            Method::POST,
            &format!("/v1/sites/{site}/kb/documents"),
            Some(&key),
            Some(json!({"title": "FAQ", "type": "faq_csv", "content": FAQ})),
        )
        .await;
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
                misses.push((
                    q,
                    res["passages"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p["text"].as_str().unwrap()[..30].to_string())
                        .collect::<Vec<_>>(),
                ));
            }
        }
        let rate = hits as f64 / set.len() as f64;
        println!(
            "hit@3 = {rate:.2} over {} questions; misses {misses:?}",
            set.len()
        );
        if std::env::var_os("KB_TUNE").is_some() {
            continue;
        }
        assert!(rate >= min, "hit@3 {rate:.2} < {min}: misses {misses:#?}");
    }
});

kb_test!(
    updates_and_deletes_show_in_search_and_sites_are_isolated,
    |app| {
        let (a, _, key_a) = app.site_with_key("A").await;
        let (b, _, key_b) = app.site_with_key("B").await;
        let doc = json!({"title": "Hours", "type": "markdown", "content": "# Opening hours\nWe are open from 10 am to 7 pm on weekdays."});
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/kb/documents"),
                Some(&key_a),
                Some(doc),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_string();
        assert!(
            search(&app, &a, &key_a, "when are you open").await["passages"][0]["text"]
                .as_str()
                .unwrap()
                .contains("10 am to 7 pm")
        );
        // Site B sees nothing of A, and cannot reach A's documents.
        assert!(
            search(&app, &b, &key_b, "when are you open").await["passages"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            app.call(
                Method::POST,
                &format!("/v1/sites/{a}/kb/search"),
                Some(&key_b),
                Some(json!({"query": "open"}))
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call(
                Method::GET,
                &format!("/v1/sites/{a}/kb/documents/{id}"),
                Some(&key_b),
                None
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call(
                Method::GET,
                &format!("/v1/sites/{b}/kb/documents/{id}"),
                Some(&key_b),
                None
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );

        let new = json!({"title": "Hours", "type": "markdown", "content": "# Opening hours\nWe are open from 11 am to 8 pm every day."});
        let r = app
            .call(
                Method::PUT,
                &format!("/v1/sites/{a}/kb/documents/{id}"),
                Some(&key_a),
                Some(new),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let res = search(&app, &a, &key_a, "when are you open").await;
        assert!(
            res["passages"][0]["text"]
                .as_str()
                .unwrap()
                .contains("11 am to 8 pm"),
            "{res}"
        );
        assert_eq!(
            res["passages"].as_array().unwrap().len(),
            1,
            "old passages are gone: {res}"
        );
        let r = app
            .call(
                Method::DELETE,
                &format!("/v1/sites/{a}/kb/documents/{id}"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert!(
            search(&app, &a, &key_a, "when are you open").await["passages"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let r = app
            .call(
                Method::GET,
                &format!("/v1/sites/{a}/kb/documents"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(r.body, json!([]));
    }
);

kb_test!(bad_documents_and_queries_are_refused_clearly, |app| {
    let (a, _, key) = app.site_with_key("A").await;
    let post = |body: Value| {
        let (a, key) = (a.clone(), key.clone());
        let app = &app;
        async move {
            app.call(
                Method::POST,
                &format!("/v1/sites/{a}/kb/documents"),
                Some(&key),
                Some(body),
            )
            .await
        }
    };
    let r = post(json!({"title": "Empty", "type": "text", "content": "  \n "})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "document_invalid"),
        "{}",
        r.text
    );
    let r = post(
        json!({"title": "Bin", "type": "text", "content": "\u{0}\u{1}\u{2}\u{3}PK\u{3}\u{4}"}),
    )
    .await;
    assert_eq!(r.code(), "document_invalid", "{}", r.text);
    assert!(r.text.contains("binary"), "{}", r.text);
    let r = post(json!({"title": "Pdf", "type": "pdf", "content": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("type"), "{}", r.text);
    let r = post(json!({"title": "FAQ", "type": "faq_csv", "content": "x,y\na,b"})).await;
    assert!(r.text.contains("question"), "{}", r.text);
    // 2 MB over this app's 1 MiB body limit: 413.
    let r =
        post(json!({"title": "Huge", "type": "text", "content": "a ".repeat(1024 * 1024)})).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    for (q, field) in [
        (json!({"query": ""}), "query"),
        (json!({"query": "x", "top_k": 0}), "top_k"),
    ] {
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/kb/search"),
                Some(&key),
                Some(q),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.text.contains(field), "{}", r.text);
    }
    // Nothing half-stored.
    assert_eq!(
        app.call(
            Method::GET,
            &format!("/v1/sites/{a}/kb/documents"),
            Some(&key),
            None
        )
        .await
        .body,
        json!([])
    );
});

kb_test!(
    async_documents_are_indexed_by_the_job_and_updates_show_after_it,
    |app| {
        let (a, _, key) = app.site_with_key("A").await;
        let workers = workers(&app).await;
        let doc = json!({"title": "Hours", "type": "markdown", "content": "# Opening hours\nWe are open from 10 am to 7 pm on weekdays."});
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/kb/documents?async=true"),
                Some(&key),
                Some(doc),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(r.body["status"], "indexing");
        let (id, job) = (
            r.body["id"].as_str().unwrap().to_string(),
            r.body["job_id"].as_str().unwrap().to_string(),
        );
        let j = wait_job(&app, &a, &key, &job).await;
        assert_eq!(
            (
                j["status"].as_str(),
                j["documents_total"].as_i64(),
                j["documents_done"].as_i64(),
                j["documents_failed"].as_i64()
            ),
            (Some("done"), Some(1), Some(1), Some(0)),
            "{j}"
        );
        let d = app
            .call(
                Method::GET,
                &format!("/v1/sites/{a}/kb/documents/{id}"),
                Some(&key),
                None,
            )
            .await
            .body;
        assert_eq!(
            (
                d["status"].as_str(),
                d["chunk_count"].as_i64(),
                d["job_id"].as_str()
            ),
            (Some("ready"), Some(1), Some(job.as_str())),
            "{d}"
        );
        assert!(
            search(&app, &a, &key, "when are you open").await["passages"][0]["text"]
                .as_str()
                .unwrap()
                .contains("10 am to 7 pm")
        );

        // An update through the job: the old passage answers until the job swaps it.
        let new = json!({"title": "Hours", "type": "markdown", "content": "# Opening hours\nWe are open from 11 am to 8 pm every day."});
        let r = app
            .call(
                Method::PUT,
                &format!("/v1/sites/{a}/kb/documents/{id}?async=true"),
                Some(&key),
                Some(new),
            )
            .await;
        assert_eq!(
            (r.status, r.body["status"].as_str()),
            (StatusCode::ACCEPTED, Some("indexing")),
            "{}",
            r.text
        );
        let job2 = r.body["job_id"].as_str().unwrap().to_string();
        assert_eq!(wait_job(&app, &a, &key, &job2).await["status"], "done");
        let res = search(&app, &a, &key, "when are you open").await;
        assert!(
            res["passages"][0]["text"]
                .as_str()
                .unwrap()
                .contains("11 am to 8 pm"),
            "{res}"
        );
        assert_eq!(
            res["passages"].as_array().unwrap().len(),
            1,
            "old passages are gone: {res}"
        );
        let r = app
            .call(
                Method::DELETE,
                &format!("/v1/sites/{a}/kb/documents/{id}"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert!(
            search(&app, &a, &key, "when are you open").await["passages"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        // Bad content is refused before anything is queued.
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/kb/documents?async=true"),
                Some(&key),
                Some(json!({"title": "E", "type": "text", "content": " "})),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "document_invalid"),
            "{}",
            r.text
        );
        workers.shutdown().await;
    }
);

kb_test!(
    reindex_job_re_embeds_stored_documents_with_visible_progress,
    |app| {
        let (a, _, key) = app.site_with_key("A").await;
        let (b, _, key_b) = app.site_with_key("B").await;
        let workers = workers(&app).await;
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/kb/documents"),
                Some(&key),
                Some(json!({"title": "FAQ", "type": "faq_csv", "content": FAQ})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let faq: uuid::Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
        let r = app.call(Method::POST, &format!("/v1/sites/{a}/kb/documents"), Some(&key), Some(json!({"title": "Hours", "type": "text", "content": "We are open from 10 am to 7 pm on weekdays."}))).await;
        let hours: uuid::Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
        // As if the embedding model had changed: every stored vector is now meaningless.
        let site: uuid::Uuid = a.parse().unwrap();
        for id in [faq, hours] {
            let src = app.db.store.kb().source(site, id).await.unwrap().unwrap();
            let chunks = vaarta_orchestrator::kb::ingest::chunks(src.kind, &src.content).unwrap();
            let junk: Vec<(String, Vec<f32>)> =
                chunks.into_iter().map(|c| (c, vec![0.0; 384])).collect();
            assert!(
                app.db
                    .store
                    .kb()
                    .replace_chunks(site, id, src.revision, &junk)
                    .await
                    .unwrap()
            );
        }
        let before = search(&app, &a, &key, "Can I send back something I bought?").await;
        assert_eq!(
            before["passages"][0]["similarity"].as_f64(),
            Some(0.0),
            "{before}"
        );

        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/kb/reindex"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(r.body["status"], "queued");
        let job = r.body["id"].as_str().unwrap().to_string();
        // Another site cannot see the job.
        assert_eq!(
            app.call(
                Method::GET,
                &format!("/v1/sites/{b}/kb/reindex/{job}"),
                Some(&key_b),
                None
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call(
                Method::GET,
                &format!("/v1/sites/{a}/kb/reindex/{job}"),
                Some(&key_b),
                None
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );
        let j = wait_job(&app, &a, &key, &job).await;
        assert_eq!(
            (
                j["status"].as_str(),
                j["documents_total"].as_i64(),
                j["documents_done"].as_i64()
            ),
            (Some("done"), Some(2), Some(2)),
            "{j}"
        );
        assert!(
            j["started_at"].is_string() && j["finished_at"].is_string(),
            "{j}"
        );
        let after = search(&app, &a, &key, "Can I send back something I bought?").await;
        assert!(hit(&after, "What is your return policy"), "{after}");
        assert!(
            after["passages"][0]["similarity"].as_f64().unwrap() > 0.3,
            "{after}"
        );
        let docs = app
            .call(
                Method::GET,
                &format!("/v1/sites/{a}/kb/documents"),
                Some(&key),
                None,
            )
            .await
            .body;
        assert!(
            docs.as_array()
                .unwrap()
                .iter()
                .all(|d| d["status"] == "ready" && d["job_id"] == job.as_str()),
            "{docs}"
        );

        // One document; unknown ids are refused by name.
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/kb/reindex"),
                Some(&key),
                Some(json!({"document_ids": [hours]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let j = wait_job(&app, &a, &key, r.body["id"].as_str().unwrap()).await;
        assert_eq!(
            (j["status"].as_str(), j["documents_total"].as_i64()),
            (Some("done"), Some(1)),
            "{j}"
        );
        let stranger = uuid::Uuid::now_v7();
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{b}/kb/reindex"),
                Some(&key_b),
                Some(json!({"document_ids": [hours, stranger]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(
            r.text.contains(&hours.to_string()) && r.text.contains(&stranger.to_string()),
            "{}",
            r.text
        );
        workers.shutdown().await;
    }
);
