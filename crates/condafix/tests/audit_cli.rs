//! `condafix audit`: the TLS chain files against conda's records and pip's RECORD, noarch
//! paths mapped (so pip's vendored code is checked, unlike `conda doctor`), CRLF-only
//! differences named, `--all` over every record.

mod common;

use common::TestContext;
use condafix_fixtures::scenarios::anaconda_2024_10;
use condafix_fixtures::{FakeMachine, SESSIONS_PY, SESSIONS_PY_VERIFY_FALSE};

fn audit(
    ctx: &TestContext,
    prefix: &std::path::Path,
    extra: &[&str],
) -> (Option<i32>, serde_json::Value) {
    let out = ctx
        .command()
        .args(["audit", "--json", "--prefix"])
        .arg(prefix)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr))),
    )
}

#[test]
fn a_clean_prefix_audits_clean_and_a_tampered_one_names_the_files() {
    let ctx = TestContext::new();
    let m = FakeMachine::new(ctx.path());
    let prefix = m.install(
        "C:\\Users\\me\\anaconda3",
        &anaconda_2024_10().with_pip("24.2"),
    );
    let (code, v) = audit(&ctx, &prefix, &[]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        v["prefixes"][0]["counts"]["altered"],
        serde_json::Value::Null
    );
    let sessions = prefix.join("Lib/site-packages/pip/_vendor/requests/sessions.py");
    fs_err::write(&sessions, SESSIONS_PY_VERIFY_FALSE).unwrap();
    let cacert = prefix.join("Lib/site-packages/certifi/cacert.pem");
    fs_err::write(&cacert, b"").unwrap();
    let (code, v) = audit(&ctx, &prefix, &[]);
    assert_eq!(code, Some(1));
    let problems: Vec<(String, String)> = v["prefixes"][0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_string(),
                p["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        problems.contains(&(
            "Lib/site-packages/pip/_vendor/requests/sessions.py".into(),
            "altered".into()
        )),
        "{problems:?}"
    );
    assert!(
        problems.contains(&(
            "Lib/site-packages/certifi/cacert.pem".into(),
            "altered".into()
        )),
        "{problems:?}"
    );
}

#[test]
fn crlf_only_differences_are_named_as_such() {
    let ctx = TestContext::new();
    let m = FakeMachine::new(ctx.path());
    let prefix = m.install(
        "C:\\Users\\me\\anaconda3",
        &anaconda_2024_10().with_pip("24.2"),
    );
    let sessions = prefix.join("Lib/site-packages/pip/_vendor/requests/sessions.py");
    fs_err::write(&sessions, SESSIONS_PY.replace('\n', "\r\n")).unwrap();
    let (code, v) = audit(&ctx, &prefix, &[]);
    assert_eq!(code, Some(0), "CRLF-only is not tampering: {v}");
    assert_eq!(v["prefixes"][0]["counts"]["crlf-only"], 1);
}

#[test]
fn all_checks_every_record_and_reports_missing_files() {
    let ctx = TestContext::new();
    let m = FakeMachine::new(ctx.path());
    let prefix = m.install("C:\\Users\\me\\anaconda3", &anaconda_2024_10());
    let (_, tls) = audit(&ctx, &prefix, &[]);
    let (code, all) = audit(&ctx, &prefix, &["--all"]);
    assert!(all["prefixes"][0]["files"].as_u64() > tls["prefixes"][0]["files"].as_u64());
    // The fixture lists most python files without writing them: missing.
    assert_eq!(code, Some(1));
    assert!(all["prefixes"][0]["counts"]["missing"].as_u64().unwrap() > 0);
    assert!(all["prefixes"][0]["records_parsed"].as_u64().unwrap() >= 5);
}
