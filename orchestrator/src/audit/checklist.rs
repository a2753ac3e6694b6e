//! Per-site QA checklist for audits: phrases an agent must say (greeting, name confirmation,
//! mandatory disclosure) or must never say (prohibited words), checked against a transcript's
//! segments with the time of every hit. Matching is on normalised words (case, punctuation and
//! spacing ignored; whole words only), so "Thank you for calling!" matches "thank you for calling".

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vaarta_speech::file_transcribe::FileSegment;

use crate::tenancy::ValidationError;

const MAX_CHECKS: usize = 50;
const MAX_PHRASES: usize = 50;
const MAX_PHRASE_LEN: usize = 200;

/// What a check looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QaKind {
    Greeting,
    NameConfirmation,
    Disclosure,
    /// Passes when none of the phrases is said.
    Prohibited,
    /// Any other phrase that must be said.
    Required,
}

/// One checklist item (`settings.audit.checklist[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QaCheck {
    /// Stable id reported back (`greeting`, `recording_disclosure`).
    pub id: String,
    pub kind: QaKind,
    /// Any one of these counts as a hit.
    pub phrases: Vec<String>,
    /// Whose speech is checked: `agent` (default), `customer`, or `any`.
    #[serde(default = "agent")]
    pub speaker: String,
    /// Only hits starting within this many ms of the start count (e.g. a greeting in the
    /// first 15 s). Ignored for `prohibited`.
    #[serde(default)]
    pub within_ms: Option<u64>,
}

fn agent() -> String {
    "agent".into()
}

/// Where a phrase was heard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QaHit {
    pub phrase: String,
    pub speaker: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The segment the phrase was found in.
    pub text: String,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QaCheckResult {
    pub id: String,
    pub kind: QaKind,
    pub passed: bool,
    pub hits: Vec<QaHit>,
}

/// The whole checklist on one transcript.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QaReport {
    pub checks: Vec<QaCheckResult>,
    pub passed: usize,
    pub failed: usize,
}

/// Validates `settings.audit.checklist`.
pub fn validate(checks: &[QaCheck]) -> Result<(), ValidationError> {
    if checks.len() > MAX_CHECKS {
        return Err(ValidationError::new(
            "settings.audit.checklist",
            format!("at most {MAX_CHECKS} checks"),
        ));
    }
    for (i, c) in checks.iter().enumerate() {
        let field = format!("settings.audit.checklist[{i}]");
        if c.id.trim().is_empty() || c.id.len() > 64 {
            return Err(ValidationError::new(
                format!("{field}.id"),
                "must be 1..=64 characters",
            ));
        }
        if c.phrases.is_empty() || c.phrases.len() > MAX_PHRASES {
            return Err(ValidationError::new(
                format!("{field}.phrases"),
                format!("needs 1..={MAX_PHRASES} phrases"),
            ));
        }
        for (j, p) in c.phrases.iter().enumerate() {
            if normalise(p).is_empty() || p.len() > MAX_PHRASE_LEN {
                return Err(ValidationError::new(
                    format!("{field}.phrases[{j}]"),
                    format!("must contain a word and be at most {MAX_PHRASE_LEN} bytes"),
                ));
            }
        }
        if !matches!(c.speaker.as_str(), "agent" | "customer" | "any") {
            return Err(ValidationError::new(
                format!("{field}.speaker"),
                "must be agent, customer or any",
            ));
        }
    }
    Ok(())
}

/// Runs every check over the segments (in time order).
pub fn evaluate(checks: &[QaCheck], segments: &[FileSegment]) -> QaReport {
    let normalised: Vec<String> = segments
        .iter()
        .map(|s| format!(" {} ", normalise(&s.text)))
        .collect();
    let mut report = QaReport::default();
    for check in checks {
        let phrases: Vec<(String, String)> = check
            .phrases
            .iter()
            .map(|p| (p.clone(), format!(" {} ", normalise(p))))
            .collect();
        let mut hits = Vec::new();
        for (seg, text) in segments.iter().zip(&normalised) {
            // Mono recordings have turn labels (`speaker_1`...), not parties: every check applies.
            let party_known = seg.speaker == "agent" || seg.speaker == "customer";
            if check.speaker != "any" && party_known && seg.speaker != check.speaker {
                continue;
            }
            if check.kind != QaKind::Prohibited
                && let Some(limit) = check.within_ms
                && seg.start_ms > limit
            {
                continue;
            }
            if let Some((phrase, _)) = phrases.iter().find(|(_, n)| text.contains(n.as_str())) {
                hits.push(QaHit {
                    phrase: phrase.clone(),
                    speaker: seg.speaker.clone(),
                    start_ms: seg.start_ms,
                    end_ms: seg.end_ms,
                    text: seg.text.clone(),
                });
            }
        }
        let passed = if check.kind == QaKind::Prohibited {
            hits.is_empty()
        } else {
            !hits.is_empty()
        };
        if passed {
            report.passed += 1;
        } else {
            report.failed += 1;
        }
        report.checks.push(QaCheckResult {
            id: check.id.clone(),
            kind: check.kind,
            passed,
            hits,
        });
    }
    report
}

