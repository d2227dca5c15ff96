//! The fleet page in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs) loads `condafix report -o fleet.html` from disk, driven over the DevTools protocol
//! by `scripts/report-browser-check.cjs` (Node, no npm package). The page must log no console
//! error, make no request but for itself, and have a table beside every chart; a screenshot is
//! written to `target/tmp/report-browser/fleet.png` (the page beside it, `fleet.html`) for a
//! person to look at.
//!
//! Without Chromium or Node this test says so on stderr and passes, unless
//! `CONDAFIX_REQUIRE_BROWSER=1` (which `.ci/run` sets): then their absence fails it. The
//! browser and Node are found on PATH, or named by `CONDAFIX_CHROMIUM` and `CONDAFIX_NODE`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::fleet::{self as gen, report};
use common::{run, TestContext};
use condafix_fixtures::fleet::{self, Vintage};

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn tool(var: &str, names: &[&str]) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| on_path(names))
}

/// Chromium and Node, or why the test cannot run.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = tool(
        "CONDAFIX_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome", "chrome"],
    );
    let node = tool("CONDAFIX_NODE", &["node", "node.exe"]);
    match (chromium, node) {
        (Some(c), Some(n)) => Some((c, n)),
        (c, n) => {
            let missing = [("Chromium", c.is_none()), ("Node", n.is_none())]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(w, _)| *w)
                .collect::<Vec<_>>()
                .join(" and ");
            let required = std::env::var("CONDAFIX_REQUIRE_BROWSER").as_deref() == Ok("1");
            assert!(
                !required,
                "CONDAFIX_REQUIRE_BROWSER=1 but {missing} is not installed (apt-get install chromium; node from nodejs)"
            );
            eprintln!(
                "NOT RUN: the browser test needs {missing} (apt-get install chromium); set CONDAFIX_REQUIRE_BROWSER=1 to make this a failure"
            );
            None
        }
    }
}

fn check(chromium: &Path, node: &Path, page: &Path, png: &Path) -> serde_json::Value {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/report-browser-check.cjs");
    let out = Command::new(node)
        .arg(script)
        .arg(chromium)
        .arg(page)
        .arg(png)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser check failed ({:?}): {stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

/// The page of a fleet that spans days, with every verdict, a stale device, notes and a host
/// name that is markup.
fn page(ctx: &TestContext) -> PathBuf {
    let share = ctx.path().join("share");
    let today = gen::devices(60, 59, 31);
    gen::write_post_install(&share, &today, Vintage::Current);
    for back in 1..6 {
        gen::write_post_install(
            &share.join(format!("day-{back}")),
            &fleet::before(&today, back),
            Vintage::Current,
        );
    }
    let mut odd = gen::devices(2, 30, 32);
    odd[0].host = "<script>alert('x')</script>".into();
    odd[1].host = "=cmd|' /C calc'!A0".into();
    gen::write_post_install(&share.join("odd"), &odd, Vintage::Current);
    fs_err::write(
        share.join("half.json"),
        "{\"schema_version\": 2, \"host\": \"PC",
    )
    .unwrap();
    let page = ctx.path().join("fleet.html");
    let r = run(report(
        ctx,
        &[share.to_str().unwrap(), "-o", page.to_str().unwrap(), "-q"],
    ));
    assert_eq!(r.code, 1, "{}", r.stderr);
    page
}

#[test]
fn the_page_loads_in_chromium_with_no_error_no_request_and_a_table_for_every_chart() {
    let Some((chromium, node)) = browser() else {
        return;
    };
    let ctx = TestContext::new();
    let page = page(&ctx);
    let png = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("report-browser")
        .join("fleet.png");
    let _ = fs_err::remove_file(&png);
    // The page beside its screenshot, for a person to open too.
    fs_err::create_dir_all(png.parent().unwrap()).unwrap();
    fs_err::copy(&page, png.with_extension("html")).unwrap();
    let got = check(&chromium, &node, &page, &png);
    let url = got["url"].as_str().unwrap();
    assert_eq!(got["console_errors"], serde_json::json!([]), "{got}");
    assert_eq!(
        got["requests"],
        serde_json::json!([url]),
        "only the page itself: {got}"
    );
    assert_eq!(got["page"]["scripts"], 0);
    assert_eq!(got["page"]["external"], serde_json::json!([]));
    let charts = got["page"]["charts"].as_array().unwrap();
    // Devices, installs, over time, findings, era, Python, OpenSSL, scope, condafix version.
    assert_eq!(charts.len(), 9, "{got}");
    for c in charts {
        assert_eq!(c["has_table"], true, "a chart without its table: {c}");
        assert!(c["table_rows"].as_u64().unwrap() > 0, "{c}");
        assert!(
            !c["label"].as_str().unwrap().is_empty(),
            "a chart without a label: {c}"
        );
    }
    let bytes = fs_err::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 20_000,
        "a screenshot of {} bytes is blank",
        bytes.len()
    );
    eprintln!("screenshot: {}", png.display());
}

#[test]
fn the_browser_check_sees_a_console_error_a_request_and_a_chart_without_a_table() {
    let Some((chromium, node)) = browser() else {
        return;
    };
    let ctx = TestContext::new();
    let bad = ctx.path().join("bad.html");
    fs_err::write(
        &bad,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>bad</title></head><body>\
         <img src=\"http://192.0.2.1/x.png\"><script>console.error('boom')</script>\
         <figure><svg id=\"lonely\"></svg></figure></body></html>",
    )
    .unwrap();
    let got = check(&chromium, &node, &bad, &ctx.path().join("bad.png"));
    let errors = got["console_errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e.as_str().unwrap().contains("boom")),
        "{got}"
    );
    assert!(
        got["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("http://192.0.2.1")),
        "{got}"
    );
    assert_eq!(got["page"]["charts"][0]["has_table"], false, "{got}");
}
