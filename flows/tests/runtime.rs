//! Host API behaviour through the simulator: conversation order, clean endings, variables.

use serde_json::json;
use vaarta_flows::{Conversation, FlowModules, FlowOutcome, HOST_FUNCTIONS, check, simulate};

fn sim(src: &str, conv: serde_json::Value) -> vaarta_flows::SimulationResult {
    let conv: Conversation = serde_json::from_value(conv).unwrap();
    simulate(src, &FlowModules::new(), &conv).unwrap_or_else(|d| panic!("{d:?}"))
}

#[test]
fn transfer_ends_the_script_cleanly_even_inside_functions_and_try() {
    let src = r#"
        fn route() { try { transfer("sales", "hot lead"); } catch { say("never"); } say("never either"); }
        say("ek minute");
        route();
        say("unreachable");
    "#;
    let r = sim(src, json!({}));
    assert_eq!(r.error, None);
    assert_eq!(
        r.outcome,
        Some(FlowOutcome::Transferred {
            target: "sales".into(),
            reason: "hot lead".into()
        })
    );
    assert_eq!(r.bot_lines().collect::<Vec<_>>(), vec!["ek minute"]);
}

#[test]
fn ask_returns_reply_maps_and_caller_hangup_ends_the_flow() {
    let src = r#"
        let r = ask("Aapka order number?", #{dtmf: true, max_digits: 6, timeout_ms: 5000});
        say(`digits=${r.digits} text=${r.text} lang=${r.language} timed_out=${r.timed_out}`);
        let s = ask("Aur kuch?");
        say(`silent=${s.timed_out}`);
        ask("Hello?");
        say("not reached");
    "#;
    let r = sim(
        src,
        json!({"caller": [{"text": "", "digits": "1234"}, {"silence": true}]}),
    );
    assert_eq!(r.outcome, Some(FlowOutcome::CallerHungUp));
    let lines: Vec<_> = r.bot_lines().collect();
    assert_eq!(lines[1], "digits=1234 text= lang=hi timed_out=false");
    assert_eq!(lines[3], "silent=true");
    assert_eq!(lines.len(), 5);
}

#[test]
fn bad_ask_options_are_a_catchable_error() {
    let r = sim(
        r#"try { ask("x", #{colour: "red"}); } catch (e) { say("bad options"); } hangup("x");"#,
        json!({}),
    );
    assert_eq!(r.bot_lines().collect::<Vec<_>>(), vec!["bad options"]);
}

#[test]
fn variables_lead_fields_language_and_clock() {
    let src = r#"
        say(`Namaste ${get("name")} ji, ${get("city", "aapke shehar")} se`);
        set("stage", "greeted");
        set("score", 3);
        set_language("en");
        let t = now();
        say(`${language()} ${t.hour}:${t.minute} day ${t.weekday} caller ${get("caller_number")}`);
        log("done");
    "#;
    let r = sim(
        src,
        json!({"lead": {"name": "Priya"}, "now": "2026-01-07T18:45", "caller_number": "+919811111111"}),
    );
    assert_eq!(r.outcome, Some(FlowOutcome::Completed));
    let lines: Vec<_> = r.bot_lines().collect();
    assert_eq!(lines[0], "Namaste Priya ji, aapke shehar se");
    assert_eq!(lines[1], "en 18:45 day 3 caller +919811111111");
    assert_eq!(r.vars["stage"], json!("greeted"));
    assert_eq!(r.vars["score"], json!(3));
    assert_eq!(r.language, "en");
}

#[test]
fn brain_kb_tools_and_record_actions_are_reported_in_order() {
    let src = r#"
        let a = brain("return policy?");
        if a == "" { say("no answer"); }
        let p = kb("warranty");
        say(`${p.len()} passages: ${p[0].text}`);
        let t = tool("crm_lookup", #{phone: get("caller_number")});
        if !t.ok { say("crm down"); }
        tag("support"); qualify(#{hot: true, budget: 5000000}); opt_out(); notify("callback", #{when: "kal"});
        hangup("bye");
    "#;
    let r = sim(
        src,
        json!({"brain": ["7 din mein return"], "kb": [[{"text": "1 saal warranty", "source": "faq", "score": 0.9}]]}),
    );
    let json = serde_json::to_value(&r).unwrap();
    let actions: Vec<&str> = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "brain", "kb", "say", "tool", "say", "tag", "qualify", "opt_out", "notify", "hangup"
        ]
    );
    // brain() speaks its answer itself (as a live call does while it streams).
    assert_eq!(
        r.bot_lines().collect::<Vec<_>>(),
        vec![
            "7 din mein return",
            "1 passages: 1 saal warranty",
            "crm down"
        ]
    );
    assert_eq!(
        json["outcome"],
        json!({"outcome": "hung_up", "reason": "bye"})
    );
}

#[test]
fn text_helpers_for_hinglish() {
    let src = r#"
        say(`${matches_any("Mujhe agent se baat karni hai", ["agent", "insaan"])} ${is_yes("haan ji")} ${is_no("nahi chahiye")}`);
        say(`${extract_id("order ek do teen chaar")} ${extract_amount("50 lakh")} ${speak_digits("A12")}`);
        say(`${extract_id("pata nahi") == ()}`);
    "#;
    let r = sim(src, json!({}));
    assert_eq!(
        r.bot_lines().collect::<Vec<_>>(),
        vec!["true true true", "1234 5000000 A 1 2", "true"]
    );
}

#[test]
fn check_reports_syntax_errors_with_position_and_info_for_valid_flows() {
    let d = check("say(\"hi\");\nlet x = ;", &FlowModules::new()).unwrap_err();
    assert_eq!(
        (d[0].line, d[0].message.starts_with("syntax error")),
        (Some(2), true)
    );
    let d = check("say();", &FlowModules::new()).unwrap_err();
    assert!(
        d[0].message.contains("'say' takes 1 argument(s), not 0"),
        "{}",
        d[0].message
    );
    let d = check("let x = y + 1;", &FlowModules::new()).unwrap_err();
    assert!(d[0].message.contains("y"), "{}", d[0].message);
    let info = check(
        "let r = tool(\"order_status\", #{}); if r.ok { hangup(\"ok\") } fn f() { say(\"x\") }",
        &FlowModules::new(),
    )
    .unwrap();
    assert_eq!(info.host_calls, vec!["hangup", "say", "tool"]);
    assert_eq!(info.tools, vec!["order_status"]);
    assert_eq!(info.functions, vec!["f"]);
}

#[test]
fn every_documented_host_function_is_registered() {
    // check() knows host functions through the runtime's registration; calling each with a
    // plausible arity must not be reported as unknown.
    let calls = HOST_FUNCTIONS
        .iter()
        .map(|f| match *f {
            "say" | "brain" | "kb" | "tool" | "transfer" | "hangup" | "tag" | "set_language"
            | "notify" | "log" | "get" => format!("{f}(\"x\");"),
            "ask" => "ask(\"x\", #{});".into(),
            "listen" => "listen(100);".into(),
            "set" => "set(\"k\", 1);".into(),
            "qualify" => "qualify(#{});".into(),
            _ => format!("{f}();"),
        })
        .collect::<Vec<_>>()
        .join("\n");
    check(&calls, &FlowModules::new()).unwrap_or_else(|d| panic!("{d:?}"));
}

#[test]
fn get_with_defaults_of_any_type_and_log_of_numbers() {
    let src = r#"
        let a = get("min_budget", 0);
        let b = get("x", 1.5);
        let c = get("y", true);
        let d = get("z", [1]);
        let e = get("present", 0);
        say(`${type_of(a)} ${a} ${type_of(b)} ${c} ${d.len()} ${e}`);
        log(42);
    "#;
    let r = sim(src, json!({"vars": {"present": 7}}));
    assert_eq!(
        r.bot_lines().collect::<Vec<_>>(),
        vec!["i64 0 f64 true 1 7"]
    );
    assert!(
        r.actions.iter().any(
            |a| matches!(a, vaarta_flows::simulate::Action::Log { message } if message == "42")
        )
    );
}

#[test]
fn simulation_output_is_stable_and_round_trips_through_json() {
    let conv: Conversation = serde_json::from_value(json!({
        "caller": ["haan ji", {"digits": "778899"}, {"silence": true}, {"text": "yes please", "language": "en"}, {"hangup": true}],
        "caller_number": "+919800000001",
        "direction": "outbound",
        "language": "hi",
        "lead": {"name": "Rahul", "product": "Skyline Residency"},
        "vars": {"min_budget": 5000000, "transfer_rules": {"vip_numbers": ["9811122233"]}},
        "now": "2026-01-05T11:00",
        "utc_offset_minutes": 330,
        "tools": {"order_status": [{"ok": true, "status": 200, "data": {"status": "shipped"}}]},
        "brain": ["7 din mein return ho jayega"],
        "kb": [[{"text": "1 saal warranty", "source": "faq", "score": 0.9}]],
        "connectors": null
    }))
    .unwrap();
    let src = r#"
        loop {
            let r = ask("Boliye");
            if r.language == "en" { set_language("en"); }
            say(brain(r.text));
            tool("order_status", #{ id: r.digits });
        }
    "#;
    let a = serde_json::to_string(&simulate(src, &FlowModules::new(), &conv).unwrap()).unwrap();
    let b = serde_json::to_string(&simulate(src, &FlowModules::new(), &conv).unwrap()).unwrap();
    assert_eq!(a, b);
    let back: vaarta_flows::SimulationResult = serde_json::from_str(&a).unwrap();
    assert_eq!(back.outcome, Some(FlowOutcome::CallerHungUp));
    assert_eq!(back.language, "en");
    assert_eq!(back.unused_caller_turns, 0);
    // Silence is not a caller line; the hang-up ends the run.
    assert_eq!(
        back.transcript
            .iter()
            .filter(|l| l.speaker == vaarta_flows::simulate::Speaker::Caller)
            .count(),
        3
    );
}

#[test]
fn compiled_flows_can_be_shared_across_call_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<vaarta_flows::FlowProgram>();
    assert_send_sync::<vaarta_flows::CancelToken>();
    let program = std::sync::Arc::new(
        vaarta_flows::FlowProgram::compile("say(get(\"n\")); hangup(\"x\");", &FlowModules::new())
            .unwrap(),
    );
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let p = program.clone();
            std::thread::spawn(move || {
                let conv: Conversation =
                    serde_json::from_value(json!({"vars": {"n": format!("call {i}")}})).unwrap();
                p.simulate(&conv).transcript[0].text.clone()
            })
        })
        .collect();
    let got: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, vec!["call 0", "call 1", "call 2", "call 3"]);
}
