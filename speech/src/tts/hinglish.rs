//! Code-mixed ("Hinglish") text for the Kokoro Hindi voices: decides, word by word, whether a
//! word is Hindi in Devanagari, romanised Hindi ("aap", "rahein"), or English ("order").
//!
//! Why: espeak-ng's `hi` rules read a Latin word as English, so "Aap line par bane rahein"
//! would come out as five English words. Romanised Hindi is rewritten in Devanagari first —
//! from a lexicon of common call vocabulary ([`LEXICON`]), else by spelling rules for words
//! that look Hindi ([`looks_hindi`], [`transliterate`]) — and spoken by the Hindi rules.

use std::collections::HashMap;
use std::sync::OnceLock;

/// How one word of a code-mixed sentence is spoken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordSource {
    /// Already in an Indic script (or digits): spoken by the language's own espeak-ng rules.
    Native,
    /// Romanised Hindi, rewritten in Devanagari.
    Romanised(String),
    /// English: spoken by espeak-ng's `en-us` rules.
    English,
}

/// Romanised Hindi → Devanagari, for words common in support and sales calls. `true` marks a
/// word that is also an everyday English word ("to", "me", "do"): it is Hindi only next to
/// another Hindi word (see [`classify`]).
pub const LEXICON: &[(&str, &str, bool)] = &[
    // pronouns and people
    ("aap", "आप", false),
    ("aapka", "आपका", false),
    ("aapke", "आपके", false),
    ("aapki", "आपकी", false),
    ("aapko", "आपको", false),
    ("aapse", "आपसे", false),
    ("ap", "आप", false),
    ("apka", "आपका", false),
    ("apke", "आपके", false),
    ("apki", "आपकी", false),
    ("apko", "आपको", false),
    ("main", "मैं", false),
    ("mai", "मैं", false),
    ("mein", "में", false),
    ("mera", "मेरा", false),
    ("meri", "मेरी", false),
    ("mere", "मेरे", false),
    ("mujhe", "मुझे", false),
    ("hum", "हम", false),
    ("hamara", "हमारा", false),
    ("hamari", "हमारी", false),
    ("hamare", "हमारे", false),
    ("humein", "हमें", false),
    ("tum", "तुम", false),
    ("tumhara", "तुम्हारा", false),
    ("yeh", "यह", false),
    ("ye", "ये", false),
    ("woh", "वह", false),
    ("wo", "वो", false),
    ("voh", "वह", false),
    ("iska", "इसका", false),
    ("uska", "उसका", false),
    ("inka", "इनका", false),
    ("unka", "उनका", false),
    ("ji", "जी", false),
    ("sir", "सर", true),
    ("madam", "मैडम", true),
    ("bhai", "भाई", false),
    ("bhaiya", "भैया", false),
    ("didi", "दीदी", false),
    // be, have, do
    ("hai", "है", false),
    ("hain", "हैं", false),
    ("hoon", "हूँ", false),
    ("hun", "हूँ", false),
    ("hu", "हूँ", false),
    ("ho", "हो", true),
    ("tha", "था", false),
    ("thi", "थी", false),
    ("the", "थे", true),
    ("hoga", "होगा", false),
    ("hogi", "होगी", false),
    ("honge", "होंगे", false),
    ("kar", "कर", false),
    ("karo", "करो", false),
    ("kare", "करे", false),
    ("karein", "करें", false),
    ("karen", "करें", false),
    ("kariye", "करिए", false),
    ("karna", "करना", false),
    ("karke", "करके", false),
    ("karta", "करता", false),
    ("karti", "करती", false),
    ("karte", "करते", false),
    ("karunga", "करूँगा", false),
    ("karungi", "करूँगी", false),
    ("kiya", "किया", false),
    ("raha", "रहा", false),
    ("rahi", "रही", false),
    ("rahe", "रहे", false),
    ("rahein", "रहें", false),
    ("rahen", "रहें", false),
    ("rahiye", "रहिए", false),
    ("rahega", "रहेगा", false),
    ("rahegi", "रहेगी", false),
    ("bane", "बने", false),
    ("bana", "बना", false),
    ("bani", "बनी", false),
    ("jaa", "जा", false),
    ("ja", "जा", false),
    ("jayega", "जाएगा", false),
    ("jaayega", "जाएगा", false),
    ("jaegi", "जाएगी", false),
    ("jayegi", "जाएगी", false),
    ("jaaega", "जाएगा", false),
    ("jaega", "जाएगा", false),
    ("gaya", "गया", false),
    ("gayi", "गई", false),
    ("hua", "हुआ", false),
    ("hui", "हुई", false),
    ("de", "दे", false),
    ("dijiye", "दीजिए", false),
    ("dena", "देना", false),
    ("diya", "दिया", false),
    ("le", "ले", false),
    ("lijiye", "लीजिए", false),
    ("liya", "लिया", false),
    ("bata", "बता", false),
    ("bataiye", "बताइए", false),
    ("batayein", "बताएँ", false),
    ("batao", "बताओ", false),
    ("boliye", "बोलिए", false),
    ("bol", "बोल", false),
    ("suniye", "सुनिए", false),
    ("dekh", "देख", false),
    ("dekhiye", "देखिए", false),
    ("sakte", "सकते", false),
    ("sakta", "सकता", false),
    ("sakti", "सकती", false),
    ("chahiye", "चाहिए", false),
    ("chahte", "चाहते", false),
    ("milega", "मिलेगा", false),
    ("milegi", "मिलेगी", false),
    ("mil", "मिल", false),
    ("pahunch", "पहुँच", false),
    ("pahuch", "पहुँच", false),
    ("ruk", "रुक", false),
    ("jaiye", "जाइए", false),
    ("jaaiye", "जाइए", false),
    ("rukiye", "रुकिए", false),
    // postpositions, conjunctions, particles
    ("ka", "का", false),
    ("ki", "की", false),
    ("ke", "के", false),
    ("ko", "को", false),
    ("se", "से", false),
    ("me", "में", true),
    ("par", "पर", false),
    ("pe", "पे", false),
    ("tak", "तक", false),
    ("liye", "लिए", false),
    ("aur", "और", false),
    ("ya", "या", false),
    ("lekin", "लेकिन", false),
    ("to", "तो", true),
    ("toh", "तो", false),
    ("bhi", "भी", false),
    ("hi", "ही", true),
    ("na", "ना", true),
    ("nahi", "नहीं", false),
    ("nahin", "नहीं", false),
    ("mat", "मत", true),
    ("haan", "हाँ", false),
    ("ha", "हाँ", false),
    ("accha", "अच्छा", false),
    ("acha", "अच्छा", false),
    ("achha", "अच्छा", false),
    ("theek", "ठीक", false),
    ("thik", "ठीक", false),
    ("bas", "बस", true),
    ("kya", "क्या", false),
    ("kyun", "क्यों", false),
    ("kyon", "क्यों", false),
    ("kab", "कब", false),
    ("kahan", "कहाँ", false),
    ("kaise", "कैसे", false),
    ("kaun", "कौन", false),
    ("kitna", "कितना", false),
    ("kitni", "कितनी", false),
    ("kitne", "कितने", false),
    ("jab", "जब", false),
    ("agar", "अगर", false),
    ("kyunki", "क्योंकि", false),
    ("phir", "फिर", false),
    ("fir", "फिर", false),
    // time and quantity
    ("kal", "कल", false),
    ("aaj", "आज", false),
    ("abhi", "अभी", false),
    ("parson", "परसों", true),
    ("din", "दिन", true),
    ("ghanta", "घंटा", false),
    ("ghante", "घंटे", false),
    ("minute", "मिनट", true),
    ("baad", "बाद", false),
    ("pehle", "पहले", false),
    ("pahle", "पहले", false),
    ("jaldi", "जल्दी", false),
    ("thoda", "थोड़ा", false),
    ("thodi", "थोड़ी", false),
    ("bahut", "बहुत", false),
    ("bohot", "बहुत", false),
    ("sab", "सब", false),
    ("kuch", "कुछ", false),
    ("ek", "एक", false),
    ("do", "दो", true),
    ("teen", "तीन", true),
    ("char", "चार", true),
    ("paanch", "पाँच", false),
    // call vocabulary
    ("namaste", "नमस्ते", false),
    ("namaskar", "नमस्कार", false),
    ("dhanyavaad", "धन्यवाद", false),
    ("dhanyawad", "धन्यवाद", false),
    ("shukriya", "शुक्रिया", false),
    ("kripya", "कृपया", false),
    ("krupya", "कृपया", false),
    ("maaf", "माफ़", false),
    ("samay", "समय", false),
    ("paisa", "पैसा", false),
    ("paise", "पैसे", false),
    ("rupaye", "रुपये", false),
    ("rupay", "रुपये", false),
    ("naam", "नाम", false),
    ("number", "नंबर", true),
    ("ghar", "घर", false),
    ("kaam", "काम", false),
    ("baat", "बात", false),
    ("madad", "मदद", false),
    ("sahayata", "सहायता", false),
    ("jaankari", "जानकारी", false),
    ("jankari", "जानकारी", false),
    ("zaroor", "ज़रूर", false),
    ("jaroor", "ज़रूर", false),
    ("sahi", "सही", false),
    ("galat", "ग़लत", false),
    ("wala", "वाला", false),
    ("wali", "वाली", false),
    ("wale", "वाले", false),
    ("dobara", "दोबारा", false),
    ("intezaar", "इंतज़ार", false),
    ("intazar", "इंतज़ार", false),
];

