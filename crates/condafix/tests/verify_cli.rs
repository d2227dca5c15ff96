//! `condafix verify` with this machine's real Python: a venv that works, a copy of the
//! interpreter whose `_ssl` module is missing (a prefix built without it), a hung interpreter
//! that must be killed with its children, and `--online` against a local HTTPS index, failing
//! with CERTIFICATE_VERIFY_FAILED and then working after `condafix config --ca-file`.
//!
//! Linux only (this machine's Python). The Windows loader side is proven by the Wine lane and
//! the windows-latest end-to-end workflow.
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
    assert!(Command::new(python())
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .unwrap()
        .success());
    venv
}

/// A prefix holding a real copy of this machine's interpreter, its stdlib linked in, and every
/// extension module but `_ssl`: `import ssl` fails however Python is started.
fn prefix_without_ssl(dir: &Path) -> PathBuf {
    let out = Command::new(python())
        .args(["-c", "import sys, sysconfig; print(sys.executable); print(sysconfig.get_paths()['stdlib']); print('%d.%d.%d' % sys.version_info[:3])"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let (exe, stdlib, version) = (
        PathBuf::from(lines.next().unwrap()),
        PathBuf::from(lines.next().unwrap()),
        lines.next().unwrap().to_string(),
    );
    let prefix = dir.join("nossl");
    let lib = prefix.join("lib").join(stdlib.file_name().unwrap());
    fs_err::create_dir_all(prefix.join("bin")).unwrap();
    fs_err::create_dir_all(lib.join("lib-dynload")).unwrap();
    fs_err::copy(
        fs_err::canonicalize(&exe).unwrap(),
        prefix.join("bin").join("python"),
    )
    .unwrap();
    for e in fs_err::read_dir(&stdlib).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == "lib-dynload" || name == "site-packages" {
            continue;
        }
        std::os::unix::fs::symlink(e.path(), lib.join(&name)).unwrap();
    }
    for e in fs_err::read_dir(stdlib.join("lib-dynload")).unwrap() {
        let e = e.unwrap();
        if !e.file_name().to_string_lossy().starts_with("_ssl") {
            std::os::unix::fs::symlink(e.path(), lib.join("lib-dynload").join(e.file_name()))
                .unwrap();
        }
    }
    // A conda prefix by its marker and python record.
    fs_err::create_dir_all(prefix.join("conda-meta")).unwrap();
    fs_err::write(prefix.join("conda-meta").join("history"), b"").unwrap();
    fs_err::write(
        prefix
            .join("conda-meta")
            .join(format!("python-{version}-fixture_0.json")),
        format!(r#"{{"name":"python","version":"{version}","build":"fixture_0","files":[]}}"#),
    )
    .unwrap();
    prefix
}

fn verify(
    ctx: &TestContext,
    prefix: &Path,
    extra: &[&str],
) -> (Option<i32>, serde_json::Value, String) {
    let out = ctx
        .command()
        .args(["verify", "--json", "--prefix"])
        .arg(prefix)
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    if !v.is_null() {
        common::schema::assert_valid("verify", &v);
    }
    (
        out.status.code(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_working_venv_verifies_with_its_openssl_and_pip() {
    let ctx = TestContext::new();
    let venv = venv(ctx.path());
    let (code, v, stderr) = verify(&ctx, &venv, &[]);
    assert_eq!(code, Some(0), "{stderr}\n{v}");
    let p = &v["prefixes"][0];
    assert_eq!(p["unactivated"]["result"], "ok");
    assert_eq!(p["activated"]["result"], "ok");
    assert!(p["unactivated"]["openssl_version"]
        .as_str()
        .unwrap()
        .starts_with("OpenSSL"));
    assert!(p["unactivated"]["probe"]["pip"]["version"].is_string());
    assert_eq!(p["agrees"], true);
}

#[test]
fn a_prefix_without_ssl_fails_with_the_exact_error_and_code() {
    let ctx = TestContext::new();
    let prefix = prefix_without_ssl(ctx.path());
    let (code, v, stderr) = verify(&ctx, &prefix, &[]);
    assert_eq!(code, Some(1), "{stderr}\n{v}");
    let u = &v["prefixes"][0]["unactivated"];
    assert_eq!(u["result"], "fails");
    assert_eq!(u["code"], "D001");
    assert_eq!(u["error"], "ModuleNotFoundError: No module named '_ssl'");
    let human = ctx
        .command()
        .args(["verify", "--prefix"])
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&human.stderr).contains("No module named '_ssl'"));
}

#[test]
fn a_hung_interpreter_is_killed_with_its_children_and_reported() {
    use std::os::unix::fs::PermissionsExt as _;
    let ctx = TestContext::new();
    let prefix = ctx.path().join("hung");
    fs_err::create_dir_all(prefix.join("bin")).unwrap();
    fs_err::create_dir_all(prefix.join("conda-meta")).unwrap();
    fs_err::write(prefix.join("conda-meta").join("history"), b"").unwrap();
    // A shell that starts a child that outlives it unless the whole group is killed.
    let script = prefix.join("bin").join("python");
    fs_err::write(&script, "#!/bin/sh\nsleep 30 &\nwait\n").unwrap();
    fs_err::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = std::time::Instant::now();
    let (code, v, stderr) = verify(&ctx, &prefix, &["--timeout", "1"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "it did not wait for the hung child"
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(v["prefixes"][0]["unactivated"]["result"], "timed-out");
    assert_eq!(v["prefixes"][0]["unactivated"]["code"], "V040");
}

#[test]
fn online_fails_with_certificate_verify_failed_then_works_after_config() {
    let ctx = TestContext::new();
    let server = HttpsIndex::start();
    let ca = ctx.path().join("corp.pem");
    server.write_ca(&ca);
    let venv = venv(ctx.path());
    let url = format!("{}fixturepkg/", server.url);
    let (code, v, stderr) = verify(&ctx, &venv, &["--online", &url]);
    assert_eq!(code, Some(1), "{stderr}\n{v}");
    let o = &v["prefixes"][0]["online"];
    assert_eq!(o["ok"], false);
    assert_eq!(o["error_class"], "certificate-verify-failed", "{o}");
    assert!(v["prefixes"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "V030"));

    let out = ctx
        .command()
        .args(["config", "--ca-file"])
        .arg(&ca)
        .arg("--prefix")
        .arg(&venv)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, v, stderr) = verify(&ctx, &venv, &["--online", &url]);
    assert_eq!(code, Some(0), "{stderr}\n{v}");
    let o = &v["prefixes"][0]["online"];
    assert_eq!(o["ok"], true, "{o}");
    assert!(o["mechanism"].as_str().unwrap().starts_with("cert="), "{o}");
}

#[test]
fn no_pth_file_of_the_prefix_runs_during_verify_and_pip_is_still_found() {
    let ctx = TestContext::new();
    let venv = venv(ctx.path());
    let site = fs_err::read_dir(venv.join("lib"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .expect("the venv's site-packages");
    let marker = ctx.path().join("pth-ran");
    fs_err::write(
        site.join("zz_condafix_probe.pth"),
        format!(
            "import os; open({:?}, 'w').write('ran')\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    // A plain start of the interpreter does run it (the hostile file works)...
    Command::new(venv.join("bin").join("python"))
        .args(["-c", "pass"])
        .status()
        .unwrap();
    assert!(marker.exists(), "the .pth file runs under a normal start");
    fs_err::remove_file(&marker).unwrap();
    // ...verify does not, for either launch context, and still finds pip in the venv.
    let (code, v, stderr) = verify(&ctx, &venv, &[]);
    assert_eq!(code, Some(0), "{stderr}\n{v}");
    assert!(!marker.exists(), "verify ran a .pth file of the prefix");
    let probe = &v["prefixes"][0]["unactivated"]["probe"];
    assert!(probe["pip"]["version"].is_string(), "{probe}");
    assert_eq!(
        probe["prefix"].as_str().unwrap(),
        venv.display().to_string(),
        "the venv is the prefix, as site would make it"
    );
}

#[test]
fn elevated_condafix_does_not_run_an_interpreter_others_may_change() {
    use std::os::unix::fs::PermissionsExt as _;
    let ctx = TestContext::new();
    let prefix = ctx.path().join("shared");
    fs_err::create_dir_all(prefix.join("bin")).unwrap();
    fs_err::create_dir_all(prefix.join("conda-meta")).unwrap();
    fs_err::write(prefix.join("conda-meta").join("history"), b"").unwrap();
    let marker = ctx.path().join("interpreter-ran");
    let script = prefix.join("bin").join("python");
    fs_err::write(
        &script,
        format!("#!/bin/sh\ntouch '{}'\necho '{{}}'\n", marker.display()),
    )
    .unwrap();
    fs_err::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let elevated = |ctx: &TestContext| {
        let out = ctx
            .command()
            .args(["verify", "--json", "--prefix"])
            .arg(&prefix)
            .env("CONDAFIX_ASSUME_ELEVATED", "1")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        common::schema::assert_valid("verify", &v);
        v
    };
    // Anyone may write to the prefix: not run, and V042 says why.
    fs_err::set_permissions(&prefix, std::fs::Permissions::from_mode(0o777)).unwrap();
    let v = elevated(&ctx);
    assert!(
        !marker.exists(),
        "the interpreter ran with condafix's rights"
    );
    let f = &v["prefixes"][0]["findings"][0];
    assert_eq!(f["code"], "V042", "{v}");
    assert_eq!(v["prefixes"][0]["unactivated"]["result"], "did-not-run");
    // Only root may write (this suite runs as root in CI): it runs.
    if std::env::var("USER").as_deref() == Ok("root") || is_root() {
        fs_err::set_permissions(&prefix, std::fs::Permissions::from_mode(0o755)).unwrap();
        for d in ["bin", "conda-meta"] {
            fs_err::set_permissions(prefix.join(d), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        let _ = elevated(&ctx);
        assert!(marker.exists(), "a prefix only root can change is verified");
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
