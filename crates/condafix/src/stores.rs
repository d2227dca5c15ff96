//! The stores a run holds: one per prefix (locked, what an interrupted run left recovered), one
//! per user whose settings the run may change (acting as that user), and the machine's (only
//! when elevated). Each change for a prefix goes through the store whose authority covers it;
//! a store that cannot be held is a verdict for what needed it, never a failure of the run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use condafix_actor::Identity;
use condafix_detect::locations::ConfigLocations;
use condafix_detect::users::Profile;
use condafix_detect::{display_path, ProcessEnv};
use condafix_prefix::TxnCommand;
use condafix_txn::{
    Applied, Changes, Context, Faults, FileScope, OutsideFiles, Placement, Recovery, RegistryScope,
    Session, Store, Stores, TxnError,
};

use crate::machine::Machine;

/// Where the machine state folder is, and whether this run may change machine-wide things.
pub fn placement(dry_run: bool) -> Placement {
    Placement {
        machine_state: condafix_actor::state::process_machine_state_dir(),
        elevated: condafix_actor::process_is_elevated(),
        dry_run,
    }
}

/// The machine's own config files, from this process's environment (never a user's).
pub fn machine_files() -> Vec<PathBuf> {
    ConfigLocations::new(&ProcessEnv, cfg!(windows), Path::new("/etc")).machine_files()
}

fn key(p: &Path) -> String {
    display_path(p).to_lowercase()
}

/// A user's store, or why there is none.
struct UserHold {
    /// The profile's SID in an all-users run; `None`: this account.
    owner: Option<String>,
    session: Result<Session, String>,
}

/// What a run holds, or for a dry run what recovery would do.
#[derive(Default)]
pub struct Held {
    prefixes: Vec<Session>,
    users: Vec<UserHold>,
    machine: Option<Result<Session, String>>,
    /// What recovery did before anything was planned.
    pub recovered: Vec<Recovery>,
    /// `--dry-run`: what recovery would do.
    pub pending: Vec<Recovery>,
    /// `--dry-run`: stores another process is changing now.
    pub notes: Vec<String>,
    /// Prefixes that are not held, and why: nothing is done to them.
    pub refused: Vec<(PathBuf, TxnError)>,
}

impl Held {
    /// Why `prefix` is not held, if it is not.
    pub fn refusal(&self, prefix: &Path) -> Option<&TxnError> {
        self.refused
            .iter()
            .find(|(p, _)| key(p) == key(prefix))
            .map(|(_, e)| e)
    }
}

impl Machine {
    /// The profile a prefix belongs to in an all-users run (`None`: this account's).
    fn owner_profile(&self, prefix: &Path) -> Option<Profile> {
        let k = key(prefix);
        self.owners
            .borrow()
            .iter()
            .find(|(p, _)| *p == k)
            .map(|(_, profile)| profile.clone())
    }

    /// What a user's store may change for `prefix` (their files outside any prefix, their
    /// environment), and where its state goes.
    fn user_scope(&self, prefix: &Path, base: Option<&Path>) -> (FileScope, Option<PathBuf>) {
        let machine = machine_files();
        self.as_owner(prefix, |env, _, owner| {
            let loc = ConfigLocations::new(env, cfg!(windows), Path::new("/etc"));
            let mut files = loc.outside_files(prefix, base);
            let k = |p: &Path| key(p);
            files.retain(|f| !machine.iter().any(|m| k(m) == k(f)));
            // Their own environment, `HKU\<SID>`: written only while it is live (the config
            // plan drops changes for a user who is not logged on), and named in their state
            // whether they are logged on now or not.
            let registry = match &owner {
                None => RegistryScope::CurrentUser,
                Some(o) => RegistryScope::User {
                    sid: o.profile.sid.clone(),
                },
            };
            let state_base = if cfg!(windows) {
                loc.local_appdata.clone().or_else(|| {
                    owner
                        .as_ref()
                        .map(|o| o.profile.path.join("AppData").join("Local"))
                })
            } else {
                owner
                    .as_ref()
                    .map(|o| o.profile.path.clone())
                    .or_else(|| loc.home.clone())
            };
            (
                FileScope {
                    allowed: OutsideFiles::new(files),
                    roots: loc.user_roots(),
                    registry,
                },
                state_base,
            )
        })
    }

