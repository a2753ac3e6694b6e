//! Sans-IO RTP media session for one call leg: a 20 ms pacer driven by a monotonic clock
//! (deadline = start + n·20 ms, so it never drifts), G.711 encode/decode, RFC 4733 DTMF in
//! both directions, a jitter buffer, symmetric RTP with stray-source filtering.

use super::dtmf::{DtmfDetector, DtmfEvent, digit_to_event};
use super::g711;
use super::jitter::{JitterBuffer, Playout};
use super::packet::RtpPacket;
use crate::sdp::Codec;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Samples per 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Packetisation interval.
pub const PTIME: Duration = Duration::from_millis(20);

/// One 20 ms frame of 8 kHz mono PCM.
pub type Frame = [i16; FRAME_SAMPLES];

/// What the session reports to its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// A decoded (or concealed) 20 ms frame from the peer.
    Audio(Box<Frame>),
    /// A DTMF digit received by RFC 4733.
    Dtmf(char),
    /// The play queue ran empty (a prompt finished).
    PlayoutDrained,
}

/// Histogram of |actual send interval − 20 ms| in 100 µs buckets (last bucket: ≥ 25.5 ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterHistogram(pub [u32; 256]);

impl Default for JitterHistogram {
    fn default() -> Self {
        JitterHistogram([0; 256])
    }
}

impl JitterHistogram {
    pub fn record(&mut self, deviation: Duration) {
        let b = (deviation.as_micros() / 100).min(255) as usize;
        self.0[b] += 1;
    }
    pub fn merge(&mut self, other: &JitterHistogram) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }
    pub fn count(&self) -> u64 {
        self.0.iter().map(|c| *c as u64).sum()
    }
    /// Upper edge of the bucket holding quantile `q` (0..1), in microseconds.
    pub fn quantile_us(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let target = (q * total as f64).ceil().max(1.0) as u64;
        let mut acc = 0;
        for (i, c) in self.0.iter().enumerate() {
            acc += *c as u64;
            if acc >= target {
                return (i as u64 + 1) * 100;
            }
        }
        25_600
    }
}

/// Counters for diagnostics and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// How far apart our packets really left, versus the 20 ms ideal.
    pub send_jitter: JitterHistogram,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub late: u64,
    pub stray: u64,
    pub malformed: u64,
    /// Ticks skipped because the owner woke up more than 3 frames late.
    pub skipped_ticks: u64,
}

/// Negotiated parameters of the remote side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMedia {
    pub addr: SocketAddr,
    pub codec: Codec,
    pub dtmf_pt: Option<u8>,
    /// false while the peer holds the call (we keep the clock but stop sending).
    pub send: bool,
}

struct DtmfSend {
    event: u8,
    start_ts: u32,
    ticks: u32,
}

const DTMF_TICKS: u32 = 5; // 100 ms tone
const DTMF_GAP_TICKS: u32 = 3;

/// RTP session state machine.
pub struct MediaSession {
    ssrc: u32,
    seq: u16,
    ts: u32,
    start: Instant,
    ticks: u64,
    remote: Option<RemoteMedia>,
    latched: bool,
    latch_any: bool,
    remote_ssrc: Option<u32>,
    play: VecDeque<Frame>,
    was_playing: bool,
    dtmf_queue: VecDeque<char>,
    dtmf_send: Option<DtmfSend>,
    dtmf_gap: u32,
    marker_next: bool,
    jitter: JitterBuffer,
    detector: DtmfDetector,
    out: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<MediaEvent>,
    stats: MediaStats,
    scratch: Vec<u8>,
    last_send: Option<Instant>,
}

