//! Named install trees, each a real-world situation (DOMAIN.md section 1). Tests snapshot
//! `condafix detect` over each; `condafix demo` builds one to show the fix.

use std::path::{Path, PathBuf};

use crate::openssl::{OpenSsl, OpenSslLib};
use crate::pe::Arch;
use crate::python::Python;
use crate::tree::{lfs_pointer, FakeMachine, PrefixSpec, Tweak};

/// A built scenario: what to hand to `detect`.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub machine: FakeMachine,
    /// Prefixes to inspect, in order.
    pub prefixes: Vec<PathBuf>,
    /// The PATH an unactivated program gets (machine PATH, then user PATH).
    pub search_path: Vec<PathBuf>,
}

impl Scenario {
    /// `%SystemRoot%` of the fake machine.
    pub fn system_root(&self) -> PathBuf {
        self.machine.windows_dir()
    }
}

/// Every scenario: its name and a one-line description.
pub const ALL: &[(&str, &str)] = &[
    ("anaconda_2019_10_py37_unactivated", "Anaconda 2019.10 (Python 3.7, OpenSSL 1.1.1d) run without activation: the DLLs sit only in Library\\bin"),
    ("anaconda_2019_10_py37_activated", "the same install with its folders on PATH, as activation or \"Add to PATH\" leaves it"),
    ("miniconda_py38_before_default_mode_patch", "Miniconda with a Python 3.8 build from before the default-mode patch"),
    ("anaconda_2024_10_py312_default_mode", "Anaconda 2024.10 (Python 3.12, OpenSSL 3): the loader finds Library\\bin by itself"),
    ("stale_1_1_copies_after_openssl_3", "copies of the 1.1 DLLs in DLLs\\ from a manual fix, after openssl moved to 3"),
    ("foreign_dll_in_system32", "another program dropped a different libssl-1_1-x64.dll into System32"),
    ("github_runner_openssl_on_path", "a GitHub-runner-like C:\\Program Files\\OpenSSL\\bin on PATH ahead of the env"),
    ("library_bin_dll_is_git_lfs_pointer", "Library\\bin\\libcrypto-3-x64.dll is a 130-byte Git LFS pointer"),
    ("dll_32bit_in_64bit_install", "32-bit OpenSSL DLLs copied into a 64-bit install's DLLs\\"),
    ("python36_static_openssl", "Python 3.6 with OpenSSL linked into _ssl.pyd: no DLL needed"),
    ("non_ascii_user_folder", "an install under C:\\Users\\홍 길동\\anaconda3"),
    ("env_openssl_differs_from_base", "a base on OpenSSL 3 and an env under envs\\ on OpenSSL 1.1"),
];

