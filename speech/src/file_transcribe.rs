//! Whole-file transcription: decoded audio → per-channel VAD chunks → Whisper per chunk →
//! a structured transcript with speakers, talk time, silence and overtalk. The one pipeline
//! behind `vaarta transcribe FILE --json` and the audit-transcription job.
//!
//! Checkpointable in three steps, each pure data in and out:
//! 1. [`plan`] runs the VAD and returns a [`TranscriptionPlan`] (serde): the chunk list.
//! 2. [`transcribe_chunk`] turns one [`ChunkPlan`] into a [`ChunkResult`] (serde). A job
//!    runner persists each result as it finishes; [`transcribe_chunks`] skips the chunks in
//!    `already_done`, so a restart resumes instead of starting over.
//! 3. [`assemble`] combines the plan and all chunk results into a [`FileTranscript`].
//!
//! Speakers: a stereo recording carries one party per channel (`agent`/`customer`, by
//! [`ChannelMapping`]). A mono recording gets turn labels from VAD pauses: speech after a
//! pause of at least `turn_pause_ms` is taken to be the other party, so labels alternate
//! `speaker_1`, `speaker_2`, `speaker_1`... A heuristic: two people who answer each other
//! quickly, or one person pausing long, are mislabelled; diarisation would replace it.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::decode::{DecodeConfig, DecodeError, DecodedAudio, TARGET_RATE};
use crate::onnx::OnnxRuntimeConfig;
use crate::pool::PoolError;
use crate::stt::{SttError, SttPool, TranscribeOptions, Transcriber};
use crate::vad::{VadConfig, VadError, VadEvent, VadStream};

/// Which party each stereo channel carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelMapping {
    /// Left = agent, right = customer (most call recorders).
    #[default]
    LeftAgent,
    /// Left = customer, right = agent.
    LeftCustomer,
}

impl ChannelMapping {
    /// Speaker label of stereo channel `channel` (0 = left).
    pub fn speaker(self, channel: usize) -> &'static str {
        match (self, channel) {
            (Self::LeftAgent, 0) | (Self::LeftCustomer, 1) => "agent",
            _ => "customer",
        }
    }
}

/// `[speech.file_transcribe]`: how recordings are cut into chunks and labelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileTranscribeConfig {
    /// Limits on accepted files.
    pub decode: DecodeConfig,
    /// Silero VAD model and thresholds (used at 16 kHz).
    pub vad: VadConfig,
    /// Stereo channel → speaker mapping (per request in the audit API).
    pub channel_mapping: ChannelMapping,
    /// Speech regions closer than this (ms) are transcribed as one chunk (more context for
    /// Whisper, fewer runs).
    pub merge_gap_ms: u64,
    /// Longest chunk (ms); Whisper's window is 30 s. Longer speech is split at its quietest
    /// point near the limit.
    pub max_chunk_ms: u64,
    /// Audio kept around each chunk (ms), so word edges are not clipped.
    pub chunk_pad_ms: u64,
    /// Mono only: a pause at least this long (ms) switches the speaker label.
    pub turn_pause_ms: u64,
    /// Fixed language for every chunk (`None`: the STT config's language or detection).
    pub language: Option<String>,
    /// Domain words that bias recognition.
    pub initial_prompt: Option<String>,
}

impl Default for FileTranscribeConfig {
    fn default() -> Self {
        Self {
            decode: DecodeConfig::default(),
            vad: VadConfig::default(),
            channel_mapping: ChannelMapping::default(),
            merge_gap_ms: 600,
            max_chunk_ms: 25_000,
            chunk_pad_ms: 300,
            turn_pause_ms: 1_000,
            language: None,
            initial_prompt: None,
        }
    }
}

