//! The caller side of a session: inbound PCM → VAD endpointing → the utterance's 16 kHz audio
//! (with pre-roll, so the first syllable before the VAD decision is not lost) → partial and
//! final transcription jobs on the STT pool. Pure bookkeeping plus VAD inference; the session
//! runs the STT jobs it hands out.

use std::collections::VecDeque;
use std::sync::Arc;

use vaarta_speech::stt::{PartialConfig, PartialJob, SttSession};
use vaarta_speech::vad::{VadError, VadEvent, VadStream};

/// Audio kept from before the VAD's speech start.
const PRE_ROLL_MS: usize = 400;
/// The caller's last seconds at the line rate, for the end-of-turn model (it reads the last
/// 8 s, properly resampled to 16 kHz: the cheap interpolation of partials confuses it).
const RECENT_MS: usize = 8_500;
const STT_RATE: u32 = 16_000;

/// VAD + utterance audio for one call.
pub struct Listener {
    vad: VadStream,
    rate: u32,
    partials: PartialConfig,
    pre_roll: VecDeque<f32>,
    utterance: Option<SttSession>,
    /// The same audio at the line rate: the final transcription resamples it properly
    /// (partials make do with the cheap interpolation).
    native_pre_roll: VecDeque<f32>,
    native: Vec<f32>,
    upsampler: Upsampler,
    /// Inbound samples pushed so far (the VAD's audio clock).
    pushed: u64,
    /// The last [`RECENT_MS`] of the caller at the line rate, speech and silence alike.
    recent: VecDeque<f32>,
    /// A frame above the VAD's silence threshold came after the last [`Self::snapshot`]
    /// (even one too short for the VAD to call it speech, e.g. a last word "sofa").
    voice_since_snapshot: bool,
}

impl Listener {
    pub fn new(vad: VadStream, rate: u32, partials: PartialConfig) -> Self {
        Self {
            vad,
            rate,
            partials,
            pre_roll: VecDeque::new(),
            utterance: None,
            native_pre_roll: VecDeque::new(),
            native: Vec::new(),
            upsampler: Upsampler::new(rate),
            pushed: 0,
            recent: VecDeque::new(),
            voice_since_snapshot: false,
        }
    }

    /// Feeds caller audio; returns the VAD decisions it completed.
    pub fn push(&mut self, pcm: &[i16]) -> Result<Vec<VadEvent>, VadError> {
        let events = self.vad.push_i16(pcm)?;
        if self.vad.take_peak_probability() >= self.vad.end_threshold() {
            self.voice_since_snapshot = true;
        }
        self.pushed += pcm.len() as u64;
        let wide = self.upsampler.run(pcm);
        self.recent
            .extend(pcm.iter().map(|&v| f32::from(v) / 32768.0));
        let keep = RECENT_MS * self.rate as usize / 1000;
        while self.recent.len() > keep {
            self.recent.pop_front();
        }
        for e in &events {
            if matches!(e, VadEvent::SpeechStart { .. }) && self.utterance.is_none() {
                let mut s = SttSession::new(self.partials);
                let pre: Vec<f32> = self.pre_roll.iter().copied().collect();
                s.push(&pre);
                self.utterance = Some(s);
                self.native = self.native_pre_roll.iter().copied().collect();
            }
        }
        let line = pcm.iter().map(|&v| f32::from(v) / 32768.0);
        match &mut self.utterance {
            Some(s) => {
                s.push(&wide);
                self.native.extend(line);
            }
            None => {
                self.native_pre_roll.extend(line);
                let keep = PRE_ROLL_MS * self.rate as usize / 1000;
                while self.native_pre_roll.len() > keep {
                    self.native_pre_roll.pop_front();
                }
                self.pre_roll.extend(wide);
                let keep = PRE_ROLL_MS * STT_RATE as usize / 1000;
                while self.pre_roll.len() > keep {
                    self.pre_roll.pop_front();
                }
            }
        }
        Ok(events)
    }

    /// A partial transcription that is due now, if any.
    /// None once the caller stopped talking: the final is coming and must not queue behind one.
    pub fn poll_partial(&mut self) -> Option<PartialJob> {
        if !self.vad.in_speech() {
            return None;
        }
        self.utterance.as_mut()?.poll_partial()
    }

    /// Feeds back a partial result; returns the new partial text when it is still current.
    pub fn on_partial(&mut self, job: &PartialJob, text: &str) -> Option<String> {
        let t = vaarta_speech::stt::Transcript {
            text: text.to_string(),
            ..Default::default()
        };
        self.utterance
            .as_mut()?
            .on_partial(job, Some(&t))
            .map(str::to_string)
    }

    /// Ends the utterance: its whole audio for the final transcription (empty if none).
    pub fn finalize(&mut self) -> Arc<[f32]> {
        self.pre_roll.clear();
        self.native_pre_roll.clear();
        let native = std::mem::take(&mut self.native);
        let Some(s) = self.utterance.take() else {
            return Arc::from(Vec::new());
        };
        if self.rate == STT_RATE {
            return s.finalize().into();
        }
        match vaarta_speech::resample::resample(&native, self.rate, STT_RATE) {
            Ok(v) => v.into(),
            Err(_) => s.finalize().into(),
        }
    }

