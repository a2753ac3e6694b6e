//! Whisper's repetition loop: on a short utterance with a reduced encoder window it sometimes
//! decodes the same sentence again and again over the padding ("What are your opening hours?
//! What are your opening hours? What are your openin"). The caller said it once; the brain
//! must see it once. Segments that start after the audio ended are dropped, then a sentence of
//! three words or more that repeats the one before it (or is a cut-off start of it) is removed
//! (a short "No. No." is how people talk, and stays).

use super::transcript::Segment;

/// Segments that begin after the real audio (`audio_ms`) are decoded padding.
pub(super) fn drop_past_audio(segments: &mut Vec<Segment>, audio_ms: u64) {
    if segments.len() > 1 {
        let first_start = segments[0].start_ms;
        segments.retain(|s| s.start_ms == first_start || s.start_ms < audio_ms);
    }
}

/// The text with consecutive repeated sentences said once.
pub(super) fn collapse_repeats(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for sentence in sentences(text) {
        let key = comparable(sentence);
        if key.is_empty() {
            continue;
        }
        if let Some(prev) = kept.last() {
            let prev = comparable(prev);
            let long = prev.split(' ').count() >= 3;
            if long && (prev == key || (key.len() >= 3 && prev.starts_with(&key))) {
                continue;
            }
        }
        kept.push(sentence);
    }
    kept.join(" ")
}

/// Sentences with their end punctuation.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '?' | '!' | '।') {
            let end = i + c.len_utf8();
            let next_is_space = text[end..].chars().next().is_none_or(char::is_whitespace);
            if next_is_space {
                out.push(text[start..end].trim());
                start = end;
            }
        }
    }
    if start < text.len() {
        out.push(text[start..].trim());
    }
    out.retain(|s| !s.is_empty());
    out
}

fn comparable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_looped_sentence_is_said_once() {
        assert_eq!(
            collapse_repeats(
                "What are your opening hours? What are your opening hours? what are your openin"
            ),
            "What are your opening hours?"
        );
    }

    #[test]
    fn different_sentences_and_decimals_stay() {
        let t = "My order is 12.5 kg. Where is it? Where is it now?";
        assert_eq!(collapse_repeats(t), t);
        assert_eq!(collapse_repeats("No. No, wait."), "No. No, wait.");
        assert_eq!(collapse_repeats("No. No."), "No. No.");
        assert_eq!(collapse_repeats(""), "");
    }

    #[test]
    fn segments_over_the_padding_are_dropped() {
        let seg = |start_ms, text: &str| Segment {
            start_ms,
            end_ms: start_ms + 1500,
            text: text.into(),
            no_speech_prob: 0.0,
        };
        let mut s = vec![seg(0, "Hello."), seg(1800, "Hello."), seg(2600, "Hello.")];
        drop_past_audio(&mut s, 2400);
        assert_eq!(s.len(), 2);
        let mut one = vec![seg(3000, "Hi.")];
        drop_past_audio(&mut one, 2400);
        assert_eq!(
            one.len(),
            1,
            "a lone segment is kept whatever its timestamps say"
        );
    }
}
