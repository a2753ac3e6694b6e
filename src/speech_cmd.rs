//! `vaarta say` and `vaarta models convert`: the speech engines from the command line, with the
//! same configuration the service uses (`[speech]` in vaarta.toml).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use vaarta_speech::tts::Tts;

use vaarta_orchestrator::config::SpeechConfig;

/// Speaks `text` sentence by sentence into a 16-bit mono WAV file at `rate`.
pub fn say(config: &SpeechConfig, text: &str, lang: &str, rate: u32, out: &Path) -> Result<()> {
    let tts = Tts::new(&config.onnx, config.tts.clone()).context("loading the TTS voices")?;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(out, spec)
        .with_context(|| format!("creating {}", out.display()))?;
    let started = Instant::now();
    let mut samples = 0usize;
    for chunk in tts.stream(text, lang, rate).context("starting synthesis")? {
        let chunk = chunk.context("synthesis failed")?;
        if chunk.sentence == 0 {
            eprintln!("first audio after {} ms", started.elapsed().as_millis());
        }
        eprintln!("[{}] {}", chunk.sentence + 1, chunk.text);
        for s in &chunk.samples {
            wav.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)?;
        }
        samples += chunk.samples.len();
    }
    wav.finalize()?;
    let secs = samples as f64 / f64::from(rate);
    eprintln!(
        "wrote {} ({secs:.2} s of audio in {} ms)",
        out.display(),
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Converts a CTranslate2 Whisper model folder to a whisper.cpp GGML file.
pub fn convert(ct2_dir: &Path, out: Option<PathBuf>) -> Result<()> {
    let out = out.unwrap_or_else(|| ct2_dir.join("ggml-model.bin"));
    let started = Instant::now();
    vaarta_speech::ggml::convert(ct2_dir, &out)
        .with_context(|| format!("converting {}", ct2_dir.display()))?;
    eprintln!(
        "wrote {} in {:.1} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Transcribes an audio file (any supported format) with the file pipeline used for audit
/// transcription: VAD chunks, Whisper per chunk, speakers from stereo channels.
pub fn transcribe(config: &SpeechConfig, file: &Path, json: bool) -> Result<()> {
    use vaarta_speech::file_transcribe as ft;
    let started = Instant::now();
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let cfg = &config.file_transcribe;
    // Decode before loading Whisper, so a bad file fails fast with the decoder's reason.
    let audio = vaarta_speech::decode::decode_bytes(bytes, &cfg.decode)
        .with_context(|| format!("decoding {}", file.display()))?;
    let mut vad = ft::open_vad(&config.onnx, cfg).context("loading the VAD model")?;
    let plan = ft::plan(&audio, &mut vad, cfg)?;
    let model =
        vaarta_speech::stt::WhisperModel::load(&config.stt).context("loading the Whisper model")?;
    let mut transcriber = model.transcriber()?;
    let bar = indicatif::ProgressBar::new(plan.chunks.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} transcribing [{bar:30}] {pos}/{len} chunks {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let results = ft::transcribe_chunks(
        &audio,
        &plan,
        &[],
        &mut transcriber,
        cfg,
        |done, _| bar.set_position(done as u64),
        |_| {},
    );
    bar.finish_and_clear();
    let transcript = ft::assemble(
        &plan,
        &results.with_context(|| format!("transcribing {}", file.display()))?,
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&transcript)?);
    } else {
        for s in &transcript.segments {
            println!(
                "[{:>7.2}-{:>7.2}] {:<9} {}",
                s.start_ms as f64 / 1000.0,
                s.end_ms as f64 / 1000.0,
                s.speaker,
                s.text
            );
        }
    }
    eprintln!(
        "{:.1} s of audio in {:.1} s",
        transcript.duration_ms as f64 / 1000.0,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
