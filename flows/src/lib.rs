//! vaarta-flows
