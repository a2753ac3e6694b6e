//! The CT2 → GGML converter on the real tiny.en model: tensors round-trip against the CT2
//! arrays, the file loads in whisper-rs, and its transcript agrees with faster-whisper
//! running the very same CT2 model.

mod stt_support;

use std::sync::Arc;

use stt_support::*;
use vaarta_speech::ggml::{self, ct2::Ct2Model, file::GgmlModel, tensors::GgmlType};
use vaarta_speech::stt::{SttConfig, TranscribeOptions, WhisperModel};

fn assert_close(name: &str, got: &[f32], want: &[f32], f16: bool) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = if f16 { w.abs() * 1e-3 + 1e-6 } else { 0.0 };
        assert!((g - w).abs() <= tol, "{name}[{i}]: {g} vs CT2 {w}");
    }
}

#[test]
fn converted_tensors_match_the_ct2_arrays() {
    let src = whisper_dir("tiny.en");
    let out = scratch("convert").join("ggml-tiny.en.bin");
    ggml::convert(&src, &out).unwrap();
    let g = GgmlModel::parse(&std::fs::read(&out).unwrap()).unwrap();
    let c = Ct2Model::parse(&std::fs::read(src.join("model.bin")).unwrap()).unwrap();

    assert_eq!(g.hparams.n_vocab, 51864);
    assert_eq!(
        (
            g.hparams.n_audio_state,
            g.hparams.n_audio_head,
            g.hparams.n_audio_layer
        ),
        (384, 6, 4)
    );
    assert_eq!((g.hparams.n_text_ctx, g.hparams.n_mels), (448, 80));
    assert_eq!(g.ftype, 1);
    assert_eq!(
        g.tokens.len(),
        50256,
        "ordinary tokens only; whisper.cpp adds the specials"
    );
    assert_eq!(g.tokens[1722], c_token(&src, 1722));
    // 5 encoder globals + 4 x 15 + 2 + 2 decoder globals + 4 x 24 + 2
    assert_eq!(g.tensors.len(), 5 + 4 * 15 + 2 + 2 + 4 * 24 + 2);

    let d = 384;
    for layer in [
        "encoder/layer_2/self_attention",
        "decoder/layer_3/self_attention",
    ] {
        let fused = c.get(&format!("{layer}/linear_0/weight")).unwrap().to_f32();
        let fused_b = c.get(&format!("{layer}/linear_0/bias")).unwrap().to_f32();
        let prefix = layer
            .replace("/layer_", ".blocks.")
            .replace("/self_attention", ".attn")
            .replace('/', ".");
        for (i, part) in ["query", "key", "value"].iter().enumerate() {
            let (_, shape, ty, vals) = g.tensor(&format!("{prefix}.{part}.weight")).unwrap();
            assert_eq!((shape.as_slice(), *ty), (&[d, d][..], GgmlType::F16));
            assert_close(part, vals, &fused[i * d * d..(i + 1) * d * d], true);
            let bias = g.tensor(&format!("{prefix}.{part}.bias"));
            if *part == "key" {
                assert!(bias.is_none(), "whisper.cpp has no key bias");
                assert!(
                    fused_b[d..2 * d].iter().all(|v| *v == 0.0),
                    "CT2 key bias is zero"
                );
            } else {
                let (_, _, ty, vals) = bias.unwrap();
                assert_eq!(*ty, GgmlType::F32);
                assert_close(part, vals, &fused_b[i * d..(i + 1) * d], false);
            }
        }
    }
    let kv = c
        .get("decoder/layer_1/attention/linear_1/weight")
        .unwrap()
        .to_f32();
    let (_, _, _, value) = g
        .tensor("decoder.blocks.1.cross_attn.value.weight")
        .unwrap();
    assert_close("cross value", value, &kv[d * d..], true);
    assert!(g.tensor("decoder.blocks.1.cross_attn.key.bias").is_none());

    let (_, shape, ty, _) = g.tensor("encoder.conv1.bias").unwrap();
    assert_eq!((shape.as_slice(), *ty), (&[d, 1][..], GgmlType::F32));
    let (_, shape, ty, vals) = g.tensor("encoder.positional_embedding").unwrap();
    assert_eq!((shape.as_slice(), *ty), (&[1500, d][..], GgmlType::F32));
    assert_close(
        "pe",
        vals,
        &c.get("encoder/position_encodings/encodings")
            .unwrap()
            .to_f32(),
        false,
    );
    assert_eq!(g.mel_filters, ggml::mel::mel_filters(16_000, 400, 80));
    std::fs::remove_dir_all(out.parent().unwrap()).ok();
}

fn c_token(dir: &std::path::Path, id: usize) -> Vec<u8> {
    let vocab = ggml::vocab::read_vocabulary(dir).unwrap();
    ggml::vocab::decode_token(&vocab[id], &ggml::vocab::byte_decoder())
}

#[test]
fn converted_model_agrees_with_faster_whisper_on_the_same_ct2_model() {
    let src = whisper_dir("tiny.en");
    let dir = scratch("agree");
    let ggml_path = dir.join("ggml-tiny.en.bin");
    ggml::convert(&src, &ggml_path).unwrap();
    let cfg = SttConfig {
        audio_ctx: vaarta_speech::stt::AudioCtxPolicy::Full,
        ..Default::default()
    };
    let model: Arc<WhisperModel> = WhisperModel::load_path(&ggml_path, &cfg).unwrap();
    let mut t = model.transcriber().unwrap();
    let sentences = [
        "Please call me back tomorrow morning about my order.",
        "The weather in the mountains was cold and windy last weekend.",
        "I would like to speak with someone from the sales team.",
        "My internet connection has been very slow since last week.",
    ];
    let (mut ours, mut wavs) = (Vec::new(), Vec::new());
    for (i, s) in sentences.iter().enumerate() {
        let (pcm, wav) = speak(s, "en-us", &dir, &format!("s{i}"));
        ours.push(
            t.transcribe(&pcm, 16_000, &TranscribeOptions::default())
                .unwrap()
                .text,
        );
        wavs.push(wav);
    }
    let theirs = faster_whisper(&src, &wavs);
    let (mut errors, mut words) = (0, 0);
    for (ours, theirs) in ours.iter().zip(&theirs) {
        let (e, n) = word_errors(theirs, ours);
        eprintln!("whisper-rs:     {ours}\nfaster-whisper: {theirs}");
        errors += e;
        words += n;
    }
    assert!(words > 10);
    assert!(
        errors * 10 <= words,
        "transcripts disagree on {errors}/{words} words"
    );
    std::fs::remove_dir_all(&dir).ok();
}
