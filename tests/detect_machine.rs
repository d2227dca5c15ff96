//! Discovery and the TLS-configuration findings over whole fake machines: a fake home with
//! real-world pip.ini and .condarc shapes, fake registry contents that mirror real installs,
//! environment variables. Each scenario asserts its verdict and snapshots the JSON report.

#[path = "../crates/condafix/tests/common/schema.rs"]
mod schema;

use std::path::PathBuf;

use condafix_detect::registry::{FakeRegistry, Hive, RegValue};
use condafix_detect::tls::env::EnvOrigin;
use condafix_detect::tls::TrustMode;
use condafix_detect::{detect_with, Code, MapEnv, Report, SearchContext};
use condafix_detect::{HostInfo, Origin, Scope};
use condafix_fixtures::scenarios::{anaconda_2019_10, anaconda_2024_10, system_path};
use condafix_fixtures::{FakeMachine, PrefixSpec, Tweak, SESSIONS_PY_VERIFY_FALSE};
use condafix_suite::normalize_json;

struct Machine {
    dir: tempfile::TempDir,
    m: FakeMachine,
    env: MapEnv,
    reg: FakeRegistry,
}

impl Machine {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let m = FakeMachine::new(dir.path());
        let mut env = MapEnv::default();
        let home = m.path("C:\\Users\\me");
        fs_err::create_dir_all(&home).unwrap();
        for (k, v) in [
            ("USERPROFILE", home.clone()),
            ("APPDATA", home.join("AppData").join("Roaming")),
            ("LOCALAPPDATA", home.join("AppData").join("Local")),
            ("PROGRAMDATA", m.path("C:\\ProgramData")),
            ("SystemDrive", m.root().to_path_buf()),
            ("SystemRoot", m.windows_dir()),
        ] {
            env.0.insert(k.to_string(), v.into_os_string());
        }
        Self {
            dir,
            m,
            env,
            reg: FakeRegistry::default(),
        }
    }

    fn set_env(&mut self, k: &str, v: impl Into<std::ffi::OsString>) {
        self.env.0.insert(k.to_string(), v.into());
    }

    fn run(&self) -> (Report, String) {
        let host = HostInfo {
            env: &self.env,
            registry: &self.reg,
            windows: true,
            unix_system_dirs: Vec::new(),
            etc_dir: self.m.path("C:\\etc"),
        };
        let ctx = SearchContext {
            system_root: Some(self.m.windows_dir()),
            path: system_path(&self.m),
            ..SearchContext::default()
        };
        let report = detect_with(&host, &[], &ctx).unwrap();
        let mut value = serde_json::to_value(&report).unwrap();
        schema::assert_valid("detect", &value);
        value["condafix_version"] = "[VERSION]".into();
        normalize_json(&mut value, self.dir.path());
        (report, serde_json::to_string_pretty(&value).unwrap())
    }
}

fn snapshot(name: &str, json: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("machine__{name}"), json));
}

fn machine_codes(r: &Report) -> Vec<Code> {
    let mut c: Vec<Code> = r.machine.findings.iter().map(|f| f.code).collect();
    c.sort();
    c
}

fn prefix_codes(r: &Report, i: usize) -> Vec<Code> {
    let mut c: Vec<Code> = r.prefixes[i].findings.iter().map(|f| f.code).collect();
    c.sort();
    c
}

fn utf16le_with_bom(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    v.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
    v
}

