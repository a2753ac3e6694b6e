//! Campaigns and lead uploads on SQLite and PostgreSQL: settings validated with named fields
//! (time zones, telemarketing hours, retries, the flow), CSV leads normalised and de-duplicated
//! with per-line errors, do-not-call numbers kept but skipped, custom columns as lead fields,
//! limits, tenant isolation.

mod common;

use axum::http::{Method, StatusCode};
use serde_json::json;

fn spec() -> serde_json::Value {
    json!({
        "name": "Skyline launch",
        "flow": "sales_qualification",
        "calling_hours": {"days": [1, 2, 3, 4, 5, 6], "start": "10:00", "end": "19:00"},
        "max_concurrent": 3,
        "retry": {"no_answer_after_min": 120, "busy_after_min": 240, "failed_after_min": 30, "max_attempts": 3}
    })
}

api_test!(campaigns_are_created_validated_and_kept_per_site, |app| {
    let (a, _, key_a) = app.site_with_key("A").await;
    let (_b, _, key_b) = app.site_with_key("B").await;
    let base = format!("/v1/sites/{a}/campaigns");
    let r = app
        .call(Method::POST, &base, Some(&key_a), Some(spec()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = r.body.clone();
    assert_eq!(
        (
            c["status"].as_str(),
            c["time_zone"].as_str(),
            c["telemarketing"].as_bool()
        ),
        (Some("draft"), Some("Asia/Kolkata"), Some(true))
    );
    assert_eq!(
        (c["max_concurrent"].as_u64(), c["calls_per_minute"].as_u64()),
        (Some(3), Some(10))
    );
    assert_eq!(c["progress"]["total"], 0);
    let id = c["id"].as_str().unwrap().to_string();

    for (patch, field) in [
        (json!({"time_zone": "Mars/Olympus"}), "time_zone"),
        (
            json!({"calling_hours": {"days": [], "start": "21:30", "end": "23:00"}}),
            "calling_hours.end",
        ),
        (
            json!({"calling_hours": {"days": [9], "start": "10:00", "end": "18:00"}}),
            "calling_hours.days",
        ),
        (json!({"max_concurrent": 0}), "max_concurrent"),
        (json!({"retry": {"max_attempts": 0}}), "retry.max_attempts"),
        (json!({"name": ""}), "name"),
    ] {
        let mut body = spec();
        body.as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        let r = app
            .call(Method::POST, &base, Some(&key_a), Some(body))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(field),
            "{field}: {}",
            r.body
        );
    }
    let mut body = spec();
    body["flow"] = json!("no_such_flow");
    let r = app
        .call(Method::POST, &base, Some(&key_a), Some(body))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_flow"),
        "{}",
        r.body
    );
    let mut body = spec();
    body["surprise"] = json!(1);
    assert!(
        app.call(Method::POST, &base, Some(&key_a), Some(body))
            .await
            .status
            .is_client_error()
    );

    // Outside telemarketing the hours are the campaign's own.
    let mut body = spec();
    body["telemarketing"] = json!(false);
    body["calling_hours"] = json!({"days": [], "start": "07:00", "end": "22:00"});
    assert_eq!(
        app.call(Method::POST, &base, Some(&key_a), Some(body))
            .await
            .status,
        StatusCode::CREATED
    );

    let list = app.call(Method::GET, &base, Some(&key_a), None).await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    let one = format!("{base}/{id}");
    let mut changed = spec();
    changed["name"] = json!("Skyline launch, wave 2");
    changed["time_zone"] = json!("Asia/Dubai");
    let r = app
        .call(Method::PUT, &one, Some(&key_a), Some(changed))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["name"].as_str(), r.body["time_zone"].as_str()),
        (Some("Skyline launch, wave 2"), Some("Asia/Dubai"))
    );
    assert_eq!(
        app.call(Method::GET, &one, Some(&key_b), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(
            Method::GET,
            &format!("/v1/sites/{_b}/campaigns/{id}"),
            Some(&key_b),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(Method::DELETE, &one, Some(&key_a), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(Method::GET, &one, Some(&key_a), None).await.status,
        StatusCode::NOT_FOUND
    );
});

api_test!(
    lead_csv_uploads_normalise_dedupe_skip_dnd_and_name_bad_lines,
    |app| {
        let (a, _, key) = app.site_with_key("A").await;
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/campaigns"),
                Some(&key),
                Some(spec()),
            )
            .await;
        let id = r.body["id"].as_str().unwrap().to_string();
        let leads = format!("/v1/sites/{a}/campaigns/{id}/leads");
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/dnd"),
                Some(&key),
                Some(json!({"numbers": ["+919811122233"]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);

        let csv = "Customer Name,Mobile No,City,Budget (INR)\n\
               Rahul Sharma,98765 43210,Noida,80 lakh\n\
               Priya,+91-98111-22233,Delhi,\n\
               Nobody,12345,Pune,\n\
               Rahul again,09876543210,Noida,\n\
               Amrit,9812345678,Mohali,1 cr\n";
        let r = app
            .raw(
                Method::POST,
                &leads,
                Some(&key),
                Some("text/csv"),
                csv.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["rows"], 5);
        assert_eq!(
            (
                r.body["added"].as_u64(),
                r.body["skipped_dnd"].as_u64(),
                r.body["duplicates_in_file"].as_u64()
            ),
            (Some(2), Some(1), Some(1)),
            "{}",
            r.body
        );
        assert_eq!(
            r.body["rejected"],
            json!([{"line": 4, "error": "\"12345\" is not a phone number (E.164 or 10-digit Indian)"}])
        );

        // Uploading again adds nothing new; a multipart upload with a mapping adds one.
        let r = app
            .raw(
                Method::POST,
                &leads,
                Some(&key),
                Some("text/csv"),
                csv.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(
            (
                r.body["added"].as_u64(),
                r.body["already_in_campaign"].as_u64()
            ),
            (Some(0), Some(3)),
            "{}",
            r.body
        );
        let boundary = "XyZ";
        let form = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"mapping\"\r\n\r\n{{\"phone\": \"Whatsapp\", \"name\": \"Lead\"}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"more.csv\"\r\nContent-Type: text/csv\r\n\r\nLead,Whatsapp,Product\nSonia,9000011111,Skyline 3BHK\r\n--{boundary}--\r\n"
        );
        let r = app
            .raw(
                Method::POST,
                &leads,
                Some(&key),
                Some(&format!("multipart/form-data; boundary={boundary}")),
                form.into_bytes(),
            )
            .await;
        assert_eq!(
            (r.status, r.body["added"].as_u64()),
            (StatusCode::OK, Some(1)),
            "{}",
            r.text
        );

        let r = app.call(Method::GET, &leads, Some(&key), None).await;
        assert_eq!(r.status, StatusCode::OK);
        let all = r.body.as_array().unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(
            (
                all[0]["phone"].as_str(),
                all[0]["name"].as_str(),
                all[0]["line"].as_u64()
            ),
            (Some("+919876543210"), Some("Rahul Sharma"), Some(2))
        );
        assert_eq!(
            all[0]["fields"],
            json!({"city": "Noida", "budget_inr": "80 lakh"})
        );
        assert_eq!(
            (all[0]["status"].as_str(), all[0]["attempts"].as_u64()),
            (Some("pending"), Some(0))
        );
        assert_eq!(
            (all[1]["status"].as_str(), all[1]["skip_reason"].as_str()),
            (Some("skipped"), Some("do_not_call"))
        );
        assert_eq!(all[3]["fields"], json!({"product": "Skyline 3BHK"}));
        let r = app
            .call(
                Method::GET,
                &format!("{leads}?status=skipped"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(r.body.as_array().unwrap().len(), 1);
        let r = app
            .call(
                Method::GET,
                &format!("{leads}?limit=2&after={}", all[1]["id"].as_str().unwrap()),
                Some(&key),
                None,
            )
            .await;
        let page: Vec<&str> = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["phone"].as_str().unwrap())
            .collect();
        assert_eq!(page, vec!["+919812345678", "+919000011111"]);
        let r = app
            .call(
                Method::GET,
                &format!("/v1/sites/{a}/campaigns/{id}"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(
            r.body["progress"],
            json!({"total": 4, "pending": 3, "dialing": 0, "done": 0, "skipped": 1})
        );

        // Refusals name the problem and add nothing.
        for (ctype, body, status, code) in [
            (
                "text/csv",
                "Name,City\nRavi,Agra\n".as_bytes().to_vec(),
                422,
                "no_phone_column",
            ),
            ("text/csv", Vec::new(), 422, "invalid_csv"),
            ("text/csv", b"\xff\xfephone\n".to_vec(), 422, "invalid_csv"),
            (
                "application/json",
                b"{}".to_vec(),
                415,
                "unsupported_media_type",
            ),
            (
                "multipart/form-data; boundary=XyZ",
                b"--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--XyZ--\r\n"
                    .to_vec(),
                422,
                "unknown_field",
            ),
        ] {
            let r = app
                .raw(Method::POST, &leads, Some(&key), Some(ctype), body)
                .await;
            assert_eq!(
                (r.status.as_u16(), r.code()),
                (status, code),
                "{ctype}: {}",
                r.text
            );
        }
        let r = app
            .raw(
                Method::POST,
                &format!("{leads}?phone_column=Tel"),
                Some(&key),
                Some("text/csv"),
                csv.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(r.code(), "no_phone_column");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Mobile No"),
            "lists the headers: {}",
            r.text
        );
        let big = vec![b'9'; leads_limit() + 1];
        let r = app
            .raw(Method::POST, &leads, Some(&key), Some("text/csv"), big)
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            "{}",
            r.text
        );
        let r = app
            .call(
                Method::GET,
                &format!("/v1/sites/{a}/campaigns/{id}"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(
            r.body["progress"]["total"], 4,
            "refused uploads added nothing"
        );
    }
);

fn leads_limit() -> usize {
    vaarta_api::routes::leads::MAX_CSV_BYTES + 64 * 1024
}

api_test!(campaign_states_move_only_along_allowed_transitions, |app| {
    let (a, _, key) = app.site_with_key("A").await;
    let r = app
        .call(
            Method::POST,
            &format!("/v1/sites/{a}/campaigns"),
            Some(&key),
            Some(spec()),
        )
        .await;
    let base = format!("/v1/sites/{a}/campaigns/{}", r.body["id"].as_str().unwrap());
    let step = |verb: &'static str| {
        let path = format!("{base}/{verb}");
        let (app, key) = (&app, &key);
        async move { app.call(Method::POST, &path, Some(key), None).await }
    };
    let r = step("pause").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "invalid_transition"),
        "{}",
        r.body
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("draft"),
        "{}",
        r.body
    );
    assert_eq!(step("start").await.body["status"], "running");
    let r = app.call(Method::PUT, &base, Some(&key), Some(spec())).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "campaign_running")
    );
    assert_eq!(
        app.call(Method::DELETE, &base, Some(&key), None)
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(step("start").await.status, StatusCode::CONFLICT);
    assert_eq!(step("pause").await.body["status"], "paused");
    assert_eq!(
        app.call(Method::PUT, &base, Some(&key), Some(spec()))
            .await
            .status,
        StatusCode::OK,
        "paused campaigns can change"
    );
    assert_eq!(step("resume").await.body["status"], "running");
    assert_eq!(step("stop").await.body["status"], "stopped");
    for verb in ["start", "pause", "resume", "stop"] {
        assert_eq!(
            step(verb).await.status,
            StatusCode::CONFLICT,
            "{verb} after stop"
        );
    }
});

api_test!(concurrent_dialers_never_claim_the_same_lead, |app| {
    use vaarta_orchestrator::campaigns::leads_csv::{ColumnMapping, parse};
    let (a, _, key) = app.site_with_key("A").await;
    let r = app
        .call(
            Method::POST,
            &format!("/v1/sites/{a}/campaigns"),
            Some(&key),
            Some(spec()),
        )
        .await;
    let campaign: uuid::Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let mut csv = String::from("phone\n");
    for i in 0..40 {
        csv.push_str(&format!("+9197000000{i:02}\n"));
    }
    let store = app.db.store.clone();
    let leads = parse(csv.as_bytes(), &ColumnMapping::default())
        .unwrap()
        .leads;
    store
        .leads()
        .add(a.parse().unwrap(), campaign, &leads)
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(l) = store.leads().claim_next(campaign, now).await.unwrap() {
                got.push(l.phone);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(
        (all.len(), unique.len()),
        (40, 40),
        "every lead claimed exactly once"
    );
    assert_eq!(store.leads().count_dialing(campaign).await.unwrap(), 40);
    // A lead due later is not claimed before its time.
    let later = vaarta_orchestrator::storage::leads::AttemptEnd {
        outcome: "busy".into(),
        retry_at: Some(now + chrono::Duration::hours(4)),
        ..Default::default()
    };
    let first = store
        .leads()
        .list(campaign, None, None, 1)
        .await
        .unwrap()
        .remove(0);
    assert!(
        store
            .leads()
            .finish_attempt(first.id, &later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .leads()
            .finish_attempt(first.id, &later)
            .await
            .unwrap(),
        "a repeated report changes nothing"
    );
    assert!(
        store
            .leads()
            .claim_next(campaign, now)
            .await
            .unwrap()
            .is_none()
    );
    let due = store
        .leads()
        .claim_next(campaign, now + chrono::Duration::hours(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((due.id, due.attempts), (first.id, 2));
});

api_test!(campaign_results_export_as_csv_and_json, |app| {
    let (a, _, key) = app.site_with_key("A").await;
    let r = app
        .call(
            Method::POST,
            &format!("/v1/sites/{a}/campaigns"),
            Some(&key),
            Some(spec()),
        )
        .await;
    let base = format!("/v1/sites/{a}/campaigns/{}", r.body["id"].as_str().unwrap());
    let csv = "name,phone,city\nRavi,9876543210,Agra\nSita,9876543211,Pune\n";
    assert_eq!(
        app.raw(
            Method::POST,
            &format!("{base}/leads"),
            Some(&key),
            Some("text/csv"),
            csv.as_bytes().to_vec()
        )
        .await
        .status,
        StatusCode::OK
    );
    let r = app
        .raw(
            Method::GET,
            &format!("{base}/export"),
            Some(&key),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[axum::http::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.headers[axum::http::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(".csv")
    );
    let lines: Vec<&str> = r.text.lines().collect();
    assert!(
        lines[0].starts_with("line,phone,name,status,attempts,last_outcome"),
        "{}",
        r.text
    );
    assert_eq!(lines.len(), 3, "{}", r.text);
    assert!(
        lines[1].starts_with("2,+919876543210,Ravi,pending,0,")
            && lines[1].contains(r#""{""city"":""Agra""}""#),
        "{}",
        r.text
    );
    let r = app
        .call(
            Method::GET,
            &format!("{base}/export?format=json"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.body["leads"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(2)),
        "{}",
        r.text
    );
    assert_eq!(r.body["leads"][1]["fields"]["city"], "Pune");
    let r = app
        .call(
            Method::GET,
            &format!("{base}/export?format=xlsx"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
});

api_test!(
    a_million_row_lead_file_is_refused_whole_with_a_clear_error,
    |app| {
        let (a, _, key) = app.site_with_key("A").await;
        let r = app
            .call(
                Method::POST,
                &format!("/v1/sites/{a}/campaigns"),
                Some(&key),
                Some(spec()),
            )
            .await;
        let base = format!("/v1/sites/{a}/campaigns/{}", r.body["id"].as_str().unwrap());
        let mut csv = String::with_capacity(16 * 1_000_000);
        csv.push_str("phone\n");
        for i in 0..1_000_000u64 {
            csv.push_str(&format!("+9196{:08}\n", i));
        }
        let r = app
            .raw(
                Method::POST,
                &format!("{base}/leads"),
                Some(&key),
                Some("text/csv"),
                csv.into_bytes(),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::PAYLOAD_TOO_LARGE, "too_many_rows"),
            "{}",
            r.text
        );
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("100000"),
            "{}",
            r.text
        );
        let r = app.call(Method::GET, &base, Some(&key), None).await;
        assert_eq!(
            r.body["progress"]["total"], 0,
            "nothing imported from a refused file"
        );
    }
);
