//! CT2 Whisper variables → whisper.cpp tensors: renaming, un-fusing q/k/v, dropping the key
//! bias, and choosing each tensor's storage type.

use super::ConvertError;
use super::ct2::Ct2Model;

/// Storage type of a GGML tensor (the `ttype` field: 0 = f32, 1 = f16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
}

/// One tensor for the GGML file, in PyTorch shape order (outermost first).
#[derive(Debug, Clone)]
pub struct OutTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl OutTensor {
    /// whisper.cpp 1.8 allocates 1-D tensors, conv biases and positional embeddings as f32
    /// and the matrices as f16; the file must match or loading fails.
    pub fn ggml_type(&self) -> GgmlType {
        ggml_type_for(&self.name, self.shape.len())
    }
}

/// See [`OutTensor::ggml_type`].
pub fn ggml_type_for(name: &str, n_dims: usize) -> GgmlType {
    if n_dims < 2
        || name.ends_with("conv1.bias")
        || name.ends_with("conv2.bias")
        || name.ends_with("positional_embedding")
    {
        GgmlType::F32
    } else {
        GgmlType::F16
    }
}

/// Model dimensions for the GGML header, read from tensor shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
}

fn count_layers(m: &Ct2Model, prefix: &str) -> usize {
    (0..)
        .take_while(|i| m.has(&format!("{prefix}/layer_{i}/ffn/linear_0/weight")))
        .count()
}

/// CT2 stores head counts as scalar variables (`encoder/num_heads`); Whisper uses 64-wide
/// heads, the fallback when a file lacks them.
fn heads(m: &Ct2Model, prefix: &str, d_model: usize) -> usize {
    m.get(&format!("{prefix}/num_heads"))
        .ok()
        .and_then(|t| t.to_f32().first().copied())
        .map(|h| h as usize)
        .filter(|&h| h > 0)
        .unwrap_or(d_model / 64)
}

impl Hparams {
    /// Reads the dimensions of a CT2 Whisper model.
    pub fn from_ct2(m: &Ct2Model) -> Result<Self, ConvertError> {
        let shape = |n: &str| m.get(n).map(|t| t.shape.clone());
        let emb = shape("decoder/embeddings/weight")?;
        let enc_pe = shape("encoder/position_encodings/encodings")?;
        let dec_pe = shape("decoder/position_encodings/encodings")?;
        let conv1 = shape("encoder/conv1/weight")?;
        if emb.len() != 2 || enc_pe.len() != 2 || dec_pe.len() != 2 || conv1.len() != 3 {
            return Err(ConvertError::Format(
                "unexpected Whisper tensor ranks".into(),
            ));
        }
        Ok(Self {
            n_vocab: emb[0],
            n_audio_ctx: enc_pe[0],
            n_audio_state: enc_pe[1],
            n_audio_head: heads(m, "encoder", enc_pe[1]),
            n_audio_layer: count_layers(m, "encoder"),
            n_text_ctx: dec_pe[0],
            n_text_state: emb[1],
            n_text_head: heads(m, "decoder", emb[1]),
            n_text_layer: count_layers(m, "decoder"),
            n_mels: conv1[1],
        })
    }
}

/// One piece of a split tensor: shape and values.
pub type Piece = (Vec<usize>, Vec<f32>);

/// Splits a fused `[parts * d, ...]` tensor along its first axis into `parts` equal pieces.
pub fn split_rows(
    values: &[f32],
    shape: &[usize],
    parts: usize,
) -> Result<Vec<Piece>, ConvertError> {
    let rows = shape.first().copied().unwrap_or(0);
    if parts == 0 || rows % parts != 0 {
        return Err(ConvertError::Format(format!(
            "cannot split shape {shape:?} into {parts}"
        )));
    }
    let mut piece_shape = shape.to_vec();
    piece_shape[0] = rows / parts;
    let piece_len = values.len() / parts;
    Ok(values
        .chunks(piece_len)
        .map(|c| (piece_shape.clone(), c.to_vec()))
        .collect())
}

struct Builder<'a> {
    m: &'a Ct2Model,
    out: Vec<OutTensor>,
}

