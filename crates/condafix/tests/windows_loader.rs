//! The loader model checked against a real loader (Wine's in the Windows lane, Windows' own on
//! windows-latest): for each arrangement, what `condafix detect` predicts must be what the fake
//! interpreter (windows/loader-fixtures) really gets: "module not found", "procedure not found",
//! or loaded, and from which file. A disagreement fails the test.
//!
//! Needs the C fixtures built by `windows/loader-fixtures/build.sh` (the lane sets
//! CONDAFIX_LOADER_FIXTURES). Without them the test fails when CONDAFIX_REQUIRE_LOADER_FIXTURES
//! is set (the lane sets it) and otherwise says it did not run.
#![cfg(windows)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::windows::{
    activation, base_path, fixtures, is_wine, key, run_python, system_root, Real,
};
use condafix_fixtures::loader::{LoaderFixtures, LoaderVariant, LIBCRYPTO, LIBSSL};

/// What detect predicted, in the same terms.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Predicted {
    Loads {
        libssl: String,
    },
    /// A foreign copy wins: "procedure not found" or loads that copy.
    ForeignCopy {
        libssl: String,
    },
    ModuleNotFound,
    BadImage,
}

fn predict(prefix: &Path, path: &[PathBuf], activated: bool) -> Predicted {
    let joined: Vec<String> = path.iter().map(|p| p.display().to_string()).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_condafix"))
        .args(["detect", "--json", "--prefix"])
        .arg(prefix)
        .arg("--system-root")
        .arg(system_root())
        .arg("--search-path")
        .arg(joined.join(";"))
        .output()
        .expect("run condafix");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let ctx = if activated {
        "activated"
    } else {
        "unactivated"
    };
    let p = &v["prefixes"][0];
    // The era comes from the fixture's python3X.dll, not from the record's table.
    assert_eq!(
        p["python"]["evidence"]["decided_by"], "binary",
        "{}",
        p["python"]["loader_reason"]
    );
    let result = p["prediction"][ctx]["result"].as_str().unwrap().to_string();
    let error = p["prediction"][ctx]["error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let libssl = p["dlls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"].as_str().unwrap().eq_ignore_ascii_case(LIBSSL))
        .and_then(|d| d[ctx]["candidates"][0]["path"].as_str())
        .map(key)
        .unwrap_or_default();
    match result.as_str() {
        "ok" => Predicted::Loads { libssl },
        "at-risk" => Predicted::ForeignCopy { libssl },
        "fails" if error.contains("not a valid Win32") => Predicted::BadImage,
        "fails" => Predicted::ModuleNotFound,
        other => panic!("unexpected prediction {other}"),
    }
}

/// Whether the prediction and the real outcome agree.
fn agree(p: &Predicted, r: &Real) -> bool {
    match (p, r) {
        (Predicted::Loads { libssl: a }, Real::Loaded { libssl: b }) => a == b,
        (Predicted::ForeignCopy { .. }, Real::ProcedureNotFound) => true,
        (Predicted::ForeignCopy { libssl: a }, Real::Loaded { libssl: b }) => a == b,
        (Predicted::ModuleNotFound, Real::ModuleNotFound) => true,
        (Predicted::BadImage, Real::BadImage) => true,
        _ => false,
    }
}

struct Case {
    name: &'static str,
    variant: LoaderVariant,
    activated: bool,
    arrange: fn(&Path, &LoaderFixtures, &Path) -> Vec<PathBuf>,
    /// The documented Windows behaviour; asserted so that the check cannot pass vacuously.
    expect: fn(&Path) -> Real,
}

/// A foreign libssl lacking `SSL_CTX_new` wins the search: Windows refuses it ("The specified
/// procedure could not be found."); Wine loads it with the import stubbed.
fn foreign_libssl_wins(foreign_libssl: String) -> Real {
    if is_wine() {
        Real::Loaded {
            libssl: foreign_libssl,
        }
    } else {
        Real::ProcedureNotFound
    }
}

fn lib_bin(prefix: &Path) -> String {
    key(&prefix
        .join("Library")
        .join("bin")
        .join(LIBSSL)
        .display()
        .to_string())
}

fn loaded_from_library_bin(prefix: &Path) -> Real {
    Real::Loaded {
        libssl: lib_bin(prefix),
    }
}

fn cases() -> Vec<Case> {
    use LoaderVariant::*;
    let only_library_bin = |_: &Path, _: &LoaderFixtures, _: &Path| base_path();
    let activated_path = |p: &Path, _: &LoaderFixtures, _: &Path| {
        let mut v = activation(p);
        v.extend(base_path());
        v
    };
    let copy_in_dlls = |p: &Path, f: &LoaderFixtures, _: &Path| {
        LoaderFixtures::copy_dlls(&f.recorded_dlls(), &p.join("DLLs"));
        base_path()
    };
    let foreign_on_path = |p: &Path, f: &LoaderFixtures, scratch: &Path| {
        let foreign = scratch.join("Program Files").join("OpenSSL").join("bin");
        LoaderFixtures::copy_dlls(&f.foreign_dlls(), &foreign);
        let mut v = base_path();
        v.push(foreign);
        v.extend(activation(p));
        v
    };
    let missing_libcrypto = |p: &Path, _: &LoaderFixtures, _: &Path| {
        fs_err::remove_file(p.join("Library").join("bin").join(LIBCRYPTO)).unwrap();
        let mut v = activation(p);
        v.extend(base_path());
        v
    };
    vec![
        Case {
            name: "altered, unactivated, DLLs only in Library\\bin",
            variant: AlteredSearchPath,
            activated: false,
            arrange: only_library_bin,
            expect: |_| Real::ModuleNotFound,
        },
        Case {
            name: "default mode, unactivated, DLLs only in Library\\bin",
            variant: DefaultMode,
            activated: false,
            arrange: only_library_bin,
            expect: loaded_from_library_bin,
        },
        Case {
            name: "altered, activated",
            variant: AlteredSearchPath,
            activated: true,
            arrange: activated_path,
            expect: loaded_from_library_bin,
        },
        Case {
            name: "altered, unactivated, copy in DLLs\\",
            variant: AlteredSearchPath,
            activated: false,
            arrange: copy_in_dlls,
            expect: |p| Real::Loaded {
                libssl: key(&p.join("DLLs").join(LIBSSL).display().to_string()),
            },
        },
        Case {
            name: "default mode, unactivated, copy in DLLs\\",
            variant: DefaultMode,
            activated: false,
            arrange: copy_in_dlls,
            expect: |p| Real::Loaded {
                libssl: key(&p.join("DLLs").join(LIBSSL).display().to_string()),
            },
        },
        Case {
            name: "altered, foreign libssl earlier on PATH",
            variant: AlteredSearchPath,
            activated: false,
            arrange: foreign_on_path,
            expect: |p| {
                foreign_libssl_wins(key(&p
                    .parent()
                    .unwrap()
                    .join("Program Files")
                    .join("OpenSSL")
                    .join("bin")
                    .join(LIBSSL)
                    .display()
                    .to_string()))
            },
        },
        Case {
            name: "default mode, foreign libssl earlier on PATH",
            variant: DefaultMode,
            activated: false,
            arrange: foreign_on_path,
            expect: loaded_from_library_bin,
        },
        Case {
            name: "altered, activated, libcrypto missing",
            variant: AlteredSearchPath,
            activated: true,
            arrange: missing_libcrypto,
            expect: |_| Real::ModuleNotFound,
        },
        Case {
            name: "default mode, libcrypto missing",
            variant: DefaultMode,
            activated: false,
            arrange: missing_libcrypto,
            expect: |_| Real::ModuleNotFound,
        },
    ]
}

/// Puts the foreign DLLs into the real System32 and takes them out again, even on panic.
struct System32Guard(Vec<PathBuf>);

impl Drop for System32Guard {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs_err::remove_file(p);
        }
    }
}

