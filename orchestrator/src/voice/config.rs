//! Site-settings sections for the voice layer: turn taking (barge-in, backchannels, end of
//! turn, holding timings) and call formatting. Plain serde structs with defaults, so a site
//! that sets nothing gets sensible behaviour and one that sets a single field keeps the rest.
//!
//! ```toml
//! [voice.turn_taking]
//! barge_in = "duck"            # "immediate" | "duck" | "pause"
//! holding_after_ms = 1500
//! [voice.turn_taking.backchannels]
//! "*" = ["ok", "haan", "hmm"]  # every language
//! pa = ["haanji", "ਹਾਂ ਜੀ"]
//! [voice.format]
//! max_sentences = 4
//! urls = "hint"                # "hint" | "domain" | "drop"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How caller speech during bot audio is handled.
///
/// The trade-off: `Immediate` stops the bot within one frame of the VAD decision, but every
/// "haan"/"hmm" then cuts the answer off. `Duck` and `Pause` also react within one frame (the
/// bot gets quiet/silent on the same call that sees the VAD start) yet only *stop* once the
/// transcript shows real speech, so a backchannel costs at most `backchannel_window_ms` of
/// quieter (or paused) bot audio instead of the rest of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BargeInMode {
    /// Stop playback as soon as the VAD confirms caller speech (strict "within one frame").
    Immediate,
    /// Lower the bot's volume at once, decide within the window, then stop or restore it.
    #[default]
    Duck,
    /// Pause the bot at once (audio out goes silent), decide within the window, then stop or
    /// resume from where it paused (nothing the bot says is lost to a backchannel).
    Pause,
}

/// `[voice.turn_taking]`: when the caller's turn ends, when the bot yields, and what plays while
/// the answer is slow. All times in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnTakingConfig {
    /// Extra silence after the VAD's speech end (which already waited its own `min_silence_ms`)
    /// before the caller's turn counts as finished. Higher = fewer cut-off callers, slower bot.
    pub end_of_turn_silence_ms: u64,
    /// How long to wait for the STT final after asking for it; then the last partial is used.
    pub stt_final_timeout_ms: u64,
    /// Reaction to caller speech while the bot is talking.
    pub barge_in: BargeInMode,
    /// Decision window for `duck`/`pause`: how long the bot stays ducked/paused waiting for the
    /// transcript to show whether the caller is backchannelling or really talking.
    pub backchannel_window_ms: u64,
    /// Volume factor (0..=1) of the bot while ducked.
    pub duck_gain: f32,
    /// No response text this long after the end of the caller's turn → holding message level 0.
    pub holding_after_ms: u64,
    /// Further holding messages (level 1, 2, …) this far apart while the answer is still missing.
    pub holding_repeat_ms: u64,
    /// No answer audio this long after the end of the caller's turn → escalate (failover).
    pub escalate_after_ms: u64,
    /// Longest silence on the line while the bot owes an answer; then a holding message (if
    /// none played yet) or a short filler plays.
    pub max_dead_air_ms: u64,
    /// When the answer becomes ready while a holding message or filler plays, stop it so the
    /// answer is not delayed by it (false: let it finish, the shell queues the answer).
    pub holding_yields_to_answer: bool,
    /// Words and phrases that acknowledge without taking the turn, per language.
    pub backchannels: BackchannelConfig,
}

impl Default for TurnTakingConfig {
    fn default() -> Self {
        Self {
            end_of_turn_silence_ms: 400,
            stt_final_timeout_ms: 1500,
            barge_in: BargeInMode::Duck,
            backchannel_window_ms: 300,
            duck_gain: 0.25,
            holding_after_ms: 1500,
            holding_repeat_ms: 5000,
            escalate_after_ms: 15000,
            max_dead_air_ms: 2000,
            holding_yields_to_answer: true,
            backchannels: BackchannelConfig::default(),
        }
    }
}

/// Backchannel phrases by language code (`en`, `hi`, `pa`, …); the key `*` applies to every
/// language, because Indian callers say "ok" and "haan" whatever language the call is in.
/// Matching ignores case, punctuation, repeated letters ("hmmm" = "hmm", "accha" = "achha") and
/// chandrabindu vs anusvara ("हाँ" = "हां"); a run of phrases ("haan ji theek hai") matches too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BackchannelConfig {
    pub by_language: BTreeMap<String, Vec<String>>,
}

impl BackchannelConfig {
    /// The phrases for a call in `lang` (`hi-IN` uses `hi`), plus the `*` list.
    pub fn phrases_for(&self, lang: &str) -> Vec<String> {
        let primary = lang
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .trim()
            .to_lowercase();
        let mut out: Vec<String> = self.by_language.get("*").cloned().unwrap_or_default();
        if let Some(list) = self.by_language.get(&primary) {
            out.extend(list.iter().cloned());
        }
        out
    }
}

impl Default for BackchannelConfig {
    fn default() -> Self {
        fn list(words: &[&str]) -> Vec<String> {
            words.iter().map(|w| w.to_string()).collect()
        }
        let mut by_language = BTreeMap::new();
        by_language.insert(
            "*".to_string(),
            list(&[
                "ok",
                "okay",
                "hmm",
                "hm",
                "mm",
                "mhm",
                "uh huh",
                "haan",
                "han",
                "haa",
                "ha",
                "ji",
                "achha",
                "acha",
                "theek hai",
                "thik hai",
                "theek",
                "right",
                "yes",
                "yeah",
                "ओके",
                "हम्म",
                "हाँ",
                "हाँ जी",
                "जी",
                "अच्छा",
                "ठीक है",
            ]),
        );
        by_language.insert(
            "en".to_string(),
            list(&[
                "yep",
                "sure",
                "alright",
                "all right",
                "i see",
                "got it",
                "correct",
                "okay okay",
                "fine",
            ]),
        );
        by_language.insert(
            "hi".to_string(),
            list(&[
                "haan ji",
                "ji haan",
                "hanji",
                "haanji",
                "bilkul",
                "sahi",
                "sahi hai",
                "achha ji",
                "ji ji",
                "बिलकुल",
                "सही",
                "सही है",
                "जी हाँ",
            ]),
        );
        by_language.insert(
            "pa".to_string(),
            list(&[
                "haanji",
                "hanji",
                "ho",
                "theek aa",
                "thik aa",
                "achha ji",
                "ਹਾਂ",
                "ਹਾਂਜੀ",
                "ਹਾਂ ਜੀ",
                "ਜੀ",
                "ਠੀਕ ਹੈ",
                "ਠੀਕ ਆ",
                "ਅੱਛਾ",
                "ਓਕੇ",
            ]),
        );
        Self { by_language }
    }
}

/// What becomes of a URL in call formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UrlPolicy {
    /// Replace it with a spoken hint ("our website" / "hamari website").
    #[default]
    Hint,
    /// Speak the bare domain ("shop dot example dot com").
    Domain,
    /// Leave it out.
    Drop,
}

/// `[voice.format]`: how chatbot text is made speakable on calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FormatConfig {
    /// Most sentences spoken from one answer (a call is no place for a ten-item list).
    pub max_sentences: usize,
    /// Most characters (before numbers are spelled out); the cut is at a sentence boundary.
    pub max_chars: usize,
    /// URLs on calls.
    pub urls: UrlPolicy,
}

impl Default for FormatConfig {
    fn default() -> Self {
        Self {
            max_sentences: 4,
            max_chars: 400,
            urls: UrlPolicy::Hint,
        }
    }
}
