//! What a fleet of machines sends, written in the real formats from a declarative description
//! of each device, for `condafix report`'s tests and benchmark:
//!
//! - condafix's own `--json` documents: `post-install` (what `--report-dir` drops and Ansible
//!   prints) and `detect` (what `check --report-dir` drops), schema 2, with or without the
//!   fields later versions added;
//! - `condafix check`'s summary line, as the README documents it;
//! - Microsoft Graph's `deviceHealthScripts/{id}/deviceRunStates?$expand=managedDevice`
//!   response (the documented `deviceHealthScriptDeviceState` properties), whose detection
//!   outputs are summary lines;
//! - the Intune console's CSV export of the same report;
//! - Ansible's `json` stdout callback output (`plays[].tasks[].hosts.<host>`) of a
//!   `win_command` task that ran `condafix post-install --json`.
//!
//! Written with `serde_json` and by hand, never with condafix's own types or parsers, so the
//! tests read what an independent writer produced.

use serde_json::{json, Value};

/// A finding as the documents carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: String,
    /// `error` or `warning`.
    pub severity: &'static str,
    pub fix: Option<String>,
}

/// What post-install concluded for an install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Healthy,
    Fixed,
    StillBroken,
    NeedsElevation,
    WouldFix,
    Refused,
    Skipped,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Healthy,
        Outcome::Fixed,
        Outcome::StillBroken,
        Outcome::NeedsElevation,
        Outcome::WouldFix,
        Outcome::Refused,
        Outcome::Skipped,
    ];

    /// post-install's word for it.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Healthy => "healthy",
            Outcome::Fixed => "fixed",
            Outcome::StillBroken => "still-broken",
            Outcome::NeedsElevation => "needs-elevation",
            Outcome::WouldFix => "would-fix",
            Outcome::Refused => "refused",
            Outcome::Skipped => "skipped",
        }
    }

    /// Broken after the run.
    pub fn broken_after(self) -> bool {
        matches!(
            self,
            Outcome::StillBroken | Outcome::NeedsElevation | Outcome::WouldFix | Outcome::Refused
        )
    }

    /// Broken before the run.
    pub fn broken_before(self) -> bool {
        self.broken_after() || self == Outcome::Fixed
    }
}

/// One install on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub prefix: String,
    pub outcome: Outcome,
    /// detect's word: `altered-search-path`, `default-mode`, `default-mode-variant`,
    /// `upstream`; `None`: not placed.
    pub era: Option<&'static str>,
    /// Version and build string; `None` for a prefix without Python (skipped).
    pub python: Option<(String, String)>,
    pub openssl: Option<String>,
    /// `just-me` or `all-users`.
    pub scope: &'static str,
    /// Error and warning findings before post-install ran.
    pub before: Vec<Finding>,
    /// ... and after.
    pub after: Vec<Finding>,
}

/// One device's state at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub host: String,
    /// RFC 3339, UTC.
    pub time: String,
    pub condafix_version: String,
    pub installs: Vec<Install>,
    /// Error findings about the machine's settings (not an install).
    pub machine: Vec<Finding>,
}

fn era_letter(era: Option<&str>) -> &'static str {
    match era {
        Some("altered-search-path") => "A",
        Some("default-mode" | "default-mode-variant") => "B",
        Some("upstream") => "C",
        _ => "?",
    }
}

fn finding_json(f: &Finding, prefix: Option<&str>) -> Value {
    json!({
        "code": f.code,
        "name": "some-finding",
        "severity": f.severity,
        "path": prefix,
        "line": null,
        "message": format!("{} was found", f.code),
        "fix": f.fix,
    })
}

fn build() -> Value {
    json!({"commit": "0123456789ab", "date": "2025-01-01", "target": "x86_64-pc-windows-msvc"})
}

/// Which fields the document has: `Current` as this condafix writes them, `Schema2` as the
/// first schema-2 versions did (no host, time, era, Python or scope per prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vintage {
    Current,
    Schema2,
}

