//! Hostile and broken scripts are stopped with a clear, typed error within their budget.

use serde_json::json;
use std::time::{Duration, Instant};
use vaarta_flows::{
    Conversation, FlowErrorKind, FlowModules, FlowOutcome, FlowProgram, SandboxLimits,
    SimulationResult, simulate,
};

fn run_with(
    source: &str,
    limits: SandboxLimits,
    conv: &Conversation,
) -> (SimulationResult, Duration) {
    let program = FlowProgram::compile_with_limits(source, &FlowModules::new(), limits)
        .unwrap_or_else(|d| panic!("compile failed: {d:?}"));
    let t = Instant::now();
    let r = program.simulate(conv);
    (r, t.elapsed())
}

fn run(source: &str) -> (SimulationResult, Duration) {
    run_with(source, SandboxLimits::default(), &Conversation::default())
}

fn error_kind(r: &SimulationResult) -> FlowErrorKind {
    r.error
        .as_ref()
        .unwrap_or_else(|| panic!("expected an error, got {:?}", r.outcome))
        .kind
}

#[test]
fn infinite_loop_hits_the_step_budget() {
    let limits = SandboxLimits {
        max_operations: 0,
        step_budget_ms: 100,
        ..SandboxLimits::default()
    };
    let (r, took) = run_with(
        "say(\"hi\"); let x = 0; loop { x += 1; }",
        limits,
        &Conversation::default(),
    );
    assert_eq!(error_kind(&r), FlowErrorKind::StepTimeout);
    let e = r.error.unwrap();
    assert!(e.message.contains("100 ms"), "{}", e.message);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // What happened before the loop is kept.
    assert_eq!(r.transcript.len(), 1);
}

#[test]
fn infinite_loop_hits_the_operation_budget_by_default() {
    let (r, took) = run("let x = 0; while true { x += 1; }");
    assert!(matches!(
        error_kind(&r),
        FlowErrorKind::TooManyOperations | FlowErrorKind::StepTimeout
    ));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn host_calls_reset_the_step_clock_but_not_the_operation_budget() {
    // Each say() is a host call, so the step budget never fires; the operation budget does.
    let limits = SandboxLimits {
        max_operations: 20_000,
        step_budget_ms: 50,
        ..SandboxLimits::default()
    };
    let (r, _) = run_with("loop { say(\"hello\"); }", limits, &Conversation::default());
    assert_eq!(error_kind(&r), FlowErrorKind::TooManyOperations);
    assert!(r.transcript.len() > 10);
}

#[test]
fn deep_recursion_is_a_stack_overflow() {
    let (r, took) = run("fn down(n) { down(n + 1) } down(0);");
    assert_eq!(error_kind(&r), FlowErrorKind::StackOverflow);
    assert!(r.error.as_ref().unwrap().line.is_some());
    assert!(took < Duration::from_secs(5));
}

#[test]
fn hundred_megabyte_strings_are_refused() {
    let (r, took) = run("let s = \"x\"; loop { s += s; }");
    assert_eq!(error_kind(&r), FlowErrorKind::DataTooLarge);
    assert!(took < Duration::from_secs(5));
    let (r, _) = run("let s = \"\".pad(100_000_000, \"x\");");
    assert_eq!(error_kind(&r), FlowErrorKind::DataTooLarge);
    let (r, _) = run("let a = []; loop { a.push(1); }");
    assert_eq!(error_kind(&r), FlowErrorKind::DataTooLarge);
}

#[test]
fn undefined_functions_are_caught_by_check_and_at_run_time() {
    let d =
        vaarta_flows::check("say(\"hi\");\nsend_sms(\"+91\");", &FlowModules::new()).unwrap_err();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].line, Some(2));
    assert!(
        d[0].message.contains("unknown function 'send_sms'"),
        "{}",
        d[0].message
    );
    // A dynamic call cannot be seen statically; it fails at run time with a location.
    let (r, _) = run("say(\"hi\");\nlet f = Fn(\"send_\" + \"sms\");\nf.call(1);");
    let e = r.error.unwrap();
    assert_eq!(e.kind, FlowErrorKind::UndefinedFunction);
    assert_eq!(e.line, Some(3));
}

