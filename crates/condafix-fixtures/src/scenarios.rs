//! Named install trees, each a real-world situation (docs/loader-model.md). Tests snapshot
//! `condafix detect` over each; `condafix demo` builds one to show the fix.

use std::path::{Path, PathBuf};

use crate::openssl::{OpenSsl, OpenSslLib};
use crate::pe::Arch;
use crate::python::{Patch, Python};
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
    /// `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` in the user's environment, when set.
    pub dll_search_modification: Option<String>,
}

impl Scenario {
    /// `%SystemRoot%` of the fake machine.
    pub fn system_root(&self) -> PathBuf {
        self.machine.windows_dir()
    }
}

/// A named scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScenarioName {
    /// Anaconda 2019.10 (Python 3.7, OpenSSL 1.1.1d) run without activation: the DLLs sit only in Library\bin
    Anaconda201910Py37Unactivated,
    /// the same install with its folders on PATH, as activation or \"Add to PATH\" leaves it
    Anaconda201910Py37Activated,
    /// Miniconda with a Python 3.8 build from before the default-mode patch
    MinicondaPy38BeforeDefaultModePatch,
    /// Anaconda 2024.10 (Python 3.12, OpenSSL 3): the loader finds Library\bin by itself
    Anaconda202410Py312DefaultMode,
    /// copies of the 1.1 DLLs in DLLs\ from a manual fix, after openssl moved to 3
    Stale11CopiesAfterOpenssl3,
    /// another program dropped a different libssl-1_1-x64.dll into System32
    ForeignDllInSystem32,
    /// a GitHub-runner-like C:\Program Files\OpenSSL\bin on PATH ahead of the env
    GithubRunnerOpensslOnPath,
    /// Library\bin\libcrypto-3-x64.dll is a 130-byte Git LFS pointer
    LibraryBinDllIsGitLfsPointer,
    /// 32-bit OpenSSL DLLs copied into a 64-bit install's DLLs\
    Dll32bitIn64bitInstall,
    /// Python 3.6 with OpenSSL linked into _ssl.pyd: no DLL needed
    Python36StaticOpenssl,
    /// an install under C:\Users\홍 길동\anaconda3
    NonAsciiUserFolder,
    /// a base on OpenSSL 3 and an env under envs\ on OpenSSL 1.1
    EnvOpensslDiffersFromBase,
    /// defaults Python 3.10.6: default mode since 3.10.0, healthy without activation or staging
    Defaults310DefaultMode,
    /// conda-forge 3.9.7 rebuilt in December 2021: still the altered search path (no date rule)
    CondaForge397RebuiltAfterFix,
    /// defaults 3.8.15 build 0 (altered search path) next to an env with build 1 (default mode)
    Defaults3815Build0AndBuild1,
    /// defaults Python 3.8.0: the variant of default mode (the folders without the switch)
    Defaults380Variant,
    /// conda-forge Python 3.7: no conda patch, upstream 3.7 needs PATH
    CondaForge37Upstream,
    /// python39.dll is a Git LFS pointer: the era comes from the record's table
    PythonDllUnreadable,
    /// a record that says default mode on a python39.dll that carries the altered-search-path patch
    BinaryDisagreesWithRecord,
    /// an altered-search-path build with CONDA_DLL_SEARCH_MODIFICATION_ENABLE=1 for the user
    EnableVarOnAlteredSearchPathBuild,
    /// a venv made from Anaconda 2024.10's Python
    VenvOfDefaultModeBase,
    /// a venv made from defaults Python 3.10.2, whose patch finds the conda folders from the exe
    VenvOfEarlyDefaultModeBase,
    /// 32-bit Python on 64-bit Windows: SysWOW64 holds a foreign 32-bit libssl
    Python32BitOnWow64,
    /// conda-forge free-threaded Python 3.13: python313t.dll and _ssl.cp313t-win_amd64.pyd
    FreeThreaded313,
    /// defaults Python 3.7.0 build 0, which ships its own OpenSSL DLLs in DLLs\
    Defaults370ShipsOpenssl,
    /// the manual fix done right: conda's exact libssl/libcrypto copied into DLLs\ by hand
    ManualFixWithCondasBytes,
}