/// `condafix post-install --json` for this device.
pub fn post_install_document(d: &Device, vintage: Vintage) -> Value {
    let prefixes: Vec<Value> = d
        .installs
        .iter()
        .map(|i| {
            let findings: Vec<Value> = i
                .after
                .iter()
                .map(|f| finding_json(f, Some(&i.prefix)))
                .collect();
            let (reason, next_step) = match i.outcome {
                Outcome::Skipped => (Some("no Python in this prefix".to_string()), None),
                Outcome::NeedsElevation => (
                    Some("needs elevation: access denied".to_string()),
                    Some("run condafix from an elevated prompt (Run as administrator)".to_string()),
                ),
                Outcome::WouldFix => (
                    Some("2 changes planned (dry run: nothing was changed)".to_string()),
                    Some("run it again without --dry-run".to_string()),
                ),
                Outcome::Refused => (
                    Some("receipt.json (entries[0].path): a path that leaves the prefix".to_string()),
                    Some("look at the file named above (it may have been tampered with); nothing was changed in this prefix".to_string()),
                ),
                Outcome::StillBroken => (
                    i.after.first().map(|f| format!("{} {} was found", f.code, f.code)),
                    i.after.first().and_then(|f| f.fix.clone()),
                ),
                Outcome::Healthy | Outcome::Fixed => (None, None),
            };
            let mut p = json!({
                "prefix": i.prefix,
                "verdict": i.outcome.word(),
                "changed": i.outcome == Outcome::Fixed,
                "changes": if i.outcome == Outcome::Fixed { 2 } else { 0 },
                "reason": reason,
                "next_step": next_step,
                "openssl_version": i.openssl,
                "prediction_confirmed": null,
                "stage": null,
                "config": null,
                "verify": null,
                "findings_after": findings,
            });
            if vintage == Vintage::Current {
                let era = era_letter(i.era);
                p["python_version"] = json!(i.python.as_ref().map(|p| &p.0));
                p["python_build"] = json!(i.python.as_ref().map(|p| &p.1));
                p["era"] = if era == "?" { Value::Null } else { json!(era) };
                p["scope"] = json!(i.scope);
            }
            p
        })
        .collect();
    let exit_code = if d.installs.iter().any(|i| i.outcome.broken_after()) {
        1
    } else {
        0
    };
    let mut doc = json!({
        "schema_version": 2,
        "condafix_version": d.condafix_version,
        "build": build(),
    });
    if vintage == Vintage::Current {
        doc["host"] = json!(d.host);
        doc["time"] = json!(d.time);
    }
    doc["dry_run"] = json!(d.installs.iter().any(|i| i.outcome == Outcome::WouldFix));
    doc["changed"] = json!(d.installs.iter().any(|i| i.outcome == Outcome::Fixed));
    doc["exit_code"] = json!(exit_code);
    doc["prefixes"] = json!(prefixes);
    doc
}

