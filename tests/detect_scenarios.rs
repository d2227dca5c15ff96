//! `condafix detect` over every fake install scenario: the verdict is asserted, and the whole
//! JSON report is a snapshot (paths filtered so the same snapshot passes on Windows and Linux).

use std::path::PathBuf;

#[path = "../crates/condafix/tests/common/schema.rs"]
mod schema;

use condafix_detect::registry::Hive;
use condafix_detect::tls::env::EnvOrigin;
use condafix_detect::{
    detect, Code, CopyStatus, EnvValue, Era, EraSource, LoaderClass, Location, PrefixKind,
    PythonSource, Report, SearchContext,
};
use condafix_fixtures::scenarios::{self, ScenarioName};
use condafix_suite::normalize_json;

struct Run {
    report: Report,
    json: String,
    _dir: tempfile::TempDir,
}

fn run(name: ScenarioName) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let s = scenarios::build(name, dir.path());
    let ctx = SearchContext {
        system_root: Some(s.system_root()),
        path: s.search_path.clone(),
        cwd: None,
        dll_search_modification: s.dll_search_modification.clone().map(|value| EnvValue {
            value,
            source: EnvOrigin::Registry(Hive::CurrentUser),
        }),
        path_sources: Vec::new(),
    };
    let report = detect(&s.prefixes, &ctx).unwrap();
    let mut value = serde_json::to_value(&report).unwrap();
    schema::assert_valid("detect", &value);
    value["condafix_version"] = "[VERSION]".into();
    normalize_json(&mut value, dir.path());
    Run {
        report,
        json: serde_json::to_string_pretty(&value).unwrap(),
        _dir: dir,
    }
}

fn snapshot(name: &str, json: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("detect__{name}"), json));
}

fn codes(run: &Run, prefix: usize) -> Vec<Code> {
    let mut c: Vec<Code> = run.report.prefixes[prefix]
        .findings
        .iter()
        .map(|f| f.code)
        .collect();
    c.sort();
    c.dedup();
    c
}

fn predictions(run: &Run, prefix: usize) -> (&'static str, &'static str) {
    let p = &run.report.prefixes[prefix].prediction;
    (p.unactivated.result.label(), p.activated.result.label())
}

#[test]
fn anaconda_2019_10_py37_unactivated() {
    let r = run(ScenarioName::Anaconda201910Py37Unactivated);
    assert_eq!(predictions(&r, 0), ("fails", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D010]);
    let dll = &r.report.prefixes[0].dlls;
    assert_eq!(dll.len(), 2, "libssl and libcrypto");
    assert!(dll[0]
        .activated
        .winner()
        .unwrap()
        .path
        .replace('\\', "/")
        .ends_with("Library/bin/libssl-1_1-x64.dll"));
    assert!(!r.report.prefixes[0].healthy);
    snapshot("anaconda_2019_10_py37_unactivated", &r.json);
}

#[test]
fn anaconda_2019_10_py37_activated() {
    let r = run(ScenarioName::Anaconda201910Py37Activated);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D061]);
    assert!(r.report.prefixes[0].healthy);
    snapshot("anaconda_2019_10_py37_activated", &r.json);
}

#[test]
fn miniconda_py38_before_default_mode_patch() {
    let r = run(ScenarioName::MinicondaPy38BeforeDefaultModePatch);
    assert_eq!(predictions(&r, 0), ("fails", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D010]);
    snapshot("miniconda_py38_before_default_mode_patch", &r.json);
}

#[test]
fn anaconda_2024_10_py312_default_mode() {
    let r = run(ScenarioName::Anaconda202410Py312DefaultMode);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D060]);
    assert!(r.report.compliant(condafix_detect::FailOn::Warning));
    snapshot("anaconda_2024_10_py312_default_mode", &r.json);
}

#[test]
fn stale_1_1_copies_after_openssl_3() {
    let r = run(ScenarioName::Stale11CopiesAfterOpenssl3);
    assert_eq!(predictions(&r, 0), ("fails", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D010, Code::D021]);
    let stale: Vec<_> = r.report.prefixes[0]
        .findings
        .iter()
        .filter(|f| f.code == Code::D021)
        .collect();
    assert_eq!(stale.len(), 2, "libssl and libcrypto 1_1 copies");
    snapshot("stale_1_1_copies_after_openssl_3", &r.json);
}

