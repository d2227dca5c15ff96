//! What every command needs from the machine: the environment, the registry, the loader's
//! search context, and which prefixes to work on.

use std::path::{Path, PathBuf};

use clap::Args;
use condafix_detect::registry::RegistryWrite;
use condafix_detect::users::{HiveAccess, Profile, UserEnv, UserHive};
use condafix_detect::{
    display_path, split_windows_path_list, HostInfo, PathSource, ProcessEnv, Report, SearchContext,
};

/// Options shared by the commands that look at prefixes.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// A conda prefix (base install or env) to work on; repeat for several.
    /// Without it, every install and env on the machine is found: PREFIX (installer step),
    /// CONDA_PREFIX, CONDA_EXE, CONDA, the registry, the usual folders, environments.txt.
    #[arg(long = "prefix", value_name = "DIR")]
    pub prefixes: Vec<PathBuf>,

    /// The Windows folder whose System32 the loader searches (default: %SystemRoot%). Use it to
    /// inspect an install on a mounted disk or in a fixture.
    #[arg(long, value_name = "DIR")]
    pub system_root: Option<PathBuf>,

    /// The PATH an unactivated program gets, as `;`-separated folders (default on Windows: the
    /// machine and user Path from the registry; elsewhere none). Repeat to append.
    #[arg(long = "search-path", value_name = "DIRS")]
    pub search_path: Vec<String>,

    /// Every user's installs and settings, not this account's: each profile in ProfileList,
    /// with its hive (HKU\<SID>, or its NTUSER.DAT loaded for the run) and its folders. The
    /// default when condafix runs as SYSTEM (Intune, ConfigMgr) and no --prefix is given.
    #[arg(long, conflicts_with = "prefixes")]
    pub all_users: bool,

    /// With --all-users (or as SYSTEM): only this user's profile (its folder name).
    #[arg(long, value_name = "NAME", conflicts_with = "prefixes")]
    pub user: Option<String>,

    /// Which findings make the exit code 1: `error` (the default) or `warning` too. `check`,
    /// `detect` and `post-install` judge alike.
    #[arg(long, value_enum, default_value_t = FailOnArg::Error, value_name = "SEVERITY")]
    pub fail_on: FailOnArg,
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOnArg {
    Error,
    Warning,
}

impl From<FailOnArg> for condafix_detect::FailOn {
    fn from(a: FailOnArg) -> Self {
        match a {
            FailOnArg::Error => condafix_detect::FailOn::Error,
            FailOnArg::Warning => condafix_detect::FailOn::Warning,
        }
    }
}

impl TargetArgs {
    pub fn fail_on(&self) -> condafix_detect::FailOn {
        self.fail_on.into()
    }

    /// Work for every user: asked for, or SYSTEM with no prefix given.
    pub fn all_users(&self) -> bool {
        self.all_users
            || self.user.is_some()
            || (self.prefixes.is_empty() && condafix_verify::rights::process_is_system())
    }
}

/// The registry: the real one on Windows; none (an empty one) elsewhere. Tests hand in a
/// registry kept in a file with `CONDAFIX_FAKE_REGISTRY` (on Windows only in debug builds), so a
/// run that is killed and the next one see the same values.
pub fn host_registry() -> Box<dyn RegistryWrite> {
    use condafix_detect::registry::{FileRegistry, ENV_FAKE_REGISTRY};
    if !cfg!(windows) || cfg!(debug_assertions) {
        if let Some(p) = std::env::var_os(ENV_FAKE_REGISTRY).filter(|p| !p.is_empty()) {
            return Box::new(FileRegistry::new(PathBuf::from(p)));
        }
    }
    #[cfg(windows)]
    {
        Box::new(condafix_detect::SystemRegistry::new())
    }
    #[cfg(not(windows))]
    {
        Box::new(condafix_detect::registry::FakeRegistry::empty())
    }
}

pub struct Machine {
    pub env: ProcessEnv,
    /// The host's registry, for the life of the process (one per run): the users' hives loaded
    /// for the run borrow it.
    pub registry: &'static dyn RegistryWrite,
    /// In an all-users run: the user whose profile each install is under.
    pub(crate) owners: std::cell::RefCell<Vec<(String, Profile)>>,
    /// The hives of the owners worked for so far, by SID: a logged-off user's `NTUSER.DAT` is
    /// copied and loaded once for the run however many of their installs are worked (and
    /// unloaded, its copy deleted, when the run ends).
    hives: std::cell::RefCell<Vec<(String, std::rc::Rc<UserHive<'static>>)>>,
    /// This run works for every user: an empty list of targets means none, not "discover".
    all_users: std::cell::Cell<bool>,
}

/// Whose install it is, in an all-users run: their profile and how their hive was reached.
pub struct Owner<'a> {
    pub profile: &'a Profile,
    pub access: &'a HiveAccess,
}

