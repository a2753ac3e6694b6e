//! RTP media: packet format, G.711, RFC 4733 DTMF, jitter buffer, and the paced session.
pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod packet;
pub mod session;
