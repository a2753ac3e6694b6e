//! Audio files to 16 kHz float samples (symphonia + rubato): the front of the file
//! transcription pipeline (`vaarta transcribe FILE`, audit recordings a CRM uploads).
//!
//! Accepted: WAV (PCM 8/16/24/32-bit, float, µ-law, A-law), MP3, OGG/Vorbis, FLAC and
//! M4A/AAC-LC, mono or stereo, any sample rate. The container is recognised by content,
//! never by the file name, so a WAV named `.mp3` decodes and a text file named `.mp3` is
//! refused. Every failure is a [`DecodeError`] whose message names the problem (for an
//! HTTP 422) and whose [`DecodeError::code`] is a stable machine-readable tag. Decoding
//! never panics: symphonia runs under `catch_unwind`, so a decoder bug on hostile input is
//! reported as a corrupt file.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::resample::{ResampleError, resample};

/// The rate every decoded file is converted to (Whisper and Silero VAD both use it).
pub const TARGET_RATE: u32 = 16_000;

/// `[speech.decode]`: limits on accepted audio files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeConfig {
    /// Longest accepted recording, in seconds (protects memory and the STT queue).
    pub max_duration_s: u64,
    /// Most channels accepted (2: agent and customer legs of a stereo recording).
    pub max_channels: usize,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        Self {
            max_duration_s: 3 * 3600,
            max_channels: 2,
        }
    }
}

/// A decoded file: one 16 kHz sample vector per channel, in [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// Samples per channel (index 0 = left / mono), all the same length.
    pub channels: Vec<Vec<f32>>,
    /// Always [`TARGET_RATE`].
    pub sample_rate: u32,
    /// Length of the audio.
    pub duration: Duration,
    /// Container and codec, e.g. `wave/pcm_s16le`, `mp3/mp3`, `isomp4/aac`.
    pub source_format: String,
    /// Sample rate of the file before resampling.
    pub source_rate: u32,
}

impl DecodedAudio {
    /// Duration in whole milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.duration.as_millis() as u64
    }
}

/// Why a file could not be decoded. Each message names the problem for the uploader.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("the file is text, not audio (it begins {start:?})")]
    TextNotAudio { start: String },
    #[error("unrecognised file format{what}: expected WAV, MP3, OGG/Vorbis, FLAC or M4A/AAC audio")]
    UnknownFormat { what: String },
    #[error("the {container} file has no audio track")]
    NoAudioTrack { container: String },
    #[error(
        "unsupported audio codec {codec} in the {container} file (supported: PCM, µ-law, A-law, MP3, Vorbis, FLAC, AAC-LC)"
    )]
    UnsupportedCodec { container: String, codec: String },
    #[error("the {container} file uses an unsupported feature: {detail}")]
    Unsupported { container: String, detail: String },
    #[error("the {container} file is truncated: it ends after {decoded_ms} ms of audio{expected}")]
    Truncated {
        container: String,
        decoded_ms: u64,
        expected: String,
    },
    #[error("the {container} file is corrupt: {detail}")]
    Corrupt { container: String, detail: String },
    #[error("the {container} file contains no audio samples")]
    NoAudio { container: String },
    #[error("the audio has {channels} channels; at most {max} are accepted (mono or stereo)")]
    TooManyChannels { channels: usize, max: usize },
    #[error("the audio is {actual_s} s long or more; the limit is {max_s} s")]
    TooLong { actual_s: u64, max_s: u64 },
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("resampling to 16 kHz failed: {0}")]
    Resample(#[from] ResampleError),
}

impl DecodeError {
    /// A stable tag for API clients (`"empty_file"`, `"truncated"`...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_file",
            Self::TextNotAudio { .. } => "text_not_audio",
            Self::UnknownFormat { .. } => "unknown_format",
            Self::NoAudioTrack { .. } => "no_audio_track",
            Self::UnsupportedCodec { .. } => "unsupported_codec",
            Self::Unsupported { .. } => "unsupported_feature",
            Self::Truncated { .. } => "truncated",
            Self::Corrupt { .. } => "corrupt",
            Self::NoAudio { .. } => "no_audio",
            Self::TooManyChannels { .. } => "too_many_channels",
            Self::TooLong { .. } => "too_long",
            Self::Io(_) => "io",
            Self::Resample(_) => "resample",
        }
    }

    /// True when the file itself is at fault (HTTP 422), false for server-side failures.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Self::Io(_) | Self::Resample(_))
    }
}

