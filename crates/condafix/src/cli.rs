use std::path::PathBuf;

use crate::machine::TargetArgs;

use clap::{Args, Parser, Subcommand};

const ABOUT: &str = "Makes a conda install on Windows able to do HTTPS, and proves it.";

const LONG_ABOUT: &str = "\
Makes a conda install on Windows able to do HTTPS, and proves it.

When pip says \"the ssl module in Python is not available\" or conda says \"OpenSSL appears to be
unavailable\", Python cannot load _ssl.pyd's OpenSSL DLLs. condafix finds out why without running
Python, and fixes it without weakening TLS.

Exit codes (every command):
  0  healthy, compliant, or done
  1  a fix is needed (a finding --fail-on counts: errors by default, `--fail-on warning` for
     warnings too), or something was deliberately left alone
  2  usage or I/O error, or input from a prefix was refused (nothing was changed there)
  3  a change needs elevation (an All Users install, a machine-wide setting)

With --json, stdout holds exactly one JSON document (schema_version, condafix_version; its JSON
Schema is in the repository's schema/ folder); everything for people goes to stderr. -q: errors
only.";

#[derive(Debug, Parser)]
#[command(name = "condafix", version = crate::output::VERSION, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: detect, stage, configure and verify every install, unattended.
    #[command(name = "post-install", long_about = POST_INSTALL_LONG)]
    PostInstall(PostInstallArgs),
    /// Exit 0 when every install is compliant, 1 when remediation is needed; prints one summary
    /// line on stdout
    /// (for Intune detection scripts and ConfigMgr detection methods).
    #[command(long_about = CHECK_LONG)]
    Check(CheckArgs),
    /// Tell, without running Python, whether `import ssl` will load in a conda install, and why not.
    #[command(long_about = DETECT_LONG)]
    Detect(DetectArgs),
    /// Put verified copies of the OpenSSL DLLs where Python's loader finds them (undoable).
    #[command(long_about = STAGE_LONG)]
    Stage(StageArgs),
    /// Make pip and conda trust the right certificates, the secure way (undoable).
    #[command(long_about = CONFIG_LONG)]
    Config(ConfigArgs),
    /// Run each prefix's real interpreter the way an unactivated shell does: does `import ssl`
    /// load, which OpenSSL, and (with --online) does HTTPS work through pip's own stack?
    #[command(long_about = VERIFY_LONG)]
    Verify(VerifyArgs),
    /// Hash the TLS chain files (or, with --all, every file) against conda's and pip's records.
    #[command(long_about = AUDIT_LONG)]
    Audit(AuditArgs),
    /// Restore every file and registry value condafix changed in a prefix to its previous state.
    #[command(long_about = UNDO_LONG)]
    Undo(UndoArgs),
    /// Write a support zip for a helpdesk ticket: the JSON report, the receipts, the config files
    /// read (passwords redacted) and the log.
    Bundle(BundleArgs),
    /// Build a broken sample Windows install in a temp folder and fix it, to see condafix work
    /// without Windows or conda at hand.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// The fleet at a glance: read what many machines sent (condafix --json documents, Intune
    /// exports, Ansible output) and write a page, a summary and events for log platforms.
    #[command(long_about = REPORT_LONG)]
    Report(ReportArgs),
}

const REPORT_LONG: &str = "\
The fleet at a glance, from what the machines already send.

Reads every PATH (files, folders, patterns such as \\\\server\\share\\*.json, and .zip files of
them): condafix --json documents of any command since schema 2 (one per file, several one after
another, or JSON Lines in .jsonl/.ndjson files), including those `post-install --report-dir` and
`check --report-dir` drop on a share; Intune remediation results as Microsoft Graph returns them
(GET /deviceManagement/deviceHealthScripts/{id}/deviceRunStates?$expand=managedDevice, saved as
JSON, also from PowerShell) or as the console exports them (CSV), whose detection outputs hold
`condafix check`'s summary line; and Ansible's json callback output (ANSIBLE_STDOUT_CALLBACK=json).
Each device's newest document wins; its older ones are its history. Files that cannot be read
(truncated, too large, a zip bomb, not one of these) are listed with the reason, never fatal.

