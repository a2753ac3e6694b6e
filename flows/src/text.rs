//! Small text helpers for matching Hinglish/English speech transcripts in flows.
//! Generic on purpose: flows pass their own word lists; only number words and a basic
//! yes/no vocabulary are built in.

/// Lower-case, strip punctuation, collapse whitespace: "Haan ji!!  Bilkul." → "haan ji bilkul".
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            out.extend(ch.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// True when any phrase occurs in `text` on word boundaries (after normalising both).
/// "mujhe agent se baat karni hai" matches "agent"; "nahin" does not match "na".
pub fn matches_any<S: AsRef<str>>(text: &str, phrases: &[S]) -> bool {
    let hay = format!(" {} ", normalize(text));
    phrases.iter().any(|p| {
        let p = normalize(p.as_ref());
        !p.is_empty() && hay.contains(&format!(" {p} "))
    })
}

const YES: &[&str] = &[
    "haan",
    "haa",
    "han",
    "ha",
    "haanji",
    "hanji",
    "haan ji",
    "ji haan",
    "ji",
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "theek hai",
    "thik hai",
    "bilkul",
    "zaroor",
    "jarur",
    "sahi",
    "correct",
    "right",
    "please do",
    "kar do",
    "karo",
];
const NO: &[&str] = &[
    "nahi",
    "nahin",
    "nai",
    "na",
    "no",
    "nope",
    "mat",
    "not",
    "don't",
    "dont",
    "never",
    "galat",
    "wrong",
    "rehne do",
    "zarurat nahi",
];

/// A "no" word wins over a "yes" word ("haan, nahi chahiye" is a no).
pub fn is_no(text: &str) -> bool {
    matches_any(text, NO)
}

/// Yes without any negation.
pub fn is_yes(text: &str) -> bool {
    matches_any(text, YES) && !is_no(text)
}

/// Number words (Hindi/Hinglish and English) for single digits.
fn digit_word(w: &str) -> Option<u8> {
    Some(match w {
        "zero" | "shunya" | "sunya" | "oh" => 0,
        "one" | "ek" => 1,
        "two" | "do" => 2,
        "three" | "teen" | "tin" => 3,
        "four" | "char" | "chaar" => 4,
        "five" | "paanch" | "panch" => 5,
        "six" | "chhe" | "chhah" | "che" => 6,
        "seven" | "saat" | "sat" => 7,
        "eight" | "aath" | "ath" => 8,
        "nine" | "nau" | "no" => 9,
        _ => return None,
    })
}

/// All digits in the text, including spoken digit words, in order:
/// "order ek do 3 4" → "1234"; "double five" → "55"; "triple two" → "222".
/// Ambiguous words ("do", "no", "sat") count only when next to other digits.
pub fn extract_digits(text: &str) -> String {
    let norm = normalize(text);
    let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
    let is_digitish = |w: &str| w.chars().all(|c| c.is_ascii_digit()) || digit_word(w).is_some();
    let mut out = String::new();
    let mut repeat = 1;
    for (i, w) in words.iter().enumerate() {
        match *w {
            "double" => {
                repeat = 2;
                continue;
            }
            "triple" => {
                repeat = 3;
                continue;
            }
            _ => {}
        }
        if w.chars().all(|c| c.is_ascii_digit()) {
            for _ in 0..repeat {
                out.push_str(w);
            }
        } else if w.chars().any(|c| c.is_ascii_digit()) {
            // Mixed token like "ord1234": keep its digits.
            out.extend(w.chars().filter(|c| c.is_ascii_digit()));
        } else if let Some(d) = digit_word(w) {
            let ambiguous = matches!(*w, "do" | "no" | "sat" | "tin" | "che" | "ath" | "oh");
            let neighbour = (i > 0 && is_digitish(words[i - 1]))
                || words.get(i + 1).is_some_and(|n| is_digitish(n))
                || repeat > 1;
            if !ambiguous || neighbour {
                for _ in 0..repeat {
                    out.push(char::from(b'0' + d));
                }
            }
        }
        repeat = 1;
    }
    out
}

/// The longest run of at least `min_len` digits forming an id (order number, PIN), spoken or typed.
pub fn extract_id(text: &str, min_len: usize) -> Option<String> {
    let digits = extract_digits(text);
    (digits.len() >= min_len).then_some(digits)
}

/// An amount with Indian multipliers: "50 lakh" → 5_000_000, "2 crore" → 20_000_000,
/// "25k" / "25 hazaar" → 25_000, "1.5 lakh" → 150_000. None when no number is present.
pub fn extract_amount(text: &str) -> Option<i64> {
    let norm = text.to_lowercase().replace(',', "");
    let mut tokens: Vec<String> = Vec::new();
    // Split "25k" into "25" "k".
    for raw in norm.split(|c: char| c.is_whitespace() || c == '₹' || c == '-' || c == '/') {
        if raw.is_empty() {
            continue;
        }
        let num_end = raw
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(raw.len());
        if num_end > 0 && num_end < raw.len() {
            tokens.push(raw[..num_end].to_string());
            tokens.push(
                raw[num_end..]
                    .trim_matches(|c: char| !c.is_alphanumeric())
                    .to_string(),
            );
        } else {
            tokens.push(
                raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '.')
                    .to_string(),
            );
        }
    }
    for (i, t) in tokens.iter().enumerate() {
        let value: f64 = match t.parse::<f64>() {
            Ok(v) => v,
            Err(_) => match digit_word(t) {
                Some(d) if !matches!(t.as_str(), "do" | "no" | "sat") => d as f64,
                _ => continue,
            },
        };
        let mult = match tokens.get(i + 1).map(String::as_str) {
            Some("k" | "thousand" | "hazaar" | "hazar" | "hajar") => 1_000.0,
            Some("lakh" | "lac" | "lakhs" | "l") => 100_000.0,
            Some("crore" | "cr" | "karod" | "crores") => 10_000_000.0,
            Some("million" | "m") => 1_000_000.0,
            _ => 1.0,
        };
        return Some((value * mult).round() as i64);
    }
    None
}

