//! Per-step wall-clock budget and the `now()` calendar fields.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const PAUSED: u64 = u64::MAX;

/// Measures script time between host calls: paused while a host call blocks.
pub(crate) struct StepClock {
    base: Instant,
    /// Nanoseconds since `base` when the current step started, or PAUSED.
    step_start: AtomicU64,
    budget: Duration,
}

impl StepClock {
    pub(crate) fn new(budget: Duration) -> Self {
        let base = Instant::now();
        Self {
            base,
            step_start: AtomicU64::new(0),
            budget,
        }
    }
    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }
    pub(crate) fn pause(&self) {
        self.step_start.store(PAUSED, Ordering::Relaxed);
    }
    pub(crate) fn resume(&self) {
        self.step_start.store(self.now_ns(), Ordering::Relaxed);
    }
    /// True when the running step has used up its budget.
    pub(crate) fn exceeded(&self) -> bool {
        let start = self.step_start.load(Ordering::Relaxed);
        start != PAUSED && self.now_ns().saturating_sub(start) > self.budget.as_nanos() as u64
    }
}

/// Lets the orchestrator stop a running flow (caller gone, shutdown). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    /// The script stops at its next operation with `FlowErrorKind::Cancelled`.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Calendar fields of a local time.
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    /// 1 = Monday ... 7 = Sunday.
    pub weekday: u32,
}

/// Convert unix milliseconds + offset to local calendar fields (Howard Hinnant's algorithm).
pub(crate) fn civil(unix_ms: i64, utc_offset_minutes: i32) -> Civil {
    let secs = unix_ms.div_euclid(1000) + i64::from(utc_offset_minutes) * 60;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    // 1970-01-01 was a Thursday (4).
    let weekday = ((days + 3).rem_euclid(7) + 1) as u32;
    Civil {
        year,
        month,
        day,
        hour: (sod / 3600) as u32,
        minute: ((sod % 3600) / 60) as u32,
        weekday,
    }
}

/// Inverse of [`civil`] for "YYYY-MM-DDTHH:MM" local times (simulator clocks).
pub(crate) fn parse_local(s: &str, utc_offset_minutes: i32) -> Option<i64> {
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, dd) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm) = (t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&dd) || hh > 23 || mm > 59 {
        return None;
    }
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60) - i64::from(utc_offset_minutes) * 60) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_in_ist() {
        let ms = parse_local("2026-01-05T11:30", 330).unwrap();
        let c = civil(ms, 330);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.weekday),
            (2026, 1, 5, 11, 30, 1)
        );
        // 11:30 IST is 06:00 UTC.
        assert_eq!(civil(ms, 0).hour, 6);
        assert!(parse_local("2026-13-01T00:00", 0).is_none());
    }
}
