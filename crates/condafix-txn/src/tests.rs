//! The transaction, attacked and exercised through its stores.

use std::path::{Path, PathBuf};

use condafix_prefix::registry::{FakeRegistry, Hive, RegValue, Registry, RegistryWrite};
use condafix_prefix::{Sha256, TxnCommand, STATE_DIR};

use crate::journal::{check_op, Checks, JournalOp, OpKind, OpState, RegistryOp};
use crate::*;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if !p.ends_with(STATE_DIR) {
                    stack.push(p);
                }
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    fs_err::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn t(rel: &str) -> Target {
    Target::inside(rel).unwrap()
}

fn place(root: &Path, elevated: bool) -> Placement {
    Placement {
        machine_state: root.join("machine-state"),
        elevated,
        dry_run: false,
    }
}

fn prefix_store(p: &Path) -> Store {
    Store::for_prefix(p, &place(p.parent().unwrap(), false)).unwrap()
}

fn cx<'a>(faults: &'a Faults, registry: Option<&'a dyn RegistryWrite>) -> Context<'a> {
    Context { faults, registry }
}

fn new_prefix() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("prefix");
    fs_err::create_dir_all(&p).unwrap();
    (dir, p)
}

#[test]
fn undo_restores_exact_bytes_and_undo_of_undo_is_a_no_op() {
    let (_d, p) = new_prefix();
    fs_err::create_dir_all(p.join("DLLs")).unwrap();
    fs_err::write(p.join("DLLs").join("old.dll"), b"foreign").unwrap();
    fs_err::write(p.join("stale.dll"), b"stale").unwrap();
    let before = files(&p);
    let store = prefix_store(&p);
    let faults = Faults::none();
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Stage, cx(&faults, None), None).unwrap();
    tx.write(&t("DLLs/new.dll"), b"verified", "test").unwrap();
    tx.write(&t("DLLs/old.dll"), b"verified2", "test").unwrap();
    tx.remove(&t("stale.dll"), "test").unwrap();
    let r = tx.commit().unwrap();
    assert_eq!(r.entries.len(), 3);
    assert!(r.entries.iter().all(|e| e
        .backup
        .as_deref()
        .is_none_or(|b| b.starts_with("backup/txn-0001/"))));
    assert_ne!(files(&p), before);
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Undo, cx(&faults, None), None).unwrap();
    let out = tx.undo_all(None).unwrap();
    tx.commit().unwrap();
    assert_eq!(out.restored.len(), 2);
    assert_eq!(out.removed, vec!["DLLs/new.dll".to_string()]);
    assert_eq!(files(&p), before);
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Undo, cx(&faults, None), None).unwrap();
    let out = tx.undo_all(None).unwrap();
    assert!(out.restored.is_empty() && out.left_alone.is_empty());
    tx.commit().unwrap();
    assert_eq!(files(&p), before);
}

#[cfg(unix)]
#[test]
fn undo_puts_back_the_mode_of_a_removed_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_d, p) = new_prefix();
    fs_err::write(p.join("secret.ini"), b"token").unwrap();
    fs_err::set_permissions(p.join("secret.ini"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let store = prefix_store(&p);
    let faults = Faults::none();
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Config, cx(&faults, None), None).unwrap();
    tx.write(&t("secret.ini"), b"edited", "test").unwrap();
    tx.commit().unwrap();
    let mode = |f: &Path| fs_err::metadata(f).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&p.join("secret.ini")),
        0o600,
        "a replaced file keeps its mode"
    );
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Config, cx(&faults, None), None).unwrap();
    tx.remove(&t("secret.ini"), "test").unwrap();
    tx.commit().unwrap();
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Undo, cx(&faults, None), None).unwrap();
    tx.undo_all(None).unwrap();
    tx.commit().unwrap();
    assert_eq!(fs_err::read(p.join("secret.ini")).unwrap(), b"token");
    assert_eq!(
        mode(&p.join("secret.ini")),
        0o600,
        "undo restores the mode too"
    );
    // Backups are owner-only.
    assert_eq!(mode(&p.join(STATE_DIR)), 0o700);
}

#[test]
fn a_file_changed_by_someone_else_is_left_alone_by_undo() {
    let (_d, p) = new_prefix();
    let store = prefix_store(&p);
    let faults = Faults::none();
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Stage, cx(&faults, None), None).unwrap();
    tx.write(&t("DLLs/a.dll"), b"ours", "test").unwrap();
    tx.commit().unwrap();
    fs_err::write(p.join("DLLs").join("a.dll"), b"theirs").unwrap();
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Undo, cx(&faults, None), None).unwrap();
    let out = tx.undo_all(None).unwrap();
    tx.commit().unwrap();
    assert_eq!(out.left_alone, vec!["DLLs/a.dll".to_string()]);
    assert_eq!(
        fs_err::read(p.join("DLLs").join("a.dll")).unwrap(),
        b"theirs"
    );
}

