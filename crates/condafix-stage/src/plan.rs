//! From a detection report to a plan (data: printed by `--dry-run`, the only input of apply),
//! and its application inside one transaction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use condafix_detect::{
    CopyStatus, DllOutcome, DllReport, Location, LooseCopy, PrefixKind, PrefixReport, PythonInfo,
};
use condafix_prefix::guard::{no_links_below, RelPath};
use condafix_prefix::safe_read::{self, ReadError, MAX_DLL_BYTES};
use condafix_prefix::{Layout, Sha256};
use condafix_txn::{Changes, Place, Receipt, Target, TxnError, Txns};
use serde::Serialize;

use crate::source::{Payload, SourceInfo, SourceSearch, VerifiedAgainst};
use crate::StageError;
use condafix_prefix::archive::{ArchiveError, Bundle};

#[derive(Clone, Default)]
pub struct StageOptions<'a> {
    /// Told before an archive is read (a progress display); not part of the plan.
    pub on_archive: Option<&'a dyn Fn(&Path)>,
    /// An offline bundle (zip with SHA256SUMS), e.g. on an IT share.
    pub from_bundle: Option<PathBuf>,
    /// Stage bytes that do not match conda's record (says what it risks).
    pub allow_unverified: bool,
    /// Back up and replace (or remove) copies condafix did not write.
    pub replace_foreign: bool,
}

/// One change, or one thing deliberately left alone.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum PlannedAction {
    /// Put a verified copy where there is none.
    Place {
        dll: String,
        #[serde(serialize_with = "condafix_prefix::serialize_native_rel")]
        dest: String,
        source: SourceInfo,
        reason: String,
    },
    /// Replace a copy: condafix's own after an openssl update, or a foreign one with
    /// `--replace-foreign` (backed up either way).
    Replace {
        dll: String,
        #[serde(serialize_with = "condafix_prefix::serialize_native_rel")]
        dest: String,
        source: SourceInfo,
        current_sha256: Option<Sha256>,
        owned_by_condafix: bool,
        reason: String,
    },
    /// Remove a copy no module needs (backed up).
    Remove {
        #[serde(serialize_with = "condafix_prefix::serialize_native_rel")]
        dest: String,
        current_sha256: Option<Sha256>,
        owned_by_condafix: bool,
        reason: String,
    },
    /// An untracked copy with exactly conda's bytes, where staging would have put one: taken
    /// into the receipt (no byte changes), so a later openssl update refreshes it and `undo`
    /// leaves it as it was.
    Adopt {
        dll: String,
        #[serde(serialize_with = "condafix_prefix::serialize_native_rel")]
        dest: String,
        current_sha256: Option<Sha256>,
        reason: String,
    },
    /// A copy condafix did not write: reported, left alone.
    KeepForeign {
        #[serde(serialize_with = "condafix_prefix::serialize_native_rel")]
        dest: String,
        current_sha256: Option<Sha256>,
        reason: String,
    },
}

impl PlannedAction {
    pub fn changes_something(&self) -> bool {
        !matches!(self, PlannedAction::KeepForeign { .. })
    }

