//! Vaarta's speech engines: VAD (Silero via ort), STT (whisper.cpp via whisper-rs), TTS (Piper
//! via ort + espeak-ng phonemes), semantic end of turn (Smart Turn via ort), text normalisation
//! for speech, and bounded engine pools.
//! A leaf crate: no database, no HTTP, no business rules.
pub mod decode;
pub mod embed;
pub mod file_transcribe;
pub mod ggml;
pub mod normalize;
pub mod onnx;
pub mod pool;
pub mod resample;
pub mod stt;
pub mod tts;
pub mod turn;
pub mod vad;
