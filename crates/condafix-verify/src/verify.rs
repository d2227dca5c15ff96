//! Run the real interpreter in two launch contexts and classify what happened.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use condafix_detect::redact::redact_credentials;
#[cfg(test)]
use condafix_detect::DllOutcome;
use condafix_detect::{Code, Finding, ImportOutcome, ImportResult, LaunchContext, PrefixReport};
use condafix_prefix::Layout;
use serde::Serialize;

use std::sync::Arc;

use crate::run::{python_of, run_with_timeout, ExitKind, Spec};
use crate::runas::RunAs;

/// The probe the interpreter runs (`python -I -S -B -c PROBE [URL]`; see [`probe_flags`]).
pub const PROBE: &str = include_str!("probe.py");

pub struct VerifyOptions {
    /// `--online`: `Some(None)` probes pip's configured index (or PyPI), `Some(Some(url))` a URL.
    pub online: Option<Option<String>>,
    /// For each interpreter run.
    pub timeout: Duration,
    /// The environment the runs start from (this process's); PATH, CONDA_* and PYTHON* are
    /// replaced or dropped.
    pub env: Vec<(OsString, OsString)>,
    /// A folder outside the prefix to run in.
    pub cwd: PathBuf,
    /// condafix runs elevated: a prefix others may write to is not run (V042).
    pub elevated: bool,
}

/// What one run of the interpreter gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LaunchResult {
    /// `import ssl` loaded (the record's OpenSSL).
    Ok,
    /// `import ssl` failed, or loaded another OpenSSL than the record's.
    Fails,
    /// The interpreter was killed at the deadline.
    TimedOut,
    /// The interpreter could not be started or printed no result.
    DidNotRun,
}

impl LaunchResult {
    pub fn label(self) -> &'static str {
        match self {
            LaunchResult::Ok => "ok",
            LaunchResult::Fails => "fails",
            LaunchResult::TimedOut => "timed-out",
            LaunchResult::DidNotRun => "did-not-run",
        }
    }
}

impl std::fmt::Display for LaunchResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One run of the interpreter.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Launch {
    pub context: LaunchContext,
    pub result: LaunchResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub openssl_version: Option<String>,
    /// The file `_ssl` was loaded from.
    pub ssl_file: Option<String>,
    pub duration_ms: u64,
    /// Everything the probe printed (credentials redacted).
    pub probe: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

impl Launch {
    /// A launch that has not run (yet): nothing known but its context.
    fn not_run(context: LaunchContext) -> Self {
        Launch {
            context,
            result: LaunchResult::DidNotRun,
            code: None,
            error: None,
            openssl_version: None,
            ssl_file: None,
            duration_ms: 0,
            probe: None,
            stderr: String::new(),
        }
    }
}

/// Why an HTTPS request through pip failed (the probe's classification of pip's exception).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    CertificateVerifyFailed,
    Proxy,
    Dns,
    Timeout,
    SslUnavailable,
    ConnectionRefused,
    HttpStatus,
    PipUnavailable,
    Other,
}

impl ErrorClass {
    /// From the probe's word; an unknown word is `Other`.
    pub fn from_probe(word: &str) -> Self {
        match word {
            "certificate-verify-failed" => Self::CertificateVerifyFailed,
            "proxy" => Self::Proxy,
            "dns" => Self::Dns,
            "timeout" => Self::Timeout,
            "ssl-unavailable" => Self::SslUnavailable,
            "connection-refused" => Self::ConnectionRefused,
            "http-status" => Self::HttpStatus,
            "pip-unavailable" => Self::PipUnavailable,
            _ => Self::Other,
        }
    }

