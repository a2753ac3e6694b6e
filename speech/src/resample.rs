//! Sample-rate conversion (rubato): TTS voices speak at 22.05 kHz, telephone legs want 8 kHz
//! and the widget 16 kHz or more.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Errors converting sample rates.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("sample rates must be positive (got {from} Hz -> {to} Hz)")]
    BadRate { from: u32, to: u32 },
    #[error("resampler failed: {0}")]
    Rubato(String),
}

/// Resamples a whole mono clip from `from` Hz to `to` Hz. The result has
/// `round(len * to / from)` samples and no startup delay (rubato trims it).
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, ResampleError> {
    if from == 0 || to == 0 {
        return Err(ResampleError::BadRate { from, to });
    }
    if from == to || input.is_empty() {
        return Ok(input.to_vec());
    }
    let mut resampler = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)
        .map_err(|e| ResampleError::Rubato(e.to_string()))?;
    let adapter = InterleavedSlice::new(input, 1, input.len())
        .map_err(|e| ResampleError::Rubato(e.to_string()))?;
    let out = resampler
        .process_all(&adapter, input.len(), None)
        .map_err(|e| ResampleError::Rubato(e.to_string()))?;
    let mut samples = out.take_data();
    let want = expected_len(input.len(), from, to);
    samples.resize(want, 0.0);
    Ok(samples)
}

/// Number of samples `len` input samples become at the new rate.
pub fn expected_len(len: usize, from: u32, to: u32) -> usize {
    ((len as u64 * to as u64 + from as u64 / 2) / from as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f32, secs: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    /// Frequency estimate from zero crossings: a resampled tone keeps its pitch.
    fn zero_crossing_hz(x: &[f32], rate: u32) -> f32 {
        let crossings = x.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        crossings as f32 * rate as f32 / x.len() as f32
    }

    #[test]
    fn down_to_telephone_rate_keeps_length_and_pitch() {
        let x = sine(22050, 440.0, 1.0);
        let y = resample(&x, 22050, 8000).unwrap();
        assert_eq!(y.len(), 8000);
        let hz = zero_crossing_hz(&y[400..7600], 8000);
        assert!((hz - 440.0).abs() < 5.0, "pitch {hz}");
        let peak = y.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!((peak - 0.5).abs() < 0.05, "peak {peak}");
    }

    #[test]
    fn up_and_same_rate() {
        let x = sine(22050, 300.0, 0.5);
        assert_eq!(
            resample(&x, 22050, 48000).unwrap().len(),
            expected_len(x.len(), 22050, 48000)
        );
        assert_eq!(resample(&x, 16000, 16000).unwrap(), x);
        assert!(resample(&[], 22050, 8000).unwrap().is_empty());
        assert!(matches!(
            resample(&x, 0, 8000),
            Err(ResampleError::BadRate { .. })
        ));
    }

    #[test]
    fn removes_content_above_the_new_nyquist() {
        let x = sine(22050, 6000.0, 0.5);
        let y = resample(&x, 22050, 8000).unwrap();
        let rms = (y.iter().map(|v| v * v).sum::<f32>() / y.len() as f32).sqrt();
        assert!(rms < 0.02, "6 kHz tone should vanish at 8 kHz, rms {rms}");
    }
}
