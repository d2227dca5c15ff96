//! `condafix bundle -o support.zip`: what a helpdesk needs, passwords redacted. The zip is
//! written by handle (a temp file made new beside it, renamed over it, never through a link),
//! owner-only: it carries config contents. What goes in is read only from regular files
//! through no-follow, non-blocking, capped reads, with the rights of whoever controls them; a
//! file with several hard links that belongs to someone else is left out.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use condafix_detect::redact::redact_credentials;
use zip::write::SimpleFileOptions;

use crate::cli::BundleArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;

/// The most of a log that goes in: its last 4 MiB.
const MAX_LOG_BYTES: u64 = 4 * 1024 * 1024;

/// Read a file for the bundle: a regular file (no link at its end, no FIFO), at most `cap`
/// bytes from its end, not one that several names share unless its folder's owner owns it,
/// with the rights of whoever controls its folder.
fn read_for_bundle(path: &Path, cap: u64) -> Option<Vec<u8>> {
    let dir = path.parent()?.to_path_buf();
    condafix_actor::identity::reading_as_owner_of(&dir, || {
        let file = condafix_prefix::safe_read::open(path).ok()?;
        let meta = file.metadata().ok()?;
        if !linked_safely(&file, &dir) {
            return None;
        }
        let start = meta.len().saturating_sub(cap);
        let mut f = file;
        f.seek(SeekFrom::Start(start)).ok()?;
        let mut out = Vec::new();
        f.take(cap).read_to_end(&mut out).ok()?;
        Some(out)
    })
}

/// A file with one name, or one whose owner is its folder's: not someone else's file linked in.
#[allow(clippy::disallowed_types)]
fn linked_safely(file: &std::fs::File, dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let (Ok(m), Ok(d)) = (file.metadata(), fs_err::metadata(dir)) else {
            return false;
        };
        m.nlink() <= 1 || m.uid() == d.uid()
    }
    #[cfg(not(unix))]
    {
        let _ = (file, dir);
        true
    }
}

// std::fs::File: what the output's location hands the zip writer.
#[allow(clippy::disallowed_types)]
pub fn run(args: &BundleArgs) -> anyhow::Result<ExitStatus> {
    let machine = Machine::new();
    let report = machine.detect(&args.target)?;
    let mut listing = Vec::new();
    crate::outfile::replace_with(&args.output, true, |file| {
        let mut z = zip::ZipWriter::new(file);
        let o = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o600);
        let mut put = |z: &mut zip::ZipWriter<&mut std::fs::File>,
                       name: &str,
                       text: &str|
         -> anyhow::Result<()> {
            z.start_file(name, o)?;
            z.write_all(redact_credentials(text).as_bytes())?;
            listing.push(name.to_string());
            Ok(())
        };
        put(
            &mut z,
            "report.json",
            &serde_json::to_string_pretty(&report)?,
        )?;
        let machine_state = condafix_actor::state::process_machine_state_dir();
        for (i, p) in report.prefixes.iter().enumerate() {
            let dir = condafix_prefix::Receipt::state_dir_of(Path::new(&p.prefix), &machine_state);
            let receipt = condafix_prefix::Receipt::path_in(&dir);
            if let Some(bytes) =
                read_for_bundle(&receipt, condafix_prefix::safe_read::MAX_STATE_BYTES)
            {
                put(
                    &mut z,
                    &format!("receipts/{i:02}-receipt.json"),
                    &String::from_utf8_lossy(&bytes),
                )?;
            }
        }
        let files = report.machine.config_files.iter().chain(
            report
                .prefixes
                .iter()
                .filter_map(|p| p.tls.as_ref())
                .flat_map(|t| t.config_files.iter()),
        );
        let mut seen = std::collections::HashSet::new();
        for (i, f) in files.enumerate() {
            if !seen.insert(f.path.clone()) {
                continue;
            }
            if let Some(bytes) = read_for_bundle(
                Path::new(&f.path),
                condafix_prefix::safe_read::MAX_CONFIG_BYTES,
            ) {
                let text = condafix_prefix::text::decode_text(&bytes).text;
                let name = format!(
                    "config/{i:02}-{}-{}",
                    f.role,
                    Path::new(&f.path)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                );
                put(&mut z, &name, &format!("# {}\n{text}", f.path))?;
            }
        }
        if let Some(log) = args
            .log_file
            .clone()
            .or_else(crate::commands::post_install::newest_log)
        {
            if let Some(bytes) = read_for_bundle(&log, MAX_LOG_BYTES) {
                put(&mut z, "condafix.log", &String::from_utf8_lossy(&bytes))?;
            }
        }
        z.finish()?;
        Ok(())
    })?;
    Printer::new(false).info(&format!(
        "Wrote {} ({} files: {}); passwords in URLs are replaced by ****.\n",
        args.output.display(),
        listing.len(),
        listing.join(", ")
    ));
    Ok(ExitStatus::Healthy)
}
