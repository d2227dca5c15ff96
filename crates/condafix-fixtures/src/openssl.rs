use crate::pe::{build_pe, Arch, Import, PeSpec};

/// An OpenSSL build as conda ships it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSsl {
    pub version: String,
    pub build: String,
    pub arch: Arch,
    /// Where the bytes come from; copies "from other software" use another tag so that their
    /// bytes differ from conda's build of the same version.
    pub vendor: String,
    /// Pad libssl and libcrypto to these sizes (real ones: about 0.8 and 5 MB); 0 keeps them tiny.
    pub sizes: (usize, usize),
}

/// libssl or libcrypto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenSslLib {
    Ssl,
    Crypto,
}

impl OpenSsl {
    /// A 64-bit conda build.
    pub fn new(version: &str, build: &str) -> Self {
        Self {
            version: version.to_string(),
            build: build.to_string(),
            arch: Arch::X64,
            vendor: "conda".to_string(),
            sizes: (0, 0),
        }
    }

    /// The DLLs at their real sizes (libssl, libcrypto), for benchmarks.
    pub fn sized(mut self, ssl: usize, crypto: usize) -> Self {
        self.sizes = (ssl, crypto);
        self
    }

    pub fn arch(mut self, arch: Arch) -> Self {
        self.arch = arch;
        self
    }

    /// The same names, other bytes: a build by other software (a System32 drop, Git, the
    /// OpenSSL installer on GitHub's runners).
    pub fn vendor(mut self, vendor: &str) -> Self {
        self.vendor = vendor.to_string();
        self
    }

    /// `1_1` for 1.1.x, `3` for 3.x: the part of the DLL name that changes with the ABI.
    pub fn abi(&self) -> &'static str {
        if self.version.starts_with("1.1") {
            "1_1"
        } else {
            "3"
        }
    }

    /// `libssl-1_1-x64.dll`, `libssl-1_1.dll` (32-bit), `libssl-3-x64.dll`, `libssl-3.dll`.
    pub fn dll_name(&self, lib: OpenSslLib) -> String {
        let stem = match lib {
            OpenSslLib::Ssl => "libssl",
            OpenSslLib::Crypto => "libcrypto",
        };
        let suffix = match self.arch {
            Arch::X64 => "-x64",
            Arch::X86 => "",
        };
        format!("{stem}-{}{suffix}.dll", self.abi())
    }

    pub fn ssl_name(&self) -> String {
        self.dll_name(OpenSslLib::Ssl)
    }

    pub fn crypto_name(&self) -> String {
        self.dll_name(OpenSslLib::Crypto)
    }

    /// The DLL's bytes: a PE image importing what the real one imports.
    pub fn dll_bytes(&self, lib: OpenSslLib) -> Vec<u8> {
        let imports = match lib {
            OpenSslLib::Ssl => vec![
                Import::new(&self.crypto_name(), &["CRYPTO_free", "EVP_DigestInit_ex"]),
                Import::new("KERNEL32.dll", &["GetLastError"]),
                Import::new("VCRUNTIME140.dll", &["memcpy"]),
            ],
            OpenSslLib::Crypto => vec![
                Import::new("KERNEL32.dll", &["GetLastError", "LoadLibraryW"]),
                Import::new("ADVAPI32.dll", &["RegOpenKeyExW"]),
                Import::new("WS2_32.dll", &["WSAStartup"]),
                Import::new("USER32.dll", &["MessageBoxW"]),
                Import::new("CRYPT32.dll", &["CertOpenStore"]),
                Import::new("VCRUNTIME140.dll", &["memcpy"]),
                Import::new("api-ms-win-crt-runtime-l1-1-0.dll", &["_initterm"]),
            ],
        };
        let mut payload = format!(
            "OpenSSL {} ({}) {} build {} [{:?}]",
            self.version,
            self.dll_name(lib),
            self.vendor,
            self.build,
            self.arch
        )
        .into_bytes();
        let size = match lib {
            OpenSslLib::Ssl => self.sizes.0,
            OpenSslLib::Crypto => self.sizes.1,
        };
        crate::pe::pad(&mut payload, size);
        build_pe(&PeSpec {
            arch: self.arch,
            dll: true,
            imports,
            payload,
        })
    }

    /// `openssl-1.1.1d-he774522_2`
    pub fn dist(&self) -> String {
        format!("openssl-{}-{}", self.version, self.build)
    }
}
