//! Which interpreter a prefix runs and how its loader behaves: from the markers of conda's patch
//! in `python3X.dll` first, from the python record's channel, version and build number when
//! the DLL cannot be read (docs/loader-model.md). A venv runs its base's interpreter.

use std::path::{Path, PathBuf};

use condafix_prefix::guard::is_link;
use condafix_prefix::safe_read::{self, MAX_CONFIG_BYTES};
use condafix_prefix::{CondaMeta, Layout, Machine, PeProblem, RecordHeader, Version};

use crate::classify::{
    conda_dirs_from_exe, era_from_record, era_of, marker_names, Channel, Era, Markers,
};
use crate::facts::Disk;
use crate::loader::{CondaDirsBase, Interpreter, LoaderModel};
use crate::model::{date, display_path};
use crate::report::{EraSource, LoaderEvidence, PythonInfo, PythonSource, VenvInfo};
use crate::{Error, LoaderClass, SearchContext};

/// One prefix's interpreter, placed.
pub(crate) struct Placed {
    pub info: PythonInfo,
    pub model: LoaderModel,
    pub interp: Interpreter,
    /// The records of the interpreter's install, when it is not the prefix (a venv's base).
    pub home_meta: Option<CondaMeta>,
    /// The python record of the interpreter's install.
    pub header: Option<RecordHeader>,
    /// The venv's base cannot be used: the DLL checks do not apply.
    pub broken_venv: bool,
}

/// What a venv's `pyvenv.cfg` says.
struct Pyvenv {
    home: Option<String>,
    version: Option<String>,
}

fn read_pyvenv(prefix: &Path) -> Option<Pyvenv> {
    let bytes = safe_read::read(&prefix.join("pyvenv.cfg"), MAX_CONFIG_BYTES).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let value = |keys: &[&str]| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            keys.contains(&k.trim().to_ascii_lowercase().as_str())
                .then(|| v.trim().to_string())
        })
    };
    Some(Pyvenv {
        home: value(&["home"]),
        version: value(&["version", "version_info"]),
    })
}

/// Why a venv's `home =` cannot be followed, if it cannot. Only a real folder holding a
/// `python.exe` is read (never through a link); nothing there is ever written.
fn home_problem(home: &str, layout: Layout) -> Option<String> {
    let p = Path::new(home);
    if !p.is_absolute() {
        return Some(format!("home = {home:?} is not an absolute path"));
    }
    if is_link(p) {
        return Some(format!(
            "home = {home:?} is a link; condafix does not follow links"
        ));
    }
    if !p.is_dir() {
        return Some(format!("home = {home:?} does not exist"));
    }
    let exe = p.join(
        layout
            .python_exe()
            .rsplit('/')
            .next()
            .unwrap_or("python.exe"),
    );
    if !exe.is_file() && !p.join(layout.python_exe()).is_file() {
        return Some(format!("home = {home:?} holds no python.exe"));
    }
    None
}

/// The `python3X.dll` of the interpreter in `home`: the name its version gives, else the one
/// `python3?*.dll` there (not `python3.dll`, the stable-ABI forwarder).
fn python_dll(home: &Path, version: Option<&Version>, disk: &mut Disk) -> Option<PathBuf> {
    if let Some(v) = version.filter(|v| v.major_minor().0 == 3) {
        let minor = v.minor();
        for name in [
            format!("python3{minor}.dll"),
            format!("python3{minor}t.dll"),
        ] {
            if let Some(p) = disk.find(home, &name) {
                return Some(p);
            }
        }
    }
    let mut names: Vec<_> = disk
        .listing(home)
        .iter()
        .filter(|(lower, _)| {
            lower.starts_with("python3") && lower.ends_with(".dll") && lower.len() > 11
        })
        .map(|(lower, real)| (lower.clone(), real.clone()))
        .collect();
    names.sort();
    names.pop().map(|(_, real)| home.join(real))
}

/// The version a `python3X.dll` name gives (`python39.dll` → 3.9).
fn version_of_dll(dll: &Path) -> Option<Version> {
    let name = dll.file_name()?.to_string_lossy().to_lowercase();
    let digits = name
        .strip_prefix("python3")?
        .strip_suffix(".dll")?
        .trim_end_matches('t');
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Version::parse(&format!("3.{digits}")))
}

/// Where a prefix's interpreter is: the prefix itself, or a venv's base.
struct Located {
    pyvenv: Option<Pyvenv>,
    venv: Option<VenvInfo>,
    home: PathBuf,
    exe_dir: PathBuf,
    home_meta: Option<CondaMeta>,
    header: Option<RecordHeader>,
}