impl ScenarioName {
    /// The snake-case name (snapshot names, `condafix demo`).
    pub fn name(self) -> &'static str {
        match self {
            ScenarioName::Anaconda201910Py37Unactivated => "anaconda_2019_10_py37_unactivated",
            ScenarioName::Anaconda201910Py37Activated => "anaconda_2019_10_py37_activated",
            ScenarioName::MinicondaPy38BeforeDefaultModePatch => {
                "miniconda_py38_before_default_mode_patch"
            }
            ScenarioName::Anaconda202410Py312DefaultMode => "anaconda_2024_10_py312_default_mode",
            ScenarioName::Stale11CopiesAfterOpenssl3 => "stale_1_1_copies_after_openssl_3",
            ScenarioName::ForeignDllInSystem32 => "foreign_dll_in_system32",
            ScenarioName::GithubRunnerOpensslOnPath => "github_runner_openssl_on_path",
            ScenarioName::LibraryBinDllIsGitLfsPointer => "library_bin_dll_is_git_lfs_pointer",
            ScenarioName::Dll32bitIn64bitInstall => "dll_32bit_in_64bit_install",
            ScenarioName::Python36StaticOpenssl => "python36_static_openssl",
            ScenarioName::NonAsciiUserFolder => "non_ascii_user_folder",
            ScenarioName::EnvOpensslDiffersFromBase => "env_openssl_differs_from_base",
            ScenarioName::Defaults310DefaultMode => "defaults_310_default_mode",
            ScenarioName::CondaForge397RebuiltAfterFix => "conda_forge_397_rebuilt_after_fix",
            ScenarioName::Defaults3815Build0AndBuild1 => "defaults_3815_build0_and_build1",
            ScenarioName::Defaults380Variant => "defaults_380_variant",
            ScenarioName::CondaForge37Upstream => "conda_forge_37_upstream",
            ScenarioName::PythonDllUnreadable => "python_dll_unreadable",
            ScenarioName::BinaryDisagreesWithRecord => "binary_disagrees_with_record",
            ScenarioName::EnableVarOnAlteredSearchPathBuild => {
                "enable_var_on_altered_search_path_build"
            }
            ScenarioName::VenvOfDefaultModeBase => "venv_of_default_mode_base",
            ScenarioName::VenvOfEarlyDefaultModeBase => "venv_of_early_default_mode_base",
            ScenarioName::Python32BitOnWow64 => "python_32bit_on_wow64",
            ScenarioName::FreeThreaded313 => "free_threaded_313",
            ScenarioName::Defaults370ShipsOpenssl => "defaults_370_ships_openssl",
            ScenarioName::ManualFixWithCondasBytes => "manual_fix_with_condas_bytes",
        }
    }

    /// The scenario of a snake-case name.
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.iter().copied().find(|s| s.name() == name)
    }

    /// One line saying what the scenario is.
    pub fn describe(self) -> &'static str {
        match self {
            ScenarioName::Anaconda201910Py37Unactivated => "Anaconda 2019.10 (Python 3.7, OpenSSL 1.1.1d) run without activation: the DLLs sit only in Library\\bin",
            ScenarioName::Anaconda201910Py37Activated => "the same install with its folders on PATH, as activation or \"Add to PATH\" leaves it",
            ScenarioName::MinicondaPy38BeforeDefaultModePatch => "Miniconda with a Python 3.8 build from before the default-mode patch",
            ScenarioName::Anaconda202410Py312DefaultMode => "Anaconda 2024.10 (Python 3.12, OpenSSL 3): the loader finds Library\\bin by itself",
            ScenarioName::Stale11CopiesAfterOpenssl3 => "copies of the 1.1 DLLs in DLLs\\ from a manual fix, after openssl moved to 3",
            ScenarioName::ForeignDllInSystem32 => "another program dropped a different libssl-1_1-x64.dll into System32",
            ScenarioName::GithubRunnerOpensslOnPath => "a GitHub-runner-like C:\\Program Files\\OpenSSL\\bin on PATH ahead of the env",
            ScenarioName::LibraryBinDllIsGitLfsPointer => "Library\\bin\\libcrypto-3-x64.dll is a 130-byte Git LFS pointer",
            ScenarioName::Dll32bitIn64bitInstall => "32-bit OpenSSL DLLs copied into a 64-bit install's DLLs\\",
            ScenarioName::Python36StaticOpenssl => "Python 3.6 with OpenSSL linked into _ssl.pyd: no DLL needed",
            ScenarioName::NonAsciiUserFolder => "an install under C:\\Users\\홍 길동\\anaconda3",
            ScenarioName::EnvOpensslDiffersFromBase => "a base on OpenSSL 3 and an env under envs\\ on OpenSSL 1.1",
            ScenarioName::Defaults310DefaultMode => "defaults Python 3.10.6: default mode since 3.10.0, healthy without activation or staging",
            ScenarioName::CondaForge397RebuiltAfterFix => "conda-forge 3.9.7 rebuilt in December 2021: still the altered search path (no date rule)",
            ScenarioName::Defaults3815Build0AndBuild1 => "defaults 3.8.15 build 0 (altered search path) next to an env with build 1 (default mode)",
            ScenarioName::Defaults380Variant => "defaults Python 3.8.0: the variant of default mode (the folders without the switch)",
            ScenarioName::CondaForge37Upstream => "conda-forge Python 3.7: no conda patch, upstream 3.7 needs PATH",
            ScenarioName::PythonDllUnreadable => "python39.dll is a Git LFS pointer: the era comes from the record's table",
            ScenarioName::BinaryDisagreesWithRecord => "a record that says default mode on a python39.dll that carries the altered-search-path patch",
            ScenarioName::EnableVarOnAlteredSearchPathBuild => "an altered-search-path build with CONDA_DLL_SEARCH_MODIFICATION_ENABLE=1 for the user",
            ScenarioName::VenvOfDefaultModeBase => "a venv made from Anaconda 2024.10's Python",
            ScenarioName::VenvOfEarlyDefaultModeBase => "a venv made from defaults Python 3.10.2, whose patch finds the conda folders from the exe",
            ScenarioName::Python32BitOnWow64 => "32-bit Python on 64-bit Windows: SysWOW64 holds a foreign 32-bit libssl",
            ScenarioName::FreeThreaded313 => "conda-forge free-threaded Python 3.13: python313t.dll and _ssl.cp313t-win_amd64.pyd",
            ScenarioName::Defaults370ShipsOpenssl => "defaults Python 3.7.0 build 0, which ships its own OpenSSL DLLs in DLLs\\",
            ScenarioName::ManualFixWithCondasBytes => "the manual fix done right: conda's exact libssl/libcrypto copied into DLLs\\ by hand",
        }
    }
}

