//! Workspace-level test support for condafix: the scenario snapshot tests in `tests/` and the
//! benchmarks in `benches/` live in this package so that `cargo test --workspace` runs them.

use std::path::Path;

pub mod dist;
pub mod fuzz;

/// Replace every spelling of `root` in `text` with `[ROOT]` and turn `\` into `/`, so that one
/// snapshot passes on Windows and Linux.
pub fn normalize_paths(text: &str, root: &Path) -> String {
    let mut out = text.to_string();
    let root_str = root.display().to_string();
    let variants = [
        root_str.clone(),
        root_str.replace('\\', "/"),
        root_str.replace('\\', "\\\\"),
        dunce_like(&root_str),
    ];
    for v in variants.iter().filter(|v| !v.is_empty()) {
        out = out.replace(v.as_str(), "[ROOT]");
    }
    out.replace("\\\\", "/").replace('\\', "/")
}

fn dunce_like(s: &str) -> String {
    s.strip_prefix(r"\\?\").unwrap_or(s).to_string()
}

/// Walk a JSON value and normalize every string in it (see [`normalize_paths`]).
pub fn normalize_json(value: &mut serde_json::Value, root: &Path) {
    match value {
        serde_json::Value::String(s) => *s = normalize_paths(s, root),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|v| normalize_json(v, root)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|v| normalize_json(v, root)),
        _ => {}
    }
}
