//! Tokio shell: one task runs the SIP [`Endpoint`] on a UDP socket, one task per call runs its
//! [`MediaSession`] on an RTP socket from the configured port range. The rest of Vaarta talks
//! to it through the cloneable [`Telephony`] handle and the [`Event`] receiver.

use crate::config::TelephonyConfig;
use crate::rtp::session::{Frame, MediaEvent, MediaSession, MediaStats, RemoteMedia};
use crate::sdp::MediaDesc;
use crate::sip::endpoint::{
    CallError, CallId, DialRequest, Endpoint, EndpointStats, HangupCause, RegistrationState,
    SipEvent, TransferResult,
};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

/// Decoded audio from the peer: 20 ms frames of 8 kHz i16 PCM.
pub type AudioReceiver = mpsc::Receiver<Frame>;

/// Events for the orchestrator.
#[derive(Debug)]
pub enum Event {
    /// A call arrived and is ringing; answer or reject it. `audio` yields the caller's audio
    /// once answered.
    Incoming(IncomingCall),
    /// Outbound call is ringing (180/183).
    Ringing {
        call: CallId,
    },
    /// The call is connected (inbound after ACK, outbound on 200 OK).
    Answered {
        call: CallId,
    },
    /// The peer put the call on hold (`true`) or resumed it.
    Hold {
        call: CallId,
        on_hold: bool,
    },
    /// A DTMF digit (RFC 4733 or SIP INFO).
    Dtmf {
        call: CallId,
        digit: char,
    },
    /// Everything queued with `play` has been sent.
    PlayoutDrained {
        call: CallId,
    },
    /// The call is over; its audio stream ends too.
    Hangup {
        call: CallId,
        cause: HangupCause,
    },
    /// Outcome of `transfer`.
    Transfer {
        call: CallId,
        result: TransferResult,
    },
    Registration(RegistrationState),
}

/// An inbound call offered to the application.
#[derive(Debug)]
pub struct IncomingCall {
    pub call: CallId,
    /// Caller (From URI) and its user part (usually the number).
    pub from: String,
    pub caller: String,
    /// Callee (To URI) and its user part (the DID dialled).
    pub to: String,
    pub callee: String,
    /// All SIP headers of the INVITE (lower-case names), e.g. for X- headers from the trunk.
    pub headers: Vec<(String, String)>,
    pub source: SocketAddr,
    pub audio: AudioReceiver,
}

/// An outbound call being placed; watch events for `Answered` or `Hangup`.
#[derive(Debug)]
pub struct OutgoingCall {
    pub call: CallId,
    pub audio: AudioReceiver,
}

/// Errors from the handle.
#[derive(Debug, thiserror::Error)]
pub enum TelephonyError {
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("no free RTP port in {0}-{1}")]
    NoRtpPort(u16, u16),
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("telephony task stopped")]
    Stopped,
}

/// Counters for metrics.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub sip: EndpointStats,
    pub active_calls: usize,
}

enum Command {
    Answer(CallId, oneshot::Sender<Result<(), TelephonyError>>),
    Reject(CallId, u16, oneshot::Sender<Result<(), TelephonyError>>),
    Hangup(CallId, oneshot::Sender<Result<(), TelephonyError>>),
    Transfer(CallId, String, oneshot::Sender<Result<(), TelephonyError>>),
    Dial(
        DialRequest,
        oneshot::Sender<Result<OutgoingCall, TelephonyError>>,
    ),
    Media(CallId, MediaCommand),
    Bridge(CallId, CallId, oneshot::Sender<Result<(), TelephonyError>>),
    Register,
    Stats(oneshot::Sender<Stats>),
    Shutdown,
}

enum MediaCommand {
    Play(Vec<Frame>),
    Clear,
    Dtmf(String),
    Remote(RemoteMedia),
    /// Send decoded audio to another call's play queue instead of the audio receiver.
    Forward(mpsc::Sender<MediaCommand>),
    Stop,
    Stats(oneshot::Sender<MediaStats>),
}

