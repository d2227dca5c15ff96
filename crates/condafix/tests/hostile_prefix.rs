//! The trust boundary, attacked: a prefix is writable by the user who owns it, and condafix may
//! run with more rights (SYSTEM from Intune, an admin installer). For each way a user could plant
//! input in the prefix (a journal, a receipt, import names and records, links, a huge file), every
//! command is run, and after each one a sentinel folder outside the prefix is compared byte for
//! byte: nothing outside the prefix may change. Commands that act on the planted input must
//! refuse with exit 2 naming the file and the field.
//!
//! The same suite runs under Wine in the Windows lane (the link cases use what the OS offers).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{run, whole_tree, Run, TestContext};
use condafix_fixtures::scenarios::{self, Scenario, ScenarioName};
use condafix_prefix::Sha256;

/// What a command must do with the planted input.
#[derive(Debug, Clone)]
enum Expect {
    /// Exit 2, and stderr names all of these.
    Refused(Vec<&'static str>),
    /// Any exit code; only the sentinel is checked.
    Any,
}

/// Every command, as a user or a fleet tool runs it.
const COMMANDS: &[(&str, &[&str])] = &[
    ("detect", &[]),
    ("check", &[]),
    ("stage", &["--replace-foreign"]),
    ("stage", &["--dry-run", "--replace-foreign"]),
    ("config", &["--remove-insecure", "--trust-system-store"]),
    ("undo", &[]),
    (
        "post-install",
        &["--remove-insecure", "--replace-foreign", "--no-verify"],
    ),
    ("post-install", &["--dry-run", "--remove-insecure"]),
    ("verify", &["--timeout", "5"]),
    ("audit", &["--all"]),
    ("bundle", &["-o"]),
];

struct Lab {
    ctx: TestContext,
    s: Scenario,
    sentinel: PathBuf,
}

impl Lab {
    fn new(name: ScenarioName) -> Self {
        let ctx = TestContext::new();
        let s = scenarios::build(name, &ctx.path().join("machine"));
        let sentinel = ctx.path().join("sentinel");
        fs_err::create_dir_all(sentinel.join("sub")).unwrap();
        fs_err::write(sentinel.join("a.txt"), b"the sentinel").unwrap();
        fs_err::write(sentinel.join("sub").join("keep.dll"), b"MZ not yours").unwrap();
        fs_err::write(sentinel.join("secret"), b"ROOT-ONLY-SECRET-BYTES").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs_err::set_permissions(
                sentinel.join("secret"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        }
        Self { ctx, s, sentinel }
    }

    fn prefix(&self) -> &Path {
        &self.s.prefixes[0]
    }

    fn state(&self) -> PathBuf {
        self.prefix().join(".condafix")
    }

    /// A relative path from the prefix to the sentinel's `a.txt`, climbing with `..`.
    fn climb(&self) -> String {
        let depth = self
            .prefix()
            .strip_prefix(self.ctx.path())
            .unwrap()
            .components()
            .count();
        format!("{}sentinel/a.txt", "../".repeat(depth))
    }

    fn run(&self, sub: &str, extra: &[&str]) -> Run {
        let mut c = self.ctx.on(sub, &self.s);
        for a in extra {
            if *a == "-o" {
                c.arg("-o").arg(self.ctx.path().join("support.zip"));
            } else {
                c.arg(a);
            }
        }
        run(c)
    }

    /// Run every command; after each, the sentinel must be unchanged and the command must do
    /// what `expect` says.
    fn every_command(&self, case: &str, expect: impl Fn(&str, &[&str]) -> Expect) {
        let before = whole_tree(&self.sentinel);
        for (sub, extra) in COMMANDS {
            let r = self.run(sub, extra);
            let shown = format!("{case}: condafix {sub} {}", extra.join(" "));
            let after = whole_tree(&self.sentinel);
            assert_same(&before, &after, &shown);
            match expect(sub, extra) {
                Expect::Refused(words) => {
                    assert_eq!(r.code, 2, "{shown} must refuse (exit 2): {}", r.stderr);
                    for w in &words {
                        assert!(
                            r.stderr.contains(w),
                            "{shown} must name {w:?}: {}",
                            r.stderr
                        );
                    }
                }
                Expect::Any => {}
            }
        }
    }
}

fn assert_same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let differ: Vec<&&String> = keys.iter().filter(|k| a.get(**k) != b.get(**k)).collect();
    assert!(differ.is_empty(), "{what} changed the sentinel: {differ:?}");
}

/// The commands that act on condafix's state (and must refuse a hostile one); the others
/// (detect, check, verify, audit, bundle) never read it.
fn acts_on_state(sub: &str) -> bool {
    matches!(sub, "stage" | "config" | "undo" | "post-install")
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::of_bytes(bytes).to_hex()
}

fn plant(lab: &Lab, file: &str, json: serde_json::Value) {
    fs_err::create_dir_all(lab.state()).unwrap();
    fs_err::write(
        lab.state().join(file),
        serde_json::to_vec_pretty(&json).unwrap(),
    )
    .unwrap();
}

fn journal(lab: &Lab, txn: &str, op: serde_json::Value) {
    plant(
        lab,
        "journal.json",
        serde_json::json!({"txn": txn, "command": "stage", "ops": [op], "receipt_written": false}),
    );
}

fn write_op(path: &str, sha: &str) -> serde_json::Value {
    serde_json::json!({"path": path, "kind": "write", "new_sha256": sha, "backup": null,
        "existed": false, "state": "done"})
}

#[test]
fn a_journal_whose_txn_climbs_out_is_refused_by_every_command_that_reads_it() {
    let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
    journal(
        &lab,
        "../../../../sentinel",
        write_op("DLLs/x.dll", &sha_hex(b"x")),
    );
    lab.every_command("txn ../", |sub, _| {
        if acts_on_state(sub) {
            Expect::Refused(vec!["journal.json", "(txn)"])
        } else {
            Expect::Any
        }
    });
    assert!(
        lab.state().join("journal.json").is_file(),
        "the journal stays"
    );
}

#[test]
fn journal_ops_outside_the_prefix_are_refused_and_change_nothing() {
    for (case, op, field) in [
        ("absolute path", "ABS".to_string(), "ops[0].path"),
        ("climbing path", "CLIMB".to_string(), "ops[0].path"),
    ] {
        let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
        let target = match op.as_str() {
            "ABS" => lab.sentinel.join("a.txt").display().to_string(),
            _ => lab.climb(),
        };
        // A created file whose hash matches: rollback would delete it.
        journal(
            &lab,
            "txn-0001",
            write_op(&target, &sha_hex(b"the sentinel")),
        );
        lab.every_command(case, |sub, _| {
            if acts_on_state(sub) {
                Expect::Refused(vec!["journal.json", field])
            } else {
                Expect::Any
            }
        });
    }
}

#[test]
fn a_journal_backup_outside_its_transaction_folder_is_refused() {
    let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
    fs_err::create_dir_all(lab.prefix().join("DLLs")).unwrap();
    let op = serde_json::json!({"path": "DLLs/libssl-1_1-x64.dll", "kind": "write",
        "new_sha256": null, "backup": lab.climb(), "existed": true, "state": "backed-up"});
    journal(&lab, "txn-0001", op);
    lab.every_command("backup ../", |sub, _| {
        if acts_on_state(sub) {
            Expect::Refused(vec!["journal.json", "ops[0].backup"])
        } else {
            Expect::Any
        }
    });
}

#[test]
fn a_journal_registry_op_on_a_value_condafix_never_writes_is_refused() {
    let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
    let op = serde_json::json!({"path": "x", "kind": "registry", "new_sha256": null,
        "backup": null, "existed": false, "state": "done",
        "registry": {"hive": "HKCU", "key": "Software\\Microsoft\\Windows\\CurrentVersion\\Run",
            "name": "evil", "before": {"type": "REG_SZ", "data": "C:\\evil.exe"}, "after": null}});
    journal(&lab, "txn-0001", op);
    lab.every_command("registry Run key", |sub, _| {
        if acts_on_state(sub) {
            Expect::Refused(vec!["journal.json", "ops[0].registry"])
        } else {
            Expect::Any
        }
    });
}

fn receipt(lab: &Lab, entry: serde_json::Value) {
    plant(
        lab,
        "receipt.json",
        serde_json::json!({"schema_version": 2, "entries": [entry],
            "history": [{"txn": "txn-0001", "command": "stage", "changes": 1}]}),
    );
}

#[test]
fn receipt_entries_outside_the_prefix_are_refused_and_undo_changes_nothing() {
    let sentinel_sha = sha_hex(b"the sentinel");
    for case in ["absolute created", "climbing replaced", "backup climbs out"] {
        let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
        let abs = lab.sentinel.join("a.txt").display().to_string();
        let (entry, field) = match case {
            "absolute created" => (
                serde_json::json!({"path": abs, "action": "created", "sha256": sentinel_sha,
                    "size": 12, "backup": null, "backup_sha256": null, "origin": "x", "txn": "txn-0001"}),
                "entries[0].path",
            ),
            "climbing replaced" => (
                serde_json::json!({"path": lab.climb(), "action": "replaced", "sha256": sentinel_sha,
                    "size": 12, "backup": "backup/txn-0001/x", "backup_sha256": sha_hex(b"evil"),
                    "origin": "x", "txn": "txn-0001"}),
                "entries[0].path",
            ),
            _ => (
                serde_json::json!({"path": "DLLs/libssl-1_1-x64.dll", "action": "replaced",
                    "sha256": sentinel_sha, "size": 12, "backup": lab.climb(),
                    "backup_sha256": sentinel_sha, "origin": "x", "txn": "txn-0001"}),
                "entries[0].backup",
            ),
        };
        receipt(&lab, entry);
        lab.every_command(case, |sub, _| {
            if acts_on_state(sub) {
                Expect::Refused(vec!["receipt.json", field])
            } else {
                Expect::Any
            }
        });
    }
}

#[test]
fn import_names_and_record_paths_that_climb_out_are_refused_and_nothing_is_written_there() {
    use condafix_fixtures::{OpenSsl, PrefixSpec, Python, SslLink};
    let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
    // A second prefix in the same machine: its _ssl.pyd imports a DLL by a path that climbs to
    // the sentinel, and its openssl record lists that path.
    let ssl = OpenSsl::new("1.1.1d", "he774522_2");
    let mut py = Python::new("3.7.4", "h5263a28_0", "pkgs/main").linked_to(&ssl);
    let climb = "..\\..\\..\\..\\..\\..\\sentinel\\pwned.dll".to_string();
    py.ssl = SslLink::Dynamic {
        ssl: climb.clone(),
        crypto: ssl.crypto_name(),
    };
    let prefix = lab.prefix().to_path_buf();
    fs_err::remove_dir_all(&prefix).unwrap();
    condafix_fixtures::FakeMachine::new(&lab.ctx.path().join("machine")).install(
        "C:\\Users\\me\\anaconda3",
        &PrefixSpec::new(py, Some(ssl.clone())).base(),
    );
    let record = prefix
        .join("conda-meta")
        .join(format!("{}.json", ssl.dist()));
    let mut v: serde_json::Value = serde_json::from_slice(&fs_err::read(&record).unwrap()).unwrap();
    let bad = "../../../../../../sentinel/pwned.dll";
    v["files"].as_array_mut().unwrap().push(bad.into());
    v["paths_data"]["paths"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
        "_path": bad, "path_type": "hardlink", "sha256": sha_hex(b"MZ pwned"),
        "sha256_in_prefix": sha_hex(b"MZ pwned"), "size_in_bytes": 8}));
    fs_err::write(&record, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    lab.every_command("import by path", |_, _| Expect::Any);
    assert!(!lab.sentinel.join("pwned.dll").exists());
    let r = lab.run("detect", &["--json"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let codes: Vec<&str> = doc["prefixes"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"D002"), "the module is refused: {codes:?}");
    assert!(
        codes.contains(&"D032"),
        "the record path is refused: {codes:?}"
    );
}

#[test]
fn a_two_gigabyte_file_named_like_a_dll_is_reported_not_read_and_not_backed_up() {
    let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
    let big = lab.prefix().join("DLLs").join("libssl-1_1-x64.dll");
    let f = fs_err::File::create(&big).unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    lab.every_command("2 GiB DLL", |_, _| Expect::Any);
    let r = lab.run("detect", &[]);
    assert!(r.stderr.contains("larger than any DLL"), "{}", r.stderr);
    // No backup of it anywhere in condafix's state, and the file is untouched.
    let state = whole_tree(&lab.state());
    assert!(
        state.values().all(|b| b.len() < 1 << 20),
        "no large backup: {:?}",
        state.keys().collect::<Vec<_>>()
    );
    assert_eq!(fs_err::metadata(&big).unwrap().len(), 2 << 30);
}

#[test]
fn a_two_gigabyte_python_dll_is_not_scanned_and_the_record_places_the_build() {
    let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
    let big = lab.prefix().join("python37.dll");
    let f = fs_err::File::create(&big).unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    lab.every_command("2 GiB python37.dll", |_, _| Expect::Any);
    let r = lab.run("detect", &["--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let py = &v["prefixes"][0]["python"];
    assert_eq!(py["evidence"]["decided_by"], "record", "{py}");
    assert_eq!(py["era"], "altered-search-path");
    assert!(
        py["loader_reason"]
            .as_str()
            .unwrap()
            .contains("larger than any DLL"),
        "{py}"
    );
    assert_eq!(fs_err::metadata(&big).unwrap().len(), 2 << 30);
}

/// Point a venv's `home =` somewhere.
fn venv_home(lab: &Lab, home: &str) {
    set_home(&lab.prefix().join("pyvenv.cfg"), home);
}

fn set_home(cfg: &Path, home: &str) {
    let text = fs_err::read_to_string(cfg).unwrap();
    let rest: String = text
        .lines()
        .filter(|l| !l.starts_with("home"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs_err::write(cfg, format!("home = {home}\n{rest}")).unwrap();
}

#[test]
fn a_venv_whose_home_is_not_a_python_install_is_reported_and_nothing_there_is_touched() {
    let lab = Lab::new(ScenarioName::VenvOfDefaultModeBase);
    // The sentinel folder itself, a relative climb to it, and a folder that does not exist.
    let climb = lab.climb().trim_end_matches("/a.txt").to_string();
    for (home, words) in [
        (lab.sentinel.display().to_string(), "holds no python.exe"),
        (climb, "is not an absolute path"),
        (
            lab.ctx.path().join("gone").display().to_string(),
            "does not exist",
        ),
    ] {
        venv_home(&lab, &home);
        lab.every_command(&format!("home = {home}"), |_, _| Expect::Any);
        let r = lab.run("detect", &["--json"]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let f = &v["prefixes"][0]["findings"][0];
        assert_eq!(f["code"], "D075", "{home}: {f}");
        assert!(
            f["message"].as_str().unwrap().contains(words),
            "{home}: {f}"
        );
    }
}

#[test]
fn staging_a_venv_never_writes_into_its_base() {
    let lab = Lab::new(ScenarioName::VenvOfEarlyDefaultModeBase);
    let (base, venv) = (&lab.s.prefixes[0], &lab.s.prefixes[1]);
    let before = whole_tree(base);
    let mut c = lab.ctx.command();
    c.arg("stage")
        .arg("--prefix")
        .arg(venv)
        .arg("--system-root")
        .arg(lab.s.system_root());
    let r = run(c);
    assert_ne!(
        r.code, 0,
        "a venv that cannot load ssl is not fixed in place"
    );
    assert!(r.stderr.contains("stage the base instead"), "{}", r.stderr);
    assert_same(
        &before,
        &whole_tree(base),
        "the base after stage --prefix <venv>",
    );
    assert!(!venv.join(".condafix").join("receipt.json").exists());
}

#[cfg(unix)]
mod links {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn a_linked_state_folder_is_refused_by_every_command_that_writes_state() {
        let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
        symlink(&lab.sentinel, lab.state()).unwrap();
        lab.every_command(".condafix -> sentinel", |sub, _| {
            if acts_on_state(sub) {
                Expect::Refused(vec!["is a link"])
            } else {
                Expect::Any
            }
        });
    }

    #[test]
    fn a_linked_backup_folder_is_refused_before_a_backup_goes_there() {
        let lab = Lab::new(ScenarioName::Stale11CopiesAfterOpenssl3);
        fs_err::create_dir_all(lab.state()).unwrap();
        symlink(&lab.sentinel, lab.state().join("backup")).unwrap();
        // Only the runs that back up files (stage/post-install with --replace-foreign) meet it.
        lab.every_command("backup -> sentinel", |sub, extra| {
            let writes = matches!(sub, "stage" | "post-install") && !extra.contains(&"--dry-run");
            if writes {
                Expect::Refused(vec!["is a link"])
            } else {
                Expect::Any
            }
        });
    }

    #[test]
    fn a_linked_dlls_folder_gets_no_staged_dll() {
        let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
        let dlls = lab.prefix().join("DLLs");
        let moved = lab.sentinel.join("dlls");
        fs_err::rename(&dlls, &moved).unwrap();
        symlink(&moved, &dlls).unwrap();
        lab.every_command("DLLs -> sentinel", |sub, extra| {
            let writes = matches!(sub, "stage" | "post-install") && !extra.contains(&"--dry-run");
            if writes {
                Expect::Refused(vec!["is a link"])
            } else {
                Expect::Any
            }
        });
    }

    #[test]
    fn a_dll_linked_to_a_root_only_file_is_never_read_copied_or_turned_into_a_file() {
        let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
        let link = lab.prefix().join("DLLs").join("libssl-1_1-x64.dll");
        symlink(lab.sentinel.join("secret"), &link).unwrap();
        lab.every_command("DLL -> secret", |sub, _| {
            if matches!(sub, "stage" | "post-install") {
                Expect::Refused(vec!["is a link"])
            } else {
                Expect::Any
            }
        });
        assert!(
            fs_err::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "still a link"
        );
        // The secret's bytes are nowhere in the prefix (no backup of it, no copy through it).
        for (path, bytes) in whole_tree(lab.prefix()) {
            assert!(
                !bytes
                    .windows(b"ROOT-ONLY-SECRET".len())
                    .any(|w| w == b"ROOT-ONLY-SECRET"),
                "{path} holds the secret"
            );
        }
        let r = lab.run("detect", &[]);
        assert!(r.stderr.contains("is a link"), "{}", r.stderr);
    }

    #[test]
    fn a_python_dll_linked_to_a_root_only_file_is_not_read() {
        let lab = Lab::new(ScenarioName::Anaconda202410Py312DefaultMode);
        let dll = lab.prefix().join("python312.dll");
        fs_err::remove_file(&dll).unwrap();
        symlink(lab.sentinel.join("secret"), &dll).unwrap();
        lab.every_command("python312.dll -> secret", |_, _| Expect::Any);
        let r = lab.run("detect", &["--json"]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let py = &v["prefixes"][0]["python"];
        assert_eq!(py["evidence"]["decided_by"], "record", "{py}");
        assert_eq!(py["evidence"]["dll_problem"]["kind"], "link", "{py}");
        assert!(!r.stdout.contains("ROOT-ONLY-SECRET"));
    }

    #[test]
    fn a_venv_whose_home_is_a_link_is_not_followed() {
        let lab = Lab::new(ScenarioName::VenvOfDefaultModeBase);
        let venv = lab.s.prefixes[0].clone();
        let real_base = lab
            .ctx
            .path()
            .join("machine")
            .join("Users")
            .join("me")
            .join("anaconda3");
        let link = lab.ctx.path().join("linked-base");
        symlink(&real_base, &link).unwrap();
        set_home(&venv.join("pyvenv.cfg"), &link.display().to_string());
        let before = whole_tree(&real_base);
        lab.every_command("home -> link", |_, _| Expect::Any);
        assert_same(&before, &whole_tree(&real_base), "the linked base");
        let r = lab.run("detect", &["--json"]);
        assert!(
            r.stdout.contains("D075") && r.stdout.contains("is a link"),
            "{}",
            r.stdout
        );
    }

    #[test]
    fn control_characters_in_file_names_do_not_reach_the_terminal() {
        let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
        fs_err::write(
            lab.prefix().join("DLLs").join("libssl-\u{1b}[2J\u{7}.dll"),
            b"MZ",
        )
        .unwrap();
        for (sub, extra) in [("detect", &[][..]), ("stage", &["--dry-run"][..])] {
            let r = lab.run(sub, extra);
            assert!(
                !r.stderr.contains('\u{1b}') && !r.stderr.contains('\u{7}'),
                "{sub}: raw control characters"
            );
            assert!(
                r.stderr.contains("\\u{1b}[2J"),
                "{sub}: the name is shown escaped: {}",
                r.stderr
            );
        }
    }
}

#[test]
fn dry_run_after_a_killed_run_reports_the_recovery_and_writes_nothing() {
    let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
    // Kill a real stage run half-way (after its first DLL is written).
    let r = run({
        let mut c = lab.ctx.on("stage", &lab.s);
        c.env("CONDAFIX_FAULT_AFTER_STEP", "4");
        c
    });
    assert_ne!(r.code, 0, "the fault aborted the run: {}", r.stderr);
    assert!(lab.state().join("journal.json").is_file());
    let before = whole_tree(lab.prefix());
    for sub in ["stage", "post-install"] {
        let r = lab.run(sub, &["--dry-run"]);
        assert!(r.code == 0 || r.code == 1, "{sub}: {}", r.stderr);
        assert!(
            r.stderr.contains("would be rolled back"),
            "{sub} says what recovery would do: {}",
            r.stderr
        );
        assert_same(
            &before,
            &whole_tree(lab.prefix()),
            &format!("{sub} --dry-run"),
        );
    }
    // The next real run rolls it back and does the job.
    assert_eq!(lab.run("stage", &[]).code, 0);
    assert!(!lab.state().join("journal.json").exists());
}

#[test]
fn undo_and_config_on_a_prefix_that_is_not_there_exit_2() {
    let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
    for sub in ["undo", "stage", "config", "post-install"] {
        let mut c = lab.ctx.command();
        c.arg(sub)
            .arg("--prefix")
            .arg(lab.ctx.path().join("no-such-prefix"));
        let r = run(c);
        assert_eq!(r.code, 2, "{sub}: {}", r.stderr);
        assert!(r.stderr.contains("does not exist"), "{sub}: {}", r.stderr);
    }
}

#[test]
fn a_bundle_manifest_line_without_a_name_is_refused_with_exit_2() {
    let lab = Lab::new(ScenarioName::Anaconda201910Py37Unactivated);
    let zip = lab.ctx.path().join("b.zip");
    let hash = sha_hex(b"x");
    fs_err::write(
        &zip,
        condafix_fixtures::archives::bundle_with_manifest(&[], &format!("{hash}\n")),
    )
    .unwrap();
    let r = lab.run("stage", &["--from", zip.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("SHA256SUMS line 1"), "{}", r.stderr);
}
