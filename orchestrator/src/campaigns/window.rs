//! Calling windows: the local days and hours a campaign may dial in, in an IANA time zone
//! (default Asia/Kolkata). Telemarketing windows are clamped to 09:00–21:00 local whatever a
//! campaign asks for. Pure: fed a UTC instant, answers whether it is open and when it next opens.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

use crate::tenancy::ValidationError;

/// The earliest and latest local times telemarketing calls may be placed.
pub const TELEMARKETING_START: NaiveTime = NaiveTime::from_hms_opt(9, 0, 0).expect("valid");
pub const TELEMARKETING_END: NaiveTime = NaiveTime::from_hms_opt(21, 0, 0).expect("valid");

/// When calls may be placed.
#[derive(Debug, Clone, PartialEq)]
pub struct CallingWindow {
    pub tz: Tz,
    /// Days calls are allowed (empty: every day).
    pub days: Vec<Weekday>,
    /// Local start, inclusive.
    pub start: NaiveTime,
    /// Local end, exclusive; after `start` (windows do not cross midnight).
    pub end: NaiveTime,
}

fn hhmm(field: &str, v: &str) -> Result<NaiveTime, ValidationError> {
    NaiveTime::parse_from_str(v, "%H:%M")
        .map_err(|_| ValidationError::new(field, format!("{v:?} is not a time HH:MM")))
}

impl CallingWindow {
    /// From API values: `tz` an IANA name, `days` ISO weekdays 1 (Monday)..=7, times `HH:MM`.
    /// With `telemarketing` the hours are narrowed to 09:00–21:00.
    pub fn parse(
        tz: &str,
        days: &[u8],
        start: &str,
        end: &str,
        telemarketing: bool,
    ) -> Result<CallingWindow, ValidationError> {
        let tz: Tz = tz.parse().map_err(|_| {
            ValidationError::new(
                "time_zone",
                format!("{tz:?} is not an IANA time zone like Asia/Kolkata"),
            )
        })?;
        let mut start = hhmm("calling_hours.start", start)?;
        let mut end = hhmm("calling_hours.end", end)?;
        if telemarketing {
            start = start.max(TELEMARKETING_START);
            end = end.min(TELEMARKETING_END);
        }
        if end <= start {
            let why = if telemarketing {
                "must be later than start, within 09:00-21:00 for telemarketing"
            } else {
                "must be later than start"
            };
            return Err(ValidationError::new("calling_hours.end", why));
        }
        let mut ds = Vec::new();
        for d in days {
            let day = match d {
                1 => Weekday::Mon,
                2 => Weekday::Tue,
                3 => Weekday::Wed,
                4 => Weekday::Thu,
                5 => Weekday::Fri,
                6 => Weekday::Sat,
                7 => Weekday::Sun,
                _ => {
                    return Err(ValidationError::new(
                        "calling_hours.days",
                        "must list weekdays 1 (Monday) to 7 (Sunday)",
                    ));
                }
            };
            if !ds.contains(&day) {
                ds.push(day);
            }
        }
        Ok(CallingWindow {
            tz,
            days: ds,
            start,
            end,
        })
    }

    fn day_allowed(&self, d: Weekday) -> bool {
        self.days.is_empty() || self.days.contains(&d)
    }

