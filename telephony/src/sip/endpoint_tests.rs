//! The user agent core driven with a fake clock and in-memory datagrams.

use super::*;

const PEER: &str = "127.0.0.1:5070";

fn ep(tweak: impl FnOnce(&mut TelephonyConfig)) -> Endpoint {
    let mut cfg = TelephonyConfig::default();
    tweak(&mut cfg);
    Endpoint::new(
        cfg,
        "127.0.0.1:5060".parse().unwrap(),
        "127.0.0.1".parse().unwrap(),
    )
}

fn peer() -> SocketAddr {
    PEER.parse().unwrap()
}

fn invite(branch: &str, call_id: &str) -> Vec<u8> {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
    MsgBuilder::request("INVITE", "sip:vaarta@127.0.0.1:5060")
        .header("via", &format!("SIP/2.0/UDP {PEER};branch={branch}"))
        .header("max-forwards", "70")
        .header("from", "<sip:+911234@127.0.0.1>;tag=peer1")
        .header("to", "<sip:vaarta@127.0.0.1>")
        .header("call-id", call_id)
        .header("cseq", "1 INVITE")
        .header("contact", &format!("<sip:peer@{PEER}>"))
        .header("x-site", "acme")
        .body("application/sdp", sdp.as_bytes())
        .build()
}

fn request(method: &str, branch: &str, call_id: &str, to_tag: Option<&str>, cseq: u32) -> Vec<u8> {
    let to = match to_tag {
        Some(t) => format!("<sip:vaarta@127.0.0.1>;tag={t}"),
        None => "<sip:vaarta@127.0.0.1>".into(),
    };
    MsgBuilder::request(method, "sip:vaarta@127.0.0.1:5060")
        .header("via", &format!("SIP/2.0/UDP {PEER};branch={branch}"))
        .header("from", "<sip:+911234@127.0.0.1>;tag=peer1")
        .header("to", &to)
        .header("call-id", call_id)
        .header("cseq", &format!("{cseq} {method}"))
        .build()
}

fn sent(e: &mut Endpoint) -> Vec<SipMsg> {
    std::iter::from_fn(|| e.poll_transmit())
        .map(|t| SipMsg::parse(&t.data).expect("we send valid SIP"))
        .collect()
}

fn events(e: &mut Endpoint) -> Vec<SipEvent> {
    std::iter::from_fn(|| e.poll_event()).collect()
}

fn codes(msgs: &[SipMsg]) -> Vec<u16> {
    msgs.iter().filter_map(|m| m.code()).collect()
}

