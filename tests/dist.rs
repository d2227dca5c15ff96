//! The release's package-manager manifests, generated from a SHA256SUMS as `scripts/release.sh`
//! does, checked against the fields winget's and Scoop's formats require; and the release notes
//! taken from CHANGELOG.md.

use condafix_suite::dist::{
    changelog_notes, parse_sums, sbom, scoop_manifest, winget_manifests, zip_name, TARGETS,
    WINGET_ID,
};
use yaml_rust2::{Yaml, YamlLoader};

const VERSION: &str = "0.2.0";

fn sums() -> String {
    let mut s = String::new();
    for (i, (target, _, _)) in TARGETS.iter().enumerate() {
        s.push_str(&format!(
            "{}  {}\n",
            format!("{i:x}").repeat(64),
            zip_name(VERSION, target)
        ));
    }
    s.push_str(&format!(
        "{}  condafix-{VERSION}.cdx.json\n",
        "e".repeat(64)
    ));
    s
}

fn yaml(text: &str) -> Yaml {
    YamlLoader::load_from_str(text).unwrap().remove(0)
}

#[test]
fn the_winget_manifests_carry_what_winget_requires() {
    let files = winget_manifests(VERSION, &parse_sums(&sums()).unwrap()).unwrap();
    let by_name = |suffix: &str| {
        files
            .iter()
            .find(|(n, _)| n == &format!("{WINGET_ID}{suffix}"))
            .map(|(_, t)| yaml(t))
            .unwrap_or_else(|| panic!("{WINGET_ID}{suffix}"))
    };
    for (suffix, kind) in [
        (".yaml", "version"),
        (".installer.yaml", "installer"),
        (".locale.en-US.yaml", "defaultLocale"),
    ] {
        let y = by_name(suffix);
        assert_eq!(y["PackageIdentifier"].as_str(), Some(WINGET_ID));
        assert_eq!(y["PackageVersion"].as_str(), Some(VERSION));
        assert_eq!(y["ManifestType"].as_str(), Some(kind));
        assert!(y["ManifestVersion"].as_str().is_some());
    }
    assert_eq!(by_name(".yaml")["DefaultLocale"].as_str(), Some("en-US"));
    let installer = by_name(".installer.yaml");
    assert_eq!(installer["InstallerType"].as_str(), Some("zip"));
    assert_eq!(installer["NestedInstallerType"].as_str(), Some("portable"));
    assert_eq!(
        installer["NestedInstallerFiles"][0]["RelativeFilePath"].as_str(),
        Some("condafix.exe")
    );
    let installers = installer["Installers"].as_vec().unwrap();
    assert_eq!(installers.len(), 2);
    for (i, inst) in installers.iter().enumerate() {
        let (target, arch, _) = TARGETS[i];
        assert_eq!(inst["Architecture"].as_str(), Some(arch));
        let url = inst["InstallerUrl"].as_str().unwrap();
        assert!(
            url.starts_with("https://") && url.ends_with(&zip_name(VERSION, target)),
            "{url}"
        );
        let sha = inst["InstallerSha256"].as_str().unwrap();
        assert_eq!(sha, format!("{i:x}").repeat(64).to_uppercase());
    }
    let locale = by_name(".locale.en-US.yaml");
    for key in [
        "PackageLocale",
        "Publisher",
        "PackageName",
        "License",
        "ShortDescription",
    ] {
        assert!(locale[key].as_str().is_some_and(|v| !v.is_empty()), "{key}");
    }
}

#[test]
fn the_scoop_manifest_carries_what_scoop_requires_and_updates_itself() {
    let text = scoop_manifest(VERSION, &parse_sums(&sums()).unwrap()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], VERSION);
    assert_eq!(v["bin"], "condafix.exe");
    for (i, (target, _, scoop)) in TARGETS.iter().enumerate() {
        let a = &v["architecture"][scoop];
        assert!(a["url"]
            .as_str()
            .unwrap()
            .ends_with(&zip_name(VERSION, target)));
        assert_eq!(a["hash"], format!("{i:x}").repeat(64));
        let auto = v["autoupdate"]["architecture"][scoop]["url"]
            .as_str()
            .unwrap();
        assert!(
            auto.contains("$version") && auto.ends_with(&format!("-{target}.zip")),
            "{auto}"
        );
    }
    assert!(v["checkver"]["github"]
        .as_str()
        .unwrap()
        .starts_with("https://github.com/"));
    assert!(v["autoupdate"]["hash"]["url"]
        .as_str()
        .unwrap()
        .ends_with("SHA256SUMS"));
    for key in ["description", "homepage", "license"] {
        assert!(v[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
    }
}

#[test]
fn a_sums_file_that_is_not_one_or_lacks_an_asset_is_refused() {
    assert!(
        parse_sums("deadbeef  condafix.zip\n").is_err(),
        "not a SHA-256"
    );
    let climb = format!("{}  ../../condafix.exe\n", "a".repeat(64));
    assert!(parse_sums(&climb).is_err(), "not a file name");
    let one = format!("{}  {}\n", "a".repeat(64), zip_name(VERSION, TARGETS[0].0));
    let sums = parse_sums(&one).unwrap();
    assert!(winget_manifests(VERSION, &sums)
        .unwrap_err()
        .contains("aarch64"));
    assert!(scoop_manifest(VERSION, &sums).is_err());
}

#[test]
fn release_notes_are_the_versions_changelog_section() {
    let changelog = include_str!("../CHANGELOG.md");
    let unreleased = changelog_notes(changelog, "Unreleased").unwrap();
    assert!(unreleased.starts_with("### Added"), "{unreleased}");
    assert!(!unreleased.contains("## [0.1.0]"));
    let first = changelog_notes(changelog, "0.1.0").unwrap();
    assert!(first.contains("post-install"));
    assert_eq!(changelog_notes(changelog, "9.9.9"), None);
}

#[test]
fn the_sbom_lists_every_locked_crate_with_its_checksum() {
    let lock = include_str!("../Cargo.lock");
    let v: serde_json::Value = serde_json::from_str(&sbom("0.2.0", lock)).unwrap();
    assert_eq!(v["bomFormat"], "CycloneDX");
    assert_eq!(v["metadata"]["component"]["name"], "condafix");
    let components = v["components"].as_array().unwrap();
    let packages = lock.matches("[[package]]").count();
    assert_eq!(components.len(), packages);
    let sha2 = components
        .iter()
        .find(|c| c["name"] == "sha2")
        .expect("sha2");
    assert!(sha2["purl"]
        .as_str()
        .unwrap()
        .starts_with("pkg:cargo/sha2@"));
    assert_eq!(sha2["hashes"][0]["alg"], "SHA-256");
    assert_eq!(sha2["hashes"][0]["content"].as_str().unwrap().len(), 64);
    let own = components
        .iter()
        .find(|c| c["name"] == "condafix-detect")
        .unwrap();
    assert_eq!(
        own["type"], "application",
        "a workspace crate, not a registry one"
    );
}
