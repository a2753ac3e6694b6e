//! `vaarta`: the binary. Only wires configuration and starts things; the work lives in the crates.

mod flows_cmd;
mod services;
mod speech_cmd;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;
use vaarta_orchestrator::config::LogFormat;
use vaarta_orchestrator::tenancy::NewSite;
use vaarta_orchestrator::tenancy::admin_token::{self, AdminTokenSource};
use vaarta_orchestrator::{Config, Store};

use crate::services::Services;

/// Vaarta: self-hosted AI voice calling agent and call orchestrator.
///
/// Configuration comes from vaarta.toml (see --config) and VAARTA_<SECTION>_<KEY> environment
/// variables; every key is described in docs/configuration.md. With no configuration at all,
/// Vaarta serves HTTP on 127.0.0.1:8080 and keeps its data in ./data/vaarta.db (SQLite).
#[derive(Debug, Parser)]
#[command(name = "vaarta", version, propagate_version = true)]
struct Cli {
    /// Configuration file; a missing file means built-in defaults.
    #[arg(
        long,
        global = true,
        env = "VAARTA_CONFIG",
        default_value = "vaarta.toml"
    )]
    config: PathBuf,

    /// Log output style (overrides [log] format).
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormatArg>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service: HTTP API (and, as they land, the SIP listener and job workers) in one
    /// process. Applies pending database migrations first. Stops gracefully on SIGTERM/Ctrl-C.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage sites (tenants).
    Sites {
        #[command(subcommand)]
        command: SitesCommand,
    },
    /// Check and simulate Rhai call flows locally (no database, no service needed).
    Flows {
        #[command(subcommand)]
        command: flows_cmd::FlowsCommand,
    },
    /// Speak TEXT with the configured TTS voice into a WAV file.
    Say {
        /// The text to speak (numbers, ₹ amounts, dates are read out as words).
        text: String,
        /// Output WAV file (16-bit mono).
        #[arg(short, long)]
        output: PathBuf,
        /// Language code choosing the voice (`en`, `hi`, `pa`, ...).
        #[arg(long, default_value = "en")]
        lang: String,
        /// Output sample rate: 8000 for telephone legs, 16000 for the widget, 22050 native.
        #[arg(long, default_value_t = 22050)]
        rate: u32,
    },
    /// Transcribe an audio file (WAV, MP3, OGG, FLAC, M4A; mono or stereo) with the configured
    /// Whisper model; stereo channels are labelled agent/customer.
    Transcribe {
        file: PathBuf,
        /// Print the structured transcript as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Speech models: `scripts/install-models` installs them; this converts other Whisper models.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Convert a CTranslate2 Whisper model folder (model.bin + vocabulary) into a whisper.cpp
    /// GGML file (default: ggml-model.bin inside the folder). Models named in [speech.stt] are
    /// converted automatically on first use.
    Convert {
        ct2_dir: PathBuf,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum SitesCommand {
    /// Create a site and its first API key; prints the site id and the key (shown only once).
    Create {
        /// Display name of the site.
        name: String,
        /// Label of the first API key.
        #[arg(long, default_value = "default")]
        key_label: String,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(Some(&cli.config)).with_context(|| "loading configuration")?;
    if let Some(f) = cli.log_format {
        config.log.format = match f {
            LogFormatArg::Json => LogFormat::Json,
            LogFormatArg::Text => LogFormat::Text,
        };
    }
    init_logging(&config)?;
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::Sites {
            command: SitesCommand::Create { name, key_label },
        } => create_site(&config, name, key_label).await,
        Command::Flows { command } => flows_cmd::run(command),
        Command::Say {
            text,
            output,
            lang,
            rate,
        } => tokio::task::block_in_place(|| {
            speech_cmd::say(&config.speech, &text, &lang, rate, &output)
        }),
        Command::Transcribe { file, json } => {
            tokio::task::block_in_place(|| speech_cmd::transcribe(&config.speech, &file, json))
        }
        Command::Models {
            command: ModelsCommand::Convert { ct2_dir, output },
        } => tokio::task::block_in_place(|| speech_cmd::convert(&ct2_dir, output)),
    }
}

/// Logs go to stderr so command output on stdout stays clean.
fn init_logging(config: &Config) -> Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .with_context(|| format!("invalid log.level {:?}", config.log.level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    Ok(())
}

async fn open_store(config: &Config) -> Result<Store> {
    let store = Store::connect(&config.database)
        .await
        .context("opening the database")?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

async fn serve(config: Config) -> Result<()> {
    let store = open_store(&config).await?;
    tracing::info!(backend = ?store.kind(), "database ready");
    let (token, source) =
        admin_token::load_or_generate(&config.auth).context("loading the admin token")?;
    match source {
        AdminTokenSource::Config => tracing::info!("admin token from configuration"),
        AdminTokenSource::File(p) => {
            tracing::info!(file = %p.display(), "admin token read from file")
        }
        AdminTokenSource::Generated(p) => {
            tracing::warn!(file = %p.display(), "no auth.admin_token configured; generated one into this file (mode 0600)")
        }
    }
    let mut state = vaarta_api::AppState::new(store.clone(), &config, token);
    let (onnx, kb_cfg) = (config.speech.onnx.clone(), config.kb.clone());
    match tokio::task::spawn_blocking(move || vaarta_speech::embed::Embedder::load(&onnx, &kb_cfg))
        .await?
    {
        Ok(e) => {
            state = state.with_kb(vaarta_orchestrator::kb::KnowledgeBase::new(
                store.clone(),
                std::sync::Arc::new(e),
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "knowledge base is OFF: the embedding model did not load (run scripts/install-models)")
        }
    }
    let listener = tokio::net::TcpListener::bind(config.http.bind)
        .await
        .with_context(|| format!("binding HTTP to {}", config.http.bind))?;

    let mut services = Services::new();
    let engines = if config.voice.enabled || config.jobs.enabled {
        load_engines(&config).await?
    } else {
        None
    };
    if config.jobs.enabled {
        start_jobs(
            &config,
            &store,
            engines.as_ref(),
            state.kb.clone(),
            &mut services,
        )
        .await?;
    } else {
        tracing::info!("[jobs] enabled = false: this node runs no background jobs");
    }
    match (config.voice.enabled, engines) {
        (true, Some(engines)) => {
            start_voice(&config, &store, &mut state, engines, &mut services).await?
        }
        (true, None) => tracing::error!(
            "voice calls are OFF: the speech engines did not load (run scripts/install-models)"
        ),
        (false, _) => tracing::info!("[voice] enabled = false: this node takes no calls"),
    }
    let app = vaarta_api::app(state);
    services.spawn("http", move |shutdown| async move {
        vaarta_api::serve(listener, app, shutdown.wait())
            .await
            .context("HTTP server")
    });
    let result = services.run(Duration::from_secs(10)).await;
    store.close().await;
    result
}

/// Loads the speech engines (Whisper pool, TTS voices, VAD). Missing models turn calls and
/// audit transcription off (with the reason in the log) instead of stopping the service.
async fn load_engines(
    config: &Config,
) -> Result<Option<vaarta_orchestrator::calls::engines::SpeechEngines>> {
    let speech = config.speech.clone();
    match tokio::task::spawn_blocking(move || {
        vaarta_orchestrator::calls::engines::SpeechEngines::load(&speech)
    })
    .await?
    {
        Ok(e) => Ok(Some(e)),
        Err(e) => {
            tracing::error!(error = %e, "speech engines did not load (run scripts/install-models): no calls, no audit transcription");
            Ok(None)
        }
    }
}

/// The durable job workers (audit transcription, webhooks, KB indexing) on the service's database.
async fn start_jobs(
    config: &Config,
    store: &Store,
    engines: Option<&vaarta_orchestrator::calls::engines::SpeechEngines>,
    kb: Option<std::sync::Arc<vaarta_orchestrator::kb::KnowledgeBase>>,
    services: &mut Services,
) -> Result<()> {
    let transcribe = engines.map(|e| vaarta_workers::transcribe::TranscribeDeps {
        store: store.clone(),
        stt: e.stt.clone(),
        onnx: e.onnx.clone(),
        config: config.speech.file_transcribe.clone(),
        chunk_wait: Duration::from_secs(config.jobs.transcribe_chunk_wait_s),
    });
    let email = config.email.enabled.then(|| config.email.clone());
    let deps = vaarta_workers::WorkersDeps {
        store: store.clone(),
        transcribe,
        email,
        kb,
    };
    let workers = vaarta_workers::Workers::start(deps, &config.jobs)
        .await
        .context("starting the job workers")?;
    services.spawn("jobs", move |shutdown| async move {
        shutdown.wait().await;
        workers.shutdown().await;
        Ok(())
    });
    Ok(())
}

/// The SIP user agent and the call-session system.
async fn start_voice(
    config: &Config,
    store: &Store,
    state: &mut vaarta_api::AppState,
    engines: vaarta_orchestrator::calls::engines::SpeechEngines,
    services: &mut Services,
) -> Result<()> {
    use std::sync::Arc;
    use vaarta_orchestrator::brain::SiteBrains;
    use vaarta_orchestrator::calls::services::VoiceServices;
    use vaarta_orchestrator::calls::sip_gateway::SipGateway;

    if matches!(
        store.kind(),
        vaarta_orchestrator::storage::DatabaseKind::Sqlite
    ) {
        // One node owns a SQLite database: calls it left open were cut by its last stop.
        let n = store
            .calls()
            .end_orphans(vaarta_orchestrator::campaigns::attempts::RESTART_REASON)
            .await?;
        if n > 0 {
            tracing::warn!(
                calls = n,
                "marked calls left open by the previous run as ended"
            );
        }
    }
    let mut tcfg = config.telephony.clone();
    tcfg.max_calls = tcfg.max_calls.min(config.voice.max_calls.max(1));
    let (telephony, events) = vaarta_telephony::Telephony::start(tcfg)
        .await
        .with_context(|| format!("starting SIP on {}", config.telephony.bind))?;
    tracing::info!(sip = %telephony.local_addr(), "SIP user agent listening");
    let mut turn = vaarta_orchestrator::calls::session::call_turn_defaults();
    turn.end_of_turn_silence_ms = config.voice.end_of_turn_silence_ms;
    turn.holding_after_ms = config.voice.holding_after_ms;
    let retriever: Option<Arc<dyn vaarta_orchestrator::brain::Retriever>> = state
        .kb
        .as_ref()
        .map(|k| Arc::new(k.as_ref().clone()) as Arc<dyn vaarta_orchestrator::brain::Retriever>);
    // The session's own lines in the languages the sites speak are synthesised now, in the
    // background, so the first callers hear holding lines and apologies on time too (a new
    // site's lines, and the widget's 16 kHz, are cached by its first call).
    let sites = store.sites().list(1000, 0).await.unwrap_or_default();
    let mut langs: Vec<String> = sites
        .iter()
        .filter_map(|s| s.settings.languages.first())
        .map(|l| vaarta_orchestrator::calls::session::phrases::primary(l))
        .collect();
    langs.sort();
    langs.dedup();
    let warm = engines.clone();
    tokio::task::spawn_blocking(move || {
        let langs: Vec<&str> = langs.iter().map(String::as_str).collect();
        let made = warm.warm_default_phrases(&langs, &[8_000]);
        tracing::info!(
            lines = made,
            ?langs,
            "fixed phrases synthesised into the phrase cache"
        );
    });
    let voice = VoiceServices {
        store: store.clone(),
        registry: state.calls.clone(),
        engines,
        brains: Arc::new(SiteBrains::new(retriever.clone())),
        retriever,
        turn,
        recordings_dir: Some(config.voice.recordings_dir.clone()),
        capacity: config.voice.capacity.clone(),
    };
    let trunk = config.telephony.trunk.as_ref().map(|t| t.domain.clone());
    let gateway = SipGateway::new(voice.clone(), telephony.clone(), trunk);
    state.widget = Some(
        vaarta_orchestrator::calls::widget::WidgetGateway::new(voice, config.widget.clone())
            .with_sip(gateway.clone()),
    );
    state.outbound = Some(gateway.clone());
    if config.jobs.enabled {
        let tick = Duration::from_millis(config.jobs.dialer_tick_ms.max(100));
        let dialer = vaarta_workers::dialer::Dialer::start(
            store.clone(),
            gateway.clone(),
            tick,
            config.email.enabled,
        )
        .await
        .context("starting the campaign dialer")?;
        services.spawn("dialer", move |shutdown| async move {
            shutdown.wait().await;
            dialer.shutdown().await;
            Ok(())
        });
    }
    services.spawn("sip", move |shutdown| async move {
        tokio::select! {
            _ = gateway.run(events) => {}
            _ = shutdown.wait() => {}
        }
        telephony.shutdown().await;
        Ok(())
    });
    Ok(())
}

async fn create_site(config: &Config, name: String, key_label: String) -> Result<()> {
    let store = open_store(config).await?;
    let new = NewSite {
        name,
        settings: Default::default(),
    };
    new.validate().context("invalid site")?;
    vaarta_orchestrator::tenancy::validation::text("key label", &key_label, 100)?;
    let site = store.sites().create(&new).await?;
    let (key, secret) = store.api_keys().create(site.site_id, &key_label).await?;
    store.close().await;
    println!("site_id: {}", site.site_id);
    println!("key_id:  {}", key.key_id);
    println!("api_key: {secret}");
    eprintln!("The API key is shown only this once; store it now.");
    Ok(())
}
