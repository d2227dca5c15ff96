//! Find every conda install and environment on the machine, in order of trust, each saying how
//! it was found (docs/formats-and-config.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use condafix_prefix::{is_conda_prefix, read_environments_txt, NONADMIN_MARKER};
use serde::Serialize;

use crate::context::HostInfo;
use crate::model::{display_path, Origin, PrefixKind, Scope};
use crate::registry::Hive;
use crate::{Code, Finding};

/// Folder names installers use under a user, local-app-data or program-data folder.
pub const INSTALL_FOLDER_NAMES: [&str; 4] = ["anaconda3", "miniconda3", "miniforge3", "mambaforge"];
/// PEP 514 roots, under HKCU and HKLM.
pub const PEP514_ROOTS: [&str; 2] = [r"Software\Python", r"Software\Wow6432Node\Python"];
/// Uninstall entries, under HKCU and HKLM.
pub const UNINSTALL_ROOTS: [&str; 2] = [
    r"Software\Microsoft\Windows\CurrentVersion\Uninstall",
    r"Software\Wow6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
];

/// One prefix found on the machine.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Discovered {
    pub prefix: String,
    #[serde(skip)]
    pub path: PathBuf,
    pub kind: PrefixKind,
    pub scope: Scope,
    /// The base install an env belongs to, when known.
    pub base: Option<String>,
    /// Every way it was found, most trusted first.
    pub found_by: Vec<Origin>,
}

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Discovery {
    pub prefixes: Vec<Discovered>,
    /// Stale entries (a registry key or an environments.txt line naming a folder that is gone).
    pub findings: Vec<Finding>,
}

/// Whether a prefix is a base install (it has `condabin\` or a package cache) or an env.
pub fn prefix_kind(prefix: &Path) -> PrefixKind {
    if prefix.join("condabin").is_dir()
        || prefix.join("pkgs").is_dir()
        || prefix.join("_conda.exe").is_file()
    {
        PrefixKind::Base
    } else {
        PrefixKind::Env
    }
}

struct Collector {
    items: Vec<Discovered>,
    index: HashMap<String, usize>,
    windows: bool,
}

impl Collector {
    fn key(&self, p: &Path) -> String {
        let canon = dunce::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let s = canon.to_string_lossy().replace('\\', "/");
        let s = s.trim_end_matches('/').to_string();
        if self.windows || cfg!(windows) {
            s.to_lowercase()
        } else {
            s
        }
    }

    fn add(&mut self, path: &Path, origin: Origin) {
        let key = self.key(path);
        if let Some(&i) = self.index.get(&key) {
            if !self.items[i].found_by.contains(&origin) {
                self.items[i].found_by.push(origin);
            }
            return;
        }
        self.index.insert(key, self.items.len());
        self.items.push(Discovered {
            prefix: display_path(path),
            path: path.to_path_buf(),
            kind: prefix_kind(path),
            scope: Scope::Unknown,
            base: None,
            found_by: vec![origin],
        });
    }
}

/// The prefix a conda executable belongs to: the parent of `Scripts`, `condabin` or `bin`.
fn prefix_of_conda_exe(exe: &Path) -> Option<PathBuf> {
    let dir = exe.parent()?;
    let name = dir.file_name()?.to_string_lossy().to_lowercase();
    match name.as_str() {
        "scripts" | "condabin" | "bin" => dir.parent().map(Path::to_path_buf),
        _ => None,
    }
}

/// The executable path in an `UninstallString` (`"C:\x\Uninstall-Anaconda3.exe" /S`).
fn uninstall_exe(s: &str) -> PathBuf {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('"') {
        return PathBuf::from(rest.split('"').next().unwrap_or(rest));
    }
    let end = s
        .to_lowercase()
        .find(".exe")
        .map(|i| i + 4)
        .unwrap_or(s.len());
    PathBuf::from(&s[..end])
}

