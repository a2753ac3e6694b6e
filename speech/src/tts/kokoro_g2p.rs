//! One sentence → Kokoro phonemes. Hindi and Punjabi sentences may mix scripts and languages
//! ("Aap line par bane rahein"): each word is classified ([`super::hinglish`]), runs of words
//! of one kind are phonemised by the matching espeak-ng rules, and the runs are joined into
//! one phoneme string, so the whole sentence is one Kokoro pass in one voice.

use std::path::PathBuf;

use super::hinglish::{self, WordSource};
use super::kokoro_phonemes::{Mapping, from_espeak};
use super::{TtsError, espeak};

/// How a language is phonemised for Kokoro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct G2pLang {
    /// espeak-ng voice for the language's own words (`hi`, `pa`, `en-us`).
    pub espeak_voice: String,
    pub mapping: Mapping,
    /// Latin words are English or romanised Hindi, decided per word.
    pub code_mixed: bool,
}

impl G2pLang {
    /// `en*` → American English symbols (misaki's); `hi`, `pa` → their espeak-ng rules with
    /// code-mixing; any other code → its espeak-ng voice of the same name.
    pub fn for_language(lang: &str) -> Self {
        let lower = lang.trim().to_lowercase().replace('_', "-");
        let primary = lower.split('-').next().unwrap_or("").to_string();
        match primary.as_str() {
            "en" => Self {
                espeak_voice: "en-us".into(),
                mapping: Mapping::English,
                code_mixed: false,
            },
            "hi" | "pa" => Self {
                espeak_voice: primary,
                mapping: Mapping::Native,
                code_mixed: true,
            },
            _ => Self {
                espeak_voice: primary,
                mapping: Mapping::Native,
                code_mixed: false,
            },
        }
    }
}

/// The espeak-ng voice and symbol mapping one run of words is phonemised with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine<'a> {
    Own(&'a str),
    Hindi,
    English,
}

/// Kokoro phonemes of one sentence (clause punctuation kept as Kokoro tokens).
pub fn phonemize(
    data: Option<&PathBuf>,
    lang: &G2pLang,
    sentence: &str,
) -> Result<String, TtsError> {
    // Devanagari sentence marks end clauses like a full stop.
    let sentence = sentence.replace(['।', '॥'], ".");
    let mut out = String::new();
    for (engine, text) in runs(lang, &sentence) {
        let (voice, mapping) = match engine {
            Engine::Own(v) => (v, lang.mapping),
            Engine::Hindi => ("hi", Mapping::Native),
            Engine::English => ("en-us", Mapping::English),
        };
        for clause in espeak::phonemize_tied(data, voice, &text)? {
            let phonemes = from_espeak(&clause.phonemes, mapping);
            if !out.is_empty() && !out.ends_with(' ') && !phonemes.is_empty() {
                out.push(' ');
            }
            out.push_str(phonemes.trim());
            if let Some(t) = clause.terminator {
                out.push(t);
            }
        }
    }
    Ok(out.trim().to_string())
}

/// Consecutive words spoken by the same rules, with romanised Hindi written in Devanagari.
fn runs<'a>(lang: &'a G2pLang, sentence: &str) -> Vec<(Engine<'a>, String)> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let own = Engine::Own(&lang.espeak_voice);
    let sources = if lang.code_mixed {
        hinglish::classify(&words)
    } else {
        vec![WordSource::Native; words.len()]
    };
    let mut runs: Vec<(Engine, String)> = Vec::new();
    for (word, source) in words.iter().zip(sources) {
        let (engine, text) = match source {
            WordSource::Native => (own, word.to_string()),
            WordSource::English => (Engine::English, word.to_string()),
            WordSource::Romanised(deva) => {
                // Punjabi's espeak-ng rules do not read Devanagari; Hindi's do.
                let engine = if lang.espeak_voice == "hi" {
                    own
                } else {
                    Engine::Hindi
                };
                (engine, word.replacen(hinglish::core_of(word), &deva, 1))
            }
        };
        match runs.last_mut() {
            Some((e, t)) if *e == engine => {
                t.push(' ');
                t.push_str(&text);
            }
            _ => runs.push((engine, text)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_mixed_sentence_is_split_into_runs() {
        let hi = G2pLang::for_language("hi-IN");
        let r = runs(&hi, "Aap line par bane rahein, main check kar raha hoon.");
        let texts: Vec<(Engine, &str)> = r.iter().map(|(e, t)| (*e, t.as_str())).collect();
        assert_eq!(
            texts,
            vec![
                (Engine::Own("hi"), "आप"),
                (Engine::English, "line"),
                (Engine::Own("hi"), "पर बने रहें, मैं"),
                (Engine::English, "check"),
                (Engine::Own("hi"), "कर रहा हूँ."),
            ]
        );
        let pa = G2pLang::for_language("pa");
        assert_eq!(
            runs(&pa, "ਸਤ ਸ੍ਰੀ aap")[1],
            (Engine::Hindi, "आप".to_string())
        );
        assert!(!G2pLang::for_language("en").code_mixed);
    }

    #[test]
    fn phonemes_of_a_code_mixed_sentence() {
        let hi = G2pLang::for_language("hi");
        let p = phonemize(
            None,
            &hi,
            "Aap line par bane rahein, main check kar raha hoon.",
        )
        .unwrap();
        // Hindi words keep espeak-ng's Hindi IPA; English words get misaki's symbols.
        assert!(p.starts_with("ˌaːp lˈIn"), "{p}");
        assert!(p.contains("ɾˈʌhe\u{303}ː,"), "{p}");
        assert!(p.contains("ʧˈɛk"), "{p}");
        assert!(p.ends_with("hu\u{303}."), "{p}");
        let native = phonemize(None, &hi, "आपका ऑर्डर कल तक पहुँच जाएगा।").unwrap();
        assert_eq!(
            native,
            "ˌaːpkˌaː ˈɔɾɖəɾ kˈʌl tˌək pəhˈu\u{303}nc ɟaːˈeːɡaː."
        );
    }
}
