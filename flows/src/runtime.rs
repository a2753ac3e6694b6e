//! Running a compiled flow against a [`FlowHost`]: host function bindings, step budget,
//! clean termination on transfer/hangup and mapping of every failure to a [`FlowError`].

use crate::clock::{CancelToken, StepClock, civil};
use crate::engine::sandboxed_engine;
use crate::error::{FlowError, FlowErrorKind};
use crate::host::{AskOptions, FlowHost, HostError, HostErrorKind, HostResult, LogLevel};
use crate::limits::SandboxLimits;
use crate::modules::FlowModules;
use rhai::{AST, Dynamic, Engine, EvalAltResult, Map as RMap, Position};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type RResult<T> = Result<T, Box<EvalAltResult>>;

const TOKEN_STEP_TIMEOUT: &str = "vaarta:step_timeout";
const TOKEN_CANCELLED: &str = "vaarta:cancelled";
const TOKEN_FATAL: &str = "vaarta:fatal";

/// Who is calling and what the flow knows up front.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallContext {
    pub call_id: String,
    pub site_id: String,
    /// E.164 or SIP user of the caller ("" for widget calls).
    pub caller_number: String,
    /// "inbound", "outbound" or "widget".
    pub direction: String,
    /// Starting call language ("hi", "en", "pa"...).
    pub language: String,
    /// Lead fields for outbound campaign calls (name, city, product...), readable with `get`.
    pub lead: Map<String, Value>,
    /// Initial call variables (site flow settings such as `vip_numbers`, routing data).
    pub vars: Map<String, Value>,
}

/// How a flow run ended normally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FlowOutcome {
    /// `transfer(target, reason)` was called.
    Transferred { target: String, reason: String },
    /// `hangup(reason)` was called.
    HungUp { reason: String },
    /// The script ran to its end (or called `exit()`) without hanging up: the host hangs up.
    Completed,
    /// The caller hung up while the flow waited on them.
    CallerHungUp,
}

/// The result of [`FlowProgram::run`]: the host is handed back for inspection.
#[derive(Debug)]
pub struct FlowRun<H> {
    pub host: H,
    pub result: Result<FlowOutcome, FlowError>,
    /// Call variables at the end of the run (values set with `set`).
    pub vars: Map<String, Value>,
    /// Call language at the end of the run.
    pub language: String,
}

/// A validated flow, ready to run many times (one run per call).
#[derive(Debug, Clone)]
pub struct FlowProgram {
    ast: AST,
    modules: Arc<FlowModules>,
    limits: SandboxLimits,
    info: crate::check::FlowInfo,
}

impl FlowProgram {
    /// Compile and validate (see [`crate::check`]) with default limits.
    pub fn compile(source: &str, modules: &FlowModules) -> Result<Self, Vec<crate::Diagnostic>> {
        Self::compile_with_limits(source, modules, SandboxLimits::default())
    }

    /// Compile and validate with explicit limits (parse-time limits apply here too).
    pub fn compile_with_limits(
        source: &str,
        modules: &FlowModules,
        limits: SandboxLimits,
    ) -> Result<Self, Vec<crate::Diagnostic>> {
        let modules = Arc::new(modules.clone());
        let (ast, info) = crate::check::check_with(source, modules.clone(), &limits)?;
        Ok(Self {
            ast,
            modules,
            limits,
            info,
        })
    }