fn looks_like_conda(text: &str) -> bool {
    let t = text.to_lowercase();
    [
        "anaconda",
        "miniconda",
        "miniforge",
        "mambaforge",
        "continuum",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// Find prefixes. With `explicit` prefixes, only those are returned (the user said which).
pub fn discover(host: &HostInfo<'_>, explicit: &[PathBuf]) -> Discovery {
    let mut c = Collector {
        items: Vec::new(),
        index: HashMap::new(),
        windows: host.windows,
    };
    let mut findings = Vec::new();
    if !explicit.is_empty() {
        for p in explicit {
            c.add(p, Origin::Argument);
        }
        return finish(c, findings, host);
    }
    let installer_step = [
        "INSTALLER_NAME",
        "INSTALLER_VER",
        "INSTALLER_PLAT",
        "INSTALLER_TYPE",
        "INSTALLER_UNATTENDED",
    ]
    .iter()
    .any(|v| host.env.var_os(v).is_some());
    if installer_step {
        if let Some(p) = host.var("PREFIX").filter(|p| is_conda_prefix(p)) {
            c.add(&p, Origin::InstallerPrefix);
        }
    }
    for name in ["CONDA_PREFIX", "_CONDA_ROOT", "CONDA"] {
        if let Some(p) = host.var(name).filter(|p| is_conda_prefix(p)) {
            c.add(&p, Origin::EnvVar { name: name.into() });
        }
    }
    for name in ["CONDA_EXE", "_CONDA_EXE"] {
        if let Some(p) = host
            .var(name)
            .and_then(|e| prefix_of_conda_exe(&e))
            .filter(|p| is_conda_prefix(p))
        {
            c.add(&p, Origin::EnvVar { name: name.into() });
        }
    }
    registry_entries(host, &mut c, &mut findings);
    for p in known_folders(host) {
        let p = if host.windows {
            resolve_case_insensitively(&p)
        } else {
            p
        };
        if is_conda_prefix(&p) {
            c.add(&p, Origin::KnownFolder);
        }
    }
    // Envs: environments.txt, then the envs folders of every base and of ~/.conda.
    if let Some(home) = host.home() {
        let file = home.join(".conda").join("environments.txt");
        if let Ok(env_txt) = read_environments_txt(&file) {
            for (line, p) in env_txt.entries {
                if is_conda_prefix(&p) {
                    c.add(
                        &p,
                        Origin::EnvironmentsTxt {
                            file: display_path(&file),
                            line,
                        },
                    );
                } else {
                    findings.push(
                        Finding::new(
                            Code::P001,
                            format!(
                                "environments.txt line {line} names {}, which {}",
                                p.display(),
                                if p.exists() { "is not a conda prefix" } else { "no longer exists" }
                            ),
                        )
                        .path(display_path(&file))
                        .line(line)
                        .evidence("entry", p.display().to_string())
                        .fix("remove the line (conda keeps working without it), or run `conda env list` after recreating the env"),
                    );
                }
            }
        }
    }
    let mut env_dirs: Vec<PathBuf> = c
        .items
        .iter()
        .filter(|d| d.kind == PrefixKind::Base)
        .map(|d| d.path.join("envs"))
        .collect();
    if let Some(home) = host.home() {
        env_dirs.push(home.join(".conda").join("envs"));
    }
    for dir in env_dirs {
        let Ok(rd) = fs_err::read_dir(&dir) else {
            continue;
        };
        let mut subs: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| is_conda_prefix(p))
            .collect();
        subs.sort();
        for p in subs {
            c.add(&p, Origin::EnvsFolder);
        }
    }
    finish(c, findings, host)
}

fn registry_entries(host: &HostInfo<'_>, c: &mut Collector, findings: &mut Vec<Finding>) {
    for hive in [Hive::CurrentUser, Hive::LocalMachine] {
        for root in PEP514_ROOTS {
            if hive == Hive::CurrentUser && root.contains("Wow6432Node") {
                continue;
            }
            for company in host.registry.subkeys(hive, root).unwrap_or_default() {
                let company_key = format!("{root}\\{company}");
                for tag in host
                    .registry
                    .subkeys(hive, &company_key)
                    .unwrap_or_default()
                {
                    let key = format!("{company_key}\\{tag}\\InstallPath");
                    let Ok(Some(value)) = host.registry.value(hive, &key, "") else {
                        continue;
                    };
                    let Some(path) = value
                        .as_str()
                        .map(|s| PathBuf::from(s.trim().trim_end_matches('\\')))
                    else {
                        continue;
                    };
                    let full_key = format!("{}\\{key}", hive.short());
                    if is_conda_prefix(&path) {
                        c.add(&path, Origin::Pep514 { key: full_key });
                    } else if !path.exists()
                        && (company.eq_ignore_ascii_case("ContinuumAnalytics")
                            || looks_like_conda(&path.to_string_lossy()))
                    {
                        findings.push(stale_registry(&full_key, &path));
                    }
                }
            }
        }
        for root in UNINSTALL_ROOTS {
            if hive == Hive::CurrentUser && root.contains("Wow6432Node") {
                continue;
            }
            for name in host.registry.subkeys(hive, root).unwrap_or_default() {
                let key = format!("{root}\\{name}");
                let Ok(Some(value)) = host.registry.value(hive, &key, "UninstallString") else {
                    continue;
                };
                let Some(s) = value.as_str() else { continue };
                let Some(dir) = uninstall_exe(s).parent().map(Path::to_path_buf) else {
                    continue;
                };
                let full_key = format!("{}\\{key}", hive.short());
                if is_conda_prefix(&dir) {
                    c.add(&dir, Origin::Uninstall { key: full_key });
                } else if !dir.exists() && (looks_like_conda(&name) || looks_like_conda(s)) {
                    findings.push(stale_registry(&full_key, &dir));
                }
            }
        }
    }
}

fn stale_registry(key: &str, path: &Path) -> Finding {
    Finding::new(
        Code::P002,
        format!(
            "the registry entry {key} names {}, which no longer exists",
            path.display()
        ),
    )
    .evidence("key", key)
    .evidence("path", path.display().to_string())
    .fix("uninstall leftovers: remove the key (regedit), or reinstall to that folder")
}

/// `path` as it is spelled on disk when only its case differs (Windows names are
/// case-insensitive; a Windows tree inspected from another OS needs the lookup done by hand).
fn resolve_case_insensitively(path: &Path) -> PathBuf {
    if path.exists() || cfg!(windows) {
        return path.to_path_buf();
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return path.to_path_buf();
    };
    let wanted = name.to_string_lossy().to_lowercase();
    fs_err::read_dir(parent)
        .ok()
        .and_then(|rd| {
            rd.flatten()
                .find(|e| e.file_name().to_string_lossy().to_lowercase() == wanted)
                .map(|e| e.path())
        })
        .unwrap_or_else(|| path.to_path_buf())
}

/// The folders installers use by default, on this kind of host.
pub fn known_folders(host: &HostInfo<'_>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if host.windows {
        for var in ["USERPROFILE", "LOCALAPPDATA", "PROGRAMDATA"] {
            if let Some(base) = host.var(var) {
                out.extend(INSTALL_FOLDER_NAMES.iter().map(|n| base.join(n)));
            }
        }
        let drive = host
            .var("SystemDrive")
            .map(|d| {
                let s = d.to_string_lossy().to_string();
                if s.ends_with(':') {
                    PathBuf::from(format!("{s}\\"))
                } else {
                    d
                }
            })
            .unwrap_or_else(|| PathBuf::from("C:\\"));
        for n in [
            "anaconda3",
            "miniconda3",
            "Miniconda",
            "Miniconda3",
            "miniforge3",
            "mambaforge",
        ] {
            out.push(drive.join(n));
        }
        for n in ["miniconda3", "anaconda3"] {
            out.push(drive.join("tools").join(n));
        }
    } else {
        if let Some(home) = host.home() {
            out.extend(INSTALL_FOLDER_NAMES.iter().map(|n| home.join(n)));
        }
        out.extend(host.unix_system_dirs.iter().cloned());
    }
    out
}

