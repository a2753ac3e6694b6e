//! A site's voice settings, stored as JSON. Unknown fields are rejected so typos surface.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::validation::{self, ValidationError};

const MAX_LANGUAGES: usize = 16;
const MAX_ITEMS: usize = 50;
const MAX_TEXT: usize = 500;

/// Per-site voice channel settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SiteSettings {
    /// Languages callers may use, as BCP 47 tags; the first is the default (e.g. `en-IN`, `hi-IN`, `pa-IN`).
    pub languages: Vec<String>,
    /// TTS voice id per language tag.
    pub voices: BTreeMap<String, String>,
    /// Short phrases played while the brain is thinking, per language tag.
    pub holding_messages: BTreeMap<String, Vec<String>>,
    /// Humans a call may be transferred to.
    pub transfer_targets: Vec<TransferTarget>,
    /// When outbound calls may be placed; `null` means any time.
    pub calling_hours: Option<CallingHours>,
    /// Receives call events (POST, JSON); `null` disables webhooks.
    pub webhook_url: Option<String>,
    /// Signs every webhook and audit callback of this site (`X-Vaarta-Signature:
    /// sha256=<hex HMAC-SHA256 of the body>`). Write-only: reads show `"***"`.
    pub webhook_secret: Option<String>,
    /// Origins allowed to embed the web call widget (`https://shop.example`).
    pub widget_origins: Vec<String>,
    /// Turn taking and holding for this site's calls (defaults fit most sites).
    pub voice: VoiceSettings,
    /// HTTP connectors the site's flows may call with `tool(name, args)` (CRM, order portal):
    /// `{connectors: {name: {method, url, headers, ...}}, policy: {allow_hosts: [...]}, secrets: {...}}`
    /// (see docs/flows.md). Secrets are write-only.
    #[schema(value_type = Object)]
    pub tools: vaarta_flows::tools::ToolsConfig,
    /// Where answers come from: `{kind: "kb_only"}` (default) or `{kind: "http", url, api_key, ...}`
    /// (the central AI brain, docs/brain-contract.md).
    pub brain: Option<crate::brain::BrainSettings>,
    /// QA checklist for audits of recordings and calls (docs/audit-transcription.md).
    pub audit: crate::audit::AuditSettings,
    /// Who gets notification emails, and which (sent when `[email] enabled`).
    pub notifications: NotificationSettings,
}

/// Notification emails of a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// Recipients of every notification (empty: none are sent).
    pub email_to: Vec<String>,
    /// A call whose flow qualified the lead as `hot` or `qualified` (`qualify(#{status: ...})`).
    pub qualified_lead: bool,
    /// A transfer to a human failed (the caller was promised a callback).
    pub transfer_failed: bool,
    /// A flow's `notify(template, data)`.
    pub flow_notify: bool,
    /// One email per campaign each day at 20:00 in the campaign's time zone: progress,
    /// outcomes and the day's qualified leads (while the campaign runs, and on the day it ends).
    pub daily_digest: bool,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            email_to: Vec::new(),
            qualified_lead: true,
            transfer_failed: true,
            flow_notify: true,
            daily_digest: true,
        }
    }
}

/// A plain `local@domain` address (display names are not accepted here).
fn email_address(field: &str, v: &str) -> Result<(), ValidationError> {
    let ok = v.len() <= 254
        && v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("{v:?} is not an email address like sales@example.com"),
        ))
    }
}

/// Per-site voice behaviour; absent fields keep the node defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceSettings {
    /// No answer text this long after the caller's turn ends → holding message (default 1500).
    pub holding_after_ms: Option<u64>,
    /// Silence after the caller's speech before the turn counts as finished (default 300).
    pub end_of_turn_silence_ms: Option<u64>,
    /// `false`: this site's turns end on silence alone, never on the end-of-turn model
    /// (default: the model decides when the node has it, `[speech.turn]`).
    pub semantic_turn: Option<bool>,
    /// How long an utterance that sounds unfinished ("mera order number hai…") keeps the floor
    /// for the caller, in ms of silence after their speech (default `[speech.turn] max_wait_ms`).
    pub turn_max_wait_ms: Option<u32>,
    /// Extra backchannel words per language code ("hi": ["haan ji"]) that neither answer nor barge in.
    pub backchannels: BTreeMap<String, Vec<String>>,
    /// Most calls this site may have at once on a node (default: `[calls] max_calls_per_site`).
    pub max_concurrent_calls: Option<usize>,
    /// Flow a call runs when no route names one (default: the shipped `assistant` flow).
    pub default_flow: Option<String>,
    /// Record both sides of every call as a stereo WAV (`GET /v1/calls/{id}/recording`), kept in
    /// the node's `[voice] recordings_dir`. Tell callers: recording laws apply.
    pub record_calls: bool,
}

/// A transfer destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferTarget {
    /// Name the flow refers to (e.g. `sales`).
    pub name: String,
    /// SIP URI (`sip:agent@pbx.example`) or E.164 number (`+919876543210`).
    pub destination: String,
}

