//! `condafix demo`: a broken sample Windows install, built by the same fixture builder the tests
//! use, then detect, post-install (stage + config; the sample's python.exe is a stand-in, so
//! verify is skipped), and detect again. Built with the `demo` feature (on by default; release
//! builds leave it and the fixture builder out).

use condafix_detect::{detect_with, HostInfo, SearchContext};
use condafix_fixtures::scenarios::{self, ScenarioName};
use condafix_prefix::TxnCommand;

use crate::cli::DemoArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;
use crate::render;

/// The sample: a Miniforge whose manual fix went stale after openssl moved to 3.
const SAMPLE: ScenarioName = ScenarioName::Stale11CopiesAfterOpenssl3;

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(false);
    let root = match &args.dir {
        Some(d) => d.clone(),
        None => {
            let d = std::env::temp_dir().join(format!("condafix-demo-{}", std::process::id()));
            fs_err::create_dir_all(&d)?;
            d
        }
    };
    let s = scenarios::build(SAMPLE, &root);
    let prefix = s.prefixes[0].clone();
    // The blog fix, as found on many machines.
    fs_err::write(
        prefix.join("pip.ini"),
        b"[global]\r\ntrusted-host = pypi.org\r\n\tfiles.pythonhosted.org\r\n",
    )?;
    let machine = Machine::new();
    let env = condafix_detect::MapEnv::default();
    let host = HostInfo {
        env: &env,
        registry: machine.registry,
        windows: true,
        unix_system_dirs: Vec::new(),
        etc_dir: root.join("etc"),
    };
    let ctx = SearchContext {
        system_root: Some(s.system_root()),
        path: s.search_path.clone(),
        ..SearchContext::default()
    };
    let detect = || detect_with(&host, std::slice::from_ref(&prefix), &ctx);

    printer.info("== A sample Miniforge install (Python 3.9 before the default-mode patch, OpenSSL 3) with copies of\n== the old 1.1 DLLs in DLLs\\ and `trusted-host` in its pip.ini, as the manual fixes leave it:\n\n");
    printer.info(&render::detect_report(&detect()?));

    printer.info("\n== condafix post-install --replace-foreign --remove-insecure (stage + config; verify is skipped:\n== the sample's python.exe is a stand-in that cannot run):\n\n");
    let before = detect()?;
    let p = &before.prefixes[0];
    let stage = condafix_stage::plan_prefix(
        p,
        &condafix_stage::StageOptions {
            replace_foreign: true,
            ..Default::default()
        },
        None,
    )?;
    let config = condafix_config::plan_config(
        p,
        &before.machine,
        &host.locations(),
        machine.registry,
        &condafix_config::ConfigOptions {
            remove_insecure: true,
            ..Default::default()
        },
    )?;
    printer.info(&render::stage_plans(std::slice::from_ref(&stage), false));
    let faults = condafix_txn::Faults::none();
    let held = machine.hold_all(
        std::slice::from_ref(&prefix),
        TxnCommand::PostInstall,
        condafix_txn::DEFAULT_LOCK_TIMEOUT,
        false,
        false,
        &faults,
    )?;
    let applied = machine.apply(
        &held,
        &prefix,
        TxnCommand::PostInstall,
        &[&stage, &config],
        &faults,
    )?;
    printer.info(&format!(
        "applied {} changes in one transaction (receipt: {})\n",
        applied.changes,
        prefix.join(".condafix").join("receipt.json").display()
    ));

    printer.info("\n== detect again:\n\n");
    let after = detect()?;
    printer.info(&render::detect_report(&after));
    printer.info(&format!(
        "\nThe sample is in {}.\nTry: condafix undo --prefix \"{}\"   then detect it again with\n     condafix detect --prefix \"{}\" --system-root \"{}\" --search-path \"{}\"\n",
        root.display(),
        prefix.display(),
        prefix.display(),
        s.system_root().display(),
        s.search_path.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(";")
    ));
    Ok(if after.compliant(condafix_detect::FailOn::Warning) {
        ExitStatus::Healthy
    } else {
        ExitStatus::NeedsFix
    })
}
