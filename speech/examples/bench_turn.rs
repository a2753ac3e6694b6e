//! Turn-taking bench: synthesised caller turns (Piper), with thinking pauses stretched to a known
//! length, streamed in 20 ms frames through Silero VAD and the `TurnDecider`, once with Smart
//! Turn and once silence-only (700 ms). Prints false cut-offs (the turn ended before the caller
//! finished) and the end-of-turn delay after the real end of speech. See bench/turn/README.md.
//!   VAARTA_MODELS_DIR=models cargo run -p vaarta-speech --example bench_turn [-- --espeak] [--telephone] [--repeat N] [--verbose]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use vaarta_speech::onnx::OnnxRuntimeConfig;
use vaarta_speech::resample::resample;
use vaarta_speech::tts::{Tts, TtsConfig};
use vaarta_speech::turn::{EndReason, SmartTurn, TurnAction, TurnDecider, TurnSettings};
use vaarta_speech::vad::{VadConfig, VadEvent, VadStream};

const RATE: u32 = 16_000;

/// One caller turn as the shell has it: what the VAD hears and the 16 kHz audio for the model.
struct Stream {
    vad_audio: Vec<f32>,
    vad_rate: u32,
    model_audio: Vec<f32>,
}

/// (category, text, pauses in ms). A `|` is a thinking pause inside fluent speech: the text is
/// spoken without it (mid-sentence prosody) and silence is inserted at the quietest point near
/// where the `|` falls. A `,` pause is the voice's own comma pause stretched to the length, so
/// the words before it carry the TTS's phrase-end prosody (a harder case for the model).
#[rustfmt::skip]
const CASES: &[(&str, &str, &[u32])] = &[
    ("complete question", "What is the status of my order?", &[]),
    ("complete question", "Can you tell me when my refund will arrive?", &[]),
    ("complete question", "I want to cancel my subscription.", &[]),
    ("complete question", "Where is my delivery right now?", &[]),
    ("complete question", "Mera order kab aayega?", &[]),
    ("mid-sentence pause", "Mera order number hai | ek do teen.", &[700]),
    ("mid-sentence pause", "I was wondering if | you could help me with my bill.", &[800]),
    ("mid-sentence pause", "Can you send it to | my office address?", &[600]),
    ("mid-sentence pause", "I need to change the | delivery date please.", &[500]),
    ("mid-sentence pause", "Mujhe apna | payment status jaanna hai.", &[650]),
    ("digits with pauses", "My number is nine eight seven | six five four | three two one zero.", &[600, 700]),
    ("digits with pauses", "Ek do teen | chaar paanch | chhe saat aath.", &[700, 600]),
    ("digits with pauses", "The order number is four five | six seven | eight nine.", &[500, 800]),
    ("pause at a comma", "Mera order number hai, ek do teen.", &[700]),
    ("pause at a comma", "I was wondering if, you could help me with my bill.", &[800]),
    ("pause at a comma", "My number is nine eight seven, six five four, three two one zero.", &[600, 700]),
    ("pause at a comma", "Ek do teen, chaar paanch, chhe saat aath.", &[700, 600]),
    ("short reply", "Haan ji.", &[]),
    ("short reply", "Yes.", &[]),
    ("short reply", "No thanks.", &[]),
    ("short reply", "Okay.", &[]),
];

