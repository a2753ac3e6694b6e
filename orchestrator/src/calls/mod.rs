//! The one call-session system: every call (SIP inbound, SIP outbound, widget) is a
//! [`CallInfo`] in the node's registry, emits [`CallEvent`]s (fanned out live and persisted)
//! and takes [`CallCommand`]s (API call control). The real-time loop lives in [`session`].

pub mod call_emails;
pub mod call_facts;
pub mod capacity;
pub mod crm_webhook;
pub mod engines;
pub mod flow_loader;
pub mod outbound;
pub mod phrase_cache;
pub mod post_call;
pub mod registry;
pub mod services;
pub mod session;
pub mod sip_gateway;
pub mod types;
pub mod widget;

pub use types::*;