impl MediaSession {
    /// A session whose clock starts at `now`.
    pub fn new(now: Instant) -> Self {
        use rand::Rng;
        let mut r = rand::rng();
        MediaSession {
            ssrc: r.random(),
            seq: r.random(),
            ts: r.random(),
            start: now,
            ticks: 0,
            remote: None,
            latched: false,
            latch_any: true,
            remote_ssrc: None,
            play: VecDeque::new(),
            was_playing: false,
            dtmf_queue: VecDeque::new(),
            dtmf_send: None,
            dtmf_gap: 0,
            marker_next: true,
            jitter: JitterBuffer::new(3),
            detector: DtmfDetector::default(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: MediaStats::default(),
            scratch: Vec::with_capacity(200),
            last_send: None,
        }
    }

    /// Only latch to a source on the signalled IP (stricter; breaks peers behind NAT).
    pub fn set_strict_source(&mut self, strict: bool) {
        self.latch_any = !strict;
    }

    /// Set or change (re-INVITE) the remote side.
    pub fn set_remote(&mut self, remote: RemoteMedia) {
        if self.remote.as_ref().map(|r| r.addr) != Some(remote.addr) {
            self.latched = false;
            self.remote_ssrc = None;
            self.jitter.reset();
        }
        self.remote = Some(remote);
    }

    pub fn remote(&self) -> Option<&RemoteMedia> {
        self.remote.as_ref()
    }

    /// Queue frames to play after what is already queued.
    pub fn play(&mut self, frames: impl IntoIterator<Item = Frame>) {
        self.play.extend(frames);
    }

    /// Drop queued audio (barge-in).
    pub fn clear_playback(&mut self) {
        self.play.clear();
    }

    /// Frames still waiting to be sent.
    pub fn queued_frames(&self) -> usize {
        self.play.len()
    }

    /// Queue DTMF digits to send as RFC 4733 events (invalid characters are skipped).
    pub fn send_dtmf(&mut self, digits: &str) {
        self.dtmf_queue
            .extend(digits.chars().filter(|c| digit_to_event(*c).is_some()));
    }

    pub fn stats(&self) -> &MediaStats {
        &self.stats
    }

    /// When the next frame is due.
    pub fn poll_timeout(&self) -> Instant {
        self.start + PTIME * (self.ticks as u32)
    }

    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// Run every frame that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = 0;
        while self.poll_timeout() <= now {
            due += 1;
            if due > 3 {
                // woke up far too late: keep timestamps true to wall time, do not burst
                self.ticks += 1;
                self.ts = self.ts.wrapping_add(FRAME_SAMPLES as u32);
                self.stats.skipped_ticks += 1;
                continue;
            }
            self.tick(now);
            self.ticks += 1;
        }
    }

    fn tick(&mut self, now: Instant) {
        let sent_before = self.stats.sent;
        self.send_tick();
        if self.stats.sent > sent_before {
            if let Some(prev) = self.last_send
                && let Some(step) = now.checked_duration_since(prev)
            {
                let dev = step.abs_diff(PTIME);
                self.stats.send_jitter.record(dev);
            }
            self.last_send = Some(now);
        }
        match self.jitter.pop() {
            Playout::Nothing => {}
            Playout::Packet(samples) => {
                let mut f = [0i16; FRAME_SAMPLES];
                let n = samples.len().min(FRAME_SAMPLES);
                f[..n].copy_from_slice(&samples[..n]);
                self.events.push_back(MediaEvent::Audio(Box::new(f)));
            }
            Playout::Lost => {
                self.stats.lost += 1;
                self.events
                    .push_back(MediaEvent::Audio(Box::new([0; FRAME_SAMPLES])));
            }
        }
        self.stats.late = self.jitter.late;
    }

    fn send_tick(&mut self) {
        let ts = self.ts;
        self.ts = self.ts.wrapping_add(FRAME_SAMPLES as u32);
        let Some(remote) = self.remote.clone() else {
            return;
        };
        if !remote.send {
            return;
        }
        // DTMF has priority over audio; the audio queue waits while a digit plays.
        if self.dtmf_send.is_none()
            && self.dtmf_gap == 0
            && remote.dtmf_pt.is_some()
            && let Some(d) = self.dtmf_queue.pop_front()
        {
            self.dtmf_send = Some(DtmfSend {
                event: digit_to_event(d).unwrap_or(0),
                start_ts: ts,
                ticks: 0,
            });
            self.marker_next = true;
        }
        if let (Some(ds), Some(pt)) = (self.dtmf_send.as_mut(), remote.dtmf_pt) {
            ds.ticks += 1;
            let end = ds.ticks >= DTMF_TICKS;
            let ev = DtmfEvent {
                event: ds.event,
                end,
                volume: 10,
                duration: (ds.ticks * FRAME_SAMPLES as u32) as u16,
            };
            let payload = ev.to_bytes();
            let start_ts = ds.start_ts;
            let reps = if end { 3 } else { 1 };
            for _ in 0..reps {
                self.emit(pt, start_ts, &payload);
            }
            if end {
                self.dtmf_send = None;
                self.dtmf_gap = DTMF_GAP_TICKS;
            }
            return;
        }
        if self.dtmf_gap > 0 {
            self.dtmf_gap -= 1;
        }
        let frame = self.play.pop_front();
        if frame.is_none() && self.was_playing {
            self.events.push_back(MediaEvent::PlayoutDrained);
        }
        self.was_playing = frame.is_some();
        let frame = frame.unwrap_or([0; FRAME_SAMPLES]);
        let mut payload = [0u8; FRAME_SAMPLES];
        match remote.codec {
            Codec::Pcmu => frame
                .iter()
                .zip(payload.iter_mut())
                .for_each(|(s, p)| *p = g711::linear_to_ulaw(*s)),
            Codec::Pcma => frame
                .iter()
                .zip(payload.iter_mut())
                .for_each(|(s, p)| *p = g711::linear_to_alaw(*s)),
        }
        self.emit(remote.codec.payload_type(), ts, &payload);
    }

