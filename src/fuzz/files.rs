//! Targets for the file formats condafix reads from a prefix or a bundle: the PE reader,
//! pip.ini and .condarc (read, and edited into a file pip or conda can read), conda-meta
//! records, condafix's receipt and journal, the three archive readers and the bundle manifest,
//! and text decoding.

use std::io::Read as _;
use std::path::Path;

use condafix_prefix::archive::{with_member, ArchiveKind};
use condafix_prefix::guard::{bare_file_name, RelPath};
use condafix_prefix::{Layout, PrefixRecord, RecordFiles, RecordHeader, Sha256};

pub fn pe_seeds() -> Vec<Vec<u8>> {
    use condafix_fixtures::{Arch, OpenSsl, OpenSslLib, Python};
    let ssl = OpenSsl::new("3.0.15", "h827c3e9_0");
    let py = Python::new("3.12.7", "h14ffc60_0", "pkgs/main").linked_to(&ssl);
    let x86 = OpenSsl::new("1.1.1d", "he774522_2").arch(Arch::X86);
    let real = py.ssl_pyd_bytes();
    vec![
        real.clone(),
        py.dll_bytes(),
        py.exe_bytes(),
        ssl.dll_bytes(OpenSslLib::Ssl),
        ssl.dll_bytes(OpenSslLib::Crypto),
        x86.dll_bytes(OpenSslLib::Ssl),
        condafix_fixtures::lfs_pointer(&real),
        real[..real.len() / 2].to_vec(),
    ]
}

pub fn run_pe(data: &[u8]) {
    if let Ok(info) = condafix_prefix::read_pe(data) {
        for name in &info.imports {
            assert!(
                bare_file_name(name).is_ok(),
                "an import that is not a file name passed: {name:?}"
            );
        }
    }
}

const PIP_INI: &[&str] = &[
    "[global]\ncert = C:\\certs\\corp.pem\ntrusted-host = pypi.org\n\tfiles.pythonhosted.org\n",
    "; comment\r\n[global]\r\nindex-url = https://user:pass@idx.corp/simple\r\n[install]\r\ntrusted-host=h\r\n",
    "[global]\nproxy = user:pass@proxy:3128\ntimeout: 60\n  continued\n",
    "\u{feff}[global]\ncert = a\n",
    "[global]\ncert = a\ncert = b\n[global]\n",
    "{{ template }}\n[global]\n",
    "",
];

pub fn pip_seeds() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = PIP_INI.iter().map(|s| s.as_bytes().to_vec()).collect();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(PIP_INI[0].encode_utf16().flat_map(|u| u.to_le_bytes()));
    v.push(utf16);
    v
}

pub fn run_pip(data: &[u8]) {
    use condafix_config::text_edit::{edit_ini, IniEdit};
    let _ = condafix_detect::tls::parse_pip_config(data, Path::new("pip.ini"));
    let edit = IniEdit {
        set: vec![(
            "global".into(),
            "cert".into(),
            "C:\\x\\ca-bundle.pem".into(),
        )],
        remove: vec!["trusted-host".into()],
    };
    if let Ok(e) = edit_ini(Some(data), &edit) {
        let parsed = condafix_prefix::ini::parse_ini(&e.text);
        assert!(
            parsed.errors.is_empty(),
            "an edit produced a file pip cannot read: {:?}",
            parsed.errors
        );
    }
}

const CONDARC: &[&str] = &[
    "ssl_verify: false\nproxy_servers:\n  http: http://u:p@proxy:8080\n  https: u:p@proxy:8080\n",
    "channels:\n  - defaults\nssl_verify: C:\\certs\\corp.pem\r\n",
    "\u{feff}ssl_verify: truststore\r\nchannel_alias: https://conda.anaconda.org/t/tk-123456789/\r\n",
    "custom_channels:\n  corp: https://cu:pw@conda.corp\n# comment\nssl_verify: true\n",
    "ssl_verify: [unclosed\n",
    "",
];

pub fn condarc_seeds() -> Vec<Vec<u8>> {
    CONDARC.iter().map(|s| s.as_bytes().to_vec()).collect()
}

pub fn run_condarc(data: &[u8]) {
    use condafix_config::text_edit::{edit_condarc, YamlValue};
    let _ = condafix_detect::tls::parse_condarc(data, Path::new(".condarc"));
    let set = vec![(
        "ssl_verify".to_string(),
        YamlValue::Scalar("C:\\x\\ca-bundle.pem".into()),
    )];
    let remove = vec![("ssl_verify".to_string(), "false".to_string())];
    if let Ok(e) = edit_condarc(Some(data), &set, &remove) {
        assert!(
            yaml_rust2::YamlLoader::load_from_str(&e.text).is_ok(),
            "an edit produced a .condarc conda cannot read:\n{}",
            e.text
        );
    }
}

pub fn record_seeds() -> Vec<Vec<u8>> {
    use condafix_fixtures::scenarios;
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = scenarios::anaconda_2024_10().with_pip("24.2");
    let prefix = condafix_fixtures::FakeMachine::new(dir.path()).install("C:\\p", &spec);
    let mut v = Vec::new();
    for e in fs_err::read_dir(prefix.join("conda-meta"))
        .expect("conda-meta")
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "json") {
            let bytes = fs_err::read(e.path()).expect("record");
            if bytes.len() < 64 * 1024 {
                v.push(bytes);
            }
        }
    }
    v
}

