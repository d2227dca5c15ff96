//! Fuzzing the readers of untrusted input: the PE reader, pip.ini and .condarc (read and
//! edited), conda-meta records, condafix's receipt and journal, the archive readers and the
//! bundle manifest, the path guard, and the credential redaction. A small mutation engine
//! (bit flips, interesting bytes, inserts, deletes, duplicated ranges, splices between seeds,
//! truncation) over seeds built from the fixtures; every input runs under `catch_unwind`, and a
//! panic is a crash. `cargo test` runs each target for a bounded count (`tests/fuzz.rs`);
//! `scripts/fuzz.sh` runs each for a fixed time and prints executions and crashes.
//!
//! Besides "no panic", some targets check a property: an edit that succeeds yields a file pip
//! (or conda) can parse; a path the guard accepts stays under its root; redaction is
//! idempotent.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use condafix_prefix::archive::{with_member, ArchiveKind};
use condafix_prefix::guard::{bare_file_name, RelPath};
use condafix_prefix::{Layout, PrefixRecord, RecordFiles, RecordHeader, Sha256};

/// One fuzz target.
pub struct Target {
    pub name: &'static str,
    /// Seeds: realistic inputs the mutations start from.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Runs one input; panics on a bug (a crash or a broken property).
    pub run: fn(&[u8]),
}

/// A tiny deterministic PRNG (xorshift64*), so that a run can be repeated from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\n', b'\r', b'/', b'\\', b'.', b':', b'@', b'"', b'[', b']', b'=',
    b'\t', b' ',
];

/// One to four stacked mutations of `input`, splicing from `corpus`.
pub fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                out.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                out.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let chunk = out[i..i + n].to_vec();
                let at = rng.below(len + 1);
                out.splice(at..at, chunk);
            }
            5 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - i).min(256));
                    let at = rng.below(len + 1);
                    out.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            6 if len > 0 => out.truncate(rng.below(len)),
            _ if len > 3 => {
                // A 32-bit field set to something extreme (offsets, sizes, counts).
                let i = rng.below(len - 3);
                let v: u32 = [0, 1, 0x7fff_ffff, 0xffff_ffff, 0x1000, len as u32][rng.below(6)];
                out[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            _ => {}
        }
    }
    out
}

/// How long to fuzz a target.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    Executions(u64),
    Time(Duration),
}

/// What a fuzzing run found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub executions: u64,
    /// Each crash: the input and the panic message.
    pub crashes: Vec<(Vec<u8>, String)>,
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Fuzz `target` within `budget`, starting from its seeds (which run first, unmutated).
pub fn fuzz(target: &Target, budget: Budget, seed: u64) -> Outcome {
    let mut corpus = (target.seeds)();
    let mut rng = Rng::new(seed);
    let mut outcome = Outcome::default();
    let start = Instant::now();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut pending: Vec<Vec<u8>> = corpus.clone();
    loop {
        let done = match budget {
            Budget::Executions(n) => outcome.executions >= n,
            Budget::Time(d) => start.elapsed() >= d,
        };
        if done || outcome.crashes.len() >= 10 {
            break;
        }
        let input = pending.pop().unwrap_or_else(|| {
            let base = corpus[rng.below(corpus.len())].clone();
            mutate(&mut rng, &base, &corpus)
        });
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        outcome.executions += 1;
        match result {
            Err(p) => outcome.crashes.push((input, panic_text(&*p))),
            // Keep some survivors: later mutations start further from the seeds.
            Ok(()) if rng.below(64) == 0 && corpus.len() < 512 && input.len() < 1 << 20 => {
                corpus.push(input)
            }
            Ok(()) => {}
        }
    }
    std::panic::set_hook(previous);
    outcome
}

