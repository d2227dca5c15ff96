//! The PE reader against images written by an independent writer (the fixtures crate).

use condafix_fixtures::{build_pe, lfs_pointer, Arch, Import, OpenSsl, OpenSslLib, PeSpec};
use condafix_prefix::{read_pe, Machine, PeProblem};

#[test]
fn libssl_imports_libcrypto_and_reports_its_machine() {
    let ssl = OpenSsl::new("3.0.15", "h827c3e9_0");
    let info = read_pe(&ssl.dll_bytes(OpenSslLib::Ssl)).unwrap();
    assert_eq!(info.machine, Machine::X64);
    assert_eq!(
        info.imports,
        vec!["libcrypto-3-x64.dll", "KERNEL32.dll", "VCRUNTIME140.dll"]
    );
}

#[test]
fn a_32_bit_image_is_recognised() {
    let ssl = OpenSsl::new("1.1.1d", "x").arch(Arch::X86);
    let info = read_pe(&ssl.dll_bytes(OpenSslLib::Ssl)).unwrap();
    assert_eq!(info.machine, Machine::X86);
    assert_eq!(info.imports[0], "libcrypto-1_1.dll");
}

#[test]
fn every_truncation_of_a_real_image_is_an_error_never_a_panic() {
    let bytes = build_pe(&PeSpec {
        arch: Arch::X64,
        dll: true,
        imports: vec![Import::new("libssl-3-x64.dll", &["SSL_new"])],
        payload: b"payload".to_vec(),
    });
    assert!(read_pe(&bytes).is_ok());
    for len in 0..bytes.len() {
        // Cut anywhere: the reader must answer, and any answer but the full import list is
        // acceptable only as a described problem.
        match read_pe(&bytes[..len]) {
            Ok(info) => assert!(info.imports.len() <= 1),
            Err(PeProblem::Empty | PeProblem::NotPe | PeProblem::Truncated { .. }) => {}
            Err(other) => panic!("unexpected {other:?} at {len}"),
        }
    }
    let cut = read_pe(&bytes[..bytes.len() / 2]);
    assert!(matches!(cut, Err(PeProblem::Truncated { .. })), "{cut:?}");
}

#[test]
fn a_git_lfs_pointer_is_named_as_such() {
    let real = OpenSsl::new("3.0.15", "x").dll_bytes(OpenSslLib::Crypto);
    let pointer = lfs_pointer(&real);
    assert!(pointer.len() < 200);
    let err = read_pe(&pointer).unwrap_err();
    assert!(matches!(err, PeProblem::LfsPointer { .. }));
    assert!(err.to_string().contains("Git LFS pointer"));
}
