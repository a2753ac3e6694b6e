//! RTP fixed header (RFC 3550 §5.1): parse and write, no extensions interpreted.

/// A received RTP packet (payload borrowed from the datagram).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parse; `None` for anything that is not RTP version 2 with a sane header.
    pub fn parse(b: &'a [u8]) -> Option<Self> {
        if b.len() < 12 || b[0] >> 6 != 2 {
            return None;
        }
        let cc = (b[0] & 0x0F) as usize;
        let mut off = 12 + cc * 4;
        if b[0] & 0x10 != 0 {
            let ext = b.get(off..off + 4)?;
            off += 4 + u16::from_be_bytes([ext[2], ext[3]]) as usize * 4;
        }
        let mut end = b.len();
        if b[0] & 0x20 != 0 {
            let pad = *b.last()? as usize;
            end = end.checked_sub(pad)?;
        }
        if off > end {
            return None;
        }
        Some(RtpPacket {
            marker: b[1] & 0x80 != 0,
            payload_type: b[1] & 0x7F,
            seq: u16::from_be_bytes([b[2], b[3]]),
            timestamp: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            payload: &b[off..end],
        })
    }

    /// Serialise into `out` (cleared first).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.clear();
        out.push(0x80);
        out.push((self.marker as u8) << 7 | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_parse() {
        let p = RtpPacket {
            marker: true,
            payload_type: 8,
            seq: 65535,
            timestamp: 160,
            ssrc: 7,
            payload: &[1, 2, 3],
        };
        let mut buf = Vec::new();
        p.write(&mut buf);
        assert_eq!(RtpPacket::parse(&buf), Some(p));
        assert_eq!(RtpPacket::parse(&buf[..11]), None);
        assert_eq!(RtpPacket::parse(&[0u8; 20]), None);
    }
}
