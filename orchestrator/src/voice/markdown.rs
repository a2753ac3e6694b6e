//! Turns one line of chatbot markdown into plain speakable text: block markers (headings,
//! bullets, numbers, quotes, tables), inline markup (emphasis, code, links, images, HTML),
//! URLs, e-mail addresses and emoji.

use vaarta_speech::normalize::Lang;

use super::config::UrlPolicy;

/// What a raw line is, block-wise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    /// A code fence (```), opening or closing.
    Fence,
    /// Nothing to say: blank line, horizontal rule, table separator.
    Skip,
    /// Text to speak (block markers removed, inline markup not yet).
    Text(String),
}

/// Classifies a whole raw line and strips its block markers.
pub(crate) fn block(line: &str) -> Block {
    let t = line.trim();
    if t.starts_with("```") || t.starts_with("~~~") {
        return Block::Fence;
    }
    if t.is_empty() || is_rule(t) || is_table_separator(t) {
        return Block::Skip;
    }
    if t.starts_with('|') {
        let cells: Vec<&str> = t
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        return Block::Text(cells.join(", "));
    }
    Block::Text(strip_prefix_markers(t).to_string())
}

/// Removes heading, quote, bullet and list-number markers (possibly nested: "> - ").
fn strip_prefix_markers(mut t: &str) -> &str {
    loop {
        let before = t;
        t = t.trim_start();
        if let Some(rest) = t.strip_prefix('#') {
            t = rest.trim_start_matches('#');
        } else if let Some(rest) = t.strip_prefix('>') {
            t = rest;
        } else if let Some(rest) = ["- ", "* ", "+ ", "• ", "· ", "– ", "— ", "▪ ", "◦ "]
            .iter()
            .find_map(|m| t.strip_prefix(m))
        {
            t = rest;
        } else if let Some(rest) = list_number(t) {
            t = rest;
        } else if let Some(rest) = t.strip_prefix("[ ] ").or_else(|| t.strip_prefix("[x] ")) {
            t = rest;
        }
        if t == before {
            return t.trim();
        }
    }
}

/// `1. `, `2) `, `a) `: the text after a list number.
fn list_number(t: &str) -> Option<&str> {
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    let marker_len = if digits > 0 && digits <= 3 {
        digits
    } else if t.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && t[1..].starts_with(") ") {
        1
    } else {
        return None;
    };
    let rest = &t[marker_len..];
    rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") "))
}

fn is_rule(t: &str) -> bool {
    let c: Vec<char> = t.chars().filter(|c| !c.is_whitespace()).collect();
    c.len() >= 3
        && ['-', '*', '_', '=']
            .iter()
            .any(|m| c.iter().all(|x| x == m))
}

