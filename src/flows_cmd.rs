//! `vaarta flows check|simulate`: work on a flow file locally, before uploading it to a site.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::{Map, Value};
use vaarta_flows::simulate::{Action, Speaker};
use vaarta_flows::{Conversation, FlowModules, FlowTestSuite};

#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Compile and validate a flow (syntax, unknown functions, missing modules). Modules are the
    /// shipped ones plus every other `*.rhai` file beside FILE. When `FILE.tests.json` (e.g.
    /// `order_status.tests.json` beside `order_status.rhai`) exists, its flow tests run too.
    Check {
        /// The flow's Rhai source.
        file: PathBuf,
    },
    /// Run a text conversation through a flow and print the transcript and actions.
    Simulate {
        /// The flow's Rhai source.
        file: PathBuf,
        /// One caller utterance per `--say`, answered in order at each ask/listen.
        #[arg(long = "say")]
        says: Vec<String>,
        /// Lead field for outbound flows, as KEY=VALUE (repeatable).
        #[arg(long = "lead", value_parser = parse_key_value)]
        lead: Vec<(String, String)>,
        /// Starting call language.
        #[arg(long, default_value = "hi")]
        language: String,
        /// Print the full simulation result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: FlowsCommand) -> Result<()> {
    match command {
        FlowsCommand::Check { file } => check(&file),
        FlowsCommand::Simulate {
            file,
            says,
            lead,
            language,
            json,
        } => {
            let mut conversation = Conversation::from_utterances(says);
            conversation.language = language;
            conversation.lead = lead
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect::<Map<_, _>>();
            simulate(&file, &conversation, json)
        }
    }
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// The flow's source and the modules it may import: the shipped modules, overridden by the
/// `*.rhai` files beside it.
fn load(file: &Path) -> Result<(String, FlowModules)> {
    let source =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut modules = vaarta_flows::shipped::modules();
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rhai")
            && path != file
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            modules.insert(stem.to_string(), std::fs::read_to_string(&path)?);
        }
    }
    Ok((source, modules))
}

fn check(file: &Path) -> Result<()> {
    let (source, modules) = load(file)?;
    let info = match vaarta_flows::check(&source, &modules) {
        Ok(info) => info,
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{}:{d}", file.display());
            }
            bail!("{} has {} error(s)", file.display(), diagnostics.len());
        }
    };
    println!("{}: ok", file.display());
    println!("  imports: {}", join(&info.imports));
    println!("  tools:   {}", join(&info.tools));
    let tests = file.with_extension("tests.json");
    if tests.is_file() {
        let text = std::fs::read_to_string(&tests)?;
        let suite = FlowTestSuite::from_json(&text)
            .with_context(|| format!("parsing {}", tests.display()))?;
        let report = vaarta_flows::run_flow_tests(&source, &modules, &suite)
            .map_err(|d| anyhow::anyhow!("flow does not compile: {d:?}"))?;
        for r in &report.results {
            println!(
                "  test {:<40} {}",
                r.name,
                if r.passed { "ok" } else { "FAILED" }
            );
            for f in &r.failures {
                println!("      - {f}");
            }
        }
        println!(
            "  {} of {} flow tests passed",
            report.total - report.failed,
            report.total
        );
        if report.failed > 0 {
            bail!("{} flow test(s) failed", report.failed);
        }
    }
    Ok(())
}

fn simulate(file: &Path, conversation: &Conversation, json: bool) -> Result<()> {
    let (source, modules) = load(file)?;
    let result =
        vaarta_flows::simulate(&source, &modules, conversation).map_err(|diagnostics| {
            for d in &diagnostics {
                eprintln!("{}:{d}", file.display());
            }
            anyhow::anyhow!("{} does not compile", file.display())
        })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        for line in &result.transcript {
            let who = match line.speaker {
                Speaker::Bot => "bot   ",
                Speaker::Caller => "caller",
            };
            println!("{who}: {}", line.text);
        }
        for action in &result.actions {
            if !matches!(
                action,
                Action::Say { .. } | Action::Ask { .. } | Action::Log { .. }
            ) {
                println!("action: {}", serde_json::to_string(action)?);
            }
        }
        println!("outcome: {}", serde_json::to_string(&result.outcome)?);
    }
    if let Some(error) = &result.error {
        bail!("flow failed: {error}");
    }
    Ok(())
}

fn join(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(", ")
    }
}
