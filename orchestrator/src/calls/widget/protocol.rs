//! The widget's wire protocol (docs/widget.md): JSON control messages as text frames and PCM16
//! little-endian mono audio as binary frames, 16 kHz both ways.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calls::types::{CallEvent, CallEventKind, CallOutcome, CallState, Speaker};

/// Audio rate in both directions.
pub const WIDGET_RATE: u32 = 16000;

/// A text frame from the browser.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Opens the call. Must be the first message.
    Start {
        /// Rate of the audio the browser will send; only 16000 is accepted.
        #[serde(default = "default_rate")]
        sample_rate: u32,
        /// The page's own id for the visitor (stored as the call's caller), ≤ 64 characters.
        #[serde(default)]
        visitor_id: Option<String>,
    },
    /// The visitor ended the call.
    Stop,
    /// A key pressed on the widget's keypad (0-9, *, #).
    Dtmf { digit: String },
}

fn default_rate() -> u32 {
    WIDGET_RATE
}

/// A text frame to the browser.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The call is up: audio may flow.
    Ready { call_id: Uuid, sample_rate: u32 },
    /// Call state: `active`, `holding`, `transferring`, `ended`.
    State { state: CallState },
    /// What the visitor said: partials while speaking, then the final line.
    Transcript {
        text: String,
        is_final: bool,
        language: Option<String>,
    },
    /// What the bot is saying (`is_final`: the whole line once it has been spoken).
    BotText {
        text: String,
        is_final: bool,
        interrupted: bool,
    },
    /// Drop any bot audio not played yet (the visitor barged in).
    Clear,
    /// A transfer to a human started (`ok: null`) or ended.
    Transfer { target: String, ok: Option<bool> },
    /// The call is over; the socket closes next.
    Ended {
        outcome: CallOutcome,
        reason: String,
    },
    /// Something the browser did wrong or the server refused; `code` is stable.
    Error { code: String, message: String },
}

/// Why a socket is closed: a WebSocket close code (4000-4999: application) and a stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The call ended normally (1000).
    Ended,
    BadMessage,
    BadKey,
    OriginNotAllowed,
    UnknownSite,
    Timeout,
    FrameTooLarge,
    TooManySessions,
    TooFast,
    Unavailable,
    Internal,
}

impl CloseReason {
    pub fn code(self) -> u16 {
        match self {
            CloseReason::Ended => 1000,
            CloseReason::BadMessage => 4400,
            CloseReason::BadKey => 4401,
            CloseReason::OriginNotAllowed => 4403,
            CloseReason::UnknownSite => 4404,
            CloseReason::Timeout => 4408,
            CloseReason::FrameTooLarge => 4413,
            CloseReason::TooManySessions | CloseReason::TooFast => 4429,
            CloseReason::Internal => 4500,
            CloseReason::Unavailable => 4503,
        }
    }

    /// Stable machine-readable name, used as `code` in the `error` message.
    pub fn name(self) -> &'static str {
        match self {
            CloseReason::Ended => "ended",
            CloseReason::BadMessage => "bad_message",
            CloseReason::BadKey => "bad_key",
            CloseReason::OriginNotAllowed => "origin_not_allowed",
            CloseReason::UnknownSite => "unknown_site",
            CloseReason::Timeout => "timeout",
            CloseReason::FrameTooLarge => "frame_too_large",
            CloseReason::TooManySessions => "too_many_sessions",
            CloseReason::TooFast => "too_fast",
            CloseReason::Unavailable => "unavailable",
            CloseReason::Internal => "internal",
        }
    }
}

/// A refusal or a protocol violation: closes the socket with `reason` after an `error`
/// message carrying `message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", reason.name())]
pub struct Refusal {
    pub reason: CloseReason,
    pub message: String,
}

impl Refusal {
    pub fn new(reason: CloseReason, message: impl Into<String>) -> Self {
        Refusal {
            reason,
            message: message.into(),
        }
    }

    pub fn to_message(&self) -> ServerMessage {
        ServerMessage::Error {
            code: self.reason.name().to_string(),
            message: self.message.clone(),
        }
    }

    /// The close frame's reason text: the name and as much of the message as fits in the 123
    /// bytes a close frame allows.
    pub fn close_text(&self) -> String {
        let mut s = format!("{}: {}", self.reason.name(), self.message);
        if s.len() > 123 {
            let mut cut = 120;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push_str("...");
        }
        s
    }
}

/// A call event as the browser should see it; `None` for events the widget does not show.
pub fn event_message(ev: &CallEvent) -> Option<ServerMessage> {
    Some(match &ev.kind {
        CallEventKind::State { state } => ServerMessage::State { state: *state },
        CallEventKind::Partial { text } => ServerMessage::Transcript {
            text: text.clone(),
            is_final: false,
            language: None,
        },
        CallEventKind::Turn { turn } if turn.speaker == Speaker::Caller => {
            ServerMessage::Transcript {
                text: turn.text.clone(),
                is_final: true,
                language: Some(turn.language.clone()),
            }
        }
        CallEventKind::Turn { turn } => ServerMessage::BotText {
            text: turn.text.clone(),
            is_final: true,
            interrupted: turn.interrupted,
        },
        CallEventKind::BotSpeaking { text } => ServerMessage::BotText {
            text: text.clone(),
            is_final: false,
            interrupted: false,
        },
        CallEventKind::Transfer { target, ok, .. } => ServerMessage::Transfer {
            target: target.clone(),
            ok: *ok,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_and_unknown_ones_are_errors() {
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"start","visitor_id":"v-1"}"#).unwrap();
        assert_eq!(
            m,
            ClientMessage::Start {
                sample_rate: 16000,
                visitor_id: Some("v-1".into())
            }
        );
        assert_eq!(
            serde_json::from_str::<ClientMessage>(r#"{"type":"stop"}"#).unwrap(),
            ClientMessage::Stop
        );
        for bad in [
            r#"{"type":"dance"}"#,
            r#"{"type":"start","extra":1}"#,
            "not json",
            r#"{"type":"dtmf"}"#,
        ] {
            assert!(serde_json::from_str::<ClientMessage>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_messages_are_snake_case_json() {
        let v = serde_json::to_value(ServerMessage::Transcript {
            text: "hi".into(),
            is_final: true,
            language: Some("en".into()),
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "transcript", "text": "hi", "is_final": true, "language": "en"})
        );
        let v = serde_json::to_value(ServerMessage::State {
            state: CallState::Holding,
        })
        .unwrap();
        assert_eq!(v, serde_json::json!({"type": "state", "state": "holding"}));
    }

    #[test]
    fn close_text_fits_a_close_frame() {
        let r = Refusal::new(CloseReason::OriginNotAllowed, "é".repeat(200));
        let t = r.close_text();
        assert!(
            t.len() <= 123 && t.starts_with("origin_not_allowed: "),
            "{t}"
        );
        assert_eq!(r.reason.code(), 4403);
    }
}
