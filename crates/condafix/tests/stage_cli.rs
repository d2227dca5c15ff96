//! `condafix stage` and `condafix undo` end to end on fake install trees: the plan
//! (`--dry-run --json`) and the resulting tree with hashes are snapshots; sources from
//! Library\bin, the package cache's real .conda/.tar.bz2 archives and an offline bundle;
//! refusals; crash safety at every step boundary; undo to the exact original bytes.

mod common;

use std::path::Path;
use std::process::Command;

use common::{all_files, run, Run, TestContext};
use condafix_fixtures::archives::{bundle, conda_package, tar_bz2_package};
use condafix_fixtures::scenarios::{self, Scenario};
use condafix_fixtures::{OpenSsl, OpenSslLib};

/// The DLLs and condafix's state, with sizes and hashes: what a snapshot shows.
fn tree_listing(prefix: &Path) -> String {
    let mut lines = Vec::new();
    let mut stack = vec![prefix.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p
                .strip_prefix(prefix)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if p.is_dir() {
                if rel == "DLLs"
                    || rel == "Library"
                    || rel == "Library/bin"
                    || rel.starts_with(".condafix")
                {
                    stack.push(p);
                }
                continue;
            }
            let interesting = rel.starts_with("DLLs/")
                || rel.starts_with("Library/bin/")
                || rel.starts_with(".condafix/")
                || rel.ends_with(".dll");
            if rel == ".condafix/receipt.json" {
                // Its origin texts hold temp paths: list what it records instead of its hash.
                let r: serde_json::Value =
                    serde_json::from_slice(&fs_err::read(&p).unwrap()).unwrap();
                for e in r["entries"].as_array().unwrap() {
                    lines.push(format!(
                        "{rel} records {} {} sha256 {} backup {}",
                        e["action"].as_str().unwrap(),
                        e["path"].as_str().unwrap(),
                        e["sha256"].as_str().map(|h| &h[..16]).unwrap_or("-"),
                        e["backup"].as_str().unwrap_or("-"),
                    ));
                }
                continue;
            }
            if interesting {
                let bytes = fs_err::read(&p).unwrap();
                let h = condafix_prefix::Sha256::of_bytes(&bytes).to_hex();
                lines.push(format!("{rel}  {} bytes  sha256 {}", bytes.len(), &h[..16]));
            }
        }
    }
    lines.sort();
    lines.join("\n")
}

fn cmd(ctx: &TestContext, s: &Scenario, sub: &str) -> Command {
    let mut c = ctx.detect(s);
    // ctx.detect builds `condafix detect <machine args>`: swap the subcommand.
    let args: Vec<std::ffi::OsString> = c.get_args().skip(1).map(|a| a.to_os_string()).collect();
    let mut n = ctx.command();
    n.arg(sub).args(args);
    let _ = &mut c;
    n
}

fn snapshot(ctx: &TestContext, name: &str, sections: &[(&str, String)]) {
    let text: String = sections
        .iter()
        .map(|(title, body)| format!("==== {title} ====\n{}\n", body.trim_end()))
        .collect();
    ctx.settings()
        .bind(|| insta::assert_snapshot!(format!("stage__{name}"), text));
}

fn dry_run_json(ctx: &TestContext, s: &Scenario, extra: &[&str]) -> String {
    let r = run({
        let mut c = cmd(ctx, s, "stage");
        c.args(["--dry-run", "--json"]).args(extra);
        c
    });
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    r.stdout
}

fn stage(ctx: &TestContext, s: &Scenario, extra: &[&str]) -> Run {
    run({
        let mut c = cmd(ctx, s, "stage");
        c.args(extra);
        c
    })
}

fn unactivated_result(ctx: &TestContext, s: &Scenario) -> String {
    let r = run({
        let mut c = ctx.detect(s);
        c.arg("--json");
        c
    });
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    v["prefixes"][0]["prediction"]["unactivated"]["result"]
        .as_str()
        .unwrap()
        .to_string()
}

fn openssl_1_1_1d() -> OpenSsl {
    OpenSsl::new("1.1.1d", "he774522_2")
}

fn dll_files(ssl: &OpenSsl) -> Vec<(String, Vec<u8>)> {
    [OpenSslLib::Ssl, OpenSslLib::Crypto]
        .iter()
        .map(|&l| (format!("Library/bin/{}", ssl.dll_name(l)), ssl.dll_bytes(l)))
        .collect()
}

