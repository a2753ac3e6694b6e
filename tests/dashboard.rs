//! The built-in dashboard renders real data in headless Chromium: two widget calls are made
//! against the real binary (one the bot completes, one the visitor ends at once), then
//! `/dashboard` is opened with the site's key. The figures, the three charts (uPlot, served from
//! the setup-installed copy), the outcomes and the language mix must show those calls; a wrong key
//! is refused on the page. The screenshot lands in `test-artifacts/dashboard/`.

mod sip_support;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sip_support::*;
use tungstenite::Message;
use tungstenite::client::IntoClientRequest;

/// One widget call: start, then `stop` after `talk`, or wait for the bot to end it.
fn widget_call(server: &Server, site: &str, key: &str, stop_after: Option<Duration>) {
    let mut req = format!("ws://{}/v1/widget/ws?site_id={site}&key={key}", server.http)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Origin", "https://shop.example".parse().unwrap());
    let stream = TcpStream::connect(server.http).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let (mut ws, _) = tungstenite::client::client(req, stream).unwrap();
    ws.send(Message::Text(
        json!({"type": "start", "visitor_id": "dash"})
            .to_string()
            .into(),
    ))
    .unwrap();
    let (started, mut next) = (Instant::now(), Instant::now());
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the widget call did not end"
        );
        if Instant::now() >= next {
            next += Duration::from_millis(20);
            let _ = ws.send(Message::Binary(vec![0u8; 640].into()));
            if stop_after.is_some_and(|d| started.elapsed() >= d) {
                let _ = ws.send(Message::Text(json!({"type": "stop"}).to_string().into()));
            }
        }
        match ws.read() {
            Ok(Message::Close(_)) | Err(tungstenite::Error::ConnectionClosed) => return,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn the_dashboard_shows_the_sites_calls_in_chromium() {
    let server = Server::start();
    let (st, site) = http(
        server.http,
        "POST",
        "/v1/sites",
        Some(ADMIN),
        Some(
            &json!({"name": "Dash Shop", "settings": {"languages": ["en-IN"], "widget_origins": ["https://shop.example"]}}),
        ),
    );
    assert_eq!(st, 201, "{site}");
    let site = site["site_id"].as_str().unwrap().to_string();
    let (_, key) = http(
        server.http,
        "POST",
        &format!("/v1/sites/{site}/keys"),
        Some(ADMIN),
        Some(&json!({"label": "dash"})),
    );
    let key = key["secret"].as_str().unwrap().to_string();
    let flow = "say(\"Hello, thanks for visiting the shop.\");\nhangup(\"done\");\n";
    assert_eq!(
        http(
            server.http,
            "PUT",
            &format!("/v1/sites/{site}/flows/hello"),
            Some(&key),
            Some(&json!({"source": flow}))
        )
        .0,
        201
    );
    assert_eq!(
        http(
            server.http,
            "POST",
            &format!("/v1/sites/{site}/flows/hello/activate"),
            Some(&key),
            Some(&json!({}))
        )
        .0,
        200
    );
    assert_eq!(
        http(
            server.http,
            "PUT",
            &format!("/v1/sites/{site}/routes"),
            Some(&key),
            Some(&json!({"channel": "widget", "flow": "hello"}))
        )
        .0,
        200
    );
    let (_, w) = http(
        server.http,
        "GET",
        &format!("/v1/sites/{site}/widget"),
        Some(&key),
        None,
    );
    let wkey = w["key"].as_str().unwrap().to_string();
    widget_call(&server, &site, &wkey, None);
    widget_call(&server, &site, &wkey, Some(Duration::from_millis(300)));
    // Both calls are stored as ended before the page looks.
    let deadline = Instant::now() + Duration::from_secs(10);
    while http(server.http, "GET", "/v1/calls", Some(&key), None)
        .1
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["outcome"].is_null())
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "calls not stored");
        std::thread::sleep(Duration::from_millis(200));
    }

    let dir = repo().join("test-artifacts/dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("dashboard.png");
    let out = Command::new("node")
        .arg(repo().join("tests/browser/dashboard.mjs"))
        .args([
            "--url",
            &format!("http://{}/dashboard", server.http),
            "--token",
            &key,
            "--shot",
        ])
        .arg(&shot)
        .output()
        .expect("node (scripts/setup --test installs playwright-core and chromium)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    assert!(v["failure"].is_null(), "{v}");
    let page = &v["page"];
    assert_eq!(page["loaded"], true, "{v}");
    assert_eq!(page["total_calls"], 2, "{v}");
    let kpis: Vec<(String, String)> = serde_json::from_value(page["kpis"].clone()).unwrap();
    assert!(kpis.contains(&("Calls".into(), "2".into())), "{kpis:?}");
    assert!(
        kpis.contains(&("AI handled".into(), "1".into())),
        "the completed call: {kpis:?}"
    );
    assert_eq!(page["charts"], 3, "three uPlot charts drawn: {v}");
    let outcomes = page["outcomes"].as_str().unwrap();
    assert!(
        outcomes.contains("completed") && outcomes.contains("caller hung up"),
        "{outcomes}"
    );
    assert!(page["languages"].as_str().unwrap().contains("en"), "{v}");
    assert!(
        v["wrong_key_status"]
            .as_str()
            .unwrap()
            .starts_with("Could not load"),
        "{v}"
    );
    assert!(shot.exists());
}
