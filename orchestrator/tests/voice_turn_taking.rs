//! Turn taking with a fake clock: every rule of `voice::turn_taking`, event by event.

use std::time::{Duration, Instant};

use vaarta_orchestrator::voice::{
    BargeInMode, BotAudio, StopReason, TurnAction, TurnEvent, TurnTaker, TurnTakingConfig,
};

use TurnAction as A;
use TurnEvent as E;

/// A fake clock: milliseconds since the start of the call.
struct Clock(Instant);

impl Clock {
    fn new() -> Self {
        Self(Instant::now())
    }
    fn at(&self, ms: u64) -> Instant {
        self.0 + Duration::from_millis(ms)
    }
    fn ms(&self, t: Instant) -> u64 {
        t.duration_since(self.0).as_millis() as u64
    }
}

fn cfg(mode: BargeInMode) -> TurnTakingConfig {
    TurnTakingConfig {
        barge_in: mode,
        ..TurnTakingConfig::default()
    }
}

fn stop_barge_in() -> TurnAction {
    A::StopPlayback {
        reason: StopReason::BargeIn,
    }
}

/// Caller says `text` from `start` to `end` (ms) with the bot idle; returns the turn taker
/// right after its end of turn (final delivered as soon as it is asked for).
fn caller_turn(tt: &mut TurnTaker, c: &Clock, start: u64, end: u64, text: &str) -> u64 {
    assert_eq!(tt.handle(c.at(start), E::VadSpeechStart), vec![]);
    assert_eq!(
        tt.handle(c.at(start + 100), E::SttPartial(text.into())),
        vec![]
    );
    assert_eq!(tt.handle(c.at(end), E::VadSpeechEnd), vec![]);
    let due = tt.poll_timeout().expect("end-of-turn timer");
    assert_eq!(tt.handle_timeout(due), vec![A::FinalizeStt]);
    assert_eq!(
        tt.handle(due, E::SttFinal(text.into())),
        vec![A::EndOfTurn { text: text.into() }]
    );
    c.ms(due)
}

#[test]
fn turn_ends_after_the_configured_silence_and_the_final() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(
        TurnTakingConfig {
            end_of_turn_silence_ms: 600,
            ..TurnTakingConfig::default()
        },
        "hi",
    );
    assert_eq!(tt.poll_timeout(), None, "an idle call needs no timer");
    tt.handle(c.at(0), E::VadSpeechStart);
    tt.handle(c.at(300), E::SttPartial("mera order".into()));
    assert_eq!(tt.handle(c.at(1000), E::VadSpeechEnd), vec![]);
    assert_eq!(tt.poll_timeout(), Some(c.at(1600)));
    assert_eq!(tt.handle_timeout(c.at(1599)), vec![]);
    assert_eq!(tt.handle_timeout(c.at(1600)), vec![A::FinalizeStt]);
    assert_eq!(
        tt.handle(c.at(1700), E::SttFinal("Mera order kahan hai?".into())),
        vec![A::EndOfTurn {
            text: "Mera order kahan hai?".into()
        }]
    );
    assert!(tt.answer_owed());
}

#[test]
fn endpointer_events_map_to_turn_events() {
    use vaarta_speech::vad::VadEvent;
    let at = Duration::from_millis(1234);
    assert_eq!(
        TurnEvent::from(VadEvent::SpeechStart { at }),
        E::VadSpeechStart
    );
    assert_eq!(TurnEvent::from(VadEvent::SpeechEnd { at }), E::VadSpeechEnd);
}

#[test]
fn an_early_final_waits_for_the_silence() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "en");
    tt.handle(c.at(0), E::VadSpeechStart);
    tt.handle(c.at(800), E::VadSpeechEnd);
    assert_eq!(
        tt.handle(c.at(900), E::SttFinal("what is the price".into())),
        vec![]
    );
    assert_eq!(
        tt.handle_timeout(c.at(1200)),
        vec![A::EndOfTurn {
            text: "what is the price".into()
        }]
    );
}