fn is_table_separator(t: &str) -> bool {
    t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// Inline markup out: links and images keep their text, emphasis and code lose their marks,
/// HTML tags vanish, URLs follow `urls`, e-mail addresses become speakable, emoji go.
pub(crate) fn inline(text: &str, lang: Lang, urls: UrlPolicy) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // ![alt](url) and [text](url)
        if (c == '[' || (c == '!' && chars.get(i + 1) == Some(&'[')))
            && let Some((label, len)) = link(&chars, i + usize::from(c == '!'))
        {
            out.push_str(&inline(&label, lang, urls));
            i += len + usize::from(c == '!');
            continue;
        }
        // <br>, </b>, <https://…> (autolink: keep the URL for the URL rule below)
        if c == '<'
            && let Some(end) = chars[i + 1..].iter().position(|&x| x == '>')
        {
            let inner: String = chars[i + 1..i + 1 + end].iter().collect();
            if is_url_start(&inner) {
                push_url(&mut out, &inner, lang, urls);
                i += end + 2;
                continue;
            }
            if is_html_tag(&inner) {
                out.push(' ');
                i += end + 2;
                continue;
            }
        }
        if at_url(&chars, i) {
            let end = url_end(&chars, i);
            let url: String = chars[i..end].iter().collect();
            push_url(&mut out, &url, lang, urls);
            i = end;
            continue;
        }
        if let Some((len, spoken)) = email(&chars, i) {
            out.push_str(&spoken);
            i += len;
            continue;
        }
        match c {
            // "~5 days" is an approximation, "~~gone~~" strikethrough.
            '~' if chars.get(i + 1).is_some_and(char::is_ascii_digit) => out.push_str(match lang {
                Lang::En => "about ",
                Lang::Hi => "lagbhag ",
            }),
            '*' | '`' | '~' => {}
            // snake_case stays; _emphasis_ loses its marks.
            '_' if !(i > 0
                && chars[i - 1].is_alphanumeric()
                && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric())) => {}
            c if is_emoji(c) => out.push(' '),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// `[label](target)` starting at `i` ('['): (label, chars consumed).
fn link(chars: &[char], i: usize) -> Option<(String, usize)> {
    let close = i + 1 + chars[i + 1..].iter().position(|&c| c == ']')?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let end = close + 2 + chars[close + 2..].iter().position(|&c| c == ')')?;
    Some((chars[i + 1..close].iter().collect(), end + 1 - i))
}

fn is_html_tag(inner: &str) -> bool {
    let name = inner.trim_start_matches('/').trim_end_matches('/').trim();
    let word = name.split_whitespace().next().unwrap_or("");
    !word.is_empty() && word.len() <= 10 && word.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_url_start(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://") || l.starts_with("www.")
}

fn at_url(chars: &[char], i: usize) -> bool {
    if i > 0 && chars[i - 1].is_alphanumeric() {
        return false;
    }
    let head: String = chars[i..chars.len().min(i + 8)].iter().collect();
    is_url_start(&head)
}

fn url_end(chars: &[char], i: usize) -> usize {
    let mut j = i;
    while j < chars.len() && !chars[j].is_whitespace() && !matches!(chars[j], ')' | ']' | '>' | '"')
    {
        j += 1;
    }
    // Sentence punctuation after a URL is not part of it.
    while j > i && matches!(chars[j - 1], '.' | ',' | ';' | ':' | '!' | '?') {
        j -= 1;
    }
    j
}

/// Writes what a URL becomes onto `out` (the text already written before it).
fn push_url(out: &mut String, url: &str, lang: Lang, policy: UrlPolicy) {
    let spoken = match policy {
        UrlPolicy::Drop => None,
        UrlPolicy::Domain => Some(host_of(url).replace('.', " dot ")),
        // "visit our website: https://…", "click here: https://…" already say where to go.
        UrlPolicy::Hint if already_points_somewhere(out) => None,
        UrlPolicy::Hint => Some(
            match lang {
                Lang::En => "our website",
                Lang::Hi => "hamari website",
            }
            .to_string(),
        ),
    };
    match spoken {
        Some(words) => {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            out.push_str(&words);
            out.push(' ');
        }
        None => {
            // Drop the URL and what only led up to it ("… website at", "… here:").
            loop {
                let trimmed = out.trim_end().trim_end_matches(':').trim_end();
                let lower = trimmed.to_lowercase();
                let cut = [" at", " on", " par", " is", " pe"]
                    .iter()
                    .find(|w| lower.ends_with(*w))
                    .map_or(trimmed.len(), |w| trimmed.len() - w.len());
                let done = cut == out.len();
                out.truncate(cut);
                if done {
                    break;
                }
            }
        }
    }
}

/// The last few words already name a place to go.
fn already_points_somewhere(before: &str) -> bool {
    const POINTERS: &[&str] = &[
        "website", "site", "portal", "link", "click", "here", "yahan", "page", "webpage", "visit",
        "app",
    ];
    before
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .rev()
        .take(6)
        .any(|w| POINTERS.contains(&w.to_lowercase().as_str()))
}

fn host_of(url: &str) -> String {
    let l = url.to_ascii_lowercase();
    let rest = l
        .strip_prefix("https://")
        .or_else(|| l.strip_prefix("http://"))
        .unwrap_or(&l);
    let host = rest.split(['/', '?', '#', ':']).next().unwrap_or("");
    host.strip_prefix("www.").unwrap_or(host).to_string()
}

/// `name@domain.tld` at `i`: (chars consumed, "name at domain dot tld").
fn email(chars: &[char], i: usize) -> Option<(usize, String)> {
    let local_ok = |c: &char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+');
    if (i > 0 && local_ok(&chars[i - 1])) || !chars[i].is_ascii_alphanumeric() {
        return None;
    }
    let at = i + chars[i..].iter().take_while(|c| local_ok(c)).count();
    if chars.get(at) != Some(&'@') {
        return None;
    }
    let mut end = at + 1;
    while end < chars.len()
        && (chars[end].is_ascii_alphanumeric() || matches!(chars[end], '.' | '-'))
    {
        end += 1;
    }
    while end > at + 1 && chars[end - 1] == '.' {
        end -= 1;
    }
    let domain: String = chars[at + 1..end].iter().collect();
    if !domain.contains('.') {
        return None;
    }
    let local: String = chars[i..at].iter().collect();
    let say = |s: &str| s.replace('.', " dot ").replace(['_', '-'], " ");
    Some((end - i, format!("{} at {}", say(&local), say(&domain))))
}

/// Emoji and pictographs, with their joiners and variation selectors; arrows and dingbats.
fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF
        | 0x2190..=0x21FF
        | 0x2300..=0x23FF
        | 0x2460..=0x24FF
        | 0x25A0..=0x27BF
        | 0x2900..=0x297F
        | 0x2B00..=0x2BFF
        | 0xFE00..=0xFE0F
        | 0x200D
        | 0x20E3
        | 0xE0000..=0xE007F
        | 0x00A9
        | 0x00AE
        | 0x2122
        | 0x3030
        | 0x303D)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_markers_are_removed() {
        for (line, want) in [
            ("## Delivery times", Block::Text("Delivery times".into())),
            ("- **Basic** plan", Block::Text("**Basic** plan".into())),
            ("  * item", Block::Text("item".into())),
            ("3. Pay online", Block::Text("Pay online".into())),
            ("b) Cash", Block::Text("Cash".into())),
            ("> - quoted item", Block::Text("quoted item".into())),
            ("| Plan | Price |", Block::Text("Plan, Price".into())),
            ("|---|:---:|", Block::Skip),
            ("---", Block::Skip),
            ("   ", Block::Skip),
            ("```rust", Block::Fence),
            (
                "2024 was a good year.",
                Block::Text("2024 was a good year.".into()),
            ),
        ] {
            assert_eq!(block(line), want, "{line}");
        }
    }

    #[test]
    fn inline_markup_urls_emails_and_emoji() {
        let f = |t: &str| inline(t, Lang::En, UrlPolicy::Hint);
        assert_eq!(f("**Bold** and _it_ and `code`"), "Bold and it and code");
        assert_eq!(f("order_id stays"), "order_id stays");
        assert_eq!(
            f("[Track order](https://x.in/t?id=1) now"),
            "Track order now"
        );
        assert_eq!(f("![logo](a.png)Shop"), "logoShop");
        assert_eq!(
            f("Go to https://shop.example.com/track."),
            "Go to our website ."
        );
        assert_eq!(
            f("Visit our website at https://x.in."),
            "Visit our website."
        );
        assert_eq!(f("Reset it here: <https://x.in/reset>"), "Reset it here");
        assert_eq!(f("line<br>break"), "line break");
        assert_eq!(f("Mail support@shop.in."), "Mail support at shop dot in.");
        assert_eq!(f("Done ✅🎉!"), "Done   !");
        assert_eq!(
            inline("see www.shop.in/x", Lang::Hi, UrlPolicy::Domain),
            "see shop dot in "
        );
        assert_eq!(inline("see https://a.in", Lang::Hi, UrlPolicy::Drop), "see");
        assert_eq!(
            inline(
                "Details https://a.in par milengi",
                Lang::Hi,
                UrlPolicy::Hint
            ),
            "Details hamari website  par milengi"
        );
    }
}
