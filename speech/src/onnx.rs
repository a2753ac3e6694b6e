//! ONNX Runtime loading for the VAD and TTS models.
//!
//! ort is built with `load-dynamic`: the runtime is the `libonnxruntime.so` that
//! `scripts/install-models` extracts from the `onnxruntime` PyPI wheel (1.31.x, matching ort's
//! `api-31`). It is loaded once per process, from a configurable path, so a missing library is a
//! clear error at start instead of a panic deep inside ort.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;
use ort::session::Session;
use serde::{Deserialize, Serialize};

/// Where the models live: `$VAARTA_MODELS_DIR`, else `./models` (what `scripts/install-models` fills).
pub fn default_models_dir() -> PathBuf {
    std::env::var_os("VAARTA_MODELS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models"))
}

/// Which hardware runs the ONNX models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnnxDevice {
    /// CPU execution provider (always available).
    #[default]
    Cpu,
    /// CUDA execution provider; needs the `cuda` cargo feature and a GPU build of ONNX Runtime.
    Cuda,
}

/// `[speech.onnxruntime]`: the ONNX Runtime shared library and where sessions run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnnxRuntimeConfig {
    /// Path of `libonnxruntime.so` (1.31.x). Default: `<models>/onnxruntime/libonnxruntime.so`.
    pub library: PathBuf,
    /// Execution device for ONNX sessions (VAD, TTS).
    pub device: OnnxDevice,
}

impl Default for OnnxRuntimeConfig {
    fn default() -> Self {
        Self {
            library: default_models_dir()
                .join("onnxruntime")
                .join("libonnxruntime.so"),
            device: OnnxDevice::Cpu,
        }
    }
}

/// Errors loading ONNX Runtime or a model.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error(
        "ONNX Runtime library not found at {0}; run scripts/install-models (or set speech.onnxruntime.library)"
    )]
    LibraryMissing(PathBuf),
    #[error("cannot load ONNX Runtime from {path}: {message}")]
    LibraryLoad { path: PathBuf, message: String },
    #[error("model file not found at {0}; run scripts/install-models (or fix the configured path)")]
    ModelMissing(PathBuf),
    #[error("CUDA was requested but vaarta-speech was built without the `cuda` feature")]
    CudaNotBuilt,
    #[error("ONNX Runtime error: {0}")]
    Ort(#[from] ort::Error),
}

struct Loaded {
    library: PathBuf,
    env: Environment,
}

static RUNTIME: Mutex<Option<Loaded>> = Mutex::new(None);

/// Loads ONNX Runtime once for the whole process and returns its environment. Later calls
/// return the same environment (a different path is ignored with a warning: a process can hold
/// only one runtime).
pub fn init(config: &OnnxRuntimeConfig) -> Result<Environment, OnnxError> {
    let mut guard = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(loaded) = guard.as_ref() {
        if loaded.library != config.library {
            tracing::warn!(
                loaded = %loaded.library.display(),
                requested = %config.library.display(),
                "ONNX Runtime already loaded; ignoring the other library path"
            );
        }
        return Ok(loaded.env.clone());
    }
    if !config.library.is_file() {
        return Err(OnnxError::LibraryMissing(config.library.clone()));
    }
    // ort resolves relative paths against the executable's folder; make it absolute here.
    let library = std::path::absolute(&config.library).unwrap_or_else(|_| config.library.clone());
    let builder = ort::init_from(&library).map_err(|e| OnnxError::LibraryLoad {
        path: library.clone(),
        message: e.to_string(),
    })?;
    let env = builder.with_name("vaarta").build()?;
    tracing::info!(library = %library.display(), "ONNX Runtime loaded");
    *guard = Some(Loaded {
        library: config.library.clone(),
        env: env.clone(),
    });
    Ok(env)
}

/// How one model's session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Intra-op threads (1 is usually best on a loaded machine; 0 lets ONNX Runtime choose).
    pub intra_threads: usize,
    pub device: OnnxDevice,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            intra_threads: 1,
            device: OnnxDevice::Cpu,
        }
    }
}

/// Opens a model file as an ONNX session on the given runtime.
pub fn open_session(
    runtime: &OnnxRuntimeConfig,
    model: &Path,
    options: SessionOptions,
) -> Result<Session, OnnxError> {
    let env = init(runtime)?;
    if !model.is_file() {
        return Err(OnnxError::ModelMissing(model.to_path_buf()));
    }
    let builder = Session::builder(&env)?
        .with_intra_threads(options.intra_threads)
        .map_err(ort::Error::from)?
        .with_inter_threads(1)
        .map_err(ort::Error::from)?;
    let mut builder = match options.device {
        OnnxDevice::Cpu => builder,
        #[cfg(feature = "cuda")]
        OnnxDevice::Cuda => builder
            .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
            .map_err(ort::Error::from)?,
        #[cfg(not(feature = "cuda"))]
        OnnxDevice::Cuda => return Err(OnnxError::CudaNotBuilt),
    };
    Ok(builder.commit_from_file(model)?)
}
