//! Retries by outcome: when a lead whose attempt did not reach a conclusion is tried again.
//! Defaults: no answer after 2 h, busy after 4 h, failed after 30 min, at most 3 attempts; a
//! declined call, an invalid number or a call that connected is never retried.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calls::CallOutcome;
use crate::tenancy::ValidationError;

/// A campaign's retry policy (minutes; `null` turns retries for that outcome off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    pub no_answer_after_min: Option<u32>,
    pub busy_after_min: Option<u32>,
    pub failed_after_min: Option<u32>,
    /// Attempts per lead, the first included (1..=10).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            no_answer_after_min: Some(120),
            busy_after_min: Some(240),
            failed_after_min: Some(30),
            max_attempts: 3,
        }
    }
}

/// What happens to a lead after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Try again, no earlier than this (the calling window may push it later).
    RetryAt(DateTime<Utc>),
    /// The lead is finished with this attempt's outcome.
    Done,
}

impl RetryPolicy {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(1..=10).contains(&self.max_attempts) {
            return Err(ValidationError::new("retry.max_attempts", "must be 1..=10"));
        }
        for (field, v) in [
            ("retry.no_answer_after_min", self.no_answer_after_min),
            ("retry.busy_after_min", self.busy_after_min),
            ("retry.failed_after_min", self.failed_after_min),
        ] {
            if v.is_some_and(|m| !(1..=7 * 24 * 60).contains(&m)) {
                return Err(ValidationError::new(
                    field,
                    "must be 1..=10080 minutes (or null: no retry)",
                ));
            }
        }
        Ok(())
    }

    /// After attempt number `attempts` (1-based) ended at `ended_at` with `outcome`.
    pub fn next(&self, outcome: CallOutcome, attempts: u32, ended_at: DateTime<Utc>) -> NextStep {
        let after = match outcome {
            CallOutcome::NoAnswer => self.no_answer_after_min,
            CallOutcome::Busy => self.busy_after_min,
            CallOutcome::Failed => self.failed_after_min,
            _ => None,
        };
        match after {
            Some(min) if attempts < self.max_attempts => {
                NextStep::RetryAt(ended_at + Duration::minutes(i64::from(min)))
            }
            _ => NextStep::Done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_retry_each_outcome_after_its_delay_up_to_three_attempts() {
        let p = RetryPolicy::default();
        let t = DateTime::parse_from_rfc3339("2026-11-20T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            p.next(CallOutcome::NoAnswer, 1, t),
            NextStep::RetryAt(t + Duration::hours(2))
        );
        assert_eq!(
            p.next(CallOutcome::Busy, 2, t),
            NextStep::RetryAt(t + Duration::hours(4))
        );
        assert_eq!(
            p.next(CallOutcome::Failed, 1, t),
            NextStep::RetryAt(t + Duration::minutes(30))
        );
        assert_eq!(
            p.next(CallOutcome::NoAnswer, 3, t),
            NextStep::Done,
            "third attempt was the last"
        );
        for final_outcome in [
            CallOutcome::Completed,
            CallOutcome::Declined,
            CallOutcome::InvalidNumber,
            CallOutcome::Transferred,
            CallOutcome::CallerHungUp,
        ] {
            assert_eq!(
                p.next(final_outcome, 1, t),
                NextStep::Done,
                "{final_outcome:?}"
            );
        }
        let no_busy_retry = RetryPolicy {
            busy_after_min: None,
            ..RetryPolicy::default()
        };
        assert_eq!(no_busy_retry.next(CallOutcome::Busy, 1, t), NextStep::Done);
    }

    #[test]
    fn bad_policies_are_named() {
        assert!(
            RetryPolicy {
                max_attempts: 0,
                ..Default::default()
            }
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_attempts")
        );
        assert!(
            RetryPolicy {
                busy_after_min: Some(0),
                ..Default::default()
            }
            .validate()
            .unwrap_err()
            .to_string()
            .contains("busy_after_min")
        );
        assert!(RetryPolicy::default().validate().is_ok());
    }
}