#[test]
fn dropping_an_uncommitted_transaction_rolls_back() {
    let (_d, p) = new_prefix();
    fs_err::write(p.join("x.dll"), b"original").unwrap();
    let store = prefix_store(&p);
    let faults = Faults::none();
    {
        let (mut tx, _) =
            Transaction::begin(&store, TxnCommand::Stage, cx(&faults, None), None).unwrap();
        tx.write(&t("x.dll"), b"new", "test").unwrap();
        tx.write(&t("y.dll"), b"new", "test").unwrap();
    }
    assert_eq!(fs_err::read(p.join("x.dll")).unwrap(), b"original");
    assert!(!p.join("y.dll").exists());
    assert!(!p.join(STATE_DIR).join("journal.json").exists());
    assert!(!p.join(STATE_DIR).join("receipt.json").exists());
}

fn user_store(home: &Path, allowed: &[PathBuf], registry: RegistryScope) -> Store {
    Store::for_user(
        "me",
        condafix_actor::Identity::Process,
        home,
        cfg!(windows),
        FileScope {
            allowed: OutsideFiles::new(allowed.iter().cloned()),
            roots: vec![home.to_path_buf()],
            registry,
        },
    )
    .unwrap()
}

#[test]
fn registry_values_are_undone_with_their_exact_type_through_the_users_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = FakeRegistry::default();
    reg.set(
        Hive::CurrentUser,
        "Environment",
        "Path",
        RegValue::ExpandSz("%USERPROFILE%\\bin".into()),
    );
    let store = user_store(dir.path(), &[], RegistryScope::CurrentUser);
    let faults = Faults::none();
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Config, cx(&faults, Some(&reg)), None).unwrap();
    tx.set_registry(
        Hive::CurrentUser,
        "Environment",
        "Path",
        Some(RegValue::ExpandSz("C:\\p;%USERPROFILE%\\bin".into())),
        "test",
    )
    .unwrap();
    tx.set_registry(
        Hive::CurrentUser,
        "Environment",
        "SSL_CERT_FILE",
        None,
        "test",
    )
    .unwrap();
    tx.commit().unwrap();
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Undo, cx(&faults, Some(&reg)), None).unwrap();
    let out = tx.undo_all(None).unwrap();
    tx.commit().unwrap();
    assert_eq!(out.restored.len(), 1);
    assert_eq!(
        reg.value(Hive::CurrentUser, "Environment", "Path").unwrap(),
        Some(RegValue::ExpandSz("%USERPROFILE%\\bin".into()))
    );
}

/// Two prefixes put their folders on the same user's Path, one after the other (the first
/// prefix may be gone by then): each prefix's undo takes back its own change, in either order.
#[test]
fn each_prefixs_change_of_a_shared_value_is_undone_by_that_prefixs_undo() {
    let path = |v: &str| Some(RegValue::ExpandSz(v.into()));
    let run =
        |store: &Store, reg: &FakeRegistry, prefix: &str, cmd: TxnCommand, value: Option<&str>| {
            let faults = Faults::none();
            let (mut tx, _) =
                Transaction::begin(store, cmd, cx(&faults, Some(reg)), Some(prefix.into()))
                    .unwrap();
            let out = match value {
                Some(v) => {
                    tx.set_registry(Hive::CurrentUser, "Environment", "Path", path(v), "t")
                        .unwrap();
                    UndoOutcome::default()
                }
                None => tx.undo_all(Some(prefix)).unwrap(),
            };
            tx.commit().unwrap();
            out
        };
    let now = |reg: &FakeRegistry| reg.value(Hive::CurrentUser, "Environment", "Path").unwrap();
    for newest_first in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = FakeRegistry::default();
        reg.set(
            Hive::CurrentUser,
            "Environment",
            "Path",
            RegValue::ExpandSz("%X%;C:\\t".into()),
        );
        let store = user_store(dir.path(), &[], RegistryScope::CurrentUser);
        run(
            &store,
            &reg,
            "C:\\A",
            TxnCommand::Config,
            Some("C:\\A;%X%;C:\\t"),
        );
        // The same prefix again (another case of its name): one entry, still its own.
        run(
            &store,
            &reg,
            "c:\\a",
            TxnCommand::Config,
            Some("C:\\A;C:\\A\\bin;%X%;C:\\t"),
        );
        run(
            &store,
            &reg,
            "C:\\B",
            TxnCommand::Config,
            Some("C:\\B;C:\\A;C:\\A\\bin;%X%;C:\\t"),
        );
        if newest_first {
            let out = run(&store, &reg, "C:\\B", TxnCommand::Undo, None);
            assert_eq!(out.restored.len(), 1, "{out:?}");
            assert_eq!(now(&reg), path("C:\\A;C:\\A\\bin;%X%;C:\\t"));
            let out = run(&store, &reg, "C:\\A", TxnCommand::Undo, None);
            assert_eq!(out.restored.len(), 1, "{out:?}");
        } else {
            // A's change is under B's: left alone now, and B's undo then restores the original.
            let out = run(&store, &reg, "C:\\A", TxnCommand::Undo, None);
            assert_eq!(out.left_alone.len(), 1, "{out:?}");
            assert_eq!(now(&reg), path("C:\\B;C:\\A;C:\\A\\bin;%X%;C:\\t"));
            let out = run(&store, &reg, "C:\\B", TxnCommand::Undo, None);
            assert_eq!(out.restored.len(), 1, "{out:?}");
        }
        assert_eq!(now(&reg), path("%X%;C:\\t"), "newest first: {newest_first}");
        assert!(crate::journal::load_receipt(&store)
            .unwrap()
            .receipt
            .registry
            .is_empty());
    }
}