fn remove_library_bin_dlls(prefix: &Path, ssl: &OpenSsl) {
    for l in [OpenSslLib::Ssl, OpenSslLib::Crypto] {
        fs_err::remove_file(prefix.join("Library").join("bin").join(ssl.dll_name(l))).unwrap();
    }
}

#[test]
fn anaconda_2019_10_unactivated_is_staged_then_undone_to_the_exact_bytes() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let original = all_files(prefix);
    let plan = dry_run_json(&ctx, &s, &[]);
    assert_eq!(all_files(prefix), original, "a dry run changes nothing");
    assert!(!prefix.join(".condafix").exists());
    assert_eq!(unactivated_result(&ctx, &s), "fails");

    let r = stage(&ctx, &s, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(unactivated_result(&ctx, &s), "ok");
    let after = tree_listing(prefix);

    let again = stage(&ctx, &s, &[]);
    assert_eq!(again.code, 0);
    assert!(
        again.stderr.contains("Nothing to change."),
        "{}",
        again.stderr
    );
    assert_eq!(tree_listing(prefix), after, "a second run changes nothing");

    let undo = run({
        let mut c = cmd(&ctx, &s, "undo");
        c.arg("--json");
        c
    });
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    assert_eq!(
        all_files(prefix),
        original,
        "undo restores the original tree byte for byte"
    );
    let undo_again = run(cmd(&ctx, &s, "undo"));
    assert!(
        undo_again.stderr.contains("nothing to undo"),
        "{}",
        undo_again.stderr
    );
    assert_eq!(all_files(prefix), original);
    snapshot(
        &ctx,
        "anaconda_2019_10_py37_unactivated",
        &[
            ("plan (stage --dry-run --json)", plan),
            ("tree after stage", after),
            ("undo --json", undo.stdout),
        ],
    );
}

#[test]
fn stages_from_the_pkgs_conda_archive_when_library_bin_lacks_the_dlls() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let ssl = openssl_1_1_1d();
    remove_library_bin_dlls(prefix, &ssl);
    fs_err::write(
        prefix.join("pkgs").join(format!("{}.conda", ssl.dist())),
        conda_package(&ssl.dist(), &dll_files(&ssl)),
    )
    .unwrap();
    let plan = dry_run_json(&ctx, &s, &[]);
    assert!(plan.contains("\"kind\": \"pkgs-archive\""), "{plan}");
    let r = stage(&ctx, &s, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(unactivated_result(&ctx, &s), "ok");
    snapshot(
        &ctx,
        "from_pkgs_conda_archive",
        &[
            ("plan (stage --dry-run --json)", plan),
            ("tree after stage", tree_listing(prefix)),
        ],
    );
}

#[test]
fn stages_from_the_pkgs_tar_bz2_archive() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let ssl = openssl_1_1_1d();
    remove_library_bin_dlls(prefix, &ssl);
    fs_err::write(
        prefix.join("pkgs").join(format!("{}.tar.bz2", ssl.dist())),
        tar_bz2_package(&dll_files(&ssl)),
    )
    .unwrap();
    let r = stage(&ctx, &s, &["--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(".tar.bz2"), "{}", r.stdout);
    assert_eq!(unactivated_result(&ctx, &s), "ok");
}

#[test]
fn stages_from_the_pkgs_extracted_folder() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let ssl = openssl_1_1_1d();
    remove_library_bin_dlls(prefix, &ssl);
    let folder = prefix.join("pkgs").join(ssl.dist());
    for (rel, bytes) in dll_files(&ssl) {
        let p = folder.join(rel.replace('/', std::path::MAIN_SEPARATOR_STR));
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, bytes).unwrap();
    }
    let r = stage(&ctx, &s, &["--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("\"kind\": \"pkgs-folder\""),
        "{}",
        r.stdout
    );
}

