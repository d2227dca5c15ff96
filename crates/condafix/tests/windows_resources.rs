//! The built condafix.exe describes itself: a VERSIONINFO resource whose fixed file version and
//! strings are this crate's version (Intune and ConfigMgr file-version detection rules read
//! them), and an application manifest (asInvoker, long paths, UTF-8 code page). Read from the
//! exe's resource directory with the PE reader, not grepped.
#![cfg(windows)]

use object::pe;
use object::read::pe::{PeFile64, ResourceDirectoryEntryData, ResourceNameOrId};
use object::LittleEndian as LE;

/// The bytes of every resource of `kind` (an RT_* id) in the exe.
fn resources(data: &[u8], kind: u16) -> Vec<Vec<u8>> {
    let file = PeFile64::parse(data).expect("a PE32+ image");
    let sections = file.section_table();
    let dir = file
        .data_directories()
        .resource_directory(data, &sections)
        .expect("a resource directory")
        .expect("resources present");
    let root = dir.root().expect("the root table");
    let mut out = Vec::new();
    for t in root.entries {
        if t.name_or_id().id() != Some(kind) {
            continue;
        }
        let Ok(ResourceDirectoryEntryData::Table(names)) = t.data(dir) else {
            continue;
        };
        for n in names.entries {
            let Ok(ResourceDirectoryEntryData::Table(langs)) = n.data(dir) else {
                continue;
            };
            for l in langs.entries {
                if let Ok(ResourceDirectoryEntryData::Data(d)) = l.data(dir) {
                    let rva = d.offset_to_data.get(LE);
                    let size = d.size.get(LE) as usize;
                    let bytes = sections
                        .pe_data_at(data, rva)
                        .expect("resource data in a section");
                    out.push(bytes[..size].to_vec());
                }
            }
        }
    }
    let _ = ResourceNameOrId::Id(0);
    out
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_exe_carries_its_version_resource_and_manifest() {
    let data = fs_err::read(env!("CARGO_BIN_EXE_condafix")).unwrap();
    let versions = resources(&data, pe::RT_VERSION);
    assert_eq!(versions.len(), 1, "one VERSIONINFO");
    let v = &versions[0];
    // VS_FIXEDFILEINFO: its signature, then the file version as two DWORDs (major.minor,
    // patch.build).
    let sig = 0xFEEF_04BDu32.to_le_bytes();
    let at = v
        .windows(4)
        .position(|w| w == sig)
        .expect("VS_FIXEDFILEINFO");
    let dword = |o: usize| u32::from_le_bytes(v[at + o..at + o + 4].try_into().unwrap());
    let mut parts = env!("CARGO_PKG_VERSION")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor, patch) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    assert_eq!(dword(8), (major << 16) | minor, "FileVersion high");
    assert_eq!(dword(12), patch << 16, "FileVersion low");
    for (key, value) in [
        ("ProductName", "condafix"),
        ("FileVersion", env!("CARGO_PKG_VERSION")),
        ("CompanyName", "condafix"),
        ("OriginalFilename", "condafix.exe"),
    ] {
        assert!(contains(v, &utf16(key)), "{key}");
        assert!(contains(v, &utf16(value)), "{key} = {value}");
    }
    assert!(contains(v, &utf16("FileDescription")));

    let manifests = resources(&data, pe::RT_MANIFEST);
    assert_eq!(manifests.len(), 1, "one manifest");
    let m = String::from_utf8_lossy(&manifests[0]);
    for needle in [
        r#"level="asInvoker""#,
        "<longPathAware",
        ">true</longPathAware>",
        ">UTF-8</activeCodePage>",
    ] {
        assert!(m.contains(needle), "{needle} in\n{m}");
    }
}
