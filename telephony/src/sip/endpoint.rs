//! The SIP user agent core, sans-IO: transactions, dialogs (calls), registration, transfer.
//! Feed it datagrams (`handle_input`) and time (`handle_timeout`); drain `poll_transmit` and
//! `poll_event`; sleep until `poll_timeout`. Commands (answer, reject, dial, ...) are methods.

use super::digest::Challenge;
use super::msg::{self, MsgBuilder, ParseError, SipMsg, addr_uri, new_branch, param, random_token};
use super::transaction::{ResponseVerdict, T1, T2, Transaction, TxAction, TxKind};
use crate::config::{TelephonyConfig, allowlisted};
use crate::sdp::MediaDesc;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Identifies a call (one dialog) inside this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub dest: SocketAddr,
    pub data: Vec<u8>,
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HangupCause {
    /// The peer sent BYE.
    RemoteHangup,
    /// We hung up (BYE, or CANCEL of our own unanswered call).
    LocalHangup,
    /// The caller cancelled before we answered (we sent 487).
    CallerCancelled,
    /// We rejected the incoming call with this code.
    Rejected(u16),
    /// Outbound: the callee was busy (486/600).
    Busy,
    /// Outbound: nobody answered within the ring timeout (or 480/408 from the far end).
    NoAnswer,
    /// Outbound: declined (603).
    Declined,
    /// Outbound: another final failure code.
    Failed(u16),
    /// No response at all / no ACK: the peer is unreachable.
    Timeout,
}

/// Result of a blind transfer (REFER + NOTIFY sipfrag, RFC 3515).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferResult {
    /// The transfer target answered (sipfrag 2xx).
    Succeeded,
    /// REFER refused, or the target leg failed with this code (0 = timeout).
    Failed(u16),
}

/// Trunk registration state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    Registered {
        expires_secs: u32,
    },
    /// Registration failed with this code (0 = timeout); a retry is scheduled.
    Failed {
        code: u16,
        retry_in_secs: u64,
    },
}

/// What the core reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SipEvent {
    /// A new INVITE passed the allowlist, limit and SDP checks; 180 Ringing was sent.
    /// `offer` is None for a late-offer INVITE (no SDP); the peer's media then comes with `Answered`.
    Incoming {
        call: CallId,
        from: String,
        to: String,
        headers: Vec<(String, String)>,
        source: SocketAddr,
        offer: Option<MediaDesc>,
    },
    /// Outbound: 180/183 arrived; `early` is the peer's SDP when it sends early media.
    Ringing {
        call: CallId,
        early: Option<MediaDesc>,
    },
    /// The call is up (inbound: ACK received; outbound: 200 OK received). `remote` is the
    /// peer's media.
    Answered {
        call: CallId,
        remote: MediaDesc,
    },
    /// A re-INVITE changed the peer's media (hold, resume, new address).
    MediaChanged {
        call: CallId,
        remote: MediaDesc,
    },
    /// DTMF signalled by SIP INFO (application/dtmf-relay).
    Dtmf {
        call: CallId,
        digit: char,
    },
    Ended {
        call: CallId,
        cause: HangupCause,
    },
    Transfer {
        call: CallId,
        result: TransferResult,
    },
    Registration(RegistrationState),
}

/// Why a command could not run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallError {
    #[error("no such call {0}")]
    NoSuchCall(CallId),
    #[error("call {0} is not in a state that allows this")]
    BadState(CallId),
    #[error("cannot resolve {0}")]
    Unresolvable(String),
    #[error("call limit reached")]
    AtCapacity,
    #[error("invalid response code {0}")]
    BadCode(u16),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

/// Counters of dropped input (for metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointStats {
    pub received: u64,
    pub malformed: u64,
    pub oversized: u64,
    pub rate_limited: u64,
    pub unmatched: u64,
}

/// A request to place an outbound call.
#[derive(Debug, Clone, Default)]
pub struct DialRequest {
    /// `sip:user@host[:port]`, or a bare number dialled through the trunk domain.
    pub to: String,
    /// Caller id (From user); defaults to the trunk caller id or `local_user`.
    pub caller_id: Option<String>,
    /// Extra headers for the INVITE (e.g. X-Campaign-Id).
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    Call(CallId),
    Cancel(CallId),
    Bye,
    Refer(CallId),
    Register,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    /// Inbound INVITE ringing, waiting for the application.
    InboundRinging,
    /// We sent 2xx and wait for the ACK.
    InboundAnswered,
    OutboundCalling,
    Established,
}

struct Retransmit {
    dest: SocketAddr,
    data: Vec<u8>,
    at: Instant,
    interval: Duration,
    give_up: Instant,
}

struct Call {
    sip_call_id: String,
    state: CallState,
    local_tag: String,
    /// From (outbound) / To (inbound) value without tag, as the peer sees us.
    local_party: String,
    /// The peer's From/To value including its tag once known.
    remote_party: String,
    remote_target: String,
    route_set: Vec<String>,
    dest: SocketAddr,
    local_cseq: u32,
    /// Inbound: the INVITE and its server transaction key.
    invite: Option<(SipMsg, TxKey)>,
    /// Outbound: the INVITE we sent (for CANCEL and auth retries) and its key.
    out_invite: Option<(SipMsg, TxKey)>,
    request_uri: String,
    local_media: Option<MediaDesc>,
    sdp_version: u64,
    remote_media: Option<MediaDesc>,
    pending_2xx: Option<Retransmit>,
    ack_2xx: Option<Transmit>,
    auth_attempts: u32,
    ring_deadline: Option<Instant>,
    cancelled_for: Option<HangupCause>,
    cancel_guard: Option<Instant>,
    answered_sent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TxKey {
    branch: String,
    method: String,
    client: bool,
}

struct Tx {
    tx: Transaction,
    owner: Owner,
    request: SipMsg,
}

struct Registration {
    call_id: String,
    from_tag: String,
    cseq: u32,
    next_at: Option<Instant>,
    failures: u32,
    auth_attempts: u32,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The user agent.
pub struct Endpoint {
    cfg: TelephonyConfig,
    local: SocketAddr,
    advertised: IpAddr,
    txs: HashMap<TxKey, Tx>,
    calls: HashMap<CallId, Call>,
    by_sip_id: HashMap<String, CallId>,
    next_call: u64,
    out: VecDeque<Transmit>,
    events: VecDeque<SipEvent>,
    reg: Option<Registration>,
    buckets: HashMap<IpAddr, Bucket>,
    stats: EndpointStats,
    session_id: u64,
    /// Configured allowlist plus the trunk's own addresses.
    allowlist: Vec<String>,
    /// Nonces we issued in 407 challenges (bounded).
    nonces: VecDeque<String>,
}

fn resolve(hostport: &str, default_port: u16) -> Option<SocketAddr> {
    if let Ok(a) = hostport.parse::<SocketAddr>() {
        return Some(a);
    }
    if let Ok(ip) = hostport.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, default_port));
    }
    let with_port = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:{default_port}")
    };
    with_port.to_socket_addrs().ok()?.find(|a| a.is_ipv4())
}

