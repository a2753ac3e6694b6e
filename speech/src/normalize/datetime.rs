//! Dates and times as spoken in English ("fifteenth March twenty twenty four", "ten thirty p m")
//! and Hindi ("pandrah March do hazaar chaubees", "subah saadhe das baje").

use super::Lang;
use super::numbers::{number_words, ordinal_words};

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Month number (1-12) from an English name or 3-letter abbreviation.
pub fn month_from_name(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS_EN
        .iter()
        .position(|m| {
            let m = m.to_lowercase();
            m == w || (w.len() == 3 && m.starts_with(&w)) || (w == "sept" && m == "september")
        })
        .map(|i| i as u32 + 1)
}

/// English way of reading years: 1999 "nineteen ninety nine", 2005 "two thousand five",
/// 2024 "twenty twenty four"; Hindi reads the number.
pub fn year_words(year: u32, lang: Lang) -> String {
    if lang == Lang::Hi || !(1100..=2099).contains(&year) || (2000..2010).contains(&year) {
        return number_words(u64::from(year), lang);
    }
    let (hi, lo) = (u64::from(year / 100), u64::from(year % 100));
    match lo {
        0 => format!("{} hundred", number_words(hi, lang)),
        1..=9 => format!("{} oh {}", number_words(hi, lang), number_words(lo, lang)),
        _ => format!("{} {}", number_words(hi, lang), number_words(lo, lang)),
    }
}

pub(super) fn month_valid(day: u32, month: u32) -> bool {
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// A calendar date; None when the day/month are impossible.
pub fn date_words(day: u32, month: u32, year: Option<u32>, lang: Lang) -> Option<String> {
    if !month_valid(day, month) {
        return None;
    }
    let m = MONTHS_EN[month as usize - 1];
    let d = match lang {
        Lang::En => ordinal_words(u64::from(day), lang),
        Lang::Hi => number_words(u64::from(day), lang),
    };
    Some(match year {
        Some(y) => format!("{d} {m} {}", year_words(y, lang)),
        None => format!("{d} {m}"),
    })
}

/// A clock time. `pm`: Some(true) for p.m., Some(false) for a.m., None for a 24-hour or bare
/// time. None when the time is impossible.
pub fn time_words(hour: u32, minute: u32, pm: Option<bool>, lang: Lang) -> Option<String> {
    if minute > 59 || hour > 23 || (pm.is_some() && !(1..=12).contains(&hour)) {
        return None;
    }
    let h24 = match pm {
        Some(true) if hour < 12 => hour + 12,
        Some(false) if hour == 12 => 0,
        _ => hour,
    };
    Some(match lang {
        Lang::En => {
            let h = number_words(u64::from(if pm.is_some() { hour } else { h24 }), lang);
            let m = match minute {
                0 if pm.is_none() && h24 > 12 => " hundred".to_string(),
                0 => " o'clock".to_string(),
                1..=9 => format!(" oh {}", number_words(u64::from(minute), lang)),
                _ => format!(" {}", number_words(u64::from(minute), lang)),
            };
            let suffix = match pm {
                Some(true) => " p m",
                Some(false) => " a m",
                None => "",
            };
            if minute == 0 && pm.is_some() {
                format!("{h}{suffix}")
            } else {
                format!("{h}{m}{suffix}")
            }
        }
        Lang::Hi => {
            let h12 = |h: u32| if h.is_multiple_of(12) { 12 } else { h % 12 };
            let n = |v: u32| number_words(u64::from(v), lang);
            let (cur, next) = (h12(h24), h12(h24 + 1));
            let clock = match minute {
                0 => format!("{} baje", n(cur)),
                15 => format!("sava {} baje", n(cur)),
                30 if cur == 1 => "dedh baje".to_string(),
                30 if cur == 2 => "dhaai baje".to_string(),
                30 => format!("saadhe {} baje", n(cur)),
                45 => format!("paune {} baje", n(next)),
                m => format!("{} bajkar {} minute", n(cur), n(m)),
            };
            // the part of day disambiguates 12-hour speech when the written time was explicit
            if pm.is_some() || h24 > 12 || h24 == 0 {
                let part = match h24 {
                    4..=11 => "subah",
                    12..=15 => "dopahar",
                    16..=19 => "shaam",
                    _ => "raat",
                };
                format!("{part} {clock}")
            } else {
                clock
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Lang::{En, Hi};

    #[test]
    fn dates() {
        assert_eq!(
            date_words(15, 3, Some(2024), En).unwrap(),
            "fifteenth March twenty twenty four"
        );
        assert_eq!(
            date_words(1, 1, Some(2005), En).unwrap(),
            "first January two thousand five"
        );
        assert_eq!(
            date_words(31, 12, Some(1999), En).unwrap(),
            "thirty first December nineteen ninety nine"
        );
        assert_eq!(
            date_words(15, 3, Some(2024), Hi).unwrap(),
            "pandrah March do hazaar chaubees"
        );
        assert_eq!(date_words(2, 10, None, En).unwrap(), "second October");
        assert_eq!(date_words(32, 1, None, En), None);
        assert_eq!(date_words(1, 13, None, En), None);
        assert_eq!(year_words(1900, En), "nineteen hundred");
        assert_eq!(year_words(1905, En), "nineteen oh five");
        assert_eq!(month_from_name("Sep"), Some(9));
        assert_eq!(month_from_name("august"), Some(8));
        assert_eq!(month_from_name("Ma"), None);
    }

    #[test]
    fn english_times() {
        assert_eq!(time_words(10, 30, None, En).unwrap(), "ten thirty");
        assert_eq!(time_words(10, 5, None, En).unwrap(), "ten oh five");
        assert_eq!(time_words(10, 0, None, En).unwrap(), "ten o'clock");
        assert_eq!(time_words(18, 0, None, En).unwrap(), "eighteen hundred");
        assert_eq!(
            time_words(6, 45, Some(true), En).unwrap(),
            "six forty five p m"
        );
        assert_eq!(time_words(9, 0, Some(false), En).unwrap(), "nine a m");
        assert_eq!(time_words(24, 0, None, En), None);
        assert_eq!(time_words(13, 0, Some(true), En), None);
        assert_eq!(time_words(10, 60, None, En), None);
    }

    #[test]
    fn hindi_times() {
        assert_eq!(time_words(10, 30, None, Hi).unwrap(), "saadhe das baje");
        assert_eq!(
            time_words(10, 30, Some(false), Hi).unwrap(),
            "subah saadhe das baje"
        );
        assert_eq!(time_words(1, 30, None, Hi).unwrap(), "dedh baje");
        assert_eq!(time_words(14, 30, None, Hi).unwrap(), "dopahar dhaai baje");
        assert_eq!(
            time_words(4, 15, Some(true), Hi).unwrap(),
            "shaam sava chaar baje"
        );
        assert_eq!(
            time_words(8, 45, Some(true), Hi).unwrap(),
            "raat paune nau baje"
        );
        assert_eq!(time_words(11, 45, None, Hi).unwrap(), "paune baarah baje");
        assert_eq!(
            time_words(9, 10, None, Hi).unwrap(),
            "nau bajkar das minute"
        );
        assert_eq!(time_words(0, 0, None, Hi).unwrap(), "raat baarah baje");
    }
}
