//! The whisper.cpp GGML model file (the legacy `ggml` container whisper.cpp still loads):
//! header with hyper-parameters, mel filters, vocabulary, then named tensors.
//! The reader exists to check converted files against their source.

use std::io::{BufWriter, Write};

use half::f16;

use super::ConvertError;
use super::tensors::{GgmlType, Hparams, OutTensor};

/// "ggml" as a little-endian u32.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;

/// Writes a complete GGML model. `ftype` 1 = mostly f16 (what whisper.cpp expects here).
pub fn write<W: Write>(
    w: W,
    hp: &Hparams,
    mel: (usize, usize, &[f32]),
    tokens: &[Vec<u8>],
    tensors: &[OutTensor],
) -> Result<(), ConvertError> {
    let mut w = BufWriter::with_capacity(1 << 20, w);
    let io = |e| ConvertError::Io(format!("writing GGML model: {e}"));
    let i32s = |w: &mut BufWriter<W>, vals: &[usize]| -> Result<(), ConvertError> {
        for &v in vals {
            w.write_all(&(v as i32).to_le_bytes()).map_err(io)?;
        }
        Ok(())
    };
    w.write_all(&GGML_MAGIC.to_le_bytes()).map_err(io)?;
    i32s(
        &mut w,
        &[
            hp.n_vocab,
            hp.n_audio_ctx,
            hp.n_audio_state,
            hp.n_audio_head,
            hp.n_audio_layer,
            hp.n_text_ctx,
            hp.n_text_state,
            hp.n_text_head,
            hp.n_text_layer,
            hp.n_mels,
            1,
        ],
    )?;
    let (n_mel, n_bins, filters) = mel;
    i32s(&mut w, &[n_mel, n_bins])?;
    for v in filters {
        w.write_all(&v.to_le_bytes()).map_err(io)?;
    }
    i32s(&mut w, &[tokens.len()])?;
    for t in tokens {
        i32s(&mut w, &[t.len()])?;
        w.write_all(t).map_err(io)?;
    }
    for t in tensors {
        let ttype = t.ggml_type();
        i32s(&mut w, &[t.shape.len(), t.name.len(), ttype as usize])?;
        // GGML lists dimensions innermost first.
        for &d in t.shape.iter().rev() {
            i32s(&mut w, &[d])?;
        }
        w.write_all(t.name.as_bytes()).map_err(io)?;
        match ttype {
            GgmlType::F32 => {
                for v in &t.values {
                    w.write_all(&v.to_le_bytes()).map_err(io)?;
                }
            }
            GgmlType::F16 => {
                for v in &t.values {
                    w.write_all(&f16::from_f32(*v).to_le_bytes()).map_err(io)?;
                }
            }
        }
    }
    w.flush().map_err(io)
}

/// A GGML model read back: header, vocabulary and tensors (values widened to f32).
#[derive(Debug)]
pub struct GgmlModel {
    pub hparams: Hparams,
    pub ftype: i32,
    pub n_mel: usize,
    pub n_bins: usize,
    pub mel_filters: Vec<f32>,
    pub tokens: Vec<Vec<u8>>,
    /// name → (PyTorch-order shape, storage type, values)
    pub tensors: Vec<(String, Vec<usize>, GgmlType, Vec<f32>)>,
}

impl GgmlModel {
    /// Parses a GGML whisper model held in memory.
    pub fn parse(b: &[u8]) -> Result<Self, ConvertError> {
        let mut r = Reader { b, pos: 0 };
        macro_rules! i32v {
            () => {{
                let s = r.take(4)?;
                i32::from_le_bytes([s[0], s[1], s[2], s[3]])
            }};
        }
        if i32v!() as u32 != GGML_MAGIC {
            return Err(ConvertError::Format("not a GGML file (bad magic)".into()));
        }
        let mut h = [0usize; 10];
        for v in h.iter_mut() {
            *v = i32v!() as usize;
        }
        let ftype = i32v!();
        let hparams = Hparams {
            n_vocab: h[0],
            n_audio_ctx: h[1],
            n_audio_state: h[2],
            n_audio_head: h[3],
            n_audio_layer: h[4],
            n_text_ctx: h[5],
            n_text_state: h[6],
            n_text_head: h[7],
            n_text_layer: h[8],
            n_mels: h[9],
        };
        let n_mel = i32v!() as usize;
        let n_bins = i32v!() as usize;
        let mel_filters = r
            .take(n_mel * n_bins * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let n_tokens = i32v!() as usize;
        let mut tokens = Vec::with_capacity(n_tokens);
        for _ in 0..n_tokens {
            let len = i32v!() as usize;
            tokens.push(r.take(len)?.to_vec());
        }
        let mut tensors = Vec::new();
        while !r.done() {
            let n_dims = i32v!() as usize;
            let name_len = i32v!() as usize;
            let ttype = match i32v!() {
                0 => GgmlType::F32,
                1 => GgmlType::F16,
                t => {
                    return Err(ConvertError::Format(format!(
                        "unsupported GGML tensor type {t}"
                    )));
                }
            };
            let mut shape = Vec::with_capacity(n_dims);
            for _ in 0..n_dims {
                shape.push(i32v!() as usize);
            }
            shape.reverse();
            let name = String::from_utf8_lossy(r.take(name_len)?).into_owned();
            let n: usize = shape.iter().product();
            let values = match ttype {
                GgmlType::F32 => r
                    .take(n * 4)?
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                GgmlType::F16 => r
                    .take(n * 2)?
                    .chunks_exact(2)
                    .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
            };
            tensors.push((name, shape, ttype, values));
        }
        Ok(Self {
            hparams,
            ftype,
            n_mel,
            n_bins,
            mel_filters,
            tokens,
            tensors,
        })
    }

    /// A tensor by whisper.cpp name.
    pub fn tensor(&self, name: &str) -> Option<&(String, Vec<usize>, GgmlType, Vec<f32>)> {
        self.tensors.iter().find(|t| t.0 == name)
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ConvertError> {
        let s = self
            .b
            .get(self.pos..self.pos.saturating_add(n))
            .ok_or_else(|| ConvertError::Format(format!("GGML file truncated at {}", self.pos)))?;
        self.pos += n;
        Ok(s)
    }
    fn done(&self) -> bool {
        self.pos >= self.b.len()
    }
}
