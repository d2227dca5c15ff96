//! Tiny but real PE images: valid headers, a `.rdata` payload (so that two "versions" of a DLL
//! differ in bytes and hash), and an import table the loader and `condafix-prefix` can read.

use object::pe;
use object::write::pe::{NtHeaders, Writer};

/// The CPU of a generated image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    X64,
    X86,
}

impl Arch {
    fn coff(self) -> u16 {
        match self {
            Arch::X64 => pe::IMAGE_FILE_MACHINE_AMD64,
            Arch::X86 => pe::IMAGE_FILE_MACHINE_I386,
        }
    }
    fn is_64(self) -> bool {
        self == Arch::X64
    }
}

/// One imported DLL and the functions taken from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub dll: String,
    pub functions: Vec<String>,
}

impl Import {
    pub fn new(dll: &str, functions: &[&str]) -> Self {
        Self {
            dll: dll.to_string(),
            functions: functions.iter().map(|f| f.to_string()).collect(),
        }
    }
}

/// What to put in a generated image.
#[derive(Debug, Clone)]
pub struct PeSpec {
    pub arch: Arch,
    pub dll: bool,
    pub imports: Vec<Import>,
    /// Bytes placed in `.rdata` (a version banner, say).
    pub payload: Vec<u8>,
}

const FILE_ALIGN: u32 = 0x200;
const SECTION_ALIGN: u32 = 0x1000;

/// Grow `payload` with filler (code-like bytes, no text) to about `size` bytes: real DLL sizes
/// for benchmarks.
pub fn pad(payload: &mut Vec<u8>, size: usize) {
    let mut x: u32 = 0x9e37_79b9;
    while payload.len() < size.saturating_sub(0x1000) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        payload.push((x >> 24) as u8);
    }
}

/// Build the image bytes.
pub fn build_pe(spec: &PeSpec) -> Vec<u8> {
    let mut payload = spec.payload.clone();
    if payload.is_empty() {
        payload.push(0);
    }
    let idata_len = import_table_len(spec);
    let mut buf = Vec::new();
    let mut w = Writer::new(spec.arch.is_64(), SECTION_ALIGN, FILE_ALIGN, &mut buf);
    w.reserve_dos_header_and_stub();
    w.reserve_nt_headers(pe::IMAGE_NUMBEROF_DIRECTORY_ENTRIES);
    w.reserve_section_headers(if idata_len > 0 { 2 } else { 1 });
    let rdata = w.reserve_rdata_section(payload.len() as u32);
    let idata = (idata_len > 0).then(|| w.reserve_idata_section(idata_len));

    w.write_dos_header_and_stub().expect("DOS header");
    let mut characteristics = pe::IMAGE_FILE_EXECUTABLE_IMAGE;
    characteristics |= if spec.arch.is_64() {
        pe::IMAGE_FILE_LARGE_ADDRESS_AWARE
    } else {
        pe::IMAGE_FILE_32BIT_MACHINE
    };
    if spec.dll {
        characteristics |= pe::IMAGE_FILE_DLL;
    }
    w.write_nt_headers(NtHeaders {
        machine: spec.arch.coff(),
        time_date_stamp: 0,
        characteristics,
        major_linker_version: 14,
        minor_linker_version: 0,
        address_of_entry_point: 0,
        image_base: if spec.arch.is_64() {
            0x1_8000_0000
        } else {
            0x1000_0000
        },
        major_operating_system_version: 6,
        minor_operating_system_version: 0,
        major_image_version: 0,
        minor_image_version: 0,
        major_subsystem_version: 6,
        minor_subsystem_version: 0,
        subsystem: pe::IMAGE_SUBSYSTEM_WINDOWS_CUI,
        dll_characteristics: pe::IMAGE_DLLCHARACTERISTICS_NX_COMPAT,
        size_of_stack_reserve: 0x10_0000,
        size_of_stack_commit: 0x1000,
        size_of_heap_reserve: 0x10_0000,
        size_of_heap_commit: 0x1000,
    });
    w.write_section_headers();
    w.write_section(rdata.file_offset, &payload);
    if let Some(idata) = idata {
        let bytes = import_table_bytes(spec, idata.virtual_address);
        debug_assert_eq!(bytes.len() as u32, idata_len);
        w.write_section(idata.file_offset, &bytes);
    }
    buf
}

fn thunk_size(spec: &PeSpec) -> usize {
    if spec.arch.is_64() {
        8
    } else {
        4
    }
}

fn import_table_len(spec: &PeSpec) -> u32 {
    if spec.imports.is_empty() {
        return 0;
    }
    import_table_bytes(spec, 0).len() as u32
}

/// Lay out descriptors, then per DLL the lookup table and the address table, then hint/name
/// entries, then the DLL names. RVAs are relative to `base` (the section's address).
fn import_table_bytes(spec: &PeSpec, base: u32) -> Vec<u8> {
    let thunk = thunk_size(spec);
    let n = spec.imports.len();
    let descriptors_len = (n + 1) * 20;
    let mut offset = descriptors_len;
    let mut thunk_offsets = Vec::new();
    for imp in &spec.imports {
        let table = (imp.functions.len() + 1) * thunk;
        thunk_offsets.push((offset, offset + table));
        offset += 2 * table;
    }
    let mut hint_offsets = Vec::new();
    for imp in &spec.imports {
        let mut per = Vec::new();
        for f in &imp.functions {
            per.push(offset);
            offset += 2 + f.len() + 1;
            offset += offset % 2;
        }
        hint_offsets.push(per);
    }
    let mut name_offsets = Vec::new();
    for imp in &spec.imports {
        name_offsets.push(offset);
        offset += imp.dll.len() + 1;
    }
    let mut out = vec![0u8; offset];
    let rva = |o: usize| base + o as u32;
    for (i, imp) in spec.imports.iter().enumerate() {
        let d = i * 20;
        let (ilt, iat) = thunk_offsets[i];
        out[d..d + 4].copy_from_slice(&rva(ilt).to_le_bytes());
        out[d + 12..d + 16].copy_from_slice(&rva(name_offsets[i]).to_le_bytes());
        out[d + 16..d + 20].copy_from_slice(&rva(iat).to_le_bytes());
        for (j, f) in imp.functions.iter().enumerate() {
            let h = hint_offsets[i][j];
            for table in [ilt, iat] {
                let at = table + j * thunk;
                let value = u64::from(rva(h));
                out[at..at + thunk].copy_from_slice(&value.to_le_bytes()[..thunk]);
            }
            out[h + 2..h + 2 + f.len()].copy_from_slice(f.as_bytes());
        }
        let nm = name_offsets[i];
        out[nm..nm + imp.dll.len()].copy_from_slice(imp.dll.as_bytes());
    }
    out
}