struct Outcome {
    /// Stream time the turn ended (None: never).
    ended: Option<Duration>,
    reason: Option<EndReason>,
    probabilities: Vec<f32>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let verbose = args.iter().any(|a| a == "--verbose");
    // --repeat N: synthesise every case N times (Piper varies; more turns, steadier figures).
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse().expect("--repeat N"))
        .unwrap_or(1);
    let models = std::env::var_os("VAARTA_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"));
    let runtime = OnnxRuntimeConfig {
        library: models.join("onnxruntime/libonnxruntime.so"),
        ..Default::default()
    };
    // --espeak: the TTS's espeak-ng path (deterministic, robotic); default Piper (natural, but
    // it samples noise, so figures move a little between runs).
    let espeak = args.iter().any(|a| a == "--espeak");
    // --telephone: the VAD hears 8 kHz audio and the model its 16 kHz resampling, as on a call.
    let telephone = args.iter().any(|a| a == "--telephone");
    let mut tts_config = TtsConfig::default();
    tts_config.voices.clear();
    if !espeak {
        tts_config
            .voices
            .insert("en".into(), models.join("piper/en_US-joe-medium.onnx"));
    }
    let tts = Tts::new(&runtime, tts_config).expect("TTS voice");
    let mut model = SmartTurn::load(&runtime, &models.join("turn/smart-turn-v3.2-cpu.onnx"), 1)
        .expect("Smart Turn model (scripts/install-models)");
    // The shell lowers the VAD's min silence so the model can be asked 160 ms after speech;
    // the silence-only path ends 700 ms after speech either way.
    let vad_config = VadConfig {
        model: models.join("vad/silero_vad.onnx"),
        min_silence_ms: 100,
        ..Default::default()
    };
    let settings = TurnSettings::default();

    let mut rows: Vec<(&str, Outcome, Outcome, Duration)> = Vec::new();
    let mut latencies = Vec::new();
    for &(category, text, pauses) in CASES.iter().flat_map(|c| std::iter::repeat_n(c, repeat)) {
        let (audio, speech_end) = caller_turn(&tts, text, pauses);
        let audio = if telephone {
            // the call path: 8 kHz for the VAD, back up to 16 kHz for the model
            let narrow = resample(&audio, RATE, 8000).expect("resample");
            let model_audio = resample(&narrow, 8000, RATE).expect("resample");
            Stream {
                vad_audio: narrow,
                vad_rate: 8000,
                model_audio,
            }
        } else {
            Stream {
                vad_audio: audio.clone(),
                vad_rate: RATE,
                model_audio: audio,
            }
        };
        let smart = simulate(
            &audio,
            &runtime,
            &vad_config,
            settings,
            Some(&mut model),
            &mut latencies,
        );
        let silence = simulate(
            &audio,
            &runtime,
            &vad_config,
            settings,
            None,
            &mut latencies,
        );
        if verbose {
            eprintln!(
                "{category:20} {text:70} end {:>5} ms | smart {:>6} {:?} p={:?} | silence {:>6}",
                speech_end.as_millis(),
                rel(smart.ended, speech_end),
                smart.reason,
                smart
                    .probabilities
                    .iter()
                    .map(|p| (p * 1000.0).round() / 1000.0)
                    .collect::<Vec<_>>(),
                rel(silence.ended, speech_end),
            );
        }
        rows.push((category, smart, silence, speech_end));
    }

    println!(
        "| set | turns | Smart Turn: false cut-offs | Smart Turn: mean delay ms | silence 700 ms: false cut-offs | silence 700 ms: mean delay ms |"
    );
    println!("|---|---|---|---|---|---|");
    let mut categories: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    categories.dedup();
    categories.push("all");
    for cat in categories {
        let set: Vec<_> = rows.iter().filter(|r| cat == "all" || r.0 == cat).collect();
        let (sc, sd) = summarise(set.iter().map(|r| (&r.1, r.3)));
        let (fc, fd) = summarise(set.iter().map(|r| (&r.2, r.3)));
        println!("| {cat} | {} | {sc} | {sd} | {fc} | {fd} |", set.len());
    }
    latencies.sort();
    if let (Some(min), Some(max)) = (latencies.first(), latencies.last()) {
        println!(
            "\nSmart Turn inference: {} runs, median {} ms (min {}, max {})",
            latencies.len(),
            latencies[latencies.len() / 2].as_millis(),
            min.as_millis(),
            max.as_millis()
        );
    }
}

/// One caller turn: 1 s of silence, the speech with its pauses stretched, 3 s of silence.
/// Returns the audio and the real end of speech (stream time).
fn caller_turn(tts: &Tts, text: &str, pauses: &[u32]) -> (Vec<f32>, Duration) {
    let speech = if text.contains('|') {
        let fluent: String = text.split('|').map(str::trim).collect::<Vec<_>>().join(" ");
        let speech = tts.synthesize(&fluent, "en", RATE).expect("synthesis");
        // where each `|` falls, as a fraction of the spoken text
        let mut fractions = Vec::new();
        let mut chars = 0;
        let parts: Vec<&str> = text.split('|').map(str::trim).collect();
        for part in &parts[..parts.len() - 1] {
            chars += part.chars().count() + 1;
            fractions.push(chars as f64 / fluent.chars().count() as f64);
        }
        insert_pauses(&speech, &fractions, pauses)
    } else {
        let speech = tts.synthesize(text, "en", RATE).expect("synthesis");
        stretch_pauses(&speech, pauses)
    };
    let peak = speech.iter().fold(0f32, |m, v| m.max(v.abs()));
    let last = speech
        .iter()
        .rposition(|v| v.abs() > peak * 0.02)
        .unwrap_or(0);
    let lead = RATE as usize;
    let mut audio = vec![0.0; lead];
    audio.extend_from_slice(&speech);
    audio.extend(std::iter::repeat_n(0.0, 3 * RATE as usize));
    (audio, samples(lead + last))
}