/// Daily window for outbound calls, in a fixed UTC offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallingHours {
    /// `HH:MM`, inclusive.
    pub start: String,
    /// `HH:MM`, exclusive; later than `start`.
    pub end: String,
    /// UTC offset such as `+05:30`.
    pub utc_offset: String,
    /// ISO weekdays 1 (Monday) ..= 7 (Sunday); empty means every day.
    #[serde(default)]
    pub days: Vec<u8>,
}

fn language_tag(field: &str, tag: &str) -> Result<(), ValidationError> {
    let ok = !tag.is_empty()
        && tag.len() <= 35
        && tag
            .split('-')
            .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("{tag:?} is not a language tag like en-IN"),
        ))
    }
}

fn hhmm(field: &str, v: &str) -> Result<u32, ValidationError> {
    let bad = || ValidationError::new(field, format!("{v:?} is not a time HH:MM"));
    let (h, m) = v.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl SiteSettings {
    /// The settings as API responses show them: secrets (tool secrets, the brain's API key)
    /// replaced by `"***"` so a read never leaks them.
    pub fn redacted(&self) -> SiteSettings {
        let mut s = self.clone();
        for v in s.tools.secrets.values_mut() {
            *v = "***".into();
        }
        if s.webhook_secret.is_some() {
            s.webhook_secret = Some("***".into());
        }
        if let Some(b) = s.brain.as_mut()
            && b.api_key.is_some()
        {
            b.api_key = Some("***".into());
        }
        s
    }

    /// Checks every field; the error names the first offending one (e.g. `settings.voices.xx-YY`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::count("settings.languages", self.languages.len(), MAX_LANGUAGES)?;
        for (i, l) in self.languages.iter().enumerate() {
            language_tag(&format!("settings.languages[{i}]"), l)?;
        }
        let known = |field: String, tag: &str| -> Result<(), ValidationError> {
            if self.languages.iter().any(|l| l == tag) {
                Ok(())
            } else {
                Err(ValidationError::new(
                    field,
                    format!("language {tag:?} is not in settings.languages"),
                ))
            }
        };
        validation::count("settings.voices", self.voices.len(), MAX_LANGUAGES)?;
        for (tag, voice) in &self.voices {
            known(format!("settings.voices.{tag}"), tag)?;
            validation::text(&format!("settings.voices.{tag}"), voice, 200)?;
        }
        validation::count(
            "settings.holding_messages",
            self.holding_messages.len(),
            MAX_LANGUAGES,
        )?;
        for (tag, messages) in &self.holding_messages {
            let field = format!("settings.holding_messages.{tag}");
            known(field.clone(), tag)?;
            validation::count(&field, messages.len(), MAX_ITEMS)?;
            for m in messages {
                validation::text(&field, m, MAX_TEXT)?;
            }
        }
        validation::count(
            "settings.transfer_targets",
            self.transfer_targets.len(),
            MAX_ITEMS,
        )?;
        for (i, t) in self.transfer_targets.iter().enumerate() {
            validation::text(
                &format!("settings.transfer_targets[{i}].name"),
                &t.name,
                100,
            )?;
            let field = format!("settings.transfer_targets[{i}].destination");
            validation::text(&field, &t.destination, 300)?;
            let d = &t.destination;
            let e164 = d.strip_prefix('+').is_some_and(|n| {
                (6..=15).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit())
            });
            if !(e164 || d.starts_with("sip:") || d.starts_with("sips:")) {
                return Err(ValidationError::new(
                    field,
                    "must be a sip:/sips: URI or an E.164 number like +919876543210",
                ));
            }
        }
        if let Some(h) = &self.calling_hours {
            let start = hhmm("settings.calling_hours.start", &h.start)?;
            let end = hhmm("settings.calling_hours.end", &h.end)?;
            if end <= start {
                return Err(ValidationError::new(
                    "settings.calling_hours.end",
                    "must be later than start",
                ));
            }
            let off = h.utc_offset.as_str();
            let valid_offset = (off.starts_with('+') || off.starts_with('-'))
                && hhmm("settings.calling_hours.utc_offset", &off[1..]).is_ok_and(|m| m <= 14 * 60);
            if !valid_offset {
                return Err(ValidationError::new(
                    "settings.calling_hours.utc_offset",
                    format!("{off:?} is not an offset like +05:30"),
                ));
            }
            if h.days.len() > 7 || h.days.iter().any(|d| !(1..=7).contains(d)) {
                return Err(ValidationError::new(
                    "settings.calling_hours.days",
                    "must list weekdays 1 (Monday) to 7 (Sunday)",
                ));
            }
        }
        if let Some(url) = &self.webhook_url {
            validation::http_url("settings.webhook_url", url, false)?;
        }
        if let Some(secret) = &self.webhook_secret
            && (secret.len() < 16 || secret.len() > 200 || secret == "***")
        {
            return Err(ValidationError::new(
                "settings.webhook_secret",
                "must be 16..=200 characters (reads show \"***\"; send the secret itself when updating settings)",
            ));
        }
        crate::audit::checklist::validate(&self.audit.checklist)?;
        validation::count(
            "settings.notifications.email_to",
            self.notifications.email_to.len(),
            20,
        )?;
        for (i, a) in self.notifications.email_to.iter().enumerate() {
            email_address(&format!("settings.notifications.email_to[{i}]"), a)?;
        }
        validation::count(
            "settings.widget_origins",
            self.widget_origins.len(),
            MAX_ITEMS,
        )?;
        for (i, o) in self.widget_origins.iter().enumerate() {
            validation::http_url(&format!("settings.widget_origins[{i}]"), o, true)?;
        }
        if let Some(ms) = self.voice.holding_after_ms
            && !(300..=10_000).contains(&ms)
        {
            return Err(ValidationError::new(
                "settings.voice.holding_after_ms",
                "must be between 300 and 10000",
            ));
        }
        if let Some(ms) = self.voice.turn_max_wait_ms
            && !(300..=5_000).contains(&ms)
        {
            return Err(ValidationError::new(
                "settings.voice.turn_max_wait_ms",
                "must be between 300 and 5000",
            ));
        }
        if let Some(ms) = self.voice.end_of_turn_silence_ms
            && ms > 3_000
        {
            return Err(ValidationError::new(
                "settings.voice.end_of_turn_silence_ms",
                "must be at most 3000",
            ));
        }
        validation::count(
            "settings.voice.backchannels",
            self.voice.backchannels.len(),
            MAX_LANGUAGES,
        )?;
        for (lang, words) in &self.voice.backchannels {
            let field = format!("settings.voice.backchannels.{lang}");
            validation::count(&field, words.len(), MAX_ITEMS)?;
            for w in words {
                validation::text(&field, w, 100)?;
            }
        }
        if self.voice.max_concurrent_calls == Some(0) {
            return Err(ValidationError::new(
                "settings.voice.max_concurrent_calls",
                "must be at least 1",
            ));
        }
        validation::count(
            "settings.tools.connectors",
            self.tools.connectors.len(),
            MAX_ITEMS,
        )?;
        if let Some(b) = &self.brain {
            b.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SiteSettings {
        serde_json::from_value(serde_json::json!({
            "languages": ["hi-IN", "en-IN"],
            "voices": {"hi-IN": "hi_IN-pratham-medium"},
            "holding_messages": {"en-IN": ["One moment please"]},
            "transfer_targets": [{"name": "sales", "destination": "+919876543210"}],
            "calling_hours": {"start": "09:30", "end": "18:00", "utc_offset": "+05:30", "days": [1,2,3,4,5]},
            "webhook_url": "https://crm.example/hooks/vaarta",
            "widget_origins": ["https://shop.example"]
        }))
        .unwrap()
    }

    #[test]
    fn valid_settings_pass() {
        sample().validate().unwrap();
        SiteSettings::default().validate().unwrap();
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let e = serde_json::from_value::<SiteSettings>(serde_json::json!({"langauges": []}))
            .unwrap_err();
        assert!(e.to_string().contains("langauges"));
    }

    #[test]
    fn each_rule_names_its_field() {
        type Case = (fn(&mut SiteSettings), &'static str);
        let cases: Vec<Case> = vec![
            (
                |s| s.languages.push("not a tag".into()),
                "settings.languages[2]",
            ),
            (
                |s| {
                    s.voices.insert("pa-IN".into(), "v".into());
                },
                "settings.voices.pa-IN",
            ),
            (
                |s| s.transfer_targets[0].destination = "12345".into(),
                "settings.transfer_targets[0].destination",
            ),
            (
                |s| s.calling_hours.as_mut().unwrap().end = "08:00".into(),
                "settings.calling_hours.end",
            ),
            (
                |s| s.calling_hours.as_mut().unwrap().utc_offset = "IST".into(),
                "settings.calling_hours.utc_offset",
            ),
            (
                |s| s.calling_hours.as_mut().unwrap().days = vec![0],
                "settings.calling_hours.days",
            ),
            (
                |s| s.webhook_url = Some("ftp://x".into()),
                "settings.webhook_url",
            ),
            (
                |s| s.widget_origins[0] = "https://shop.example/page".into(),
                "settings.widget_origins[0]",
            ),
            (
                |s| s.holding_messages.get_mut("en-IN").unwrap()[0] = "x".repeat(501),
                "settings.holding_messages.en-IN",
            ),
            (
                |s| s.voice.turn_max_wait_ms = Some(60_000),
                "settings.voice.turn_max_wait_ms",
            ),
        ];
        for (mutate, field) in cases {
            let mut s = sample();
            mutate(&mut s);
            let e = s.validate().unwrap_err();
            assert_eq!(e.field, field, "{e}");
        }
    }
}