impl Builder<'_> {
    fn copy(&mut self, src: &str, dst: &str) -> Result<(), ConvertError> {
        let t = self.m.get(src)?;
        let values = self.m.weight_f32(src)?;
        self.out.push(OutTensor {
            name: dst.into(),
            shape: t.shape.clone(),
            values,
        });
        Ok(())
    }

    fn linear(&mut self, src: &str, dst: &str) -> Result<(), ConvertError> {
        self.copy(&format!("{src}/weight"), &format!("{dst}.weight"))?;
        self.copy(&format!("{src}/bias"), &format!("{dst}.bias"))
    }

    fn norm(&mut self, src: &str, dst: &str) -> Result<(), ConvertError> {
        self.copy(&format!("{src}/gamma"), &format!("{dst}.weight"))?;
        self.copy(&format!("{src}/beta"), &format!("{dst}.bias"))
    }

    /// Un-fuses a CT2 projection holding `names.len()` stacked projections. whisper.cpp's
    /// key projections have no bias (CT2 fills zeros there), so key biases are dropped.
    fn unfuse(&mut self, src: &str, names: &[&str]) -> Result<(), ConvertError> {
        let w = self.m.get(&format!("{src}/weight"))?;
        let wv = self.m.weight_f32(&format!("{src}/weight"))?;
        for ((shape, values), dst) in split_rows(&wv, &w.shape, names.len())?
            .into_iter()
            .zip(names)
        {
            self.out.push(OutTensor {
                name: format!("{dst}.weight"),
                shape,
                values,
            });
        }
        let b = self.m.get(&format!("{src}/bias"))?;
        let bv = b.to_f32();
        for ((shape, values), dst) in split_rows(&bv, &b.shape, names.len())?
            .into_iter()
            .zip(names)
        {
            if dst.ends_with(".key") {
                continue;
            }
            self.out.push(OutTensor {
                name: format!("{dst}.bias"),
                shape,
                values,
            });
        }
        Ok(())
    }
}