/// Inserts `pauses[i]` ms of silence at the quietest 10 ms of the speech within ±150 ms of
/// fraction `at[i]` of its audible span (a word boundary, in fluent speech).
fn insert_pauses(speech: &[f32], at: &[f64], pauses: &[u32]) -> Vec<f32> {
    let win = 160;
    let peak = speech.iter().fold(0f32, |m, v| m.max(v.abs()));
    let first = speech
        .iter()
        .position(|v| v.abs() > peak * 0.02)
        .unwrap_or(0);
    let last = speech
        .iter()
        .rposition(|v| v.abs() > peak * 0.02)
        .unwrap_or(0);
    let energy = |i: usize| -> f32 {
        speech[i..(i + win).min(speech.len())]
            .iter()
            .map(|v| v * v)
            .sum()
    };
    let mut out = Vec::with_capacity(speech.len() + pauses.iter().sum::<u32>() as usize * 16);
    let mut pos = 0;
    for (&f, &ms) in at.iter().zip(pauses) {
        let target = first + ((last - first) as f64 * f) as usize;
        let reach = 15 * win;
        let split = (target.saturating_sub(reach).max(pos)..(target + reach).min(last))
            .step_by(win / 4)
            .min_by(|&a, &b| energy(a).total_cmp(&energy(b)))
            .unwrap_or(target)
            + win / 2;
        out.extend_from_slice(&speech[pos..split]);
        out.extend(std::iter::repeat_n(0.0, ms as usize * RATE as usize / 1000));
        pos = split;
    }
    out.extend_from_slice(&speech[pos..]);
    out
}

/// Finds the `pauses.len()` longest quiet gaps inside the speech (the comma pauses) and makes
/// each, in order of appearance, `pauses[i]` ms long.
fn stretch_pauses(speech: &[f32], pauses: &[u32]) -> Vec<f32> {
    if pauses.is_empty() {
        return speech.to_vec();
    }
    let win = 160; // 10 ms
    let peak = speech.iter().fold(0f32, |m, v| m.max(v.abs()));
    let quiet: Vec<bool> = speech
        .chunks(win)
        .map(|c| c.iter().fold(0f32, |m, v| m.max(v.abs())) < peak * 0.02)
        .collect();
    let first = quiet.iter().position(|q| !q).unwrap_or(0);
    let last = quiet.iter().rposition(|q| !q).unwrap_or(0);
    let mut gaps = Vec::new(); // (start window, length in windows)
    let mut i = first;
    while i < last {
        if quiet[i] {
            let start = i;
            while i < last && quiet[i] {
                i += 1;
            }
            gaps.push((start, i - start));
        } else {
            i += 1;
        }
    }
    gaps.sort_by_key(|g| std::cmp::Reverse(g.1));
    gaps.truncate(pauses.len());
    gaps.sort_by_key(|g| g.0);
    assert_eq!(
        gaps.len(),
        pauses.len(),
        "not enough pauses found in the speech"
    );
    let mut out = Vec::with_capacity(speech.len() + pauses.iter().sum::<u32>() as usize * 16);
    let mut pos = 0;
    for (&(start, len), &ms) in gaps.iter().zip(pauses) {
        let (a, b) = (start * win, (start + len) * win);
        out.extend_from_slice(&speech[pos..a]);
        out.extend(std::iter::repeat_n(0.0, ms as usize * RATE as usize / 1000));
        pos = b;
    }
    out.extend_from_slice(&speech[pos..]);
    out
}

