//! RFC 4733 telephone-event payloads: DTMF digits in RTP.

/// The event code (0–15) for a DTMF character.
pub fn digit_to_event(c: char) -> Option<u8> {
    Some(match c {
        '0'..='9' => c as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A'..='D' => 12 + (c as u8 - b'A'),
        'a'..='d' => 12 + (c as u8 - b'a'),
        _ => return None,
    })
}

/// The DTMF character for an event code.
pub fn event_to_digit(e: u8) -> Option<char> {
    Some(match e {
        0..=9 => (b'0' + e) as char,
        10 => '*',
        11 => '#',
        12..=15 => (b'A' + e - 12) as char,
        _ => return None,
    })
}

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    pub event: u8,
    pub end: bool,
    pub volume: u8,
    pub duration: u16,
}

impl DtmfEvent {
    pub fn parse(p: &[u8]) -> Option<Self> {
        if p.len() < 4 {
            return None;
        }
        Some(DtmfEvent {
            event: p[0],
            end: p[1] & 0x80 != 0,
            volume: p[1] & 0x3F,
            duration: u16::from_be_bytes([p[2], p[3]]),
        })
    }
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (self.end as u8) << 7 | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }
}

/// Receiver side: reports each digit once, when its end packet (or first packet) arrives.
/// Keyed by the event's RTP timestamp, so the three redundant end packets count once.
#[derive(Debug, Default)]
pub struct DtmfDetector {
    last_ts: Option<u32>,
}

impl DtmfDetector {
    /// Feed a telephone-event packet; returns a digit when a new event ends.
    pub fn feed(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let ev = DtmfEvent::parse(payload)?;
        if !ev.end || self.last_ts == Some(timestamp) {
            return None;
        }
        self.last_ts = Some(timestamp);
        event_to_digit(ev.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_packets_report_once() {
        let mut d = DtmfDetector::default();
        let start = DtmfEvent {
            event: 5,
            end: false,
            volume: 10,
            duration: 160,
        }
        .to_bytes();
        let end = DtmfEvent {
            event: 5,
            end: true,
            volume: 10,
            duration: 800,
        }
        .to_bytes();
        assert_eq!(d.feed(1000, &start), None);
        assert_eq!(d.feed(1000, &end), Some('5'));
        assert_eq!(d.feed(1000, &end), None);
        assert_eq!(
            d.feed(
                3000,
                &DtmfEvent {
                    event: 11,
                    end: true,
                    volume: 10,
                    duration: 800
                }
                .to_bytes()
            ),
            Some('#')
        );
        assert_eq!(digit_to_event('*'), Some(10));
        assert_eq!(d.feed(1, &[1]), None);
    }
}
