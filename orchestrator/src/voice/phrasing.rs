//! Call phrasing: chat-only expressions ("click here", "see below", "type your…", "chat par
//! bane rahiye") rewritten to what a caller can act on, in English and Hinglish.

/// (chat phrase, call phrase), matched case-insensitively on whole words, longest first within
/// a theme. An empty call phrase drops the words.
const REWRITES: &[(&str, &str)] = &[
    // Hinglish: waiting.
    (
        "please chat par bane rahiye, main check kar raha hoon",
        "aap line par bane rahein, main information check kar raha hoon",
    ),
    (
        "please chat par bane rahein, main check kar raha hoon",
        "aap line par bane rahein, main information check kar raha hoon",
    ),
    (
        "please chat par bane rahiye, main check kar rahi hoon",
        "aap line par bane rahein, main information check kar rahi hoon",
    ),
    ("please chat par bane rahiye", "aap line par bane rahein"),
    ("please chat par bane rahein", "aap line par bane rahein"),
    ("chat par bane rahiye", "line par bane rahein"),
    ("chat par bane rahein", "line par bane rahein"),
    ("chat par bane rahe", "line par bane rahe"),
    (
        "main check kar raha hoon",
        "main information check kar raha hoon",
    ),
    (
        "main check kar rahi hoon",
        "main information check kar rahi hoon",
    ),
    ("is chat mein", "is call par"),
    ("chat mein", "call par"),
    // Hinglish: links and screens.
    ("yahan click karke", "hamari website par"),
    ("yahan click karein", "hamari website par jaayein"),
    ("link par click karein", "hamari website par jaayein"),
    ("neeche diye gaye link par", "hamari website par"),
    ("neeche dekhiye", ""),
    ("neeche dekhein", ""),
    ("niche dekhein", ""),
    ("neeche diye gaye", "ye"),
    ("type karke bhejiye", "boliye"),
    ("type karein", "boliye"),
    ("type kijiye", "boliye"),
    ("type karo", "bolo"),
    ("likh kar bhejiye", "boliye"),
    ("message karein", "bataiye"),
    // English: waiting.
    ("please stay on the chat", "please stay on the line"),
    ("stay on the chat", "stay on the line"),
    ("stay in the chat", "stay on the line"),
    ("stay on chat", "stay on the line"),
    ("in this chat", "on this call"),
    ("in the chat", "on this call"),
    ("chat with us", "talk to us"),
    // English: links and screens.
    ("click on the link below to", "visit our website to"),
    ("click the link below to", "visit our website to"),
    ("click on the link below", "visit our website"),
    ("click the link below", "visit our website"),
    ("click on the link", "visit our website"),
    ("click the link", "visit our website"),
    ("click here to", "visit our website to"),
    ("tap here to", "visit our website to"),
    ("click here", "visit our website"),
    ("tap here", "visit our website"),
    ("please see below for", "here are"),
    ("see below for", "here are"),
    ("please see below", "here are the details"),
    ("see below", "here are the details"),
    ("as shown below", ""),
    ("listed below", "as follows"),
    ("given below", "as follows"),
    ("shown below", "as follows"),
    ("mentioned below", "as follows"),
    ("scroll down", ""),
    ("scroll up", ""),
    ("type your", "tell me your"),
    ("type in your", "tell me your"),
    ("please type", "please say"),
    ("type yes", "say yes"),
    ("type no", "say no"),
    ("reply with", "say"),
    ("reply yes", "say yes"),
    ("send us a message", "tell me"),
];

/// Applies every call rewrite to `text`.
pub(crate) fn call_phrasing(text: &str) -> String {
    let mut s = text.to_string();
    for (from, to) in REWRITES {
        s = replace_words_ci(&s, from, to);
    }
    s
}

/// Replaces whole-word, case-insensitive (ASCII) occurrences of `from` with `to`, keeping an
/// initial capital ("Click here" → "Visit our website").
fn replace_words_ci(text: &str, from: &str, to: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let pat: Vec<char> = from.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let fits = i + pat.len() <= chars.len()
            && (i == 0 || !chars[i - 1].is_alphanumeric())
            && chars
                .get(i + pat.len())
                .is_none_or(|c| !c.is_alphanumeric())
            && chars[i..i + pat.len()]
                .iter()
                .zip(&pat)
                .all(|(a, b)| a.to_ascii_lowercase() == *b);
        if fits {
            if chars[i].is_uppercase() {
                out.push_str(&capitalize(to));
            } else {
                out.push_str(to);
            }
            i += pat.len();
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// First letter upper-cased.
pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_phrases_become_call_phrases() {
        for (chat, call) in [
            (
                "Please chat par bane rahiye, main check kar raha hoon.",
                "Aap line par bane rahein, main information check kar raha hoon.",
            ),
            (
                "Thoda wait kijiye, main check kar raha hoon.",
                "Thoda wait kijiye, main information check kar raha hoon.",
            ),
            (
                "Click here to track your order.",
                "Visit our website to track your order.",
            ),
            (
                "Please type your order ID.",
                "Please tell me your order ID.",
            ),
            ("Apna order ID type karein.", "Apna order ID boliye."),
            ("Please stay on the chat.", "Please stay on the line."),
            ("The plans are listed below:", "The plans are as follows:"),
        ] {
            assert_eq!(call_phrasing(chat), call, "{chat}");
        }
    }

    #[test]
    fn only_whole_words_match() {
        assert_eq!(call_phrasing("retype yourself"), "retype yourself");
        assert_eq!(call_phrasing("Type yes to confirm."), "Say yes to confirm.");
        assert_eq!(
            call_phrasing("Your account type is savings."),
            "Your account type is savings."
        );
        assert_eq!(call_phrasing("chatter"), "chatter");
    }
}
