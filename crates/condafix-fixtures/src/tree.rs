use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::Digest as _;

use crate::openssl::{OpenSsl, OpenSslLib};
use crate::pe::{build_pe, Arch, Import, PeSpec};
use crate::python::Python;

/// A fake machine rooted in a temp folder: `C:\` maps to the root, so `C:\Windows\System32`
/// is `<root>/Windows/System32` and `C:\Users\me\anaconda3` is `<root>/Users/me/anaconda3`.
#[derive(Debug, Clone)]
pub struct FakeMachine {
    root: PathBuf,
}

/// What to install into one prefix.
#[derive(Debug, Clone, Default)]
pub struct PrefixSpec {
    /// A base (root) install: `condabin\`, `pkgs\`, `Scripts\conda.exe`.
    pub base: bool,
    pub python: Option<Python>,
    pub openssl: Option<OpenSsl>,
    /// A "Just Me" install (`.nonadmin`).
    pub nonadmin: bool,
    /// Extra unrelated conda-meta records, as in a full Anaconda (about 500).
    pub filler_records: usize,
    /// Files listed by the python record (about 2,000 in a real one); only the few that
    /// matter are written to disk.
    pub python_record_files: usize,
    /// pip's version, when pip is installed (from conda, noarch, with its RECORD).
    pub pip: Option<String>,
    /// certifi installed (noarch).
    pub certifi: bool,
    /// OpenSSL DLLs the python package itself ships in `DLLs\` and lists in its record
    /// (defaults 3.7.0 builds 0/1).
    pub python_ships_openssl: Option<OpenSsl>,
    /// Changes made after the install: manual fixes, damage, other software.
    pub tweaks: Vec<Tweak>,
}

/// A change made to a prefix after conda installed it.
#[derive(Debug, Clone)]
pub enum Tweak {
    /// Copies of libssl and libcrypto of this OpenSSL build into a prefix folder (`DLLs`, ``),
    /// as the manual fix leaves them.
    OpenSslCopies { dir: String, openssl: OpenSsl },
    /// Overwrite a file with these bytes (conda's record keeps the old hash).
    Replace { rel: String, bytes: Vec<u8> },
    /// Delete a file conda installed.
    Remove { rel: String },
}

impl PrefixSpec {
    pub fn new(python: Python, openssl: Option<OpenSsl>) -> Self {
        Self {
            python: Some(python),
            openssl,
            nonadmin: true,
            filler_records: 3,
            python_record_files: 40,
            ..Self::default()
        }
    }

    pub fn base(mut self) -> Self {
        self.base = true;
        self
    }

    /// Install pip `version` (and certifi) from conda.
    pub fn with_pip(mut self, version: &str) -> Self {
        self.pip = Some(version.to_string());
        self.certifi = true;
        self
    }

    pub fn tweak(mut self, tweak: Tweak) -> Self {
        self.tweaks.push(tweak);
        self
    }
}

/// The bytes of a Git LFS pointer standing in for a file (about 130 bytes).
pub fn lfs_pointer(real: &[u8]) -> Vec<u8> {
    format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n",
        hex::encode(sha2::Sha256::digest(real)),
        real.len()
    )
    .into_bytes()
}