impl Machine {
    pub fn new() -> Self {
        Self::on(Box::leak(host_registry()))
    }

    fn on(registry: &'static dyn RegistryWrite) -> Self {
        Self {
            env: ProcessEnv,
            registry,
            owners: std::cell::RefCell::new(Vec::new()),
            hives: std::cell::RefCell::new(Vec::new()),
            all_users: std::cell::Cell::new(false),
        }
    }

    /// Whether this run works for every user (set by [`Machine::targets`]).
    pub fn all_users_run(&self) -> bool {
        self.all_users.get()
    }

    /// The prefixes a command works on: the given ones, or in an all-users run every user's
    /// (found by a first detection, which also records whose each install is).
    pub fn targets(&self, args: &TargetArgs) -> anyhow::Result<Vec<PathBuf>> {
        if !args.all_users() {
            return Ok(args.prefixes.clone());
        }
        self.all_users.set(true);
        let report = self.detect(args)?;
        Ok(report
            .prefixes
            .iter()
            .map(|p| PathBuf::from(&p.prefix))
            .collect())
    }

    /// Remember, from an all-users report, whose each install is.
    fn note_owners(&self, report: &Report) {
        let mut owners = self.owners.borrow_mut();
        owners.clear();
        for p in &report.prefixes {
            let Some(name) = &p.user else { continue };
            if let Some(u) = report.users.iter().find(|u| &u.profile.name == name) {
                owners.push((p.prefix.to_lowercase(), u.profile.clone()));
            }
        }
    }

    /// Run `f` with the environment and registry the owner of `prefix` has (their profile
    /// folders and variables, their hive as HKCU), or this process's own when the install is
    /// nobody's in particular. A hive loaded for it is unloaded when `f` returns.
    pub fn as_owner<T>(
        &self,
        prefix: &Path,
        f: impl FnOnce(&dyn condafix_detect::EnvSource, &dyn RegistryWrite, Option<Owner<'_>>) -> T,
    ) -> T {
        let key = display_path(prefix).to_lowercase();
        let profile = self
            .owners
            .borrow()
            .iter()
            .find(|(p, _)| *p == key)
            .map(|(_, profile)| profile.clone());
        let Some(profile) = profile else {
            return f(&self.env, self.registry, None);
        };
        let hive = self.hive_of(&profile);
        let view = hive.view(self.registry);
        let env = UserEnv::new(&self.env, &profile, &view);
        f(
            &env,
            &view,
            Some(Owner {
                profile: &profile,
                access: &hive.access,
            }),
        )
    }

    /// `profile`'s hive for this run: the one reached before, unless they have signed in since
    /// a copy was loaded (their live hive then wins and the copy is unloaded) or signed out
    /// since their live hive was used (a copy is loaded then).
    fn hive_of(&self, profile: &Profile) -> std::rc::Rc<UserHive<'static>> {
        let reader: &'static dyn condafix_detect::registry::Registry = self.registry;
        let mut hives = self.hives.borrow_mut();
        if let Some(i) = hives.iter().position(|(sid, _)| *sid == profile.sid) {
            let live = condafix_detect::users::is_logged_on(reader, &profile.sid);
            let changed = match hives[i].1.access {
                HiveAccess::LoadedForRun => live,
                HiveAccess::LoggedOn => !live,
                _ => false,
            };
            if !changed {
                return hives[i].1.clone();
            }
            hives.remove(i);
        }
        let hive = std::rc::Rc::new(UserHive::open(reader, profile));
        hives.push((profile.sid.clone(), hive.clone()));
        hive
    }

    pub fn host(&self) -> HostInfo<'_> {
        HostInfo::new(&self.env, self.registry, cfg!(windows))
    }

    /// What an unactivated program on this machine sees, with the command line's overrides.
    pub fn search_context(&self, args: &TargetArgs) -> SearchContext {
        search_context_of(&self.env, self.registry, args)
    }
}