    /// Lock the store of every prefix found (or given) for `command`, in one order so two runs
    /// cannot wait on each other, then the stores of their users and the machine's, and recover
    /// what interrupted runs left in them. With `dry_run`, nothing is locked or written: what
    /// recovery would do is reported instead. A prefix whose store cannot be held (its state is
    /// refused, another process holds it, no identity fits it) is set aside in `refused` when
    /// `keep_going` or when several prefixes are worked; a user's or the machine's store that
    /// cannot be held refuses only the changes that need it.
    pub fn hold_all(
        &self,
        prefixes: &[PathBuf],
        _command: TxnCommand,
        timeout: Duration,
        dry_run: bool,
        keep_going: bool,
        faults: &Faults,
    ) -> Result<Held, TxnError> {
        let mut found = if self.all_users_run() && prefixes.is_empty() {
            Vec::new()
        } else {
            condafix_detect::discover::discover(&self.host(), prefixes).prefixes
        };
        found.sort_by_key(|d| d.prefix.to_lowercase());
        let keep_going = keep_going || found.len() > 1;
        let place = placement(dry_run);
        let cx = Context {
            faults,
            registry: Some(self.registry),
        };
        let mut held = Held::default();
        // The users' scopes, merged per user (one store each).
        let mut scopes: Vec<(Option<Profile>, FileScope, Option<PathBuf>)> = Vec::new();
        for d in &found {
            let base = d.base.as_ref().map(PathBuf::from);
            let (scope, state_base) = self.user_scope(&d.path, base.as_deref());
            let profile = self.owner_profile(&d.path);
            let sid = profile.as_ref().map(|p| p.sid.clone());
            match scopes
                .iter_mut()
                .find(|(p, _, _)| p.as_ref().map(|p| &p.sid) == sid.as_ref())
            {
                Some((_, s, _)) => {
                    let mut all = s.allowed.files().to_vec();
                    all.extend(scope.allowed.files().iter().cloned());
                    s.allowed = OutsideFiles::new(all);
                    for r in scope.roots {
                        if !s.roots.contains(&r) {
                            s.roots.push(r);
                        }
                    }
                }
                None => scopes.push((profile, scope, state_base)),
            }
            let store = match Store::for_prefix(&d.path, &place) {
                Ok(s) => s,
                Err(TxnError::NoState) => continue,
                Err(e) if keep_going => {
                    held.refused.push((d.path.clone(), e));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if dry_run {
                self.check_dry(&store, &mut held, keep_going, &d.path)?;
                continue;
            }
            match Session::open(store, &cx, timeout) {
                Ok(session) => {
                    held.recovered.extend(session.recovered.clone());
                    held.prefixes.push(session);
                }
                Err(e) if keep_going => held.refused.push((d.path.clone(), e)),
                Err(e) => return Err(e),
            }
        }
        for (profile, scope, state_base) in scopes {
            let owner = profile.as_ref().map(|p| p.sid.clone());
            let label = profile
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_else(|| "this account".into());
            let session = (|| {
                let identity = match &profile {
                    Some(p) => condafix_actor::identity::for_profile(&p.sid, &p.path)?,
                    None => Identity::Process,
                };
                let base = state_base.ok_or_else(|| {
                    format!("the home folder of {label} is not known, so its settings have no state folder")
                })?;
                let store = Store::for_user(&label, identity, &base, cfg!(windows), scope)
                    .map_err(|e| e.to_string())?;
                if dry_run {
                    self.check_dry(&store, &mut held, true, &base)
                        .map_err(|e| e.to_string())?;
                    return Err("dry run".to_string());
                }
                let session = Session::open(store, &cx, timeout).map_err(|e| e.to_string())?;
                held.recovered.extend(session.recovered.clone());
                Ok(session)
            })();
            held.users.push(UserHold { owner, session });
        }
        if place.elevated {
            let files = machine_files();
            let env_loc = ConfigLocations::new(&ProcessEnv, cfg!(windows), Path::new("/etc"));
            let scope = FileScope {
                allowed: OutsideFiles::new(files),
                roots: env_loc.machine_roots(),
                registry: RegistryScope::Machine,
            };
            let session = match Store::for_machine(&place, scope) {
                Ok(store) if dry_run => {
                    self.check_dry(&store, &mut held, true, &place.machine_state)?;
                    Err("dry run".to_string())
                }
                Ok(store) => match Session::open(store, &cx, timeout) {
                    Ok(s) => {
                        held.recovered.extend(s.recovered.clone());
                        Ok(s)
                    }
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
            held.machine = Some(session);
        }
        Ok(held)
    }

    /// `--dry-run`: what recovery would do with a store, and whether another process holds it.
    fn check_dry(
        &self,
        store: &Store,
        held: &mut Held,
        keep_going: bool,
        shown: &Path,
    ) -> Result<(), TxnError> {
        if let Some(holder) = condafix_txn::lock::StoreLock::held_by_other(store) {
            held.notes.push(format!(
                "{}: another process ({holder}) is changing it right now",
                store.kind()
            ));
        }
        match condafix_txn::check_state(store) {
            Ok(Some(r)) => held.pending.push(r),
            Ok(None) | Err(TxnError::NoState) => {}
            Err(e) if keep_going => held.refused.push((shown.to_path_buf(), e)),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Apply plan parts for one held prefix: the one transaction path, through the prefix's
    /// store, its owner's, the machine's, and the other held prefixes'.
    pub fn apply(
        &self,
        held: &Held,
        prefix: &Path,
        command: TxnCommand,
        parts: &[&dyn Changes],
        faults: &Faults,
    ) -> Result<Applied, TxnError> {
        let session = held
            .prefixes
            .iter()
            .find(|s| s.store().prefix().is_some_and(|p| key(p) == key(prefix)))
            .ok_or_else(|| match held.refusal(prefix) {
                Some(e) => TxnError::NoIdentity {
                    place: prefix.to_path_buf(),
                    why: e.to_string(),
                },
                None => TxnError::Refused {
                    file: prefix.to_path_buf(),
                    field: "prefix".into(),
                    why: "it was not locked for this run (an internal error: please report it)"
                        .into(),
                },
            })?;
        let owner = self.owner_profile(prefix).map(|p| p.sid);
        let user = held.users.iter().find(|u| u.owner == owner);
        let (user, user_missing) = match user.map(|u| &u.session) {
            Some(Ok(s)) => (Some(s.store()), None),
            Some(Err(why)) => (None, Some(why.clone())),
            None => (None, Some("no settings of its user were found".into())),
        };
        let machine = match &held.machine {
            Some(Ok(s)) => Some(s.store()),
            _ => None,
        };
        let stores = Stores {
            prefix: session.store(),
            others: held
                .prefixes
                .iter()
                .filter(|s| !std::ptr::eq(*s, session))
                .map(Session::store)
                .collect(),
            user,
            user_missing,
            machine,
        };
        let cx = Context {
            faults,
            registry: Some(self.registry),
        };
        condafix_txn::apply(stores, command, parts, &cx)
    }
}
