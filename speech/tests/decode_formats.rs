//! Decoding real files of every accepted format (made by sox, lame and ffmpeg from espeak-ng
//! speech): right length at 16 kHz, same waveform as the source for lossless formats, stereo
//! channels kept apart, content detected regardless of the file name; bad files give named
//! errors and never panic.

mod decode_support;

use decode_support::*;
use vaarta_speech::decode::{DecodeConfig, DecodeError, decode_bytes, decode_file};

const TEXT: &str = "Thank you for calling. Your order will arrive on Monday.";

fn rms_diff(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    (a[..n]
        .iter()
        .zip(&b[..n])
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f32>()
        / n as f32)
        .sqrt()
}

fn rms(a: &[f32]) -> f32 {
    (a.iter().map(|x| x * x).sum::<f32>() / a.len() as f32).sqrt()
}

#[test]
fn every_format_decodes_to_16k_with_the_right_length() {
    let dir = scratch("formats");
    let src = speech_wav(&dir, "src", TEXT, 0.5, 0.5);
    let truth_s = sox_seconds(&src);
    let reference = decode_file(
        &encode(&src, &dir, "pcm16-16k.wav"),
        &DecodeConfig::default(),
    )
    .unwrap()
    .channels
    .remove(0);
    for name in FORMATS {
        let path = encode(&src, &dir, name);
        let a = decode_file(&path, &DecodeConfig::default())
            .unwrap_or_else(|e| panic!("{name}: {e} ({})", e.code()));
        eprintln!(
            "{name}: {} from {} Hz, {:?}",
            a.source_format, a.source_rate, a.duration
        );
        assert_eq!(a.sample_rate, 16_000);
        assert_eq!(a.channels.len(), 1, "{name}");
        let d = a.duration.as_secs_f64() - truth_s;
        // lossy codecs may add up to one frame of encoder delay/padding (AAC: 1024+ samples)
        assert!(d.abs() < 0.12, "{name}: {:?} vs {truth_s} s", a.duration);
        let ch = &a.channels[0];
        assert!(rms(ch) > 0.02, "{name}: decoded audio is nearly silent");
        let lossless =
            name.ends_with(".flac") || name.starts_with("pcm") || name.starts_with("float");
        if lossless {
            let e = rms_diff(ch, &reference);
            // sox and rubato resample differently; the waveform must still match closely
            // (a wrong channel, offset or sample format would differ by about the signal's rms).
            assert!(
                e < 0.15 * rms(&reference),
                "{name}: differs from source by rms {e} (signal rms {})",
                rms(&reference)
            );
        }
    }
}

#[test]
fn content_decides_not_the_extension() {
    let dir = scratch("ext");
    let src = speech_wav(&dir, "src", "Hello there.", 0.2, 0.2);
    let wav = encode(&src, &dir, "pcm16-16k.wav");
    let disguised = dir.join("really-a-wav.mp3");
    std::fs::copy(&wav, &disguised).unwrap();
    let a = decode_file(&disguised, &DecodeConfig::default()).unwrap();
    assert!(a.source_format.starts_with("wave/"), "{}", a.source_format);
    let mp3 = encode(&src, &dir, "speech.mp3");
    let named_wav = dir.join("really-an-mp3.wav");
    std::fs::copy(&mp3, &named_wav).unwrap();
    let a = decode_file(&named_wav, &DecodeConfig::default()).unwrap();
    assert!(a.source_format.contains("mp3"), "{}", a.source_format);

    let text = dir.join("notes.mp3");
    std::fs::write(&text, "Call notes: customer asked about the refund.\n").unwrap();
    let e = decode_file(&text, &DecodeConfig::default()).unwrap_err();
    assert!(matches!(e, DecodeError::TextNotAudio { .. }), "{e}");
    assert!(e.to_string().contains("text, not audio"), "{e}");
}

#[test]
fn stereo_channels_stay_apart() {
    let dir = scratch("stereo");
    let left = speech_wav(&dir, "left", "Good morning.", 0.2, 2.0);
    let right = speech_wav(&dir, "right", "Hello.", 2.0, 0.2);
    let st = stereo(&dir, "st.wav", &left, &right, 44_100);
    for name in ["st.flac", "st.mp3", "st.m4a", "st.ogg"] {
        let path = encode(
            &st,
            &dir,
            match name {
                "st.flac" => "speech.flac",
                "st.mp3" => "speech.mp3",
                "st.m4a" => "speech.m4a",
                _ => "speech.ogg",
            },
        );
        let a = decode_file(&path, &DecodeConfig::default()).unwrap();
        assert_eq!(a.channels.len(), 2, "{name}");
        assert_eq!(a.channels[0].len(), a.channels[1].len());
        // left speaks first, right later: compare energy in the first and last second
        let sec = 16_000;
        let (l, r) = (&a.channels[0], &a.channels[1]);
        assert!(
            rms(&l[..sec]) > 5.0 * rms(&r[..sec]),
            "{name}: left should lead"
        );
        let n = l.len();
        assert!(
            rms(&r[n - sec..]) > 5.0 * rms(&l[n - sec..]),
            "{name}: right should trail"
        );
    }
}

