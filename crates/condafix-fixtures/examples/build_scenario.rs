//! Build a named scenario into a folder and print the arguments to inspect it:
//! `cargo run -p condafix-fixtures --example build_scenario -- <name> <dir>`.
fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().expect("scenario name");
    let dir = std::path::PathBuf::from(args.next().expect("target folder"));
    let Some(scenario) = condafix_fixtures::scenarios::ScenarioName::from_name(&name) else {
        let known: Vec<&str> = condafix_fixtures::scenarios::ALL
            .iter()
            .map(|s| s.name())
            .collect();
        eprintln!("unknown scenario {name}; known: {}", known.join(", "));
        std::process::exit(2);
    };
    let s = condafix_fixtures::scenarios::build(scenario, &dir);
    let path: Vec<String> = s
        .search_path
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    print!(
        "--system-root {} --search-path '{}'",
        s.system_root().display(),
        path.join(";")
    );
    for p in &s.prefixes {
        print!(" --prefix '{}'", p.display());
    }
    println!();
}
