//! The user PATH the rustup way (read raw, leave a non-string value alone, treat missing as
//! empty, write REG_EXPAND_SZ, delete when empty), but comparing whole entries split on `;`,
//! case-insensitively, trailing `\` trimmed (rustup's and uv's substring test is a bug).

use std::path::Path;

/// The entries Anaconda's "Add to PATH" prepends for a prefix, in order.
pub fn add_to_path_entries(prefix: &Path) -> Vec<String> {
    let p = dunce::simplified(prefix).display().to_string();
    let sep = if p.contains('/') && !p.contains('\\') {
        "/"
    } else {
        "\\"
    };
    let j = |rel: &str| format!("{p}{sep}{}", rel.replace('\\', sep));
    vec![
        p.clone(),
        j("Library\\mingw-w64\\bin"),
        j("Library\\usr\\bin"),
        j("Library\\bin"),
        j("Scripts"),
    ]
}

fn entry_key(e: &str) -> String {
    e.trim().trim_end_matches(['\\', '/']).to_lowercase()
}

/// Put `entries` first in a `;`-separated PATH value, removing other copies of them (whole
/// entries, case-insensitive); every other entry, `%VAR%` ones included, stays as written.
/// Returns the new value and whether it changed.
pub fn prepend_entries(current: &str, entries: &[String]) -> (String, bool) {
    let wanted: Vec<String> = entries.iter().map(|e| entry_key(e)).collect();
    let rest: Vec<&str> = current
        .split(';')
        .filter(|e| !e.trim().is_empty())
        .filter(|e| !wanted.contains(&entry_key(e)))
        .collect();
    let mut out: Vec<&str> = entries.iter().map(String::as_str).collect();
    out.extend(rest);
    let value = out.join(";");
    let already_first = current
        .split(';')
        .filter(|e| !e.trim().is_empty())
        .take(entries.len())
        .map(entry_key)
        .collect::<Vec<_>>()
        == wanted;
    if already_first {
        (current.to_string(), false)
    } else {
        (value, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_entries_are_compared_not_substrings() {
        let new = vec!["C:\\a".to_string(), "C:\\a\\Scripts".to_string()];
        let (v, changed) = prepend_entries("%USERPROFILE%\\bin;C:\\a\\;C:\\ab", &new);
        assert!(changed);
        assert_eq!(v, "C:\\a;C:\\a\\Scripts;%USERPROFILE%\\bin;C:\\ab");
        let (v2, changed) = prepend_entries(&v, &new);
        assert!(!changed);
        assert_eq!(v2, v);
        let (v3, _) = prepend_entries("", &new);
        assert_eq!(v3, "C:\\a;C:\\a\\Scripts");
    }
}