/// All whisper.cpp tensors of a CT2 Whisper model, in the order whisper.cpp's own
/// converter writes them (the loader looks tensors up by name, so order is cosmetic).
pub fn whisper_tensors(m: &Ct2Model, hp: &Hparams) -> Result<Vec<OutTensor>, ConvertError> {
    let mut b = Builder { m, out: Vec::new() };
    b.copy(
        "encoder/position_encodings/encodings",
        "encoder.positional_embedding",
    )?;
    b.copy("encoder/conv1/weight", "encoder.conv1.weight")?;
    b.copy("encoder/conv1/bias", "encoder.conv1.bias")?;
    b.copy("encoder/conv2/weight", "encoder.conv2.weight")?;
    b.copy("encoder/conv2/bias", "encoder.conv2.bias")?;
    for i in 0..hp.n_audio_layer {
        let (s, d) = (format!("encoder/layer_{i}"), format!("encoder.blocks.{i}"));
        b.norm(
            &format!("{s}/self_attention/layer_norm"),
            &format!("{d}.attn_ln"),
        )?;
        b.unfuse(
            &format!("{s}/self_attention/linear_0"),
            &[
                &format!("{d}.attn.query"),
                &format!("{d}.attn.key"),
                &format!("{d}.attn.value"),
            ],
        )?;
        b.linear(
            &format!("{s}/self_attention/linear_1"),
            &format!("{d}.attn.out"),
        )?;
        b.norm(&format!("{s}/ffn/layer_norm"), &format!("{d}.mlp_ln"))?;
        b.linear(&format!("{s}/ffn/linear_0"), &format!("{d}.mlp.0"))?;
        b.linear(&format!("{s}/ffn/linear_1"), &format!("{d}.mlp.2"))?;
    }
    b.norm("encoder/layer_norm", "encoder.ln_post")?;
    b.copy(
        "decoder/position_encodings/encodings",
        "decoder.positional_embedding",
    )?;
    b.copy(
        "decoder/embeddings/weight",
        "decoder.token_embedding.weight",
    )?;
    for i in 0..hp.n_text_layer {
        let (s, d) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        b.norm(
            &format!("{s}/self_attention/layer_norm"),
            &format!("{d}.attn_ln"),
        )?;
        b.unfuse(
            &format!("{s}/self_attention/linear_0"),
            &[
                &format!("{d}.attn.query"),
                &format!("{d}.attn.key"),
                &format!("{d}.attn.value"),
            ],
        )?;
        b.linear(
            &format!("{s}/self_attention/linear_1"),
            &format!("{d}.attn.out"),
        )?;
        b.norm(
            &format!("{s}/attention/layer_norm"),
            &format!("{d}.cross_attn_ln"),
        )?;
        b.linear(
            &format!("{s}/attention/linear_0"),
            &format!("{d}.cross_attn.query"),
        )?;
        b.unfuse(
            &format!("{s}/attention/linear_1"),
            &[
                &format!("{d}.cross_attn.key"),
                &format!("{d}.cross_attn.value"),
            ],
        )?;
        b.linear(
            &format!("{s}/attention/linear_2"),
            &format!("{d}.cross_attn.out"),
        )?;
        b.norm(&format!("{s}/ffn/layer_norm"), &format!("{d}.mlp_ln"))?;
        b.linear(&format!("{s}/ffn/linear_0"), &format!("{d}.mlp.0"))?;
        b.linear(&format!("{s}/ffn/linear_1"), &format!("{d}.mlp.2"))?;
    }
    b.norm("decoder/layer_norm", "decoder.ln")?;
    Ok(b.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_rules_follow_whisper_cpp() {
        assert_eq!(
            ggml_type_for("encoder.blocks.0.attn.query.weight", 2),
            GgmlType::F16
        );
        assert_eq!(ggml_type_for("encoder.conv1.weight", 3), GgmlType::F16);
        assert_eq!(
            ggml_type_for("decoder.token_embedding.weight", 2),
            GgmlType::F16
        );
        assert_eq!(
            ggml_type_for("encoder.blocks.0.attn.query.bias", 1),
            GgmlType::F32
        );
        assert_eq!(ggml_type_for("decoder.ln.weight", 1), GgmlType::F32);
        // conv biases are written as [n, 1] but must stay f32
        assert_eq!(ggml_type_for("encoder.conv1.bias", 2), GgmlType::F32);
        assert_eq!(ggml_type_for("encoder.conv2.bias", 2), GgmlType::F32);
        assert_eq!(
            ggml_type_for("encoder.positional_embedding", 2),
            GgmlType::F32
        );
        assert_eq!(
            ggml_type_for("decoder.positional_embedding", 2),
            GgmlType::F32
        );
    }

    #[test]
    fn unfusing_splits_rows_in_q_k_v_order() {
        // 3 stacked [2 x 2] projections
        let values: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let parts = split_rows(&values, &[6, 2], 3).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], (vec![2, 2], vec![0.0, 1.0, 2.0, 3.0]));
        assert_eq!(parts[1], (vec![2, 2], vec![4.0, 5.0, 6.0, 7.0]));
        assert_eq!(parts[2], (vec![2, 2], vec![8.0, 9.0, 10.0, 11.0]));
        let bias = split_rows(&[1.0, 2.0, 3.0, 4.0], &[4], 2).unwrap();
        assert_eq!(bias[1], (vec![2], vec![3.0, 4.0]));
        assert!(split_rows(&values, &[6, 2], 4).is_err());
    }

    #[test]
    fn fused_attention_becomes_separate_tensors_without_key_bias() {
        use crate::ggml::ct2::Ct2DType::F32;
        use crate::ggml::ct2::tests::{build, f32_bytes};
        let d = 2usize;
        let w: Vec<f32> = (0..3 * d * d).map(|v| v as f32).collect();
        let bias = [1.0, 1.0, 0.0, 0.0, 3.0, 3.0];
        let bin = build(
            &[
                ("s/linear_0/weight", vec![3 * d, d], F32, f32_bytes(&w)),
                ("s/linear_0/bias", vec![3 * d], F32, f32_bytes(&bias)),
            ],
            &[],
        );
        let m = Ct2Model::parse(&bin).unwrap();
        let mut b = Builder {
            m: &m,
            out: Vec::new(),
        };
        b.unfuse(
            "s/linear_0",
            &["x.attn.query", "x.attn.key", "x.attn.value"],
        )
        .unwrap();
        let names: Vec<&str> = b.out.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "x.attn.query.weight",
                "x.attn.key.weight",
                "x.attn.value.weight",
                "x.attn.query.bias",
                "x.attn.value.bias"
            ]
        );
        assert_eq!(b.out[1].values, vec![4.0, 5.0, 6.0, 7.0]);
        assert_eq!(b.out[4].values, vec![3.0, 3.0]);
    }
}
