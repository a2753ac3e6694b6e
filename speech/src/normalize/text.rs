//! Finds numbers, amounts, phone and order numbers, dates and times in free text and replaces
//! them with words. Everything else is copied unchanged.

use super::Lang;
use super::datetime::{date_words, month_from_name, time_words};
use super::money::{parse_amount, rupees_words};
use super::native::{self, Script};
use super::numbers::{decimal_words, digit_words, number_words, ordinal_words};

/// How matched values are spoken: as words of a language (Latin script), or as digits and
/// native-script words for espeak-ng's own number rules.
#[derive(Debug, Clone, Copy)]
enum Speak {
    Words(Lang),
    Native(Script),
}

impl Speak {
    fn number(self, v: u64) -> String {
        match self {
            Self::Words(l) => number_words(v, l),
            Self::Native(_) => v.to_string(),
        }
    }
    fn decimal(self, v: u64, frac: &str) -> String {
        match self {
            Self::Words(l) => decimal_words(v, frac, l),
            Self::Native(_) => format!("{v}.{frac}"),
        }
    }
    fn ordinal(self, v: u64) -> String {
        match self {
            Self::Words(l) => ordinal_words(v, l),
            Self::Native(_) => v.to_string(),
        }
    }
    fn digits(self, s: &str) -> String {
        match self {
            Self::Words(l) => digit_words(s, l),
            Self::Native(_) => native::digits(s),
        }
    }
    fn rupees(self, r: u64, p: u32) -> String {
        match self {
            Self::Words(l) => rupees_words(r, p, l),
            Self::Native(s) => native::rupees(r, p, s),
        }
    }
    fn date(self, d: u32, m: u32, y: Option<u32>) -> Option<String> {
        match self {
            Self::Words(l) => date_words(d, m, y, l),
            Self::Native(s) => native::date(d, m, y, s),
        }
    }
    fn time(self, h: u32, m: u32, pm: Option<bool>) -> Option<String> {
        match self {
            Self::Words(l) => time_words(h, m, pm, l),
            Self::Native(s) => native::time(h, m, pm, s),
        }
    }
    fn minus(self) -> &'static str {
        match self {
            Self::Words(_) => "minus",
            Self::Native(s) => native::minus(s),
        }
    }
    fn plus(self) -> &'static str {
        match self {
            Self::Words(_) => "plus",
            Self::Native(_) => "+",
        }
    }
    fn percent(self) -> &'static str {
        match self {
            Self::Words(_) => "percent",
            Self::Native(s) => native::percent(s),
        }
    }
}

/// Words after which a number is an identifier, read digit by digit.
const ID_CONTEXT: &[&str] = &[
    "order",
    "number",
    "no",
    "id",
    "pin",
    "pincode",
    "otp",
    "account",
    "a/c",
    "awb",
    "tracking",
    "ticket",
    "booking",
    "pnr",
    "invoice",
    "ref",
    "reference",
    "phone",
    "mobile",
    "call",
    "code",
    "customer",
    "policy",
];

/// Digit-only numbers longer than this (without grouping commas) are read digit by digit.
const MAX_NUMBER_DIGITS: usize = 9;

/// Rewrites `text` (Latin script: English or romanised Hindi) for speaking in `lang`.
pub fn normalize(text: &str, lang: Lang) -> String {
    rewrite(text, Speak::Words(lang))
}

/// Rewrites Devanagari or Gurmukhi `text` for espeak-ng: phone and order numbers as separate
/// digits, `₹` as रुपये/ਰੁਪਏ, dates with month names, times with बजे/ਵਜੇ; plain numbers stay
/// digits, which espeak-ng reads in lakh and crore itself.
pub fn normalize_native(text: &str, script: Script) -> String {
    rewrite(text, Speak::Native(script))
}