#[test]
fn detect_predicts_what_the_real_loader_does() {
    let Some(fx) = fixtures() else { return };
    let mut disagreements = Vec::new();
    let run_case = |case: &Case, disagreements: &mut Vec<String>| {
        let scratch = tempfile::tempdir().unwrap();
        let prefix = scratch.path().join("anaconda3");
        fx.lay_out_prefix(&prefix, case.variant);
        let path = (case.arrange)(&prefix, &fx, scratch.path());
        let real = run_python(&prefix, &path);
        let predicted = predict(&prefix, &path, case.activated);
        let expected = (case.expect)(&prefix);
        eprintln!("{}: real {real:?}, predicted {predicted:?}", case.name);
        if real != expected {
            disagreements.push(format!(
                "{}: the loader did {real:?}, the fixture expects {expected:?}",
                case.name
            ));
        }
        if !agree(&predicted, &real) {
            disagreements.push(format!(
                "{}: detect predicted {predicted:?}, the loader did {real:?}",
                case.name
            ));
        }
    };
    for case in cases() {
        run_case(&case, &mut disagreements);
    }
    // Last, and alone: a different-version libssl in the machine's own System32.
    let sys32 = system_root().join("system32");
    let _guard = System32Guard(vec![sys32.join(LIBSSL), sys32.join(LIBCRYPTO)]);
    LoaderFixtures::copy_dlls(&fx.foreign_dlls(), &sys32);
    let system32_cases = [
        Case {
            name: "altered, activated, foreign libssl in System32",
            variant: LoaderVariant::AlteredSearchPath,
            activated: true,
            arrange: |p, _, _| {
                let mut v = activation(p);
                v.extend(base_path());
                v
            },
            expect: |_| {
                foreign_libssl_wins(key(&system_root()
                    .join("system32")
                    .join(LIBSSL)
                    .display()
                    .to_string()))
            },
        },
        Case {
            name: "default mode, foreign libssl in System32",
            variant: LoaderVariant::DefaultMode,
            activated: false,
            arrange: |_, _, _| base_path(),
            expect: loaded_from_library_bin,
        },
    ];
    for case in &system32_cases {
        run_case(case, &mut disagreements);
    }
    assert!(
        disagreements.is_empty(),
        "loader model disagreements:\n{}",
        disagreements.join("\n")
    );
}
