//! SDP offer/answer for one audio stream (RFC 3264): G.711 µ-law (PT 0), A-law (PT 8) and
//! RFC 4733 telephone-event. Only what a telephony trunk needs; anything else is declined.

use std::net::{IpAddr, SocketAddr};

/// Audio codecs this agent speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }
}

/// Media direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    /// The direction to answer with (RFC 3264 §6.1).
    pub fn reverse(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// The negotiated (or offered) audio stream of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDesc {
    /// Where this side receives RTP. Port 0 means the stream is rejected.
    pub addr: SocketAddr,
    /// Codecs in preference order.
    pub codecs: Vec<Codec>,
    /// telephone-event payload type, when offered.
    pub dtmf_pt: Option<u8>,
    pub direction: Direction,
}

impl MediaDesc {
    /// Our offer: both G.711 laws and telephone-event on PT 101.
    pub fn local_offer(addr: SocketAddr) -> Self {
        MediaDesc {
            addr,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            dtmf_pt: Some(101),
            direction: Direction::SendRecv,
        }
    }

    /// Whether the peer put us on hold (RFC 3264 §8.4: sendonly/inactive or c=0.0.0.0).
    pub fn is_hold(&self) -> bool {
        self.addr.ip().is_unspecified()
            || matches!(self.direction, Direction::SendOnly | Direction::Inactive)
    }

    /// Render as an SDP body. `session_version` increases with every re-offer/answer change.
    pub fn to_sdp(&self, session_id: u64, session_version: u64) -> String {
        let ip = self.addr.ip();
        let fam = if ip.is_ipv4() { "IP4" } else { "IP6" };
        let mut pts: Vec<String> = self
            .codecs
            .iter()
            .map(|c| c.payload_type().to_string())
            .collect();
        if let Some(pt) = self.dtmf_pt {
            pts.push(pt.to_string());
        }
        let mut s = format!(
            "v=0\r\no=vaarta {session_id} {session_version} IN {fam} {ip}\r\ns=vaarta\r\nc=IN {fam} {ip}\r\nt=0 0\r\nm=audio {} RTP/AVP {}\r\n",
            self.addr.port(),
            pts.join(" ")
        );
        for c in &self.codecs {
            s += &format!("a=rtpmap:{} {}/8000\r\n", c.payload_type(), c.name());
        }
        if let Some(pt) = self.dtmf_pt {
            s += &format!("a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-16\r\n");
        }
        s += &format!("a=ptime:20\r\na={}\r\n", self.direction.attr());
        s
    }