/// Why a file could not be transcribed.
#[derive(Debug, thiserror::Error)]
pub enum FileTranscribeError {
    /// The file is at fault (HTTP 422 with `code()`), or it could not be read.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("voice activity detection failed: {0}")]
    Vad(#[from] VadError),
    #[error("speech recognition failed: {0}")]
    Stt(#[from] SttError),
    /// The STT pool turned the chunk away (over its budget) or is shut down: retry later.
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error("saved chunk {index} does not belong to this plan (plan changed since it was saved)")]
    PlanMismatch { index: usize },
    #[error("chunk {index} is outside the audio (channel {channel}, {start_ms}..{end_ms} ms)")]
    ChunkOutOfRange {
        index: usize,
        channel: usize,
        start_ms: u64,
        end_ms: u64,
    },
}

/// A stretch of speech on one channel, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start_ms: u64,
    pub end_ms: u64,
}

impl Span {
    fn len(self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

/// One piece of audio to transcribe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkPlan {
    /// Position in the plan (stable id for checkpoints).
    pub index: usize,
    pub channel: usize,
    pub speaker: String,
    /// Audio to transcribe (speech plus padding), ms from the start of the file.
    pub start_ms: u64,
    pub end_ms: u64,
    /// The speech inside it as the VAD found it; Whisper's segment times (coarse at the
    /// edges of a chunk) are clamped into it.
    pub speech_start_ms: u64,
    pub speech_end_ms: u64,
}

/// What to transcribe, decided before any STT runs; persist it with the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptionPlan {
    pub duration_ms: u64,
    pub channels: usize,
    /// Chunks ordered by start time (then channel).
    pub chunks: Vec<ChunkPlan>,
    /// Speech found by the VAD, per speaker label, for talk time and overtalk.
    pub speech: Vec<SpeakerSpeech>,
}

/// The VAD's speech regions attributed to one speaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerSpeech {
    pub speaker: String,
    pub spans: Vec<Span>,
}

/// One timed, attributed piece of the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSegment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub speaker: String,
    pub channel: usize,
    pub text: String,
    pub language: Option<String>,
    /// 1 − Whisper's no-speech probability for the segment (0..1): low values flag
    /// segments that may be noise rather than words.
    pub confidence: f32,
}

/// The transcription of one chunk; persist it to resume a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkResult {
    pub index: usize,
    pub channel: usize,
    pub start_ms: u64,
    pub end_ms: u64,
    pub language: Option<String>,
    pub segments: Vec<FileSegment>,
    /// Wall time Whisper spent on the chunk.
    pub compute_ms: u64,
}

/// Talk time of one speaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkTime {
    pub speaker: String,
    pub talk_time_ms: u64,
}

/// The structured transcript of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileTranscript {
    pub duration_ms: u64,
    /// Languages heard, most speech first.
    pub languages: Vec<String>,
    /// Segments in time order.
    pub segments: Vec<FileSegment>,
    /// Segment texts in time order, with speaker labels when there is more than one.
    pub text: String,
    pub talk_time: Vec<TalkTime>,
    /// Time nobody speaks.
    pub silence_ms: u64,
    /// Time two speakers speak at once (stereo, or overlapping mono turns: never).
    pub overtalk_ms: u64,
}

/// Opens the VAD (16 kHz) that [`plan`] needs.
pub fn open_vad(
    runtime: &OnnxRuntimeConfig,
    config: &FileTranscribeConfig,
) -> Result<VadStream, FileTranscribeError> {
    Ok(VadStream::open(runtime, &config.vad, TARGET_RATE)?)
}

