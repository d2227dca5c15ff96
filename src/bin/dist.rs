//! Release helpers for `scripts/release.sh`:
//!
//! `dist manifests --version V --sums SHA256SUMS --out DIR`: the winget manifest set and the Scoop
//! manifest for that release into DIR (`winget/` and `scoop/`).
//! `dist notes --version V [--changelog CHANGELOG.md]`: the version's release notes on stdout.
//! `dist sbom --version V --target TRIPLE [--lock Cargo.lock] [--tree FILE] [--serial-number URN]`:
//! the CycloneDX SBOM of the exe for that target on stdout, from `cargo tree` (run here unless
//! `--tree` gives its output) and `Cargo.lock`; the timestamp is `SOURCE_DATE_EPOCH` when set.
//! `dist pin --version V --sums SHA256SUMS [--checksums FILE]`: add the release's zips to the
//! GitHub Action's `checksums.txt` (default `.github/actions/condafix/checksums.txt`).
//! `--target TRIPLE:WINGET_ARCH:SCOOP_ARCH` (repeatable) replaces the release targets (a
//! rehearsal with the GNU build).

use std::path::PathBuf;

use condafix_suite::dist;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// `cargo tree`'s graph of the release exe for `target` (see [`dist::sbom::cargo_tree_args`]).
fn cargo_tree(target: &str) -> Result<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(&cargo)
        .args(dist::sbom::cargo_tree_args(target))
        .output()
        .map_err(|e| format!("cannot run {cargo} tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cargo} tree failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| "cargo tree printed non-UTF-8".to_string())
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(version) = arg(&args, "--version") else {
        eprintln!("dist: --version is required");
        return 2.into();
    };
    let result = match args.first().map(String::as_str) {
        Some("manifests") => (|| {
            let sums_path = arg(&args, "--sums").ok_or("--sums is required")?;
            let out = PathBuf::from(arg(&args, "--out").ok_or("--out is required")?);
            let sums =
                dist::parse_sums(&fs_err::read_to_string(&sums_path).map_err(|e| e.to_string())?)?;
            let given: Vec<Vec<String>> = args
                .iter()
                .enumerate()
                .filter(|(_, a)| *a == "--target")
                .filter_map(|(i, _)| args.get(i + 1))
                .map(|t| t.split(':').map(str::to_string).collect())
                .collect();
            let targets: Vec<dist::Target<'_>> = if given.is_empty() {
                dist::TARGETS.to_vec()
            } else {
                given
                    .iter()
                    .map(|p| match p.as_slice() {
                        [t, w, s] => Ok((t.as_str(), w.as_str(), s.as_str())),
                        _ => Err("--target wants TRIPLE:WINGET_ARCH:SCOOP_ARCH".to_string()),
                    })
                    .collect::<Result<_, _>>()?
            };
            let winget = out.join("winget").join(&version);
            fs_err::create_dir_all(&winget).map_err(|e| e.to_string())?;
            for (name, text) in dist::winget_manifests_for(&version, &sums, &targets)? {
                fs_err::write(winget.join(name), text).map_err(|e| e.to_string())?;
            }
            let scoop = out.join("scoop");
            fs_err::create_dir_all(&scoop).map_err(|e| e.to_string())?;
            fs_err::write(
                scoop.join("condafix.json"),
                dist::scoop_manifest_for(&version, &sums, &targets)?,
            )
            .map_err(|e| e.to_string())?;
            Ok::<(), String>(())
        })(),
        Some("notes") => (|| {
            let changelog = arg(&args, "--changelog").unwrap_or_else(|| "CHANGELOG.md".into());
            let text = fs_err::read_to_string(&changelog).map_err(|e| e.to_string())?;
            let notes = dist::changelog_notes(&text, &version)
                .ok_or_else(|| format!("{changelog} has no section for {version}"))?;
            println!("{notes}");
            Ok(())
        })(),
        Some("sbom") => (|| {
            let target = arg(&args, "--target").ok_or("--target is required")?;
            let lock = arg(&args, "--lock").unwrap_or_else(|| "Cargo.lock".into());
            let lock = fs_err::read_to_string(&lock).map_err(|e| e.to_string())?;
            let tree = match arg(&args, "--tree") {
                Some(f) => fs_err::read_to_string(&f).map_err(|e| e.to_string())?,
                None => cargo_tree(&target)?,
            };
            let timestamp = match std::env::var("SOURCE_DATE_EPOCH") {
                Ok(s) => s
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("SOURCE_DATE_EPOCH={s:?} is not a Unix time"))?,
                Err(_) => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_err(|e| e.to_string())?
                    .as_secs(),
            };
            let meta = dist::sbom::Meta {
                version: version.clone(),
                target,
                timestamp: dist::sbom::rfc3339(timestamp),
                serial_number: arg(&args, "--serial-number")
                    .unwrap_or_else(dist::sbom::random_serial_number),
            };
            print!("{}", dist::sbom_for_target(&tree, &lock, &meta)?);
            Ok(())
        })(),
        Some("pin") => (|| {
            let sums_path = arg(&args, "--sums").ok_or("--sums is required")?;
            let file = arg(&args, "--checksums")
                .unwrap_or_else(|| ".github/actions/condafix/checksums.txt".into());
            let sums =
                dist::parse_sums(&fs_err::read_to_string(&sums_path).map_err(|e| e.to_string())?)?;
            let text = fs_err::read_to_string(&file).map_err(|e| e.to_string())?;
            let (text, changed) = dist::pin_checksums(&text, &version, &sums)?;
            if changed {
                fs_err::write(&file, text).map_err(|e| e.to_string())?;
                eprintln!("dist: pinned {version} in {file}");
            } else {
                eprintln!("dist: {file} already pins {version}");
            }
            Ok(())
        })(),
        _ => Err("usage: dist manifests|notes|sbom|pin --version V ...".to_string()),
    };
    match result {
        Ok(()) => 0.into(),
        Err(e) => {
            eprintln!("dist: {e}");
            1.into()
        }
    }
}
