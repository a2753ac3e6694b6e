//! The audit of one of Vaarta's own calls, from its stored turns: the same report a posted
//! recording gets. The bot is the `agent`, the caller the `customer`; times are from the start
//! of the call.

use vaarta_speech::file_transcribe::{
    self as ft, ChunkResult, FileSegment, Span, SpeakerSpeech, TranscriptionPlan,
};

use super::{AuditReport, QaCheck, checklist};
use crate::calls::Speaker;
use crate::storage::calls::CallDetail;

/// Builds the report of `call` checked against `checks`.
pub fn audit_call(call: &CallDetail, checks: &[QaCheck]) -> AuditReport {
    let origin = call.call.started_at;
    let end = call
        .call
        .ended_at
        .or_else(|| call.transcript.iter().map(|t| t.ended_at).max())
        .unwrap_or(origin);
    let offset = |t: chrono::DateTime<chrono::Utc>| (t - origin).num_milliseconds().max(0) as u64;
    let mut agent = SpeakerSpeech {
        speaker: "agent".into(),
        spans: vec![],
    };
    let mut customer = SpeakerSpeech {
        speaker: "customer".into(),
        spans: vec![],
    };
    let mut segments = Vec::new();
    for turn in &call.transcript {
        let (label, channel, speech) = match turn.speaker {
            Speaker::Bot => ("agent", 0, &mut agent),
            _ => ("customer", 1, &mut customer),
        };
        let span = Span {
            start_ms: offset(turn.started_at),
            end_ms: offset(turn.ended_at).max(offset(turn.started_at)),
        };
        speech.spans.push(span);
        segments.push(FileSegment {
            start_ms: span.start_ms,
            end_ms: span.end_ms,
            speaker: label.into(),
            channel,
            text: turn.text.clone(),
            language: (!turn.language.is_empty()).then(|| turn.language.clone()),
            confidence: turn.confidence,
        });
    }
    let plan = TranscriptionPlan {
        duration_ms: offset(end),
        channels: 2,
        chunks: vec![],
        speech: vec![agent, customer],
    };
    let result = ChunkResult {
        index: 0,
        channel: 0,
        start_ms: 0,
        end_ms: plan.duration_ms,
        language: None,
        segments,
        compute_ms: 0,
    };
    let transcript = ft::assemble(&plan, &[result]);
    let qa = checklist::evaluate(checks, &transcript.segments);
    AuditReport {
        transcript,
        qa,
        summary: None,
    }
}