/// Lower-cased romanised word → (Devanagari, ambiguous with English).
fn lexicon() -> &'static HashMap<&'static str, (&'static str, bool)> {
    static MAP: OnceLock<HashMap<&'static str, (&'static str, bool)>> = OnceLock::new();
    MAP.get_or_init(|| {
        LEXICON
            .iter()
            .map(|&(roman, deva, ambiguous)| (roman, (deva, ambiguous)))
            .collect()
    })
}

/// Classifies the words of one sentence (as split by whitespace, punctuation attached).
///
/// Devanagari/Gurmukhi words and plain numbers are [`WordSource::Native`]; a Latin word in
/// the lexicon, or one that [`looks_hindi`], is romanised Hindi; any other Latin word is
/// English. A lexicon word that is also common English ("to", "do", "me") takes the side of
/// its nearest neighbour that is not ambiguous, and is English when it has none.
pub fn classify(words: &[&str]) -> Vec<WordSource> {
    // First pass: None marks an ambiguous word, decided by its neighbours below.
    let first: Vec<Option<WordSource>> = words.iter().map(|w| classify_alone(w)).collect();
    (0..words.len())
        .map(|i| match &first[i] {
            Some(source) => source.clone(),
            None => {
                let before = first[..i].iter().rev().flatten().next();
                let after = first[i + 1..].iter().flatten().next();
                let hindi_near = [before, after]
                    .into_iter()
                    .flatten()
                    .any(|s| !matches!(s, WordSource::English));
                if hindi_near {
                    let key = core_of(words[i]).to_lowercase();
                    WordSource::Romanised(lexicon()[key.as_str()].0.to_string())
                } else {
                    WordSource::English
                }
            }
        })
        .collect()
}

