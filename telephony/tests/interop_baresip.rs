//! Interop with a real baresip (Debian): inbound/outbound calls with audio both ways, BYE from
//! each side, CANCEL before answer.

mod common;
use common::*;
use vaarta_telephony::{DialRequest, Event, HangupCause};

#[tokio::test]
async fn baresip_calls_streams_speech_and_hears_prompt_vaarta_hangs_up() {
    let dir = scratch("bs-inbound");
    let caller = speech_wav(
        &dir,
        "caller",
        "Hello, my order has not arrived yet, can you check the status please.",
    );
    let prompt = speech_wav(
        &dir,
        "prompt",
        "Sure. Please tell me your order number after the beep.",
    );
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    let mut bs = Baresip::spawn(&dir, &caller, false).await;
    bs.command("dial", &format!("sip:vaarta@{}", tel.local_addr()))
        .await;
    let call = next_incoming(&mut ev, 10).await;
    assert_eq!(call.caller, "baresip");
    let id = call.call;
    tel.answer(id).await.unwrap();
    tel.play(id, wav_frames(&prompt)).await.unwrap();
    let audio = tokio::spawn(collect_audio(call.audio, 30));
    bs.wait_event(5, "CALL_ESTABLISHED").await;
    next_event(&mut ev, 10, |e| {
        matches!(e, Event::PlayoutDrained { .. }).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    tel.hangup(id).await.unwrap();
    bs.wait_event(5, "CALL_CLOSED").await;
    let received = audio.await.unwrap();
    write_wav(&dir.join("vaarta-received.wav"), &received);
    let sim = envelope_similarity(&read_wav(&caller), &received);
    let other = envelope_similarity(&read_wav(&prompt), &received);
    assert!(
        sim > 0.8 && sim > other + 0.1,
        "Vaarta should receive baresip's speech (corr {sim:.2}, unrelated {other:.2})"
    );
    let dump = bs.decoded_dump();
    bs.quit().await;
    let sim = envelope_similarity(&read_wav(&prompt), &read_wav(&dump));
    assert!(
        sim > 0.8,
        "baresip should hear Vaarta's prompt (corr {sim:.2})"
    );
}

#[tokio::test]
async fn baresip_hangs_up_and_cancels() {
    let dir = scratch("bs-bye");
    let caller = speech_wav(&dir, "caller", "Testing one two three.");
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    let mut bs = Baresip::spawn(&dir, &caller, false).await;
    let target = format!("sip:vaarta@{}", tel.local_addr());

    // BYE from the peer
    bs.command("dial", &target).await;
    let id = next_event(&mut ev, 10, |e| {
        if let Event::Incoming(c) = e {
            Some(c.call)
        } else {
            None
        }
    })
    .await;
    tel.answer(id).await.unwrap();
    bs.wait_event(5, "CALL_ESTABLISHED").await;
    // DTMF from baresip (RFC 4733)
    bs.command("sndcode", "42#").await;
    let mut digits = String::new();
    next_event(&mut ev, 10, |e| match e {
        Event::Dtmf { digit, .. } => {
            digits.push(*digit);
            (digits.len() == 3).then_some(())
        }
        _ => None,
    })
    .await;
    assert_eq!(digits, "42#");
    bs.command("hangup", "").await;
    let cause = next_event(&mut ev, 5, |e| {
        if let Event::Hangup { call, cause } = e {
            (*call == id).then(|| cause.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(cause, HangupCause::RemoteHangup);
    bs.wait_event(5, "CALL_CLOSED").await;
    bs.seen.clear();

    // CANCEL before answer
    bs.command("dial", &target).await;
    let id = next_event(&mut ev, 10, |e| {
        if let Event::Incoming(c) = e {
            Some(c.call)
        } else {
            None
        }
    })
    .await;
    bs.wait_event(5, "CALL_RINGING").await;
    bs.command("hangup", "").await;
    let cause = next_event(&mut ev, 5, |e| {
        if let Event::Hangup { call, cause } = e {
            (*call == id).then(|| cause.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(cause, HangupCause::CallerCancelled);
    bs.quit().await;
}

#[tokio::test]
async fn vaarta_dials_baresip_and_hears_it() {
    let dir = scratch("bs-outbound");
    let speech = speech_wav(&dir, "callee", "Yes hello, who is calling, I am listening.");
    let mut bs = Baresip::spawn(&dir, &speech, true).await;
    let (tel, mut ev) = start_vaarta(|_| {}).await;
    let out = tel
        .dial(DialRequest {
            to: format!("sip:baresip@127.0.0.1:{}", bs.sip_port),
            ..Default::default()
        })
        .await
        .unwrap();
    let audio = tokio::spawn(collect_audio(out.audio, 30));
    next_event(&mut ev, 10, |e| {
        matches!(e, Event::Answered { call } if *call == out.call).then_some(())
    })
    .await;
    bs.wait_event(5, "CALL_ESTABLISHED").await;
    tel.send_dtmf(out.call, "7").await.unwrap();
    let dtmf = bs.wait_event(5, "CALL_DTMF_START").await;
    assert_eq!(dtmf["param"], "7", "{dtmf}");
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    bs.command("hangup", "").await;
    let cause = next_event(&mut ev, 5, |e| {
        if let Event::Hangup { call, cause } = e {
            (*call == out.call).then(|| cause.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(cause, HangupCause::RemoteHangup);
    let received = audio.await.unwrap();
    write_wav(&dir.join("vaarta-received.wav"), &received);
    let sim = envelope_similarity(&read_wav(&speech), &received);
    assert!(sim > 0.8, "Vaarta should hear the callee (corr {sim:.2})");
    bs.quit().await;
}