/// Reads and decodes the file at `path` (see [`decode_bytes`]).
pub fn decode_file(
    path: &std::path::Path,
    config: &DecodeConfig,
) -> Result<DecodedAudio, DecodeError> {
    decode_bytes(std::fs::read(path)?, config)
}

/// Decodes a whole audio file held in memory to 16 kHz float channels.
pub fn decode_bytes(bytes: Vec<u8>, config: &DecodeConfig) -> Result<DecodedAudio, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if let Some(start) = text_start(&bytes) {
        return Err(DecodeError::TextNotAudio { start });
    }
    let what = other_format(&bytes);
    let magic = audio_magic(&bytes);
    let raw = match catch_unwind(AssertUnwindSafe(|| demux_and_decode(bytes, config))) {
        Ok(r) => r,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "decoder failure".into());
            tracing::warn!(%detail, "audio decoder panicked on malformed input");
            return Err(DecodeError::Corrupt {
                container: "audio".into(),
                detail: format!("the decoder could not parse it ({detail})"),
            });
        }
    };
    let raw = raw.map_err(|e| match (e, magic) {
        // The header says audio but the demuxer ran out of data before finding its stream
        // (e.g. an M4A whose index sits at the end, cut off).
        (DecodeError::UnknownFormat { what: eof }, Some(container)) if eof == EOF_MARK => {
            DecodeError::Truncated {
                container: container.into(),
                decoded_ms: 0,
                expected: " (its header is there, its audio stream is cut off)".into(),
            }
        }
        (DecodeError::UnknownFormat { .. }, Some(container)) => DecodeError::Corrupt {
            container: container.into(),
            detail: if container == "isomp4" {
                "its index (moov box) is missing or unreadable; the file is probably truncated"
            } else {
                "the header is valid but the stream cannot be read"
            }
            .into(),
        },
        (DecodeError::UnknownFormat { .. }, None) => DecodeError::UnknownFormat { what },
        (other, _) => other,
    })?;
    let mut channels = Vec::with_capacity(raw.channels.len());
    for ch in &raw.channels {
        let mut out = resample(ch, raw.rate, TARGET_RATE)?;
        for v in &mut out {
            *v = if v.is_finite() {
                v.clamp(-1.0, 1.0)
            } else {
                0.0
            };
        }
        channels.push(out);
    }
    let len = channels.first().map_or(0, Vec::len);
    Ok(DecodedAudio {
        duration: Duration::from_secs_f64(len as f64 / f64::from(TARGET_RATE)),
        channels,
        sample_rate: TARGET_RATE,
        source_format: raw.format,
        source_rate: raw.rate,
    })
}

/// Decoded samples at the file's own rate.
struct Raw {
    channels: Vec<Vec<f32>>,
    rate: u32,
    format: String,
}

/// Some(start of the text) when the bytes look like a text file (no audio container
/// begins with printable UTF-8 only: their headers hold NUL or high bytes).
fn text_start(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(512)];
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // A multi-byte character cut at the window's end is still text.
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    if text.is_empty() || printable < text.chars().count() {
        return None;
    }
    let start: String = text.chars().take(24).collect();
    Some(start)
}

/// A readable name for codecs a recording may use that are not decoded here.
fn codec_name(id: symphonia::core::codecs::audio::AudioCodecId) -> String {
    use symphonia::core::codecs::audio::well_known::*;
    let known = [
        (CODEC_ID_ADPCM_G722, "G.722"),
        (CODEC_ID_ADPCM_G726, "G.726 ADPCM"),
        (CODEC_ID_ADPCM_G726LE, "G.726 ADPCM"),
        (CODEC_ID_ADPCM_MS, "Microsoft ADPCM"),
        (CODEC_ID_ADPCM_IMA_WAV, "IMA ADPCM"),
        (CODEC_ID_ADPCM_IMA_QT, "IMA ADPCM"),
        (CODEC_ID_OPUS, "Opus"),
        (CODEC_ID_SPEEX, "Speex"),
        (CODEC_ID_MP1, "MPEG layer I"),
        (CODEC_ID_MP2, "MPEG layer II"),
        (CODEC_ID_AC3, "AC-3"),
        (CODEC_ID_EAC3, "E-AC-3"),
        (CODEC_ID_WMA, "WMA"),
        (CODEC_ID_ALAC, "ALAC"),
        (CODEC_ID_WAVPACK, "WavPack"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, n)| (*n).to_string())
        .unwrap_or_else(|| format!("with id {id}"))
}

/// Marks a probe that ran out of bytes (internal; replaced before returning).
const EOF_MARK: &str = "\0eof";

