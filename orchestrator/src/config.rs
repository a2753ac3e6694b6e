//! Vaarta's configuration: one typed struct, read from `vaarta.toml` and overridden by
//! `VAARTA_<SECTION>_<KEY>` environment variables. Every key is documented in
//! `docs/configuration.md`; the defaults serve a first run on one machine.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Environment variable prefix for overrides: `VAARTA_HTTP_BIND` sets `[http] bind`.
pub const ENV_PREFIX: &str = "VAARTA_";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid environment override {var}: {message}")]
    Env { var: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration. Sections map 1:1 to `[section]` tables in `vaarta.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub models: ModelsConfig,
    pub limits: LimitsConfig,
    pub speech: SpeechConfig,
    /// `[telephony]`: the SIP user agent and RTP (see docs/telephony.md).
    pub telephony: vaarta_telephony::TelephonyConfig,
    /// `[voice]`: whether this node takes calls, and node-wide call behaviour.
    pub voice: VoiceConfig,
    /// `[kb]`: the knowledge base's embedding model (any BERT-style ONNX encoder + tokenizer.json).
    pub kb: vaarta_speech::embed::EmbedConfig,
    /// `[jobs]`: the durable job queues (apalis) and the workers this node runs.
    pub jobs: JobsConfig,
    /// `[audit]`: recordings posted for audit transcription.
    pub audit: AuditConfig,
    /// `[email]`: the SMTP server notification emails go through.
    pub email: EmailConfig,
    /// `[widget]`: limits of website voice-widget sessions (see docs/widget.md).
    pub widget: WidgetConfig,
}

/// `[widget]`: browser voice calls over `/v1/widget/ws`. Every limit closes the socket with a
/// clear close code and reason (docs/widget.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetConfig {
    /// Widget calls one site may have at once on this node (close 4429 beyond).
    pub max_sessions_per_site: usize,
    /// Nothing received from the browser for this long ends the session, s (close 4408).
    pub idle_timeout_s: u64,
    /// Longest widget call, s; the call is ended politely when reached.
    pub max_session_s: u64,
    /// Largest binary audio frame accepted, bytes (close 4413 beyond).
    pub max_frame_bytes: usize,
    /// Frames per second accepted from one browser (close 4429 beyond).
    pub max_frames_per_s: u32,
    /// Also accept pages served by Vaarta itself (`/demo`): the Origin equals this server's
    /// own address. Turn off to allow only the site's `widget_origins`.
    pub allow_same_origin: bool,
}

impl Default for WidgetConfig {
    fn default() -> Self {
        WidgetConfig {
            max_sessions_per_site: 10,
            idle_timeout_s: 30,
            max_session_s: 900,
            max_frame_bytes: 8192,
            max_frames_per_s: 100,
            allow_same_origin: true,
        }
    }
}

/// `[email]`: notification emails (qualified lead, failed transfer, flow `notify`) through an
/// SMTP server, sent by the `email.send` job so a slow or down server delays mail, never calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// Queue notification emails at all (off: nothing is queued or sent).
    pub enabled: bool,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `starttls` (upgrade a plain connection, port 587), `tls` (TLS from the start, port 465)
    /// or `none` (plain, only for a relay on localhost).
    pub tls: String,
    /// SMTP login; empty: no authentication.
    pub username: String,
    /// Best set with `VAARTA_EMAIL_PASSWORD`.
    pub password: String,
    /// The From header, e.g. `Vaarta <calls@example.com>`.
    pub from: String,
    /// Longest one SMTP conversation may take, ms.
    pub timeout_ms: u64,
    /// Delay before each retry of a failed send, s; after the last the email is dropped (logged
    /// and counted in `vaarta_emails_total{result="dropped"}`).
    pub retry_delays_s: Vec<u64>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            enabled: false,
            smtp_host: "127.0.0.1".into(),
            smtp_port: 587,
            tls: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: "Vaarta <vaarta@localhost>".into(),
            timeout_ms: 15_000,
            retry_delays_s: vec![60, 300, 1800],
        }
    }
}

/// `[jobs]`: background work (audit transcription, webhooks) on apalis queues in the
/// service's own database; every node that runs workers takes jobs from the shared queues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Run workers on this node (the API still enqueues when off).
    pub enabled: bool,
    /// How often an idle worker looks for new or scheduled jobs, ms.
    pub poll_interval_ms: u64,
    /// Worker heartbeat, s; a node silent for twice this is taken as dead and its jobs are
    /// handed to the others (or to itself after a restart).
    pub heartbeat_s: u64,
    /// Recordings transcribed at once on this node (each uses the shared STT pool).
    pub transcribe_concurrency: usize,
    /// How long one chunk of a recording may wait for the STT pool, s (live calls go first).
    pub transcribe_chunk_wait_s: u64,
    /// Webhook deliveries in flight at once on this node.
    pub webhook_concurrency: usize,
    /// Time a receiver has to answer, ms.
    pub webhook_timeout_ms: u64,
    /// Delay before each retry of a failed delivery, s; after the last the delivery is dead
    /// (listed by `GET /v1/sites/{id}/webhooks?status=dead`).
    pub webhook_retry_delays_s: Vec<u64>,
    /// How often the campaign dialer looks for leads to call, ms (runs on nodes with `[voice]`
    /// and jobs enabled).
    pub dialer_tick_ms: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            enabled: true,
            poll_interval_ms: 500,
            heartbeat_s: 10,
            transcribe_concurrency: 1,
            transcribe_chunk_wait_s: 600,
            webhook_concurrency: 4,
            webhook_timeout_ms: 10_000,
            dialer_tick_ms: 1000,
            webhook_retry_delays_s: vec![10, 60, 300, 1800, 7200],
        }
    }
}

/// `[audit]`: audit transcription uploads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Largest recording accepted, bytes (larger: 413).
    pub max_upload_bytes: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            max_upload_bytes: 200 * 1024 * 1024,
        }
    }
}

/// `[voice]`: the call-session system on this node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceConfig {
    /// Start the SIP user agent (`[telephony]`) and run calls. Needs the speech models; without
    /// them the service still starts (HTTP, jobs) and logs why calls are off.
    pub enabled: bool,
    /// Caller silence that ends a turn, ms (sites may override).
    pub end_of_turn_silence_ms: u64,
    /// No answer text this long after the caller's turn → holding message, ms (sites may override).
    pub holding_after_ms: u64,
    /// Calls this node runs at once (SIP and widget); more are refused (SIP 503).
    pub max_calls: usize,
    /// Calls one site may have at once on this node unless its settings say otherwise (SIP 486).
    pub max_calls_per_site: usize,
    /// Where recordings of sites with `settings.voice.record_calls` go (`<call_id>.wav`).
    pub recordings_dir: PathBuf,
    /// `[voice.capacity]`: admission by the speech engines' measured capacity.
    pub capacity: crate::calls::capacity::SpeechCapacityConfig,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            enabled: true,
            end_of_turn_silence_ms: 400,
            holding_after_ms: 1500,
            max_calls: 50,
            max_calls_per_site: 20,
            recordings_dir: PathBuf::from("data/recordings"),
            capacity: Default::default(),
        }
    }
}

/// `[http]`: the REST API listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address the HTTP API listens on.
    pub bind: SocketAddr,
    /// Folder holding the swagger-ui-dist assets served under `/docs`.
    pub docs_assets_dir: PathBuf,
    /// Folder holding the uPlot files the `/dashboard` page draws its charts with.
    pub dashboard_assets_dir: PathBuf,
    /// Requests running longer than this are answered 408.
    pub request_timeout_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            docs_assets_dir: PathBuf::from("api/assets/vendor/swagger-ui"),
            dashboard_assets_dir: PathBuf::from("api/assets/vendor/uplot"),
            request_timeout_secs: 30,
        }
    }
}

/// `[database]`: SQLite (default, one node) or PostgreSQL (multi-node), chosen by the URL scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (file created on first start) or `postgres://user@host:port/db`.
    pub url: String,
    /// Upper bound of pooled connections.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://./data/vaarta.db".into(),
            max_connections: 10,
        }
    }
}