#[test]
fn tool_to_a_host_that_is_not_allow_listed_is_denied() {
    let conv: Conversation = serde_json::from_value(json!({
        "connectors": {
            "policy": {"allowed_hosts": ["crm.example.com"]},
            "connectors": {
                "order_status": {"url": "https://crm.example.com/orders/{id}"},
                "exfiltrate": {"url": "https://169.254.169.254/latest/meta-data/{id}"},
                "internal": {"url": "https://10.0.0.5/admin/{id}"}
            }
        },
        "tools": {"order_status": [{"ok": true, "status": 200, "data": {"status": "shipped"}}]}
    }))
    .unwrap();
    let ok = "let r = tool(\"order_status\", #{id: \"1\"}); say(r.data.status);";
    let (r, _) = run_with(ok, SandboxLimits::default(), &conv);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.transcript[0].text, "shipped");

    for tool in ["exfiltrate", "internal", "not_configured"] {
        // try/catch cannot swallow a denial.
        let src = format!(
            "try {{ tool(\"{tool}\", #{{id: \"1\"}}); }} catch (e) {{ say(\"caught\"); }}\nsay(\"after\");"
        );
        let (r, _) = run_with(&src, SandboxLimits::default(), &conv);
        let e = r.error.expect("denied");
        assert_eq!(e.kind, FlowErrorKind::ToolDenied, "{tool}: {e}");
        assert_eq!(e.line, Some(1));
        assert!(r.transcript.is_empty(), "{tool}: {:?}", r.transcript);
    }
}

#[test]
fn runtime_errors_carry_line_and_column() {
    let (r, _) = run("say(\"a\");\nlet x = 1;\nlet y = x + \"b\" * 2;");
    let e = r.error.unwrap();
    assert_eq!(e.kind, FlowErrorKind::UndefinedFunction);
    assert_eq!(e.line, Some(3));
    let (r, _) = run("throw \"boom\";");
    assert_eq!(error_kind(&r), FlowErrorKind::Runtime);
}

#[test]
fn no_file_access_and_no_eval() {
    let d = vaarta_flows::check("import \"/etc/passwd\" as p;", &FlowModules::new()).unwrap_err();
    assert!(d[0].message.contains("not found"), "{}", d[0].message);
    let d = vaarta_flows::check("eval(\"1\");", &FlowModules::new()).unwrap_err();
    assert!(d[0].message.contains("eval"), "{}", d[0].message);
}

#[test]
fn modules_come_only_from_the_site_map() {
    let modules = FlowModules::from([
        (
            "greet".to_string(),
            "fn hello(name) { say(\"Namaste \" + name); }".to_string(),
        ),
        ("broken".to_string(), "fn oops( { }".to_string()),
        (
            "uses_unknown".to_string(),
            "fn f() { frobnicate(); }".to_string(),
        ),
    ]);
    let r = simulate(
        "import \"greet\" as g;\ng::hello(\"Asha\");\nhangup(\"done\");",
        &modules,
        &Conversation::default(),
    )
    .unwrap();
    assert_eq!(r.transcript[0].text, "Namaste Asha");
    assert_eq!(
        r.outcome,
        Some(FlowOutcome::HungUp {
            reason: "done".into()
        })
    );

    let d = vaarta_flows::check("import \"missing\" as m;", &modules).unwrap_err();
    assert!(
        d[0].message.contains("module 'missing' not found"),
        "{}",
        d[0].message
    );
    let d = vaarta_flows::check("import \"broken\" as b;", &modules).unwrap_err();
    assert_eq!(d[0].module.as_deref(), Some("broken"));
    let d = vaarta_flows::check("import \"uses_unknown\" as u;", &modules).unwrap_err();
    assert!(d[0].message.contains("frobnicate") && d[0].module.as_deref() == Some("uses_unknown"));
    let d = vaarta_flows::check("import \"greet\" as g;\ng::bye();", &modules).unwrap_err();
    assert!(
        d[0].message.contains("no public function 'bye'"),
        "{}",
        d[0].message
    );
}

