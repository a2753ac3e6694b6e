//! The real UDP shell under bad input and resource limits.

mod common;
use common::*;
use std::time::Duration;
use tokio::net::UdpSocket;
use vaarta_telephony::Event;
use vaarta_telephony::sip::msg::{MsgBuilder, SipMsg};

fn invite(peer: std::net::SocketAddr, target: std::net::SocketAddr, n: u32) -> Vec<u8> {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    MsgBuilder::request("INVITE", &format!("sip:vaarta@{target}"))
        .header("via", &format!("SIP/2.0/UDP {peer};branch=z9hG4bKrob{n}"))
        .header("max-forwards", "70")
        .header("from", &format!("<sip:t@{peer}>;tag=f{n}"))
        .header("to", &format!("<sip:vaarta@{target}>"))
        .header("call-id", &format!("rob-{n}"))
        .header("cseq", "1 INVITE")
        .header("contact", &format!("<sip:t@{peer}>"))
        .body("application/sdp", sdp.as_bytes())
        .build()
}

async fn responses(sock: &UdpSocket, secs: u64) -> Vec<SipMsg> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(Ok((n, _))) =
        tokio::time::timeout(Duration::from_millis(secs * 1000), sock.recv_from(&mut buf)).await
    {
        out.push(SipMsg::parse(&buf[..n]).expect("valid SIP from Vaarta"));
    }
    out
}

#[tokio::test]
async fn garbage_is_counted_and_dropped_and_service_continues() {
    let (tel, _ev) = start_vaarta(|_| {}).await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = tel.local_addr();
    for d in [
        &b"\x00\x01garbage"[..],
        b"INVITE sip:x SIP/2.0\r\n\r\n",
        &vec![b'X'; 20_000],
        b"SIP/2.0 999\r\n",
    ] {
        sock.send_to(d, target).await.unwrap();
    }
    let opts = MsgBuilder::request("OPTIONS", &format!("sip:vaarta@{target}"))
        .header(
            "via",
            &format!(
                "SIP/2.0/UDP {};branch=z9hG4bKopt",
                sock.local_addr().unwrap()
            ),
        )
        .header("from", "<sip:t@127.0.0.1>;tag=1")
        .header("to", "<sip:vaarta@127.0.0.1>")
        .header("call-id", "opt-1")
        .header("cseq", "1 OPTIONS")
        .build();
    sock.send_to(&opts, target).await.unwrap();
    let r = responses(&sock, 2).await;
    assert_eq!(
        r.iter().filter_map(|m| m.code()).collect::<Vec<_>>(),
        vec![200]
    );
    let s = tel.stats().await.unwrap().sip;
    assert_eq!(s.malformed, 3, "{s:?}");
    assert_eq!(s.oversized, 1, "{s:?}");
}

#[tokio::test]
async fn rtp_port_range_is_respected_and_exhaustion_answers_503() {
    let base = 31000 + (std::process::id() % 500) as u16 * 4;
    let (tel, mut ev) = start_vaarta(|c| {
        c.rtp_port_min = base;
        c.rtp_port_max = base + 2; // two even ports: two calls
    })
    .await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = sock.local_addr().unwrap();
    for n in 0..3 {
        sock.send_to(&invite(me, tel.local_addr(), n), tel.local_addr())
            .await
            .unwrap();
    }
    let codes: Vec<(String, u16)> = responses(&sock, 2)
        .await
        .iter()
        .filter_map(|m| Some((m.call_id().to_string(), m.code()?)))
        .collect();
    assert!(
        codes.contains(&("rob-0".into(), 180)) && codes.contains(&("rob-1".into(), 180)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("rob-2".into(), 503)),
        "third call has no RTP port: {codes:?}"
    );
    let first = next_event(&mut ev, 5, |e| {
        if let Event::Incoming(c) = e {
            Some(c.call)
        } else {
            None
        }
    })
    .await;
    tel.answer(first).await.unwrap();
    let ok = responses(&sock, 1)
        .await
        .into_iter()
        .find(|m| m.code() == Some(200))
        .expect("200 OK");
    let port: u16 = ok
        .body_str()
        .lines()
        .find(|l| l.starts_with("m=audio"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        port == base || port == base + 2,
        "RTP port {port} outside {base}-{}",
        base + 2
    );
}