/// Find the interpreter: a prefix with a python record runs its own; a venv runs the one its
/// `home =` names, when that can be followed.
fn locate(prefix: &Path, layout: Layout, meta: &CondaMeta) -> Result<Located, Error> {
    let own_header = meta.load_header("python")?;
    let mut at = Located {
        pyvenv: own_header.is_none().then(|| read_pyvenv(prefix)).flatten(),
        venv: None,
        home: prefix.to_path_buf(),
        exe_dir: prefix.to_path_buf(),
        home_meta: None,
        header: None,
    };
    if let Some(cfg) = &at.pyvenv {
        at.exe_dir = prefix.join("Scripts");
        let problem = match &cfg.home {
            None => Some("pyvenv.cfg has no home =".to_string()),
            Some(h) => home_problem(h, layout),
        };
        if let (None, Some(h)) = (&problem, &cfg.home) {
            at.home = PathBuf::from(h);
            at.home_meta = Some(CondaMeta::scan_only(&at.home, &super::RECORDS_READ)?);
        }
        at.venv = Some(VenvInfo {
            home: cfg.home.clone().unwrap_or_default(),
            exe_dir: display_path(&at.exe_dir),
            problem,
        });
    }
    at.header = match &at.home_meta {
        Some(m) => m.load_header("python")?,
        None => own_header,
    };
    Ok(at)
}

/// What `python3X.dll` says: its markers and CPU, or why it could not be read.
struct DllRead {
    markers: Option<Markers>,
    machine: Option<Machine>,
    problem: Option<PeProblem>,
}

fn read_dll(dll: Option<&Path>, disk: &mut Disk) -> DllRead {
    match dll.map(|p| disk.python_dll(p)) {
        Some(Ok(d)) => DllRead {
            markers: Some(d.markers),
            machine: Some(d.machine),
            problem: None,
        },
        Some(Err(p)) => DllRead {
            markers: None,
            machine: None,
            problem: Some(p),
        },
        None => DllRead {
            markers: None,
            machine: None,
            problem: None,
        },
    }
}

/// Place the interpreter of `prefix`.
pub(crate) fn place(
    prefix: &Path,
    layout: Layout,
    meta: &CondaMeta,
    ctx: &SearchContext,
    disk: &mut Disk,
) -> Result<Option<Placed>, Error> {
    let at = locate(prefix, layout, meta)?;
    let broken_venv = at.venv.as_ref().is_some_and(|v| v.problem.is_some());
    let header = at.header.as_ref();
    // The version: the record, else pyvenv.cfg, else the DLL's name.
    let pyvenv_version = at.pyvenv.as_ref().and_then(|c| c.version.as_deref());
    let mut version = header
        .map(|h| Version::parse(&h.version))
        .or_else(|| pyvenv_version.map(Version::parse));
    let dll = (!broken_venv)
        .then(|| python_dll(&at.home, version.as_ref(), disk))
        .flatten();
    let source = match (header, pyvenv_version) {
        (Some(_), _) => PythonSource::CondaMeta,
        (None, Some(_)) => PythonSource::PyvenvCfg,
        _ => PythonSource::PythonDll,
    };
    if version.is_none() {
        version = dll.as_deref().and_then(version_of_dll);
    }
    let Some(version) = version else {
        return Ok(None);
    };
    let read = read_dll(dll.as_deref(), disk);
    let machine = read.machine.or_else(|| {
        disk.facts(&at.home.join("python.exe"))
            .pe
            .as_ref()
            .ok()
            .map(|i| i.machine)
    });
    let channel = header.map(|h| Channel::of(h.channel.as_deref(), &h.build));
    let (model, evidence) = model_of(
        &version,
        header,
        channel,
        dll.as_deref(),
        read,
        machine,
        ctx,
    );
    let loader = model.class(evidence.enable_value.as_ref().map(|v| v.value.as_str()));
    let loader_reason = reason(&evidence, model.era, loader, &version, header, channel);
    let info = PythonInfo {
        version: header
            .map(|h| h.version.clone())
            .unwrap_or_else(|| version.to_string()),
        build: header.map(|h| h.build.clone()).unwrap_or_default(),
        channel: header.and_then(|h| h.channel.clone()),
        build_date: header.and_then(|h| h.timestamp_secs()).map(date),
        source,
        loader,
        loader_reason,
        era: model.era,
        evidence,
        machine,
        venv: at.venv,
    };
    Ok(Some(Placed {
        info,
        model,
        interp: Interpreter {
            home: at.home,
            exe_dir: at.exe_dir,
            layout,
        },
        home_meta: at.home_meta,
        header: at.header,
        broken_venv,
    }))
}

