//! RFC 3261 §17 transactions over UDP as a sans-IO state machine: INVITE and non-INVITE,
//! client and server, with timers A, B, D (INVITE client), E, F, K (non-INVITE client),
//! G, H, I (INVITE server) and J (non-INVITE server). Times come in as `now`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RTT estimate.
pub const T1: Duration = Duration::from_millis(500);
/// Maximum retransmit interval for non-INVITE requests and INVITE responses.
pub const T2: Duration = Duration::from_secs(4);
/// Maximum time a message stays in the network.
pub const T4: Duration = Duration::from_secs(5);
/// Timer D for UDP.
pub const TIMER_D: Duration = Duration::from_secs(32);

/// Transaction flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    InviteClient,
    NonInviteClient,
    InviteServer,
    NonInviteServer,
}

/// Transaction state (RFC 3261 figures 5–8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    Calling,
    Trying,
    Proceeding,
    Completed,
    Confirmed,
    Terminated,
}

/// What a transaction asks its owner to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxAction {
    /// Put these bytes on the wire to `dest`.
    Send(SocketAddr, Vec<u8>),
    /// No final response in time (timer B/F) or no ACK (timer H).
    TimedOut,
}

/// Client verdict on a received response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseVerdict {
    /// Hand to the transaction user.
    Deliver,
    /// Retransmission: already handled (the ACK was re-sent if needed).
    Absorb,
}

/// One transaction.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub kind: TxKind,
    pub state: TxState,
    dest: SocketAddr,
    /// Client: the request to retransmit. Server: the last response sent.
    message: Vec<u8>,
    /// ACK sent for a non-2xx final response (INVITE client), re-sent on retransmits.
    ack: Option<Vec<u8>>,
    retransmit_at: Option<Instant>,
    interval: Duration,
    timeout_at: Option<Instant>,
    end_at: Option<Instant>,
}

impl Transaction {
    /// Start a client transaction; returns it with the first send queued in `out`.
    pub fn client(
        kind: TxKind,
        now: Instant,
        dest: SocketAddr,
        request: Vec<u8>,
        out: &mut Vec<TxAction>,
    ) -> Self {
        let invite = kind == TxKind::InviteClient;
        out.push(TxAction::Send(dest, request.clone()));
        Transaction {
            kind,
            state: if invite {
                TxState::Calling
            } else {
                TxState::Trying
            },
            dest,
            message: request,
            ack: None,
            retransmit_at: Some(now + T1),
            interval: T1,
            timeout_at: Some(now + 64 * T1),
            end_at: None,
        }
    }

    /// Start a server transaction for a received request.
    pub fn server(kind: TxKind, dest: SocketAddr) -> Self {
        Transaction {
            kind,
            state: if kind == TxKind::InviteServer {
                TxState::Proceeding
            } else {
                TxState::Trying
            },
            dest,
            message: Vec::new(),
            ack: None,
            retransmit_at: None,
            interval: T1,
            timeout_at: None,
            end_at: None,
        }
    }

    pub fn is_terminated(&self) -> bool {
        self.state == TxState::Terminated
    }

    /// Client: a response for this transaction arrived. `ack` builds the ACK for a non-2xx
    /// final response of an INVITE (same branch, RFC 3261 §17.1.1.3).
    pub fn on_response(
        &mut self,
        now: Instant,
        code: u16,
        ack: impl FnOnce() -> Vec<u8>,
        out: &mut Vec<TxAction>,
    ) -> ResponseVerdict {
        match self.kind {
            TxKind::InviteClient => match (self.state, code) {
                (TxState::Calling | TxState::Proceeding, 100..=199) => {
                    self.state = TxState::Proceeding;
                    self.retransmit_at = None;
                    self.timeout_at = None;
                    ResponseVerdict::Deliver
                }
                (TxState::Calling | TxState::Proceeding, 200..=299) => {
                    self.state = TxState::Terminated;
                    ResponseVerdict::Deliver
                }
                (TxState::Calling | TxState::Proceeding, _) => {
                    let a = ack();
                    out.push(TxAction::Send(self.dest, a.clone()));
                    self.ack = Some(a);
                    self.state = TxState::Completed;
                    self.retransmit_at = None;
                    self.timeout_at = None;
                    self.end_at = Some(now + TIMER_D);
                    ResponseVerdict::Deliver
                }
                (TxState::Completed, 300..) => {
                    if let Some(a) = &self.ack {
                        out.push(TxAction::Send(self.dest, a.clone()));
                    }
                    ResponseVerdict::Absorb
                }
                _ => ResponseVerdict::Absorb,
            },
            TxKind::NonInviteClient => match (self.state, code) {
                (TxState::Trying | TxState::Proceeding, 100..=199) => {
                    self.state = TxState::Proceeding;
                    ResponseVerdict::Deliver
                }
                (TxState::Trying | TxState::Proceeding, _) => {
                    self.state = TxState::Completed;
                    self.retransmit_at = None;
                    self.timeout_at = None;
                    self.end_at = Some(now + T4);
                    ResponseVerdict::Deliver
                }
                _ => ResponseVerdict::Absorb,
            },
            _ => ResponseVerdict::Absorb,
        }
    }

