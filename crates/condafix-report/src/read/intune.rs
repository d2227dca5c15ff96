//! Intune remediation results: Microsoft Graph's
//! `GET /deviceManagement/deviceHealthScripts/{id}/deviceRunStates?$expand=managedDevice`
//! (`deviceHealthScriptDeviceState`: `detectionState`, `lastStateUpdateDateTime`,
//! `preRemediationDetectionScriptOutput`, `postRemediationDetectionScriptOutput`,
//! `remediationState`, ..., and the expanded `managedDevice.deviceName`), as Graph returns it
//! (camelCase) or as PowerShell's Graph SDK objects serialize (PascalCase), and the console's
//! CSV export of the same report. The detection outputs hold `condafix check`'s summary line.

use serde::de::MapAccess;
use serde::Deserialize;

use super::sink::Sink;
use crate::model::{DeviceReport, Install, Observation, Source, Verdict};
use crate::summary_line::{self, Parsed};

#[derive(Debug, Default, Deserialize)]
pub struct ManagedDevice {
    #[serde(default, alias = "DeviceName", alias = "devicename")]
    #[serde(rename = "deviceName")]
    pub device_name: Option<String>,
    #[serde(default, alias = "Id", alias = "ID")]
    pub id: Option<String>,
}

/// One device's run state (a Graph entry or a CSV row).
#[derive(Debug, Default)]
pub struct RunState {
    pub id: Option<String>,
    pub device_name: Option<String>,
    pub detection_state: Option<String>,
    pub remediation_state: Option<String>,
    pub last_state_update: Option<String>,
    pub pre_output: Option<String>,
    pub pre_error: Option<String>,
    pub remediation_error: Option<String>,
    pub post_output: Option<String>,
    pub post_error: Option<String>,
    /// Any Graph field was seen.
    pub seen: bool,
}

