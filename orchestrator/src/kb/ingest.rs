//! Documents → clean text → chunks. Plain text and Markdown are chunked by headings and
//! paragraphs with one paragraph of overlap; HTML is stripped to text first; a CSV of FAQ
//! question/answer pairs gives one chunk per pair.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest chunk, in characters (well under the embedder's token limit).
const MAX_CHUNK_CHARS: usize = 700;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Text,
    Markdown,
    Html,
    /// CSV with a header row naming `question` and `answer` columns.
    FaqCsv,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("the document has no text")]
    Empty,
    #[error("the document is not text (binary data)")]
    Binary,
    #[error("CSV: {0}")]
    Csv(String),
    #[error("PDF: {0}")]
    Pdf(String),
}

/// Largest decompressed content stream read from a PDF page (a guard against zip bombs).
const MAX_PDF_STREAM_BYTES: usize = 64 * 1024 * 1024;

/// The text layer of a PDF, page by page (blank line between pages). Scanned pages without a
/// text layer give nothing; a PDF with no text at all is refused (OCR it first).
pub fn pdf_text(bytes: &[u8]) -> Result<String, IngestError> {
    // lopdf is defensive but young: a malformed file must not take the request down.
    let parsed = std::panic::catch_unwind(|| -> Result<String, IngestError> {
        let doc = lopdf::Document::load_mem(bytes)
            .map_err(|e| IngestError::Pdf(format!("not a readable PDF ({e})")))?;
        if doc.is_encrypted() {
            return Err(IngestError::Pdf(
                "the file is encrypted; upload an unprotected copy".into(),
            ));
        }
        let mut out = String::new();
        for page in doc.get_pages().keys() {
            if let Ok(t) = doc.extract_text_with_limit(&[*page], MAX_PDF_STREAM_BYTES) {
                out.push_str(t.trim());
                out.push_str("\n\n");
            }
        }
        Ok(out)
    });
    let text = parsed.map_err(|_| IngestError::Pdf("the file could not be parsed".into()))??;
    if text.trim().is_empty() {
        return Err(IngestError::Pdf(
            "no text layer (a scanned PDF?); OCR it or upload the text".into(),
        ));
    }
    Ok(text)
}

/// The chunks of a document.
pub fn chunks(kind: DocKind, content: &str) -> Result<Vec<String>, IngestError> {
    let bad = content
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    if bad > 0 && bad * 100 > content.chars().count().max(1) {
        return Err(IngestError::Binary);
    }
    let out = match kind {
        DocKind::Text => pack(&sections(content, false)),
        DocKind::Markdown => pack(&sections(content, true)),
        DocKind::Html => pack(&sections(&html_to_text(content), true)),
        DocKind::FaqCsv => faq(content)?,
    };
    let out: Vec<String> = out
        .into_iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if out.is_empty() {
        return Err(IngestError::Empty);
    }
    Ok(out)
}

/// (heading, paragraphs) sections; without markdown the whole text is one section.
fn sections(text: &str, markdown: bool) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = vec![(String::new(), Vec::new())];
    let mut para = String::new();
    let flush = |para: &mut String, out: &mut Vec<(String, Vec<String>)>| {
        let p = para.split_whitespace().collect::<Vec<_>>().join(" ");
        if !p.is_empty() {
            out.last_mut().expect("one section").1.push(p);
        }
        para.clear();
    };
    for line in text.lines() {
        let t = line.trim();
        if markdown && t.starts_with('#') {
            flush(&mut para, &mut out);
            out.push((t.trim_start_matches('#').trim().to_string(), Vec::new()));
        } else if t.is_empty() {
            flush(&mut para, &mut out);
        } else {
            let t = if markdown {
                t.trim_start_matches(['-', '*', '>']).trim()
            } else {
                t
            };
            para.push_str(t);
            para.push(' ');
        }
    }
    flush(&mut para, &mut out);
    out
}

