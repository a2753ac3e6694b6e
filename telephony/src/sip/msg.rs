//! SIP message view: parsed by `rsip`, flattened to (name, value) pairs so the
//! transaction and dialog layers can read any header without caring about rsip's
//! typed/untyped split. Outgoing messages are built as text with [`MsgBuilder`].

use std::fmt::Write as _;

/// Largest datagram accepted; larger ones are counted and dropped (RFC 3261 §18.1.1 MTU rules).
pub const MAX_DATAGRAM: usize = 8 * 1024;

/// Why a datagram was not accepted as a SIP message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("datagram of {0} bytes exceeds the {MAX_DATAGRAM} byte limit")]
    Oversized(usize),
    #[error("not a SIP message: {0}")]
    Malformed(String),
    #[error("missing mandatory header {0}")]
    MissingHeader(&'static str),
}

/// Start line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request { method: String, uri: String },
    Response { code: u16, reason: String },
}

/// A parsed SIP message with the mandatory headers checked to be present.
#[derive(Debug, Clone)]
pub struct SipMsg {
    pub start: StartLine,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn canonical(name: &str) -> String {
    // compact forms (RFC 3261 §7.3.3)
    let n = name.trim();
    let full = match n.to_ascii_lowercase().as_str() {
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "i" => "call-id",
        "m" => "contact",
        "l" => "content-length",
        "c" => "content-type",
        "k" => "supported",
        "o" => "event",
        "r" => "refer-to",
        other => return other.to_string(),
    };
    full.to_string()
}

impl SipMsg {
    /// Parse a datagram. Never panics; every failure is a typed error.
    pub fn parse(bytes: &[u8]) -> Result<SipMsg, ParseError> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(ParseError::Oversized(bytes.len()));
        }
        let parsed = std::panic::catch_unwind(|| rsip::SipMessage::try_from(bytes))
            .map_err(|_| ParseError::Malformed("parser panicked".into()))?
            .map_err(|e| ParseError::Malformed(e.to_string()))?;
        let (start, headers, body) = match parsed {
            rsip::SipMessage::Request(r) => (
                StartLine::Request {
                    method: r.method.to_string(),
                    uri: r.uri.to_string(),
                },
                r.headers,
                r.body,
            ),
            rsip::SipMessage::Response(r) => {
                let code: u16 = r.status_code.code();
                let reason = r.status_code.to_string();
                let reason = reason
                    .split_once(' ')
                    .map(|(_, r)| r.to_string())
                    .unwrap_or_default();
                (StartLine::Response { code, reason }, r.headers, r.body)
            }
        };
        let mut out = Vec::new();
        for h in headers.iter() {
            let text = h.to_string();
            let Some((name, value)) = text.split_once(':') else {
                continue;
            };
            let name = canonical(name);
            // a header line may carry several comma separated Vias; split them so the top Via is alone
            if name == "via" {
                for v in split_commas(value) {
                    out.push((name.clone(), v.trim().to_string()));
                }
            } else {
                out.push((name, value.trim().to_string()));
            }
        }
        let msg = SipMsg {
            start,
            headers: out,
            body,
        };
        for h in ["via", "from", "to", "call-id", "cseq"] {
            if msg.header(h).is_none() {
                return Err(ParseError::MissingHeader(h));
            }
        }
        if msg.cseq().is_none() {
            return Err(ParseError::Malformed("bad CSeq".into()));
        }
        Ok(msg)
    }

    /// First value of a header (lower-case full name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    /// All values of a header, in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            _ => None,
        }
    }
    pub fn code(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            _ => None,
        }
    }
    pub fn call_id(&self) -> &str {
        self.header("call-id").unwrap_or_default()
    }
    /// (sequence number, method)
    pub fn cseq(&self) -> Option<(u32, String)> {
        let v = self.header("cseq")?;
        let mut it = v.split_whitespace();
        let n = it.next()?.parse().ok()?;
        let m = it.next()?.to_string();
        Some((n, m))
    }
    pub fn top_via(&self) -> &str {
        self.header("via").unwrap_or_default()
    }
    /// Branch parameter of the top Via: the transaction key (RFC 3261 §17.2.3).
    pub fn branch(&self) -> String {
        param(self.top_via(), "branch").unwrap_or_default()
    }
    pub fn from_tag(&self) -> Option<String> {
        param(self.header("from")?, "tag")
    }
    pub fn to_tag(&self) -> Option<String> {
        param(self.header("to")?, "tag")
    }
    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or_default()
    }
}