/// `[auth]`: the operator's admin token (sees every site).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Admin bearer token. When unset, one is generated into `admin_token_file` on first start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    /// Where the generated admin token is kept (mode 0600) when `admin_token` is unset.
    pub admin_token_file: PathBuf,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            admin_token: None,
            admin_token_file: PathBuf::from("./data/admin-token"),
        }
    }
}

/// Log output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing` filter directive, e.g. `info` or `info,vaarta_api=debug`. `RUST_LOG` wins if set.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info,whisper_rs=warn,ort=warn".into(),
            format: LogFormat::Text,
        }
    }
}

/// `[models]`: speech models installed by `scripts/install-models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    pub dir: PathBuf,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("./models"),
        }
    }
}

/// `[limits]`: bounds on what clients may send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// `[speech]`: the speech engines. Each subsection is the engine's own typed config from the
/// `vaarta-speech` crate; model paths left at their defaults live under `[models] dir`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechConfig {
    /// `[speech.onnx]`: the ONNX Runtime library (VAD, TTS) and its device.
    pub onnx: vaarta_speech::onnx::OnnxRuntimeConfig,
    /// `[speech.stt]`: the Whisper model, threads, audio_ctx policy, partials, engine pool.
    pub stt: vaarta_speech::stt::SttConfig,
    /// `[speech.vad]`: Silero VAD model, thresholds and minimum durations.
    pub vad: vaarta_speech::vad::VadConfig,
    /// `[speech.tts]`: Piper voices per language, Kokoro (`[speech.tts.kokoro]`) and the
    /// espeak-ng fallback.
    pub tts: vaarta_speech::tts::TtsConfig,
    /// `[speech.file_transcribe]`: chunking and speaker labels for recordings (`vaarta transcribe`,
    /// audit transcription).
    pub file_transcribe: vaarta_speech::file_transcribe::FileTranscribeConfig,
    /// `[speech.turn]`: the Smart Turn end-of-turn model and its timings (read by the call
    /// session's turn taking once it uses `vaarta_speech::turn::TurnDecider`).
    pub turn: vaarta_speech::turn::TurnConfig,
}

