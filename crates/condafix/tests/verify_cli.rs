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

/// An interpreter that ends but leaves something holding its stdout (a child in its group, or
/// one that escaped it, as a crash handler does under Wine) is not waited on: its result is read
/// when it ends, and what it left in its tree is killed then.
#[test]
fn an_interpreter_whose_leftovers_hold_its_output_is_not_waited_on_forever() {
    use std::os::unix::fs::PermissionsExt as _;
    let ctx = TestContext::new();
    let run = |name: &str, leftover: &str| {
        let prefix = ctx.path().join(name);
        fs_err::create_dir_all(prefix.join("bin")).unwrap();
        fs_err::create_dir_all(prefix.join("conda-meta")).unwrap();
        fs_err::write(prefix.join("conda-meta").join("history"), b"").unwrap();
        let pid_file = ctx.path().join(format!("{name}.pid"));
        let script = prefix.join("bin").join("python");
        fs_err::write(
            &script,
            format!(
                "#!/bin/sh\n{leftover} sleep 60 &\necho $! >> '{}'\necho '{{\"ssl\": {{\"ok\": false}}}}'\n",
                pid_file.display()
            ),
        )
        .unwrap();
        fs_err::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Bounded by the test itself: a verify that hangs fails here instead of hanging CI.
        let mut child = ctx
            .command()
            .args(["verify", "--json", "--timeout", "30", "--prefix"])
            .arg(&prefix)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > std::time::Duration::from_secs(50) {
                let _ = child.kill();
                panic!("verify of {name} still waits for its leftovers' output");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let pids: Vec<i32> = fs_err::read_to_string(&pid_file)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect();
        (v, pids)
    };
    let alive = |pid: i32| {
        fs_err::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    // In its group: killed when the interpreter ends, and its result is read.
    let (v, pids) = run("in-group", "");
    assert_eq!(pids.len(), 2, "two launches");
    assert_eq!(v["prefixes"][0]["unactivated"]["result"], "fails", "{v}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        pids.iter().all(|p| !alive(*p)),
        "a leftover in its group outlived it"
    );
    // Escaped into its own session: out of reach, but not waited on either.
    let (v, pids) = run("escaped", "setsid");
    assert_eq!(v["prefixes"][0]["unactivated"]["result"], "fails", "{v}");
    for p in pids {
        let _ = Command::new("kill").arg(p.to_string()).status();
    }
}

/// An interpreter that floods its output (20 MB on stderr): condafix keeps at most 4 MiB of
/// each stream and says the interpreter printed no result, instead of holding all of it.
#[test]
fn an_interpreter_that_floods_its_output_is_read_only_up_to_the_cap() {
    use std::os::unix::fs::PermissionsExt as _;
    let ctx = TestContext::new();
    let prefix = ctx.path().join("flood");
    fs_err::create_dir_all(prefix.join("bin")).unwrap();
    fs_err::create_dir_all(prefix.join("conda-meta")).unwrap();
    fs_err::write(prefix.join("conda-meta").join("history"), b"").unwrap();
    let script = prefix.join("bin").join("python");
    fs_err::write(
        &script,
        "#!/bin/sh\nhead -c 20000000 /dev/zero | tr '\\0' x >&2\n",
    )
    .unwrap();
    fs_err::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, v, stderr) = verify(&ctx, &prefix, &["--timeout", "60"]);
    assert_eq!(code, Some(1), "{stderr}");
    let u = &v["prefixes"][0]["unactivated"];
    assert_eq!(u["result"], "did-not-run", "{}", u["error"]);
    assert_eq!(u["code"], "V041", "{}", u["code"]);
    let kept = u["stderr"].as_str().unwrap().len();
    assert!(
        kept > 0 && kept <= 4 * 1024 * 1024,
        "kept {kept} bytes of 20 MB"
    );
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

/// condafix as root (SYSTEM's counterpart here): a prefix only one user may change is verified
/// as that user (their uid, their HOME, in a folder anyone can read), never as root; when a
/// second account may change it too, or the owner has no account, it is not run at all.
#[test]
fn elevated_condafix_runs_a_user_owned_interpreter_as_its_user_or_not_at_all() {
    use std::os::unix::fs::PermissionsExt as _;
    let ctx = TestContext::new();
    // The user must be able to reach the prefix and the marker.
    fs_err::set_permissions(ctx.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = ctx.path().join("out");
    fs_err::create_dir(&out).unwrap();
    fs_err::set_permissions(&out, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let lay_out = |name: &str, owner: u32, bin_owner: u32| {
        let prefix = ctx.path().join(name);
        fs_err::create_dir_all(prefix.join("bin")).unwrap();
        fs_err::create_dir_all(prefix.join("conda-meta")).unwrap();
        fs_err::write(prefix.join("conda-meta").join("history"), b"").unwrap();
        let marker = out.join(name);
        let script = prefix.join("bin").join("python");
        fs_err::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$(id -u) $HOME $(pwd)\" >> '{}'\necho '{{}}'\n",
                marker.display()
            ),
        )
        .unwrap();
        fs_err::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        for p in [&prefix, &prefix.join("bin"), &script] {
            if is_root() {
                let uid = if *p == prefix { owner } else { bin_owner };
                std::os::unix::fs::chown(p, Some(uid), Some(uid)).unwrap();
            }
            fs_err::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        (prefix, marker)
    };
    let verify = |prefix: &Path| {
        let out = ctx
            .command()
            .args(["verify", "--json", "--prefix"])
            .arg(prefix)
            .env("CONDAFIX_ASSUME_ELEVATED", "1")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        common::schema::assert_valid("verify", &v);
        v["prefixes"][0].clone()
    };
    let (alone, ran) = lay_out("alone", 65534, 65534);
    let v = verify(&alone);
    if !is_root() {
        // Not root: it cannot start anything as another user, so it is not run.
        assert!(!ran.exists());
        assert_eq!(v["findings"][0]["code"], "V042", "{v}");
        return;
    }
    assert_eq!(v["run_as"], "uid 65534", "{v}");
    let lines = fs_err::read_to_string(&ran).unwrap();
    assert_eq!(
        lines.lines().collect::<Vec<_>>(),
        ["65534 /nonexistent /", "65534 /nonexistent /"],
        "both launches ran as the user, with their HOME, in /"
    );

    // A second account may change bin/: not run as either, not run as root.
    let (shared, ran) = lay_out("shared-owners", 65534, 65533);
    let v = verify(&shared);
    assert!(!ran.exists(), "ran: {v}");
    assert_eq!(v["findings"][0]["code"], "V042", "{v}");
    assert!(v["run_as"].is_null());
    let why = v["findings"][0]["evidence"]["not_run_as_user"]
        .as_str()
        .unwrap();
    assert!(
        why.contains("uid 65534") && why.contains("uid 65533"),
        "{why}"
    );

    // An owner with no account on this machine: nobody to run it as.
    let (orphan, ran) = lay_out("orphan", 54321, 54321);
    let v = verify(&orphan);
    assert!(!ran.exists(), "ran: {v}");
    assert_eq!(v["findings"][0]["code"], "V042", "{v}");
    let why = v["findings"][0]["evidence"]["not_run_as_user"]
        .as_str()
        .unwrap();
    assert!(why.contains("no account"), "{why}");
}