#[test]
fn inbound_invite_rings_answers_and_retransmits_2xx_until_ack() {
    let t0 = Instant::now();
    let mut e = ep(|_| {});
    e.handle_input(t0, peer(), &invite("z9hG4bK1", "c1"));
    let out = sent(&mut e);
    assert_eq!(codes(&out), vec![100, 180]);
    let ringing = &out[1];
    assert!(
        ringing.header("contact").is_some(),
        "Contact on the dialog-creating 180"
    );
    let tag = ringing.to_tag().expect("To tag on 180");
    let ev = events(&mut e);
    let SipEvent::Incoming {
        call,
        headers,
        from,
        ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert!(from.contains("+911234"));
    assert!(headers.iter().any(|(n, v)| n == "x-site" && v == "acme"));
    let call = *call;

    // a retransmitted INVITE gets the 180 again, not a second call
    e.handle_input(t0, peer(), &invite("z9hG4bK1", "c1"));
    assert_eq!(codes(&sent(&mut e)), vec![180]);
    assert!(events(&mut e).is_empty());

    e.answer(t0, call, "127.0.0.1:30000".parse().unwrap())
        .unwrap();
    let ok = sent(&mut e);
    assert_eq!(codes(&ok), vec![200]);
    assert!(ok[0].header("contact").is_some());
    assert!(ok[0].body_str().contains("m=audio 30000 RTP/AVP 0 101"));
    assert_eq!(ok[0].to_tag().as_deref(), Some(tag.as_str()));

    // 2xx retransmitted at T1, 2·T1 ... while no ACK arrives
    let mut at = Vec::new();
    let mut now = t0;
    while let Some(t) = e.poll_timeout() {
        if t > t0 + Duration::from_secs(4) {
            break;
        }
        now = t;
        e.handle_timeout(now);
        if codes(&sent(&mut e)) == vec![200] {
            at.push((now - t0).as_millis());
        }
    }
    assert_eq!(at, vec![500, 1500, 3500]);
    e.handle_input(
        now,
        peer(),
        &request("ACK", "z9hG4bK2", "c1", Some(&tag), 1),
    );
    assert!(matches!(events(&mut e)[..], [SipEvent::Answered { .. }]));
    e.handle_timeout(now + Duration::from_secs(10));
    assert!(sent(&mut e).is_empty(), "no retransmission after the ACK");

    // BYE from the peer
    e.handle_input(
        now,
        peer(),
        &request("BYE", "z9hG4bK3", "c1", Some(&tag), 2),
    );
    assert_eq!(codes(&sent(&mut e)), vec![200]);
    assert_eq!(
        events(&mut e),
        vec![SipEvent::Ended {
            call,
            cause: HangupCause::RemoteHangup
        }]
    );
    e.handle_input(
        now,
        peer(),
        &request("BYE", "z9hG4bK4", "c1", Some(&tag), 3),
    );
    assert_eq!(codes(&sent(&mut e)), vec![481]);
}

#[test]
fn cancel_before_answer_sends_487_and_absorbs_its_ack() {
    let t0 = Instant::now();
    let mut e = ep(|_| {});
    e.handle_input(t0, peer(), &invite("z9hG4bKc", "c2"));
    sent(&mut e);
    events(&mut e);
    e.handle_input(t0, peer(), &request("CANCEL", "z9hG4bKc", "c2", None, 1));
    let out = sent(&mut e);
    assert_eq!(codes(&out), vec![200, 487]);
    assert!(matches!(
        events(&mut e)[..],
        [SipEvent::Ended {
            cause: HangupCause::CallerCancelled,
            ..
        }]
    ));
    let tag = out[1].to_tag().unwrap();
    e.handle_input(t0, peer(), &request("ACK", "z9hG4bKc", "c2", Some(&tag), 1));
    e.handle_timeout(t0 + Duration::from_secs(1));
    assert!(
        sent(&mut e).is_empty(),
        "487 not retransmitted after its ACK"
    );
}

#[test]
fn options_limits_and_allowlist() {
    let t0 = Instant::now();
    let mut e = ep(|c| c.max_calls = 1);
    e.handle_input(t0, peer(), &request("OPTIONS", "z9hG4bKo", "o1", None, 1));
    let out = sent(&mut e);
    assert_eq!(codes(&out), vec![200]);
    assert!(out[0].header("allow").unwrap().contains("INVITE"));
    e.handle_input(t0, peer(), &invite("z9hG4bKa", "a1"));
    e.handle_input(t0, peer(), &invite("z9hG4bKb", "b1"));
    assert_eq!(codes(&sent(&mut e)), vec![100, 180, 503]);

    let mut strict = ep(|c| c.allowlist = vec!["10.0.0.0/8".into()]);
    strict.handle_input(t0, peer(), &invite("z9hG4bKd", "d1"));
    assert_eq!(codes(&sent(&mut strict)), vec![403]);
    assert!(events(&mut strict).is_empty());
}

#[test]
fn reject_hold_and_unknown_methods() {
    let t0 = Instant::now();
    let mut e = ep(|_| {});
    e.handle_input(t0, peer(), &invite("z9hG4bKr", "r1"));
    sent(&mut e);
    let SipEvent::Incoming { call, .. } = events(&mut e).remove(0) else {
        panic!()
    };
    assert_eq!(e.reject(t0, call, 200), Err(CallError::BadCode(200)));
    e.reject(t0, call, 603).unwrap();
    assert_eq!(codes(&sent(&mut e)), vec![603]);
    assert_eq!(
        events(&mut e),
        vec![SipEvent::Ended {
            call,
            cause: HangupCause::Rejected(603)
        }]
    );
    e.handle_input(t0, peer(), &request("SUBSCRIBE", "z9hG4bKs", "s1", None, 1));
    assert_eq!(codes(&sent(&mut e)), vec![501]);
}

#[test]
fn outbound_invite_without_answer_times_out_after_timer_b() {
    let t0 = Instant::now();
    let mut e = ep(|c| c.ring_timeout_secs = 120);
    let call = e
        .dial(
            t0,
            &DialRequest {
                to: format!("sip:bob@{PEER}"),
                ..Default::default()
            },
            "127.0.0.1:30002".parse().unwrap(),
        )
        .unwrap();
    let first = sent(&mut e);
    assert_eq!(first[0].method(), Some("INVITE"));
    assert!(first[0].header("contact").is_some());
    let mut retransmits = 0;
    while let Some(t) = e.poll_timeout() {
        e.handle_timeout(t);
        retransmits += sent(&mut e).len();
        if !events(&mut e).is_empty() {
            assert_eq!(t - t0, 64 * T1);
            break;
        }
    }
    assert_eq!(retransmits, 6, "timer A retransmissions before timer B");
    assert_eq!(e.active_calls(), 0);
    let _ = call;
}

#[test]
fn garbage_never_panics_and_is_counted() {
    let t0 = Instant::now();
    let mut e = ep(|c| {
        c.rate_limit_burst = 1_000_000;
        c.rate_limit_per_sec = 1_000_000;
    });
    let good = invite("z9hG4bKg", "g1");
    let mut inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\r\n\r\n".to_vec(),
        b"INVITE".to_vec(),
        b"SIP/2.0 200\r\n\r\n".to_vec(),
        b"INVITE sip:x SIP/2.0\r\nVia: \r\nCSeq: abc\r\n\r\n".to_vec(),
        vec![0xFF; 3000],
        vec![b'A'; MAX_TEST_OVERSIZE],
    ];
    for cut in (0..good.len()).step_by(7) {
        inputs.push(good[..cut].to_vec());
    }
    // bit flips and byte substitutions over a valid INVITE, deterministic
    let mut x: u32 = 12345;
    for _ in 0..3000 {
        let mut m = good.clone();
        for _ in 0..4 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = (x as usize >> 8) % m.len();
            m[i] = (x >> 16) as u8;
        }
        inputs.push(m);
    }
    for (i, d) in inputs.iter().enumerate() {
        e.handle_input(
            t0,
            SocketAddr::from(([10, 0, (i / 250) as u8, (i % 250) as u8], 5060)),
            d,
        );
        while e.poll_transmit().is_some() {}
        while e.poll_event().is_some() {}
    }
    let s = e.stats();
    assert!(s.malformed > 100, "{s:?}");
    assert_eq!(s.oversized, 1);
}