fn resolve_uri(uri: &str) -> Option<SocketAddr> {
    let (h, p) = msg::uri_host_port(uri)?;
    resolve(&format!("{h}:{p}"), p)
}

impl Endpoint {
    /// `local` is the bound SIP socket address; `advertised` the IP written into Via/Contact/SDP.
    pub fn new(cfg: TelephonyConfig, local: SocketAddr, advertised: IpAddr) -> Self {
        // With a trunk, INVITEs are accepted from the trunk's registrar/proxy addresses plus the
        // configured allowlist; an empty allowlist without a trunk admits everyone (local tests).
        let mut allowlist = cfg.allowlist.clone();
        if let Some(t) = &cfg.trunk {
            for host in [
                Some(t.registrar.clone().unwrap_or_else(|| t.domain.clone())),
                t.outbound_proxy.clone(),
            ]
            .into_iter()
            .flatten()
            {
                if let Some(a) = resolve(&host, 5060) {
                    allowlist.push(a.ip().to_string());
                }
            }
        }
        Endpoint {
            allowlist,
            nonces: VecDeque::new(),
            cfg,
            local,
            advertised,
            txs: HashMap::new(),
            calls: HashMap::new(),
            by_sip_id: HashMap::new(),
            next_call: 1,
            out: VecDeque::new(),
            events: VecDeque::new(),
            reg: None,
            buckets: HashMap::new(),
            stats: EndpointStats::default(),
            session_id: rand::random::<u32>() as u64,
        }
    }