#[test]
fn speech_resuming_within_the_silence_continues_the_same_turn() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "en");
    tt.handle(c.at(0), E::VadSpeechStart);
    tt.handle(c.at(500), E::VadSpeechEnd);
    tt.handle(c.at(600), E::SttFinal("I want".into()));
    tt.handle(c.at(700), E::VadSpeechStart);
    assert_eq!(tt.handle_timeout(c.at(900)), vec![], "old deadline is void");
    tt.handle(c.at(1000), E::SttPartial("I want a refund".into()));
    tt.handle(c.at(1500), E::VadSpeechEnd);
    assert_eq!(tt.handle_timeout(c.at(1900)), vec![A::FinalizeStt]);
    assert_eq!(
        tt.handle(c.at(1950), E::SttFinal("I want a refund".into())),
        vec![A::EndOfTurn {
            text: "I want a refund".into()
        }]
    );
}

#[test]
fn a_missing_final_falls_back_to_the_last_partial_and_noise_is_no_turn() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "en");
    tt.handle(c.at(0), E::VadSpeechStart);
    tt.handle(c.at(200), E::SttPartial("cancel my order".into()));
    tt.handle(c.at(600), E::VadSpeechEnd);
    assert_eq!(tt.handle_timeout(c.at(1000)), vec![A::FinalizeStt]);
    // The caller waits for the slow final: a holding line 1.5 s after they stopped.
    assert_eq!(tt.poll_timeout(), Some(c.at(2100)));
    assert_eq!(
        tt.handle_timeout(c.at(2100)),
        vec![A::PlayHolding { level: 0 }]
    );
    assert_eq!(tt.poll_timeout(), Some(c.at(2500)));
    assert_eq!(
        tt.handle_timeout(c.at(2500)),
        vec![A::EndOfTurn {
            text: "cancel my order".into()
        }]
    );

    // A cough: speech without words is no turn, and owes nothing.
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "en");
    tt.handle(c.at(0), E::VadSpeechStart);
    tt.handle(c.at(300), E::VadSpeechEnd);
    assert_eq!(tt.handle_timeout(c.at(700)), vec![A::FinalizeStt]);
    assert_eq!(tt.handle(c.at(800), E::SttFinal(" ... ".into())), vec![]);
    assert!(!tt.answer_owed());
    assert_eq!(tt.poll_timeout(), None);
}

#[test]
fn immediate_mode_stops_the_bot_on_the_same_call_as_the_vad_start() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(cfg(BargeInMode::Immediate), "hi");
    tt.handle(c.at(0), E::PlaybackStarted(BotAudio::Answer));
    tt.handle(
        c.at(1200),
        E::PlaybackProgress {
            played: Duration::from_millis(1180),
        },
    );
    assert_eq!(
        tt.handle(c.at(1250), E::VadSpeechStart),
        vec![
            stop_barge_in(),
            A::Interrupted {
                heard: Duration::from_millis(1180)
            }
        ]
    );
    tt.handle(c.at(1300), E::SttPartial("ruko".into()));
    tt.handle(c.at(2000), E::VadSpeechEnd);
    assert_eq!(tt.handle_timeout(c.at(2400)), vec![A::FinalizeStt]);
    assert_eq!(
        tt.handle(c.at(2450), E::SttFinal("ruko, mujhe refund chahiye".into())),
        vec![A::EndOfTurn {
            text: "ruko, mujhe refund chahiye".into()
        }]
    );
}

#[test]
fn duck_mode_keeps_playing_through_a_backchannel() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(cfg(BargeInMode::Duck), "hi");
    tt.handle(c.at(0), E::PlaybackStarted(BotAudio::Answer));
    assert_eq!(
        tt.handle(c.at(1000), E::VadSpeechStart),
        vec![A::DuckPlayback { gain: 0.25 }],
        "the bot yields within the same frame"
    );
    assert_eq!(tt.poll_timeout(), Some(c.at(1300)));
    assert_eq!(tt.handle(c.at(1150), E::SttPartial("हाँ".into())), vec![]);
    assert_eq!(tt.handle_timeout(c.at(1300)), vec![A::ResumePlayback]);
    assert_eq!(tt.handle(c.at(1400), E::VadSpeechEnd), vec![]);
    assert_eq!(tt.handle_timeout(c.at(1800)), vec![A::FinalizeStt]);
    assert_eq!(
        tt.handle(c.at(1850), E::SttFinal("हाँ जी।".into())),
        vec![A::Backchannel {
            text: "हाँ जी।".into()
        }]
    );
    // Still the bot's turn: the answer goes on and finishes, nothing is owed.
    assert_eq!(tt.handle(c.at(4000), E::PlaybackFinished), vec![]);
    assert!(!tt.answer_owed());
    assert_eq!(tt.poll_timeout(), None);
}