    /// What `check` learned about the flow (imports, host functions used...).
    pub fn info(&self) -> &crate::check::FlowInfo {
        &self.info
    }

    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// Run the flow to its end on the current thread. Blocking: host calls block, and the
    /// script itself is bounded by the sandbox limits. The orchestrator calls this inside
    /// `tokio::task::spawn_blocking` and cancels through `cancel` when the call goes away.
    pub fn run<H: FlowHost + 'static>(
        &self,
        host: H,
        ctx: CallContext,
        cancel: &CancelToken,
    ) -> FlowRun<H> {
        let mut vars = ctx.vars.clone();
        for (k, v) in [
            ("call_id", &ctx.call_id),
            ("site_id", &ctx.site_id),
            ("caller_number", &ctx.caller_number),
            ("direction", &ctx.direction),
        ] {
            vars.entry(k.to_string())
                .or_insert_with(|| Value::String(v.clone()));
        }
        let language = if ctx.language.is_empty() {
            "hi".to_string()
        } else {
            ctx.language.clone()
        };
        let clock = Arc::new(StepClock::new(Duration::from_millis(
            self.limits.step_budget_ms,
        )));
        let shared = Arc::new(Shared {
            state: Mutex::new(RunState {
                host: Some(host),
                vars,
                lead: ctx.lead,
                language,
                end: None,
                fatal: None,
            }),
            clock: clock.clone(),
        });

        let mut engine = sandboxed_engine(&self.limits, self.modules.clone());
        register_host_functions(&mut engine, &shared);
        {
            let clock = clock.clone();
            let cancel = cancel.clone();
            engine.on_progress(move |ops| {
                if ops & 63 != 0 {
                    return None;
                }
                if cancel.is_cancelled() {
                    Some(TOKEN_CANCELLED.into())
                } else if clock.exceeded() {
                    Some(TOKEN_STEP_TIMEOUT.into())
                } else {
                    None
                }
            });
        }
        {
            let shared = shared.clone();
            engine.on_print(move |s| shared.log(LogLevel::Info, s));
        }

        clock.resume();
        let span = tracing::info_span!("flow_run", call_id = %ctx.call_id, site_id = %ctx.site_id);
        let outcome = span.in_scope(|| engine.run_ast(&self.ast));
        drop(engine);

        let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let result = match outcome {
            Ok(()) => Ok(st.end.take().unwrap_or(FlowOutcome::Completed)),
            Err(err) => finish(*err, &mut st, &self.limits),
        };
        if let Err(e) = &result {
            tracing::warn!(call_id = %ctx.call_id, site_id = %ctx.site_id, error = %e, "flow failed");
        }
        FlowRun {
            host: st.host.take().expect("host is present until the run ends"),
            result,
            vars: std::mem::take(&mut st.vars),
            language: std::mem::take(&mut st.language),
        }
    }
}

struct RunState<H> {
    host: Option<H>,
    vars: Map<String, Value>,
    lead: Map<String, Value>,
    language: String,
    end: Option<FlowOutcome>,
    fatal: Option<FlowError>,
}

struct Shared<H> {
    state: Mutex<RunState<H>>,
    clock: Arc<StepClock>,
}

impl<H: FlowHost> Shared<H> {
    fn lock(&self) -> std::sync::MutexGuard<'_, RunState<H>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self, level: LogLevel, msg: &str) {
        if let Some(h) = self.lock().host.as_mut() {
            h.log(level, msg);
        }
    }
}

/// Call into the host with the step clock paused; host errors become script errors, clean
/// ends or fatal terminations. A panicking host is contained and reported as a fatal error.
fn host_call<H: FlowHost, T>(
    shared: &Shared<H>,
    clock: &StepClock,
    f: impl FnOnce(&mut H, &mut RunStateView) -> HostResult<T>,
) -> RResult<T> {
    clock.pause();
    let mut st = shared.lock();
    let RunState { host, language, .. } = &mut *st;
    let mut view = RunStateView { language };
    let r = match host.as_mut() {
        Some(h) => std::panic::catch_unwind(AssertUnwindSafe(|| f(h, &mut view)))
            .unwrap_or_else(|_| Err(HostError::new(HostErrorKind::Failed, "host panicked"))),
        None => Err(HostError::new(HostErrorKind::Failed, "host is gone")),
    };
    let out = r.map_err(|e| host_error(&mut st, e));
    drop(st);
    clock.resume();
    out
}

/// Mutable call state a host call may update alongside the host.
struct RunStateView<'a> {
    language: &'a mut String,
}

fn host_error<H>(st: &mut RunState<H>, e: HostError) -> Box<EvalAltResult> {
    match e.kind {
        HostErrorKind::CallerHungUp => {
            st.end = Some(FlowOutcome::CallerHungUp);
            EvalAltResult::Exit(Dynamic::UNIT, Position::NONE).into()
        }
        HostErrorKind::Unavailable => {
            EvalAltResult::ErrorRuntime(e.message.into(), Position::NONE).into()
        }
        HostErrorKind::Denied => {
            st.fatal = Some(FlowError::new(FlowErrorKind::ToolDenied, e.message));
            EvalAltResult::ErrorTerminated(TOKEN_FATAL.into(), Position::NONE).into()
        }
        HostErrorKind::Failed => {
            st.fatal = Some(FlowError::new(FlowErrorKind::Host, e.message));
            EvalAltResult::ErrorTerminated(TOKEN_FATAL.into(), Position::NONE).into()
        }
    }
}

