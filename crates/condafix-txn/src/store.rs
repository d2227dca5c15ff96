//! A store: where a transaction keeps its journal, receipt and backups, and what it may change,
//! both with one authority (see `condafix_actor::state`):
//!
//! - a prefix's store changes files inside that prefix, as the identity that fits the prefix
//!   (its owner's, condafix's own for a prefix only the administrators control), and keeps its
//!   state in the prefix's `.condafix` (or, for a prefix only the administrators control, in the
//!   machine state folder);
//! - a user's store changes that user's config files and environment, as that user, and keeps
//!   its state in their own state folder;
//! - the machine's store changes machine-wide files and the machine environment, from the
//!   machine state folder, which only condafix's account may change.
//!
//! State read back from a store can only drive changes that store may make: a journal planted
//! in a user's prefix names at most paths inside that prefix, replayed as that user.

use std::path::{Path, PathBuf};

use condafix_actor::guard::RelPath;
use condafix_actor::{state, Control, FsError, Identity, Location};
use serde::Serialize;

use crate::target::{OutsideFiles, RegistryScope, Target, TargetRefusal};
use crate::TxnError;

/// Whose store it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "store", rename_all = "kebab-case")]
pub enum StoreKind {
    /// A prefix's.
    Prefix { prefix: PathBuf },
    /// A user's (their files outside any prefix, their environment).
    User { user: String },
    /// The machine's (machine-wide files, the machine environment).
    Machine,
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreKind::Prefix { prefix } => write!(f, "{}", dunce::simplified(prefix).display()),
            StoreKind::User { user } => write!(f, "the settings of user {user}"),
            StoreKind::Machine => f.write_str("the machine-wide settings"),
        }
    }
}

/// Where the machine state folder is and whether this run has the rights the machine's store
/// needs.
#[derive(Debug, Clone)]
pub struct Placement {
    pub machine_state: PathBuf,
    pub elevated: bool,
    /// Make no folder (a dry run): a state folder that is not there yet is [`TxnError::NoState`].
    pub dry_run: bool,
}

impl Placement {
    fn machine_state(&self) -> Result<Location, TxnError> {
        state::open_machine_state(&self.machine_state, !self.dry_run).map_err(|e| {
            if e.is_not_found() {
                TxnError::NoState
            } else {
                fs(e)
            }
        })
    }
}

/// What a user's or the machine's store may change.
#[derive(Debug, Clone)]
pub struct FileScope {
    /// The files it may write this run.
    pub allowed: OutsideFiles,
    /// Folders below which a target is reached step by step without following a link (a user's
    /// home, `%ProgramData%`, `/etc`); a target below none of them is reached from its own
    /// folder.
    pub roots: Vec<PathBuf>,
    pub registry: RegistryScope,
}

pub(crate) enum Scope {
    /// Files inside this prefix.
    Prefix(Location),
    /// Files on an allow-list, as an identity.
    Files {
        files: FileScope,
        identity: Identity,
        /// The machine's: every folder written into must be one only the administrators
        /// control.
        machine: bool,
    },
}

/// A store (see the module documentation).
pub struct Store {
    kind: StoreKind,
    /// The folder the state folder is in, and the state folder's path below it.
    state_base: Location,
    state_rel: RelPath,
    /// The state folder must be readable by its owner only (the machine's: backups of files
    /// only the administrators could read); elsewhere it must be changeable by its owner only.
    owner_only: bool,
    pub(crate) scope: Scope,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("kind", &self.kind)
            .field("state", &self.state_path())
            .finish()
    }
}

/// A location a target is reached through: the store's own, or one opened for the target.
pub(crate) type Reach<'a> = condafix_actor::Held<'a, Location>;

fn fs(e: FsError) -> TxnError {
    TxnError::Fs(e)
}

