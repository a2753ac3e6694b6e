//! Sans-IO endpointing: speech probabilities with their audio timestamps in, speech start/end
//! events out. No model, no clock, no IO: the caller feeds `push` and drains `poll_event`.

use std::collections::VecDeque;
use std::time::Duration;

use super::VadConfig;

/// A speech boundary, in audio time since the stream began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech began at `at` (already padded); emitted once `min_speech` of speech is confirmed.
    SpeechStart { at: Duration },
    /// Speech ended at `at` (padded); emitted once `min_silence` of silence followed it.
    SpeechEnd { at: Duration },
}

/// Endpointing thresholds (see [`VadConfig`] for the meaning of each).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndpointerConfig {
    pub start_threshold: f32,
    pub end_threshold: f32,
    pub min_speech: Duration,
    pub min_silence: Duration,
    pub speech_pad: Duration,
}

impl From<&VadConfig> for EndpointerConfig {
    fn from(c: &VadConfig) -> Self {
        Self {
            start_threshold: c.start_threshold,
            // An end threshold above the start threshold would make speech flap; clamp it.
            end_threshold: c.end_threshold.min(c.start_threshold),
            min_speech: Duration::from_millis(c.min_speech_ms.into()),
            min_silence: Duration::from_millis(c.min_silence_ms.into()),
            // Padding the end by more than the silence we waited for would report the future.
            speech_pad: Duration::from_millis(c.speech_pad_ms.min(c.min_silence_ms).into()),
        }
    }
}

impl Default for EndpointerConfig {
    fn default() -> Self {
        (&VadConfig::default()).into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Silence,
    /// Probability crossed the start threshold at `start`, not yet long enough to count.
    Pending {
        start: Duration,
    },
    /// In speech; `silence_since` is when the probability last fell below the end threshold,
    /// `ended_at` the estimated end of speech (earlier: see [`MODEL_LAG_STEPS`]).
    Speech {
        silence_since: Option<(Duration, Duration)>,
    },
}

/// Silero's recurrent state makes its probability rise and decay over a few steps around the
/// real speech edges (about 100 ms late at the end). A bound is moved back over the monotonic
/// rise/decay that led to the threshold crossing, looking at most this many spans back.
pub const MODEL_LAG_STEPS: usize = 4;

/// The endpointing state machine for one audio stream.
#[derive(Debug, Clone)]
pub struct Endpointer {
    config: EndpointerConfig,
    state: State,
    /// End of the last reported speech; a padded start never goes before it.
    last_end: Duration,
    /// Audio time up to which probabilities were pushed.
    now: Duration,
    events: VecDeque<VadEvent>,
    /// The last few (span start, probability) pairs, oldest first.
    history: VecDeque<(Duration, f32)>,
}

impl Endpointer {
    pub fn new(config: EndpointerConfig) -> Self {
        Self {
            config,
            state: State::Silence,
            last_end: Duration::ZERO,
            now: Duration::ZERO,
            events: VecDeque::new(),
            history: VecDeque::new(),
        }
    }

    pub fn config(&self) -> EndpointerConfig {
        self.config
    }

    /// True while the stream is inside confirmed speech.
    pub fn in_speech(&self) -> bool {
        matches!(self.state, State::Speech { .. })
    }

    /// Audio time covered so far.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// Feeds the speech probability of the audio span `[at, at + len)`. Spans must be pushed in
    /// order; a span starting before the previous one ended is treated as starting at its end.
    pub fn push(&mut self, at: Duration, len: Duration, probability: f32) {
        let at = at.max(self.now);
        let end = at + len;
        self.now = end;
        // NaN (a broken model output) counts as silence rather than poisoning the state.
        let p = if probability.is_nan() {
            0.0
        } else {
            probability
        };
        let c = self.config;
        self.state = match self.state {
            State::Silence if p >= c.start_threshold => {
                let start = self.edge(at, p, true);
                self.confirm(start, end)
            }
            State::Silence => State::Silence,
            State::Pending { .. } if p < c.end_threshold => State::Silence,
            State::Pending { start } => self.confirm(start, end),
            State::Speech { .. } if p >= c.start_threshold => State::Speech {
                silence_since: None,
            },
            State::Speech { silence_since } => {
                let since = match silence_since {
                    Some(s) => Some(s),
                    None if p < c.end_threshold => Some((at, self.edge(at, p, false))),
                    None => None,
                };
                match since {
                    Some((s, ended_at)) if end - s >= c.min_silence => {
                        self.end_speech((ended_at + c.speech_pad).min(end));
                        State::Silence
                    }
                    other => State::Speech {
                        silence_since: other,
                    },
                }
            }
        };
        if self.history.len() == MODEL_LAG_STEPS {
            self.history.pop_front();
        }
        self.history.push_back((at, p));
    }