    /// The action's name, as in the JSON (`place`, `replace`, `remove`, `keep-foreign`).
    pub fn label(&self) -> &'static str {
        match self {
            PlannedAction::Place { .. } => "place",
            PlannedAction::Replace { .. } => "replace",
            PlannedAction::Remove { .. } => "remove",
            PlannedAction::Adopt { .. } => "adopt",
            PlannedAction::KeepForeign { .. } => "keep-foreign",
        }
    }

    /// The prefix-relative path it is about (`/`-separated).
    pub fn dest(&self) -> &str {
        match self {
            PlannedAction::Place { dest, .. }
            | PlannedAction::Replace { dest, .. }
            | PlannedAction::Remove { dest, .. }
            | PlannedAction::Adopt { dest, .. }
            | PlannedAction::KeepForeign { dest, .. } => dest,
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Plan {
    pub prefix: String,
    pub actions: Vec<PlannedAction>,
    /// Why nothing (more) is needed, in words.
    pub notes: Vec<String>,
    /// Why staging cannot proceed for this prefix (nothing is changed then).
    pub blocked: Vec<String>,
    #[serde(skip)]
    prefix_path: PathBuf,
    #[serde(skip)]
    payloads: BTreeMap<String, Payload>,
}

impl Plan {
    pub fn changes(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| a.changes_something())
            .count()
    }
}

/// Plan staging for one inspected prefix: what each DLL of the closure needs, then what to do
/// with the loose copies.
pub fn plan_prefix(
    report: &PrefixReport,
    opts: &StageOptions,
    bundle: Option<&mut Bundle>,
) -> Result<Plan, StageError> {
    let prefix = PathBuf::from(&report.prefix);
    let mut plan = Plan {
        prefix: report.prefix.clone(),
        actions: Vec::new(),
        notes: Vec::new(),
        blocked: Vec::new(),
        prefix_path: prefix.clone(),
        payloads: BTreeMap::new(),
    };
    let Some(python) = stageable(report, &mut plan) else {
        return Ok(plan);
    };
    let receipt =
        Receipt::load_for_prefix(&prefix, &condafix_actor::state::process_machine_state_dir())?;
    let base = match report.kind {
        PrefixKind::Base | PrefixKind::Venv => prefix.clone(),
        PrefixKind::Env => report
            .base
            .as_ref()
            .map(PathBuf::from)
            .unwrap_or_else(|| prefix.clone()),
    };
    let mut search = SourceSearch {
        on_archive: opts.on_archive,
        prefix: &prefix,
        base: &base,
        bundle,
        allow_unverified: opts.allow_unverified,
    };
    let mut said_by_itself = false;
    for dll in &report.dlls {
        let ctx = DllContext {
            prefix: &prefix,
            receipt: &receipt,
            python,
            opts,
        };
        plan_dll(&mut plan, &ctx, &mut search, dll, &mut said_by_itself)?;
    }
    for copy in &report.loose_copies {
        plan_loose_copy(&mut plan, &prefix, copy, opts)?;
    }
    if plan.changes() == 0 && plan.blocked.is_empty() && plan.notes.is_empty() {
        plan.notes.push("nothing to stage".into());
    }
    Ok(plan)
}

/// The Python whose DLLs can be staged, or `None` with the reason noted or the block recorded
/// (a Unix layout, no Python, no `_ssl.pyd`, a venv: its DLLs are its base's).
fn stageable<'r>(report: &'r PrefixReport, plan: &mut Plan) -> Option<&'r PythonInfo> {
    if report.layout != Layout::Windows {
        plan.notes
            .push("a Unix-layout prefix: there are no DLLs to stage".into());
        return None;
    }
    let Some(python) = &report.python else {
        plan.notes
            .push("no Python in this prefix: nothing to stage".into());
        return None;
    };
    if report.modules.first().is_some_and(|m| !m.present) {
        plan.blocked.push("DLLs\\_ssl.pyd is missing: staging DLLs cannot help; reinstall Python (`conda install --offline --force-reinstall python`)".into());
        return None;
    }
    if let Some(venv) = &python.venv {
        // The DLLs a venv loads are its base's: condafix changes the install it was pointed
        // at, never another one.
        if report.prediction.unactivated.result.is_fine() {
            plan.notes
                .push("a venv whose base interpreter loads ssl: nothing to stage".into());
        } else {
            plan.blocked.push(format!(
                "a venv: the DLLs it loads are those of its base interpreter in {}; stage the base instead: `condafix stage --prefix \"{}\"`",
                venv.home, venv.home
            ));
        }
        return None;
    }
    Some(python)
}

