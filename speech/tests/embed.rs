//! The knowledge-base embedder: paraphrases land closer than unrelated text, and the vectors
//! equal an independent computation (onnxruntime + tokenizers in Python, same files).

use vaarta_speech::embed::{EmbedConfig, Embedder, cosine};
use vaarta_speech::onnx::OnnxRuntimeConfig;

fn embedder() -> Embedder {
    Embedder::load(&OnnxRuntimeConfig::default(), &EmbedConfig::default())
        .expect("models (scripts/install-models)")
}

#[test]
fn paraphrases_are_closer_than_unrelated_text() {
    let e = embedder();
    let v = e
        .embed(&[
            "How can I return a product?",
            "What is your return policy?",
            "Do you deliver to Pune?",
        ])
        .unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].len(), 384);
    for x in &v {
        assert!((cosine(x, x) - 1.0).abs() < 1e-4, "unit vectors");
    }
    let (close, far) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
    assert!(close > far + 0.2, "close {close} far {far}");
    assert!(e.embed(&[]).unwrap().is_empty());
}

#[test]
fn vectors_match_onnxruntime_in_python() {
    let cfg = EmbedConfig::default();
    let text = "Where is my order? It was placed on Monday.";
    let ours = embedder().embed(&[text]).unwrap().remove(0);
    let py = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let script = r#"
import sys, json, numpy as np, onnxruntime as ort, tokenizers
model, tok, text = sys.argv[1:4]
t = tokenizers.Tokenizer.from_file(tok)
e = t.encode(text)
s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
feed = {"input_ids": np.array([e.ids], dtype=np.int64), "attention_mask": np.array([e.attention_mask], dtype=np.int64)}
if any(i.name == "token_type_ids" for i in s.get_inputs()):
    feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
h = s.run(None, feed)[0][0]
m = np.array(e.attention_mask, dtype=np.float32)[:, None]
v = (h * m).sum(0) / m.sum()
v = v / np.linalg.norm(v)
print(json.dumps(v.tolist()))
"#;
    let out = std::process::Command::new(py)
        .args(["-c", script])
        .arg(&cfg.model)
        .arg(&cfg.tokenizer)
        .arg(text)
        .output()
        .expect(".venv python (scripts/setup --test)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<f32> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), ours.len());
    let max_diff = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(max_diff < 1e-3, "max difference {max_diff}");
}