    /// The finding code of a failed request.
    pub fn code(self) -> Code {
        match self {
            Self::CertificateVerifyFailed => Code::V030,
            Self::Proxy => Code::V031,
            Self::Dns => Code::V032,
            Self::Timeout => Code::V033,
            _ => Code::V034,
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::CertificateVerifyFailed => "certificate-verify-failed",
            Self::Proxy => "proxy",
            Self::Dns => "dns",
            Self::Timeout => "timeout",
            Self::SslUnavailable => "ssl-unavailable",
            Self::ConnectionRefused => "connection-refused",
            Self::HttpStatus => "http-status",
            Self::PipUnavailable => "pip-unavailable",
            Self::Other => "other",
        })
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OnlineResult {
    pub url: String,
    pub ok: bool,
    /// Why the request failed, as the probe classified it.
    pub error_class: Option<ErrorClass>,
    pub error: Option<String>,
    /// How pip checked certificates: `certifi`, `truststore`, `cert=<file>`.
    pub mechanism: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PrefixVerify {
    pub prefix: String,
    /// The account the interpreter ran as, when not condafix's own: the one user who may change
    /// the prefix, while condafix runs as SYSTEM (or root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
    pub unactivated: Launch,
    pub activated: Launch,
    pub online: Option<OnlineResult>,
    /// What detection predicted, per context.
    pub predicted_unactivated: ImportResult,
    pub predicted_activated: ImportResult,
    /// Whether the interpreter ran. When it did not (V042: someone else may change what it
    /// runs, and it could not be run as them), nothing was confirmed: `agrees` is only the
    /// prediction's own.
    pub ran: bool,
    /// Whether the prediction held (when the interpreter ran).
    pub agrees: bool,
    pub findings: Vec<Finding>,
    pub healthy: bool,
}

fn redact_value(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = redact_credentials(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_value),
        serde_json::Value::Object(o) => o.values_mut().for_each(redact_value),
        _ => {}
    }
}

fn dropped(name: &str) -> bool {
    let u = name.to_ascii_uppercase();
    u == "PATH"
        || u.starts_with("CONDA_")
        || u.starts_with("_CONDA")
        || u.starts_with("__CONDA")
        || u.starts_with("PYTHON")
        || u == "VIRTUAL_ENV"
        || u == "__PYVENV_LAUNCHER__"
}

/// The environment of a launch context: the base environment minus PATH, CONDA_* and PYTHON*,
/// with the PATH an unactivated shell has (system folders) or an activated one.
fn launch_env(
    report: &PrefixReport,
    prefix: &Path,
    ctx: LaunchContext,
    base: &[(OsString, OsString)],
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = base
        .iter()
        .filter(|(k, _)| !dropped(&k.to_string_lossy()))
        .cloned()
        .collect();
    let windows = report.layout == Layout::Windows;
    let system: Vec<PathBuf> = if windows {
        let root = base
            .iter()
            .find(|(k, _)| k.to_string_lossy().eq_ignore_ascii_case("SystemRoot"))
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_else(|| PathBuf::from("C:\\Windows"));
        vec![root.join("System32"), root]
    } else {
        vec![PathBuf::from("/usr/bin"), PathBuf::from("/bin")]
    };
    let path: Vec<PathBuf> = match ctx {
        LaunchContext::Unactivated => system,
        LaunchContext::Activated => report
            .layout
            .activation_dirs(prefix)
            .into_iter()
            .chain(system)
            .collect(),
    };
    let joined = std::env::join_paths(&path).unwrap_or_default();
    env.push(("PATH".into(), joined));
    if ctx == LaunchContext::Activated {
        env.push(("CONDA_PREFIX".into(), prefix.as_os_str().to_owned()));
        env.push(("CONDA_SHLVL".into(), "1".into()));
        env.push((
            "CONDA_DEFAULT_ENV".into(),
            prefix.file_name().map(|n| n.to_owned()).unwrap_or_default(),
        ));
        // What openssl's activate.d script does.
        let bundle = prefix.join(if windows {
            "Library\\ssl\\cacert.pem"
        } else {
            "ssl/cacert.pem"
        });
        let has = env
            .iter()
            .any(|(k, _)| k.to_string_lossy().eq_ignore_ascii_case("SSL_CERT_FILE"));
        if !has && bundle.is_file() {
            env.push(("SSL_CERT_FILE".into(), bundle.into_os_string()));
        }
    }
    env
}

/// How the probe's interpreter starts: its flags and the variables added for them.
///
/// `-I` (no PYTHON* variables, no user site, no script folder on sys.path) and `-S` (no `site`,
/// so no `.pth` file of the prefix runs; the probe puts site-packages on sys.path itself). But
/// an interpreter in an install's root on Windows (`C:\ProgramData\Anaconda3\python.exe`)
/// looks for `pyvenv.cfg` in the folder above it too, `C:\ProgramData`, where any user may
/// create one whose `home` points the standard library at their own folder: code they wrote
/// would run as SYSTEM. `-I` cannot stop it; `PYTHONHOME` (the install itself) does, so such an
/// install starts with `-s -S -B` and PYTHONHOME, PYTHONNOUSERSITE and PYTHONSAFEPATH set (the
/// environment is condafix's own: every other PYTHON* variable is dropped), and the probe takes
/// the current folder off sys.path before it imports anything. A venv (its `pyvenv.cfg` is
/// its own, judged with it) starts with `-I`.
fn probe_flags(
    layout: Layout,
    venv: bool,
    prefix: &Path,
) -> (&'static [&'static str], Vec<(OsString, OsString)>) {
    if layout == Layout::Windows && !venv {
        (
            &["-s", "-S", "-B"],
            vec![
                ("PYTHONHOME".into(), prefix.as_os_str().to_owned()),
                ("PYTHONNOUSERSITE".into(), "1".into()),
                ("PYTHONSAFEPATH".into(), "1".into()),
            ],
        )
    } else {
        (&["-I", "-S", "-B"], Vec::new())
    }
}