impl SpeechConfig {
    /// Moves model paths that still point at the engines' default models folder under `dir`
    /// (`[models] dir`), so one setting relocates every bundled model.
    fn rebase_models(&mut self, dir: &Path) {
        let default_root = vaarta_speech::onnx::default_models_dir();
        let rebase = |p: &mut PathBuf| {
            if let Ok(rest) = p.strip_prefix(&default_root) {
                *p = dir.join(rest);
            }
        };
        rebase(&mut self.onnx.library);
        rebase(&mut self.vad.model);
        rebase(&mut self.file_transcribe.vad.model);
        rebase(&mut self.turn.model);
        self.tts.voices.values_mut().for_each(rebase);
        self.tts.kokoro.paths_mut().into_iter().for_each(rebase);
        if self.stt.models_dir == default_root || self.stt.models_dir == Path::new("models") {
            self.stt.models_dir = dir.to_path_buf();
        }
    }
}

impl Config {
    /// Loads `path` (a missing file means all defaults) and applies `VAARTA_*` overrides from
    /// the process environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// Like [`Config::load`] with an explicit environment (tests).
    pub fn load_with_env(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(source) => {
                    return Err(ConfigError::Read {
                        path: p.into(),
                        source,
                    });
                }
            },
            None => String::new(),
        };
        let file_path = path
            .map(Path::to_path_buf)
            .unwrap_or_else(|| "vaarta.toml".into());
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: file_path.clone(),
            message: e.to_string(),
        })?;
        apply_env(&mut table, env)?;
        let mut config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: file_path,
                    message: e.to_string(),
                })?;
        let models_dir = config.models.dir.clone();
        config.rebase_models(&models_dir);
        config.validate()?;
        Ok(config)
    }

    /// Moves every default model path (speech, KB) under `[models] dir`.
    fn rebase_models(&mut self, dir: &Path) {
        self.speech.rebase_models(dir);
        let default_root = vaarta_speech::onnx::default_models_dir();
        for p in [&mut self.kb.model, &mut self.kb.tokenizer] {
            if let Ok(rest) = p.strip_prefix(&default_root) {
                *p = dir.join(rest);
            }
        }
    }

    /// Checks what serde cannot: value ranges and URL schemes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::storage::DatabaseKind::from_url(&self.database.url)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if self.database.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        if self.limits.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "limits.max_body_bytes must be at least 1024".into(),
            ));
        }
        if let Some(t) = &self.auth.admin_token
            && t.len() < 16
        {
            return Err(ConfigError::Invalid(
                "auth.admin_token must be at least 16 characters".into(),
            ));
        }
        if self.email.enabled {
            let e = &self.email;
            if !["starttls", "tls", "none"].contains(&e.tls.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "email.tls must be starttls, tls or none, not {:?}",
                    e.tls
                )));
            }
            if e.smtp_host.trim().is_empty() || e.smtp_port == 0 {
                return Err(ConfigError::Invalid(
                    "email.smtp_host and email.smtp_port must be set".into(),
                ));
            }
            if !e.from.contains('@') {
                return Err(ConfigError::Invalid(format!(
                    "email.from {:?} is not an address like \"Vaarta <calls@example.com>\"",
                    e.from
                )));
            }
        }
        Ok(())
    }
}

