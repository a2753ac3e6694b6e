//! The flows shipped with Vaarta (`flows/scripts/`), embedded so sites can start from them.

use crate::modules::FlowModules;

/// Outbound lead qualification (greets by name; interest, budget, location, timeline).
pub const SALES_QUALIFICATION: &str = include_str!("../scripts/sales_qualification.rhai");
/// Inbound order status lookup and update.
pub const ORDER_STATUS: &str = include_str!("../scripts/order_status.rhai");
/// Module: when to hand the caller to a human (or offer a callback).
pub const TRANSFER_RULES: &str = include_str!("../scripts/transfer_rules.rhai");

/// Flow tests shipped with each flow (the format of [`crate::FlowTestSuite`]).
pub const SALES_QUALIFICATION_TESTS: &str = include_str!("../scripts/sales_qualification.tests.json");
pub const ORDER_STATUS_TESTS: &str = include_str!("../scripts/order_status.tests.json");

/// The shipped modules, as a site's module map.
pub fn modules() -> FlowModules {
    FlowModules::from([("transfer_rules".to_string(), TRANSFER_RULES.to_string())])
}
