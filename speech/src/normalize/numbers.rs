//! Numbers as words in the Indian system (thousand, lakh, crore), English or romanised Hindi.

use super::Lang;

const EN_ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const EN_TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Hindi has a distinct word for every number below 100 (romanised as commonly written).
const HI_0_99: [&str; 100] = [
    "shoonya",
    "ek",
    "do",
    "teen",
    "chaar",
    "paanch",
    "chhah",
    "saat",
    "aath",
    "nau",
    "das",
    "gyaarah",
    "baarah",
    "terah",
    "chaudah",
    "pandrah",
    "solah",
    "satrah",
    "athaarah",
    "unnees",
    "bees",
    "ikkees",
    "baees",
    "teis",
    "chaubees",
    "pachchees",
    "chhabbees",
    "sattaees",
    "atthaees",
    "untees",
    "tees",
    "ikattees",
    "battees",
    "taintees",
    "chauntees",
    "paintees",
    "chhattees",
    "saintees",
    "adtees",
    "untaalees",
    "chaalees",
    "iktaalees",
    "bayaalees",
    "taintaalees",
    "chavaalees",
    "paintaalees",
    "chhiyaalees",
    "saintaalees",
    "adtaalees",
    "unchaas",
    "pachaas",
    "ikyaavan",
    "baavan",
    "tirpan",
    "chauvan",
    "pachpan",
    "chhappan",
    "sattaavan",
    "atthaavan",
    "unsath",
    "saath",
    "iksath",
    "baasath",
    "tirsath",
    "chaunsath",
    "painsath",
    "chhiyaasath",
    "sarsath",
    "adsath",
    "unhattar",
    "sattar",
    "ikhattar",
    "bahattar",
    "tihattar",
    "chauhattar",
    "pachhattar",
    "chhihattar",
    "satattar",
    "athattar",
    "unaasi",
    "assi",
    "ikyaasi",
    "bayaasi",
    "tiraasi",
    "chauraasi",
    "pachaasi",
    "chhiyaasi",
    "sattaasi",
    "athaasi",
    "navaasi",
    "nabbe",
    "ikyaanve",
    "baanve",
    "tiraanve",
    "chauraanve",
    "pachaanve",
    "chhiyaanve",
    "sattaanve",
    "atthaanve",
    "ninyaanve",
];

fn below_100(n: u64, lang: Lang) -> String {
    debug_assert!(n < 100);
    match lang {
        Lang::Hi => HI_0_99[n as usize].to_string(),
        Lang::En if n < 20 => EN_ONES[n as usize].to_string(),
        Lang::En if n.is_multiple_of(10) => EN_TENS[(n / 10) as usize].to_string(),
        Lang::En => format!(
            "{} {}",
            EN_TENS[(n / 10) as usize],
            EN_ONES[(n % 10) as usize]
        ),
    }
}

/// `150000` → "one lakh fifty thousand" / "ek lakh pachaas hazaar".
pub fn number_words(n: u64, lang: Lang) -> String {
    if n == 0 {
        return below_100(0, lang);
    }
    let (hundred, thousand) = match lang {
        Lang::En => ("hundred", "thousand"),
        Lang::Hi => ("sau", "hazaar"),
    };
    let mut parts: Vec<String> = Vec::new();
    let crore = n / 10_000_000;
    if crore > 0 {
        // above 99 crore the count of crores is itself said in lakh/thousand
        parts.push(format!("{} crore", number_words(crore, lang)));
    }
    let rest = n % 10_000_000;
    for (value, unit) in [
        (rest / 100_000, "lakh"),
        ((rest % 100_000) / 1000, thousand),
    ] {
        if value > 0 {
            parts.push(format!("{} {unit}", below_100(value, lang)));
        }
    }
    let h = (rest % 1000) / 100;
    if h > 0 {
        parts.push(format!("{} {hundred}", below_100(h, lang)));
    }
    let r = rest % 100;
    if r > 0 {
        parts.push(below_100(r, lang));
    }
    parts.join(" ")
}

/// Signed numbers: "minus five" / "minus paanch".
pub fn signed_words(n: i64, lang: Lang) -> String {
    if n < 0 {
        format!("minus {}", number_words(n.unsigned_abs(), lang))
    } else {
        number_words(n as u64, lang)
    }
}

/// Digits one by one (phone, order, PIN numbers): "9876" → "nine eight seven six".
pub fn digit_words(digits: &str, lang: Lang) -> String {
    digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| below_100(u64::from(d), lang))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "12.5" → "twelve point five"; the fraction is read digit by digit, as people say it.
