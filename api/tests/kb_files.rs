//! KB file uploads on SQLite and PostgreSQL with the real embedding model: Markdown, FAQ CSV,
//! HTML and a real PDF (written here byte by byte, xref table included) become searchable;
//! unsupported types, binary garbage, empty files and a literal 50 MB upload are refused with
//! a JSON error naming the problem, and the service answers the next request.

mod common;
mod kb_common;

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
                let $app = kb_common::app(TestDb::sqlite().await);
                $body
            }
            #[tokio::test]
            async fn postgres() {
                let $app = kb_common::app(TestDb::postgres().await);
                $body
            }
        }
    };
}

const BOUNDARY: &str = "vaarta-test-boundary-5f1c9a";

/// A part: (field name, file name, content type, bytes).
type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, ct, data) in parts {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(f) = file {
            out.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = ct {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

async fn upload(app: &common::TestApp, site: &str, key: &str, parts: &[Part<'_>]) -> common::Reply {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    app.raw(
        Method::POST,
        &format!("/v1/sites/{site}/kb/documents/upload"),
        Some(key),
        Some(&ct),
        multipart(parts),
    )
    .await
}

/// A one-page PDF 1.4 with Helvetica text, one `Tj` per line, and a correct xref table.
fn pdf(lines: &[&str]) -> Vec<u8> {
    let mut stream = String::from("BT /F1 11 Tf 14 TL 72 740 Td\n");
    for l in lines {
        let esc = l
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        stream.push_str(&format!("({esc}) Tj T*\n"));
    }
    stream.push_str("ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

async fn top(app: &common::TestApp, site: &str, key: &str, q: &str) -> Value {
    let r = app
        .call(
            Method::POST,
            &format!("/v1/sites/{site}/kb/search"),
            Some(key),
            Some(json!({"query": q, "top_k": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["passages"][0].clone()
}

kb_test!(uploaded_files_of_each_type_become_searchable, |app| {
    let (a, _, key) = app.site_with_key("A").await;
    let md = b"# Delivery\nWe deliver furniture within 5 working days in Delhi and Mumbai.";
    let r = upload(
        &app,
        &a,
        &key,
        &[("file", Some("delivery.md"), Some("text/markdown"), md)],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (
            r.body["kind"].as_str(),
            r.body["title"].as_str(),
            r.body["status"].as_str()
        ),
        (Some("markdown"), Some("delivery.md"), Some("ready")),
        "{}",
        r.text
    );
    assert_eq!(r.body["metadata"]["file_name"], "delivery.md");

    let csv = b"question,answer\nDo you offer EMI?,Yes: 3 to 12 month EMI on all credit cards.\n";
    let r = upload(
        &app,
        &a,
        &key,
        &[
            ("title", None, None, b"Payments"),
            ("file", Some("faq.csv"), None, csv),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.body["kind"].as_str(), r.body["title"].as_str()),
        (StatusCode::CREATED, Some("faq_csv"), Some("Payments")),
        "{}",
        r.text
    );

    // No extension: the content type decides.
    let html = b"<html><body><h2>Warranty</h2><p>Every sofa carries a 3 year warranty on its frame.</p></body></html>";
    let r = upload(
        &app,
        &a,
        &key,
        &[(
            "file",
            Some("warranty"),
            Some("text/html; charset=utf-8"),
            html,
        )],
    )
    .await;
    assert_eq!(
        (r.status, r.body["kind"].as_str()),
        (StatusCode::CREATED, Some("html")),
        "{}",
        r.text
    );

    let file = pdf(&[
        "Returns and refunds",
        "Items can be returned within 7 days of delivery.",
        "Refunds reach your UPI account within 5 working days.",
    ]);
    let r = upload(
        &app,
        &a,
        &key,
        &[("file", Some("Policy.PDF"), Some("application/pdf"), &file)],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (
            r.body["kind"].as_str(),
            r.body["metadata"]["source_type"].as_str()
        ),
        (Some("text"), Some("pdf")),
        "{}",
        r.text
    );
    let id = r.body["id"].as_str().unwrap();
    let d = app
        .call(
            Method::GET,
            &format!("/v1/sites/{a}/kb/documents/{id}"),
            Some(&key),
            None,
        )
        .await
        .body;
    assert!(
        d["content"]
            .as_str()
            .unwrap()
            .contains("Items can be returned within 7 days of delivery."),
        "{d}"
    );

    for (q, want) in [
        ("how many days to return an item", "returned within 7 days"),
        ("delivery kitne din mein hogi", "within 5 working days"),
        ("EMI milta hai kya", "12 month EMI"),
        ("sofa warranty", "3 year warranty"),
    ] {
        let p = top(&app, &a, &key, q).await;
        assert!(p["text"].as_str().unwrap_or("").contains(want), "{q}: {p}");
    }

    // A PDF without a text layer, and `?async=true` on an upload.
    let blank = pdf(&[]);
    let r = upload(&app, &a, &key, &[("file", Some("scan.pdf"), None, &blank)]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "document_invalid"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("scan.pdf") && r.text.contains("text layer"),
        "{}",
        r.text
    );
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let body = multipart(&[(
        "file",
        Some("hours.txt"),
        None,
        b"The showroom is open from 10 am to 8 pm, all seven days.",
    )]);
    let r = app
        .raw(
            Method::POST,
            &format!("/v1/sites/{a}/kb/documents/upload?async=true"),
            Some(&key),
            Some(&ct),
            body,
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str(), r.body["kind"].as_str()),
        (StatusCode::ACCEPTED, Some("indexing"), Some("text")),
        "{}",
        r.text
    );
    let workers = kb_common::workers(&app).await;
    kb_common::wait_job(&app, &a, &key, r.body["job_id"].as_str().unwrap()).await;
    workers.shutdown().await;
    assert!(
        top(&app, &a, &key, "showroom timings").await["text"]
            .as_str()
            .unwrap()
            .contains("10 am to 8 pm")
    );
});

kb_test!(bad_uploads_are_refused_with_the_reason, |app| {
    let (a, _, key) = app.site_with_key("A").await;
    let r = upload(
        &app,
        &a,
        &key,
        &[("file", Some("report.docx"), None, b"PK\x03\x04 not really")],
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file_type"),
        "{}",
        r.text
    );
    assert!(r.text.contains(".docx"), "{}", r.text);
    let r = upload(
        &app,
        &a,
        &key,
        &[(
            "file",
            Some("blob"),
            Some("application/octet-stream"),
            b"\x00\x01\x02",
        )],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let r = upload(
        &app,
        &a,
        &key,
        &[("file", Some("notes.txt"), None, &garbage)],
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "document_invalid"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("notes.txt") && r.text.contains("binary"),
        "{}",
        r.text
    );
    let r = upload(
        &app,
        &a,
        &key,
        &[("file", Some("fake.pdf"), None, &garbage)],
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "document_invalid"),
        "{}",
        r.text
    );
    assert!(r.text.contains("PDF"), "{}", r.text);
    let r = upload(&app, &a, &key, &[("file", Some("empty.md"), None, b"")]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "document_invalid"),
        "{}",
        r.text
    );
    assert!(r.text.contains("empty"), "{}", r.text);
    let r = upload(
        &app,
        &a,
        &key,
        &[("file", Some("blank.txt"), None, b" \n\n ")],
    )
    .await;
    assert_eq!(r.code(), "document_invalid", "{}", r.text);
    let r = upload(&app, &a, &key, &[("title", None, None, b"No file")]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "missing_file"),
        "{}",
        r.text
    );
    let r = upload(
        &app,
        &a,
        &key,
        &[
            ("type", None, None, b"docx"),
            ("file", Some("a.txt"), None, b"hello there"),
        ],
    )
    .await;
    assert!(
        r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains("type"),
        "{}",
        r.text
    );

    // A literal 50 MB file: 413 with a JSON error, and the service goes on.
    let big = vec![b'a'; 50 * 1024 * 1024];
    let r = upload(
        &app,
        &a,
        &key,
        &[("file", Some("huge.txt"), Some("text/plain"), &big)],
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        "{}",
        r.text
    );
    assert!(r.text.contains("20 MiB"), "{}", r.text);
    drop(big);
    let r = upload(
        &app,
        &a,
        &key,
        &[(
            "file",
            Some("ok.txt"),
            None,
            b"We accept returns within 7 days.",
        )],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Nothing else was stored.
    let docs = app
        .call(
            Method::GET,
            &format!("/v1/sites/{a}/kb/documents"),
            Some(&key),
            None,
        )
        .await
        .body;
    assert_eq!(docs.as_array().unwrap().len(), 1, "{docs}");
});