/// One word on its own; `None` when the lexicon marks it ambiguous.
fn classify_alone(word: &str) -> Option<WordSource> {
    let core = core_of(word);
    if !core.chars().any(|c| c.is_ascii_alphabetic()) {
        return Some(WordSource::Native);
    }
    if !core.chars().all(|c| c.is_ascii_alphabetic() || c == '\'') {
        // Mixed scripts or accented Latin: let the language's own rules have it.
        return Some(WordSource::Native);
    }
    let key = core.to_lowercase();
    match lexicon().get(key.as_str()) {
        Some(&(_, true)) => None,
        Some(&(deva, false)) => Some(WordSource::Romanised(deva.to_string())),
        None if looks_hindi(&key) => Some(WordSource::Romanised(transliterate(&key))),
        None => Some(WordSource::English),
    }
}

/// The word without the punctuation around it.
pub fn core_of(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_alphanumeric())
}

/// Spelling patterns of romanised Hindi that English words rarely have: a doubled "aa", and
/// verb endings such as "-iye", "-enge", "-ega", "-ogi".
pub fn looks_hindi(lower: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "iye", "iyega", "enge", "engi", "ega", "egi", "oge", "ogi", "unga", "ungi", "wala", "wali",
        "wale",
    ];
    lower.len() > 2
        && (lower.contains("aa")
            || ENDINGS
                .iter()
                .any(|e| lower.len() > e.len() + 1 && lower.ends_with(e)))
}

