//! What a release publishes besides the zips: the winget manifest set and the Scoop manifest
//! (both from the release's `SHA256SUMS`), the release notes (the version's section of
//! `CHANGELOG.md`), a CycloneDX SBOM per target ([`sbom`]), and the pins the GitHub Action's
//! `checksums.txt` gets after a release. `scripts/release.sh` and the release workflow call
//! these through the `dist` binary; the tests check them against the formats' rules.

use std::collections::BTreeMap;

pub mod sbom;

/// The GitHub repository releases are published from (the workspace's `repository`).
pub const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");
/// The winget package identifier.
pub const WINGET_ID: &str = "Condafix.Condafix";
/// The winget manifest schema version the manifests follow.
/// The winget manifest schema version the manifests follow: the newest one the community
/// repository (winget-pkgs) lists as accepted for new submissions.
pub const WINGET_MANIFEST_VERSION: &str = "1.12.0";

/// A release target, with winget's and Scoop's names for its architecture.
pub type Target<'a> = (&'a str, &'a str, &'a str);

/// The release's targets.
pub const TARGETS: [Target<'static>; 2] = [
    ("x86_64-pc-windows-msvc", "x64", "64bit"),
    ("aarch64-pc-windows-msvc", "arm64", "arm64"),
];

/// The zip of a target: `condafix-<version>-<target>.zip`.
pub fn zip_name(version: &str, target: &str) -> String {
    format!("condafix-{version}-{target}.zip")
}

/// Where a release asset is downloaded from.
pub fn asset_url(version: &str, name: &str) -> String {
    format!("{REPOSITORY}/releases/download/v{version}/{name}")
}

/// `SHA256SUMS` (`<hex>  <name>` lines, as sha256sum writes them) by file name. A line that is
/// not a 64-hex digest and a name is an error.
pub fn parse_sums(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (hash, name) = line
            .split_once("  ")
            .or_else(|| line.split_once(" *"))
            .ok_or_else(|| format!("SHA256SUMS line {}: not `<sha256>  <name>`", i + 1))?;
        let hash = hash.trim().to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "SHA256SUMS line {}: {hash:?} is not a SHA-256",
                i + 1
            ));
        }
        if name.contains(['/', '\\']) || name.contains("..") {
            return Err(format!(
                "SHA256SUMS line {}: {name:?} is not a file name",
                i + 1
            ));
        }
        out.insert(name.trim().to_string(), hash);
    }
    Ok(out)
}

fn hash_of<'a>(sums: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, String> {
    sums.get(name)
        .map(String::as_str)
        .ok_or_else(|| format!("SHA256SUMS has no {name}"))
}

