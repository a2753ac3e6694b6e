//! Knowledge-base search latency (p50/p99) and indexing throughput with the real embedding
//! model, on SQLite and (when VAARTA_TEST_DATABASE_URL is set) PostgreSQL.
//! Usage: cargo bench -p vaarta-orchestrator --bench kb -- [PASSAGES...]   (default 1000 50000)
//!
//! Corpus (see bench/kb/README.md): generated FAQ pairs (products × topics × cities × wording,
//! every text distinct). Sizes up to `REAL` passages are indexed through the whole pipeline
//! (chunking, the model, SQL, keyword index). Larger sizes would take hours of embedding on a
//! small VM, so `REAL` distinct passages are embedded once with the real model and passage `i`
//! is stored with its own text and the real vector of passage `i % REAL` (same product and
//! topic): the vector scan, the keyword index and the fusion run on 50k real-model vectors.

use std::sync::Arc;
use std::time::Instant;

use uuid::Uuid;
use vaarta_orchestrator::Store;
use vaarta_orchestrator::config::DatabaseConfig;
use vaarta_orchestrator::kb::ingest::{self, DocKind};
use vaarta_orchestrator::kb::{Filters, KnowledgeBase};
use vaarta_speech::embed::Embedder;

const PRODUCTS: &[&str] = &[
    "sofa",
    "recliner",
    "dining table",
    "wardrobe",
    "bed",
    "mattress",
    "office chair",
    "bookshelf",
    "coffee table",
    "study desk",
    "shoe rack",
    "TV unit",
];
const TOPICS: &[&str] = &[
    "warranty",
    "delivery time",
    "price",
    "return policy",
    "installation",
    "EMI options",
    "cleaning",
    "assembly",
    "colours",
    "dimensions",
];
const CITIES: &[&str] = &[
    "Delhi",
    "Mumbai",
    "Pune",
    "Jaipur",
    "Ludhiana",
    "Chandigarh",
    "Bengaluru",
    "Lucknow",
];
const ASK: &[&str] = &[
    "What is the {t} of the {p} model {i} in {c}?",
    "Tell me about {t} for the {p} {i} ({c} store)",
    "{p} {i}: {t} kya hai {c} mein?",
    "How does {t} work for the {p} {i} bought in {c}?",
];
/// Passages embedded with the real model (the rest reuse their vectors; see the module doc).
const REAL: usize = 3000;
/// Passages per document.
const PER_DOC: usize = 500;

/// A generated, distinct FAQ pair as a CSV row.
fn pair(i: usize) -> String {
    let (p, t, c) = (
        PRODUCTS[i % PRODUCTS.len()],
        TOPICS[(i / 3) % TOPICS.len()],
        CITIES[(i / 7) % CITIES.len()],
    );
    let q = ASK[(i / 11) % ASK.len()]
        .replace("{t}", t)
        .replace("{p}", p)
        .replace("{i}", &i.to_string())
        .replace("{c}", c);
    format!(
        "\"{q}\",\"The {p} model {i} has {t} details: it ships to {c} in {} days, costs {} rupees and carries a {} year warranty.\"",
        2 + i % 6,
        4999 + (i * 37) % 90000,
        1 + i % 5
    )
}