#[test]
fn stages_from_an_offline_bundle() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let ssl = openssl_1_1_1d();
    remove_library_bin_dlls(prefix, &ssl);
    let files: Vec<_> = dll_files(&ssl)
        .into_iter()
        .map(|(p, b)| (format!("{}/{p}", ssl.dist()), b))
        .collect();
    let zip = ctx.path().join("share").join("openssl-bundle.zip");
    fs_err::create_dir_all(zip.parent().unwrap()).unwrap();
    fs_err::write(&zip, bundle(&files, &[])).unwrap();
    let zip_arg = zip.display().to_string();
    let plan = dry_run_json(&ctx, &s, &["--from", &zip_arg]);
    assert!(
        plan.contains("\"verified_against\": \"conda-meta record\""),
        "{plan}"
    );
    let r = stage(&ctx, &s, &["--from", &zip_arg]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(unactivated_result(&ctx, &s), "ok");
    snapshot(
        &ctx,
        "from_offline_bundle",
        &[
            ("plan (stage --dry-run --json)", plan),
            ("tree after stage", tree_listing(prefix)),
        ],
    );
}

#[test]
fn refuses_a_tampered_source_with_both_hashes_and_changes_nothing() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let tampered = OpenSsl::new("1.1.1d", "he774522_2")
        .vendor("tampered")
        .dll_bytes(OpenSslLib::Ssl);
    fs_err::write(
        prefix
            .join("Library")
            .join("bin")
            .join("libssl-1_1-x64.dll"),
        &tampered,
    )
    .unwrap();
    let original = all_files(prefix);
    let plan = dry_run_json(&ctx, &s, &[]);
    let r = stage(&ctx, &s, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("expected sha256") && r.stderr.contains("actual   sha256"),
        "{}",
        r.stderr
    );
    assert_eq!(all_files(prefix), original, "nothing staged");
    assert!(
        !prefix.join("DLLs").join("libcrypto-1_1-x64.dll").exists(),
        "not even the DLL that could be verified"
    );

    let forced = stage(&ctx, &s, &["--allow-unverified"]);
    assert!(
        forced.stderr.contains("WITHOUT verification"),
        "{}",
        forced.stderr
    );
    assert_eq!(
        fs_err::read(prefix.join("DLLs").join("libssl-1_1-x64.dll")).unwrap(),
        tampered
    );
    snapshot(
        &ctx,
        "refuses_tampered_source",
        &[
            ("plan (stage --dry-run --json)", plan),
            ("stage stderr", r.stderr),
        ],
    );
}

#[test]
fn stale_1_1_copies_after_openssl_3_are_reported_then_removed_with_replace_foreign() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Stale11CopiesAfterOpenssl3,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let original = all_files(prefix);
    let plan = dry_run_json(&ctx, &s, &[]);
    let r = stage(&ctx, &s, &[]);
    assert_eq!(
        r.code, 1,
        "the stale copies are kept, so a fix is still needed: {}",
        r.stderr
    );
    assert!(prefix.join("DLLs").join("libssl-1_1-x64.dll").exists());
    let r = stage(&ctx, &s, &["--replace-foreign"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!prefix.join("DLLs").join("libssl-1_1-x64.dll").exists());
    let after = tree_listing(prefix);
    assert_eq!(run(cmd(&ctx, &s, "undo")).code, 0);
    assert_eq!(all_files(prefix), original);
    snapshot(
        &ctx,
        "stale_1_1_copies_after_openssl_3",
        &[
            ("plan (stage --dry-run --json)", plan),
            ("tree after stage --replace-foreign", after),
        ],
    );
}

