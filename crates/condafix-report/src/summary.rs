//! The numbers the page, `--json` and `--csv` show, computed once from the fleet: every output
//! renders this one value, so they cannot disagree.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::{SignedDuration, Timestamp};
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::Note;
use crate::fleet::{Device, Fleet};
use crate::model::{CodeInfo, DeviceState, Install, UserScope, Verdict};

/// How the summary is made.
#[derive(Debug, Clone)]
pub struct SummaryOptions<'a> {
    /// "Now" for staleness (a fixed time makes the output reproducible).
    pub as_of: Timestamp,
    /// A device not heard from for this many days is stale.
    pub stale_days: u32,
    /// What each finding code means and what fixes it.
    pub catalog: &'a [CodeInfo],
    /// The PATHs given, for the page's header.
    pub paths: Vec<String>,
}

/// `condafix report --json`'s body.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    /// The time staleness is measured from (RFC 3339, UTC).
    pub as_of: String,
    pub stale_days: u32,
    pub inputs: Inputs,
    /// Devices by their state (the worst of their installs', or why they have none).
    pub devices: Vec<Count>,
    /// Installs by verdict.
    pub installs: Vec<Count>,
    /// Per day (UTC) that documents were written: the devices reporting, by state. Empty when
    /// every document is from the same day.
    pub over_time: Vec<Day>,
    /// Findings (errors and warnings) by code, most installs first.
    pub findings: Vec<FindingRow>,
    /// Installs by the era of their Python build.
    pub eras: Vec<Breakdown>,
    /// Installs by Python version (major.minor).
    pub pythons: Vec<Breakdown>,
    /// Installs by OpenSSL version.
    pub openssl: Vec<Breakdown>,
    /// Installs by Just Me / All Users.
    pub scopes: Vec<Breakdown>,
    /// Devices by the condafix version of their newest document.
    pub condafix_versions: Vec<Breakdown>,
    /// Still broken, skipped and no-result devices, each with the next step.
    pub attention: Vec<AttentionDevice>,
    /// Devices not heard from for `stale_days` days, oldest first.
    pub stale: Vec<StaleDevice>,
    /// Inputs that could not be read (or only with a caveat), and why.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Inputs {
    /// The PATHs given.
    pub paths: Vec<String>,
    pub files: u64,
    /// Documents read (a Graph entry, a CSV row and an Ansible host result count as one).
    pub documents: u64,
    pub devices: u64,
    /// Older documents of a device (its history).
    pub history: u64,
    /// Documents that judge no install (stage, config, undo, audit): counted as heard from.
    pub without_verdict: u64,
    /// Files in the folders given that are of no kind read.
    pub skipped_files: u64,
    /// Inputs not read, or read with a caveat (the notes).
    pub problems: u64,
}

/// A count under a stable key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Count {
    pub key: String,
    pub count: u64,
}

/// One day's reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub healthy: u64,
    pub fixed: u64,
    pub still_broken: u64,
    pub skipped: u64,
    pub no_conda: u64,
    pub no_result: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingRow {
    pub code: String,
    pub name: String,
    pub severity: String,
    pub meaning: String,
    /// What fixes it: the fix condafix gave most often in the documents, else the general one.
    pub fix: String,
    pub installs: u64,
    pub devices: u64,
}

/// A share of the installs (or devices) by one property, split by verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Breakdown {
    /// The value (`A`, `3.9`, `1.1.1w`, `just-me`, `0.1.0`, or `unknown`; `other` for the
    /// values past the 20 most common).
    pub key: String,
    pub total: u64,
    pub healthy: u64,
    pub fixed: u64,
    pub still_broken: u64,
    pub skipped: u64,
}

impl Breakdown {
    fn add(&mut self, v: Verdict) {
        self.total += 1;
        match v {
            Verdict::Healthy => self.healthy += 1,
            Verdict::Fixed => self.fixed += 1,
            Verdict::StillBroken => self.still_broken += 1,
            Verdict::Skipped => self.skipped += 1,
        }
    }

