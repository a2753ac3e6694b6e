//! Sans-IO turn taking for one call: who has the floor, when the caller's turn ends, when the
//! bot must yield (barge-in), and what fills the line while the answer is slow.
//!
//! The shell feeds [`TurnEvent`]s with the current `now` through [`TurnTaker::handle`], calls
//! [`TurnTaker::handle_timeout`] when [`TurnTaker::poll_timeout`] says so, and carries out the
//! returned [`TurnAction`]s. Nothing here sleeps, reads a clock or does IO, so every rule is
//! tested with a fake clock.
//!
//! Rules, in short:
//! - Caller speech over bot audio: the reaction (stop, duck or pause, see [`BargeInMode`]) is
//!   returned by the same `handle` call that receives the VAD start. With duck/pause the bot
//!   is stopped as soon as the transcript shows real words, or when the decision window ends
//!   while the caller is still talking with no words recognised; it is restored when the words
//!   are only a backchannel or the sound was over before the window ended.
//! - An utterance that begins while the bot has the floor (audio playing or an answer owed)
//!   and consists only of backchannels is reported as [`TurnAction::Backchannel`], never as an
//!   end of turn. Outside the bot's floor "haan" is a real answer (to "shall I book it?").
//! - End of turn: `end_of_turn_silence_ms` after the VAD speech end, or at once when the
//!   semantic end-of-turn model says the utterance is complete ([`TurnEvent::TurnComplete`]),
//!   the STT final is asked for ([`TurnAction::FinalizeStt`]); with it (or, after `stt_final_timeout_ms`, with the last
//!   partial) comes [`TurnAction::EndOfTurn`].
//! - A final transcript that is slow (a busy node) is waited for, not replaced by the last
//!   partial: after `holding_after_ms` of silence the caller hears a holding line (once) while
//!   it comes; `stt_final_timeout_ms` is only the last resort.
//! - While an answer is owed: holding messages from `holding_after_ms`, repeated every
//!   `holding_repeat_ms`, [`TurnAction::Escalate`] at `escalate_after_ms`, and never more than
//!   `max_dead_air_ms` of silence (an early holding message or a filler), counted from the
//!   caller's speech end or the end of the last bot audio. Nothing plays over the caller.
//!   Escalation also covers an answer whose text is ready but whose audio never starts.

use std::time::{Duration, Instant};

use vaarta_speech::vad::VadEvent;

use super::backchannel::{BackchannelMatcher, Utterance};
use super::config::{BargeInMode, TurnTakingConfig};

/// What the bot is playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotAudio {
    /// The answer to the caller (or any flow prompt, e.g. the greeting).
    Answer,
    /// A holding message of the given level.
    Holding { level: u8 },
    /// A short dead-air filler ("ek second…").
    Filler,
}

/// Something that happened on the call, as seen by the turn taker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEvent {
    /// The endpointer confirmed caller speech (`VadEvent::SpeechStart`).
    VadSpeechStart,
    /// The endpointer saw the caller's speech end (`VadEvent::SpeechEnd`).
    VadSpeechEnd,
    /// STT partial: the whole current utterance's text so far.
    SttPartial(String),
    /// STT final for the current utterance.
    SttFinal(String),
    /// Bot audio began going out. Started/finished bracket one whole message (every sentence
    /// of an answer), not each TTS chunk.
    PlaybackStarted(BotAudio),
    /// How much of the current bot audio has gone out so far.
    PlaybackProgress { played: Duration },
    /// The current bot audio went out completely.
    PlaybackFinished,
    /// The first sentence of the answer to the last turn is ready for TTS.
    ResponseReady,
    /// The semantic end-of-turn model (Smart Turn) judged the caller's utterance complete:
    /// the turn ends now instead of after `end_of_turn_silence_ms`.
    TurnComplete,
}

impl From<VadEvent> for TurnEvent {
    /// The endpointer's boundaries, as they are decided (their audio time is not needed: the
    /// turn taker works on the decision time, which is what the caller experiences).
    fn from(e: VadEvent) -> Self {
        match e {
            VadEvent::SpeechStart { .. } => TurnEvent::VadSpeechStart,
            VadEvent::SpeechEnd { .. } => TurnEvent::VadSpeechEnd,
        }
    }
}

