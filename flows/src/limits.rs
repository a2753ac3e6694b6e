//! Sandbox limits applied to every flow run (serde config section `flows.limits`).

use serde::{Deserialize, Serialize};

/// Resource limits for one flow run. Defaults suit a phone conversation: plenty for a
/// 30-minute call, tiny for a runaway loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxLimits {
    /// Total script operations per run (0 = unlimited). Host calls do not count.
    pub max_operations: u64,
    /// Wall-clock time the script may run between two host calls, in milliseconds.
    /// Time blocked inside host calls (waiting for the caller, tools, brain) is not counted.
    pub step_budget_ms: u64,
    /// Maximum nesting of function calls (stops runaway recursion).
    pub max_call_depth: usize,
    /// Maximum string length in bytes.
    pub max_string_size: usize,
    /// Maximum number of array elements.
    pub max_array_size: usize,
    /// Maximum number of map entries.
    pub max_map_size: usize,
    /// Maximum expression nesting at global level (parse time).
    pub max_expr_depth: usize,
    /// Maximum expression nesting inside functions (parse time).
    pub max_function_expr_depth: usize,
    /// Maximum number of modules a flow may import (directly or transitively).
    pub max_modules: usize,
    /// Maximum number of variables in scope.
    pub max_variables: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            max_operations: 2_000_000,
            step_budget_ms: 250,
            max_call_depth: 32,
            max_string_size: 64 * 1024,
            max_array_size: 4096,
            max_map_size: 1024,
            max_expr_depth: 64,
            max_function_expr_depth: 32,
            max_modules: 16,
            max_variables: 512,
        }
    }
}