#[test]
fn home_with_real_world_pip_ini_shapes() {
    let mut mc = Machine::new();
    mc.m.install(
        "C:\\Users\\me\\anaconda3",
        &anaconda_2024_10().with_pip("24.2"),
    );
    // Legacy user file: the blog fix, hosts continued on TAB-indented lines, and an index URL
    // with a password.
    mc.m.write(
        "C:\\Users\\me\\pip\\pip.ini",
        b"[global]\ntrusted-host = pypi.org\n\tfiles.pythonhosted.org\n\tpypi.python.org\nindex-url = https://jdoe:S3cret@nexus.corp/simple\n",
    );
    // New user file, written by PowerShell 5.1: BOM and CRLF, an [install] section.
    mc.m.write(
        "C:\\Users\\me\\AppData\\Roaming\\pip\\pip.ini",
        b"\xEF\xBB\xBF[global]\r\ncert = C:\\certs\\corp.pem\r\n[install]\r\ntrusted-host = nexus.corp\r\n",
    );
    // Global file saved as UTF-16 by `Out-File`.
    mc.m.write(
        "C:\\ProgramData\\pip\\pip.ini",
        &utf16le_with_bom("[global]\r\ntimeout = 60\r\n"),
    );
    // Site file with a duplicate key.
    mc.m.write(
        "C:\\Users\\me\\anaconda3\\pip.ini",
        b"[global]\ncert = a.pem\ncert = b.pem\n",
    );
    mc.set_env(
        "REQUESTS_CA_BUNDLE",
        mc.m.path("C:\\Users\\me\\anaconda3\\Library\\ssl\\cacert.pem"),
    );
    let (r, json) = mc.run();
    assert_eq!(
        machine_codes(&r),
        vec![Code::T001, Code::T001, Code::T002, Code::T004, Code::T005]
    );
    let tab = r
        .machine
        .findings
        .iter()
        .find(|f| f.code == Code::T001 && f.line == Some(2))
        .unwrap();
    assert_eq!(
        tab.evidence["hosts"],
        serde_json::json!(["pypi.org", "files.pythonhosted.org", "pypi.python.org"])
    );
    assert!(tab
        .path
        .as_ref()
        .unwrap()
        .replace('\\', "/")
        .ends_with("Users/me/pip/pip.ini"));
    assert_eq!(
        prefix_codes(&r, 0),
        vec![Code::D060, Code::T002, Code::T002, Code::T006, Code::T041]
    );
    let pip = r.prefixes[0].tls.as_ref().unwrap().pip.as_ref().unwrap();
    assert_eq!(pip.version, "24.2");
    assert_eq!(format!("{:?}", pip.trust), "TruststoreDefault");
    assert_eq!(
        pip.effective_cert.as_deref(),
        Some("b.pem"),
        "the site file wins"
    );
    assert!(!json.contains("S3cret"), "the index password is redacted");
    snapshot("home_with_real_world_pip_ini_shapes", &json);
}

#[test]
fn condarc_from_powershell_with_ssl_verify_false_and_proxy_password() {
    let mc = Machine::new();
    mc.m.install("C:\\Users\\me\\miniconda3", &anaconda_2024_10());
    mc.m.write(
        "C:\\Users\\me\\.condarc",
        b"\xEF\xBB\xBFchannels:\r\n  - defaults\r\nssl_verify: false\r\nproxy_servers:\r\n  http: http://jdoe:S3cret@proxy.corp:8080\r\n  https: http://jdoe:S3cret@proxy.corp:8080\r\n",
    );
    mc.m.write(
        "C:\\Users\\me\\.conda\\.condarc.TXT",
        b"ssl_verify: C:\\certs\\corp.pem\n",
    );
    let (r, json) = mc.run();
    assert_eq!(
        machine_codes(&r),
        vec![Code::T020, Code::T024, Code::T025, Code::T030, Code::T030]
    );
    let off = r
        .machine
        .findings
        .iter()
        .find(|f| f.code == Code::T020)
        .unwrap();
    assert_eq!(off.line, Some(3));
    assert_eq!(
        r.prefixes[0]
            .tls
            .as_ref()
            .unwrap()
            .conda_ssl_verify
            .as_deref(),
        Some("false")
    );
    assert!(
        !json.contains("S3cret"),
        "proxy passwords never reach the report"
    );
    assert!(json.contains("http://jdoe:****@proxy.corp:8080"));
    snapshot(
        "condarc_from_powershell_with_ssl_verify_false_and_proxy_password",
        &json,
    );
}