pub fn run_record(data: &[u8]) {
    let _ = serde_json::from_slice::<RecordHeader>(data);
    if let Ok(r) = serde_json::from_slice::<RecordFiles<'_>>(data) {
        let _ = r.installed(Layout::Windows, Some((3, 12)));
    }
    if let Ok(r) = serde_json::from_slice::<PrefixRecord>(data) {
        for layout in [Layout::Windows, Layout::Unix] {
            let _ = r.entries_by_installed_path(layout, Some((3, 12)));
            let _ = r.installed_entries(layout, None);
        }
        let _ = r.dist_name();
    }
}

pub fn state_seeds() -> Vec<Vec<u8>> {
    let sha = Sha256::of_bytes(b"x").to_hex();
    vec![
        format!(r#"{{"schema_version":2,"entries":[{{"path":"DLLs/libssl-3-x64.dll","action":"replaced","sha256":"{sha}","size":1,"backup":"backup/txn-0001/DLLs/libssl-3-x64.dll","backup_sha256":"{sha}","origin":"o","txn":"txn-0001"}}],"registry":[{{"hive":"HKCU","key":"Environment","name":"Path","before":{{"type":"REG_EXPAND_SZ","data":"%X%"}},"after":null,"origin":"o","txn":"txn-0001"}}],"history":[{{"txn":"txn-0001","command":"stage","changes":1}}]}}"#).into_bytes(),
        format!(r#"{{"txn":"txn-0002","command":"config","ops":[{{"path":"pip.ini","kind":"write","new_sha256":"{sha}","backup":"backup/txn-0002/pip.ini","existed":true,"state":"backed-up"}},{{"path":"HKCU\\Environment\\Path","kind":"registry","new_sha256":null,"backup":null,"existed":true,"state":"done","registry":{{"hive":"HKCU","key":"Environment","name":"Path","before":null,"after":{{"type":"REG_SZ","data":"C:\\p"}}}}}}],"receipt_written":false}}"#).into_bytes(),
    ]
}

/// The checks of a prefix's state and of a user's (with one file on its allow-list).
fn state_checks() -> [condafix_txn::Checks; 2] {
    [
        condafix_txn::Checks::prefix(),
        condafix_txn::Checks {
            outside: Some(condafix_txn::OutsideFiles::new([std::path::PathBuf::from(
                "C:\\Users\\me\\pip\\pip.ini",
            )])),
            registry: condafix_txn::RegistryScope::CurrentUser,
        },
    ]
}

pub fn run_receipt(data: &[u8]) {
    for c in state_checks() {
        let _ = condafix_txn::check_receipt_bytes(data, &c);
    }
}

pub fn run_journal(data: &[u8]) {
    for c in state_checks() {
        let _ = condafix_txn::check_journal_bytes(data, &c);
    }
}

fn dll_files() -> Vec<(String, Vec<u8>)> {
    use condafix_fixtures::{OpenSsl, OpenSslLib};
    let ssl = OpenSsl::new("3.0.15", "h827c3e9_0");
    [OpenSslLib::Ssl, OpenSslLib::Crypto]
        .iter()
        .map(|&l| (format!("Library/bin/{}", ssl.dll_name(l)), ssl.dll_bytes(l)))
        .collect()
}

fn archive_run(kind: ArchiveKind, ext: &str, data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("openssl-3.0.15-h827c3e9_0{ext}"));
    fs_err::write(&path, data).expect("write");
    let _ = with_member(kind, &path, "Library/bin/libssl-3-x64.dll", |r| {
        Sha256::of_reader(r.take(1 << 20))
    });
    if kind == ArchiveKind::Zip {
        if let Ok(mut b) = condafix_prefix::archive::Bundle::open(&path) {
            for (_, name) in b.entries_named("libssl-3-x64.dll") {
                let _ = b.with_member(&name, |r| Sha256::of_reader(r.take(1 << 20)));
            }
        }
    }
}

pub fn conda_seeds() -> Vec<Vec<u8>> {
    vec![condafix_fixtures::archives::conda_package(
        "openssl-3.0.15-h827c3e9_0",
        &dll_files(),
    )]
}

pub fn tar_bz2_seeds() -> Vec<Vec<u8>> {
    vec![condafix_fixtures::archives::tar_bz2_package(&dll_files())]
}

pub fn zip_seeds() -> Vec<Vec<u8>> {
    vec![condafix_fixtures::archives::bundle(&dll_files(), &[])]
}

pub fn manifest_seeds() -> Vec<Vec<u8>> {
    let sha = Sha256::of_bytes(b"x").to_hex();
    vec![
        format!(
            "{sha}  Library/bin/libssl-3-x64.dll\n{sha} *Library/bin/libcrypto-3-x64.dll\n# c\n\n"
        )
        .into_bytes(),
        format!("{sha}\n").into_bytes(),
    ]
}

pub fn run_manifest(data: &[u8]) {
    if let Ok(entries) = condafix_prefix::archive::parse_manifest(Path::new("SHA256SUMS"), data) {
        for (_, name) in entries {
            assert!(
                RelPath::parse(&name).is_ok(),
                "a manifest name the guard refuses passed: {name:?}"
            );
        }
    }
}

pub fn run_archive_conda(data: &[u8]) {
    archive_run(ArchiveKind::Conda, ".conda", data)
}

pub fn run_archive_tar_bz2(data: &[u8]) {
    archive_run(ArchiveKind::TarBz2, ".tar.bz2", data)
}

pub fn run_archive_zip(data: &[u8]) {
    archive_run(ArchiveKind::Zip, ".zip", data)
}
