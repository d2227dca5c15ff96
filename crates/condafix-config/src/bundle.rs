//! One PEM bundle: the prefix's public roots, the corporate certificates given, and (when asked)
//! the OS trust store's roots; de-duplicated, each certificate parsed and validated. Expired
//! and non-CA certificates are reported, never silently added.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use condafix_prefix::Sha256;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;
use serde::Serialize;

use crate::ConfigError;

/// Where a certificate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CertSource {
    /// The prefix's own public roots (Library\ssl\cacert.pem, certifi).
    Prefix,
    /// `--ca-file`.
    Given,
    /// The OS trust store (`--trust-system-store`).
    System,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BundleCert {
    pub subject: String,
    pub not_after: String,
    pub sha256: Sha256,
    pub source: CertSource,
}

/// A certificate left out, and why.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Rejected {
    pub from: String,
    pub subject: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Bundle {
    pub certs: Vec<BundleCert>,
    pub rejected: Vec<Rejected>,
    /// Certificates seen more than once (kept once).
    pub duplicates: usize,
    #[serde(skip)]
    pub pem: String,
}

impl Bundle {
    pub fn count(&self, source: CertSource) -> usize {
        self.certs.iter().filter(|c| c.source == source).count()
    }
}

/// Certificates in a file: PEM (any number), or one DER certificate (a `.cer` export).
/// A CA bundle is a few hundred KB (certifi's is about 280 KB).
const MAX_BUNDLE_BYTES: u64 = 16 * 1024 * 1024;

/// Read the certificates in a PEM or DER file. Files from a prefix (`from_prefix`) are never
/// read through a link; a file given on the command line may be one (`/etc/ssl/certs/...`).
pub fn read_certificates(
    path: &Path,
    from_prefix: bool,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = if from_prefix {
        condafix_prefix::safe_read::read(path, MAX_BUNDLE_BYTES).map_err(|e| {
            ConfigError::BadCaFile {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?
    } else {
        let mut bytes = Vec::new();
        let file = fs_err::File::open(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_BUNDLE_BYTES + 1),
            &mut bytes,
        )
        .map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if bytes.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(ConfigError::BadCaFile {
                path: path.to_path_buf(),
                reason: "it is larger than any CA bundle".into(),
            });
        }
        bytes
    };
    let pem: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(Result::ok)
        .collect();
    if !pem.is_empty() {
        return Ok(pem);
    }
    if x509_parser::parse_x509_certificate(&bytes).is_ok() {
        return Ok(vec![CertificateDer::from(bytes)]);
    }
    Err(ConfigError::BadCaFile {
        path: path.to_path_buf(),
        reason: "no PEM certificate and not a DER certificate".into(),
    })
}

/// Why a certificate cannot go into a trust bundle, if it cannot.
fn check(
    der: &[u8],
    now_unix: i64,
    require_ca: bool,
) -> Result<(String, String), (String, String)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| {
        (
            "(unparsable)".to_string(),
            format!("not a valid X.509 certificate ({e})"),
        )
    })?;
    let subject = cert.subject().to_string();
    let not_after = cert.validity().not_after;
    let not_after_text = not_after.to_datetime().date().to_string();
    if not_after.timestamp() < now_unix {
        return Err((subject, format!("expired on {not_after_text}")));
    }
    if cert.validity().not_before.timestamp() > now_unix {
        return Err((subject, "not valid yet".into()));
    }
    if require_ca {
        let is_ca = match cert.basic_constraints() {
            Ok(Some(bc)) => bc.value.ca,
            // A v1 certificate has no extensions: a self-signed one is a root.
            Ok(None) => cert.subject() == cert.issuer(),
            Err(_) => false,
        };
        if !is_ca {
            return Err((
                subject,
                "not a CA certificate (a server's own certificate?); give the issuing CA instead"
                    .into(),
            ));
        }
    }
    Ok((subject, not_after_text))
}

fn pem_block(der: &[u8], subject: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("# {subject}\n-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Inputs of a bundle.
pub struct BundleInputs<'a> {
    /// The prefix's public root bundles, in order; every one that exists is used.
    pub public: &'a [PathBuf],
    /// `--ca-file`s.
    pub given: &'a [PathBuf],
    /// The OS trust store's certificates, when asked for.
    pub system: Option<Vec<CertificateDer<'static>>>,
    pub now_unix: i64,
}

pub fn build_bundle(inputs: &BundleInputs<'_>) -> Result<Bundle, ConfigError> {
    let mut bundle = Bundle {
        certs: Vec::new(),
        rejected: Vec::new(),
        duplicates: 0,
        pem: String::new(),
    };
    bundle.pem.push_str("# CA bundle written by condafix: the prefix's public roots, the corporate CAs given with\n# --ca-file and, with --trust-system-store, the OS trust store's roots. Rebuilt by `condafix config`.\n");
    let mut seen = std::collections::HashSet::new();
    let mut add =
        |der: &[u8], source: CertSource, from: &str, require_ca: bool, bundle: &mut Bundle| {
            let sha = Sha256::of_bytes(der);
            if !seen.insert(sha) {
                bundle.duplicates += 1;
                return;
            }
            match check(der, inputs.now_unix, require_ca) {
                Ok((subject, not_after)) => {
                    bundle.pem.push_str(&pem_block(der, &subject));
                    bundle.certs.push(BundleCert {
                        subject,
                        not_after,
                        sha256: sha,
                        source,
                    });
                }
                Err((subject, reason)) => bundle.rejected.push(Rejected {
                    from: from.to_string(),
                    subject,
                    reason,
                }),
            }
        };
    for p in inputs.public.iter().filter(|p| p.is_file()) {
        let from = dunce::simplified(p).display().to_string();
        // A public bundle may carry a root that is expiring; those are dropped (and listed)
        // like any other: an expired root cannot anchor a chain anyway.
        if let Ok(certs) = read_certificates(p, true) {
            for c in certs {
                add(&c, CertSource::Prefix, &from, false, &mut bundle);
            }
        }
    }
    for p in inputs.given {
        let from = dunce::simplified(p).display().to_string();
        let certs = read_certificates(p, false)?;
        for c in certs {
            add(&c, CertSource::Given, &from, true, &mut bundle);
        }
    }
    if let Some(system) = &inputs.system {
        for c in system {
            add(
                c,
                CertSource::System,
                "the OS trust store",
                true,
                &mut bundle,
            );
        }
    }
    Ok(bundle)
}

/// The OS trust store's roots (Windows: the ROOT store; Linux/macOS: the system bundle, which
/// `SSL_CERT_FILE`/`SSL_CERT_DIR` can point elsewhere).
pub fn system_roots() -> (Vec<CertificateDer<'static>>, Vec<String>) {
    let r = rustls_native_certs::load_native_certs();
    (r.certs, r.errors.iter().map(|e| e.to_string()).collect())
}
