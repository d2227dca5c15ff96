//! Owner's rights, attacked: condafix runs as root (CI runs as root; `CONDAFIX_ASSUME_ELEVATED=1`
//! makes it take the elevated path) over prefixes and profiles that unprivileged users own, and
//! an unprivileged uid attacks from a child process of its own: planted journals and receipts,
//! links swapped in while condafix works, hostile variables in their environment, a lock held,
//! malformed records, FIFOs. After each attack, what root owns (bytes, owner, mode), what
//! another user owns, and the machine environment are compared: nothing may change.
//!
//! Linux only (per-thread filesystem identity, uids without accounts); the Windows half runs
//! through the same shared code, see docs/architecture.md. Needs root: without it the tests
//! return, unless `CONDAFIX_REQUIRE_ROOT_TESTS=1` (set by `.ci/run`) makes that a failure.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{run, Run, TestContext};
use condafix_detect::registry::{
    FileRegistry, Hive, RegValue, Registry, RegistryWrite, ENV_FAKE_REGISTRY,
    MACHINE_ENVIRONMENT_KEY, PROFILE_LIST_KEY,
};
use condafix_fixtures::scenarios::{anaconda_2019_10, system_path};
use condafix_fixtures::FakeMachine;

/// The attacker, and another user whose files must stay theirs.
const ALICE: u32 = 1001;
const BOB: u32 = 1002;
const ALICE_SID: &str = "S-1-5-21-1111-2222-3333-1001";
const BOB_SID: &str = "S-1-5-21-1111-2222-3333-1002";

fn root_or_skip() -> bool {
    let root =
        condafix_actor::identity::process_account() == Some(condafix_actor::AccountId::Uid(0));
    if !root {
        assert!(
            std::env::var_os("CONDAFIX_REQUIRE_ROOT_TESTS").is_none(),
            "these tests need root (CONDAFIX_REQUIRE_ROOT_TESTS is set)"
        );
    }
    root
}

