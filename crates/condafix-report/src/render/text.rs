//! What `condafix report` says on stderr: the counts, the first devices that need attention,
//! and the inputs that could not be read.

use crate::summary::Summary;

const SHOWN: usize = 10;

/// `1 device`, `2 devices`.
fn n(count: u64, word: &str) -> String {
    format!("{count} {word}{}", if count == 1 { "" } else { "s" })
}

fn counts(c: &[crate::summary::Count]) -> String {
    c.iter()
        .filter(|c| c.count > 0)
        .map(|c| format!("{} {}", c.count, c.key))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report for people.
pub fn text(s: &Summary) -> String {
    let mut out = format!(
        "condafix report: {} ({}) from {} in {}\n",
        n(s.inputs.devices, "device"),
        counts(&s.devices),
        n(s.inputs.documents, "document"),
        n(s.inputs.files, "file")
    );
    out.push_str(&format!("  installs: {}\n", counts(&s.installs)));
    if !s.attention.is_empty() {
        out.push_str(&format!("  needing attention ({}):\n", s.attention.len()));
        for a in s.attention.iter().take(SHOWN) {
            out.push_str(&format!(
                "    {} [{}]: {}\n",
                a.host,
                a.state.label(),
                a.next_step
            ));
        }
        if s.attention.len() > SHOWN {
            out.push_str(&format!("    ... and {} more\n", s.attention.len() - SHOWN));
        }
    }
    if !s.stale.is_empty() {
        out.push_str(&format!(
            "  not heard from for {}: {}\n",
            n(u64::from(s.stale_days), "day"),
            n(s.stale.len() as u64, "device")
        ));
    }
    if !s.notes.is_empty() {
        out.push_str(&format!("  inputs with problems ({}):\n", s.notes.len()));
        for n in s.notes.iter().take(SHOWN) {
            out.push_str(&format!("    {}: {}\n", n.file, n.problem));
        }
        if s.notes.len() > SHOWN {
            out.push_str(&format!("    ... and {} more\n", s.notes.len() - SHOWN));
        }
    }
    out
}
