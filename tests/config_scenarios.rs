//! `condafix config` on real-world file shapes and on the registry (a fake that records the
//! calls, on Linux): before/after snapshots with `==== file ====` sections, refusals that leave
//! files untouched, undo to the exact bytes and the exact registry types.

use std::path::{Path, PathBuf};

use condafix_config::{plan_config, ConfigOptions, ConfigPlan, Scope};
use condafix_detect::registry::{FakeRegistry, Hive, RegValue, Registry};
use condafix_detect::HostInfo;
use condafix_detect::{detect_with, MapEnv, Report, SearchContext};
use condafix_fixtures::scenarios::anaconda_2024_10;
use condafix_fixtures::FakeMachine;
use condafix_suite::normalize_paths;
use condafix_txn::{
    Context, Faults, FileScope, OutsideFiles, Placement, RegistryScope, Store, Stores, Undo,
};

struct Machine {
    dir: tempfile::TempDir,
    m: FakeMachine,
    env: MapEnv,
    reg: FakeRegistry,
    prefix: PathBuf,
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
            ("SystemRoot", m.windows_dir()),
        ] {
            env.0.insert(k.to_string(), v.into_os_string());
        }
        let prefix = m.install(
            "C:\\Users\\me\\anaconda3",
            &anaconda_2024_10().with_pip("23.2.1"),
        );
        // conda 23.1 in the base: too old for `ssl_verify: truststore`.
        fs_err::write(
            prefix.join("conda-meta").join("conda-23.1.0-py312_0.json"),
            b"{}",
        )
        .unwrap();
        Self {
            dir,
            m,
            env,
            reg: FakeRegistry::default(),
            prefix,
        }
    }

    fn host(&self) -> HostInfo<'_> {
        HostInfo {
            env: &self.env,
            registry: &self.reg,
            windows: true,
            unix_system_dirs: Vec::new(),
            etc_dir: self.m.path("C:\\etc"),
        }
    }

    fn report(&self) -> Report {
        let host = self.host();
        let ctx = SearchContext {
            system_root: Some(self.m.windows_dir()),
            ..SearchContext::default()
        };
        detect_with(&host, std::slice::from_ref(&self.prefix), &ctx).unwrap()
    }

    fn plan(&self, opts: &ConfigOptions) -> ConfigPlan {
        let r = self.report();
        let locations = self.host().locations();
        plan_config(&r.prefixes[0], &r.machine, &locations, &self.reg, opts).unwrap()
    }

    /// What the transaction gets: this machine's registry and its config files outside the
    /// prefix.
    fn apply_parts(
        &self,
        command: condafix_prefix::TxnCommand,
        parts: &[&dyn condafix_txn::Changes],
    ) {
        let locations = self.host().locations();
        let outside = OutsideFiles::new(locations.outside_files(&self.prefix, None));
        let place = Placement {
            machine_state: self.dir.path().join("machine-state"),
            elevated: false,
            dry_run: false,
        };
        let prefix = Store::for_prefix(&self.prefix, &place).unwrap();
        let home = locations.home.clone().unwrap();
        fs_err::create_dir_all(&home).unwrap();
        let user = Store::for_user(
            "me",
            condafix_actor::Identity::Process,
            &home,
            false,
            FileScope {
                allowed: outside,
                roots: locations.user_roots(),
                registry: RegistryScope::CurrentUser,
            },
        )
        .unwrap();
        let faults = Faults::none();
        let cx = Context {
            faults: &faults,
            registry: Some(&self.reg),
        };
        let stores = Stores {
            prefix: &prefix,
            others: Vec::new(),
            user: Some(&user),
            user_missing: None,
            machine: None,
        };
        condafix_txn::apply(stores, command, parts, &cx).unwrap();
    }

    fn apply(&self, opts: &ConfigOptions) -> ConfigPlan {
        let plan = self.plan(opts);
        self.apply_parts(condafix_prefix::TxnCommand::Config, &[&plan]);
        plan
    }

    fn undo(&self) {
        let undo = Undo::default();
        self.apply_parts(condafix_prefix::TxnCommand::Undo, &[&undo]);
        let out = undo.outcome();
        assert!(out.left_alone.is_empty(), "{out:?}");
    }

    fn corp_ca(&self) -> PathBuf {
        // A CA certificate generated once for these fixtures (CA:TRUE, valid to 2050).
        let p = self.dir.path().join("corp.pem");
        fs_err::write(&p, CORP_CA).unwrap();
        p
    }

    fn show(&self, text: &str) -> String {
        normalize_paths(text, self.dir.path())
    }
}

