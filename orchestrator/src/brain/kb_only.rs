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

/// The first sentences of a passage (FAQ answers lead with the answer).
fn speakable(passage: &str) -> String {
    let one_line = passage.split_whitespace().collect::<Vec<_>>().join(" ");
    // An FAQ chunk "Q: ... A: ..." answers with its A part.
    let text = one_line.split_once("A:").map(|(_, a)| a.trim().to_string()).unwrap_or(one_line);
    let sentences = vaarta_speech::tts::split_sentences(&text);
    sentences.into_iter().take(MAX_SENTENCES).collect::<Vec<_>>().join(" ")
}

impl Brain for KbOnlyBrain {
    fn answer(&self, request: BrainRequest) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<AnswerStream, BrainError>> + Send + '_>> {
        Box::pin(async move {
            let answer = match &self.retriever {
                None => no_answer(&request.language).to_string(),
                Some(r) => {
                    let hits = r.search(request.site_id, &request.text, 3).await.map_err(BrainError::Unavailable)?;
                    match hits.into_iter().find(|p| p.score >= MIN_SCORE) {
                        Some(best) => speakable(&best.text),
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
        fn search<'a>(&'a self, _: uuid::Uuid, _: &'a str, _: usize) -> futures::future::BoxFuture<'a, Result<Vec<Passage>, String>> {
            Box::pin(async move { Ok(self.0.clone()) })
        }
    }

    async fn ask(b: &KbOnlyBrain, lang: &str) -> String {
        let req = BrainRequest { site_id: uuid::Uuid::nil(), session_id: uuid::Uuid::nil(), language: lang.into(), text: "q".into(), history: vec![] };
        b.answer(req).await.unwrap().next().await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn answers_from_the_best_passage_or_says_it_does_not_know() {
        let p = |t: &str, s: f64| Passage { text: t.into(), source: "faq".into(), score: s };
        let b = KbOnlyBrain::new(Some(Arc::new(Fixed(vec![p("Q: Return policy?\nA: Returns are free within 7 days. Pack the item. Call us.", 0.5)]))));
        assert_eq!(ask(&b, "en").await, "Returns are free within 7 days. Pack the item.");
        let none = KbOnlyBrain::new(Some(Arc::new(Fixed(vec![p("weak", 0.0)]))));
        assert_eq!(ask(&none, "en").await, no_answer("en"));
        assert_eq!(ask(&KbOnlyBrain::new(None), "hi").await, no_answer("hi"));
    }
}
