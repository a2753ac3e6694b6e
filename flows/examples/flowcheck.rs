//! `cargo run -p vaarta-flows --example flowcheck -- FILE [--say "..."]...`: check a flow and
//! optionally simulate it with the shipped modules (a stand-in for `vaarta flows check/simulate`).
fn main() {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: flowcheck FILE [--say TEXT]...");
        std::process::exit(2);
    };
    let source = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        eprintln!("{file}: {e}");
        std::process::exit(2)
    });
    let modules = vaarta_flows::shipped::modules();
    let says: Vec<String> = args
        .collect::<Vec<_>>()
        .chunks(2)
        .filter(|c| c[0] == "--say")
        .filter_map(|c| c.get(1).cloned())
        .collect();
    match vaarta_flows::check(&source, &modules) {
        Err(diags) => {
            for d in diags {
                eprintln!("{file}:{d}");
            }
            std::process::exit(1);
        }
        Ok(info) => println!(
            "{}",
            serde_json::to_string_pretty(&info).unwrap_or_default()
        ),
    }
    if !says.is_empty() {
        let conv = vaarta_flows::Conversation::from_utterances(says);
        if let Ok(r) = vaarta_flows::simulate(&source, &modules, &conv) {
            println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        }
    }
}
