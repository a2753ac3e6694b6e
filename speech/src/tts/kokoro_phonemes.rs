//! espeak-ng IPA → Kokoro's phoneme symbols.
//!
//! Kokoro v1.0 was trained on the phonemes of its G2P, misaki: for Hindi (and the other
//! non-English languages) espeak-ng's IPA with ties, merged into single symbols; for English
//! misaki's own inventory, where espeak-ng's output is rewritten (`ɹ` for `r`, `A` for `eɪ`, no
//! length marks). The tables below follow misaki's espeak mapping so the voices hear the
//! symbols they learnt. Symbols still outside the vocabulary are dropped later, when tokens
//! are made ([`super::kokoro::KokoroVoice::tokens`]).

use super::espeak::TIE;

/// Which symbol set a piece of phonemes is mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// espeak-ng's own IPA (Hindi, Punjabi, …): only ties are merged.
    Native,
    /// misaki's American English symbols.
    English,
}

/// Tied multi-letter phonemes → Kokoro's single symbols (every language).
const TIED: &[(&str, &str)] = &[
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("d^z", "ʣ"),
    ("d^ʒ", "ʤ"),
    ("e^ɪ", "A"),
    ("o^ʊ", "O"),
    ("ə^ʊ", "Q"),
    ("s^s", "S"),
    ("t^s", "ʦ"),
    ("t^ʃ", "ʧ"),
    ("ɔ^ɪ", "Y"),
];

/// English (applied after [`TIED`], longest first): misaki's rewrites of espeak-ng `en-us`.
const ENGLISH: &[(&str, &str)] = &[
    ("ʔˌn\u{329}", "tᵊn"),
    ("ʔn\u{329}", "tᵊn"),
    ("ʔn", "tᵊn"),
    ("ɜːɹ", "ɜɹ"),
    ("ɜː", "ɜɹ"),
    ("ɪə", "iə"),
    ("ʲO", "jO"),
    ("ʲQ", "jQ"),
    ("\u{303}", ""),
    ("e", "A"),
    ("r", "ɹ"),
    ("x", "k"),
    ("ç", "k"),
    ("ɐ", "ə"),
    ("ɚ", "əɹ"),
    ("ɬ", "l"),
    ("ʔ", "t"),
    ("ʲ", ""),
    ("ː", ""),
    ("o", "ɔ"),
];

/// Native languages: espeak-ng `hi`/`pa` write the flap ड़/ੜ as `r.` (no IPA letter in their
/// tables); Punjabi's retroflex `ɭ` (ਲ਼) has no Kokoro symbol, `l` is nearest; `+` is
/// Punjabi's tone mark, which Kokoro has no token for.
const NATIVE: &[(&str, &str)] = &[("r.", "ɽ"), ("ɭ", "l"), ("+", ""), ("ʲ", "")];

/// Maps one clause of tied espeak-ng IPA to Kokoro symbols.
pub fn from_espeak(ipa: &str, mapping: Mapping) -> String {
    let mut s = ipa.to_string();
    if mapping == Mapping::English {
        // "ə^l" must be seen before the generic tie rules remove its tie.
        s = s.replace("ə^l", "ᵊl");
    }
    for (from, to) in TIED {
        s = s.replace(from, to);
    }
    // Ties left over (rare clusters) and espeak-ng's word-joining hyphens mean nothing here.
    s = s.replace([TIE, '-'], "");
    let table = match mapping {
        Mapping::English => ENGLISH,
        Mapping::Native => NATIVE,
    };
    for (from, to) in table {
        s = s.replace(from, to);
    }
    // Syllabic marks: misaki writes a syllabic consonant as ᵊ + consonant in English.
    if mapping == Mapping::English {
        s = syllabic_to_schwa(&s);
    }
    s.replace('\u{329}', "")
}

/// `n̩` → `ᵊn` (misaki's schwa before a syllabic consonant).
fn syllabic_to_schwa(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars.get(i + 1) == Some(&'\u{329}') && !chars[i].is_whitespace() {
            out.push('ᵊ');
            out.push(chars[i]);
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_follows_misaki_symbols() {
        // espeak-ng en-us, tied: "check line order, joy now go bottle"
        let ipa = "t^ʃˈɛk lˈa^ɪn ˈɔː^ɹdɚ d^ʒˈɔ^ɪ nˈa^ʊ ɡˈo^ʊ bˈɑːɾə^l";
        assert_eq!(
            from_espeak(ipa, Mapping::English),
            "ʧˈɛk lˈIn ˈɔɹdəɹ ʤˈY nˈW ɡˈO bˈɑɾᵊl"
        );
        assert_eq!(from_espeak("bˈʌʔn̩", Mapping::English), "bˈʌtᵊn");
        assert_eq!(from_espeak("ˈeɪ wˈe^ɪt", Mapping::English), "ˈAɪ wˈAt");
    }

    #[test]
    fn hindi_keeps_espeak_ipa_with_length_and_nasals() {
        // espeak-ng hi: "आपका ऑर्डर कल तक पहुँच जाएगा"
        let ipa = "ˌaːpkˌaː ˈɔɾɖəɾ kˈʌl tˌək pəhˈũnc ɟaːˈeːɡaː";
        assert_eq!(from_espeak(ipa, Mapping::Native), ipa);
        // झगड़ा: the flap becomes ɽ; a Hindi a^ɪ (from English loans) is merged.
        assert_eq!(from_espeak("ɟʰˈʌɡr.ˌaː", Mapping::Native), "ɟʰˈʌɡɽˌaː");
        assert_eq!(from_espeak("lˈa^ɪn", Mapping::Native), "lˈIn");
        // espeak-ng pa: ਘਰ ਲ਼ ੜ (tone mark, retroflex lateral, flap)
        assert_eq!(
            from_espeak("kˈʌ+ɾ ɭˈʌ r.ˈʌ", Mapping::Native),
            "kˈʌɾ lˈʌ ɽˈʌ"
        );
    }
}
