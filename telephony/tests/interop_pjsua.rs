//! Interop with a real pjsua2 peer (PyPI pjsua2-python): inbound and outbound calls, audio
//! both ways, DTMF, CANCEL, BYE from each side, reject codes, call limit, hold, REFER.

mod common;
use common::*;
use vaarta_telephony::{DialRequest, Event, HangupCause, TransferResult};

fn vaarta_uri(t: &vaarta_telephony::Telephony) -> String {
    format!("sip:vaarta@{}", t.local_addr())
}

#[tokio::test]
async fn inbound_call_audio_both_ways_dtmf_and_peer_bye() {
    let dir = scratch("pj-inbound");
    let caller_speech = speech_wav(
        &dir,
        "caller",
        "Hello, I would like to know the price of the premium plan please.",
    );
    let agent_speech = speech_wav(
        &dir,
        "agent",
        "Namaste. Thank you for calling. How can I help you today?",
    );
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    let rec = dir.join("peer-recording.wav");
    let mut peer = Pjsua::spawn(&[
        "call",
        &vaarta_uri(&tel),
        "--play",
        caller_speech.to_str().unwrap(),
        "--record",
        rec.to_str().unwrap(),
        "--dtmf",
        "1#9",
        // digits after the speech: pjsua mutes its audio while it sends RFC 4733 events
        "--dtmf-after",
        "5.0",
        "--hangup-after",
        "7",
    ])
    .await;
    let call = next_incoming(&mut ev, 10).await;
    assert_eq!(call.caller, "peer");
    assert_eq!(call.callee, "vaarta");
    assert!(call.headers.iter().any(|(n, _)| n == "call-id"));
    let id = call.call;
    tel.answer(id).await.unwrap();
    tel.play(id, wav_frames(&agent_speech)).await.unwrap();
    let audio = tokio::spawn(collect_audio(call.audio, 20));
    next_event(&mut ev, 5, |e| {
        matches!(e, Event::Answered { call } if *call == id).then_some(())
    })
    .await;
    let mut digits = String::new();
    let cause = next_event(&mut ev, 15, |e| match e {
        Event::Dtmf { digit, .. } => {
            digits.push(*digit);
            None
        }
        Event::Hangup { cause, .. } => Some(cause.clone()),
        _ => None,
    })
    .await;
    assert_eq!(cause, HangupCause::RemoteHangup);
    assert_eq!(digits, "1#9");
    let received = audio.await.unwrap();
    write_wav(&dir.join("vaarta-received.wav"), &received);
    let sim = envelope_similarity(&read_wav(&caller_speech), &received);
    let other = envelope_similarity(&read_wav(&agent_speech), &received);
    eprintln!("received vs caller speech {sim:.2}, vs other speech {other:.2}");
    assert!(
        sim > 0.8,
        "Vaarta's received audio should follow the caller's speech (envelope correlation {sim:.2})"
    );
    assert!(
        sim > other + 0.1,
        "the check must tell speech apart ({sim:.2} vs {other:.2})"
    );
    peer.wait_for(5, |v| v["ev"] == "state" && v["state"] == "DISCONNECTED")
        .await;
    peer.finish(10).await;
    let sim = envelope_similarity(&read_wav(&agent_speech), &read_wav(&rec));
    assert!(
        sim > 0.8,
        "the peer's recording should contain Vaarta's prompt (envelope correlation {sim:.2})"
    );
}

