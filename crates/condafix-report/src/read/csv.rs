//! The Intune console's CSV export of a remediation's device status (and CSVs made the same
//! way from Graph with `Export-Csv`, or ConfigMgr script results): one row per device, the
//! columns matched by name whatever their case and punctuation (`Device name`, `DeviceName`,
//! `Pre-remediation detection output`, `preRemediationDetectionScriptOutput`, ...), the
//! delimiter `,`, `;` or tab. Each record is read under its own size cap.

use std::io::Read;

use super::intune::{self, RunState};
use super::sink::Sink;
use crate::error::Problem;
use crate::limits::Capped;
use crate::model::Source;

/// A header as it is matched: lower-case letters and digits only.
fn norm(h: &str) -> String {
    h.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

const DEVICE: &[&str] = &[
    "devicename",
    "manageddevicedevicename",
    "device",
    "computername",
    "hostname",
    "machinename",
    "name",
];
const PRE: &[&str] = &[
    "preremediationdetectionoutput",
    "preremediationdetectionscriptoutput",
    "detectionoutput",
    "scriptoutput",
    "output",
];
const POST: &[&str] = &[
    "postremediationdetectionoutput",
    "postremediationdetectionscriptoutput",
];
const TIME: &[&str] = &[
    "laststateupdatedatetime",
    "lastupdatetime",
    "lastupdate",
    "lastrun",
    "lastruntime",
    "lastmodifieddatetime",
    "modifiedtime",
    "lastsynctime",
    "lastsyncdatetime",
    "time",
    "date",
];
const DETECTION: &[&str] = &["detectionstatus", "detectionstate"];
const REMEDIATION: &[&str] = &["remediationstatus", "remediationstate"];
const PRE_ERROR: &[&str] = &[
    "preremediationdetectionerror",
    "preremediationdetectionscripterror",
];
const REMEDIATION_ERROR: &[&str] = &["remediationerror", "remediationscripterror"];
const POST_ERROR: &[&str] = &[
    "postremediationdetectionerror",
    "postremediationdetectionscripterror",
];
const ID: &[&str] = &["deviceid", "manageddeviceid", "id"];

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|n| headers.iter().position(|h| h == n))
}

/// The delimiter the header line uses.
pub fn delimiter(first_line: &str) -> u8 {
    let count = |c: u8| first_line.matches(c as char).count();
    // The first of the most frequent: a comma when there is none.
    let mut best = b',';
    for d in [b';', b'\t'] {
        if count(d) > count(best) {
            best = d;
        }
    }
    best
}

/// Read a CSV export.
pub fn read(reader: impl Read, delimiter: u8, sink: &mut Sink<'_>) {
    let (capped, budget) = Capped::new(reader, sink.limits.csv_record_bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(capped);
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(norm).collect(),
        Err(e) => {
            sink.note(
                None,
                &Problem::Csv {
                    line: 1,
                    message: e.to_string(),
                },
            );
            return;
        }
    };
    let (Some(device), pre, post) = (
        find(&headers, DEVICE),
        find(&headers, PRE),
        find(&headers, POST),
    ) else {
        sink.note(
            None,
            &Problem::CsvColumns("it has no device name column".into()),
        );
        return;
    };
    if pre.is_none() && post.is_none() {
        sink.note(
            None,
            &Problem::CsvColumns("it has no detection output column".into()),
        );
        return;
    }
    let col = |names: &[&str]| find(&headers, names);
    let (time, detection, remediation) = (col(TIME), col(DETECTION), col(REMEDIATION));
    let (pre_error, remediation_error, post_error, id) = (
        col(PRE_ERROR),
        col(REMEDIATION_ERROR),
        col(POST_ERROR),
        col(ID),
    );
    let mut record = csv::StringRecord::new();
    loop {
        budget.reset();
        let line = rdr.position().line() + 1;
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let problem = if budget.exceeded() {
                    Problem::TooLarge {
                        what: "CSV record",
                        limit_mib: (sink.limits.csv_record_bytes >> 20).max(1),
                    }
                } else {
                    Problem::Csv {
                        line,
                        message: e.to_string(),
                    }
                };
                sink.note(Some(format!("{line}")), &problem);
                if budget.exceeded() || e.is_io_error() {
                    break;
                }
                continue;
            }
        }
        let get = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::to_string)
                .filter(|s| !s.trim().is_empty())
        };
        let run = RunState {
            id: get(id),
            device_name: get(Some(device)),
            detection_state: get(detection),
            remediation_state: get(remediation),
            last_state_update: get(time),
            pre_output: get(pre),
            pre_error: get(pre_error),
            remediation_error: get(remediation_error),
            post_output: get(post),
            post_error: get(post_error),
            seen: true,
        };
        if run.device_name.is_none() && run.pre_output.is_none() && run.post_output.is_none() {
            continue; // a blank row
        }
        let o = intune::observation(&run, sink, Source::IntuneCsv, Some(format!("{line}")));
        sink.emit(o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_console_export_with_quoted_headers_is_read() {
        let text = "\"Device name\",\"Last update time\",\"Pre-remediation detection output\"\r\n\"PC-1\",\"2025-01-01T00:00:00Z\",\"condafix check: compliant (1 prefix)\"\r\n";
        let mut got = Vec::new();
        let mut out = |b: Vec<crate::model::Observation>| got.extend(b);
        let redact = |s: &str| s.to_string();
        let mut sink = Sink::new(
            "a.csv".into(),
            None,
            crate::Limits::default(),
            &redact,
            &mut out,
        );
        read(text.as_bytes(), b',', &mut sink);
        sink.finish();
        let notes = sink.notes.clone();
        drop(sink);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].host, "PC-1");
        assert_eq!(delimiter("a;b;c"), b';');
        assert_eq!(delimiter("abc"), b',');
    }
}