/// What planning one DLL needs to know about the prefix.
struct DllContext<'a> {
    prefix: &'a Path,
    receipt: &'a Receipt,
    python: &'a PythonInfo,
    opts: &'a StageOptions<'a>,
}

/// Plan one DLL of the closure: nothing when it loads, else the verified copy beside
/// `_ssl.pyd` (placed, replacing condafix's stale one, or replacing a foreign one when asked).
fn plan_dll(
    plan: &mut Plan,
    ctx: &DllContext<'_>,
    search: &mut SourceSearch<'_>,
    dll: &DllReport,
    said_by_itself: &mut bool,
) -> Result<(), StageError> {
    let rel = format!("DLLs/{}", dll.name);
    let Ok(dest_rel) = RelPath::parse(&rel) else {
        plan.blocked.push(format!(
            "{rel}: the DLL name is not a plain file name; refused"
        ));
        return Ok(());
    };
    let current = match current_file(ctx.prefix, &dest_rel)? {
        Ok(c) => c,
        Err(why) => {
            plan.actions.push(PlannedAction::KeepForeign {
                dest: rel,
                current_sha256: None,
                reason: why,
            });
            return Ok(());
        }
    };
    let owned = ctx.receipt.owns(&rel, current);
    let winner = dll.unactivated.winner();
    // A copy the python record itself lists is python's: never replaced.
    let python_altered = dll
        .unactivated
        .candidates
        .iter()
        .chain(&dll.activated.candidates)
        .find(|c| c.location == Location::ModuleDir && c.status == CopyStatus::VendoredAltered);
    if let Some(c) = python_altered {
        plan.blocked.push(format!(
            "{}: the python package installed this copy and its bytes are no longer the recorded ones; condafix never replaces python's files: reinstall python (`conda install --offline --force-reinstall python`)",
            c.path
        ));
        return Ok(());
    }
    if dll.unactivated.outcome == DllOutcome::Loads {
        note_loads(plan, ctx.python, dll, &rel, owned, said_by_itself);
        return Ok(());
    }
    let found = match search.find(dll) {
        Ok(f) => f,
        // A hostile archive refuses the whole run, not just this DLL.
        Err(e @ StageError::Archive(ArchiveError::Hostile { .. })) => return Err(e),
        Err(e) => {
            plan.blocked.push(e.to_string());
            return Ok(());
        }
    };
    let reason = match (dll.unactivated.outcome, winner) {
        (DllOutcome::NotFound, _) => "not found without activation".to_string(),
        (_, Some(w)) if w.status == CopyStatus::WrongMachine => {
            format!("the loader takes {} (built for another CPU)", w.path)
        }
        (_, Some(w)) => format!(
            "the loader takes {} ({}) before conda's copy",
            w.path, w.location
        ),
        _ => "the loader gets no usable copy".to_string(),
    };
    if found.info.verified_against == VerifiedAgainst::Unverified {
        plan.notes.push(format!(
            "WARNING: {} is staged WITHOUT verification (--allow-unverified): these bytes are not conda's; if they were tampered with, every HTTPS connection of this Python depends on them",
            dll.name
        ));
    }
    if current == Some(found.info.sha256) {
        plan.notes.push(format!(
            "{}: already holds the verified bytes",
            rel.replace('/', "\\")
        ));
        return Ok(());
    }
    let payload = found.payload.clone();
    let action = write_action(dll, &rel, found.info, current, owned, ctx.opts, reason);
    if action.changes_something() {
        plan.payloads.insert(rel, payload);
    }
    plan.actions.push(action);
    Ok(())
}