const CORP_CA: &str = include_str!("data/corp-ca.pem");

fn opts_with_ca(m: &Machine) -> ConfigOptions {
    ConfigOptions {
        ca_files: vec![m.corp_ca()],
        now_unix: 1_800_000_000,
        ..ConfigOptions::default()
    }
}

fn snapshot(name: &str, sections: &[(String, String)]) {
    let text: String = sections
        .iter()
        .map(|(t, b)| format!("==== {t} ====\n{}\n", b.trim_end()))
        .collect();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("config__{name}"), text));
}

/// Text with its line endings made visible, so CRLF is seen in the snapshot.
fn visible(bytes: &[u8]) -> String {
    let d = condafix_prefix::text::decode_text(bytes);
    format!(
        "[{:?}, {:?}]\n{}",
        d.encoding,
        d.line_ending,
        d.text.replace("\r\n", "⏎\n")
    )
}

fn write(path: &Path, bytes: &[u8]) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, bytes).unwrap();
}

#[test]
fn pip_ini_shapes_keep_every_other_line_and_undo_restores_the_bytes() {
    let m = Machine::new();
    let site = m.prefix.join("pip.ini");
    let user = m.m.path("C:\\Users\\me\\pip\\pip.ini");
    let site_before = b"; managed by IT\r\n[global]\r\ntimeout = 60\r\ntrusted-host = pypi.org\r\n\tfiles.pythonhosted.org\r\n\r\n[install]\r\n# keep user installs\r\nuser = false\r\n".to_vec();
    let user_before = b"[install]\ntrusted-host = nexus.corp\n".to_vec();
    write(&site, &site_before);
    write(&user, &user_before);
    let mut opts = opts_with_ca(&m);
    opts.remove_insecure = true;
    let plan = m.apply(&opts);
    let site_after = fs_err::read(&site).unwrap();
    let user_after = fs_err::read(&user).unwrap();
    assert!(!String::from_utf8_lossy(&site_after).contains("trusted-host"));
    assert!(
        String::from_utf8_lossy(&site_after).contains("\r\n"),
        "CRLF stays CRLF"
    );
    assert!(!String::from_utf8_lossy(&user_after).contains("trusted-host"));
    let second = m.plan(&opts);
    assert_eq!(
        second.changes(),
        0,
        "a second run changes nothing: {:?}",
        second.actions
    );
    m.undo();
    assert_eq!(fs_err::read(&site).unwrap(), site_before);
    assert_eq!(fs_err::read(&user).unwrap(), user_before);
    assert!(!m.prefix.join(".condafix").join("ca-bundle.pem").exists());
    snapshot(
        "pip_ini_shapes",
        &[
            ("pip.ini (site) before".into(), visible(&site_before)),
            ("pip.ini (site) after".into(), m.show(&visible(&site_after))),
            ("pip.ini (user) before".into(), visible(&user_before)),
            ("pip.ini (user) after".into(), visible(&user_after)),
            ("notes".into(), m.show(&plan.notes.join("\n"))),
        ],
    );
}

