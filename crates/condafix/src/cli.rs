use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const ABOUT: &str = "Makes a conda install on Windows able to do HTTPS, and proves it.";

const LONG_ABOUT: &str = "\
Makes a conda install on Windows able to do HTTPS, and proves it.

When pip says \"the ssl module in Python is not available\" or conda says \"OpenSSL appears to be
unavailable\", Python cannot load _ssl.pyd's OpenSSL DLLs. condafix finds out why without running
Python, and fixes it without weakening TLS.

Exit codes: 0 healthy, 1 a fix is needed, 2 usage or I/O error.";

#[derive(Debug, Parser)]
#[command(name = "condafix", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tell, without running Python, whether `import ssl` will load in a conda install, and why not.
    #[command(long_about = DETECT_LONG)]
    Detect(DetectArgs),
}

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

Exit codes: 0 every prefix is healthy, 1 at least one needs a fix, 2 usage or I/O error.

Examples:
  condafix detect --prefix %USERPROFILE%\\anaconda3
  condafix detect --prefix C:\\Miniconda --prefix C:\\Miniconda\\envs\\legacy --json";

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// A conda prefix (base install or env) to check; repeat for several.
    /// Without it, every install and env on the machine is found: PREFIX (installer step),
    /// CONDA_PREFIX, CONDA_EXE, CONDA, the registry, the usual folders, environments.txt.
    #[arg(long = "prefix", value_name = "DIR")]
    pub prefixes: Vec<PathBuf>,

    /// Print a versioned JSON document on stdout instead of the report on stderr.
    #[arg(long)]
    pub json: bool,

    /// The Windows folder whose System32 the loader searches (default: %SystemRoot%). Use it to
    /// inspect an install on a mounted disk or in a fixture.
    #[arg(long, value_name = "DIR")]
    pub system_root: Option<PathBuf>,

    /// The PATH an unactivated program gets, as `;`-separated folders (default: this process's
    /// PATH on Windows, none elsewhere). Repeat to append.
    #[arg(long = "search-path", value_name = "DIRS")]
    pub search_path: Vec<String>,

    /// Print nothing; only the exit code tells.
    #[arg(short, long)]
    pub quiet: bool,
}