#[test]
fn foreign_dll_in_system32() {
    let r = run(ScenarioName::ForeignDllInSystem32);
    // System32 is searched before PATH by this build, activated or not.
    assert_eq!(predictions(&r, 0), ("at-risk", "at-risk"));
    assert_eq!(codes(&r, 0), vec![Code::D020]);
    let f = r.report.prefixes[0]
        .findings
        .iter()
        .find(|f| f.code == Code::D020)
        .unwrap();
    assert_eq!(f.contexts.len(), 2);
    assert!(f.path.as_ref().unwrap().contains("System32"));
    snapshot("foreign_dll_in_system32", &r.json);
}

#[test]
fn github_runner_openssl_on_path() {
    let r = run(ScenarioName::GithubRunnerOpensslOnPath);
    assert_eq!(predictions(&r, 0), ("at-risk", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D020]);
    let f = &r.report.prefixes[0].findings[0];
    assert!(f.path.as_ref().unwrap().contains("OpenSSL"));
    snapshot("github_runner_openssl_on_path", &r.json);
}

#[test]
fn library_bin_dll_is_git_lfs_pointer() {
    let r = run(ScenarioName::LibraryBinDllIsGitLfsPointer);
    assert_eq!(predictions(&r, 0), ("fails", "fails"));
    assert_eq!(codes(&r, 0), vec![Code::D030]);
    let f = &r.report.prefixes[0].findings[0];
    assert!(f.message.contains("Git LFS pointer"), "{}", f.message);
    assert!(f.evidence["expected_sha256"] != f.evidence["actual_sha256"]);
    snapshot("library_bin_dll_is_git_lfs_pointer", &r.json);
}

#[test]
fn dll_32bit_in_64bit_install() {
    let r = run(ScenarioName::Dll32bitIn64bitInstall);
    assert_eq!(predictions(&r, 0), ("fails", "fails"));
    assert_eq!(codes(&r, 0), vec![Code::D021, Code::D040]);
    snapshot("dll_32bit_in_64bit_install", &r.json);
}

#[test]
fn python36_static_openssl() {
    let r = run(ScenarioName::Python36StaticOpenssl);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D062]);
    assert!(r.report.prefixes[0].dlls.is_empty());
    snapshot("python36_static_openssl", &r.json);
}

#[test]
fn non_ascii_user_folder() {
    let r = run(ScenarioName::NonAsciiUserFolder);
    assert_eq!(predictions(&r, 0), ("fails", "ok"));
    assert!(r.report.prefixes[0].prefix.contains("홍 길동"));
    assert!(r.json.contains("[ROOT]/Users/홍 길동/anaconda3"));
    snapshot("non_ascii_user_folder", &r.json);
}

#[test]
fn env_openssl_differs_from_base() {
    let r = run(ScenarioName::EnvOpensslDiffersFromBase);
    assert_eq!(r.report.prefixes.len(), 2);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert_eq!(predictions(&r, 1), ("fails", "ok"));
    assert_eq!(
        r.report.prefixes[0].openssl.as_ref().unwrap().version,
        "3.0.15"
    );
    assert_eq!(
        r.report.prefixes[1].openssl.as_ref().unwrap().version,
        "1.1.1w"
    );
    assert_eq!(r.report.summary.healthy, 1);
    snapshot("env_openssl_differs_from_base", &r.json);
}

fn python(run: &Run, prefix: usize) -> &condafix_detect::PythonInfo {
    run.report.prefixes[prefix].python.as_ref().unwrap()
}

#[test]
fn defaults_310_default_mode() {
    // The negative control: no D010, nothing to stage, without activation.
    let r = run(ScenarioName::Defaults310DefaultMode);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D060]);
    let py = python(&r, 0);
    assert_eq!(py.era, Some(Era::DefaultMode));
    assert_eq!(py.evidence.decided_by, EraSource::Binary);
    assert!(
        py.loader_reason.contains("python310.dll"),
        "{}",
        py.loader_reason
    );
    assert!(py
        .evidence
        .markers
        .contains(&"CONDA_DLL_SEARCH_MODIFICATION_NEVER_CACHE"));
    snapshot("defaults_310_default_mode", &r.json);
}

