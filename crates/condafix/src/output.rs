//! The `--json` documents: every one carries `schema_version` and `condafix_version`, then the
//! command's own fields. Their JSON Schemas are generated from these types into `schema/`
//! (a test keeps the files current; `--json` outputs are validated against them in tests).

use schemars::JsonSchema;
use serde::Serialize;

use crate::printer::Printer;

/// The version of every document's shape; bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = condafix_detect::SCHEMA_VERSION;

/// `condafix --version`: the version, then the commit, its date and the target.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("CONDAFIX_COMMIT"),
    " ",
    env!("CONDAFIX_BUILD_DATE"),
    " ",
    env!("CONDAFIX_TARGET"),
    ")"
);

/// This build, for every document.
pub fn build() -> condafix_detect::Build {
    condafix_detect::Build {
        commit: env!("CONDAFIX_COMMIT").into(),
        date: env!("CONDAFIX_BUILD_DATE").into(),
        target: env!("CONDAFIX_TARGET").into(),
    }
}

/// The machine a document is about: `%COMPUTERNAME%` (what Intune, ConfigMgr and Ansible's
/// Windows inventory call the device), else the kernel's host name.
pub fn host_name() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let from_env = std::env::var("COMPUTERNAME")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty());
        from_env
            .or_else(|| {
                ["/proc/sys/kernel/hostname", "/etc/hostname"]
                    .iter()
                    .filter_map(|f| fs_err::read_to_string(f).ok())
                    .map(|h| h.trim().to_string())
                    .find(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "unknown-host".to_string())
    })
    .clone()
}

/// When this run started, once for the whole run (the documents and the `--report-dir` file
/// name agree).
pub fn run_time() -> jiff::Timestamp {
    static NOW: std::sync::OnceLock<jiff::Timestamp> = std::sync::OnceLock::new();
    *NOW.get_or_init(jiff::Timestamp::now)
}

/// Set `build`, `host` and `time` on a detection report (what `detect --json` prints and
/// `check --report-dir` writes).
pub fn stamp(report: &mut condafix_detect::Report) {
    report.build = Some(build());
    report.host = Some(host_name());
    report.time = Some(condafix_report::time::rfc3339_ms(run_time()));
}

/// A `--json` document: the version fields, the host and time, then the command's body.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Document<T> {
    pub schema_version: u32,
    pub condafix_version: &'static str,
    pub build: condafix_detect::Build,
    /// The machine the document is about.
    pub host: String,
    /// When it was made: RFC 3339, UTC, to the millisecond.
    pub time: String,
    #[serde(flatten)]
    pub body: T,
}

impl<T: Serialize> Document<T> {
    pub fn new(body: T) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            condafix_version: env!("CARGO_PKG_VERSION"),
            build: build(),
            host: host_name(),
            time: condafix_report::time::rfc3339_ms(run_time()),
            body,
        }
    }
}

/// Print a command's document on stdout (the one thing stdout holds with `--json`).
pub fn print<T: Serialize>(printer: &Printer, body: T) -> anyhow::Result<()> {
    printer.result(&serde_json::to_string_pretty(&Document::new(body))?);
    Ok(())
}

/// A command's document as `--json` prints it, credentials redacted (for `--report-dir`).
pub fn text<T: Serialize>(body: T) -> anyhow::Result<String> {
    redacted(&Document::new(body))
}

/// A value that is a whole document already (detect's `Report`, stamped) as JSON, credentials
/// redacted.
pub fn redacted<T: Serialize>(doc: &T) -> anyhow::Result<String> {
    let text = serde_json::to_string_pretty(doc)?;
    Ok(condafix_detect::redact::redact_credentials(&text) + "\n")
}

/// The schema of a document, for serialized output.
#[cfg(test)]
pub fn schema_of<T: JsonSchema>() -> schemars::Schema {
    schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every document and the file its schema lives in.
    fn schemas() -> Vec<(&'static str, schemars::Schema)> {
        vec![
            ("detect", schema_of::<condafix_detect::Report>()),
            (
                "stage",
                schema_of::<Document<crate::commands::stage::StageBody>>(),
            ),
            (
                "undo",
                schema_of::<Document<crate::commands::undo::UndoBody>>(),
            ),
            (
                "verify",
                schema_of::<Document<crate::commands::verify::VerifyBody>>(),
            ),
            (
                "audit",
                schema_of::<Document<crate::commands::audit::AuditBody>>(),
            ),
            (
                "config",
                schema_of::<Document<crate::commands::config::ConfigBody>>(),
            ),
            (
                "post-install",
                schema_of::<Document<crate::commands::post_install::PostInstallBody>>(),
            ),
            ("report", schema_of::<Document<condafix_report::Summary>>()),
        ]
    }

    /// `schema/<command>.schema.json` is what the types say; `CONDAFIX_UPDATE_SCHEMAS=1`
    /// rewrites the files.
    #[test]
    fn the_published_schemas_are_generated_from_the_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema");
        let update = std::env::var_os("CONDAFIX_UPDATE_SCHEMAS").is_some();
        for (name, mut schema) in schemas() {
            schema.insert("title".into(), format!("condafix {name} --json").into());
            let path = dir.join(format!("{name}.schema.json"));
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            if update {
                fs_err::create_dir_all(&dir).unwrap();
                fs_err::write(&path, &text).unwrap();
                continue;
            }
            let published = fs_err::read_to_string(&path).unwrap_or_default();
            assert!(
                published == text,
                "{} is not what the types say: run `CONDAFIX_UPDATE_SCHEMAS=1 cargo test -p condafix output` and commit it",
                path.display()
            );
        }
    }
}
