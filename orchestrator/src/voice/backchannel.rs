//! Recognises backchannels ("haan", "hmm", "ok ji", "ठीक है") in STT text, so that an
//! acknowledgement over the bot's audio neither stops it nor counts as the caller's answer.

/// What an STT text says about the caller's utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utterance {
    /// No words (yet): noise, or the STT has not caught up.
    Empty,
    /// Only backchannel phrases (a partial may also end in the start of one: "theek").
    Backchannel,
    /// Real words: the caller is taking the turn.
    Speech,
}

/// Matches text against a fixed set of backchannel phrases.
#[derive(Debug, Clone, Default)]
pub struct BackchannelMatcher {
    /// Each phrase as normalised tokens.
    phrases: Vec<Vec<String>>,
}

impl BackchannelMatcher {
    pub fn new<S: AsRef<str>>(phrases: &[S]) -> Self {
        let mut phrases: Vec<Vec<String>> = phrases
            .iter()
            .map(|p| tokens(p.as_ref()))
            .filter(|t| !t.is_empty())
            .collect();
        // Longest first, so "theek hai" wins over "theek" when both are listed.
        phrases.sort_by_key(|p| std::cmp::Reverse(p.len()));
        phrases.dedup();
        Self { phrases }
    }

    /// Classifies a final transcript: backchannel only when every word is covered by phrases.
    pub fn classify_final(&self, text: &str) -> Utterance {
        self.classify(text, false)
    }

    /// Classifies a partial transcript: the last words may be the unfinished start of a
    /// phrase ("theek" of "theek hai"), which still counts as a backchannel for now.
    pub fn classify_partial(&self, text: &str) -> Utterance {
        self.classify(text, true)
    }

    fn classify(&self, text: &str, partial: bool) -> Utterance {
        let toks = tokens(&strip_sound_tags(text));
        if toks.is_empty() {
            return Utterance::Empty;
        }
        if self.covers(&toks, partial) {
            Utterance::Backchannel
        } else {
            Utterance::Speech
        }
    }

    /// True when `toks` is a sequence of phrases; with `allow_prefix` the last one may be cut.
    fn covers(&self, toks: &[String], allow_prefix: bool) -> bool {
        // reachable[i]: the first i tokens are covered by whole phrases.
        let n = toks.len();
        let mut reachable = vec![false; n + 1];
        reachable[0] = true;
        for i in 0..n {
            if !reachable[i] {
                continue;
            }
            for p in &self.phrases {
                let rest = &toks[i..];
                if rest.len() >= p.len() && rest[..p.len()] == p[..] {
                    reachable[i + p.len()] = true;
                } else if allow_prefix && rest.len() < p.len() && starts_phrase(rest, p) {
                    return true;
                }
            }
        }
        reachable[n]
    }
}

/// `rest` is the beginning of phrase `p`, its last token possibly cut mid-word.
fn starts_phrase(rest: &[String], p: &[String]) -> bool {
    let last = rest.len() - 1;
    rest[..last] == p[..last] && p[last].starts_with(rest[last].as_str())
}

/// Lower-cased words without punctuation, repeated letters collapsed ("Hmmm!!" → "hm"),
/// chandrabindu folded into anusvara, the nukta dropped.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split(|c: char| !is_word_char(c)) {
        let mut tok = String::new();
        let mut prev: Option<char> = None;
        for c in word.chars().flat_map(char::to_lowercase) {
            let c = match c {
                '\u{0901}' => '\u{0902}', // ँ → ं
                '\u{0A01}' => '\u{0A02}', // ਁ → ਂ
                _ => c,
            };
            if c == '\u{093C}' || c == '\u{0A3C}' {
                continue; // nukta: STT spells ज़/ਜ਼ both ways
            }
            if prev == Some(c) {
                continue;
            }
            prev = Some(c);
            tok.push(c);
        }
        if !tok.is_empty() {
            out.push(tok);
        }
    }
    out
}

