//! Sans-IO real-time pacing of bot audio for a widget call: PCM is queued as the session plays
//! it and released in 20 ms frames on the playback clock, a little ahead (`lead`) so the
//! browser's jitter buffer never runs dry. Pacing here (not in the browser) keeps the session's
//! playback timeline true and lets a barge-in drop what the visitor has not heard yet.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Bot audio queue with a playback clock.
#[derive(Debug)]
pub struct Pacer {
    rate: u32,
    frame: usize,
    lead: Duration,
    queue: VecDeque<i16>,
    /// When the next frame is due to start playing; `None` while idle.
    due: Option<Instant>,
}

impl Pacer {
    /// `rate` Hz audio in 20 ms frames, released `lead` before they are due.
    pub fn new(rate: u32, lead: Duration) -> Self {
        Pacer {
            rate,
            frame: (rate / 50) as usize,
            lead,
            queue: VecDeque::new(),
            due: None,
        }
    }

    /// Queues audio after what is queued.
    pub fn push(&mut self, pcm: &[i16]) {
        self.queue.extend(pcm);
    }

    /// Drops queued audio (barge-in); true when something was dropped or may still be playing.
    pub fn clear(&mut self) -> bool {
        let had = !self.queue.is_empty() || self.due.is_some();
        self.queue.clear();
        self.due = None;
        had
    }

    /// Frames to send at `now`, in order.
    pub fn poll(&mut self, now: Instant) -> Vec<Vec<i16>> {
        let mut out = Vec::new();
        if self.queue.is_empty() {
            // Idle once what was sent has played out, so the next message starts on time.
            if self.due.is_some_and(|d| d <= now) {
                self.due = None;
            }
            return out;
        }
        let mut due = match self.due {
            Some(d) if d > now => d,
            // Idle, or the sender fell behind: restart the clock now rather than burst.
            _ => now,
        };
        while !self.queue.is_empty() && due <= now + self.lead {
            let n = self.frame.min(self.queue.len());
            let frame: Vec<i16> = self.queue.drain(..n).collect();
            due += Duration::from_micros(n as u64 * 1_000_000 / self.rate as u64);
            out.push(frame);
        }
        self.due = Some(due);
        out
    }

    /// When [`Pacer::poll`] next has something to do; `None` when idle.
    pub fn next_wake(&self) -> Option<Instant> {
        match self.due {
            Some(d) if !self.queue.is_empty() => Some(d.checked_sub(self.lead).unwrap_or(d)),
            Some(d) => Some(d),
            None => None,
        }
    }

    /// Audio queued and not yet released.
    pub fn queued(&self) -> Duration {
        Duration::from_micros(self.queue.len() as u64 * 1_000_000 / self.rate as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn releases_twenty_ms_frames_on_the_clock_with_a_small_lead() {
        let t0 = Instant::now();
        let mut p = Pacer::new(16000, MS(40));
        p.push(&vec![1; 16000]); // one second
        // At the start: the frame due now plus the two within the 40 ms lead.
        let first = p.poll(t0);
        assert_eq!(first.len(), 3);
        assert!(first.iter().all(|f| f.len() == 320));
        assert_eq!(p.next_wake(), Some(t0 + MS(20)));
        assert!(
            p.poll(t0 + MS(10)).is_empty(),
            "nothing new is due before the next frame"
        );
        assert_eq!(p.poll(t0 + MS(20)).len(), 1);
        // After a full second every frame has gone, and no more than real time + lead was sent.
        let mut sent = 4;
        let mut t = t0 + MS(20);
        while t < t0 + MS(1000) {
            t += MS(5);
            sent += p.poll(t).len();
            assert!(
                sent as u64 * 20 <= (t - t0).as_millis() as u64 + 60,
                "{sent} frames by {:?}",
                t - t0
            );
        }
        assert_eq!(sent, 50);
        assert_eq!(p.queued(), Duration::ZERO);
    }

    #[test]
    fn a_short_tail_goes_out_as_a_short_frame_and_the_pacer_goes_idle() {
        let t0 = Instant::now();
        let mut p = Pacer::new(16000, MS(0));
        p.push(&[7; 330]);
        assert_eq!(
            p.poll(t0).iter().map(Vec::len).collect::<Vec<_>>(),
            vec![320]
        );
        assert_eq!(
            p.poll(t0 + MS(20)).iter().map(Vec::len).collect::<Vec<_>>(),
            vec![10]
        );
        assert!(p.poll(t0 + MS(21)).is_empty());
        assert_eq!(p.next_wake(), None, "idle once the tail has played");
    }

    #[test]
    fn clear_drops_what_was_not_sent_and_restarts_the_clock() {
        let t0 = Instant::now();
        let mut p = Pacer::new(8000, MS(0));
        p.push(&[1; 8000]);
        assert_eq!(p.poll(t0).len(), 1);
        assert!(p.clear());
        assert!(p.poll(t0 + MS(20)).is_empty());
        assert!(!p.clear(), "nothing left to clear");
        p.push(&[2; 160]);
        let f = p.poll(t0 + MS(500));
        assert_eq!(
            f,
            vec![vec![2; 160]],
            "new audio starts at once, not on the old clock"
        );
    }

    #[test]
    fn a_late_poll_does_not_burst_the_backlog() {
        let t0 = Instant::now();
        let mut p = Pacer::new(16000, MS(40));
        p.push(&vec![0; 16000]);
        p.poll(t0);
        // The socket stalled for 300 ms: resume at real time, not 15 frames at once.
        let late = p.poll(t0 + MS(360));
        assert!(late.len() <= 3, "{} frames", late.len());
    }
}