/// Why playback is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The caller is talking over the bot.
    BargeIn,
    /// A holding message or filler gives way to the answer that is now ready.
    AnswerReady,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnAction {
    /// Stop and flush the bot's audio now.
    StopPlayback { reason: StopReason },
    /// Play the bot's audio at this volume factor while deciding about caller speech.
    DuckPlayback { gain: f32 },
    /// Hold the bot's audio (send silence) while deciding; resume from the same point later.
    PausePlayback,
    /// Undo a duck or pause: the caller only backchannelled.
    ResumePlayback,
    /// For the flow: the caller interrupted the answer after `heard` of it had played.
    Interrupted { heard: Duration },
    /// The caller's turn is over: produce the STT final for the utterance.
    FinalizeStt,
    /// The caller finished a turn with this text: hand it to the flow.
    EndOfTurn { text: String },
    /// The caller only acknowledged (not an answer, not a barge-in); for the log.
    Backchannel { text: String },
    /// Play the site's holding message of this level (0 first; clamp to the list you have).
    PlayHolding { level: u8 },
    /// Play a short filler: the line has been silent too long while an answer is owed.
    DeadAirFiller,
    /// The answer is far too slow: fail over (polite line, transfer to a human).
    Escalate,
}

/// The caller's current utterance.
#[derive(Debug, Clone)]
struct Utt {
    speaking: bool,
    /// The bot had the floor when it began (or started talking during it).
    on_bot_floor: bool,
    partial: String,
    final_text: Option<String>,
    class: Utterance,
    /// This utterance already stopped the bot.
    barged: bool,
    ended_at: Option<Instant>,
    /// When the STT final was asked for; `None` until the end-of-turn silence passed.
    finalize_asked: Option<Instant>,
    /// A holding line already covered the wait for this utterance's final transcript.
    held: bool,
}

impl Utt {
    /// Finished speaking, waiting for the final transcript (the turn is not decided yet, but
    /// the caller is waiting: the line may carry a holding line).
    fn awaiting_final(&self) -> bool {
        !self.speaking && self.finalize_asked.is_some()
    }
}

#[derive(Debug, Clone, Copy)]
struct Playing {
    audio: BotAudio,
    started: Instant,
    played: Option<Duration>,
}

/// The answer the bot owes since the caller's last turn.
#[derive(Debug, Clone, Copy)]
struct Owed {
    turn_end: Instant,
    ready: bool,
    next_level: u8,
    next_holding: Instant,
    escalated: bool,
}

/// The turn-taking state machine of one call.
#[derive(Debug, Clone)]
pub struct TurnTaker {
    cfg: TurnTakingConfig,
    matcher: BackchannelMatcher,
    utt: Option<Utt>,
    playing: Option<Playing>,
    /// Deadline of the duck/pause decision window, while the bot is ducked or paused.
    window: Option<Instant>,
    owed: Option<Owed>,
    /// End of the last sound on the line (caller or bot): the dead-air clock.
    last_sound: Option<Instant>,
}

/// How long a final transcript normally takes; only a slower one gets a holding line.
const FINAL_GRACE: Duration = Duration::from_millis(700);

