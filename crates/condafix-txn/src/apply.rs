//! The one apply path: every change condafix makes goes through a [`Session`] per store (the
//! store is locked, what an interrupted run left is recovered) and, for the changes made for one
//! prefix, through [`Txns`]: one transaction per store the changes go to (the prefix's, its
//! owner's, the machine's), begun when the first change goes there, all committed at the end or
//! (on any failure) all rolled back. Each change names where it goes ([`Place`]); a change goes
//! only through the store whose authority covers it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use condafix_prefix::registry::{Hive, RegValue, RegistryWrite};
use condafix_prefix::{Sha256, TxnCommand};

use crate::lock::StoreLock;
use crate::store::Store;
use crate::{recover, Context, Recovery, Target, Transaction, TxnError, UndoOutcome};

/// How long a run waits for another condafix that holds the same store.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a change goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Inside the prefix the changes are made for.
    Prefix,
    /// Inside another prefix this run holds (an env's base, for its `.condarc`).
    OtherPrefix(PathBuf),
    /// A file of the user the prefix belongs to (or of this account), outside any prefix.
    User,
    /// A machine-wide file.
    Machine,
}

/// One part of a plan: changes made through the transactions, and effects after they commit.
pub trait Changes {
    /// Make the changes through `t`: every write atomic, journalled, backed up.
    fn apply(&self, t: &mut Txns<'_>) -> Result<(), TxnError>;

    /// After the transactions committed: effects that are not undone (a line for later GitHub
    /// steps) or that only announce a change (`WM_SETTINGCHANGE`).
    fn after_commit(&self, _registry: Option<&dyn RegistryWrite>) -> Result<(), TxnError> {
        Ok(())
    }
}

/// A store held for changes: locked from recovery to commit.
#[derive(Debug)]
pub struct Session {
    store: Store,
    _lock: Option<StoreLock>,
    /// What an interrupted run left, and what recovery did with it.
    pub recovered: Option<Recovery>,
}

impl Session {
    /// Lock `store` (waiting up to `timeout` for another condafix) and recover what an
    /// interrupted run left. A store whose state folder this account cannot make is not locked
    /// (nothing there can change for this account either).
    pub fn open(store: Store, cx: &Context<'_>, timeout: Duration) -> Result<Self, TxnError> {
        let lock = StoreLock::acquire(&store, timeout)?;
        let recovered = if lock.is_some() {
            recover(&store, cx)?
        } else {
            None
        };
        Ok(Self {
            store,
            _lock: lock,
            recovered,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// The stores the changes for one prefix may go to.
pub struct Stores<'a> {
    pub prefix: &'a Store,
    /// Other prefixes this run holds.
    pub others: Vec<&'a Store>,
    /// The prefix's owner's (or this account's) settings; `None` when condafix cannot act for
    /// them (the reason in `user_missing`).
    pub user: Option<&'a Store>,
    pub user_missing: Option<String>,
    /// The machine's; `None` when this run is not elevated.
    pub machine: Option<&'a Store>,
}

/// The transactions of one apply (see the module documentation).
pub struct Txns<'a> {
    stores: Stores<'a>,
    command: TxnCommand,
    cx: Context<'a>,
    for_prefix: String,
    open: Vec<Transaction<'a>>,
    recovered: Vec<Recovery>,
}

/// What applying did for one prefix.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Applied {
    pub prefix: PathBuf,
    /// Files and registry values changed, in every store.
    pub changes: usize,
    /// The transaction id of the prefix's store when something changed there (else of the
    /// first store that changed).
    pub txn: Option<String>,
    /// Interrupted earlier runs that were finished first.
    pub recovered: Option<Recovery>,
}

impl<'a> Txns<'a> {
    fn store_for(&self, place: &Place) -> Result<&'a Store, TxnError> {
        match place {
            Place::Prefix => Ok(self.stores.prefix),
            Place::OtherPrefix(p) => {
                let key = |p: &Path| crate::target::path_key(p);
                self.stores
                    .others
                    .iter()
                    .copied()
                    .find(|s| s.prefix().is_some_and(|sp| key(sp) == key(p)))
                    .ok_or_else(|| TxnError::Refused {
                        file: p.clone(),
                        field: "prefix".into(),
                        why: "it is another prefix this run does not hold; run condafix on it too"
                            .into(),
                    })
            }
            Place::User => self.stores.user.ok_or_else(|| TxnError::NoIdentity {
                place: PathBuf::from(&self.for_prefix),
                why: self
                    .stores
                    .user_missing
                    .clone()
                    .unwrap_or_else(|| "the user's settings cannot be reached".into()),
            }),
            Place::Machine => self.stores.machine.ok_or(TxnError::NeedsElevation),
        }
    }

