//! Text to speech.