    /// Server: send a response (provisional or final) through this transaction.
    pub fn respond(&mut self, now: Instant, code: u16, response: Vec<u8>, out: &mut Vec<TxAction>) {
        if matches!(
            self.state,
            TxState::Completed | TxState::Confirmed | TxState::Terminated
        ) {
            return;
        }
        out.push(TxAction::Send(self.dest, response.clone()));
        self.message = response;
        match (self.kind, code) {
            (TxKind::InviteServer, 100..=199) | (TxKind::NonInviteServer, 100..=199) => {
                self.state = TxState::Proceeding;
            }
            // the dialog layer retransmits 2xx to INVITE until the ACK (RFC 3261 §13.3.1.4)
            (TxKind::InviteServer, 200..=299) => self.state = TxState::Terminated,
            (TxKind::InviteServer, _) => {
                self.state = TxState::Completed;
                self.interval = T1;
                self.retransmit_at = Some(now + T1);
                self.timeout_at = Some(now + 64 * T1);
            }
            (TxKind::NonInviteServer, _) => {
                self.state = TxState::Completed;
                self.end_at = Some(now + 64 * T1);
            }
            _ => {}
        }
    }

    /// Server: the request was retransmitted; re-send the last response, if any.
    pub fn on_request_retransmit(&mut self, out: &mut Vec<TxAction>) {
        if !self.message.is_empty()
            && matches!(self.state, TxState::Proceeding | TxState::Completed)
        {
            out.push(TxAction::Send(self.dest, self.message.clone()));
        }
    }

    /// Server INVITE: the ACK for our non-2xx final response arrived.
    pub fn on_ack(&mut self, now: Instant) {
        if self.kind == TxKind::InviteServer && self.state == TxState::Completed {
            self.state = TxState::Confirmed;
            self.retransmit_at = None;
            self.timeout_at = None;
            self.end_at = Some(now + T4);
        }
    }

    /// Earliest instant this transaction needs `handle_timeout`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.retransmit_at, self.timeout_at, self.end_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fire the due timers.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<TxAction>) {
        if self.end_at.is_some_and(|t| t <= now) {
            self.state = TxState::Terminated;
            self.end_at = None;
            return;
        }
        if self.timeout_at.is_some_and(|t| t <= now) {
            self.state = TxState::Terminated;
            self.timeout_at = None;
            self.retransmit_at = None;
            out.push(TxAction::TimedOut);
            return;
        }
        if let Some(at) = self.retransmit_at
            && at <= now
        {
            out.push(TxAction::Send(self.dest, self.message.clone()));
            self.interval = match (self.kind, self.state) {
                (TxKind::InviteClient, _) => self.interval * 2, // timer A
                (TxKind::NonInviteClient, TxState::Proceeding) => T2, // timer E in Proceeding
                _ => (self.interval * 2).min(T2),               // timers E, G
            };
            self.retransmit_at = Some(now + self.interval);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:5060".parse().unwrap()
    }

    fn run_until(tx: &mut Transaction, start: Instant, until: Duration) -> (Vec<Duration>, bool) {
        let mut sends = Vec::new();
        let mut timed_out = false;
        while let Some(t) = tx.poll_timeout() {
            if t > start + until {
                break;
            }
            let mut out = Vec::new();
            tx.handle_timeout(t, &mut out);
            for a in out {
                match a {
                    TxAction::Send(..) => sends.push(t - start),
                    TxAction::TimedOut => timed_out = true,
                }
            }
        }
        (sends, timed_out)
    }

