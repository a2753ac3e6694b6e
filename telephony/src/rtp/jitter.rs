//! Receive jitter buffer: reorders by sequence number, holds a small playout delay, and
//! reports a gap (to be concealed with silence) when a packet is missing at playout time.

use std::collections::BTreeMap;

/// Samples decoded from one RTP packet.
pub type Samples = Vec<i16>;

/// Outcome of one playout tick.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout {
    /// Not primed yet, or drained after the stream stopped.
    Nothing,
    /// The next packet in sequence.
    Packet(Samples),
    /// The expected packet is missing but later ones exist: conceal this slot.
    Lost,
}

/// Sequence-ordered buffer with a fixed target depth (in packets).
#[derive(Debug)]
pub struct JitterBuffer {
    depth: usize,
    capacity: usize,
    packets: BTreeMap<u64, Samples>,
    next: Option<u64>,
    highest: Option<u64>,
    primed: bool,
    /// Packets that arrived after their playout slot had passed.
    pub late: u64,
    /// Slots concealed because the packet never came.
    pub lost: u64,
}

impl JitterBuffer {
    pub fn new(depth: usize) -> Self {
        JitterBuffer {
            depth,
            capacity: 64,
            packets: BTreeMap::new(),
            next: None,
            highest: None,
            primed: false,
            late: 0,
            lost: 0,
        }
    }

    /// Extend a 16-bit sequence number against the highest seen one (RFC 3550 A.1 style).
    fn extend(&self, seq: u16) -> u64 {
        let Some(h) = self.highest else {
            return (1u64 << 16) + seq as u64;
        };
        let cand = (h & !0xFFFF) | seq as u64;
        let d = cand as i64 - h as i64;
        if d > 0x8000 {
            cand - 0x10000
        } else if d < -0x8000 {
            cand + 0x10000
        } else {
            cand
        }
    }

    pub fn push(&mut self, seq: u16, samples: Samples) {
        let ext = self.extend(seq);
        if let Some(n) = self.next
            && ext < n
        {
            self.late += 1;
            return;
        }
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        if self.next.is_none() {
            self.next = Some(ext);
        }
        self.packets.insert(ext, samples);
        while self.packets.len() > self.capacity {
            let (&first, _) = self.packets.iter().next().unwrap_or((&0, &Vec::new()));
            self.packets.remove(&first);
            self.next = Some(first + 1);
        }
        if self.packets.len() >= self.depth {
            self.primed = true;
        }
    }

    /// Forget everything (new SSRC / re-INVITE to a new source).
    pub fn reset(&mut self) {
        *self = JitterBuffer::new(self.depth);
    }

    /// Take what plays in the next 20 ms slot.
    pub fn pop(&mut self) -> Playout {
        let Some(n) = self.next else {
            return Playout::Nothing;
        };
        if !self.primed {
            return Playout::Nothing;
        }
        if let Some(s) = self.packets.remove(&n) {
            self.next = Some(n + 1);
            return Playout::Packet(s);
        }
        if self.packets.is_empty() {
            // stream paused (silence suppression/hold): rebuild the delay when it resumes
            self.primed = false;
            return Playout::Nothing;
        }
        self.next = Some(n + 1);
        self.lost += 1;
        Playout::Lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorders_and_conceals_loss() {
        let mut jb = JitterBuffer::new(2);
        jb.push(10, vec![10]);
        assert_eq!(jb.pop(), Playout::Nothing, "not primed with one packet");
        jb.push(12, vec![12]);
        jb.push(11, vec![11]);
        assert_eq!(jb.pop(), Playout::Packet(vec![10]));
        assert_eq!(jb.pop(), Playout::Packet(vec![11]));
        assert_eq!(jb.pop(), Playout::Packet(vec![12]));
        jb.push(14, vec![14]);
        jb.push(15, vec![15]);
        assert_eq!(jb.pop(), Playout::Lost);
        assert_eq!(jb.pop(), Playout::Packet(vec![14]));
        jb.push(13, vec![13]);
        assert_eq!(jb.late, 1);
        assert_eq!(jb.lost, 1);
    }

    #[test]
    fn sequence_wraps() {
        let mut jb = JitterBuffer::new(1);
        jb.push(65535, vec![1]);
        jb.push(0, vec![2]);
        assert_eq!(jb.pop(), Playout::Packet(vec![1]));
        assert_eq!(jb.pop(), Playout::Packet(vec![2]));
    }
}