/// Runs the VAD over every channel and cuts the speech into chunks.
pub fn plan(
    audio: &DecodedAudio,
    vad: &mut VadStream,
    config: &FileTranscribeConfig,
) -> Result<TranscriptionPlan, FileTranscribeError> {
    let duration_ms = audio.duration_ms();
    let stereo = audio.channels.len() > 1;
    let mut chunks = Vec::new();
    let mut speech = Vec::new();
    for (channel, samples) in audio.channels.iter().enumerate() {
        vad.reset();
        let mut events = Vec::new();
        for block in samples.chunks(TARGET_RATE as usize * 10) {
            events.extend(vad.push(block)?);
        }
        events.extend(vad.finish());
        let spans = spans_from_events(&events, duration_ms);
        // Label each span: by channel for stereo, by turns for mono.
        let labelled: Vec<(String, Span)> = if stereo {
            let who = config.channel_mapping.speaker(channel).to_string();
            spans.iter().map(|s| (who.clone(), *s)).collect()
        } else {
            turn_labels(&spans, config.turn_pause_ms)
        };
        for (who, span) in &labelled {
            match speech
                .iter_mut()
                .find(|s: &&mut SpeakerSpeech| &s.speaker == who)
            {
                Some(s) => s.spans.push(*span),
                None => speech.push(SpeakerSpeech {
                    speaker: who.clone(),
                    spans: vec![*span],
                }),
            }
        }
        for (who, span) in merge_spans(&labelled, config) {
            for piece in split_long(samples, span, config.max_chunk_ms) {
                let start_ms = piece.start_ms.saturating_sub(config.chunk_pad_ms);
                let end_ms = (piece.end_ms + config.chunk_pad_ms).min(duration_ms);
                chunks.push(ChunkPlan {
                    index: 0,
                    channel,
                    speaker: who.clone(),
                    start_ms,
                    end_ms,
                    speech_start_ms: piece.start_ms,
                    speech_end_ms: piece.end_ms.min(duration_ms),
                });
            }
        }
    }
    chunks.sort_by_key(|c| (c.start_ms, c.channel));
    for (i, c) in chunks.iter_mut().enumerate() {
        c.index = i;
    }
    Ok(TranscriptionPlan {
        duration_ms,
        channels: audio.channels.len(),
        chunks,
        speech,
    })
}

fn spans_from_events(events: &[VadEvent], duration_ms: u64) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut open: Option<u64> = None;
    for ev in events {
        match *ev {
            VadEvent::SpeechStart { at } => open = Some(ms(at)),
            VadEvent::SpeechEnd { at } => {
                if let Some(start_ms) = open.take() {
                    let end_ms = ms(at).min(duration_ms);
                    if end_ms > start_ms {
                        spans.push(Span { start_ms, end_ms });
                    }
                }
            }
        }
    }
    spans
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Mono turn heuristic: the speaker changes after every pause of at least `turn_pause_ms`.
fn turn_labels(spans: &[Span], turn_pause_ms: u64) -> Vec<(String, Span)> {
    let mut speaker = 1;
    let mut prev_end: Option<u64> = None;
    spans
        .iter()
        .map(|s| {
            if let Some(end) = prev_end
                && s.start_ms.saturating_sub(end) >= turn_pause_ms
            {
                speaker = 3 - speaker;
            }
            prev_end = Some(s.end_ms);
            (format!("speaker_{speaker}"), *s)
        })
        .collect()
}

/// Joins neighbouring spans of the same speaker across short gaps, up to the chunk limit.
fn merge_spans(labelled: &[(String, Span)], config: &FileTranscribeConfig) -> Vec<(String, Span)> {
    let mut out: Vec<(String, Span)> = Vec::new();
    for (who, span) in labelled {
        if let Some((last_who, last)) = out.last_mut()
            && last_who == who
            && span.start_ms.saturating_sub(last.end_ms) < config.merge_gap_ms
            && span.end_ms - last.start_ms <= config.max_chunk_ms
        {
            last.end_ms = span.end_ms;
            continue;
        }
        out.push((who.clone(), *span));
    }
    out
}