/// `condafix detect --json` (what `check --report-dir` writes) for this device after the
/// run: a prefix is healthy when no error or warning is left.
pub fn detect_document(d: &Device) -> Value {
    let prefixes: Vec<Value> = d
        .installs
        .iter()
        .map(|i| {
            let mut findings: Vec<Value> = i
                .after
                .iter()
                .map(|f| finding_json(f, Some(&i.prefix)))
                .collect();
            if i.python.is_none() {
                findings.push(json!({"code": "D081", "name": "no-python", "severity": "info",
                    "path": i.prefix, "line": null, "message": "no Python in this prefix", "fix": null}));
            }
            json!({
                "prefix": i.prefix,
                "layout": "windows",
                "kind": "base",
                "scope": i.scope,
                "base": null,
                "found_by": [],
                "python": i.python.as_ref().map(|(v, b)| json!({
                    "version": v, "build": b, "channel": "defaults", "build_date": null,
                    "source": "conda-meta", "loader": "default-mode",
                    "loader_reason": "from the markers in python3X.dll",
                    "era": i.era, "evidence": {}, "machine": "x64",
                })),
                "openssl": i.openssl.as_ref().map(|v| json!({
                    "name": "openssl", "version": v, "build": "h2bbff1b_0", "channel": "defaults", "files": [],
                })),
                "modules": [],
                "dlls": [],
                "prediction": {},
                "findings": findings,
                "healthy": i.after.is_empty(),
                "tls": null,
                "loose_copies": [],
            })
        })
        .collect();
    let machine: Vec<Value> = d.machine.iter().map(|f| finding_json(f, None)).collect();
    json!({
        "schema_version": 2,
        "condafix_version": d.condafix_version,
        "build": build(),
        "host": d.host,
        "time": d.time,
        "search": {"system_root": "C:\\Windows", "path": [], "dll_search_modification": null},
        "machine": {"findings": machine},
        "prefixes": prefixes,
        "summary": {"prefixes": d.installs.len(), "healthy": 0, "needs_fix": 0, "errors": 0, "warnings": 0},
    })
}

/// Before or after the remediation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Before,
    After,
}

