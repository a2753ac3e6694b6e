//! Whisper log-mel features for Smart Turn: the last 8 s of 16 kHz audio as 80 mel bands × 800
//! frames, computed the way Pipecat's reference does (Hugging Face `WhisperFeatureExtractor`
//! with `chunk_length = 8`), because the model was trained on exactly those features:
//!
//! 1. keep the last 8 s (128 000 samples); a shorter turn is padded with zeros at the *start*,
//!    so the end of speech always sits at the right edge of the window;
//! 2. normalise the whole window (padding included) to zero mean and unit variance;
//! 3. centred STFT: reflect-pad 200 samples each side, periodic Hann window of 400, hop 160,
//!    power spectrum; the 801st frame is dropped;
//! 4. Slaney mel filterbank ([`crate::ggml::mel::mel_filters`]), floor 1e-10, log10;
//! 5. clamp to (max − 8), then `(x + 4) / 4` (Whisper's dynamic-range squeeze, roughly [-1, 1]).

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use crate::ggml::mel::mel_filters;

/// The model's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// FFT size (25 ms).
pub const N_FFT: usize = 400;
/// Frame hop (10 ms).
pub const HOP: usize = 160;
/// Mel bands.
pub const N_MELS: usize = 80;
/// Samples in the analysed window (8 s).
pub const WINDOW_SAMPLES: usize = 8 * SAMPLE_RATE as usize;
/// Frames per window.
pub const N_FRAMES: usize = WINDOW_SAMPLES / HOP;

const N_BINS: usize = N_FFT / 2 + 1;
const MEL_FLOOR: f64 = 1e-10;
const VARIANCE_EPS: f64 = 1e-7;

/// One mel band as the contiguous run of FFT bins where its triangle is non-zero (most of the
/// 201 weights are zero; skipping them makes the projection ~20× cheaper).
struct Band {
    first_bin: usize,
    weights: Vec<f64>,
}

/// Reusable feature extractor (FFT plan, window and filters are built once).
pub struct MelExtractor {
    bands: Vec<Band>,
    window: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl Default for MelExtractor {
    fn default() -> Self {
        Self::new()
    }
}

impl MelExtractor {
    pub fn new() -> Self {
        let filters = mel_filters(SAMPLE_RATE, N_FFT, N_MELS);
        let bands = filters
            .chunks(N_BINS)
            .map(|row| {
                let first = row.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w > 0.0).unwrap_or(first);
                Band {
                    first_bin: first,
                    weights: row[first..=last].iter().map(|&w| f64::from(w)).collect(),
                }
            })
            .collect();
        // Periodic Hann (torch.hann_window / np.hanning(N + 1)[:-1]).
        let window = (0..N_FFT)
            .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos())
            .collect();
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        Self { bands, window, fft }
    }

    /// Features of the last 8 s of `audio` (16 kHz mono, [-1, 1]), row-major `[mel][frame]`,
    /// `N_MELS × N_FRAMES` values.
    pub fn compute(&self, audio: &[f32]) -> Vec<f32> {
        let x = normalised_window(audio);
        let padded = reflect_pad(&x, N_FFT / 2);

        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut power = vec![0f64; N_BINS];
        let mut log_mel = vec![0f64; N_MELS * N_FRAMES];
        for frame in 0..N_FRAMES {
            let start = frame * HOP;
            for ((dst, &s), &w) in input
                .iter_mut()
                .zip(&padded[start..start + N_FFT])
                .zip(&self.window)
            {
                *dst = s * w;
            }
            self.fft
                .process(&mut input, &mut spectrum)
                .expect("FFT buffers are sized by the plan");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for (m, band) in self.bands.iter().enumerate() {
                let energy: f64 = band
                    .weights
                    .iter()
                    .zip(&power[band.first_bin..])
                    .map(|(w, p)| w * p)
                    .sum();
                log_mel[m * N_FRAMES + frame] = energy.max(MEL_FLOOR).log10();
            }
        }
        let max = log_mel.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        log_mel
            .iter()
            .map(|&v| ((v.max(max - 8.0) + 4.0) / 4.0) as f32)
            .collect()
    }
}

/// The last `WINDOW_SAMPLES` of `audio`, zero-padded at the start, then normalised to zero mean
/// and unit variance. Non-finite samples (a broken decoder) count as silence.
fn normalised_window(audio: &[f32]) -> Vec<f64> {
    let tail = &audio[audio.len().saturating_sub(WINDOW_SAMPLES)..];
    let mut x = vec![0f64; WINDOW_SAMPLES - tail.len()];
    x.extend(
        tail.iter()
            .map(|&v| if v.is_finite() { f64::from(v) } else { 0.0 }),
    );
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let scale = 1.0 / (var + VARIANCE_EPS).sqrt();
    for v in &mut x {
        *v = (*v - mean) * scale;
    }
    x
}