#[test]
fn dangling_requests_ca_bundle() {
    let mut mc = Machine::new();
    mc.m.install(
        "C:\\Users\\me\\anaconda3",
        &anaconda_2024_10().with_pip("23.2.1"),
    );
    mc.m.write(
        "C:\\Users\\me\\pip\\pip.ini",
        b"[global]\ncert = C:\\Windows\\corp.pem\n",
    );
    mc.m.write(
        "C:\\Windows\\corp.pem",
        b"-----BEGIN CERTIFICATE-----\nMIIBcorp\n-----END CERTIFICATE-----\n",
    );
    // Repoint the fixture's Windows path into the fake root.
    let corp = mc.m.path("C:\\Windows\\corp.pem");
    mc.m.write(
        "C:\\Users\\me\\pip\\pip.ini",
        format!("[global]\ncert = {}\n", corp.display()).as_bytes(),
    );
    mc.reg.set(
        Hive::CurrentUser,
        "Environment",
        "REQUESTS_CA_BUNDLE",
        RegValue::ExpandSz("%USERPROFILE%\\anaconda3\\Library\\ssl\\gone.pem".into()),
    );
    mc.set_env(
        "SSL_CERT_FILE",
        mc.m.path("C:\\Users\\me\\anaconda3\\Library\\ssl\\gone.pem"),
    );
    let (r, json) = mc.run();
    assert_eq!(machine_codes(&r), vec![Code::T040, Code::T040]);
    let sources: Vec<EnvOrigin> = r.machine.environment.iter().map(|e| e.source).collect();
    assert_eq!(
        sources,
        vec![EnvOrigin::Process, EnvOrigin::Registry(Hive::CurrentUser)]
    );
    assert!(
        prefix_codes(&r, 0).contains(&Code::T041),
        "REQUESTS_CA_BUNDLE defeats pip's cert"
    );
    let pip = r.prefixes[0].tls.as_ref().unwrap().pip.as_ref().unwrap();
    assert_eq!(pip.trust, TrustMode::TruststoreOptIn);
    snapshot("dangling_requests_ca_bundle", &json);
}

#[test]
fn tampered_pip_sessions_py() {
    let mc = Machine::new();
    let spec = anaconda_2024_10().with_pip("24.2").tweak(Tweak::Replace {
        rel: "Lib/site-packages/pip/_vendor/requests/sessions.py".into(),
        bytes: SESSIONS_PY_VERIFY_FALSE.as_bytes().to_vec(),
    });
    mc.m.install("C:\\Users\\me\\anaconda3", &spec);
    let (r, json) = mc.run();
    assert_eq!(prefix_codes(&r, 0), vec![Code::D060, Code::T050]);
    let f = &r.prefixes[0].findings[0];
    assert_eq!(f.evidence["file"], "pip/_vendor/requests/sessions.py");
    assert_ne!(f.evidence["expected_sha256"], f.evidence["actual_sha256"]);
    assert!(!r.prefixes[0].healthy);
    snapshot("tampered_pip_sessions_py", &json);
}

#[test]
fn an_untampered_pip_is_verified_clean() {
    let mc = Machine::new();
    mc.m.install(
        "C:\\Users\\me\\anaconda3",
        &anaconda_2024_10().with_pip("24.2"),
    );
    let (r, _) = mc.run();
    assert_eq!(prefix_codes(&r, 0), vec![Code::D060]);
    assert!(r.compliant(condafix_detect::FailOn::Warning));
}

#[test]
fn registry_two_installs_and_one_stale() {
    let mut mc = Machine::new();
    let user =
        mc.m.install("C:\\Users\\me\\anaconda3", &anaconda_2024_10());
    let mut all_users = anaconda_2019_10();
    all_users.nonadmin = false;
    let machine = mc.m.install("C:\\ProgramData\\Miniconda3", &all_users);
    let s = |p: &std::path::Path| RegValue::Sz(p.display().to_string());
    mc.reg.set(
        Hive::CurrentUser,
        r"Software\Python\ContinuumAnalytics\Anaconda312-64\InstallPath",
        "",
        s(&user),
    );
    mc.reg.set(
        Hive::LocalMachine,
        r"Software\Python\PythonCore\3.7\InstallPath",
        "",
        s(&machine),
    );
    mc.reg.set(
        Hive::LocalMachine,
        r"Software\Microsoft\Windows\CurrentVersion\Uninstall\Miniconda3 py37_4.8.3 (Python 3.7.4 64-bit)",
        "UninstallString",
        RegValue::Sz(format!("\"{}\" /AllUsers", machine.join("Uninstall-Miniconda3.exe").display())),
    );
    let stale = mc.m.path("C:\\Users\\me\\Anaconda3-2019");
    mc.reg.set(
        Hive::CurrentUser,
        r"Software\Python\ContinuumAnalytics\Anaconda37-64\InstallPath",
        "",
        s(&stale),
    );
    let (r, json) = mc.run();
    assert_eq!(r.prefixes.len(), 2);
    assert_eq!(machine_codes(&r), vec![Code::P002]);
    let m = r
        .prefixes
        .iter()
        .find(|p| p.prefix.contains("Miniconda3"))
        .unwrap();
    assert_eq!(m.scope, Scope::AllUsers);
    assert!(matches!(m.found_by[0], Origin::Pep514 { .. }));
    assert!(m
        .found_by
        .iter()
        .any(|o| matches!(o, Origin::Uninstall { .. })));
    assert!(
        m.found_by.iter().any(|o| matches!(o, Origin::KnownFolder)),
        "ProgramData\\miniconda3 is a known folder too"
    );
    let u = r
        .prefixes
        .iter()
        .find(|p| p.prefix.contains("anaconda3"))
        .unwrap();
    assert_eq!(u.scope, Scope::JustMe);
    snapshot("registry_two_installs_and_one_stale", &json);
}