    /// The transaction of `store`, begun now if it is the first change there.
    fn txn(&mut self, store: &'a Store) -> Result<&mut Transaction<'a>, TxnError> {
        if let Some(i) = self
            .open
            .iter()
            .position(|t| std::ptr::eq(t.store(), store))
        {
            return Ok(&mut self.open[i]);
        }
        let (t, recovered) =
            Transaction::begin(store, self.command, self.cx, Some(self.for_prefix.clone()))?;
        self.recovered.extend(recovered);
        self.open.push(t);
        Ok(self.open.last_mut().expect("just pushed"))
    }

    /// The transaction for `place` (begun if needed): for reading its receipt.
    pub fn at(&mut self, place: &Place) -> Result<&mut Transaction<'a>, TxnError> {
        let store = self.store_for(place)?;
        self.txn(store)
    }

    pub fn write(
        &mut self,
        place: &Place,
        target: &Target,
        bytes: &[u8],
        origin: &str,
    ) -> Result<(), TxnError> {
        self.at(place)?.write(target, bytes, origin)
    }

    pub fn write_from(
        &mut self,
        place: &Place,
        target: &Target,
        source: &mut dyn std::io::Read,
        expected: Sha256,
        origin: &str,
    ) -> Result<(), TxnError> {
        self.at(place)?.write_from(target, source, expected, origin)
    }

    pub fn remove(&mut self, place: &Place, target: &Target, origin: &str) -> Result<(), TxnError> {
        self.at(place)?.remove(target, origin)
    }

    pub fn adopt(&mut self, place: &Place, target: &Target, origin: &str) -> Result<(), TxnError> {
        self.at(place)?.adopt(target, origin)
    }

    /// Set or delete a registry value: the user's environment through the user's store, the
    /// machine's through the machine's.
    pub fn set_registry(
        &mut self,
        hive: Hive,
        key: &str,
        name: &str,
        after: Option<RegValue>,
        origin: &str,
    ) -> Result<(), TxnError> {
        let place = if hive == Hive::LocalMachine {
            Place::Machine
        } else {
            Place::User
        };
        self.at(&place)?
            .set_registry(hive, key, name, after, origin)
    }

    /// Undo everything condafix did for this prefix: its own store's receipt whole, and the
    /// entries of the user's and the machine's receipts made for it.
    pub fn undo(&mut self) -> Result<UndoOutcome, TxnError> {
        let mut all = UndoOutcome::default();
        let prefix = self.for_prefix.clone();
        let mut stores = vec![self.stores.prefix];
        stores.extend(self.stores.user);
        stores.extend(self.stores.machine);
        for store in stores {
            let t = self.txn(store)?;
            let has = !t.receipt().entries.is_empty() || !t.receipt().registry.is_empty();
            if has {
                all.extend(t.undo_all(Some(&prefix))?);
            }
        }
        Ok(all)
    }

    fn changes(&self) -> usize {
        self.open.iter().map(Transaction::changes).sum()
    }
}

/// Apply `parts` for the prefix of `stores.prefix`, in one transaction per store they change:
/// all of it, or (on any failure) none of it.
pub fn apply(
    stores: Stores<'_>,
    command: TxnCommand,
    parts: &[&dyn Changes],
    cx: &Context<'_>,
) -> Result<Applied, TxnError> {
    let prefix = stores
        .prefix
        .prefix()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut t = Txns {
        stores,
        command,
        cx: *cx,
        for_prefix: dunce::simplified(&prefix).display().to_string(),
        open: Vec::new(),
        recovered: Vec::new(),
    };
    for part in parts {
        if let Err(e) = part.apply(&mut t) {
            // Report the failure; a rollback that fails too is reported instead (it is the
            // more urgent: something is half-changed until the next run).
            for txn in std::mem::take(&mut t.open).into_iter().rev() {
                txn.rollback()?;
            }
            return Err(e);
        }
    }
    let changes = t.changes();
    let txn_id = t
        .open
        .iter()
        .find(|x| x.changes() > 0 && x.store().prefix().is_some())
        .or_else(|| t.open.iter().find(|x| x.changes() > 0))
        .map(|x| x.txn().to_string());
    let recovered = t.recovered.first().cloned();
    for txn in std::mem::take(&mut t.open) {
        txn.commit()?;
    }
    for part in parts {
        part.after_commit(cx.registry)?;
    }
    Ok(Applied {
        prefix,
        changes,
        txn: txn_id.filter(|_| changes > 0),
        recovered,
    })
}

/// `undo` as a plan part: every change made for the prefix reversed, newest first, inside the
/// same transaction path as any other change. What it did is read with [`Undo::outcome`].
#[derive(Debug, Default)]
pub struct Undo {
    outcome: std::cell::RefCell<UndoOutcome>,
}

impl Undo {
    pub fn outcome(&self) -> UndoOutcome {
        self.outcome.borrow().clone()
    }
}

impl Changes for Undo {
    fn apply(&self, t: &mut Txns<'_>) -> Result<(), TxnError> {
        *self.outcome.borrow_mut() = t.undo()?;
        Ok(())
    }

    fn after_commit(&self, registry: Option<&dyn RegistryWrite>) -> Result<(), TxnError> {
        let registry_restored = self
            .outcome
            .borrow()
            .restored
            .iter()
            .any(|p| p.starts_with("HK"));
        if let (true, Some(r)) = (registry_restored, registry) {
            r.broadcast_environment_change();
        }
        Ok(())
    }
}
