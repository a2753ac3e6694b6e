//! Circuit breaker: after N consecutive failures the brain is not asked for a cool-down, so a
//! dead brain costs callers no timeout each; then one probe decides. Time is passed in (tests).

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is out.
    HalfOpen,
}

/// Shared by all calls of one site.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// Whether a request may go out now.
    pub fn allow(&self, now: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *s {
            State::Closed { .. } => true,
            State::Open { until } if now >= until => {
                *s = State::HalfOpen;
                true
            }
            State::Open { .. } | State::HalfOpen => false,
        }
    }

    pub fn success(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = State::Closed { failures: 0 };
    }

    pub fn failure(&self, now: Instant) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *s = match *s {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            _ => State::Open {
                until: now + self.cooldown,
            },
        };
    }

    pub fn is_open(&self) -> bool {
        !matches!(
            *self.state.lock().unwrap_or_else(|p| p.into_inner()),
            State::Closed { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_probes_after_cooldown() {
        let b = Breaker::new(3, Duration::from_secs(10));
        let t = Instant::now();
        for _ in 0..2 {
            assert!(b.allow(t));
            b.failure(t);
        }
        assert!(b.allow(t) && !b.is_open());
        b.failure(t);
        assert!(b.is_open() && !b.allow(t + Duration::from_secs(9)));
        assert!(b.allow(t + Duration::from_secs(10)), "one probe");
        assert!(!b.allow(t + Duration::from_secs(10)), "only one");
        b.failure(t + Duration::from_secs(10));
        assert!(!b.allow(t + Duration::from_secs(15)));
        assert!(b.allow(t + Duration::from_secs(21)));
        b.success();
        assert!(!b.is_open() && b.allow(t + Duration::from_secs(21)));
    }
}
