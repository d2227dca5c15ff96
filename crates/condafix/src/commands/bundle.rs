//! `condafix bundle -o support.zip`: what a helpdesk needs, passwords redacted.

use std::io::Write as _;

use condafix_detect::redact::redact_credentials;
use zip::write::SimpleFileOptions;

use crate::cli::BundleArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;

pub fn run(args: &BundleArgs) -> anyhow::Result<ExitStatus> {
    let machine = Machine::new();
    let report = machine.detect(&args.target)?;
    let file = fs_err::File::create(&args.output)?;
    let mut z = zip::ZipWriter::new(file);
    let o = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut listing = Vec::new();
    let mut put =
        |z: &mut zip::ZipWriter<fs_err::File>, name: &str, text: &str| -> anyhow::Result<()> {
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
    for (i, p) in report.prefixes.iter().enumerate() {
        let receipt = std::path::Path::new(&p.prefix)
            .join(".condafix")
            .join("receipt.json");
        if let Ok(text) =
            condafix_prefix::safe_read::read(&receipt, condafix_prefix::safe_read::MAX_STATE_BYTES)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        {
            put(&mut z, &format!("receipts/{i:02}-receipt.json"), &text)?;
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
        if let Ok(bytes) = condafix_prefix::safe_read::read(
            std::path::Path::new(&f.path),
            condafix_prefix::safe_read::MAX_CONFIG_BYTES,
        ) {
            let text = condafix_prefix::text::decode_text(&bytes).text;
            let name = format!(
                "config/{i:02}-{}-{}",
                f.role,
                std::path::Path::new(&f.path)
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
        if let Ok(text) = fs_err::read_to_string(&log) {
            put(&mut z, "condafix.log", &text)?;
        }
    }
    z.finish()?;
    Printer::new(false).info(&format!(
        "Wrote {} ({} files: {}); passwords in URLs are replaced by ****.\n",
        args.output.display(),
        listing.len(),
        listing.join(", ")
    ));
    Ok(ExitStatus::Healthy)
}