fn launch(
    report: &PrefixReport,
    prefix: &Path,
    ctx: LaunchContext,
    opts: &VerifyOptions,
    url: Option<&str>,
    run_as: Option<&Arc<RunAs>>,
) -> Launch {
    let python = python_of(prefix, report.layout == Layout::Windows);
    let venv = report
        .python
        .as_ref()
        .and_then(|p| p.venv.as_ref())
        .is_some();
    let (flags, pinned) = probe_flags(report.layout, venv, prefix);
    let mut args: Vec<std::ffi::OsString> =
        flags.iter().chain(&["-c", PROBE]).map(Into::into).collect();
    if let Some(u) = url {
        args.push(u.into());
    }
    // As the prefix's user: their environment, in a folder they can read.
    let (base, cwd) = match run_as {
        Some(user) => (user.base_env(&opts.env), user.cwd().to_path_buf()),
        None => (opts.env.clone(), opts.cwd.clone()),
    };
    let mut env = launch_env(report, prefix, ctx, &base);
    env.extend(pinned);
    let spec = Spec {
        program: python.clone(),
        args,
        env,
        cwd,
        run_as: run_as.cloned(),
    };
    let out = run_with_timeout(&spec, opts.timeout);
    let mut l = Launch {
        duration_ms: out.duration_ms,
        stderr: redact_credentials(out.stderr.trim()),
        ..Launch::not_run(ctx)
    };
    match &out.exit {
        ExitKind::SpawnFailed { error } => {
            l.code = Some(Code::V041);
            l.error = Some(format!(
                "{} could not be started: {error}",
                python.display()
            ));
            return l;
        }
        ExitKind::TimedOut { after_ms } => {
            l.result = LaunchResult::TimedOut;
            l.code = Some(Code::V040);
            l.error = Some(format!(
                "{} did not finish within {} s; it was killed with its children",
                python.display(),
                after_ms / 1000
            ));
            return l;
        }
        ExitKind::Exited { .. } => {}
    }
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(out.stdout.trim()) else {
        l.code = Some(Code::V041);
        l.error = Some(format!(
            "{} printed no result ({}): {}",
            python.display(),
            out.exit,
            out.stderr.lines().last().unwrap_or("")
        ));
        return l;
    };
    redact_value(&mut v);
    let ssl = &v["ssl"];
    if ssl["ok"].as_bool() == Some(true) {
        l.result = LaunchResult::Ok;
        l.openssl_version = ssl["openssl_version"].as_str().map(str::to_string);
        l.ssl_file = ssl["file"].as_str().map(str::to_string);
        // The OpenSSL loaded should be the prefix's own (conda records it).
        if let (Some(loaded), Some(rec)) = (&l.openssl_version, report.openssl.as_ref()) {
            let version = rec
                .version
                .trim_end_matches(|c: char| c.is_ascii_alphabetic());
            if !loaded.contains(&rec.version) && !loaded.contains(version) {
                l.result = LaunchResult::Fails;
                l.code = Some(Code::D020);
                l.error = Some(format!("loaded {loaded}, but the prefix's openssl record is {} (another copy shadows it)", rec.version));
            }
        }
    } else {
        l.result = LaunchResult::Fails;
        let error = format!(
            "{}: {}",
            ssl["error_type"].as_str().unwrap_or("Error"),
            ssl["error"].as_str().unwrap_or("")
        );
        let low = error.to_lowercase();
        l.code = Some(if low.contains("specified module could not be found") {
            Code::D010
        } else if low.contains("specified procedure could not be found") {
            Code::D020
        } else if low.contains("not a valid win32 application") {
            Code::D040
        } else if low.contains("no module named '_ssl'") {
            Code::D001
        } else {
            Code::V001
        });
        l.error = Some(error);
    }
    l.probe = Some(v);
    l
}