/// When a holding line covers a slow final: `holding_after_ms` after the caller stopped, and
/// never before the final had [`FINAL_GRACE`] to come (a turn ended late by the silence
/// backstop must not get a holding line the moment the final is asked for).
fn final_wait_holding_at(holding_after_ms: u64, ended: Instant, asked: Instant) -> Instant {
    (ended + ms(holding_after_ms)).max(asked + FINAL_GRACE)
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

impl TurnTaker {
    /// A turn taker for a call in `lang` (backchannels of that language plus the common ones).
    pub fn new(cfg: TurnTakingConfig, lang: &str) -> Self {
        let matcher = BackchannelMatcher::new(&cfg.backchannels.phrases_for(lang));
        Self {
            cfg,
            matcher,
            utt: None,
            playing: None,
            window: None,
            owed: None,
            last_sound: None,
        }
    }

    pub fn config(&self) -> &TurnTakingConfig {
        &self.cfg
    }

    /// True while the caller is talking or has an unfinished real utterance: do not start bot
    /// audio now (the turn taker would stop it at once).
    pub fn caller_holds_line(&self) -> bool {
        self.utt
            .as_ref()
            .is_some_and(|u| u.speaking || u.class == Utterance::Speech)
    }

    /// True while an answer to the caller's last turn is owed and has not started playing.
    pub fn answer_owed(&self) -> bool {
        self.owed.is_some()
    }

    /// Feeds one event; timers due by `now` fire first.
    pub fn handle(&mut self, now: Instant, event: TurnEvent) -> Vec<TurnAction> {
        let mut out = Vec::new();
        self.fire_timers(now, &mut out);
        self.apply(now, event, &mut out);
        self.fire_timers(now, &mut out);
        out
    }

    /// Fires whatever is due by `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<TurnAction> {
        let mut out = Vec::new();
        self.fire_timers(now, &mut out);
        out
    }

    /// When [`Self::handle_timeout`] must be called next (`None`: only events can change things).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if let Some(w) = self.window {
            consider(w);
        }
        if let Some(u) = &self.utt
            && let Some(ended) = u.ended_at
        {
            match u.finalize_asked {
                None => consider(ended + ms(self.cfg.end_of_turn_silence_ms)),
                Some(asked) => consider(asked + ms(self.cfg.stt_final_timeout_ms)),
            }
            if u.awaiting_final() && !u.held && self.owed.is_none() && self.playing.is_none() {
                consider(final_wait_holding_at(
                    self.cfg.holding_after_ms,
                    ended,
                    u.finalize_asked.unwrap_or(ended),
                ));
            }
        }
        if let Some(o) = &self.owed
            && !o.escalated
        {
            consider(o.turn_end + ms(self.cfg.escalate_after_ms));
            if self.line_free() {
                if !o.ready {
                    consider(o.next_holding);
                }
                if let Some(t) = self.dead_air_deadline() {
                    consider(t);
                }
            }
        }
        next
    }

    fn apply(&mut self, now: Instant, event: TurnEvent, out: &mut Vec<TurnAction>) {
        match event {
            TurnEvent::VadSpeechStart => self.speech_start(now, out),
            TurnEvent::VadSpeechEnd => self.speech_end(now, out),
            TurnEvent::SttPartial(text) => {
                if let Some(u) = &mut self.utt {
                    u.class = self.matcher.classify_partial(&text);
                    u.partial = text;
                    // More words after a final: the final no longer covers the utterance.
                    u.final_text = None;
                    self.react_to_text(now, out);
                }
            }
            TurnEvent::SttFinal(text) => {
                if let Some(u) = &mut self.utt {
                    u.class = self.matcher.classify_final(&text);
                    u.final_text = Some(text);
                    self.react_to_text(now, out);
                    // The silence already passed: the turn is complete now.
                    if self
                        .utt
                        .as_ref()
                        .is_some_and(|u| u.finalize_asked.is_some())
                    {
                        self.complete_utterance(now, out);
                    }
                }
            }
            TurnEvent::TurnComplete => {
                let Some(u) = &mut self.utt else { return };
                if u.speaking || u.ended_at.is_none() || u.finalize_asked.is_some() {
                    return;
                }
                if u.final_text.is_some() {
                    self.complete_utterance(now, out);
                } else {
                    u.finalize_asked = Some(now);
                    out.push(TurnAction::FinalizeStt);
                }
            }
            TurnEvent::PlaybackStarted(audio) => self.playback_started(now, audio, out),
            TurnEvent::PlaybackProgress { played } => {
                if let Some(p) = &mut self.playing {
                    p.played = Some(played);
                }
            }
            TurnEvent::PlaybackFinished => {
                if self.playing.take().is_some() {
                    self.last_sound = Some(now);
                }
                self.window = None;
            }
            TurnEvent::ResponseReady => {
                if let Some(o) = &mut self.owed {
                    o.ready = true;
                    let filling = matches!(
                        self.playing,
                        Some(Playing {
                            audio: BotAudio::Holding { .. } | BotAudio::Filler,
                            ..
                        })
                    );
                    if filling && self.cfg.holding_yields_to_answer {
                        self.stop(now, StopReason::AnswerReady, out);
                    }
                }
            }
        }
    }

    fn speech_start(&mut self, now: Instant, out: &mut Vec<TurnAction>) {
        let bot_floor = self.playing.is_some() || self.owed.is_some();
        let u = self.utt.get_or_insert_with(|| Utt {
            speaking: true,
            on_bot_floor: bot_floor,
            partial: String::new(),
            final_text: None,
            class: Utterance::Empty,
            barged: false,
            ended_at: None,
            finalize_asked: None,
            held: false,
        });
        // Speech resumed within the end-of-turn silence: the same turn goes on, and a final
        // taken in the pause no longer covers it.
        u.speaking = true;
        u.ended_at = None;
        u.finalize_asked = None;
        u.final_text = None;
        if self.playing.is_some() {
            self.overlap_started(now, out);
        }
    }

    /// The caller started (or goes on) talking while bot audio plays.
    fn overlap_started(&mut self, now: Instant, out: &mut Vec<TurnAction>) {
        let Some(u) = &mut self.utt else { return };
        u.on_bot_floor = true;
        if u.barged || self.window.is_some() {
            return;
        }
        if u.class == Utterance::Speech {
            self.stop(now, StopReason::BargeIn, out);
            return;
        }
        let window = ms(self.cfg.backchannel_window_ms);
        match self.cfg.barge_in {
            _ if window.is_zero() => self.stop(now, StopReason::BargeIn, out),
            BargeInMode::Immediate => self.stop(now, StopReason::BargeIn, out),
            BargeInMode::Duck => {
                out.push(TurnAction::DuckPlayback {
                    gain: self.cfg.duck_gain.clamp(0.0, 1.0),
                });
                self.window = Some(now + window);
            }
            BargeInMode::Pause => {
                out.push(TurnAction::PausePlayback);
                self.window = Some(now + window);
            }
        }
    }

    fn speech_end(&mut self, now: Instant, out: &mut Vec<TurnAction>) {
        let Some(u) = &mut self.utt else { return };
        u.speaking = false;
        u.ended_at = Some(now);
        self.last_sound = Some(self.last_sound.map_or(now, |t| t.max(now)));
        // A short sound that is (so far) only a backchannel or nothing: no need to wait.
        if self.window.is_some() && u.class != Utterance::Speech {
            self.resume(out);
        }
    }

    /// New text for the current utterance: real words on the bot's floor stop the bot.
    fn react_to_text(&mut self, now: Instant, out: &mut Vec<TurnAction>) {
        let Some(u) = &self.utt else { return };
        if u.class == Utterance::Speech && u.on_bot_floor && !u.barged && self.playing.is_some() {
            self.stop(now, StopReason::BargeIn, out);
        }
    }

    fn playback_started(&mut self, now: Instant, audio: BotAudio, out: &mut Vec<TurnAction>) {
        self.playing = Some(Playing {
            audio,
            started: now,
            played: None,
        });
        self.window = None;
        if audio == BotAudio::Answer {
            self.owed = None;
        }
        // Bot audio over a caller who is done and waiting for the final transcript (a holding
        // line on a busy node) is not an overlap.
        if self.caller_holds_line() && !self.utt.as_ref().is_some_and(Utt::awaiting_final) {
            self.overlap_started(now, out);
        }
    }

    /// Stops the bot's audio; an interrupted answer is reported to the flow.
    fn stop(&mut self, now: Instant, reason: StopReason, out: &mut Vec<TurnAction>) {
        self.window = None;
        let Some(p) = self.playing.take() else { return };
        out.push(TurnAction::StopPlayback { reason });
        self.last_sound = Some(now);
        if reason == StopReason::BargeIn {
            if let Some(u) = &mut self.utt {
                u.barged = true;
            }
            if p.audio == BotAudio::Answer {
                let heard = p.played.unwrap_or_else(|| now.duration_since(p.started));
                out.push(TurnAction::Interrupted { heard });
            }
        }
    }

    fn resume(&mut self, out: &mut Vec<TurnAction>) {
        if self.window.take().is_some() && self.playing.is_some() {
            out.push(TurnAction::ResumePlayback);
        }
    }

    fn fire_timers(&mut self, now: Instant, out: &mut Vec<TurnAction>) {
        // Decision window: words decide; without words, still talking means a real barge-in.
        if let Some(w) = self.window
            && now >= w
        {
            let (class, speaking) = self
                .utt
                .as_ref()
                .map_or((Utterance::Empty, false), |u| (u.class, u.speaking));
            match class {
                Utterance::Speech => self.stop(now, StopReason::BargeIn, out),
                Utterance::Empty if speaking => self.stop(now, StopReason::BargeIn, out),
                _ => self.resume(out),
            }
        }
        let eot = ms(self.cfg.end_of_turn_silence_ms);
        let final_wait = ms(self.cfg.stt_final_timeout_ms);
        let due = self.utt.as_ref().and_then(|u| {
            let ended = u.ended_at?;
            match u.finalize_asked {
                None if now >= ended + eot => Some(u.final_text.is_some()),
                Some(asked) if now >= asked + final_wait => Some(true),
                _ => None,
            }
        });
        match (due, &mut self.utt) {
            (Some(true), _) => self.complete_utterance(now, out),
            (Some(false), Some(u)) => {
                u.finalize_asked = Some(now);
                out.push(TurnAction::FinalizeStt);
            }
            _ => {}
        }
        self.fire_final_wait(now, out);
        self.fire_owed(now, out);
    }

    /// The caller is done and the final transcript is slow (a busy node): after
    /// `holding_after_ms` of silence the caller hears a holding line, once; the turn still
    /// ends on the final, so the answer is to the whole utterance.
    fn fire_final_wait(&mut self, now: Instant, out: &mut Vec<TurnAction>) {
        if self.playing.is_some() || self.owed.is_some() {
            return;
        }
        let Some(u) = &mut self.utt else { return };
        let Some(ended) = u.ended_at else { return };
        let Some(asked) = u.finalize_asked else {
            return;
        };
        let due = final_wait_holding_at(self.cfg.holding_after_ms, ended, asked);
        if !u.awaiting_final() || u.held || u.class == Utterance::Backchannel || now < due {
            return;
        }
        u.held = true;
        out.push(TurnAction::PlayHolding { level: 0 });
        self.last_sound = Some(now);
    }

    /// Holding, escalation and dead air while an answer is owed.
    fn fire_owed(&mut self, now: Instant, out: &mut Vec<TurnAction>) {
        let line_free = self.line_free();
        let dead_air = self.dead_air_deadline();
        let Some(o) = &mut self.owed else { return };
        if o.escalated {
            return;
        }
        // Ready text whose audio never starts (TTS stuck) is as bad as no text.
        if now >= o.turn_end + ms(self.cfg.escalate_after_ms) {
            o.escalated = true;
            out.push(TurnAction::Escalate);
            return;
        }
        if !line_free {
            return;
        }
        let holding_due = !o.ready && now >= o.next_holding;
        let dead_air_due = dead_air.is_some_and(|t| now >= t);
        if holding_due || (dead_air_due && !o.ready && o.next_level == 0) {
            out.push(TurnAction::PlayHolding {
                level: o.next_level,
            });
            o.next_level = o.next_level.saturating_add(1);
            o.next_holding = now + ms(self.cfg.holding_repeat_ms);
            self.last_sound = Some(now);
        } else if dead_air_due {
            out.push(TurnAction::DeadAirFiller);
            self.last_sound = Some(now);
        }
    }

    /// Nothing plays and the caller is not taking the turn: the bot may fill the line.
    fn line_free(&self) -> bool {
        self.playing.is_none() && !self.caller_holds_line()
    }

    fn dead_air_deadline(&self) -> Option<Instant> {
        self.owed?;
        self.last_sound.map(|t| t + ms(self.cfg.max_dead_air_ms))
    }

    /// The utterance is over: an end of turn, a backchannel, or nothing (noise).
    fn complete_utterance(&mut self, now: Instant, out: &mut Vec<TurnAction>) {
        let Some(u) = self.utt.take() else { return };
        if self.window.is_some() {
            self.resume(out);
        }
        let text = u.final_text.unwrap_or(u.partial).trim().to_string();
        match self.matcher.classify_final(&text) {
            Utterance::Empty => {}
            Utterance::Backchannel if u.on_bot_floor => {
                out.push(TurnAction::Backchannel { text });
            }
            _ => {
                out.push(TurnAction::EndOfTurn { text });
                let ended = u.ended_at.unwrap_or(now);
                self.last_sound = Some(self.last_sound.map_or(ended, |t| t.max(ended)));
                // A holding line already played while the final came: the next one is a repeat.
                let (next_level, next_holding) = if u.held {
                    (1, now + ms(self.cfg.holding_repeat_ms))
                } else {
                    (0, now + ms(self.cfg.holding_after_ms))
                };
                self.owed = Some(Owed {
                    turn_end: now,
                    ready: false,
                    next_level,
                    next_holding,
                    escalated: false,
                });
            }
        }
    }
}
