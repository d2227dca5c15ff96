//! Machine and imported DLL names of a PE file (`.pyd`, `.dll`, `.exe`), via the `object` crate.
//! Damaged input is described, never a panic: a Git LFS pointer checked out instead of the DLL,
//! a truncated download, a file that is not PE at all.

use object::read::pe::{ImageNtHeaders, PeFile};
use object::{pe, FileKind, LittleEndian as LE, ReadRef};
use serde::Serialize;

/// The CPU a PE image is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Machine {
    X64,
    X86,
    Arm64,
    /// ARM64EC (`0xA641`): ARM64 code that runs in an x64 process.
    Arm64Ec,
    /// ARM64X (`0xA64E`): one image for both ARM64 and ARM64EC/x64 processes.
    Arm64X,
    Other(u16),
}

/// `IMAGE_FILE_MACHINE_ARM64EC`.
const MACHINE_ARM64EC: u16 = 0xA641;
/// `IMAGE_FILE_MACHINE_ARM64X`.
const MACHINE_ARM64X: u16 = 0xA64E;

impl Machine {
    pub fn from_coff(machine: u16) -> Self {
        match machine {
            pe::IMAGE_FILE_MACHINE_AMD64 => Machine::X64,
            pe::IMAGE_FILE_MACHINE_I386 => Machine::X86,
            pe::IMAGE_FILE_MACHINE_ARM64 => Machine::Arm64,
            MACHINE_ARM64EC => Machine::Arm64Ec,
            MACHINE_ARM64X => Machine::Arm64X,
            other => Machine::Other(other),
        }
    }

    pub fn coff(self) -> u16 {
        match self {
            Machine::X64 => pe::IMAGE_FILE_MACHINE_AMD64,
            Machine::X86 => pe::IMAGE_FILE_MACHINE_I386,
            Machine::Arm64 => pe::IMAGE_FILE_MACHINE_ARM64,
            Machine::Arm64Ec => MACHINE_ARM64EC,
            Machine::Arm64X => MACHINE_ARM64X,
            Machine::Other(m) => m,
        }
    }

    pub fn label(self) -> String {
        match self {
            Machine::X64 => "x64".into(),
            Machine::X86 => "x86".into(),
            Machine::Arm64 => "arm64".into(),
            Machine::Arm64Ec => "arm64ec".into(),
            Machine::Arm64X => "arm64x".into(),
            Machine::Other(m) => format!("machine 0x{m:04x}"),
        }
    }

    /// Whether a process of this machine (the interpreter's) can load a DLL of `dll`'s: the
    /// same machine; an ARM64X image in an ARM64, ARM64EC or x64 process; an ARM64EC image in
    /// an x64 or ARM64EC process.
    pub fn can_load(self, dll: Machine) -> bool {
        use Machine::*;
        self == dll
            || matches!(
                (self, dll),
                (Arm64 | Arm64Ec | X64, Arm64X) | (X64, Arm64Ec) | (Arm64Ec, X64)
            )
    }
}

/// What the PE headers say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PeInfo {
    pub machine: Machine,
    /// Imported DLL names as written in the import table, in table order.
    pub imports: Vec<String>,
}

/// Why a file could not be read as a PE image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PeProblem {
    /// Zero bytes.
    Empty,
    /// A Git LFS pointer file (the real bytes were never fetched).
    LfsPointer { size: u64 },
    /// Not an `MZ` executable at all.
    NotPe,
    /// Starts like a PE image but its headers or import table are cut off or damaged.
    Truncated { detail: String },
    /// The file exists but could not be read (permissions, a lock, an I/O error).
    Unreadable { detail: String },
    /// A symlink or junction: condafix does not read through links.
    Link,
    /// Larger than any DLL: not read.
    TooLarge { size: u64 },
    /// The import table names a DLL by a path (`..\x\evil.dll`), not a file name.
    ImportByPath { name: String },
}

impl std::fmt::Display for PeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeProblem::Empty => f.write_str("the file is empty"),
            PeProblem::LfsPointer { size } => write!(
                f,
                "the file is a {size}-byte Git LFS pointer, not the DLL (the real file was never downloaded)"
            ),
            PeProblem::NotPe => f.write_str("the file is not a Windows executable (no PE header)"),
            PeProblem::Truncated { detail } => {
                write!(f, "the file is a truncated or damaged PE image ({detail})")
            }
            PeProblem::Unreadable { detail } => write!(f, "the file cannot be read ({detail})"),
            PeProblem::Link => f.write_str(
                "the file is a link (a symlink or junction); condafix does not read through links",
            ),
            PeProblem::TooLarge { size } => write!(
                f,
                "the file is {size} bytes, larger than any DLL; it is not read"
            ),
            PeProblem::ImportByPath { name } => write!(
                f,
                "its import table names a DLL by a path ({name:?}), not a file name; refused"
            ),
        }
    }
}

const LFS_MAGIC: &[u8] = b"version https://git-lfs.github.com/spec/";