#[test]
fn bom_and_utf16_files_are_rewritten_as_utf8_with_a_backup_and_a_note() {
    let m = Machine::new();
    let site = m.prefix.join("pip.ini");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(
        "[global]\r\ntimeout = 60\r\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes()),
    );
    write(&site, &utf16);
    let condarc = m.prefix.join(".condarc");
    let condarc_before = b"\xEF\xBB\xBFchannels:\r\n  - defaults\r\nssl_verify: false\r\n".to_vec();
    write(&condarc, &condarc_before);
    let mut opts = opts_with_ca(&m);
    opts.remove_insecure = true;
    let plan = m.apply(&opts);
    let site_after = fs_err::read(&site).unwrap();
    let condarc_after = fs_err::read(&condarc).unwrap();
    assert!(site_after.starts_with(b"[global]"));
    assert!(!condarc_after.starts_with(b"\xEF\xBB\xBF"));
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("rewritten as UTF-8 without BOM")),
        "{:?}",
        plan.notes
    );
    m.undo();
    assert_eq!(
        fs_err::read(&site).unwrap(),
        utf16,
        "the UTF-16 original comes back byte for byte"
    );
    assert_eq!(fs_err::read(&condarc).unwrap(), condarc_before);
    snapshot(
        "bom_and_utf16",
        &[
            ("pip.ini before".into(), visible(&utf16)),
            ("pip.ini after".into(), m.show(&visible(&site_after))),
            (".condarc before".into(), visible(&condarc_before)),
            (".condarc after".into(), m.show(&visible(&condarc_after))),
        ],
    );
}

#[test]
fn a_templated_or_duplicate_key_file_is_refused_and_untouched() {
    let m = Machine::new();
    let site = m.prefix.join("pip.ini");
    let chezmoi = b"{{- if eq .chezmoi.hostname \"work\" }}\n[global]\nindex-url = https://nexus.corp/simple\n{{- end }}\n".to_vec();
    write(&site, &chezmoi);
    let plan = m.apply(&opts_with_ca(&m));
    assert_eq!(fs_err::read(&site).unwrap(), chezmoi);
    assert_eq!(plan.refused.len(), 1, "{:?}", plan.refused);
    let dup = b"[global]\ncert = a.pem\ncert = b.pem\n".to_vec();
    write(&site, &dup);
    let plan2 = m.plan(&opts_with_ca(&m));
    assert_eq!(fs_err::read(&site).unwrap(), dup);
    snapshot(
        "refused_files",
        &[
            ("templated pip.ini".into(), m.show(&plan.refused.join("\n"))),
            ("duplicate keys".into(), m.show(&plan2.refused.join("\n"))),
        ],
    );
}

#[test]
fn condarc_gets_the_bundle_on_old_conda_and_keeps_its_comments() {
    let m = Machine::new();
    let condarc = m.prefix.join(".condarc");
    let before = b"# IT defaults\nchannels:\n  - defaults\nproxy_servers:\n  https: http://jdoe:S3cret@proxy.corp:8080\nshow_channel_urls: true\n".to_vec();
    write(&condarc, &before);
    let plan = m.apply(&opts_with_ca(&m));
    let after = String::from_utf8(fs_err::read(&condarc).unwrap()).unwrap();
    assert!(
        after.contains("ssl_verify: ")
            && after
                .trim_end()
                .trim_end_matches('\'')
                .ends_with("ca-bundle.pem"),
        "conda 23.1 cannot use truststore, so the bundle: {after}"
    );
    assert!(after.starts_with("# IT defaults\nchannels:\n  - defaults\nproxy_servers:"));
    let json = serde_json::to_string(&plan).unwrap();
    assert!(
        !json.contains("S3cret"),
        "the plan never shows the password"
    );
    m.undo();
    assert_eq!(fs_err::read(&condarc).unwrap(), before);
    snapshot(
        "condarc_bundle",
        &[
            (
                ".condarc before".into(),
                m.show(&String::from_utf8_lossy(&before)),
            ),
            (".condarc after".into(), m.show(&after)),
        ],
    );
}