/// Split on commas that are not inside quotes or angle brackets.
pub fn split_commas(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth <= 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// A `;name=value` parameter of a header value, outside any `<...>` part.
pub fn param(value: &str, name: &str) -> Option<String> {
    let tail = match value.rfind('>') {
        Some(i) => &value[i + 1..],
        None => value,
    };
    for p in tail.split(';').skip(1) {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        if k.trim().eq_ignore_ascii_case(name) {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

/// The URI inside a name-addr (`"x" <sip:a@b>;tag=1` → `sip:a@b`) or an addr-spec.
pub fn addr_uri(value: &str) -> String {
    if let (Some(a), Some(b)) = (value.find('<'), value.find('>'))
        && a < b
    {
        return value[a + 1..b].trim().to_string();
    }
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The user part of a SIP URI (`sip:alice@host` → `alice`).
pub fn uri_user(uri: &str) -> String {
    let u = uri
        .trim_start_matches("sips:")
        .trim_start_matches("sip:")
        .trim_start_matches("tel:");
    match u.split_once('@') {
        Some((user, _)) => user.split(';').next().unwrap_or_default().to_string(),
        None => String::new(),
    }
}

/// host:port of a SIP URI (default port 5060), for sending to a Contact or Request-URI.
pub fn uri_host_port(uri: &str) -> Option<(String, u16)> {
    let u = uri.trim_start_matches("sips:").trim_start_matches("sip:");
    let hp = u.split_once('@').map(|(_, h)| h).unwrap_or(u);
    let hp = hp.split([';', '?', '>']).next()?;
    if hp.is_empty() {
        return None;
    }
    match hp.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
            Some((h.to_string(), p.parse().ok()?))
        }
        _ => Some((hp.to_string(), 5060)),
    }
}

/// Text builder for outgoing messages; Content-Length is always computed.
#[derive(Debug, Clone)]
pub struct MsgBuilder {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl MsgBuilder {
    pub fn request(method: &str, uri: &str) -> Self {
        Self {
            start: format!("{method} {uri} SIP/2.0"),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
    pub fn response(code: u16, reason: &str) -> Self {
        Self {
            start: format!("SIP/2.0 {code} {reason}"),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
    /// A response to `req` copying Via/From/To/Call-ID/CSeq (RFC 3261 §8.2.6.2); `to_tag` is
    /// added to To when it has none.
    pub fn response_to(req: &SipMsg, code: u16, to_tag: Option<&str>) -> Self {
        let mut b = Self::response(code, reason_phrase(code));
        for (n, v) in &req.headers {
            match n.as_str() {
                "via" | "from" | "call-id" | "cseq" | "record-route" => b = b.header(n, v),
                "to" => {
                    let mut v = v.clone();
                    if let Some(t) = to_tag
                        && param(&v, "tag").is_none()
                    {
                        let _ = write!(v, ";tag={t}");
                    }
                    b = b.header("to", &v)
                }
                _ => {}
            }
        }
        b
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((pretty(name), value.to_string()));
        self
    }
    pub fn body(mut self, content_type: &str, body: &[u8]) -> Self {
        self.headers
            .push(("Content-Type".into(), content_type.into()));
        self.body = body.to_vec();
        self
    }
    pub fn build(&self) -> Vec<u8> {
        let mut s = String::with_capacity(512 + self.body.len());
        let _ = write!(s, "{}\r\n", self.start);
        for (n, v) in &self.headers {
            let _ = write!(s, "{n}: {v}\r\n");
        }
        let _ = write!(s, "Content-Length: {}\r\n\r\n", self.body.len());
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

fn pretty(name: &str) -> String {
    match name {
        "call-id" => "Call-ID".into(),
        "cseq" => "CSeq".into(),
        "www-authenticate" => "WWW-Authenticate".into(),
        _ => name
            .split('-')
            .map(|p| {
                let mut c = p.chars();
                match c.next() {
                    Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

/// Standard reason phrases for the codes this agent sends.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        603 => "Decline",
        _ => "Unknown",
    }
}

/// Random token for tags, branches and Call-IDs.
pub fn random_token(len: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut r = rand::rng();
    (0..len)
        .map(|_| CHARS[r.random_range(0..CHARS.len())] as char)
        .collect()
}

/// A new RFC 3261 branch (magic cookie prefix).
pub fn new_branch() -> String {
    format!("z9hG4bK{}", random_token(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc;rport\r\nMax-Forwards: 70\r\nFrom: \"Alice\" <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: c1@x\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn parses_invite_headers() {
        let m = SipMsg::parse(INVITE.as_bytes()).unwrap();
        assert_eq!(m.method(), Some("INVITE"));
        assert_eq!(m.branch(), "z9hG4bKabc");
        assert_eq!(m.from_tag().as_deref(), Some("a1"));
        assert_eq!(m.to_tag(), None);
        assert_eq!(m.cseq(), Some((1, "INVITE".into())));
        assert_eq!(
            addr_uri(m.header("contact").unwrap()),
            "sip:alice@127.0.0.1:5070"
        );
        assert_eq!(
            uri_host_port("sip:alice@127.0.0.1:5070;transport=udp"),
            Some(("127.0.0.1".into(), 5070))
        );
        assert_eq!(uri_user("sip:alice@127.0.0.1:5070"), "alice");
    }

    #[test]
    fn response_copies_dialog_headers_and_adds_tag() {
        let m = SipMsg::parse(INVITE.as_bytes()).unwrap();
        let r = MsgBuilder::response_to(&m, 486, Some("t9")).build();
        let p = SipMsg::parse(&r).unwrap();
        assert_eq!(p.code(), Some(486));
        assert_eq!(p.to_tag().as_deref(), Some("t9"));
        assert_eq!(p.branch(), "z9hG4bKabc");
    }

    #[test]
    fn rejects_garbage_and_oversized() {
        assert!(matches!(
            SipMsg::parse(b"hello"),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            SipMsg::parse(&vec![b'a'; MAX_DATAGRAM + 1]),
            Err(ParseError::Oversized(_))
        ));
        let no_callid = INVITE.replace("Call-ID: c1@x\r\n", "");
        assert!(SipMsg::parse(no_callid.as_bytes()).is_err());
    }
}