Outputs (any together):
  -o fleet.html   one self-contained page (no network, no script), charts with tables
  --json          the summary on stdout (a versioned document, schema/report.schema.json)
  --csv FILE      the same numbers as a table (`-`: stdout); formula-like cells neutralised
  --ndjson FILE   one event per install for Splunk, Elastic, Azure Monitor (`-`: stdout;
                  schema/report-event.schema.json)
Without any, a short report goes to stderr.

Exit codes: 0 no device is still broken, 1 some device is still broken or reported no condafix
result, 2 usage or I/O error (nothing readable, an output that cannot be written).

Examples:
  condafix report \\\\fs01\\condafix-reports -o fleet.html
  condafix report runstates.json devicestatus.csv --csv fleet.csv --stale-days 7
  condafix report ansible-out.json --ndjson events.ndjson   (for a forwarder to pick up)";

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Files, folders, patterns (`*`, `?`) or .zip files to read.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    /// Write the HTML page here.
    #[arg(short = 'o', long = "output", value_name = "FILE.html")]
    pub output: Option<PathBuf>,

    /// Print the summary as a versioned JSON document on stdout.
    #[arg(long)]
    pub json: bool,

    /// Write the summary's numbers as CSV here (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Write one JSON event per install here (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub ndjson: Option<PathBuf>,

    /// A device whose newest document is older than this many days is listed as stale.
    #[arg(long, value_name = "DAYS", default_value_t = 14)]
    pub stale_days: u32,

    /// Measure staleness from this time instead of now (RFC 3339, e.g. 2025-03-01T00:00:00Z),
    /// to make a report reproducible.
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,

    /// The page's title.
    #[arg(long, value_name = "TEXT", default_value = "condafix fleet report")]
    pub title: String,

    /// Worker threads reading the inputs (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `--report-dir`, for the commands whose document a fleet report reads.
#[derive(Debug, Clone, Args)]
pub struct ReportDirArg {
    /// Also write this run's JSON document into DIR (a share: \\\\server\\share\\condafix) as
    /// <host>-<UTC time>.json, for `condafix report`. Written atomically, never through a link,
    /// never over another file; a failure to write it is a warning, never a failed run.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
}

const POST_INSTALL_LONG: &str = "\
The main job: for every install (base first, then its envs) detect, stage the OpenSSL DLLs,
configure pip and conda, and verify with the real interpreter, in one transaction per prefix;
then detect again and compare the prediction with what the interpreter did. Run it right after
the Anaconda/Miniconda installer, as a constructor post_install step, from Intune/ConfigMgr/
Ansible, or in a GitHub Actions step. Nothing is asked.

The report ends with a verdict per prefix: healthy, fixed, still broken (with the finding and
the next step) or skipped (why).

Exit codes:
  0  every prefix is healthy or fixed
  1  a prefix is still broken
  2  usage or internal error
  3  a change needs elevation (an All Users install)
As a constructor post-install step (INSTALLER_UNATTENDED set) or with --never-fail, the exit code
is 0 unless condafix itself could not run: a non-zero exit aborts a silent install.

Under GitHub Actions (GITHUB_ACTIONS=true): a ::group:: per prefix, ::error/::warning
annotations per finding, a table in $GITHUB_STEP_SUMMARY, outputs healthy, openssl-version and
changed in $GITHUB_OUTPUT, and with --add-to-path the prefix on $GITHUB_PATH for later steps.

A log with timestamps goes to --log-file (by default, when unattended, to
%LOCALAPPDATA%\\condafix\\logs); credentials are redacted everywhere. With --report-dir DIR the
JSON document is also dropped into DIR (a share) for `condafix report`.";

const CONFIG_LONG: &str = "\
Make pip and conda trust the right certificates, the secure way (undoable).

With --ca-file (a corporate root, PEM or DER) and/or --trust-system-store, condafix builds one PEM
bundle: the prefix's public roots (Library\\ssl\\cacert.pem, certifi) + the given certificates +
the OS trust store's roots, de-duplicated; expired and non-CA certificates are reported and left
out. It is written to <prefix>\\.condafix\\ca-bundle.pem (--scope user: %LOCALAPPDATA%\\condafix\\).
pip gets `cert = <bundle>` (none where pip >= 24.2 on Python >= 3.10 already uses the OS store and
only the OS store is wanted); conda gets `ssl_verify: truststore` (conda >= 23.9, Python >= 3.10,
no proxy before conda 26.7) or `ssl_verify: <bundle>`. Edits keep every other line, comment and
line ending; a file pip or conda could not parse is left untouched.

