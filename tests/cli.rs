//! The `vaarta` binary's offline commands: flows check/simulate, and say → transcribe on the
//! real models (the same config the service uses).

use std::path::PathBuf;
use std::process::Command;

fn vaarta() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaarta"));
    // No vaarta.toml from the working directory: defaults plus the test environment only.
    cmd.arg("--config").arg("/nonexistent/vaarta.toml");
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn flows_check_runs_the_shipped_flow_tests() {
    let out = vaarta()
        .args(["flows", "check"])
        .arg(repo().join("flows/scripts/order_status.rhai"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("imports: transfer_rules"), "{stdout}");
    assert!(stdout.contains("10 of 10 flow tests passed"), "{stdout}");
}

#[test]
fn flows_check_reports_syntax_errors_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.rhai");
    std::fs::write(&file, "say(\"hello\");\nlet x = ;\n").unwrap();
    let out = vaarta()
        .args(["flows", "check"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("broken.rhai:2:"),
        "diagnostic names file and line 2: {stderr}"
    );
}

#[test]
fn flows_simulate_prints_the_conversation_and_the_transfer() {
    let out = vaarta()
        .args(["flows", "simulate"])
        .arg(repo().join("flows/scripts/order_status.rhai"))
        .args(["--say", "agent se baat karao"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("caller: agent se baat karao"), "{stdout}");
    assert!(stdout.contains("\"outcome\":\"transferred\""), "{stdout}");
}

#[test]
fn say_then_transcribe_round_trips_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("say.wav");
    let out = vaarta()
        .args([
            "say",
            "Your parcel will be delivered on Friday morning.",
            "--rate",
            "16000",
            "-o",
        ])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "say failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = vaarta()
        .arg("transcribe")
        .arg(&wav)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "transcribe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = json["text"].as_str().unwrap().to_lowercase();
    for word in ["parcel", "delivered", "friday", "morning"] {
        assert!(text.contains(word), "{word:?} missing from {text:?}");
    }
    assert_eq!(json["languages"][0], "en");
}

#[test]
fn transcribe_names_the_problem_with_a_text_file() {
    let out = vaarta()
        .arg("transcribe")
        .arg(repo().join("README.md"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("text, not audio"), "{stderr}");
}