/// Every scenario.
pub const ALL: &[ScenarioName] = &[
    ScenarioName::Anaconda201910Py37Unactivated,
    ScenarioName::Anaconda201910Py37Activated,
    ScenarioName::MinicondaPy38BeforeDefaultModePatch,
    ScenarioName::Anaconda202410Py312DefaultMode,
    ScenarioName::Stale11CopiesAfterOpenssl3,
    ScenarioName::ForeignDllInSystem32,
    ScenarioName::GithubRunnerOpensslOnPath,
    ScenarioName::LibraryBinDllIsGitLfsPointer,
    ScenarioName::Dll32bitIn64bitInstall,
    ScenarioName::Python36StaticOpenssl,
    ScenarioName::NonAsciiUserFolder,
    ScenarioName::EnvOpensslDiffersFromBase,
    ScenarioName::Defaults310DefaultMode,
    ScenarioName::CondaForge397RebuiltAfterFix,
    ScenarioName::Defaults3815Build0AndBuild1,
    ScenarioName::Defaults380Variant,
    ScenarioName::CondaForge37Upstream,
    ScenarioName::PythonDllUnreadable,
    ScenarioName::BinaryDisagreesWithRecord,
    ScenarioName::EnableVarOnAlteredSearchPathBuild,
    ScenarioName::VenvOfDefaultModeBase,
    ScenarioName::VenvOfEarlyDefaultModeBase,
    ScenarioName::Python32BitOnWow64,
    ScenarioName::FreeThreaded313,
    ScenarioName::Defaults370ShipsOpenssl,
    ScenarioName::ManualFixWithCondasBytes,
];