TLS verification is never weakened unless a flag says so: --remove-insecure takes out
trusted-host, `ssl_verify: false`, PIP_TRUSTED_HOST and a `verify=False` edit of pip's vendored
requests; --insecure-trusted-host adds a trusted-host entry, loudly.

Every change goes through the receipt: `condafix undo` restores each file's exact bytes and each
registry value's exact type and data.

Exit codes: 0 done (or nothing to do), 1 something was left untouched, 2 usage or I/O error,
3 needs elevation.";

const STAGE_LONG: &str = "\
Put verified copies of the OpenSSL DLLs where Python's loader finds them (undoable).

For each DLL that _ssl.pyd or _hashlib.pyd needs and that Python cannot load without activation
(or loads the wrong copy of), condafix places a copy in DLLs\\, beside the .pyd, which every
loader mode searches first. The copy comes from the prefix's Library\\bin, else the package
cache (pkgs\\<openssl>\\, or its .conda / .tar.bz2 archive, read by streaming), else an offline
bundle given with --from; its SHA-256 must equal conda's record (or paths.json, or the bundle's
SHA256SUMS), and is checked again after writing. On builds that find Library\\bin by themselves
nothing is staged.

Every change is atomic and journalled; a run that is killed is rolled back by the next one. What
condafix changed is kept in <prefix>\\.condafix\\receipt.json, with backups of every replaced file:
`condafix undo` restores the exact previous bytes, and later runs refresh the copies condafix owns
when openssl changes (and remove those no longer needed). Copies condafix did not write are
reported and kept unless --replace-foreign.

Exit codes: 0 Python loads ssl without activation in every prefix, 1 a prefix still needs a fix,
2 usage or I/O error, 3 needs elevation (an All Users install).";

const VERIFY_LONG: &str = "\
Run each prefix's real interpreter the way an unactivated shell does, and the way an activated
one does: `python -I -B -c <probe>` with only the system folders on PATH, no CONDA_* or PYTHON*
variables, from a folder outside the prefix. It reports whether `import ssl` loads (and the exact
error if not), which OpenSSL was loaded and from which file, the default verify paths, certifi,
pip's version and effective config; and compares that with `detect`'s prediction (a
disagreement is reported as V090). With --online, it makes an HTTPS request through pip's own
network stack to the index pip is configured for (or URL), with pip's cert and proxy settings and
no trusted-host shortcut, and reports the TLS error class.

Every interpreter run has a timeout; a hung one is killed with its children and reported.

Exit codes: 0 `import ssl` works without activation (and HTTPS, with --online) in every prefix,
1 not, 2 usage or I/O error.";

const AUDIT_LONG: &str = "\
Hash the files TLS rests on (the OpenSSL DLLs, _ssl/_hashlib, the CA bundles, pip's vendored
requests/urllib3/certifi/truststore) against conda's records (sha256_in_prefix, else sha256; noarch
paths mapped to where they were installed) and pip's RECORD. With --all, every file of every
conda record, in parallel. Files whose hash is not recorded are reported as unverifiable, text
files that differ only by CRLF line endings as crlf-only.

Exit codes: 0 nothing altered or missing, 1 something is, 2 usage or I/O error.";

const UNDO_LONG: &str = "\
Restore every file condafix changed in a prefix to its exact previous bytes.

Reads <prefix>\\.condafix\\receipt.json: files condafix created are removed, files it replaced or
removed are restored from their backups. A file someone else changed since condafix wrote it is
not clobbered: it is reported and left alone. Undo of an undo changes nothing.

Exit codes: 0 done (or nothing to undo), 1 some files were left alone, 2 usage or I/O error.";

const DETECT_LONG: &str = "\
Tell, without running Python, whether `import ssl` will load in a conda install, and why not.

Without --prefix, every conda install and environment on the machine is found first.

