//! The fleet: every device heard from, its newest judging document, and the older ones as its
//! history. Devices are keyed by host name, case-insensitively (Windows names are).

use std::collections::HashMap;

use jiff::Timestamp;

use crate::error::Note;
use crate::model::{DeviceState, Observation};

/// One older document of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub time: Option<Timestamp>,
    pub state: DeviceState,
}

#[derive(Debug, Clone)]
pub struct Device {
    /// The newest document that judges the device's installs.
    pub newest: Option<Observation>,
    /// The host name as written in the newest document.
    pub host: String,
    /// The newest time of any document of this device.
    pub last_heard: Option<Timestamp>,
    /// The older judging documents.
    pub history: Vec<Point>,
    pub documents: u64,
}

/// Counts about the inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputStats {
    pub files: u64,
    pub documents: u64,
    /// Documents that judge no install (stage, config, undo, audit).
    pub without_verdict: u64,
    /// Files in the folders given that are not of a kind read.
    pub skipped: u64,
}

/// How many distinct fix texts are kept per finding code.
const FIXES_PER_CODE: usize = 32;

#[derive(Debug, Default)]
pub struct Fleet {
    pub devices: HashMap<String, Device>,
    pub notes: Vec<Note>,
    pub stats: InputStats,
    /// Per finding code, the fix texts documents gave, with how often.
    pub fixes: HashMap<String, HashMap<String, u64>>,
}

/// Whether `a` is newer than `b`: by time (a document without one is the oldest), then by
/// file and position (so equal times give the same answer on every run).
fn newer(a: &Observation, b: &Observation) -> bool {
    (a.time, &a.order) > (b.time, &b.order)
}

impl Fleet {
    pub fn add(&mut self, obs: Observation) {
        self.stats.documents += 1;
        for (code, fix) in &obs.fixes {
            let per = self.fixes.entry(code.clone()).or_default();
            if per.len() < FIXES_PER_CODE || per.contains_key(fix) {
                *per.entry(fix.clone()).or_default() += 1;
            }
        }
        let key = obs.host.to_lowercase();
        let device = self.devices.entry(key).or_insert_with(|| Device {
            newest: None,
            host: obs.host.clone(),
            last_heard: None,
            history: Vec::new(),
            documents: 0,
        });
        device.documents += 1;
        device.last_heard = device.last_heard.max(obs.time);
        let Some(state) = obs.state.as_ref().map(|s| s.state()) else {
            self.stats.without_verdict += 1;
            return;
        };
        match &device.newest {
            Some(current) if !newer(&obs, current) => device.history.push(Point {
                time: obs.time,
                state,
            }),
            _ => {
                if let Some(old) = device.newest.take() {
                    if let Some(s) = &old.state {
                        device.history.push(Point {
                            time: old.time,
                            state: s.state(),
                        });
                    }
                }
                device.host = obs.host.clone();
                device.newest = Some(obs);
            }
        }
    }

    /// Sort each device's history, oldest first.
    pub fn settle(&mut self) {
        for d in self.devices.values_mut() {
            d.history.sort_by_key(|p| (p.time, p.state));
        }
    }

    /// Devices sorted by host name (case-insensitive), for output that is the same every run.
    pub fn sorted(&self) -> Vec<&Device> {
        let mut v: Vec<(&String, &Device)> = self.devices.iter().collect();
        v.sort_by(|a, b| a.0.cmp(b.0).then_with(|| a.1.host.cmp(&b.1.host)));
        v.into_iter().map(|(_, d)| d).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeviceReport, Install, Source, Verdict};

    fn obs(host: &str, time: &str, verdict: Option<Verdict>, file: &str) -> Observation {
        Observation {
            host: host.into(),
            time: Some(time.parse().unwrap()),
            source: Source::Condafix,
            origin: file.into(),
            order: (file.into(), 1),
            condafix_version: Some("0.1.0".into()),
            state: verdict.map(|v| DeviceReport {
                installs: vec![Install::unnamed(v)],
                ..DeviceReport::default()
            }),
            fixes: Vec::new(),
        }
    }

    #[test]
    fn the_newest_document_of_a_device_wins_and_the_older_ones_are_its_history() {
        let mut f = Fleet::default();
        f.add(obs(
            "PC-1",
            "2025-01-03T00:00:00Z",
            Some(Verdict::Healthy),
            "c",
        ));
        f.add(obs(
            "pc-1",
            "2025-01-01T00:00:00Z",
            Some(Verdict::StillBroken),
            "a",
        ));
        f.add(obs(
            "PC-1",
            "2025-01-02T00:00:00Z",
            Some(Verdict::Fixed),
            "b",
        ));
        // A stage document later than all of them: heard from, state unchanged.
        f.add(obs("PC-1", "2025-01-04T00:00:00Z", None, "d"));
        f.settle();
        assert_eq!(f.devices.len(), 1);
        let d = &f.devices["pc-1"];
        assert_eq!(d.newest.as_ref().unwrap().origin, "c");
        assert_eq!(
            d.history.iter().map(|p| p.state).collect::<Vec<_>>(),
            [DeviceState::StillBroken, DeviceState::Fixed]
        );
        assert_eq!(d.last_heard, Some("2025-01-04T00:00:00Z".parse().unwrap()));
        assert_eq!(f.stats.without_verdict, 1);
        assert_eq!(d.documents, 4);
    }

    #[test]
    fn equal_times_are_decided_by_file_so_every_run_agrees() {
        let mut one = Fleet::default();
        let mut two = Fleet::default();
        let a = obs("PC", "2025-01-01T00:00:00Z", Some(Verdict::Healthy), "a");
        let b = obs(
            "PC",
            "2025-01-01T00:00:00Z",
            Some(Verdict::StillBroken),
            "b",
        );
        one.add(a.clone());
        one.add(b.clone());
        two.add(b);
        two.add(a);
        assert_eq!(one.devices["pc"].newest.as_ref().unwrap().origin, "b");
        assert_eq!(two.devices["pc"].newest.as_ref().unwrap().origin, "b");
    }
}
