//! ₹ amounts: "₹2,50,000" → "two lakh fifty thousand rupees" / "do lakh pachaas hazaar rupaye".

use super::Lang;
use super::numbers::number_words;

/// Speaks an amount of rupees and paise.
pub fn rupees_words(rupees: u64, paise: u32, lang: Lang) -> String {
    let paise = paise.min(99);
    let (one, many, and) = match lang {
        Lang::En => ("rupee", "rupees", "and"),
        Lang::Hi => ("rupaya", "rupaye", "aur"),
    };
    let r = format!(
        "{} {}",
        number_words(rupees, lang),
        if rupees == 1 { one } else { many }
    );
    let p = format!("{} paise", number_words(u64::from(paise), lang));
    match (rupees, paise) {
        (_, 0) => r,
        (0, _) => p,
        _ => format!("{r} {and} {p}"),
    }
}

/// Parses "2,50,000", "1500.5", "99.50" (Indian or Western digit grouping) into rupees and
/// paise. None when it is not a well-formed amount.
pub fn parse_amount(s: &str) -> Option<(u64, u32)> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if int.is_empty() || int.starts_with(',') || int.ends_with(',') || int.contains(",,") {
        return None;
    }
    let digits: String = int.chars().filter(|c| *c != ',').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let rupees = digits.parse().ok()?;
    let paise = match frac {
        None => 0,
        Some(f) if (1..=2).contains(&f.len()) && f.chars().all(|c| c.is_ascii_digit()) => {
            let v: u32 = f.parse().ok()?;
            if f.len() == 1 { v * 10 } else { v }
        }
        Some(_) => return None,
    };
    Some((rupees, paise))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Lang::{En, Hi};

    #[test]
    fn amounts() {
        assert_eq!(
            rupees_words(250_000, 0, En),
            "two lakh fifty thousand rupees"
        );
        assert_eq!(
            rupees_words(250_000, 0, Hi),
            "do lakh pachaas hazaar rupaye"
        );
        assert_eq!(rupees_words(1, 0, En), "one rupee");
        assert_eq!(rupees_words(1, 0, Hi), "ek rupaya");
        assert_eq!(
            rupees_words(99, 50, En),
            "ninety nine rupees and fifty paise"
        );
        assert_eq!(
            rupees_words(99, 50, Hi),
            "ninyaanve rupaye aur pachaas paise"
        );
        assert_eq!(rupees_words(0, 75, En), "seventy five paise");
        assert_eq!(rupees_words(0, 0, En), "zero rupees");
    }

    #[test]
    fn parsing() {
        assert_eq!(parse_amount("2,50,000"), Some((250_000, 0)));
        assert_eq!(parse_amount("250,000"), Some((250_000, 0)));
        assert_eq!(parse_amount("1500.5"), Some((1500, 50)));
        assert_eq!(parse_amount("99.05"), Some((99, 5)));
        assert_eq!(parse_amount("1.234"), None);
        assert_eq!(parse_amount(",5"), None);
        assert_eq!(parse_amount("99999999999999999999999"), None);
    }
}
