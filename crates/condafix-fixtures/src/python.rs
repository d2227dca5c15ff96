use crate::openssl::OpenSsl;
use crate::pe::{build_pe, Arch, Import, PeSpec};

/// How `_ssl.pyd` gets OpenSSL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslLink {
    /// Imports these DLLs (libssl, libcrypto).
    Dynamic { ssl: String, crypto: String },
    /// OpenSSL linked into `_ssl.pyd` (python.org 3.6): no DLL needed.
    Static,
}

/// The strings conda's DLL-search patch leaves in `python3X.dll`, as each real build has them
/// (docs/loader-model.md). The fixture writes them; detection reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patch {
    /// Era A: the ENABLE switch, the mingw folder, a NUL-bounded wide "conda" (the `argv`
    /// check), KEEP_GIL, "not been activated", NEVER_CACHE.
    AlteredSearchPath,
    /// Era B as 3.8-3.10 builds have it: ENABLE, the mingw folder, NEVER_CACHE.
    DefaultModeWithSwitch,
    /// Era B from 3.11: ENABLE and the mingw folder only.
    DefaultMode,
    /// The 3.8.0 variant: the mingw folder without ENABLE.
    Variant380,
    /// No conda patch (python.org, python-build-standalone, conda-forge 3.7).
    None,
}

impl Patch {
    /// The bytes the patch leaves, to embed in the DLL's data.
    pub fn bytes(self) -> Vec<u8> {
        fn wide(s: &str) -> Vec<u8> {
            let mut v: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
            v.extend([0, 0]);
            v
        }
        let enable = wide("CONDA_DLL_SEARCH_MODIFICATION_ENABLE");
        let mingw = wide("Library\\mingw-w64\\bin");
        let never_cache = wide("CONDA_DLL_SEARCH_MODIFICATION_NEVER_CACHE");
        let mut out = vec![0, 0];
        match self {
            Patch::AlteredSearchPath => {
                out.extend(enable);
                out.extend(mingw);
                out.extend(wide("conda"));
                out.extend(wide("CONDA_DLL_SEARCH_MODIFICATION_KEEP_GIL"));
                out.extend(never_cache);
                out.extend(b"conda environment has not been activated\0");
            }
            Patch::DefaultModeWithSwitch => {
                out.extend(enable);
                out.extend(mingw);
                out.extend(never_cache);
            }
            Patch::DefaultMode => {
                out.extend(enable);
                out.extend(mingw);
            }
            Patch::Variant380 => out.extend(mingw),
            Patch::None => {}
        }
        // Text every python3X.dll holds, "conda" inside other words among it.
        out.extend(wide("Anaconda, Inc. condarc PYTHONHOME"));
        out
    }
}

/// A conda Python build.
#[derive(Debug, Clone)]
pub struct Python {
    pub version: String,
    pub build: String,
    /// `pkgs/main` or `conda-forge`.
    pub channel: String,
    /// Build time, milliseconds since the epoch, as conda-meta records it.
    pub timestamp_ms: Option<u64>,
    pub arch: Arch,
    pub ssl: SslLink,
    /// The strings of conda's DLL-search patch in `python3X.dll`.
    pub patch: Patch,
    /// A free-threaded build: `python313t.dll`, `_ssl.cp313t-win_amd64.pyd`.
    pub free_threaded: bool,
    /// Pad `python3X.dll` to this size (a real one is about 4.5 MB); 0 keeps it tiny.
    pub dll_size: usize,
}

impl Python {
    pub fn new(version: &str, build: &str, channel: &str) -> Self {
        Self {
            version: version.to_string(),
            build: build.to_string(),
            channel: channel.to_string(),
            timestamp_ms: None,
            arch: Arch::X64,
            ssl: SslLink::Static,
            patch: Patch::None,
            free_threaded: false,
            dll_size: 0,
        }
    }

    /// The strings of this build's DLL-search patch (what the real build carries).
    pub fn patch(mut self, patch: Patch) -> Self {
        self.patch = patch;
        self
    }

    pub fn arch(mut self, arch: Arch) -> Self {
        self.arch = arch;
        self
    }

    pub fn free_threaded(mut self) -> Self {
        self.free_threaded = true;
        self
    }

    /// `python3X.dll` at a real size.
    pub fn dll_size(mut self, bytes: usize) -> Self {
        self.dll_size = bytes;
        self
    }

