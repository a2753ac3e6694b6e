//! Outbound campaigns: the scheduling rules the dialer follows. `window` says when a lead may
//! be called (local days and hours, telemarketing hours enforced), `retry` when a lead is tried
//! again after an attempt; both are pure functions of an injected `now`, so the rules are
//! tested without clocks or sleeps. `leads_csv` reads lead lists; `campaign` is the stored
//! shape and its validation.

pub mod attempts;
pub mod campaign;
pub mod digest;
pub mod export;
pub mod leads_csv;
pub mod retry;
pub mod window;

pub use campaign::{Campaign, CampaignHours, CampaignProgress, CampaignSpec, CampaignStatus};
pub use retry::{NextStep, RetryPolicy};
pub use window::CallingWindow;
