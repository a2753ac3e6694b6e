//! Kokoro v1.0 (82M, int8 ONNX): a multilingual neural voice model whose Hindi voices replace
//! espeak-ng's robotic fallback. One model serves every voice; a voice is a style table
//! (`voices/<name>.bin`, 510 × 256 f32) indexed by the number of phoneme tokens.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;

use super::TtsError;
use crate::onnx::{self, OnnxRuntimeConfig, SessionOptions};

/// Kokoro's output rate.
pub const SAMPLE_RATE: u32 = 24_000;
/// Most phoneme tokens in one pass (the model's context is 512 with the two pads).
pub const MAX_TOKENS: usize = 510;
/// Width of one style vector.
const STYLE_DIM: usize = 256;
/// Tokens a long phoneme string may be cut after, best first: clause ends, then word breaks.
const CLAUSE_BREAKS: &str = ".!?;:,—…";

/// A loaded Kokoro model with its vocabulary and the voices named in the config.
pub struct KokoroVoice {
    pub path: PathBuf,
    session: Session,
    vocab: HashMap<char, i64>,
    /// Voice name → style rows (row-major, `STYLE_DIM` floats each).
    styles: HashMap<String, Vec<f32>>,
    /// Ids of [`CLAUSE_BREAKS`] and of the space, for cutting long input.
    clause_ids: Vec<i64>,
    space_id: Option<i64>,
}

#[derive(Deserialize)]
struct VocabFile {
    vocab: HashMap<String, i64>,
}

impl KokoroVoice {
    /// Loads the model, `vocab.json` (`{"vocab": {"a": 43, …}}`) and `<voices_dir>/<name>.bin`
    /// for each voice name.
    pub fn load<'a>(
        runtime: &OnnxRuntimeConfig,
        model: &Path,
        vocab: &Path,
        voices_dir: &Path,
        voices: impl IntoIterator<Item = &'a str>,
        threads: usize,
    ) -> Result<Self, TtsError> {
        let vocab = read_vocab(vocab)?;
        let mut styles = HashMap::new();
        for name in voices {
            if !styles.contains_key(name) {
                let path = voices_dir.join(format!("{name}.bin"));
                styles.insert(name.to_string(), read_style(&path)?);
            }
        }
        let session = onnx::open_session(
            runtime,
            model,
            SessionOptions {
                intra_threads: threads,
                device: runtime.device,
            },
        )?;
        for input in ["tokens", "style", "speed"] {
            if !session.inputs().iter().any(|i| i.name() == input) {
                return Err(TtsError::KokoroModel {
                    path: model.to_path_buf(),
                    message: format!("the model has no input {input:?}: not Kokoro v1.0 ONNX"),
                });
            }
        }
        let clause_ids = CLAUSE_BREAKS
            .chars()
            .filter_map(|c| vocab.get(&c).copied())
            .collect();
        let space_id = vocab.get(&' ').copied();
        Ok(Self {
            path: model.to_path_buf(),
            session,
            vocab,
            styles,
            clause_ids,
            space_id,
        })
    }

    /// True when `name` was loaded.
    pub fn has_voice(&self, name: &str) -> bool {
        self.styles.contains_key(name)
    }

    /// Phoneme string → token ids; symbols outside the vocabulary are dropped.
    pub fn tokens(&self, phonemes: &str) -> Vec<i64> {
        phonemes
            .chars()
            .filter_map(|c| self.vocab.get(&c).copied())
            .collect()
    }

    /// Speaks a phoneme string of any length: passes of at most [`MAX_TOKENS`] tokens, cut at
    /// clause ends (else word breaks), concatenated. Audio at [`SAMPLE_RATE`].
    pub fn speak(&mut self, phonemes: &str, voice: &str, speed: f32) -> Result<Vec<f32>, TtsError> {
        let tokens = self.tokens(phonemes);
        let mut audio = Vec::new();
        for piece in split_tokens(&tokens, &self.clause_ids, self.space_id) {
            audio.extend(self.infer(piece, voice, speed)?);
        }
        Ok(audio)
    }

    /// One pass: `tokens` (at most [`MAX_TOKENS`], without pads) in `voice` at `speed`
    /// (1.0 = the voice's natural rate). Audio at [`SAMPLE_RATE`].
    pub fn infer(&mut self, tokens: &[i64], voice: &str, speed: f32) -> Result<Vec<f32>, TtsError> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        if tokens.len() > MAX_TOKENS {
            return Err(TtsError::KokoroTooLong(tokens.len()));
        }
        let styles = self
            .styles
            .get(voice)
            .ok_or_else(|| TtsError::UnknownKokoroVoice(voice.to_string()))?;
        // The style for an utterance of n tokens is row n (the tables have 510 rows).
        let rows = styles.len() / STYLE_DIM;
        let row = tokens.len().min(rows - 1);
        let style = styles[row * STYLE_DIM..(row + 1) * STYLE_DIM].to_vec();
        let mut padded = Vec::with_capacity(tokens.len() + 2);
        padded.push(0);
        padded.extend_from_slice(tokens);
        padded.push(0);
        let n = padded.len();
        let tokens = Tensor::from_array(([1usize, n], padded)).map_err(ort_err)?;
        let style = Tensor::from_array(([1usize, STYLE_DIM], style)).map_err(ort_err)?;
        let speed = Tensor::from_array(([1usize], vec![speed])).map_err(ort_err)?;
        let outputs = self
            .session
            .run(ort::inputs!["tokens" => tokens, "style" => style, "speed" => speed])
            .map_err(ort_err)?;
        let (_, audio) = outputs[0].try_extract_tensor::<f32>().map_err(ort_err)?;
        Ok(audio.to_vec())
    }
}