    /// Where the edge that crossed a threshold at `at` really began: back over the preceding
    /// spans of the monotonic rise (`rising`) or decay that led to it, stopping at the silence
    /// floor / speech plateau (the window's extreme), which belongs to the other side.
    fn edge(&self, at: Duration, p: f32, rising: bool) -> Duration {
        let values = self.history.iter().map(|h| h.1);
        let extreme = if rising {
            values.fold(f32::MAX, f32::min)
        } else {
            values.fold(f32::MIN, f32::max)
        };
        let (mut edge, mut later) = (at, p);
        for &(t, q) in self.history.iter().rev() {
            let on_edge = if rising {
                q < later && q > extreme
            } else {
                q > later && q < extreme
            };
            if !on_edge {
                break;
            }
            edge = t;
            later = q;
        }
        edge
    }

    /// The stream ended (hang-up, end of file): closes any open speech at the current time.
    pub fn finish(&mut self) {
        match self.state {
            State::Speech { silence_since } => {
                let end = silence_since.map_or(self.now, |(_, e)| {
                    (e + self.config.speech_pad).min(self.now)
                });
                self.end_speech(end);
            }
            State::Pending { start } if self.now - start >= self.config.min_speech => {
                self.start_speech(start);
                self.end_speech(self.now);
            }
            _ => {}
        }
        self.state = State::Silence;
    }

    /// Next event, if any.
    pub fn poll_event(&mut self) -> Option<VadEvent> {
        self.events.pop_front()
    }

    fn confirm(&mut self, start: Duration, end: Duration) -> State {
        if end - start >= self.config.min_speech {
            self.start_speech(start);
            State::Speech {
                silence_since: None,
            }
        } else {
            State::Pending { start }
        }
    }

    fn start_speech(&mut self, start: Duration) {
        let at = start
            .saturating_sub(self.config.speech_pad)
            .max(self.last_end);
        self.events.push_back(VadEvent::SpeechStart { at });
    }

