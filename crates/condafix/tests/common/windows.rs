//! Helpers for the tests that run only on Windows (under Wine in the Windows lane, and on
//! windows-latest): the loader fixtures and the fake interpreter.
#![cfg(windows)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use condafix_fixtures::loader::{LoaderFixtures, ENV_LOADER_FIXTURES};

/// What the fake interpreter printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Real {
    Loaded { libssl: String },
    ModuleNotFound,
    ProcedureNotFound,
    BadImage,
    Other(String),
}

/// A path compared the Windows way.
pub fn key(p: &str) -> String {
    p.replace('/', "\\").to_lowercase()
}

pub fn system_root() -> PathBuf {
    PathBuf::from(std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\windows".into()))
}

/// Wine's loader resolves an import the DLL does not export to a stub that faults when called,
/// instead of failing the load with ERROR_PROC_NOT_FOUND as Windows does.
pub fn is_wine() -> bool {
    system_root().join("system32").join("winecfg.exe").is_file()
}

/// System32 and the Windows folder: the PATH of a bare unactivated launch.
pub fn base_path() -> Vec<PathBuf> {
    let sr = system_root();
    vec![sr.join("system32"), sr.clone()]
}

/// The folders activation puts first on PATH.
pub fn activation(prefix: &Path) -> Vec<PathBuf> {
    let mut v = vec![prefix.to_path_buf()];
    for d in [
        "Library\\mingw-w64\\bin",
        "Library\\usr\\bin",
        "Library\\bin",
        "Scripts",
        "bin",
    ] {
        v.push(prefix.join(d));
    }
    v
}

fn windows_path(p: PathBuf) -> PathBuf {
    // A Unix path handed in by the lane script is on Wine's Z: drive.
    let s = p.display().to_string();
    if s.starts_with('/') {
        PathBuf::from(format!("Z:{}", s.replace('/', "\\")))
    } else {
        p
    }
}

/// The loader fixtures, or `None` (with a note) where they were not built; a failure where
/// CONDAFIX_REQUIRE_LOADER_FIXTURES says they must be there.
pub fn fixtures() -> Option<LoaderFixtures> {
    let dir = std::env::var_os(ENV_LOADER_FIXTURES).map(PathBuf::from);
    match dir.map(windows_path).map(LoaderFixtures::new) {
        Some(f)
            if f.recorded_dlls()
                .join(condafix_fixtures::loader::LIBSSL)
                .is_file() =>
        {
            Some(f)
        }
        _ if std::env::var_os("CONDAFIX_REQUIRE_LOADER_FIXTURES").is_some() => {
            panic!("CONDAFIX_LOADER_FIXTURES does not point at built loader fixtures")
        }
        _ => {
            eprintln!("did not run: build the fixtures with windows/loader-fixtures/build.sh and set CONDAFIX_LOADER_FIXTURES");
            None
        }
    }
}

/// Run the prefix's fake `python.exe` with this PATH, from outside the prefix.
pub fn run_python(prefix: &Path, path: &[PathBuf]) -> Real {
    let joined = std::env::join_paths(path).unwrap();
    let out = Command::new(prefix.join("python.exe"))
        .env("PATH", &joined)
        .env_remove("CONDA_DLL_SEARCH_MODIFICATION_ENABLE")
        .current_dir(system_root())
        .output()
        .expect("run fake python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or("")
        .to_string();
    if let Some(rest) = line.strip_prefix("RESULT ok ") {
        let libssl = rest.split('|').next().unwrap_or("").to_string();
        return Real::Loaded {
            libssl: key(&libssl),
        };
    }
    match line.strip_prefix("RESULT error ").map(str::trim) {
        Some("126") => Real::ModuleNotFound,
        Some("127") => Real::ProcedureNotFound,
        Some("193") => Real::BadImage,
        _ => Real::Other(format!(
            "{stdout} / {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// `condafix <args> --prefix P --system-root <SystemRoot> --search-path <path>`.
pub fn condafix(args: &[&str], prefix: &Path, path: &[PathBuf]) -> std::process::Output {
    let joined: Vec<String> = path.iter().map(|p| p.display().to_string()).collect();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_condafix"));
    // The machine's own TLS variables (the lane inherits them from the Linux host) are not the
    // subject of these tests.
    for v in [
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "PIP_CERT",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "PIP_FIND_LINKS",
        "PIP_CONFIG_FILE",
    ] {
        cmd.env_remove(v);
    }
    // Wine (and an elevated CI runner) runs with an administrator's elevated token, and the
    // test prefixes are the user's: verify would (rightly) refuse to run them (V042). These
    // tests are about the interpreter's answer; windows_post_install has the elevated case.
    if std::env::var_os("CONDAFIX_ASSUME_ELEVATED").is_none() {
        cmd.env("CONDAFIX_ASSUME_ELEVATED", "0");
    }
    cmd.args(args)
        .arg("--prefix")
        .arg(prefix)
        .arg("--system-root")
        .arg(system_root())
        .arg("--search-path")
        .arg(joined.join(";"))
        .output()
        .expect("run condafix")
}

/// Restores `HKCU\Environment\<name>` exactly (bytes and type), or deletes it if it was absent,
/// even when the test panics.
pub struct EnvValueGuard {
    name: String,
    saved: Option<winreg::RegValue>,
}

impl EnvValueGuard {
    pub fn save(name: &str) -> Self {
        let env = winreg::RegKey::predef(winreg::enums::HKEY_CURRENT_USER)
            .open_subkey("Environment")
            .unwrap();
        Self {
            name: name.to_string(),
            saved: env.get_raw_value(name).ok(),
        }
    }
}

impl Drop for EnvValueGuard {
    fn drop(&mut self) {
        let env = winreg::RegKey::predef(winreg::enums::HKEY_CURRENT_USER)
            .open_subkey_with_flags("Environment", winreg::enums::KEY_ALL_ACCESS)
            .unwrap();
        match &self.saved {
            Some(v) => env.set_raw_value(&self.name, v).unwrap(),
            None => {
                let _ = env.delete_value(&self.name);
            }
        }
    }
}

/// The registry may be changed: under Wine (a scratch registry), or where CI opted in.
pub fn registry_tests_allowed() -> bool {
    is_wine() || std::env::var_os("CONDAFIX_TEST_REAL_REGISTRY").is_some()
}

/// `HKCU\Environment\<name>` as stored: type and bytes.
pub fn raw_user_env(name: &str) -> Option<winreg::RegValue> {
    winreg::RegKey::predef(winreg::enums::HKEY_CURRENT_USER)
        .open_subkey("Environment")
        .ok()?
        .get_raw_value(name)
        .ok()
}