    fn merge(&mut self, o: &Breakdown) {
        self.total += o.total;
        self.healthy += o.healthy;
        self.fixed += o.fixed;
        self.still_broken += o.still_broken;
        self.skipped += o.skipped;
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AttentionDevice {
    pub host: String,
    pub state: DeviceState,
    /// The newest document's time (RFC 3339, UTC).
    pub time: Option<String>,
    /// Where it was read from.
    pub origin: String,
    /// What to do next, in a sentence.
    pub next_step: String,
    /// The installs that are not healthy or fixed.
    pub installs: Vec<AttentionInstall>,
    /// The device's earlier states, oldest first (the last 10).
    pub history: Vec<HistoryPoint>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AttentionInstall {
    pub prefix: Option<String>,
    pub verdict: Verdict,
    /// The document's own word when folded into `still-broken`.
    pub said: Option<String>,
    pub codes: Vec<String>,
    pub reason: Option<String>,
    pub next_step: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HistoryPoint {
    pub time: Option<String>,
    pub state: DeviceState,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StaleDevice {
    pub host: String,
    /// The newest time any of its documents has (`null`: none has a time).
    pub last_heard: Option<String>,
    /// Whole days since then.
    pub days: Option<u64>,
    pub state: Option<DeviceState>,
}

/// Values past this many are summed as `other`.
const TOP: usize = 20;
/// History points kept per attention device.
const HISTORY: usize = 10;
/// Days shown in `over_time`.
const DAYS: usize = 90;

fn catalog_entry<'c>(catalog: &'c [CodeInfo], code: &str) -> Option<&'c CodeInfo> {
    catalog.iter().find(|c| c.code == code)
}

/// The general next step for a code the catalog does not know (a newer condafix's).
fn default_fix(code: &str) -> String {
    match code.chars().next() {
        Some('D') => "run `condafix post-install` on the device (it stages conda's verified OpenSSL DLLs)".into(),
        Some('T') => "run `condafix post-install --remove-insecure` (with `--ca-file` behind a TLS-intercepting proxy)".into(),
        Some('V') => "run `condafix verify` on the device and read the interpreter's error".into(),
        _ => "see the README's table of finding codes".into(),
    }
}

fn install_next_step(i: &Install, catalog: &[CodeInfo]) -> String {
    if let Some(n) = &i.next_step {
        return n.clone();
    }
    match (i.verdict, i.said.as_deref()) {
        (Verdict::Skipped, _) => {
            "nothing to fix: no Python in this prefix (remove the folder if it is a leftover)".into()
        }
        (_, Some("needs-elevation")) => {
            "run `condafix post-install` elevated: it is an All Users install".into()
        }
        (_, Some("would-fix")) => "run `condafix post-install` without --dry-run".into(),
        (_, Some("refused")) => {
            "look at the file the device's log names: condafix refused its input and changed nothing".into()
        }
        _ => i
            .codes
            .first()
            .map(|c| {
                catalog_entry(catalog, c)
                    .map(|e| e.fix.clone())
                    .unwrap_or_else(|| default_fix(c))
            })
            .unwrap_or_else(|| "run `condafix post-install` on the device (the remediation script does)".into()),
    }
}

fn python_minor(v: &str) -> String {
    let mut parts = v.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{}", b.trim_end_matches(|c: char| !c.is_ascii_digit())),
        _ => v.to_string(),
    }
}

/// Compare version-like keys numerically where they are numbers (`3.10` after `3.9`).
fn version_key(s: &str) -> Vec<(u64, String)> {
    s.split(['.', '-', '_'])
        .map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            (
                digits.parse().unwrap_or(u64::MAX),
                p[digits.len()..].to_string(),
            )
        })
        .collect()
}