/// What an unactivated program started with `env` and `registry` (a user's) sees, with the
/// command line's overrides.
pub fn search_context_of(
    env: &dyn condafix_detect::EnvSource,
    registry: &dyn condafix_detect::registry::Registry,
    args: &TargetArgs,
) -> SearchContext {
    {
        let mut ctx = if cfg!(windows) {
            match SearchContext::from_registry(env, registry) {
                Ok(ctx) => ctx,
                Err(e) => {
                    crate::printer::Printer::new(false)
                        .warn(&format!("{e}; using this process's PATH instead"));
                    SearchContext::from_env(env, true)
                }
            }
        } else {
            let mut ctx = SearchContext::from_env(env, false);
            // A registry stand-in (tests) says what new processes get, as Windows' does.
            if let Ok(Some(v)) =
                SearchContext::dll_search_modification_for_new_processes(env, registry)
            {
                ctx.dll_search_modification = Some(v);
            }
            ctx
        };
        if let Some(root) = &args.system_root {
            ctx.system_root = Some(root.clone());
        }
        if !args.search_path.is_empty() {
            ctx.path = args
                .search_path
                .iter()
                .flat_map(|s| split_windows_path_list(s))
                .collect();
            ctx.path_sources = vec![PathSource {
                source: condafix_detect::PathOrigin::Argument,
                value_type: None,
                raw: args.search_path.join(";"),
            }];
        }
        ctx
    }
}

impl Machine {
    /// Prefixes given with `--prefix` must be there and be conda prefixes (or venvs): an error
    /// names the first that is not (exit 2, as `detect` and `stage` do).
    pub fn check_given(&self, prefixes: &[PathBuf]) -> Result<(), condafix_detect::Error> {
        for p in prefixes {
            if !p.exists() {
                return Err(condafix_detect::Error::PrefixMissing { path: p.clone() });
            }
            if !condafix_prefix::is_conda_prefix(p) && !p.join("pyvenv.cfg").is_file() {
                return Err(condafix_detect::Error::NotAPrefix { path: p.clone() });
            }
        }
        Ok(())
    }

    /// Plan the config of one prefix from its report: in an all-users run with its owner's
    /// files, settings and registry (their user environment as `HKU\<SID>`).
    pub fn plan_config_for(
        &self,
        report: &Report,
        prefix: &condafix_detect::PrefixReport,
        opts: &condafix_config::ConfigOptions,
    ) -> Result<condafix_config::ConfigPlan, condafix_config::ConfigError> {
        let etc = self.host().etc_dir;
        self.as_owner(Path::new(&prefix.prefix), |env, registry, owner| {
            let locations =
                condafix_detect::locations::ConfigLocations::new(env, cfg!(windows), &etc);
            let config = owner
                .as_ref()
                .and_then(|o| report.users.iter().find(|u| u.profile.sid == o.profile.sid))
                .map(|u| &u.config)
                .unwrap_or(&report.machine);
            let plan = condafix_config::plan_config(prefix, config, &locations, registry, opts)?;
            Ok(match owner {
                Some(o) => plan.for_user(
                    &o.profile.name,
                    &o.profile.sid,
                    *o.access == HiveAccess::LoggedOn,
                ),
                None => plan,
            })
        })
    }

