//! The session's own lines (failover, fillers, default holding), per language. Sites override
//! holding messages in their settings; these are the fallbacks.

/// Primary subtag: "hi-IN" → "hi".
pub fn primary(lang: &str) -> String {
    lang.split(['-', '_']).next().unwrap_or("").to_lowercase()
}

fn pick(lang: &str, hi: &'static str, en: &'static str, pa: &'static str) -> &'static str {
    match primary(lang).as_str() {
        "en" => en,
        "pa" => pa,
        _ => hi,
    }
}

/// Played before handing the caller to a human after a failure.
pub fn failover_line(lang: &str) -> &'static str {
    pick(
        lang,
        "Maaf kijiye, main aapko hamare team member se jod raha hoon.",
        "Sorry about that. Let me connect you to a colleague.",
        "Maaf karna, main tuhanu sade team member naal jod reha haan.",
    )
}

/// Played when the transfer to a human failed.
pub fn transfer_failed_line(lang: &str) -> &'static str {
    pick(
        lang,
        "Maaf kijiye, abhi koi agent uplabdh nahi hai. Hum aapko jald hi call back karenge. Dhanyavaad.",
        "Sorry, no one is available right now. We will call you back soon. Thank you.",
        "Maaf karna, hune koi agent nahi hai. Asin tuhanu jaldi call back karange. Dhanvaad.",
    )
}

/// Short filler against dead air.
pub fn filler_line(lang: &str) -> &'static str {
    pick(lang, "Ek second.", "One moment.", "Ik second.")
}

/// Default holding messages when the site has none for the language.
pub fn default_holding(lang: &str) -> &'static [&'static str] {
    match primary(lang).as_str() {
        "en" => &[
            "Please stay on the line, I am checking the information.",
            "Thank you for waiting, this is taking a little longer.",
        ],
        "pa" => &[
            "Line te bane raho ji, main jaankari check kar reha haan.",
            "Intezaar layi dhanvaad, thoda samaa lag reha hai.",
        ],
        _ => &[
            "Line par bane rahiye, check karne mein samay lag raha hai.",
            "Intezaar ke liye dhanyavaad, bas thoda aur samay.",
        ],
    }
}

/// Every line above for `lang`: what a node synthesises ahead of time into the phrase cache.
pub fn fixed_lines(lang: &str) -> Vec<String> {
    let mut lines: Vec<String> = default_holding(lang)
        .iter()
        .map(|s| s.to_string())
        .collect();
    lines.extend(
        [
            failover_line(lang),
            transfer_failed_line(lang),
            filler_line(lang),
        ]
        .map(str::to_string),
    );
    lines
}