fn chown_r(path: &Path, uid: u32) {
    let status = Command::new("chown")
        .arg("-hR")
        .arg(format!("{uid}:{uid}"))
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A shell script run as `uid` (no account needed), from `dir`.
fn as_user(uid: u32, dir: &Path, script: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(script)
        .current_dir(dir)
        .uid(uid)
        .gid(uid)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn attack(uid: u32, dir: &Path, script: &str) {
    let out = as_user(uid, dir, script).output().unwrap();
    assert!(
        out.status.success(),
        "the attacker's script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What must not change: every entry's bytes, owner and mode, links listed as links.
type Snapshot = BTreeMap<PathBuf, (Vec<u8>, u32, u32)>;

fn snapshot(paths: &[&Path]) -> Snapshot {
    let mut out = BTreeMap::new();
    let mut stack: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    while let Some(p) = stack.pop() {
        let Ok(m) = fs_err::symlink_metadata(&p) else {
            continue;
        };
        let bytes = if m.file_type().is_symlink() {
            fs_err::read_link(&p)
                .map(|t| t.display().to_string().into_bytes())
                .unwrap_or_default()
        } else if m.is_dir() {
            for e in fs_err::read_dir(&p).unwrap().flatten() {
                stack.push(e.path());
            }
            b"<dir>".to_vec()
        } else {
            fs_err::read(&p).unwrap_or_default()
        };
        out.insert(p, (bytes, m.uid(), m.mode()));
    }
    out
}

fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    let keys: std::collections::BTreeSet<&PathBuf> = before.keys().chain(after.keys()).collect();
    let differ: Vec<&&PathBuf> = keys
        .iter()
        .filter(|k| before.get(**k) != after.get(**k))
        .collect();
    assert!(differ.is_empty(), "{what}: changed: {differ:?}");
}

/// A machine with root's and bob's files, and alice's Just Me install in her own home.
struct Lab {
    ctx: TestContext,
    m: FakeMachine,
    registry: PathBuf,
    /// Root's pip config (a token in it, 0600) and a root folder.
    root_pip: PathBuf,
    root_dir: PathBuf,
    /// A file only bob may read.
    bob_file: PathBuf,
    alice_home: PathBuf,
    alice_prefix: PathBuf,
    bob_home: PathBuf,
    bob_prefix: PathBuf,
}

impl Lab {
    fn new() -> Self {
        let ctx = TestContext::new();
        fs_err::set_permissions(ctx.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let m = FakeMachine::new(&ctx.path().join("machine"));
        let root_dir = ctx.path().join("root-only");
        fs_err::create_dir_all(&root_dir).unwrap();
        let root_pip = root_dir.join("pip.conf");
        fs_err::write(
            &root_pip,
            "[global]\ntrusted-host = corp\nindex-url = https://root:TOKEN@idx/simple\n",
        )
        .unwrap();
        fs_err::set_permissions(&root_pip, std::fs::Permissions::from_mode(0o600)).unwrap();
        fs_err::write(root_dir.join("keep.dll"), b"MZ root's").unwrap();
        let bob_home = m.path("C:\\Users\\bob");
        let bob_prefix = m.install("C:\\Users\\bob\\anaconda3", &anaconda_2019_10());
        let bob_file = bob_home.join("secret.txt");
        fs_err::write(&bob_file, b"bob's").unwrap();
        fs_err::set_permissions(&bob_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        chown_r(&bob_home, BOB);
        let alice_home = m.path("C:\\Users\\alice");
        let alice_prefix = m.install("C:\\Users\\alice\\anaconda3", &anaconda_2019_10());
        chown_r(&alice_home, ALICE);
        // The machine environment, which must stay as it is.
        let registry = ctx.path().join("registry.json");
        let reg = FileRegistry::new(&registry);
        reg.set_value(
            Hive::LocalMachine,
            MACHINE_ENVIRONMENT_KEY,
            "Path",
            &RegValue::ExpandSz("%SystemRoot%\\system32".into()),
        )
        .unwrap();
        Lab {
            ctx,
            m,
            registry,
            root_pip,
            root_dir,
            bob_file,
            alice_home,
            alice_prefix,
            bob_home,
            bob_prefix,
        }
    }

    /// Register alice and bob as profiles (for `--all-users`), each logged on.
    fn profiles(&self) {
        let reg = FileRegistry::new(&self.registry);
        for (sid, dir) in [(ALICE_SID, &self.alice_home), (BOB_SID, &self.bob_home)] {
            reg.set_value(
                Hive::LocalMachine,
                &format!("{PROFILE_LIST_KEY}\\{sid}"),
                "ProfileImagePath",
                &RegValue::ExpandSz(dir.display().to_string()),
            )
            .unwrap();
            reg.set_value(
                Hive::Users,
                &format!("{sid}\\Environment"),
                "TEMP",
                &RegValue::Sz("/tmp".into()),
            )
            .unwrap();
        }
    }

    fn set_user_env(&self, sid: &str, name: &str, value: &str) {
        FileRegistry::new(&self.registry)
            .set_value(
                Hive::Users,
                &format!("{sid}\\Environment"),
                name,
                &RegValue::Sz(value.into()),
            )
            .unwrap();
    }

    /// What must not change whatever the attack: root's files, bob's, the machine environment.
    fn guarded(&self) -> Snapshot {
        let mut s = snapshot(&[&self.root_dir, &self.bob_file]);
        let machine = FileRegistry::new(&self.registry)
            .value(Hive::LocalMachine, MACHINE_ENVIRONMENT_KEY, "Path")
            .unwrap();
        s.insert(
            PathBuf::from("HKLM Path"),
            (format!("{machine:?}").into_bytes(), 0, 0),
        );
        let etc = Path::new("/etc/pip.conf");
        if etc.exists() {
            s.extend(snapshot(&[etc]));
        }
        s
    }

    /// `condafix <sub>` as an elevated run (root, taking the elevated path).
    fn command(&self, sub: &str, args: &[&str]) -> Command {
        let mut c = self.ctx.command();
        c.arg(sub)
            .arg("--system-root")
            .arg(self.m.windows_dir())
            .arg("--search-path")
            .arg(
                system_path(&self.m)
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(";"),
            )
            .args(args)
            .env(ENV_FAKE_REGISTRY, &self.registry)
            .env("CONDAFIX_ASSUME_ELEVATED", "1")
            .env(
                "CONDAFIX_MACHINE_STATE",
                self.ctx.path().join("machine-state"),
            );
        c
    }

    fn on_alice(&self, sub: &str, args: &[&str]) -> Run {
        let mut c = self.command(sub, args);
        c.arg("--prefix").arg(&self.alice_prefix);
        run(c)
    }

    fn state(&self) -> PathBuf {
        self.alice_prefix.join(".condafix")
    }
}

/// The commands that recover an interrupted run or undo, as a fleet tool runs them.
const RECOVERING: &[(&str, &[&str])] = &[
    ("stage", &["--replace-foreign"]),
    ("config", &["--remove-insecure", "--yes"]),
    ("undo", &[]),
    ("post-install", &["--remove-insecure", "--no-verify"]),
    ("stage", &["--dry-run"]),
    ("post-install", &["--dry-run"]),
];

fn plant(lab: &Lab, file: &str, json: &serde_json::Value) {
    let text = serde_json::to_string(json).unwrap().replace('\'', "'\\''");
    attack(
        ALICE,
        &lab.alice_prefix,
        &format!("mkdir -p .condafix && printf '%s' '{text}' > .condafix/{file}"),
    );
}

fn sha(bytes: &[u8]) -> String {
    condafix_prefix::Sha256::of_bytes(bytes).to_hex()
}

#[test]
fn a_journal_planted_in_a_users_prefix_reaches_nothing_outside_it() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    let root_sha = sha(&fs_err::read(&lab.root_pip).unwrap());
    for (case, ops) in [
        (
            "root's pip config",
            serde_json::json!([{"path": lab.root_pip, "kind": "write", "new_sha256": root_sha,
                "backup": null, "existed": false, "state": "done"}]),
        ),
        (
            "another user's file",
            serde_json::json!([{"path": lab.bob_file, "kind": "remove", "new_sha256": null,
                "backup": "backup/txn-0001/x", "existed": true, "state": "backed-up"}]),
        ),
        (
            "the machine environment",
            serde_json::json!([{"path": "HKLM", "kind": "registry", "new_sha256": null,
                "backup": null, "existed": true, "state": "done",
                "registry": {"hive": "HKLM", "key": MACHINE_ENVIRONMENT_KEY, "name": "Path",
                    "before": {"type": "REG_SZ", "data": "C:\\evil"}, "after": null}}]),
        ),
        (
            "/etc",
            serde_json::json!([{"path": "/etc/pip.conf", "kind": "write", "new_sha256": null,
                "backup": null, "existed": false, "state": "done"}]),
        ),
    ] {
        plant(
            &lab,
            "journal.json",
            &serde_json::json!({"txn": "txn-0001", "command": "stage", "ops": ops,
                "receipt_written": false}),
        );
        for (sub, args) in RECOVERING {
            let before = lab.guarded();
            let r = lab.on_alice(sub, args);
            assert_unchanged(&before, &lab.guarded(), &format!("{case}: {sub} {args:?}"));
            assert_eq!(r.code, 2, "{case}: {sub} {args:?} refuses: {}", r.stderr);
            assert!(r.stderr.contains("journal.json"), "{case}: {}", r.stderr);
        }
    }
}

#[test]
fn a_receipt_planted_in_a_users_prefix_makes_undo_restore_nothing_outside_it() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    let evil = b"[global]\ntrusted-host = *\n";
    // Her own bytes as the "backup" of root's pip config and of bob's file.
    attack(
        ALICE,
        &lab.alice_prefix,
        "mkdir -p .condafix/backup/txn-0001 && printf '[global]\\ntrusted-host = *\\n' > .condafix/backup/txn-0001/x",
    );
    let root_sha = sha(&fs_err::read(&lab.root_pip).unwrap());
    for (case, entry, registry) in [
        (
            "root's pip config",
            serde_json::json!([{"path": lab.root_pip, "action": "replaced", "sha256": root_sha,
                "size": 1, "backup": "backup/txn-0001/x", "backup_sha256": sha(evil),
                "origin": "x", "txn": "txn-0001"}]),
            serde_json::json!([]),
        ),
        (
            "bob's file",
            serde_json::json!([{"path": lab.bob_file, "action": "created", "sha256": sha(b"bob's"),
                "size": 5, "backup": null, "backup_sha256": null, "origin": "x", "txn": "txn-0001"}]),
            serde_json::json!([]),
        ),
        (
            "the machine environment",
            serde_json::json!([]),
            serde_json::json!([{"hive": "HKLM", "key": MACHINE_ENVIRONMENT_KEY, "name": "Path",
                "before": {"type": "REG_SZ", "data": "C:\\evil"},
                "after": {"type": "REG_EXPAND_SZ", "data": "%SystemRoot%\\system32"},
                "origin": "x", "txn": "txn-0001"}]),
        ),
    ] {
        plant(
            &lab,
            "receipt.json",
            &serde_json::json!({"schema_version": 2, "entries": entry, "registry": registry,
                "history": [{"txn": "txn-0001", "command": "stage", "changes": 1}]}),
        );
        let before = lab.guarded();
        let r = lab.on_alice("undo", &[]);
        assert_unchanged(&before, &lab.guarded(), case);
        assert_eq!(r.code, 2, "{case}: {}", r.stderr);
        assert!(r.stderr.contains("receipt.json"), "{case}: {}", r.stderr);
    }
}

#[test]
fn an_elevated_fix_of_a_users_prefix_is_made_as_that_user() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    let r = lab.on_alice("stage", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for f in ["libssl-1_1-x64.dll", "libcrypto-1_1-x64.dll"] {
        let m = fs_err::metadata(lab.alice_prefix.join("DLLs").join(f)).unwrap();
        assert_eq!(m.uid(), ALICE, "{f}: made by her, not chowned after");
    }
    let state = fs_err::metadata(lab.state()).unwrap();
    assert_eq!((state.uid(), state.mode() & 0o777), (ALICE, 0o700));
    // Nothing of hers in the machine state; nothing of root's in her prefix.
    assert!(!lab
        .ctx
        .path()
        .join("machine-state")
        .join("prefixes")
        .exists());
    let undo = lab.on_alice("undo", &[]);
    assert_eq!(undo.code, 0, "{}", undo.stderr);
}

/// Run condafix over and over while `swapper` (the attacker, as alice) runs its bounded loop,
/// then check the guarded files. The swapper's count, not a time, bounds the attack.
fn race(lab: &Lab, swapper: &str, runs: &[(&str, &[&str])], extra: &[&Path]) {
    let mut guard_paths: Vec<&Path> = vec![&lab.root_dir, &lab.bob_file];
    guard_paths.extend(extra);
    let before = snapshot(&guard_paths);
    let mut child: Child = as_user(ALICE, &lab.alice_home, swapper).spawn().unwrap();
    let mut rounds = 0;
    loop {
        for (sub, args) in runs {
            let mut c = lab.command(sub, args);
            if !args.contains(&"--all-users") {
                c.arg("--prefix").arg(&lab.alice_prefix);
            }
            let out = c.output().unwrap();
            let code = out.status.code().unwrap_or(-1);
            assert!(
                (0..=3).contains(&code),
                "{sub}: exit {code}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        rounds += 1;
        if child.try_wait().unwrap().is_some() || rounds >= 60 {
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "the swapper ran its {swapper:?}");
    assert!(rounds >= 1);
    assert_unchanged(&before, &snapshot(&guard_paths), swapper);
    // No file of root's landed in her home.
    for (p, (_, uid, _)) in snapshot(&[&lab.alice_home]) {
        assert_ne!(uid, 0, "{} is root's", p.display());
    }
}

#[test]
fn links_swapped_in_while_condafix_works_redirect_nothing() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    let root = lab.root_dir.display().to_string();
    let pip = lab.root_pip.display().to_string();
    let stage_undo: &[(&str, &[&str])] = &[("stage", &["--replace-foreign"]), ("undo", &[])];
    // The DLLs folder, swapped for a link to a root folder, 200 times.
    race(
        &lab,
        &format!(
            "cd anaconda3 && i=0; while [ $i -lt 200 ]; do mv DLLs D.real && ln -s {root} DLLs && rm DLLs && mv D.real DLLs; i=$((i+1)); done"
        ),
        stage_undo,
        &[],
    );
    // condafix's own state folder, the same way.
    race(
        &lab,
        &format!(
            "cd anaconda3 && mkdir -p .condafix && i=0; while [ $i -lt 200 ]; do mv .condafix C.real 2>/dev/null; ln -s {root} .condafix; rm -f .condafix; mv C.real .condafix 2>/dev/null; i=$((i+1)); done; true"
        ),
        stage_undo,
        &[],
    );
    // Temp files condafix makes, replaced by links to root's pip config as soon as seen.
    race(
        &lab,
        &format!(
            "cd anaconda3 && i=0; while [ $i -lt 300 ]; do for f in DLLs/.*condafix-tmp* .condafix/.*condafix-tmp*; do [ -e \"$f\" ] && ln -sf {pip} \"$f\"; done; i=$((i+1)); done; true"
        ),
        stage_undo,
        &[],
    );
    assert_eq!(
        fs_err::metadata(&lab.root_pip).unwrap().mode() & 0o777,
        0o600,
        "root's file kept its mode"
    );
}

#[test]
fn a_users_config_folder_or_its_parent_swapped_for_a_link_leads_nowhere() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    lab.profiles();
    let pipdir = lab.alice_home.join(".config").join("pip");
    fs_err::create_dir_all(&pipdir).unwrap();
    fs_err::write(
        pipdir.join("pip.conf"),
        "[global]\ntrusted-host = pypi.org\n",
    )
    .unwrap();
    chown_r(&lab.alice_home, ALICE);
    let root = lab.root_dir.display().to_string();
    let config: &[(&str, &[&str])] = &[("config", &["--all-users", "--remove-insecure", "--yes"])];
    race(
        &lab,
        &format!(
            "i=0; while [ $i -lt 200 ]; do mv .config/pip P.real && ln -s {root} .config/pip && rm .config/pip && mv P.real .config/pip; i=$((i+1)); done"
        ),
        config,
        &[],
    );
    race(
        &lab,
        &format!(
            "i=0; while [ $i -lt 200 ]; do mv .config C.real && ln -s {root} .config && rm .config && mv C.real .config; i=$((i+1)); done"
        ),
        config,
        &[],
    );
}

#[test]
fn a_log_folder_swapped_for_a_link_gets_no_log_there() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    let logs = lab.alice_home.join("logs");
    fs_err::create_dir_all(&logs).unwrap();
    chown_r(&logs, ALICE);
    let log = logs.join("run.log");
    let log_arg = log.display().to_string();
    let root = lab.root_dir.display().to_string();
    let runs: Vec<(&str, Vec<&str>)> =
        vec![("post-install", vec!["--no-verify", "--log-file", &log_arg])];
    let runs: Vec<(&str, &[&str])> = runs.iter().map(|(s, a)| (*s, a.as_slice())).collect();
    race(
        &lab,
        &format!(
            "i=0; while [ $i -lt 200 ]; do mv logs L.real && ln -s {root} logs && rm logs && mv L.real logs; i=$((i+1)); done"
        ),
        &runs,
        &[],
    );
    // Elevated, condafix does not write its log into a folder a user controls at all.
    assert!(!log.exists(), "no log in alice's folder");
}

#[test]
fn a_users_variables_aim_only_their_own_rights() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    lab.profiles();
    // Root's pip config readable by all (so that the edit is planned), and a root folder.
    fs_err::set_permissions(&lab.root_pip, std::fs::Permissions::from_mode(0o644)).unwrap();
    lab.set_user_env(
        ALICE_SID,
        "PIP_CONFIG_FILE",
        &lab.root_pip.display().to_string(),
    );
    lab.set_user_env(
        ALICE_SID,
        "CONDARC",
        &lab.root_dir.join("condarc").display().to_string(),
    );
    lab.set_user_env(ALICE_SID, "APPDATA", &lab.root_dir.display().to_string());
    lab.set_user_env(
        ALICE_SID,
        "XDG_CONFIG_HOME",
        &lab.root_dir.display().to_string(),
    );
    let before = lab.guarded();
    let r = run(lab.command(
        "post-install",
        &[
            "--all-users",
            "--remove-insecure",
            "--trust-system-store",
            "--no-verify",
            "--json",
        ],
    ));
    assert_unchanged(&before, &lab.guarded(), "post-install --all-users");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let verdict = |p: &Path| {
        v["prefixes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["prefix"].as_str() == Some(&p.display().to_string()))
            .map(|x| x["verdict"].as_str().unwrap().to_string())
    };
    // Bob's install is fixed whatever alice's variables say.
    assert_eq!(
        verdict(&lab.bob_prefix).as_deref(),
        Some("fixed"),
        "{}",
        r.stdout
    );
    assert!(lab
        .bob_prefix
        .join("DLLs")
        .join("libssl-1_1-x64.dll")
        .is_file());
}

#[test]
fn one_user_holding_their_lock_or_breaking_their_records_stops_no_one_else() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    lab.profiles();
    // alice holds her prefix's lock (a process of hers, as flock holds it).
    attack(
        ALICE,
        &lab.alice_prefix,
        "mkdir -p .condafix && : > .condafix/lock",
    );
    let mut holder = as_user(
        ALICE,
        &lab.alice_prefix,
        "exec flock -x .condafix/lock sh -c 'echo held; read _'",
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    {
        use std::io::BufRead as _;
        let mut line = String::new();
        std::io::BufReader::new(holder.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "held");
    }
    // And one of her records is cut short.
    let record = fs_err::read_dir(lab.alice_prefix.join("conda-meta"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("python-")
        })
        .unwrap();
    let r = run(lab.command(
        "post-install",
        &[
            "--all-users",
            "--no-verify",
            "--lock-timeout",
            "1",
            "--json",
        ],
    ));
    drop(holder.stdin.take());
    let _ = holder.wait();
    assert!(
        lab.bob_prefix
            .join("DLLs")
            .join("libssl-1_1-x64.dll")
            .is_file(),
        "{}",
        r.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let alice = v["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["prefix"].as_str() == Some(&lab.alice_prefix.display().to_string()))
        .unwrap();
    let reason = alice["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("another process") && reason.contains("per /proc/locks"),
        "the lock message says what the system knows: {reason}"
    );
    assert_eq!(
        r.code, 2,
        "the worst verdict is the exit code: {}",
        r.stdout
    );
    // Now her record is broken instead: bob's is still worked, hers gets D090.
    attack(
        ALICE,
        &lab.alice_prefix,
        &format!("printf '{{\"name\": ' > {}", record.display()),
    );
    let undo = run(lab.command("undo", &["--all-users"]));
    assert!(undo.code <= 1, "{}", undo.stderr);
    let d = run(lab.command("detect", &["--all-users", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
    let codes: Vec<String> = v["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["findings"].as_array().unwrap().clone())
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    assert!(codes.contains(&"D090".to_string()), "{codes:?}");
    let r = run(lab.command("post-install", &["--all-users", "--no-verify"]));
    assert!(
        lab.bob_prefix
            .join("DLLs")
            .join("libssl-1_1-x64.dll")
            .is_file(),
        "{}",
        r.stderr
    );
}

/// Spawn `cmd` and wait for it, at most `tenths` tenths of a second (a hang guard, not a
/// speed test: a run that blocks on a FIFO never returns at all); killed if it has not ended.
fn ends(mut cmd: Command, tenths: u32) -> Option<i32> {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..tenths {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn a_fifo_at_any_input_path_blocks_no_command() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    let p = &lab.alice_prefix;
    let record = fs_err::read_dir(p.join("conda-meta"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|x| {
            x.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("openssl-")
        })
        .unwrap();
    for target in [
        p.join("DLLs").join("_ssl.pyd"),
        p.join("Library").join("bin").join("libssl-1_1-x64.dll"),
        record,
        p.join("pip.ini"),
        p.join(".condarc"),
        p.join(".condafix").join("receipt.json"),
        p.join(".condafix").join("journal.json"),
        p.join(".condafix").join("lock"),
        lab.ctx
            .path()
            .join("home")
            .join(".conda")
            .join("environments.txt"),
    ] {
        let lab = Lab::new();
        let target = lab
            .alice_prefix
            .join(target.strip_prefix(p).unwrap_or(&target));
        if let Some(d) = target.parent() {
            fs_err::create_dir_all(d).unwrap();
        }
        let _ = fs_err::remove_file(&target);
        assert!(Command::new("mkfifo")
            .arg(&target)
            .status()
            .unwrap()
            .success());
        chown_r(&lab.alice_home, ALICE);
        for (sub, args) in [
            ("detect", &[][..]),
            ("stage", &["--replace-foreign"][..]),
            ("config", &["--remove-insecure", "--yes"][..]),
            ("undo", &[][..]),
            ("audit", &["--all"][..]),
            ("bundle", &["-o"][..]),
        ] {
            let mut c = lab.command(sub, args);
            if sub == "bundle" {
                c.arg(lab.ctx.path().join("support.zip"));
            }
            c.arg("--prefix").arg(&lab.alice_prefix);
            let code = ends(c, 600);
            assert!(
                code.is_some(),
                "{sub} with a FIFO at {} did not return",
                target.display()
            );
        }
    }
}

#[test]
fn bundle_and_log_outputs_go_through_no_link_and_stay_private() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    // -o at a link to root's file: refused, root's file unchanged.
    let out = lab.ctx.path().join("out");
    fs_err::create_dir_all(&out).unwrap();
    std::os::unix::fs::symlink(&lab.root_pip, out.join("support.zip")).unwrap();
    let before = lab.guarded();
    let r = {
        let mut c = lab.command("bundle", &["-o"]);
        c.arg(out.join("support.zip"))
            .arg("--prefix")
            .arg(&lab.alice_prefix);
        run(c)
    };
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_unchanged(&before, &lab.guarded(), "bundle -o through a link");
    // A real bundle is owner-only, and does not take in a file linked to root's secret.
    fs_err::remove_file(out.join("support.zip")).unwrap();
    attack(
        ALICE,
        &lab.alice_prefix,
        &format!("ln -s {} pip.ini", lab.root_pip.display()),
    );
    let r = {
        let mut c = lab.command("bundle", &["-o"]);
        c.arg(out.join("support.zip"))
            .arg("--prefix")
            .arg(&lab.alice_prefix);
        run(c)
    };
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = out.join("support.zip");
    assert_eq!(fs_err::metadata(&zip).unwrap().mode() & 0o777, 0o600);
    let bytes = fs_err::read(&zip).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut f, &mut text);
        assert!(
            !text.contains("TOKEN"),
            "{:?} holds root's secret",
            f.name()
        );
    }
    // --log-file through a link: no write to root's file.
    std::os::unix::fs::symlink(&lab.root_pip, out.join("run.log")).unwrap();
    let before = lab.guarded();
    let mut c = lab.command("post-install", &["--no-verify", "--log-file"]);
    c.arg(out.join("run.log"))
        .arg("--prefix")
        .arg(&lab.alice_prefix);
    let _ = run(c);
    assert_unchanged(&before, &lab.guarded(), "--log-file through a link");
    // Rotation deletes only condafix's own logs: a root file named like one, linked in, stays.
    let logs = lab
        .ctx
        .path()
        .join("home")
        .join(".local")
        .join("state")
        .join("condafix")
        .join("logs");
    fs_err::create_dir_all(&logs).unwrap();
    for i in 0..12 {
        fs_err::write(
            logs.join(format!("post-install-202611{i:02}T080000+0100.log")),
            b"x",
        )
        .unwrap();
    }
    let victim = lab.root_dir.join("keep.dll");
    fs_err::hard_link(&victim, logs.join("post-install-20261100T070000+0100.log")).unwrap();
    std::os::unix::fs::symlink(&victim, logs.join("post-install-20261100T060000+0100.log"))
        .unwrap();
    let before = lab.guarded();
    let mut c = lab.command("post-install", &["--no-verify"]);
    c.env("INSTALLER_UNATTENDED", "1")
        .arg("--prefix")
        .arg(&lab.alice_prefix);
    let _ = run(c);
    assert_unchanged(&before, &lab.guarded(), "log rotation");
    let left = fs_err::read_dir(&logs).unwrap().count();
    assert_eq!(
        left,
        10 + 2,
        "ten logs kept, the two links left alone: {left}"
    );
}

/// A self-signed CA certificate in PEM.
fn ca_pem(name: &str) -> String {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, name.to_string());
    p.self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap()
        .pem()
}

#[test]
fn a_users_roots_go_into_no_bundle_root_or_the_machine_trusts() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    let dir = lab.ctx.path();
    let (corp, system, evil) = (
        ca_pem("Corp Root CA"),
        ca_pem("System Root CA"),
        ca_pem("Alice Evil Root CA"),
    );
    fs_err::write(dir.join("corp.pem"), &corp).unwrap();
    fs_err::write(dir.join("system.pem"), &system).unwrap();
    // alice adds her own CA to her prefix's root bundle.
    let cacert = lab
        .alice_prefix
        .join("Library")
        .join("ssl")
        .join("cacert.pem");
    attack(
        ALICE,
        &lab.alice_home,
        &format!(
            "mkdir -p '{0}' && printf '%s' '{1}' >> '{2}'",
            cacert.parent().unwrap().display(),
            evil,
            cacert.display()
        ),
    );
    let config = |scope: &str| {
        let mut c = lab.command(
            "config",
            &[
                "--ca-file",
                "corp.pem",
                "--scope",
                scope,
                "--yes",
                "--json",
                "--prefix",
            ],
        );
        c.arg(&lab.alice_prefix)
            .env("SSL_CERT_FILE", dir.join("system.pem"));
        run(c)
    };
    let home = dir.join("home");
    // The machine's folders exist (on Windows, %ProgramData% is the machine store's root and
    // they are made below it; this Linux run's root for it is /etc).
    for d in ["condafix", "pip", "conda"] {
        fs_err::create_dir_all(dir.join("ProgramData").join(d)).unwrap();
    }
    for (scope, bundle) in [
        ("user", home.join(".local/share/condafix/ca-bundle.pem")),
        ("global", dir.join("ProgramData/condafix/ca-bundle.pem")),
    ] {
        let r = config(scope);
        assert_eq!(r.code, 0, "{scope}: {}\n{}", r.stdout, r.stderr);
        let pem = fs_err::read_to_string(&bundle).unwrap();
        assert!(
            !pem.contains(evil.lines().nth(1).unwrap()),
            "{scope}: alice's CA is trusted"
        );
        assert!(pem.contains(corp.lines().nth(1).unwrap()), "{scope}");
        assert!(
            pem.contains(system.lines().nth(1).unwrap()),
            "{scope}: the system's roots instead"
        );
        assert!(
            r.stdout.contains("may be changed by uid 1001"),
            "{scope}: {}",
            r.stdout
        );
        let undo = lab.on_alice("undo", &[]);
        assert_eq!(undo.code, 0, "{}", undo.stderr);
    }
    // Her prefix's own bundle (site) keeps her roots: only her prefix trusts it.
    let r = config("site");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let pem = fs_err::read_to_string(lab.state().join("ca-bundle.pem")).unwrap();
    assert!(pem.contains(evil.lines().nth(1).unwrap()));
}

#[test]
fn report_documents_go_through_no_link_and_into_no_folder_one_user_controls() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    let before = lab.guarded();
    // alice's link to root's folder, and a folder of hers.
    let link = lab.alice_home.join("reports");
    std::os::unix::fs::symlink(&lab.root_dir, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(ALICE), Some(ALICE)).unwrap();
    let inbox = lab.alice_home.join("inbox");
    fs_err::create_dir(&inbox).unwrap();
    std::os::unix::fs::chown(&inbox, Some(ALICE), Some(ALICE)).unwrap();
    // Her folder opened to her group (umask 002): still hers.
    let grouped = lab.alice_home.join("grouped");
    fs_err::create_dir(&grouped).unwrap();
    std::os::unix::fs::chown(&grouped, Some(ALICE), Some(ALICE)).unwrap();
    fs_err::set_permissions(&grouped, std::fs::Permissions::from_mode(0o775)).unwrap();
    // Her folder made sticky: the sticky bit binds everyone but its owner.
    let sticky = lab.alice_home.join("sticky");
    fs_err::create_dir(&sticky).unwrap();
    std::os::unix::fs::chown(&sticky, Some(ALICE), Some(ALICE)).unwrap();
    fs_err::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let share = lab.ctx.path().join("share");
    fs_err::create_dir(&share).unwrap();
    fs_err::set_permissions(&share, std::fs::Permissions::from_mode(0o777)).unwrap();
    for (dir, ok) in [
        (sticky.clone(), false),
        (link.join("planted"), false),
        (link.clone(), false),
        (inbox.clone(), false),
        (grouped.clone(), false),
        (share.clone(), true),
    ] {
        let mut c = lab.command("check", &["--report-dir"]);
        c.arg(&dir).arg("--prefix").arg(&lab.alice_prefix);
        let r = run(c);
        assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
        let warned = r
            .stderr
            .contains("the report document could not be written");
        assert_eq!(warned, !ok, "{}: {}", dir.display(), r.stderr);
    }
    assert!(!lab.root_dir.join("planted").exists());
    assert!(fs_err::read_dir(&inbox).unwrap().next().is_none());
    assert!(fs_err::read_dir(&grouped).unwrap().next().is_none());
    assert!(fs_err::read_dir(&sticky).unwrap().next().is_none());
    // Nor does a bundle go there.
    let mut bundle = lab.command("bundle", &["-o"]);
    bundle.arg(sticky.join("b.zip"));
    let r = run(bundle);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(fs_err::read_dir(&sticky).unwrap().next().is_none());
    // In the share several accounts write to: the document, owner-only.
    let docs: Vec<_> = fs_err::read_dir(&share).unwrap().flatten().collect();
    assert_eq!(docs.len(), 1, "{docs:?}");
    let m = fs_err::symlink_metadata(docs[0].path()).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o777), (0, 0o600));
    assert_unchanged(&before, &lab.guarded(), "check --report-dir");
}

#[test]
fn opening_her_prefix_or_home_to_everyone_does_not_make_root_read_for_her() {
    if !root_or_skip() {
        return;
    }
    let lab = Lab::new();
    lab.profiles();
    // Root's pip config stays 0600: only root may read it. Her variable names it.
    lab.set_user_env(
        ALICE_SID,
        "PIP_CONFIG_FILE",
        &lab.root_pip.display().to_string(),
    );
    for opened in [&lab.alice_prefix, &lab.alice_home] {
        fs_err::set_permissions(opened, std::fs::Permissions::from_mode(0o777)).unwrap();
        let r = run(lab.command("detect", &["--all-users", "--json"]));
        assert!(r.code <= 1, "{}", r.stderr);
        for secret in ["idx/simple", "trusted-host", "TOKEN", "corp"] {
            assert!(
                !r.stdout.contains(secret) && !r.stderr.contains(secret),
                "{}: root's file was read for her: {secret} in {}",
                opened.display(),
                r.stdout
            );
        }
        fs_err::set_permissions(opened, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Read as her, her own file is read: the same variable aimed at a file of hers works.
    let hers = lab.alice_home.join("pip.conf");
    fs_err::write(&hers, "[global]\ntrusted-host = hers.example\n").unwrap();
    std::os::unix::fs::chown(&hers, Some(ALICE), Some(ALICE)).unwrap();
    lab.set_user_env(ALICE_SID, "PIP_CONFIG_FILE", &hers.display().to_string());
    let r = run(lab.command("detect", &["--all-users", "--json"]));
    assert!(r.stdout.contains("hers.example"), "{}", r.stdout);
}
