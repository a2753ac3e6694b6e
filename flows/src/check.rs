//! Static validation of a flow: syntax, imports of missing modules, calls to functions that
//! exist nowhere (host functions, helpers, Rhai built-ins, script/module functions).

use crate::error::Diagnostic;
use crate::host::{
    AskOptions, FlowClock, FlowHost, HostError, HostErrorKind, HostResult, Passage, Reply,
    ToolResponse,
};
use crate::limits::SandboxLimits;
use crate::modules::{FlowModules, module_name};
use crate::runtime::register_host_functions_for_check;
use rhai::{AST, ASTNode, Engine, Expr, Position, Stmt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// What a valid flow uses. Handy for the admin UI and for refusing flows that call tools a
/// site has not configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowInfo {
    /// Functions defined by the flow itself.
    pub functions: Vec<String>,
    /// Modules imported (directly or by imported modules), sorted.
    pub imports: Vec<String>,
    /// Host functions the flow (and its modules) call, sorted.
    pub host_calls: Vec<String>,
    /// Literal tool names passed to `tool("...")`, sorted.
    pub tools: Vec<String>,
}

/// Host API names (the runtime registers exactly these; a unit test keeps them in sync).
pub const HOST_FUNCTIONS: &[&str] = &[
    "say",
    "ask",
    "listen",
    "brain",
    "kb",
    "tool",
    "transfer",
    "hangup",
    "set",
    "get",
    "tag",
    "qualify",
    "language",
    "set_language",
    "opt_out",
    "notify",
    "log",
    "now",
];

/// Rhai keywords that look like function calls but are not registered functions.
const KEYWORD_FUNCTIONS: &[&str] = &[
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_fn",
    "is_def_var",
    "type_of",
    "print",
    "debug",
    "exit",
];

/// Validate `source` with its site modules and default limits.
pub fn check(source: &str, modules: &FlowModules) -> Result<FlowInfo, Vec<Diagnostic>> {
    check_with(source, Arc::new(modules.clone()), &SandboxLimits::default()).map(|(_, info)| info)
}

pub(crate) fn check_with(
    source: &str,
    modules: Arc<FlowModules>,
    limits: &SandboxLimits,
) -> Result<(AST, FlowInfo), Vec<Diagnostic>> {
    let mut engine = crate::engine::sandboxed_engine(limits, modules.clone());
    register_host_functions_for_check(&mut engine);
    let known = known_functions(&engine);

    let ast = match engine.compile(source) {
        Ok(a) => a,
        Err(e) => return Err(vec![parse_diag(&e, None)]),
    };
    let mut checker = Checker {
        engine: &engine,
        modules: &modules,
        known,
        info: FlowInfo::default(),
        diags: Vec::new(),
        exports: BTreeMap::new(),
        visiting: Vec::new(),
    };
    checker.info.functions = ast
        .iter_functions()
        .map(|f| f.name.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    checker.check_ast(&ast, None);
    if checker.diags.is_empty() {
        let mut info = checker.info;
        for list in [&mut info.imports, &mut info.host_calls, &mut info.tools] {
            list.sort();
            list.dedup();
        }
        Ok((ast, info))
    } else {
        Err(checker.diags)
    }
}

fn parse_diag(e: &rhai::ParseError, module: Option<&str>) -> Diagnostic {
    Diagnostic {
        line: e.position().line(),
        column: e.position().position(),
        message: format!("syntax error: {}", e.err_type()),
        module: module.map(str::to_string),
    }
}

/// (name, arity) of every function the engine knows: built-ins, helpers, host functions.
fn known_functions(engine: &Engine) -> HashSet<(String, usize)> {
    engine
        .collect_fn_metadata(
            None,
            |info| Some((info.metadata.name.to_string(), info.metadata.num_params)),
            true,
        )
        .into_iter()
        .collect()
}

struct Checker<'a> {
    engine: &'a Engine,
    modules: &'a FlowModules,
    known: HashSet<(String, usize)>,
    info: FlowInfo,
    diags: Vec<Diagnostic>,
    /// Module name → exported (function name, arity); None when the module failed to check.
    exports: BTreeMap<String, Option<HashSet<(String, usize)>>>,
    visiting: Vec<String>,
}