/// numpy's `pad(mode="reflect")`: mirrors around the edge samples without repeating them.
fn reflect_pad(x: &[f64], pad: usize) -> Vec<f64> {
    let n = x.len();
    let mut out = Vec::with_capacity(n + 2 * pad);
    out.extend((1..=pad).rev().map(|i| x[i]));
    out.extend_from_slice(x);
    out.extend((0..pad).map(|i| x[n - 2 - i]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, secs: f64) -> Vec<f32> {
        let n = (secs * f64::from(SAMPLE_RATE)) as usize;
        (0..n)
            .map(|i| (0.3 * (2.0 * std::f64::consts::PI * hz * i as f64 / 16_000.0).sin()) as f32)
            .collect()
    }

    /// Values from Pipecat 1.14.0's numpy reference (`compute_whisper_log_mel_features`) for
    /// 3 s of two modulated tones padded at the start to 8 s, computed outside this crate.
    const REFERENCE: &[(usize, usize, f64)] = &include!("features_reference.in");

    #[test]
    fn matches_the_reference_implementation() {
        let n = 48_000;
        let x: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f64 / 16_000.0;
                let tau = 2.0 * std::f64::consts::PI;
                ((0.5 + 0.5 * (tau * 1.5 * t).sin())
                    * (0.3 * (tau * 220.0 * t).sin() + 0.1 * (tau * 1800.0 * t + 0.5).sin()))
                    as f32
            })
            .collect();
        let f = MelExtractor::new().compute(&x);
        for &(m, frame, want) in REFERENCE {
            let got = f64::from(f[m * N_FRAMES + frame]);
            assert!(
                (got - want).abs() < 1e-4,
                "feature[{m}][{frame}] = {got}, want {want}"
            );
        }
    }

    #[test]
    fn shape_and_range() {
        let f = MelExtractor::new().compute(&tone(440.0, 3.0));
        assert_eq!(f.len(), N_MELS * N_FRAMES);
        assert_eq!(N_FRAMES, 800);
        let max = f.iter().copied().fold(f32::MIN, f32::max);
        let min = f.iter().copied().fold(f32::MAX, f32::min);
        // log10 range is clamped to 8 decades: (max - 8 + 4) / 4 = max_scaled - 2.
        assert!((max - min - 2.0).abs() < 1e-4, "min {min}, max {max}");
        assert!(max > 0.0 && max < 4.0, "max {max}");
    }

    #[test]
    fn tone_peaks_in_its_mel_band() {
        let ex = MelExtractor::new();
        let filters = mel_filters(SAMPLE_RATE, N_FFT, N_MELS);
        for hz in [300.0, 1000.0, 2500.0] {
            let f = ex.compute(&tone(hz, 8.0));
            // the band whose filter weighs the tone's FFT bin most
            let bin = (hz / 40.0).round() as usize;
            let want = (0..N_MELS)
                .max_by(|&a, &b| filters[a * N_BINS + bin].total_cmp(&filters[b * N_BINS + bin]))
                .unwrap();
            let frame = 400;
            let got = (0..N_MELS)
                .max_by(|&a, &b| f[a * N_FRAMES + frame].total_cmp(&f[b * N_FRAMES + frame]))
                .unwrap();
            assert!(
                got.abs_diff(want) <= 1,
                "{hz} Hz: peak band {got}, want {want}"
            );
        }
    }

    #[test]
    fn short_audio_is_padded_at_the_start() {
        let f = MelExtractor::new().compute(&tone(1000.0, 1.0));
        let floor = f.iter().copied().fold(f32::MAX, f32::min);
        let band_energy = |frame: usize| (0..N_MELS).map(|m| f[m * N_FRAMES + frame]).sum::<f32>();
        // first 6 s: silence at the floor; last second: the tone
        assert!((band_energy(100) - floor * N_MELS as f32).abs() < 1e-3);
        assert!(band_energy(750) > band_energy(100) + 1.0);
    }

    #[test]
    fn long_audio_keeps_the_last_eight_seconds() {
        let ex = MelExtractor::new();
        let mut long = vec![0.0f32; 4 * 16_000];
        let speech = tone(700.0, 8.0);
        long.extend_from_slice(&speech);
        assert_eq!(ex.compute(&long), ex.compute(&speech));
    }

    #[test]
    fn reflect_matches_numpy() {
        assert_eq!(
            reflect_pad(&[1.0, 2.0, 3.0, 4.0], 2),
            vec![3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]
        );
    }

    #[test]
    fn silence_and_garbage_do_not_produce_nan() {
        let ex = MelExtractor::new();
        let mut x = vec![0.0f32; 16_000];
        assert!(ex.compute(&x).iter().all(|v| v.is_finite()));
        x[10] = f32::NAN;
        x[20] = f32::INFINITY;
        assert!(ex.compute(&x).iter().all(|v| v.is_finite()));
    }
}
