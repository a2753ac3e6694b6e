//! Splits text into sentences so the first one can be spoken while the rest is synthesised.

/// Abbreviations whose period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "sr", "jr", "vs", "etc", "no", "e.g", "i.e", "approx", "rs",
    "prof",
];

/// Longest sentence (words) synthesised in one piece; longer run-ons are cut at word breaks.
pub const MAX_WORDS: usize = 60;

/// Sentences of `text`, trimmed, without empty ones.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '\n' || c == '\r' {
            flush(&mut current, &mut out);
            continue;
        }
        current.push(c);
        let next = chars.get(i + 1).copied();
        let at_break = next.is_none_or(|n| n.is_whitespace());
        let ends = match c {
            '!' | '?' | '।' | '॥' => at_break,
            '.' => at_break && !is_abbreviation(&current),
            _ => false,
        };
        if ends {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

/// Shortest first clause worth synthesising on its own (words): shorter ones would sound
/// clipped and gain little.
const MIN_CLAUSE_WORDS: usize = 3;
/// Sentences shorter than this (words) are not split at all.
const SPLIT_FROM_WORDS: usize = 8;
/// Words a clause may start with (English and Hinglish conjunctions).
const CONJUNCTIONS: &[&str] = &[
    "and", "but", "or", "so", "because", "which", "where", "when", "while", "to", "aur", "lekin",
    "par", "kyunki", "toh", "jab", "taaki",
];

/// Splits a long sentence after its first clause (a comma, semicolon or colon, else before a
/// conjunction), so its first audio can be synthesised and heard while the rest is made.
/// Never inside a number ("2,50,000", "10:30") and never leaving a clause of under three words.
pub fn split_first_clause(sentence: &str) -> (String, Option<String>) {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    if words.len() < SPLIT_FROM_WORDS {
        return (sentence.trim().to_string(), None);
    }
    let rest_ok = |at: usize| at >= MIN_CLAUSE_WORDS && words.len() - at >= MIN_CLAUSE_WORDS;
    // Punctuation ends a clause only at the end of a word (so never inside "2,50,000").
    let by_punct =
        (1..words.len()).find(|&i| words[i - 1].ends_with([',', ';', ':']) && rest_ok(i));
    let by_conj = || {
        (1..words.len()).find(|&i| {
            let w = words[i].to_lowercase();
            CONJUNCTIONS.contains(&w.trim_matches(|c: char| !c.is_alphanumeric())) && rest_ok(i)
        })
    };
    match by_punct.or_else(by_conj) {
        Some(i) => (words[..i].join(" "), Some(words[i..].join(" "))),
        None => (sentence.trim().to_string(), None),
    }
}

fn is_abbreviation(sentence: &str) -> bool {
    let word = sentence
        .trim_end_matches('.')
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("");
    let lower = word.to_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
        || (word.chars().count() == 1 && word.chars().all(char::is_uppercase))
}

fn flush(current: &mut String, out: &mut Vec<String>) {
    let s = current.trim();
    if s.chars().any(|c| c.is_alphanumeric()) {
        let words: Vec<&str> = s.split_whitespace().collect();
        for piece in words.chunks(MAX_WORDS) {
            out.push(piece.join(" "));
        }
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_first_sentence_is_cut_after_its_first_clause_never_in_a_number() {
        let (a, b) = split_first_clause(
            "We are open from nine in the morning to seven in the evening every day.",
        );
        assert_eq!(a, "We are open from nine in the morning");
        assert_eq!(b.as_deref(), Some("to seven in the evening every day."));
        let (a, b) =
            split_first_clause("Your order of ₹2,50,000 ships on Friday, and arrives by Monday.");
        assert_eq!(a, "Your order of ₹2,50,000 ships on Friday,");
        assert_eq!(b.as_deref(), Some("and arrives by Monday."));
        let (a, b) = split_first_clause("Aapka order kal tak pahunch jayega aur aapko SMS milega.");
        assert_eq!(
            (a.as_str(), b.as_deref()),
            (
                "Aapka order kal tak pahunch jayega",
                Some("aur aapko SMS milega.")
            )
        );
        assert_eq!(
            split_first_clause("Yes, we deliver."),
            ("Yes, we deliver.".to_string(), None)
        );
        assert_eq!(
            split_first_clause("Call 1800 123 4567 at 10:30 for a refund please now"),
            (
                "Call 1800 123 4567 at 10:30 for a refund please now".to_string(),
                None
            )
        );
    }

    use super::*;

    #[test]
    fn splits_on_terminators_not_on_decimals_or_abbreviations() {
        assert_eq!(
            split_sentences(
                "Hello Mr. Sharma! Your total is 3.5 lakh. Shall I book it? ठीक है। Bye"
            ),
            vec![
                "Hello Mr. Sharma!",
                "Your total is 3.5 lakh.",
                "Shall I book it?",
                "ठीक है।",
                "Bye"
            ]
        );
    }

    #[test]
    fn newlines_split_and_junk_is_dropped() {
        assert_eq!(
            split_sentences("line one\n\nline two"),
            vec!["line one", "line two"]
        );
        assert!(split_sentences("  ... !!! ").is_empty());
        assert!(split_sentences("").is_empty());
    }

    #[test]
    fn run_on_text_is_cut_into_bounded_pieces() {
        let text = vec!["word"; 150].join(" ");
        let s = split_sentences(&text);
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|p| p.split_whitespace().count() <= MAX_WORDS));
    }
}
