//! Slaney-style mel filterbank (librosa's default `htk=False, norm="slaney"`), the filters
//! Whisper was trained with. whisper.cpp reads them from the GGML header, and no registry
//! package ships Whisper's `mel_filters.npz`, so they are computed here.

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    (6.4f64).ln() / 27.0
}

/// Hz → mel on the Slaney scale (linear below 1 kHz, logarithmic above).
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

/// Mel → Hz on the Slaney scale.
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// The `n_mels × (n_fft/2 + 1)` filterbank, row-major, from 0 Hz to `sample_rate / 2`.
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_bins = n_fft / 2 + 1;
    let nyquist = sample_rate as f64 / 2.0;
    let fft_freqs: Vec<f64> = (0..n_bins)
        .map(|i| nyquist * i as f64 / (n_bins - 1) as f64)
        .collect();
    let (mel_lo, mel_hi) = (hz_to_mel(0.0), hz_to_mel(nyquist));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(mel_lo + (mel_hi - mel_lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = vec![0f32; n_mels * n_bins];
    for m in 0..n_mels {
        let (lo, mid, hi) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (hi - lo);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - lo) / (mid - lo);
            let upper = (hi - f) / (hi - mid);
            out[m * n_bins + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from faster-whisper 1.2.1's own numpy implementation
    /// (`FeatureExtractor.get_mel_filters(16000, 400, 80)`), computed outside this crate.
    const REFERENCE: &[(usize, usize, f64)] = &include!("mel_reference.in");

    #[test]
    fn matches_an_independent_reference() {
        let f = mel_filters(16000, 400, 80);
        assert_eq!(f.len(), 80 * 201);
        for &(m, k, want) in REFERENCE {
            let got = f64::from(f[m * 201 + k]);
            assert!(
                (got - want).abs() <= 1e-6 + want.abs() * 1e-5,
                "filter[{m}][{k}] = {got}, want {want}"
            );
        }
    }

    #[test]
    fn scale_round_trips_and_is_continuous_at_1khz() {
        for hz in [0.0, 250.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn triangles_are_non_negative_and_each_band_is_used() {
        let f = mel_filters(16000, 400, 80);
        assert!(f.iter().all(|&v| v >= 0.0));
        for m in 0..80 {
            assert!(
                f[m * 201..(m + 1) * 201].iter().any(|&v| v > 0.0),
                "band {m} is empty"
            );
        }
    }
}