/// Handle to the running telephony node. Cheap to clone.
#[derive(Clone)]
pub struct Telephony {
    cmd: mpsc::Sender<Command>,
    local: SocketAddr,
}

impl Telephony {
    /// Bind the SIP socket and start the node. Registration starts when a trunk is configured.
    pub async fn start(
        cfg: TelephonyConfig,
    ) -> Result<(Telephony, mpsc::Receiver<Event>), TelephonyError> {
        let sock = UdpSocket::bind(cfg.bind).await?;
        let local = sock.local_addr()?;
        let advertised = cfg
            .external_ip
            .unwrap_or_else(|| guess_local_ip(local.ip()));
        let (cmd_tx, cmd_rx) = mpsc::channel(1024);
        let (ev_tx, ev_rx) = mpsc::channel(4096);
        let ep = Endpoint::new(cfg.clone(), local, advertised);
        let node = Node {
            cfg,
            ep,
            sock,
            cmd_rx,
            events: ev_tx,
            media: HashMap::new(),
            next_port: Arc::new(AtomicU16::new(0)),
        };
        tokio::spawn(node.run().instrument(tracing::info_span!("sip", %local)));
        let t = Telephony { cmd: cmd_tx, local };
        t.send(Command::Register).await?;
        Ok((t, ev_rx))
    }

    /// The bound SIP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn send(&self, c: Command) -> Result<(), TelephonyError> {
        self.cmd.send(c).await.map_err(|_| TelephonyError::Stopped)
    }

    async fn ask<T>(
        &self,
        f: impl FnOnce(oneshot::Sender<Result<T, TelephonyError>>) -> Command,
    ) -> Result<T, TelephonyError> {
        let (tx, rx) = oneshot::channel();
        self.send(f(tx)).await?;
        rx.await.map_err(|_| TelephonyError::Stopped)?
    }

    /// Answer a ringing inbound call (200 OK with our SDP answer).
    pub async fn answer(&self, call: CallId) -> Result<(), TelephonyError> {
        self.ask(|r| Command::Answer(call, r)).await
    }
    /// Reject a ringing inbound call with `code` (486 busy, 603 decline, 480 unavailable, ...).
    pub async fn reject(&self, call: CallId, code: u16) -> Result<(), TelephonyError> {
        self.ask(|r| Command::Reject(call, code, r)).await
    }
    /// Hang up in any state (BYE, CANCEL or 480 as fits).
    pub async fn hangup(&self, call: CallId) -> Result<(), TelephonyError> {
        self.ask(|r| Command::Hangup(call, r)).await
    }
    /// Blind transfer to `target` (`sip:agent@host` or number); result comes as `Event::Transfer`.
    pub async fn transfer(&self, call: CallId, target: &str) -> Result<(), TelephonyError> {
        self.ask(|r| Command::Transfer(call, target.to_string(), r))
            .await
    }
    /// Place an outbound call.
    pub async fn dial(&self, req: DialRequest) -> Result<OutgoingCall, TelephonyError> {
        self.ask(|r| Command::Dial(req, r)).await
    }
    /// Relay audio between two calls both ways (transfer fallback). Their audio receivers go quiet.
    pub async fn bridge(&self, a: CallId, b: CallId) -> Result<(), TelephonyError> {
        self.ask(|r| Command::Bridge(a, b, r)).await
    }
    /// Queue 8 kHz PCM frames for playback after what is already queued.
    pub async fn play(&self, call: CallId, frames: Vec<Frame>) -> Result<(), TelephonyError> {
        self.send(Command::Media(call, MediaCommand::Play(frames)))
            .await
    }
    /// Drop queued playback (barge-in).
    pub async fn clear_playback(&self, call: CallId) -> Result<(), TelephonyError> {
        self.send(Command::Media(call, MediaCommand::Clear)).await
    }
    /// Send DTMF digits as RFC 4733 events.
    pub async fn send_dtmf(&self, call: CallId, digits: &str) -> Result<(), TelephonyError> {
        self.send(Command::Media(call, MediaCommand::Dtmf(digits.to_string())))
            .await
    }
    /// RTP counters of one call (None when it has no media).
    pub async fn media_stats(&self, call: CallId) -> Option<MediaStats> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Media(call, MediaCommand::Stats(tx)))
            .await
            .ok()?;
        rx.await.ok()
    }
    pub async fn stats(&self) -> Result<Stats, TelephonyError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Stats(tx)).await?;
        rx.await.map_err(|_| TelephonyError::Stopped)
    }
    /// Stop the node (calls are dropped without signalling).
    pub async fn shutdown(&self) {
        let _ = self.send(Command::Shutdown).await;
    }
}