    #[test]
    fn invite_client_timer_a_doubles_and_timer_b_fires_at_64_t1() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx = Transaction::client(
            TxKind::InviteClient,
            t0,
            addr(),
            b"INVITE".to_vec(),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        let (sends, timed_out) = run_until(&mut tx, t0, Duration::from_secs(40));
        let ms: Vec<u128> = sends.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, vec![500, 1500, 3500, 7500, 15500, 31500]);
        assert!(timed_out);
        assert!(tx.is_terminated());
    }

    #[test]
    fn invite_client_acks_non_2xx_and_absorbs_retransmits() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx = Transaction::client(
            TxKind::InviteClient,
            t0,
            addr(),
            b"INVITE".to_vec(),
            &mut out,
        );
        out.clear();
        assert_eq!(
            tx.on_response(t0, 180, Vec::new, &mut out),
            ResponseVerdict::Deliver
        );
        assert_eq!(tx.poll_timeout(), None, "no retransmission in Proceeding");
        assert_eq!(
            tx.on_response(t0, 486, || b"ACK".to_vec(), &mut out),
            ResponseVerdict::Deliver
        );
        assert_eq!(out, vec![TxAction::Send(addr(), b"ACK".to_vec())]);
        out.clear();
        assert_eq!(
            tx.on_response(t0, 486, || unreachable!(), &mut out),
            ResponseVerdict::Absorb
        );
        assert_eq!(out.len(), 1, "ACK re-sent for the retransmitted final");
        let mut out = Vec::new();
        tx.handle_timeout(t0 + TIMER_D, &mut out);
        assert!(tx.is_terminated());
    }

    #[test]
    fn non_invite_client_timer_e_caps_at_t2_then_f() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx = Transaction::client(
            TxKind::NonInviteClient,
            t0,
            addr(),
            b"OPTIONS".to_vec(),
            &mut out,
        );
        let (sends, timed_out) = run_until(&mut tx, t0, Duration::from_secs(40));
        let ms: Vec<u128> = sends.iter().map(|d| d.as_millis()).collect();
        assert_eq!(&ms[..6], &[500, 1500, 3500, 7500, 11500, 15500]);
        assert!(timed_out);
    }

    #[test]
    fn non_invite_client_completes_then_timer_k() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx = Transaction::client(
            TxKind::NonInviteClient,
            t0,
            addr(),
            b"BYE".to_vec(),
            &mut out,
        );
        assert_eq!(
            tx.on_response(t0, 200, Vec::new, &mut out),
            ResponseVerdict::Deliver
        );
        assert_eq!(
            tx.on_response(t0, 200, Vec::new, &mut out),
            ResponseVerdict::Absorb
        );
        assert_eq!(tx.poll_timeout(), Some(t0 + T4));
        let (sends, _) = run_until(&mut tx, t0, Duration::from_secs(10));
        assert!(sends.is_empty());
        assert!(tx.is_terminated());
    }

    #[test]
    fn invite_server_retransmits_final_until_ack_timer_g_h_i() {
        let t0 = Instant::now();
        let mut tx = Transaction::server(TxKind::InviteServer, addr());
        let mut out = Vec::new();
        tx.respond(t0, 180, b"180".to_vec(), &mut out);
        tx.on_request_retransmit(&mut out);
        assert_eq!(out.len(), 2);
        out.clear();
        tx.respond(t0, 486, b"486".to_vec(), &mut out);
        let mut probe = tx.clone();
        let (sends, timed_out) = run_until(&mut probe, t0, Duration::from_secs(40));
        let ms: Vec<u128> = sends.iter().map(|d| d.as_millis()).collect();
        assert_eq!(
            &ms[..5],
            &[500, 1500, 3500, 7500, 11500],
            "timer G capped at T2"
        );
        assert!(timed_out, "timer H without ACK");
        tx.on_ack(t0 + Duration::from_secs(1));
        assert_eq!(tx.state, TxState::Confirmed);
        let (sends, timed_out) = run_until(&mut tx, t0, Duration::from_secs(10));
        assert!(sends.is_empty() && !timed_out);
        assert!(tx.is_terminated(), "timer I");
    }

    #[test]
    fn non_invite_server_absorbs_retransmits_until_timer_j() {
        let t0 = Instant::now();
        let mut tx = Transaction::server(TxKind::NonInviteServer, addr());
        let mut out = Vec::new();
        tx.respond(t0, 200, b"200".to_vec(), &mut out);
        tx.on_request_retransmit(&mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(tx.poll_timeout(), Some(t0 + 64 * T1));
        let (sends, _) = run_until(&mut tx, t0, Duration::from_secs(40));
        assert!(sends.is_empty());
        assert!(tx.is_terminated());
    }
}