/// The note for a DLL that already loads without activation.
fn note_loads(
    plan: &mut Plan,
    python: &PythonInfo,
    dll: &DllReport,
    rel: &str,
    owned: bool,
    said_by_itself: &mut bool,
) {
    let winner = dll.unactivated.winner();
    if winner.is_some_and(|w| w.location == Location::ModuleDir) && owned {
        plan.notes.push(format!(
            "{}: condafix's verified copy is in place",
            rel.replace('/', "\\")
        ));
    } else if python.loader.finds_library_bin_by_itself() {
        if !*said_by_itself {
            plan.notes.push(format!(
                "nothing to stage: this build finds Library\\bin by itself ({})",
                python.loader.describe()
            ));
            *said_by_itself = true;
        }
    } else {
        let at = winner.map(|w| w.path.clone()).unwrap_or_default();
        plan.notes.push(format!(
            "{}: already loads without activation (from {at})",
            dll.name
        ));
    }
}

/// Place the verified copy where there is none; replace condafix's own stale copy; replace a
/// foreign one only with `--replace-foreign` (backed up), else keep it and say so.
fn write_action(
    dll: &DllReport,
    rel: &str,
    source: SourceInfo,
    current: Option<Sha256>,
    owned: bool,
    opts: &StageOptions<'_>,
    reason: String,
) -> PlannedAction {
    let dest = rel.to_string();
    match current {
        None => PlannedAction::Place {
            dll: dll.name.clone(),
            dest,
            source,
            reason,
        },
        Some(c) if owned => PlannedAction::Replace {
            dll: dll.name.clone(),
            dest,
            source,
            current_sha256: Some(c),
            owned_by_condafix: true,
            reason: format!("{reason}; condafix's earlier copy is stale (openssl changed)"),
        },
        Some(c) if opts.replace_foreign => PlannedAction::Replace {
            dll: dll.name.clone(),
            dest,
            source,
            current_sha256: Some(c),
            owned_by_condafix: false,
            reason: format!("{reason}; the copy there was not written by condafix: it is backed up (--replace-foreign)"),
        },
        Some(c) => PlannedAction::KeepForeign {
            dest,
            current_sha256: Some(c),
            reason: format!("{reason}; condafix did not write this copy, so it is kept: pass --replace-foreign to back it up and replace it"),
        },
    }
}

/// A loose copy no module needs (or one in the root that shadows conda's when activated):
/// removed when condafix wrote it or with `--replace-foreign` (backed up), else kept.
fn plan_loose_copy(
    plan: &mut Plan,
    prefix: &Path,
    copy: &LooseCopy,
    opts: &StageOptions<'_>,
) -> Result<(), StageError> {
    let planned = plan
        .actions
        .iter()
        .any(|a| a.dest().eq_ignore_ascii_case(&copy.rel));
    let in_root = !copy.rel.contains('/');
    let shadows = copy.needed && in_root && copy.matches_record != Some(true);
    if planned {
        return Ok(());
    }
    if copy.needed && !shadows {
        // The manual fix done right: conda's exact bytes beside _ssl.pyd. Adopted, not warned
        // about forever.
        let adoptable = !in_root
            && !copy.owned_by_condafix
            && copy.matches_record == Some(true)
            && copy.problem.is_none();
        if adoptable {
            if let Ok(r) = RelPath::parse(&copy.rel) {
                if let Ok(Some(current)) = current_file(prefix, &r)? {
                    plan.actions.push(PlannedAction::Adopt {
                        dll: copy.rel.rsplit('/').next().unwrap_or(&copy.rel).to_string(),
                        dest: copy.rel.clone(),
                        current_sha256: Some(current),
                        reason: "an untracked copy with conda's recorded bytes: taken into the receipt, so an openssl update refreshes it".into(),
                    });
                }
            }
        }
        return Ok(());
    }
    let checked = match RelPath::parse(&copy.rel) {
        Ok(r) => current_file(prefix, &r)?.map(|_| ()),
        Err(why) => Err(why.to_string()),
    };
    let keep = |reason: String| PlannedAction::KeepForeign {
        dest: copy.rel.clone(),
        current_sha256: copy.sha256,
        reason,
    };
    if let Err(why) = checked {
        plan.actions.push(keep(why));
        return Ok(());
    }
    let why = if copy.needed {
        "a copy in the prefix root shadows conda's when activated".to_string()
    } else {
        "no module imports it any more (left over from before an openssl update)".to_string()
    };
    let remove = |owned_by_condafix: bool, reason: String| PlannedAction::Remove {
        dest: copy.rel.clone(),
        current_sha256: copy.sha256,
        owned_by_condafix,
        reason,
    };
    plan.actions.push(if copy.owned_by_condafix {
        remove(true, why)
    } else if opts.replace_foreign {
        remove(false, format!("{why}; backed up (--replace-foreign)"))
    } else {
        keep(format!("{why}; condafix did not write it, so it is kept: pass --replace-foreign to back it up and remove it"))
    });
    Ok(())
}