/// The container an audio file's first bytes announce, to tell "truncated" from "not audio".
fn audio_magic(bytes: &[u8]) -> Option<&'static str> {
    let at = |off: usize, m: &[u8]| bytes.get(off..off + m.len()) == Some(m);
    if at(0, b"RIFF") && at(8, b"WAVE") {
        Some("wave")
    } else if at(0, b"OggS") {
        Some("ogg")
    } else if at(0, b"fLaC") {
        Some("flac")
    } else if at(4, b"ftyp") {
        Some("isomp4")
    } else if at(0, b"ID3") {
        Some("mp3")
    } else {
        None
    }
}

/// Names a few common non-audio files for a clearer "unrecognised format" message.
fn other_format(bytes: &[u8]) -> String {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF", "PDF document"),
        (b"\x89PNG", "PNG image"),
        (b"\xFF\xD8\xFF", "JPEG image"),
        (b"PK\x03\x04", "ZIP archive"),
        (b"GIF8", "GIF image"),
        (b"\x1F\x8B", "gzip archive"),
    ];
    MAGIC
        .iter()
        .find(|(m, _)| bytes.starts_with(m))
        .map(|(_, name)| format!(" (it is a {name})"))
        .unwrap_or_default()
}

fn demux_and_decode(bytes: Vec<u8>, config: &DecodeConfig) -> Result<Raw, DecodeError> {
    let mss = MediaSourceStream::new(
        Box::new(Cursor::new(bytes)),
        MediaSourceStreamOptions::default(),
    );
    let mut format = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                DecodeError::UnknownFormat {
                    what: EOF_MARK.into(),
                }
            }
            SymError::Unsupported(_) => DecodeError::UnknownFormat {
                what: String::new(),
            },
            other => DecodeError::Corrupt {
                container: "audio".into(),
                detail: other.to_string(),
            },
        })?;
    let container = format.format_info().short_name.to_string();
    let track = format
        .default_track(TrackType::Audio)
        .or_else(|| format.first_track(TrackType::Audio))
        .ok_or_else(|| DecodeError::NoAudioTrack {
            container: container.clone(),
        })?
        .clone();
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| DecodeError::NoAudioTrack {
            container: container.clone(),
        })?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| match e {
            SymError::Unsupported(_) => DecodeError::UnsupportedCodec {
                container: container.clone(),
                codec: codec_name(params.codec),
            },
            other => DecodeError::Corrupt {
                container: container.clone(),
                detail: other.to_string(),
            },
        })?;
    let codec = decoder.codec_info().short_name.to_string();
    let label = format!("{container}/{codec}");
    let mut rate = params.sample_rate.unwrap_or(0);
    let max_s = config.max_duration_s;
    // The container's own length, when it states one: refuse a too-long file before decoding.
    let expected_frames = track.num_frames;
    if let (Some(n), true) = (expected_frames, rate > 0)
        && n / u64::from(rate) > max_s
    {
        return Err(DecodeError::TooLong {
            actual_s: n / u64::from(rate),
            max_s,
        });
    }
    if let Some(ch) = params.channels.as_ref().map(|c| c.count())
        && ch > config.max_channels
    {
        return Err(DecodeError::TooManyChannels {
            channels: ch,
            max: config.max_channels,
        });
    }

    let corrupt = |detail: String| DecodeError::Corrupt {
        container: label.clone(),
        detail,
    };
    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut scratch: Vec<Vec<f32>> = Vec::new();
    let (mut packets, mut bad_packets) = (0u64, 0u64);
    let mut eof_early = false;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                eof_early = true;
                break;
            }
            Err(SymError::ResetRequired) => break, // a chained OGG stream: keep the first
            Err(SymError::DecodeError(d)) => return Err(corrupt(d.to_string())),
            Err(SymError::Unsupported(d)) => {
                return Err(DecodeError::Unsupported {
                    container: label.clone(),
                    detail: d.to_string(),
                });
            }
            Err(e) => return Err(corrupt(e.to_string())),
        };
        if packet.track_id != track.id {
            continue;
        }
        packets += 1;
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                bad_packets += 1;
                continue;
            }
            Err(SymError::Unsupported(d)) => {
                return Err(DecodeError::Unsupported {
                    container: label.clone(),
                    detail: d.to_string(),
                });
            }
            Err(e) => return Err(corrupt(e.to_string())),
        };
        if buf.frames() == 0 {
            continue;
        }
        let n_ch = buf.num_planes();
        if n_ch > config.max_channels {
            return Err(DecodeError::TooManyChannels {
                channels: n_ch,
                max: config.max_channels,
            });
        }
        if rate == 0 {
            rate = buf.spec().rate();
        }
        if channels.is_empty() {
            channels = vec![Vec::new(); n_ch];
        } else if channels.len() != n_ch {
            return Err(corrupt(format!(
                "the channel count changes from {} to {n_ch} mid-stream",
                channels.len()
            )));
        }
        buf.copy_to_vecs_planar::<f32>(&mut scratch);
        for (dst, src) in channels.iter_mut().zip(&scratch) {
            dst.extend_from_slice(src);
        }
        if rate > 0 && channels[0].len() as u64 / u64::from(rate) > max_s {
            return Err(DecodeError::TooLong {
                actual_s: channels[0].len() as u64 / u64::from(rate),
                max_s,
            });
        }
    }
    // Decoders hand back equal planes; guard anyway so later stages can index freely.
    let frames = channels.iter().map(Vec::len).min().unwrap_or(0);
    for ch in &mut channels {
        ch.truncate(frames);
    }
    if packets > 0 && bad_packets * 2 > packets {
        return Err(corrupt(format!(
            "{bad_packets} of {packets} audio packets are undecodable"
        )));
    }
    if rate == 0 {
        return Err(corrupt("no sample rate".into()));
    }
    let decoded_ms = frames as u64 * 1000 / u64::from(rate);
    let short_of_header = expected_frames.is_some_and(|n| (frames as u64) < n * 98 / 100);
    if (eof_early && expected_frames.is_none_or(|n| (frames as u64) < n)) || short_of_header {
        let expected = expected_frames
            .map(|n| format!(" of the {} ms it declares", n * 1000 / u64::from(rate)))
            .unwrap_or_default();
        return Err(DecodeError::Truncated {
            container: label,
            decoded_ms,
            expected,
        });
    }
    if frames == 0 {
        return Err(DecodeError::NoAudio { container: label });
    }
    Ok(Raw {
        channels,
        rate,
        format: label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 16-bit PCM WAV file.
    fn wav(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
        let data_len = (samples.len() * 2) as u32;
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data_len).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
        b.extend_from_slice(&(channels * 2).to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data_len.to_le_bytes());
        for s in samples {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b
    }

    fn tone(n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| ((i as f32 * 0.05).sin() * 10_000.0) as i16)
            .collect()
    }

    #[test]
    fn stereo_8k_wav_becomes_two_16k_channels() {
        // left = tone, right = silence, interleaved
        let t = tone(8000);
        let inter: Vec<i16> = t.iter().flat_map(|&s| [s, 0]).collect();
        let a = decode_bytes(wav(8000, 2, &inter), &DecodeConfig::default()).unwrap();
        assert_eq!(a.channels.len(), 2);
        assert_eq!(a.channels[0].len(), 16_000);
        assert_eq!(a.source_rate, 8000);
        assert_eq!(a.duration_ms(), 1000);
        assert!(a.source_format.starts_with("wave/"), "{}", a.source_format);
        let peak = |c: &[f32]| c.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(peak(&a.channels[0]) > 0.25);
        assert!(peak(&a.channels[1]) < 0.01);
    }

    #[test]
    fn text_and_empty_are_named() {
        let cfg = DecodeConfig::default();
        assert!(matches!(
            decode_bytes(vec![], &cfg),
            Err(DecodeError::Empty)
        ));
        let e = decode_bytes(b"ID,name\n1,Asha\n".to_vec(), &cfg).unwrap_err();
        assert_eq!(e.code(), "text_not_audio", "{e}");
        assert!(e.to_string().contains("text"), "{e}");
        let e = decode_bytes(b"%PDF-1.7\n\x00\x01\x02binary".to_vec(), &cfg).unwrap_err();
        assert_eq!(e.code(), "unknown_format", "{e}");
        assert!(e.to_string().contains("PDF"), "{e}");
    }

    #[test]
    fn too_long_is_refused_before_decoding() {
        let cfg = DecodeConfig {
            max_duration_s: 1,
            ..Default::default()
        };
        let e = decode_bytes(wav(8000, 1, &tone(8000 * 3)), &cfg).unwrap_err();
        assert!(matches!(e, DecodeError::TooLong { max_s: 1, .. }), "{e}");
    }

    #[test]
    fn truncated_wav_is_reported() {
        let mut b = wav(16000, 1, &tone(16000));
        b.truncate(b.len() / 2);
        let e = decode_bytes(b, &DecodeConfig::default()).unwrap_err();
        assert_eq!(e.code(), "truncated", "{e}");
    }
}
