//! Machine and imported DLL names of a PE file (`.pyd`, `.dll`, `.exe`), via the `object` crate.
//! Damaged input is described, never a panic: a Git LFS pointer checked out instead of the DLL,
//! a truncated download, a file that is not PE at all.

use object::read::pe::{ImageNtHeaders, PeFile, PeFile32, PeFile64};
use object::{pe, FileKind, LittleEndian as LE};
use serde::Serialize;

/// The CPU a PE image is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Machine {
    X64,
    X86,
    Arm64,
    Other(u16),
}

impl Machine {
    pub fn from_coff(machine: u16) -> Self {
        match machine {
            pe::IMAGE_FILE_MACHINE_AMD64 => Machine::X64,
            pe::IMAGE_FILE_MACHINE_I386 => Machine::X86,
            pe::IMAGE_FILE_MACHINE_ARM64 => Machine::Arm64,
            other => Machine::Other(other),
        }
    }

    pub fn coff(self) -> u16 {
        match self {
            Machine::X64 => pe::IMAGE_FILE_MACHINE_AMD64,
            Machine::X86 => pe::IMAGE_FILE_MACHINE_I386,
            Machine::Arm64 => pe::IMAGE_FILE_MACHINE_ARM64,
            Machine::Other(m) => m,
        }
    }

    pub fn label(self) -> String {
        match self {
            Machine::X64 => "x64".into(),
            Machine::X86 => "x86".into(),
            Machine::Arm64 => "arm64".into(),
            Machine::Other(m) => format!("machine 0x{m:04x}"),
        }
    }
}

/// What the PE headers say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeInfo {
    pub machine: Machine,
    /// Imported DLL names as written in the import table, in table order.
    pub imports: Vec<String>,
}

/// Why a file could not be read as a PE image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
        }
    }
}

const LFS_MAGIC: &[u8] = b"version https://git-lfs.github.com/spec/";

/// Read the machine and imports of a PE image held in memory.
pub fn read_pe(data: &[u8]) -> Result<PeInfo, PeProblem> {
    if data.is_empty() {
        return Err(PeProblem::Empty);
    }
    if data.starts_with(LFS_MAGIC) {
        return Err(PeProblem::LfsPointer {
            size: data.len() as u64,
        });
    }
    if !data.starts_with(b"MZ") {
        return Err(PeProblem::NotPe);
    }
    let truncated = |e: object::Error| PeProblem::Truncated {
        detail: e.to_string(),
    };
    match FileKind::parse(data).map_err(truncated)? {
        FileKind::Pe32 => imports_of(&PeFile32::parse(data).map_err(truncated)?),
        FileKind::Pe64 => imports_of(&PeFile64::parse(data).map_err(truncated)?),
        // MZ without a PE header: a DOS program or a damaged file.
        _ => Err(PeProblem::Truncated {
            detail: "no PE signature after the DOS header".into(),
        }),
    }
}

fn imports_of<Pe: ImageNtHeaders>(file: &PeFile<'_, Pe>) -> Result<PeInfo, PeProblem> {
    let truncated = |e: object::Error| PeProblem::Truncated {
        detail: e.to_string(),
    };
    let machine = Machine::from_coff(file.nt_headers().file_header().machine.get(LE));
    let mut imports = Vec::new();
    if let Some(table) = file.import_table().map_err(truncated)? {
        let mut descriptors = table.descriptors().map_err(truncated)?;
        while let Some(desc) = descriptors.next().map_err(truncated)? {
            let name = table.name(desc.name.get(LE)).map_err(truncated)?;
            imports.push(String::from_utf8_lossy(name).into_owned());
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
}
