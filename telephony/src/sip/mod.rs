//! SIP: message view over rsip, transactions, digest auth, and the user-agent core.
pub mod digest;
pub mod endpoint;
pub mod msg;
pub mod transaction;
