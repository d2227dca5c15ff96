//! `--ndjson`: one flat event per install (of each device's newest judging document), for
//! Splunk, Elastic or Azure Monitor. The event's JSON Schema is published in
//! `schema/report-event.schema.json`.

use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use crate::fleet::Fleet;
use crate::model::{Era, Source, UserScope, Verdict};

/// The value of every event's `event` field.
pub const EVENT: &str = "condafix.install";

/// One install on one device.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Event {
    /// Always `condafix.install`.
    pub event: String,
    pub host: String,
    /// When the document was written (RFC 3339, UTC); `null` when no time is known.
    pub time: Option<String>,
    /// `just-me` or `all-users`.
    pub user_scope: Option<UserScope>,
    /// The conda prefix; `null` when the document counted it without naming it.
    pub prefix: Option<String>,
    /// The Python version (`3.9.7`).
    pub python: Option<String>,
    /// The Python package's build string (`h6244533_1`).
    pub build: Option<String>,
    /// The era of the Python build: `A`, `B` or `C`.
    pub era: Option<Era>,
    pub openssl: Option<String>,
    pub verdict: Verdict,
    /// Error and warning finding codes.
    pub codes: Vec<String>,
    pub condafix_version: Option<String>,
    /// Where the document came from.
    pub source: Source,
}

/// The events of a fleet, devices sorted by host.
pub fn events(fleet: &Fleet) -> impl Iterator<Item = Event> + '_ {
    fleet
        .sorted()
        .into_iter()
        .filter_map(|d| Some((d, d.newest.as_ref()?)))
        .flat_map(|(d, o)| {
            o.state
                .iter()
                .flat_map(|s| s.installs.iter())
                .map(move |i| Event {
                    event: EVENT.into(),
                    host: d.host.clone(),
                    time: o.time.map(crate::time::rfc3339),
                    user_scope: i.scope,
                    prefix: i.prefix.clone(),
                    python: i.python.clone(),
                    build: i.python_build.clone(),
                    era: i.era,
                    openssl: i.openssl.clone(),
                    verdict: i.verdict,
                    codes: i.codes.clone(),
                    condafix_version: o.condafix_version.clone(),
                    source: o.source,
                })
        })
}

/// Write the events, one JSON object per line; how many.
pub fn write_ndjson(fleet: &Fleet, out: &mut dyn Write) -> io::Result<u64> {
    let mut n = 0;
    for e in events(fleet) {
        serde_json::to_writer(&mut *out, &e)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    Ok(n)
}
