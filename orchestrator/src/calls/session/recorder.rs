//! Optional call recording (`settings.voice.record_calls`): both sides on one timeline as a
//! stereo WAV, left = caller, right = bot, at the call's line rate. Bot audio is placed where the
//! caller heard it (after what was queued) and cut where a barge-in cleared it, so the recording
//! is what was actually said, not what was synthesised.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest recording kept in memory; later audio is dropped (and the WAV says so by ending).
const MAX_DURATION: Duration = Duration::from_secs(4 * 60 * 60);

/// The two tracks of one call.
#[derive(Debug)]
pub struct Recorder {
    rate: u32,
    start: Instant,
    caller: Vec<i16>,
    bot: Vec<i16>,
    max_samples: usize,
}

impl Recorder {
    pub fn new(rate: u32, start: Instant) -> Self {
        Recorder {
            rate,
            start,
            caller: Vec::new(),
            bot: Vec::new(),
            max_samples: (MAX_DURATION.as_secs() * u64::from(rate)) as usize,
        }
    }

    fn pos(&self, now: Instant) -> usize {
        (now.saturating_duration_since(self.start).as_micros() as u64 * u64::from(self.rate)
            / 1_000_000) as usize
    }

    /// Caller audio that just arrived (frames come in real time, back to back).
    pub fn caller(&mut self, now: Instant, pcm: &[i16]) {
        if self.caller.is_empty() {
            // The first frame ends now: silence before it.
            self.caller
                .resize(self.pos(now).saturating_sub(pcm.len()), 0);
        }
        let room = self.max_samples.saturating_sub(self.caller.len());
        self.caller.extend_from_slice(&pcm[..pcm.len().min(room)]);
    }

    /// Bot audio handed to the transport at `now`: it plays after what is already queued.
    pub fn bot(&mut self, now: Instant, pcm: &[i16]) {
        let at = self.pos(now).max(self.bot.len());
        self.bot.resize(at.min(self.max_samples), 0);
        let room = self.max_samples.saturating_sub(self.bot.len());
        self.bot.extend_from_slice(&pcm[..pcm.len().min(room)]);
    }

    /// Queued bot audio was dropped at `now` (barge-in): the rest was never heard.
    pub fn bot_cleared(&mut self, now: Instant) {
        let at = self.pos(now);
        if self.bot.len() > at {
            self.bot.truncate(at);
        }
    }

    /// Writes `<dir>/<name>.wav` (stereo PCM16) and returns its path.
    pub fn write(&self, dir: &Path, name: &str) -> Result<PathBuf, hound::Error> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{name}.wav"));
        let tmp = dir.join(format!(".{name}.wav.part"));
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: self.rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&tmp, spec)?;
        let n = self.caller.len().max(self.bot.len());
        for i in 0..n {
            w.write_sample(self.caller.get(i).copied().unwrap_or(0))?;
            w.write_sample(self.bot.get(i).copied().unwrap_or(0))?;
        }
        w.finalize()?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn both_sides_land_on_one_timeline_and_a_barge_in_cuts_the_bot() {
        let t0 = Instant::now();
        let mut r = Recorder::new(8000, t0);
        // Bot speaks 1 s from t=0 (queued in one go), caller answers from t=0.5 s.
        r.bot(t0, &[1000; 8000]);
        r.caller(t0 + MS(520), &[-500; 160]);
        r.caller(t0 + MS(540), &[-500; 160]);
        // Barge-in at 0.6 s: the rest of the bot's second was never heard.
        r.bot_cleared(t0 + MS(600));
        // The next bot message goes out at 2 s.
        r.bot(t0 + MS(2000), &[700; 800]);
        let dir = tempfile::tempdir().unwrap();
        let path = r.write(dir.path(), "call").unwrap();
        let mut rd = hound::WavReader::open(&path).unwrap();
        assert_eq!(rd.spec().channels, 2);
        let s: Vec<i16> = rd.samples::<i16>().map(|x| x.unwrap()).collect();
        let (left, right): (Vec<i16>, Vec<i16>) = (
            s.iter().step_by(2).copied().collect(),
            s.iter().skip(1).step_by(2).copied().collect(),
        );
        assert_eq!(
            right.len(),
            16800,
            "ends with the second message (2 s + 0.1 s)"
        );
        assert_eq!(right[4799], 1000, "heard until the barge-in");
        assert_eq!(right[4800], 0, "cut at 0.6 s");
        assert_eq!(right[16000], 700, "the next message at 2 s");
        assert_eq!(left[4000 - 1], 0);
        assert_eq!(
            left[4000], -500,
            "the caller's first frame ends when it arrived (0.52 s)"
        );
        assert_eq!(left[4319], -500);
        assert!(!dir.path().join(".call.wav.part").exists());
    }
}