For each prefix, condafix reads the conda-meta records of python and openssl, the import tables
of DLLs\\_ssl.pyd and DLLs\\_hashlib.pyd and of the OpenSSL DLLs they pull in, and walks the
Windows loader's search order for that Python build twice: as a program started without
`conda activate` (an IDE, Scripts\\pip.exe, a scheduled task, CI) and from an activated shell.
Every copy found is hashed and compared with conda's record. It also reads pip's config files,
the .condarc files, TLS environment variables (process, user and machine), and checks pip's
vendored TLS code against its RECORD: insecure or dangling settings are reported, passwords in
proxy URLs redacted.

Findings have stable codes (D0xx), listed in the README. The report goes to stderr; with --json a
versioned document goes to stdout instead.

Exit codes: 0 no finding --fail-on counts (errors by default), 1 at least one prefix needs a fix,
2 usage or I/O error.

Examples:
  condafix detect --prefix %USERPROFILE%\\anaconda3
  condafix detect --prefix C:\\Miniconda --prefix C:\\Miniconda\\envs\\legacy --json";

#[derive(Debug, Args)]
pub struct DetectArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Print a versioned JSON document on stdout instead of the report on stderr.
    #[arg(long)]
    pub json: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct StageArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub write: WriteArgs,

    /// Show the plan (what would be copied, replaced or removed, from where, verified how) and
    /// change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Do not ask for confirmation (condafix never asks when not run from a terminal).
    #[arg(short, long)]
    pub yes: bool,

    /// Print a versioned JSON document on stdout instead of the report on stderr.
    #[arg(long)]
    pub json: bool,

    /// An offline bundle (a zip with a SHA256SUMS manifest, e.g. on an IT share) to take DLLs
    /// from when neither the prefix nor its package cache has a verified copy.
    #[arg(long = "from", value_name = "BUNDLE.ZIP")]
    pub from_bundle: Option<PathBuf>,

    /// Stage a DLL even when its bytes do not match conda's record. RISK: the bytes are then
    /// whatever the source holds; a tampered OpenSSL sees every HTTPS connection of this Python.
    #[arg(long)]
    pub allow_unverified: bool,

    /// Back up and replace (or remove) DLL copies condafix did not write, such as those a manual
    /// fix left in DLLs\. Without it they are reported and kept.
    #[arg(long)]
    pub replace_foreign: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    Site,
    User,
    Global,
}

impl From<ScopeArg> for condafix_config::Scope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::Site => Self::Site,
            ScopeArg::User => Self::User,
            ScopeArg::Global => Self::Global,
        }
    }
}

/// Options of the commands that change prefixes.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// Seconds to wait for another condafix that is changing the same prefix before giving up
    /// (exit 2, naming the process that holds it).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub lock_timeout: u64,
}

impl WriteArgs {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lock_timeout)
    }
}

/// The config flags `config` and `post-install` share.
#[derive(Debug, Args)]
pub struct ConfigFlags {
    /// A corporate CA certificate (PEM or DER) to trust; repeat for several.
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_files: Vec<PathBuf>,

    /// Trust the OS trust store's roots too (Windows: the ROOT store, where group policy puts
    /// corporate roots).
    #[arg(long)]
    pub trust_system_store: bool,

    /// Where to write: site (the prefix), user, or global (needs elevation).
    #[arg(long, value_enum, default_value_t = ScopeArg::Site)]
    pub scope: ScopeArg,

    /// pip's index URL (credentials in it are never printed).
    #[arg(long, value_name = "URL")]
    pub index_url: Option<String>,

    /// The proxy for pip and conda, e.g. http://user:password@proxy:8080 (never printed with the
    /// password).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Remove insecure settings: pip's trusted-host, `ssl_verify: false`, PIP_TRUSTED_HOST in the
    /// user environment, and a `verify=False` edit of pip's vendored requests (restored from the
    /// package cache).
    #[arg(long)]
    pub remove_insecure: bool,

    /// Put the prefix's folders first on the user PATH (HKCU\Environment, REG_EXPAND_SZ), or on
    /// $GITHUB_PATH under GitHub Actions.
    #[arg(long)]
    pub add_to_path: bool,

    /// Allow machine-wide changes (the machine PATH of an All Users install, machine variables);
    /// needs an elevated prompt.
    #[arg(long)]
    pub system: bool,

