//! vaarta-speech
