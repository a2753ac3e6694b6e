//! Streaming VAD: accepts PCM frames of any length (e.g. 20 ms telephone frames), re-chunks
//! them to the model's 32 ms steps and runs the endpointer on the audio clock.

use std::time::Duration;

use super::endpoint::{Endpointer, EndpointerConfig, VadEvent};
use super::model::{SileroVad, VadRate};
use super::{VadConfig, VadError};
use crate::onnx::OnnxRuntimeConfig;

/// VAD for one audio stream.
pub struct VadStream {
    model: SileroVad,
    endpointer: Endpointer,
    pending: Vec<f32>,
    /// Samples already given to the model.
    consumed: u64,
    last_probability: f32,
    /// Highest probability since [`Self::take_peak_probability`] was last called.
    peak_probability: f32,
}

impl VadStream {
    /// Opens the configured model for a stream at `sample_rate` (8000 or 16000).
    pub fn open(
        runtime: &OnnxRuntimeConfig,
        config: &VadConfig,
        sample_rate: u32,
    ) -> Result<Self, VadError> {
        let rate = VadRate::from_hz(sample_rate)?;
        let model = SileroVad::open(runtime, &config.model, rate, config.threads)?;
        Ok(Self::new(model, config.into()))
    }

    pub fn new(model: SileroVad, config: EndpointerConfig) -> Self {
        Self {
            model,
            endpointer: Endpointer::new(config),
            pending: Vec::new(),
            consumed: 0,
            last_probability: 0.0,
            peak_probability: 0.0,
        }
    }

    /// Feeds float samples in [-1, 1]; returns the events this audio completed.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<VadEvent>, VadError> {
        // NaN/inf or out-of-range samples (a broken decoder) would poison the model's
        // recurrent state for the rest of the call; clamp them instead.
        self.pending.extend(samples.iter().map(|v| {
            if v.is_finite() {
                v.clamp(-1.0, 1.0)
            } else {
                0.0
            }
        }));
        let n = self.model.rate().chunk_len();
        let hz = u64::from(self.model.rate().hz());
        let mut offset = 0;
        let mut events = Vec::new();
        while self.pending.len() - offset >= n {
            let chunk = &self.pending[offset..offset + n];
            let p = self.model.predict(chunk)?;
            self.last_probability = p;
            self.peak_probability = self.peak_probability.max(p);
            let at = samples_to_duration(self.consumed, hz);
            self.endpointer
                .push(at, samples_to_duration(n as u64, hz), p);
            self.consumed += n as u64;
            offset += n;
            while let Some(ev) = self.endpointer.poll_event() {
                events.push(ev);
            }
        }
        self.pending.drain(..offset);
        Ok(events)
    }

    /// Feeds 16-bit PCM (the telephone path after G.711 decoding).
    pub fn push_i16(&mut self, samples: &[i16]) -> Result<Vec<VadEvent>, VadError> {
        let f: Vec<f32> = samples.iter().map(|s| f32::from(*s) / 32768.0).collect();
        self.push(&f)
    }

    /// End of stream: closes open speech. The stream can be reused after [`Self::reset`].
    pub fn finish(&mut self) -> Vec<VadEvent> {
        self.endpointer.finish();
        std::iter::from_fn(|| self.endpointer.poll_event()).collect()
    }

    /// Starts over (new call on a pooled stream).
    pub fn reset(&mut self) {
        self.model.reset();
        self.endpointer = Endpointer::new(self.endpointer.config());
        self.pending.clear();
        self.consumed = 0;
        self.last_probability = 0.0;
        self.peak_probability = 0.0;
    }

    pub fn in_speech(&self) -> bool {
        self.endpointer.in_speech()
    }

    /// Probability of the most recent model step (for barge-in heuristics and metrics).
    pub fn last_probability(&self) -> f32 {
        self.last_probability
    }

    /// The highest speech probability since the previous call: a sound too short to start
    /// speech (under `min_speech_ms`) still shows here.
    pub fn take_peak_probability(&mut self) -> f32 {
        std::mem::take(&mut self.peak_probability)
    }

    /// Probability under which a frame is silence.
    pub fn end_threshold(&self) -> f32 {
        self.endpointer.config().end_threshold
    }

    /// Audio time processed by the model so far.
    pub fn position(&self) -> Duration {
        self.endpointer.now()
    }
}

fn samples_to_duration(samples: u64, hz: u64) -> Duration {
    Duration::from_nanos(samples * 1_000_000_000 / hz)
}