#[test]
fn environments_txt_with_removed_env() {
    let mc = Machine::new();
    let base =
        mc.m.install("C:\\Users\\me\\anaconda3", &anaconda_2024_10());
    let mut env_spec = anaconda_2019_10();
    env_spec.base = false;
    let env =
        mc.m.install("C:\\Users\\me\\anaconda3\\envs\\py37", &env_spec);
    let other = mc.m.install(
        "C:\\Users\\me\\.conda\\envs\\tools",
        &PrefixSpec {
            base: false,
            ..anaconda_2024_10()
        },
    );
    let removed = mc.m.path("C:\\Users\\me\\anaconda3\\envs\\removed");
    mc.m.write(
        "C:\\Users\\me\\.conda\\environments.txt",
        format!(
            "{}\r\n{}\r\n\r\n{}\r\n",
            base.display(),
            env.display(),
            removed.display()
        )
        .as_bytes(),
    );
    let (r, json) = mc.run();
    let prefixes: Vec<&str> = r.prefixes.iter().map(|p| p.prefix.as_str()).collect();
    assert_eq!(prefixes.len(), 3, "{prefixes:?}");
    assert_eq!(machine_codes(&r), vec![Code::P001]);
    assert_eq!(r.machine.findings[0].line, Some(4));
    let e = r
        .prefixes
        .iter()
        .find(|p| p.prefix.ends_with("py37"))
        .unwrap();
    assert_eq!(
        e.base.as_deref().map(|b| b.replace('\\', "/")),
        Some(base.display().to_string().replace('\\', "/"))
    );
    assert!(e
        .found_by
        .iter()
        .any(|o| matches!(o, Origin::EnvironmentsTxt { line: 2, .. })));
    assert!(r
        .prefixes
        .iter()
        .any(|p| p.prefix == other.display().to_string()));
    snapshot("environments_txt_with_removed_env", &json);
}

#[test]
fn all_users_install_in_programdata() {
    let mc = Machine::new();
    let mut spec = anaconda_2024_10();
    spec.nonadmin = false;
    mc.m.install("C:\\ProgramData\\anaconda3", &spec);
    let (r, json) = mc.run();
    assert_eq!(r.prefixes.len(), 1);
    assert_eq!(r.prefixes[0].scope, Scope::AllUsers);
    assert!(matches!(r.prefixes[0].found_by[0], Origin::KnownFolder));
    snapshot("all_users_install_in_programdata", &json);
}

#[test]
fn a_machine_without_conda_reports_no_prefix_and_is_healthy() {
    let mc = Machine::new();
    let (r, _) = mc.run();
    assert!(r.prefixes.is_empty());
    assert!(r.compliant(condafix_detect::FailOn::Warning));
}

#[test]
fn conda_env_vars_find_installs_outside_known_folders() {
    let mut mc = Machine::new();
    let p = mc.m.install("D:\\tools\\conda", &anaconda_2024_10());
    let env = mc.m.install(
        "D:\\tools\\conda\\envs\\work",
        &PrefixSpec {
            base: false,
            ..anaconda_2024_10()
        },
    );
    mc.set_env("CONDA_EXE", p.join("Scripts").join("conda.exe"));
    mc.set_env("CONDA_PREFIX", &env);
    let (r, _) = mc.run();
    assert_eq!(r.prefixes.len(), 2);
    assert!(
        matches!(&r.prefixes[0].found_by[0], Origin::EnvVar { name } if name == "CONDA_PREFIX")
    );
    assert!(matches!(&r.prefixes[1].found_by[0], Origin::EnvVar { name } if name == "CONDA_EXE"));
}