#[tokio::test]
async fn cancel_before_answer_gets_487() {
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    let mut peer = Pjsua::spawn(&["call", &vaarta_uri(&tel), "--cancel-after", "1.0"]).await;
    let id = next_event(&mut ev, 10, |e| {
        if let Event::Incoming(c) = e {
            Some(c.call)
        } else {
            None
        }
    })
    .await;
    let cause = next_event(&mut ev, 10, |e| {
        if let Event::Hangup { call, cause } = e {
            (*call == id).then(|| cause.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(cause, HangupCause::CallerCancelled);
    let v = peer
        .wait_for(10, |v| v["ev"] == "state" && v["state"] == "DISCONNECTED")
        .await;
    assert_eq!(v["code"], 487);
}

#[tokio::test]
async fn vaarta_hangs_up_with_bye() {
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    let mut peer = Pjsua::spawn(&["call", &vaarta_uri(&tel)]).await;
    let id = next_event(&mut ev, 10, |e| {
        if let Event::Incoming(c) = e {
            Some(c.call)
        } else {
            None
        }
    })
    .await;
    tel.answer(id).await.unwrap();
    next_event(&mut ev, 5, |e| {
        matches!(e, Event::Answered { .. }).then_some(())
    })
    .await;
    peer.wait_for(5, |v| v["ev"] == "state" && v["state"] == "CONFIRMED")
        .await;
    tel.hangup(id).await.unwrap();
    let cause = next_event(&mut ev, 5, |e| {
        if let Event::Hangup { cause, .. } = e {
            Some(cause.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(cause, HangupCause::LocalHangup);
    peer.wait_for(5, |v| v["ev"] == "state" && v["state"] == "DISCONNECTED")
        .await;
}

#[tokio::test]
async fn reject_with_chosen_codes() {
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    for code in [486u16, 603, 480] {
        let mut peer = Pjsua::spawn(&["call", &vaarta_uri(&tel)]).await;
        let id = next_event(&mut ev, 10, |e| {
            if let Event::Incoming(c) = e {
                Some(c.call)
            } else {
                None
            }
        })
        .await;
        tel.reject(id, code).await.unwrap();
        let v = peer
            .wait_for(10, |v| v["ev"] == "state" && v["state"] == "DISCONNECTED")
            .await;
        assert_eq!(v["code"], code);
    }
}

#[tokio::test]
async fn call_limit_answers_503() {
    let (tel, _ev) = start_vaarta(|c| c.max_calls = 0).await;
    let mut peer = Pjsua::spawn(&["call", &vaarta_uri(&tel)]).await;
    let v = peer
        .wait_for(10, |v| v["ev"] == "state" && v["state"] == "DISCONNECTED")
        .await;
    assert_eq!(v["code"], 503);
}

#[tokio::test]
async fn outbound_call_answered_plays_prompt_and_sends_dtmf() {
    let dir = scratch("pj-outbound");
    let prompt = speech_wav(
        &dir,
        "prompt",
        "This is a reminder about your appointment tomorrow at ten.",
    );
    let rec = dir.join("callee.wav");
    let mut peer = Pjsua::spawn(&["listen", "--record", rec.to_str().unwrap()]).await;
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    let out = tel
        .dial(DialRequest {
            to: format!("sip:peer@127.0.0.1:{}", peer.port),
            ..Default::default()
        })
        .await
        .unwrap();
    let id = out.call;
    next_event(&mut ev, 10, |e| {
        matches!(e, Event::Answered { call } if *call == id).then_some(())
    })
    .await;
    tel.send_dtmf(id, "42").await.unwrap();
    tel.play(id, wav_frames(&prompt)).await.unwrap();
    next_event(&mut ev, 20, |e| {
        matches!(e, Event::PlayoutDrained { .. }).then_some(())
    })
    .await;
    tel.hangup(id).await.unwrap();
    let d1 = peer.wait_for(5, |v| v["ev"] == "dtmf").await;
    assert_eq!(d1["digit"], "4");
    peer.wait_for(5, |v| v["ev"] == "dtmf" && v["digit"] == "2")
        .await;
    peer.wait_for(5, |v| v["ev"] == "state" && v["state"] == "DISCONNECTED")
        .await;
    peer.finish(10).await;
    let sim = envelope_similarity(&read_wav(&prompt), &read_wav(&rec));
    assert!(
        sim > 0.8,
        "callee's recording should contain the prompt (envelope correlation {sim:.2})"
    );
}

#[tokio::test]
async fn outbound_busy_and_no_answer() {
    let (tel, mut ev) = start_vaarta(|c| c.ring_timeout_secs = 2).await;
    let busy = Pjsua::spawn(&["listen", "--busy"]).await;
    let out = tel
        .dial(DialRequest {
            to: format!("sip:peer@127.0.0.1:{}", busy.port),
            ..Default::default()
        })
        .await
        .unwrap();
    let cause = next_event(&mut ev, 10, |e| {
        if let Event::Hangup { call, cause } = e {
            (*call == out.call).then(|| cause.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(cause, HangupCause::Busy);

    let mut ringing = Pjsua::spawn(&["listen", "--ring"]).await;
    let out = tel
        .dial(DialRequest {
            to: format!("sip:peer@127.0.0.1:{}", ringing.port),
            ..Default::default()
        })
        .await
        .unwrap();
    next_event(&mut ev, 5, |e| {
        matches!(e, Event::Ringing { call } if *call == out.call).then_some(())
    })
    .await;
    let cause = next_event(&mut ev, 10, |e| {
        if let Event::Hangup { call, cause } = e {
            (*call == out.call).then(|| cause.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(cause, HangupCause::NoAnswer);
    let v = ringing
        .wait_for(5, |v| v["ev"] == "state" && v["state"] == "DISCONNECTED")
        .await;
    assert_eq!(v["code"], 487, "the unanswered INVITE was cancelled");
}

#[tokio::test]
async fn blind_transfer_by_refer_to_second_peer() {
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    let mut agent = Pjsua::spawn(&["listen"]).await;
    let mut caller = Pjsua::spawn(&["call", &vaarta_uri(&tel), "--timeout", "20"]).await;
    let id = next_event(&mut ev, 10, |e| {
        if let Event::Incoming(c) = e {
            Some(c.call)
        } else {
            None
        }
    })
    .await;
    tel.answer(id).await.unwrap();
    next_event(&mut ev, 5, |e| {
        matches!(e, Event::Answered { .. }).then_some(())
    })
    .await;
    tel.transfer(id, &format!("sip:peer@127.0.0.1:{}", agent.port))
        .await
        .unwrap();
    let result = next_event(&mut ev, 15, |e| {
        if let Event::Transfer { result, .. } = e {
            Some(result.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(result, TransferResult::Succeeded);
    caller.wait_for(5, |v| v["ev"] == "transfer_request").await;
    agent.wait_for(5, |v| v["ev"] == "incoming").await;
    agent
        .wait_for(5, |v| v["ev"] == "state" && v["state"] == "CONFIRMED")
        .await;
    // the transferor leaves the call (the transferee may already have sent BYE)
    let _ = tel.hangup(id).await;
}

#[tokio::test]
async fn reinvite_hold_and_resume_are_answered() {
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    let peer = Pjsua::spawn(&[
        "call",
        &vaarta_uri(&tel),
        "--hold-after",
        "0.5",
        "--unhold-after",
        "1.5",
        "--hangup-after",
        "2.5",
    ])
    .await;
    let id = next_event(&mut ev, 10, |e| {
        if let Event::Incoming(c) = e {
            Some(c.call)
        } else {
            None
        }
    })
    .await;
    tel.answer(id).await.unwrap();
    let held = next_event(&mut ev, 10, |e| {
        if let Event::Hold { on_hold, .. } = e {
            Some(*on_hold)
        } else {
            None
        }
    })
    .await;
    assert!(held, "sendonly re-INVITE is reported as hold");
    let held = next_event(&mut ev, 10, |e| {
        if let Event::Hold { on_hold, .. } = e {
            Some(*on_hold)
        } else {
            None
        }
    })
    .await;
    assert!(!held, "resume re-INVITE is reported");
    let cause = next_event(&mut ev, 10, |e| {
        if let Event::Hangup { cause, .. } = e {
            Some(cause.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(cause, HangupCause::RemoteHangup);
    // pjsua saw both re-INVITEs answered (it reports media state changes, no failure)
    let seen = peer.finish(10).await;
    assert!(
        seen.iter().filter(|v| v["ev"] == "media").count() >= 2,
        "{seen:?}"
    );
}

#[tokio::test]
async fn refused_refer_falls_back_to_bridging_the_agent_leg() {
    let dir = scratch("pj-bridge");
    let caller_speech = speech_wav(
        &dir,
        "caller",
        "I want to speak with a human agent about my refund.",
    );
    let agent_rec = dir.join("agent.wav");
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    let mut agent = Pjsua::spawn(&["listen", "--record", agent_rec.to_str().unwrap()]).await;
    let mut caller = Pjsua::spawn(&[
        "call",
        &vaarta_uri(&tel),
        "--refuse-transfer",
        "--loop-play",
        "--play",
        caller_speech.to_str().unwrap(),
        "--timeout",
        "25",
    ])
    .await;
    let id = next_event(&mut ev, 10, |e| {
        if let Event::Incoming(c) = e {
            Some(c.call)
        } else {
            None
        }
    })
    .await;
    tel.answer(id).await.unwrap();
    next_event(&mut ev, 5, |e| {
        matches!(e, Event::Answered { .. }).then_some(())
    })
    .await;
    let agent_uri = format!("sip:peer@127.0.0.1:{}", agent.port);
    tel.transfer(id, &agent_uri).await.unwrap();
    let result = next_event(&mut ev, 10, |e| {
        if let Event::Transfer { result, .. } = e {
            Some(result.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(result, TransferResult::Failed(603));
    caller.wait_for(5, |v| v["ev"] == "transfer_request").await;
    // fallback: dial the agent and relay audio between the legs
    let leg = tel
        .dial(DialRequest {
            to: agent_uri,
            ..Default::default()
        })
        .await
        .unwrap();
    next_event(&mut ev, 10, |e| {
        matches!(e, Event::Answered { call } if *call == leg.call).then_some(())
    })
    .await;
    tel.bridge(id, leg.call).await.unwrap();
    // the caller repeats its sentence; after two repetitions the agent must have heard one whole
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    tel.hangup(leg.call).await.unwrap();
    tel.hangup(id).await.unwrap();
    agent
        .wait_for(5, |v| v["ev"] == "state" && v["state"] == "DISCONNECTED")
        .await;
    agent.finish(10).await;
    let sim = envelope_similarity(&read_wav(&caller_speech), &read_wav(&agent_rec));
    assert!(
        sim > 0.8,
        "the agent should hear the caller through the bridge (corr {sim:.2})"
    );
}
