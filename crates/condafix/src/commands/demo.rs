//! `condafix demo`: a broken sample Windows install, built by the same fixture builder the tests
//! use, then detect, post-install (stage + config; the sample's python.exe is a stand-in, so
//! verify is skipped), and detect again.

use condafix_detect::discover::HostInfo;
use condafix_detect::{detect_with, SearchContext};

use crate::cli::DemoArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::render;

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitStatus> {
    let root = match &args.dir {
        Some(d) => d.clone(),
        None => {
            let d = std::env::temp_dir().join(format!("condafix-demo-{}", std::process::id()));
            fs_err::create_dir_all(&d)?;
            d
        }
    };
    let s = condafix_fixtures::scenarios::build("stale_1_1_copies_after_openssl_3", &root);
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
        registry: machine.registry.as_ref(),
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

    eprintln!("== A sample Miniforge install (Python 3.9 before the default-mode patch, OpenSSL 3) with copies of\n== the old 1.1 DLLs in DLLs\\ and `trusted-host` in its pip.ini, as the manual fixes leave it:\n");
    eprint!("{}", render::detect_report(&detect()?));

    eprintln!("\n== condafix post-install --replace-foreign --remove-insecure (stage + config; verify is skipped:\n== the sample's python.exe is a stand-in that cannot run):\n");
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
        &env,
        machine.registry.as_ref(),
        true,
        &condafix_config::ConfigOptions {
            remove_insecure: true,
            ..Default::default()
        },
    )?;
    eprint!(
        "{}",
        render::stage_plans(std::slice::from_ref(&stage), false)
    );
    let faults = condafix_txn::Faults::none();
    let (t, _) = condafix_txn::Transaction::begin(&prefix, "post-install", &faults)?;
    let mut t = t.with_registry(machine.registry.as_ref());
    condafix_stage::apply_into(&stage, &mut t)?;
    condafix_config::apply_config_into(&config, &mut t)?;
    let n = t.changes();
    t.commit()?;
    eprintln!(
        "applied {n} changes in one transaction (receipt: {})",
        prefix.join(".condafix").join("receipt.json").display()
    );

    eprintln!("\n== detect again:\n");
    let after = detect()?;
    eprint!("{}", render::detect_report(&after));
    eprintln!(
        "\nThe sample is in {}.\nTry: condafix undo --prefix \"{}\"   then detect it again with\n     condafix detect --prefix \"{}\" --system-root \"{}\" --search-path \"{}\"",
        root.display(),
        prefix.display(),
        prefix.display(),
        s.system_root().display(),
        s.search_path.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(";")
    );
    Ok(if after.all_healthy() {
        ExitStatus::Healthy
    } else {
        ExitStatus::NeedsFix
    })
}