    pub fn stats(&self) -> &EndpointStats {
        &self.stats
    }
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }
    /// The peer's current media description of a call (offer for inbound, answer for outbound).
    pub fn remote_media(&self, id: CallId) -> Option<MediaDesc> {
        self.calls.get(&id).and_then(|c| c.remote_media.clone())
    }
    /// IP to put into SDP for our media.
    pub fn advertised_ip(&self) -> IpAddr {
        self.advertised
    }
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }
    pub fn poll_event(&mut self) -> Option<SipEvent> {
        self.events.pop_front()
    }

    fn hostport(&self) -> String {
        format!("{}:{}", self.advertised, self.local.port())
    }
    fn contact(&self) -> String {
        format!("<sip:{}@{}>", self.cfg.local_user, self.hostport())
    }
    fn via(&self, branch: &str) -> String {
        format!("SIP/2.0/UDP {};branch={branch};rport", self.hostport())
    }

    // ---------------------------------------------------------------- input

    /// Feed one received datagram. Never panics; bad input is counted and dropped.
    pub fn handle_input(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        self.stats.received += 1;
        if !self.take_token(now, from.ip()) {
            self.stats.rate_limited += 1;
            return;
        }
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            return; // keep-alive CRLF
        }
        let m = match SipMsg::parse(data) {
            Ok(m) => m,
            Err(ParseError::Oversized(_)) => {
                self.stats.oversized += 1;
                return;
            }
            Err(e) => {
                tracing::debug!(%from, error = %e, "dropping malformed SIP datagram");
                self.stats.malformed += 1;
                return;
            }
        };
        if m.method().is_some() {
            self.on_request(now, from, m);
        } else {
            self.on_response(now, m);
        }
    }

    fn take_token(&mut self, now: Instant, ip: IpAddr) -> bool {
        let (rate, burst) = (
            self.cfg.rate_limit_per_sec as f64,
            self.cfg.rate_limit_burst as f64,
        );
        if self.buckets.len() > 10_000 {
            self.buckets
                .retain(|_, b| now.duration_since(b.at) < Duration::from_secs(10));
        }
        let b = self.buckets.entry(ip).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn apply(&mut self, actions: Vec<TxAction>) -> bool {
        let mut timed_out = false;
        for a in actions {
            match a {
                TxAction::Send(dest, data) => self.out.push_back(Transmit { dest, data }),
                TxAction::TimedOut => timed_out = true,
            }
        }
        timed_out
    }

    /// Respond through the server transaction `key`.
    fn respond(
        &mut self,
        now: Instant,
        key: &TxKey,
        code: u16,
        build: impl FnOnce(MsgBuilder) -> MsgBuilder,
        to_tag: Option<&str>,
    ) {
        let Some(t) = self.txs.get_mut(key) else {
            return;
        };
        let b = MsgBuilder::response_to(&t.request, code, to_tag)
            .header("server", &self.cfg.user_agent);
        let data = build(b).build();
        let mut acts = Vec::new();
        t.tx.respond(now, code, data, &mut acts);
        self.apply(acts);
    }

    fn on_request(&mut self, now: Instant, from: SocketAddr, m: SipMsg) {
        let method = m.method().unwrap_or_default().to_string();
        let branch = m.branch();
        if method == "ACK" {
            let key = TxKey {
                branch: branch.clone(),
                method: "INVITE".into(),
                client: false,
            };
            if let Some(t) = self.txs.get_mut(&key)
                && t.tx.state != super::transaction::TxState::Terminated
            {
                t.tx.on_ack(now);
                return;
            }
            self.on_dialog_ack(now, &m);
            return;
        }
        let key = TxKey {
            branch,
            method: method.clone(),
            client: false,
        };
        if let Some(t) = self.txs.get_mut(&key) {
            let mut acts = Vec::new();
            t.tx.on_request_retransmit(&mut acts);
            self.apply(acts);
            return;
        }
        let kind = if method == "INVITE" {
            TxKind::InviteServer
        } else {
            TxKind::NonInviteServer
        };
        self.txs.insert(
            key.clone(),
            Tx {
                tx: Transaction::server(kind, from),
                owner: Owner::Other,
                request: m.clone(),
            },
        );
        let in_dialog = m.to_tag().is_some();
        match method.as_str() {
            "INVITE" if in_dialog => self.on_reinvite(now, &key, &m),
            "INVITE" => self.on_invite(now, from, &key, m),
            "CANCEL" => self.on_cancel(now, &key, &m),
            "BYE" => self.on_bye(now, &key, &m),
            "OPTIONS" => {
                let allow = "INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, REFER, INFO";
                self.respond(
                    now,
                    &key,
                    200,
                    |b| b.header("allow", allow).header("accept", "application/sdp"),
                    Some(&random_token(8)),
                );
            }
            "NOTIFY" => self.on_notify(now, &key, &m),
            "INFO" => self.on_info(now, &key, &m),
            _ => self.respond(now, &key, 501, |b| b, Some(&random_token(8))),
        }
    }

    /// Whether the INVITE carries valid digest credentials of a configured peer for a nonce
    /// we issued.
    fn peer_authenticated(&self, m: &SipMsg) -> bool {
        let Some(auth) = m
            .header("proxy-authorization")
            .or_else(|| m.header("authorization"))
        else {
            return false;
        };
        let Some((user, nonce)) = super::digest::credentials_of(auth) else {
            return false;
        };
        if !self.nonces.contains(&nonce) {
            return false;
        }
        self.cfg
            .peers
            .iter()
            .any(|p| p.username == user && super::digest::verify(auth, "INVITE", &p.password))
    }

    fn find_call(&self, m: &SipMsg) -> Option<CallId> {
        self.by_sip_id.get(m.call_id()).copied()
    }

    fn on_invite(&mut self, now: Instant, from: SocketAddr, key: &TxKey, m: SipMsg) {
        if self.by_sip_id.contains_key(m.call_id()) {
            // a second INVITE with a new branch for a call we already handle: loop/merge
            return self.respond(now, key, 482, |b| b, Some(&random_token(8)));
        }
        if !allowlisted(&self.allowlist, from.ip()) && !self.peer_authenticated(&m) {
            if self.cfg.peers.is_empty() {
                tracing::warn!(%from, "INVITE from a source outside the allowlist");
                return self.respond(now, key, 403, |b| b, Some(&random_token(8)));
            }
            let nonce = random_token(24);
            self.nonces.push_back(nonce.clone());
            if self.nonces.len() > 1024 {
                self.nonces.pop_front();
            }
            let chal =
                format!("Digest realm=\"vaarta\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"");
            return self.respond(
                now,
                key,
                407,
                |b| b.header("proxy-authenticate", &chal),
                Some(&random_token(8)),
            );
        }
        if self.calls.len() >= self.cfg.max_calls {
            return self.respond(
                now,
                key,
                503,
                |b| b.header("retry-after", "30"),
                Some(&random_token(8)),
            );
        }
        // an INVITE without SDP is a late offer: we offer in the 200 and the answer comes in the ACK
        let offer = match MediaDesc::parse(m.body_str()).and_then(|o| {
            MediaDesc::answer(&o, "0.0.0.0:0".parse().expect("literal")).map(|_| Some(o))
        }) {
            _ if m.body.is_empty() => None,
            Ok(o) => o,
            Err(e) => {
                tracing::info!(error = %e, "rejecting INVITE with unusable SDP");
                return self.respond(now, key, 488, |b| b, Some(&random_token(8)));
            }
        };
        let id = CallId(self.next_call);
        self.next_call += 1;
        let local_tag = random_token(10);
        let contact = match m.header("contact") {
            // the Contact becomes the Request-URI of our BYE/REFER: it must be a valid URI
            Some(c) => match valid_target(c) {
                Some(t) => t,
                None => return self.respond(now, key, 400, |b| b, Some(&random_token(8))),
            },
            None => String::new(),
        };
        // in-dialog requests go back where the INVITE came from (works through NAT and SBCs)
        let dest = from;
        let route_set: Vec<String> = m
            .headers_named("record-route")
            .flat_map(msg::split_commas)
            .map(|s| s.trim().to_string())
            .collect();
        let to = m.header("to").unwrap_or_default().to_string();
        let from_h = m.header("from").unwrap_or_default().to_string();
        let headers = m.headers.clone();
        self.respond(now, key, 100, |b| b, None);
        let contact_hdr = self.contact();
        self.respond(
            now,
            key,
            180,
            |b| b.header("contact", &contact_hdr),
            Some(&local_tag),
        );
        self.by_sip_id.insert(m.call_id().to_string(), id);
        self.calls.insert(
            id,
            Call {
                sip_call_id: m.call_id().to_string(),
                state: CallState::InboundRinging,
                local_tag,
                local_party: to.clone(),
                remote_party: from_h.clone(),
                remote_target: if contact.is_empty() {
                    format!("sip:{from}")
                } else {
                    contact
                },
                route_set,
                dest,
                local_cseq: rand::random::<u16>() as u32,
                invite: Some((m, key.clone())),
                out_invite: None,
                request_uri: String::new(),
                local_media: None,
                sdp_version: 1,
                remote_media: offer.clone(),
                pending_2xx: None,
                ack_2xx: None,
                auth_attempts: 0,
                ring_deadline: None,
                cancelled_for: None,
                cancel_guard: None,
                answered_sent: false,
            },
        );
        if let Some(t) = self.txs.get_mut(key) {
            t.owner = Owner::Call(id);
        }
        self.events.push_back(SipEvent::Incoming {
            call: id,
            from: from_h,
            to,
            headers,
            source: from,
            offer,
        });
    }

    fn on_reinvite(&mut self, now: Instant, key: &TxKey, m: &SipMsg) {
        let Some(id) = self.find_call(m) else {
            return self.respond(now, key, 481, |b| b, None);
        };
        let contact_hdr = self.contact();
        let session_id = self.session_id;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.state != CallState::Established {
            return self.respond(now, key, 491, |b| b, None);
        }
        if let Some(t) = m.header("contact").and_then(valid_target) {
            call.remote_target = t;
        }
        let Some(local) = call.local_media.clone() else {
            return;
        };
        let (answer, changed) = if m.body.is_empty() {
            (local.clone(), None)
        } else {
            match MediaDesc::parse(m.body_str())
                .and_then(|o| MediaDesc::answer(&o, local.addr).map(|a| (o, a)))
            {
                Ok((offer, mut ans)) => {
                    if offer.is_hold() && ans.direction == crate::sdp::Direction::SendRecv {
                        ans.direction = crate::sdp::Direction::RecvOnly;
                    }
                    (ans, Some(offer))
                }
                Err(_) => return self.respond(now, key, 488, |b| b, None),
            }
        };
        call.sdp_version += 1;
        let sdp = answer.to_sdp(session_id, call.sdp_version);
        call.local_media = Some(answer);
        let tag = call.local_tag.clone();
        self.respond(
            now,
            key,
            200,
            |b| {
                b.header("contact", &contact_hdr)
                    .body("application/sdp", sdp.as_bytes())
            },
            Some(&tag),
        );
        if let Some(remote) = changed {
            if let Some(call) = self.calls.get_mut(&id) {
                call.remote_media = Some(remote.clone());
            }
            self.events
                .push_back(SipEvent::MediaChanged { call: id, remote });
        }
        // 2xx to a re-INVITE is retransmitted like the initial one
        self.arm_2xx_retransmit(now, id, key);
    }

    fn arm_2xx_retransmit(&mut self, now: Instant, id: CallId, key: &TxKey) {
        let Some(t) = self.txs.get(key) else { return };
        let data = self.out.back().map(|t| t.data.clone()).unwrap_or_default();
        let dest = self.out.back().map(|t| t.dest).unwrap_or(self.local);
        let _ = t;
        if let Some(call) = self.calls.get_mut(&id) {
            call.pending_2xx = Some(Retransmit {
                dest,
                data,
                at: now + T1,
                interval: T1,
                give_up: now + 64 * T1,
            });
        }
    }

    fn on_dialog_ack(&mut self, _now: Instant, m: &SipMsg) {
        let Some(id) = self.find_call(m) else {
            self.stats.unmatched += 1;
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.pending_2xx = None;
        if call.remote_media.is_none() && !m.body.is_empty() {
            // late offer: the ACK carries the answer to the offer in our 200
            call.remote_media = MediaDesc::parse(m.body_str()).ok();
        }
        if call.state == CallState::InboundAnswered {
            call.state = CallState::Established;
            if !call.answered_sent {
                call.answered_sent = true;
                let remote = call
                    .remote_media
                    .clone()
                    .unwrap_or_else(|| MediaDesc::local_offer(SocketAddr::from(([0, 0, 0, 0], 0))));
                self.events
                    .push_back(SipEvent::Answered { call: id, remote });
            }
        }
    }

    fn on_cancel(&mut self, now: Instant, key: &TxKey, m: &SipMsg) {
        let invite_key = TxKey {
            branch: key.branch.clone(),
            method: "INVITE".into(),
            client: false,
        };
        let Some(id) = self.txs.get(&invite_key).and_then(|t| {
            if let Owner::Call(id) = t.owner {
                Some(id)
            } else {
                None
            }
        }) else {
            return self.respond(now, key, 481, |b| b, None);
        };
        self.respond(now, key, 200, |b| b, None);
        let _ = m;
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if call.state == CallState::InboundRinging {
            let tag = call.local_tag.clone();
            self.respond(now, &invite_key, 487, |b| b, Some(&tag));
            self.end_call(id, HangupCause::CallerCancelled);
        }
    }

    fn on_bye(&mut self, now: Instant, key: &TxKey, m: &SipMsg) {
        let Some(id) = self.find_call(m) else {
            return self.respond(now, key, 481, |b| b, None);
        };
        self.respond(now, key, 200, |b| b, None);
        self.end_call(id, HangupCause::RemoteHangup);
    }

    fn on_notify(&mut self, now: Instant, key: &TxKey, m: &SipMsg) {
        let Some(id) = self.find_call(m) else {
            return self.respond(now, key, 481, |b| b, None);
        };
        self.respond(now, key, 200, |b| b, None);
        let event = m.header("event").unwrap_or_default();
        if !event.to_ascii_lowercase().starts_with("refer") {
            return;
        }
        // body: "SIP/2.0 200 OK" (message/sipfrag)
        let code = m
            .body_str()
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok());
        let terminated = m
            .header("subscription-state")
            .is_some_and(|s| s.to_ascii_lowercase().starts_with("terminated"));
        match code {
            Some(c) if (200..300).contains(&c) => self.events.push_back(SipEvent::Transfer {
                call: id,
                result: TransferResult::Succeeded,
            }),
            Some(c) if c >= 300 => self.events.push_back(SipEvent::Transfer {
                call: id,
                result: TransferResult::Failed(c),
            }),
            None if terminated => self.events.push_back(SipEvent::Transfer {
                call: id,
                result: TransferResult::Failed(0),
            }),
            _ => {}
        }
    }

    fn on_info(&mut self, now: Instant, key: &TxKey, m: &SipMsg) {
        let Some(id) = self.find_call(m) else {
            return self.respond(now, key, 481, |b| b, None);
        };
        self.respond(now, key, 200, |b| b, None);
        if m.header("content-type")
            .is_some_and(|c| c.contains("dtmf-relay"))
        {
            for line in m.body_str().lines() {
                if let Some(v) = line.trim().strip_prefix("Signal=")
                    && let Some(d) = v.trim().chars().next()
                {
                    self.events.push_back(SipEvent::Dtmf { call: id, digit: d });
                }
            }
        }
    }

    fn end_call(&mut self, id: CallId, cause: HangupCause) {
        if let Some(call) = self.calls.remove(&id) {
            self.by_sip_id.remove(&call.sip_call_id);
            self.events.push_back(SipEvent::Ended { call: id, cause });
        }
    }

    // ---------------------------------------------------------------- responses

    fn on_response(&mut self, now: Instant, m: SipMsg) {
        let Some((_, method)) = m.cseq() else { return };
        let code = m.code().unwrap_or(0);
        let key = TxKey {
            branch: m.branch(),
            method: method.clone(),
            client: true,
        };
        // a terminated INVITE client transaction (2xx received) no longer matches: 2xx
        // retransmissions go to the dialog, which re-sends its ACK
        let Some(t) = self.txs.get_mut(&key).filter(|t| !t.tx.is_terminated()) else {
            // a retransmitted 2xx after the INVITE transaction ended: re-send our ACK
            if method == "INVITE"
                && (200..300).contains(&code)
                && let Some(id) = self.find_call(&m)
                && let Some(ack) = self.calls.get(&id).and_then(|c| c.ack_2xx.clone())
            {
                self.out.push_back(ack);
            } else {
                self.stats.unmatched += 1;
            }
            return;
        };
        let req = t.request.clone();
        let owner = t.owner;
        let mut acts = Vec::new();
        let verdict =
            t.tx.on_response(now, code, || build_ack_non2xx(&req, &m), &mut acts);
        self.apply(acts);
        if verdict == ResponseVerdict::Absorb {
            return;
        }
        match owner {
            Owner::Call(id) => self.on_invite_response(now, id, &req, &m, code),
            Owner::Refer(id) => {
                if code >= 300 {
                    self.events.push_back(SipEvent::Transfer {
                        call: id,
                        result: TransferResult::Failed(code),
                    });
                }
            }
            Owner::Register => self.on_register_response(now, &req, &m, code),
            Owner::Cancel(_) | Owner::Bye | Owner::Other => {}
        }
    }

    fn on_invite_response(
        &mut self,
        now: Instant,
        id: CallId,
        req: &SipMsg,
        m: &SipMsg,
        code: u16,
    ) {
        let contact_hdr = self.contact();
        let hostport = self.hostport();
        let Some(call) = self.calls.get_mut(&id) else {
            // call gone (hung up while ringing) but the callee answered: ACK and BYE it
            if (200..300).contains(&code) {
                self.ack_and_bye_orphan(now, req, m);
            }
            return;
        };
        let sdp = MediaDesc::parse(m.body_str()).ok();
        match code {
            100 => {}
            101..=199 => {
                if call.state == CallState::OutboundCalling {
                    self.events.push_back(SipEvent::Ringing {
                        call: id,
                        early: sdp.filter(|_| code == 183),
                    });
                }
            }
            200..=299 => {
                if let Some(tag) = m.header("to") {
                    call.remote_party = tag.to_string();
                }
                if let Some(t) = m.header("contact").and_then(valid_target) {
                    call.remote_target = t;
                }
                let mut rs: Vec<String> = m
                    .headers_named("record-route")
                    .flat_map(msg::split_commas)
                    .map(|s| s.trim().to_string())
                    .collect();
                rs.reverse();
                call.route_set = rs;
                call.dest = self
                    .cfg
                    .trunk
                    .as_ref()
                    .and_then(|t| t.outbound_proxy.as_deref())
                    .and_then(|p| resolve(p, 5060))
                    .or_else(|| {
                        call.route_set
                            .first()
                            .and_then(|r| resolve_uri(&addr_uri(r)))
                    })
                    .or_else(|| resolve_uri(&call.remote_target))
                    .unwrap_or(call.dest);
                let cseq = m.cseq().map(|c| c.0).unwrap_or(1);
                let ack = in_dialog_request_text(
                    call,
                    "ACK",
                    cseq,
                    &new_branch(),
                    &hostport,
                    &contact_hdr,
                )
                .build();
                let t = Transmit {
                    dest: call.dest,
                    data: ack,
                };
                call.ack_2xx = Some(t.clone());
                self.out.push_back(t);
                let was_calling = call.state == CallState::OutboundCalling;
                call.state = CallState::Established;
                call.ring_deadline = None;
                if let Some(cause) = call.cancelled_for.clone() {
                    // 200 crossed our CANCEL: hang up properly
                    let _ = cause;
                    let _ = self.hangup(now, id);
                    return;
                }
                if was_calling {
                    call.remote_media = sdp.clone();
                    let remote = sdp.unwrap_or_else(|| {
                        MediaDesc::local_offer(SocketAddr::from(([0, 0, 0, 0], 0)))
                    });
                    self.events
                        .push_back(SipEvent::Answered { call: id, remote });
                }
            }
            401 | 407 if call.auth_attempts < 2 && call.state == CallState::OutboundCalling => {
                call.auth_attempts += 1;
                if !self.retry_invite_with_auth(now, id, req, m, code) {
                    self.end_call(id, HangupCause::Failed(code));
                }
            }
            _ => {
                if call.state != CallState::OutboundCalling {
                    return; // a failed re-INVITE leaves the call as it was
                }
                let cause = match (call.cancelled_for.clone(), code) {
                    (Some(c), 487) => c,
                    (_, 486 | 600) => HangupCause::Busy,
                    (_, 480 | 408) => HangupCause::NoAnswer,
                    (_, 603) => HangupCause::Declined,
                    (_, c) => HangupCause::Failed(c),
                };
                self.end_call(id, cause);
            }
        }
    }

    fn ack_and_bye_orphan(&mut self, now: Instant, req: &SipMsg, m: &SipMsg) {
        let Some(dest) = m
            .header("contact")
            .map(addr_uri)
            .and_then(|c| resolve_uri(&c))
        else {
            return;
        };
        let target = m.header("contact").map(addr_uri).unwrap_or_default();
        let cseq = m.cseq().map(|c| c.0).unwrap_or(1);
        let hostport = self.hostport();
        let mk = |method: &str, n: u32, branch: &str| {
            MsgBuilder::request(method, &target)
                .header(
                    "via",
                    &format!("SIP/2.0/UDP {hostport};branch={branch};rport"),
                )
                .header("max-forwards", "70")
                .header("from", req.header("from").unwrap_or_default())
                .header("to", m.header("to").unwrap_or_default())
                .header("call-id", m.call_id())
                .header("cseq", &format!("{n} {method}"))
                .build()
        };
        let ack = mk("ACK", cseq, &new_branch());
        self.out.push_back(Transmit { dest, data: ack });
        let b = new_branch();
        let bye = mk("BYE", cseq + 1, &b);
        self.start_client(
            now,
            TxKind::NonInviteClient,
            dest,
            bye,
            Owner::Bye,
            b,
            "BYE",
        );
    }

    fn retry_invite_with_auth(
        &mut self,
        now: Instant,
        id: CallId,
        req: &SipMsg,
        m: &SipMsg,
        code: u16,
    ) -> bool {
        let Some(trunk) = self.cfg.trunk.clone() else {
            return false;
        };
        let hdr = if code == 401 {
            "www-authenticate"
        } else {
            "proxy-authenticate"
        };
        let Some(ch) = m.header(hdr).and_then(|v| Challenge::parse(v).ok()) else {
            return false;
        };
        let via = self.via(&new_branch());
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        let user = trunk.auth_username.as_deref().unwrap_or(&trunk.username);
        let Ok(auth) = ch.authorize("INVITE", &call.request_uri, user, &trunk.password, 1) else {
            return false;
        };
        call.local_cseq += 1;
        let branch = param(&via, "branch").unwrap_or_default();
        let auth_hdr = if code == 401 {
            "authorization"
        } else {
            "proxy-authorization"
        };
        let mut b = MsgBuilder::request("INVITE", &call.request_uri);
        for (n, v) in &req.headers {
            match n.as_str() {
                "via" => b = b.header("via", &via),
                "cseq" => b = b.header("cseq", &format!("{} INVITE", call.local_cseq)),
                "authorization" | "proxy-authorization" | "content-length" | "content-type" => {}
                _ => b = b.header(n, v),
            }
        }
        b = b.header(auth_hdr, &auth).body("application/sdp", &req.body);
        let data = b.build();
        let dest = call.dest;
        let key = self.start_client(
            now,
            TxKind::InviteClient,
            dest,
            data,
            Owner::Call(id),
            branch,
            "INVITE",
        );
        let sent = self.txs.get(&key).map(|t| t.request.clone());
        if let (Some(call), Some(sent)) = (self.calls.get_mut(&id), sent) {
            call.out_invite = Some((sent, key));
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn start_client(
        &mut self,
        now: Instant,
        kind: TxKind,
        dest: SocketAddr,
        data: Vec<u8>,
        owner: Owner,
        branch: String,
        method: &str,
    ) -> TxKey {
        let key = TxKey {
            branch,
            method: method.to_string(),
            client: true,
        };
        let request = match SipMsg::parse(&data) {
            Ok(r) => r,
            Err(e) => {
                // only reachable if a peer smuggled something odd into a header we copy
                tracing::error!(error = %e, method, "not sending an unparseable request");
                return key;
            }
        };
        let mut acts = Vec::new();
        let tx = Transaction::client(kind, now, dest, data, &mut acts);
        self.apply(acts);
        self.txs.insert(key.clone(), Tx { tx, owner, request });
        key
    }

    // ---------------------------------------------------------------- commands

    /// Answer a ringing inbound call with our media at `local_media` (RTP socket address).
    pub fn answer(
        &mut self,
        now: Instant,
        id: CallId,
        local_media: SocketAddr,
    ) -> Result<(), CallError> {
        let contact_hdr = self.contact();
        let session_id = self.session_id;
        let call = self.calls.get_mut(&id).ok_or(CallError::NoSuchCall(id))?;
        if call.state != CallState::InboundRinging {
            return Err(CallError::BadState(id));
        }
        let answer = match &call.remote_media {
            Some(offer) => {
                MediaDesc::answer(offer, local_media).map_err(|_| CallError::BadState(id))?
            }
            None => MediaDesc::local_offer(local_media),
        };
        let sdp = answer.to_sdp(session_id, call.sdp_version);
        call.local_media = Some(answer);
        call.state = CallState::InboundAnswered;
        let tag = call.local_tag.clone();
        let key = call
            .invite
            .as_ref()
            .map(|(_, k)| k.clone())
            .ok_or(CallError::BadState(id))?;
        self.respond(
            now,
            &key,
            200,
            |b| {
                b.header("contact", &contact_hdr)
                    .body("application/sdp", sdp.as_bytes())
            },
            Some(&tag),
        );
        self.arm_2xx_retransmit(now, id, &key);
        Ok(())
    }

    /// Reject a ringing inbound call with a final code (486 busy, 603 decline, 480, 503...).
    pub fn reject(&mut self, now: Instant, id: CallId, code: u16) -> Result<(), CallError> {
        if !(300..700).contains(&code) {
            return Err(CallError::BadCode(code));
        }
        let call = self.calls.get(&id).ok_or(CallError::NoSuchCall(id))?;
        if call.state != CallState::InboundRinging {
            return Err(CallError::BadState(id));
        }
        let tag = call.local_tag.clone();
        let key = call
            .invite
            .as_ref()
            .map(|(_, k)| k.clone())
            .ok_or(CallError::BadState(id))?;
        self.respond(now, &key, code, |b| b, Some(&tag));
        self.end_call(id, HangupCause::Rejected(code));
        Ok(())
    }

    /// Hang up in any state: BYE when up, CANCEL when our call rings, 480 when theirs does.
    pub fn hangup(&mut self, now: Instant, id: CallId) -> Result<(), CallError> {
        let state = self.calls.get(&id).ok_or(CallError::NoSuchCall(id))?.state;
        match state {
            // not answered yet: decline with 480 (Temporarily Unavailable)
            CallState::InboundRinging => self.reject(now, id, 480),
            CallState::OutboundCalling => {
                self.cancel(now, id, HangupCause::LocalHangup);
                Ok(())
            }
            CallState::InboundAnswered | CallState::Established => {
                self.send_in_dialog(now, id, "BYE", Vec::new(), None, Owner::Bye);
                self.end_call(id, HangupCause::LocalHangup);
                Ok(())
            }
        }
    }

    fn cancel(&mut self, now: Instant, id: CallId, cause: HangupCause) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.cancelled_for.is_some() {
            return;
        }
        call.cancelled_for = Some(cause);
        call.ring_deadline = None;
        call.cancel_guard = Some(now + 64 * T1);
        let Some((inv, key)) = call.out_invite.clone() else {
            return;
        };
        let dest = call.dest;
        let mut b = MsgBuilder::request("CANCEL", &call.request_uri);
        for h in ["via", "max-forwards", "from", "to", "call-id", "route"] {
            for v in inv.headers_named(h) {
                b = b.header(h, v);
            }
        }
        let n = inv.cseq().map(|c| c.0).unwrap_or(1);
        b = b.header("cseq", &format!("{n} CANCEL"));
        let data = b.build();
        self.start_client(
            now,
            TxKind::NonInviteClient,
            dest,
            data,
            Owner::Cancel(id),
            key.branch,
            "CANCEL",
        );
    }

    fn send_in_dialog(
        &mut self,
        now: Instant,
        id: CallId,
        method: &str,
        extra: Vec<(String, String)>,
        body: Option<(&str, Vec<u8>)>,
        owner: Owner,
    ) {
        let contact_hdr = self.contact();
        let hostport = self.hostport();
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.local_cseq += 1;
        let branch = new_branch();
        let mut b = in_dialog_request_text(
            call,
            method,
            call.local_cseq,
            &branch,
            &hostport,
            &contact_hdr,
        );
        for (n, v) in &extra {
            b = b.header(n, v);
        }
        if let Some((ct, body)) = &body {
            b = b.body(ct, body);
        }
        let dest = call.dest;
        let kind = if method == "INVITE" {
            TxKind::InviteClient
        } else {
            TxKind::NonInviteClient
        };
        self.start_client(now, kind, dest, b.build(), owner, branch, method);
    }

    /// Blind transfer by REFER (RFC 3515); the outcome arrives as `SipEvent::Transfer`.
    pub fn transfer(&mut self, now: Instant, id: CallId, target: &str) -> Result<(), CallError> {
        let call = self.calls.get(&id).ok_or(CallError::NoSuchCall(id))?;
        if call.state != CallState::Established {
            return Err(CallError::BadState(id));
        }
        let by = format!("<sip:{}@{}>", self.cfg.local_user, self.hostport());
        let target = if target.starts_with("sip:") {
            target.to_string()
        } else {
            format!("sip:{target}")
        };
        self.send_in_dialog(
            now,
            id,
            "REFER",
            vec![
                ("refer-to".into(), format!("<{target}>")),
                ("referred-by".into(), by),
            ],
            None,
            Owner::Refer(id),
        );
        Ok(())
    }

    /// Place an outbound call offering media at `local_media`. Ends with `Answered` or `Ended`.
    pub fn dial(
        &mut self,
        now: Instant,
        req: &DialRequest,
        local_media: SocketAddr,
    ) -> Result<CallId, CallError> {
        if self.calls.len() >= self.cfg.max_calls {
            return Err(CallError::AtCapacity);
        }
        let bad = |s: &str| s.contains(['\r', '\n']);
        if bad(&req.to)
            || req.caller_id.as_deref().is_some_and(bad)
            || req
                .headers
                .iter()
                .any(|(n, v)| bad(n) || bad(v) || n.contains(':'))
        {
            return Err(CallError::InvalidRequest(
                "line breaks in target, caller id or headers".into(),
            ));
        }
        let trunk = self.cfg.trunk.clone();
        let to_uri = if req.to.starts_with("sip:") || req.to.starts_with("sips:") {
            req.to.clone()
        } else if let Some(t) = &trunk {
            format!("sip:{}@{}", req.to, t.domain)
        } else {
            return Err(CallError::Unresolvable(req.to.clone()));
        };
        let dest = trunk
            .as_ref()
            .and_then(|t| t.outbound_proxy.as_deref())
            .and_then(|p| resolve(p, 5060))
            .or_else(|| resolve_uri(&to_uri))
            .ok_or_else(|| CallError::Unresolvable(to_uri.clone()))?;
        let caller = req
            .caller_id
            .clone()
            .or_else(|| {
                trunk
                    .as_ref()
                    .map(|t| t.caller_id.clone().unwrap_or_else(|| t.username.clone()))
            })
            .unwrap_or_else(|| self.cfg.local_user.clone());
        let from_domain = trunk
            .as_ref()
            .map(|t| t.domain.clone())
            .unwrap_or_else(|| self.hostport());
        let local_tag = random_token(10);
        let local_party = format!("<sip:{caller}@{from_domain}>");
        let sip_call_id = format!("{}@vaarta", random_token(20));
        let offer = MediaDesc::local_offer(local_media);
        let sdp = offer.to_sdp(self.session_id, 1);
        let branch = new_branch();
        let cseq = 1;
        let mut b = MsgBuilder::request("INVITE", &to_uri)
            .header("via", &self.via(&branch))
            .header("max-forwards", "70")
            .header("from", &format!("{local_party};tag={local_tag}"))
            .header("to", &format!("<{to_uri}>"))
            .header("call-id", &sip_call_id)
            .header("cseq", &format!("{cseq} INVITE"))
            .header("contact", &self.contact())
            .header("user-agent", &self.cfg.user_agent)
            .header(
                "allow",
                "INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, REFER, INFO",
            );
        for (n, v) in &req.headers {
            b = b.header(n, v);
        }
        let data = b.body("application/sdp", sdp.as_bytes()).build();
        let id = CallId(self.next_call);
        self.next_call += 1;
        let key = self.start_client(
            now,
            TxKind::InviteClient,
            dest,
            data,
            Owner::Call(id),
            branch,
            "INVITE",
        );
        let Some(sent) = self.txs.get(&key).map(|t| t.request.clone()) else {
            return Err(CallError::InvalidRequest(format!(
                "cannot build an INVITE to {to_uri}"
            )));
        };
        self.by_sip_id.insert(sip_call_id.clone(), id);
        self.calls.insert(
            id,
            Call {
                sip_call_id,
                state: CallState::OutboundCalling,
                local_tag,
                local_party,
                remote_party: format!("<{to_uri}>"),
                remote_target: to_uri.clone(),
                route_set: Vec::new(),
                dest,
                local_cseq: cseq,
                invite: None,
                out_invite: Some((sent, key)),
                request_uri: to_uri,
                local_media: Some(offer),
                sdp_version: 1,
                remote_media: None,
                pending_2xx: None,
                ack_2xx: None,
                auth_attempts: 0,
                ring_deadline: Some(now + Duration::from_secs(self.cfg.ring_timeout_secs)),
                cancelled_for: None,
                cancel_guard: None,
                answered_sent: false,
            },
        );
        Ok(id)
    }

    /// Start (or restart) trunk registration.
    pub fn register(&mut self, now: Instant) {
        let Some(t) = self.cfg.trunk.clone() else {
            return;
        };
        if !t.register {
            return;
        }
        let reg = self.reg.get_or_insert_with(|| Registration {
            call_id: format!("{}@vaarta", random_token(20)),
            from_tag: random_token(10),
            cseq: 0,
            next_at: None,
            failures: 0,
            auth_attempts: 0,
        });
        reg.auth_attempts = 0;
        reg.next_at = None;
        self.send_register(now, None);
    }

    fn send_register(&mut self, now: Instant, auth: Option<(&str, String)>) {
        let Some(t) = self.cfg.trunk.clone() else {
            return;
        };
        let registrar = t.registrar.clone().unwrap_or_else(|| t.domain.clone());
        let dest = t
            .outbound_proxy
            .as_deref()
            .and_then(|p| resolve(p, 5060))
            .or_else(|| resolve(&registrar, 5060));
        let Some(dest) = dest else {
            self.registration_failed(now, 0);
            return;
        };
        let via_branch = new_branch();
        let via = self.via(&via_branch);
        let contact = format!(
            "<sip:{}@{}>;expires={}",
            t.username,
            self.hostport(),
            t.expires
        );
        let ua = self.cfg.user_agent.clone();
        let Some(reg) = self.reg.as_mut() else { return };
        reg.cseq += 1;
        let aor = format!("<sip:{}@{}>", t.username, t.domain);
        let mut b = MsgBuilder::request("REGISTER", &format!("sip:{}", t.domain))
            .header("via", &via)
            .header("max-forwards", "70")
            .header("from", &format!("{aor};tag={}", reg.from_tag))
            .header("to", &aor)
            .header("call-id", &reg.call_id)
            .header("cseq", &format!("{} REGISTER", reg.cseq))
            .header("contact", &contact)
            .header("expires", &t.expires.to_string())
            .header("user-agent", &ua);
        if let Some((h, v)) = auth {
            b = b.header(h, &v);
        }
        let data = b.build();
        self.start_client(
            now,
            TxKind::NonInviteClient,
            dest,
            data,
            Owner::Register,
            via_branch,
            "REGISTER",
        );
    }

    fn on_register_response(&mut self, now: Instant, req: &SipMsg, m: &SipMsg, code: u16) {
        let Some(t) = self.cfg.trunk.clone() else {
            return;
        };
        match code {
            100..=199 => {}
            200..=299 => {
                let ours = format!("@{}", self.hostport());
                let expires = m
                    .headers_named("contact")
                    .flat_map(msg::split_commas)
                    .find(|c| c.contains(&ours))
                    .and_then(|c| param(c, "expires"))
                    .or_else(|| m.header("expires").map(str::to_string))
                    .and_then(|e| e.trim().parse::<u32>().ok())
                    .unwrap_or(t.expires);
                let Some(reg) = self.reg.as_mut() else { return };
                reg.failures = 0;
                reg.auth_attempts = 0;
                // refresh well before expiry: at 80 %, and at least 5 s early
                let refresh = (expires as u64 * 4 / 5)
                    .min((expires as u64).saturating_sub(5))
                    .max(1);
                reg.next_at = Some(now + Duration::from_secs(refresh));
                self.events
                    .push_back(SipEvent::Registration(RegistrationState::Registered {
                        expires_secs: expires,
                    }));
            }
            401 | 407 => {
                let attempts = self.reg.as_ref().map_or(0, |r| r.auth_attempts);
                let hdr = if code == 401 {
                    "www-authenticate"
                } else {
                    "proxy-authenticate"
                };
                let ch = m.header(hdr).and_then(|v| Challenge::parse(v).ok());
                let stale = ch.as_ref().is_some_and(|c| c.stale);
                match ch {
                    Some(ch) if attempts < 1 || (stale && attempts < 3) => {
                        if let Some(r) = self.reg.as_mut() {
                            r.auth_attempts += 1;
                        }
                        let user = t.auth_username.as_deref().unwrap_or(&t.username);
                        let uri = match &req.start {
                            msg::StartLine::Request { uri, .. } => uri.clone(),
                            _ => format!("sip:{}", t.domain),
                        };
                        match ch.authorize("REGISTER", &uri, user, &t.password, 1) {
                            Ok(a) => self.send_register(
                                now,
                                Some((
                                    if code == 401 {
                                        "authorization"
                                    } else {
                                        "proxy-authorization"
                                    },
                                    a,
                                )),
                            ),
                            Err(_) => self.registration_failed(now, code),
                        }
                    }
                    _ => self.registration_failed(now, code),
                }
            }
            423 => {
                // Interval Too Brief: adopt Min-Expires and retry now
                if let Some(min) = m
                    .header("min-expires")
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    && let Some(tr) = self.cfg.trunk.as_mut()
                {
                    tr.expires = min;
                    return self.send_register(now, None);
                }
                self.registration_failed(now, code)
            }
            _ => self.registration_failed(now, code),
        }
    }

    fn registration_failed(&mut self, now: Instant, code: u16) {
        let Some(reg) = self.reg.as_mut() else { return };
        reg.failures += 1;
        reg.auth_attempts = 0;
        let backoff = (1u64 << reg.failures.min(8)).min(300);
        reg.next_at = Some(now + Duration::from_secs(backoff));
        self.events
            .push_back(SipEvent::Registration(RegistrationState::Failed {
                code,
                retry_in_secs: backoff,
            }));
    }

    // ---------------------------------------------------------------- time

    /// Earliest instant `handle_timeout` must run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let txs = self.txs.values().filter_map(|t| t.tx.poll_timeout());
        let calls = self
            .calls
            .values()
            .flat_map(|c| {
                [
                    c.pending_2xx.as_ref().map(|p| p.at.min(p.give_up)),
                    c.ring_deadline,
                    c.cancel_guard,
                ]
            })
            .flatten();
        let reg = self.reg.as_ref().and_then(|r| r.next_at);
        txs.chain(calls).chain(reg).min()
    }

    /// Run every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<TxKey> = self
            .txs
            .iter()
            .filter(|(_, t)| t.tx.poll_timeout().is_some_and(|at| at <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(t) = self.txs.get_mut(&key) else {
                continue;
            };
            let mut acts = Vec::new();
            t.tx.handle_timeout(now, &mut acts);
            let owner = t.owner;
            if self.apply(acts) {
                match owner {
                    Owner::Call(id)
                        if key.client
                            && self
                                .calls
                                .get(&id)
                                .is_some_and(|c| c.state == CallState::OutboundCalling) =>
                    {
                        self.end_call(id, HangupCause::Timeout);
                    }
                    Owner::Call(id) => {
                        // timer H: our final response was never ACKed
                        let _ = id;
                    }
                    Owner::Refer(id) => self.events.push_back(SipEvent::Transfer {
                        call: id,
                        result: TransferResult::Failed(0),
                    }),
                    Owner::Register => self.registration_failed(now, 0),
                    _ => {}
                }
            }
        }
        self.txs.retain(|_, t| !t.tx.is_terminated());

        let ids: Vec<CallId> = self.calls.keys().copied().collect();
        for id in ids {
            let Some(call) = self.calls.get_mut(&id) else {
                continue;
            };
            if let Some(p) = call.pending_2xx.as_mut() {
                if p.give_up <= now {
                    call.pending_2xx = None;
                    // no ACK for our 2xx: the dialog must be torn down (RFC 3261 §13.3.1.4)
                    self.send_in_dialog(now, id, "BYE", Vec::new(), None, Owner::Bye);
                    self.end_call(id, HangupCause::Timeout);
                    continue;
                } else if p.at <= now {
                    self.out.push_back(Transmit {
                        dest: p.dest,
                        data: p.data.clone(),
                    });
                    p.interval = (p.interval * 2).min(T2);
                    p.at = now + p.interval;
                }
            }
            let Some(call) = self.calls.get_mut(&id) else {
                continue;
            };
            if call.ring_deadline.is_some_and(|t| t <= now) {
                call.ring_deadline = None;
                self.cancel(now, id, HangupCause::NoAnswer);
                continue;
            }
            if call.cancel_guard.is_some_and(|t| t <= now) {
                let cause = call.cancelled_for.clone().unwrap_or(HangupCause::NoAnswer);
                self.end_call(id, cause);
            }
        }
        if let Some(reg) = self.reg.as_mut()
            && reg.next_at.is_some_and(|t| t <= now)
        {
            reg.next_at = None;
            reg.auth_attempts = 0;
            self.send_register(now, None);
        }
    }
}

/// The URI of a Contact value when rsip accepts it as a SIP URI (we will send requests to it).
fn valid_target(contact: &str) -> Option<String> {
    let uri = addr_uri(contact);
    rsip::Uri::try_from(uri.as_str()).ok()?;
    msg::uri_host_port(&uri)?;
    Some(uri)
}

/// ACK for a non-2xx final response: same Request-URI, branch, From, Call-ID; To from the response.
fn build_ack_non2xx(req: &SipMsg, resp: &SipMsg) -> Vec<u8> {
    let uri = match &req.start {
        msg::StartLine::Request { uri, .. } => uri.clone(),
        _ => String::new(),
    };
    let n = req.cseq().map(|c| c.0).unwrap_or(1);
    let mut b = MsgBuilder::request("ACK", &uri)
        .header("via", req.top_via())
        .header("max-forwards", "70");
    b = b
        .header("from", req.header("from").unwrap_or_default())
        .header("to", resp.header("to").unwrap_or_default())
        .header("call-id", req.call_id())
        .header("cseq", &format!("{n} ACK"));
    for r in req.headers_named("route") {
        b = b.header("route", r);
    }
    b.build()
}

fn in_dialog_request_text(
    call: &Call,
    method: &str,
    cseq: u32,
    branch: &str,
    hostport: &str,
    contact: &str,
) -> MsgBuilder {
    let (from, to) = (
        format!("{};tag={}", strip_tag(&call.local_party), call.local_tag),
        call.remote_party.clone(),
    );
    let mut b = MsgBuilder::request(method, &call.remote_target)
        .header(
            "via",
            &format!("SIP/2.0/UDP {hostport};branch={branch};rport"),
        )
        .header("max-forwards", "70")
        .header("from", &from)
        .header("to", &to)
        .header("call-id", &call.sip_call_id)
        .header("cseq", &format!("{cseq} {method}"));
    for r in &call.route_set {
        b = b.header("route", r);
    }
    if method != "ACK" && method != "BYE" {
        b = b.header("contact", contact);
    }
    b
}

fn strip_tag(party: &str) -> String {
    match party.rfind('>') {
        Some(i) => party[..=i].to_string(),
        None => party.split(";tag=").next().unwrap_or(party).to_string(),
    }
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;