    /// Parse the first audio stream of an SDP body.
    pub fn parse(sdp: &str) -> Result<MediaDesc, SdpError> {
        let mut session_ip: Option<IpAddr> = None;
        let mut media_ip: Option<IpAddr> = None;
        let mut port: Option<u16> = None;
        let mut pts: Vec<u8> = Vec::new();
        let mut maps: Vec<(u8, String)> = Vec::new();
        let mut direction = Direction::SendRecv;
        let mut in_audio = false;
        let mut seen_audio = false;
        for line in sdp.lines() {
            let line = line.trim_end();
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "c" => {
                    let ip = v
                        .split_whitespace()
                        .nth(2)
                        .and_then(|a| a.split('/').next()?.parse().ok());
                    if in_audio {
                        media_ip = ip;
                    } else if !seen_audio {
                        session_ip = ip;
                    }
                }
                "m" => {
                    if seen_audio {
                        in_audio = false;
                        continue;
                    }
                    let mut it = v.split_whitespace();
                    if it.next() == Some("audio") {
                        in_audio = true;
                        seen_audio = true;
                        port = it.next().and_then(|p| p.split('/').next()?.parse().ok());
                        let _proto = it.next();
                        pts = it.filter_map(|p| p.parse().ok()).collect();
                    } else {
                        in_audio = false;
                    }
                }
                "a" if in_audio || !seen_audio => {
                    if let Some(rest) = v.strip_prefix("rtpmap:") {
                        if let Some((pt, enc)) = rest.split_once(' ')
                            && let Ok(pt) = pt.parse()
                        {
                            maps.push((pt, enc.to_ascii_lowercase()));
                        }
                    } else {
                        match v {
                            "sendrecv" => direction = Direction::SendRecv,
                            "sendonly" => direction = Direction::SendOnly,
                            "recvonly" => direction = Direction::RecvOnly,
                            "inactive" => direction = Direction::Inactive,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        let port = port.ok_or(SdpError::NoAudio)?;
        let ip = media_ip.or(session_ip).ok_or(SdpError::NoConnection)?;
        let mut codecs = Vec::new();
        let mut dtmf_pt = None;
        for pt in pts {
            let enc = maps.iter().find(|(p, _)| *p == pt).map(|(_, e)| e.as_str());
            match (pt, enc) {
                (0, None) => codecs.push(Codec::Pcmu),
                (8, None) => codecs.push(Codec::Pcma),
                (_, Some(e)) if e.starts_with("pcmu/8000") => codecs.push(Codec::Pcmu),
                (_, Some(e)) if e.starts_with("pcma/8000") => codecs.push(Codec::Pcma),
                (_, Some(e)) if e.starts_with("telephone-event/8000") => dtmf_pt = Some(pt),
                _ => {}
            }
        }
        Ok(MediaDesc {
            addr: SocketAddr::new(ip, port),
            codecs,
            dtmf_pt,
            direction,
        })
    }

    /// Our answer to `offer`: the first offered codec we support, telephone-event if offered.
    pub fn answer(offer: &MediaDesc, local: SocketAddr) -> Result<MediaDesc, SdpError> {
        let codec = *offer.codecs.first().ok_or(SdpError::NoCommonCodec)?;
        Ok(MediaDesc {
            addr: local,
            codecs: vec![codec],
            dtmf_pt: offer.dtmf_pt,
            direction: offer.direction.reverse(),
        })
    }
}

/// Why an SDP body could not be used (answered with 488).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdpError {
    #[error("no audio stream in SDP")]
    NoAudio,
    #[error("no connection address in SDP")]
    NoConnection,
    #[error("no common codec (PCMU/PCMA) offered")]
    NoCommonCodec,
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARESIP_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 9 8 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";

    #[test]
    fn answers_first_supported_codec_with_dtmf() {
        let offer = MediaDesc::parse(BARESIP_OFFER).unwrap();
        assert_eq!(offer.codecs, vec![Codec::Pcma, Codec::Pcmu]);
        assert_eq!(offer.dtmf_pt, Some(101));
        assert_eq!(offer.addr, "127.0.0.1:40000".parse().unwrap());
        let ans = MediaDesc::answer(&offer, "127.0.0.1:30000".parse().unwrap()).unwrap();
        let text = ans.to_sdp(1, 1);
        assert!(text.contains("m=audio 30000 RTP/AVP 8 101"), "{text}");
        assert!(text.contains("a=rtpmap:101 telephone-event/8000"));
        assert_eq!(MediaDesc::parse(&text).unwrap(), ans);
    }

    #[test]
    fn hold_offer_is_answered_recvonly() {
        let hold = BARESIP_OFFER.replace("a=sendrecv", "a=sendonly");
        let offer = MediaDesc::parse(&hold).unwrap();
        assert!(offer.is_hold());
        let ans = MediaDesc::answer(&offer, "127.0.0.1:1".parse().unwrap()).unwrap();
        assert_eq!(ans.direction, Direction::RecvOnly);
    }

    #[test]
    fn no_g711_is_rejected() {
        let offer = MediaDesc::parse(&BARESIP_OFFER.replace("9 8 0 101", "9 101")).unwrap();
        assert_eq!(
            MediaDesc::answer(&offer, "127.0.0.1:1".parse().unwrap()),
            Err(SdpError::NoCommonCodec)
        );
        assert_eq!(MediaDesc::parse("v=0\r\n"), Err(SdpError::NoAudio));
    }
}
