//! The sandboxed Rhai engine shared by `check` and runs: limits, module policy and the pure
//! text helpers. Host functions are added by [`crate::runtime`].

use crate::limits::SandboxLimits;
use crate::modules::{FlowModules, SiteModuleResolver};
use crate::text;
use rhai::{Array, Dynamic, Engine, ImmutableString};
use std::sync::Arc;

/// An engine with every sandbox limit applied, imports restricted to `modules`, `eval` disabled
/// and the text helpers registered. No progress callback (added per run).
pub(crate) fn sandboxed_engine(limits: &SandboxLimits, modules: Arc<FlowModules>) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
        .set_max_modules(limits.max_modules)
        .set_max_variables(limits.max_variables)
        .set_strict_variables(true)
        .set_module_resolver(SiteModuleResolver::new(modules));
    // `eval` would bypass compile-time checks.
    engine.disable_symbol("eval");
    // print/debug are replaced by log() in runs; silence the stdout defaults.
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    register_text_helpers(&mut engine);
    engine
}

fn strings(list: &Array) -> Vec<String> {
    list.iter()
        .map(|d| d.clone().into_string().unwrap_or_else(|_| d.to_string()))
        .collect()
}

fn register_text_helpers(engine: &mut Engine) {
    engine
        .register_fn("normalize", |t: &str| text::normalize(t))
        .register_fn("matches_any", |t: &str, words: Array| {
            text::matches_any(t, &strings(&words))
        })
        .register_fn("is_yes", |t: &str| text::is_yes(t))
        .register_fn("is_no", |t: &str| text::is_no(t))
        .register_fn("extract_digits", |t: &str| text::extract_digits(t))
        .register_fn("extract_id", |t: &str| id_or_unit(text::extract_id(t, 4)))
        .register_fn("extract_id", |t: &str, min: i64| {
            id_or_unit(text::extract_id(t, min.max(1) as usize))
        })
        .register_fn("extract_amount", |t: &str| {
            text::extract_amount(t).map_or(Dynamic::UNIT, Dynamic::from)
        })
        .register_fn("speak_digits", |t: &str| text::speak_digits(t));
}

fn id_or_unit(id: Option<String>) -> Dynamic {
    id.map_or(Dynamic::UNIT, |s| Dynamic::from(ImmutableString::from(s)))
}