pub fn decimal_words(int: u64, frac: &str, lang: Lang) -> String {
    if frac.is_empty() {
        return number_words(int, lang);
    }
    format!(
        "{} point {}",
        number_words(int, lang),
        digit_words(frac, lang)
    )
}

/// English ordinals ("twenty first"); Hindi ordinals ("pehla", "paanchvaan").
pub fn ordinal_words(n: u64, lang: Lang) -> String {
    match lang {
        Lang::Hi => match n {
            1 => "pehla".into(),
            2 => "doosra".into(),
            3 => "teesra".into(),
            4 => "chautha".into(),
            6 => "chhatha".into(),
            _ => format!("{}vaan", number_words(n, lang)),
        },
        Lang::En => {
            let words = number_words(n, lang);
            let (head, last) = match words.rsplit_once(' ') {
                Some((h, l)) => (format!("{h} "), l.to_string()),
                None => (String::new(), words),
            };
            let last = match last.as_str() {
                "one" => "first".to_string(),
                "two" => "second".to_string(),
                "three" => "third".to_string(),
                "five" => "fifth".to_string(),
                "eight" => "eighth".to_string(),
                "nine" => "ninth".to_string(),
                "twelve" => "twelfth".to_string(),
                l if l.ends_with('y') => format!("{}ieth", &l[..l.len() - 1]),
                l => format!("{l}th"),
            };
            format!("{head}{last}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Lang::{En, Hi};

    #[test]
    fn english_indian_system() {
        assert_eq!(number_words(0, En), "zero");
        assert_eq!(number_words(7, En), "seven");
        assert_eq!(number_words(42, En), "forty two");
        assert_eq!(number_words(100, En), "one hundred");
        assert_eq!(number_words(999, En), "nine hundred ninety nine");
        assert_eq!(number_words(1000, En), "one thousand");
        assert_eq!(number_words(1205, En), "one thousand two hundred five");
        assert_eq!(number_words(150_000, En), "one lakh fifty thousand");
        assert_eq!(number_words(250_000, En), "two lakh fifty thousand");
        assert_eq!(
            number_words(9_999_999, En),
            "ninety nine lakh ninety nine thousand nine hundred ninety nine"
        );
        assert_eq!(number_words(10_000_000, En), "one crore");
        assert_eq!(
            number_words(12_345_678, En),
            "one crore twenty three lakh forty five thousand six hundred seventy eight"
        );
        assert_eq!(
            number_words(15_000_000_000, En),
            "one thousand five hundred crore"
        );
        // the largest value still comes out as words (crores of crores), not a panic
        assert!(
            number_words(u64::MAX, En)
                .ends_with("crore ninety five lakh fifty one thousand six hundred fifteen")
        );
    }

    #[test]
    fn hindi_romanised() {
        assert_eq!(number_words(150_000, Hi), "ek lakh pachaas hazaar");
        assert_eq!(number_words(250_000, Hi), "do lakh pachaas hazaar");
        assert_eq!(number_words(99, Hi), "ninyaanve");
        assert_eq!(number_words(45, Hi), "paintaalees");
        assert_eq!(number_words(101, Hi), "ek sau ek");
        assert_eq!(number_words(2024, Hi), "do hazaar chaubees");
        assert_eq!(number_words(30_000_000, Hi), "teen crore");
        assert_eq!(number_words(0, Hi), "shoonya");
    }

    #[test]
    fn digits_decimals_signs_and_ordinals() {
        assert_eq!(digit_words("98765", En), "nine eight seven six five");
        assert_eq!(digit_words("0-1", Hi), "shoonya ek");
        assert_eq!(decimal_words(12, "05", En), "twelve point zero five");
        assert_eq!(decimal_words(3, "5", Hi), "teen point paanch");
        assert_eq!(signed_words(-5, En), "minus five");
        assert_eq!(ordinal_words(1, En), "first");
        assert_eq!(ordinal_words(15, En), "fifteenth");
        assert_eq!(ordinal_words(20, En), "twentieth");
        assert_eq!(ordinal_words(21, En), "twenty first");
        assert_eq!(ordinal_words(32, En), "thirty second");
        assert_eq!(ordinal_words(12, En), "twelfth");
        assert_eq!(ordinal_words(2, Hi), "doosra");
        assert_eq!(ordinal_words(5, Hi), "paanchvaan");
    }
}