impl FakeMachine {
    /// Create the machine's `Windows\System32` under `root`.
    pub fn new(root: &Path) -> Self {
        let m = Self {
            root: root.to_path_buf(),
        };
        fs_err::create_dir_all(m.system32()).expect("create System32");
        m
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `C:\Windows` on this machine (what `%SystemRoot%` names).
    pub fn windows_dir(&self) -> PathBuf {
        self.root.join("Windows")
    }

    pub fn system32(&self) -> PathBuf {
        self.windows_dir().join("System32")
    }

    /// Map a Windows path (`C:\Program Files\OpenSSL\bin`) into the fake root.
    pub fn path(&self, windows_path: &str) -> PathBuf {
        let rest = windows_path
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .trim_start_matches(':');
        let mut out = self.root.clone();
        for part in rest.split(['\\', '/']).filter(|p| !p.is_empty()) {
            out.push(part);
        }
        out
    }

    /// Write a file at a Windows path, creating folders.
    pub fn write(&self, windows_path: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(windows_path);
        write_file(&p, bytes);
        p
    }

    /// Put libssl and libcrypto of `openssl` into a folder of this machine (System32, a PATH
    /// folder of other software).
    pub fn put_openssl(&self, windows_dir: &str, openssl: &OpenSsl) -> PathBuf {
        let dir = self.path(windows_dir);
        for lib in [OpenSslLib::Ssl, OpenSslLib::Crypto] {
            write_file(&dir.join(openssl.dll_name(lib)), &openssl.dll_bytes(lib));
        }
        dir
    }

    /// Make a `python -m venv` at a Windows path from the interpreter installed in `base`:
    /// `pyvenv.cfg` naming it as `home`, `Scripts\python.exe`, its own site-packages.
    pub fn venv(&self, windows_path: &str, base: &Path, python: &Python) -> PathBuf {
        let venv = self.path(windows_path);
        let cfg = format!(
            "home = {}\ninclude-system-site-packages = false\nversion = {}\nexecutable = {}\ncommand = {} -m venv {}\n",
            base.display(),
            python.version,
            base.join("python.exe").display(),
            base.join("python.exe").display(),
            venv.display()
        );
        write_file(&venv.join("pyvenv.cfg"), cfg.as_bytes());
        write_file(
            &venv.join("Scripts").join("python.exe"),
            &python.exe_bytes(),
        );
        write_file(
            &venv.join("Lib").join("site-packages").join("README.txt"),
            b"venv",
        );
        venv
    }

    /// Replace each file `rels` names in `env` by a hard link to the same file in `from`, the
    /// way conda links packages from its cache into every env.
    pub fn hardlink_from(&self, from: &Path, env: &Path, rels: &[String]) {
        for rel in rels {
            let (src, dst) = (join(from, rel), join(env, rel));
            fs_err::remove_file(&dst).expect("remove before linking");
            fs_err::hard_link(&src, &dst).expect("hard link");
        }
    }

    /// Install a prefix at a Windows path; returns its folder.
    pub fn install(&self, windows_path: &str, spec: &PrefixSpec) -> PathBuf {
        let prefix = self.path(windows_path);
        install_prefix(&prefix, windows_path, spec);
        prefix
    }
}

fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).expect("create parent");
    }
    fs_err::write(path, bytes).expect("write fixture file");
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A record being assembled: the files written and their entries.
struct RecordBuilder {
    files: Vec<String>,
    paths: Vec<Value>,
}

impl RecordBuilder {
    fn new() -> Self {
        Self {
            files: Vec::new(),
            paths: Vec::new(),
        }
    }

    /// Write `bytes` at `rel` in the prefix and record it.
    fn file(&mut self, prefix: &Path, rel: &str, bytes: &[u8]) {
        write_file(&join(prefix, rel), bytes);
        self.listed(rel, bytes);
    }

    /// Write a noarch: python file: installed under `site`, recorded inside the package as
    /// `site-packages/...` (docs/formats-and-config.md).
    fn noarch_file(&mut self, prefix: &Path, site: &str, pkg_rel: &str, bytes: &[u8]) {
        let installed = format!("{site}/{pkg_rel}");
        write_file(&join(prefix, &installed), bytes);
        let h = sha256_hex(bytes);
        self.files.push(installed);
        self.paths.push(json!({
            "_path": format!("site-packages/{pkg_rel}"),
            "path_type": "hardlink",
            "sha256": h,
            "sha256_in_prefix": h,
            "size_in_bytes": bytes.len(),
        }));
    }

    /// Record a file without writing it (the bulk of a big package).
    fn listed(&mut self, rel: &str, bytes: &[u8]) {
        let h = sha256_hex(bytes);
        self.files.push(rel.to_string());
        self.paths.push(json!({
            "_path": rel,
            "path_type": "hardlink",
            "sha256": h,
            "sha256_in_prefix": h,
            "size_in_bytes": bytes.len(),
        }));
    }

