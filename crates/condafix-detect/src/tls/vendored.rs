//! pip's vendored TLS code (requests, urllib3, certifi, truststore) hashed against pip's RECORD
//! and, when pip came from conda, conda's record: the blog fix's `verify=False` edit shows here.

use std::path::Path;

use condafix_prefix::guard::{no_links_below, RelPath};
use condafix_prefix::safe_read;
use condafix_prefix::{join_rel, Layout, PipRecord, PrefixRecord};

use super::PrefixTlsInput;
use crate::display_path;
use crate::{Code, Finding, Remedy};

/// The vendored files pip's TLS rests on, relative to site-packages.
pub(super) fn is_vendored_tls_file(rel: &str) -> bool {
    rel == "pip/_vendor/requests/sessions.py"
        || rel == "pip/_vendor/requests/adapters.py"
        || rel == "pip/_vendor/certifi/cacert.pem"
        || rel == "pip/_vendor/certifi/core.py"
        || (rel.starts_with("pip/_vendor/urllib3/") && rel.ends_with(".py"))
        || (rel.starts_with("pip/_vendor/truststore/") && rel.ends_with(".py"))
}

/// Hash pip's vendored TLS code against pip's RECORD and, when pip came from conda, the conda
/// record: a mismatch is the `verify=False` edit, or worse.
pub(super) fn check(input: &PrefixTlsInput<'_>, site: &Path, version: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let record_path = site.join(format!("pip-{version}.dist-info")).join("RECORD");
    let record = match PipRecord::from_path(&record_path) {
        Ok(r) => r,
        Err(_) => {
            findings.push(
                Finding::new(Code::T051, format!("pip {version} has no readable RECORD ({}): its vendored TLS code cannot be verified", display_path(&record_path)))
                    .path(display_path(&record_path)),
            );
            return findings;
        }
    };
    let conda_rec: Option<PrefixRecord> = input.meta.load("pip").ok().flatten();
    let py = input.python.as_ref().map(|v| v.major_minor());
    let conda_map = conda_rec
        .as_ref()
        .map(|r| r.entries_by_installed_path(input.layout, py));
    let site_rel = py
        .map(|mm| input.layout.site_packages(mm))
        .unwrap_or_default();
    let mut altered = Vec::new();
    for entry in record
        .entries
        .iter()
        .filter(|e| is_vendored_tls_file(&e.path))
    {
        let file = join_rel(site, &entry.path);
        // Paths from RECORD go through the guard; a link or a huge file is "not pip's file".
        let actual = RelPath::parse(&entry.path)
            .ok()
            .filter(|rel| no_links_below(site, rel).is_ok())
            .and_then(|_| safe_read::hash(&file, safe_read::MAX_RECORD_BYTES).ok())
            .map(|(h, _)| h);
        let in_record = entry.sha256;
        let in_conda = conda_map.as_ref().and_then(|m| {
            let key = format!("{site_rel}/{}", entry.path);
            let key = if input.layout == Layout::Windows {
                key.to_lowercase()
            } else {
                key
            };
            m.get(&key).and_then(|e| e.expected_sha256())
        });
        let mismatch = match actual {
            None => true,
            Some(a) => in_record.is_some_and(|r| r != a) || in_conda.is_some_and(|c| c != a),
        };
        if mismatch {
            altered.push((entry.path.clone(), file, in_record.or(in_conda), actual));
        }
    }
    for (rel, file, expected, actual) in altered {
        findings.push(
            Finding::new(Code::T050, format!("pip's vendored TLS code was altered: {rel} {} (the `verify=False` edit turns every certificate check off)", if actual.is_some() { "does not match pip's RECORD" } else { "is missing" }))
                .path(display_path(&file))
                .evidence("file", &rel)
                .evidence("expected_sha256", expected)
                .evidence("actual_sha256", actual)
                .fix("restore it: `condafix config --remove-insecure` takes the original from the package cache, or reinstall pip (`python -m pip install --force-reinstall pip` from an offline wheel)")
                .remedy(Remedy::RestorePipFile { path: file, rel, expected }),
        );
    }
    findings
}
