//! The loader fixtures built from C by `windows/loader-fixtures/build.sh` (mingw-w64): a fake
//! `python.exe` in two loader variants, an `_ssl.pyd` importing `libssl-3-x64.dll` and
//! `libcrypto-3-x64.dll`, and two builds of those DLLs (the recorded one, and a foreign one whose
//! libssl exports fewer symbols). This lays them out as conda prefixes with conda-meta records
//! holding their real hashes, for end-to-end tests under Wine and on Windows.

use std::path::{Path, PathBuf};

use crate::python::{Patch, Python};
use crate::tree::{install_package, Package};

/// Where `windows/loader-fixtures/build.sh` put the fixtures.
pub const ENV_LOADER_FIXTURES: &str = "CONDAFIX_LOADER_FIXTURES";

/// How the fake interpreter loads `DLLs\_ssl.pyd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoaderVariant {
    /// `LOAD_WITH_ALTERED_SEARCH_PATH`, like conda's 3.7 and old 3.8/3.9 builds (recorded as
    /// Python 3.7.4 from defaults).
    AlteredSearchPath,
    /// `AddDllDirectory` for the five conda folders, then `LOAD_LIBRARY_SEARCH_DEFAULT_DIRS |
    /// LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR`, like the patched builds (recorded as Python 3.12.7).
    DefaultMode,
}

#[derive(Debug, Clone)]
pub struct LoaderFixtures {
    dir: PathBuf,
}

pub const LIBSSL: &str = "libssl-3-x64.dll";
pub const LIBCRYPTO: &str = "libcrypto-3-x64.dll";

impl LoaderFixtures {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// From `CONDAFIX_LOADER_FIXTURES`, when the Windows lane built them.
    pub fn from_env() -> Option<Self> {
        let dir = PathBuf::from(std::env::var_os(ENV_LOADER_FIXTURES)?);
        dir.join("_ssl.pyd").is_file().then(|| Self::new(dir))
    }

    /// The folder holding the recorded libssl/libcrypto.
    pub fn recorded_dlls(&self) -> PathBuf {
        self.dir.join("new")
    }

    /// The folder holding the foreign build (libssl without `SSL_CTX_new`).
    pub fn foreign_dlls(&self) -> PathBuf {
        self.dir.join("old")
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        fs_err::read(self.dir.join(rel)).expect("loader fixture")
    }

    /// Lay out a conda prefix: `python.exe`, `DLLs\_ssl.pyd`, the recorded DLLs in
    /// `Library\bin`, and python and openssl records with their real hashes.
    pub fn lay_out_prefix(&self, prefix: &Path, variant: LoaderVariant) {
        let (exe, version, build, ts, patch) = match variant {
            LoaderVariant::AlteredSearchPath => (
                "python-altered.exe",
                "3.7.4",
                "h5263a28_0",
                1_565_000_000_000,
                Patch::AlteredSearchPath,
            ),
            LoaderVariant::DefaultMode => (
                "python-default.exe",
                "3.12.7",
                "h14ffc60_0",
                1_728_000_000_000,
                Patch::DefaultMode,
            ),
        };
        // The fake interpreter implements the loader itself; its python3X.dll carries the
        // markers of the same era, which is what detection reads.
        let dll = Python::new(version, build, "pkgs/main").patch(patch);
        fs_err::create_dir_all(prefix.join("conda-meta")).expect("conda-meta");
        fs_err::write(prefix.join(".nonadmin"), b"").expect(".nonadmin");
        install_package(
            prefix,
            &Package {
                name: "openssl",
                version: "3.0.15",
                build: "h827c3e9_0",
                channel: "pkgs/main",
                timestamp_ms: None,
                files: vec![
                    (
                        format!("Library/bin/{LIBSSL}"),
                        self.read(&format!("new/{LIBSSL}")),
                    ),
                    (
                        format!("Library/bin/{LIBCRYPTO}"),
                        self.read(&format!("new/{LIBCRYPTO}")),
                    ),
                ],
            },
        );
        install_package(
            prefix,
            &Package {
                name: "python",
                version,
                build,
                channel: "pkgs/main",
                timestamp_ms: Some(ts),
                files: vec![
                    ("python.exe".into(), self.read(exe)),
                    (dll.dll_name(), dll.dll_bytes()),
                    ("DLLs/_ssl.pyd".into(), self.read("_ssl.pyd")),
                    // The same imports serve for _hashlib (libcrypto, via libssl).
                    ("DLLs/_hashlib.pyd".into(), self.read("_ssl.pyd")),
                ],
            },
        );
    }

    /// Copy libssl and libcrypto from `from` into `to` (creating it).
    pub fn copy_dlls(from: &Path, to: &Path) {
        fs_err::create_dir_all(to).expect("create");
        for name in [LIBSSL, LIBCRYPTO] {
            fs_err::copy(from.join(name), to.join(name)).expect("copy DLL");
        }
    }
}
