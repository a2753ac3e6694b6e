//! The real-time loop of one call: caller audio → VAD/endpointing → STT (partials, final) →
//! turn taking → the flow (and through it the brain, KB and tools) → call-style text →
//! sentence-by-sentence TTS → paced audio out; holding messages while an answer is pending,
//! barge-in, and failover to a human when anything breaks.
//!
//! One tokio task per call owns all of this state; the flow runs on a blocking thread and
//! talks to the loop over [`host`]; TTS and STT run on blocking threads / the engine pool and
//! report back over channels. Nothing here can take down another call: every error ends in
//! failover or a clean hangup of this call only.

pub mod host;
pub mod listener;
pub mod media;
pub mod phrases;
pub mod recorder;
mod semantic_turn;
pub mod speaker;
mod speculative;
mod state;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;
use vaarta_flows::{
    CallContext, CancelToken, FlowOutcome, FlowProgram, HostError, HostErrorKind, HostResult, Reply,
};
use vaarta_speech::stt::{CancelFlag, TranscribeOptions, transcribe_pooled};
use vaarta_speech::vad::VadEvent;

use super::engines::SpeechEngines;
use super::registry::CallHandle;
use super::types::{
    CallEventKind, CallOutcome, CallState, Speaker as Who, TurnLatency, TurnRecord,
};
use crate::brain::{Brain, BrainRequest, HistoryTurn};
use crate::voice::{
    BotAudio, CallTextStream, FormatConfig, StopReason, TurnAction, TurnEvent, TurnTaker,
};
use host::{HostCall, HostReply, HostRequest, LiveHost};
use listener::Listener;
use media::{MediaEvent, MediaPort};
use speaker::{MsgId, SpeakerOut, TtsEvent};
use state::{AskWait, BrainWait, TurnClock};
pub use state::{Retriever, SessionSettings, call_turn_defaults};

/// Everything one call needs besides its transport.
pub struct SessionContext {
    pub engines: SpeechEngines,
    /// The flow this call runs.
    pub program: FlowProgram,
    pub flow_context: CallContext,
    pub brain: Arc<dyn Brain>,
    pub retriever: Option<Arc<dyn Retriever>>,
    pub tools: Option<crate::tools::ToolExecutor>,
    pub settings: SessionSettings,
}

/// How long a blind transfer may take before it counts as failed.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(30);
/// Transcripts of turns the flow has not asked for yet, kept at most.
const MAX_UNREAD_TURNS: usize = 4;

enum SttResult {
    Partial {
        job: vaarta_speech::stt::PartialJob,
        text: String,
    },
    Final {
        text: String,
        language: String,
        confidence: f32,
        model: Duration,
    },
    Failed {
        error: String,
    },
    /// A speculative final (see [`speculative`]), tagged with its guess.
    Speculative {
        epoch: u64,
        result: Box<SttResult>,
    },
}

enum BrainEvent {
    Delta(u64, String),
    Done(u64),
    Failed(u64, String),
}

/// Runs the call to its end. `events` carries the transport's audio, DTMF and hangup.
pub async fn run<M: MediaPort>(
    ctx: SessionContext,
    media: M,
    events: mpsc::Receiver<MediaEvent>,
    handle: CallHandle,
) -> CallOutcome {
    let span = tracing::info_span!("call", call_id = %handle.id(), site_id = %handle.site_id());
    Session::start(ctx, media, handle)
        .run(events)
        .instrument(span)
        .await
}

struct Session<M: MediaPort> {
    engines: SpeechEngines,
    brain: Arc<dyn Brain>,
    retriever: Option<Arc<dyn Retriever>>,
    tools: Option<crate::tools::ToolExecutor>,
    settings: SessionSettings,
    media: M,
    handle: CallHandle,
    turn: TurnTaker,
    listener: Option<Listener>,
    speaker: speaker::Speaker,
    tts_rx: mpsc::Receiver<TtsEvent>,
    stt_tx: mpsc::Sender<SttResult>,
    stt_rx: mpsc::Receiver<SttResult>,
    /// Stops the partial transcription in flight once the final is asked for, so the final
    /// never waits behind a result nobody needs.
    partial_cancel: CancelFlag,
    brain_tx: mpsc::Sender<BrainEvent>,
    brain_rx: mpsc::Receiver<BrainEvent>,
    host_rx: mpsc::Receiver<HostCall>,
    flow: Option<tokio::task::JoinHandle<vaarta_flows::FlowRun<LiveHost>>>,
    flow_cancel: CancelToken,
    pending_flow: Option<(FlowProgram, CallContext, LiveHost)>,
    language: String,
    /// Base for turning monotonic instants into wall-clock times.
    epoch: (Instant, DateTime<Utc>),
    seq: u32,
    history: Vec<HistoryTurn>,
    unread: VecDeque<Reply>,
    ask: Option<AskWait>,
    brain_wait: Option<BrainWait>,
    brain_gen: u64,
    clock: TurnClock,
    /// Latency of the turn being answered, attached to the next bot answer.
    answering: Option<TurnClock>,
    utterance_started: Option<Instant>,
    interrupted_next: bool,
    /// Bot audio must finish, then: hang up / transfer.
    after_speech: Option<AfterSpeech>,
    transfer_deadline: Option<Instant>,
    failing: bool,
    ended: Option<CallOutcome>,
    /// This call's fixed lines were queued for synthesis into the phrase cache.
    phrases_warmed: bool,
    /// Both sides of the call when the site records calls.
    recorder: Option<recorder::Recorder>,
    /// Semantic end of turn (Smart Turn) when the node has the model.
    semantic: Option<semantic_turn::SemanticTurn>,
    turn_model_rx: mpsc::Receiver<semantic_turn::ModelResult>,
    /// The final transcript started at the caller's pause.
    speculation: speculative::Speculation<SttResult>,
}

/// The final transcription of an utterance's 16 kHz audio on the pool.
async fn final_transcript(
    pool: &vaarta_speech::stt::SttPool,
    audio: Arc<[f32]>,
    opts: TranscribeOptions,
) -> SttResult {
    if audio.len() < 1600 {
        return SttResult::Final {
            text: String::new(),
            language: String::new(),
            confidence: 0.0,
            model: Duration::ZERO,
        };
    }
    match transcribe_pooled(pool, audio, opts).await {
        Ok((t, stats)) => {
            let confidence = if t.segments.is_empty() {
                0.0
            } else {
                1.0 - t.segments.iter().map(|s| s.no_speech_prob).sum::<f32>()
                    / t.segments.len() as f32
            };
            SttResult::Final {
                text: t.text.trim().to_string(),
                language: t.language.unwrap_or_default(),
                confidence,
                model: stats.queue_wait + stats.compute,
            }
        }
        Err(e) => SttResult::Failed {
            error: e.to_string(),
        },
    }
}