#[test]
fn a_foreign_same_name_dll_in_dlls_is_kept_unless_replace_foreign_and_then_backed_up() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let foreign = OpenSsl::new("1.1.1a", "other")
        .vendor("another program")
        .dll_bytes(OpenSslLib::Ssl);
    fs_err::write(prefix.join("DLLs").join("libssl-1_1-x64.dll"), &foreign).unwrap();
    let original = all_files(prefix);
    let plan = dry_run_json(&ctx, &s, &[]);
    assert!(plan.contains("keep-foreign"), "{plan}");
    assert_eq!(stage(&ctx, &s, &[]).code, 1);
    assert_eq!(
        fs_err::read(prefix.join("DLLs").join("libssl-1_1-x64.dll")).unwrap(),
        foreign,
        "kept"
    );
    let r = stage(&ctx, &s, &["--replace-foreign"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(unactivated_result(&ctx, &s), "ok");
    let after = tree_listing(prefix);
    assert!(
        after.contains(".condafix/backup/"),
        "the foreign copy is backed up:\n{after}"
    );
    assert_eq!(run(cmd(&ctx, &s, "undo")).code, 0);
    assert_eq!(
        all_files(prefix),
        original,
        "undo brings the foreign copy back"
    );
    snapshot(
        &ctx,
        "foreign_same_name_dll_in_dlls",
        &[
            ("plan (stage --dry-run --json)", plan),
            ("tree after stage --replace-foreign", after),
        ],
    );
}

/// A file whose name is not valid Unicode, named like an OpenSSL DLL: it is no OpenSSL DLL the
/// loader would take, and nothing may plan or record a change to "the same name" with a
/// replacement character in it.
#[cfg(target_os = "linux")]
#[test]
fn a_dll_name_that_is_not_unicode_is_neither_planned_nor_recorded() {
    use std::os::unix::ffi::OsStrExt as _;
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let odd = prefix
        .join("DLLs")
        .join(std::ffi::OsStr::from_bytes(b"libssl-1_1-x64\xff.dll"));
    fs_err::write(&odd, b"EVIL").unwrap();
    let plan = dry_run_json(&ctx, &s, &["--replace-foreign"]);
    assert!(
        !plan.contains('\u{fffd}') && !plan.contains("\\ufffd"),
        "{plan}"
    );
    let r = stage(&ctx, &s, &["--replace-foreign"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains('\u{fffd}'), "{}", r.stdout);
    // condafix's own records (receipt, journal, history) name no such file.
    for (name, bytes) in all_files(prefix) {
        if !name.contains(".condafix") {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("\\ufffd") && !text.contains('\u{fffd}'),
            "{name}: {text}"
        );
    }
    assert_eq!(fs_err::read(&odd).unwrap(), b"EVIL");
}

/// Makes a folder unwritable even for root (immutable), and writable again on drop.
#[cfg(unix)]
struct ReadOnly(std::path::PathBuf);

#[cfg(unix)]
impl ReadOnly {
    fn new(dir: &Path) -> Self {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            use std::os::unix::fs::PermissionsExt;
            fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        Self(dir.to_path_buf())
    }
}

#[cfg(unix)]
impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        let _ = fs_err::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

// The Windows read-only case (a read-only attribute on the destination) is covered in the
// Windows lane by windows_stage.rs.
#[cfg(unix)]
#[test]
fn a_read_only_destination_is_a_clear_error_and_nothing_changes() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let original = all_files(prefix);
    let _ro = ReadOnly::new(&prefix.join("DLLs"));
    let r = stage(&ctx, &s, &[]);
    assert_eq!(r.code, 3, "needs elevation / permission: {}", r.stderr);
    assert!(
        r.stderr.contains("read-only or you lack permission"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("DLLs"), "names the place: {}", r.stderr);
    drop(_ro);
    assert_eq!(all_files(prefix), original);
    assert!(!prefix.join(".condafix").exists(), "no state left behind");
}

#[test]
fn hostile_bundles_are_rejected_with_nothing_written() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let ssl = openssl_1_1_1d();
    remove_library_bin_dlls(prefix, &ssl);
    let original = all_files(prefix);
    let good = dll_files(&ssl);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "zip-slip",
            bundle(
                &[
                    good[0].clone(),
                    (
                        "../../Windows/System32/evil.dll".into(),
                        b"MZ evil".to_vec(),
                    ),
                ],
                &[],
            ),
            "climbs out with `..`",
        ),
        (
            "bomb",
            bundle(
                &[(
                    "Library/bin/libssl-1_1-x64.dll".into(),
                    vec![0u8; 65 * 1024 * 1024],
                )],
                &[],
            ),
            "larger than any DLL",
        ),
        (
            "wrong-hash",
            bundle(&good, &[(good[0].0.clone(), "0".repeat(64))]),
            "does not match its SHA256SUMS line",
        ),
    ];
    let mut outputs = Vec::new();
    for (name, bytes, reason) in cases {
        let zip = ctx.path().join(format!("{name}.zip"));
        fs_err::write(&zip, bytes).unwrap();
        let r = stage(&ctx, &s, &["--from", &zip.display().to_string()]);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert!(r.stderr.contains(reason), "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains("nothing was written"),
            "{name}: {}",
            r.stderr
        );
        assert_eq!(all_files(prefix), original, "{name}: nothing written");
        assert!(!prefix.join(".condafix").exists());
        assert!(!ctx
            .path()
            .join("Windows")
            .join("System32")
            .join("evil.dll")
            .exists());
        outputs.push((name, r.stderr));
    }
    let sections: Vec<(&str, String)> = outputs.into_iter().collect();
    snapshot(&ctx, "hostile_bundles", &sections);
}

