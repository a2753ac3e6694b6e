//! The bot side of a session: messages (a flow prompt, a streamed brain answer, a holding
//! line) are queued in order; each gets a TTS worker on a blocking thread that synthesises its
//! sentences as they arrive, so a message's first sentence plays while later ones are still
//! being generated and the next message is synthesised while this one plays. The speaker keeps
//! the playback timeline (audio is paced by the transport in real time) to say when a message
//! started and finished playing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use vaarta_speech::tts::Tts;

use crate::calls::phrase_cache::PhraseCache;
use crate::voice::BotAudio;

pub type MsgId = u64;

/// From a TTS worker to the loop.
#[derive(Debug)]
pub enum TtsEvent {
    /// `compute`: synthesis time of this sentence (model time, excluded from overhead);
    /// `last`: the last audio of one pushed sentence.
    Audio {
        msg: MsgId,
        pcm: Vec<i16>,
        compute: std::time::Duration,
        last: bool,
    },
    Done {
        msg: MsgId,
    },
    Failed {
        msg: MsgId,
        error: String,
    },
}

/// What the loop must do or learn after a speaker call.
#[derive(Debug, PartialEq)]
pub enum SpeakerOut {
    /// Send this PCM to the transport now.
    Play(Vec<i16>),
    /// A message's first audio went out.
    Started { msg: MsgId, kind: BotAudio },
    /// A message ended: fully played, or cut (`interrupted`) after `played` of it. `heard` is
    /// the text of the sentences the caller heard (all of `text` unless interrupted; empty when
    /// nothing played).
    Finished {
        msg: MsgId,
        kind: BotAudio,
        text: String,
        heard: String,
        interrupted: bool,
        played: Duration,
    },
}

struct Message {
    id: MsgId,
    kind: BotAudio,
    text: String,
    sentences: Option<std::sync::mpsc::Sender<String>>,
    cancel: Arc<AtomicBool>,
    /// Synthesised audio not yet sent (the message is not at the front yet).
    pending: Vec<Vec<i16>>,
    synth_done: bool,
    started_at: Option<Instant>,
    /// Audio sent so far, in samples.
    sent_samples: u64,
    /// Everything sent so far (to resume after a pause from the point the caller last heard).
    sent: Vec<i16>,
    /// Sentences pushed, in order, and the synthesised sample count at the end of each one
    /// synthesised so far (to tell which sentences a cut-off caller heard).
    sentences_text: Vec<String>,
    sentence_ends: Vec<u64>,
    synth_samples: u64,
    /// Keep the audio in the phrase cache under this text once it has played whole.
    cache_as: Option<String>,
}

impl Message {
    fn new(
        id: MsgId,
        kind: BotAudio,
        sentences: Option<std::sync::mpsc::Sender<String>>,
        cancel: Arc<AtomicBool>,
    ) -> Self {
        Message {
            id,
            kind,
            text: String::new(),
            sentences,
            cancel,
            pending: Vec::new(),
            synth_done: false,
            started_at: None,
            sent_samples: 0,
            sent: Vec::new(),
            sentences_text: Vec::new(),
            sentence_ends: Vec::new(),
            synth_samples: 0,
            cache_as: None,
        }
    }

    /// The sentences that started playing within the first `heard` samples.
    fn heard_text(&self, heard: u64) -> String {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, text) in self.sentences_text.iter().enumerate() {
            let Some(&end) = self.sentence_ends.get(i) else {
                break;
            };
            if start >= heard {
                break;
            }
            out.push(text.trim());
            start = end;
        }
        out.join(" ")
    }
}

/// The bot's output queue for one call.
pub struct Speaker {
    tts: Arc<Tts>,
    cache: Arc<PhraseCache>,
    rate: u32,
    lang: String,
    events: mpsc::Sender<TtsEvent>,
    queue: VecDeque<Message>,
    next_id: MsgId,
    /// When the audio sent so far will have finished playing.
    play_end: Option<Instant>,
    /// Paused (caller may be backchannelling): nothing is sent until resume or stop.
    paused: bool,
}

impl Speaker {
    pub fn new(
        tts: Arc<Tts>,
        cache: Arc<PhraseCache>,
        rate: u32,
        lang: &str,
        events: mpsc::Sender<TtsEvent>,
    ) -> Self {
        Self {
            tts,
            cache,
            rate,
            lang: lang.to_string(),
            events,
            queue: VecDeque::new(),
            next_id: 1,
            play_end: None,
            paused: false,
        }
    }

