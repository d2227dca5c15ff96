//! `condafix post-install`, `check`, `bundle` and `demo` as an IT script, an installer step and a
//! CI job run them: verdicts, exit codes, `--json` with `changed`, unattended mode, GitHub
//! Actions files, the support bundle's redaction.

mod common;

use std::path::Path;
use std::process::Command;

use common::TestContext;
use condafix_fixtures::scenarios::{self, Scenario};
use insta_cmd::assert_cmd_snapshot;

fn cmd(ctx: &TestContext, s: &Scenario, sub: &str) -> Command {
    let args: Vec<std::ffi::OsString> = ctx
        .detect(s)
        .get_args()
        .skip(1)
        .map(|a| a.to_os_string())
        .collect();
    let mut c = ctx.command();
    c.arg(sub).args(args);
    // The fixture trees' python.exe is a stand-in that cannot run: post-install does not verify
    // here (the Windows lane verifies with runnable loader fixtures).
    if sub == "post-install" {
        c.arg("--no-verify");
    }
    c
}

fn json(mut c: Command) -> (Option<i32>, serde_json::Value) {
    let out = c.arg("--json").output().unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    common::schema::assert_valid("post-install", &doc);
    (out.status.code(), doc)
}

#[test]
fn a_healthy_install_is_reported_healthy_and_unchanged() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda202410Py312DefaultMode,
        ctx.path(),
    );
    ctx.settings()
        .bind(|| assert_cmd_snapshot!("post_install_healthy", cmd(&ctx, &s, "post-install")));
    let (code, v) = json(cmd(&ctx, &s, "post-install"));
    assert_eq!(code, Some(0));
    assert_eq!(v["schema_version"], condafix_detect::SCHEMA_VERSION);
    assert_eq!(v["condafix_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["changed"], false);
    assert_eq!(v["prefixes"][0]["verdict"], "healthy");
}

#[test]
fn a_broken_install_is_fixed_then_unchanged_and_undo_brings_the_failure_back() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    assert_eq!(
        cmd(&ctx, &s, "check").output().unwrap().status.code(),
        Some(1)
    );
    ctx.settings()
        .bind(|| assert_cmd_snapshot!("post_install_fixed", cmd(&ctx, &s, "post-install")));
    let (code, v) = json(cmd(&ctx, &s, "post-install"));
    assert_eq!(code, Some(0));
    assert_eq!(v["changed"], false, "a second run reports no change");
    assert_eq!(v["prefixes"][0]["changed"], false);
    let check = cmd(&ctx, &s, "check").output().unwrap();
    assert_eq!(check.status.code(), Some(0));
    let line = String::from_utf8_lossy(&check.stdout);
    assert_eq!(
        line.trim().lines().count(),
        1,
        "check prints one summary line"
    );
    assert!(
        line.starts_with("condafix check: compliant (1 prefix) | condafix="),
        "{line}"
    );
    assert!(check.stderr.is_empty());
    assert_eq!(
        cmd(&ctx, &s, "undo").output().unwrap().status.code(),
        Some(0)
    );
    assert_eq!(
        cmd(&ctx, &s, "check").output().unwrap().status.code(),
        Some(1),
        "undo brings the failure back"
    );
}

#[test]
fn json_says_changed_per_prefix_and_overall() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::EnvOpensslDiffersFromBase,
        ctx.path(),
    );
    let (code, v) = json(cmd(&ctx, &s, "post-install"));
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["changed"], true);
    let verdicts: Vec<(&str, bool)> = v["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["verdict"].as_str().unwrap(),
                p["changed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![("healthy", false), ("fixed", true)],
        "base first, then its env"
    );
}

#[test]
fn a_prefix_that_cannot_be_fixed_is_still_broken_with_the_reason_and_exit_1() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::LibraryBinDllIsGitLfsPointer,
        ctx.path(),
    );
    ctx.settings()
        .bind(|| assert_cmd_snapshot!("post_install_still_broken", cmd(&ctx, &s, "post-install")));
}

#[test]
fn unattended_installer_mode_exits_0_and_logs_with_timestamps() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::LibraryBinDllIsGitLfsPointer,
        ctx.path(),
    );
    let out = cmd(&ctx, &s, "post-install")
        .env("INSTALLER_UNATTENDED", "1")
        .env("INSTALLER_NAME", "Anaconda3")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "a non-zero exit would abort the silent install"
    );
    let logs = if cfg!(windows) {
        ctx.path()
            .join("home")
            .join("AppData")
            .join("Local")
            .join("condafix")
            .join("logs")
    } else {
        ctx.path()
            .join("home")
            .join(".local")
            .join("state")
            .join("condafix")
            .join("logs")
    };
    let log = fs_err::read_dir(&logs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = fs_err::read_to_string(log).unwrap();
    // Local time with its offset: `2026-11-29T08:21:04+01:00 ...`.
    assert!(
        text.lines().all(|l| l.len() > 26
            && &l[4..5] == "-"
            && &l[10..11] == "T"
            && matches!(&l[19..20], "+" | "-")
            && &l[25..26] == " "),
        "{text}"
    );
    assert!(text.contains("verdict still-broken"), "{text}");
    let never = cmd(&ctx, &s, "post-install")
        .arg("--never-fail")
        .output()
        .unwrap();
    assert_eq!(never.status.code(), Some(0));
    assert_eq!(
        cmd(&ctx, &s, "post-install")
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
}

#[cfg(unix)]
#[test]
fn a_change_refused_for_permission_is_needs_elevation_exit_3() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let dlls = s.prefixes[0].join("DLLs");
    let ok = Command::new("chattr")
        .arg("+i")
        .arg(&dlls)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(&dlls, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let (code, v) = json(cmd(&ctx, &s, "post-install"));
    let _ = Command::new("chattr").arg("-i").arg(&dlls).status();
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs_err::set_permissions(&dlls, std::fs::Permissions::from_mode(0o755));
    }
    assert_eq!(code, Some(3), "{v}");
    assert_eq!(v["prefixes"][0]["verdict"], "needs-elevation");
}