/// Letters, digits, and Indic vowel signs/viramas (marks that `is_alphanumeric` rejects);
/// dandas end words like punctuation.
fn is_word_char(c: char) -> bool {
    if matches!(c, '\u{0964}' | '\u{0965}') {
        return false;
    }
    c.is_alphanumeric() || ('\u{0900}'..='\u{0DFF}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::config::BackchannelConfig;

    fn matcher(lang: &str) -> BackchannelMatcher {
        BackchannelMatcher::new(&BackchannelConfig::default().phrases_for(lang))
    }

    #[test]
    fn backchannels_in_latin_and_devanagari_match_loosely() {
        let m = matcher("hi");
        for text in [
            "haan",
            "Haan.",
            "Hmmm...",
            "hmm hmm",
            "OK!",
            "okay ji",
            "Achha",
            "accha",
            "ji",
            "theek hai",
            "Theek hai, haan ji.",
            "हाँ",
            "हां",
            "ठीक है।",
            "हाँ जी",
            "अच्छा",
            "right",
            "Yes.",
        ] {
            assert_eq!(m.classify_final(text), Utterance::Backchannel, "{text}");
        }
    }

    #[test]
    fn real_answers_are_speech() {
        let m = matcher("hi");
        for text in [
            "haan mujhe refund chahiye",
            "no",
            "wait, what is the price?",
            "ok but when will it arrive",
            "mera order kahan hai",
            "मेरा ऑर्डर कहाँ है",
            "theek hai par kal",
        ] {
            assert_eq!(m.classify_final(text), Utterance::Speech, "{text}");
        }
        assert_eq!(m.classify_final("  ...  "), Utterance::Empty);
        assert_eq!(m.classify_partial(""), Utterance::Empty);
    }

    #[test]
    fn a_partial_may_end_in_the_start_of_a_phrase() {
        let m = matcher("hi");
        assert_eq!(m.classify_partial("theek h"), Utterance::Backchannel);
        assert_eq!(m.classify_partial("haan ji th"), Utterance::Backchannel);
        assert_eq!(m.classify_final("haan ji th"), Utterance::Speech);
        assert_eq!(m.classify_partial("haan ji kya"), Utterance::Speech);
    }

    #[test]
    fn languages_get_their_own_list_plus_the_common_one() {
        let pa = matcher("pa-IN");
        assert_eq!(pa.classify_final("ਹਾਂ ਜੀ"), Utterance::Backchannel);
        assert_eq!(pa.classify_final("haan"), Utterance::Backchannel);
        let en = matcher("en");
        assert_eq!(en.classify_final("ਹਾਂ ਜੀ"), Utterance::Speech);
        assert_eq!(en.classify_final("got it"), Utterance::Backchannel);
        let none = BackchannelMatcher::new::<&str>(&[]);
        assert_eq!(none.classify_final("haan"), Utterance::Speech);
    }
}

/// Removes the sound annotations Whisper writes for non-speech ("*im*", "(coughs)", "[MUSIC]",
/// "♪"): they are not words the caller said.
fn strip_sound_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut close: Option<char> = None;
    for c in text.chars() {
        match close {
            Some(end) if c == end => close = None,
            Some(_) => {}
            None => match c {
                '(' => close = Some(')'),
                '[' => close = Some(']'),
                '*' => close = Some('*'),
                '♪' => {}
                _ => out.push(c),
            },
        }
    }
    out
}

#[cfg(test)]
mod sound_tag_tests {
    use super::*;

    #[test]
    fn whisper_sound_annotations_are_not_words() {
        let m =
            BackchannelMatcher::new(&crate::voice::BackchannelConfig::default().phrases_for("en"));
        for t in ["*im*", "(coughs)", "[MUSIC]", "♪", " ( "] {
            assert_eq!(m.classify_final(t), Utterance::Empty, "{t:?}");
        }
        assert_eq!(
            m.classify_final("(coughs) where is my order"),
            Utterance::Speech
        );
        assert_eq!(strip_sound_tags("a *b* c"), "a  c");
    }
}
