//! vaarta-speech
pub mod normalize;
pub mod onnx;
pub mod resample;
pub mod tts;
pub mod vad;