enum AfterSpeech {
    Hangup {
        outcome: CallOutcome,
        reason: String,
    },
    Transfer {
        destination: String,
        target: String,
        reason: String,
    },
}

impl<M: MediaPort> Session<M> {
    fn start(ctx: SessionContext, media: M, handle: CallHandle) -> Self {
        let rate = media.sample_rate();
        let recorder = ctx
            .settings
            .recording_dir
            .as_ref()
            .map(|_| recorder::Recorder::new(rate, Instant::now()));
        let (tts_tx, tts_rx) = mpsc::channel(64);
        let (stt_tx, stt_rx) = mpsc::channel(8);
        let (brain_tx, brain_rx) = mpsc::channel(64);
        let (host_tx, host_rx) = mpsc::channel(4);
        let language = if ctx.flow_context.language.is_empty() {
            ctx.settings.language.clone()
        } else {
            ctx.flow_context.language.clone()
        };
        let turn_settings = semantic_turn::site_settings(ctx.engines.turn, &ctx.settings);
        let semantic_model = ctx
            .engines
            .turn_model
            .clone()
            .filter(|_| ctx.settings.semantic_turn);
        let listener = match ctx.engines.open_call_vad(rate, semantic_model.is_some()) {
            Ok(vad) => Some(Listener::new(vad, rate, ctx.engines.partials)),
            Err(e) => {
                tracing::error!(error = %e, "VAD failed to open");
                None
            }
        };
        let speaker = speaker::Speaker::new(
            ctx.engines.tts.clone(),
            ctx.engines.phrases.clone(),
            rate,
            &language,
            tts_tx,
        );
        let host = LiveHost::new(host_tx, ctx.settings.utc_offset_minutes);
        let (turn_model_tx, turn_model_rx) = mpsc::channel(4);
        let semantic = semantic_model
            .map(|m| semantic_turn::SemanticTurn::new(turn_settings, m, turn_model_tx));
        let mut turn_cfg = ctx.settings.turn.clone();
        if semantic.is_some() {
            // The model decides when the caller is done; the silence timer is only a backstop.
            turn_cfg.end_of_turn_silence_ms = semantic_turn::backstop_silence_ms(&turn_settings);
        }
        let turn = TurnTaker::new(turn_cfg, &language);
        Session {
            engines: ctx.engines,
            brain: ctx.brain,
            retriever: ctx.retriever,
            tools: ctx.tools,
            settings: ctx.settings,
            media,
            handle,
            turn,
            listener,
            speaker,
            tts_rx,
            stt_tx,
            stt_rx,
            partial_cancel: CancelFlag::new(),
            brain_tx,
            brain_rx,
            host_rx,
            flow: None,
            flow_cancel: CancelToken::new(),
            pending_flow: Some((ctx.program, ctx.flow_context, host)),
            language,
            epoch: (Instant::now(), Utc::now()),
            seq: 0,
            history: Vec::new(),
            unread: VecDeque::new(),
            ask: None,
            brain_wait: None,
            brain_gen: 0,
            clock: TurnClock::default(),
            answering: None,
            utterance_started: None,
            interrupted_next: false,
            after_speech: None,
            transfer_deadline: None,
            failing: false,
            ended: None,
            phrases_warmed: false,
            semantic,
            turn_model_rx,
            recorder,
            speculation: speculative::Speculation::default(),
        }
    }