#[test]
fn add_to_path_prepends_whole_entries_keeps_var_entries_and_undo_restores_type_and_data() {
    let mut m = Machine::new();
    let key = "Environment";
    m.reg.set(
        Hive::CurrentUser,
        key,
        "Path",
        RegValue::ExpandSz(
            "%USERPROFILE%\\AppData\\Local\\Microsoft\\WindowsApps;C:\\tools".into(),
        ),
    );
    let opts = ConfigOptions {
        add_to_path: true,
        ..ConfigOptions::default()
    };
    m.apply(&opts);
    let after = m
        .reg
        .value(Hive::CurrentUser, key, "Path")
        .unwrap()
        .unwrap();
    let RegValue::ExpandSz(text) = &after else {
        panic!("REG_EXPAND_SZ expected, got {after:?}")
    };
    assert!(
        text.ends_with(";%USERPROFILE%\\AppData\\Local\\Microsoft\\WindowsApps;C:\\tools"),
        "{text}"
    );
    assert_eq!(m.plan(&opts).changes(), 0, "a second run changes nothing");
    m.undo();
    assert_eq!(
        m.reg.value(Hive::CurrentUser, key, "Path").unwrap(),
        Some(RegValue::ExpandSz(
            "%USERPROFILE%\\AppData\\Local\\Microsoft\\WindowsApps;C:\\tools".into()
        ))
    );
    let calls = m.show(&m.reg.calls.borrow().join("\n"));
    snapshot(
        "add_to_path_registry_calls",
        &[("registry calls".into(), calls)],
    );
}

#[test]
fn a_path_value_of_the_wrong_type_is_left_alone() {
    let mut m = Machine::new();
    m.reg
        .set(Hive::CurrentUser, "Environment", "Path", RegValue::Dword(1));
    let plan = m.apply(&ConfigOptions {
        add_to_path: true,
        ..ConfigOptions::default()
    });
    assert!(plan.refused[0].contains("REG_DWORD"), "{:?}", plan.refused);
    assert_eq!(
        m.reg
            .value(Hive::CurrentUser, "Environment", "Path")
            .unwrap(),
        Some(RegValue::Dword(1))
    );
    assert!(m.reg.calls.borrow().is_empty());
}

#[test]
fn fix_env_repoints_a_dangling_user_variable_at_the_bundle_and_undo_brings_it_back() {
    let mut m = Machine::new();
    let gone = RegValue::ExpandSz("%USERPROFILE%\\anaconda3\\Library\\ssl\\gone.pem".into());
    m.reg.set(
        Hive::CurrentUser,
        "Environment",
        "REQUESTS_CA_BUNDLE",
        gone.clone(),
    );
    m.reg.set(
        Hive::CurrentUser,
        "Environment",
        "PIP_TRUSTED_HOST",
        RegValue::Sz("pypi.org".into()),
    );
    let mut opts = opts_with_ca(&m);
    opts.fix_env = true;
    opts.remove_insecure = true;
    m.apply(&opts);
    let v = m
        .reg
        .value(Hive::CurrentUser, "Environment", "REQUESTS_CA_BUNDLE")
        .unwrap();
    assert!(
        matches!(&v, Some(RegValue::Sz(s)) if s.ends_with("ca-bundle.pem")),
        "{v:?}"
    );
    assert_eq!(
        m.reg
            .value(Hive::CurrentUser, "Environment", "PIP_TRUSTED_HOST")
            .unwrap(),
        None
    );
    m.undo();
    assert_eq!(
        m.reg
            .value(Hive::CurrentUser, "Environment", "REQUESTS_CA_BUNDLE")
            .unwrap(),
        Some(gone)
    );
    assert_eq!(
        m.reg
            .value(Hive::CurrentUser, "Environment", "PIP_TRUSTED_HOST")
            .unwrap(),
        Some(RegValue::Sz("pypi.org".into()))
    );
}