fn end_run<H>(shared: &Shared<H>, outcome: FlowOutcome) -> Box<EvalAltResult>
where
    H: FlowHost,
{
    shared.lock().end = Some(outcome);
    EvalAltResult::Exit(Dynamic::UNIT, Position::NONE).into()
}

fn to_json(d: &Dynamic) -> RResult<Value> {
    rhai::serde::from_dynamic::<Value>(d)
}

fn to_json_map(m: RMap) -> RResult<Map<String, Value>> {
    match to_json(&Dynamic::from_map(m))? {
        Value::Object(o) => Ok(o),
        _ => Ok(Map::new()),
    }
}

fn to_dyn<T: Serialize>(v: &T) -> RResult<Dynamic> {
    rhai::serde::to_dynamic(v)
}

fn text_of(d: &Dynamic) -> String {
    d.clone().into_string().unwrap_or_else(|_| d.to_string())
}

fn register_host_functions<H: FlowHost + 'static>(engine: &mut Engine, shared: &Arc<Shared<H>>) {
    // Conversation.
    let sh = shared.clone();
    engine.register_fn("say", move |t: Dynamic| -> RResult<()> {
        let text = text_of(&t);
        sh.call(|h, _| h.say(&text))
    });
    let sh = shared.clone();
    engine.register_fn("ask", move |p: Dynamic| -> RResult<Dynamic> {
        let prompt = text_of(&p);
        let reply = sh.call(|h, _| h.ask(&prompt, &AskOptions::default()))?;
        to_dyn(&reply)
    });
    let sh = shared.clone();
    engine.register_fn("ask", move |p: Dynamic, opts: RMap| -> RResult<Dynamic> {
        let prompt = text_of(&p);
        let options: AskOptions = rhai::serde::from_dynamic(&Dynamic::from_map(opts))
            .map_err(|e| runtime_error(format!("ask options: {e}")))?;
        let reply = sh.call(|h, _| h.ask(&prompt, &options))?;
        to_dyn(&reply)
    });
    let sh = shared.clone();
    engine.register_fn("listen", move || -> RResult<Dynamic> {
        to_dyn(&sh.call(|h, _| h.listen(Duration::from_millis(AskOptions::default().timeout_ms)))?)
    });
    let sh = shared.clone();
    engine.register_fn("listen", move |ms: i64| -> RResult<Dynamic> {
        let ms = ms.clamp(0, 120_000) as u64;
        to_dyn(&sh.call(|h, _| h.listen(Duration::from_millis(ms)))?)
    });
    let sh = shared.clone();
    engine.register_fn("brain", move |q: Dynamic| -> RResult<String> {
        let q = text_of(&q);
        sh.call(|h, _| h.brain(&q))
    });
    let sh = shared.clone();
    engine.register_fn("kb", move |q: Dynamic| -> RResult<Dynamic> {
        let q = text_of(&q);
        to_dyn(&sh.call(|h, _| h.kb(&q))?)
    });
    let sh = shared.clone();
    engine.register_fn("tool", move |name: &str| -> RResult<Dynamic> {
        to_dyn(&sh.call(|h, _| h.tool(name, &Map::new()))?)
    });
    let sh = shared.clone();
    engine.register_fn("tool", move |name: &str, args: RMap| -> RResult<Dynamic> {
        let args = to_json_map(args)?;
        to_dyn(&sh.call(|h, _| h.tool(name, &args))?)
    });

    // Call endings: the last host call; the script stops cleanly right after.
    let sh = shared.clone();
    engine.register_fn("transfer", move |target: &str| -> RResult<()> {
        sh.call(|h, _| h.transfer(target, ""))?;
        Err(sh.end(FlowOutcome::Transferred {
            target: target.to_string(),
            reason: String::new(),
        }))
    });
    let sh = shared.clone();
    engine.register_fn(
        "transfer",
        move |target: &str, reason: &str| -> RResult<()> {
            sh.call(|h, _| h.transfer(target, reason))?;
            Err(sh.end(FlowOutcome::Transferred {
                target: target.to_string(),
                reason: reason.to_string(),
            }))
        },
    );
    let sh = shared.clone();
    engine.register_fn("hangup", move || -> RResult<()> {
        sh.call(|h, _| h.hangup(""))?;
        Err(sh.end(FlowOutcome::HungUp {
            reason: String::new(),
        }))
    });
    let sh = shared.clone();
    engine.register_fn("hangup", move |reason: &str| -> RResult<()> {
        sh.call(|h, _| h.hangup(reason))?;
        Err(sh.end(FlowOutcome::HungUp {
            reason: reason.to_string(),
        }))
    });

    // Call record.
    let sh = shared.clone();
    engine.register_fn("tag", move |label: &str| -> RResult<()> {
        sh.call(|h, _| h.tag(label))
    });
    let sh = shared.clone();
    engine.register_fn("qualify", move |m: RMap| -> RResult<()> {
        let m = to_json_map(m)?;
        sh.call(|h, _| h.qualify(&m))
    });
    let sh = shared.clone();
    engine.register_fn("opt_out", move || -> RResult<()> {
        sh.call(|h, _| h.opt_out())
    });
    let sh = shared.clone();
    engine.register_fn("notify", move |template: &str| -> RResult<()> {
        sh.call(|h, _| h.notify(template, &Map::new()))
    });
    let sh = shared.clone();
    engine.register_fn("notify", move |template: &str, data: RMap| -> RResult<()> {
        let data = to_json_map(data)?;
        sh.call(|h, _| h.notify(template, &data))
    });
    let sh = shared.clone();
    engine.register_fn("log", move |msg: Dynamic| {
        sh.log(LogLevel::Info, &text_of(&msg))
    });
    // Same reason as `get`: shadow the math package's log(number) so log(42) logs.
    macro_rules! typed_log {
        ($($t:ty),*) => {$(
            let sh = shared.clone();
            engine.register_fn("log", move |msg: $t| sh.log(LogLevel::Info, &msg.to_string()));
        )*};
    }
    typed_log!(i64, f64, bool, rhai::ImmutableString);
    let sh = shared.clone();
    engine.register_fn("now", move || -> RResult<RMap> {
        let clock = sh.call(|h, _| Ok(h.now()))?;
        let c = civil(clock.unix_ms, clock.utc_offset_minutes);
        let mut m = RMap::new();
        m.insert("unix_ms".into(), Dynamic::from(clock.unix_ms));
        m.insert("year".into(), Dynamic::from(c.year));
        m.insert("month".into(), Dynamic::from(i64::from(c.month)));
        m.insert("day".into(), Dynamic::from(i64::from(c.day)));
        m.insert("hour".into(), Dynamic::from(i64::from(c.hour)));
        m.insert("minute".into(), Dynamic::from(i64::from(c.minute)));
        m.insert("weekday".into(), Dynamic::from(i64::from(c.weekday)));
        Ok(m)
    });

    // Language.
    let sh = shared.clone();
    engine.register_fn("language", move || sh.lock().language.clone());
    let sh = shared.clone();
    engine.register_fn("set_language", move |code: &str| -> RResult<()> {
        sh.call(|h, view| {
            h.set_language(code)?;
            *view.language = code.to_string();
            Ok(())
        })
    });

    // Call variables and lead fields.
    let sh = shared.clone();
    engine.register_fn("set", move |k: &str, v: Dynamic| -> RResult<()> {
        let v = to_json(&v)?;
        sh.lock().vars.insert(k.to_string(), v);
        Ok(())
    });
    let sh = shared.clone();
    engine.register_fn("get", move |k: &str| -> RResult<Dynamic> {
        sh.get(k, Dynamic::UNIT)
    });
    let sh = shared.clone();
    engine.register_fn(
        "get",
        move |k: &str, default: Dynamic| -> RResult<Dynamic> { sh.get(k, default) },
    );
    // Exact-typed overloads: Rhai prefers an exact signature from a package over a Dynamic one
    // in the global namespace, so without these `get("min_budget", 0)` would hit the string
    // package's `get(string, index)` and return a character.
    macro_rules! typed_get {
        ($($t:ty),*) => {$(
            let sh = shared.clone();
            engine.register_fn("get", move |k: &str, default: $t| -> RResult<Dynamic> { sh.get(k, Dynamic::from(default)) });
        )*};
    }
    typed_get!(
        i64,
        f64,
        bool,
        rhai::ImmutableString,
        rhai::Array,
        RMap,
        char
    );
}