/// Lowercase words separated by single spaces; punctuation dropped (apostrophes too, so
/// "don't" and "dont" match).
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.replace('\'', "").to_lowercase())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start_ms: u64, speaker: &str, text: &str) -> FileSegment {
        FileSegment {
            start_ms,
            end_ms: start_ms + 2000,
            speaker: speaker.into(),
            channel: 0,
            text: text.into(),
            language: Some("en".into()),
            confidence: 0.9,
        }
    }

    fn check(id: &str, kind: QaKind, phrases: &[&str], within_ms: Option<u64>) -> QaCheck {
        QaCheck {
            id: id.into(),
            kind,
            phrases: phrases.iter().map(|p| p.to_string()).collect(),
            speaker: "agent".into(),
            within_ms,
        }
    }

    #[test]
    fn finds_phrases_by_whole_words_with_times_and_speaker() {
        let segments = vec![
            seg(500, "agent", "Hello! Thank you for calling Acme."),
            seg(3000, "customer", "This is a scam, I am calling the police"),
            seg(
                6000,
                "agent",
                "Am I speaking with Mr. Rao? This call is recorded for quality.",
            ),
            seg(20_000, "agent", "Don't worry, that is guaranteed."),
        ];
        let checks = vec![
            check(
                "greeting",
                QaKind::Greeting,
                &["thank you for calling", "namaste"],
                Some(5000),
            ),
            check(
                "name",
                QaKind::NameConfirmation,
                &["am i speaking with"],
                None,
            ),
            check(
                "disclosure",
                QaKind::Disclosure,
                &["call is recorded"],
                Some(5000),
            ),
            check(
                "no_promises",
                QaKind::Prohibited,
                &["guaranteed", "scam"],
                None,
            ),
            check("no_police", QaKind::Prohibited, &["police"], None),
        ];
        let r = evaluate(&checks, &segments);
        let by_id = |id: &str| r.checks.iter().find(|c| c.id == id).unwrap();
        assert!(by_id("greeting").passed);
        assert_eq!(by_id("greeting").hits[0].start_ms, 500);
        assert_eq!(by_id("greeting").hits[0].phrase, "thank you for calling");
        assert!(by_id("name").passed);
        // Said, but after the 5 s window.
        assert!(!by_id("disclosure").passed);
        // "guaranteed" by the agent is a hit; "scam" was the customer's word, not checked.
        let p = by_id("no_promises");
        assert!(!p.passed);
        assert_eq!(p.hits.len(), 1);
        assert_eq!(p.hits[0].start_ms, 20_000);
        assert!(
            by_id("no_police").passed,
            "customer speech is not the agent's"
        );
        assert_eq!((r.passed, r.failed), (3, 2));
    }

    #[test]
    fn mono_turn_labels_are_checked_for_every_party() {
        let r = evaluate(
            &[check(
                "greeting",
                QaKind::Greeting,
                &["thank you for calling"],
                None,
            )],
            &[seg(0, "speaker_1", "Thank you for calling")],
        );
        assert!(r.checks[0].passed);
    }

    #[test]
    fn partial_words_do_not_match() {
        let r = evaluate(
            &[check("x", QaKind::Required, &["hi"], None)],
            &[seg(0, "agent", "this is history")],
        );
        assert!(!r.checks[0].passed);
        let r = evaluate(
            &[check("x", QaKind::Required, &["dont"], None)],
            &[seg(0, "agent", "I DON'T know")],
        );
        assert!(r.checks[0].passed);
    }

    #[test]
    fn validation_names_the_field() {
        let mut c = check("greeting", QaKind::Greeting, &["hello"], None);
        c.phrases = vec!["  !! ".into()];
        let e = validate(&[c]).unwrap_err();
        assert!(
            e.to_string()
                .contains("settings.audit.checklist[0].phrases[0]"),
            "{e}"
        );
        let mut c = check("greeting", QaKind::Greeting, &["hello"], None);
        c.speaker = "bot".into();
        assert!(validate(&[c]).unwrap_err().to_string().contains("speaker"));
    }
}
