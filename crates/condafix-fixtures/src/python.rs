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

    /// `python37.dll`
    pub fn dll_name(&self) -> String {
        format!("python{}.dll", self.xy())
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
            payload: format!("{} {} {}", self.dll_name(), self.version, self.build).into_bytes(),
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
