//! OpenSSL-looking DLLs in `DLLs\` and the install's root that no conda record owns: what
//! manual fixes leave behind.

use std::collections::BTreeMap;
use std::path::Path;

use super::PythonFiles;
use crate::diagnose::LooseCopy;
use crate::facts::Disk;
use crate::model::display_path;
use crate::report::{PrefixReport, RecordedFile};

fn is_openssl_name(n: &str) -> bool {
    n.ends_with(".dll")
        && (n.starts_with("libssl")
            || n.starts_with("libcrypto")
            || n == "ssleay32.dll"
            || n == "libeay32.dll")
}

/// The loose copies in `home` (the prefix, or a venv's base).
pub(crate) fn loose_copies(
    home: &Path,
    report: &PrefixReport,
    recorded: &BTreeMap<String, RecordedFile>,
    python_files: &mut PythonFiles,
    disk: &mut Disk,
) -> Vec<LooseCopy> {
    let mut found = Vec::new();
    for (rel_dir, dir) in [("DLLs", home.join("DLLs")), ("", home.to_path_buf())] {
        let mut names: Vec<(String, std::ffi::OsString)> = disk
            .listing(&dir)
            .iter()
            .filter(|(lower, _)| {
                is_openssl_name(lower)
                    || report
                        .dlls
                        .iter()
                        .any(|d| d.name.eq_ignore_ascii_case(lower))
            })
            .map(|(l, n)| (l.clone(), n.clone()))
            .collect();
        names.sort();
        for (lower, real) in names {
            let path = dir.join(&real);
            if !fs_err::symlink_metadata(&path).is_ok_and(|m| !m.is_dir()) {
                continue;
            }
            let rel = if rel_dir.is_empty() {
                real.to_string_lossy().into_owned()
            } else {
                format!("{rel_dir}/{}", real.to_string_lossy())
            };
            found.push((lower, rel, path));
        }
    }
    if found.is_empty() {
        return Vec::new();
    }
    let openssl_files: Vec<String> = report
        .openssl
        .as_ref()
        .map(|o| o.files.clone())
        .unwrap_or_default();
    let receipt = condafix_prefix::Receipt::load_for_prefix(
        home,
        &condafix_actor::state::process_machine_state_dir(),
    )
    .unwrap_or_default();
    let mut out = Vec::new();
    for (lower, rel, path) in found {
        // A python build that ships its own OpenSSL DLLs in DLLs\ owns them.
        let owned =
            python_files.lists(&rel) || openssl_files.iter().any(|f| f.eq_ignore_ascii_case(&rel));
        if owned {
            continue;
        }
        let facts = disk.facts(&path).clone();
        let needed = report
            .dlls
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(&lower));
        let record = recorded.get(&lower);
        let owned_by_condafix = receipt.owns(&rel, facts.sha256);
        out.push(LooseCopy {
            path: display_path(&path),
            rel,
            needed,
            sha256: facts.sha256,
            matches_record: match (record.and_then(|r| r.sha256), facts.sha256) {
                (Some(e), Some(a)) => Some(e == a),
                _ => None,
            },
            record: record.cloned(),
            machine: facts.pe.as_ref().ok().map(|i| i.machine),
            problem: facts.pe.as_ref().err().cloned(),
            owned_by_condafix,
        });
    }
    out
}