    /// `_ssl.pyd`, or `_ssl.cp313t-win_amd64.pyd` in a free-threaded build.
    pub fn module_name(&self, stem: &str) -> String {
        if self.free_threaded {
            let platform = match self.arch {
                Arch::X64 => "win_amd64",
                Arch::X86 => "win32",
            };
            format!("{stem}.cp{}t-{platform}.pyd", self.xy())
        } else {
            format!("{stem}.pyd")
        }
    }

    /// Built against this OpenSSL: `_ssl.pyd` imports its DLL names.
    pub fn linked_to(mut self, openssl: &OpenSsl) -> Self {
        self.ssl = SslLink::Dynamic {
            ssl: openssl.ssl_name(),
            crypto: openssl.crypto_name(),
        };
        self
    }

    pub fn built_at(mut self, timestamp_ms: u64) -> Self {
        self.timestamp_ms = Some(timestamp_ms);
        self
    }

    pub fn static_openssl(mut self) -> Self {
        self.ssl = SslLink::Static;
        self
    }

    /// `37` for 3.7.4.
    pub fn xy(&self) -> String {
        let mut it = self.version.split('.');
        format!("{}{}", it.next().unwrap_or("3"), it.next().unwrap_or("0"))
    }

    /// `python37.dll`, `python313t.dll`
    pub fn dll_name(&self) -> String {
        let t = if self.free_threaded { "t" } else { "" };
        format!("python{}{t}.dll", self.xy())
    }

    pub fn exe_bytes(&self) -> Vec<u8> {
        build_pe(&PeSpec {
            arch: self.arch,
            dll: false,
            imports: vec![
                Import::new(&self.dll_name(), &["Py_Main"]),
                Import::new("KERNEL32.dll", &["GetCommandLineW"]),
            ],
            payload: format!("python.exe {} {}", self.version, self.build).into_bytes(),
        })
    }

    pub fn dll_bytes(&self) -> Vec<u8> {
        build_pe(&PeSpec {
            arch: self.arch,
            dll: true,
            imports: vec![
                Import::new("KERNEL32.dll", &["LoadLibraryExW", "AddDllDirectory"]),
                Import::new("VCRUNTIME140.dll", &["memcpy"]),
            ],
            payload: {
                let mut p =
                    format!("{} {} {}", self.dll_name(), self.version, self.build).into_bytes();
                p.extend(self.patch.bytes());
                crate::pe::pad(&mut p, self.dll_size);
                p
            },
        })
    }

    /// `_ssl.pyd`: imports libssl and libcrypto unless OpenSSL is linked in.
    pub fn ssl_pyd_bytes(&self) -> Vec<u8> {
        let mut imports = Vec::new();
        if let SslLink::Dynamic { ssl, crypto } = &self.ssl {
            imports.push(Import::new(ssl, &["SSL_new", "SSL_CTX_new"]));
            imports.push(Import::new(crypto, &["ERR_get_error", "X509_free"]));
        }
        imports.push(Import::new(&self.dll_name(), &["PyModule_Create2"]));
        imports.push(Import::new("KERNEL32.dll", &["GetLastError"]));
        imports.push(Import::new("WS2_32.dll", &["WSAGetLastError"]));
        imports.push(Import::new("VCRUNTIME140.dll", &["memset"]));
        imports.push(Import::new(
            "api-ms-win-crt-runtime-l1-1-0.dll",
            &["_initterm"],
        ));
        if self.ssl == SslLink::Static {
            imports.push(Import::new("CRYPT32.dll", &["CertOpenStore"]));
        }
        build_pe(&PeSpec {
            arch: self.arch,
            dll: true,
            imports,
            payload: format!("_ssl.pyd {} {}", self.version, self.build).into_bytes(),
        })
    }

    /// `_hashlib.pyd`: imports libcrypto.
    pub fn hashlib_pyd_bytes(&self) -> Vec<u8> {
        let mut imports = Vec::new();
        if let SslLink::Dynamic { crypto, .. } = &self.ssl {
            imports.push(Import::new(crypto, &["EVP_MD_CTX_new"]));
        }
        imports.push(Import::new(&self.dll_name(), &["PyModule_Create2"]));
        imports.push(Import::new("KERNEL32.dll", &["GetLastError"]));
        build_pe(&PeSpec {
            arch: self.arch,
            dll: true,
            imports,
            payload: format!("_hashlib.pyd {} {}", self.version, self.build).into_bytes(),
        })
    }

    pub fn dist(&self) -> String {
        format!("python-{}-{}", self.version, self.build)
    }
}