struct Call {
    name: String,
    namespace: Option<String>,
    arity: usize,
    method: bool,
    pos: Position,
    tool_name: Option<String>,
}

impl Checker<'_> {
    fn diag(&mut self, pos: Position, message: String, module: Option<&str>) {
        self.diags.push(Diagnostic {
            line: pos.line(),
            column: pos.position(),
            message,
            module: module.map(str::to_string),
        });
    }

    fn check_ast(&mut self, ast: &AST, module: Option<&str>) {
        let mut imports: Vec<(String, Option<String>, Position)> = Vec::new();
        let mut calls: Vec<Call> = Vec::new();
        ast.walk(&mut |path: &[ASTNode]| {
            match path.last() {
                Some(ASTNode::Stmt(Stmt::Import(x, pos))) => {
                    if let Expr::StringConstant(s, _) = &x.0 {
                        let alias = (!x.1.name.is_empty()).then(|| x.1.name.to_string());
                        imports.push((module_name(s).to_string(), alias, *pos));
                    }
                }
                Some(ASTNode::Expr(Expr::FnCall(f, pos)))
                | Some(ASTNode::Stmt(Stmt::FnCall(f, pos))) => {
                    let tool_name = match (f.name.as_str(), f.args.first()) {
                        ("tool", Some(Expr::StringConstant(s, _))) => Some(s.to_string()),
                        _ => None,
                    };
                    calls.push(Call {
                        name: f.name.to_string(),
                        namespace: (!f.namespace.is_empty())
                            .then(|| f.namespace.root().to_string()),
                        arity: f.args.len(),
                        method: false,
                        pos: *pos,
                        tool_name,
                    });
                }
                Some(ASTNode::Expr(Expr::MethodCall(f, pos))) => calls.push(Call {
                    name: f.name.to_string(),
                    namespace: None,
                    arity: f.args.len(),
                    method: true,
                    pos: *pos,
                    tool_name: None,
                }),
                _ => {}
            }
            true
        });

        let script_fns: HashSet<(String, usize)> = ast
            .iter_functions()
            .map(|f| (f.name.to_string(), f.params.len()))
            .collect();
        let mut aliases: BTreeMap<String, String> = BTreeMap::new();
        for (name, alias, pos) in imports {
            self.info.imports.push(name.clone());
            if !self.modules.contains_key(&name) {
                self.diag(
                    pos,
                    format!(
                        "module '{name}' not found (site modules: {})",
                        self.module_list()
                    ),
                    module,
                );
                continue;
            }
            self.check_module(&name);
            if let Some(a) = alias {
                aliases.insert(a, name);
            }
        }

        for call in calls {
            if !call
                .name
                .starts_with(|c: char| c.is_alphabetic() || c == '_')
            {
                continue; // operators
            }
            if let Some(ns) = &call.namespace {
                let Some(m) = aliases.get(ns) else {
                    self.diag(
                        call.pos,
                        format!("unknown module alias '{ns}' in call to {ns}::{}", call.name),
                        module,
                    );
                    continue;
                };
                if let Some(Some(exports)) = self.exports.get(m)
                    && !exports.contains(&(call.name.clone(), call.arity))
                {
                    let msg = if exports.iter().any(|(n, _)| *n == call.name) {
                        format!(
                            "{ns}::{} is not defined with {} argument(s)",
                            call.name, call.arity
                        )
                    } else {
                        format!("module '{m}' has no public function '{}'", call.name)
                    };
                    self.diag(call.pos, msg, module);
                }
                continue;
            }
            if HOST_FUNCTIONS.contains(&call.name.as_str()) {
                self.info.host_calls.push(call.name.clone());
                if let Some(t) = call.tool_name {
                    self.info.tools.push(t);
                }
            }
            if KEYWORD_FUNCTIONS.contains(&call.name.as_str()) {
                continue;
            }
            if call.method {
                // Method-call arity includes the object; only the name can be checked reliably.
                let exists = self.known.iter().any(|(n, _)| *n == call.name)
                    || script_fns.iter().any(|(n, _)| *n == call.name);
                if !exists {
                    self.diag(call.pos, format!("unknown method '{}'", call.name), module);
                }
                continue;
            }
            let key = (call.name.clone(), call.arity);
            if self.known.contains(&key) || script_fns.contains(&key) {
                continue;
            }
            let mut arities: Vec<usize> = self
                .known
                .iter()
                .chain(script_fns.iter())
                .filter(|(n, _)| *n == call.name)
                .map(|(_, a)| *a)
                .collect();
            arities.sort();
            arities.dedup();
            let msg = if arities.is_empty() {
                format!("unknown function '{}'", call.name)
            } else {
                let list: Vec<String> = arities.iter().map(|a| a.to_string()).collect();
                format!(
                    "'{}' takes {} argument(s), not {}",
                    call.name,
                    list.join(" or "),
                    call.arity
                )
            };
            self.diag(call.pos, msg, module);
        }
    }

    fn module_list(&self) -> String {
        if self.modules.is_empty() {
            "none".to_string()
        } else {
            self.modules.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    }

    fn check_module(&mut self, name: &str) {
        if self.exports.contains_key(name) || self.visiting.iter().any(|n| n == name) {
            return;
        }
        self.visiting.push(name.to_string());
        let src = &self.modules[name];
        let exports = match self.engine.compile(src) {
            Err(e) => {
                let d = parse_diag(&e, Some(name));
                self.diags.push(d);
                None
            }
            Ok(ast) => {
                self.check_ast(&ast, Some(name));
                Some(
                    ast.iter_functions()
                        .filter(|f| f.access != rhai::FnAccess::Private)
                        .map(|f| (f.name.to_string(), f.params.len()))
                        .collect(),
                )
            }
        };
        self.visiting.pop();
        self.exports.insert(name.to_string(), exports);
    }
}