/// Short names kept for convenience: alias -> full `VAARTA_<SECTION>_<KEY>` name.
pub const ENV_ALIASES: &[(&str, &str)] = &[("VAARTA_ADMIN_TOKEN", "VAARTA_AUTH_ADMIN_TOKEN")];

/// Applies `VAARTA_<SECTION>_<KEY>=value` onto the parsed file. Variables whose section is not a
/// config section (e.g. `VAARTA_TEST_DATABASE_URL`) are ignored; an unknown key inside a known
/// section is an error, so typos do not pass silently.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let defaults = toml::Value::try_from(Config::default()).expect("defaults serialize");
    let sections: BTreeMap<String, &toml::Table> = defaults
        .as_table()
        .expect("a table")
        .iter()
        .filter_map(|(k, v)| v.as_table().map(|t| (k.to_ascii_uppercase(), t)))
        .collect();
    // Short aliases first, so the full `VAARTA_<SECTION>_<KEY>` form wins when both are set.
    let mut env: Vec<(String, String)> = env.into_iter().collect();
    env.sort_by_key(|(k, _)| !ENV_ALIASES.iter().any(|(a, _)| a == k));
    for (var, value) in env {
        let var = ENV_ALIASES
            .iter()
            .find(|(a, _)| *a == var)
            .map(|(_, full)| full.to_string())
            .unwrap_or(var);
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let Some((section, key)) = sections.keys().find_map(|s| {
            rest.strip_prefix(s.as_str())
                .and_then(|k| k.strip_prefix('_'))
                .map(|k| (s, k))
        }) else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let section_name = section.to_ascii_lowercase();
        let typed = match sections[section].get(&key) {
            Some(toml::Value::Integer(_)) => value
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| ConfigError::Env {
                    var: var.clone(),
                    message: format!("expected an integer, got {value:?}"),
                })?,
            Some(toml::Value::Boolean(_)) => value
                .trim()
                .parse::<bool>()
                .map(toml::Value::Boolean)
                .map_err(|_| ConfigError::Env {
                    var: var.clone(),
                    message: format!("expected true or false, got {value:?}"),
                })?,
            Some(_) => toml::Value::String(value),
            None if section_name == "auth" && key == "admin_token" => toml::Value::String(value),
            None => {
                return Err(ConfigError::Env {
                    var: var.clone(),
                    message: format!("[{section_name}] has no key {key:?}"),
                });
            }
        };
        let entry = table
            .entry(section_name.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry.as_table_mut() {
            Some(t) => {
                t.insert(key, typed);
            }
            None => {
                return Err(ConfigError::Env {
                    var,
                    message: format!("[{section_name}] in the file is not a table"),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn missing_file_gives_defaults() {
        let c =
            Config::load_with_env(Some(Path::new("/nonexistent/vaarta.toml")), env(&[])).unwrap();
        let mut expected = Config::default();
        expected.rebase_models(Path::new("./models"));
        assert_eq!(c, expected);
        assert_eq!(
            c.speech.vad.model,
            Path::new("./models/vad/silero_vad.onnx")
        );
        assert_eq!(c.http.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database.url, "sqlite://./data/vaarta.db");
    }

    #[test]
    fn models_dir_moves_every_default_model_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vaarta.toml");
        std::fs::write(
            &p,
            "[models]\ndir = \"/srv/models\"\n[speech.tts.voices]\nhi = \"/voices/hi.onnx\"\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&p), env(&[])).unwrap();
        assert_eq!(
            c.speech.onnx.library,
            Path::new("/srv/models/onnxruntime/libonnxruntime.so")
        );
        assert_eq!(c.speech.stt.models_dir, Path::new("/srv/models"));
        assert_eq!(
            c.speech.vad.model,
            Path::new("/srv/models/vad/silero_vad.onnx")
        );
        assert_eq!(
            c.speech.turn.model,
            Path::new("/srv/models/turn/smart-turn-v3.2-cpu.onnx")
        );
        assert_eq!(
            c.speech.tts.kokoro.model,
            Path::new("/srv/models/kokoro/kokoro-v1.0.int8.onnx")
        );
        assert_eq!(
            c.speech.tts.kokoro.voices_dir,
            Path::new("/srv/models/kokoro/voices")
        );
        assert_eq!(
            c.speech.tts.voices["hi"],
            Path::new("/voices/hi.onnx"),
            "explicit paths stay"
        );
    }

    #[test]
    fn speech_turn_table_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vaarta.toml");
        std::fs::write(
            &p,
            "[speech.turn]\nenabled = false\n[speech.turn.settings]\nmax_wait_ms = 2000\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&p), env(&[])).unwrap();
        assert!(!c.speech.turn.enabled);
        assert_eq!(c.speech.turn.settings.max_wait_ms, 2000);
        assert_eq!(c.speech.turn.settings.threshold, 0.5);
        std::fs::write(&p, "[speech.turn.settings]\nmax_wait = 2000\n").unwrap();
        assert!(Config::load_with_env(Some(&p), env(&[])).is_err());
    }

    #[test]
    fn file_then_env_override() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vaarta.toml");
        std::fs::write(
            &p,
            "[http]\nbind = \"127.0.0.1:9000\"\n[database]\nmax_connections = 3\n",
        )
        .unwrap();
        let c = Config::load_with_env(
            Some(&p),
            env(&[
                (
                    "VAARTA_DATABASE_URL",
                    "postgres://postgres@127.0.0.1:5432/test",
                ),
                ("VAARTA_DATABASE_MAX_CONNECTIONS", "7"),
                ("VAARTA_AUTH_ADMIN_TOKEN", "0123456789abcdef0123"),
                ("VAARTA_ADMIN_TOKEN", "the alias loses to the full name"),
                ("VAARTA_LOG_FORMAT", "json"),
                ("VAARTA_TEST_DATABASE_URL", "ignored: not a section"),
            ]),
        )
        .unwrap();
        assert_eq!(c.http.bind.port(), 9000);
        assert_eq!(c.database.url, "postgres://postgres@127.0.0.1:5432/test");
        assert_eq!(c.database.max_connections, 7);
        assert_eq!(c.auth.admin_token.as_deref(), Some("0123456789abcdef0123"));
        assert_eq!(c.log.format, LogFormat::Json);
        let c = Config::load_with_env(
            None,
            env(&[("VAARTA_ADMIN_TOKEN", "alias-token-0123456789")]),
        )
        .unwrap();
        assert_eq!(
            c.auth.admin_token.as_deref(),
            Some("alias-token-0123456789")
        );
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::load_with_env(None, env(&[("VAARTA_HTTP_BIND", "nope")])).unwrap_err();
        assert!(e.to_string().contains("bind"), "{e}");
        let e = Config::load_with_env(None, env(&[("VAARTA_HTTP_BINDD", "x")])).unwrap_err();
        assert!(e.to_string().contains("VAARTA_HTTP_BINDD"), "{e}");
        let e = Config::load_with_env(None, env(&[("VAARTA_DATABASE_MAX_CONNECTIONS", "many")]))
            .unwrap_err();
        assert!(e.to_string().contains("integer"), "{e}");
        let e =
            Config::load_with_env(None, env(&[("VAARTA_DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(e.to_string().contains("mysql"), "{e}");
        let e = Config::load_with_env(None, env(&[("VAARTA_LOG_FORMAT", "xml")])).unwrap_err();
        assert!(e.to_string().contains("xml"), "{e}");
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vaarta.toml");
        std::fs::write(&p, "[http]\nbnid = \"127.0.0.1:9000\"\n").unwrap();
        let e = Config::load_with_env(Some(&p), env(&[])).unwrap_err();
        assert!(e.to_string().contains("bnid"), "{e}");
    }
}
