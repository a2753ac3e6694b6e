//! Call formatting of realistic chatbot answers: markdown, lists, links, ₹ amounts, order
//! numbers, emoji, chat phrasing; chat stays markdown; streaming gives the same sentences.

use vaarta_orchestrator::voice::{
    CallTextStream, Channel, FormatConfig, UrlPolicy, format_response, format_response_with,
};
use vaarta_speech::normalize::Lang;

const ORDER_STATUS: &str = "## Order status 📦

Your order **#A12345** has been *shipped*! 🚚

- Expected delivery: **15/03/2024**
- Amount paid: ₹1,499
- Courier: BlueDart

Track it here: [Track order](https://shop.example.com/track?id=A12345)
";

const PLANS_HI: &str = "Aapke liye hamare plans:
1. **Basic** – ₹499 per month
2. **Pro** – ₹999 per month

Zyada jaankari ke liye yahan click karein: https://example.in/plans 😊";

/// Speakable text: no markdown marks, URLs, emoji or digits left.
fn assert_speakable(s: &str) {
    for bad in ["*", "#", "`", "[", "](", "http", "www.", "|", "₹"] {
        assert!(!s.contains(bad), "{bad:?} left in {s:?}");
    }
    assert!(
        !s.chars().any(|c| c.is_ascii_digit()),
        "digits left in {s:?}"
    );
    assert!(
        !s.chars()
            .any(|c| (c as u32) >= 0x1F000 || ('\u{2600}'..='\u{27BF}').contains(&c)),
        "emoji left in {s:?}"
    );
}

#[test]
fn realistic_answers_become_short_spoken_sentences() {
    let six = FormatConfig {
        max_sentences: 6,
        ..FormatConfig::default()
    };
    let cases: &[(&str, Lang, &FormatConfig, &str)] = &[
        (
            ORDER_STATUS,
            Lang::En,
            &six,
            "Order status. Your order A one two three four five has been shipped! \
             Expected delivery: fifteenth March twenty twenty four. \
             Amount paid: one thousand four hundred ninety nine rupees. Courier: BlueDart. \
             Track it here: Track order.",
        ),
        (
            "Please chat par bane rahiye, main check kar raha hoon. 🙏",
            Lang::Hi,
            &FormatConfig::default(),
            "Aap line par bane rahein, main information check kar raha hoon.",
        ),
        (
            "Click here to reset your password: https://shop.in/reset",
            Lang::En,
            &FormatConfig::default(),
            "Visit our website to reset your password.",
        ),
        (
            "You can also pay at https://pay.shop.in. Need anything else? 🙂",
            Lang::En,
            &FormatConfig::default(),
            "You can also pay at our website. Need anything else?",
        ),
        (
            "Call us at +91 98765 43210 or mail support@shop.in.",
            Lang::En,
            &FormatConfig::default(),
            "Call us at plus nine one, nine eight seven six five, four three two one zero or \
             mail support at shop dot in.",
        ),
        (
            "Details ke liye https://shop.in/faq dekhiye.",
            Lang::Hi,
            &FormatConfig {
                urls: UrlPolicy::Domain,
                ..FormatConfig::default()
            },
            "Details ke liye shop dot in dekhiye.",
        ),
        (
            "Please type your registered mobile number. See below for the steps:\n\n\
             1. Open the app\n2. Go to *Orders*\n3. Tap **Cancel**",
            Lang::En,
            &FormatConfig::default(),
            "Please tell me your registered mobile number. Here are the steps. Open the app. \
             Go to Orders.",
        ),
        (
            "Use code `SAVE10` for ~10% off.\n```\nSAVE10\n```",
            Lang::En,
            &FormatConfig::default(),
            "Use code S A V E one zero for about ten percent off. S A V E one zero.",
        ),
        (
            "Sure! 😊 Your refund of **Rs. 2,500** for order ORD-2024-1187 will be credited in \
             5-7 working days.",
            Lang::En,
            &FormatConfig::default(),
            "Sure! Your refund of two thousand five hundred rupees for order O R D two zero two \
             four one one eight seven will be credited in five to seven working days.",
        ),
        (
            "Aapka refund 3-5 din mein aa jayega. Total **₹1,250** hai.",
            Lang::Hi,
            &FormatConfig::default(),
            "Aapka refund teen se paanch din mein aa jayega. Total ek hazaar do sau pachaas \
             rupaye hai.",
        ),
        ("🙏🙏 \n\n---\n", Lang::En, &FormatConfig::default(), ""),
    ];
    for (input, lang, cfg, want) in cases {
        let got = format_response_with(input, Channel::Call, *lang, cfg);
        assert_eq!(&got, want, "input: {input:?}");
        assert_speakable(&got);
    }
}

#[test]
fn hinglish_list_with_amounts_and_a_link() {
    let got = format_response(PLANS_HI, Channel::Call, Lang::Hi);
    assert_speakable(&got);
    assert!(got.starts_with("Aapke liye hamare plans. Basic"), "{got}");
    assert!(got.contains("rupaye per month. Pro"), "{got}");
    assert!(
        got.ends_with("Zyada jaankari ke liye hamari website par jaayein."),
        "{got}"
    );
    assert_eq!(got.matches("website").count(), 1, "{got}");
}

#[test]
fn long_answers_are_cut_at_a_sentence_boundary() {
    let answer = "We have five plans. Basic costs ₹199. Silver costs ₹399. Gold costs ₹799. \
                  Platinum costs ₹1,299. Enterprise is custom priced. Which one interests you?";
    let got = format_response(answer, Channel::Call, Lang::En);
    assert_eq!(
        got,
        "We have five plans. Basic costs one hundred ninety nine rupees. \
         Silver costs three hundred ninety nine rupees. Gold costs seven hundred ninety nine rupees."
    );
    let short = FormatConfig {
        max_chars: 40,
        ..FormatConfig::default()
    };
    assert_eq!(
        format_response_with(answer, Channel::Call, Lang::En, &short),
        "We have five plans. Basic costs one hundred ninety nine rupees."
    );
    let mut stream = CallTextStream::new(FormatConfig::default(), Lang::En);
    stream.push(answer);
    stream.finish();
    assert!(stream.truncated());
}

#[test]
fn devanagari_answers_keep_their_script() {
    let got = format_response(
        "आपका ऑर्डर **भेज दिया गया है**। ✅ कुल ₹1,499 चुकाए गए।",
        Channel::Call,
        Lang::Hi,
    );
    assert!(got.starts_with("आपका ऑर्डर भेज दिया गया है। कुल"), "{got}");
    assert!(
        !got.contains('₹') && !got.contains('✅') && !got.contains('*'),
        "{got}"
    );
    assert!(got.contains("रुपये"), "{got}");
}

#[test]
fn chat_keeps_markdown_with_light_cleanup() {
    let got = format_response(
        "  **Hi!** 👋   \n\n\n\n- one  \n- two\n\nSee [link](https://x.in)  \n",
        Channel::Chat,
        Lang::En,
    );
    assert_eq!(
        got,
        "**Hi!** 👋\n\n- one\n- two\n\nSee [link](https://x.in)"
    );
}

#[test]
fn streaming_gives_the_same_sentences_and_the_first_one_early() {
    let refund = "Sure! 😊 Your refund of **Rs. 2,500** for order ORD-2024-1187 will be \
                  credited in 5-7 working days. Visit [our site](https://x.in) e.g. for details.";
    for text in [ORDER_STATUS, PLANS_HI, refund] {
        let whole = format_response(text, Channel::Call, Lang::En);
        for chunk_len in [1, 2, 3, 5, 8, 13] {
            let mut stream = CallTextStream::new(FormatConfig::default(), Lang::En);
            let chars: Vec<char> = text.chars().collect();
            let mut got = Vec::new();
            let mut first_at = None;
            for (n, chunk) in chars.chunks(chunk_len).enumerate() {
                let s: String = chunk.iter().collect();
                let out = stream.push(&s);
                if first_at.is_none() && !out.is_empty() {
                    first_at = Some(n * chunk_len);
                }
                got.extend(out);
            }
            got.extend(stream.finish());
            assert_eq!(got.join(" "), whole, "chunks of {chunk_len}");
            assert!(
                first_at.is_some_and(|at| at < chars.len() / 2),
                "first sentence only at {first_at:?} of {}",
                chars.len()
            );
        }
    }
    // A sentence is released as soon as it is complete, before the line ends.
    let mut stream = CallTextStream::new(FormatConfig::default(), Lang::En);
    assert!(stream.push("Your refund of ₹250 is approved").is_empty());
    assert!(
        stream.push(".").is_empty(),
        "a full stop needs the space after it"
    );
    assert_eq!(
        stream.push(" It will reach"),
        vec!["Your refund of two hundred fifty rupees is approved.".to_string()]
    );
    assert!(stream.push(" you in 3 days").is_empty());
    assert_eq!(
        stream.finish(),
        vec!["It will reach you in three days.".to_string()]
    );
}

#[test]
fn arbitrary_markup_never_panics_and_stays_within_the_caps() {
    const ALPHABET: &[&str] = &[
        "*",
        "**",
        "_",
        "`",
        "```",
        "[",
        "]",
        "(",
        ")",
        "!",
        "<",
        ">",
        "#",
        "-",
        "–",
        "|",
        ".",
        ". ",
        ",",
        ":",
        "\n",
        " ",
        "  ",
        "1",
        "42",
        "₹",
        "Rs.",
        "@",
        "a",
        "Word",
        "https://",
        "www.",
        "x.in",
        "😊",
        "हाँ",
        "।",
        "~",
        "&",
        "%",
        "/",
        "e.g.",
        "\r\n",
        "2024-03-15",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let cfg = FormatConfig {
        max_sentences: 3,
        max_chars: 120,
        ..FormatConfig::default()
    };
    for _ in 0..500 {
        let len = (next() % 40) as usize;
        let text: String = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        for lang in [Lang::En, Lang::Hi] {
            let mut stream = CallTextStream::new(cfg.clone(), lang);
            let mut sentences = Vec::new();
            for piece in text.split_inclusive(' ') {
                sentences.extend(stream.push(piece));
            }
            sentences.extend(stream.finish());
            assert!(sentences.len() <= 3, "{text:?} → {sentences:?}");
            assert!(sentences.iter().all(|s| !s.trim().is_empty()), "{text:?}");
            format_response(&text, Channel::Chat, lang);
        }
    }
}
