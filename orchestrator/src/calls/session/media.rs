//! What a session needs from its transport (SIP leg or widget socket): audio in as PCM frames
//! with DTMF and hangup events, audio out, hangup and transfer. The session is written against
//! this, so the same loop serves SIP and widget calls.

use std::future::Future;

/// Something the transport reports to the session.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// Caller audio, mono PCM at [`MediaPort::sample_rate`] (any frame length).
    Audio(Vec<i16>),
    Dtmf(char),
    /// The far end went away (BYE, socket closed).
    Hangup {
        cause: String,
    },
    /// Result of [`MediaPort::transfer`]: `true` when the target took the call.
    TransferResult {
        ok: bool,
        detail: String,
    },
}

/// The transport failed to carry out a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("media: {0}")]
pub struct MediaError(pub String);

/// Commands from the session to its transport.
pub trait MediaPort: Send + Sync + 'static {
    /// Sample rate of audio in both directions.
    fn sample_rate(&self) -> u32;
    /// Queues PCM after what is already queued; returns once queued (the transport paces it).
    fn play(&self, pcm: Vec<i16>) -> impl Future<Output = Result<(), MediaError>> + Send;
    /// Drops queued audio now (barge-in).
    fn clear(&self) -> impl Future<Output = Result<(), MediaError>> + Send;
    fn hangup(&self) -> impl Future<Output = Result<(), MediaError>> + Send;
    /// Starts a blind transfer to `destination` (a SIP URI or E.164 number); the result comes
    /// back as [`MediaEvent::TransferResult`].
    fn transfer(&self, destination: &str) -> impl Future<Output = Result<(), MediaError>> + Send;
}
