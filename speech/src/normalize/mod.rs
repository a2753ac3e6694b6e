//! Text normalisation for speech: numbers, ₹ amounts, phone/order numbers, dates and times
//! written out as words in English or romanised Hindi (Hinglish), in the Indian numbering
//! system (lakh, crore). Pure functions; [`normalize`] rewrites free text, the others speak
//! one value each.

mod datetime;
mod money;
mod native;
mod numbers;
mod text;

pub use datetime::{date_words, month_from_name, time_words, year_words};
pub use money::{parse_amount, rupees_words};
pub use native::Script;
pub use numbers::{decimal_words, digit_words, number_words, ordinal_words, signed_words};
pub use text::{normalize, normalize_native};

/// Language of the spoken words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English with Indian numbering ("one lakh fifty thousand").
    En,
    /// Hindi/Hinglish in Latin script ("ek lakh pachaas hazaar").
    Hi,
}

impl Lang {
    /// `hi`, `hi-IN`, `hi-Latn` → Hindi; everything else → English.
    pub fn from_code(code: &str) -> Self {
        let c = code.trim().to_lowercase();
        if c == "hi" || c.starts_with("hi-") || c.starts_with("hi_") {
            Lang::Hi
        } else {
            Lang::En
        }
    }
}
