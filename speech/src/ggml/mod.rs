//! CTranslate2 → whisper.cpp GGML conversion. Registry packages ship Whisper only in CT2
//! format (for faster-whisper); whisper-rs needs GGML. Conversion is lazy and cached: the
//! first load of a CT2 model directory writes `ggml-model.bin` next to `model.bin`.

pub mod ct2;
pub mod file;
pub mod mel;
pub mod tensors;
pub mod vocab;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use tracing::info;

/// Name of the converted file written next to a CT2 `model.bin`.
pub const GGML_FILE_NAME: &str = "ggml-model.bin";

/// Why a model could not be converted or found.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("{0}")]
    Io(String),
    #[error("invalid model: {0}")]
    Format(String),
}

impl ConvertError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> Self {
        Self::Io(format!("{}: {e}", path.display()))
    }
}

/// Converts the CT2 Whisper model in `ct2_dir` (model.bin + vocabulary) to a GGML file at
/// `out_path`, written atomically (temporary file, then rename).
pub fn convert(ct2_dir: &Path, out_path: &Path) -> Result<(), ConvertError> {
    let bin_path = ct2_dir.join("model.bin");
    let bytes = fs::read(&bin_path).map_err(|e| ConvertError::io(&bin_path, e))?;
    let model = ct2::Ct2Model::parse(&bytes)?;
    drop(bytes);
    let hp = tensors::Hparams::from_ct2(&model)?;
    let vocab = vocab::read_vocabulary(ct2_dir)?;
    let tokens = vocab::ordinary_tokens(&vocab);
    if tokens.is_empty() || tokens.len() > hp.n_vocab {
        return Err(ConvertError::Format(format!(
            "vocabulary has {} ordinary tokens for an embedding of {}",
            tokens.len(),
            hp.n_vocab
        )));
    }
    let mut out = tensors::whisper_tensors(&model, &hp)?;
    for t in out.iter_mut() {
        if t.name.ends_with("conv1.bias") || t.name.ends_with("conv2.bias") {
            t.shape = vec![t.values.len(), 1];
        }
    }
    let filters = mel::mel_filters(16_000, 400, hp.n_mels);
    let tmp = out_path.with_extension(format!("tmp-{}", std::process::id()));
    let file = fs::File::create(&tmp).map_err(|e| ConvertError::io(&tmp, e))?;
    let written = file::write(file, &hp, (hp.n_mels, 201, &filters), &tokens, &out)
        .and_then(|_| fs::rename(&tmp, out_path).map_err(|e| ConvertError::io(out_path, e)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    info!(src = %ct2_dir.display(), dst = %out_path.display(), tensors = out.len(), "converted CT2 Whisper model to GGML");
    Ok(())
}

/// True when the file starts with the GGML magic.
pub fn is_ggml_file(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && u32::from_le_bytes(magic) == file::GGML_MAGIC
}

/// Resolves a configured Whisper model path to a GGML file whisper-rs can load:
/// a GGML file is used as is; a directory with a GGML `ggml-model.bin` newer than its CT2
/// `model.bin` is reused; a CT2 directory is converted once (cached next to it).
pub fn ensure_ggml(model: &Path) -> Result<PathBuf, ConvertError> {
    if model.is_file() {
        return if is_ggml_file(model) {
            Ok(model.to_path_buf())
        } else {
            Err(ConvertError::Format(format!(
                "{} is not a GGML file; point at the CT2 model directory instead",
                model.display()
            )))
        };
    }
    if !model.is_dir() {
        return Err(ConvertError::Io(format!(
            "Whisper model {} not found; run scripts/install-models",
            model.display()
        )));
    }
    let ggml = model.join(GGML_FILE_NAME);
    let ct2 = model.join("model.bin");
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    if is_ggml_file(&ggml) && (mtime(&ct2).is_none() || mtime(&ggml) >= mtime(&ct2)) {
        return Ok(ggml);
    }
    if !ct2.is_file() {
        return Err(ConvertError::Io(format!(
            "{} has neither {GGML_FILE_NAME} nor a CT2 model.bin; run scripts/install-models",
            model.display()
        )));
    }
    convert(model, &ggml)?;
    Ok(ggml)
}
