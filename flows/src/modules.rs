//! Module resolution restricted to the site's own flow modules (no file system access).

use rhai::{Engine, EvalAltResult, Module, Position, Scope, Shared};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The site's flow modules: name → Rhai source. `import "transfer_rules" as rules;` resolves
/// `transfer_rules` (a trailing `.rhai` is accepted and ignored).
pub type FlowModules = BTreeMap<String, String>;

/// Normalise an import path to a module name.
pub(crate) fn module_name(path: &str) -> &str {
    path.strip_suffix(".rhai").unwrap_or(path)
}

/// Resolves imports from an in-memory map only, caching each module per run and refusing
/// import cycles.
pub(crate) struct SiteModuleResolver {
    sources: Arc<FlowModules>,
    cache: Mutex<BTreeMap<String, Shared<Module>>>,
    resolving: Mutex<Vec<String>>,
}

impl SiteModuleResolver {
    pub(crate) fn new(sources: Arc<FlowModules>) -> Self {
        Self {
            sources,
            cache: Mutex::default(),
            resolving: Mutex::default(),
        }
    }
}

impl rhai::ModuleResolver for SiteModuleResolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let name = module_name(path);
        if let Some(m) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(m.clone());
        }
        let Some(src) = self.sources.get(name) else {
            return Err(EvalAltResult::ErrorModuleNotFound(name.to_string(), pos).into());
        };
        {
            let mut resolving = self.resolving.lock().unwrap_or_else(|e| e.into_inner());
            if resolving.iter().any(|n| n == name) {
                let msg = format!("import cycle: {} -> {name}", resolving.join(" -> "));
                return Err(EvalAltResult::ErrorInModule(
                    name.to_string(),
                    EvalAltResult::ErrorRuntime(msg.into(), pos).into(),
                    pos,
                )
                .into());
            }
            resolving.push(name.to_string());
        }
        let result = (|| {
            let mut ast = engine.compile(src).map_err(|e| {
                Box::new(EvalAltResult::ErrorInModule(
                    name.to_string(),
                    e.into(),
                    pos,
                ))
            })?;
            ast.set_source(name);
            Module::eval_ast_as_new(Scope::new(), &ast, engine)
                .map_err(|e| Box::new(EvalAltResult::ErrorInModule(name.to_string(), e, pos)))
        })();
        self.resolving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n| n != name);
        let module: Shared<Module> = result?.into();
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), module.clone());
        Ok(module)
    }
}
