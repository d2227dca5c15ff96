//! discover + inspect + diagnose: from a prefix on disk to a [`Report`] with findings.
//!
//! Nothing here runs Python or touches the registry: the Windows system folder and PATH come in
//! through [`SearchContext`], so Linux tests hand in a fake `System32` and real Windows reads
//! its own at the edge.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod classify;
mod context;
mod diagnose;
pub mod discover;
mod error;
mod facts;
mod finding;
mod inspect;
mod loader;
pub mod locations;
mod model;
pub mod redact;
mod report;
mod system_dlls;
pub mod tls;
pub mod users;

pub use classify::{era_from_record, era_of, scan_markers, Channel, Era, Markers};
pub use condafix_prefix::registry;
#[cfg(windows)]
pub use condafix_prefix::SystemRegistry;
pub use context::{
    expand_env_strings, split_windows_path_list, EnvSource, EnvValue, HostInfo, MapEnv, PathOrigin,
    PathSource, ProcessEnv, SearchContext, ENV_DLL_SEARCH_MODIFICATION,
};
pub use diagnose::LooseCopy;
pub use error::Error;
pub use facts::Stats;
pub use finding::{Code, FailOn, Family, Finding, Remedy, Severity};
pub use inspect::inspect_prefix;
pub use loader::{
    CondaDirsBase, EnableRule, Interpreter, LaunchContext, LoaderClass, LoaderModel, Location,
};
pub use model::{date, display_path, Origin, PrefixKind, Scope};
pub use report::{
    dll_load_failed, Build, Candidate, CopyStatus, DllOutcome, DllReport, EraSource, ImportOutcome,
    ImportResult, LoaderEvidence, ModuleReport, PackageInfo, Prediction, PrefixReport, PythonInfo,
    PythonSource, Report, Resolution, SearchInputs, Summary, UserReport, VenvInfo, SCHEMA_VERSION,
};
pub use system_dlls::is_system_dll;

static NO_ENV: MapEnv = MapEnv(std::collections::BTreeMap::new());

/// Inspect and diagnose these prefixes with nothing from the machine but `ctx`: no home, no
/// environment, no registry (fixtures, benchmarks).
pub fn detect(prefixes: &[std::path::PathBuf], ctx: &SearchContext) -> Result<Report, Error> {
    detect_offline_measured(prefixes, ctx).map(|(report, _)| report)
}

/// [`detect`], and what it read (the benchmark's figures).
pub fn detect_offline_measured(
    prefixes: &[std::path::PathBuf],
    ctx: &SearchContext,
) -> Result<(Report, Stats), Error> {
    let no_registry = registry::FakeRegistry::empty();
    let host = HostInfo {
        env: &NO_ENV,
        registry: &no_registry,
        windows: true,
        unix_system_dirs: Vec::new(),
        etc_dir: std::path::PathBuf::new(),
    };
    detect_measured(&host, prefixes, ctx)
}

/// Discover (or take the `explicit` prefixes), read the machine's TLS configuration, and
/// inspect and diagnose every prefix.
pub fn detect_with(
    host: &HostInfo<'_>,
    explicit: &[std::path::PathBuf],
    ctx: &SearchContext,
) -> Result<Report, Error> {
    detect_measured(host, explicit, ctx).map(|(report, _)| report)
}