#[test]
fn duck_mode_stops_as_soon_as_the_partial_has_real_words() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(cfg(BargeInMode::Duck), "en");
    tt.handle(c.at(0), E::PlaybackStarted(BotAudio::Answer));
    tt.handle(c.at(2000), E::VadSpeechStart);
    assert_eq!(tt.handle(c.at(2100), E::SttPartial("okay".into())), vec![]);
    assert_eq!(
        tt.handle(c.at(2200), E::SttPartial("okay but what about".into())),
        vec![
            stop_barge_in(),
            A::Interrupted {
                heard: Duration::from_millis(2200)
            }
        ]
    );
    assert_eq!(
        tt.handle_timeout(c.at(2300)),
        vec![],
        "the window closed with the stop"
    );
}

#[test]
fn a_long_sound_without_words_is_a_barge_in_when_the_window_ends() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(cfg(BargeInMode::Duck), "en");
    tt.handle(c.at(0), E::PlaybackStarted(BotAudio::Answer));
    tt.handle(c.at(500), E::VadSpeechStart);
    assert_eq!(
        tt.handle_timeout(c.at(800)),
        vec![
            stop_barge_in(),
            A::Interrupted {
                heard: Duration::from_millis(800)
            }
        ]
    );
}

#[test]
fn pause_mode_resumes_when_a_short_sound_ends_inside_the_window() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(cfg(BargeInMode::Pause), "en");
    tt.handle(c.at(0), E::PlaybackStarted(BotAudio::Answer));
    assert_eq!(
        tt.handle(c.at(700), E::VadSpeechStart),
        vec![A::PausePlayback]
    );
    assert_eq!(
        tt.handle(c.at(850), E::VadSpeechEnd),
        vec![A::ResumePlayback]
    );
    assert_eq!(tt.handle_timeout(c.at(1250)), vec![A::FinalizeStt]);
    assert_eq!(
        tt.handle(c.at(1300), E::SttFinal("Hmm.".into())),
        vec![A::Backchannel {
            text: "Hmm.".into()
        }]
    );
}

#[test]
fn words_after_a_backchannel_still_barge_in_late() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(cfg(BargeInMode::Duck), "hi");
    tt.handle(c.at(0), E::PlaybackStarted(BotAudio::Answer));
    tt.handle(c.at(1000), E::VadSpeechStart);
    tt.handle(c.at(1100), E::SttPartial("haan".into()));
    assert_eq!(tt.handle_timeout(c.at(1300)), vec![A::ResumePlayback]);
    assert_eq!(
        tt.handle(
            c.at(1600),
            E::SttPartial("haan par delivery kab hogi".into())
        ),
        vec![
            stop_barge_in(),
            A::Interrupted {
                heard: Duration::from_millis(1600)
            }
        ]
    );
}

#[test]
fn a_window_of_zero_is_the_strict_mode() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(
        TurnTakingConfig {
            backchannel_window_ms: 0,
            ..TurnTakingConfig::default()
        },
        "en",
    );
    tt.handle(c.at(0), E::PlaybackStarted(BotAudio::Answer));
    let out = tt.handle(c.at(100), E::VadSpeechStart);
    assert_eq!(out[0], stop_barge_in());
}

#[test]
fn a_backchannel_is_an_answer_when_the_bot_has_no_floor() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "hi");
    // "Kya main booking confirm karun?" has finished playing.
    tt.handle(c.at(0), E::PlaybackStarted(BotAudio::Answer));
    tt.handle(c.at(2000), E::PlaybackFinished);
    caller_turn(&mut tt, &c, 2500, 2900, "haan ji");
    assert!(tt.answer_owed());
}

#[test]
fn a_backchannel_while_the_answer_is_owed_changes_nothing() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "en");
    let t = caller_turn(&mut tt, &c, 0, 1000, "where is my order");
    assert_eq!(t, 1400);
    tt.handle(c.at(1500), E::VadSpeechStart);
    tt.handle(c.at(1600), E::SttPartial("ok".into()));
    tt.handle(c.at(1700), E::VadSpeechEnd);
    assert_eq!(tt.handle_timeout(c.at(2100)), vec![A::FinalizeStt]);
    assert_eq!(
        tt.handle(c.at(2100), E::SttFinal("OK.".into())),
        vec![A::Backchannel { text: "OK.".into() }]
    );
    assert!(tt.answer_owed());
    // The holding schedule of the original turn still holds.
    assert_eq!(tt.poll_timeout(), Some(c.at(2900)));
    assert_eq!(
        tt.handle_timeout(c.at(2900)),
        vec![A::PlayHolding { level: 0 }]
    );
}

