//! vaarta-telephony: Vaarta's SIP user agent (on `rsip`) and RTP media.
//!
//! The protocol cores are sans-IO state machines ([`sip::endpoint::Endpoint`],
//! [`rtp::session::MediaSession`]) driven with datagrams and `Instant`s; [`shell`] runs them
//! on tokio UDP sockets and exposes the [`Telephony`] handle plus an [`Event`] stream.
pub mod config;
pub mod rtp;
pub mod sdp;
pub mod sip;

pub use config::{TelephonyConfig, TrunkConfig};
pub use rtp::session::{FRAME_SAMPLES, Frame, MediaStats};
pub use sip::endpoint::{CallId, DialRequest, HangupCause, RegistrationState, TransferResult};
pub mod shell;

pub use shell::{
    AudioReceiver, Event, IncomingCall, OutgoingCall, Stats, Telephony, TelephonyError,
};