fn runtime_error(msg: String) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(msg.into(), Position::NONE).into()
}

impl<H: FlowHost> Shared<H> {
    fn call<T>(&self, f: impl FnOnce(&mut H, &mut RunStateView) -> HostResult<T>) -> RResult<T> {
        host_call(self, &self.clock, f)
    }

    fn end(&self, outcome: FlowOutcome) -> Box<EvalAltResult> {
        end_run(self, outcome)
    }

    /// `get(k)`: call variables first, then lead fields; `get("lead")` is the whole lead.
    fn get(&self, k: &str, default: Dynamic) -> RResult<Dynamic> {
        let st = self.lock();
        if let Some(v) = st.vars.get(k).or_else(|| st.lead.get(k))
            && !v.is_null()
        {
            return to_dyn(v);
        }
        if k == "lead" {
            return to_dyn(&st.lead);
        }
        Ok(default)
    }
}

/// Map a Rhai error to the run's end: clean outcomes for exit/transfer/hangup, typed errors
/// (with the innermost location and module) for everything else.
fn finish<H>(
    err: EvalAltResult,
    st: &mut RunState<H>,
    limits: &SandboxLimits,
) -> Result<FlowOutcome, FlowError> {
    let mut module: Option<String> = None;
    let mut e = err;
    loop {
        match e {
            EvalAltResult::ErrorInFunctionCall(_, src, inner, _) => {
                if !src.is_empty() {
                    module = Some(src);
                }
                e = *inner;
            }
            EvalAltResult::ErrorInModule(name, inner, _) => {
                module = Some(name);
                e = *inner;
            }
            _ => break,
        }
    }
    let pos = e.position();
    use FlowErrorKind as K;
    let error = match e {
        EvalAltResult::Exit(..) => return Ok(st.end.take().unwrap_or(FlowOutcome::Completed)),
        EvalAltResult::ErrorTerminated(token, _) => {
            let token = token.into_string().unwrap_or_default();
            match (st.fatal.take(), token.as_str()) {
                (Some(f), _) => f,
                (None, TOKEN_CANCELLED) => {
                    FlowError::new(K::Cancelled, "flow cancelled by the host")
                }
                (None, _) => FlowError::new(
                    K::StepTimeout,
                    format!(
                        "script ran longer than its step budget of {} ms without waiting on the caller",
                        limits.step_budget_ms
                    ),
                ),
            }
        }
        EvalAltResult::ErrorTooManyOperations(_) => FlowError::new(
            K::TooManyOperations,
            format!(
                "script exceeded its budget of {} operations",
                limits.max_operations
            ),
        ),
        EvalAltResult::ErrorStackOverflow(_) => FlowError::new(
            K::StackOverflow,
            format!(
                "function calls nested deeper than {} levels (runaway recursion?)",
                limits.max_call_depth
            ),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => FlowError::new(
            K::DataTooLarge,
            format!(
                "{what} exceeds the sandbox limit (strings {} bytes, arrays {} items, maps {} entries)",
                limits.max_string_size, limits.max_array_size, limits.max_map_size
            ),
        ),
        EvalAltResult::ErrorTooManyVariables(_) | EvalAltResult::ErrorTooManyModules(_) => {
            FlowError::new(K::TooManyResources, e.to_string())
        }
        EvalAltResult::ErrorFunctionNotFound(sig, _) => {
            FlowError::new(K::UndefinedFunction, format!("function not found: {sig}"))
        }
        EvalAltResult::ErrorModuleNotFound(name, _) => FlowError::new(
            K::ModuleNotFound,
            format!("module '{name}' is not one of the site's flow modules"),
        ),
        EvalAltResult::ErrorParsing(ref p, _) => FlowError::new(K::Syntax, p.to_string()),
        other => FlowError::new(K::Runtime, other.to_string()),
    };
    Err(FlowError { module, ..error }.at(pos))
}

/// Register the host functions against a never-called host so `check` knows their signatures.
pub(crate) fn register_host_functions_for_check(engine: &mut Engine) {
    let shared = Arc::new(Shared {
        state: Mutex::new(RunState {
            host: Some(crate::check::NullHost),
            vars: Map::new(),
            lead: Map::new(),
            language: String::new(),
            end: None,
            fatal: None,
        }),
        clock: Arc::new(StepClock::new(Duration::ZERO)),
    });
    register_host_functions(engine, &shared);
}