    async fn run(mut self, mut events: mpsc::Receiver<MediaEvent>) -> CallOutcome {
        self.handle.emit(CallEventKind::State {
            state: CallState::Active,
        });
        if self.listener.is_none() {
            self.failover("vad", "voice activity detection unavailable")
                .await;
        } else {
            let (program, ctx, host) = self.pending_flow.take().expect("flow not started yet");
            let cancel = self.flow_cancel.clone();
            self.flow = Some(tokio::task::spawn_blocking(move || {
                program.run(host, ctx, &cancel)
            }));
        }
        while self.ended.is_none() {
            let wake = self.next_wake();
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => self.on_media(ev).await,
                    None => self.finish(CallOutcome::CallerHungUp, "media closed").await,
                },
                Some((req, reply)) = self.host_rx.recv() => self.on_host(req, reply).await,
                Some(ev) = self.tts_rx.recv() => {
                    if let TtsEvent::Failed { error, .. } = &ev {
                        let error = error.clone();
                        let outs = self.speaker.on_event(Instant::now(), ev);
                        self.apply_speaker(outs).await;
                        self.failover("tts", &error).await;
                    } else {
                        if let TtsEvent::Audio { msg, compute, .. } = &ev { self.note_first_audio(*msg, *compute); }
                        let outs = self.speaker.on_event(Instant::now(), ev);
                        self.apply_speaker(outs).await;
                    }
                }
                Some(res) = self.stt_rx.recv() => self.on_stt(res).await,
                Some(res) = self.turn_model_rx.recv() => {
                    let complete = match (self.semantic.as_mut(), self.listener.as_ref()) {
                        (Some(s), Some(l)) => s.on_result(res, l, Instant::now()),
                        _ => false,
                    };
                    if complete { self.turn_complete().await }
                }
                Some(ev) = self.brain_rx.recv() => self.on_brain(ev).await,
                cmd = self.handle.next_command() => if let Some(cmd) = cmd { self.on_command(cmd).await },
                run = async { self.flow.as_mut().expect("guarded").await }, if self.flow.is_some() => {
                    self.flow = None;
                    self.on_flow_end(run).await;
                }
                _ = sleep_until_opt(wake) => self.on_timer().await,
            }
        }
        self.flow_cancel.cancel();
        self.ended.expect("loop ends with an outcome")
    }

    fn next_wake(&self) -> Option<Instant> {
        [
            self.turn.poll_timeout(),
            self.speaker.next_wake(),
            self.ask.as_ref().and_then(|a| a.deadline),
            self.transfer_deadline,
            self.semantic
                .as_ref()
                .and_then(semantic_turn::SemanticTurn::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn wall(&self, at: Instant) -> DateTime<Utc> {
        let (base, wall) = self.epoch;
        wall + chrono::Duration::from_std(at.saturating_duration_since(base)).unwrap_or_default()
    }

    // ---- transport ----

    async fn on_media(&mut self, ev: MediaEvent) {
        match ev {
            MediaEvent::Audio(pcm) => self.on_audio(&pcm).await,
            MediaEvent::Dtmf(digit) => self.on_dtmf(digit).await,
            MediaEvent::Hangup { cause } => {
                let outcome = if matches!(self.after_speech, Some(AfterSpeech::Transfer { .. }))
                    || self.transfer_deadline.is_some()
                {
                    CallOutcome::Transferred
                } else {
                    CallOutcome::CallerHungUp
                };
                self.finish(outcome, &cause).await
            }
            MediaEvent::TransferResult { ok, detail } => self.on_transfer_result(ok, &detail).await,
        }
    }

    async fn on_audio(&mut self, pcm: &[i16]) {
        if let Some(r) = self.recorder.as_mut() {
            r.caller(Instant::now(), pcm);
        }
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        let vad = match listener.push(pcm) {
            Ok(v) => v,
            Err(e) => return self.failover("vad", &e.to_string()).await,
        };
        let now = Instant::now();
        for e in vad {
            match e {
                VadEvent::SpeechStart { .. } => {
                    self.utterance_started.get_or_insert(now);
                    self.speculation.invalidate();
                }
                VadEvent::SpeechEnd { at } => {
                    // Latency counts from when the caller stopped, not from the VAD's decision.
                    let age = self
                        .listener
                        .as_ref()
                        .map_or(Duration::ZERO, |l| l.audio_age(at));
                    let ended = now.checked_sub(age).unwrap_or(now);
                    self.clock = TurnClock {
                        speech_end: Some(ended),
                        ..TurnClock::default()
                    };
                    self.speculate();
                }
            }
            let actions = self.turn.handle(now, e.into());
            self.apply_turn(actions).await;
            let complete = match (self.semantic.as_mut(), self.listener.as_ref()) {
                (Some(s), Some(l)) => s.on_vad(e, l, now),
                _ => false,
            };
            if complete {
                self.turn_complete().await;
            }
        }
        if let Some(job) = self.listener.as_mut().and_then(Listener::poll_partial) {
            let (pool, tx) = (self.engines.stt.clone(), self.stt_tx.clone());
            let opts = TranscribeOptions {
                cancel: Some(self.partial_cancel.clone()),
                ..self.stt_options(true)
            };
            tokio::spawn(async move {
                if let Ok((t, _)) = transcribe_pooled(&pool, job.audio.clone(), opts).await {
                    let _ = tx.send(SttResult::Partial { job, text: t.text }).await;
                }
            });
        }
    }

    async fn on_dtmf(&mut self, digit: char) {
        self.handle.emit(CallEventKind::Dtmf {
            digit: digit.to_string(),
        });
        let Some(ask) = self.ask.as_mut() else { return };
        if !ask.dtmf {
            return;
        }
        // Keys answer the prompt: stop talking over them.
        if !self.speaker.idle() {
            let outs = self.speaker.stop(Instant::now(), false);
            self.clear_playback().await;
            self.apply_speaker(outs).await;
        }
        let Some(ask) = self.ask.as_mut() else { return };
        if digit != '#' {
            ask.digits.push(digit);
        }
        let full = ask
            .max_digits
            .is_some_and(|m| ask.digits.len() >= m as usize);
        if digit == '#' || full {
            let ask = self.ask.take().expect("checked");
            let reply = Reply {
                digits: ask.digits.clone(),
                language: self.language.clone(),
                confidence: 1.0,
                ..Reply::default()
            };
            let _ = ask.reply.send(Ok(HostReply::Reply(reply)));
        } else {
            ask.deadline = Some(Instant::now() + Duration::from_secs(4));
        }
    }

    // ---- speech recognition ----

    fn stt_options(&self, partial: bool) -> TranscribeOptions {
        TranscribeOptions {
            language: self.settings.stt_language.clone(),
            partial,
            ..TranscribeOptions::default()
        }
    }

    async fn on_stt(&mut self, res: SttResult) {
        let now = Instant::now();
        match res {
            SttResult::Partial { job, text } => {
                let Some(text) = self
                    .listener
                    .as_mut()
                    .and_then(|l| l.on_partial(&job, &text))
                else {
                    return;
                };
                self.handle
                    .emit(CallEventKind::Partial { text: text.clone() });
                let actions = self.turn.handle(now, TurnEvent::SttPartial(text));
                self.apply_turn(actions).await;
            }
            SttResult::Final {
                text,
                language,
                confidence,
                model,
            } => {
                // A final that arrives after the turn already ended on its partial still dates
                // that turn's STT stage.
                if self.clock.speech_end.is_none()
                    && let Some(c) = self.answering.as_mut().filter(|c| c.stt_final.is_none())
                {
                    c.stt_final = Some(now);
                    c.stt_model = model;
                }
                self.clock.stt_model = model;
                tracing::debug!(%text, %language, "STT final");
                self.clock.stt_final = Some(now);
                if !language.is_empty() {
                    self.clock.language = language;
                }
                self.clock.confidence = confidence;
                let actions = self.turn.handle(now, TurnEvent::SttFinal(text));
                self.apply_turn(actions).await;
            }
            SttResult::Failed { error } => self.failover("stt", &error).await,
            SttResult::Speculative { epoch, result } => match *result {
                SttResult::Failed { error } => {
                    if self.speculation.on_failure(epoch) {
                        self.failover("stt", &error).await;
                    }
                }
                res => {
                    if let Some(res) = self.speculation.on_result(epoch, res) {
                        Box::pin(self.on_stt(res)).await;
                    }
                }
            },
        }
    }

    /// Ends the utterance's partials: any still queued or running stops at once.
    fn cancel_partials(&mut self) {
        self.partial_cancel.cancel();
        self.partial_cancel = CancelFlag::new();
    }

    fn finalize_stt(&mut self) {
        self.cancel_partials();
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        let audio = listener.finalize();
        let (pool, tx) = (self.engines.stt.clone(), self.stt_tx.clone());
        let opts = self.stt_options(false);
        tokio::spawn(async move {
            let _ = tx.send(final_transcript(&pool, audio, opts).await).await;
        });
    }

    /// The caller paused: the utterance so far is transcribed now, while the end of the turn
    /// is decided, so a finished turn's final is (nearly) ready when it ends. Only on spare
    /// STT capacity: a busy pool serves the calls' real finals first.
    fn speculate(&mut self) {
        let Some(audio) = self.listener.as_mut().and_then(Listener::snapshot) else {
            return;
        };
        if audio.duration() < Duration::from_millis(100) {
            return;
        }
        if self.engines.stt.waiting() > 0 {
            self.speculation.invalidate();
            metrics::counter!("vaarta_stt_speculative_total", "result" => "skipped").increment(1);
            return;
        }
        metrics::counter!("vaarta_stt_speculative_total", "result" => "started").increment(1);
        let (epoch, cancel) = self.speculation.start();
        let (pool, tx) = (self.engines.stt.clone(), self.stt_tx.clone());
        let opts = TranscribeOptions {
            cancel: Some(cancel),
            ..self.stt_options(false)
        };
        tokio::spawn(async move {
            let audio: Arc<[f32]> = audio.to_16k().into();
            let result = Box::new(final_transcript(&pool, audio, opts).await);
            let _ = tx.send(SttResult::Speculative { epoch, result }).await;
        });
    }

    /// The turn ended: its final is the speculative one when that covers the utterance,
    /// else a transcription of the whole utterance now.
    fn end_utterance_stt(&mut self) {
        // A sound after the pause too short for the VAD to call speech (a last word) is still
        // part of the utterance: the guess does not cover it.
        if !self
            .listener
            .as_ref()
            .is_some_and(Listener::quiet_since_snapshot)
        {
            self.speculation.invalidate();
        }
        match self.speculation.adopt() {
            speculative::Adoption::None => self.finalize_stt(),
            adoption => {
                self.cancel_partials();
                if let Some(l) = self.listener.as_mut() {
                    l.finalize();
                }
                metrics::counter!("vaarta_stt_speculative_total", "result" => "used").increment(1);
                if let speculative::Adoption::Ready(res) = adoption {
                    let tx = self.stt_tx.clone();
                    tokio::spawn(async move {
                        let _ = tx.send(res).await;
                    });
                }
            }
        }
    }

    // ---- turn taking ----

    async fn apply_turn(&mut self, actions: Vec<TurnAction>) {
        for action in actions {
            let now = Instant::now();
            tracing::debug!(?action, "turn");
            match action {
                TurnAction::StopPlayback { reason } => {
                    let only_current = reason == StopReason::AnswerReady;
                    let outs = self.speaker.stop(now, only_current);
                    self.clear_playback().await;
                    self.apply_speaker(outs).await;
                }
                TurnAction::PausePlayback => {
                    self.speaker.pause(now);
                    self.clear_playback().await;
                }
                TurnAction::ResumePlayback => {
                    let outs = self.speaker.resume(now);
                    self.apply_speaker(outs).await;
                }
                TurnAction::DuckPlayback { .. } => {
                    // The transports play at one level: ducking degrades to "keep playing"
                    // until the turn taker decides (StopPlayback or ResumePlayback follows).
                }
                TurnAction::Interrupted { heard } => {
                    self.interrupted_next = true;
                    self.handle.emit(CallEventKind::BargeIn {
                        heard_ms: heard.as_millis() as u32,
                    });
                }
                TurnAction::FinalizeStt => {
                    self.clock.finalize_at = Some(now);
                    self.end_utterance_stt()
                }
                TurnAction::EndOfTurn { text } => {
                    if let Some(s) = self.semantic.as_mut() {
                        s.reset();
                    }
                    self.on_end_of_turn(now, text)
                }
                TurnAction::Backchannel { text } => {
                    if let Some(s) = self.semantic.as_mut() {
                        s.reset();
                    }
                    self.utterance_started = None;
                    self.cancel_partials();
                    self.speculation.invalidate();
                    if let Some(l) = self.listener.as_mut() {
                        l.finalize();
                    }
                    self.handle.emit(CallEventKind::Backchannel { text });
                }
                TurnAction::PlayHolding { level } => self.play_holding(level).await,
                TurnAction::DeadAirFiller => {
                    let line = phrases::filler_line(&self.language);
                    self.say_fixed(BotAudio::Filler, line).await;
                }
                TurnAction::Escalate => self.failover("brain", "no answer in time").await,
            }
        }
    }

    /// The holding lines for the call's language: the site's own, else the defaults.
    fn holding_lines(&self) -> Vec<String> {
        let lang = phrases::primary(&self.language);
        let site = self
            .settings
            .holding_messages
            .iter()
            .find(|(k, _)| phrases::primary(k) == lang)
            .map(|(_, v)| v.clone());
        match site {
            Some(v) if !v.is_empty() => v,
            _ => phrases::default_holding(&lang)
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    async fn play_holding(&mut self, level: u8) {
        let lines = self.holding_lines();
        let text = lines[(level as usize).min(lines.len() - 1)].clone();
        self.say_fixed(BotAudio::Holding { level }, &text).await;
        self.handle.emit(CallEventKind::Holding { level, text });
        self.handle.emit(CallEventKind::State {
            state: CallState::Holding,
        });
    }

    /// A fixed line, from the phrase cache when it is there: it starts at once.
    async fn say_fixed(&mut self, kind: BotAudio, text: &str) -> MsgId {
        let id = self.speaker.say_fixed(kind, text);
        let outs = self.speaker.poll(Instant::now());
        self.apply_speaker(outs).await;
        id
    }

    /// Synthesises this call's fixed lines that are not cached yet (the site's holding lines
    /// in the call's language and the session's own lines), once, after the first message has
    /// played so the warm-up never delays the greeting.
    fn warm_phrases(&mut self) {
        if std::mem::replace(&mut self.phrases_warmed, true) {
            return;
        }
        let mut lines = self.holding_lines();
        lines.extend(phrases::fixed_lines(&self.language));
        let lines: Vec<String> = lines
            .into_iter()
            .filter(|l| !self.speaker.is_cached(l))
            .collect();
        if lines.is_empty() {
            return;
        }
        let (engines, lang, rate) = (
            self.engines.clone(),
            self.speaker.language().to_string(),
            self.media.sample_rate(),
        );
        tokio::task::spawn_blocking(move || {
            engines.phrases.warm(&engines.tts, &lang, rate, &lines)
        });
    }

    fn on_end_of_turn(&mut self, now: Instant, text: String) {
        let started = self.utterance_started.take().unwrap_or(now);
        let mut clock = std::mem::take(&mut self.clock);
        clock.eot_at = Some(now);
        let language = if clock.language.is_empty() {
            phrases::primary(&self.language)
        } else {
            clock.language.clone()
        };
        let interrupted = std::mem::take(&mut self.interrupted_next);
        if text.trim().is_empty() {
            return;
        }
        self.push_turn(
            Who::Caller,
            &text,
            &language,
            clock.confidence,
            started,
            clock.speech_end.unwrap_or(now),
            interrupted,
            None,
        );
        self.history.push(HistoryTurn {
            role: "user".into(),
            text: text.clone(),
        });
        self.answering = Some(clock.clone());
        let reply = Reply {
            text,
            language,
            confidence: f64::from(clock.confidence),
            interrupted,
            ..Reply::default()
        };
        match self.ask.take() {
            Some(ask) => {
                let _ = ask.reply.send(Ok(HostReply::Reply(reply)));
            }
            None => {
                self.unread.push_back(reply);
                while self.unread.len() > MAX_UNREAD_TURNS {
                    self.unread.pop_front();
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_turn(
        &mut self,
        who: Who,
        text: &str,
        language: &str,
        confidence: f32,
        from: Instant,
        to: Instant,
        interrupted: bool,
        latency: Option<TurnLatency>,
    ) {
        let turn = TurnRecord {
            seq: self.seq,
            speaker: who,
            text: text.to_string(),
            language: language.to_string(),
            confidence,
            started_at: self.wall(from),
            ended_at: self.wall(to),
            interrupted,
            latency,
        };
        self.seq += 1;
        self.handle.emit(CallEventKind::Turn { turn });
    }

    // ---- bot audio ----

    /// Opens an answer message (flow prompt or brain answer): the answer owed is now ready.
    async fn open_answer(&mut self) -> MsgId {
        self.speaker
            .discard_unstarted(|k| matches!(k, BotAudio::Holding { .. } | BotAudio::Filler));
        let id = self.speaker.open(BotAudio::Answer);
        if self.turn.answer_owed() {
            let actions = self.turn.handle(Instant::now(), TurnEvent::ResponseReady);
            self.apply_turn(actions).await;
        }
        id
    }

    /// A flow's `say` line or `ask` prompt. Short lines are played from (and kept in) the
    /// phrase cache: greetings and prompts like "Anything else?" recur on every call.
    async fn say_answer(&mut self, text: &str) -> MsgId {
        let formatted = crate::voice::format_response(
            text,
            crate::voice::Channel::Call,
            vaarta_speech::normalize::Lang::from_code(&self.language),
        );
        if formatted.chars().count() <= crate::calls::phrase_cache::MAX_CACHED_CHARS {
            self.speaker
                .discard_unstarted(|k| matches!(k, BotAudio::Holding { .. } | BotAudio::Filler));
            let id = self.speaker.say_fixed(BotAudio::Answer, &formatted);
            if self.turn.answer_owed() {
                let actions = self.turn.handle(Instant::now(), TurnEvent::ResponseReady);
                self.apply_turn(actions).await;
            }
            let outs = self.speaker.poll(Instant::now());
            self.apply_speaker(outs).await;
            return id;
        }
        let id = self.open_answer().await;
        for s in vaarta_speech::tts::split_sentences(&formatted) {
            self.speaker.push(id, &s);
        }
        self.speaker.close(id);
        id
    }

    /// The answer's first synthesised audio (before it is sent).
    fn note_first_audio(&mut self, msg: MsgId, compute: Duration) {
        if let Some(c) = self.answering.as_mut() {
            let ours = c.answer_msg == Some(msg)
                || (c.answer_msg.is_none() && self.speaker.front_is(msg, BotAudio::Answer));
            if ours && c.first_audio.is_none() {
                c.answer_msg = Some(msg);
                c.first_audio = Some(Instant::now());
                c.tts_model = compute;
            }
        }
    }

    async fn apply_speaker(&mut self, outs: Vec<SpeakerOut>) {
        for out in outs {
            let now = Instant::now();
            match out {
                SpeakerOut::Play(pcm) => {
                    if let Some(r) = self.recorder.as_mut() {
                        r.bot(now, &pcm);
                    }
                    if let Err(e) = self.media.play(pcm).await {
                        tracing::debug!(error = %e, "play after the call ended");
                    }
                }
                SpeakerOut::Started { msg, kind } => {
                    if let Some(text) = self.speaker.text_of(msg).filter(|t| !t.is_empty()) {
                        self.handle.emit(CallEventKind::BotSpeaking {
                            text: text.to_string(),
                        });
                    }
                    if kind == BotAudio::Answer
                        && let Some(c) = self.answering.as_mut()
                        && (c.answer_msg.is_none() || c.answer_msg == Some(msg))
                    {
                        c.answer_msg = Some(msg);
                        c.first_audio.get_or_insert(now);
                        c.first_packet = Some(now);
                    }
                    let actions = self.turn.handle(now, TurnEvent::PlaybackStarted(kind));
                    Box::pin(self.apply_turn(actions)).await;
                }
                SpeakerOut::Finished {
                    msg,
                    kind,
                    heard: text,
                    interrupted,
                    played,
                    ..
                } => {
                    if !interrupted {
                        self.warm_phrases();
                        let actions = self.turn.handle(now, TurnEvent::PlaybackFinished);
                        Box::pin(self.apply_turn(actions)).await;
                    }
                    // The transcript holds what the caller heard (`heard`): a cut answer is
                    // stored up to the sentence it was cut in, a line that never played is not.
                    if matches!(kind, BotAudio::Holding { .. })
                        && !self
                            .speaker
                            .has_kind(|k| matches!(k, BotAudio::Holding { .. }))
                    {
                        self.handle.emit(CallEventKind::State {
                            state: CallState::Active,
                        });
                    }
                    if kind == BotAudio::Answer && !text.is_empty() {
                        let latency = match &self.answering {
                            Some(c) if c.answer_msg == Some(msg) => {
                                let l = c.latency();
                                record_latency_metrics(&l);
                                self.answering = None;
                                Some(l)
                            }
                            _ => None,
                        };
                        let from = now.checked_sub(played).unwrap_or(now);
                        let lang = phrases::primary(&self.language);
                        self.push_turn(
                            Who::Bot,
                            &text,
                            &lang,
                            1.0,
                            from,
                            now,
                            interrupted,
                            latency,
                        );
                        self.history.push(HistoryTurn {
                            role: "assistant".into(),
                            text,
                        });
                    }
                    if let Some(ask) = self.ask.as_mut()
                        && ask.prompt == Some(msg)
                    {
                        ask.deadline = Some(now + ask.timeout);
                    }
                }
            }
        }
        if self.speaker.idle() {
            self.after_speech_now().await;
        }
    }

    async fn after_speech_now(&mut self) {
        match self.after_speech.take() {
            None => {}
            Some(AfterSpeech::Hangup { outcome, reason }) => {
                let _ = self.media.hangup().await;
                self.finish(outcome, &reason).await;
            }
            Some(AfterSpeech::Transfer {
                destination,
                target,
                reason,
            }) => {
                self.handle.emit(CallEventKind::State {
                    state: CallState::Transferring,
                });
                match self.media.transfer(&destination).await {
                    Ok(()) => {
                        self.transfer_deadline = Some(Instant::now() + TRANSFER_TIMEOUT);
                        self.handle.emit(CallEventKind::Transfer {
                            target,
                            reason,
                            ok: None,
                        });
                    }
                    Err(e) => {
                        self.handle.emit(CallEventKind::Transfer {
                            target,
                            reason,
                            ok: Some(false),
                        });
                        Box::pin(self.on_transfer_result(false, &e.to_string())).await;
                    }
                }
            }
        }
    }

    // ---- transfer, hangup, failover ----

    fn destination(&self, target: &str) -> Option<String> {
        let t = target.trim();
        if t.starts_with("sip:") || t.starts_with("sips:") || t.starts_with('+') {
            return Some(t.to_string());
        }
        self.settings
            .transfer_targets
            .iter()
            .find(|x| x.name.eq_ignore_ascii_case(t))
            .or_else(|| self.settings.transfer_targets.first())
            .map(|x| x.destination.clone())
    }

    async fn start_transfer(&mut self, target: &str, reason: &str) {
        let Some(destination) = self.destination(target) else {
            self.handle.emit(CallEventKind::Failure {
                stage: "transfer".into(),
                message: format!("no transfer target {target:?} configured"),
            });
            return self.transfer_failed().await;
        };
        self.after_speech = Some(AfterSpeech::Transfer {
            destination,
            target: target.to_string(),
            reason: reason.to_string(),
        });
        if self.speaker.idle() {
            self.after_speech_now().await;
        }
    }

    async fn on_transfer_result(&mut self, ok: bool, detail: &str) {
        self.transfer_deadline = None;
        if ok {
            self.handle.emit(CallEventKind::Transfer {
                target: detail.to_string(),
                reason: "accepted".into(),
                ok: Some(true),
            });
            let _ = self.media.hangup().await;
            self.finish(CallOutcome::Transferred, "transferred to a human")
                .await;
        } else {
            self.handle.emit(CallEventKind::Transfer {
                target: detail.to_string(),
                reason: "failed".into(),
                ok: Some(false),
            });
            self.transfer_failed().await;
        }
    }

    /// Apology, a callback request, graceful hangup.
    async fn transfer_failed(&mut self) {
        self.handle.emit(CallEventKind::Action {
            name: "callback_requested".into(),
            detail: serde_json::json!({"reason": "transfer failed"}),
        });
        self.handle.emit(CallEventKind::State {
            state: CallState::Active,
        });
        let line = phrases::transfer_failed_line(&self.language);
        self.after_speech = Some(AfterSpeech::Hangup {
            outcome: CallOutcome::TransferFailed,
            reason: "transfer failed".into(),
        });
        self.say_fixed(BotAudio::Answer, line).await;
    }

    /// Something broke: a polite line and a human, once.
    async fn failover(&mut self, stage: &str, message: &str) {
        if self.failing || self.ended.is_some() {
            return;
        }
        self.failing = true;
        tracing::warn!(stage, message, "failover to a human");
        metrics::counter!("vaarta_call_failovers_total", "stage" => stage.to_string()).increment(1);
        self.handle.emit(CallEventKind::Failure {
            stage: stage.to_string(),
            message: message.to_string(),
        });
        self.flow_cancel.cancel();
        if let Some(ask) = self.ask.take() {
            let _ = ask.reply.send(Err(HostError::hung_up()));
        }
        let outs = self.speaker.stop(Instant::now(), false);
        self.clear_playback().await;
        self.apply_speaker(outs).await;
        // With nobody to hand over to, the caller hears the callback offer straight away (not
        // "let me connect you" followed by "no one is available").
        if stage != "tts" && self.destination("human").is_some() {
            let line = phrases::failover_line(&self.language);
            self.say_fixed(BotAudio::Answer, line).await;
        }
        self.start_transfer("human", &format!("{stage} failure"))
            .await;
    }

    async fn finish(&mut self, outcome: CallOutcome, reason: &str) {
        if self.ended.is_some() {
            return;
        }
        self.flow_cancel.cancel();
        if let Some(ask) = self.ask.take() {
            let _ = ask.reply.send(Err(HostError::hung_up()));
        }
        if let Some(b) = self.brain_wait.take() {
            let _ = b.reply.send(Err(HostError::hung_up()));
        }
        self.save_recording().await;
        self.handle.emit(CallEventKind::State {
            state: CallState::Ended,
        });
        self.handle.emit(CallEventKind::Ended {
            outcome,
            reason: reason.to_string(),
        });
        self.ended = Some(outcome);
    }

    /// Drops queued bot audio (barge-in, transfer, hangup); the recording keeps what was heard.
    async fn clear_playback(&mut self) {
        if let Some(r) = self.recorder.as_mut() {
            r.bot_cleared(Instant::now());
        }
        let _ = self.media.clear().await;
    }

    /// Writes the call's recording before the call counts as ended, so the post-call webhook
    /// finds it.
    async fn save_recording(&mut self) {
        let (Some(rec), Some(dir)) = (self.recorder.take(), self.settings.recording_dir.clone())
        else {
            return;
        };
        let name = self.handle.id().to_string();
        match tokio::task::spawn_blocking(move || rec.write(&dir, &name)).await {
            Ok(Ok(path)) => {
                let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                self.handle.emit(CallEventKind::Action {
                    name: "recording".into(),
                    detail: serde_json::json!({"bytes": bytes}),
                });
            }
            Ok(Err(e)) => tracing::error!(error = %e, "writing the call recording failed"),
            Err(e) => tracing::error!(error = %e, "the recording writer panicked"),
        }
    }

    async fn on_command(&mut self, cmd: super::types::CallCommand) {
        match cmd {
            super::types::CallCommand::Hangup { reason } => {
                let _ = self.media.hangup().await;
                self.finish(CallOutcome::HungUpByApi, &reason).await;
            }
            super::types::CallCommand::Transfer { target, reason } => {
                self.flow_cancel.cancel();
                let outs = self.speaker.stop(Instant::now(), false);
                self.clear_playback().await;
                self.apply_speaker(outs).await;
                self.start_transfer(&target, &reason).await;
            }
        }
    }

    /// The end-of-turn model judged the caller done: the turn taker ends the turn now.
    async fn turn_complete(&mut self) {
        let actions = self.turn.handle(Instant::now(), TurnEvent::TurnComplete);
        self.apply_turn(actions).await;
    }

    async fn on_timer(&mut self) {
        let now = Instant::now();
        let complete = match (self.semantic.as_mut(), self.listener.as_ref()) {
            (Some(s), Some(l)) => s.on_timeout(l, now),
            _ => false,
        };
        if complete {
            self.turn_complete().await;
        }
        let actions = self.turn.handle_timeout(now);
        self.apply_turn(actions).await;
        let outs = self.speaker.poll(now);
        self.apply_speaker(outs).await;
        if self.transfer_deadline.is_some_and(|d| d <= now) {
            self.on_transfer_result(false, "transfer timed out").await;
        }
        if self
            .ask
            .as_ref()
            .and_then(|a| a.deadline)
            .is_some_and(|d| d <= now)
        {
            if self.turn.caller_holds_line() {
                if let Some(a) = self.ask.as_mut() {
                    a.deadline = Some(now + Duration::from_millis(500));
                }
            } else {
                let ask = self.ask.take().expect("checked");
                let reply = Reply {
                    timed_out: true,
                    digits: ask.digits.clone(),
                    language: phrases::primary(&self.language),
                    ..Reply::default()
                };
                let _ = ask.reply.send(Ok(HostReply::Reply(reply)));
            }
        }
    }

    // ---- the flow ----

    async fn on_host(&mut self, req: HostRequest, reply: oneshot::Sender<HostResult<HostReply>>) {
        if self.failing {
            let _ = reply.send(Err(HostError::hung_up()));
            return;
        }
        match req {
            HostRequest::Say(text) => {
                self.say_answer(&text).await;
                let _ = reply.send(Ok(HostReply::Done));
            }
            HostRequest::Ask { prompt, options } => {
                let prompt_msg = if prompt.trim().is_empty() {
                    None
                } else {
                    Some(self.say_answer(&prompt).await)
                };
                if prompt_msg.is_none()
                    && let Some(r) = self.unread.pop_front()
                {
                    let _ = reply.send(Ok(HostReply::Reply(r)));
                    return;
                }
                // Turns the caller finished while the flow was busy answer this question only
                // when there is no new prompt (a new prompt asks something new).
                self.unread.clear();
                let timeout = Duration::from_millis(options.timeout_ms.max(500));
                let deadline = prompt_msg.is_none().then(|| Instant::now() + timeout);
                self.ask = Some(AskWait {
                    reply,
                    prompt: prompt_msg,
                    timeout,
                    deadline,
                    dtmf: options.dtmf,
                    max_digits: options.max_digits,
                    digits: String::new(),
                });
            }
            HostRequest::Listen(timeout) => {
                if let Some(r) = self.unread.pop_front() {
                    let _ = reply.send(Ok(HostReply::Reply(r)));
                    return;
                }
                let deadline = Some(Instant::now() + timeout);
                self.ask = Some(AskWait {
                    reply,
                    prompt: None,
                    timeout,
                    deadline,
                    dtmf: true,
                    max_digits: None,
                    digits: String::new(),
                });
            }
            HostRequest::Brain(question) => self.ask_brain(question, reply),
            HostRequest::Kb(query) => {
                let Some(r) = self.retriever.clone() else {
                    let _ = reply.send(Err(HostError::new(
                        HostErrorKind::Unavailable,
                        "no knowledge base on this node",
                    )));
                    return;
                };
                let site = self.handle.site_id();
                tokio::spawn(async move {
                    let res = r
                        .search(site, &query, 3)
                        .await
                        .map(HostReply::Passages)
                        .map_err(|e| HostError::new(HostErrorKind::Unavailable, e));
                    let _ = reply.send(res);
                });
            }
            HostRequest::Tool { name, args } => {
                self.handle.emit(CallEventKind::Action {
                    name: "tool".into(),
                    detail: serde_json::json!({"tool": name, "args": args}),
                });
                let Some(tools) = self.tools.clone() else {
                    let _ = reply.send(Err(HostError::new(
                        HostErrorKind::Denied,
                        format!("tool {name:?} is not configured for this site"),
                    )));
                    return;
                };
                tokio::spawn(async move {
                    let _ =
                        reply.send(tools.call_for_flow(&name, &args).await.map(HostReply::Tool));
                });
            }
            HostRequest::Transfer { target, reason } => {
                let _ = reply.send(Ok(HostReply::Done));
                self.start_transfer(&target, &reason).await;
            }
            HostRequest::Hangup(reason) => {
                let _ = reply.send(Ok(HostReply::Done));
                self.after_speech = Some(AfterSpeech::Hangup {
                    outcome: CallOutcome::Completed,
                    reason,
                });
                if self.speaker.idle() {
                    self.after_speech_now().await;
                }
            }
            HostRequest::Tag(label) => {
                self.action(reply, "tag", serde_json::json!({"label": label}))
            }
            HostRequest::Qualify(map) => {
                self.action(reply, "qualify", serde_json::Value::Object(map))
            }
            HostRequest::SetLanguage(code) => {
                self.language = code.clone();
                self.speaker.set_language(&code);
                self.handle.update(|c| c.language = code.clone());
                self.action(reply, "set_language", serde_json::json!({"language": code}));
            }
            HostRequest::OptOut => self.action(reply, "opt_out", serde_json::json!({})),
            HostRequest::Notify { template, data } => self.action(
                reply,
                "notify",
                serde_json::json!({"template": template, "data": data}),
            ),
            HostRequest::Log(message) => {
                tracing::info!(flow_log = %message);
                let _ = reply.send(Ok(HostReply::Done));
            }
        }
    }

    fn action(
        &mut self,
        reply: oneshot::Sender<HostResult<HostReply>>,
        name: &str,
        detail: serde_json::Value,
    ) {
        self.handle.emit(CallEventKind::Action {
            name: name.to_string(),
            detail,
        });
        let _ = reply.send(Ok(HostReply::Done));
    }

    fn ask_brain(&mut self, question: String, reply: oneshot::Sender<HostResult<HostReply>>) {
        self.brain_gen += 1;
        let generation = self.brain_gen;
        let request = BrainRequest {
            site_id: self.handle.site_id(),
            session_id: self.handle.id(),
            language: phrases::primary(&self.language),
            text: question,
            history: self.history.iter().rev().take(10).rev().cloned().collect(),
        };
        let lang = vaarta_speech::normalize::Lang::from_code(&self.language);
        if let Some(c) = self.answering.as_mut() {
            c.brain_sent.get_or_insert(Instant::now());
        }
        self.brain_wait = Some(BrainWait {
            reply,
            generation,
            msg: None,
            stream: CallTextStream::new(FormatConfig::default(), lang),
            full: String::new(),
        });
        let (brain, tx) = (self.brain.clone(), self.brain_tx.clone());
        tokio::spawn(async move {
            use futures::StreamExt;
            match brain.answer(request).await {
                Err(e) => {
                    let _ = tx.send(BrainEvent::Failed(generation, e.to_string())).await;
                }
                Ok(mut stream) => {
                    while let Some(item) = stream.next().await {
                        let ev = match item {
                            Ok(delta) => BrainEvent::Delta(generation, delta),
                            Err(e) => {
                                let _ =
                                    tx.send(BrainEvent::Failed(generation, e.to_string())).await;
                                return;
                            }
                        };
                        if tx.send(ev).await.is_err() {
                            return;
                        }
                    }
                    let _ = tx.send(BrainEvent::Done(generation)).await;
                }
            }
        });
    }

    async fn on_brain(&mut self, ev: BrainEvent) {
        let generation = match &ev {
            BrainEvent::Delta(g, _) | BrainEvent::Done(g) | BrainEvent::Failed(g, _) => *g,
        };
        if self
            .brain_wait
            .as_ref()
            .is_none_or(|b| b.generation != generation)
        {
            return;
        }
        match ev {
            BrainEvent::Delta(_, delta) => {
                if let Some(c) = self.answering.as_mut() {
                    c.brain_first.get_or_insert(Instant::now());
                }
                let sentences = {
                    let b = self.brain_wait.as_mut().expect("checked");
                    b.full.push_str(&delta);
                    b.stream.push(&delta)
                };
                self.speak_brain_sentences(sentences).await;
            }
            BrainEvent::Done(_) => {
                let rest = self.brain_wait.as_mut().expect("checked").stream.finish();
                self.speak_brain_sentences(rest).await;
                let b = self.brain_wait.take().expect("checked");
                if let Some(msg) = b.msg {
                    self.speaker.close(msg);
                }
                let _ = b.reply.send(Ok(HostReply::Text(b.full)));
            }
            BrainEvent::Failed(_, error) => {
                let b = self.brain_wait.take().expect("checked");
                if let Some(msg) = b.msg {
                    self.speaker.close(msg);
                }
                tracing::warn!(%error, "brain failed");
                self.handle.emit(CallEventKind::Failure {
                    stage: "brain".into(),
                    message: error.clone(),
                });
                let _ = b
                    .reply
                    .send(Err(HostError::new(HostErrorKind::Unavailable, error)));
            }
        }
    }

    async fn speak_brain_sentences(&mut self, sentences: Vec<String>) {
        if sentences.is_empty() {
            return;
        }
        let msg = match self.brain_wait.as_ref().and_then(|b| b.msg) {
            Some(m) => m,
            None => {
                let m = self.open_answer().await;
                if let Some(c) = self.answering.as_mut() {
                    c.answer_msg = Some(m);
                }
                self.brain_wait.as_mut().expect("brain pending").msg = Some(m);
                m
            }
        };
        for s in sentences {
            self.speaker.push(msg, &s);
        }
    }

    async fn on_flow_end(
        &mut self,
        run: Result<vaarta_flows::FlowRun<LiveHost>, tokio::task::JoinError>,
    ) {
        let result = match run {
            Ok(r) => r.result,
            Err(e) => {
                return self
                    .failover("flow", &format!("flow thread failed: {e}"))
                    .await;
            }
        };
        match result {
            Ok(FlowOutcome::Completed) => {
                if self.after_speech.is_none() {
                    self.after_speech = Some(AfterSpeech::Hangup {
                        outcome: CallOutcome::Completed,
                        reason: "flow completed".into(),
                    });
                    if self.speaker.idle() {
                        self.after_speech_now().await;
                    }
                }
            }
            Ok(FlowOutcome::CallerHungUp)
            | Ok(FlowOutcome::HungUp { .. })
            | Ok(FlowOutcome::Transferred { .. }) => {}
            Err(e) if self.failing || self.ended.is_some() => {
                tracing::debug!(error = %e, "flow stopped")
            }
            Err(e) => self.failover("flow", &e.to_string()).await,
        }
    }
}

fn record_latency_metrics(l: &TurnLatency) {
    for (stage, v) in [
        ("heard", l.heard_ms),
        ("turn_decision", l.turn_decision_ms),
        ("stt_final", l.stt_final_ms),
        ("brain_first_token", l.brain_first_token_ms),
        ("first_tts_audio", l.first_tts_audio_ms),
        ("first_packet", l.first_packet_ms),
        ("overhead", l.overhead_ms),
    ] {
        if let Some(ms) = v {
            metrics::histogram!("vaarta_turn_latency_ms", "stage" => stage).record(f64::from(ms));
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}