/// Cuts `tokens` into pieces of at most [`MAX_TOKENS`]: after the last clause break that fits,
/// else after the last space, else hard at the limit.
pub fn split_tokens<'a>(
    tokens: &'a [i64],
    clause_ids: &[i64],
    space: Option<i64>,
) -> Vec<&'a [i64]> {
    let mut pieces = Vec::new();
    let mut rest = tokens;
    while rest.len() > MAX_TOKENS {
        let window = &rest[..MAX_TOKENS];
        let cut = window
            .iter()
            .rposition(|t| clause_ids.contains(t))
            .or_else(|| window.iter().rposition(|t| Some(*t) == space))
            .map_or(MAX_TOKENS, |i| i + 1);
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
        // A space that starts the next piece would only add silence.
        while rest.first().is_some_and(|t| Some(*t) == space) {
            rest = &rest[1..];
        }
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

fn read_vocab(path: &Path) -> Result<HashMap<char, i64>, TtsError> {
    let err = |message: String| TtsError::KokoroModel {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(format!("{e} (run scripts/install-models)")))?;
    let file: VocabFile = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    let mut vocab = HashMap::new();
    for (symbol, id) in file.vocab {
        let mut chars = symbol.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => {
                vocab.insert(c, id);
            }
            _ => {
                return Err(err(format!(
                    "vocabulary entry {symbol:?} is not one character"
                )));
            }
        }
    }
    Ok(vocab)
}

/// A voice file: little-endian f32, whole rows of [`STYLE_DIM`], at least one row.
fn read_style(path: &Path) -> Result<Vec<f32>, TtsError> {
    let bytes = std::fs::read(path).map_err(|e| TtsError::KokoroModel {
        path: path.to_path_buf(),
        message: format!("{e} (run scripts/install-models, or fix speech.tts.kokoro.voices)"),
    })?;
    let row_bytes = STYLE_DIM * 4;
    if bytes.is_empty() || bytes.len() % row_bytes != 0 {
        return Err(TtsError::KokoroModel {
            path: path.to_path_buf(),
            message: format!(
                "{} bytes is not a whole number of {STYLE_DIM}-float style rows",
                bytes.len()
            ),
        });
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn ort_err(e: impl Into<ort::Error>) -> TtsError {
    TtsError::Onnx(crate::onnx::OnnxError::Ort(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_cut_at_clause_ends_then_spaces() {
        const COMMA: i64 = 3;
        const SPACE: i64 = 16;
        let short = vec![43; 20];
        assert_eq!(
            split_tokens(&short, &[COMMA], Some(SPACE)),
            vec![&short[..]]
        );

        // 400 tokens, a comma, a space, 300 tokens: cut after the comma, space dropped.
        let mut clauses = vec![43; 400];
        clauses.extend([COMMA, SPACE]);
        clauses.extend(vec![44; 300]);
        let p = split_tokens(&clauses, &[COMMA], Some(SPACE));
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].len(), 401);
        assert_eq!(*p[0].last().unwrap(), COMMA);
        assert_eq!(p[1], &vec![44; 300][..]);

        // No punctuation: cut at the last space that fits; none at all: hard at the limit.
        let words: Vec<i64> = (0..700)
            .map(|i| if i % 10 == 9 { SPACE } else { 43 })
            .collect();
        let p = split_tokens(&words, &[COMMA], Some(SPACE));
        assert!(p.iter().all(|x| x.len() <= MAX_TOKENS));
        assert_eq!(p[0].len(), 510);
        assert_eq!(p.iter().map(|x| x.len()).sum::<usize>(), 700);
        let solid = vec![43; 1200];
        let p = split_tokens(&solid, &[COMMA], Some(SPACE));
        assert_eq!(
            p.iter().map(|x| x.len()).collect::<Vec<_>>(),
            vec![510, 510, 180]
        );
    }

    #[test]
    fn bad_voice_and_vocab_files_are_typed_errors() {
        let dir = std::env::temp_dir().join(format!("vaarta-kokoro-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let voice = dir.join("odd.bin");
        std::fs::write(&voice, [0u8; 1000]).unwrap();
        assert!(matches!(
            read_style(&voice),
            Err(TtsError::KokoroModel { .. })
        ));
        std::fs::write(&voice, vec![0u8; 2 * STYLE_DIM * 4]).unwrap();
        assert_eq!(read_style(&voice).unwrap().len(), 2 * STYLE_DIM);
        let vocab = dir.join("vocab.json");
        std::fs::write(&vocab, r#"{"vocab": {"a": 43, "ab": 1}}"#).unwrap();
        assert!(matches!(
            read_vocab(&vocab),
            Err(TtsError::KokoroModel { .. })
        ));
        std::fs::write(&vocab, r#"{"vocab": {"a": 43, "ˈ": 156}}"#).unwrap();
        assert_eq!(read_vocab(&vocab).unwrap()[&'ˈ'], 156);
        std::fs::remove_dir_all(&dir).ok();
    }
}
