use condafix_txn::{Faults, Receipt, Transaction, UndoOutcome};
use serde::Serialize;

use crate::cli::UndoArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;

#[derive(Serialize)]
struct PrefixUndo {
    prefix: String,
    /// `undone`, `nothing-to-undo`.
    result: &'static str,
    #[serde(flatten)]
    outcome: UndoOutcome,
}

pub fn run(args: &UndoArgs) -> anyhow::Result<ExitStatus> {
    let machine = Machine::new();
    let host = machine.host();
    let discovery = condafix_detect::discover::discover(&host, &args.target.prefixes);
    let faults = Faults::from_env();
    let mut results = Vec::new();
    for d in &discovery.prefixes {
        let receipt = Receipt::load(&d.path)?;
        if receipt.entries.is_empty() && receipt.registry.is_empty() {
            // Still finish an interrupted run, if one was left.
            let (t, _) = Transaction::begin(&d.path, "undo", &faults)?;
            t.commit()?;
            results.push(PrefixUndo {
                prefix: d.prefix.clone(),
                result: "nothing-to-undo",
                outcome: UndoOutcome::default(),
            });
            continue;
        }
        let (t, _) = Transaction::begin(&d.path, "undo", &faults)?;
        let mut t = t.with_registry(machine.registry.as_ref());
        let outcome = t.undo_all()?;
        t.commit()?;
        results.push(PrefixUndo {
            prefix: d.prefix.clone(),
            result: "undone",
            outcome,
        });
    }
    if results
        .iter()
        .any(|r| r.outcome.restored.iter().any(|p| p.starts_with("HK")))
    {
        machine.registry.broadcast_environment_change();
    }
    let left_alone = results
        .iter()
        .any(|r| !r.outcome.left_alone.is_empty() || !r.outcome.backup_missing.is_empty());
    if args.json {
        #[derive(Serialize)]
        struct Doc<'a> {
            schema_version: u32,
            changed: bool,
            prefixes: &'a [PrefixUndo],
        }
        let changed = results.iter().any(|r| r.result == "undone");
        println!(
            "{}",
            serde_json::to_string_pretty(&Doc {
                schema_version: 1,
                changed,
                prefixes: &results
            })?
        );
    } else if !args.quiet {
        if results.is_empty() {
            eprintln!("No conda installation found: nothing to undo.");
        }
        for r in &results {
            eprintln!("{}", r.prefix);
            if r.result == "nothing-to-undo" {
                eprintln!("  nothing to undo (condafix has not changed this prefix)");
                continue;
            }
            for p in &r.outcome.restored {
                eprintln!("  restored   {}", p.replace('/', "\\"));
            }
            for p in &r.outcome.left_alone {
                eprintln!(
                    "  left alone {} (changed by someone else since condafix wrote it)",
                    p.replace('/', "\\")
                );
            }
            for p in &r.outcome.backup_missing {
                eprintln!(
                    "  NOT restored {} (its backup in .condafix\\backup is missing or damaged)",
                    p.replace('/', "\\")
                );
            }
        }
    }
    Ok(if left_alone {
        ExitStatus::NeedsFix
    } else {
        ExitStatus::Healthy
    })
}
