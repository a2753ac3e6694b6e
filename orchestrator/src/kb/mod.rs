//! The knowledge base shared by chat and calls: documents are chunked, embedded (all-MiniLM on
//! ort) and indexed for keywords (SQLite FTS5 / PostgreSQL full text); search fuses the vector
//! and keyword rankings by reciprocal rank, so romanised Hinglish questions ("refund kitne din
//! mein aata hai") still find English FAQ entries through their shared words.

pub mod ingest;
pub mod jobs;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vaarta_speech::embed::{EmbedError, Embedder, cosine};

use crate::storage::kb::{KbDocument, Stamp, from_bytes};
use crate::storage::{StorageError, Store};
use ingest::{DocKind, IngestError};

/// Candidates taken from each ranking before fusion.
const CANDIDATES: usize = 30;
/// Texts per model call when indexing. bench/kb measured no consistent gain from batches
/// with the int8 MiniLM on one CPU thread (three runs on a shared 2-core VM: batch 1 vs 16
/// gave 30 vs 27, 39 vs 30 and 32 vs 34 passages/s), so one text per call: no padding, flat
/// memory. Worth raising with a GPU or several ONNX threads.
const EMBED_BATCH: usize = 1;
/// Sites with at least this many passages skip keyword lookups of words in most passages.
const SELECTIVE_FROM: usize = 1000;
/// Reciprocal-rank fusion constant.
const RRF_K: f32 = 60.0;
/// Weight of the keyword ranking against the vector ranking in the fusion: keywords rescue
/// romanised Hinglish and names/numbers, the embedding carries paraphrases.
const KEYWORD_WEIGHT: f32 = 0.6;

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("embedding failed: {0}")]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("embedding task failed")]
    Join,
}

/// A search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Hit {
    pub chunk_id: Uuid,
    pub document_id: Uuid,
    pub title: String,
    pub text: String,
    /// Fused score (higher is better; comparable within one result list).
    pub score: f32,
    /// Cosine similarity of the passage to the query.
    pub similarity: f32,
}

/// Search filters.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Filters {
    /// Only these documents.
    pub document_ids: Vec<Uuid>,
}

/// A site's passages for the vector scan: vectors in one contiguous row-major matrix (fast,
/// cache-friendly scan) and a chunk-id index for fusing the keyword ranking.
pub struct SiteIndex {
    /// (chunk id, document id, text) per row.
    rows: Vec<(Uuid, Uuid, String)>,
    matrix: Vec<f32>,
    dim: usize,
    by_id: HashMap<Uuid, usize>,
    /// Passages containing each word (as [`keywords`] splits them).
    df: HashMap<String, u32>,
}

impl SiteIndex {
    fn new(chunks: Vec<crate::storage::kb::ChunkRow>) -> SiteIndex {
        let mut rows = Vec::with_capacity(chunks.len());
        let mut matrix = Vec::new();
        let mut dim = 0;
        for c in chunks {
            let v = from_bytes(&c.embedding);
            // A vector of another size (a model change not re-indexed yet) cannot be compared.
            if dim == 0 {
                dim = v.len();
            }
            if v.len() != dim {
                continue;
            }
            matrix.extend_from_slice(&v);
            rows.push((c.id, c.document_id, c.text));
        }
        let by_id = rows.iter().enumerate().map(|(i, r)| (r.0, i)).collect();
        let mut df: HashMap<String, u32> = HashMap::new();
        for (_, _, text) in &rows {
            let mut words: Vec<String> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect();
            words.sort_unstable();
            words.dedup();
            for w in words {
                *df.entry(w).or_default() += 1;
            }
        }
        SiteIndex {
            rows,
            matrix,
            dim,
            by_id,
            df,
        }
    }

    /// The query words worth a keyword lookup: a word in more than half of the site's passages
    /// has no weight in BM25 (FTS5 clamps its IDF to ~0) yet makes the index rank every one of
    /// them — at 50k passages that was most of the search time. Small sites keep every word:
    /// there the lookup is cheap and a match still counts in the fusion.
    fn selective(&self, words: Vec<String>) -> Vec<String> {
        if self.rows.len() < SELECTIVE_FROM {
            return words;
        }
        let half = (self.rows.len() / 2) as u32;
        words
            .into_iter()
            .filter(|w| self.df.get(w).is_none_or(|&n| n <= half))
            .collect()
    }

    fn vector(&self, i: usize) -> &[f32] {
        &self.matrix[i * self.dim..(i + 1) * self.dim]
    }

