//! A recording posted for audit: what the CRM sent with it, where its job stands, and the
//! report it produces.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vaarta_speech::file_transcribe::{ChannelMapping, FileTranscript};

use super::QaReport;
use crate::tenancy::ValidationError;

/// Metadata the CRM sends with a recording (the `metadata` part of the upload, JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TranscriptionMeta {
    /// The human agent on the recording (CRM's id).
    pub agent_id: Option<String>,
    /// The CRM's id of the call, echoed back in the result and the callback.
    pub crm_call_id: Option<String>,
    /// Language hint (`en`, `hi`, `pa`); absent: detected per chunk.
    pub language: Option<String>,
    /// Stereo recordings: which channel is the agent (`left_agent`, the default, or
    /// `left_customer`).
    #[schema(value_type = Option<String>)]
    pub channel_mapping: Option<ChannelMapping>,
    /// Receives the finished report (POST, JSON, signed with the site's webhook secret).
    pub callback_url: Option<String>,
}

impl TranscriptionMeta {
    pub fn validate(&self) -> Result<(), ValidationError> {
        for (field, v) in [
            ("metadata.agent_id", &self.agent_id),
            ("metadata.crm_call_id", &self.crm_call_id),
        ] {
            if let Some(v) = v {
                crate::tenancy::validation::text(field, v, 200)?;
            }
        }
        if let Some(l) = &self.language
            && !(2..=3).contains(&l.len())
        {
            return Err(ValidationError::new(
                "metadata.language",
                format!("{l:?} is not a language code like en, hi or pa"),
            ));
        }
        if let Some(u) = &self.callback_url {
            crate::tenancy::validation::http_url("metadata.callback_url", u, false)?;
        }
        Ok(())
    }
}

/// Where a transcription job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptionStatus {
    Queued,
    Processing,
    Completed,
    Failed,
}

/// Chunks transcribed so far; `resumed` were found finished by a restarted job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TranscriptionProgress {
    pub chunks_total: Option<u64>,
    pub chunks_done: u64,
    pub chunks_resumed: u64,
    /// Chunk transcriptions finished over all runs: equal to `chunks_total` when no finished
    /// chunk was ever redone.
    pub chunks_computed: u64,
    /// Times the job started (more than 1 after a restart or retry).
    pub runs: u64,
    /// 0..=100.
    pub percent: u8,
}

/// The audit report: the structured transcript plus the QA checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditReport {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub transcript: FileTranscript,
    pub qa: QaReport,
    /// A few sentences from the site's LLM (`settings.brain.kind = "openai"`); `null` without one.
    #[serde(default)]
    pub summary: Option<String>,
}

/// What the API creates from an upload.
#[derive(Debug, Clone)]
pub struct NewTranscription {
    pub site_id: Uuid,
    pub file_name: String,
    pub content_type: Option<String>,
    pub meta: TranscriptionMeta,
}

/// A transcription as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Transcription {
    pub id: Uuid,
    pub site_id: Uuid,
    pub status: TranscriptionStatus,
    pub file_name: String,
    pub content_type: Option<String>,
    pub size_bytes: u64,
    pub metadata: TranscriptionMeta,
    pub duration_ms: Option<u64>,
    pub progress: TranscriptionProgress,
    /// Set when `status` is `completed`.
    pub result: Option<AuditReport>,
    /// Set when `status` is `failed`: a stable code (`unsupported_format`, `corrupt_audio`, ...).
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}
