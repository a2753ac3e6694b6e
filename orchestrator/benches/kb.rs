//! Knowledge-base search latency (p50/p99) at N passages and indexing throughput, with the real
//! embedding model, on SQLite (and PostgreSQL when VAARTA_TEST_DATABASE_URL is set).
//! Usage: cargo bench -p vaarta-orchestrator --bench kb -- [PASSAGES...]   (default 1000 50000)

use std::sync::Arc;
use std::time::Instant;

use vaarta_orchestrator::Store;
use vaarta_orchestrator::config::DatabaseConfig;
use vaarta_orchestrator::kb::ingest::DocKind;
use vaarta_orchestrator::kb::{Filters, KnowledgeBase};

const PRODUCTS: &[&str] = &["sofa", "recliner", "dining table", "wardrobe", "bed", "mattress", "office chair", "bookshelf", "coffee table", "study desk", "shoe rack", "TV unit"];
const TOPICS: &[&str] = &["warranty", "delivery time", "price", "return policy", "installation", "EMI options", "cleaning", "assembly", "colours", "dimensions"];
const CITIES: &[&str] = &["Delhi", "Mumbai", "Pune", "Jaipur", "Ludhiana", "Chandigarh", "Bengaluru", "Lucknow"];

/// A synthetic but varied FAQ pair.
fn pair(i: usize) -> String {
    let (p, t, c) = (PRODUCTS[i % PRODUCTS.len()], TOPICS[(i / 3) % TOPICS.len()], CITIES[(i / 7) % CITIES.len()]);
    format!(
        "\"What is the {t} of the {p} model {i} in {c}?\",\"The {p} model {i} has {t} details: it ships to {c} in {} days, costs {} rupees and carries a {} year warranty.\"",
        2 + i % 6,
        4999 + (i * 37) % 90000,
        1 + i % 5
    )
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn run(url: &str, n: usize, embedder: Arc<vaarta_speech::embed::Embedder>) -> (f64, f64, f64) {
    let store = Store::connect(&DatabaseConfig { url: url.to_string(), max_connections: 4, ..Default::default() }).await.unwrap();
    store.migrate().await.unwrap();
    let site = store.sites().create(&vaarta_orchestrator::tenancy::NewSite { name: format!("bench-{n}"), settings: Default::default() }).await.unwrap();
    let kb = KnowledgeBase::new(store.clone(), embedder);
    let started = Instant::now();
    for doc in 0..n.div_ceil(500) {
        let rows: Vec<String> = (doc * 500..((doc + 1) * 500).min(n)).map(pair).collect();
        let csv = format!("question,answer\n{}", rows.join("\n"));
        kb.put(site.site_id, None, &format!("FAQ {doc}"), DocKind::FaqCsv, &csv, &serde_json::json!({})).await.unwrap();
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let queries = ["sofa warranty kitni hai", "how long does delivery to Pune take", "recliner ka price", "can I return the wardrobe", "EMI on the office chair", "bed installation in Delhi"];
    // The first search loads the site's vectors into memory; measure the steady state.
    kb.search(site.site_id, queries[0], 5, &Filters::default()).await.unwrap();
    let mut ms = Vec::new();
    for i in 0..200 {
        let t = Instant::now();
        let hits = kb.search(site.site_id, queries[i % queries.len()], 5, &Filters::default()).await.unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!hits.is_empty());
    }
    store.sites().delete(site.site_id).await.unwrap();
    store.close().await;
    (rate, pct(&mut ms, 0.5), pct(&mut ms, 0.99))
}

fn main() {
    let ns: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let ns = if ns.is_empty() { vec![1000, 50_000] } else { ns };
    let embedder = Arc::new(vaarta_speech::embed::Embedder::load(&Default::default(), &Default::default()).expect("models (scripts/install-models)"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut backends = vec![("SQLite", format!("sqlite://{}/kb.db", dir.path().display()))];
    if let Ok(pg) = std::env::var("VAARTA_TEST_DATABASE_URL") {
        backends.push(("PostgreSQL", pg));
    }
    println!("| backend | passages | indexing (passages/s, embedding included) | search p50 | search p99 |");
    println!("|---|---|---|---|---|");
    for (name, url) in &backends {
        for &n in &ns {
            let (rate, p50, p99) = rt.block_on(run(url, n, embedder.clone()));
            println!("| {name} | {n} | {rate:.0} | {p50:.1} ms | {p99:.1} ms |");
        }
    }
}