fn passage(i: usize) -> String {
    ingest::chunks(DocKind::FaqCsv, &format!("question,answer\n{}", pair(i)))
        .expect("one pair")
        .remove(0)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

const QUERIES: &[&str] = &[
    "sofa warranty kitni hai",
    "how long does delivery to Pune take",
    "recliner ka price",
    "can I return the wardrobe",
    "EMI on the office chair",
    "bed installation in Delhi",
];

struct Row {
    backend: &'static str,
    n: usize,
    how: &'static str,
    rate: f64,
    cold_ms: f64,
    p50: f64,
    p99: f64,
    /// The keyword lookup of all the query's words (p50, p99): the cost that skipping
    /// non-selective words avoids.
    keyword: (f64, f64),
    /// A search whose words are all stop words (no keyword query): embedding + vector scan.
    vector_only: (f64, f64),
}

async fn run(
    backend: &'static str,
    url: &str,
    n: usize,
    embedder: Arc<Embedder>,
    real: &[Vec<f32>],
) -> Row {
    let store = Store::connect(&DatabaseConfig {
        url: url.to_string(),
        max_connections: 4,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let site = store
        .sites()
        .create(&vaarta_orchestrator::tenancy::NewSite {
            name: format!("bench-{n}"),
            settings: Default::default(),
        })
        .await
        .unwrap();
    let site_id = site.site_id;
    let kb = KnowledgeBase::new(store.clone(), embedder);
    let started = Instant::now();
    let full = n <= REAL;
    for doc in 0..n.div_ceil(PER_DOC) {
        let range = doc * PER_DOC..((doc + 1) * PER_DOC).min(n);
        let csv = format!(
            "question,answer\n{}",
            range.clone().map(pair).collect::<Vec<_>>().join("\n")
        );
        let meta = serde_json::json!({});
        if full {
            kb.put(
                site_id,
                None,
                &format!("FAQ {doc}"),
                DocKind::FaqCsv,
                &csv,
                &meta,
            )
            .await
            .unwrap();
        } else {
            let rows: Vec<(String, Vec<f32>)> = range
                .map(|i| (passage(i), real[i % REAL].clone()))
                .collect();
            store
                .kb()
                .put(
                    site_id,
                    Uuid::now_v7(),
                    &format!("FAQ {doc}"),
                    DocKind::FaqCsv,
                    &csv,
                    &meta,
                    &rows,
                )
                .await
                .unwrap();
        }
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    // The first search loads the site's passages into memory; then the steady state.
    let t = Instant::now();
    kb.search(site_id, QUERIES[0], 5, &Filters::default())
        .await
        .unwrap();
    let cold_ms = t.elapsed().as_secs_f64() * 1000.0;
    let mut ms = Vec::new();
    for i in 0..200 {
        let t = Instant::now();
        let hits = kb
            .search(site_id, QUERIES[i % QUERIES.len()], 5, &Filters::default())
            .await
            .unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!hits.is_empty());
    }
    let mut kw = Vec::new();
    for i in 0..100 {
        let words = vaarta_orchestrator::kb::keywords(QUERIES[i % QUERIES.len()]);
        let t = Instant::now();
        store.kb().keyword(site_id, &words, 30).await.unwrap();
        kw.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut vo = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        kb.search(
            site_id,
            "what is this and how do you do it",
            5,
            &Filters::default(),
        )
        .await
        .unwrap();
        vo.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    store.sites().delete(site_id).await.unwrap();
    store.close().await;
    let how = if full {
        "whole pipeline (model included)"
    } else {
        "storage only (vectors precomputed)"
    };
    Row {
        backend,
        n,
        how,
        rate,
        cold_ms,
        p50: pct(&mut ms, 0.5),
        p99: pct(&mut ms, 0.99),
        keyword: (pct(&mut kw, 0.5), pct(&mut kw, 0.99)),
        vector_only: (pct(&mut vo, 0.5), pct(&mut vo, 0.99)),
    }
}

/// Passages/s through the model alone at a batch size.
fn embed_rate(e: &Embedder, texts: &[String], batch: usize) -> f64 {
    let t = Instant::now();
    for b in texts.chunks(batch) {
        let refs: Vec<&str> = b.iter().map(String::as_str).collect();
        e.embed(&refs).unwrap();
    }
    texts.len() as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let ns = if ns.is_empty() {
        vec![1000, 50_000]
    } else {
        ns
    };
    let embedder = Arc::new(
        Embedder::load(&Default::default(), &Default::default())
            .expect("models (scripts/install-models)"),
    );

    let sample: Vec<String> = (0..256).map(passage).collect();
    for batch in [1, 8, 16, 32] {
        println!(
            "embedding, batch {batch:>2}: {:.1} passages/s",
            embed_rate(&embedder, &sample, batch)
        );
    }
    let mut q = Vec::new();
    for i in 0..200 {
        let t = Instant::now();
        embedder.embed(&[QUERIES[i % QUERIES.len()]]).unwrap();
        q.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "query embedding alone: p50 {:.1} ms, p99 {:.1} ms",
        pct(&mut q, 0.5),
        pct(&mut q, 0.99)
    );

    let real: Vec<Vec<f32>> = if ns.iter().any(|&n| n > REAL) {
        let t = Instant::now();
        let texts: Vec<String> = (0..REAL).map(passage).collect();
        let mut v = Vec::with_capacity(REAL);
        for b in texts.chunks(16) {
            let refs: Vec<&str> = b.iter().map(String::as_str).collect();
            v.extend(embedder.embed(&refs).unwrap());
        }
        println!(
            "embedded {REAL} distinct passages for the large sizes in {:.0} s",
            t.elapsed().as_secs_f64()
        );
        v
    } else {
        Vec::new()
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut backends = vec![("SQLite", format!("sqlite://{}/kb.db", dir.path().display()))];
    if let Ok(pg) = std::env::var("VAARTA_TEST_DATABASE_URL") {
        backends.push(("PostgreSQL", pg));
    }
    let mut rows = Vec::new();
    for (name, url) in &backends {
        for &n in &ns {
            let r = rt.block_on(run(name, url, n, embedder.clone(), &real));
            eprintln!("{} {} done", r.backend, r.n);
            rows.push(r);
        }
    }
    println!(
        "| backend | passages | indexing | passages/s | first search (loads cache) | search p50 | search p99 | keyword lookup of all query words p50 / p99 | search without keywords p50 / p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.0} | {:.0} ms | {:.1} ms | {:.1} ms | {:.1} / {:.1} ms | {:.1} / {:.1} ms |",
            r.backend,
            r.n,
            r.how,
            r.rate,
            r.cold_ms,
            r.p50,
            r.p99,
            r.keyword.0,
            r.keyword.1,
            r.vector_only.0,
            r.vector_only.1
        );
    }
}
