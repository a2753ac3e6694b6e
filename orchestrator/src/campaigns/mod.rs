//! Outbound campaigns: the scheduling rules the dialer follows. `window` says when a lead may
//! be called (local days and hours, telemarketing hours enforced), `retry` when a lead is tried
//! again after an attempt. Both are pure functions of an injected `now`, so the rules are
//! tested without clocks or sleeps.

pub mod retry;
pub mod window;

pub use retry::{NextStep, RetryPolicy};
pub use window::CallingWindow;