#[test]
fn holding_repeats_fills_dead_air_and_escalates() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "hi");
    let t = caller_turn(&mut tt, &c, 0, 1000, "mera refund status batao");
    assert_eq!(t, 1400);
    // Holding level 0 at end of turn + 1500 ms, before the 2 s dead-air limit (from 1000).
    assert_eq!(tt.poll_timeout(), Some(c.at(2900)));
    assert_eq!(tt.handle_timeout(c.at(2899)), vec![]);
    assert_eq!(
        tt.handle_timeout(c.at(2900)),
        vec![A::PlayHolding { level: 0 }]
    );
    tt.handle(
        c.at(2900),
        E::PlaybackStarted(BotAudio::Holding { level: 0 }),
    );
    assert_eq!(
        tt.handle_timeout(c.at(4000)),
        vec![],
        "nothing over a playing message"
    );
    tt.handle(c.at(4900), E::PlaybackFinished);
    // 2 s after the holding message: a filler (the next holding is due at 7900).
    assert_eq!(tt.poll_timeout(), Some(c.at(6900)));
    assert_eq!(tt.handle_timeout(c.at(6900)), vec![A::DeadAirFiller]);
    tt.handle(c.at(6900), E::PlaybackStarted(BotAudio::Filler));
    tt.handle(c.at(7400), E::PlaybackFinished);
    assert_eq!(
        tt.handle_timeout(c.at(7900)),
        vec![A::PlayHolding { level: 1 }]
    );
    tt.handle(
        c.at(7900),
        E::PlaybackStarted(BotAudio::Holding { level: 1 }),
    );
    tt.handle(c.at(9900), E::PlaybackFinished);
    assert_eq!(tt.handle_timeout(c.at(11900)), vec![A::DeadAirFiller]);
    assert_eq!(
        tt.handle_timeout(c.at(12900)),
        vec![A::PlayHolding { level: 2 }]
    );
    // Escalation at end of turn + 15 s, even while something plays; then silence.
    tt.handle(
        c.at(12900),
        E::PlaybackStarted(BotAudio::Holding { level: 2 }),
    );
    assert_eq!(tt.poll_timeout(), Some(c.at(16400)));
    assert_eq!(tt.handle_timeout(c.at(16400)), vec![A::Escalate]);
    tt.handle(c.at(16500), E::PlaybackFinished);
    assert_eq!(tt.poll_timeout(), None);
}

#[test]
fn the_answer_does_not_wait_for_a_holding_message() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "hi");
    caller_turn(&mut tt, &c, 0, 1000, "price kya hai");
    assert_eq!(
        tt.handle_timeout(c.at(2900)),
        vec![A::PlayHolding { level: 0 }]
    );
    tt.handle(
        c.at(2900),
        E::PlaybackStarted(BotAudio::Holding { level: 0 }),
    );
    assert_eq!(
        tt.handle(c.at(3100), E::ResponseReady),
        vec![A::StopPlayback {
            reason: StopReason::AnswerReady
        }]
    );
    assert_eq!(
        tt.handle(c.at(3150), E::PlaybackStarted(BotAudio::Answer)),
        vec![]
    );
    assert!(!tt.answer_owed());
    assert_eq!(tt.poll_timeout(), None, "no holding once the answer plays");

    // With `holding_yields_to_answer = false` the holding message finishes first.
    let mut tt = TurnTaker::new(
        TurnTakingConfig {
            holding_yields_to_answer: false,
            ..TurnTakingConfig::default()
        },
        "hi",
    );
    caller_turn(&mut tt, &c, 0, 1000, "price kya hai");
    tt.handle_timeout(c.at(2900));
    tt.handle(
        c.at(2900),
        E::PlaybackStarted(BotAudio::Holding { level: 0 }),
    );
    assert_eq!(tt.handle(c.at(3100), E::ResponseReady), vec![]);
}

