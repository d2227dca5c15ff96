//! `condafix detect` as a user runs it: exit codes, the human report, `--json`, bad input.

mod common;

use common::TestContext;
use condafix_fixtures::scenarios;
use insta_cmd::assert_cmd_snapshot;

#[test]
fn broken_install_reports_the_fix_and_exits_1() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    ctx.settings().bind(|| {
        assert_cmd_snapshot!("cli_detect_broken_unactivated", ctx.detect(&s));
    });
}

#[test]
fn healthy_install_exits_0() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda202410Py312DefaultMode,
        ctx.path(),
    );
    ctx.settings().bind(|| {
        assert_cmd_snapshot!("cli_detect_healthy", ctx.detect(&s));
    });
}

#[test]
fn json_goes_to_stdout_with_a_schema_version_and_nothing_to_stderr() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Stale11CopiesAfterOpenssl3,
        ctx.path(),
    );
    let out = ctx.detect(&s).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], condafix_detect::SCHEMA_VERSION);
    common::schema::assert_valid("detect", &v);
    assert!(
        v["build"]["commit"].is_string() && v["build"]["target"].is_string(),
        "{}",
        v["build"]
    );
    assert_eq!(v["summary"]["needs_fix"], 1);
    assert_eq!(v["prefixes"][0]["findings"][0]["code"], "D010");
}

#[test]
fn quiet_prints_nothing_and_keeps_the_exit_code() {
    let ctx = TestContext::new();
    let s = scenarios::build(scenarios::ScenarioName::ForeignDllInSystem32, ctx.path());
    let out = ctx.detect(&s).arg("-q").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn no_conda_on_the_machine_says_so_and_how_to_point_at_one() {
    let ctx = TestContext::new();
    ctx.settings().bind(|| {
        assert_cmd_snapshot!("cli_detect_no_conda", ctx.command().arg("detect"));
    });
}

#[test]
fn conda_prefix_is_used_when_no_prefix_is_given() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda202410Py312DefaultMode,
        ctx.path(),
    );
    let out = ctx
        .command()
        .args(["detect", "--json", "--system-root"])
        .arg(s.system_root())
        .env("CONDA_PREFIX", &s.prefixes[0])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_folder_that_is_not_a_prefix_exits_2_and_names_it() {
    let ctx = TestContext::new();
    let not_prefix = ctx.path().join("home");
    ctx.settings().bind(|| {
        assert_cmd_snapshot!(
            "cli_detect_not_a_prefix",
            ctx.command().arg("detect").arg("--prefix").arg(&not_prefix)
        );
    });
}

#[test]
fn a_corrupt_openssl_record_exits_2_names_the_file_and_changes_nothing() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let record = s.prefixes[0]
        .join("conda-meta")
        .join("openssl-1.1.1d-he774522_2.json");
    fs_err::write(&record, b"{\"name\": \"openssl\", \"files\": [").unwrap();
    ctx.settings().bind(|| {
        assert_cmd_snapshot!("cli_detect_corrupt_record", ctx.detect(&s));
    });
    assert_eq!(
        fs_err::read(&record).unwrap(),
        b"{\"name\": \"openssl\", \"files\": ["
    );
}

#[test]
fn unrelated_records_are_never_parsed() {
    // An Anaconda base holds ~500 records; detection must read only the ones it needs. A
    // garbage record of another package proves it was not parsed.
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda202410Py312DefaultMode,
        ctx.path(),
    );
    let meta = s.prefixes[0].join("conda-meta");
    fs_err::write(
        meta.join("fixture-package-000-1.0-py_0.json"),
        b"\xff\xfe not json",
    )
    .unwrap();
    let out = ctx.detect(&s).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn help_explains_each_option() {
    let ctx = TestContext::new();
    ctx.settings().bind(|| {
        assert_cmd_snapshot!("cli_detect_help", ctx.command().args(["detect", "--help"]));
    });
}

#[test]
fn the_schema_check_rejects_a_document_of_another_shape() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda202410Py312DefaultMode,
        ctx.path(),
    );
    let out = ctx.detect(&s).arg("--json").output().unwrap();
    let good: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::schema::assert_valid("detect", &good);
    for broken in [
        {
            let mut v = good.clone();
            v.as_object_mut().unwrap().remove("schema_version");
            v
        },
        {
            let mut v = good.clone();
            v["prefixes"][0]["findings"][0]["severity"] = "fatal".into();
            v
        },
        {
            let mut v = good.clone();
            v["prefixes"][0]["python"]["machine"] = 64.into();
            v
        },
    ] {
        let caught = std::panic::catch_unwind(|| common::schema::assert_valid("detect", &broken));
        assert!(caught.is_err(), "accepted: {broken}");
    }
}

#[test]
fn version_says_the_commit_its_date_and_the_target() {
    let ctx = TestContext::new();
    let out = ctx.command().arg("--version").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text.trim();
    // condafix 0.1.0 (abc1234 2026-12-01 x86_64-pc-windows-msvc)
    let (head, rest) = text.split_once(" (").expect(text);
    assert_eq!(head, format!("condafix {}", env!("CARGO_PKG_VERSION")));
    let inner: Vec<&str> = rest.trim_end_matches(')').split(' ').collect();
    assert_eq!(inner.len(), 3, "{text}");
    assert!(!inner[0].is_empty());
    assert!(
        inner[1].len() == 10 && inner[1].as_bytes()[4] == b'-',
        "{text}"
    );
    assert!(inner[2].starts_with(std::env::consts::ARCH), "{text}");
}
