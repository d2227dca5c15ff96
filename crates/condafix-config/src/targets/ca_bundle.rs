//! The CA bundle: the prefix's public roots + the given certificates + the OS trust store.

use std::path::{Path, PathBuf};

use condafix_detect::display_path;
use condafix_detect::locations::{ConfigLocations, WriteScope};
use condafix_prefix::{join_rel, Layout, Version};

use super::ConfigTarget;
use crate::bundle::{build_bundle, BundleInputs, CertSource};
use crate::planner::Planner;
use crate::ConfigError;

pub(crate) struct CaBundle;

/// The public root bundles a prefix carries.
fn public_roots(prefix: &Path, layout: Layout, py: Option<(u64, u64)>) -> Vec<PathBuf> {
    let mut v = vec![join_rel(prefix, layout.ca_bundle())];
    if let Some(mm) = py {
        let site = join_rel(prefix, &layout.site_packages(mm));
        v.push(site.join("certifi").join("cacert.pem"));
        v.push(
            site.join("pip")
                .join("_vendor")
                .join("certifi")
                .join("cacert.pem"),
        );
    }
    v
}

fn scope_words(scope: WriteScope) -> &'static str {
    match scope {
        WriteScope::Global => "machine-wide",
        _ => "user's",
    }
}

/// Who, besides the administrators, the system, this process's account and (for a user's
/// bundle) the user whose home it is, may change one of the prefix's root bundles or a folder
/// between it and the prefix: `None` when no one.
fn foreign_writer(
    prefix: &Path,
    files: &[PathBuf],
    locations: &ConfigLocations,
    scope: WriteScope,
) -> Option<String> {
    let me = condafix_actor::identity::process_account().map(|a| a.to_string());
    // For a user's bundle, the user whose home it is.
    let user = match (scope, &locations.home) {
        (WriteScope::User, Some(home)) => condafix_actor::writers_of_path(home)
            .ok()
            .and_then(|w| condafix_actor::user_owner(&w))
            .map(|id| id.to_string()),
        _ => None,
    };
    type Find = fn(&Path) -> std::io::Result<Vec<condafix_actor::Writer>>;
    // The folders on the way to the prefix (whoever may replace one may swap the files), then
    // each bundle and every folder from it up to the prefix, each judged once.
    let mut inside: Vec<&Path> = files
        .iter()
        .flat_map(|f| f.ancestors().take_while(|a| a.starts_with(prefix)))
        .collect();
    inside.sort();
    inside.dedup();
    let ancestors = condafix_actor::ancestors_of(prefix);
    let judged = ancestors
        .iter()
        .map(|a| (a.as_path(), condafix_actor::replacers_of_folder as Find))
        .chain(
            inside
                .into_iter()
                .map(|p| (p, condafix_actor::writers_of_path as Find)),
        );
    for (at, find) in judged {
        match find(at) {
            Ok(found) => {
                if let Some(w) = found
                    .iter()
                    .find(|w| me.as_ref() != Some(&w.id) && user.as_ref() != Some(&w.id))
                {
                    return Some(w.label());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Some(format!("anyone (their rights could not be read: {e})")),
        }
    }
    None
}

impl ConfigTarget for CaBundle {
    fn plan(&self, p: &mut Planner<'_>) -> Result<(), ConfigError> {
        let t = &p.trust;
        if !(t.want_bundle && (t.pip_needs_bundle || t.conda_needs_bundle)) {
            return Ok(());
        }
        let opts = p.opts;
        let py_mm = p
            .report
            .python
            .as_ref()
            .map(|py| Version::parse(&py.version).major_minor());
        let mut public = public_roots(&p.prefix, p.report.layout, py_mm);
        let mut system = opts.system_roots.clone();
        if opts.scope != WriteScope::Site {
            if let Some(who) = foreign_writer(&p.prefix, &public, p.locations, opts.scope) {
                // The roots a user can change must not be trusted by what they cannot: root's
                // or another user's pip, every account's (a global bundle).
                public.clear();
                if system.is_none() {
                    system = Some(crate::bundle::system_roots().0);
                }
                if system.as_ref().is_none_or(Vec::is_empty) {
                    return Err(ConfigError::Usage(format!(
                        "the public roots in {} may be changed by {who}, so they cannot go into a {} bundle, and this system's trust store gave none to use instead: write the bundle for this prefix alone (--scope site)",
                        display_path(&p.prefix),
                        scope_words(opts.scope)
                    )));
                }
                p.note(format!(
                    "the public roots in {} may be changed by {who}, who would then be trusted by every program using a {} bundle: it takes its public roots from this system's trust store instead (--scope site keeps a bundle for this prefix alone, with its own roots)",
                    display_path(&p.prefix),
                    scope_words(opts.scope)
                ));
            }
        }
        let bundle = build_bundle(&BundleInputs {
            public: &public,
            given: &opts.ca_files,
            system,
            now_unix: opts.now_unix,
        })?;
        if !opts.ca_files.is_empty()
            && bundle.count(CertSource::Given) == 0
            && bundle
                .rejected
                .iter()
                .any(|r| opts.ca_files.iter().any(|f| display_path(f) == r.from))
        {
            return Err(ConfigError::Usage(format!(
                "none of the certificates given with --ca-file can be used:\n{}",
                bundle
                    .rejected
                    .iter()
                    .map(|r| format!("  {} ({}): {}", r.subject, r.from, r.reason))
                    .collect::<Vec<_>>()
                    .join("\n")
            )));
        }
        if bundle.count(CertSource::Prefix) == 0 {
            p.note("this prefix carries no public root bundle (Library\\ssl\\cacert.pem, certifi): the bundle holds only the given and system certificates");
        }
        let path = p.trust.bundle_path.clone();
        let before = crate::planner::read_config(&path).ok().flatten();
        if before.as_deref() != Some(bundle.pem.as_bytes()) {
            p.write_text(&path, "CA bundle", before.as_deref(), bundle.pem.clone());
        }
        p.plan.bundle = Some(bundle);
        Ok(())
    }
}