/// The IP to advertise when bound to a wildcard address and no external IP is configured.
fn guess_local_ip(bound: IpAddr) -> IpAddr {
    if !bound.is_unspecified() {
        return bound;
    }
    // connect() on UDP sends nothing; it only asks the kernel for the route's source address
    StdUdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

struct MediaLeg {
    tx: mpsc::Sender<MediaCommand>,
    local: SocketAddr,
}

struct Node {
    cfg: TelephonyConfig,
    ep: Endpoint,
    sock: UdpSocket,
    cmd_rx: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    media: HashMap<CallId, MediaLeg>,
    next_port: Arc<AtomicU16>,
}

impl Node {
    async fn run(mut self) {
        let mut buf = vec![0u8; 65536];
        loop {
            let deadline = self.ep.poll_timeout().map(tokio::time::Instant::from_std);
            tokio::select! {
                r = self.sock.recv_from(&mut buf) => match r {
                    Ok((n, from)) => self.ep.handle_input(Instant::now(), from, &buf[..n]),
                    Err(e) => tracing::debug!(error = %e, "SIP recv error"),
                },
                c = self.cmd_rx.recv() => match c {
                    None | Some(Command::Shutdown) => break,
                    Some(c) => self.command(c),
                },
                _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                    self.ep.handle_timeout(Instant::now());
                }
            }
            self.flush().await;
        }
        for (_, leg) in self.media.drain() {
            let _ = leg.tx.try_send(MediaCommand::Stop);
        }
    }

    async fn flush(&mut self) {
        while let Some(t) = self.ep.poll_transmit() {
            if let Err(e) = self.sock.send_to(&t.data, t.dest).await {
                tracing::debug!(dest = %t.dest, error = %e, "SIP send failed");
            }
        }
        while let Some(ev) = self.ep.poll_event() {
            self.on_sip_event(ev);
        }
        // events may have produced more output (e.g. none today, but keep the invariant)
        while let Some(t) = self.ep.poll_transmit() {
            let _ = self.sock.send_to(&t.data, t.dest).await;
        }
    }

    fn emit(&self, e: Event) {
        if self.events.try_send(e).is_err() {
            tracing::warn!("telephony event channel full; event dropped");
        }
    }

    fn on_sip_event(&mut self, ev: SipEvent) {
        match ev {
            SipEvent::Incoming {
                call,
                from,
                to,
                headers,
                source,
                offer: _,
            } => {
                let (audio_tx, audio) = mpsc::channel(500);
                match self.spawn_media(call, audio_tx) {
                    Ok(()) => {
                        let from_uri = crate::sip::msg::addr_uri(&from);
                        let to_uri = crate::sip::msg::addr_uri(&to);
                        self.emit(Event::Incoming(IncomingCall {
                            call,
                            caller: crate::sip::msg::uri_user(&from_uri),
                            callee: crate::sip::msg::uri_user(&to_uri),
                            from: from_uri,
                            to: to_uri,
                            headers,
                            source,
                            audio,
                        }));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "no media for incoming call");
                        let _ = self.ep.reject(Instant::now(), call, 503);
                    }
                }
            }
            SipEvent::Ringing { call, early } => {
                if let Some(sdp) = early {
                    // 183 early media: listen (announcements, ringback) but do not send
                    self.set_remote(call, &sdp, false);
                }
                self.emit(Event::Ringing { call });
            }
            SipEvent::Answered { call, remote } => {
                self.set_remote(call, &remote, true);
                self.emit(Event::Answered { call });
            }
            SipEvent::MediaChanged { call, remote } => {
                let hold = remote.is_hold();
                self.set_remote(call, &remote, !hold);
                self.emit(Event::Hold {
                    call,
                    on_hold: hold,
                });
            }
            SipEvent::Dtmf { call, digit } => self.emit(Event::Dtmf { call, digit }),
            SipEvent::Ended { call, cause } => {
                // every call the application knows about has a media leg; one without was
                // refused before it was announced (no RTP port) and needs no Hangup event
                if let Some(leg) = self.media.remove(&call) {
                    let _ = leg.tx.try_send(MediaCommand::Stop);
                    self.emit(Event::Hangup { call, cause });
                }
            }
            SipEvent::Transfer { call, result } => self.emit(Event::Transfer { call, result }),
            SipEvent::Registration(s) => self.emit(Event::Registration(s)),
        }
    }

    fn set_remote(&mut self, call: CallId, sdp: &MediaDesc, send: bool) {
        let Some(leg) = self.media.get(&call) else {
            return;
        };
        let Some(codec) = sdp.codecs.first().copied() else {
            return;
        };
        let r = RemoteMedia {
            addr: sdp.addr,
            codec,
            dtmf_pt: sdp.dtmf_pt,
            send: send && !sdp.addr.ip().is_unspecified(),
        };
        let _ = leg.tx.try_send(MediaCommand::Remote(r));
    }

    fn bind_rtp(&self) -> Result<StdUdpSocket, TelephonyError> {
        let (lo, hi) = (self.cfg.rtp_port_min & !1, self.cfg.rtp_port_max);
        let slots = ((hi.saturating_sub(lo)) / 2 + 1).max(1);
        let ip = self.cfg.bind.ip();
        for _ in 0..slots {
            let i = self.next_port.fetch_add(1, Ordering::Relaxed) % slots;
            let port = lo + i * 2;
            if let Ok(s) = StdUdpSocket::bind(SocketAddr::new(ip, port)) {
                s.set_nonblocking(true)?;
                return Ok(s);
            }
        }
        Err(TelephonyError::NoRtpPort(lo, hi))
    }

    fn spawn_media(
        &mut self,
        call: CallId,
        audio_tx: mpsc::Sender<Frame>,
    ) -> Result<(), TelephonyError> {
        let std_sock = self.bind_rtp()?;
        let local = std_sock.local_addr()?;
        let sock = UdpSocket::from_std(std_sock)?;
        let (tx, rx) = mpsc::channel(256);
        let events = self.events.clone();
        tokio::spawn(
            media_task(call, sock, rx, audio_tx, events)
                .instrument(tracing::info_span!("rtp", %call, %local)),
        );
        self.media.insert(call, MediaLeg { tx, local });
        Ok(())
    }

    fn media_addr(&self, call: CallId) -> Option<SocketAddr> {
        self.media
            .get(&call)
            .map(|l| SocketAddr::new(self.ep.advertised_ip(), l.local.port()))
    }

    fn command(&mut self, c: Command) {
        let now = Instant::now();
        match c {
            Command::Answer(call, r) => {
                let res = match self.media_addr(call) {
                    Some(addr) => self.ep.answer(now, call, addr).map_err(Into::into),
                    None => Err(CallError::NoSuchCall(call).into()),
                };
                if res.is_ok()
                    && let Some(remote) = self.ep_remote_offer(call)
                {
                    // start sending at once so the caller hears us even before the ACK
                    self.set_remote(call, &remote, true);
                }
                let _ = r.send(res);
            }
            Command::Reject(call, code, r) => {
                let _ = r.send(self.ep.reject(now, call, code).map_err(Into::into));
            }
            Command::Hangup(call, r) => {
                let _ = r.send(self.ep.hangup(now, call).map_err(Into::into));
            }
            Command::Transfer(call, target, r) => {
                let _ = r.send(self.ep.transfer(now, call, &target).map_err(Into::into));
            }
            Command::Dial(req, r) => {
                let res = (|| {
                    if self.ep.active_calls() >= self.cfg.max_calls {
                        return Err(TelephonyError::Call(CallError::AtCapacity));
                    }
                    let std_sock = self.bind_rtp()?;
                    let local = std_sock.local_addr()?;
                    let advertised = SocketAddr::new(self.ep.advertised_ip(), local.port());
                    let call = self.ep.dial(now, &req, advertised)?;
                    let sock = UdpSocket::from_std(std_sock)?;
                    let (tx, rx) = mpsc::channel(256);
                    let (audio_tx, audio) = mpsc::channel(500);
                    tokio::spawn(
                        media_task(call, sock, rx, audio_tx, self.events.clone())
                            .instrument(tracing::info_span!("rtp", %call, %local)),
                    );
                    self.media.insert(call, MediaLeg { tx, local });
                    Ok(OutgoingCall { call, audio })
                })();
                let _ = r.send(res);
            }
            Command::Media(call, m) => {
                if let Some(leg) = self.media.get(&call) {
                    let _ = leg.tx.try_send(m);
                }
            }
            Command::Bridge(a, b, r) => {
                let res = match (self.media.get(&a), self.media.get(&b)) {
                    (Some(la), Some(lb)) => {
                        let _ = la.tx.try_send(MediaCommand::Forward(lb.tx.clone()));
                        let _ = lb.tx.try_send(MediaCommand::Forward(la.tx.clone()));
                        Ok(())
                    }
                    (None, _) => Err(CallError::NoSuchCall(a).into()),
                    (_, None) => Err(CallError::NoSuchCall(b).into()),
                };
                let _ = r.send(res);
            }
            Command::Register => self.ep.register(now),
            Command::Stats(r) => {
                let _ = r.send(Stats {
                    sip: self.ep.stats().clone(),
                    active_calls: self.ep.active_calls(),
                });
            }
            Command::Shutdown => {}
        }
    }

    fn ep_remote_offer(&self, call: CallId) -> Option<MediaDesc> {
        self.ep.remote_media(call)
    }
}

