//! REGISTER and outbound INVITE against a challenging test registrar/trunk (pjsua2 cannot act
//! as a registrar): digest 401/407, refresh before expiry, backoff after failures.

mod common;
use common::*;
use std::time::Duration;
use tokio::net::UdpSocket;
use vaarta_telephony::sip::digest;
use vaarta_telephony::sip::msg::{MsgBuilder, SipMsg};
use vaarta_telephony::{DialRequest, Event, HangupCause, RegistrationState, TrunkConfig};

const PASSWORD: &str = "s3cret-Pa55";

fn trunk(addr: std::net::SocketAddr, password: &str) -> TrunkConfig {
    TrunkConfig {
        domain: addr.to_string(),
        registrar: None,
        outbound_proxy: None,
        username: "9180001000".into(),
        auth_username: None,
        password: password.into(),
        realm: None,
        caller_id: Some("+918000100099".into()),
        register: true,
        expires: 2,
    }
}

async fn recv(sock: &UdpSocket) -> (SipMsg, std::net::SocketAddr) {
    let mut buf = vec![0u8; 65536];
    let (n, from) = tokio::time::timeout(Duration::from_secs(10), sock.recv_from(&mut buf))
        .await
        .expect("request in time")
        .unwrap();
    (
        SipMsg::parse(&buf[..n]).expect("Vaarta sends valid SIP"),
        from,
    )
}

async fn next_method(sock: &UdpSocket, method: &str) -> (SipMsg, std::net::SocketAddr) {
    loop {
        let (m, from) = recv(sock).await;
        if m.method() == Some(method) {
            return (m, from);
        }
    }
}

async fn reply(sock: &UdpSocket, to: std::net::SocketAddr, b: MsgBuilder) {
    sock.send_to(&b.build(), to).await.unwrap();
}