fn read(p: &Path) -> String {
    fs_err::read_to_string(p).unwrap_or_default()
}

#[test]
fn under_github_actions_json_is_still_exactly_one_document_on_stdout() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Stale11CopiesAfterOpenssl3,
        ctx.path(),
    );
    let gh = ctx.path().join("gh");
    fs_err::create_dir_all(&gh).unwrap();
    let out = cmd(&ctx, &s, "post-install")
        .arg("--json")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", gh.join("summary.md"))
        .env("GITHUB_OUTPUT", gh.join("output"))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    common::schema::assert_valid("post-install", &doc);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("::group::condafix "), "{stderr}");
}

#[test]
fn github_mode_groups_annotates_summarizes_and_sets_outputs_and_path() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Stale11CopiesAfterOpenssl3,
        ctx.path(),
    );
    let gh = ctx.path().join("gh");
    fs_err::create_dir_all(&gh).unwrap();
    let (summary, output, path) = (gh.join("summary.md"), gh.join("output"), gh.join("path"));
    let out = cmd(&ctx, &s, "post-install")
        .arg("--add-to-path")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_PATH", &path)
        .output()
        .unwrap();
    assert!(
        out.stdout.is_empty(),
        "results only on stdout, and there are none without --json"
    );
    // The runner reads workflow commands from stderr too: they go there, with the report.
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let commands: String = stderr
        .lines()
        .filter(|l| l.starts_with("::") || l.starts_with("verdict: "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stale copies kept without --replace-foreign are a warning, not a failure"
    );
    assert!(commands.contains("::group::condafix "), "{stderr}");
    assert!(commands.contains("::warning file="), "{stderr}");
    let sections = [
        ("stderr (workflow commands)".to_string(), commands),
        ("$GITHUB_STEP_SUMMARY".to_string(), read(&summary)),
        ("$GITHUB_OUTPUT".to_string(), read(&output)),
        ("$GITHUB_PATH".to_string(), read(&path)),
    ];
    let text: String = sections
        .iter()
        .map(|(t, b)| format!("==== {t} ====\n{}\n", b.trim_end()))
        .collect();
    ctx.settings()
        .bind(|| insta::assert_snapshot!("post_install_github_mode", text));
}

#[test]
fn the_support_bundle_holds_the_report_receipt_and_configs_with_passwords_redacted() {
    use std::io::Read as _;
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    fs_err::write(
        prefix.join(".condarc"),
        b"proxy_servers:\n  https: http://jdoe:S3cret@proxy.corp:8080\n",
    )
    .unwrap();
    fs_err::write(
        prefix.join("pip.ini"),
        b"[global]\nindex-url = https://jdoe:S3cret@nexus.corp/simple\n",
    )
    .unwrap();
    assert_eq!(
        cmd(&ctx, &s, "stage").output().unwrap().status.code(),
        Some(0)
    );
    let zip_path = ctx.path().join("support.zip");
    let out = cmd(&ctx, &s, "bundle")
        .arg("-o")
        .arg(&zip_path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut z = zip::ZipArchive::new(fs_err::File::open(&zip_path).unwrap()).unwrap();
    let mut names = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        assert!(
            !text.contains("S3cret"),
            "{} leaks the password",
            f.name().unwrap()
        );
        names.push(f.name().unwrap().to_string());
    }
    assert!(names.contains(&"report.json".to_string()), "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("receipts/")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.contains("condarc")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("pip.ini")), "{names:?}");
}

#[test]
fn demo_builds_a_broken_install_and_fixes_it() {
    let ctx = TestContext::new();
    let out = ctx
        .command()
        .args(["demo", "--dir"])
        .arg(ctx.path().join("demo"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("import ssl without activation: FAILS"),
        "{stderr}"
    );
    assert!(stderr.contains("1 prefix checked: 1 healthy"), "{stderr}");
    assert!(stderr.contains("The sample is in"), "{stderr}");
}

#[test]
fn a_dry_run_says_what_it_would_fix_and_changes_nothing() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let before = common::whole_tree(&s.prefixes[0]);
    let (code, v) = json({
        let mut c = cmd(&ctx, &s, "post-install");
        c.arg("--dry-run");
        c
    });
    assert_eq!(code, Some(1), "remediation is still needed");
    assert_eq!(v["prefixes"][0]["verdict"], "would-fix", "{v}");
    assert_eq!(v["changed"], false);
    assert_eq!(common::whole_tree(&s.prefixes[0]), before);
    let text = cmd(&ctx, &s, "post-install")
        .arg("--dry-run")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(stderr.contains("would fix"), "{stderr}");
    assert!(!stderr.contains("STILL BROKEN"), "{stderr}");
}
