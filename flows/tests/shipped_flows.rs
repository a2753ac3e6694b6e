//! The shipped flows pass `check` and all of their stored flow tests.

use vaarta_flows::{FlowTestSuite, check, run_flow_tests, shipped};

fn assert_suite(name: &str, source: &str, tests: &str, min_tests: usize) {
    let suite = FlowTestSuite::from_json(tests).unwrap_or_else(|e| panic!("{name} tests: {e}"));
    assert!(
        suite.tests.len() >= min_tests,
        "{name}: only {} tests",
        suite.tests.len()
    );
    let report = run_flow_tests(source, &shipped::modules(), &suite)
        .unwrap_or_else(|d| panic!("{name}: {d:?}"));
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            let transcript: Vec<String> = r
                .simulation
                .transcript
                .iter()
                .map(|l| format!("  {:?}: {}", l.speaker, l.text))
                .collect();
            format!(
                "{}: {:?}\n{}\n  outcome {:?} error {:?}",
                r.name,
                r.failures,
                transcript.join("\n"),
                r.simulation.outcome,
                r.simulation.error
            )
        })
        .collect();
    assert!(
        report.passed && failures.is_empty(),
        "{name}:\n{}",
        failures.join("\n")
    );
    assert_eq!(report.total, suite.tests.len());
}

#[test]
fn shipped_flows_pass_check() {
    for (name, src) in [
        ("sales_qualification", shipped::SALES_QUALIFICATION),
        ("order_status", shipped::ORDER_STATUS),
    ] {
        let info = check(src, &shipped::modules()).unwrap_or_else(|d| panic!("{name}: {d:?}"));
        assert_eq!(info.imports, vec!["transfer_rules"]);
    }
    let info = check(shipped::ORDER_STATUS, &shipped::modules()).unwrap();
    assert_eq!(info.tools, vec!["order_status", "order_update"]);
    // The module on its own is a valid script too.
    check(shipped::TRANSFER_RULES, &shipped::modules()).unwrap();
}

#[test]
fn order_status_flow_tests_pass() {
    assert_suite(
        "order_status",
        shipped::ORDER_STATUS,
        shipped::ORDER_STATUS_TESTS,
        8,
    );
}

#[test]
fn sales_qualification_flow_tests_pass() {
    assert_suite(
        "sales_qualification",
        shipped::SALES_QUALIFICATION,
        shipped::SALES_QUALIFICATION_TESTS,
        7,
    );
}

#[test]
fn a_failing_expectation_is_reported_with_reasons() {
    let suite: FlowTestSuite = serde_json::from_value(serde_json::json!({"tests": [{
        "name": "wrong expectations",
        "conversation": {"caller": ["mujhe agent se baat karao"]},
        "expect": {"transfer_to": "billing", "said": ["order number boliye", "never said this"], "opted_out": true, "tools": [{"name": "order_status"}]}
    }]}))
    .unwrap();
    let report = run_flow_tests(shipped::ORDER_STATUS, &shipped::modules(), &suite).unwrap();
    assert!(!report.passed);
    assert_eq!(report.failed, 1);
    let f = &report.results[0].failures;
    assert_eq!(f.len(), 4, "{f:?}");
    assert!(f[0].contains("transfer to 'billing'"), "{f:?}");
    assert!(f[1].contains("never said this"), "{f:?}");
    assert!(
        f.iter()
            .any(|x| x.contains("tool 'order_status' not called")),
        "{f:?}"
    );
    assert!(f.iter().any(|x| x.contains("opt_out")), "{f:?}");
    // The report is serialisable for the API.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["results"][0]["simulation"]["outcome"]["outcome"],
        "transferred"
    );
}

#[test]
fn unknown_fields_in_flow_tests_are_rejected() {
    let e =
        FlowTestSuite::from_json(r#"{"tests":[{"name":"x","expect":{"transfered_to":"sales"}}]}"#)
            .unwrap_err();
    assert!(e.to_string().contains("transfered_to"), "{e}");
}

#[test]
fn assistant_flow_tests_pass() {
    check(shipped::ASSISTANT, &shipped::modules()).unwrap();
    assert_suite("assistant", shipped::ASSISTANT, shipped::ASSISTANT_TESTS, 4);
    assert!(shipped::flow("assistant").is_some() && shipped::flow("nope").is_none());
}
