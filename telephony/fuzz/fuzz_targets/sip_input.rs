//! Every datagram path a remote peer can reach: SIP parsing, the endpoint state machine (with
//! an answered call so in-dialog handling runs too), and RTP parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};
use vaarta_telephony::TelephonyConfig;
use vaarta_telephony::rtp::packet::RtpPacket;
use vaarta_telephony::rtp::session::MediaSession;
use vaarta_telephony::sip::endpoint::{Endpoint, SipEvent};

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut cfg = TelephonyConfig::default();
    cfg.rate_limit_burst = u32::MAX;
    let mut ep = Endpoint::new(cfg, "127.0.0.1:5060".parse().unwrap(), "127.0.0.1".parse().unwrap());
    let from = "127.0.0.1:5070".parse().unwrap();
    // split the input into several datagrams so sequences of messages are explored
    for (i, chunk) in data.split(|b| *b == 0).enumerate() {
        let now = t0 + Duration::from_millis(i as u64 * 300);
        ep.handle_input(now, from, chunk);
        while let Some(ev) = ep.poll_event() {
            if let SipEvent::Incoming { call, .. } = ev {
                let _ = ep.answer(now, call, "127.0.0.1:30000".parse().unwrap());
            }
        }
        while ep.poll_transmit().is_some() {}
        ep.handle_timeout(now);
    }
    let _ = RtpPacket::parse(data);
    let mut media = MediaSession::new(t0);
    media.handle_input(t0, from, data);
});