/// Build scenario `name` under `root`.
pub fn build(name: ScenarioName, root: &Path) -> Scenario {
    let m = FakeMachine::new(root);
    let mut enable = None;
    let (prefixes, search_path) = match name {
        ScenarioName::Anaconda201910Py37Unactivated => {
            let p = m.install("C:\\Users\\me\\anaconda3", &anaconda_2019_10());
            (vec![p], system_path(&m))
        }
        ScenarioName::Anaconda201910Py37Activated => {
            let p = m.install("C:\\Users\\me\\anaconda3", &anaconda_2019_10());
            let mut path = system_path(&m);
            path.extend(add_to_path_dirs(&p));
            (vec![p], path)
        }
        ScenarioName::MinicondaPy38BeforeDefaultModePatch => {
            let ssl = OpenSsl::new("1.1.1n", "h2bbff1b_0");
            let py = Python::new("3.8.13", "h6244533_0", "pkgs/main")
                .built_at(1_648_000_000_000)
                .patch(Patch::AlteredSearchPath)
                .linked_to(&ssl);
            let p = m.install(
                "C:\\Users\\me\\miniconda3",
                &PrefixSpec::new(py, Some(ssl)).base(),
            );
            (vec![p], system_path(&m))
        }
        ScenarioName::Anaconda202410Py312DefaultMode => {
            let p = m.install("C:\\Users\\me\\anaconda3", &anaconda_2024_10());
            (vec![p], system_path(&m))
        }
        ScenarioName::Stale11CopiesAfterOpenssl3 => {
            let ssl3 = OpenSsl::new("3.0.0", "h8ffe710_0");
            let py = Python::new("3.9.7", "h7840368_3_cpython", "conda-forge")
                .built_at(1_631_500_000_000)
                .patch(Patch::AlteredSearchPath)
                .linked_to(&ssl3);
            let spec = PrefixSpec::new(py, Some(ssl3))
                .base()
                .tweak(Tweak::OpenSslCopies {
                    dir: "DLLs".into(),
                    openssl: OpenSsl::new("1.1.1k", "h8ffe710_0"),
                });
            let p = m.install("C:\\Users\\me\\miniforge3", &spec);
            (vec![p], system_path(&m))
        }
        ScenarioName::ForeignDllInSystem32 => {
            m.put_openssl(
                "C:\\Windows\\System32",
                &OpenSsl::new("1.1.1a", "vendor").vendor("another program"),
            );
            let p = m.install("C:\\Users\\me\\anaconda3", &anaconda_2019_10());
            let mut path = system_path(&m);
            path.extend(add_to_path_dirs(&p));
            (vec![p], path)
        }
        ScenarioName::GithubRunnerOpensslOnPath => {
            let runner_ssl = m.put_openssl(
                "C:\\Program Files\\OpenSSL\\bin",
                &OpenSsl::new("3.1.4", "runner").vendor("OpenSSL installer"),
            );
            m.install("C:\\Miniconda", &anaconda_2024_10());
            let ssl3 = OpenSsl::new("3.0.0", "h8ffe710_0");
            let py = Python::new("3.9.7", "h7840368_3_cpython", "conda-forge")
                .built_at(1_631_500_000_000)
                .patch(Patch::AlteredSearchPath)
                .linked_to(&ssl3);
            let env = m.install(
                "C:\\Miniconda\\envs\\legacy",
                &PrefixSpec::new(py, Some(ssl3)),
            );
            let mut path = system_path(&m);
            path.push(runner_ssl);
            path.extend(add_to_path_dirs(&env));
            (vec![env], path)
        }
        ScenarioName::LibraryBinDllIsGitLfsPointer => {
            let spec = anaconda_2024_10();
            let ssl = spec.openssl.clone().expect("openssl");
            let real = ssl.dll_bytes(OpenSslLib::Crypto);
            let spec = spec.tweak(Tweak::Replace {
                rel: format!("Library/bin/{}", ssl.crypto_name()),
                bytes: lfs_pointer(&real),
            });
            let p = m.install("C:\\Users\\me\\anaconda3", &spec);
            (vec![p], system_path(&m))
        }
        ScenarioName::Dll32bitIn64bitInstall => {
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
            (vec![p], system_path(&m))
        }
        ScenarioName::Python36StaticOpenssl => {
            let py = Python::new("3.6.8", "h9f7ef89_7", "pkgs/main")
                .patch(Patch::AlteredSearchPath)
                .static_openssl();
            let p = m.install(
                "C:\\Users\\me\\anaconda3",
                &PrefixSpec::new(py, None).base(),
            );
            (vec![p], system_path(&m))
        }
        ScenarioName::NonAsciiUserFolder => {
            let p = m.install("C:\\Users\\홍 길동\\anaconda3", &anaconda_2019_10());
            (vec![p], system_path(&m))
        }
        ScenarioName::EnvOpensslDiffersFromBase => {
            let base = m.install("C:\\Users\\me\\anaconda3", &anaconda_2024_10());
            let ssl = OpenSsl::new("1.1.1w", "h2bbff1b_0");
            let py = Python::new("3.7.16", "h6244533_0", "pkgs/main")
                .built_at(1_670_000_000_000)
                .patch(Patch::AlteredSearchPath)
                .linked_to(&ssl);
            let env = m.install(
                "C:\\Users\\me\\anaconda3\\envs\\py37",
                &PrefixSpec::new(py, Some(ssl)),
            );
            (vec![base, env], system_path(&m))
        }
        ScenarioName::Defaults310DefaultMode => {
            let p = m.install(
                "C:\\Users\\me\\miniconda3",
                &defaults_base("3.10.6", "h966fe2a_1", Patch::DefaultModeWithSwitch),
            );
            (vec![p], system_path(&m))
        }
        ScenarioName::CondaForge397RebuiltAfterFix => {
            let mut spec = conda_forge_base(
                "3.9.7",
                "h7840368_3_cpython",
                OpenSsl::new("3.0.0", "h8ffe710_2"),
                Patch::AlteredSearchPath,
            );
            spec.python = spec.python.map(|p| p.built_at(1_639_000_000_000));
            let p = m.install("C:\\Users\\me\\miniforge3", &spec);
            (vec![p], system_path(&m))
        }
        ScenarioName::Defaults3815Build0AndBuild1 => {
            let base = m.install(
                "C:\\Users\\me\\miniconda3",
                &defaults_base("3.8.15", "h6244533_0", Patch::AlteredSearchPath),
            );
            let mut env = defaults_base("3.8.15", "h6244533_1", Patch::DefaultModeWithSwitch);
            env.base = false;
            let env = m.install("C:\\Users\\me\\miniconda3\\envs\\py38", &env);
            (vec![base, env], system_path(&m))
        }
        ScenarioName::Defaults380Variant => {
            let p = m.install(
                "C:\\Users\\me\\miniconda3",
                &defaults_base("3.8.0", "hff0d562_2", Patch::Variant380),
            );
            (vec![p], system_path(&m))
        }
        ScenarioName::CondaForge37Upstream => {
            let spec = conda_forge_base(
                "3.7.12",
                "h7840368_100_cpython",
                OpenSsl::new("1.1.1q", "h8ffe710_0"),
                Patch::None,
            );
            let p = m.install("C:\\Users\\me\\miniforge3", &spec);
            (vec![p], system_path(&m))
        }
        ScenarioName::PythonDllUnreadable => {
            let spec = defaults_base("3.9.12", "h6244533_0", Patch::AlteredSearchPath);
            let py = spec.python.clone().expect("python");
            let spec = spec.tweak(Tweak::Replace {
                rel: py.dll_name(),
                bytes: lfs_pointer(&py.dll_bytes()),
            });
            let p = m.install("C:\\Users\\me\\miniconda3", &spec);
            (vec![p], system_path(&m))
        }
        ScenarioName::BinaryDisagreesWithRecord => {
            let spec = conda_forge_base(
                "3.9.9",
                "h9a09f29_0_cpython",
                OpenSsl::new("3.0.2", "h8ffe710_1"),
                Patch::AlteredSearchPath,
            );
            let p = m.install("C:\\Users\\me\\miniforge3", &spec);
            (vec![p], system_path(&m))
        }
        ScenarioName::EnableVarOnAlteredSearchPathBuild => {
            let p = m.install(
                "C:\\Users\\me\\miniconda3",
                &defaults_base("3.8.13", "h6244533_0", Patch::AlteredSearchPath),
            );
            enable = Some("1".to_string());
            (vec![p], system_path(&m))
        }
        ScenarioName::VenvOfDefaultModeBase => {
            let spec = anaconda_2024_10();
            let py = spec.python.clone().expect("python");
            let base = m.install("C:\\Users\\me\\anaconda3", &spec);
            let venv = m.venv("C:\\Users\\me\\projects\\app\\.venv", &base, &py);
            (vec![venv], system_path(&m))
        }
        ScenarioName::VenvOfEarlyDefaultModeBase => {
            let spec = defaults_base("3.10.2", "hbb2ffb3_0", Patch::DefaultModeWithSwitch);
            let py = spec.python.clone().expect("python");
            let base = m.install("C:\\Users\\me\\miniconda3", &spec);
            let venv = m.venv("C:\\Users\\me\\projects\\app\\.venv", &base, &py);
            (vec![base, venv], system_path(&m))
        }
        ScenarioName::Python32BitOnWow64 => {
            m.put_openssl(
                "C:\\Windows\\SysWOW64",
                &OpenSsl::new("1.1.1a", "vendor")
                    .arch(Arch::X86)
                    .vendor("another program"),
            );
            let ssl = OpenSsl::new("1.1.1n", "h2bbff1b_0").arch(Arch::X86);
            let py = Python::new("3.8.13", "h6244533_0", "pkgs/main")
                .arch(Arch::X86)
                .patch(Patch::AlteredSearchPath)
                .linked_to(&ssl);
            let p = m.install(
                "C:\\Users\\me\\miniconda3-x86",
                &PrefixSpec::new(py, Some(ssl)).base(),
            );
            let mut path = system_path(&m);
            path.extend(add_to_path_dirs(&p));
            (vec![p], path)
        }
        ScenarioName::FreeThreaded313 => {
            let mut spec = conda_forge_base(
                "3.13.1",
                "h071d269_102_cp313t",
                OpenSsl::new("3.4.0", "h2466b09_0"),
                Patch::DefaultMode,
            );
            spec.python = spec.python.map(Python::free_threaded);
            let p = m.install("C:\\Users\\me\\miniforge3", &spec);
            (vec![p], system_path(&m))
        }
        ScenarioName::ManualFixWithCondasBytes => {
            let spec = anaconda_2019_10();
            let ssl = spec.openssl.clone().expect("openssl");
            let spec = spec.tweak(Tweak::OpenSslCopies {
                dir: "DLLs".into(),
                openssl: ssl,
            });
            let p = m.install("C:\\Users\\me\\anaconda3", &spec);
            (vec![p], system_path(&m))
        }
        ScenarioName::Defaults370ShipsOpenssl => {
            let ssl = OpenSsl::new("1.1.1a", "he774522_0");
            let mut spec = defaults_base("3.7.0", "hea74fb7_0", Patch::AlteredSearchPath);
            spec.python = spec.python.map(|p| p.linked_to(&ssl));
            spec.openssl = Some(ssl.clone());
            spec.python_ships_openssl = Some(ssl);
            let p = m.install("C:\\Users\\me\\anaconda3", &spec);
            (vec![p], system_path(&m))
        }
    };
    Scenario {
        name: name.name(),
        machine: m,
        prefixes,
        search_path,
        dll_search_modification: enable,
    }
}

