use condafix_prefix::TxnCommand;
use condafix_txn::{Undo, UndoOutcome};
use serde::Serialize;

use crate::cli::UndoArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum UndoResult {
    Undone,
    NothingToUndo,
    /// Not undone: the prefix's store could not be held or its state was refused (`why`).
    Refused,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct PrefixUndo {
    prefix: String,
    result: UndoResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    why: Option<String>,
    /// Files and registry values changed by this undo.
    changes: usize,
    #[serde(flatten)]
    outcome: UndoOutcome,
}

/// `undo --json`.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct UndoBody<'a> {
    changed: bool,
    prefixes: &'a [PrefixUndo],
}

pub fn run(args: &UndoArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.quiet || args.json);
    let machine = Machine::new();
    machine.check_given(&args.target.prefixes)?;
    let faults = crate::faults();
    let targets = machine.targets(&args.target)?;
    let held = machine.hold_all(
        &targets,
        TxnCommand::Undo,
        args.write.timeout(),
        false,
        false,
        &faults,
    )?;
    printer.info(&crate::render::held(&held));
    let discovery = if machine.all_users_run() && targets.is_empty() {
        condafix_detect::discover::Discovery::default()
    } else {
        condafix_detect::discover::discover(&machine.host(), &targets)
    };
    let several = discovery.prefixes.len() > 1;
    let mut results = Vec::new();
    for d in &discovery.prefixes {
        let undo = Undo::default();
        // Also finishes an interrupted run, if one was left.
        let applied = match machine.apply(&held, &d.path, TxnCommand::Undo, &[&undo], &faults) {
            Ok(a) => a,
            // One prefix that cannot be undone does not stop the others.
            Err(e) if several => {
                results.push(PrefixUndo {
                    prefix: d.prefix.clone(),
                    changes: 0,
                    result: UndoResult::Refused,
                    why: Some(e.to_string()),
                    outcome: UndoOutcome::default(),
                });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let outcome = undo.outcome();
        let nothing = outcome == UndoOutcome::default();
        results.push(PrefixUndo {
            prefix: d.prefix.clone(),
            changes: applied.changes,
            result: if nothing {
                UndoResult::NothingToUndo
            } else {
                UndoResult::Undone
            },
            why: None,
            outcome,
        });
    }
    let left_alone = results.iter().any(|r| {
        !r.outcome.left_alone.is_empty()
            || !r.outcome.backup_missing.is_empty()
            || r.result == UndoResult::Refused
    });
    if args.json {
        let changed = results.iter().any(|r| r.result == UndoResult::Undone);
        crate::output::print(
            &printer,
            UndoBody {
                changed,
                prefixes: &results,
            },
        )?;
    } else {
        printer.info(&render(&results));
    }
    Ok(if left_alone {
        ExitStatus::NeedsFix
    } else {
        ExitStatus::Healthy
    })
}

fn render(results: &[PrefixUndo]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if results.is_empty() {
        out.push_str("No conda installation found: nothing to undo.\n");
    }
    for r in results {
        let _ = writeln!(out, "{}", r.prefix);
        if r.result == UndoResult::Refused {
            let _ = writeln!(
                out,
                "  NOT undone: {}",
                r.why.as_deref().unwrap_or("refused")
            );
            continue;
        }
        if r.result == UndoResult::NothingToUndo {
            let _ = writeln!(
                out,
                "  nothing to undo (condafix has not changed this prefix)"
            );
            continue;
        }
        for p in &r.outcome.restored {
            let _ = writeln!(out, "  restored   {}", p.replace('/', "\\"));
        }
        for p in &r.outcome.kept {
            let _ = writeln!(
                out,
                "  kept       {} (adopted unchanged; no longer in the receipt)",
                p.replace('/', "\\")
            );
        }
        for p in &r.outcome.removed {
            let _ = writeln!(
                out,
                "  removed    {} (condafix had created it)",
                p.replace('/', "\\")
            );
        }
        for p in &r.outcome.left_alone {
            let _ = writeln!(
                out,
                "  left alone {} (changed by someone else since condafix wrote it)",
                p.replace('/', "\\")
            );
        }
        for p in &r.outcome.backup_missing {
            let _ = writeln!(
                out,
                "  NOT restored {} (its backup in condafix's state folder is missing or damaged)",
                p.replace('/', "\\")
            );
        }
    }
    out
}