async fn media_task(
    call: CallId,
    sock: UdpSocket,
    mut rx: mpsc::Receiver<MediaCommand>,
    audio: mpsc::Sender<Frame>,
    events: mpsc::Sender<Event>,
) {
    let mut s = MediaSession::new(Instant::now());
    let mut forward: Option<mpsc::Sender<MediaCommand>> = None;
    let mut buf = vec![0u8; 2048];
    let mut dropped_frames = 0u64;
    loop {
        let deadline = tokio::time::Instant::from_std(s.poll_timeout());
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(deadline) => s.handle_timeout(Instant::now()),
            r = sock.recv_from(&mut buf) => {
                if let Ok((n, from)) = r {
                    s.handle_input(Instant::now(), from, &buf[..n]);
                }
            }
            c = rx.recv() => match c {
                None | Some(MediaCommand::Stop) => break,
                Some(MediaCommand::Play(f)) => s.play(f),
                Some(MediaCommand::Clear) => s.clear_playback(),
                Some(MediaCommand::Dtmf(d)) => s.send_dtmf(&d),
                Some(MediaCommand::Remote(r)) => s.set_remote(r),
                Some(MediaCommand::Forward(f)) => forward = Some(f),
                Some(MediaCommand::Stats(r)) => { let _ = r.send(s.stats().clone()); }
            },
        }
        while let Some((dest, data)) = s.poll_transmit() {
            let _ = sock.send_to(&data, dest).await;
        }
        while let Some(ev) = s.poll_event() {
            match ev {
                MediaEvent::Audio(f) => {
                    if let Some(fw) = &forward {
                        let _ = fw.try_send(MediaCommand::Play(vec![*f]));
                    } else if audio.try_send(*f).is_err() {
                        dropped_frames += 1;
                    }
                }
                MediaEvent::Dtmf(digit) => {
                    let _ = events.try_send(Event::Dtmf { call, digit });
                }
                MediaEvent::PlayoutDrained => {
                    if forward.is_none() {
                        let _ = events.try_send(Event::PlayoutDrained { call });
                    }
                }
            }
        }
    }
    tracing::debug!(stats = ?s.stats(), dropped_frames, "media stopped");
}