/// Splits a span longer than `max_ms` at the quietest 50 ms window in the last quarter
/// before each limit, so words are rarely cut.
fn split_long(samples: &[f32], span: Span, max_ms: u64) -> Vec<Span> {
    let max_ms = max_ms.max(2_000);
    let mut out = Vec::new();
    let mut start = span.start_ms;
    while span.end_ms - start > max_ms {
        let lo = start + max_ms * 3 / 4;
        let hi = start + max_ms;
        let mut best = (f32::MAX, hi);
        let mut t = lo;
        while t + 50 <= hi {
            let a = (t * 16) as usize;
            let b = ((t + 50) * 16) as usize;
            if let Some(w) = samples.get(a..b.min(samples.len())) {
                let e: f32 = w.iter().map(|v| v * v).sum();
                if e < best.0 {
                    best = (e, t + 25);
                }
            }
            t += 50;
        }
        out.push(Span {
            start_ms: start,
            end_ms: best.1,
        });
        start = best.1;
    }
    out.push(Span {
        start_ms: start,
        end_ms: span.end_ms,
    });
    out
}

/// Transcribes one chunk of the plan (runs Whisper; call it on an STT pool worker).
pub fn transcribe_chunk(
    audio: &DecodedAudio,
    chunk: &ChunkPlan,
    transcriber: &mut Transcriber,
    config: &FileTranscribeConfig,
) -> Result<ChunkResult, FileTranscribeError> {
    let out_of_range = || FileTranscribeError::ChunkOutOfRange {
        index: chunk.index,
        channel: chunk.channel,
        start_ms: chunk.start_ms,
        end_ms: chunk.end_ms,
    };
    let samples = audio.channels.get(chunk.channel).ok_or_else(out_of_range)?;
    let a = (chunk.start_ms * 16) as usize;
    let b = ((chunk.end_ms * 16) as usize).min(samples.len());
    let piece = samples.get(a..b).ok_or_else(out_of_range)?;
    let opts = TranscribeOptions {
        language: config.language.clone(),
        initial_prompt: config.initial_prompt.clone(),
        ..TranscribeOptions::default()
    };
    let t = if piece.is_empty() {
        Default::default()
    } else {
        transcriber.transcribe(piece, TARGET_RATE, &opts)?
    };
    let segments = t
        .segments
        .iter()
        .filter(|s| !s.text.trim().is_empty())
        .map(|s| FileSegment {
            start_ms: (chunk.start_ms + s.start_ms)
                .clamp(chunk.speech_start_ms, chunk.speech_end_ms),
            end_ms: (chunk.start_ms + s.end_ms.max(s.start_ms))
                .clamp(chunk.speech_start_ms, chunk.speech_end_ms),
            speaker: chunk.speaker.clone(),
            channel: chunk.channel,
            text: s.text.trim().to_string(),
            language: t.language.clone(),
            confidence: (1.0 - s.no_speech_prob).clamp(0.0, 1.0),
        })
        .collect();
    Ok(ChunkResult {
        index: chunk.index,
        channel: chunk.channel,
        start_ms: chunk.start_ms,
        end_ms: chunk.end_ms,
        language: t.language,
        segments,
        compute_ms: t.compute_ms,
    })
}

/// Average chunk length the pool's cost estimate is scaled by.
const TYPICAL_CHUNK_MS: f64 = 8_000.0;

/// [`transcribe_chunk`] on an STT pool worker (the audit job's path). `budget` is how long
/// the chunk may wait in the queue: background jobs pass a generous one so live calls,
/// which use the pool's own small budget, are turned away first.
pub async fn transcribe_chunk_pooled(
    pool: &SttPool,
    audio: Arc<DecodedAudio>,
    chunk: ChunkPlan,
    config: Arc<FileTranscribeConfig>,
    budget: Duration,
) -> Result<ChunkResult, FileTranscribeError> {
    let weight = (chunk.end_ms.saturating_sub(chunk.start_ms) as f64 / TYPICAL_CHUNK_MS).max(0.1);
    let (result, _stats) = pool
        .run_weighted(weight, budget, move |t: &mut Transcriber| {
            transcribe_chunk(&audio, &chunk, t, &config)
        })
        .await?;
    result
}

