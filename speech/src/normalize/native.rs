//! Normalisation for text in Devanagari or Gurmukhi, spoken by espeak-ng's own rules for that
//! language (a Piper `hi`/`pa` voice phonemizes with espeak-ng too). espeak-ng already reads
//! plain numbers in lakh/crore; what it gets wrong is structure: phone numbers read as one huge
//! number, `₹`, dates with slashes, clock times. Those are rewritten to digits and native words
//! that it reads correctly.

use super::datetime::month_valid;

/// Script of the text (and so the words inserted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Hindi (and Marathi, Nepali…) in Devanagari.
    Devanagari,
    /// Punjabi in Gurmukhi.
    Gurmukhi,
}

impl Script {
    /// The script most of the letters of `text` are in, if it is one of these.
    pub fn detect(text: &str) -> Option<Self> {
        let (mut deva, mut guru, mut other) = (0usize, 0usize, 0usize);
        for c in text
            .chars()
            .filter(|c| c.is_alphabetic() || ('\u{0900}'..='\u{0A7F}').contains(c))
        {
            match c {
                '\u{0900}'..='\u{097F}' => deva += 1,
                '\u{0A00}'..='\u{0A7F}' => guru += 1,
                _ => other += 1,
            }
        }
        if deva > other && deva >= guru {
            Some(Self::Devanagari)
        } else if guru > other {
            Some(Self::Gurmukhi)
        } else {
            None
        }
    }

    fn words(self) -> &'static Words {
        match self {
            Self::Devanagari => &DEVANAGARI,
            Self::Gurmukhi => &GURMUKHI,
        }
    }
}

struct Words {
    rupee: &'static str,
    rupees: &'static str,
    paise: &'static str,
    oclock: &'static str,
    past: &'static str,
    minutes: &'static str,
    minus: &'static str,
    percent: &'static str,
    months: [&'static str; 12],
}

const DEVANAGARI: Words = Words {
    rupee: "रुपया",
    rupees: "रुपये",
    paise: "पैसे",
    oclock: "बजे",
    past: "बजकर",
    minutes: "मिनट",
    minus: "माइनस",
    percent: "प्रतिशत",
    months: [
        "जनवरी",
        "फ़रवरी",
        "मार्च",
        "अप्रैल",
        "मई",
        "जून",
        "जुलाई",
        "अगस्त",
        "सितंबर",
        "अक्टूबर",
        "नवंबर",
        "दिसंबर",
    ],
};

const GURMUKHI: Words = Words {
    rupee: "ਰੁਪਇਆ",
    rupees: "ਰੁਪਏ",
    paise: "ਪੈਸੇ",
    oclock: "ਵਜੇ",
    past: "ਵੱਜ ਕੇ",
    minutes: "ਮਿੰਟ",
    minus: "ਮਾਈਨਸ",
    percent: "ਪ੍ਰਤੀਸ਼ਤ",
    months: [
        "ਜਨਵਰੀ",
        "ਫ਼ਰਵਰੀ",
        "ਮਾਰਚ",
        "ਅਪ੍ਰੈਲ",
        "ਮਈ",
        "ਜੂਨ",
        "ਜੁਲਾਈ",
        "ਅਗਸਤ",
        "ਸਤੰਬਰ",
        "ਅਕਤੂਬਰ",
        "ਨਵੰਬਰ",
        "ਦਸੰਬਰ",
    ],
};

pub(super) fn digits(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_digit)
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn rupees(r: u64, p: u32, script: Script) -> String {
    let w = script.words();
    let r_words = format!("{r} {}", if r == 1 { w.rupee } else { w.rupees });
    match (r, p.min(99)) {
        (_, 0) => r_words,
        (0, p) => format!("{p} {}", w.paise),
        (_, p) => format!("{r_words} {p} {}", w.paise),
    }
}

pub(super) fn date(d: u32, m: u32, y: Option<u32>, script: Script) -> Option<String> {
    if !month_valid(d, m) {
        return None;
    }
    let month = script.words().months[m as usize - 1];
    Some(match y {
        Some(y) => format!("{d} {month} {y}"),
        None => format!("{d} {month}"),
    })
}

pub(super) fn time(h: u32, m: u32, pm: Option<bool>, script: Script) -> Option<String> {
    if m > 59 || h > 23 || (pm.is_some() && !(1..=12).contains(&h)) {
        return None;
    }
    let w = script.words();
    Some(if m == 0 {
        format!("{h} {}", w.oclock)
    } else {
        format!("{h} {} {m} {}", w.past, w.minutes)
    })
}

pub(super) fn minus(script: Script) -> &'static str {
    script.words().minus
}

pub(super) fn percent(script: Script) -> &'static str {
    script.words().percent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_scripts() {
        assert_eq!(Script::detect("आपका ऑर्डर 5 बजे"), Some(Script::Devanagari));
        assert_eq!(Script::detect("ਸਤ ਸ੍ਰੀ ਅਕਾਲ"), Some(Script::Gurmukhi));
        assert_eq!(Script::detect("hello जी"), None);
        assert_eq!(Script::detect("12345"), None);
    }
}