fn refused(dest: &str, why: impl std::fmt::Display) -> TxnError {
    TxnError::Refused {
        file: PathBuf::from(dest),
        field: "stage destination".into(),
        why: why.to_string(),
    }
}

impl Changes for Plan {
    /// Every write and removal of the plan, through the transaction; the bytes of each DLL are
    /// streamed from their source again and must hash to what was verified when planning. A
    /// blocked plan changes nothing.
    fn apply(&self, t: &mut Txns<'_>) -> Result<(), TxnError> {
        if !self.blocked.is_empty() {
            return Ok(());
        }
        for a in &self.actions {
            match a {
                PlannedAction::Place { dest, source, .. }
                | PlannedAction::Replace { dest, source, .. } => {
                    let target = Target::inside(dest).map_err(|why| refused(dest, why))?;
                    let payload = self
                        .payloads
                        .get(dest)
                        .expect("payload for a planned write");
                    let origin = format!(
                        "{} {}{} (sha256 checked against {})",
                        source.kind.label(),
                        source.path,
                        source
                            .member
                            .as_ref()
                            .map(|m| format!(" :: {m}"))
                            .unwrap_or_default(),
                        source.verified_against
                    );
                    payload
                        .with_reader(|r| {
                            t.write_from(&Place::Prefix, &target, r, source.sha256, &origin)
                        })
                        .map_err(|e| match e {
                            StageError::Txn(e) => e,
                            other => refused(dest, other),
                        })??;
                }
                PlannedAction::Remove { dest, reason, .. } => {
                    let target = Target::inside(dest).map_err(|why| refused(dest, why))?;
                    t.remove(&Place::Prefix, &target, reason)?
                }
                PlannedAction::Adopt { dest, reason, .. } => {
                    let target = Target::inside(dest).map_err(|why| refused(dest, why))?;
                    t.adopt(&Place::Prefix, &target, reason)?
                }
                PlannedAction::KeepForeign { .. } => {}
            }
        }
        Ok(())
    }
}

/// The hash of what is at `rel` now (`Ok(None)`: nothing there). A file too large to back up
/// is not replaced: the reason is returned. A link (at `rel` or on the way) refuses the plan.
fn current_file(
    prefix: &Path,
    rel: &RelPath,
) -> Result<Result<Option<Sha256>, String>, StageError> {
    no_links_below(prefix, rel)?;
    match safe_read::hash(&rel.under(prefix), MAX_DLL_BYTES) {
        Ok((h, _)) => Ok(Ok(Some(h))),
        Err(e) if e.is_not_found() => Ok(Ok(None)),
        Err(ReadError::Link { path }) => Err(condafix_prefix::guard::LinkFound { link: path }.into()),
        Err(ReadError::TooLarge { size, .. }) => Ok(Err(format!(
            "{} is {size} bytes, larger than any DLL: condafix does not back it up or replace it; remove it by hand",
            rel.as_str().replace('/', "\\")
        ))),
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// The prefix a plan is for.
impl Plan {
    pub fn prefix_path(&self) -> &Path {
        &self.prefix_path
    }
}