/// The same for a file outside any prefix (the user's pip config): with an original and
/// without one, in either order of undo, each prefix takes back its own change and the state
/// folder keeps no backup once everything is undone.
#[test]
fn each_prefixs_change_of_a_shared_file_is_undone_by_that_prefixs_undo() {
    for original in [Some(&b"[global]\nindex-url = x\n"[..]), None] {
        for newest_first in [true, false] {
            let d = tempfile::tempdir().unwrap();
            let home = d.path().join("home");
            fs_err::create_dir_all(&home).unwrap();
            let conf = home.join("pip.conf");
            if let Some(o) = original {
                fs_err::write(&conf, o).unwrap();
            }
            let store = user_store(
                &home,
                std::slice::from_ref(&conf),
                RegistryScope::CurrentUser,
            );
            let faults = Faults::none();
            let run = |prefix: &str, bytes: Option<&[u8]>| {
                let cmd = if bytes.is_some() {
                    TxnCommand::Config
                } else {
                    TxnCommand::Undo
                };
                let (mut tx, _) =
                    Transaction::begin(&store, cmd, cx(&faults, None), Some(prefix.into()))
                        .unwrap();
                let out = match bytes {
                    Some(b) => {
                        tx.write(&Target::Outside(conf.clone()), b, "t").unwrap();
                        UndoOutcome::default()
                    }
                    None => tx.undo_all(Some(prefix)).unwrap(),
                };
                tx.commit().unwrap();
                out
            };
            run("/a", Some(b"a"));
            run("/A", Some(b"a2"));
            run("/b", Some(b"b"));
            let r = crate::journal::load_receipt(&store).unwrap().receipt;
            assert_eq!(r.entries.len(), 2, "{r:?}");
            if newest_first {
                let out = run("/b", None);
                assert_eq!(out.restored.len(), 1, "{out:?}");
                assert_eq!(fs_err::read(&conf).unwrap(), b"a2");
                let out = run("/a", None);
                assert_eq!(out.restored.len() + out.removed.len(), 1, "{out:?}");
            } else {
                let out = run("/a", None);
                assert_eq!(out.left_alone.len(), 1, "{out:?}");
                assert_eq!(fs_err::read(&conf).unwrap(), b"b");
                let out = run("/b", None);
                assert_eq!(out.restored.len() + out.removed.len(), 1, "{out:?}");
            }
            match original {
                Some(o) => assert_eq!(fs_err::read(&conf).unwrap(), o),
                None => assert!(!conf.exists()),
            }
            assert!(crate::journal::load_receipt(&store)
                .unwrap()
                .receipt
                .entries
                .is_empty());
            let left: Vec<_> = files(&home)
                .into_iter()
                .map(|(p, _)| p)
                .filter(|p| {
                    !p.ends_with("receipt.json") && p != "pip.conf" && !p.ends_with(".lock")
                })
                .collect();
            assert!(
                left.is_empty(),
                "original {:?}, newest first {newest_first}: {left:?}",
                original.is_some()
            );
        }
    }
}

