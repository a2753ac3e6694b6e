//! Response formatting by channel. Chat keeps the chatbot's markdown (light cleanup only); a
//! call gets plain, short, speakable sentences: no markdown, URLs, emoji or lists, numbers as
//! words, and call phrasing instead of chat phrasing.
//!
//! [`CallTextStream`] does the call formatting incrementally, so the first sentence of a
//! streamed answer can go to TTS while the brain is still writing the rest;
//! [`format_response`] runs the same stream over a whole text.

use serde::{Deserialize, Serialize};
use vaarta_speech::normalize::{Lang, Script, normalize, normalize_native};
use vaarta_speech::tts::split_sentences;

use super::config::FormatConfig;
use super::markdown::{Block, block, inline};
use super::phrasing::{call_phrasing, capitalize};

/// Where an answer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Text chat: markdown is rendered by the widget.
    Chat,
    /// A phone or widget call: the text is spoken.
    Call,
}

/// Formats `text` for `channel` with the default [`FormatConfig`].
pub fn format_response(text: &str, channel: Channel, lang: Lang) -> String {
    format_response_with(text, channel, lang, &FormatConfig::default())
}

/// Formats `text` for `channel`; for calls the sentences are joined with single spaces.
pub fn format_response_with(
    text: &str,
    channel: Channel,
    lang: Lang,
    cfg: &FormatConfig,
) -> String {
    match channel {
        Channel::Chat => chat_cleanup(text),
        Channel::Call => {
            let mut stream = CallTextStream::new(cfg.clone(), lang);
            let mut sentences = stream.push(text);
            sentences.extend(stream.finish());
            sentences.join(" ")
        }
    }
}