    /// The `k` rows most similar to `q` among those `allowed`, best first.
    fn nearest(&self, q: &[f32], k: usize, allowed: impl Fn(&Uuid) -> bool) -> Vec<(usize, f32)> {
        if self.dim == 0 || q.len() != self.dim {
            return Vec::new();
        }
        let mut sims: Vec<(usize, f32)> = (0..self.rows.len())
            .filter(|&i| allowed(&self.rows[i].1))
            .map(|i| (i, dot(q, self.vector(i))))
            .collect();
        if sims.len() > k {
            sims.select_nth_unstable_by(k, |a, b| b.1.total_cmp(&a.1));
            sims.truncate(k);
        }
        sims.sort_by(|a, b| b.1.total_cmp(&a.1));
        sims
    }
}

/// Dot product in 8 independent lanes so the compiler vectorises it (a plain float sum is
/// sequential); equals `cosine` up to rounding.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

type CachedSite = (Stamp, Arc<SiteIndex>);

/// The KB service: cheap to clone.
#[derive(Clone)]
pub struct KnowledgeBase {
    store: Store,
    embedder: Arc<Embedder>,
    /// Per-site passages, valid while the site's [`Stamp`] is unchanged (any node's or job's
    /// write changes it).
    cache: Arc<Mutex<HashMap<Uuid, CachedSite>>>,
}

impl KnowledgeBase {
    pub fn new(store: Store, embedder: Arc<Embedder>) -> Self {
        KnowledgeBase {
            store,
            embedder,
            cache: Arc::default(),
        }
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, KbError> {
        let e = self.embedder.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(texts.len());
            for batch in texts.chunks(EMBED_BATCH) {
                let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
                out.extend(e.embed(&refs)?);
            }
            Ok::<_, EmbedError>(out)
        })
        .await
        .map_err(|_| KbError::Join)?
        .map_err(KbError::from)
    }

    fn invalidate(&self, site_id: Uuid) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&site_id);
    }

    /// Chunks, embeds and stores a document (new when `id` is `None`); searchable on return.
    pub async fn put(
        &self,
        site_id: Uuid,
        id: Option<Uuid>,
        title: &str,
        kind: DocKind,
        content: &str,
        metadata: &serde_json::Value,
    ) -> Result<KbDocument, KbError> {
        let chunks = ingest::chunks(kind, content)?;
        let started = std::time::Instant::now();
        // The title helps both rankings ("Returns: ...").
        let vectors = self.embed(chunks.clone()).await?;
        let rows: Vec<(String, Vec<f32>)> = chunks.into_iter().zip(vectors).collect();
        let doc = self
            .store
            .kb()
            .put(
                site_id,
                id.unwrap_or_else(Uuid::now_v7),
                title,
                kind,
                content,
                metadata,
                &rows,
            )
            .await?;
        self.invalidate(site_id);
        metrics::histogram!("vaarta_kb_index_ms").record(started.elapsed().as_secs_f64() * 1000.0);
        tracing::info!(%site_id, document = %doc.id, chunks = rows.len(), ms = started.elapsed().as_millis() as u64, "KB document indexed");
        Ok(doc)
    }

    pub async fn delete(&self, site_id: Uuid, id: Uuid) -> Result<bool, KbError> {
        let gone = self.store.kb().delete(site_id, id).await?;
        self.invalidate(site_id);
        Ok(gone)
    }

    /// The site's passages, from the cache while its stamp is unchanged.
    async fn index(&self, site_id: Uuid) -> Result<Arc<SiteIndex>, KbError> {
        let stamp = self.store.kb().stamp(site_id).await?;
        if let Some((s, v)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&site_id)
            && *s == stamp
        {
            return Ok(v.clone());
        }
        let rows = self.store.kb().chunks(site_id).await?;
        let v = Arc::new(
            tokio::task::spawn_blocking(move || SiteIndex::new(rows))
                .await
                .map_err(|_| KbError::Join)?,
        );
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(site_id, (stamp, v.clone()));
        Ok(v)
    }

    /// Hybrid search within one site.
    pub async fn search(
        &self,
        site_id: Uuid,
        query: &str,
        top_k: usize,
        filters: &Filters,
    ) -> Result<Vec<Hit>, KbError> {
        let started = std::time::Instant::now();
        let words = keywords(query);
        let lookup = async {
            let all = self.index(site_id).await?;
            let words = all.selective(words);
            let keyword = self
                .store
                .kb()
                .keyword(site_id, &words, CANDIDATES as i64)
                .await?;
            Ok::<_, KbError>((all, keyword))
        };
        let (qv, found) = tokio::join!(self.embed(vec![query.to_string()]), lookup);
        let (qv, (all, keyword)) = (qv?.pop().unwrap_or_default(), found?);
        let allowed =
            |doc: &Uuid| filters.document_ids.is_empty() || filters.document_ids.contains(doc);
        let mut fused: HashMap<usize, f32> = HashMap::new();
        for (rank, (i, _)) in all.nearest(&qv, CANDIDATES, allowed).iter().enumerate() {
            *fused.entry(*i).or_default() += 1.0 / (RRF_K + rank as f32 + 1.0);
        }
        for (rank, id) in keyword.iter().enumerate() {
            if let Some(&i) = all.by_id.get(id).filter(|i| allowed(&all.rows[**i].1)) {
                *fused.entry(i).or_default() += KEYWORD_WEIGHT / (RRF_K + rank as f32 + 1.0);
            }
        }
        let mut ranked: Vec<(usize, f32)> = fused.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let titles: HashMap<Uuid, String> =
            self.store.kb().titles(site_id).await?.into_iter().collect();
        let hits = ranked
            .into_iter()
            .take(top_k)
            .map(|(i, score)| {
                let (chunk_id, document_id, text) = &all.rows[i];
                let similarity = cosine(&qv, all.vector(i));
                Hit {
                    chunk_id: *chunk_id,
                    document_id: *document_id,
                    title: titles.get(document_id).cloned().unwrap_or_default(),
                    text: text.clone(),
                    score,
                    similarity,
                }
            })
            .collect();
        metrics::histogram!("vaarta_kb_search_ms").record(started.elapsed().as_secs_f64() * 1000.0);
        Ok(hits)
    }
}