    /// Remove (or repoint at the bundle) user environment variables such as SSL_CERT_FILE and
    /// REQUESTS_CA_BUNDLE that point at missing files.
    #[arg(long)]
    pub fix_env: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub write: WriteArgs,

    #[command(flatten)]
    pub config: ConfigFlags,

    /// The .condarc to write (default: the one that wins for the prefix).
    #[arg(long, value_name = "FILE")]
    pub condarc: Option<PathBuf>,

    /// INSECURE: turn pip's certificate checks off for HOST (the blog fix), knowingly. Recorded in
    /// the receipt; `condafix undo` removes it.
    #[arg(long = "insecure-trusted-host", value_name = "HOST")]
    pub insecure_trusted_hosts: Vec<String>,

    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Do not ask for confirmation (condafix never asks when not run from a terminal).
    #[arg(short, long)]
    pub yes: bool,

    /// Print a versioned JSON document on stdout instead of the report on stderr.
    #[arg(long)]
    pub json: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Also make an HTTPS request through pip's own stack: to URL, or to pip's configured index
    /// (PyPI when none).
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub online: Option<String>,

    /// Seconds each interpreter run may take before it is killed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,

    /// Print a versioned JSON document on stdout instead of the report on stderr.
    #[arg(long)]
    pub json: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Every file of every conda record, not only the TLS chain.
    #[arg(long)]
    pub all: bool,

    /// Print a versioned JSON document on stdout instead of the report on stderr.
    #[arg(long)]
    pub json: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PostInstallArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub write: WriteArgs,

    /// Show what would be done and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Print a versioned JSON document on stdout (with `changed` per prefix and overall).
    #[arg(long)]
    pub json: bool,

    /// Exit 0 unless condafix itself could not run (implied when INSTALLER_UNATTENDED is set).
    #[arg(long)]
    pub never_fail: bool,

    /// Append a timestamped log here (credentials redacted).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Also make an HTTPS request through pip's own stack when verifying (URL, or pip's index).
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub online: Option<String>,

    /// Seconds each interpreter run may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,

    /// Do not run the interpreters (the verdict then rests on detection alone).
    #[arg(long)]
    pub no_verify: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,

    /// An offline bundle of OpenSSL DLLs (zip with SHA256SUMS), see `condafix stage --help`.
    #[arg(long = "from", value_name = "BUNDLE.ZIP")]
    pub from_bundle: Option<PathBuf>,

    /// Back up and replace DLL copies condafix did not write.
    #[arg(long)]
    pub replace_foreign: bool,

    /// Stage DLLs that do not match conda's record (RISK: see `condafix stage --help`).
    #[arg(long)]
    pub allow_unverified: bool,

    #[command(flatten)]
    pub config: ConfigFlags,

    #[command(flatten)]
    pub report_dir: ReportDirArg,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub report_dir: ReportDirArg,
}

const CHECK_LONG: &str = "\
Exit 0 when every install is compliant, 1 when remediation is needed, and one summary line on
stdout (what the Intune console shows and exports as the detection output; ConfigMgr's contract
is \"stdout and exit 0 = compliant\").

The line, at most 2,048 characters, in a stable form `condafix report` reads back:
  condafix check: NOT COMPLIANT (1 of 2 prefixes) | condafix=0.1.0 healthy=1 broken=1 skipped=0
  | broken era=A py=3.7.4 openssl=1.1.1d scope=just-me codes=D010,D022 C:\\Users\\me\\anaconda3
  | healthy era=B py=3.12.7 openssl=3.0.15 scope=all-users codes=- C:\\ProgramData\\anaconda3
(on one line). Still broken installs come first; what does not fit is counted as `+N more`.
See the README for every field.";

#[derive(Debug, Args)]
pub struct BundleArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// The zip to write.
    #[arg(short = 'o', long = "output", value_name = "ZIP")]
    pub output: PathBuf,

    /// A log file to include (default: the newest under the default log folder).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Build the sample here instead of a new temp folder.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub write: WriteArgs,

    /// Print a versioned JSON document on stdout instead of the report on stderr.
    #[arg(long)]
    pub json: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}
