//! vaarta-speech
pub mod ggml;
pub mod pool;
pub mod stt;
