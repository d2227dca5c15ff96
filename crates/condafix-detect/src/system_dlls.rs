/// DLLs that come with Windows or the VC runtime, or that the interpreter has already loaded:
/// never staged, never searched for.
const SYSTEM: &[&str] = &[
    "advapi32.dll",
    "bcrypt.dll",
    "crypt32.dll",
    "dbghelp.dll",
    "gdi32.dll",
    "iphlpapi.dll",
    "kernel32.dll",
    "msvcp140.dll",
    "msvcp140_1.dll",
    "msvcrt.dll",
    "ncrypt.dll",
    "ntdll.dll",
    "ole32.dll",
    "oleaut32.dll",
    "psapi.dll",
    "rpcrt4.dll",
    "secur32.dll",
    "shell32.dll",
    "shlwapi.dll",
    "sspicli.dll",
    "ucrtbase.dll",
    "user32.dll",
    "userenv.dll",
    "vcruntime140.dll",
    "vcruntime140_1.dll",
    "version.dll",
    "ws2_32.dll",
];

/// Whether `name` is a system DLL (KERNEL32, WS2_32, CRYPT32, api-ms-win-crt-*, VCRUNTIME140...)
/// or the interpreter's own `pythonXY.dll`, which is loaded before any extension module.
pub fn is_system_dll(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("api-ms-win-") || lower.starts_with("ext-ms-") {
        return true;
    }
    if let Some(rest) = lower
        .strip_prefix("python")
        .and_then(|r| r.strip_suffix(".dll"))
    {
        if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()) {
            return true;
        }
    }
    SYSTEM.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_is_not_system_but_the_crt_is() {
        assert!(is_system_dll("KERNEL32.dll"));
        assert!(is_system_dll("api-ms-win-crt-runtime-l1-1-0.dll"));
        assert!(is_system_dll("python37.dll"));
        assert!(is_system_dll("python312.dll"));
        assert!(!is_system_dll("libssl-3-x64.dll"));
        assert!(!is_system_dll("pythoncom37.dll"));
    }
}