#[test]
fn a_store_changes_only_its_own_environment_and_a_prefix_none() {
    let (_d, p) = new_prefix();
    let reg = FakeRegistry::default();
    let faults = Faults::none();
    let store = prefix_store(&p);
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Config, cx(&faults, Some(&reg)), None).unwrap();
    for (hive, key) in [
        (Hive::CurrentUser, "Environment"),
        (
            Hive::LocalMachine,
            condafix_prefix::registry::MACHINE_ENVIRONMENT_KEY,
        ),
        (
            Hive::CurrentUser,
            "Software\\Microsoft\\Windows\\CurrentVersion\\Run",
        ),
    ] {
        let err = tx
            .set_registry(hive, key, "Path", Some(RegValue::Sz("x".into())), "test")
            .unwrap_err();
        assert!(matches!(err, TxnError::Refused { .. }), "{err}");
    }
    drop(tx);
    let user = user_store(_d.path(), &[], RegistryScope::CurrentUser);
    let (mut tx, _) =
        Transaction::begin(&user, TxnCommand::Config, cx(&faults, Some(&reg)), None).unwrap();
    assert!(tx
        .set_registry(
            Hive::LocalMachine,
            condafix_prefix::registry::MACHINE_ENVIRONMENT_KEY,
            "Path",
            Some(RegValue::Sz("x".into())),
            "test"
        )
        .is_err());
    assert!(reg.calls.borrow().is_empty());
}

#[test]
fn a_prefix_store_never_writes_outside_the_prefix_and_a_user_store_only_its_files() {
    let (d, p) = new_prefix();
    let faults = Faults::none();
    let store = prefix_store(&p);
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Config, cx(&faults, None), None).unwrap();
    let outside = d.path().join("pip.conf");
    assert!(tx
        .write(&Target::Outside(outside.clone()), b"x", "t")
        .is_err());
    drop(tx);
    assert!(!outside.exists());
    let user = user_store(
        d.path(),
        std::slice::from_ref(&outside),
        RegistryScope::CurrentUser,
    );
    let (mut tx, _) = Transaction::begin(
        &user,
        TxnCommand::Config,
        cx(&faults, None),
        Some("P".into()),
    )
    .unwrap();
    assert!(tx
        .write(&Target::Outside(d.path().join("other.conf")), b"x", "t")
        .is_err());
    assert!(tx.write(&t("DLLs/x.dll"), b"x", "t").is_err());
    tx.write(&Target::Outside(outside.clone()), b"[global]\n", "t")
        .unwrap();
    let r = tx.commit().unwrap();
    assert_eq!(r.entries[0].for_prefix.as_deref(), Some("P"));
    assert_eq!(fs_err::read(&outside).unwrap(), b"[global]\n");
    // Undo for another prefix leaves it; for P removes it.
    let (mut tx, _) = Transaction::begin(&user, TxnCommand::Undo, cx(&faults, None), None).unwrap();
    let out = tx.undo_all(Some("Q")).unwrap();
    tx.commit().unwrap();
    assert!(out.removed.is_empty() && outside.exists());
    let (mut tx, _) = Transaction::begin(&user, TxnCommand::Undo, cx(&faults, None), None).unwrap();
    let out = tx.undo_all(Some("p")).unwrap();
    tx.commit().unwrap();
    assert_eq!(out.removed.len(), 1);
    assert!(!outside.exists());
}

#[test]
fn a_refresh_keeps_the_original_backup_for_undo() {
    let (_d, p) = new_prefix();
    fs_err::write(p.join("x.dll"), b"original").unwrap();
    let store = prefix_store(&p);
    let faults = Faults::none();
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Stage, cx(&faults, None), None).unwrap();
    tx.write(&t("x.dll"), b"v1", "test").unwrap();
    tx.commit().unwrap();
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Stage, cx(&faults, None), None).unwrap();
    tx.write(&t("x.dll"), b"v2", "test").unwrap();
    let r = tx.commit().unwrap();
    assert_eq!(r.entries.len(), 1);
    assert_eq!(r.entries[0].action, Action::Replaced);
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Undo, cx(&faults, None), None).unwrap();
    tx.undo_all(None).unwrap();
    tx.commit().unwrap();
    assert_eq!(fs_err::read(p.join("x.dll")).unwrap(), b"original");
}

