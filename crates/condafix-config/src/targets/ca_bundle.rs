//! The CA bundle: the prefix's public roots + the given certificates + the OS trust store.

use std::path::{Path, PathBuf};

use condafix_detect::display_path;
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
        let public = public_roots(&p.prefix, p.report.layout, py_mm);
        let bundle = build_bundle(&BundleInputs {
            public: &public,
            given: &opts.ca_files,
            system: opts.system_roots.clone(),
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