    /// Discover (or take the given prefixes) and detect.
    pub fn detect(&self, args: &TargetArgs) -> anyhow::Result<Report> {
        let ctx = self.search_context(args);
        if args.all_users() {
            let ctx_of = |env: &dyn condafix_detect::EnvSource,
                          reg: &dyn condafix_detect::registry::Registry| {
                search_context_of(env, reg, args)
            };
            let mut report = condafix_detect::detect_all_users(
                &self.host(),
                &ctx,
                &ctx_of,
                args.user.as_deref(),
            )?;
            self.note_owners(&report);
            crate::output::stamp(&mut report);
            return Ok(report);
        }
        let mut report = condafix_detect::detect_with(&self.host(), &args.prefixes, &ctx)?;
        crate::output::stamp(&mut report);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use condafix_detect::registry::{FakeRegistry, Hive, HiveFile, RegValue};

    const SID: &str = "S-1-5-21-1-2-3-1001";

    fn loads_and_unloads(reg: &FakeRegistry) -> (usize, usize) {
        let calls = reg.calls.borrow();
        let n = |what: &str| calls.iter().filter(|c| c.starts_with(what)).count();
        (n("load HKU\\"), n("unload HKU\\"))
    }

    #[test]
    fn a_logged_off_owners_hive_is_loaded_once_per_run_and_their_signing_in_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("alice");
        fs_err::create_dir_all(&home).unwrap();
        let hive: HiveFile = vec![(
            "Environment".into(),
            "PIP_CERT".into(),
            RegValue::Sz("C:\\corp.pem".into()),
        )];
        fs_err::write(home.join("NTUSER.DAT"), serde_json::to_vec(&hive).unwrap()).unwrap();
        let before = fs_err::read(home.join("NTUSER.DAT")).unwrap();
        let reg: &'static FakeRegistry = Box::leak(Box::default());
        let machine = Machine::on(reg);
        let profile = Profile {
            sid: SID.into(),
            name: "alice".into(),
            dir: home.display().to_string(),
            path: home.clone(),
            unusable: None,
        };
        let prefixes = [
            home.join("anaconda3"),
            home.join("anaconda3").join("envs").join("a"),
        ];
        for p in &prefixes {
            machine
                .owners
                .borrow_mut()
                .push((display_path(p).to_lowercase(), profile.clone()));
        }
        let access = |p: &Path| {
            machine.as_owner(p, |_, registry, owner| {
                let cert = registry
                    .value(Hive::CurrentUser, "Environment", "PIP_CERT")
                    .unwrap();
                (owner.map(|o| o.access.clone()), cert)
            })
        };
        // Three calls for two installs: one copy loaded.
        for p in [&prefixes[0], &prefixes[1], &prefixes[0]] {
            let (a, cert) = access(p);
            assert_eq!(a, Some(HiveAccess::LoadedForRun));
            assert_eq!(
                cert,
                Some(RegValue::Sz("C:\\corp.pem".into())),
                "their HKCU"
            );
        }
        assert_eq!(loads_and_unloads(reg), (1, 0), "{:?}", reg.calls.borrow());
        // She signs in: her live hive wins from the next call on, and the copy is unloaded.
        reg.set_value(
            Hive::Users,
            &format!("{SID}\\Environment"),
            "PIP_CERT",
            &RegValue::Sz("C:\\live.pem".into()),
        )
        .unwrap();
        let (a, cert) = access(&prefixes[1]);
        assert_eq!(a, Some(HiveAccess::LoggedOn));
        assert_eq!(cert, Some(RegValue::Sz("C:\\live.pem".into())));
        assert_eq!(loads_and_unloads(reg), (1, 1), "{:?}", reg.calls.borrow());
        // She signs out again: a copy of her hive is loaded for the rest of the run.
        reg.delete_value(Hive::Users, &format!("{SID}\\Environment"), "PIP_CERT")
            .unwrap();
        let (a, _) = access(&prefixes[0]);
        assert_eq!(a, Some(HiveAccess::LoadedForRun));
        assert_eq!(loads_and_unloads(reg), (2, 1), "{:?}", reg.calls.borrow());
        // The run's end unloads that copy; her file is as it was.
        drop(machine);
        assert_eq!(loads_and_unloads(reg), (2, 2));
        assert_eq!(fs_err::read(home.join("NTUSER.DAT")).unwrap(), before);
    }

    #[test]
    fn the_copies_loaded_for_a_run_are_unloaded_when_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let reg: &'static FakeRegistry = Box::leak(Box::default());
        let machine = Machine::on(reg);
        for (i, name) in ["alice", "bob"].iter().enumerate() {
            let home = dir.path().join(name);
            fs_err::create_dir_all(&home).unwrap();
            let hive: HiveFile = vec![(
                "Environment".into(),
                "TEMP".into(),
                RegValue::Sz("C:\\t".into()),
            )];
            fs_err::write(home.join("NTUSER.DAT"), serde_json::to_vec(&hive).unwrap()).unwrap();
            let profile = Profile {
                sid: format!("S-1-5-21-1-2-3-100{i}"),
                name: name.to_string(),
                dir: home.display().to_string(),
                path: home.clone(),
                unusable: None,
            };
            let p = home.join("miniconda3");
            machine
                .owners
                .borrow_mut()
                .push((display_path(&p).to_lowercase(), profile));
            machine.as_owner(&p, |_, _, _| ());
        }
        assert_eq!(loads_and_unloads(reg), (2, 0));
        drop(machine);
        assert_eq!(loads_and_unloads(reg), (2, 2), "{:?}", reg.calls.borrow());
    }
}
