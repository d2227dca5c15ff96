//! CLI test harness: a temp root with `home/`, a cleared environment (keeping `SystemRoot` on
//! Windows), and insta filters for the temp paths in both separator styles.

#![allow(dead_code)]

pub mod fleet;
pub mod https_index;
pub mod schema;
pub mod windows;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TestContext {
    pub root: tempfile::TempDir,
}

impl TestContext {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(root.path().join("home")).unwrap();
        Self { root }
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// The state folder of this test user's own settings (their files outside any prefix,
    /// their environment): `%LOCALAPPDATA%\condafix\state`, `~/.local/state/condafix`.
    pub fn user_state(&self) -> PathBuf {
        let home = self.path().join("home");
        if cfg!(windows) {
            home.join("AppData")
                .join("Local")
                .join("condafix")
                .join("state")
        } else {
            home.join(".local").join("state").join("condafix")
        }
    }

    /// `condafix` with a clean environment whose home folders point into the temp root.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_condafix"));
        cmd.env_clear();
        if let Some(sr) = std::env::var_os("SystemRoot") {
            cmd.env("SystemRoot", sr);
        }
        let home = self.path().join("home");
        for var in ["HOME", "USERPROFILE"] {
            cmd.env(var, &home);
        }
        cmd.env("APPDATA", home.join("AppData").join("Roaming"));
        cmd.env("LOCALAPPDATA", home.join("AppData").join("Local"));
        cmd.env("PROGRAMDATA", self.path().join("ProgramData"));
        // Wine and CI runners hold an elevated token, Linux CI runs as root: these tests are
        // about an ordinary run unless they say otherwise (debug builds honour the seam).
        cmd.env("CONDAFIX_ASSUME_ELEVATED", "0");
        cmd.current_dir(self.path());
        cmd
    }

    /// `condafix detect` pointed at a scenario's fake machine.
    pub fn detect(&self, scenario: &condafix_fixtures::Scenario) -> Command {
        let mut cmd = self.command();
        cmd.arg("detect")
            .arg("--system-root")
            .arg(scenario.system_root());
        let path: Vec<String> = scenario
            .search_path
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        cmd.arg("--search-path").arg(path.join(";"));
        for p in &scenario.prefixes {
            cmd.arg("--prefix").arg(p);
        }
        cmd
    }

    /// `condafix <sub>` pointed at a scenario's fake machine and prefixes.
    pub fn on(&self, sub: &str, scenario: &condafix_fixtures::Scenario) -> Command {
        let detect = self.detect(scenario);
        let args: Vec<std::ffi::OsString> = detect
            .get_args()
            .skip(1)
            .map(|a| a.to_os_string())
            .collect();
        let mut cmd = self.command();
        cmd.arg(sub).args(args);
        cmd
    }

    /// Insta settings: snapshots in the top-level `snapshots/`, temp paths filtered.
    pub fn settings(&self) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        s.set_snapshot_path(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("..")
                .join("snapshots"),
        );
        s.set_prepend_module_to_snapshot(false);
        let root = self.path().display().to_string();
        for variant in [
            root.replace('\\', "\\\\"),
            root.clone(),
            root.replace('\\', "/"),
            // A GitHub workflow command escapes the drive colon.
            root.replace(':', "%3A"),
        ] {
            s.add_filter(&regex_escape(&variant), "[ROOT]");
        }
        s.add_filter(r"\\\\\?\\", "");
        s.add_filter(r"\\\\", "/");
        s.add_filter(r"\\", "/");
        s.add_filter(r"condafix(\.exe)? \d+\.\d+\.\d+", "condafix [VERSION]");
        s.add_filter(
            r#""condafix_version": "[^"]+""#,
            r#""condafix_version": "[VERSION]""#,
        );
        s.add_filter(r#""commit": "[^"]+""#, r#""commit": "[COMMIT]""#);
        s.add_filter(r#""date": "\d{4}-\d{2}-\d{2}""#, r#""date": "[DATE]""#);
        s.add_filter(r#""target": "[^"]+""#, r#""target": "[TARGET]""#);
        // Every document names its machine and time (at the top level; nested hosts and
        // times are data).
        s.add_filter(r#"(?m)^  "host": "[^"]*""#, r#"  "host": "[HOST]""#);
        s.add_filter(
            r#"(?m)^  "time": "\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z""#,
            r#"  "time": "[TIME]""#,
        );
        s.add_filter(r"condafix\.exe", "condafix");
        s
    }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A finished run: exit code and both streams.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The largest resident set of any child waited for so far, in bytes (Linux: `getrusage`).
/// Only meaningful in a test binary whose only children are the runs being measured.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn children_peak_rss() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    assert_eq!(rc, 0);
    // SAFETY: initialised by the successful call above.
    let usage = unsafe { usage.assume_init() };
    usage.ru_maxrss as u64 * 1024
}

pub fn run(mut cmd: Command) -> Run {
    let out = cmd.output().unwrap();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    check_json_output(&cmd, &r.stdout);
    r
}

/// With `--json`, stdout is one document of the command's published schema (or nothing, when
/// condafix could not run).
pub fn check_json_output(cmd: &Command, stdout: &str) {
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if !args.iter().any(|a| a == "--json") || stdout.trim().is_empty() {
        return;
    }
    let Some(command) = args.first() else {
        return;
    };
    let doc: serde_json::Value = serde_json::from_str(stdout).unwrap_or_else(|e| {
        panic!("`{command} --json` printed more than one JSON document: {e}\n{stdout}")
    });
    schema::assert_valid(command, &doc);
}

/// Every file under `dir` with its bytes, `.condafix` included, links listed as links (never
/// followed): what must not change.
pub fn whole_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs_err::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            let rel = p
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let meta = fs_err::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                let target = fs_err::read_link(&p)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                out.insert(format!("{rel} -> link"), target.into_bytes());
            } else if meta.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                stack.push(p);
            } else {
                out.insert(rel, fs_err::read(&p).unwrap());
            }
        }
    }
    out
}

/// Every file under `dir` with its bytes (condafix's own state folder left out).
pub fn all_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name().unwrap() != ".condafix" {
                    stack.push(p);
                }
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, fs_err::read(&p).unwrap());
            }
        }
    }
    out
}

/// Compare two trees, naming the paths that differ.
pub fn assert_same_tree(
    a: &std::collections::BTreeMap<String, Vec<u8>>,
    b: &std::collections::BTreeMap<String, Vec<u8>>,
    what: &str,
) {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let differ: Vec<&&String> = keys.iter().filter(|k| a.get(**k) != b.get(**k)).collect();
    assert!(differ.is_empty(), "{what}: these paths differ: {differ:?}");
}