/// Transcribes every chunk of `plan` not in `already_done`, in order. `progress(done,
/// total)` is called after each chunk (and once at the start with the resumed count);
/// `on_chunk` receives each new result as soon as it exists, to persist it.
pub fn transcribe_chunks(
    audio: &DecodedAudio,
    plan: &TranscriptionPlan,
    already_done: &[ChunkResult],
    transcriber: &mut Transcriber,
    config: &FileTranscribeConfig,
    mut progress: impl FnMut(usize, usize),
    mut on_chunk: impl FnMut(&ChunkResult),
) -> Result<Vec<ChunkResult>, FileTranscribeError> {
    let total = plan.chunks.len();
    let mut results: Vec<Option<ChunkResult>> = vec![None; total];
    for r in already_done {
        let chunk = plan
            .chunks
            .get(r.index)
            .filter(|c| c.channel == r.channel && c.start_ms == r.start_ms && c.end_ms == r.end_ms)
            .ok_or(FileTranscribeError::PlanMismatch { index: r.index })?;
        results[chunk.index] = Some(r.clone());
    }
    let mut done = results.iter().filter(|r| r.is_some()).count();
    progress(done, total);
    for chunk in &plan.chunks {
        if results[chunk.index].is_some() {
            continue;
        }
        let r = transcribe_chunk(audio, chunk, transcriber, config)?;
        on_chunk(&r);
        results[chunk.index] = Some(r);
        done += 1;
        progress(done, total);
    }
    Ok(results.into_iter().flatten().collect())
}