/// Streams `audio` through the VAD and the decider on a virtual clock (wall time = audio time,
/// plus the measured model time for each Smart Turn answer).
fn simulate(
    stream: &Stream,
    runtime: &OnnxRuntimeConfig,
    vad_config: &VadConfig,
    settings: TurnSettings,
    mut model: Option<&mut SmartTurn>,
    latencies: &mut Vec<Duration>,
) -> Outcome {
    let mut vad = VadStream::open(runtime, vad_config, stream.vad_rate).expect("VAD");
    let audio = &stream.model_audio;
    let frame_len = stream.vad_rate as usize / 50; // 20 ms
    let vad_time = |n: usize| Duration::from_secs_f64(n as f64 / f64::from(stream.vad_rate));
    let mut turn = TurnDecider::new(settings, model.is_some());
    let t0 = Instant::now();
    let mut out = Outcome {
        ended: None,
        reason: None,
        probabilities: Vec::new(),
    };
    // (request, probability or failure, delivered at)
    let mut pending: Option<(vaarta_speech::turn::ModelRequest, Option<f32>, Instant)> = None;
    let mut handle = |act: TurnAction,
                      now: Instant,
                      pending: &mut Option<_>,
                      out: &mut Outcome,
                      model: &mut Option<&mut SmartTurn>| match act {
        TurnAction::KeepListening => false,
        TurnAction::RunModel {
            request,
            audio_start,
            audio_end,
        } => {
            let m = model.as_mut().expect("model asked for without a model");
            let a = (audio_start.as_secs_f64() * f64::from(RATE)) as usize;
            let b = ((audio_end.as_secs_f64() * f64::from(RATE)) as usize).min(audio.len());
            let started = Instant::now();
            let p = m.predict(&audio[a..b]).ok();
            let took = started.elapsed();
            latencies.push(took);
            if let Some(p) = p {
                out.probabilities.push(p);
            }
            *pending = Some((request, p, now + took));
            false
        }
        TurnAction::EndTurn { reason, .. } => {
            out.ended = Some(now - t0);
            out.reason = Some(reason);
            true
        }
    };
    for (k, frame) in stream.vad_audio.chunks(frame_len).enumerate() {
        let now = t0 + vad_time((k + 1) * frame_len);
        // timers and model answers due before this frame arrived, in time order
        loop {
            let timer = turn.poll_timeout().filter(|t| *t <= now);
            let answer = pending.filter(|p| p.2 <= now).map(|p| p.2);
            let done = match (timer, answer) {
                (Some(t), a) if a.is_none_or(|a| t < a) => {
                    let act = turn.on_timeout(t);
                    handle(act, t, &mut pending, &mut out, &mut model)
                }
                (_, Some(_)) => {
                    let (req, p, at) = pending.take().unwrap();
                    let act = match p {
                        Some(p) => turn.on_model_result(req, p, at),
                        None => turn.on_model_failed(req, at),
                    };
                    handle(act, at, &mut pending, &mut out, &mut model)
                }
                _ => break,
            };
            if done {
                return out;
            }
        }
        for ev in vad.push(frame).expect("VAD push") {
            let act = match ev {
                VadEvent::SpeechStart { at } => turn.on_speech_start(at, now),
                VadEvent::SpeechEnd { at } => turn.on_speech_end(at, vad.position(), now),
            };
            if handle(act, now, &mut pending, &mut out, &mut model) {
                return out;
            }
        }
    }
    out
}

fn samples(n: usize) -> Duration {
    Duration::from_secs_f64(n as f64 / f64::from(RATE))
}

fn rel(ended: Option<Duration>, speech_end: Duration) -> String {
    match ended {
        Some(e) => format!("{:+}", e.as_millis() as i64 - speech_end.as_millis() as i64),
        None => "never".into(),
    }
}

/// (false cut-offs, mean delay of the turns that ended after the speech).
fn summarise<'a>(outcomes: impl Iterator<Item = (&'a Outcome, Duration)>) -> (String, String) {
    let (mut cut, mut delays, mut never) = (0, Vec::new(), 0);
    for (o, end) in outcomes {
        match o.ended {
            Some(e) if e < end => cut += 1,
            Some(e) => delays.push((e - end).as_secs_f64() * 1000.0),
            None => never += 1,
        }
    }
    let mean = if delays.is_empty() {
        "-".into()
    } else {
        format!("{:.0}", delays.iter().sum::<f64>() / delays.len() as f64)
    };
    let cut = if never > 0 {
        format!("{cut} ({never} never ended)")
    } else {
        cut.to_string()
    };
    (cut, mean)
}