#[test]
fn a_fast_answer_gets_no_holding_message() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "en");
    caller_turn(&mut tt, &c, 0, 1000, "hello");
    assert_eq!(tt.handle(c.at(1900), E::ResponseReady), vec![]);
    // Ready but no audio yet: only the dead-air limit still applies.
    assert_eq!(tt.poll_timeout(), Some(c.at(3000)));
    assert_eq!(
        tt.handle(c.at(2100), E::PlaybackStarted(BotAudio::Answer)),
        vec![]
    );
    assert_eq!(tt.poll_timeout(), None);
}

#[test]
fn ready_text_whose_audio_never_starts_escalates_after_fillers() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "en");
    caller_turn(&mut tt, &c, 0, 1000, "hello");
    tt.handle(c.at(1500), E::ResponseReady);
    let mut fillers = 0;
    let mut escalated_at = None;
    while let Some(t) = tt.poll_timeout() {
        for a in tt.handle_timeout(t) {
            match a {
                A::DeadAirFiller => fillers += 1,
                A::Escalate => escalated_at = Some(c.ms(t)),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(escalated_at, Some(16400));
    assert_eq!(fillers, 7, "a filler every 2 s from 3000 to 15000");
}

#[test]
fn stray_events_without_an_utterance_are_ignored() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "en");
    assert_eq!(tt.handle(c.at(0), E::VadSpeechEnd), vec![]);
    assert_eq!(tt.handle(c.at(10), E::SttPartial("late".into())), vec![]);
    assert_eq!(tt.handle(c.at(20), E::SttFinal("late".into())), vec![]);
    assert_eq!(tt.handle(c.at(30), E::PlaybackFinished), vec![]);
    assert_eq!(tt.handle(c.at(40), E::ResponseReady), vec![]);
    assert_eq!(tt.poll_timeout(), None);
}

#[test]
fn dead_air_brings_the_first_holding_message_forward() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(
        TurnTakingConfig {
            end_of_turn_silence_ms: 900,
            ..TurnTakingConfig::default()
        },
        "en",
    );
    tt.handle(c.at(0), E::VadSpeechStart);
    tt.handle(c.at(1000), E::VadSpeechEnd);
    assert_eq!(tt.handle_timeout(c.at(1900)), vec![A::FinalizeStt]);
    // A slow STT final: the turn ends 1.4 s after the caller stopped talking.
    assert_eq!(
        tt.handle(c.at(2400), E::SttFinal("track my order".into())),
        vec![A::EndOfTurn {
            text: "track my order".into()
        }]
    );
    // Holding would be due at 4000, but the line has been silent since 1000.
    assert_eq!(tt.poll_timeout(), Some(c.at(3000)));
    assert_eq!(
        tt.handle_timeout(c.at(3000)),
        vec![A::PlayHolding { level: 0 }]
    );
}

#[test]
fn nothing_plays_over_the_caller_and_a_new_turn_replaces_the_owed_answer() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "en");
    caller_turn(&mut tt, &c, 0, 1000, "my order");
    tt.handle(c.at(2000), E::VadSpeechStart);
    tt.handle(c.at(2200), E::SttPartial("number is".into()));
    assert_eq!(
        tt.handle_timeout(c.at(2900)),
        vec![],
        "no holding over the caller"
    );
    assert_eq!(
        tt.handle_timeout(c.at(3500)),
        vec![],
        "no filler over the caller"
    );
    tt.handle(c.at(3600), E::VadSpeechEnd);
    assert_eq!(tt.handle_timeout(c.at(4000)), vec![A::FinalizeStt]);
    assert_eq!(
        tt.handle(c.at(4000), E::SttFinal("number is A12345".into())),
        vec![A::EndOfTurn {
            text: "number is A12345".into()
        }]
    );
    // The holding clock restarts from the new turn.
    assert_eq!(tt.poll_timeout(), Some(c.at(5500)));
}

#[test]
fn bot_audio_starting_over_a_talking_caller_is_stopped() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(cfg(BargeInMode::Duck), "en");
    tt.handle(c.at(0), E::VadSpeechStart);
    tt.handle(c.at(200), E::SttPartial("I was saying that".into()));
    assert!(tt.caller_holds_line());
    assert_eq!(
        tt.handle(c.at(300), E::PlaybackStarted(BotAudio::Answer)),
        vec![
            stop_barge_in(),
            A::Interrupted {
                heard: Duration::ZERO
            }
        ]
    );
}

