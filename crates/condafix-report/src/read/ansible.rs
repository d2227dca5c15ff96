//! Ansible's `json` stdout callback (`ansible.posix.json`): `{"plays": [{"play": {...},
//! "tasks": [{"task": {"name", "id", "duration": {"start", "end"}}, "hosts": {"<host>":
//! {"stdout", "rc", "changed", "failed", "unreachable", "msg", "cmd", ...}}}]}], "stats": {...}}`.
//! A task that ran condafix (its `cmd` names it, or its stdout is a condafix document or a
//! `check` summary line) gives one observation per host; the others are not condafix's.
//! Streamed host by host, each host result under its own size cap.

use jiff::Timestamp;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::condafix::{self, DocLite, Hint};
use super::intune::{self, RunState};
use super::sink::Sink;
use crate::limits::Budget;
use crate::model::{Observation, Source};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HostResult {
    stdout: Option<String>,
    stderr: Option<String>,
    rc: Option<i64>,
    failed: Option<bool>,
    unreachable: Option<bool>,
    skipped: Option<bool>,
    msg: Option<serde_json::Value>,
    cmd: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Duration {
    end: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TaskMeta {
    name: Option<String>,
    duration: Option<Duration>,
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// One host's result of one task: an observation, and whether its time is the document's own.
fn observe(host: &str, r: HostResult, sink: &mut Sink<'_>) -> Option<(Observation, bool)> {
    let stdout = r.stdout.as_deref().unwrap_or("").trim();
    let mentions = r
        .cmd
        .as_ref()
        .map(text)
        .is_some_and(|c| c.to_ascii_lowercase().contains("condafix"));
    let origin = Some(format!("#{host}"));
    if stdout.starts_with('{') {
        if let Ok(doc) = serde_json::from_str::<DocLite>(stdout) {
            if doc.is_condafix() {
                let own_time = doc.time.is_some();
                let hint = Hint {
                    host: Some(host.to_string()),
                    time: None,
                    source: Some(Source::Ansible),
                    origin,
                };
                return match condafix::observation(doc, sink, &hint) {
                    Ok(o) => Some((o, own_time)),
                    Err(p) => {
                        sink.note(Some(host.to_string()), &p);
                        None
                    }
                };
            }
        }
    }
    let line = crate::summary_line::parse(stdout).is_some();
    if !line && !mentions {
        return None;
    }
    let mut run = RunState {
        device_name: Some(host.to_string()),
        ..RunState::default()
    };
    if line {
        run.pre_output = Some(stdout.to_string());
    } else if r.skipped == Some(true) {
        return None;
    } else {
        let why = [
            r.msg.as_ref().map(text),
            r.stderr.clone(),
            (!stdout.is_empty()).then(|| stdout.to_string()),
        ]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty());
        let state = if r.unreachable == Some(true) {
            "unreachable"
        } else if r.failed == Some(true) {
            "failed"
        } else {
            "no condafix output"
        };
        run.pre_error = Some(match (why, r.rc) {
            (Some(w), Some(rc)) => format!("{state} (exit code {rc}): {w}"),
            (Some(w), None) => format!("{state}: {w}"),
            (None, Some(rc)) => format!("{state} (exit code {rc})"),
            (None, None) => state.to_string(),
        });
    }
    let mut o = intune::observation(&run, sink, Source::Ansible, None);
    o.origin.push_str(&format!("#{host}"));
    Some((o, false))
}

pub struct Plays<'s, 'a> {
    pub sink: &'s mut Sink<'a>,
    pub budget: &'s Budget,
}

impl<'de> DeserializeSeed<'de> for Plays<'_, '_> {
    /// How many observations the plays gave.
    type Value = usize;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Plays<'_, '_> {
    type Value = usize;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ansible's plays")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while let Some(found) = seq.next_element_seed(Play {
            sink: &mut *self.sink,
            budget: self.budget,
        })? {
            n += found;
        }
        Ok(n)
    }
}

struct Play<'s, 'a> {
    sink: &'s mut Sink<'a>,
    budget: &'s Budget,
}

impl<'de> DeserializeSeed<'de> for Play<'_, '_> {
    type Value = usize;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Play<'_, '_> {
    type Value = usize;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an Ansible play")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while let Some(key) = map.next_key::<String>()? {
            if key == "tasks" {
                n += map.next_value_seed(Tasks {
                    sink: &mut *self.sink,
                    budget: self.budget,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(n)
    }
}

struct Tasks<'s, 'a> {
    sink: &'s mut Sink<'a>,
    budget: &'s Budget,
}

impl<'de> DeserializeSeed<'de> for Tasks<'_, '_> {
    type Value = usize;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Tasks<'_, '_> {
    type Value = usize;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ansible tasks")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while let Some(found) = seq.next_element_seed(Task {
            sink: &mut *self.sink,
            budget: self.budget,
        })? {
            n += found;
        }
        Ok(n)
    }
}

struct Task<'s, 'a> {
    sink: &'s mut Sink<'a>,
    budget: &'s Budget,
}

impl<'de> DeserializeSeed<'de> for Task<'_, '_> {
    type Value = usize;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Task<'_, '_> {
    type Value = usize;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an Ansible task result")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut pending: Vec<(Observation, bool)> = Vec::new();
        let mut meta = TaskMeta::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "hosts" => pending.extend(map.next_value_seed(Hosts {
                    sink: &mut *self.sink,
                    budget: self.budget,
                })?),
                "task" => meta = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // The callback sorts keys: the task (with its end time) comes after its hosts.
        let end: Option<Timestamp> = meta
            .duration
            .and_then(|d| d.end)
            .and_then(|e| crate::time::parse(&e));
        let n = pending.len();
        for (mut o, own_time) in pending {
            if !own_time {
                o.time = end.or(o.time);
            }
            if let Some(name) = &meta.name {
                o.origin
                    .push_str(&format!(" (task {})", (self.sink.redact)(name)));
            }
            self.sink.emit(o);
        }
        Ok(n)
    }
}

struct Hosts<'s, 'a> {
    sink: &'s mut Sink<'a>,
    budget: &'s Budget,
}

impl<'de> DeserializeSeed<'de> for Hosts<'_, '_> {
    type Value = Vec<(Observation, bool)>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Hosts<'_, '_> {
    type Value = Vec<(Observation, bool)>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ansible host results")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(host) = map.next_key::<String>()? {
            self.budget.reset();
            let r: HostResult = map.next_value()?;
            if let Some(o) = observe(&host, r, self.sink) {
                out.push(o);
            }
        }
        Ok(out)
    }
}