#[test]
fn insecure_trusted_host_is_loud_recorded_and_undone() {
    let m = Machine::new();
    let opts = ConfigOptions {
        insecure_trusted_hosts: vec!["nexus.corp".into()],
        ..ConfigOptions::default()
    };
    let plan = m.apply(&opts);
    assert!(
        plan.warnings[0].contains("will NOT check certificates for nexus.corp"),
        "{:?}",
        plan.warnings
    );
    let site = m.prefix.join("pip.ini");
    assert!(fs_err::read_to_string(&site)
        .unwrap()
        .contains("trusted-host = nexus.corp"));
    m.undo();
    assert!(!site.exists());
}

#[test]
fn a_tampered_sessions_py_is_restored_from_the_package_cache() {
    let m = Machine::new();
    let installed = m
        .prefix
        .join("Lib")
        .join("site-packages")
        .join("pip")
        .join("_vendor")
        .join("requests")
        .join("sessions.py");
    fs_err::write(&installed, condafix_fixtures::SESSIONS_PY_VERIFY_FALSE).unwrap();
    let cached = m
        .prefix
        .join("pkgs")
        .join("pip-23.2.1-py_0")
        .join("site-packages")
        .join("pip")
        .join("_vendor")
        .join("requests")
        .join("sessions.py");
    write(&cached, condafix_fixtures::SESSIONS_PY.as_bytes());
    m.apply(&ConfigOptions {
        remove_insecure: true,
        ..ConfigOptions::default()
    });
    assert_eq!(
        fs_err::read_to_string(&installed).unwrap(),
        condafix_fixtures::SESSIONS_PY
    );
    let r = m.report();
    assert!(!r.prefixes[0]
        .findings
        .iter()
        .any(|f| f.code == condafix_detect::Code::T050));
}

#[test]
fn without_a_source_the_plan_says_how_to_reinstall_pip() {
    let m = Machine::new();
    let installed = m
        .prefix
        .join("Lib")
        .join("site-packages")
        .join("pip")
        .join("_vendor")
        .join("requests")
        .join("sessions.py");
    fs_err::write(&installed, condafix_fixtures::SESSIONS_PY_VERIFY_FALSE).unwrap();
    let plan = m.plan(&ConfigOptions {
        remove_insecure: true,
        ..ConfigOptions::default()
    });
    assert!(
        plan.notes.iter().any(|n| n.contains("--force-reinstall")),
        "{:?}",
        plan.notes
    );
    let _ = Scope::User;
}

#[test]
fn a_tampered_sessions_py_is_restored_from_pips_own_wheel() {
    use std::io::Write as _;
    let m = Machine::new();
    let installed = m
        .prefix
        .join("Lib")
        .join("site-packages")
        .join("pip")
        .join("_vendor")
        .join("requests")
        .join("sessions.py");
    fs_err::write(&installed, condafix_fixtures::SESSIONS_PY_VERIFY_FALSE).unwrap();
    let wheel = m
        .prefix
        .join("Lib")
        .join("ensurepip")
        .join("_bundled")
        .join("pip-23.2.1-py3-none-any.whl");
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file(
        "pip/_vendor/requests/sessions.py",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    z.write_all(condafix_fixtures::SESSIONS_PY.as_bytes())
        .unwrap();
    write(&wheel, &z.finish().unwrap().into_inner());
    m.apply(&ConfigOptions {
        remove_insecure: true,
        ..ConfigOptions::default()
    });
    assert_eq!(
        fs_err::read_to_string(&installed).unwrap(),
        condafix_fixtures::SESSIONS_PY
    );
    m.undo();
    assert_eq!(
        fs_err::read_to_string(&installed).unwrap(),
        condafix_fixtures::SESSIONS_PY_VERIFY_FALSE,
        "undo restores even this"
    );
}