/// Build scenario `name` under `root`. Panics on an unknown name (a test bug).
pub fn build(name: &str, root: &Path) -> Scenario {
    let m = FakeMachine::new(root);
    let (name, prefixes, search_path) = match name {
        "anaconda_2019_10_py37_unactivated" => {
            let p = m.install("C:\\Users\\me\\anaconda3", &anaconda_2019_10());
            (
                "anaconda_2019_10_py37_unactivated",
                vec![p],
                system_path(&m),
            )
        }
        "anaconda_2019_10_py37_activated" => {
            let p = m.install("C:\\Users\\me\\anaconda3", &anaconda_2019_10());
            let mut path = system_path(&m);
            path.extend(add_to_path_dirs(&p));
            ("anaconda_2019_10_py37_activated", vec![p], path)
        }
        "miniconda_py38_before_default_mode_patch" => {
            let ssl = OpenSsl::new("1.1.1n", "h2bbff1b_0");
            let py = Python::new("3.8.13", "h6244533_0", "pkgs/main")
                .built_at(1_648_000_000_000)
                .linked_to(&ssl);
            let p = m.install(
                "C:\\Users\\me\\miniconda3",
                &PrefixSpec::new(py, Some(ssl)).base(),
            );
            (
                "miniconda_py38_before_default_mode_patch",
                vec![p],
                system_path(&m),
            )
        }
        "anaconda_2024_10_py312_default_mode" => {
            let p = m.install("C:\\Users\\me\\anaconda3", &anaconda_2024_10());
            (
                "anaconda_2024_10_py312_default_mode",
                vec![p],
                system_path(&m),
            )
        }
        "stale_1_1_copies_after_openssl_3" => {
            let ssl3 = OpenSsl::new("3.0.0", "h8ffe710_0");
            let py = Python::new("3.9.7", "h7840368_3_cpython", "conda-forge")
                .built_at(1_631_500_000_000)
                .linked_to(&ssl3);
            let spec = PrefixSpec::new(py, Some(ssl3))
                .base()
                .tweak(Tweak::OpenSslCopies {
                    dir: "DLLs".into(),
                    openssl: OpenSsl::new("1.1.1k", "h8ffe710_0"),
                });
            let p = m.install("C:\\Users\\me\\miniforge3", &spec);
            ("stale_1_1_copies_after_openssl_3", vec![p], system_path(&m))
        }
        "foreign_dll_in_system32" => {
            m.put_openssl(
                "C:\\Windows\\System32",
                &OpenSsl::new("1.1.1a", "vendor").vendor("another program"),
            );
            let p = m.install("C:\\Users\\me\\anaconda3", &anaconda_2019_10());
            let mut path = system_path(&m);
            path.extend(add_to_path_dirs(&p));
            ("foreign_dll_in_system32", vec![p], path)
        }
        "github_runner_openssl_on_path" => {
            let runner_ssl = m.put_openssl(
                "C:\\Program Files\\OpenSSL\\bin",
                &OpenSsl::new("3.1.4", "runner").vendor("OpenSSL installer"),
            );
            m.install("C:\\Miniconda", &anaconda_2024_10());
            let ssl3 = OpenSsl::new("3.0.0", "h8ffe710_0");
            let py = Python::new("3.9.7", "h7840368_3_cpython", "conda-forge")
                .built_at(1_631_500_000_000)
                .linked_to(&ssl3);
            let env = m.install(
                "C:\\Miniconda\\envs\\legacy",
                &PrefixSpec::new(py, Some(ssl3)),
            );
            let mut path = system_path(&m);
            path.push(runner_ssl);
            path.extend(add_to_path_dirs(&env));
            ("github_runner_openssl_on_path", vec![env], path)
        }
        "library_bin_dll_is_git_lfs_pointer" => {
            let spec = anaconda_2024_10();
            let ssl = spec.openssl.clone().expect("openssl");
            let real = ssl.dll_bytes(OpenSslLib::Crypto);
            let spec = spec.tweak(Tweak::Replace {
                rel: format!("Library/bin/{}", ssl.crypto_name()),
                bytes: lfs_pointer(&real),
            });
            let p = m.install("C:\\Users\\me\\anaconda3", &spec);
            (
                "library_bin_dll_is_git_lfs_pointer",
                vec![p],
                system_path(&m),
            )
        }
        "dll_32bit_in_64bit_install" => {
            let spec = anaconda_2019_10();
            let ssl = spec.openssl.clone().expect("openssl");
            let mut x86 = ssl.clone().arch(Arch::X86);
            x86.vendor = "32-bit Anaconda".into();
            let mut spec = spec;
            for lib in [OpenSslLib::Ssl, OpenSslLib::Crypto] {
                spec = spec.tweak(Tweak::Replace {
                    rel: format!("DLLs/{}", ssl.dll_name(lib)),
                    bytes: x86.dll_bytes(lib),
                });
            }
            let p = m.install("C:\\Users\\me\\anaconda3", &spec);
            ("dll_32bit_in_64bit_install", vec![p], system_path(&m))
        }
        "python36_static_openssl" => {
            let py = Python::new("3.6.8", "h9f7ef89_7", "pkgs/main").static_openssl();
            let p = m.install(
                "C:\\Users\\me\\anaconda3",
                &PrefixSpec::new(py, None).base(),
            );
            ("python36_static_openssl", vec![p], system_path(&m))
        }
        "non_ascii_user_folder" => {
            let p = m.install("C:\\Users\\홍 길동\\anaconda3", &anaconda_2019_10());
            ("non_ascii_user_folder", vec![p], system_path(&m))
        }
        "env_openssl_differs_from_base" => {
            let base = m.install("C:\\Users\\me\\anaconda3", &anaconda_2024_10());
            let ssl = OpenSsl::new("1.1.1w", "h2bbff1b_0");
            let py = Python::new("3.7.16", "h6244533_0", "pkgs/main")
                .built_at(1_670_000_000_000)
                .linked_to(&ssl);
            let env = m.install(
                "C:\\Users\\me\\anaconda3\\envs\\py37",
                &PrefixSpec::new(py, Some(ssl)),
            );
            (
                "env_openssl_differs_from_base",
                vec![base, env],
                system_path(&m),
            )
        }
        other => panic!("unknown scenario {other}"),
    };
    Scenario {
        name,
        machine: m,
        prefixes,
        search_path,
    }
}

/// Anaconda3 2019.10: Python 3.7.4, OpenSSL 1.1.1d, JustMe.
pub fn anaconda_2019_10() -> PrefixSpec {
    let ssl = OpenSsl::new("1.1.1d", "he774522_2");
    let py = Python::new("3.7.4", "h5263a28_0", "pkgs/main")
        .built_at(1_565_000_000_000)
        .linked_to(&ssl);
    PrefixSpec::new(py, Some(ssl)).base()
}

/// Anaconda3 2024.10: Python 3.12.7 with the default-mode patch, OpenSSL 3.0.15.
pub fn anaconda_2024_10() -> PrefixSpec {
    let ssl = OpenSsl::new("3.0.15", "h827c3e9_0");
    let py = Python::new("3.12.7", "h14ffc60_0", "pkgs/main")
        .built_at(1_728_000_000_000)
        .linked_to(&ssl);
    PrefixSpec::new(py, Some(ssl)).base()
}

/// The machine PATH every Windows has.
pub fn system_path(m: &FakeMachine) -> Vec<PathBuf> {
    vec![m.system32(), m.windows_dir(), m.system32().join("Wbem")]
}

/// What Anaconda's "Add to PATH" (and activation) put on PATH, in order.
pub fn add_to_path_dirs(prefix: &Path) -> Vec<PathBuf> {
    let mut v = vec![prefix.to_path_buf()];
    for d in [
        "Library/mingw-w64/bin",
        "Library/usr/bin",
        "Library/bin",
        "Scripts",
    ] {
        let mut p = prefix.to_path_buf();
        for part in d.split('/') {
            p.push(part);
        }
        v.push(p);
    }
    v
}