    /// Write the conda-meta record the way conda does (sorted keys, two-space indent).
    #[allow(clippy::too_many_arguments)]
    fn finish(
        self,
        prefix: &Path,
        prefix_windows: &str,
        name: &str,
        version: &str,
        build: &str,
        channel: &str,
        timestamp_ms: Option<u64>,
        depends: &[&str],
    ) {
        let dist = format!("{name}-{version}-{build}");
        let channel_url = if channel.contains("://") {
            channel.to_string()
        } else if channel == "conda-forge" {
            "https://conda.anaconda.org/conda-forge/win-64".to_string()
        } else {
            format!("https://repo.anaconda.com/{channel}/win-64")
        };
        let pkg_hash = sha256_hex(dist.as_bytes());
        let mut record = json!({
            "arch": "x86_64",
            "build": build,
            "build_number": build.rsplit('_').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0),
            "channel": channel_url,
            "constrains": [],
            "depends": depends,
            "extracted_package_dir": format!("{prefix_windows}\\pkgs\\{dist}"),
            "features": "",
            "files": self.files,
            "fn": format!("{dist}.conda"),
            "license": "fixture",
            "link": {"source": format!("{prefix_windows}\\pkgs\\{dist}"), "type": 1},
            "md5": &pkg_hash[..32],
            "name": name,
            "package_tarball_full_path": format!("{prefix_windows}\\pkgs\\{dist}.conda"),
            "paths_data": {"paths": self.paths, "paths_version": 1},
            "platform": "win32",
            "requested_spec": "",
            "sha256": pkg_hash,
            "size": 1000,
            "subdir": "win-64",
            "url": format!("{channel_url}/{dist}.conda"),
            "version": version,
        });
        if let Some(ts) = timestamp_ms {
            record["timestamp"] = json!(ts);
        }
        let text = serde_json::to_string_pretty(&record).expect("record json");
        write_file(
            &prefix.join("conda-meta").join(format!("{dist}.json")),
            text.as_bytes(),
        );
    }
}

/// One package to install with [`install_package`].
#[derive(Debug, Clone)]
pub struct Package<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub build: &'a str,
    /// `pkgs/main` or `conda-forge`.
    pub channel: &'a str,
    pub timestamp_ms: Option<u64>,
    /// Prefix-relative paths (`/`) and their bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

impl RecordBuilder {
    fn finish_noarch(
        self,
        prefix: &Path,
        prefix_windows: &str,
        name: &str,
        version: &str,
        build: &str,
    ) {
        let dist = format!("{name}-{version}-{build}");
        self.finish(
            prefix,
            prefix_windows,
            name,
            version,
            build,
            "pkgs/main",
            None,
            &[],
        );
        let path = prefix.join("conda-meta").join(format!("{dist}.json"));
        let mut v: Value =
            serde_json::from_slice(&fs_err::read(&path).expect("record")).expect("json");
        v["noarch"] = json!("python");
        v["subdir"] = json!("noarch");
        write_file(
            &path,
            serde_json::to_string_pretty(&v).expect("json").as_bytes(),
        );
    }
}

/// Write a package's files into `prefix` and its conda-meta record, with hashes of the bytes
/// written; creates `conda-meta/history` when missing.
pub fn install_package(prefix: &Path, pkg: &Package<'_>) {
    let mut r = RecordBuilder::new();
    for (rel, bytes) in &pkg.files {
        r.file(prefix, rel, bytes);
    }
    let prefix_windows = prefix.display().to_string();
    r.finish(
        prefix,
        &prefix_windows,
        pkg.name,
        pkg.version,
        pkg.build,
        pkg.channel,
        pkg.timestamp_ms,
        &[],
    );
    let history = prefix.join("conda-meta").join("history");
    let mut text = fs_err::read_to_string(&history).unwrap_or_default();
    text.push_str(&format!(
        "+{}::{}-{}-{}\n",
        pkg.channel, pkg.name, pkg.version, pkg.build
    ));
    write_file(&history, text.as_bytes());
}

/// A stand-in for a public root bundle (PEM framing, fixture bytes).
pub const PUBLIC_ROOTS_PEM: &str =
    "-----BEGIN CERTIFICATE-----\nMIIBpublicrootfixture\n-----END CERTIFICATE-----\n";

/// The requests code pip vendors, as shipped: certificate checks on.
pub const SESSIONS_PY: &str =
    "class Session:\n    def __init__(self):\n        self.verify = True\n";

/// The same file after the blog fix: every certificate check off.
pub const SESSIONS_PY_VERIFY_FALSE: &str =
    "class Session:\n    def __init__(self):\n        self.verify = False\n";

