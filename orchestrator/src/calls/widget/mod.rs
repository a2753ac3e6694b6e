//! Website voice-widget calls: a browser's WebSocket as one more call transport in the same
//! call-session system as SIP (same flows, brains, holding messages, analytics).

pub mod bridge;
pub mod gateway;
pub mod media;
pub mod pacer;
pub mod protocol;
pub mod rate2x;

pub use gateway::{SocketOrigin, WidgetCall, WidgetGateway};
pub use media::Outgoing;
pub use protocol::{ClientMessage, CloseReason, Refusal, ServerMessage};