fn predicted_agrees(predicted: &ImportOutcome, launch: &Launch) -> bool {
    match (predicted.result, launch.result) {
        (ImportResult::NotApplicable, _)
        | (_, LaunchResult::TimedOut)
        | (_, LaunchResult::DidNotRun) => true,
        (ImportResult::Ok, r) => r == LaunchResult::Ok,
        (ImportResult::Fails, LaunchResult::Fails) => same_failure(
            predicted.error.as_deref().unwrap_or(""),
            launch.error.as_deref().unwrap_or(""),
            launch.code,
        ),
        (ImportResult::Fails, _) => false,
        // A foreign copy: it fails, or it loads another OpenSSL than the record's.
        (ImportResult::AtRisk, r) => r == LaunchResult::Fails,
    }
}

/// Whether a predicted failure is the one the interpreter printed: the same words from Python
/// (`DLL load failed while importing _ssl:` from 3.8, `DLL load failed:` before), and the same
/// reason when Windows gave it in English (other languages' reasons are not compared).
fn same_failure(predicted: &str, actual: &str, actual_code: Option<Code>) -> bool {
    const HEAD: &str = "ImportError: DLL load failed";
    if !predicted.starts_with(HEAD) {
        // `No module named '_ssl'`: the code says it.
        return actual_code == Some(Code::D001) || !actual.starts_with(HEAD);
    }
    let head = |s: &str| {
        s.find(": ")
            .and_then(|i| s[i + 2..].find(':').map(|j| s[..i + 3 + j].to_string()))
    };
    if !actual.starts_with(HEAD) || head(predicted) != head(actual) {
        return false;
    }
    let predicted_code = if predicted.contains("could not be found") {
        Code::D010
    } else {
        Code::D040
    };
    match actual_code {
        Some(Code::D010 | Code::D040 | Code::D020) => actual_code == Some(predicted_code),
        _ => true,
    }
}

