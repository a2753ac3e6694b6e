//! Checks on audio before it reaches whisper.cpp: bad input gets a clear error or an empty
//! transcript, never a crash or a hallucinated sentence.

use super::SttError;

/// Whisper's only sample rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// Below this there is no word to recognise: empty transcript.
pub const MIN_SPEECH_MS: usize = 100;
/// whisper.cpp refuses less than 1 s; shorter audio is padded with silence to this.
pub const MIN_WHISPER_MS: usize = 1_050;
/// Peak below this is digital silence (Whisper hallucinates "Thank you." on it).
pub const SILENCE_PEAK: f32 = 1e-3;
/// Peaks above this mean the samples are not normalised floats (e.g. raw i16 values).
pub const MAX_PEAK: f32 = 2.0;

/// What to do with a buffer of samples.
#[derive(Debug, PartialEq)]
pub enum Prepared {
    /// Nothing to recognise (too short or silent): the transcript is empty.
    Nothing,
    /// Audio ready for whisper.cpp (clamped to [-1, 1], padded to at least 1 s).
    Audio(Vec<f32>),
}

/// Validates 16 kHz mono f32 samples in [-1, 1].
pub fn prepare(samples: &[f32], sample_rate: u32) -> Result<Prepared, SttError> {
    if sample_rate != SAMPLE_RATE {
        return Err(SttError::SampleRate(sample_rate));
    }
    if samples.is_empty() {
        return Err(SttError::EmptyAudio);
    }
    if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
        return Err(SttError::NonFinite(i));
    }
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    if peak > MAX_PEAK {
        return Err(SttError::NotNormalised(peak));
    }
    if samples.len() < MIN_SPEECH_MS * SAMPLE_RATE as usize / 1000 || peak < SILENCE_PEAK {
        return Ok(Prepared::Nothing);
    }
    let mut out: Vec<f32> = samples.iter().map(|s| s.clamp(-1.0, 1.0)).collect();
    let min_len = MIN_WHISPER_MS * SAMPLE_RATE as usize / 1000;
    if out.len() < min_len {
        out.resize(min_len, 0.0);
    }
    Ok(Prepared::Audio(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, amp: f32) -> Vec<f32> {
        (0..n).map(|i| amp * (i as f32 * 0.1).sin()).collect()
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(prepare(&[], 16_000), Err(SttError::EmptyAudio)));
        assert!(matches!(
            prepare(&tone(16_000, 0.5), 8_000),
            Err(SttError::SampleRate(8_000))
        ));
        let mut nan = tone(16_000, 0.5);
        nan[7] = f32::NAN;
        assert!(matches!(prepare(&nan, 16_000), Err(SttError::NonFinite(7))));
        assert!(matches!(
            prepare(&tone(16_000, 30_000.0), 16_000),
            Err(SttError::NotNormalised(_))
        ));
    }

    #[test]
    fn silence_and_crumbs_are_empty() {
        assert_eq!(
            prepare(&vec![0.0; 32_000], 16_000).unwrap(),
            Prepared::Nothing
        );
        assert_eq!(prepare(&tone(800, 0.5), 16_000).unwrap(), Prepared::Nothing);
    }

    #[test]
    fn clipped_is_clamped_and_short_is_padded() {
        let Prepared::Audio(a) = prepare(&tone(4_000, 1.5), 16_000).unwrap() else {
            panic!("expected audio")
        };
        assert_eq!(a.len(), 16_800);
        assert!(a.iter().all(|s| s.abs() <= 1.0));
        assert!(a[..4_000].contains(&1.0));
    }
}