#[tokio::test]
async fn register_digest_refresh_and_backoff() {
    let registrar = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let raddr = registrar.local_addr().unwrap();
    let (_tel, mut ev) = start_vaarta(|c| c.trunk = Some(trunk(raddr, PASSWORD))).await;

    // 1. unauthenticated REGISTER is challenged
    let (m, from) = next_method(&registrar, "REGISTER").await;
    assert!(m.header("authorization").is_none());
    let chal = "Digest realm=\"test-trunk\", nonce=\"f00dcafe\", qop=\"auth\", algorithm=MD5";
    reply(
        &registrar,
        from,
        MsgBuilder::response_to(&m, 401, Some("r1")).header("www-authenticate", chal),
    )
    .await;

    // 2. the retry carries a valid digest with a higher CSeq and the same Call-ID
    let (m2, from) = next_method(&registrar, "REGISTER").await;
    let auth = m2.header("authorization").expect("Authorization on retry");
    assert!(
        digest::verify(auth, "REGISTER", PASSWORD),
        "digest must verify: {auth}"
    );
    assert!(!digest::verify(auth, "REGISTER", "wrong"));
    assert_eq!(m2.call_id(), m.call_id());
    assert!(m2.cseq().unwrap().0 > m.cseq().unwrap().0);
    let contact = format!(
        "{};expires=2",
        m2.header("contact").unwrap().split(';').next().unwrap()
    );
    reply(
        &registrar,
        from,
        MsgBuilder::response_to(&m2, 200, Some("r1")).header("contact", &contact),
    )
    .await;
    let st = next_event(&mut ev, 5, |e| {
        if let Event::Registration(s) = e {
            Some(s.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(st, RegistrationState::Registered { expires_secs: 2 });

    // 3. refreshed before the 2 s expiry
    let t = tokio::time::Instant::now();
    let (m3, from) = next_method(&registrar, "REGISTER").await;
    assert!(
        t.elapsed() < Duration::from_millis(1900),
        "refresh came after expiry: {:?}",
        t.elapsed()
    );
    reply(
        &registrar,
        from,
        MsgBuilder::response_to(&m3, 503, Some("r1")),
    )
    .await;
    let st = next_event(&mut ev, 5, |e| {
        if let Event::Registration(s) = e {
            Some(s.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(
        st,
        RegistrationState::Failed {
            code: 503,
            retry_in_secs: 2
        }
    );

    // 4. retried after the backoff, and a second failure backs off longer
    let t = tokio::time::Instant::now();
    let (m4, from) = next_method(&registrar, "REGISTER").await;
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "retried too early: {:?}",
        t.elapsed()
    );
    reply(
        &registrar,
        from,
        MsgBuilder::response_to(&m4, 500, Some("r1")),
    )
    .await;
    let st = next_event(&mut ev, 5, |e| {
        if let Event::Registration(s) = e {
            Some(s.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(
        st,
        RegistrationState::Failed {
            code: 500,
            retry_in_secs: 4
        }
    );
}

#[tokio::test]
async fn wrong_password_is_reported_not_looped() {
    let registrar = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let raddr = registrar.local_addr().unwrap();
    let (_tel, mut ev) = start_vaarta(|c| c.trunk = Some(trunk(raddr, "not-the-password"))).await;
    let chal = "Digest realm=\"test-trunk\", nonce=\"n2\", algorithm=MD5";
    for _ in 0..2 {
        let (m, from) = next_method(&registrar, "REGISTER").await;
        let ok = m
            .header("authorization")
            .is_some_and(|a| digest::verify(a, "REGISTER", PASSWORD));
        assert!(!ok);
        reply(
            &registrar,
            from,
            MsgBuilder::response_to(&m, 401, Some("r1")).header("www-authenticate", chal),
        )
        .await;
    }
    let st = next_event(&mut ev, 5, |e| {
        if let Event::Registration(s) = e {
            Some(s.clone())
        } else {
            None
        }
    })
    .await;
    assert!(
        matches!(st, RegistrationState::Failed { code: 401, .. }),
        "{st:?}"
    );
}

#[tokio::test]
async fn outbound_invite_answers_proxy_challenge() {
    let trunk_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let taddr = trunk_sock.local_addr().unwrap();
    let mut t = trunk(taddr, PASSWORD);
    t.register = false;
    let (tel, mut ev) = start_vaarta(|c| c.trunk = Some(t)).await;
    let out = tel
        .dial(DialRequest {
            to: "+919876543210".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let (inv, from) = next_method(&trunk_sock, "INVITE").await;
    assert_eq!(
        vaarta_telephony::sip::msg::uri_user(&vaarta_telephony::sip::msg::addr_uri(
            inv.header("from").unwrap()
        )),
        "+918000100099",
        "caller id"
    );
    assert!(
        inv.body_str().contains("RTP/AVP 0 8 101"),
        "offer: {}",
        inv.body_str()
    );
    let chal = "Digest realm=\"test-trunk\", nonce=\"abc\", qop=\"auth\"";
    reply(
        &trunk_sock,
        from,
        MsgBuilder::response_to(&inv, 407, Some("t1")).header("proxy-authenticate", chal),
    )
    .await;
    let (ack, _) = next_method(&trunk_sock, "ACK").await;
    assert_eq!(
        ack.branch(),
        inv.branch(),
        "ACK for a non-2xx reuses the INVITE branch"
    );

    let (inv2, from) = next_method(&trunk_sock, "INVITE").await;
    let auth = inv2
        .header("proxy-authorization")
        .expect("Proxy-Authorization");
    assert!(digest::verify(auth, "INVITE", PASSWORD), "{auth}");
    assert_eq!(inv2.call_id(), inv.call_id());
    assert_eq!(inv2.cseq().unwrap().0, inv.cseq().unwrap().0 + 1);
    reply(
        &trunk_sock,
        from,
        MsgBuilder::response_to(&inv2, 486, Some("t2")),
    )
    .await;
    let cause = next_event(&mut ev, 5, |e| {
        if let Event::Hangup { call, cause } = e {
            (*call == out.call).then(|| cause.clone())
        } else {
            None
        }
    })
    .await;
    assert_eq!(cause, HangupCause::Busy);
}