#[test]
fn barge_in_over_a_holding_message_does_not_interrupt_the_flow() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(cfg(BargeInMode::Immediate), "en");
    caller_turn(&mut tt, &c, 0, 1000, "refund");
    tt.handle_timeout(c.at(2900));
    tt.handle(
        c.at(2900),
        E::PlaybackStarted(BotAudio::Holding { level: 0 }),
    );
    assert_eq!(
        tt.handle(c.at(3000), E::VadSpeechStart),
        vec![stop_barge_in()]
    );
    assert!(tt.answer_owed());
}

/// Drives a call whose brain never answers, with a shell that plays holding messages for
/// 2.6 s and fillers for 0.7 s: the line is never silent for more than 2 s until escalation.
#[test]
fn never_more_than_two_seconds_of_dead_air() {
    for eot in [200, 400, 900, 1500] {
        let c = Clock::new();
        let mut tt = TurnTaker::new(
            TurnTakingConfig {
                end_of_turn_silence_ms: eot,
                ..TurnTakingConfig::default()
            },
            "hi",
        );
        tt.handle(c.at(0), E::VadSpeechStart);
        tt.handle(c.at(100), E::SttPartial("kab tak aayega".into()));
        tt.handle(c.at(1000), E::VadSpeechEnd);
        let mut last_sound = 1000u64;
        let mut playing_until: Option<u64> = None;
        let mut escalated = false;
        let mut holdings = 0;
        for _ in 0..200 {
            let next_timer = tt.poll_timeout().map(|t| c.ms(t));
            let now = match (next_timer, playing_until) {
                (Some(t), Some(p)) => t.min(p),
                (Some(t), None) => t,
                (None, Some(p)) => p,
                (None, None) => break,
            };
            let mut actions = Vec::new();
            if playing_until == Some(now) {
                playing_until = None;
                last_sound = now;
                actions.extend(tt.handle(c.at(now), E::PlaybackFinished));
            }
            if playing_until.is_none() {
                assert!(
                    now - last_sound <= 2000 || escalated,
                    "eot {eot}: {} ms of dead air at {now}",
                    now - last_sound
                );
            }
            actions.extend(tt.handle_timeout(c.at(now)));
            for a in actions {
                let (audio, len) = match a {
                    A::FinalizeStt => {
                        let out = tt.handle(c.at(now), E::SttFinal("kab tak aayega".into()));
                        assert!(matches!(out[..], [A::EndOfTurn { .. }]));
                        continue;
                    }
                    A::PlayHolding { level } => {
                        holdings += 1;
                        (BotAudio::Holding { level }, 2600)
                    }
                    A::DeadAirFiller => (BotAudio::Filler, 700),
                    A::Escalate => {
                        escalated = true;
                        continue;
                    }
                    other => panic!("unexpected {other:?}"),
                };
                assert!(playing_until.is_none(), "two things at once");
                tt.handle(c.at(now), E::PlaybackStarted(audio));
                playing_until = Some(now + len);
            }
        }
        assert!(escalated, "eot {eot}: escalated");
        assert!(holdings >= 2, "eot {eot}: {holdings} holding messages");
    }
}