/// Verify one prefix.
pub fn verify_prefix(report: &PrefixReport, opts: &VerifyOptions) -> PrefixVerify {
    let prefix = PathBuf::from(&report.prefix);
    let mut run_as = None;
    if opts.elevated {
        let home = report
            .python
            .as_ref()
            .and_then(|p| p.venv.as_ref())
            .map(|v| PathBuf::from(&v.home));
        let writers = crate::rights::writers_of_install(&prefix, home.as_deref());
        if let Some(w) = &writers.first {
            // Run only as the one user who alone may change these files, never as condafix.
            match (writers.sole_user(), crate::rights::can_start_as_user()) {
                (Some(user), true) => match crate::runas::as_user(user) {
                    Ok(r) => run_as = Some(r),
                    Err(why) => return skipped(report, w, &why),
                },
                (Some(_), false) => {
                    return skipped(report, w, "only SYSTEM (or root) can start it as that user")
                }
                (None, _) => {
                    let who = if writers.unreadable {
                        "its rights could not all be read".to_string()
                    } else {
                        format!(
                            "more than one account or a group may change it ({})",
                            writers.ids.join(", ")
                        )
                    };
                    return skipped(report, w, &who);
                }
            }
        }
    }
    let run_as = run_as.map(Arc::new);
    let run_as = run_as.as_ref();
    let unactivated = launch(
        report,
        &prefix,
        LaunchContext::Unactivated,
        opts,
        None,
        run_as,
    );
    let activated = launch(
        report,
        &prefix,
        LaunchContext::Activated,
        opts,
        None,
        run_as,
    );
    let mut findings = Vec::new();
    for l in [&unactivated, &activated] {
        if let (Some(code), Some(error)) = (l.code, &l.error) {
            let words = match l.context {
                LaunchContext::Unactivated => "without activation",
                LaunchContext::Activated => "in an activated environment",
            };
            findings.push(
                Finding::new(code, format!("verified {words}: {error}"))
                    .contexts(vec![l.context])
                    .evidence("openssl_version", &l.openssl_version)
                    .evidence("ssl_file", &l.ssl_file),
            );
        }
    }
    let (pu, pa) = (
        report.prediction.unactivated.result,
        report.prediction.activated.result,
    );
    let agrees = predicted_agrees(&report.prediction.unactivated, &unactivated)
        && predicted_agrees(&report.prediction.activated, &activated);
    if !agrees {
        findings.push(
            Finding::new(
                Code::V090,
                format!(
                    "detect predicted `import ssl` {pu} without activation and {pa} when activated; the interpreter gave {} and {}: condafix's loader model is wrong for this build, please report it",
                    unactivated.result, activated.result
                ),
            )
            .evidence("python", report.python.as_ref().map(|p| format!("{} {}", p.version, p.build))),
        );
    }
    let online = opts.online.as_ref().map(|target| {
        let configured = unactivated.probe.as_ref().and_then(|p| p["pip"]["config"]["global.index-url"].as_str().map(str::to_string));
        let url = target.clone().or(configured).unwrap_or_else(|| "https://pypi.org/simple/".into());
        let run = launch(report, &prefix, LaunchContext::Unactivated, opts, Some(&url), run_as);
        let o = run.probe.as_ref().map(|p| p["online"].clone()).unwrap_or(serde_json::Value::Null);
        let result = OnlineResult {
            url: redact_credentials(&url),
            ok: o["ok"].as_bool().unwrap_or(false),
            error_class: o["error_class"]
                .as_str()
                .map(ErrorClass::from_probe)
                .or_else(|| run.code.map(|_| ErrorClass::SslUnavailable)),
            error: o["error"].as_str().map(str::to_string).or(run.error.clone()),
            mechanism: o["mechanism"].as_str().map(str::to_string),
        };
        if !result.ok {
            let code = result.error_class.map_or(Code::V034, ErrorClass::code);
            let fix = if code == Code::V030 {
                " (a TLS-intercepting proxy's root is missing: `condafix config --ca-file corp.pem` or `--trust-system-store`)"
            } else {
                ""
            };
            findings.push(
                Finding::new(code, format!("pip could not reach {}: {}{fix}", result.url, result.error.clone().unwrap_or_default()))
                    .evidence("error_class", result.error_class)
                    .evidence("mechanism", &result.mechanism),
            );
        }
        result
    });
    let healthy = unactivated.result == LaunchResult::Ok && online.as_ref().is_none_or(|o| o.ok);
    PrefixVerify {
        prefix: report.prefix.clone(),
        run_as: run_as.map(|r| r.who.clone()),
        unactivated,
        activated,
        online,
        predicted_unactivated: pu,
        predicted_activated: pa,
        ran: true,
        agrees,
        findings,
        healthy,
    }
}