#[test]
fn killing_stage_at_every_step_never_leaves_a_partial_file_and_the_next_run_completes() {
    let ctx = TestContext::new();
    let pristine = scenarios::build(
        scenarios::ScenarioName::Stale11CopiesAfterOpenssl3,
        &ctx.path().join("pristine"),
    );
    let original = all_files(&pristine.prefixes[0]);
    // The bytes a destination may legitimately hold: the original ones, or the verified ones.
    let ssl3 = OpenSsl::new("3.0.0", "h8ffe710_0");
    let verified: Vec<Vec<u8>> = [OpenSslLib::Ssl, OpenSslLib::Crypto]
        .iter()
        .map(|&l| ssl3.dll_bytes(l))
        .collect();
    // The reference end state.
    let reference = scenarios::build(
        scenarios::ScenarioName::Stale11CopiesAfterOpenssl3,
        &ctx.path().join("reference"),
    );
    assert_eq!(stage(&ctx, &reference, &["--replace-foreign"]).code, 0);
    let expected_final = all_files(&reference.prefixes[0]);

    let mut step = 1;
    loop {
        let s = scenarios::build(
            scenarios::ScenarioName::Stale11CopiesAfterOpenssl3,
            &ctx.path().join(format!("run{step:02}")),
        );
        let prefix = &s.prefixes[0];
        let r = run({
            let mut c = cmd(&ctx, &s, "stage");
            c.arg("--replace-foreign")
                .env("CONDAFIX_FAULT_AFTER_STEP", step.to_string());
            c
        });
        if r.code == 0 {
            assert!(step > 10, "the plan has many steps; stopped at {step}");
            break;
        }
        assert!(
            r.stderr
                .contains(&format!("fault injected after step {step}")),
            "step {step}: {}",
            r.stderr
        );
        // (a) No destination holds a partial file.
        for (rel, bytes) in all_files(prefix) {
            if rel.starts_with("DLLs/") && rel.ends_with(".dll") {
                let ok = original.get(&rel) == Some(&bytes) || verified.contains(&bytes);
                assert!(ok, "step {step}: {rel} holds bytes that are neither the original nor the verified ones");
            }
        }
        // (b) The next run completes the job.
        let next = stage(&ctx, &s, &["--replace-foreign"]);
        assert_eq!(next.code, 0, "step {step}: {}", next.stderr);
        assert_eq!(
            all_files(prefix),
            expected_final,
            "step {step}: the next run ends where a clean run does"
        );
        // (c) Undo restores the original tree byte for byte.
        assert_eq!(run(cmd(&ctx, &s, "undo")).code, 0, "step {step}");
        assert_eq!(
            all_files(prefix),
            original,
            "step {step}: undo restores the original"
        );
        step += 1;
    }
}

#[test]
fn the_manual_fix_done_right_is_adopted_not_warned_about_and_undo_leaves_it() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        scenarios::ScenarioName::ManualFixWithCondasBytes,
        ctx.path(),
    );
    let prefix = &s.prefixes[0];
    let dlls = prefix.join("DLLs");
    let before = all_files(&dlls);
    let codes = |ctx: &TestContext| -> Vec<String> {
        let r = run({
            let mut c = ctx.detect(&s);
            c.arg("--json");
            c
        });
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v["prefixes"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(codes(&ctx), ["D022", "D022"]);
    let staged = run({
        let mut c = cmd(&ctx, &s, "stage");
        c.arg("--json");
        c
    });
    assert_eq!(staged.code, 0, "{}", staged.stderr);
    let v: serde_json::Value = serde_json::from_str(&staged.stdout).unwrap();
    let actions: Vec<&str> = v["prefixes"][0]["plan"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["adopt", "adopt"]);
    assert_eq!(all_files(&dlls), before, "adopting changes no byte");
    assert_eq!(codes(&ctx), ["D023", "D023"], "condafix's own copies now");
    // A second run has nothing to do.
    let again = run({
        let mut c = cmd(&ctx, &s, "stage");
        c.arg("--json");
        c
    });
    let v: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(v["changed"], false, "{}", again.stdout);
    // undo takes them out of the receipt and leaves the files as they were.
    let undone = run(cmd(&ctx, &s, "undo"));
    assert_eq!(undone.code, 0, "{}", undone.stderr);
    assert_eq!(all_files(&dlls), before);
    assert_eq!(codes(&ctx), ["D022", "D022"]);
}