    /// Whether a call may be placed at `at`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz);
        let t = local.time();
        self.day_allowed(local.weekday()) && t >= self.start && t < self.end
    }

    /// `at` when the window is open, else the next instant it opens.
    pub fn next_open(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        if self.contains(at) {
            return at;
        }
        let today = at.with_timezone(&self.tz).date_naive();
        for offset in 0..=14 {
            let day = today + Duration::days(offset);
            if !self.day_allowed(day.weekday()) {
                continue;
            }
            if let Some(open) = self.local_to_utc(day, self.start)
                && open > at
            {
                return open;
            }
        }
        // Unreachable with at least one allowed day; stay safe.
        at + Duration::days(1)
    }

    /// A local wall time as UTC; a time skipped by a DST jump opens at the first valid minute.
    fn local_to_utc(&self, day: NaiveDate, t: NaiveTime) -> Option<DateTime<Utc>> {
        let mut naive = day.and_time(t);
        for _ in 0..=180 {
            match self.tz.from_local_datetime(&naive) {
                LocalResult::Single(x) => return Some(x.with_timezone(&Utc)),
                LocalResult::Ambiguous(earliest, _) => return Some(earliest.with_timezone(&Utc)),
                LocalResult::None => naive += Duration::minutes(1),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn kolkata_weekdays_open_and_close_at_local_times() {
        let w =
            CallingWindow::parse("Asia/Kolkata", &[1, 2, 3, 4, 5], "10:00", "18:00", true).unwrap();
        // Friday 2026-11-20 10:00 IST = 04:30 UTC.
        assert!(!w.contains(utc("2026-11-20T04:29:59Z")));
        assert!(w.contains(utc("2026-11-20T04:30:00Z")));
        assert!(w.contains(utc("2026-11-20T12:29:59Z")));
        assert!(
            !w.contains(utc("2026-11-20T12:30:00Z")),
            "18:00 IST is closed"
        );
        // Friday evening → Monday 10:00 IST.
        assert_eq!(
            w.next_open(utc("2026-11-20T13:00:00Z")),
            utc("2026-11-23T04:30:00Z")
        );
        // Saturday → Monday.
        assert_eq!(
            w.next_open(utc("2026-11-21T06:00:00Z")),
            utc("2026-11-23T04:30:00Z")
        );
        // Early Monday → the same morning.
        assert_eq!(
            w.next_open(utc("2026-11-23T01:00:00Z")),
            utc("2026-11-23T04:30:00Z")
        );
        let open = utc("2026-11-23T05:00:00Z");
        assert_eq!(w.next_open(open), open);
    }

    #[test]
    fn telemarketing_never_leaves_nine_to_nine_local() {
        let w = CallingWindow::parse("Asia/Kolkata", &[], "06:00", "23:30", true).unwrap();
        assert_eq!((w.start, w.end), (TELEMARKETING_START, TELEMARKETING_END));
        // 08:59 IST closed, 09:00 open, 20:59 open, 21:00 closed.
        assert!(!w.contains(utc("2026-11-21T03:29:00Z")));
        assert!(w.contains(utc("2026-11-21T03:30:00Z")));
        assert!(w.contains(utc("2026-11-21T15:29:00Z")));
        assert!(!w.contains(utc("2026-11-21T15:30:00Z")));
        let free = CallingWindow::parse("Asia/Kolkata", &[], "06:00", "23:30", false).unwrap();
        assert!(
            free.contains(utc("2026-11-21T01:00:00Z")),
            "06:30 IST is fine outside telemarketing"
        );
        assert!(
            CallingWindow::parse("Asia/Kolkata", &[], "21:30", "23:00", true).is_err(),
            "nothing left inside 09-21"
        );
    }

    #[test]
    fn other_zones_and_daylight_saving() {
        // London: 09:00 local is 09:00 UTC in winter, 08:00 UTC in summer.
        let w = CallingWindow::parse("Europe/London", &[], "09:00", "17:00", true).unwrap();
        assert_eq!(
            w.next_open(utc("2026-01-15T07:00:00Z")),
            utc("2026-01-15T09:00:00Z")
        );
        assert_eq!(
            w.next_open(utc("2026-07-15T07:00:00Z")),
            utc("2026-07-15T08:00:00Z")
        );
        // New York across the spring change (2026-03-08): Saturday 09:00 EST = 14:00 UTC,
        // Sunday 09:00 EDT = 13:00 UTC.
        let ny = CallingWindow::parse("America/New_York", &[], "09:00", "17:00", false).unwrap();
        assert_eq!(
            ny.next_open(utc("2026-03-07T23:00:00Z")),
            utc("2026-03-08T13:00:00Z")
        );
        assert_eq!(
            ny.next_open(utc("2026-03-07T05:00:00Z")),
            utc("2026-03-07T14:00:00Z")
        );
        // A start time skipped by the jump (02:30 on 2026-03-08 does not exist) opens at 03:00.
        let odd = CallingWindow::parse("America/New_York", &[7], "02:30", "05:00", false).unwrap();
        assert_eq!(
            odd.next_open(utc("2026-03-08T05:00:00Z")),
            utc("2026-03-08T07:00:00Z")
        );
    }

    #[test]
    fn bad_values_are_named() {
        for (tz, days, s, e, field) in [
            ("Mars/Base", &[][..], "09:00", "18:00", "time_zone"),
            (
                "Asia/Kolkata",
                &[0][..],
                "09:00",
                "18:00",
                "calling_hours.days",
            ),
            (
                "Asia/Kolkata",
                &[8][..],
                "09:00",
                "18:00",
                "calling_hours.days",
            ),
            (
                "Asia/Kolkata",
                &[][..],
                "9am",
                "18:00",
                "calling_hours.start",
            ),
            (
                "Asia/Kolkata",
                &[][..],
                "18:00",
                "09:00",
                "calling_hours.end",
            ),
        ] {
            let err = CallingWindow::parse(tz, days, s, e, false).unwrap_err();
            assert!(err.to_string().contains(field), "{err} should name {field}");
        }
    }
}