/// pip's files that matter for TLS, relative to site-packages.
fn pip_files(version: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "pip/__init__.py".into(),
            format!("__version__ = \"{version}\"\n").into_bytes(),
        ),
        (
            "pip/_vendor/requests/sessions.py".into(),
            SESSIONS_PY.as_bytes().to_vec(),
        ),
        (
            "pip/_vendor/requests/adapters.py".into(),
            b"DEFAULT_POOLBLOCK = False\n".to_vec(),
        ),
        (
            "pip/_vendor/urllib3/__init__.py".into(),
            b"__version__ = '1.26.18'\n".to_vec(),
        ),
        (
            "pip/_vendor/urllib3/connectionpool.py".into(),
            b"class HTTPSConnectionPool: cert_reqs = 'CERT_REQUIRED'\n".to_vec(),
        ),
        (
            "pip/_vendor/certifi/cacert.pem".into(),
            PUBLIC_ROOTS_PEM.as_bytes().to_vec(),
        ),
        (
            "pip/_vendor/certifi/core.py".into(),
            b"def where(): return 'cacert.pem'\n".to_vec(),
        ),
        (
            format!("pip-{version}.dist-info/METADATA"),
            format!("Name: pip\nVersion: {version}\n").into_bytes(),
        ),
    ]
}

/// `<urlsafe base64 of the sha256, no padding>`, as pip's RECORD writes it.
fn record_hash(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(bytes))
}

fn join(prefix: &Path, rel: &str) -> PathBuf {
    let mut p = prefix.to_path_buf();
    for part in rel.split('/').filter(|s| !s.is_empty()) {
        p.push(part);
    }
    p
}

fn small_pe(arch: Arch, what: &str) -> Vec<u8> {
    build_pe(&PeSpec {
        arch,
        dll: false,
        imports: vec![Import::new("KERNEL32.dll", &["ExitProcess"])],
        payload: what.as_bytes().to_vec(),
    })
}