/// The winget manifest set (version, installer, defaultLocale): file name and YAML text.
pub fn winget_manifests(
    version: &str,
    sums: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, String> {
    winget_manifests_for(version, sums, &TARGETS)
}

/// [`winget_manifests`] for other targets (a rehearsal with the GNU build).
pub fn winget_manifests_for(
    version: &str,
    sums: &BTreeMap<String, String>,
    targets: &[Target<'_>],
) -> Result<Vec<(String, String)>, String> {
    let mv = WINGET_MANIFEST_VERSION;
    let head = |kind: &str| {
        format!(
            "# yaml-language-server: $schema=https://aka.ms/winget-manifest.{kind}.{mv}.schema.json\n\
             PackageIdentifier: {WINGET_ID}\nPackageVersion: {version}\n"
        )
    };
    let version_yaml = format!(
        "{}DefaultLocale: en-US\nManifestType: version\nManifestVersion: {mv}\n",
        head("version")
    );
    let mut installer = format!(
        "{}InstallerType: zip\nNestedInstallerType: portable\nNestedInstallerFiles:\n  - RelativeFilePath: condafix.exe\n    PortableCommandAlias: condafix\nInstallers:\n",
        head("installer")
    );
    for &(target, arch, _) in targets {
        let zip = zip_name(version, target);
        let sha = hash_of(sums, &zip)?.to_ascii_uppercase();
        installer.push_str(&format!(
            "  - Architecture: {arch}\n    InstallerUrl: {}\n    InstallerSha256: \"{sha}\"\n",
            asset_url(version, &zip)
        ));
    }
    installer.push_str(&format!("ManifestType: installer\nManifestVersion: {mv}\n"));
    let locale = format!(
        "{}PackageLocale: en-US\nPublisher: condafix\nPublisherUrl: {REPOSITORY}\nPackageName: condafix\nPackageUrl: {REPOSITORY}\nLicense: MIT OR Apache-2.0\nLicenseUrl: {REPOSITORY}/blob/v{version}/LICENSE-MIT\nShortDescription: Makes a conda install's Python on Windows able to do HTTPS, and proves it.\nTags:\n  - conda\n  - anaconda\n  - openssl\n  - ssl\nReleaseNotesUrl: {REPOSITORY}/releases/tag/v{version}\nManifestType: defaultLocale\nManifestVersion: {mv}\n",
        head("defaultLocale")
    );
    Ok(vec![
        (format!("{WINGET_ID}.yaml"), version_yaml),
        (format!("{WINGET_ID}.installer.yaml"), installer),
        (format!("{WINGET_ID}.locale.en-US.yaml"), locale),
    ])
}

/// The Scoop manifest (`condafix.json`), with `checkver` and `autoupdate` so the bucket follows
/// new releases by itself.
pub fn scoop_manifest(version: &str, sums: &BTreeMap<String, String>) -> Result<String, String> {
    scoop_manifest_for(version, sums, &TARGETS)
}

/// [`scoop_manifest`] for other targets (a rehearsal with the GNU build).
pub fn scoop_manifest_for(
    version: &str,
    sums: &BTreeMap<String, String>,
    targets: &[Target<'_>],
) -> Result<String, String> {
    let mut arch = serde_json::Map::new();
    let mut auto = serde_json::Map::new();
    for &(target, _, scoop) in targets {
        let zip = zip_name(version, target);
        arch.insert(
            scoop.into(),
            serde_json::json!({ "url": asset_url(version, &zip), "hash": hash_of(sums, &zip)? }),
        );
        auto.insert(
            scoop.into(),
            serde_json::json!({
                "url": format!("{REPOSITORY}/releases/download/v$version/condafix-$version-{target}.zip")
            }),
        );
    }
    let manifest = serde_json::json!({
        "version": version,
        "description": "Makes a conda install's Python on Windows able to do HTTPS, and proves it.",
        "homepage": REPOSITORY,
        "license": "MIT|Apache-2.0",
        "architecture": arch,
        "bin": "condafix.exe",
        "checkver": { "github": REPOSITORY },
        "autoupdate": {
            "architecture": auto,
            "hash": { "url": "$baseurl/SHA256SUMS" }
        }
    });
    Ok(serde_json::to_string_pretty(&manifest).expect("json") + "\n")
}

/// A version's section of the changelog (without its heading): the release notes.
pub fn changelog_notes(changelog: &str, version: &str) -> Option<String> {
    let heading = format!("## [{version}]");
    let start = changelog.find(&heading)?;
    let body = &changelog[start + heading.len()..];
    let body = body.split_once('\n').map(|(_, b)| b).unwrap_or("");
    let end = body.find("\n## [").unwrap_or(body.len());
    let notes = body[..end].trim();
    (!notes.is_empty()).then(|| notes.to_string())
}

/// The CycloneDX SBOM of the exe for `target`, from `cargo tree`'s output (see [`sbom`]) and
/// `Cargo.lock`. The version must be the binary package's own.
pub fn sbom_for_target(tree: &str, cargo_lock: &str, meta: &sbom::Meta) -> Result<String, String> {
    let graph = sbom::parse_tree(tree)?;
    let root = &graph.crates[&graph.root];
    if root.name != sbom::PACKAGE || root.version != meta.version {
        return Err(format!(
            "cargo tree's root is {} {}, not {} {}",
            root.name,
            root.version,
            sbom::PACKAGE,
            meta.version
        ));
    }
    Ok(sbom::document(
        &graph,
        &sbom::lock_checksums(cargo_lock),
        meta,
    ))
}

/// `checksums.txt` of the GitHub Action with the release's zips pinned (`<version> <target>
/// <sha256>` lines, appended). A line already there is kept; a different hash for a pinned
/// version and target is an error (a pin is never replaced). Returns the text and whether it
/// changed.
pub fn pin_checksums(
    checksums_txt: &str,
    version: &str,
    sums: &BTreeMap<String, String>,
) -> Result<(String, bool), String> {
    let mut out = checksums_txt.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let mut changed = false;
    for (target, _, _) in TARGETS {
        let hash = hash_of(sums, &zip_name(version, target))?;
        let pinned = checksums_txt.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[0] == version && f[1] == target).then(|| f[2].to_ascii_lowercase())
        });
        match pinned {
            Some(p) if p == hash => {}
            Some(p) => {
                return Err(format!(
                    "checksums.txt pins {version} {target} to another hash\n  pinned:     {p}\n  SHA256SUMS: {hash}"
                ))
            }
            None => {
                out.push_str(&format!("{version} {target} {hash}\n"));
                changed = true;
            }
        }
    }
    Ok((out, changed))
}
