//! Audit of calls: one analysis (structured transcript, talk time, silence, overtalk, the
//! site's QA checklist) for recordings of human agents posted by a CRM (transcriptions, run
//! by the audit job in `vaarta-workers`) and for Vaarta's own AI calls (`call_audit`).

pub mod call_audit;
pub mod checklist;
pub mod summary;
mod transcription;

pub use checklist::{QaCheck, QaCheckResult, QaHit, QaKind, QaReport};
pub use transcription::{
    AuditReport, NewTranscription, Transcription, TranscriptionMeta, TranscriptionProgress,
    TranscriptionStatus,
};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `settings.audit`: how this site's calls and recordings are checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// QA checklist applied to every audit (greeting, name confirmation, disclosure,
    /// prohibited words...).
    pub checklist: Vec<QaCheck>,
}