/// Verification not run: the interpreter's files may be changed by someone with fewer rights
/// than this process. The verdict rests on detection.
fn skipped(
    report: &PrefixReport,
    w: &crate::rights::WritableByOthers,
    not_as_user: &str,
) -> PrefixVerify {
    let finding = Finding::new(
        Code::V042,
        format!(
            "verify did not run this interpreter: condafix runs elevated and {} may be changed by {}; running it would run their code with condafix's rights, and it was not run as its user ({not_as_user}). The verdict rests on detection",
            crate::display(&w.path),
            w.who
        ),
    )
    .evidence("not_run_as_user", not_as_user)
    .path(crate::display(&w.path))
    .evidence("writable_by", &w.who)
    .fix("run `condafix verify` as the user who owns the install, without elevation");
    PrefixVerify {
        prefix: report.prefix.clone(),
        run_as: None,
        unactivated: Launch::not_run(LaunchContext::Unactivated),
        activated: Launch::not_run(LaunchContext::Activated),
        online: None,
        predicted_unactivated: report.prediction.unactivated.result,
        predicted_activated: report.prediction.activated.result,
        ran: false,
        agrees: true,
        findings: vec![finding],
        healthy: report.prediction.unactivated.result.is_fine(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(result: LaunchResult) -> Launch {
        Launch {
            result,
            ..Launch::not_run(LaunchContext::Unactivated)
        }
    }

    fn outcome(result: ImportResult) -> ImportOutcome {
        ImportOutcome {
            result,
            error: None,
        }
    }

    #[test]
    fn a_prediction_that_the_interpreter_contradicts_is_a_disagreement() {
        use ImportResult::*;
        assert!(predicted_agrees(&outcome(Ok), &launch(LaunchResult::Ok)));
        assert!(predicted_agrees(
            &outcome(Fails),
            &launch(LaunchResult::Fails)
        ));
        assert!(
            !predicted_agrees(&outcome(Ok), &launch(LaunchResult::Fails)),
            "predicted to load, failed: the model is wrong"
        );
        assert!(
            !predicted_agrees(&outcome(Fails), &launch(LaunchResult::Ok)),
            "predicted to fail, loaded: the model is wrong"
        );
        assert!(
            !predicted_agrees(&outcome(AtRisk), &launch(LaunchResult::Ok)),
            "a foreign copy that loads the record's OpenSSL"
        );
        assert!(predicted_agrees(
            &outcome(AtRisk),
            &launch(LaunchResult::Fails)
        ));
        // No verdict without a run.
        assert!(predicted_agrees(
            &outcome(Ok),
            &launch(LaunchResult::TimedOut)
        ));
        assert!(predicted_agrees(
            &outcome(NotApplicable),
            &launch(LaunchResult::Fails)
        ));
    }

    #[test]
    fn a_failure_must_be_the_predicted_one_in_pythons_words() {
        let predicted = |minor: u32, outcome: DllOutcome| {
            ImportOutcome::from_dlls(Some((outcome, "libssl-3-x64.dll")), minor)
        };
        let failed = |error: &str, code: Code| Launch {
            code: Some(code),
            error: Some(error.to_string()),
            ..launch(LaunchResult::Fails)
        };
        let py38 = failed(
            "ImportError: DLL load failed while importing _ssl: The specified module could not be found.",
            Code::D010,
        );
        let py37 = failed(
            "ImportError: DLL load failed: The specified module could not be found.",
            Code::D010,
        );
        assert!(predicted_agrees(&predicted(8, DllOutcome::NotFound), &py38));
        assert!(predicted_agrees(&predicted(7, DllOutcome::NotFound), &py37));
        assert!(
            !predicted_agrees(&predicted(7, DllOutcome::NotFound), &py38),
            "3.7's words predicted, 3.8's printed: the version model is wrong"
        );
        assert!(
            !predicted_agrees(&predicted(12, DllOutcome::BadImage), &py38),
            "a bad image predicted, a missing module printed"
        );
        // Windows in another language: Python's words are compared, the reason is not.
        let german = failed(
            "ImportError: DLL load failed while importing _ssl: Das angegebene Modul wurde nicht gefunden.",
            Code::V001,
        );
        assert!(predicted_agrees(
            &predicted(12, DllOutcome::NotFound),
            &german
        ));
    }

    #[test]
    fn an_interpreter_in_an_installs_root_on_windows_gets_its_home_pinned() {
        let prefix = Path::new(r"C:\ProgramData\Anaconda3");
        let (flags, env) = probe_flags(Layout::Windows, false, prefix);
        assert!(!flags.contains(&"-I"), "-I would ignore PYTHONHOME");
        assert!(flags.contains(&"-s") && flags.contains(&"-S"));
        assert!(env.contains(&("PYTHONHOME".into(), prefix.as_os_str().to_owned())));
        assert!(env.contains(&("PYTHONSAFEPATH".into(), "1".into())));
        // A venv's pyvenv.cfg is its own; a Unix layout's parent is the prefix itself.
        for (layout, venv) in [(Layout::Windows, true), (Layout::Unix, false)] {
            let (flags, env) = probe_flags(layout, venv, prefix);
            assert_eq!(flags, ["-I", "-S", "-B"]);
            assert!(env.is_empty());
        }
        assert!(dropped("__PYVENV_LAUNCHER__"));
    }

    /// Without -I, `-c` puts the current folder first on sys.path: the probe takes it off before
    /// it imports anything, so a `json` planted there (the probe's first import) never runs.
    #[cfg(unix)]
    #[test]
    fn a_module_planted_in_the_current_folder_does_not_run_in_the_probe() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        for m in ["json", "os", "sysconfig", "ssl", "certifi"] {
            let pkg = dir.path().join(m);
            fs_err::create_dir_all(&pkg).unwrap();
            fs_err::write(
                pkg.join("__init__.py"),
                format!(
                    "open({:?}, 'a').write('{m} ')\n",
                    marker.display().to_string()
                ),
            )
            .unwrap();
        }
        let python = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join("python3"))
            .find(|p| p.is_file())
            .expect("python3 on PATH");
        let spec = crate::run::Spec {
            program: python,
            args: ["-s", "-S", "-B", "-c", PROBE]
                .iter()
                .map(Into::into)
                .collect(),
            env: vec![
                ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
                ("PYTHONSAFEPATH".into(), "".into()),
            ],
            cwd: dir.path().to_path_buf(),
            run_as: None,
        };
        let out = crate::run::run_with_timeout(&spec, std::time::Duration::from_secs(120));
        let v: serde_json::Value =
            serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        assert!(v["python"].is_string(), "{v}");
        assert!(
            !marker.exists(),
            "ran: {:?}",
            fs_err::read_to_string(&marker)
        );
    }

    #[test]
    fn the_unactivated_environment_drops_conda_and_python_variables_and_keeps_the_rest() {
        assert!(
            dropped("CONDA_PREFIX")
                && dropped("_CONDA_EXE")
                && dropped("PYTHONPATH")
                && dropped("Path")
        );
        assert!(!dropped("SystemRoot") && !dropped("HTTPS_PROXY") && !dropped("USERPROFILE"));
    }
}