fn rewrite(text: &str, lang: Speak) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !chars[i - 1].is_alphanumeric();
        if boundary && let Some((len, words)) = match_at(&chars, i, lang) {
            if out.chars().last().is_some_and(|c| c.is_alphanumeric()) {
                out.push(' ');
            }
            out.push_str(&words);
            i += len;
            if chars.get(i).is_some_and(|c| c.is_alphanumeric()) {
                out.push(' ');
            }
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The longest speakable pattern starting at `i`: (chars consumed, words).
fn match_at(chars: &[char], i: usize, lang: Speak) -> Option<(usize, String)> {
    money(chars, i, lang)
        .or_else(|| date(chars, i, lang))
        .or_else(|| time(chars, i, lang))
        .or_else(|| phone(chars, i, lang))
        .or_else(|| identifier(chars, i, lang))
        .or_else(|| number(chars, i, lang))
}

fn digits_at(chars: &[char], i: usize) -> usize {
    chars[i.min(chars.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count()
}

fn collect(chars: &[char], from: usize, to: usize) -> String {
    chars[from..to].iter().collect()
}

fn starts_with_ci(chars: &[char], i: usize, word: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    chars.len() >= i + w.len()
        && chars[i..i + w.len()]
            .iter()
            .zip(&w)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
}

/// `2,50,000.50` style amount at `i`: (length, text).
fn amount_span(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if digits_at(chars, j) == 0 {
        return None;
    }
    while j < chars.len()
        && (chars[j].is_ascii_digit() || (chars[j] == ',' && digits_at(chars, j + 1) >= 2))
    {
        j += 1;
    }
    if chars.get(j) == Some(&'.') && (1..=2).contains(&digits_at(chars, j + 1)) {
        j += 1 + digits_at(chars, j + 1);
    }
    Some(j - i)
}

/// `₹2,50,000`, `Rs. 500/-`, `INR 99.50`.
fn money(chars: &[char], i: usize, lang: Speak) -> Option<(usize, String)> {
    let mut j = i;
    if chars[j] == '₹' {
        j += 1;
    } else if starts_with_ci(chars, j, "rs") || starts_with_ci(chars, j, "inr") {
        j += if starts_with_ci(chars, j, "rs") { 2 } else { 3 };
        if chars.get(j).is_some_and(|c| c.is_alphanumeric()) && !chars[j].is_ascii_digit() {
            return None; // a word like "rsvp" or "inrush"
        }
        if chars.get(j) == Some(&'.') {
            j += 1;
        }
    } else {
        return None;
    }
    while chars.get(j) == Some(&' ') {
        j += 1;
    }
    let len = amount_span(chars, j)?;
    let (rupees, paise) = parse_amount(&collect(chars, j, j + len))?;
    j += len;
    if chars.get(j) == Some(&'/') && chars.get(j + 1) == Some(&'-') {
        j += 2;
    }
    Some((j - i, lang.rupees(rupees, paise)))
}

/// `15/03/2024`, `15-03-24`, `2024-03-15`, `15 March 2024`, `15th March`.
fn date(chars: &[char], i: usize, lang: Speak) -> Option<(usize, String)> {
    let d1 = digits_at(chars, i);
    if d1 == 0 {
        return None;
    }
    let num = |from: usize, len: usize| collect(chars, from, from + len).parse::<u32>().ok();
    // numeric forms
    if let Some(&sep) = chars.get(i + d1).filter(|c| matches!(c, '/' | '-' | '.')) {
        let j = i + d1 + 1;
        let d2 = digits_at(chars, j);
        if (1..=2).contains(&d2) && chars.get(j + d2) == Some(&sep) {
            let k = j + d2 + 1;
            let d3 = digits_at(chars, k);
            let end = k + d3;
            if chars.get(end).is_some_and(|c| c.is_alphanumeric()) {
                return None;
            }
            let (a, b, c) = (num(i, d1)?, num(j, d2)?, num(k, d3)?);
            let words = match (d1, d3) {
                (4, 1..=2) if sep == '-' => lang.date(c, b, Some(a)),
                (1..=2, 4) => lang.date(a, b, Some(c)),
                (1..=2, 2) => lang.date(a, b, Some(2000 + c)),
                _ => None,
            }?;
            return Some((end - i, words));
        }
        return None;
    }
    // "15 March [2024]" / "15th March"
    if d1 > 2 {
        return None;
    }
    let day = num(i, d1)?;
    let mut j = i + d1;
    for suffix in ["st", "nd", "rd", "th"] {
        if starts_with_ci(chars, j, suffix) {
            j += 2;
            break;
        }
    }
    if chars.get(j) == Some(&' ') {
        j += 1;
    }
    let word_len = chars[j.min(chars.len())..]
        .iter()
        .take_while(|c| c.is_alphabetic() || **c == '.')
        .count();
    let month = month_from_name(&collect(chars, j, j + word_len))?;
    j += word_len;
    let mut year = None;
    if chars.get(j) == Some(&' ') && digits_at(chars, j + 1) == 4 {
        year = num(j + 1, 4);
        j += 5;
    }
    Some((j - i, lang.date(day, month, year)?))
}

/// `10:30`, `10:30 am`, `5pm`, `5 p.m.`.
fn time(chars: &[char], i: usize, lang: Speak) -> Option<(usize, String)> {
    let dh = digits_at(chars, i);
    if !(1..=2).contains(&dh) {
        return None;
    }
    let hour: u32 = collect(chars, i, i + dh).parse().ok()?;
    let mut j = i + dh;
    let mut minute = None;
    if chars.get(j) == Some(&':') && digits_at(chars, j + 1) == 2 {
        minute = collect(chars, j + 1, j + 3).parse().ok();
        j += 3;
        if chars.get(j) == Some(&':') && digits_at(chars, j + 1) == 2 {
            j += 3; // seconds are not spoken
        }
    }
    let mut k = j;
    if chars.get(k) == Some(&' ') {
        k += 1;
    }
    let mut pm = None;
    for (form, is_pm) in [("a.m.", false), ("p.m.", true), ("am", false), ("pm", true)] {
        if starts_with_ci(chars, k, form)
            && !chars
                .get(k + form.len())
                .is_some_and(|c| c.is_alphanumeric())
        {
            pm = Some(is_pm);
            k += form.len();
            break;
        }
    }
    if pm.is_some() {
        j = k;
    } else if minute.is_none() || chars.get(j).is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    Some((j - i, lang.time(hour, minute.unwrap_or(0), pm)?))
}

/// `+91 98765 43210`, `98765-43210`, `9876543210`: digit groups read one by one with pauses.
fn phone(chars: &[char], i: usize, lang: Speak) -> Option<(usize, String)> {
    let plus = chars[i] == '+';
    let mut j = i + usize::from(plus);
    let mut groups = Vec::new();
    loop {
        let d = digits_at(chars, j);
        if d == 0 {
            break;
        }
        groups.push(collect(chars, j, j + d));
        j += d;
        let sep = chars.get(j).copied();
        if matches!(sep, Some(' ' | '-')) && digits_at(chars, j + 1) > 0 {
            j += 1;
        } else {
            break;
        }
    }
    let total: usize = groups.iter().map(String::len).sum();
    let is_phone = (plus && (8..=15).contains(&total))
        || ((10..=13).contains(&total) && groups.len() <= 4 && groups.iter().all(|g| g.len() >= 2));
    if !is_phone || chars.get(j).is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    let mut words: Vec<String> = groups.iter().map(|g| lang.digits(g)).collect();
    if plus {
        words[0] = format!("{} {}", lang.plus(), words[0]);
    }
    Some((j - i, words.join(", ")))
}

fn preceding_word(chars: &[char], i: usize) -> String {
    let mut j = i;
    while j > 0 && !chars[j - 1].is_alphanumeric() {
        j -= 1;
    }
    let end = j;
    while j > 0 && (chars[j - 1].is_alphanumeric() || chars[j - 1] == '/') {
        j -= 1;
    }
    collect(chars, j, end).to_lowercase()
}

/// Order numbers and codes: `#12345`, `A12345`, `ORD-2024-001`, and digits after words such
/// as "order" or "PIN": spelled character by character.
fn identifier(chars: &[char], i: usize, lang: Speak) -> Option<(usize, String)> {
    let hash = chars[i] == '#';
    let start = i + usize::from(hash);
    let mut j = start;
    while j < chars.len()
        && (chars[j].is_ascii_alphanumeric()
            || (matches!(chars[j], '-' | '/')
                && chars.get(j + 1).is_some_and(|c| c.is_ascii_alphanumeric())
                && j > start))
    {
        j += 1;
    }
    if j == start || chars.get(j).is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    let token = collect(chars, start, j);
    let has_digit = token.chars().any(|c| c.is_ascii_digit());
    let has_alpha = token.chars().any(|c| c.is_ascii_alphabetic());
    let digits_only = !has_alpha && token.chars().all(|c| c.is_ascii_digit());
    let in_id_context = ID_CONTEXT.contains(&preceding_word(chars, i).as_str());
    let long_digits = digits_only && token.len() > MAX_NUMBER_DIGITS;
    let leading_zero = digits_only && token.len() > 1 && token.starts_with('0');
    let spell = has_digit
        && (hash
            || (has_alpha && !is_ordinal(&token))
            || (digits_only && (in_id_context || long_digits || leading_zero)));
    if !spell {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    let mut digits = String::new();
    for c in token.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            parts.push(lang.digits(&digits));
            digits.clear();
        }
        if c.is_ascii_alphabetic() {
            parts.push(c.to_ascii_uppercase().to_string());
        }
    }
    if !digits.is_empty() {
        parts.push(lang.digits(&digits));
    }
    Some((j - i, parts.join(" ")))
}

fn is_ordinal(token: &str) -> bool {
    let lower = token.to_ascii_lowercase();
    ["st", "nd", "rd", "th"].iter().any(|s| {
        lower.ends_with(s)
            && lower[..lower.len() - 2].chars().all(|c| c.is_ascii_digit())
            && lower.len() > 2
    })
}

/// Plain numbers: `150000`, `1,50,000`, `3.5`, `-4`, `50%`, `21st`.
fn number(chars: &[char], i: usize, lang: Speak) -> Option<(usize, String)> {
    let neg =
        chars[i] == '-' && digits_at(chars, i + 1) > 0 && (i == 0 || chars[i - 1].is_whitespace());
    let start = i + usize::from(neg);
    if digits_at(chars, start) == 0 {
        return None;
    }
    // grouping commas: 1,50,000 or 150,000
    let mut j = start;
    while j < chars.len()
        && (chars[j].is_ascii_digit()
            || (chars[j] == ','
                && (2..=3).contains(&digits_at(chars, j + 1))
                && !chars
                    .get(j + 1 + digits_at(chars, j + 1))
                    .is_some_and(|c| c.is_ascii_digit())))
    {
        j += 1;
    }
    let int: String = chars[start..j]
        .iter()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let value: u64 = int.parse().ok()?;
    let mut frac = String::new();
    if chars.get(j) == Some(&'.') && digits_at(chars, j + 1) > 0 {
        let d = digits_at(chars, j + 1);
        frac = collect(chars, j + 1, j + 1 + d);
        j += 1 + d;
    }
    let mut words = if frac.is_empty() {
        lang.number(value)
    } else {
        lang.decimal(value, &frac)
    };
    if neg {
        words = format!("{} {words}", lang.minus());
    }
    if chars.get(j) == Some(&'%') {
        j += 1;
        words = format!("{words} {}", lang.percent());
    } else if frac.is_empty() && !neg {
        for suffix in ["st", "nd", "rd", "th"] {
            if starts_with_ci(chars, j, suffix)
                && !chars.get(j + 2).is_some_and(|c| c.is_alphanumeric())
            {
                j += 2;
                words = lang.ordinal(value);
                break;
            }
        }
    }
    Some((j - i, words))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Lang::{En, Hi};

    #[test]
    fn rupee_amounts_in_sentences() {
        assert_eq!(
            normalize("Your total is ₹2,50,000.", En),
            "Your total is two lakh fifty thousand rupees."
        );
        assert_eq!(
            normalize("Aapka total ₹2,50,000 hai", Hi),
            "Aapka total do lakh pachaas hazaar rupaye hai"
        );
        assert_eq!(
            normalize("Pay Rs. 499/- now", En),
            "Pay four hundred ninety nine rupees now"
        );
        assert_eq!(
            normalize("fee INR 99.50", En),
            "fee ninety nine rupees and fifty paise"
        );
        assert_eq!(normalize("₹1", Hi), "ek rupaya");
        assert_eq!(normalize("Please RSVP", En), "Please RSVP");
    }

    #[test]
    fn phone_numbers_digit_by_digit() {
        assert_eq!(
            normalize("Call +91 98765 43210 today", En),
            "Call plus nine one, nine eight seven six five, four three two one zero today"
        );
        assert_eq!(
            normalize("9876543210", Hi),
            "nau aath saat chhah paanch chaar teen do ek shoonya"
        );
        assert_eq!(
            normalize("98765-43210.", En),
            "nine eight seven six five, four three two one zero."
        );
    }

    #[test]
    fn order_numbers_and_codes_are_spelled() {
        assert_eq!(
            normalize("Order #12345 shipped", En),
            "Order one two three four five shipped"
        );
        assert_eq!(
            normalize("order 12345", En),
            "order one two three four five"
        );
        assert_eq!(
            normalize("order number: 4521", Hi),
            "order number: chaar paanch do ek"
        );
        assert_eq!(
            normalize("ID ORD-2024-001", En),
            "ID O R D two zero two four zero zero one"
        );
        assert_eq!(normalize("AWB A12B", En), "AWB A one two B");
        assert_eq!(normalize("OTP is 0042", En), "OTP is zero zero four two");
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(
            normalize("Delivery on 15/03/2024.", En),
            "Delivery on fifteenth March twenty twenty four."
        );
        assert_eq!(
            normalize("2024-03-15", Hi),
            "pandrah March do hazaar chaubees"
        );
        assert_eq!(normalize("on 5th Jan", En), "on fifth January");
        assert_eq!(
            normalize("on 15 August 1947", En),
            "on fifteenth August nineteen forty seven"
        );
        assert_eq!(normalize("at 10:30 am", En), "at ten thirty a m");
        assert_eq!(normalize("10:30 tak", Hi), "saadhe das baje tak");
        assert_eq!(normalize("meet at 5pm", Hi), "meet at shaam paanch baje");
        assert_eq!(
            normalize("open 09:00-18:00", En),
            "open nine o'clock-eighteen hundred"
        );
        assert_eq!(
            normalize("32/13/2024", En),
            "thirty two/thirteen/two thousand twenty four"
        );
    }

    #[test]
    fn plain_numbers() {
        assert_eq!(
            normalize("150000 customers", En),
            "one lakh fifty thousand customers"
        );
        assert_eq!(normalize("1,50,000 log", Hi), "ek lakh pachaas hazaar log");
        assert_eq!(normalize("3.5 kg", En), "three point five kg");
        assert_eq!(normalize("50% off", En), "fifty percent off");
        assert_eq!(normalize("the 21st floor", En), "the twenty first floor");
        assert_eq!(
            normalize("it is -4 degrees", En),
            "it is minus four degrees"
        );
        assert_eq!(normalize("2 items", Hi), "do items");
        assert_eq!(
            normalize("12345678901234", En),
            "one two three four five six seven eight nine zero one two three four"
        );
    }

    #[test]
    fn random_text_never_panics() {
        let alphabet: Vec<char> = "0123456789 ,.:/-+#%₹RrsSINpamtdhT\u{0915}\u{093E}\u{0A15}é🙂\n"
            .chars()
            .collect();
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..3000 {
            let len = (seed % 24) as usize;
            let text: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            // every digit is spoken, except in runs too long for any number or glued to a
            // non-Latin letter (left for espeak-ng)
            let glued = text
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w.chars().any(|c| c.is_ascii_digit()) && !w.is_ascii());
            let long_run = text
                .split(|c: char| !c.is_ascii_digit() && c != ',')
                .any(|r| r.len() > 15);
            for lang in [En, Hi] {
                let out = normalize(&text, lang);
                if !glued && !long_run {
                    assert!(
                        !out.chars().any(|c| c.is_ascii_digit()),
                        "{text:?} -> {out:?}"
                    );
                }
            }
            normalize_native(&text, Script::Devanagari);
            normalize_native(&text, Script::Gurmukhi);
        }
    }

    #[test]
    fn devanagari_and_gurmukhi_text_for_espeak() {
        use Script::{Devanagari, Gurmukhi};
        assert_eq!(
            normalize_native("कुल ₹2,50,000 है", Devanagari),
            "कुल 250000 रुपये है"
        );
        assert_eq!(normalize_native("₹1.50", Devanagari), "1 रुपया 50 पैसे");
        assert_eq!(
            normalize_native("फ़ोन 98765 43210 पर", Devanagari),
            "फ़ोन 9 8 7 6 5, 4 3 2 1 0 पर"
        );
        assert_eq!(
            normalize_native("डिलीवरी 15/03/2024 को 10:30 तक", Devanagari),
            "डिलीवरी 15 मार्च 2024 को 10 बजकर 30 मिनट तक"
        );
        assert_eq!(normalize_native("ऑर्डर #A123", Devanagari), "ऑर्डर A 1 2 3");
        assert_eq!(normalize_native("50% छूट", Devanagari), "50 प्रतिशत छूट");
        assert_eq!(normalize_native("1,50,000 लोग", Devanagari), "150000 लोग");
        assert_eq!(
            normalize_native("₹500 ਦਾ ਬਿੱਲ 5 ਵਜੇ", Gurmukhi),
            "500 ਰੁਪਏ ਦਾ ਬਿੱਲ 5 ਵਜੇ"
        );
        assert_eq!(
            normalize_native("ਮਿਤੀ 1/1/2025", Gurmukhi),
            "ਮਿਤੀ 1 ਜਨਵਰੀ 2025"
        );
    }

    #[test]
    fn text_without_numbers_is_unchanged_and_odd_input_is_safe() {
        for s in [
            "Hello, how are you?",
            "नमस्ते जी",
            "",
            "🙂 ₹ Rs. # - % 1st",
            "₹,,,",
            "::::",
            "+",
            "99999999999999999999999999",
        ] {
            let out = normalize(s, En);
            if !s.chars().any(|c| c.is_ascii_digit()) {
                assert_eq!(out, s);
            }
        }
        assert_eq!(normalize("नमस्ते 5 बजे", Hi), "नमस्ते paanch बजे");
    }
}