/// A host that is never called: only used so `check` sees the real host function signatures.
pub(crate) struct NullHost;

impl FlowHost for NullHost {
    fn say(&mut self, _: &str) -> HostResult<()> {
        Err(refused())
    }
    fn ask(&mut self, _: &str, _: &AskOptions) -> HostResult<Reply> {
        Err(refused())
    }
    fn listen(&mut self, _: Duration) -> HostResult<Reply> {
        Err(refused())
    }
    fn brain(&mut self, _: &str) -> HostResult<String> {
        Err(refused())
    }
    fn kb(&mut self, _: &str) -> HostResult<Vec<Passage>> {
        Err(refused())
    }
    fn tool(&mut self, _: &str, _: &Map<String, Value>) -> HostResult<ToolResponse> {
        Err(refused())
    }
    fn transfer(&mut self, _: &str, _: &str) -> HostResult<()> {
        Err(refused())
    }
    fn hangup(&mut self, _: &str) -> HostResult<()> {
        Err(refused())
    }
    fn tag(&mut self, _: &str) -> HostResult<()> {
        Err(refused())
    }
    fn qualify(&mut self, _: &Map<String, Value>) -> HostResult<()> {
        Err(refused())
    }
    fn set_language(&mut self, _: &str) -> HostResult<()> {
        Err(refused())
    }
    fn opt_out(&mut self) -> HostResult<()> {
        Err(refused())
    }
    fn notify(&mut self, _: &str, _: &Map<String, Value>) -> HostResult<()> {
        Err(refused())
    }
    fn now(&mut self) -> FlowClock {
        FlowClock {
            unix_ms: 0,
            utc_offset_minutes: 0,
        }
    }
}

fn refused() -> HostError {
    HostError::new(HostErrorKind::Failed, "check-only host")
}