fn top(mut rows: Vec<Breakdown>, sort_by_version: bool) -> Vec<Breakdown> {
    rows.sort_by(|a, b| {
        if sort_by_version {
            let unknown = |r: &Breakdown| r.key == "unknown";
            unknown(a)
                .cmp(&unknown(b))
                .then_with(|| version_key(&b.key).cmp(&version_key(&a.key)))
        } else {
            b.total.cmp(&a.total).then_with(|| a.key.cmp(&b.key))
        }
    });
    if rows.len() > TOP {
        // Keep the most common ones, in the order chosen above.
        let mut by_count: Vec<usize> = (0..rows.len()).collect();
        by_count.sort_by(|a, b| rows[*b].total.cmp(&rows[*a].total).then(a.cmp(b)));
        let keep: BTreeSet<usize> = by_count.into_iter().take(TOP).collect();
        let mut other = Breakdown {
            key: "other".into(),
            ..Breakdown::default()
        };
        let mut kept = Vec::new();
        for (i, r) in rows.into_iter().enumerate() {
            if keep.contains(&i) {
                kept.push(r);
            } else {
                other.merge(&r);
            }
        }
        kept.push(other);
        return kept;
    }
    rows
}

fn breakdown(
    devices: &[&Device],
    key: impl Fn(&Install) -> String,
    sort_by_version: bool,
) -> Vec<Breakdown> {
    let mut map: BTreeMap<String, Breakdown> = BTreeMap::new();
    for i in devices
        .iter()
        .filter_map(|d| d.newest.as_ref()?.state.as_ref())
        .flat_map(|s| &s.installs)
    {
        let k = key(i);
        map.entry(k.clone())
            .or_insert_with(|| Breakdown {
                key: k,
                ..Breakdown::default()
            })
            .add(i.verdict);
    }
    top(map.into_values().collect(), sort_by_version)
}

fn days_between(later: Timestamp, earlier: Timestamp) -> u64 {
    let d: SignedDuration = later.duration_since(earlier);
    (d.as_secs().max(0) / 86_400) as u64
}

fn state_of(d: &Device) -> Option<DeviceState> {
    d.newest.as_ref()?.state.as_ref().map(|s| s.state())
}

fn over_time(devices: &[&Device]) -> Vec<Day> {
    // Per device and day, the state of its last document that day.
    let mut last: HashMap<(usize, String), (Timestamp, DeviceState)> = HashMap::new();
    for (n, d) in devices.iter().enumerate() {
        let newest = d
            .newest
            .as_ref()
            .and_then(|o| Some((o.time?, state_of(d)?)));
        let points = d
            .history
            .iter()
            .filter_map(|p| Some((p.time?, p.state)))
            .chain(newest);
        for (t, s) in points {
            let e = last.entry((n, crate::time::date(t))).or_insert((t, s));
            if t >= e.0 {
                *e = (t, s);
            }
        }
    }
    let mut days: BTreeMap<String, Day> = BTreeMap::new();
    for ((_, date), (_, s)) in last {
        let day = days.entry(date.clone()).or_insert_with(|| Day {
            day: date,
            ..Day::default()
        });
        match s {
            DeviceState::Healthy => day.healthy += 1,
            DeviceState::Fixed => day.fixed += 1,
            DeviceState::StillBroken => day.still_broken += 1,
            DeviceState::Skipped => day.skipped += 1,
            DeviceState::NoConda => day.no_conda += 1,
            DeviceState::NoResult => day.no_result += 1,
        }
    }
    if days.len() < 2 {
        return Vec::new();
    }
    let all: Vec<Day> = days.into_values().collect();
    let skip = all.len().saturating_sub(DAYS);
    all.into_iter().skip(skip).collect()
}

