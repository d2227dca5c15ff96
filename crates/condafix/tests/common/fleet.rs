//! Fleets for `condafix report`'s tests: generated devices (every outcome, era and error or
//! warning finding code condafix has) written into folders in the formats the machines send.

use std::path::Path;

use condafix_detect::{Code, Severity};
use condafix_fixtures::fleet::{self, Device, Vintage};

/// Finding codes, each with a fix text.
pub type Codes = Vec<(String, String)>;

/// Every error and every warning code, each with a fix text.
pub fn codes() -> (Codes, Codes) {
    let of = |s: Severity| {
        Code::ALL
            .iter()
            .filter(|c| c.severity() == s)
            .map(|c| (c.to_string(), format!("the fix for {c} ({})", c.name())))
            .collect::<Vec<_>>()
    };
    (of(Severity::Error), of(Severity::Warning))
}

/// `n` devices on `day` (days after 2025-01-01).
pub fn devices(n: usize, day: u64, seed: u64) -> Vec<Device> {
    let (errors, warnings) = codes();
    fleet::generated(n, day, &errors, &warnings, seed)
}

/// The `--report-dir` file name of a device's document.
pub fn file_name(d: &Device) -> String {
    let compact: String = d.time.chars().filter(|c| *c != '-' && *c != ':').collect();
    let host: String = d
        .host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{host}-{compact}.json")
}

/// Each device's post-install document as `--report-dir` writes it.
pub fn write_post_install(dir: &Path, devices: &[Device], vintage: Vintage) {
    fs_err::create_dir_all(dir).unwrap();
    for d in devices {
        let doc = fleet::post_install_document(d, vintage);
        fs_err::write(
            dir.join(file_name(d)),
            serde_json::to_string_pretty(&doc).unwrap(),
        )
        .unwrap();
    }
}

/// Each device's detection document as `check --report-dir` writes it.
pub fn write_detect(dir: &Path, devices: &[Device]) {
    fs_err::create_dir_all(dir).unwrap();
    for d in devices {
        fs_err::write(
            dir.join(file_name(d)),
            serde_json::to_string_pretty(&fleet::detect_document(d)).unwrap(),
        )
        .unwrap();
    }
}

/// `condafix report` with the given arguments, at a fixed "now".
pub fn report(ctx: &super::TestContext, args: &[&str]) -> std::process::Command {
    let mut cmd = ctx.command();
    cmd.arg("report")
        .args(args)
        .args(["--as-of", "2025-03-02T00:00:00Z"]);
    cmd
}

/// The `report --json` document of a run.
pub fn summary(ctx: &super::TestContext, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let r = super::run(report(ctx, &all));
    assert!(r.code <= 1, "report failed: {}\n{}", r.code, r.stderr);
    (r.code, serde_json::from_str(&r.stdout).unwrap())
}