/// A conda-forge base with this Python (the patch its real build carries) on this OpenSSL.
pub fn conda_forge_base(version: &str, build: &str, ssl: OpenSsl, patch: Patch) -> PrefixSpec {
    let py = Python::new(version, build, "conda-forge")
        .patch(patch)
        .linked_to(&ssl);
    PrefixSpec::new(py, Some(ssl)).base()
}

/// A defaults base with this Python (the patch its real build carries) on OpenSSL 1.1.1.
pub fn defaults_base(version: &str, build: &str, patch: Patch) -> PrefixSpec {
    let ssl = OpenSsl::new("1.1.1s", "h2bbff1b_0");
    let py = Python::new(version, build, "pkgs/main")
        .patch(patch)
        .linked_to(&ssl);
    PrefixSpec::new(py, Some(ssl)).base()
}

/// Anaconda3 2019.10: Python 3.7.4, OpenSSL 1.1.1d, JustMe.
pub fn anaconda_2019_10() -> PrefixSpec {
    let ssl = OpenSsl::new("1.1.1d", "he774522_2");
    let py = Python::new("3.7.4", "h5263a28_0", "pkgs/main")
        .built_at(1_565_000_000_000)
        .patch(Patch::AlteredSearchPath)
        .linked_to(&ssl);
    PrefixSpec::new(py, Some(ssl)).base()
}

/// Anaconda3 2024.10: Python 3.12.7 with the default-mode patch, OpenSSL 3.0.15.
pub fn anaconda_2024_10() -> PrefixSpec {
    let ssl = OpenSsl::new("3.0.15", "h827c3e9_0");
    let py = Python::new("3.12.7", "h14ffc60_0", "pkgs/main")
        .built_at(1_728_000_000_000)
        .patch(Patch::DefaultMode)
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