/// Combines the plan and the results of all its chunks into the final transcript.
pub fn assemble(plan: &TranscriptionPlan, results: &[ChunkResult]) -> FileTranscript {
    let mut segments: Vec<FileSegment> = results
        .iter()
        .flat_map(|r| r.segments.iter().cloned())
        .collect();
    segments.sort_by_key(|s| (s.start_ms, s.channel));
    let mut lang_ms: Vec<(String, u64)> = Vec::new();
    for s in &segments {
        if let Some(l) = &s.language {
            let len = s.end_ms.saturating_sub(s.start_ms).max(1);
            match lang_ms.iter_mut().find(|(k, _)| k == l) {
                Some((_, v)) => *v += len,
                None => lang_ms.push((l.clone(), len)),
            }
        }
    }
    lang_ms.sort_by_key(|l| std::cmp::Reverse(l.1));
    let many = plan.speech.len() > 1;
    let text = segments
        .iter()
        .map(|s| {
            if many {
                format!("{}: {}", s.speaker, s.text)
            } else {
                s.text.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut talk_time: Vec<TalkTime> = plan
        .speech
        .iter()
        .map(|s| TalkTime {
            speaker: s.speaker.clone(),
            talk_time_ms: union(&s.spans).iter().map(|s| s.len()).sum(),
        })
        .collect();
    talk_time.sort_by(|a, b| a.speaker.cmp(&b.speaker));
    let all: Vec<Span> = plan
        .speech
        .iter()
        .flat_map(|s| s.spans.iter().copied())
        .collect();
    let speech_ms: u64 = union(&all).iter().map(|s| s.len()).sum();
    let per_speaker: u64 = talk_time.iter().map(|t| t.talk_time_ms).sum();
    FileTranscript {
        duration_ms: plan.duration_ms,
        languages: lang_ms.into_iter().map(|(l, _)| l).collect(),
        segments,
        text,
        talk_time,
        silence_ms: plan.duration_ms.saturating_sub(speech_ms),
        // Time covered by two speakers = sum of each speaker's time − time covered by anyone.
        overtalk_ms: per_speaker.saturating_sub(speech_ms),
    }
}

/// Sorted, non-overlapping cover of `spans`.
fn union(spans: &[Span]) -> Vec<Span> {
    let mut v = spans.to_vec();
    v.sort_by_key(|s| s.start_ms);
    let mut out: Vec<Span> = Vec::new();
    for s in v {
        match out.last_mut() {
            Some(last) if s.start_ms <= last.end_ms => last.end_ms = last.end_ms.max(s.end_ms),
            _ => out.push(s),
        }
    }
    out
}

/// The whole pipeline on one file held in memory (what `vaarta transcribe FILE` runs):
/// decode, plan, transcribe every chunk with `progress(done, total)`, assemble.
pub fn transcribe_bytes(
    bytes: Vec<u8>,
    runtime: &OnnxRuntimeConfig,
    transcriber: &mut Transcriber,
    config: &FileTranscribeConfig,
    progress: impl FnMut(usize, usize),
) -> Result<FileTranscript, FileTranscribeError> {
    let audio = crate::decode::decode_bytes(bytes, &config.decode)?;
    let mut vad = open_vad(runtime, config)?;
    let plan = plan(&audio, &mut vad, config)?;
    let results = transcribe_chunks(&audio, &plan, &[], transcriber, config, progress, |_| {})?;
    Ok(assemble(&plan, &results))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(a: u64, b: u64) -> Span {
        Span {
            start_ms: a,
            end_ms: b,
        }
    }

    #[test]
    fn mono_turns_alternate_on_long_pauses() {
        let spans = [
            span(0, 1000),
            span(1300, 2000),
            span(3500, 4000),
            span(5200, 6000),
        ];
        let l: Vec<String> = turn_labels(&spans, 1000).into_iter().map(|x| x.0).collect();
        assert_eq!(l, ["speaker_1", "speaker_1", "speaker_2", "speaker_1"]);
    }

    #[test]
    fn merge_respects_gap_speaker_and_cap() {
        let cfg = FileTranscribeConfig {
            merge_gap_ms: 600,
            max_chunk_ms: 5000,
            ..Default::default()
        };
        let a = "a".to_string();
        let b = "b".to_string();
        let l = vec![
            (a.clone(), span(0, 1000)),
            (a.clone(), span(1500, 2000)), // gap 500: merged
            (a.clone(), span(2700, 3000)), // gap 700: new chunk
            (b.clone(), span(3100, 3500)), // other speaker: new chunk
            (b.clone(), span(3600, 9000)), // would exceed the cap: new chunk
        ];
        let m = merge_spans(&l, &cfg);
        let got: Vec<(u64, u64)> = m.iter().map(|(_, s)| (s.start_ms, s.end_ms)).collect();
        assert_eq!(got, [(0, 2000), (2700, 3000), (3100, 3500), (3600, 9000)]);
    }

    #[test]
    fn long_speech_is_split_at_a_quiet_point_under_the_cap() {
        // 20 s of tone with a silent gap at 9.0-9.2 s
        let mut s: Vec<f32> = (0..320_000).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
        s[9000 * 16..9200 * 16].fill(0.0);
        let parts = split_long(&s, span(0, 20_000), 10_000);
        assert!(parts.iter().all(|p| p.len() <= 10_000), "{parts:?}");
        assert!((9000..=9200).contains(&parts[0].end_ms), "{parts:?}");
        assert_eq!(parts.last().unwrap().end_ms, 20_000);
        assert_eq!(parts[1].start_ms, parts[0].end_ms);
    }

    #[test]
    fn assemble_counts_talk_silence_and_overtalk() {
        let plan = TranscriptionPlan {
            duration_ms: 10_000,
            channels: 2,
            chunks: vec![],
            speech: vec![
                SpeakerSpeech {
                    speaker: "agent".into(),
                    spans: vec![span(0, 3000), span(5000, 6000)],
                },
                SpeakerSpeech {
                    speaker: "customer".into(),
                    spans: vec![span(2500, 4000)],
                },
            ],
        };
        let t = assemble(&plan, &[]);
        assert_eq!(t.talk_time[0].talk_time_ms, 4000);
        assert_eq!(t.talk_time[1].talk_time_ms, 1500);
        assert_eq!(t.overtalk_ms, 500);
        assert_eq!(t.silence_ms, 10_000 - 5000);
    }
}