#[test]
fn cancellation_stops_a_running_flow() {
    use vaarta_flows::{CallContext, CancelToken};
    let program = FlowProgram::compile_with_limits(
        "let x = 0; loop { x += 1; }",
        &FlowModules::new(),
        SandboxLimits {
            max_operations: 0,
            step_budget_ms: 60_000,
            ..SandboxLimits::default()
        },
    )
    .unwrap();
    let cancel = CancelToken::new();
    let c2 = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        c2.cancel();
    });
    let host = NoopHost;
    let run = program.run(host, CallContext::default(), &cancel);
    t.join().unwrap();
    assert_eq!(run.result.unwrap_err().kind, FlowErrorKind::Cancelled);
}

struct NoopHost;
impl vaarta_flows::FlowHost for NoopHost {
    fn say(&mut self, _: &str) -> vaarta_flows::HostResult<()> {
        Ok(())
    }
    fn ask(
        &mut self,
        _: &str,
        _: &vaarta_flows::AskOptions,
    ) -> vaarta_flows::HostResult<vaarta_flows::Reply> {
        Err(vaarta_flows::HostError::hung_up())
    }
    fn listen(&mut self, _: Duration) -> vaarta_flows::HostResult<vaarta_flows::Reply> {
        Err(vaarta_flows::HostError::hung_up())
    }
    fn brain(&mut self, _: &str) -> vaarta_flows::HostResult<String> {
        Ok(String::new())
    }
    fn kb(&mut self, _: &str) -> vaarta_flows::HostResult<Vec<vaarta_flows::Passage>> {
        Ok(vec![])
    }
    fn tool(
        &mut self,
        _: &str,
        _: &serde_json::Map<String, serde_json::Value>,
    ) -> vaarta_flows::HostResult<vaarta_flows::ToolResponse> {
        Ok(Default::default())
    }
    fn transfer(&mut self, _: &str, _: &str) -> vaarta_flows::HostResult<()> {
        Ok(())
    }
    fn hangup(&mut self, _: &str) -> vaarta_flows::HostResult<()> {
        Ok(())
    }
    fn tag(&mut self, _: &str) -> vaarta_flows::HostResult<()> {
        Ok(())
    }
    fn qualify(
        &mut self,
        _: &serde_json::Map<String, serde_json::Value>,
    ) -> vaarta_flows::HostResult<()> {
        Ok(())
    }
    fn set_language(&mut self, _: &str) -> vaarta_flows::HostResult<()> {
        Ok(())
    }
    fn opt_out(&mut self) -> vaarta_flows::HostResult<()> {
        Ok(())
    }
    fn notify(
        &mut self,
        _: &str,
        _: &serde_json::Map<String, serde_json::Value>,
    ) -> vaarta_flows::HostResult<()> {
        Ok(())
    }
}

#[test]
fn errors_inside_modules_name_the_module_and_its_line() {
    let modules = FlowModules::from([(
        "calc".to_string(),
        "fn ratio(a, b) {\n    let x = a;\n    x / b\n}\nfn spin() { loop { } }".to_string(),
    )]);
    let r = simulate(
        "import \"calc\" as c;\nsay(\"start\");\nc::ratio(1, 0);",
        &modules,
        &Conversation::default(),
    )
    .unwrap();
    let e = r.error.unwrap();
    assert_eq!(e.kind, FlowErrorKind::Runtime);
    assert_eq!(e.module.as_deref(), Some("calc"));
    assert_eq!(e.line, Some(3));
    assert!(e.to_string().contains("module calc"), "{e}");

    let program = FlowProgram::compile_with_limits(
        "import \"calc\" as c;\nc::spin();",
        &modules,
        SandboxLimits {
            max_operations: 0,
            step_budget_ms: 50,
            ..SandboxLimits::default()
        },
    )
    .unwrap();
    let r = program.simulate(&Conversation::default());
    assert_eq!(r.error.unwrap().kind, FlowErrorKind::StepTimeout);
}