impl RunState {
    /// Read `key`'s value when it is a run-state field (`key` lower-case).
    pub fn take<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        let slot = match key {
            "id" => &mut self.id,
            "detectionstate" => &mut self.detection_state,
            "remediationstate" => &mut self.remediation_state,
            "laststateupdatedatetime" => &mut self.last_state_update,
            "preremediationdetectionscriptoutput" => &mut self.pre_output,
            "preremediationdetectionscripterror" => &mut self.pre_error,
            "remediationscripterror" => &mut self.remediation_error,
            "postremediationdetectionscriptoutput" => &mut self.post_output,
            "postremediationdetectionscripterror" => &mut self.post_error,
            "devicename" => &mut self.device_name,
            "manageddevice" => {
                let d: Option<ManagedDevice> = map.next_value()?;
                if let Some(d) = d {
                    self.device_name = d.device_name.or(self.device_name.take());
                    // The device's own id names it better than the run state's.
                    self.id = d.id.or(self.id.take());
                }
                self.seen = true;
                return Ok(true);
            }
            _ => return Ok(false),
        };
        // Graph sends `null` for outputs of scripts that did not run; PowerShell may send
        // numbers for states (enums serialized as integers).
        let v: Option<serde_json::Value> = map.next_value()?;
        *slot = match v {
            Some(serde_json::Value::String(s)) => Some(s),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        if key != "id" && key != "devicename" {
            self.seen = true;
        }
        Ok(true)
    }
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Before and after the remediation: the installs after it, and those broken before and
/// healthy after counted as fixed.
fn judge(
    pre: Option<Parsed>,
    post: Option<Parsed>,
) -> Option<(Vec<Install>, Vec<String>, Option<String>)> {
    match (pre, post) {
        (pre, Some(post)) => {
            let mut installs = post.installs;
            if let Some(pre) = &pre {
                for i in installs
                    .iter_mut()
                    .filter(|i| i.verdict == Verdict::Healthy)
                {
                    let Some(p) = &i.prefix else { continue };
                    let was_broken = pre.installs.iter().any(|b| {
                        b.verdict == Verdict::StillBroken
                            && b.prefix
                                .as_deref()
                                .is_some_and(|bp| bp.eq_ignore_ascii_case(p))
                    });
                    if was_broken {
                        i.verdict = Verdict::Fixed;
                    }
                }
            }
            Some((
                installs,
                post.config_codes,
                post.condafix_version
                    .or(pre.and_then(|p| p.condafix_version)),
            ))
        }
        (Some(pre), None) => Some((pre.installs, pre.config_codes, pre.condafix_version)),
        (None, None) => None,
    }
}

/// The last line of what a script printed, shortened for the page.
fn last_line(s: &str) -> String {
    let line = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut out: String = line.trim().chars().take(300).collect();
    if line.trim().chars().count() > 300 {
        out.push('…');
    }
    out
}

/// The observation one run state makes.
pub fn observation(
    s: &RunState,
    sink: &mut Sink<'_>,
    source: Source,
    row: Option<String>,
) -> Observation {
    let redact = sink.redact;
    let host = nonempty(&s.device_name)
        .map(str::to_string)
        .or_else(|| {
            let id = nonempty(&s.id)?;
            let name = format!("device {id}");
            sink.note(
                row.clone(),
                &crate::error::Problem::NoDeviceName(redact(&name)),
            );
            Some(name)
        })
        .unwrap_or_else(|| {
            let name = "unnamed device".to_string();
            sink.note(
                row.clone(),
                &crate::error::Problem::NoDeviceName(name.clone()),
            );
            name
        });
    let mut time = None;
    if let Some(t) = nonempty(&s.last_state_update) {
        time = crate::time::parse(t);
        if time.is_none() {
            sink.note(row.clone(), &crate::error::Problem::BadTime(redact(t)));
        }
    }
    let pre = nonempty(&s.pre_output).and_then(summary_line::parse);
    let post = nonempty(&s.post_output).and_then(summary_line::parse);
    let state = match judge(pre, post) {
        Some((mut installs, config_codes, version)) => {
            for i in &mut installs {
                i.prefix = i.prefix.as_deref().map(redact);
            }
            (
                DeviceReport {
                    installs,
                    config_codes,
                    no_result: None,
                },
                version,
            )
        }
        None => {
            let said = [
                &s.post_output,
                &s.pre_output,
                &s.pre_error,
                &s.remediation_error,
                &s.post_error,
            ]
            .into_iter()
            .find_map(nonempty)
            .map(last_line);
            let why = match said {
                Some(text) => format!("the script said: {}", redact(&text)),
                None => format!(
                    "no detection output (detection {}, remediation {})",
                    nonempty(&s.detection_state).unwrap_or("unknown"),
                    nonempty(&s.remediation_state).unwrap_or("unknown")
                ),
            };
            (
                DeviceReport {
                    installs: Vec::new(),
                    config_codes: Vec::new(),
                    no_result: Some(why),
                },
                None,
            )
        }
    };
    let seq = sink.next_seq();
    let origin = match &row {
        Some(r) => format!("{}:{r}", sink.name),
        None => sink.name.clone(),
    };
    Observation {
        host: redact(&host),
        time: time.or(sink.mtime),
        source,
        origin: redact(&origin),
        order: (sink.name.clone(), seq),
        condafix_version: state.1,
        state: Some(state.0),
        fixes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_broken_before_the_remediation_and_healthy_after_is_fixed() {
        let pre = summary_line::parse(
            r"condafix check: NOT COMPLIANT (1 of 2 prefixes) | condafix=0.1.0 healthy=1 broken=1 skipped=0 | broken era=A py=3.7.4 openssl=1.1.1d scope=just-me codes=D010 C:\Users\a\anaconda3 | healthy era=B py=3.12.7 openssl=3.0.15 scope=all-users codes=- C:\ProgramData\anaconda3",
        );
        let post = summary_line::parse(
            r"condafix check: compliant (2 prefixes) | condafix=0.1.0 healthy=2 broken=0 skipped=0 | healthy era=A py=3.7.4 openssl=1.1.1d scope=just-me codes=- C:\USERS\A\anaconda3 | healthy era=B py=3.12.7 openssl=3.0.15 scope=all-users codes=- C:\ProgramData\anaconda3",
        );
        let (installs, _, version) = judge(pre, post).unwrap();
        let verdicts: Vec<Verdict> = installs.iter().map(|i| i.verdict).collect();
        assert_eq!(verdicts, [Verdict::Fixed, Verdict::Healthy]);
        assert_eq!(version.as_deref(), Some("0.1.0"));
    }
}