fn finish(mut c: Collector, findings: Vec<Finding>, host: &HostInfo<'_>) -> Discovery {
    let program_data = host.var("PROGRAMDATA").map(|p| c.key(&p));
    let bases: Vec<(String, PathBuf, bool)> = c
        .items
        .iter()
        .filter(|d| d.kind == PrefixKind::Base)
        .map(|d| {
            (
                c.key(&d.path),
                d.path.clone(),
                d.path.join(NONADMIN_MARKER).exists(),
            )
        })
        .collect();
    for d in &mut c.items {
        d.found_by.sort_by_key(Origin::rank);
        // An env's base: the prefix two levels up when the env sits in its `envs` folder.
        let parent = d.path.parent();
        if d.kind == PrefixKind::Env
            && parent
                .and_then(|p| p.file_name())
                .is_some_and(|n| n.eq_ignore_ascii_case("envs"))
        {
            if let Some(base) = parent.and_then(Path::parent).filter(|b| is_conda_prefix(b)) {
                d.base = Some(display_path(base));
            }
        }
        let key_of = |p: &Path| {
            let s = dunce::canonicalize(p)
                .unwrap_or_else(|_| p.to_path_buf())
                .to_string_lossy()
                .replace('\\', "/");
            if c.windows || cfg!(windows) {
                s.to_lowercase()
            } else {
                s
            }
        };
        let own_marker = d.path.join(NONADMIN_MARKER).exists();
        let base_marker = d.base.as_ref().and_then(|b| {
            let k = key_of(Path::new(b));
            bases.iter().find(|(bk, _, _)| *bk == k).map(|(_, _, m)| *m)
        });
        let in_program_data = program_data
            .as_ref()
            .is_some_and(|pd| key_of(&d.path).starts_with(pd.as_str()));
        d.scope = if own_marker || base_marker == Some(true) {
            Scope::JustMe
        } else if in_program_data || base_marker == Some(false) || d.kind == PrefixKind::Base {
            Scope::AllUsers
        } else {
            Scope::Unknown
        };
    }
    let mut items = c.items;
    items.sort_by_key(|d| d.found_by[0].rank());
    Discovery {
        prefixes: items,
        findings,
    }
}
