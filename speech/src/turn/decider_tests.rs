//! Fake-clock tests: stream time and wall time both start at `T0`, so `at(ms)` and `d(ms)` name
//! the same moment.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use super::*;

static T0: LazyLock<Instant> = LazyLock::new(Instant::now);

fn at(ms: u64) -> Instant {
    *T0 + Duration::from_millis(ms)
}

fn d(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn decider(model: bool) -> TurnDecider {
    TurnDecider::new(TurnSettings::default(), model)
}

/// Speech from 1000 to 3000 ms; the VAD reports the end 300 ms later (its min silence).
fn speak(t: &mut TurnDecider) -> TurnAction {
    assert_eq!(
        t.on_speech_start(d(1000), at(1250)),
        TurnAction::KeepListening
    );
    t.on_speech_end(d(3000), d(3300), at(3300))
}

fn request(a: TurnAction) -> ModelRequest {
    match a {
        TurnAction::RunModel { request, .. } => request,
        other => panic!("expected RunModel, got {other:?}"),
    }
}

#[test]
fn model_runs_once_the_short_silence_passed_with_the_turn_audio() {
    let mut t = decider(true);
    // VAD min silence (300) > short silence (160): ask at once, with audio up to now
    let a = speak(&mut t);
    assert_eq!(
        a,
        TurnAction::RunModel {
            request: request(a),
            audio_start: d(500), // first speech − 500 ms pre-speech
            audio_end: d(3300),
        }
    );
}

#[test]
fn a_fast_vad_end_waits_for_the_short_silence() {
    let mut t = decider(true);
    t.on_speech_start(d(1000), at(1250));
    // VAD configured with 100 ms min silence: end reported at 3100
    assert_eq!(
        t.on_speech_end(d(3000), d(3100), at(3100)),
        TurnAction::KeepListening
    );
    assert_eq!(t.poll_timeout(), Some(at(3160)));
    assert_eq!(t.on_timeout(at(3159)), TurnAction::KeepListening);
    match t.on_timeout(at(3160)) {
        TurnAction::RunModel { audio_end, .. } => assert_eq!(audio_end, d(3160)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn complete_ends_the_turn_at_once() {
    let mut t = decider(true);
    let r = request(speak(&mut t));
    assert_eq!(
        t.on_model_result(r, 0.91, at(3350)),
        TurnAction::EndTurn {
            speech_end: d(3000),
            reason: EndReason::Complete { probability: 0.91 }
        }
    );
    assert!(!t.in_turn());
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn threshold_is_inclusive_and_configurable() {
    let settings = TurnSettings {
        threshold: 0.8,
        ..Default::default()
    };
    let mut t = TurnDecider::new(settings, true);
    let r = request(speak(&mut t));
    assert_eq!(
        t.on_model_result(r, 0.79, at(3350)),
        TurnAction::KeepListening
    );
    let mut t = TurnDecider::new(settings, true);
    let r = request(speak(&mut t));
    assert!(matches!(
        t.on_model_result(r, 0.8, at(3350)),
        TurnAction::EndTurn { .. }
    ));
}

#[test]
fn incomplete_keeps_listening_until_max_wait() {
    let mut t = TurnDecider::new(
        TurnSettings {
            reask_ms: 0,
            ..TurnSettings::default()
        },
        true,
    );
    let r = request(speak(&mut t));
    assert_eq!(
        t.on_model_result(r, 0.2, at(3350)),
        TurnAction::KeepListening
    );
    assert_eq!(t.poll_timeout(), Some(at(4500)));
    assert_eq!(t.on_timeout(at(4499)), TurnAction::KeepListening);
    assert_eq!(
        t.on_timeout(at(4500)),
        TurnAction::EndTurn {
            speech_end: d(3000),
            reason: EndReason::MaxWait
        }
    );
}

#[test]
fn a_slow_model_is_bounded_by_max_wait() {
    let mut t = decider(true);
    let r = request(speak(&mut t));
    assert_eq!(t.poll_timeout(), Some(at(4500)));
    assert_eq!(
        t.on_timeout(at(4500)),
        TurnAction::EndTurn {
            speech_end: d(3000),
            reason: EndReason::MaxWait
        }
    );
    // the late answer changes nothing
    assert_eq!(
        t.on_model_result(r, 0.99, at(4600)),
        TurnAction::KeepListening
    );
    assert!(!t.in_turn());
}

#[test]
fn speech_resuming_cancels_and_a_stale_result_is_ignored() {
    let mut t = decider(true);
    let r = request(speak(&mut t));
    assert_eq!(
        t.on_speech_start(d(3400), at(3650)),
        TurnAction::KeepListening
    );
    assert_eq!(t.poll_timeout(), None);
    assert_eq!(
        t.on_model_result(r, 0.99, at(3700)),
        TurnAction::KeepListening
    );
    assert!(t.in_turn());
    // the next pause asks again, for the whole turn so far, with a new request
    let a = t.on_speech_end(d(5000), d(5300), at(5300));
    match a {
        TurnAction::RunModel {
            request: r2,
            audio_start,
            audio_end,
        } => {
            assert_ne!(r2, r);
            assert_eq!((audio_start, audio_end), (d(500), d(5300)));
            assert_eq!(
                t.on_model_result(r, 0.99, at(5350)),
                TurnAction::KeepListening
            );
            assert!(matches!(
                t.on_model_result(r2, 0.9, at(5360)),
                TurnAction::EndTurn { speech_end, .. } if speech_end == d(5000)
            ));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn max_wait_counts_from_the_last_pause_only() {
    let mut t = TurnDecider::new(
        TurnSettings {
            reask_ms: 0,
            ..TurnSettings::default()
        },
        true,
    );
    let r = request(speak(&mut t));
    t.on_model_result(r, 0.1, at(3350));
    t.on_speech_start(d(4000), at(4250));
    assert_eq!(t.on_timeout(at(4500)), TurnAction::KeepListening);
    let r = request(t.on_speech_end(d(6000), d(6300), at(6300)));
    t.on_model_result(r, 0.1, at(6350));
    assert_eq!(t.poll_timeout(), Some(at(7500)));
}

#[test]
fn without_a_model_silence_alone_decides() {
    let mut t = decider(false);
    assert_eq!(speak(&mut t), TurnAction::KeepListening);
    assert_eq!(t.poll_timeout(), Some(at(3700)));
    assert_eq!(t.on_timeout(at(3699)), TurnAction::KeepListening);
    assert_eq!(
        t.on_timeout(at(3700)),
        TurnAction::EndTurn {
            speech_end: d(3000),
            reason: EndReason::Silence
        }
    );
}

#[test]
fn fallback_is_cancelled_by_speech_too() {
    let mut t = decider(false);
    speak(&mut t);
    t.on_speech_start(d(3500), at(3650));
    assert_eq!(t.on_timeout(at(3700)), TurnAction::KeepListening);
    assert!(t.in_turn());
}

#[test]
fn a_failed_model_falls_back_to_silence() {
    let mut t = decider(true);
    let r = request(speak(&mut t));
    assert_eq!(t.on_model_failed(r, at(3400)), TurnAction::KeepListening);
    assert_eq!(t.poll_timeout(), Some(at(3700)));
    assert_eq!(
        t.on_timeout(at(3700)),
        TurnAction::EndTurn {
            speech_end: d(3000),
            reason: EndReason::Silence
        }
    );
}

#[test]
fn a_late_failure_ends_at_once_and_nan_counts_as_failure() {
    let mut t = decider(true);
    let r = request(speak(&mut t));
    // failure reported after the fallback silence already passed
    assert!(matches!(
        t.on_model_failed(r, at(3800)),
        TurnAction::EndTurn {
            reason: EndReason::Silence,
            ..
        }
    ));
    let mut t = decider(true);
    let r = request(speak(&mut t));
    assert_eq!(
        t.on_model_result(r, f32::NAN, at(3400)),
        TurnAction::KeepListening
    );
    assert_eq!(t.poll_timeout(), Some(at(3700)));
}

#[test]
fn model_can_be_switched_off_between_turns() {
    let mut t = decider(true);
    t.set_model_available(false);
    assert_eq!(speak(&mut t), TurnAction::KeepListening);
    assert_eq!(t.poll_timeout(), Some(at(3700)));
}

#[test]
fn a_vad_end_reported_very_late_ends_at_once_without_a_model() {
    let mut t = decider(false);
    t.on_speech_start(d(1000), at(1250));
    // the shell was busy: the end arrives when 800 ms of silence were already heard
    assert!(matches!(
        t.on_speech_end(d(3000), d(3800), at(3800)),
        TurnAction::EndTurn {
            reason: EndReason::Silence,
            ..
        }
    ));
}

#[test]
fn events_outside_a_turn_are_ignored_and_a_new_turn_starts_fresh() {
    let mut t = decider(true);
    assert_eq!(
        t.on_speech_end(d(100), d(400), at(400)),
        TurnAction::KeepListening
    );
    assert_eq!(
        t.on_model_result(ModelRequest(0), 0.9, at(400)),
        TurnAction::KeepListening
    );
    assert_eq!(t.on_timeout(at(5000)), TurnAction::KeepListening);
    let r = request(speak(&mut t));
    t.on_model_result(r, 0.9, at(3350));
    // second turn: audio starts from its own first speech
    t.on_speech_start(d(8000), at(8250));
    match t.on_speech_end(d(9000), d(9300), at(9300)) {
        TurnAction::RunModel { audio_start, .. } => assert_eq!(audio_start, d(7500)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reset_drops_the_turn() {
    let mut t = decider(true);
    let r = request(speak(&mut t));
    t.reset();
    assert!(!t.in_turn());
    assert_eq!(t.poll_timeout(), None);
    assert_eq!(
        t.on_model_result(r, 0.9, at(3350)),
        TurnAction::KeepListening
    );
}

#[test]
fn pre_speech_does_not_go_before_the_stream() {
    let mut t = decider(true);
    t.on_speech_start(d(200), at(450));
    match t.on_speech_end(d(900), d(1200), at(1200)) {
        TurnAction::RunModel { audio_start, .. } => assert_eq!(audio_start, Duration::ZERO),
        other => panic!("{other:?}"),
    }
}

#[test]
fn incomplete_asks_again_as_the_silence_grows_until_max_wait() {
    let mut t = decider(true);
    let r = request(speak(&mut t));
    // 160 ms in the last word still sounds unfinished...
    assert_eq!(
        t.on_model_result(r, 0.1, at(3350)),
        TurnAction::KeepListening
    );
    assert_eq!(t.poll_timeout(), Some(at(3550)));
    assert_eq!(t.on_timeout(at(3549)), TurnAction::KeepListening);
    let again = t.on_timeout(at(3550));
    let TurnAction::RunModel {
        request: r2,
        audio_end,
        ..
    } = again
    else {
        panic!("{again:?}")
    };
    assert_eq!(audio_end, d(3550), "the longer silence is in the audio");
    assert_ne!(r2, r);
    // ...and finished 550 ms in: the turn ends then, not at max wait.
    assert!(matches!(
        t.on_model_result(r2, 0.9, at(3600)),
        TurnAction::EndTurn {
            reason: EndReason::Complete { .. },
            ..
        }
    ));
    // Re-asking never passes max wait.
    let mut t = decider(true);
    let mut r = request(speak(&mut t));
    let mut now = 3350;
    loop {
        assert_eq!(
            t.on_model_result(r, 0.1, at(now)),
            TurnAction::KeepListening
        );
        let due = t.poll_timeout().unwrap();
        match t.on_timeout(due) {
            TurnAction::RunModel { request, .. } => {
                r = request;
                now = (due - *T0).as_millis() as u64 + 50;
            }
            TurnAction::EndTurn { reason, .. } => {
                assert_eq!(reason, EndReason::MaxWait);
                assert_eq!(due, at(4500));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
}