#[test]
fn conda_forge_397_rebuilt_after_fix() {
    // Built after October 2021, still the old patch: the date proves nothing.
    let r = run(ScenarioName::CondaForge397RebuiltAfterFix);
    assert_eq!(predictions(&r, 0), ("fails", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D010]);
    assert_eq!(python(&r, 0).loader, LoaderClass::AlteredSearchPath);
    snapshot("conda_forge_397_rebuilt_after_fix", &r.json);
}

#[test]
fn defaults_3815_build0_and_build1() {
    let r = run(ScenarioName::Defaults3815Build0AndBuild1);
    assert_eq!(predictions(&r, 0), ("fails", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D010]);
    assert_eq!(python(&r, 0).era, Some(Era::AlteredSearchPath));
    assert_eq!(predictions(&r, 1), ("ok", "ok"));
    assert_eq!(codes(&r, 1), vec![Code::D060]);
    assert_eq!(python(&r, 1).era, Some(Era::DefaultMode));
    snapshot("defaults_3815_build0_and_build1", &r.json);
}

#[test]
fn defaults_380_variant() {
    let r = run(ScenarioName::Defaults380Variant);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D060]);
    assert_eq!(python(&r, 0).era, Some(Era::DefaultModeVariant));
    snapshot("defaults_380_variant", &r.json);
}

#[test]
fn conda_forge_37_upstream() {
    let r = run(ScenarioName::CondaForge37Upstream);
    assert_eq!(predictions(&r, 0), ("fails", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D010]);
    let py = python(&r, 0);
    assert_eq!(py.era, Some(Era::Upstream));
    assert_eq!(py.loader, LoaderClass::AlteredSearchPath);
    // 3.7's words: no module name.
    assert_eq!(
        r.report.prefixes[0].prediction.unactivated.error.as_deref(),
        Some("ImportError: DLL load failed: The specified module could not be found.")
    );
    snapshot("conda_forge_37_upstream", &r.json);
}

#[test]
fn python_dll_unreadable() {
    let r = run(ScenarioName::PythonDllUnreadable);
    assert_eq!(predictions(&r, 0), ("fails", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D010, Code::D072]);
    let py = python(&r, 0);
    assert_eq!(py.evidence.decided_by, EraSource::Record);
    assert_eq!(py.era, Some(Era::AlteredSearchPath));
    assert!(
        py.loader_reason.contains("Git LFS pointer"),
        "{}",
        py.loader_reason
    );
    snapshot("python_dll_unreadable", &r.json);
}

#[test]
fn binary_disagrees_with_record() {
    let r = run(ScenarioName::BinaryDisagreesWithRecord);
    assert_eq!(predictions(&r, 0), ("fails", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D010, Code::D071]);
    let py = python(&r, 0);
    assert_eq!(py.evidence.era_from_record, Some(Era::DefaultMode));
    assert_eq!(py.era, Some(Era::AlteredSearchPath));
    snapshot("binary_disagrees_with_record", &r.json);
}

#[test]
fn enable_var_on_altered_search_path_build() {
    let r = run(ScenarioName::EnableVarOnAlteredSearchPathBuild);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D060, Code::D074]);
    let py = python(&r, 0);
    assert_eq!(py.loader, LoaderClass::CondaPathMode);
    assert!(py.evidence.enable_switches_on);
    let winner = r.report.prefixes[0].dlls[0].unactivated.winner().unwrap();
    assert_eq!(winner.location, Location::CondaDllDir);
    snapshot("enable_var_on_altered_search_path_build", &r.json);
}

#[test]
fn venv_of_default_mode_base() {
    let r = run(ScenarioName::VenvOfDefaultModeBase);
    let p = &r.report.prefixes[0];
    assert_eq!(p.kind, PrefixKind::Venv);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D060]);
    let py = python(&r, 0);
    assert!(py.venv.as_ref().unwrap().home.ends_with("anaconda3"));
    assert_eq!(py.era, Some(Era::DefaultMode));
    assert!(p.modules[0]
        .path
        .replace('\\', "/")
        .contains("anaconda3/DLLs/_ssl.pyd"));
    snapshot("venv_of_default_mode_base", &r.json);
}