fn encode_path(p: &str) -> String {
    let mut out = String::new();
    for c in p.chars() {
        if c == '%' || c == '=' || c == '|' || c.is_control() {
            let mut b = [0u8; 4];
            for byte in c.encode_utf8(&mut b).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `condafix check`'s summary line for this device, in the form the README documents.
pub fn check_line(d: &Device, when: When) -> String {
    let state = |i: &Install| -> (&'static str, Vec<String>) {
        let findings = match when {
            When::Before => &i.before,
            When::After => &i.after,
        };
        let mut codes: Vec<String> = findings.iter().map(|f| f.code.clone()).collect();
        codes.sort();
        codes.dedup();
        let broken = findings.iter().any(|f| f.severity == "error");
        let word = if broken {
            "broken"
        } else if i.python.is_none() {
            "skipped"
        } else {
            "healthy"
        };
        (word, codes)
    };
    let states: Vec<(&Install, &'static str, Vec<String>)> = d
        .installs
        .iter()
        .map(|i| {
            let (w, c) = state(i);
            (i, w, c)
        })
        .collect();
    let n = |w: &str| states.iter().filter(|s| s.1 == w).count();
    let total = states.len();
    let plural = if total == 1 { "prefix" } else { "prefixes" };
    let compliant = n("broken") == 0 && d.machine.is_empty();
    let mut line = if compliant {
        format!("condafix check: compliant ({total} {plural})")
    } else {
        format!(
            "condafix check: NOT COMPLIANT ({} of {total} {plural})",
            n("broken")
        )
    };
    line.push_str(&format!(
        " | condafix={} healthy={} broken={} skipped={}",
        d.condafix_version,
        n("healthy"),
        n("broken"),
        n("skipped")
    ));
    let segment = |(i, w, codes): &(&Install, &'static str, Vec<String>)| {
        format!(
            " | {w} era={} py={} openssl={} scope={} codes={} {}",
            era_letter(i.era),
            i.python.as_ref().map_or("?", |p| p.0.as_str()),
            i.openssl.as_deref().unwrap_or("?"),
            i.scope,
            if codes.is_empty() {
                "-".to_string()
            } else {
                codes.join(",")
            },
            encode_path(&i.prefix)
        )
    };
    for s in states.iter().filter(|s| s.1 == "broken") {
        line.push_str(&segment(s));
    }
    if !d.machine.is_empty() {
        let mut codes: Vec<String> = d.machine.iter().map(|f| f.code.clone()).collect();
        codes.sort();
        codes.dedup();
        line.push_str(&format!(" | config codes={} (machine)", codes.join(",")));
    }
    for w in ["skipped", "healthy"] {
        for s in states.iter().filter(|s| s.1 == w) {
            line.push_str(&segment(s));
        }
    }
    line
}

/// Whether Intune would have run the remediation: the detection found an issue.
fn remediated(d: &Device) -> bool {
    d.installs.iter().any(|i| i.outcome.broken_before()) || !d.machine.is_empty()
}

/// A Graph `deviceHealthScriptDeviceState` with `managedDevice` expanded, for one device.
fn run_state(d: &Device, n: usize) -> Value {
    let fixed_all = !d.installs.iter().any(|i| i.outcome.broken_after()) && d.machine.is_empty();
    let ran = remediated(d);
    json!({
        "@odata.type": "#microsoft.graph.deviceHealthScriptDeviceState",
        "id": format!("7d1c1d3f-0000-4000-8000-{n:012}:f2a5b0c1-0000-4000-8000-{n:012}"),
        "detectionState": if ran { "fail" } else { "success" },
        "lastStateUpdateDateTime": d.time,
        "expectedStateUpdateDateTime": d.time,
        "lastSyncDateTime": d.time,
        "preRemediationDetectionScriptOutput": check_line(d, When::Before),
        "preRemediationDetectionScriptError": null,
        "remediationScriptError": null,
        "postRemediationDetectionScriptOutput": if ran { json!(check_line(d, When::After)) } else { Value::Null },
        "postRemediationDetectionScriptError": null,
        "remediationState": if !ran { "skipped" } else if fixed_all { "success" } else { "remediationFailed" },
        "assignmentFilterIds": [],
        "managedDevice": {
            "@odata.type": "#microsoft.graph.managedDevice",
            "id": format!("f2a5b0c1-0000-4000-8000-{n:012}"),
            "deviceName": d.host,
            "operatingSystem": "Windows",
            "osVersion": "10.0.22631.4317",
            "userPrincipalName": format!("user{n}@contoso.example"),
        },
    })
}

/// `GET /deviceManagement/deviceHealthScripts/{id}/deviceRunStates?$expand=managedDevice`.
pub fn graph_run_states(devices: &[Device]) -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/deviceHealthScripts('7d1c1d3f-0000-4000-8000-000000000000')/deviceRunStates(managedDevice())",
        "value": devices.iter().enumerate().map(|(n, d)| run_state(d, n)).collect::<Vec<_>>(),
    })
}

fn csv_cell(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The Intune console's export of a remediation's device status (UTF-8 with a BOM, every
/// field quoted, CRLF), with the columns the console shows.
pub fn intune_csv(devices: &[Device]) -> String {
    let header = [
        "Device name",
        "Device Id",
        "OS version",
        "User name",
        "Detection status",
        "Remediation status",
        "Pre-remediation detection error",
        "Pre-remediation detection output",
        "Remediation error",
        "Post-remediation detection error",
        "Post-remediation detection output",
        "Last sync time",
        "Last update time",
    ];
    let mut out = String::from("\u{feff}");
    out.push_str(&header.map(csv_cell).join(","));
    out.push_str("\r\n");
    for (n, d) in devices.iter().enumerate() {
        let ran = remediated(d);
        let fixed_all = !d.installs.iter().any(|i| i.outcome.broken_after());
        let row = [
            d.host.clone(),
            format!("f2a5b0c1-0000-4000-8000-{n:012}"),
            "10.0.22631.4317".to_string(),
            format!("user{n}@contoso.example"),
            if ran { "With issues" } else { "Without issues" }.to_string(),
            if !ran {
                "Not run"
            } else if fixed_all {
                "Issue fixed"
            } else {
                "Failed"
            }
            .to_string(),
            String::new(),
            check_line(d, When::Before),
            String::new(),
            String::new(),
            if ran {
                check_line(d, When::After)
            } else {
                String::new()
            },
            d.time.clone(),
            d.time.clone(),
        ];
        out.push_str(&row.map(|c| csv_cell(&c)).join(","));
        out.push_str("\r\n");
    }
    out
}

/// Ansible's json callback output of a play that checks for condafix and runs `condafix
/// post-install --all-users --json` on every device (`ansible.windows.win_command`).
pub fn ansible_json(devices: &[Device]) -> Value {
    let start = devices
        .first()
        .map_or("2025-01-01T00:00:00Z", |d| d.time.as_str());
    let end = devices.last().map_or(start, |d| d.time.as_str());
    let stat_hosts: serde_json::Map<String, Value> = devices
        .iter()
        .map(|d| {
            (
                d.host.to_lowercase(),
                json!({"_ansible_no_log": false, "action": "ansible.windows.win_stat", "changed": false,
                       "stat": {"exists": true, "path": "C:\\tools\\condafix.exe"}}),
            )
        })
        .collect();
    let run_hosts: serde_json::Map<String, Value> = devices
        .iter()
        .map(|d| {
            let doc = post_install_document(d, Vintage::Current);
            let stdout = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let rc = doc["exit_code"].as_i64().unwrap_or(0);
            let mut r = json!({
                "_ansible_no_log": false,
                "action": "ansible.windows.win_command",
                "changed": doc["changed"],
                "cmd": "C:\\tools\\condafix.exe post-install --all-users --json",
                "delta": "0:00:03.412000",
                "end": "2025-01-01 10:00:03.412000",
                "rc": rc,
                "start": "2025-01-01 10:00:00.000000",
                "stderr": "",
                "stderr_lines": [],
                "stdout_lines": stdout.lines().collect::<Vec<_>>(),
                "stdout": stdout,
            });
            if rc != 0 {
                r["failed"] = json!(true);
                r["msg"] = json!("non-zero return code");
            }
            (d.host.to_lowercase(), r)
        })
        .collect();
    let stats: serde_json::Map<String, Value> = devices
        .iter()
        .map(|d| {
            (
                d.host.to_lowercase(),
                json!({"changed": 0, "failures": 0, "ignored": 0, "ok": 2, "rescued": 0, "skipped": 0, "unreachable": 0}),
            )
        })
        .collect();
    json!({
        "custom_stats": {},
        "global_custom_stats": {},
        "plays": [{
            "play": {"duration": {"end": end, "start": start}, "id": "0242ac11-0002-3c2a-8f1d-000000000001", "name": "Make conda's Python able to do HTTPS"},
            "tasks": [
                {"hosts": stat_hosts, "task": {"duration": {"end": end, "start": start}, "id": "0242ac11-0002-3c2a-8f1d-000000000003", "name": "Check that condafix is installed"}},
                {"hosts": run_hosts, "task": {"duration": {"end": end, "start": start}, "id": "0242ac11-0002-3c2a-8f1d-000000000004", "name": "Make conda's Python able to do HTTPS"}},
            ],
        }],
        "stats": stats,
    })
}

/// A small deterministic generator (no dependency on a random crate).
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The outcomes in the order installs get them: most installs healthy or fixed, every other
/// outcome present.
const MIX: [Outcome; 14] = [
    Outcome::Healthy,
    Outcome::Fixed,
    Outcome::Healthy,
    Outcome::StillBroken,
    Outcome::Healthy,
    Outcome::Fixed,
    Outcome::NeedsElevation,
    Outcome::Healthy,
    Outcome::Skipped,
    Outcome::Healthy,
    Outcome::WouldFix,
    Outcome::Fixed,
    Outcome::Healthy,
    Outcome::Refused,
];

const ERAS: [Option<&str>; 5] = [
    Some("altered-search-path"),
    Some("default-mode"),
    Some("default-mode-variant"),
    Some("upstream"),
    None,
];
const PYTHONS: [(&str, &str); 7] = [
    ("3.7.4", "h5263a28_0"),
    ("3.8.13", "h6244533_0"),
    ("3.9.7", "h6244533_1"),
    ("3.10.9", "h966fe2a_0"),
    ("3.11.5", "he1021f5_0"),
    ("3.12.7", "h14ffc60_0"),
    ("3.13.1", "h8205438_100_cp313"),
];
const OPENSSL: [&str; 5] = ["1.1.1d", "1.1.1w", "3.0.13", "3.0.15", "3.3.2"];

/// Days from 2025-01-01 to an RFC 3339 time in January-March 2025.
pub fn time_at(day: u64, second: u64) -> String {
    let month_days = [31u64, 28, 31, 30, 31, 30];
    let (mut month, mut d) = (1u64, day);
    for len in month_days {
        if d < len {
            break;
        }
        d -= len;
        month += 1;
    }
    let s = second % 86_400;
    format!(
        "2025-{month:02}-{:02}T{:02}:{:02}:{:02}Z",
        d + 1,
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// A fleet of `n` devices on `day` (days after 2025-01-01) covering every outcome, era, scope
/// and finding code given: `errors` and `warnings` are (code, fix) pairs, each used at least
/// once when `n` is at least their number; the same `seed` gives the same fleet.
pub fn generated(
    n: usize,
    day: u64,
    errors: &[(String, String)],
    warnings: &[(String, String)],
    seed: u64,
) -> Vec<Device> {
    let mut rng = Lcg::new(seed);
    let mut next_error = 0usize;
    // Fixed installs take their (gone) errors from a counter of their own, so that every
    // code is still left somewhere after the run.
    let mut next_fixed_error = 0usize;
    let mut next_warning = 0usize;
    let mut next_outcome = 0usize;
    let mut devices = Vec::with_capacity(n);
    for i in 0..n {
        let host = format!("PC-{i:05}");
        let count = 1 + (i % 3);
        let mut installs = Vec::new();
        for k in 0..count {
            let outcome = MIX[next_outcome % MIX.len()];
            next_outcome += 1;
            let scope = if (i + k) % 2 == 0 {
                "just-me"
            } else {
                "all-users"
            };
            let prefix = match (scope, k) {
                ("all-users", 0) => "C:\\ProgramData\\anaconda3".to_string(),
                ("all-users", _) => format!("C:\\ProgramData\\anaconda3\\envs\\env{k}"),
                (_, 0) => format!("C:\\Users\\user{i}\\miniconda3"),
                (_, _) => format!("C:\\Users\\user{i}\\miniconda3\\envs\\env{k}"),
            };
            let counter = if outcome == Outcome::Fixed {
                &mut next_fixed_error
            } else {
                &mut next_error
            };
            let mut take_error = || {
                let (c, f) = &errors[*counter % errors.len().max(1)];
                *counter += 1;
                Finding {
                    code: c.clone(),
                    severity: "error",
                    fix: Some(f.clone()),
                }
            };
            let errors_now: Vec<Finding> = if errors.is_empty() {
                Vec::new()
            } else if outcome.broken_before() {
                (0..=rng.below(2)).map(|_| take_error()).collect()
            } else {
                Vec::new()
            };
            let warned = matches!(outcome, Outcome::Healthy) || outcome.broken_after();
            let warning = (!warnings.is_empty() && warned).then(|| {
                let (c, f) = &warnings[next_warning % warnings.len()];
                next_warning += 1;
                Finding {
                    code: c.clone(),
                    severity: "warning",
                    fix: Some(f.clone()),
                }
            });
            let (before, after) = match outcome {
                Outcome::Skipped => (Vec::new(), Vec::new()),
                Outcome::Fixed => (errors_now, Vec::new()),
                Outcome::Healthy => (
                    warning.clone().into_iter().collect(),
                    warning.into_iter().collect(),
                ),
                _ => {
                    let mut all = errors_now;
                    all.extend(warning);
                    (all.clone(), all)
                }
            };
            let python = (outcome != Outcome::Skipped).then(|| {
                let (v, b) = PYTHONS[(i * 3 + k) % PYTHONS.len()];
                (v.to_string(), b.to_string())
            });
            installs.push(Install {
                prefix,
                outcome,
                era: if python.is_some() {
                    ERAS[(i + 2 * k) % ERAS.len()]
                } else {
                    None
                },
                openssl: python
                    .as_ref()
                    .map(|_| OPENSSL[(i + k) % OPENSSL.len()].to_string()),
                python,
                scope,
                before,
                after,
            });
        }
        devices.push(Device {
            host,
            time: time_at(day, 8 * 3600 + (i as u64 * 37) % 36_000),
            condafix_version: if i % 4 == 0 { "0.0.9" } else { "0.1.0" }.to_string(),
            installs,
            machine: Vec::new(),
        });
    }
    devices
}

/// The same devices a day earlier, before condafix fixed anything: what their history holds.
pub fn before(devices: &[Device], days_earlier: u64) -> Vec<Device> {
    devices
        .iter()
        .map(|d| {
            let mut e = d.clone();
            for i in &mut e.installs {
                if i.outcome == Outcome::Fixed {
                    i.outcome = Outcome::StillBroken;
                    i.after = i.before.clone();
                }
            }
            // Move the date back, keeping the clock.
            let day: u64 = d.time[8..10].parse().unwrap_or(1);
            let month: u64 = d.time[5..7].parse().unwrap_or(1);
            let month_start = [0u64, 31, 59, 90, 120, 151][(month as usize - 1).min(5)];
            let abs = (month_start + day - 1).saturating_sub(days_earlier);
            let clock = &d.time[11..19];
            let secs: Vec<u64> = clock.split(':').map(|x| x.parse().unwrap_or(0)).collect();
            e.time = time_at(abs, secs[0] * 3600 + secs[1] * 60 + secs[2]);
            e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(prefix: &str, n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("{prefix}{i:03}"), format!("fix {i}")))
            .collect()
    }

    #[test]
    fn a_generated_fleet_uses_every_outcome_era_and_code_and_is_the_same_every_time() {
        let fleet = generated(40, 3, &codes("D", 9), &codes("W", 4), 7);
        assert_eq!(fleet, generated(40, 3, &codes("D", 9), &codes("W", 4), 7));
        let installs: Vec<&Install> = fleet.iter().flat_map(|d| &d.installs).collect();
        for o in Outcome::ALL {
            assert!(installs.iter().any(|i| i.outcome == o), "{o:?}");
        }
        for e in ERAS {
            assert!(installs.iter().any(|i| i.era == e), "{e:?}");
        }
        for (c, _) in codes("D", 9).iter().chain(&codes("W", 4)) {
            assert!(
                installs
                    .iter()
                    .any(|i| i.before.iter().any(|f| &f.code == c)),
                "{c}"
            );
        }
    }

    #[test]
    fn the_check_line_counts_and_lists_each_install() {
        let fleet = generated(3, 0, &codes("D", 2), &[], 1);
        let line = check_line(&fleet[1], When::Before);
        // Device 1 has two installs: the second is fixed (broken before), the third healthy.
        assert!(line.starts_with("condafix check: NOT COMPLIANT (1 of 2 prefixes) | condafix=0.1.0 healthy=1 broken=1 skipped=0 | broken era=B py=3.10.9 openssl=1.1.1w scope=all-users codes=D000"), "{line}");
        let after = check_line(&fleet[1], When::After);
        assert!(after.starts_with("condafix check: compliant (2 prefixes) | condafix=0.1.0 healthy=2 broken=0 skipped=0 | healthy"), "{after}");
        assert_eq!(time_at(0, 3661), "2025-01-01T01:01:01Z");
        assert_eq!(time_at(59, 0), "2025-03-01T00:00:00Z");
    }
}