    /// The utterance so far, without ending it: the speculative final's input (None outside
    /// an utterance). Resample it off the audio loop.
    pub fn snapshot(&mut self) -> Option<RecentAudio> {
        self.utterance.as_ref()?;
        self.voice_since_snapshot = false;
        Some(RecentAudio {
            line: self.native.clone(),
            rate: self.rate,
        })
    }

    /// Nothing but silence came since the last [`Self::snapshot`]: it still covers the whole
    /// utterance.
    pub fn quiet_since_snapshot(&self) -> bool {
        !self.voice_since_snapshot
    }

    /// How long ago, in the caller's audio, the stream position `at` was: the VAD reports
    /// speech end in audio time, `min_silence_ms` before it decides.
    pub fn audio_age(&self, at: std::time::Duration) -> std::time::Duration {
        let now =
            std::time::Duration::from_micros(self.pushed * 1_000_000 / u64::from(self.rate.max(1)));
        now.saturating_sub(at)
    }

    /// Audio time the VAD has processed (its stream clock).
    pub fn position(&self) -> std::time::Duration {
        self.vad.position()
    }

    /// The caller's audio between stream times `start` and `end` (what is still kept of it) at
    /// 16 kHz: the end-of-turn model's input. Resamples: run it off the audio loop.
    pub fn recent_audio(
        &self,
        start: std::time::Duration,
        end: std::time::Duration,
    ) -> RecentAudio {
        let line = slice_recent(
            &self.recent,
            self.rate,
            self.pushed as f64 / f64::from(self.rate.max(1)),
            start,
            end,
        );
        RecentAudio {
            line,
            rate: self.rate,
        }
    }

    /// Sample rate of the inbound audio.
    pub fn rate(&self) -> u32 {
        self.rate
    }
}

/// A slice of the caller's audio at the line rate.
pub struct RecentAudio {
    line: Vec<f32>,
    rate: u32,
}

impl RecentAudio {
    /// How much audio this is.
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.line.len() as f64 / f64::from(self.rate.max(1)))
    }

    /// The audio at 16 kHz.
    pub fn to_16k(&self) -> Vec<f32> {
        if self.rate == STT_RATE {
            return self.line.clone();
        }
        vaarta_speech::resample::resample(&self.line, self.rate, STT_RATE).unwrap_or_default()
    }
}

/// The part of `recent` (at `rate`, ending at stream time `now_s`) between stream times
/// `start` and `end`.
fn slice_recent(
    recent: &VecDeque<f32>,
    rate: u32,
    now_s: f64,
    start: std::time::Duration,
    end: std::time::Duration,
) -> Vec<f32> {
    let per_s = f64::from(rate);
    let total = recent.len();
    let from_end = |t: std::time::Duration| ((now_s - t.as_secs_f64()).max(0.0) * per_s) as usize;
    let (a, b) = (
        total.saturating_sub(from_end(start)),
        total.saturating_sub(from_end(end)),
    );
    recent.range(a..b.max(a)).copied().collect()
}

/// Telephone audio to Whisper's 16 kHz. 8 kHz is doubled with linear interpolation (cheap,
/// per frame, no latency); 16 kHz passes through; other rates use the speech crate's resampler.
struct Upsampler {
    rate: u32,
    last: f32,
}

impl Upsampler {
    fn new(rate: u32) -> Self {
        Self { rate, last: 0.0 }
    }

    fn run(&mut self, pcm: &[i16]) -> Vec<f32> {
        let f: Vec<f32> = pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
        match self.rate {
            STT_RATE => f,
            8_000 => {
                let mut out = Vec::with_capacity(f.len() * 2);
                for &s in &f {
                    out.push((self.last + s) * 0.5);
                    out.push(s);
                    self.last = s;
                }
                out
            }
            other => vaarta_speech::resample::resample(&f, other, STT_RATE).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_audio_is_cut_by_stream_time() {
        let recent: VecDeque<f32> = (0..16_000 * 3).map(|i| i as f32).collect();
        let s = |ms: u64| std::time::Duration::from_millis(ms);
        let a = slice_recent(&recent, 16_000, 3.0, s(1000), s(2000));
        assert_eq!(a.len(), 16_000);
        assert_eq!(a[0], 16_000.0);
        // 10 s in, only the last 3 s are kept: a wider request gets what is there.
        assert_eq!(
            slice_recent(&recent, 16_000, 10.0, s(0), s(10_000)).len(),
            48_000
        );
        assert!(slice_recent(&recent, 16_000, 10.0, s(9_000), s(8_000)).is_empty());
    }

    #[test]
    fn eight_khz_doubles_with_interpolation() {
        let mut u = Upsampler::new(8000);
        let out = u.run(&[0, 16384, 0]);
        assert_eq!(out.len(), 6);
        assert!(
            (out[1] - 0.0).abs() < 1e-6
                && (out[2] - 0.25).abs() < 1e-6
                && (out[3] - 0.5).abs() < 1e-6
        );
        assert_eq!(Upsampler::new(16000).run(&[16384]).len(), 1);
    }
}
