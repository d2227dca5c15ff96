//! The CA bundles a prefix ships: `Library\ssl\cacert.pem` (ca-certificates, which activation
//! points `SSL_CERT_FILE` at) and certifi's `cacert.pem`.

use std::path::Path;

use condafix_prefix::{join_rel, Layout};

use super::PrefixTlsInput;
use crate::display_path;
use crate::{Code, Finding};

/// T060: a bundle the prefix's packages install that is missing or empty.
pub(super) fn check(input: &PrefixTlsInput<'_>, site: Option<&Path>) -> Vec<Finding> {
    let mut findings = Vec::new();
    if input.layout == Layout::Windows && input.meta.find("ca-certificates").is_some() {
        let bundle = join_rel(input.prefix, input.layout.ca_bundle());
        let empty = fs_err::metadata(&bundle)
            .map(|m| m.len() == 0)
            .unwrap_or(true);
        if empty {
            findings.push(
                Finding::new(Code::T060, format!("{} is missing or empty: activation points SSL_CERT_FILE at it, so OpenSSL-based tools fail", display_path(&bundle)))
                    .path(display_path(&bundle))
                    .fix("reinstall ca-certificates from the package cache: `conda install --offline --force-reinstall ca-certificates`"),
            );
        }
    }
    if let (Some(site), Some(_)) = (site, input.meta.find("certifi")) {
        let bundle = site.join("certifi").join("cacert.pem");
        if fs_err::metadata(&bundle)
            .map(|m| m.len() == 0)
            .unwrap_or(true)
        {
            findings.push(
                Finding::new(Code::T060, format!("{} is missing or empty: requests and conda have no public roots", display_path(&bundle)))
                    .path(display_path(&bundle))
                    .fix("reinstall certifi from the package cache: `conda install --offline --force-reinstall certifi`"),
            );
        }
    }

    findings
}