/// The era (the binary's markers, else the record's table), the search-order model, and the
/// evidence for both.
fn model_of(
    version: &Version,
    header: Option<&RecordHeader>,
    channel: Option<Channel>,
    dll: Option<&Path>,
    read: DllRead,
    machine: Option<Machine>,
    ctx: &SearchContext,
) -> (LoaderModel, LoaderEvidence) {
    let minor = match version.major_minor() {
        (3, m) => u32::try_from(m).unwrap_or(u32::MAX),
        _ => 0,
    };
    let era_from_binary = read.markers.as_ref().map(era_of);
    let era_from_record = header
        .zip(channel)
        .and_then(|(h, c)| era_from_record(c, version, h.build_number));
    let (era, decided_by) = match (era_from_binary, era_from_record) {
        (Some(e), _) => (Some(e), EraSource::Binary),
        (None, Some(e)) => (Some(e), EraSource::Record),
        (None, None) => (None, EraSource::Nothing),
    };
    let conda_dirs_base = match (era, channel) {
        (Some(Era::DefaultMode), Some(c)) if conda_dirs_from_exe(c, version) => {
            CondaDirsBase::ExeDir
        }
        _ => CondaDirsBase::DllDir,
    };
    let model = LoaderModel {
        era,
        minor,
        enable: LoaderModel::enable_rule(era, minor, read.markers.as_ref()),
        conda_dirs_base,
        machine,
    };
    let enable_value = ctx.dll_search_modification.clone();
    let evidence = LoaderEvidence {
        decided_by,
        dll: dll.map(display_path),
        dll_problem: read.problem,
        markers: read.markers.as_ref().map(marker_names).unwrap_or_default(),
        era_from_binary,
        era_from_record,
        enable_rule: model.enable,
        enable_switches_on: model
            .enable
            .switches_on(enable_value.as_ref().map(|v| v.value.as_str())),
        enable_value,
        conda_dirs_base,
    };
    (model, evidence)
}

/// The evidence in a sentence: which file said what, or which record row, and the variable.
fn reason(
    e: &LoaderEvidence,
    era: Option<Era>,
    loader: LoaderClass,
    version: &Version,
    header: Option<&RecordHeader>,
    channel: Option<Channel>,
) -> String {
    let dll_name = e
        .dll
        .as_deref()
        .map(|d| d.rsplit(['\\', '/']).next().unwrap_or(d).to_string())
        .unwrap_or_else(|| format!("python3{}.dll", version.minor()));
    let record = |h: &RecordHeader| {
        let ch = match channel {
            Some(Channel::CondaForge) => "conda-forge",
            _ => "defaults",
        };
        format!("{ch} python {} build number {}", h.version, h.build_number)
    };
    let mut out = match (e.decided_by, era) {
        (EraSource::Binary, Some(Era::Upstream)) => format!(
            "{dll_name} carries no conda DLL-search patch: upstream CPython {}",
            if version.minor() <= 7 {
                "3.7 (altered search path)"
            } else {
                "(DLLs\\, the exe folder and System32)"
            }
        ),
        (EraSource::Binary, Some(era)) => format!(
            "{dll_name} carries conda's DLL-search patch of era {}; markers: {}",
            era.label(),
            e.markers.join(", ")
        ),
        (EraSource::Record, Some(era)) => format!(
            "{dll_name} could not be read ({}); the record ({}) places it in era {}",
            e.dll_problem
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "not found".into()),
            header.map(record).unwrap_or_default(),
            era.label()
        ),
        _ => match (&e.dll_problem, header) {
            (Some(p), _) => {
                format!("{dll_name} could not be read ({p}) and no record places Python {version}")
            }
            (None, Some(h)) => format!(
                "no {dll_name} to read, and the record ({}) is outside the table",
                record(h)
            ),
            (None, None) => format!("no {dll_name} to read and no python record"),
        },
    };
    if let Some(v) = &e.enable_value {
        if e.enable_switches_on {
            out.push_str(&format!(
                "; CONDA_DLL_SEARCH_MODIFICATION_ENABLE={} ({}) switches it to conda's PATH mode",
                v.value, v.source
            ));
        } else if loader != LoaderClass::Unknown {
            out.push_str(&format!(
                "; CONDA_DLL_SEARCH_MODIFICATION_ENABLE={} ({}) has no effect on this build",
                v.value, v.source
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dll_names_give_the_version() {
        let v = |s: &str| version_of_dll(Path::new(s)).map(|v| v.to_string());
        assert_eq!(v("python39.dll").as_deref(), Some("3.9"));
        assert_eq!(v("PYTHON313t.dll").as_deref(), Some("3.13"));
        assert_eq!(v("python3.dll"), None);
        assert_eq!(v("python3x.dll"), None);
    }
}