#[test]
fn config_reads_partial_settings_with_defaults() {
    let cfg: TurnTakingConfig = serde_json::from_str(
        r#"{"holding_after_ms": 2500, "barge_in": "pause",
            "backchannels": {"*": ["haan"], "pa": ["ਹਾਂ ਜੀ"]}}"#,
    )
    .unwrap();
    assert_eq!(cfg.holding_after_ms, 2500);
    assert_eq!(cfg.barge_in, BargeInMode::Pause);
    assert_eq!(cfg.max_dead_air_ms, 2000);
    assert_eq!(cfg.backchannels.phrases_for("pa-IN"), vec!["haan", "ਹਾਂ ਜੀ"]);
    assert!(serde_json::from_str::<TurnTakingConfig>(r#"{"holding_after": 1}"#).is_err());
    let back: TurnTakingConfig =
        serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
}

#[test]
fn a_slow_final_is_covered_by_a_holding_line_and_the_turn_ends_on_the_final() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(
        TurnTakingConfig {
            end_of_turn_silence_ms: 400,
            stt_final_timeout_ms: 8000,
            holding_after_ms: 1500,
            holding_repeat_ms: 5000,
            ..TurnTakingConfig::default()
        },
        "en",
    );
    tt.handle(c.at(0), E::VadSpeechStart);
    tt.handle(c.at(300), E::SttPartial("How much".into()));
    tt.handle(c.at(1000), E::VadSpeechEnd);
    assert_eq!(tt.handle_timeout(c.at(1400)), vec![A::FinalizeStt]);
    // The busy node's final is late: the silence is filled at 1.5 s after the speech end.
    assert_eq!(tt.poll_timeout(), Some(c.at(2500)));
    assert_eq!(tt.handle_timeout(c.at(2499)), vec![]);
    assert_eq!(
        tt.handle_timeout(c.at(2500)),
        vec![A::PlayHolding { level: 0 }]
    );
    // The holding line plays over a caller who is done: no barge-in.
    assert_eq!(
        tt.handle(
            c.at(2510),
            E::PlaybackStarted(BotAudio::Holding { level: 0 })
        ),
        vec![]
    );
    assert_eq!(tt.handle_timeout(c.at(3000)), vec![], "held only once");
    // The turn ends on the whole utterance, never on the partial.
    assert_eq!(
        tt.handle(
            c.at(3400),
            E::SttFinal("How much is the AC installation charge?".into())
        ),
        vec![A::EndOfTurn {
            text: "How much is the AC installation charge?".into()
        }]
    );
    assert!(tt.answer_owed());
    assert_eq!(tt.handle(c.at(5000), E::PlaybackFinished), vec![]);
    // Dead air after the holding line gets a filler; the next holding line is the repeat
    // (level 1), a repeat interval after the turn ended.
    assert_eq!(tt.handle_timeout(c.at(7000)), vec![A::DeadAirFiller]);
    assert_eq!(tt.handle_timeout(c.at(8399)), vec![]);
    assert_eq!(
        tt.handle_timeout(c.at(8400)),
        vec![A::PlayHolding { level: 1 }]
    );
}

#[test]
fn a_prompt_final_plays_no_holding_line() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(TurnTakingConfig::default(), "en");
    let end = caller_turn(&mut tt, &c, 0, 1000, "What are your timings?");
    assert!(tt.answer_owed());
    let due = tt.poll_timeout().unwrap();
    assert!(c.ms(due) >= end + 1000, "no early holding: {}", c.ms(due));
}

#[test]
fn the_turn_model_ends_the_turn_before_the_silence_does() {
    let c = Clock::new();
    let mut tt = TurnTaker::new(
        TurnTakingConfig {
            end_of_turn_silence_ms: 1500,
            ..TurnTakingConfig::default()
        },
        "en",
    );
    tt.handle(c.at(0), E::VadSpeechStart);
    // A complete-sounding utterance: the model says so 300 ms into the silence.
    assert_eq!(
        tt.handle(c.at(100), E::TurnComplete),
        vec![],
        "still speaking"
    );
    tt.handle(c.at(1000), E::VadSpeechEnd);
    assert_eq!(tt.handle(c.at(1300), E::TurnComplete), vec![A::FinalizeStt]);
    assert_eq!(tt.handle(c.at(1310), E::TurnComplete), vec![], "asked once");
    assert_eq!(
        tt.handle(c.at(1500), E::SttFinal("Where is my order?".into())),
        vec![A::EndOfTurn {
            text: "Where is my order?".into()
        }]
    );
    // Unfinished ("mera order number hai..."): no model verdict, the caller goes on; the
    // silence alone ends it only after the long wait.
    let mut tt = TurnTaker::new(
        TurnTakingConfig {
            end_of_turn_silence_ms: 1500,
            ..TurnTakingConfig::default()
        },
        "en",
    );
    tt.handle(c.at(5000), E::VadSpeechStart);
    tt.handle(c.at(6000), E::VadSpeechEnd);
    tt.handle(c.at(6700), E::VadSpeechStart);
    tt.handle(c.at(7500), E::VadSpeechEnd);
    assert_eq!(tt.handle_timeout(c.at(8999)), vec![]);
    assert_eq!(tt.handle_timeout(c.at(9000)), vec![A::FinalizeStt]);
}
