//! The real TLS test: a local HTTPS server with its own CA serving a PEP 503 index, a real venv
//! of this machine's Python as the prefix, pip's own stack as the client. Before: `pip download`
//! fails with CERTIFICATE_VERIFY_FAILED; after `condafix config --ca-file ca.pem` it succeeds
//! with no trusted-host anywhere; after `condafix undo` it fails again. The same with
//! `--trust-system-store`, the CA injected through SSL_CERT_FILE (what rustls-native-certs
//! honours on Linux).
//!
//! Linux only: it needs this machine's Python. On Windows the same path is proven by the
//! windows-latest end-to-end workflow (pip download through `condafix post-install`).
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::https_index::HttpsIndex;
use common::TestContext;

fn python() -> String {
    std::env::var("CONDAFIX_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn venv(dir: &Path) -> PathBuf {
    let venv = dir.join("venv");
    let st = Command::new(python())
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 -m venv");
    assert!(st.success(), "python3 -m venv failed");
    venv
}

/// `pip download` through the venv's own pip, with an environment that carries none of this
/// machine's TLS variables (REQUESTS_CA_BUNDLE would silently override pip's `cert`).
fn pip_download(ctx: &TestContext, venv: &Path, index: &str) -> (bool, String) {
    let out_dir = ctx.path().join("downloads");
    let _ = fs_err::remove_dir_all(&out_dir);
    let out = Command::new(venv.join("bin").join("python"))
        .args([
            "-m",
            "pip",
            "download",
            "fixturepkg",
            "--no-deps",
            "--disable-pip-version-check",
            "--retries",
            "0",
            "--timeout",
            "10",
            "--index-url",
            index,
            "-d",
        ])
        .arg(&out_dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", ctx.path().join("home"))
        .current_dir(ctx.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = out.status.success() && out_dir.join("fixturepkg-1.0-py3-none-any.whl").is_file();
    (ok, text)
}

fn condafix(ctx: &TestContext, args: &[&str], venv: &Path) -> std::process::Output {
    let mut c = ctx.command();
    c.args(args).arg("--prefix").arg(venv);
    c.output().unwrap()
}

fn no_trusted_host_anywhere(venv: &Path, home: &Path) {
    for f in [
        venv.join("pip.conf"),
        home.join(".config/pip/pip.conf"),
        home.join(".pip/pip.conf"),
    ] {
        if let Ok(text) = fs_err::read_to_string(&f) {
            assert!(!text.contains("trusted-host"), "{}: {text}", f.display());
        }
    }
}

#[test]
fn ca_file_makes_pip_trust_the_corporate_root_and_undo_takes_it_back() {
    let ctx = TestContext::new();
    let server = HttpsIndex::start();
    let ca = ctx.path().join("corp-root.pem");
    server.write_ca(&ca);
    let venv = venv(ctx.path());

    let (ok, text) = pip_download(&ctx, &venv, &server.url);
    assert!(!ok, "before: must fail\n{text}");
    assert!(text.contains("CERTIFICATE_VERIFY_FAILED"), "before: {text}");

    let out = condafix(&ctx, &["config", "--ca-file", ca.to_str().unwrap()], &venv);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pip_conf = fs_err::read_to_string(venv.join("pip.conf")).unwrap();
    assert!(pip_conf.contains("cert = "), "{pip_conf}");
    let (ok, text) = pip_download(&ctx, &venv, &server.url);
    assert!(ok, "after config: must succeed\n{text}");
    no_trusted_host_anywhere(&venv, &ctx.path().join("home"));

    let again = condafix(&ctx, &["config", "--ca-file", ca.to_str().unwrap()], &venv);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("Nothing to change."),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let out = condafix(&ctx, &["undo"], &venv);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !venv.join("pip.conf").exists(),
        "undo removes the file condafix created"
    );
    let (ok, text) = pip_download(&ctx, &venv, &server.url);
    assert!(
        !ok && text.contains("CERTIFICATE_VERIFY_FAILED"),
        "after undo: fails again\n{text}"
    );
}

#[test]
fn trust_system_store_takes_the_root_from_the_os_store() {
    let ctx = TestContext::new();
    let server = HttpsIndex::start();
    let ca = ctx.path().join("os-store.pem");
    server.write_ca(&ca);
    let venv = venv(ctx.path());
    let (ok, _) = pip_download(&ctx, &venv, &server.url);
    assert!(!ok);
    // rustls-native-certs reads SSL_CERT_FILE on Linux: that is the OS store condafix sees.
    let mut c = ctx.command();
    c.args(["config", "--trust-system-store", "--prefix"])
        .arg(&venv)
        .env("SSL_CERT_FILE", &ca);
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 from the OS store"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, text) = pip_download(&ctx, &venv, &server.url);
    assert!(ok, "after --trust-system-store: must succeed\n{text}");
    assert_eq!(condafix(&ctx, &["undo"], &venv).status.code(), Some(0));
    let (ok, _) = pip_download(&ctx, &venv, &server.url);
    assert!(!ok);
}

#[test]
fn an_expired_or_leaf_certificate_is_reported_not_added() {
    let ctx = TestContext::new();
    let venv = venv(ctx.path());
    // A server's own certificate is not a CA: refused with a clear reason.
    let server = HttpsIndex::start();
    let leaf = ctx.path().join("leaf.pem");
    let leaf_pem = {
        let params = rcgen::CertificateParams::new(vec!["host.corp".to_string()]).unwrap();
        params
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap()
    };
    // A self-signed certificate with CA:FALSE.
    let mut p = rcgen::CertificateParams::new(vec!["leaf.corp".to_string()]).unwrap();
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    let explicit_leaf = p.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
    fs_err::write(&leaf, explicit_leaf.pem()).unwrap();
    let _ = (leaf_pem, server);
    let out = condafix(
        &ctx,
        &["config", "--ca-file", leaf.to_str().unwrap()],
        &venv,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a CA certificate"), "{stderr}");
    assert!(!venv.join("pip.conf").exists());
    // An expired CA.
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.not_before = rcgen::date_time_ymd(2010, 1, 1);
    p.not_after = rcgen::date_time_ymd(2015, 1, 1);
    let expired = p.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
    let old = ctx.path().join("old.pem");
    fs_err::write(&old, expired.pem()).unwrap();
    let out = condafix(&ctx, &["config", "--ca-file", old.to_str().unwrap()], &venv);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("expired on 2015-01-01"), "{stderr}");
}