    fn emit(&mut self, pt: u8, ts: u32, payload: &[u8]) {
        let Some(addr) = self.remote.as_ref().map(|r| r.addr) else {
            return;
        };
        let pkt = RtpPacket {
            marker: self.marker_next,
            payload_type: pt,
            seq: self.seq,
            timestamp: ts,
            ssrc: self.ssrc,
            payload,
        };
        self.marker_next = false;
        self.seq = self.seq.wrapping_add(1);
        pkt.write(&mut self.scratch);
        self.out.push_back((addr, self.scratch.clone()));
        self.stats.sent += 1;
    }

    /// Feed one received datagram.
    pub fn handle_input(&mut self, _now: Instant, from: SocketAddr, bytes: &[u8]) {
        let Some(remote) = self.remote.as_ref() else {
            self.stats.stray += 1;
            return;
        };
        // Symmetric RTP (comedia): before anything arrived, latch to the first source — the
        // peer is often behind NAT or advertises another interface than it sends from. After
        // latching, every other source is a stray and ignored.
        if from != remote.addr {
            if !self.latched && (self.latch_any || from.ip() == remote.addr.ip()) {
                let mut r = remote.clone();
                r.addr = from;
                self.remote = Some(r);
            } else {
                self.stats.stray += 1;
                return;
            }
        }
        self.latched = true;
        let Some(pkt) = RtpPacket::parse(bytes) else {
            self.stats.malformed += 1;
            return;
        };
        let remote = self.remote.as_ref().expect("set above");
        if self.remote_ssrc != Some(pkt.ssrc) {
            if self.remote_ssrc.is_some() {
                self.jitter.reset();
            }
            self.remote_ssrc = Some(pkt.ssrc);
        }
        self.stats.received += 1;
        if Some(pkt.payload_type) == remote.dtmf_pt {
            if let Some(d) = self.detector.feed(pkt.timestamp, pkt.payload) {
                self.events.push_back(MediaEvent::Dtmf(d));
            }
            return;
        }
        let samples: Vec<i16> = match pkt.payload_type {
            0 => pkt
                .payload
                .iter()
                .map(|b| g711::ulaw_to_linear(*b))
                .collect(),
            8 => pkt
                .payload
                .iter()
                .map(|b| g711::alaw_to_linear(*b))
                .collect(),
            13 => return, // comfort noise: nothing to decode, concealment plays silence
            _ => {
                self.stats.malformed += 1;
                return;
            }
        };
        self.jitter.push(pkt.seq, samples);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(port: u16) -> RemoteMedia {
        RemoteMedia {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            codec: Codec::Pcmu,
            dtmf_pt: Some(101),
            send: true,
        }
    }

    #[test]
    fn paces_without_drift_and_keeps_sequence_continuous_across_prompts() {
        let t0 = Instant::now();
        let mut s = MediaSession::new(t0);
        s.set_remote(remote(4000));
        s.play(vec![[1000i16; FRAME_SAMPLES]; 3]);
        let mut pkts = Vec::new();
        // 10 minutes of 20 ms ticks with a fake clock that wakes 1 ms late each time
        for n in 0..30_000u32 {
            let now = t0 + PTIME * n + Duration::from_millis(1);
            s.handle_timeout(now);
            assert!(s.poll_timeout() > now);
            while let Some((_, p)) = s.poll_transmit() {
                pkts.push(p);
            }
            if n == 100 {
                s.play(vec![[2000i16; FRAME_SAMPLES]; 2]);
            }
        }
        assert_eq!(
            pkts.len(),
            30_000,
            "exactly one packet per 20 ms over 10 minutes"
        );
        assert_eq!(
            s.poll_timeout(),
            t0 + PTIME * 30_000,
            "deadline is start + n*20ms"
        );
        for w in pkts.windows(2) {
            let (a, b) = (
                RtpPacket::parse(&w[0]).unwrap(),
                RtpPacket::parse(&w[1]).unwrap(),
            );
            assert_eq!(b.seq, a.seq.wrapping_add(1));
            assert_eq!(b.timestamp, a.timestamp.wrapping_add(160));
        }
        // prompt, then silence (µ-law 0xFF), then the second prompt
        let p0 = RtpPacket::parse(&pkts[0]).unwrap();
        assert_eq!(p0.payload[0], g711::linear_to_ulaw(1000));
        assert!(p0.marker);
        assert_eq!(RtpPacket::parse(&pkts[50]).unwrap().payload[0], 0xFF);
        assert_eq!(
            RtpPacket::parse(&pkts[101]).unwrap().payload[0],
            g711::linear_to_ulaw(2000)
        );
    }

    #[test]
    fn receives_audio_and_dtmf_and_ignores_strays() {
        let t0 = Instant::now();
        let mut s = MediaSession::new(t0);
        s.set_remote(remote(4000));
        let peer = SocketAddr::from(([127, 0, 0, 1], 4000));
        let stranger = SocketAddr::from(([10, 0, 0, 9], 4000));
        // the signalled peer speaks first, so it is latched and the stranger is a stray
        let mut buf = Vec::new();
        for i in 0..5u16 {
            let payload = [g711::linear_to_ulaw(3000); 160];
            RtpPacket {
                marker: false,
                payload_type: 0,
                seq: i,
                timestamp: i as u32 * 160,
                ssrc: 9,
                payload: &payload,
            }
            .write(&mut buf);
            s.handle_input(t0, peer, &buf);
            s.handle_input(t0, stranger, &buf);
        }
        let ev = DtmfEvent {
            event: 1,
            end: true,
            volume: 10,
            duration: 800,
        }
        .to_bytes();
        RtpPacket {
            marker: false,
            payload_type: 101,
            seq: 5,
            timestamp: 800,
            ssrc: 9,
            payload: &ev,
        }
        .write(&mut buf);
        s.handle_input(t0, peer, &buf);
        s.handle_input(t0, peer, &buf);
        assert_eq!(s.stats().stray, 5);
        for n in 0..5u32 {
            s.handle_timeout(t0 + PTIME * n);
        }
        let evs: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        assert_eq!(
            evs.iter()
                .filter(|e| matches!(e, MediaEvent::Dtmf('1')))
                .count(),
            1
        );
        let audio: Vec<_> = evs
            .iter()
            .filter_map(|e| {
                if let MediaEvent::Audio(f) = e {
                    Some(f)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(audio.len(), 5);
        assert!(audio.iter().all(|f| (f[0] - 3000).abs() < 200));
    }

    #[test]
    fn latches_to_first_source_then_ignores_others() {
        let t0 = Instant::now();
        let mut s = MediaSession::new(t0);
        s.set_remote(remote(4000));
        let natted = SocketAddr::from(([198, 51, 100, 7], 61000));
        let mut buf = Vec::new();
        RtpPacket {
            marker: false,
            payload_type: 0,
            seq: 1,
            timestamp: 0,
            ssrc: 1,
            payload: &[0xFF; 160],
        }
        .write(&mut buf);
        s.handle_input(t0, natted, &buf);
        s.handle_input(t0, SocketAddr::from(([127, 0, 0, 1], 4000)), &buf);
        assert_eq!(s.stats().received, 1);
        assert_eq!(s.stats().stray, 1);
        assert_eq!(
            s.remote().unwrap().addr,
            natted,
            "we now send where the peer sends from"
        );

        let mut strict = MediaSession::new(t0);
        strict.set_strict_source(true);
        strict.set_remote(remote(4000));
        strict.handle_input(t0, natted, &buf);
        assert_eq!(strict.stats().stray, 1);
    }

    #[test]
    fn sends_rfc4733_digits_with_end_packets() {
        let t0 = Instant::now();
        let mut s = MediaSession::new(t0);
        s.set_remote(remote(4000));
        s.send_dtmf("7x");
        let mut events = Vec::new();
        for n in 0..12u32 {
            s.handle_timeout(t0 + PTIME * n);
            while let Some((_, p)) = s.poll_transmit() {
                let p = RtpPacket::parse(&p).unwrap();
                if p.payload_type == 101 {
                    events.push(DtmfEvent::parse(p.payload).unwrap());
                }
            }
        }
        assert_eq!(events.len(), 4 + 3);
        assert!(events.iter().all(|e| e.event == 7));
        assert_eq!(events.iter().filter(|e| e.end).count(), 3);
    }
}