fn pe_seeds() -> Vec<Vec<u8>> {
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

fn run_pe(data: &[u8]) {
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

fn pip_seeds() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = PIP_INI.iter().map(|s| s.as_bytes().to_vec()).collect();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(PIP_INI[0].encode_utf16().flat_map(|u| u.to_le_bytes()));
    v.push(utf16);
    v
}

fn run_pip(data: &[u8]) {
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

fn condarc_seeds() -> Vec<Vec<u8>> {
    CONDARC.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn run_condarc(data: &[u8]) {
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

fn record_seeds() -> Vec<Vec<u8>> {
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

fn run_record(data: &[u8]) {
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

fn state_seeds() -> Vec<Vec<u8>> {
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

fn run_receipt(data: &[u8]) {
    for c in state_checks() {
        let _ = condafix_txn::check_receipt_bytes(data, &c);
    }
}

fn run_journal(data: &[u8]) {
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

fn conda_seeds() -> Vec<Vec<u8>> {
    vec![condafix_fixtures::archives::conda_package(
        "openssl-3.0.15-h827c3e9_0",
        &dll_files(),
    )]
}

fn tar_bz2_seeds() -> Vec<Vec<u8>> {
    vec![condafix_fixtures::archives::tar_bz2_package(&dll_files())]
}

fn zip_seeds() -> Vec<Vec<u8>> {
    vec![condafix_fixtures::archives::bundle(&dll_files(), &[])]
}

use std::io::Read as _;

fn manifest_seeds() -> Vec<Vec<u8>> {
    let sha = Sha256::of_bytes(b"x").to_hex();
    vec![
        format!(
            "{sha}  Library/bin/libssl-3-x64.dll\n{sha} *Library/bin/libcrypto-3-x64.dll\n# c\n\n"
        )
        .into_bytes(),
        format!("{sha}\n").into_bytes(),
    ]
}

fn run_manifest(data: &[u8]) {
    if let Ok(entries) = condafix_prefix::archive::parse_manifest(Path::new("SHA256SUMS"), data) {
        for (_, name) in entries {
            assert!(
                RelPath::parse(&name).is_ok(),
                "a manifest name the guard refuses passed: {name:?}"
            );
        }
    }
}

fn guard_seeds() -> Vec<Vec<u8>> {
    [
        "Library/bin/libssl-3-x64.dll",
        "DLLs\\_ssl.pyd",
        "../../x",
        "C:\\Windows\\x.dll",
        "DLLs/NUL.dll",
        ".condafix/backup/txn-0001/DLLs/x.dll",
        "a/./b",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn run_guard(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(rel) = RelPath::parse(&text) {
        let root = Path::new("/prefix");
        let p = rel.under(root);
        assert!(
            p.starts_with(root),
            "{text:?} left the root: {}",
            p.display()
        );
        assert!(
            p.components().all(|c| matches!(
                c,
                std::path::Component::RootDir | std::path::Component::Normal(_)
            )),
            "{text:?} kept a special component: {}",
            p.display()
        );
        assert!(
            rel.components()
                .all(|c| c != ".." && c != "." && !c.is_empty()),
            "{text:?} kept a `..`, `.` or empty component"
        );
    }
    if let Ok(name) = bare_file_name(&text) {
        assert!(!name.contains(['/', '\\']), "{text:?} is not bare");
    }
}

fn redact_seeds() -> Vec<Vec<u8>> {
    [
        "proxy = http://user:pass@proxy:8080",
        "https://TOKEN@pkgs.dev.azure.com/x",
        "u:p@h:1 and x@y",
        "channel_alias: https://conda.anaconda.org/t/tk-123456789/",
        "C:\\Users\\me@corp\\x",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn run_redact(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let once = condafix_detect::redact::redact_credentials(&text);
    let twice = condafix_detect::redact::redact_credentials(&once);
    assert_eq!(once, twice, "redaction is not idempotent for {text:?}");
}

fn run_text(data: &[u8]) {
    let _ = condafix_prefix::text::decode_text(data);
}

/// What a fleet sends, in every format `condafix report` reads.
fn report_seeds() -> Vec<Vec<u8>> {
    use condafix_fixtures::fleet;
    let errors = vec![("D010".to_string(), "stage it".to_string())];
    let warnings = vec![("D022".to_string(), "adopt it".to_string())];
    let devices = fleet::generated(3, 59, &errors, &warnings, 1);
    let mut v = vec![
        fleet::post_install_document(&devices[1], fleet::Vintage::Current)
            .to_string()
            .into_bytes(),
        fleet::post_install_document(&devices[2], fleet::Vintage::Schema2)
            .to_string()
            .into_bytes(),
        fleet::detect_document(&devices[0]).to_string().into_bytes(),
        fleet::graph_run_states(&devices).to_string().into_bytes(),
        fleet::intune_csv(&devices).into_bytes(),
        fleet::ansible_json(&devices[..1]).to_string().into_bytes(),
    ];
    let text = String::from_utf8(v[3].clone()).unwrap_or_default();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    v.push(utf16);
    v
}

fn run_report_input(data: &[u8]) {
    let redact = |s: &str| condafix_detect::redact::redact_credentials(s);
    for name in ["fuzz.json", "fuzz.jsonl", "fuzz.csv"] {
        let (observations, notes) =
            condafix_report::read_bytes(name, data, condafix_report::Limits::default(), &redact);
        for n in &notes {
            assert!(
                !n.kind.is_empty() && !n.problem.is_empty(),
                "an empty note: {n:?}"
            );
        }
        for o in &observations {
            assert!(!o.host.trim().is_empty(), "a device without a name: {o:?}");
        }
    }
}

fn summary_line_seeds() -> Vec<Vec<u8>> {
    [
        "condafix check: compliant (3 prefixes)",
        "condafix check: NOT COMPLIANT (1 of 3 prefixes): C:\\Users\\me\\anaconda3 D010; machine T008",
        "condafix check: NOT COMPLIANT (1 of 2 prefixes) | condafix=0.1.0 healthy=1 broken=1 skipped=0 | broken era=A py=3.7.4 openssl=1.1.1d scope=just-me codes=D010,D022 C:\\Users\\me\\anaconda3 | healthy era=B py=3.12.7 openssl=3.0.15 scope=all-users codes=- C:\\ProgramData\\anaconda3 | +2 more",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// Parsing a summary line never panics, and a line written from what was parsed reads back
/// as the same installs.
fn run_summary_line(data: &[u8]) {
    use condafix_report::summary_line::{self, Line, LineInstall, LineVerdict};
    let text = String::from_utf8_lossy(data);
    let Some(parsed) = summary_line::parse(&text) else {
        return;
    };
    let installs: Vec<LineInstall> = parsed
        .installs
        .iter()
        .filter_map(|i| {
            Some(LineInstall {
                path: i.prefix.clone()?,
                verdict: match i.verdict {
                    condafix_report::Verdict::StillBroken => LineVerdict::Broken,
                    condafix_report::Verdict::Skipped => LineVerdict::Skipped,
                    _ => LineVerdict::Healthy,
                },
                era: i.era,
                python: None,
                openssl: None,
                scope: i.scope,
                codes: Vec::new(),
            })
        })
        .collect();
    let line = summary_line::format(&Line {
        compliant: parsed.compliant,
        condafix_version: "0.1.0".into(),
        installs: installs.clone(),
        config: Vec::new(),
    });
    assert!(line.chars().count() <= summary_line::MAX_CHARS, "{line}");
    assert_eq!(line.lines().count(), 1, "{line:?}");
    let again = summary_line::parse(&line).expect("a line condafix wrote reads back");
    if !line.contains(" more") {
        let paths: Vec<Option<String>> = again.installs.iter().map(|i| i.prefix.clone()).collect();
        let mut want: Vec<Option<String>> = installs.iter().map(|i| Some(i.path.clone())).collect();
        let mut got = paths;
        want.sort();
        got.sort();
        assert_eq!(got, want, "{line}");
    }
}

/// Every fuzz target.
pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "pe",
            seeds: pe_seeds,
            run: run_pe,
        },
        Target {
            name: "pip-ini",
            seeds: pip_seeds,
            run: run_pip,
        },
        Target {
            name: "condarc",
            seeds: condarc_seeds,
            run: run_condarc,
        },
        Target {
            name: "conda-meta",
            seeds: record_seeds,
            run: run_record,
        },
        Target {
            name: "receipt",
            seeds: state_seeds,
            run: run_receipt,
        },
        Target {
            name: "journal",
            seeds: state_seeds,
            run: run_journal,
        },
        Target {
            name: "archive-conda",
            seeds: conda_seeds,
            run: |d| archive_run(ArchiveKind::Conda, ".conda", d),
        },
        Target {
            name: "archive-tar-bz2",
            seeds: tar_bz2_seeds,
            run: |d| archive_run(ArchiveKind::TarBz2, ".tar.bz2", d),
        },
        Target {
            name: "archive-zip",
            seeds: zip_seeds,
            run: |d| archive_run(ArchiveKind::Zip, ".zip", d),
        },
        Target {
            name: "bundle-manifest",
            seeds: manifest_seeds,
            run: run_manifest,
        },
        Target {
            name: "guard",
            seeds: guard_seeds,
            run: run_guard,
        },
        Target {
            name: "redact",
            seeds: redact_seeds,
            run: run_redact,
        },
        Target {
            name: "text",
            seeds: pip_seeds,
            run: run_text,
        },
        Target {
            name: "report-input",
            seeds: report_seeds,
            run: run_report_input,
        },
        Target {
            name: "summary-line",
            seeds: summary_line_seeds,
            run: run_summary_line,
        },
    ]
}