#[test]
fn a_write_through_a_streamed_source_must_match_its_hash() {
    let (_d, p) = new_prefix();
    let store = prefix_store(&p);
    let faults = Faults::none();
    let (mut tx, _) =
        Transaction::begin(&store, TxnCommand::Stage, cx(&faults, None), None).unwrap();
    let err = tx
        .write_from(
            &t("DLLs/x.dll"),
            &mut &b"tampered"[..],
            Sha256::of_bytes(b"verified"),
            "test",
        )
        .unwrap_err();
    assert!(matches!(err, TxnError::VerifyAfterWrite { .. }), "{err}");
    drop(tx);
    assert!(!p.join("DLLs").join("x.dll").exists());
    assert!(!p.join(STATE_DIR).join("receipt.json").exists());
}

fn op(path: &str, backup: Option<&str>) -> JournalOp {
    JournalOp {
        path: path.into(),
        kind: OpKind::Write,
        new_sha256: None,
        backup: backup.map(str::to_string),
        existed: true,
        mode: None,
        state: OpState::BackedUp,
        registry: None,
    }
}

#[test]
fn a_prefix_journal_names_nothing_outside_the_prefix_and_no_registry_value() {
    let check = |o: &JournalOp, checks: &Checks| {
        check_op(o, "txn-0001", checks, Path::new("journal.json"), 0).is_ok()
    };
    let prefix = Checks::prefix();
    assert!(check(
        &op("DLLs/x.dll", Some("backup/txn-0001/DLLs/x.dll")),
        &prefix
    ));
    for bad in [
        op("/etc/passwd", None),
        op("../../x", None),
        op("C:\\ProgramData\\pip\\pip.ini", None),
        op("DLLs/x.dll", Some("backup/txn-0001/../../../x")),
        op("DLLs/x.dll", Some("/tmp/x")),
    ] {
        assert!(!check(&bad, &prefix), "{}", bad.path);
    }
    // Even a file on the user's allow-list is refused in a prefix's journal.
    let mut reg = op("HKLM\\x", None);
    reg.kind = OpKind::Registry;
    reg.registry = Some(RegistryOp {
        hive: Hive::LocalMachine,
        key: condafix_prefix::registry::MACHINE_ENVIRONMENT_KEY.into(),
        name: "Path".into(),
        before: None,
        after: Some(RegValue::Sz("x".into())),
    });
    assert!(
        !check(&reg, &prefix),
        "a machine value in a prefix's journal"
    );
    let machine = Checks {
        outside: Some(OutsideFiles::none()),
        registry: RegistryScope::Machine,
    };
    assert!(check(&reg, &machine));
}

#[cfg(target_os = "linux")]
mod as_root {
    use super::*;
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    fn root() -> bool {
        condafix_actor::identity::process_account() == Some(condafix_actor::AccountId::Uid(0))
    }

    #[test]
    fn an_elevated_run_acts_as_the_owner_of_a_users_prefix_and_keeps_a_machine_prefixs_state_apart()
    {
        if !root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        fs_err::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let users = dir.path().join("alice");
        fs_err::create_dir_all(users.join("DLLs")).unwrap();
        for p in [&users, &users.join("DLLs")] {
            std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
        }
        let place = place(dir.path(), true);
        let store = Store::for_prefix(&users, &place).unwrap();
        assert!(store.identity().account().is_some(), "acts as the owner");
        let faults = Faults::none();
        let (mut tx, _) =
            Transaction::begin(&store, TxnCommand::Stage, cx(&faults, None), None).unwrap();
        tx.write(&t("DLLs/x.dll"), b"x", "t").unwrap();
        tx.commit().unwrap();
        let m = fs_err::metadata(users.join("DLLs").join("x.dll")).unwrap();
        assert_eq!(m.uid(), 65534, "made by the owner, not chowned after");
        let state = fs_err::metadata(users.join(STATE_DIR)).unwrap();
        assert_eq!((state.uid(), state.mode() & 0o777), (65534, 0o700));
        // A machine-owned prefix: its state lives in the machine state folder.
        let machine = dir.path().join("opt-prefix");
        fs_err::create_dir_all(&machine).unwrap();
        let store = Store::for_prefix(&machine, &place).unwrap();
        let (mut tx, _) =
            Transaction::begin(&store, TxnCommand::Stage, cx(&faults, None), None).unwrap();
        tx.write(&t("x.dll"), b"x", "t").unwrap();
        tx.commit().unwrap();
        assert!(!machine.join(STATE_DIR).exists());
        let st = store.state_path();
        assert!(
            st.starts_with(&place.machine_state) && st.join("receipt.json").is_file(),
            "{}",
            st.display()
        );
        // A prefix two accounts may change has no store.
        let shared = dir.path().join("shared");
        fs_err::create_dir_all(&shared).unwrap();
        fs_err::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            Store::for_prefix(&shared, &place),
            Err(TxnError::NoIdentity { .. })
        ));
    }
}
