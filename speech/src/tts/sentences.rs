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