fn install_prefix(prefix: &Path, prefix_windows: &str, spec: &PrefixSpec) {
    fs_err::create_dir_all(prefix.join("conda-meta")).expect("conda-meta");
    let mut history = String::from("==> 2019-10-15 17:12:55 <==\n# cmd: constructor\n");
    if spec.nonadmin {
        write_file(&prefix.join(".nonadmin"), b"");
    }
    let arch = spec.python.as_ref().map(|p| p.arch).unwrap_or(Arch::X64);
    if spec.base {
        write_file(
            &prefix.join("condabin").join("conda.bat"),
            b"@CALL \"%~dp0..\\Library\\bin\\conda.bat\" %*\r\n",
        );
        fs_err::create_dir_all(prefix.join("pkgs")).expect("pkgs");
        write_file(&prefix.join("pkgs").join("urls.txt"), b"");
        write_file(
            &prefix.join("Scripts").join("conda.exe"),
            &small_pe(arch, "conda.exe"),
        );
    }

    if let Some(openssl) = &spec.openssl {
        let mut r = RecordBuilder::new();
        for lib in [OpenSslLib::Ssl, OpenSslLib::Crypto] {
            let bytes = openssl.dll_bytes(lib);
            r.file(
                prefix,
                &format!("Library/bin/{}", openssl.dll_name(lib)),
                &bytes,
            );
        }
        r.file(
            prefix,
            "Library/bin/openssl.exe",
            &build_pe(&PeSpec {
                arch: openssl.arch,
                dll: false,
                imports: vec![
                    Import::new(&openssl.ssl_name(), &["SSL_new"]),
                    Import::new(&openssl.crypto_name(), &["ERR_get_error"]),
                ],
                payload: format!("openssl.exe {}", openssl.version).into_bytes(),
            }),
        );
        r.file(
            prefix,
            "Library/ssl/openssl.cnf",
            b"# fixture openssl.cnf\n",
        );
        r.file(
            prefix,
            "etc/conda/activate.d/openssl_activate.bat",
            b"@if not defined SSL_CERT_FILE set \"SSL_CERT_FILE=%CONDA_PREFIX%\\Library\\ssl\\cacert.pem\"\r\n",
        );
        r.finish(
            prefix,
            prefix_windows,
            "openssl",
            &openssl.version,
            &openssl.build,
            "pkgs/main",
            None,
            &["ca-certificates", "vc >=14.1"],
        );
        history.push_str(&format!("+defaults::{}\n", openssl.dist()));

        let mut ca = RecordBuilder::new();
        ca.file(
            prefix,
            "Library/ssl/cacert.pem",
            b"-----BEGIN CERTIFICATE-----\nMIIBfixture\n-----END CERTIFICATE-----\n",
        );
        ca.finish(
            prefix,
            prefix_windows,
            "ca-certificates",
            "2019.08.28",
            "0",
            "pkgs/main",
            None,
            &[],
        );
    }

    if let Some(py) = &spec.python {
        let mut r = RecordBuilder::new();
        r.file(prefix, "python.exe", &py.exe_bytes());
        r.file(prefix, &py.dll_name(), &py.dll_bytes());
        r.file(
            prefix,
            &format!("DLLs/{}", py.module_name("_ssl")),
            &py.ssl_pyd_bytes(),
        );
        r.file(
            prefix,
            &format!("DLLs/{}", py.module_name("_hashlib")),
            &py.hashlib_pyd_bytes(),
        );
        if let Some(shipped) = &spec.python_ships_openssl {
            for lib in [OpenSslLib::Ssl, OpenSslLib::Crypto] {
                r.file(
                    prefix,
                    &format!("DLLs/{}", shipped.dll_name(lib)),
                    &shipped.dll_bytes(lib),
                );
            }
        }
        r.file(prefix, "Lib/ssl.py", b"import _ssl\n");
        let mut i = 0;
        while r.files.len() < spec.python_record_files {
            let rel = format!("Lib/test/fixture_{i:05}.py");
            r.listed(&rel, rel.as_bytes());
            i += 1;
        }
        r.finish(
            prefix,
            prefix_windows,
            "python",
            &py.version,
            &py.build,
            &py.channel,
            py.timestamp_ms,
            &["openssl", "vc >=14.1", "vs2015_runtime >=14.16.27012"],
        );
        history.push_str(&format!("+defaults::{}\n", py.dist()));
    }

    if let Some(version) = &spec.pip {
        let site = "Lib/site-packages";
        let mut r = RecordBuilder::new();
        let mut record_lines = String::new();
        for (rel, bytes) in pip_files(version) {
            r.noarch_file(prefix, site, &rel, &bytes);
            record_lines.push_str(&format!(
                "{rel},sha256={},{}\n",
                record_hash(&bytes),
                bytes.len()
            ));
        }
        let dist_info = format!("pip-{version}.dist-info");
        record_lines.push_str(&format!("{dist_info}/RECORD,,\n"));
        r.noarch_file(
            prefix,
            site,
            &format!("{dist_info}/RECORD"),
            record_lines.as_bytes(),
        );
        r.finish_noarch(prefix, prefix_windows, "pip", version, "py_0");
        history.push_str(&format!("+defaults::pip-{version}-py_0\n"));
    }
    if spec.certifi {
        let mut r = RecordBuilder::new();
        r.noarch_file(
            prefix,
            "Lib/site-packages",
            "certifi/cacert.pem",
            PUBLIC_ROOTS_PEM.as_bytes(),
        );
        r.noarch_file(
            prefix,
            "Lib/site-packages",
            "certifi/core.py",
            b"def where():\n    return 'cacert.pem'\n",
        );
        r.finish_noarch(prefix, prefix_windows, "certifi", "2024.8.30", "py_0");
    }

    for n in 0..spec.filler_records {
        let mut r = RecordBuilder::new();
        let name = format!("fixture-package-{n:03}");
        let files = if n == 0 { 400 } else { 12 };
        for f in 0..files {
            let rel = format!("Lib/site-packages/{name}/module_{f:04}.py");
            r.listed(&rel, rel.as_bytes());
        }
        r.finish(
            prefix,
            prefix_windows,
            &name,
            "1.0",
            "py_0",
            "pkgs/main",
            None,
            &[],
        );
    }
    write_file(
        &prefix.join("conda-meta").join("history"),
        history.as_bytes(),
    );

    for tweak in &spec.tweaks {
        match tweak {
            Tweak::OpenSslCopies { dir, openssl } => {
                for lib in [OpenSslLib::Ssl, OpenSslLib::Crypto] {
                    let rel = if dir.is_empty() {
                        openssl.dll_name(lib)
                    } else {
                        format!("{dir}/{}", openssl.dll_name(lib))
                    };
                    write_file(&join(prefix, &rel), &openssl.dll_bytes(lib));
                }
            }
            Tweak::Replace { rel, bytes } => write_file(&join(prefix, rel), bytes),
            Tweak::Remove { rel } => fs_err::remove_file(join(prefix, rel)).expect("remove"),
        }
    }
}