/// Chat keeps its markdown: only trailing spaces, runs of blank lines and outer whitespace go.
fn chat_cleanup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blanks = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blanks += 1;
            if blanks > 1 {
                continue;
            }
        } else {
            blanks = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// Incremental call formatting: push the brain's text as it streams in, get back finished,
/// speakable sentences (in order, each ready for TTS). Stops after the configured caps.
#[derive(Debug, Clone)]
pub struct CallTextStream {
    cfg: FormatConfig,
    lang: Lang,
    /// Text of the current, unfinished line.
    buf: String,
    /// Part of the current line was already formatted (its block markers are gone).
    mid_line: bool,
    sentences: usize,
    chars: usize,
    truncated: bool,
}

impl CallTextStream {
    pub fn new(cfg: FormatConfig, lang: Lang) -> Self {
        Self {
            cfg,
            lang,
            buf: String::new(),
            mid_line: false,
            sentences: 0,
            chars: 0,
            truncated: false,
        }
    }

    /// Adds streamed text; returns the sentences it completed.
    pub fn push(&mut self, chunk: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.buf.push_str(chunk);
        while let Some(nl) = self.buf.find('\n') {
            let line: String = self.buf.drain(..=nl).collect();
            self.piece(line.trim_end_matches(['\n', '\r']), true, &mut out);
        }
        if let Some(cut) = self.early_cut() {
            let head: String = self.buf.drain(..cut).collect();
            self.piece(&head, false, &mut out);
        }
        out
    }

    /// The text is complete: returns the last sentences.
    pub fn finish(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let rest = std::mem::take(&mut self.buf);
        self.piece(&rest, true, &mut out);
        self.mid_line = false;
        out
    }

    /// True once text was left out to keep the answer short.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Byte offset just past the last finished sentence in the unfinished line, when one can
    /// be formatted on its own (no open link, code or emphasis; not a fence or table row).
    fn early_cut(&self) -> Option<usize> {
        let start = self.buf.trim_start();
        if !self.mid_line
            && (start.starts_with('|') || start.starts_with("```") || start.starts_with("~~~"))
        {
            return None;
        }
        let chars: Vec<(usize, char)> = self.buf.char_indices().collect();
        let mut cut = None;
        let (mut square, mut round, mut ticks, mut stars) = (0i32, 0i32, 0u32, 0u32);
        for (k, &(_, c)) in chars.iter().enumerate() {
            match c {
                '[' => square += 1,
                ']' => square -= 1,
                '(' => round += 1,
                ')' => round -= 1,
                '`' => ticks += 1,
                // "**" opens one emphasis: count runs of stars, not stars.
                '*' if k == 0 || chars[k - 1].1 != '*' => stars += 1,
                _ => {}
            }
            let next_space = chars.get(k + 1).is_some_and(|(_, n)| n.is_whitespace());
            let before = &self.buf[..chars[k].0];
            // "1. " of a list is no sentence: some letters must come first.
            let ends = matches!(c, '.' | '!' | '?' | '।' | '॥')
                && next_space
                && before.chars().any(char::is_alphabetic)
                && !(c == '.' && before_is_abbreviation(before));
            if ends && square <= 0 && round <= 0 && ticks % 2 == 0 && stars % 2 == 0 {
                cut = Some(chars[k + 1].0);
            }
        }
        cut
    }

    /// Formats one line (`complete`) or the finished-sentence head of one.
    fn piece(&mut self, raw: &str, complete: bool, out: &mut Vec<String>) {
        let text = if self.mid_line {
            raw.to_string()
        } else {
            match block(raw) {
                // Fenced text is spoken like any other (coupon codes, addresses); only the
                // fences go.
                Block::Fence | Block::Skip => return,
                Block::Text(t) => t,
            }
        };
        self.mid_line = !complete;
        let text = inline(&text, self.lang, self.cfg.urls);
        let mut text = tidy(&call_phrasing(&text), self.lang);
        if complete {
            end_sentence(&mut text);
        }
        for sentence in split_sentences(&text) {
            self.emit(sentence, out);
        }
    }

    /// Adds one sentence, within the caps, spoken.
    fn emit(&mut self, sentence: String, out: &mut Vec<String>) {
        if self.truncated {
            return;
        }
        let sentence = tidy(&sentence, self.lang);
        if !sentence.chars().any(char::is_alphanumeric) {
            return;
        }
        let n = sentence.chars().count();
        let full = self.sentences >= self.cfg.max_sentences.max(1)
            || (self.sentences > 0 && self.chars + n > self.cfg.max_chars);
        if full {
            self.truncated = true;
            return;
        }
        let sentence = if n > self.cfg.max_chars {
            // A first sentence that alone is too long: cut at a clause or word break.
            self.truncated = true;
            cut_sentence(&sentence, self.cfg.max_chars)
        } else {
            sentence
        };
        self.sentences += 1;
        self.chars += sentence.chars().count();
        out.push(speakable(&capitalize(&sentence), self.lang));
    }
}

/// Numbers, amounts, order numbers, dates and times as words (digits for native scripts,
/// which espeak-ng reads itself), as the TTS would do.
fn speakable(sentence: &str, lang: Lang) -> String {
    match Script::detect(sentence) {
        Some(script) => normalize_native(sentence, script),
        None => normalize(&spoken_ranges(sentence, lang), lang),
    }
}

/// "5-7 days" → "5 to 7 days" ("5 se 7"): small number ranges, not dates, times or phones.
fn spoken_ranges(text: &str, lang: Lang) -> String {
    let word = match lang {
        Lang::En => " to ",
        Lang::Hi => " se ",
    };
    let chars: Vec<char> = text.chars().collect();
    let digits = |from: usize| {
        chars[from.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let joined = |c: Option<&char>| {
        c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | ':' | '.' | ','))
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let a = digits(i);
        let starts_token = i == 0 || !joined(chars.get(i - 1));
        if a > 0 && starts_token && a <= 3 && matches!(chars.get(i + a), Some('-' | '–')) {
            let b = digits(i + a + 1);
            let end = i + a + 1 + b;
            if (1..=3).contains(&b) && !joined(chars.get(end)) {
                out.extend(&chars[i..i + a]);
                out.push_str(word);
                out.extend(&chars[i + a + 1..end]);
                i = end;
                continue;
            }
        }
        if a > 0 {
            out.extend(&chars[i..i + a]);
            i += a;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn before_is_abbreviation(before: &str) -> bool {
    const ABBREVIATIONS: &[&str] = &[
        "mr", "mrs", "ms", "dr", "st", "sr", "jr", "vs", "etc", "no", "e.g", "i.e", "approx", "rs",
        "prof",
    ];
    let word = before
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("")
        .trim_start_matches(|c: char| !c.is_alphanumeric());
    let lower = word.to_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
        || (word.chars().count() == 1 && word.chars().all(char::is_uppercase))
}

/// A line ends a sentence: a trailing ':' (list intro) or ',' becomes '.', and a bare end gets one.
fn end_sentence(text: &mut String) {
    let trimmed = text.trim_end_matches([':', ',', ';', ' ', '-']).len();
    text.truncate(trimmed);
    if text
        .chars()
        .last()
        .is_some_and(|c| !matches!(c, '.' | '!' | '?' | '।' | '॥'))
    {
        text.push('.');
    }
}

/// Cuts an over-long sentence at the last clause break (or word break) before `max` chars.
fn cut_sentence(sentence: &str, max: usize) -> String {
    let head: String = sentence.chars().take(max).collect();
    let at = head
        .rfind([',', ';', ':'])
        .filter(|&i| i > max / 3)
        .or_else(|| head.rfind(' '))
        .unwrap_or(head.len());
    let mut s = head[..at]
        .trim_end_matches([',', ';', ':', ' '])
        .to_string();
    s.push('.');
    s
}

/// Leftover symbols out, whitespace collapsed, punctuation runs merged (", ." → "."), no space
/// before punctuation, no punctuation at the start.
fn tidy(text: &str, lang: Lang) -> String {
    let and = match lang {
        Lang::En => "and",
        Lang::Hi => "aur",
    };
    let chars: Vec<char> = text.chars().collect();
    let mut mapped = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        match c {
            '|' => mapped.push(','),
            '&' if next.is_none_or(char::is_whitespace) => {
                mapped.push(' ');
                mapped.push_str(and);
                mapped.push(' ');
            }
            '#' if !next.is_some_and(char::is_alphanumeric) => mapped.push(' '),
            '[' | ']' | '{' | '}' | '\\' | '<' | '>' => mapped.push(' '),
            c if c.is_whitespace() => mapped.push(' '),
            c => mapped.push(c),
        }
    }
    let mapped = mapped.replace("()", " ").replace("( )", " ");
    let chars: Vec<char> = mapped.chars().collect();
    let is_punct = |c: char| matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '।');
    let mut out = String::with_capacity(mapped.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' {
            let j = i + chars[i..].iter().take_while(|&&x| x == ' ').count();
            // No space before punctuation or ')', none after '(' or at the start.
            let before_punct = chars.get(j).is_some_and(|&n| is_punct(n) || n == ')');
            if !(before_punct || out.is_empty() || out.ends_with('(')) && j < chars.len() {
                out.push(' ');
            }
            i = j;
            continue;
        }
        if is_punct(c) {
            // A run such as ", ." or "..." or ":." keeps its strongest mark.
            let mut j = i;
            let mut run = Vec::new();
            while j < chars.len() && (is_punct(chars[j]) || chars[j] == ' ') {
                if chars[j] != ' ' {
                    run.push(chars[j]);
                }
                j += 1;
            }
            let decimal =
                run.len() == 1 && j == i + 1 && chars.get(j).is_some_and(|n| n.is_alphanumeric());
            if decimal || out.is_empty() {
                if !out.is_empty() {
                    out.push(c);
                }
                i += 1;
                continue;
            }
            let mark = run
                .iter()
                .copied()
                .find(|&m| matches!(m, '.' | '!' | '?' | '।'))
                .unwrap_or(run[0]);
            out.push(mark);
            if j < chars.len() {
                out.push(' ');
            }
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_merges_punctuation_and_spaces() {
        assert_eq!(tidy("  Hello ,  world  . ", Lang::En), "Hello, world.");
        assert_eq!(tidy("Plans: . Basic", Lang::En), "Plans. Basic");
        assert_eq!(tidy("Wait... what", Lang::En), "Wait. what");
        assert_eq!(tidy("3.5 lakh, 10:30 am", Lang::En), "3.5 lakh, 10:30 am");
        assert_eq!(tidy(", leading", Lang::En), "leading");
        assert_eq!(
            tidy("Terms & conditions ( )", Lang::En),
            "Terms and conditions"
        );
        assert_eq!(tidy("A | B", Lang::Hi), "A, B");
        assert_eq!(tidy("order #A12 ## x", Lang::En), "order #A12 x");
    }

    #[test]
    fn number_ranges_are_spoken_as_ranges() {
        assert_eq!(
            spoken_ranges("in 5-7 working days", Lang::En),
            "in 5 to 7 working days"
        );
        assert_eq!(spoken_ranges("10–15 din", Lang::Hi), "10 se 15 din");
        for kept in [
            "15-03-2024",
            "09:00-18:00",
            "98765-43210",
            "ORD-2024-118",
            "a 10-digit",
        ] {
            assert_eq!(spoken_ranges(kept, Lang::En), kept);
        }
    }

    #[test]
    fn long_first_sentence_is_cut_at_a_break() {
        let s = "This plan includes unlimited calls, free delivery on every order and a dedicated support manager for your account";
        let cut = cut_sentence(s, 60);
        assert_eq!(cut, "This plan includes unlimited calls.");
        assert_eq!(cut_sentence("aaaa bbbb cccc", 11), "aaaa bbbb.");
    }
}
