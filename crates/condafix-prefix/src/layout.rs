use std::path::{Path, PathBuf};

use serde::Serialize;

/// The five folders conda's "default mode" patch hands to `AddDllDirectory` (relative to the
/// folder of `pythonXY.dll`), in order. Anaconda's "Add to PATH" and activation prepend the prefix
/// root and the same folders to PATH (docs/loader-model.md).
pub const CONDA_DLL_DIRS: [&str; 5] = [
    "Library/mingw-w64/bin",
    "Library/usr/bin",
    "Library/bin",
    "Scripts",
    "bin",
];

/// Where things sit in a prefix. A value, not a `cfg!`: a Windows tree is read the Windows
/// way on every host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Windows,
    Unix,
}

impl Layout {
    /// The layout of the host this binary was built for.
    pub const fn host() -> Self {
        if cfg!(windows) {
            Layout::Windows
        } else {
            Layout::Unix
        }
    }

    /// Tell the layout from what is on disk: `python.exe`, `DLLs`, `Library` or a venv's
    /// `Scripts\python.exe` mean Windows, `bin/python*` means Unix; when neither is there, the
    /// host's layout.
    pub fn detect(prefix: &Path) -> Self {
        let windows = ["python.exe", "DLLs", "Library"]
            .iter()
            .any(|p| prefix.join(p).exists())
            || prefix.join("Scripts").join("python.exe").is_file();
        if windows {
            return Layout::Windows;
        }
        if prefix.join("bin").join("python").exists() || prefix.join("bin").join("python3").exists()
        {
            return Layout::Unix;
        }
        Self::host()
    }

    /// The interpreter, relative to the prefix.
    pub fn python_exe(self) -> &'static str {
        match self {
            Layout::Windows => "python.exe",
            Layout::Unix => "bin/python",
        }
    }

    /// Where the stdlib's extension modules (`_ssl`, `_hashlib`) live.
    pub fn extension_dir(self, py: (u64, u64)) -> String {
        match self {
            Layout::Windows => "DLLs".to_string(),
            Layout::Unix => format!("lib/python{}.{}/lib-dynload", py.0, py.1),
        }
    }

    /// `site-packages`, relative to the prefix, as conda's `files` lists it.
    pub fn site_packages(self, py: (u64, u64)) -> String {
        match self {
            Layout::Windows => "Lib/site-packages".to_string(),
            Layout::Unix => format!("lib/python{}.{}/site-packages", py.0, py.1),
        }
    }

    /// Where conda's openssl package puts its shared libraries.
    pub fn library_bin(self) -> &'static str {
        match self {
            Layout::Windows => "Library/bin",
            Layout::Unix => "lib",
        }
    }

    /// The CA bundle installed by `ca-certificates`.
    pub fn ca_bundle(self) -> &'static str {
        match self {
            Layout::Windows => "Library/ssl/cacert.pem",
            Layout::Unix => "ssl/cacert.pem",
        }
    }

    /// The PATH entries activation prepends for this prefix, in order.
    pub fn activation_dirs(self, prefix: &Path) -> Vec<PathBuf> {
        match self {
            Layout::Windows => std::iter::once(prefix.to_path_buf())
                .chain(CONDA_DLL_DIRS.iter().map(|d| join_rel(prefix, d)))
                .collect(),
            Layout::Unix => vec![prefix.join("bin")],
        }
    }

    /// The directories conda's "default mode" patch adds with `AddDllDirectory`.
    pub fn default_mode_dirs(self, prefix: &Path) -> Vec<PathBuf> {
        CONDA_DLL_DIRS.iter().map(|d| join_rel(prefix, d)).collect()
    }
}

/// Serialize a `/`-separated prefix-relative path with this host's separator, as the paths
/// around it are shown (`DLLs\libssl-3-x64.dll` on Windows).
pub fn serialize_native_rel<S: serde::Serializer>(rel: &str, s: S) -> Result<S::Ok, S::Error> {
    if std::path::MAIN_SEPARATOR == '/' {
        s.serialize_str(rel)
    } else {
        s.serialize_str(&rel.replace('/', std::path::MAIN_SEPARATOR_STR))
    }
}

/// Join a `/`-separated prefix-relative path (as conda records write them) onto `base`, one
/// component at a time so the result uses the host's separator.
pub fn join_rel(base: &Path, rel: &str) -> PathBuf {
    let mut out = base.to_path_buf();
    for part in rel.split(['/', '\\']).filter(|p| !p.is_empty()) {
        out.push(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_tree_is_recognised_on_any_host() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join("DLLs")).unwrap();
        assert_eq!(Layout::detect(dir.path()), Layout::Windows);
        assert_eq!(Layout::Windows.extension_dir((3, 7)), "DLLs");
        assert_eq!(
            Layout::Unix.extension_dir((3, 11)),
            "lib/python3.11/lib-dynload"
        );
    }

    #[test]
    fn activation_dirs_follow_anacondas_order() {
        let p = Path::new("p");
        let dirs = Layout::Windows.activation_dirs(p);
        assert_eq!(dirs[0], p);
        assert_eq!(dirs[3], p.join("Library").join("bin"));
        assert_eq!(dirs.len(), 6);
    }
}
