//! What the exe says about itself: the commit, the build date and the target (for `--version`
//! and every JSON document), and on Windows a VERSIONINFO resource (file-version detection
//! rules in Intune and ConfigMgr read it) and an application manifest (asInvoker, long paths,
//! UTF-8 code page).

// A build script has no fs-err: std::fs, and its files live in OUT_DIR.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// `YYYY-MM-DD` of a Unix time (UTC).
fn civil(secs: u64) -> String {
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn main() {
    println!("cargo:rerun-if-env-changed=CONDAFIX_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for f in [".git/HEAD", ".git/index"] {
        let p = root.join(f);
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    let commit = std::env::var("CONDAFIX_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=7", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    // The commit's date (the same for every build of it), else SOURCE_DATE_EPOCH, else today.
    let date = git(&["log", "-1", "--format=%cs"])
        .or_else(|| {
            std::env::var("SOURCE_DATE_EPOCH")
                .ok()
                .and_then(|s| s.parse().ok())
                .map(civil)
        })
        .unwrap_or_else(|| {
            civil(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            )
        });
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=CONDAFIX_COMMIT={commit}");
    println!("cargo:rustc-env=CONDAFIX_BUILD_DATE={date}");
    println!("cargo:rustc-env=CONDAFIX_TARGET={target}");

    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        windows_resources();
    }
}

/// The VERSIONINFO and manifest, as a `.rc` file written to OUT_DIR and compiled by
/// embed-resource (windres for the GNU targets, rc.exe for MSVC).
fn windows_resources() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let version = env!("CARGO_PKG_VERSION");
    let mut parts: Vec<u16> = version
        .split(['.', '-', '+'])
        .take(3)
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    parts.resize(4, 0);
    let comma = parts
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let manifest = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0">
  <assemblyIdentity type="win32" name="condafix" version="0.0.0.0"/>
  <trustInfo xmlns="urn:schemas-microsoft-com:asm.v3">
    <security>
      <requestedPrivileges>
        <requestedExecutionLevel level="asInvoker" uiAccess="false"/>
      </requestedPrivileges>
    </security>
  </trustInfo>
  <compatibility xmlns="urn:schemas-microsoft-com:compatibility.v1">
    <application>
      <supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/>
    </application>
  </compatibility>
  <application xmlns="urn:schemas-microsoft-com:asm.v3">
    <windowsSettings>
      <longPathAware xmlns="http://schemas.microsoft.com/SMI/2016/WindowsSettings">true</longPathAware>
      <activeCodePage xmlns="http://schemas.microsoft.com/SMI/2019/WindowsSettings">UTF-8</activeCodePage>
    </windowsSettings>
  </application>
</assembly>
"#;
    std::fs::write(out.join("condafix.manifest"), manifest).unwrap();
    let rc = format!(
        r#"#pragma code_page(65001)
1 24 "condafix.manifest"
1 VERSIONINFO
FILEVERSION {comma}
PRODUCTVERSION {comma}
FILEOS 0x40004
FILETYPE 0x1
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "condafix\0"
      VALUE "FileDescription", "condafix: makes a conda install's Python able to do HTTPS\0"
      VALUE "FileVersion", "{version}\0"
      VALUE "InternalName", "condafix\0"
      VALUE "OriginalFilename", "condafix.exe\0"
      VALUE "ProductName", "condafix\0"
      VALUE "ProductVersion", "{version}\0"
      VALUE "LegalCopyright", "MIT OR Apache-2.0\0"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
"#
    );
    let rc_path = out.join("condafix.rc");
    std::fs::write(&rc_path, rc).unwrap();
    embed_resource::compile(&rc_path, embed_resource::NONE)
        .manifest_required()
        .unwrap();
}