    pub fn language(&self) -> &str {
        &self.lang
    }

    pub fn set_language(&mut self, lang: &str) {
        self.lang = lang.to_string();
    }

    /// Starts a message; give it sentences with [`Speaker::push`] and [`Speaker::close`] it.
    pub fn open(&mut self, kind: BotAudio) -> MsgId {
        let id = self.next_id;
        self.next_id += 1;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let cancel = Arc::new(AtomicBool::new(false));
        let (tts, lang, rate, events, flag) = (
            self.tts.clone(),
            self.lang.clone(),
            self.rate,
            self.events.clone(),
            cancel.clone(),
        );
        tokio::task::spawn_blocking(move || {
            while let Ok(sentence) = rx.recv() {
                if flag.load(Ordering::Relaxed) {
                    return;
                }
                let mut started = Instant::now();
                let chunks = match tts.stream(&sentence, &lang, rate) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = events.blocking_send(TtsEvent::Failed {
                            msg: id,
                            error: e.to_string(),
                        });
                        return;
                    }
                };
                for chunk in chunks {
                    if flag.load(Ordering::Relaxed) {
                        return;
                    }
                    match chunk {
                        Ok(c) => {
                            let pcm = c
                                .samples
                                .iter()
                                .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
                                .collect();
                            let compute = started.elapsed();
                            if events
                                .blocking_send(TtsEvent::Audio {
                                    msg: id,
                                    pcm,
                                    compute,
                                    last: c.last,
                                })
                                .is_err()
                            {
                                return;
                            }
                            started = Instant::now();
                        }
                        Err(e) => {
                            let _ = events.blocking_send(TtsEvent::Failed {
                                msg: id,
                                error: e.to_string(),
                            });
                            return;
                        }
                    }
                }
            }
            let _ = events.blocking_send(TtsEvent::Done { msg: id });
        });
        self.queue
            .push_back(Message::new(id, kind, Some(tx), cancel));
        id
    }

    /// Says a fixed line (holding, filler, apology, a flow's literal prompt): from the phrase
    /// cache at once when it was synthesised before, else synthesised now and cached once it
    /// has played whole.
    pub fn say_fixed(&mut self, kind: BotAudio, text: &str) -> MsgId {
        let Some(pcm) = self.cache.get(&self.tts, &self.lang, self.rate, text) else {
            let id = self.say(kind, text);
            if let Some(m) = self.queue.iter_mut().find(|m| m.id == id) {
                m.cache_as = Some(text.to_string());
            }
            return id;
        };
        let id = self.next_id;
        self.next_id += 1;
        let mut m = Message::new(id, kind, None, Arc::new(AtomicBool::new(false)));
        m.text = text.trim().to_string();
        m.sentences_text.push(m.text.clone());
        m.synth_samples = pcm.len() as u64;
        m.sentence_ends.push(m.synth_samples);
        m.pending.push(pcm.to_vec());
        m.synth_done = true;
        // A cached holding line or filler covers silence now: it goes before messages that have
        // not started (an answer still being synthesised), not behind them.
        let at = match kind {
            BotAudio::Holding { .. } | BotAudio::Filler => self
                .queue
                .iter()
                .position(|q| q.started_at.is_none())
                .unwrap_or(self.queue.len()),
            BotAudio::Answer => self.queue.len(),
        };
        self.queue.insert(at, m);
        id
    }

    /// Whether the line would play from the cache.
    pub fn is_cached(&self, text: &str) -> bool {
        self.cache.contains(&self.tts, &self.lang, self.rate, text)
    }

    /// The text of a message pushed so far (captions).
    pub fn text_of(&self, msg: MsgId) -> Option<&str> {
        self.queue
            .iter()
            .find(|m| m.id == msg)
            .map(|m| m.text.as_str())
    }

    /// Adds a sentence to an open message. An answer's long first sentence is synthesised in
    /// two parts (after its first clause), so the caller hears it sooner.
    pub fn push(&mut self, msg: MsgId, sentence: &str) {
        if sentence.trim().is_empty() {
            return;
        }
        let first_of_answer = self
            .queue
            .iter()
            .find(|m| m.id == msg)
            .is_some_and(|m| m.kind == BotAudio::Answer && m.sentences_text.is_empty());
        if first_of_answer
            && let (head, Some(tail)) = vaarta_speech::tts::split_first_clause(sentence)
        {
            self.push_one(msg, &head);
            self.push_one(msg, &tail);
            return;
        }
        self.push_one(msg, sentence);
    }

    fn push_one(&mut self, msg: MsgId, sentence: &str) {
        if let Some(m) = self.queue.iter_mut().find(|m| m.id == msg) {
            if !m.text.is_empty() {
                m.text.push(' ');
            }
            m.text.push_str(sentence.trim());
            m.sentences_text.push(sentence.to_string());
            if let Some(tx) = &m.sentences {
                let _ = tx.send(sentence.to_string());
            }
        }
    }

    /// No more sentences for this message.
    pub fn close(&mut self, msg: MsgId) {
        if let Some(m) = self.queue.iter_mut().find(|m| m.id == msg) {
            m.sentences = None;
        }
    }

    /// One whole message in one go.
    pub fn say(&mut self, kind: BotAudio, text: &str) -> MsgId {
        let id = self.open(kind);
        for s in vaarta_speech::tts::split_sentences(text) {
            self.push(id, &s);
        }
        self.close(id);
        id
    }

    /// Handles a worker event; returns what to play and which messages started/finished.
    pub fn on_event(&mut self, now: Instant, ev: TtsEvent) -> Vec<SpeakerOut> {
        match ev {
            TtsEvent::Audio { msg, pcm, last, .. } => {
                if let Some(m) = self.queue.iter_mut().find(|m| m.id == msg) {
                    m.synth_samples += pcm.len() as u64;
                    if last {
                        m.sentence_ends.push(m.synth_samples);
                    }
                    m.pending.push(pcm);
                }
            }
            TtsEvent::Done { msg } | TtsEvent::Failed { msg, .. } => {
                if let Some(m) = self.queue.iter_mut().find(|m| m.id == msg) {
                    m.synth_done = true;
                }
            }
        }
        self.poll(now)
    }

    /// Sends what the front message has ready, and retires messages whose audio has played.
    pub fn poll(&mut self, now: Instant) -> Vec<SpeakerOut> {
        let mut out = Vec::new();
        if self.paused {
            return out;
        }
        loop {
            let rate = self.rate;
            let Some(front) = self.queue.front_mut() else {
                break;
            };
            for pcm in front.pending.drain(..) {
                if pcm.is_empty() {
                    continue;
                }
                if front.started_at.is_none() {
                    front.started_at = Some(now);
                    out.push(SpeakerOut::Started {
                        msg: front.id,
                        kind: front.kind,
                    });
                }
                let start = self.play_end.filter(|e| *e > now).unwrap_or(now);
                self.play_end = Some(
                    start + Duration::from_micros(pcm.len() as u64 * 1_000_000 / u64::from(rate)),
                );
                front.sent_samples += pcm.len() as u64;
                front.sent.extend_from_slice(&pcm);
                out.push(SpeakerOut::Play(pcm));
            }
            let played_out = self.play_end.is_none_or(|e| e <= now);
            let finished = front.synth_done && front.sentences.is_none() && played_out;
            if !finished {
                break;
            }
            let m = self.queue.pop_front().expect("front exists");
            let played = Duration::from_micros(m.sent_samples * 1_000_000 / u64::from(rate));
            if let Some(line) = &m.cache_as {
                self.cache.insert(
                    &self.tts,
                    &self.lang,
                    rate,
                    line,
                    Arc::from(m.sent.as_slice()),
                );
            }
            let heard = if m.sent_samples == 0 {
                String::new()
            } else {
                m.text.clone()
            };
            out.push(SpeakerOut::Finished {
                msg: m.id,
                kind: m.kind,
                text: m.text,
                heard,
                interrupted: false,
                played,
            });
        }
        out
    }

    /// Holds the current message where the caller last heard it (the caller must clear the
    /// transport); [`Speaker::resume`] continues from that point.
    pub fn pause(&mut self, now: Instant) {
        if self.paused {
            return;
        }
        self.paused = true;
        let rate = u64::from(self.rate);
        let unplayed = self
            .play_end
            .filter(|e| *e > now)
            .map_or(0, |e| (e - now).as_micros() as u64 * rate / 1_000_000);
        self.play_end = None;
        if let Some(m) = self.queue.front_mut() {
            let heard = m.sent.len().saturating_sub(unplayed as usize);
            let rest = m.sent.split_off(heard);
            m.sent_samples = heard as u64;
            if !rest.is_empty() {
                m.pending.insert(0, rest);
            }
        }
    }

    /// Continues after [`Speaker::pause`].
    pub fn resume(&mut self, now: Instant) -> Vec<SpeakerOut> {
        self.paused = false;
        self.poll(now)
    }

    /// Stops everything queued (barge-in) or only the current message (`only_current`).
    /// The caller must clear the transport's queue too.
    pub fn stop(&mut self, now: Instant, only_current: bool) -> Vec<SpeakerOut> {
        let mut out = Vec::new();
        let n = if only_current {
            self.queue.len().min(1)
        } else {
            self.queue.len()
        };
        for _ in 0..n {
            let m = self.queue.pop_front().expect("counted");
            m.cancel.store(true, Ordering::Relaxed);
            let played = match m.started_at {
                Some(t) => now.saturating_duration_since(t).min(Duration::from_micros(
                    m.sent_samples * 1_000_000 / u64::from(self.rate),
                )),
                None => Duration::ZERO,
            };
            let heard = m.heard_text(played.as_micros() as u64 * u64::from(self.rate) / 1_000_000);
            out.push(SpeakerOut::Finished {
                msg: m.id,
                kind: m.kind,
                text: m.text,
                heard,
                interrupted: true,
                played,
            });
        }
        self.play_end = None;
        self.paused = false;
        out
    }

    /// When [`Speaker::poll`] must run again to retire a message.
    pub fn next_wake(&self) -> Option<Instant> {
        if self.paused {
            return None;
        }
        // Audio ready at the front (a cached line) goes out at once.
        if self
            .queue
            .front()
            .is_some_and(|m| m.pending.iter().any(|p| !p.is_empty()))
        {
            return Some(Instant::now());
        }
        self.queue
            .front()
            .filter(|m| m.synth_done && m.sentences.is_none())
            .and(self.play_end)
    }

    /// Nothing queued or playing.
    pub fn idle(&self) -> bool {
        self.queue.is_empty()
    }

    /// Drops queued messages of these kinds that have not started playing (a holding line still
    /// being synthesised when the answer arrives must not delay it).
    pub fn discard_unstarted(&mut self, pred: impl Fn(BotAudio) -> bool) {
        self.queue.retain(|m| {
            let drop = m.started_at.is_none() && pred(m.kind);
            if drop {
                m.cancel.store(true, Ordering::Relaxed);
            }
            !drop
        });
    }

    /// Whether `msg` is the first message of this kind still queued (the next to play).
    pub fn front_is(&self, msg: MsgId, kind: BotAudio) -> bool {
        self.queue
            .iter()
            .find(|m| m.kind == kind)
            .is_some_and(|m| m.id == msg)
    }

    /// Kind of the message at the front (playing or about to).
    pub fn current_kind(&self) -> Option<BotAudio> {
        self.queue.front().map(|m| m.kind)
    }

    /// Whether a message of this kind is queued.
    pub fn has_kind(&self, pred: impl Fn(BotAudio) -> bool) -> bool {
        self.queue.iter().any(|m| pred(m.kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_message_is_heard_up_to_the_sentence_it_was_cut_in() {
        let mut m = Message::new(1, BotAudio::Answer, None, Arc::new(AtomicBool::new(false)));
        m.sentences_text = vec![
            "Your order shipped.".into(),
            "It arrives Monday.".into(),
            "Anything else?".into(),
        ];
        // Synthesised so far: the first two sentences (8000 and 6000 samples).
        m.sentence_ends = vec![8000, 14_000];
        assert_eq!(m.heard_text(0), "");
        assert_eq!(m.heard_text(100), "Your order shipped.");
        assert_eq!(m.heard_text(8000), "Your order shipped.");
        assert_eq!(m.heard_text(8001), "Your order shipped. It arrives Monday.");
        // The third sentence was never synthesised, so never heard.
        assert_eq!(
            m.heard_text(50_000),
            "Your order shipped. It arrives Monday."
        );
    }
}