#[test]
fn more_than_two_channels_is_refused() {
    let dir = scratch("multi");
    let src = speech_wav(&dir, "src", "One.", 0.1, 0.1);
    let quad = dir.join("quad.wav");
    run(
        "sox",
        &[src.to_str().unwrap(), "-c", "4", quad.to_str().unwrap()],
    );
    let e = decode_file(&quad, &DecodeConfig::default()).unwrap_err();
    assert!(
        matches!(e, DecodeError::TooManyChannels { channels: 4, .. }),
        "{e}"
    );
}

#[test]
fn too_long_is_refused() {
    let dir = scratch("long");
    let src = speech_wav(&dir, "src", TEXT, 0.5, 2.0);
    let cfg = DecodeConfig {
        max_duration_s: 2,
        ..Default::default()
    };
    for name in [
        "pcm16-16k.wav",
        "speech.mp3",
        "speech.ogg",
        "speech.flac",
        "speech.m4a",
    ] {
        let e = decode_file(&encode(&src, &dir, name), &cfg).unwrap_err();
        assert!(
            matches!(e, DecodeError::TooLong { max_s: 2, .. }),
            "{name}: {e}"
        );
    }
}

#[test]
fn truncated_files_give_a_named_error_and_never_panic() {
    let dir = scratch("trunc");
    let src = speech_wav(&dir, "src", TEXT, 0.3, 0.3);
    for name in FORMATS {
        let bytes = std::fs::read(encode(&src, &dir, name)).unwrap();
        for frac in [0.02, 0.3, 0.6, 0.9] {
            let cut = bytes[..(bytes.len() as f64 * frac) as usize].to_vec();
            match decode_bytes(cut, &DecodeConfig::default()) {
                Err(e) => {
                    assert!(
                        matches!(e.code(), "truncated" | "corrupt"),
                        "{name} @ {frac}: {e} ({})",
                        e.code()
                    );
                    eprintln!("{name} cut at {frac}: {} ({e})", e.code());
                }
                // Streams without a declared length (OGG, MP3 frames) may end cleanly at a
                // frame boundary; then the audio must simply be shorter than the original.
                Ok(a) => {
                    eprintln!(
                        "{name} cut at {frac}: decoded {:?} ({})",
                        a.duration, a.source_format
                    );
                    assert!(
                        name.ends_with(".ogg") || name.ends_with(".mp3"),
                        "{name} cut at {frac} decoded without an error"
                    );
                    assert!(a.duration.as_secs_f64() < sox_seconds(&src) * (frac + 0.1));
                }
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let dir = scratch("fuzz");
    let src = speech_wav(&dir, "src", "Yes.", 0.1, 0.1);
    let headers: Vec<Vec<u8>> = FORMATS
        .iter()
        .map(|n| std::fs::read(encode(&src, &dir, n)).unwrap()[..64].to_vec())
        .collect();
    let mut errors = 0;
    for seed in 1..200u64 {
        let mut bytes = noise_bytes(seed, (seed as usize * 97) % 20_000 + 1);
        // half the inputs start with a real header so the demuxers get past probing
        if seed % 2 == 0 {
            let mut h = headers[(seed as usize / 2) % headers.len()].clone();
            h.extend_from_slice(&bytes);
            bytes = h;
        }
        if decode_bytes(bytes, &DecodeConfig::default()).is_err() {
            errors += 1;
        }
    }
    assert!(
        errors > 150,
        "random bytes decoded as audio too often ({errors} errors of 199)"
    );
}

#[test]
fn empty_file_is_named() {
    let e = decode_bytes(Vec::new(), &DecodeConfig::default()).unwrap_err();
    assert_eq!(e.code(), "empty_file");
    assert!(e.to_string().contains("empty"));
}

#[test]
fn unsupported_codec_in_a_known_container_is_named() {
    let dir = scratch("codec");
    let src = speech_wav(&dir, "src", "Hello.", 0.1, 0.1);
    let adpcm = dir.join("adpcm.wav");
    run(
        "sox",
        &[
            src.to_str().unwrap(),
            "-r",
            "8000",
            "-e",
            "ima-adpcm",
            adpcm.to_str().unwrap(),
        ],
    );
    let e = decode_file(&adpcm, &DecodeConfig::default()).unwrap_err();
    eprintln!("{e}");
    assert_eq!(e.code(), "unsupported_codec", "{e}");
    assert!(
        e.to_string().contains("unsupported audio codec IMA ADPCM"),
        "{e}"
    );
}
