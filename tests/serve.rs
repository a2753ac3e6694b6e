//! End-to-end: the built `vaarta` binary serves HTTP on a temp SQLite database, `sites create`
//! issues a working key, and SIGTERM stops it gracefully.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "e2e-admin-token-0123456789abcdef";

/// Minimal HTTP/1.1 client (one request per connection): status and body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn vaarta(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaarta"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("VAARTA_")) {
        cmd.env_remove(k);
    }
    cmd.arg("--config").arg(config);
    cmd
}

/// Kills the server if the test fails before stopping it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_health_sites_create_and_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = dir.path().join("vaarta.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\nbind = \"{addr}\"\ndocs_assets_dir = \"{d}/no-docs\"\n[database]\nurl = \"sqlite://{d}/data/vaarta.db\"\n\
             [auth]\nadmin_token = \"{ADMIN}\"\n[log]\nformat = \"json\"\n[voice]\nenabled = false\n",
            d = dir.path().display()
        ),
    )
    .unwrap();

    let help = vaarta(&config).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for cmd in ["serve", "migrate", "sites"] {
        assert!(help.contains(cmd), "--help mentions {cmd}: {help}");
    }

    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let child = vaarta(&config)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut server = Server(child);

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((200, body)) = http(addr, "GET", "/health", None) {
            assert!(body.contains("ok"), "{body}");
            break;
        }
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!(
                "vaarta exited early ({status}): {}",
                std::fs::read_to_string(dir.path().join("server.log")).unwrap()
            );
        }
        assert!(Instant::now() < deadline, "no /health within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        dir.path().join("data/vaarta.db").exists(),
        "SQLite file created on first start"
    );
    assert_eq!(http(addr, "GET", "/ready", None).unwrap().0, 200);
    let (status, body) = http(addr, "GET", "/openapi.json", None).unwrap();
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).expect("OpenAPI parses");
    assert!(doc["paths"]["/v1/sites"].is_object());
    let (status, metrics) = http(addr, "GET", "/metrics", None).unwrap();
    assert_eq!(status, 200);
    assert!(metrics.contains("vaarta_http_requests_total"), "{metrics}");

    // `sites create` on the same database prints a site id and a key that the server accepts.
    let out: Output = vaarta(&config)
        .args(["sites", "create", "Acme Support"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("{name} in {stdout}"))
    };
    let (site_id, key) = (field("site_id:"), field("api_key:"));
    let (status, body) = http(addr, "GET", &format!("/v1/sites/{site_id}"), Some(&key)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Acme Support"));
    assert_eq!(
        http(addr, "GET", &format!("/v1/sites/{site_id}"), None)
            .unwrap()
            .0,
        401
    );
    assert_eq!(http(addr, "GET", "/v1/sites", Some(ADMIN)).unwrap().0, 200);

    // SIGTERM: graceful shutdown, exit status 0.
    let pid = server.0.id().to_string();
    // The shell's builtin `kill`, so no procps package is needed.
    assert!(
        Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = server.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(status.success(), "exit {status}: {log}");
    let first = log.lines().next().expect("log lines");
    assert!(
        serde_json::from_str::<serde_json::Value>(first).is_ok(),
        "JSON logs: {first}"
    );
    assert!(log.contains("SIGTERM"), "{log}");
}

#[test]
fn bad_config_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vaarta.toml");
    std::fs::write(&config, "[http]\nbnid = \"127.0.0.1:1\"\n").unwrap();
    let out = vaarta(&config).arg("migrate").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bnid"), "{err}");
}