    fn end_speech(&mut self, at: Duration) {
        self.last_end = at;
        self.events.push_back(VadEvent::SpeechEnd { at });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK: Duration = Duration::from_millis(32);

    fn cfg() -> EndpointerConfig {
        EndpointerConfig {
            start_threshold: 0.5,
            end_threshold: 0.35,
            min_speech: Duration::from_millis(96),
            min_silence: Duration::from_millis(160),
            speech_pad: Duration::from_millis(32),
        }
    }

    /// Feeds one probability per 32 ms chunk and collects the events.
    fn run(probs: &[f32], finish: bool) -> Vec<VadEvent> {
        let mut e = Endpointer::new(cfg());
        let mut out = Vec::new();
        for (i, p) in probs.iter().enumerate() {
            e.push(CHUNK * i as u32, CHUNK, *p);
            while let Some(ev) = e.poll_event() {
                out.push(ev);
            }
        }
        if finish {
            e.finish();
            while let Some(ev) = e.poll_event() {
                out.push(ev);
            }
        }
        out
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn speech_between_silences_gives_padded_bounds() {
        let mut p = vec![0.05; 10];
        p.extend([0.9; 10]); // chunks 10..20 = 320..640 ms
        p.extend([0.05; 10]);
        let ev = run(&p, false);
        assert_eq!(
            ev,
            vec![
                VadEvent::SpeechStart { at: ms(320 - 32) },
                VadEvent::SpeechEnd { at: ms(640 + 32) }
            ]
        );
    }

    #[test]
    fn short_blip_is_not_speech() {
        let mut p = vec![0.05; 5];
        p.extend([0.9; 2]); // 64 ms < min_speech 96 ms
        p.extend([0.05; 10]);
        assert!(run(&p, true).is_empty());
    }

    #[test]
    fn dip_between_thresholds_does_not_end_speech() {
        let mut p = vec![0.9; 5];
        p.extend([0.4; 20]); // between end and start thresholds: still speech
        p.extend([0.9; 2]);
        let ev = run(&p, false);
        assert_eq!(ev, vec![VadEvent::SpeechStart { at: ms(0) }]);
    }

    #[test]
    fn short_pause_is_bridged_long_pause_ends() {
        let mut p = vec![0.9; 5];
        p.extend([0.1; 4]); // 128 ms < min_silence
        p.extend([0.9; 5]);
        p.extend([0.1; 6]); // 192 ms >= min_silence
        let ev = run(&p, false);
        assert_eq!(
            ev,
            vec![
                VadEvent::SpeechStart { at: ms(0) },
                VadEvent::SpeechEnd {
                    at: ms(14 * 32 + 32)
                }
            ]
        );
    }

    #[test]
    fn pending_silence_needs_a_start_level_probability_to_reset() {
        // Below end threshold starts the silence timer; a value between thresholds keeps it
        // running, so the end still comes min_silence after the first quiet chunk.
        let mut p = vec![0.9; 5];
        p.extend([0.1, 0.4, 0.4, 0.4, 0.4, 0.4]);
        let ev = run(&p, false);
        assert_eq!(
            ev[1],
            VadEvent::SpeechEnd {
                at: ms(5 * 32 + 32)
            }
        );
    }

    #[test]
    fn model_decay_is_backdated_to_where_it_began() {
        // Silero-like tail: plateau, then a decay over 4 steps after the speech really ended.
        let mut p = vec![0.02; 5];
        p.extend([0.1, 0.45, 0.9]); // rise: 0.1 at 160 ms is above the floor, so the start is 160
        p.extend([1.0; 10]); // 256..576
        p.extend([0.96, 0.88, 0.6, 0.2]); // decay from 576: the end is 576
        p.extend([0.02; 6]);
        let ev = run(&p, false);
        assert_eq!(
            ev,
            vec![
                VadEvent::SpeechStart { at: ms(160 - 32) },
                VadEvent::SpeechEnd { at: ms(576 + 32) }
            ]
        );
    }

    #[test]
    fn finish_closes_open_speech() {
        let ev = run(&[0.9; 8], true);
        assert_eq!(
            ev,
            vec![
                VadEvent::SpeechStart { at: ms(0) },
                VadEvent::SpeechEnd { at: ms(256) }
            ]
        );
    }

    #[test]
    fn start_padding_never_overlaps_previous_end() {
        let mut c = cfg();
        c.speech_pad = Duration::from_millis(150);
        c.min_silence = Duration::from_millis(160);
        let mut e = Endpointer::new(c);
        let probs = [
            0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9,
        ];
        let mut out = Vec::new();
        for (i, p) in probs.iter().enumerate() {
            e.push(CHUNK * i as u32, CHUNK, *p);
            while let Some(ev) = e.poll_event() {
                out.push(ev);
            }
        }
        let VadEvent::SpeechEnd { at: end } = out[1] else {
            panic!("{out:?}")
        };
        let VadEvent::SpeechStart { at: start } = out[2] else {
            panic!("{out:?}")
        };
        assert!(start >= end, "{out:?}");
    }

    #[test]
    fn nan_and_out_of_order_input_do_not_panic() {
        let mut e = Endpointer::new(cfg());
        e.push(ms(100), CHUNK, f32::NAN);
        e.push(ms(0), CHUNK, 0.9);
        assert_eq!(e.now(), ms(164));
        assert!(e.poll_event().is_none());
    }
}
