//! Text normalisation for speech.
