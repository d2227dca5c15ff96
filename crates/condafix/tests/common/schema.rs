//! Every `--json` document is checked against the JSON Schema published in `schema/` (generated
//! from the types; a unit test in the binary keeps the files current). Shared by this crate's
//! tests and the workspace's scenario tests.

use std::path::PathBuf;

/// The published schema of a command's document.
fn schema(command: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("schema").is_dir() && d.join("Cargo.lock").is_file())
        .expect("the workspace root")
        .join("schema")
        .join(format!("{command}.schema.json"));
    serde_json::from_str(&fs_err::read_to_string(&path).expect("schema file")).expect("schema JSON")
}

/// Panic with every violation when `doc` is not a valid `condafix <command> --json` document.
#[allow(dead_code)]
pub fn assert_valid(command: &str, doc: &serde_json::Value) {
    let schema = schema(command);
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "`{command} --json` does not match schema/{command}.schema.json:\n{}",
        errors.join("\n")
    );
}
