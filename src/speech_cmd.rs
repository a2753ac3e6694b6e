//! `vaarta say` and `vaarta models convert`: the speech engines from the command line, with the
//! same configuration the service uses (`[speech]` in vaarta.toml).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use vaarta_speech::tts::Tts;

use crate::config::SpeechConfig;

/// Speaks `text` sentence by sentence into a 16-bit mono WAV file at `rate`.
pub fn say(config: &SpeechConfig, text: &str, lang: &str, rate: u32, out: &Path) -> Result<()> {
    let tts = Tts::new(&config.onnx, config.tts.clone()).context("loading the TTS voices")?;
    let spec = hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut wav = hound::WavWriter::create(out, spec).with_context(|| format!("creating {}", out.display()))?;
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
    eprintln!("wrote {} in {:.1} s", out.display(), started.elapsed().as_secs_f64());
    Ok(())
}