fn findings(fleet: &Fleet, devices: &[&Device], catalog: &[CodeInfo]) -> Vec<FindingRow> {
    let mut installs: BTreeMap<String, u64> = BTreeMap::new();
    let mut on_devices: BTreeMap<String, u64> = BTreeMap::new();
    for s in devices
        .iter()
        .filter_map(|d| d.newest.as_ref()?.state.as_ref())
    {
        let mut seen = BTreeSet::new();
        for i in &s.installs {
            for c in &i.codes {
                *installs.entry(c.clone()).or_default() += 1;
                seen.insert(c.clone());
            }
        }
        for c in &s.config_codes {
            installs.entry(c.clone()).or_default();
            seen.insert(c.clone());
        }
        for c in seen {
            *on_devices.entry(c).or_default() += 1;
        }
    }
    let mut rows: Vec<FindingRow> = on_devices
        .into_iter()
        .map(|(code, devices)| {
            let info = catalog_entry(catalog, &code);
            let observed = fleet.fixes.get(&code).and_then(|fixes| {
                fixes
                    .iter()
                    .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                    .map(|(f, _)| f.clone())
            });
            FindingRow {
                name: info.map_or_else(|| "unknown".into(), |i| i.name.clone()),
                severity: info.map_or_else(|| "unknown".into(), |i| i.severity.clone()),
                meaning: info.map_or_else(
                    || "a code this condafix does not know (from a newer version?)".into(),
                    |i| i.meaning.clone(),
                ),
                fix: observed
                    .or_else(|| info.map(|i| i.fix.clone()))
                    .unwrap_or_else(|| default_fix(&code)),
                installs: installs.get(&code).copied().unwrap_or(0),
                devices,
                code,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.installs
            .cmp(&a.installs)
            .then(b.devices.cmp(&a.devices))
            .then_with(|| a.code.cmp(&b.code))
    });
    rows
}

fn attention(devices: &[&Device], catalog: &[CodeInfo]) -> Vec<AttentionDevice> {
    let mut out = Vec::new();
    for d in devices {
        let Some(newest) = &d.newest else { continue };
        let Some(report) = &newest.state else {
            continue;
        };
        let state = report.state();
        if !state.needs_attention() {
            continue;
        }
        let installs: Vec<AttentionInstall> = report
            .installs
            .iter()
            .filter(|i| matches!(i.verdict, Verdict::StillBroken | Verdict::Skipped))
            .map(|i| AttentionInstall {
                prefix: i.prefix.clone(),
                verdict: i.verdict,
                said: i.said.clone(),
                codes: i.codes.clone(),
                reason: i.reason.clone(),
                next_step: install_next_step(i, catalog),
            })
            .collect();
        let next_step = match (&report.no_result, installs.first()) {
            (Some(why), _) if report.installs.is_empty() => format!(
                "{why}; check that condafix.exe is deployed (the Win32 app) and that the script ran"
            ),
            (_, Some(first)) => first.next_step.clone(),
            _ => "run `condafix post-install` on the device".into(),
        };
        let skip = d.history.len().saturating_sub(HISTORY);
        out.push(AttentionDevice {
            host: d.host.clone(),
            state,
            time: newest.time.map(crate::time::rfc3339),
            origin: newest.origin.clone(),
            next_step,
            installs,
            history: d
                .history
                .iter()
                .skip(skip)
                .map(|p| HistoryPoint {
                    time: p.time.map(crate::time::rfc3339),
                    state: p.state,
                })
                .collect(),
        });
    }
    // Still broken first, then no result, then skipped; by host within each.
    let rank = |s: DeviceState| match s {
        DeviceState::StillBroken => 0,
        DeviceState::NoResult => 1,
        _ => 2,
    };
    out.sort_by(|a, b| {
        rank(a.state)
            .cmp(&rank(b.state))
            .then_with(|| a.host.to_lowercase().cmp(&b.host.to_lowercase()))
    });
    out
}

fn stale(devices: &[&Device], as_of: Timestamp, stale_days: u32) -> Vec<StaleDevice> {
    let limit = SignedDuration::from_hours(24 * i64::from(stale_days));
    let mut out: Vec<StaleDevice> = devices
        .iter()
        .filter(|d| d.last_heard.is_none_or(|t| as_of.duration_since(t) > limit))
        .map(|d| StaleDevice {
            host: d.host.clone(),
            last_heard: d.last_heard.map(crate::time::rfc3339),
            days: d.last_heard.map(|t| days_between(as_of, t)),
            state: state_of(d),
        })
        .collect();
    out.sort_by(|a, b| {
        b.days
            .unwrap_or(u64::MAX)
            .cmp(&a.days.unwrap_or(u64::MAX))
            .then_with(|| a.host.to_lowercase().cmp(&b.host.to_lowercase()))
    });
    out
}

/// The summary of a fleet.
pub fn summarize(fleet: &Fleet, opts: &SummaryOptions<'_>) -> Summary {
    let devices = fleet.sorted();
    let mut device_counts: BTreeMap<DeviceState, u64> = BTreeMap::new();
    let mut install_counts: BTreeMap<Verdict, u64> = BTreeMap::new();
    let mut versions: BTreeMap<String, Breakdown> = BTreeMap::new();
    let mut judged = 0u64;
    for d in &devices {
        let Some(newest) = &d.newest else { continue };
        let Some(s) = &newest.state else { continue };
        judged += 1;
        let state = s.state();
        *device_counts.entry(state).or_default() += 1;
        for i in &s.installs {
            *install_counts.entry(i.verdict).or_default() += 1;
        }
        let key = newest
            .condafix_version
            .clone()
            .unwrap_or_else(|| "unknown".into());
        let row = versions.entry(key.clone()).or_insert_with(|| Breakdown {
            key,
            ..Breakdown::default()
        });
        match state {
            DeviceState::Healthy => row.add(Verdict::Healthy),
            DeviceState::Fixed => row.add(Verdict::Fixed),
            DeviceState::StillBroken => row.add(Verdict::StillBroken),
            DeviceState::Skipped => row.add(Verdict::Skipped),
            DeviceState::NoConda | DeviceState::NoResult => row.total += 1,
        }
    }
    let history: u64 = devices.iter().map(|d| d.history.len() as u64).sum();
    let unknown = || "unknown".to_string();
    Summary {
        as_of: crate::time::rfc3339(opts.as_of),
        stale_days: opts.stale_days,
        inputs: Inputs {
            paths: opts.paths.clone(),
            files: fleet.stats.files,
            documents: fleet.stats.documents,
            devices: devices.len() as u64,
            history,
            without_verdict: fleet.stats.without_verdict,
            skipped_files: fleet.stats.skipped,
            problems: fleet.notes.len() as u64,
        },
        devices: DeviceState::ALL
            .iter()
            .map(|s| Count {
                key: s.label().into(),
                count: device_counts.get(s).copied().unwrap_or(0),
            })
            .chain(std::iter::once(Count {
                key: "not-judged".into(),
                count: devices.len() as u64 - judged,
            }))
            .collect(),
        installs: Verdict::ALL
            .iter()
            .map(|v| Count {
                key: v.label().into(),
                count: install_counts.get(v).copied().unwrap_or(0),
            })
            .collect(),
        over_time: over_time(&devices),
        findings: findings(fleet, &devices, opts.catalog),
        eras: {
            let mut rows = breakdown(
                &devices,
                |i| i.era.map_or_else(unknown, |e| e.letter().to_string()),
                false,
            );
            rows.sort_by(|a, b| (a.key == "unknown", &a.key).cmp(&(b.key == "unknown", &b.key)));
            rows
        },
        pythons: breakdown(
            &devices,
            |i| i.python.as_deref().map_or_else(unknown, python_minor),
            true,
        ),
        openssl: breakdown(
            &devices,
            |i| i.openssl.clone().unwrap_or_else(unknown),
            true,
        ),
        scopes: breakdown(
            &devices,
            |i| {
                i.scope
                    .map_or_else(unknown, |s| UserScope::label(s).to_string())
            },
            false,
        ),
        condafix_versions: top(versions.into_values().collect(), true),
        attention: attention(&devices, opts.catalog),
        stale: stale(&devices, opts.as_of, opts.stale_days),
        notes: fleet.notes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_by_their_numbers_and_unknown_comes_last() {
        let rows = ["3.9", "3.10", "unknown", "3.7", "3.12"]
            .into_iter()
            .map(|k| Breakdown {
                key: k.into(),
                total: 1,
                ..Breakdown::default()
            })
            .collect();
        let keys: Vec<String> = top(rows, true).into_iter().map(|r| r.key).collect();
        assert_eq!(keys, ["3.12", "3.10", "3.9", "3.7", "unknown"]);
    }

    #[test]
    fn past_twenty_values_the_rarest_are_summed_as_other() {
        let rows = (0..30)
            .map(|n| Breakdown {
                key: format!("v{n:02}"),
                total: n,
                ..Breakdown::default()
            })
            .collect();
        let out = top(rows, false);
        assert_eq!(out.len(), 21);
        assert_eq!(out[20].key, "other");
        assert_eq!(out[20].total, (0..10).sum::<u64>());
    }
}