const MAX_TEST_OVERSIZE: usize = super::msg::MAX_DATAGRAM + 1;

#[test]
fn a_flooding_source_is_rate_limited_without_starving_others() {
    let t0 = Instant::now();
    let mut e = ep(|c| {
        c.rate_limit_per_sec = 10;
        c.rate_limit_burst = 20;
    });
    let flooder = SocketAddr::from(([203, 0, 113, 9], 5060));
    for i in 0..500 {
        e.handle_input(
            t0,
            flooder,
            &request("OPTIONS", &format!("z9hG4bKf{i}"), "f", None, 1),
        );
    }
    assert_eq!(codes(&sent(&mut e)).len(), 20, "only the burst is served");
    assert_eq!(e.stats().rate_limited, 480);
    e.handle_input(t0, peer(), &request("OPTIONS", "z9hG4bKok", "ok", None, 1));
    assert_eq!(codes(&sent(&mut e)), vec![200]);
    // refills at the sustained rate
    e.handle_input(
        t0 + Duration::from_millis(200),
        flooder,
        &request("OPTIONS", "z9hG4bKlater", "f", None, 1),
    );
    assert_eq!(codes(&sent(&mut e)), vec![200]);
}

#[test]
fn late_offer_invite_gets_our_offer_and_takes_the_answer_from_the_ack() {
    let t0 = Instant::now();
    let mut e = ep(|_| {});
    let inv = String::from_utf8(invite("z9hG4bKl", "l1")).unwrap();
    let head = inv
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .replace("Content-Type: application/sdp\r\n", "");
    let head: String = head
        .lines()
        .filter(|l| !l.starts_with("Content-Length"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    e.handle_input(
        t0,
        peer(),
        format!("{head}Content-Length: 0\r\n\r\n").as_bytes(),
    );
    let tag = sent(&mut e)[1].to_tag().unwrap();
    let SipEvent::Incoming { call, offer, .. } = events(&mut e).remove(0) else {
        panic!()
    };
    assert!(offer.is_none());
    e.answer(t0, call, "127.0.0.1:30004".parse().unwrap())
        .unwrap();
    let ok = sent(&mut e);
    assert!(
        ok[0].body_str().contains("RTP/AVP 0 8 101"),
        "we offer: {}",
        ok[0].body_str()
    );
    let answer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4010 RTP/AVP 8\r\n";
    let ack = MsgBuilder::request("ACK", "sip:vaarta@127.0.0.1:5060")
        .header("via", &format!("SIP/2.0/UDP {PEER};branch=z9hG4bKla"))
        .header("from", "<sip:+911234@127.0.0.1>;tag=peer1")
        .header("to", &format!("<sip:vaarta@127.0.0.1>;tag={tag}"))
        .header("call-id", "l1")
        .header("cseq", "1 ACK")
        .body("application/sdp", answer.as_bytes())
        .build();
    e.handle_input(t0, peer(), &ack);
    let ev = events(&mut e);
    let [SipEvent::Answered { remote, .. }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(remote.addr, "127.0.0.1:4010".parse().unwrap());
    assert_eq!(remote.codecs, vec![crate::sdp::Codec::Pcma]);
}

#[test]
fn with_a_trunk_only_trunk_addresses_and_the_allowlist_may_call() {
    let t0 = Instant::now();
    let trunk = crate::config::TrunkConfig {
        domain: "192.0.2.50:5060".into(),
        registrar: None,
        outbound_proxy: None,
        username: "u".into(),
        auth_username: None,
        password: "p".into(),
        realm: None,
        caller_id: None,
        register: false,
        expires: 300,
    };
    let mut e = ep(|c| c.trunk = Some(trunk));
    e.handle_input(t0, peer(), &invite("z9hG4bKx1", "x1"));
    assert_eq!(codes(&sent(&mut e)), vec![403], "unknown source is refused");
    e.handle_input(
        t0,
        "192.0.2.50:5060".parse().unwrap(),
        &invite("z9hG4bKx2", "x2"),
    );
    assert_eq!(codes(&sent(&mut e)), vec![100, 180], "the trunk may call");
}

#[test]
fn outbound_early_media_answer_ack_and_bye() {
    let t0 = Instant::now();
    let mut e = ep(|_| {});
    let call = e
        .dial(
            t0,
            &DialRequest {
                to: format!("sip:bob@{PEER}"),
                ..Default::default()
            },
            "127.0.0.1:30006".parse().unwrap(),
        )
        .unwrap();
    let inv = sent(&mut e).remove(0);
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4020 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
    let early = MsgBuilder::response_to(&inv, 183, Some("callee"))
        .header("contact", &format!("<sip:bob@{PEER}>"))
        .body("application/sdp", sdp.as_bytes())
        .build();
    e.handle_input(t0, peer(), &early);
    let ev = events(&mut e);
    let [SipEvent::Ringing { early: Some(m), .. }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(m.addr.port(), 4020);
    let ok = MsgBuilder::response_to(&inv, 200, Some("callee"))
        .header("contact", &format!("<sip:bob@{PEER}>"))
        .body("application/sdp", sdp.as_bytes())
        .build();
    e.handle_input(t0, peer(), &ok);
    let acks = sent(&mut e);
    assert_eq!(acks[0].method(), Some("ACK"));
    assert_ne!(
        acks[0].branch(),
        inv.branch(),
        "ACK for 2xx is a new transaction"
    );
    assert_eq!(acks[0].to_tag().as_deref(), Some("callee"));
    assert!(matches!(events(&mut e)[..], [SipEvent::Answered { .. }]));
    // a retransmitted 200 is ACKed again, without a second Answered
    e.handle_input(t0 + Duration::from_millis(500), peer(), &ok);
    assert_eq!(sent(&mut e)[0].method(), Some("ACK"));
    assert!(events(&mut e).is_empty());
    e.hangup(t0, call).unwrap();
    let bye = sent(&mut e).remove(0);
    assert_eq!(bye.method(), Some("BYE"));
    assert_eq!(bye.cseq().unwrap().0, inv.cseq().unwrap().0 + 1);
    assert_eq!(
        events(&mut e),
        vec![SipEvent::Ended {
            call,
            cause: HangupCause::LocalHangup
        }]
    );
}

#[test]
fn peers_outside_the_allowlist_authenticate_with_digest() {
    let t0 = Instant::now();
    let mut e = ep(|c| {
        c.allowlist = vec!["10.0.0.0/8".into()];
        c.peers = vec![crate::config::PeerAccount {
            username: "agent7".into(),
            password: "pw7".into(),
        }];
    });
    e.handle_input(t0, peer(), &invite("z9hG4bKp1", "p1"));
    let out = sent(&mut e);
    assert_eq!(codes(&out), vec![407]);
    let chal = super::super::digest::Challenge::parse(out[0].header("proxy-authenticate").unwrap())
        .unwrap();
    let with_auth = |password: &str, branch: &str| {
        let auth = chal
            .authorize("INVITE", "sip:vaarta@127.0.0.1:5060", "agent7", password, 1)
            .unwrap();
        let text = String::from_utf8(invite(branch, "p1")).unwrap();
        text.replacen(
            "Max-Forwards: 70\r\n",
            &format!("Max-Forwards: 70\r\nProxy-Authorization: {auth}\r\n"),
            1,
        )
        .into_bytes()
    };
    e.handle_input(t0, peer(), &with_auth("wrong", "z9hG4bKp2"));
    assert_eq!(codes(&sent(&mut e)), vec![407]);
    e.handle_input(t0, peer(), &with_auth("pw7", "z9hG4bKp3"));
    assert_eq!(codes(&sent(&mut e)), vec![100, 180]);
    assert!(matches!(events(&mut e)[..], [SipEvent::Incoming { .. }]));
}

#[test]
fn an_invalid_contact_is_refused_and_bad_dial_input_is_an_error() {
    // found by the fuzzer: a Contact that is no URI used to become the Request-URI of our BYE
    let t0 = Instant::now();
    let mut e = ep(|_| {});
    let text = String::from_utf8(invite("z9hG4bKbad", "bad1"))
        .unwrap()
        .replace(&format!("<sip:peer@{PEER}>"), "<sip:p@127.0.0:17.005>");
    e.handle_input(t0, peer(), text.as_bytes());
    assert_eq!(codes(&sent(&mut e)), vec![400]);
    let r = e.dial(
        t0,
        &DialRequest {
            to: "sip:a@127.0.0.1\r\nX: y".into(),
            ..Default::default()
        },
        "127.0.0.1:1".parse().unwrap(),
    );
    assert!(matches!(r, Err(CallError::InvalidRequest(_))));
    let r = e.dial(
        t0,
        &DialRequest {
            to: "sip:a@127.0.0.1:5070".into(),
            headers: vec![("X-A".into(), "1\r\nEvil: 2".into())],
            ..Default::default()
        },
        "127.0.0.1:1".parse().unwrap(),
    );
    assert!(matches!(r, Err(CallError::InvalidRequest(_))));
}