/// Paragraphs packed into chunks ≤ MAX_CHUNK_CHARS, each carrying its heading; consecutive
/// chunks of a section share one paragraph (overlap) so an answer split across them is found.
fn pack(sections: &[(String, Vec<String>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (heading, paras) in sections {
        let prefix = if heading.is_empty() {
            String::new()
        } else {
            format!("{heading}: ")
        };
        let mut cur: Vec<&str> = Vec::new();
        let mut len = 0;
        for p in paras {
            if len + p.len() > MAX_CHUNK_CHARS && !cur.is_empty() {
                out.push(format!("{prefix}{}", cur.join(" ")));
                let last = *cur.last().expect("non-empty");
                // Overlap with the previous paragraph when both still fit in one chunk.
                if last.len() + 1 + p.len() <= MAX_CHUNK_CHARS {
                    cur = vec![last];
                    len = last.len() + 1;
                } else {
                    cur.clear();
                    len = 0;
                }
            }
            // A single paragraph longer than a chunk is cut at sentence ends.
            if p.len() > MAX_CHUNK_CHARS {
                let mut piece = String::new();
                for s in p.split_inclusive(['.', '?', '!', '।']) {
                    if piece.len() + s.len() > MAX_CHUNK_CHARS && !piece.is_empty() {
                        out.push(format!("{prefix}{}", piece.trim()));
                        piece.clear();
                    }
                    piece.push_str(s);
                }
                if !piece.trim().is_empty() {
                    out.push(format!("{prefix}{}", piece.trim()));
                }
                cur.clear();
                len = 0;
                continue;
            }
            cur.push(p);
            len += p.len() + 1;
        }
        if !cur.is_empty() {
            out.push(format!("{prefix}{}", cur.join(" ")));
        }
    }
    out
}

/// Visible text of HTML: tags removed, `<script>`/`<style>` dropped, block tags break lines,
/// headings become `# ` lines (chunks carry them like Markdown), common entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find('>').map(|j| j + 1).unwrap_or(rest.len());
        let tag = rest[1..end.saturating_sub(1).max(1)].trim().to_lowercase();
        rest = &rest[end..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if (name == "script" || name == "style") && !tag.starts_with('/') {
            let close = format!("</{name}");
            let at = rest.to_lowercase().find(&close).unwrap_or(rest.len());
            rest = &rest[at..];
            continue;
        }
        let heading =
            name.len() == 2 && name.starts_with('h') && name.as_bytes()[1].is_ascii_digit();
        if heading && !tag.starts_with('/') {
            out.push_str("\n\n# ");
        } else if heading
            || ["p", "div", "br", "li", "tr", "section", "article"].contains(&name.as_str())
        {
            out.push_str("\n\n");
        } else {
            out.push(' ');
        }
    }
    out.push_str(rest);
    for (e, c) in [
        ("&nbsp;", " "),
        ("&amp;", "&"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&rsquo;", "'"),
    ] {
        out = out.replace(e, c);
    }
    out
}

fn faq(content: &str) -> Result<Vec<String>, IngestError> {
    let content = content.trim_start_matches('\u{feff}');
    let delimiter = if content
        .lines()
        .next()
        .is_some_and(|h| h.matches(';').count() > h.matches(',').count())
    {
        b';'
    } else {
        b','
    };
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(content.as_bytes());
    let headers = r
        .headers()
        .map_err(|e| IngestError::Csv(e.to_string()))?
        .clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.contains(&h.trim().to_lowercase().as_str()))
    };
    let q = col(&["question", "q", "sawal"])
        .ok_or_else(|| IngestError::Csv("no `question` column in the header".into()))?;
    let a = col(&["answer", "a", "jawab"])
        .ok_or_else(|| IngestError::Csv("no `answer` column in the header".into()))?;
    let mut out = Vec::new();
    for (i, row) in r.records().enumerate() {
        let row = row.map_err(|e| IngestError::Csv(format!("line {}: {e}", i + 2)))?;
        let (qq, aa) = (
            row.get(q).unwrap_or("").trim(),
            row.get(a).unwrap_or("").trim(),
        );
        if qq.is_empty() || aa.is_empty() {
            continue;
        }
        out.push(format!("Q: {qq}\nA: {aa}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_sections_carry_their_heading() {
        let c = chunks(
            DocKind::Markdown,
            "# Returns\nItems can be returned in 7 days.\n\n# Delivery\n- We ship in 2 days.",
        )
        .unwrap();
        assert_eq!(
            c,
            vec![
                "Returns: Items can be returned in 7 days.",
                "Delivery: We ship in 2 days."
            ]
        );
    }

    #[test]
    fn long_text_is_cut_with_overlap() {
        let para = "word ".repeat(100);
        let text = format!("{para}\n\n{para}\n\n{para}");
        let c = chunks(DocKind::Text, &text).unwrap();
        assert!(
            c.len() >= 2 && c.iter().all(|x| x.len() <= MAX_CHUNK_CHARS + 10),
            "{:?}",
            c.iter().map(|x| x.len()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn html_is_stripped() {
        let c = chunks(DocKind::Html, "<html><style>p{}</style><script>alert(1)</script><h1>Hours</h1><p>Open 10&nbsp;to 7.</p></html>").unwrap();
        assert_eq!(c, vec!["Hours: Open 10 to 7."]);
    }

    #[test]
    fn faq_csv_gives_one_chunk_per_pair() {
        let c = chunks(
            DocKind::FaqCsv,
            "\u{feff}Question;Answer\n\"Do you deliver?\";\"Yes; in 2 days\"\n;\nRefund?;5 days\n",
        )
        .unwrap();
        assert_eq!(
            c,
            vec![
                "Q: Do you deliver?\nA: Yes; in 2 days",
                "Q: Refund?\nA: 5 days"
            ]
        );
        assert!(matches!(
            chunks(DocKind::FaqCsv, "q,x\na,b"),
            Err(IngestError::Csv(_))
        ));
    }

    #[test]
    fn empty_and_binary_are_refused() {
        assert_eq!(chunks(DocKind::Text, " \n\n "), Err(IngestError::Empty));
        assert_eq!(
            chunks(DocKind::Text, "\u{0}\u{1}\u{2}ab"),
            Err(IngestError::Binary)
        );
    }
}