/// Words for the keyword index: letters/digits only (no query syntax can get through), short
/// words and very common English/Hinglish function words dropped.
pub fn keywords(query: &str) -> Vec<String> {
    const STOP: &[&str] = &[
        "the", "and", "for", "you", "your", "are", "can", "what", "how", "is", "do", "does", "a",
        "an", "to", "of", "in", "on", "my", "me", "i", "get", "will", "when", "where", "which",
        "who", "why", "with", "there", "this", "that", "it", "be", "we", "our", "us", "have",
        "has", "any", "some", "come", "comes", "came", "now", "back", "much", "many", "long",
        "about", "from", "at", "by", "or", "if", "so", "up", "kya", "hai", "hain", "ka", "ki",
        "ke", "ko", "se", "mein", "me", "kaise", "kab", "kitne", "kitna", "aap", "mujhe", "mera",
        "meri", "ho", "tha",
    ];
    let mut out: Vec<String> = Vec::new();
    for w in query
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
    {
        if w.chars().count() < 2 || STOP.contains(&w.as_str()) || out.contains(&w) {
            continue;
        }
        out.push(w);
    }
    out.truncate(16);
    out
}

impl crate::brain::Retriever for KnowledgeBase {
    fn search<'a>(
        &'a self,
        site_id: Uuid,
        query: &'a str,
        top_k: usize,
    ) -> futures::future::BoxFuture<'a, Result<Vec<vaarta_flows::Passage>, String>> {
        Box::pin(async move {
            let hits = KnowledgeBase::search(self, site_id, query, top_k, &Filters::default())
                .await
                .map_err(|e| e.to_string())?;
            Ok(hits
                .into_iter()
                .map(|h| vaarta_flows::Passage {
                    text: h.text,
                    source: h.title,
                    score: f64::from(h.similarity),
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::kb::{ChunkRow, to_bytes};

    fn index(texts: &[String]) -> SiteIndex {
        let rows = texts
            .iter()
            .map(|t| ChunkRow {
                id: Uuid::now_v7(),
                document_id: Uuid::nil(),
                text: t.clone(),
                embedding: to_bytes(&[1.0, 0.0]),
            })
            .collect();
        SiteIndex::new(rows)
    }

    #[test]
    fn words_in_most_passages_of_a_large_site_are_not_looked_up() {
        let texts: Vec<String> = (0..1200)
            .map(|i| {
                format!(
                    "Q: sofa {i} warranty? A: {} years",
                    if i % 3 == 0 { "Teak" } else { "two" }
                )
            })
            .collect();
        let words = |q: &str| index(&texts).selective(keywords(q));
        assert_eq!(words("sofa warranty teak kitni"), vec!["teak", "kitni"]);
        // A small site keeps them all.
        assert_eq!(
            index(&texts[..10]).selective(keywords("sofa warranty")),
            vec!["sofa", "warranty"]
        );
    }

    #[test]
    fn nearest_is_best_first_and_filtered() {
        let rows = [[1.0f32, 0.0], [0.6, 0.8], [0.0, 1.0]]
            .iter()
            .enumerate()
            .map(|(i, v)| ChunkRow {
                id: Uuid::from_u128(i as u128),
                document_id: Uuid::from_u128(i as u128 % 2),
                text: String::new(),
                embedding: to_bytes(v),
            })
            .collect();
        let ix = SiteIndex::new(rows);
        let got: Vec<usize> = ix
            .nearest(&[0.0, 1.0], 2, |_| true)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(got, vec![2, 1]);
        let got: Vec<usize> = ix
            .nearest(&[0.0, 1.0], 5, |d| *d == Uuid::from_u128(0))
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(got, vec![2, 0]);
    }
}