/// Romanised Hindi → Devanagari by spelling rules (for words not in the lexicon): longest
/// letter group first, vowels as signs after a consonant, consonant clusters joined with a
/// virama. The final "a" of a word is the inherent vowel; espeak-ng's `hi` rules then delete
/// schwas as a speaker would.
pub fn transliterate(lower: &str) -> String {
    const CONSONANTS: &[(&str, &str)] = &[
        ("chh", "छ"),
        ("kh", "ख"),
        ("gh", "घ"),
        ("ch", "च"),
        ("jh", "झ"),
        ("th", "थ"),
        ("dh", "ध"),
        ("ph", "फ"),
        ("bh", "भ"),
        ("sh", "श"),
        ("k", "क"),
        ("g", "ग"),
        ("c", "क"),
        ("j", "ज"),
        ("t", "त"),
        ("d", "द"),
        ("n", "न"),
        ("p", "प"),
        ("f", "फ़"),
        ("b", "ब"),
        ("m", "म"),
        ("y", "य"),
        ("r", "र"),
        ("l", "ल"),
        ("v", "व"),
        ("w", "व"),
        ("s", "स"),
        ("h", "ह"),
        ("z", "ज़"),
        ("q", "क़"),
        ("x", "क्स"),
    ];
    // (romanised, independent vowel, vowel sign after a consonant)
    const VOWELS: &[(&str, &str, &str)] = &[
        ("aa", "आ", "ा"),
        ("ai", "ऐ", "ै"),
        ("au", "औ", "ौ"),
        ("ee", "ई", "ी"),
        ("ii", "ई", "ी"),
        ("oo", "ऊ", "ू"),
        ("uu", "ऊ", "ू"),
        ("ei", "ए", "े"),
        ("a", "अ", ""),
        ("i", "इ", "ि"),
        ("u", "उ", "ु"),
        ("e", "ए", "े"),
        ("o", "ओ", "ो"),
    ];
    let mut out = String::new();
    let mut rest = lower;
    let mut after_consonant = false;
    let mut prev: Option<&str> = None;
    while !rest.is_empty() {
        if let Some(&(roman, deva)) = CONSONANTS.iter().find(|(r, _)| rest.starts_with(r)) {
            // "n" after a vowel and before a consonant or the end is nasalisation
            // ("pahunch", "rahein"): an anusvara, not a consonant cluster.
            let next = rest[roman.len()..].chars().next();
            if roman == "n"
                && !after_consonant
                && !out.is_empty()
                && next.is_none_or(|c| !"aeiou".contains(c))
            {
                out.push('ं');
                rest = &rest[1..];
                continue;
            }
            // A cluster is written only where Hindi spelling needs one (प्यार, प्रति, पक्का,
            // स्टेशन); elsewhere the inherent vowel stays and espeak-ng's schwa deletion
            // drops it as Hindi spelling expects (कितना, not कित्ना).
            if after_consonant
                && (matches!(roman, "y" | "r" | "v" | "w")
                    || prev == Some(roman)
                    || matches!(prev, Some("s" | "sh")))
            {
                out.push('्');
            }
            prev = Some(roman);
            out.push_str(deva);
            after_consonant = true;
            rest = &rest[roman.len()..];
        } else if let Some(&(roman, free, sign)) = VOWELS.iter().find(|(r, ..)| rest.starts_with(r))
        {
            let last = roman.len() == rest.len();
            match (after_consonant, roman) {
                // A final "a" after a consonant is the long vowel ("kitna" → कितना).
                (true, "a") if last => out.push('ा'),
                (true, _) => out.push_str(sign),
                (false, _) => out.push_str(free),
            }
            after_consonant = false;
            rest = &rest[roman.len()..];
        } else {
            // Apostrophes and anything else carry no sound of their own.
            let skip = rest.chars().next().map_or(1, char::len_utf8);
            rest = &rest[skip..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(text: &str) -> Vec<WordSource> {
        classify(&text.split_whitespace().collect::<Vec<_>>())
    }

    #[test]
    fn hinglish_words_are_classified_per_word() {
        use WordSource::*;
        let r = |s: &str| Romanised(s.to_string());
        assert_eq!(
            sources("Aap line par bane rahein, main check kar raha hoon."),
            vec![
                r("आप"),
                English,
                r("पर"),
                r("बने"),
                r("रहें"),
                r("मैं"),
                English,
                r("कर"),
                r("रहा"),
                r("हूँ"),
            ]
        );
        assert_eq!(
            sources("आपका order kal tak pahunch jayega"),
            vec![Native, English, r("कल"), r("तक"), r("पहुँच"), r("जाएगा")]
        );
    }

    #[test]
    fn ambiguous_words_follow_their_neighbours() {
        use WordSource::*;
        // "to" and "do" are English among English words, Hindi among Hindi ones.
        assert_eq!(
            sources("I want to do it"),
            vec![English, English, English, English, English]
        );
        assert_eq!(
            sources("aap do minute ruk jaiye to"),
            vec![
                WordSource::Romanised("आप".into()),
                WordSource::Romanised("दो".into()),
                WordSource::Romanised("मिनट".into()),
                WordSource::Romanised("रुक".into()),
                WordSource::Romanised("जाइए".into()),
                WordSource::Romanised("तो".into()),
            ]
        );
        assert_eq!(sources("to"), vec![English]);
    }

    #[test]
    fn spelling_rules_transliterate_unknown_romanised_hindi() {
        assert!(looks_hindi("bataaiye") && looks_hindi("milenge"));
        assert!(!looks_hindi("delivery") && !looks_hindi("order") && !looks_hindi("page"));
        assert_eq!(transliterate("kitna"), "कितना");
        assert_eq!(transliterate("milenge"), "मिलेंगे");
        assert_eq!(transliterate("chhota"), "छोता");
        assert_eq!(transliterate("pyaar"), "प्यार");
        assert_eq!(transliterate("pakka"), "पक्का");
        assert_eq!(transliterate("nashta"), "नश्ता");
        assert_eq!(transliterate("pahunchenge"), "पहुंचेंगे");
        assert_eq!(transliterate("bataiyein"), "बतैयें");
        assert_eq!(transliterate("jaiye"), "जैये");
        let mut seen = std::collections::HashSet::new();
        assert!(
            LEXICON.iter().all(|(r, ..)| seen.insert(r)),
            "duplicate lexicon entry"
        );
        assert_eq!(core_of("\"rahein,\""), "rahein");
    }

    #[test]
    fn lexicon_entries_are_lower_case_latin_and_devanagari() {
        for (roman, deva, _) in LEXICON {
            assert!(roman.chars().all(|c| c.is_ascii_lowercase()), "{roman}");
            assert!(
                deva.chars().all(|c| ('\u{0900}'..='\u{097F}').contains(&c)),
                "{roman} → {deva}"
            );
        }
    }
}
