//! One caller turn, sans-IO: the orchestrator pushes 16 kHz audio as it arrives, asks
//! whether a partial transcription is due (measured in audio time, no clock), runs it on
//! the engine pool, feeds the result back, and takes the whole utterance at end of turn.

use std::sync::Arc;

use super::input::SAMPLE_RATE;
use super::{PartialConfig, Transcript};

/// Longest audio a partial looks at: Whisper's window.
const PARTIAL_WINDOW_SAMPLES: usize = 30 * SAMPLE_RATE as usize;

/// A partial transcription to run: the audio so far (last 30 s at most).
#[derive(Debug, Clone)]
pub struct PartialJob {
    /// Samples to transcribe (16 kHz).
    pub audio: Arc<[f32]>,
    /// Total samples pushed when this job was cut (identifies it for [`SttSession::on_partial`]).
    pub upto: usize,
}

/// Partial/final bookkeeping for one utterance.
#[derive(Debug)]
pub struct SttSession {
    cfg: PartialConfig,
    audio: Vec<f32>,
    /// Samples pushed when the last partial job was handed out.
    last_job_at: usize,
    /// A partial job is out and its result not back yet.
    in_flight: bool,
    /// Latest partial text and the sample count it covers.
    partial: Option<(usize, String)>,
}

impl SttSession {
    /// A new, empty turn.
    pub fn new(cfg: PartialConfig) -> Self {
        Self {
            cfg,
            audio: Vec::new(),
            last_job_at: 0,
            in_flight: false,
            partial: None,
        }
    }

    /// Appends speech samples (16 kHz mono f32).
    pub fn push(&mut self, samples: &[f32]) {
        self.audio.extend_from_slice(samples);
    }

    /// Audio held so far, in ms.
    pub fn audio_ms(&self) -> u64 {
        self.audio.len() as u64 * 1000 / SAMPLE_RATE as u64
    }

    /// A partial job when one is due: enabled, enough speech, at least `interval_ms` of new
    /// audio since the last job, and the previous job answered (never two at once, so a
    /// slow engine degrades to fewer partials instead of a backlog).
    pub fn poll_partial(&mut self) -> Option<PartialJob> {
        let ms = |n: u32| n as usize * SAMPLE_RATE as usize / 1000;
        let len = self.audio.len();
        if !self.cfg.enabled || self.in_flight || len < ms(self.cfg.min_audio_ms) {
            return None;
        }
        if self.last_job_at > 0 && len - self.last_job_at < ms(self.cfg.interval_ms) {
            return None;
        }
        self.last_job_at = len;
        self.in_flight = true;
        let start = len.saturating_sub(PARTIAL_WINDOW_SAMPLES);
        Some(PartialJob {
            audio: Arc::from(&self.audio[start..]),
            upto: len,
        })
    }

    /// Records the result of a partial job (or its failure, with `None`). Returns the new
    /// partial text when it changed, for the caller to show or act on.
    pub fn on_partial(&mut self, job: &PartialJob, result: Option<&Transcript>) -> Option<&str> {
        self.in_flight = false;
        let t = result?;
        let newer = self
            .partial
            .as_ref()
            .is_none_or(|(upto, _)| job.upto > *upto);
        let changed = self
            .partial
            .as_ref()
            .is_none_or(|(_, text)| *text != t.text);
        if newer && changed && !t.text.is_empty() {
            self.partial = Some((job.upto, t.text.clone()));
            return self.partial.as_ref().map(|(_, s)| s.as_str());
        }
        None
    }

    /// The latest partial text, if any.
    pub fn partial(&self) -> Option<&str> {
        self.partial.as_ref().map(|(_, s)| s.as_str())
    }

    /// End of turn: the whole utterance for the final transcription.
    pub fn finalize(self) -> Vec<f32> {
        self.audio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PartialConfig {
        PartialConfig {
            enabled: true,
            interval_ms: 500,
            min_audio_ms: 300,
        }
    }

    fn said(text: &str) -> Transcript {
        Transcript {
            text: text.into(),
            ..Default::default()
        }
    }

    #[test]
    fn partials_follow_audio_time_and_never_overlap() {
        let mut s = SttSession::new(cfg());
        s.push(&[0.1; 3_200]); // 200 ms
        assert!(s.poll_partial().is_none(), "below min_audio_ms");
        s.push(&[0.1; 3_200]); // 400 ms
        let job = s.poll_partial().expect("first partial");
        assert_eq!(job.audio.len(), 6_400);
        s.push(&[0.1; 16_000]);
        assert!(s.poll_partial().is_none(), "previous job still out");
        assert_eq!(s.on_partial(&job, Some(&said("hello"))), Some("hello"));
        let job2 = s.poll_partial().expect("1 s of new audio");
        assert_eq!(
            s.on_partial(&job2, Some(&said("hello"))),
            None,
            "unchanged text"
        );
        s.push(&[0.1; 1_600]); // 100 ms
        assert!(s.poll_partial().is_none(), "interval not reached");
        s.push(&[0.1; 8_000]);
        let job3 = s.poll_partial().unwrap();
        assert_eq!(s.on_partial(&job3, None), None, "failed job frees the slot");
        assert_eq!(s.partial(), Some("hello"));
        assert_eq!(s.finalize().len(), 6_400 + 16_000 + 1_600 + 8_000);
    }

    #[test]
    fn disabled_partials_only_finalize() {
        let mut s = SttSession::new(PartialConfig {
            enabled: false,
            ..cfg()
        });
        s.push(&[0.1; 48_000]);
        assert!(s.poll_partial().is_none());
        assert_eq!(s.audio_ms(), 3_000);
        assert_eq!(s.finalize().len(), 48_000);
    }

    #[test]
    fn partial_window_is_capped_at_30_s() {
        let mut s = SttSession::new(cfg());
        s.push(&vec![0.1; 40 * 16_000]);
        assert_eq!(s.poll_partial().unwrap().audio.len(), 30 * 16_000);
    }
}
