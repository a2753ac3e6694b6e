//! The flows shipped with Vaarta (`flows/scripts/`), embedded so sites can start from them.

use crate::modules::FlowModules;

/// Outbound lead qualification (greets by name; interest, budget, location, timeline).
pub const SALES_QUALIFICATION: &str = include_str!("../scripts/sales_qualification.rhai");
/// Inbound order status lookup and update.
pub const ORDER_STATUS: &str = include_str!("../scripts/order_status.rhai");
/// Default inbound flow: greets and answers questions through the site's brain.
pub const ASSISTANT: &str = include_str!("../scripts/assistant.rhai");
/// Module: when to hand the caller to a human (or offer a callback).
pub const TRANSFER_RULES: &str = include_str!("../scripts/transfer_rules.rhai");

/// Flow tests shipped with each flow (the format of [`crate::FlowTestSuite`]).
pub const SALES_QUALIFICATION_TESTS: &str =
    include_str!("../scripts/sales_qualification.tests.json");
pub const ORDER_STATUS_TESTS: &str = include_str!("../scripts/order_status.tests.json");
pub const ASSISTANT_TESTS: &str = include_str!("../scripts/assistant.tests.json");

/// Shipped flows by name (source, tests), for sites that route to one they have not uploaded.
pub fn flow(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "assistant" => Some((ASSISTANT, ASSISTANT_TESTS)),
        "order_status" => Some((ORDER_STATUS, ORDER_STATUS_TESTS)),
        "sales_qualification" => Some((SALES_QUALIFICATION, SALES_QUALIFICATION_TESTS)),
        _ => None,
    }
}

/// The shipped modules, as a site's module map.
pub fn modules() -> FlowModules {
    FlowModules::from([("transfer_rules".to_string(), TRANSFER_RULES.to_string())])
}
