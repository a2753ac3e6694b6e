//! Silence before a sentence. Voices pad their output (Piper: up to ~220 ms before the first
//! phoneme); at the start of an answer that padding is dead air the caller waits through, so
//! each sentence keeps only a short margin before its first sound. The padding after the last
//! sound stays: it is the pause between sentences, and a quiet final syllable's decay lives in
//! it (cutting it made Kokoro's Hindi harder to understand).

/// Kept before the first sound (a soft onset is never clipped).
const LEAD_MS: usize = 30;
/// Window over which the level is judged.
const WINDOW_MS: usize = 5;
/// Level (of full scale, after peak normalisation to 0.9) below which audio counts as silence:
/// about -46 dBFS, under any consonant's onset.
const SILENCE: f32 = 0.005;

/// Trims `audio` (at `rate` Hz) in place to [`LEAD_MS`] before its first sound. Silent audio
/// is left as it is.
pub fn trim_leading_silence(audio: &mut Vec<f32>, rate: u32) {
    let per_ms = rate as usize / 1000;
    let window = (WINDOW_MS * per_ms).max(1);
    let loud = |w: &[f32]| w.iter().any(|v| v.abs() > SILENCE);
    let Some(first) = audio.chunks(window).position(loud) else {
        return;
    };
    let start = (first * window).saturating_sub(LEAD_MS * per_ms);
    audio.drain(..start);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(lead_ms: usize, tone_ms: usize, tail_ms: usize) -> Vec<f32> {
        let r = 16;
        let mut a = vec![0.0001; lead_ms * r];
        a.extend((0..tone_ms * r).map(|i| 0.5 * (i as f32 * 0.3).sin()));
        a.extend(vec![0.0; tail_ms * r]);
        a
    }

    #[test]
    fn long_leading_padding_is_cut_to_the_margin() {
        let mut a = padded(220, 300, 250);
        trim_leading_silence(&mut a, 16_000);
        let ms = a.len() / 16;
        assert!(
            (LEAD_MS + 300 + 250 - 5..=LEAD_MS + 300 + 250 + 5).contains(&ms),
            "{ms} ms"
        );
        assert!(
            a[..LEAD_MS * 16 - 5 * 16]
                .iter()
                .all(|v| v.abs() <= SILENCE)
        );
        assert!(
            a[LEAD_MS * 16 + 5 * 16..]
                .iter()
                .take(160)
                .any(|v| v.abs() > 0.1)
        );
    }

    #[test]
    fn short_padding_and_silence_are_kept() {
        let mut a = padded(10, 100, 50);
        let before = a.len();
        trim_leading_silence(&mut a, 16_000);
        assert_eq!(a.len(), before);
        let mut quiet = vec![0.0; 1600];
        trim_leading_silence(&mut quiet, 16_000);
        assert_eq!(quiet.len(), 1600);
    }
}
