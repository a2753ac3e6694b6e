//! The embedded default brain: answers from the best knowledge-base passage, no LLM, no
//! external service — so `make run` takes calls out of the box. Below the score threshold (or
//! with no KB) it says plainly that it does not know, which a flow can follow with a human.

use std::sync::Arc;

use super::{AnswerStream, Brain, BrainError, BrainRequest, Retriever};

/// Passages scoring below this are not an answer.
const MIN_SCORE: f64 = 0.01;
/// Sentences of the passage read out.
const MAX_SENTENCES: usize = 2;

pub struct KbOnlyBrain {
    retriever: Option<Arc<dyn Retriever>>,
}

impl KbOnlyBrain {
    pub fn new(retriever: Option<Arc<dyn Retriever>>) -> Self {
        KbOnlyBrain { retriever }
    }
}

/// "I don't know" in the caller's language.
pub fn no_answer(language: &str) -> &'static str {
    match language {
        "en" => "Sorry, I do not have that information.",
        "pa" => "Maaf karna, mere kol eh jaankari nahi hai.",
        _ => "Maaf kijiye, yeh jaankari mere paas nahi hai.",
    }
}

/// What to read out of a passage for `question`: the answer part of the FAQ pair that matches
/// it best (never the next entry's question), else the passage's first sentences.
fn speakable(passage: &str, question: &str) -> String {
    let one_line = passage
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("**", "")
        .replace("__", "");
    let pairs = faq_pairs(&one_line);
    let text = match pairs.iter().map(|(q, _)| overlap(q, question)).max() {
        // The first pair of those that share the most words with the caller's question.
        Some(best) => pairs
            .iter()
            .find(|(q, _)| overlap(q, question) == best)
            .map(|(_, a)| a.clone())
            .unwrap_or_default(),
        None => strip_question_heading(&one_line).to_string(),
    };
    let sentences = vaarta_speech::tts::split_sentences(&text);
    sentences
        .into_iter()
        .take(MAX_SENTENCES)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Question and answer markers of FAQ text (matched case-insensitively at a word start).
const MARKERS: &[(&str, bool)] = &[
    ("question:", true),
    ("q:", true),
    ("answer:", false),
    ("ans:", false),
    ("a:", false),
];

/// The (question, answer) pairs of "Q: … A: … Q: … A: …" text; empty when it has none.
fn faq_pairs(text: &str) -> Vec<(String, String)> {
    let lower = text.to_lowercase();
    let mut marks: Vec<(usize, usize, bool)> = Vec::new();
    let mut i = 0;
    while i < lower.len() {
        let at_word =
            i == 0 || lower[..i].ends_with(|c: char| c.is_whitespace() || ".?!:;,)".contains(c));
        if at_word && let Some((m, is_q)) = MARKERS.iter().find(|(m, _)| lower[i..].starts_with(m))
        {
            marks.push((i, i + m.len(), *is_q));
            i += m.len();
            continue;
        }
        i += lower[i..].chars().next().map_or(1, char::len_utf8);
    }
    let mut pairs = Vec::new();
    for (k, &(_, body, is_q)) in marks.iter().enumerate() {
        let next = |from: usize| marks.get(from).map_or(text.len(), |m| m.0);
        if !is_q {
            continue;
        }
        let Some(&(a_start, a_body, false)) = marks.get(k + 1) else {
            continue;
        };
        let q = text[body..a_start].trim().to_string();
        let a = text[a_body..next(k + 2)].trim().to_string();
        if !a.is_empty() {
            pairs.push((q, a));
        }
    }
    // "A: …" alone (a chunk that starts inside an entry): its answer.
    if pairs.is_empty()
        && let Some(&(_, body, false)) = marks.first()
    {
        let end = marks.get(1).map_or(text.len(), |m| m.0);
        let a = text[body..end].trim();
        if !a.is_empty() {
            pairs.push((String::new(), a.to_string()));
        }
    }
    pairs
}

/// A Markdown chunk carries its heading as "Heading: text"; a heading that is the question
/// ("Do you deliver?: Yes, …") is not read out.
fn strip_question_heading(text: &str) -> &str {
    match text.split_once("?: ") {
        Some((q, rest)) if q.len() <= 200 && !q.contains(['.', '!']) => rest,
        _ => text,
    }
}

/// Words the FAQ question shares with the caller's question.
fn overlap(faq_question: &str, question: &str) -> usize {
    let words = |t: &str| -> std::collections::HashSet<String> {
        t.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
            .map(str::to_string)
            .collect()
    };
    let asked = words(question);
    words(faq_question).intersection(&asked).count()
}

impl Brain for KbOnlyBrain {
    fn answer(
        &self,
        request: BrainRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<AnswerStream, BrainError>> + Send + '_>,
    > {
        Box::pin(async move {
            let answer = match &self.retriever {
                None => no_answer(&request.language).to_string(),
                Some(r) => {
                    let hits = r
                        .search(request.site_id, &request.text, 3)
                        .await
                        .map_err(BrainError::Unavailable)?;
                    match hits.into_iter().find(|p| p.score >= MIN_SCORE) {
                        Some(best) => speakable(&best.text, &request.text),
                        None => no_answer(&request.language).to_string(),
                    }
                }
            };
            Ok(Box::pin(futures::stream::iter([Ok(answer)])) as AnswerStream)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use vaarta_flows::Passage;

    struct Fixed(Vec<Passage>);
    impl Retriever for Fixed {
        fn search<'a>(
            &'a self,
            _: uuid::Uuid,
            _: &'a str,
            _: usize,
        ) -> futures::future::BoxFuture<'a, Result<Vec<Passage>, String>> {
            Box::pin(async move { Ok(self.0.clone()) })
        }
    }

    async fn ask(b: &KbOnlyBrain, lang: &str) -> String {
        let req = BrainRequest {
            site_id: uuid::Uuid::nil(),
            session_id: uuid::Uuid::nil(),
            language: lang.into(),
            text: "q".into(),
            history: vec![],
        };
        b.answer(req).await.unwrap().next().await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn answers_from_the_best_passage_or_says_it_does_not_know() {
        let p = |t: &str, s: f64| Passage {
            text: t.into(),
            source: "faq".into(),
            score: s,
        };
        let b = KbOnlyBrain::new(Some(Arc::new(Fixed(vec![p(
            "Q: Return policy?\nA: Returns are free within 7 days. Pack the item. Call us.",
            0.5,
        )]))));
        assert_eq!(
            ask(&b, "en").await,
            "Returns are free within 7 days. Pack the item."
        );
        let none = KbOnlyBrain::new(Some(Arc::new(Fixed(vec![p("weak", 0.0)]))));
        assert_eq!(ask(&none, "en").await, no_answer("en"));
        assert_eq!(ask(&KbOnlyBrain::new(None), "hi").await, no_answer("hi"));
    }

    #[test]
    fn speaks_the_answer_of_the_matching_pair_only() {
        let text = "Q: Do you deliver on Sundays? A: Yes, we deliver every day. Q: What is the customer care number? A: Call 1800 123 4567.";
        assert_eq!(
            speakable(text, "do you deliver on sunday"),
            "Yes, we deliver every day."
        );
        assert_eq!(
            speakable(text, "customer care number please"),
            "Call 1800 123 4567."
        );
        // Plain text "Question:/Answer:" and Markdown bold markers.
        let md = "**Q:** How long do refunds take? **A:** Refunds take 5 days. **Q:** Can I cancel? **A:** Yes, before shipping.";
        assert_eq!(
            speakable(md, "how long for a refund"),
            "Refunds take 5 days."
        );
        let plain = "Question: Can I cancel? Answer: Yes, before shipping. Question: Refund time? Answer: Five days.";
        assert_eq!(
            speakable(plain, "can i cancel my order"),
            "Yes, before shipping."
        );
        // A Markdown heading that is the question; an FAQ CSV chunk.
        assert_eq!(
            speakable(
                "Do you deliver?: Yes, in 2 days. Call us for more.",
                "deliver"
            ),
            "Yes, in 2 days. Call us for more."
        );
        assert_eq!(speakable("Q: Refund?\nA: 5 days", "refund"), "5 days");
        // A chunk that starts inside an entry, and prose.
        assert_eq!(
            speakable("A: Free returns. Q: Next question?", "returns"),
            "Free returns."
        );
        assert_eq!(
            speakable(
                "We are open ten to seven. Closed on Sunday. Parking available.",
                "timings"
            ),
            "We are open ten to seven. Closed on Sunday."
        );
    }
}