#[test]
fn venv_of_early_default_mode_base() {
    let r = run(ScenarioName::VenvOfEarlyDefaultModeBase);
    assert_eq!(predictions(&r, 0), ("ok", "ok"), "the base itself is fine");
    assert_eq!(predictions(&r, 1), ("fails", "fails"));
    assert_eq!(codes(&r, 1), vec![Code::D010, Code::D073]);
    snapshot("venv_of_early_default_mode_base", &r.json);
}

#[test]
fn python_32bit_on_wow64() {
    let r = run(ScenarioName::Python32BitOnWow64);
    assert_eq!(predictions(&r, 0), ("at-risk", "at-risk"));
    assert_eq!(codes(&r, 0), vec![Code::D020]);
    let winner = r.report.prefixes[0].dlls[0].unactivated.winner().unwrap();
    assert_eq!(winner.location, Location::SysWow64);
    assert!(!r.report.prefixes[0].dlls[0]
        .unactivated
        .searched
        .iter()
        .any(|d| d.ends_with("System32")));
    snapshot("python_32bit_on_wow64", &r.json);
}

#[test]
fn free_threaded_313() {
    let r = run(ScenarioName::FreeThreaded313);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D060]);
    let m = &r.report.prefixes[0].modules;
    assert_eq!(m[0].file, "_ssl.cp313t-win_amd64.pyd");
    assert_eq!(m[1].file, "_hashlib.cp313t-win_amd64.pyd");
    assert!(python(&r, 0)
        .evidence
        .dll
        .as_deref()
        .unwrap()
        .ends_with("python313t.dll"));
    snapshot("free_threaded_313", &r.json);
}

#[test]
fn defaults_370_ships_openssl() {
    let r = run(ScenarioName::Defaults370ShipsOpenssl);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert!(codes(&r, 0).is_empty(), "{:?}", codes(&r, 0));
    assert!(r.report.prefixes[0].loose_copies.is_empty());
    let winner = r.report.prefixes[0].dlls[0].unactivated.winner().unwrap();
    assert_eq!(winner.status, CopyStatus::Vendored);
    snapshot("defaults_370_ships_openssl", &r.json);
}

#[test]
fn manual_fix_with_condas_bytes() {
    // Works, but untracked: a warning (not an error: `check` is compliant with the default
    // --fail-on error) until staging adopts the copies into the receipt.
    let r = run(ScenarioName::ManualFixWithCondasBytes);
    assert_eq!(predictions(&r, 0), ("ok", "ok"));
    assert_eq!(codes(&r, 0), vec![Code::D022]);
    assert!(r.report.compliant(condafix_detect::FailOn::Error));
    assert!(!r.report.compliant(condafix_detect::FailOn::Warning));
    snapshot("manual_fix_with_condas_bytes", &r.json);
}

#[test]
fn every_scenario_is_covered_by_a_test_here() {
    let src = include_str!("detect_scenarios.rs");
    for name in scenarios::ALL.iter().map(|s| s.name()) {
        assert!(
            src.contains(&format!("fn {name}()")),
            "no test for scenario {name}"
        );
    }
}

#[test]
fn python_without_a_record_is_placed_from_its_dll_name() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenarios::build(
        scenarios::ScenarioName::Anaconda201910Py37Unactivated,
        dir.path(),
    );
    let meta = s.prefixes[0].join("conda-meta");
    for e in fs_err::read_dir(&meta).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("python-")
        {
            fs_err::remove_file(p).unwrap();
        }
    }
    let ctx = SearchContext {
        system_root: Some(s.system_root()),
        path: s.search_path.clone(),
        ..SearchContext::default()
    };
    let r = detect(&s.prefixes, &ctx).unwrap();
    let py = r.prefixes[0].python.as_ref().unwrap();
    assert_eq!(
        (py.version.as_str(), py.source),
        ("3.7", PythonSource::PythonDll)
    );
    // The DLL's markers still place it.
    assert_eq!(py.evidence.decided_by, EraSource::Binary);
    assert_eq!(py.loader, condafix_detect::LoaderClass::AlteredSearchPath);
    assert_eq!(r.prefixes[0].prediction.unactivated.result.label(), "fails");
}