/// What the first bytes say: empty, a Git LFS pointer, not a PE image at all.
fn check_head(head: &[u8], len: u64) -> Result<(), PeProblem> {
    if len == 0 {
        return Err(PeProblem::Empty);
    }
    if head.starts_with(LFS_MAGIC) {
        return Err(PeProblem::LfsPointer { size: len });
    }
    if !head.starts_with(b"MZ") {
        return Err(PeProblem::NotPe);
    }
    Ok(())
}

/// Read the machine and imports of a PE image held in memory.
pub fn read_pe(data: &[u8]) -> Result<PeInfo, PeProblem> {
    check_head(data, data.len() as u64)?;
    parse(data, data.len() as u64)
}

/// Read the machine and imports of the PE image in `file` (`len` bytes), reading only the
/// headers and the import table, never the whole file.
// std::fs::File: what the no-follow open of `safe_read` hands back.
#[allow(clippy::disallowed_types)]
pub fn read_pe_file(file: &std::fs::File, len: u64) -> Result<PeInfo, PeProblem> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    let unreadable = |e: std::io::Error| PeProblem::Unreadable {
        detail: e.to_string(),
    };
    let mut head = Vec::with_capacity(LFS_MAGIC.len());
    f.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    f.take(LFS_MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    check_head(&head, len)?;
    let cache = object::read::ReadCache::new(file);
    parse(&cache, len)
}

fn parse<'a, R: ReadRef<'a>>(data: R, len: u64) -> Result<PeInfo, PeProblem> {
    let truncated = |e: object::Error| PeProblem::Truncated {
        detail: e.to_string(),
    };
    match FileKind::parse(data).map_err(truncated)? {
        FileKind::Pe32 => imports_of(
            &PeFile::<pe::ImageNtHeaders32, R>::parse(data).map_err(truncated)?,
            len,
        ),
        FileKind::Pe64 => imports_of(
            &PeFile::<pe::ImageNtHeaders64, R>::parse(data).map_err(truncated)?,
            len,
        ),
        // MZ without a PE header: a DOS program or a damaged file.
        _ => Err(PeProblem::Truncated {
            detail: "no PE signature after the DOS header".into(),
        }),
    }
}

fn imports_of<'a, Pe: ImageNtHeaders, R: ReadRef<'a>>(
    file: &PeFile<'a, Pe, R>,
    len: u64,
) -> Result<PeInfo, PeProblem> {
    let truncated = |e: object::Error| PeProblem::Truncated {
        detail: e.to_string(),
    };
    // A file cut short inside a section (an interrupted download) would not load.
    for section in file.section_table().iter() {
        let (offset, size) = section.pe_file_range();
        let end = u64::from(offset) + u64::from(size);
        if end > len {
            return Err(PeProblem::Truncated {
                detail: format!(
                    "section {} ends at byte {end}, past the end of the file ({len} bytes)",
                    String::from_utf8_lossy(section.raw_name())
                ),
            });
        }
    }
    let machine = Machine::from_coff(file.nt_headers().file_header().machine.get(LE));
    let mut imports = Vec::new();
    if let Some(table) = file.import_table().map_err(truncated)? {
        let mut descriptors = table.descriptors().map_err(truncated)?;
        while let Some(desc) = descriptors.next().map_err(truncated)? {
            let name = table.name(desc.name.get(LE)).map_err(truncated)?;
            let name = String::from_utf8_lossy(name).into_owned();
            if crate::guard::bare_file_name(&name).is_err() {
                return Err(PeProblem::ImportByPath { name });
            }
            imports.push(name);
        }
    }
    Ok(PeInfo { machine, imports })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_inputs_are_described_not_panicked_on() {
        assert_eq!(read_pe(b""), Err(PeProblem::Empty));
        assert_eq!(read_pe(b"hello"), Err(PeProblem::NotPe));
        let lfs = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n";
        assert!(matches!(read_pe(lfs), Err(PeProblem::LfsPointer { .. })));
        assert!(matches!(
            read_pe(b"MZ\0\0"),
            Err(PeProblem::Truncated { .. })
        ));
    }

    #[test]
    fn arm64ec_and_arm64x_are_named_and_loadable_where_windows_loads_them() {
        assert_eq!(Machine::from_coff(0xA641), Machine::Arm64Ec);
        assert_eq!(Machine::from_coff(0xA64E).label(), "arm64x");
        assert_eq!(Machine::Arm64Ec.coff(), 0xA641);
        assert!(Machine::X64.can_load(Machine::Arm64X));
        assert!(Machine::Arm64.can_load(Machine::Arm64X));
        assert!(Machine::X64.can_load(Machine::Arm64Ec));
        assert!(!Machine::Arm64.can_load(Machine::X64));
        assert!(!Machine::X86.can_load(Machine::X64));
        assert!(!Machine::X64.can_load(Machine::X86));
        assert!(!Machine::X86.can_load(Machine::Arm64X));
    }
}