impl Store {
    /// The store of the prefix at `prefix`: who controls it decides the identity (when this
    /// run is elevated) and where the state lives. A prefix several accounts may change, or
    /// whose owner condafix cannot act as, has no store: the error says why.
    pub fn for_prefix(prefix: &Path, place: &Placement) -> Result<Store, TxnError> {
        let kind = StoreKind::Prefix {
            prefix: prefix.to_path_buf(),
        };
        let probe = Location::open(prefix, Identity::Process).map_err(fs)?;
        let control = if place.elevated {
            probe.control().map_err(fs)?
        } else {
            // Without extra rights condafix can only do what its own account may: the OS
            // enforces it, and the state is that account's.
            Control::Owner(
                condafix_actor::identity::process_account()
                    .unwrap_or(condafix_actor::AccountId::Uid(u32::MAX)),
            )
        };
        match control {
            Control::Machine => {
                let base = place.machine_state()?;
                let rel = RelPath::parse(&format!(
                    "{}/{}",
                    state::MACHINE_PREFIXES_DIR,
                    state::prefix_key(prefix)
                ))
                .map_err(|why| TxnError::Refused {
                    file: place.machine_state.clone(),
                    field: "prefix key".into(),
                    why: why.to_string(),
                })?;
                Ok(Store {
                    kind,
                    state_base: base,
                    state_rel: rel,
                    owner_only: true,
                    scope: Scope::Prefix(probe),
                })
            }
            Control::Owner(owner) => {
                let identity = Identity::for_owner(&owner).map_err(|e| TxnError::NoIdentity {
                    place: prefix.to_path_buf(),
                    why: e.to_string(),
                })?;
                let loc = if identity == Identity::Process {
                    probe
                } else {
                    Location::open(prefix, identity).map_err(fs)?
                };
                Ok(Store {
                    kind,
                    state_base: loc.clone_handle().map_err(fs)?,
                    state_rel: RelPath::parse(state::PREFIX_STATE_DIR).expect("valid"),
                    owner_only: false,
                    scope: Scope::Prefix(loc),
                })
            }
            Control::Shared(writers) => Err(TxnError::NoIdentity {
                place: prefix.to_path_buf(),
                why: format!(
                    "several accounts may change it ({}); condafix acts for one owner at a time, so it only reads there",
                    writers
                        .iter()
                        .map(condafix_actor::Writer::label)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    /// The store of a user's settings: state in their state folder below `state_base` (their
    /// home on Unix, their local app-data folder on Windows), everything done as `identity`.
    pub fn for_user(
        user: &str,
        identity: Identity,
        state_base: &Path,
        windows: bool,
        files: FileScope,
    ) -> Result<Store, TxnError> {
        // Their local app-data folder may not be there yet: made as them.
        if !state_base.exists() {
            identity
                .act(|| fs_err::create_dir_all(state_base))
                .map_err(|e| fs(e.into()))?
                .map_err(|source| TxnError::Write {
                    path: state_base.to_path_buf(),
                    source,
                })?;
        }
        let base = Location::open(state_base, identity.clone()).map_err(fs)?;
        Ok(Store {
            kind: StoreKind::User {
                user: user.to_string(),
            },
            state_base: base,
            state_rel: state::user_state_rel(windows),
            owner_only: false,
            scope: Scope::Files {
                files,
                identity,
                machine: false,
            },
        })
    }

    /// The machine's store: state in the machine state folder (needs an elevated run).
    pub fn for_machine(place: &Placement, files: FileScope) -> Result<Store, TxnError> {
        let base = place.machine_state()?;
        Ok(Store {
            kind: StoreKind::Machine,
            state_base: base,
            state_rel: RelPath::parse(state::MACHINE_DIR).expect("valid"),
            owner_only: true,
            scope: Scope::Files {
                files,
                identity: Identity::Process,
                machine: true,
            },
        })
    }

    pub fn kind(&self) -> &StoreKind {
        &self.kind
    }

    /// Who condafix acts as in this store.
    pub fn identity(&self) -> &Identity {
        match &self.scope {
            Scope::Prefix(l) => l.identity(),
            Scope::Files { identity, .. } => identity,
        }
    }

    /// The prefix of a prefix's store.
    pub fn prefix(&self) -> Option<&Path> {
        match &self.kind {
            StoreKind::Prefix { prefix } => Some(prefix),
            _ => None,
        }
    }

    /// The state folder's path (for messages and for readers by path).
    pub fn state_path(&self) -> PathBuf {
        self.state_rel.under(self.state_base.root())
    }

    /// The folder the state folder is in, and the state folder's path below it (to remove the
    /// state folder when nothing is left in it).
    pub(crate) fn state_base(&self) -> Result<(Location, RelPath), TxnError> {
        Ok((
            self.state_base.clone_handle().map_err(fs)?,
            self.state_rel.clone(),
        ))
    }

    /// The state folder, opened (and with `create`, made owner-only when missing, and checked).
    pub(crate) fn state(&self, create: bool) -> Result<Location, TxnError> {
        let loc = self
            .state_base
            .subdir(&self.state_rel, create.then_some(0o700))
            .map_err(|e| {
                if e.is_not_found() {
                    TxnError::NoState
                } else {
                    fs(e)
                }
            })?;
        state::check_state_folder(&loc, self.owner_only).map_err(fs)?;
        Ok(loc)
    }

    /// The allow-list of a user's or the machine's store (`None`: a prefix's, which may only
    /// name paths inside the prefix).
    pub(crate) fn outside(&self) -> Option<&OutsideFiles> {
        match &self.scope {
            Scope::Prefix(_) => None,
            Scope::Files { files, .. } => Some(&files.allowed),
        }
    }

    pub(crate) fn registry_scope(&self) -> RegistryScope {
        match &self.scope {
            Scope::Prefix(_) => RegistryScope::None,
            Scope::Files { files, .. } => files.registry.clone(),
        }
    }

    /// Whether this store may change `target`.
    pub(crate) fn check_target(&self, target: &Target) -> Result<(), TxnError> {
        let refused = |why: TargetRefusal| TxnError::Refused {
            file: PathBuf::from(target.text()),
            field: "target".into(),
            why: why.to_string(),
        };
        match (target, self.outside()) {
            (Target::Inside(_), None) => Ok(()),
            (Target::Inside(_), Some(_)) => Err(refused(TargetRefusal::NotAbsolute)),
            (Target::Outside(_), None) => Err(refused(TargetRefusal::OutsideThePrefix)),
            (Target::Outside(p), Some(o)) if o.allows(p) => Ok(()),
            (Target::Outside(_), Some(_)) => Err(refused(TargetRefusal::NotAllowed)),
        }
    }

    /// The location `target` is reached through and its path there: inside a prefix, the
    /// prefix's location; a file outside, below the deepest of the scope's roots (every step
    /// below it unfollowed), else its own folder opened as the store's identity. In the
    /// machine's store, the folder written into must be one only the administrators control.
    pub(crate) fn reach(&self, target: &Target) -> Result<(Reach<'_>, RelPath), TxnError> {
        self.check_target(target)?;
        match (&self.scope, target) {
            (Scope::Prefix(loc), Target::Inside(rel)) => Ok((Reach::Borrowed(loc), rel.clone())),
            (
                Scope::Files {
                    files,
                    identity,
                    machine,
                },
                Target::Outside(path),
            ) => {
                let root = files
                    .roots
                    .iter()
                    .filter(|r| path.starts_with(r) && path != *r)
                    .max_by_key(|r| r.components().count());
                let (root, rel_text) = match root {
                    Some(r) => (
                        r.clone(),
                        path.strip_prefix(r)
                            .expect("starts with it")
                            .to_string_lossy()
                            .into_owned(),
                    ),
                    None => (
                        path.parent().map(Path::to_path_buf).unwrap_or_default(),
                        path.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    ),
                };
                let rel = RelPath::parse(&rel_text).map_err(|why| TxnError::Refused {
                    file: path.clone(),
                    field: "target".into(),
                    why: why.to_string(),
                })?;
                let loc = Location::open(&root, identity.clone()).map_err(fs)?;
                if *machine {
                    self.check_machine_folder(&loc, &rel, path)?;
                }
                Ok((Reach::Owned(loc), rel))
            }
            _ => unreachable!("check_target refused the mismatch"),
        }
    }

    /// Every existing folder from `loc` down to `rel`'s folder must be one only the
    /// administrators control: a machine-wide file is never written where a user could change
    /// what every user's programs read.
    fn check_machine_folder(
        &self,
        loc: &Location,
        rel: &RelPath,
        path: &Path,
    ) -> Result<(), TxnError> {
        let comps: Vec<&str> = rel.components().collect();
        let mut cur = loc.clone_handle().map_err(fs)?;
        let mut steps = vec![cur.control().map_err(fs)?];
        for c in &comps[..comps.len().saturating_sub(1)] {
            let Ok(step) = RelPath::parse(c) else { break };
            match cur.subdir(&step, None) {
                Ok(next) => {
                    steps.push(next.control().map_err(fs)?);
                    cur = next;
                }
                Err(e) if e.is_not_found() => break,
                Err(e) => return Err(fs(e)),
            }
        }
        if let Some(c) = steps.iter().find(|c| **c != Control::Machine) {
            return Err(TxnError::Refused {
                file: path.to_path_buf(),
                field: "folder".into(),
                why: format!(
                    "a folder on the way to it may be changed by {}; condafix does not write machine-wide settings where a user could change them for everyone",
                    c.describe()
                ),
            });
        }
        Ok(())
    }
}
