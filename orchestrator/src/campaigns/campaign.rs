//! A campaign as the API and the dialer see it: the flow it runs, when it may call, how fast,
//! and how it retries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::retry::RetryPolicy;
use super::window::CallingWindow;
use crate::tenancy::{ValidationError, validation};

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Running,
    Paused,
    Stopped,
    Completed,
}

/// Local days and hours calls may be placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignHours {
    /// ISO weekdays 1 (Monday)..=7; empty: every day.
    pub days: Vec<u8>,
    /// `HH:MM` local, inclusive.
    pub start: String,
    /// `HH:MM` local, exclusive.
    pub end: String,
}

impl Default for CampaignHours {
    fn default() -> Self {
        CampaignHours {
            days: vec![1, 2, 3, 4, 5, 6],
            start: "10:00".into(),
            end: "19:00".into(),
        }
    }
}

/// The settable parts of a campaign (create body; also what `PUT` replaces).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    pub name: String,
    /// A flow of the site (or a shipped one, e.g. `sales_qualification`) run on every answered call.
    pub flow: String,
    /// Caller id presented (default: the trunk's).
    #[serde(default)]
    pub caller_id: Option<String>,
    /// IANA time zone of the calling hours.
    #[serde(default = "default_tz")]
    pub time_zone: String,
    #[serde(default)]
    pub calling_hours: CampaignHours,
    /// Telemarketing: calls only between 09:00 and 21:00 local, whatever the hours say.
    #[serde(default = "yes")]
    pub telemarketing: bool,
    /// Calls of this campaign at once (the node's and site's limits apply too).
    #[serde(default = "default_concurrency")]
    pub max_concurrent: u32,
    /// Pacing: new calls started per minute at most.
    #[serde(default = "default_pace")]
    pub calls_per_minute: u32,
    #[serde(default)]
    pub retry: RetryPolicy,
}

fn default_tz() -> String {
    "Asia/Kolkata".into()
}
fn yes() -> bool {
    true
}
fn default_concurrency() -> u32 {
    2
}
fn default_pace() -> u32 {
    10
}

impl CampaignSpec {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("name", &self.name, 200)?;
        validation::text("flow", &self.flow, 100)?;
        if let Some(c) = &self.caller_id {
            validation::text("caller_id", c, 64)?;
        }
        self.window()?;
        if !(1..=500).contains(&self.max_concurrent) {
            return Err(ValidationError::new("max_concurrent", "must be 1..=500"));
        }
        if !(1..=1000).contains(&self.calls_per_minute) {
            return Err(ValidationError::new("calls_per_minute", "must be 1..=1000"));
        }
        self.retry.validate()
    }

    /// The calling window these settings describe.
    pub fn window(&self) -> Result<CallingWindow, ValidationError> {
        let h = &self.calling_hours;
        CallingWindow::parse(
            &self.time_zone,
            &h.days,
            &h.start,
            &h.end,
            self.telemarketing,
        )
    }
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    pub id: Uuid,
    pub site_id: Uuid,
    pub status: CampaignStatus,
    #[serde(flatten)]
    pub spec: CampaignSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Lead counts by state: a campaign's progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CampaignProgress {
    pub total: i64,
    /// Waiting for their first or next attempt.
    pub pending: i64,
    /// An attempt is live.
    pub dialing: i64,
    /// Finished with an outcome.
    pub done: i64,
    /// Never dialled (do-not-call list).
    pub skipped: i64,
}