/// Every user's installs: for each profile in `ProfileList` (or only `only`), their hive and
/// environment, their discovery, their config files, and each install found inspected with
/// their settings and the PATH a program they start gets (`ctx_of` builds it from their
/// environment and registry). Installs found by several users (an All Users install) are
/// inspected once.
pub fn detect_all_users(
    host: &HostInfo<'_>,
    ctx: &SearchContext,
    ctx_of: &dyn Fn(&dyn EnvSource, &dyn registry::Registry) -> SearchContext,
    only: Option<&str>,
) -> Result<Report, Error> {
    let profiles = users::profiles(host.env, host.registry, only)?;
    let machine = tls::machine_config(host);
    // Private copies of logged-off users' hives; first, what a killed earlier run left loaded.
    let copies = users::HiveCopies::for_process().map(std::rc::Rc::new);
    let mut notes = match &copies {
        Ok(c) => users::clean_leftovers(host.registry, c),
        Err(e) => vec![format!(
            "no private folder for copies of users' hives ({e}): the settings of users who are not logged on are not read"
        )],
    };
    let mut disk = facts::Disk::default();
    let mut reports: Vec<PrefixReport> = Vec::new();
    let mut user_reports = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for profile in profiles {
        if let Some(why) = &profile.unusable {
            user_reports.push(UserReport {
                access: users::HiveAccess::Unavailable { why: why.clone() },
                profile,
                config: tls::MachineConfig::default(),
                notes: Vec::new(),
            });
            continue;
        }
        let hive = match &copies {
            Ok(c) => users::UserHive::open_in(host.registry, &profile, c.clone()),
            Err(_) => users::UserHive::open(host.registry, &profile),
        };
        let view = hive.view(host.registry);
        let env = users::UserEnv::new(host.env, &profile, &view);
        let mut user_notes = env.notes.clone();
        let user_host = HostInfo {
            env: &env,
            registry: &view,
            windows: host.windows,
            unix_system_dirs: host.unix_system_dirs.clone(),
            etc_dir: host.etc_dir.clone(),
        };
        let user_ctx = ctx_of(&env, &view);
        // What a user controls (their environments.txt, their config files) is read with their
        // rights when condafix runs elevated; as condafix itself otherwise (the safe readers
        // still refuse links, FIFOs and huge files).
        let identity = if condafix_actor::process_is_elevated() {
            condafix_actor::identity::for_profile(&profile.sid, &profile.path)
                .unwrap_or(condafix_actor::Identity::Process)
        } else {
            condafix_actor::Identity::Process
        };
        let read_as_user = |f: &mut dyn FnMut()| {
            if identity.act(&mut *f).is_err() {
                f();
            }
        };
        let mut discovery = discover::Discovery::default();
        let mut config = tls::MachineConfig::default();
        read_as_user(&mut || {
            discovery = discover::discover(&user_host, &[]);
            config = tls::machine_config(&user_host);
        });
        config
            .findings
            .splice(0..0, discovery.findings.iter().cloned());
        for d in &discovery.prefixes {
            if !seen.insert(d.prefix.to_lowercase()) {
                continue;
            }
            // One user's unreadable install is a verdict for it; the others are still worked.
            // It is read with the rights of whoever controls it.
            // A user's install is read as them; one the administrators control or several
            // accounts may change, as the user whose settings led there (their settings name
            // what is read).
            let user = matches!(identity, condafix_actor::Identity::As(_)).then_some(&identity);
            let mut r = condafix_actor::identity::reading_as(&d.path, user, || {
                inspect::inspect(
                    &d.path,
                    &user_ctx,
                    Some(inspect::TlsContext {
                        host: &user_host,
                        machine: &config,
                        discovered: Some(d),
                    }),
                    &mut disk,
                )
            })
            .unwrap_or_else(|e| inspect::unreadable(&d.path, &e, Some(d)));
            if d.path.starts_with(&profile.path) {
                r.user = Some(profile.name.clone());
            }
            reports.push(r);
        }
        let access = hive.access.clone();
        drop(view);
        if let Err(e) = hive.close() {
            user_notes.push(e);
        }
        user_reports.push(UserReport {
            profile,
            access,
            config,
            notes: user_notes,
        });
    }
    let mut report = Report::new(ctx, machine, reports);
    report.users = user_reports;
    report.notes.append(&mut notes);
    report.summary = Summary::of(&report);
    Ok(report)
}

/// [`detect_with`], and what it read (files and bytes hashed and scanned, and the time it took):
/// the benchmark's figures.
pub fn detect_measured(
    host: &HostInfo<'_>,
    explicit: &[std::path::PathBuf],
    ctx: &SearchContext,
) -> Result<(Report, Stats), Error> {
    let discovery = discover::discover(host, explicit);
    let mut machine = tls::machine_config(host);
    machine
        .findings
        .splice(0..0, discovery.findings.iter().cloned());
    // One cache for every prefix: envs hardlink the same DLLs from the package cache.
    let mut disk = facts::Disk::default();
    // With several installs, one that cannot be read is a verdict for it (D090) and the others
    // are still worked; a single install asked for is an error (exit 2) that names the file.
    let several = discovery.prefixes.len() > 1;
    let reports = discovery
        .prefixes
        .iter()
        .map(|d| {
            // Read with the rights of whoever controls the install, when condafix runs
            // elevated.
            condafix_actor::identity::reading_as_owner_of(&d.path, || {
                inspect::inspect(
                    &d.path,
                    ctx,
                    Some(inspect::TlsContext {
                        host,
                        machine: &machine,
                        discovered: Some(d),
                    }),
                    &mut disk,
                )
            })
            .or_else(|e| {
                if several {
                    Ok(inspect::unreadable(&d.path, &e, Some(d)))
                } else {
                    Err(e)
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((Report::new(ctx, machine, reports), disk.stats))
}