/// Spell digits one by one for TTS: "AB1203" → "A B 1 2 0 3". Spaces/dashes are dropped.
pub fn speak_digits(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_matches_on_word_boundaries() {
        assert_eq!(normalize("Haan ji!!  Bilkul."), "haan ji bilkul");
        assert!(matches_any(
            "Mujhe AGENT se baat karni hai",
            &["agent se baat"]
        ));
        assert!(!matches_any("nahin", &["na"]));
        assert!(matches_any("call mat karo", &["call mat karo", "dnd"]));
    }

    #[test]
    fn yes_no_in_hinglish() {
        assert!(is_yes("haan ji bilkul"));
        assert!(is_yes("Yes please"));
        assert!(!is_yes("haan, nahi chahiye"));
        assert!(is_no("nahi chahiye"));
        assert!(!is_no("theek hai"));
    }

    #[test]
    fn digits_from_speech() {
        assert_eq!(extract_digits("order number ek do 3 4"), "1234");
        assert_eq!(extract_digits("double five seven"), "557");
        assert_eq!(extract_digits("mera order 45-12"), "4512");
        assert_eq!(extract_digits("do din pehle order kiya"), "");
        assert_eq!(extract_id("ORD 7781", 4).as_deref(), Some("7781"));
        assert_eq!(extract_id("pata nahi", 4), None);
    }

    #[test]
    fn amounts_with_indian_multipliers() {
        assert_eq!(extract_amount("budget 50 lakh hai"), Some(5_000_000));
        assert_eq!(extract_amount("around 1.5 crore"), Some(15_000_000));
        assert_eq!(extract_amount("25k"), Some(25_000));
        assert_eq!(extract_amount("₹2,00,000"), Some(200_000));
        assert_eq!(extract_amount("pata nahi"), None);
    }

    #[test]
    fn speaks_ids_one_character_at_a_time() {
        assert_eq!(speak_digits("ab-1203"), "A B 1 2 0 3");
    }
}
