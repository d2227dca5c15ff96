//! The release's package-manager manifests, generated from a SHA256SUMS as `scripts/release.sh`
//! does, checked against the rules of winget's 1.12.0 schemas and Scoop's schema; the release
//! notes taken from CHANGELOG.md; the SBOM of each release exe; the GitHub Action's pins.

#[cfg(not(windows))]
use std::collections::BTreeSet;

use condafix_suite::dist::sbom::{self, Meta};
use condafix_suite::dist::{
    changelog_notes, parse_sums, pin_checksums, sbom_for_target, scoop_manifest, winget_manifests,
    zip_name, TARGETS, WINGET_ID, WINGET_MANIFEST_VERSION,
};
use serde_json::{json, Value};
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

/// A YAML document as JSON, to check it against a JSON Schema.
fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().expect("string keys").to_string(),
                        yaml_to_json(v),
                    )
                })
                .collect(),
        ),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => json!(i),
        Yaml::Boolean(b) => json!(b),
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML {other:?}"),
    }
}

/// Every violation of `schema` by `doc`.
fn violations(schema: &Value, doc: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("a valid schema");
    validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// The rules of winget's 1.12.0 manifest schemas (microsoft/winget-cli
/// `schemas/JSON/manifests/v1.12.0`) for the fields these manifests use, transcribed: the
/// required fields, patterns, lengths and enums. Fields outside the list are refused, as the
/// community repository's validation refuses unknown fields.
fn winget_schema(kind: &str) -> Value {
    let id = json!({ "type": "string", "maxLength": 128,
        "pattern": "^[^\\.\\s\\\\/:\\*\\?\"<>\\|\\x01-\\x1f]{1,32}(\\.[^\\.\\s\\\\/:\\*\\?\"<>\\|\\x01-\\x1f]{1,32}){1,7}$" });
    let version = json!({ "type": "string", "maxLength": 128, "pattern": "^[^\\\\/:\\*\\?\"<>\\|\\x01-\\x1f]+$" });
    let locale = json!({ "type": "string", "maxLength": 20,
        "pattern": "^([a-zA-Z]{2,3}|[iI]-[a-zA-Z]+|[xX]-[a-zA-Z]{1,8})(-[a-zA-Z]{1,8})*$" });
    let url =
        json!({ "type": "string", "maxLength": 2048, "pattern": "^([Hh][Tt][Tt][Pp][Ss]?)://.+$" });
    let manifest_version =
        json!({ "type": "string", "pattern": "^(0|[1-9][0-9]{0,4})(\\.(0|[1-9][0-9]{0,4})){2}$" });
    let text = |min: u32, max: u32| json!({ "type": "string", "minLength": min, "maxLength": max });
    let (required, properties) = match kind {
        "version" => (
            json!([
                "PackageIdentifier",
                "PackageVersion",
                "DefaultLocale",
                "ManifestType",
                "ManifestVersion"
            ]),
            json!({ "DefaultLocale": locale }),
        ),
        "installer" => (
            json!([
                "PackageIdentifier",
                "PackageVersion",
                "Installers",
                "ManifestType",
                "ManifestVersion"
            ]),
            json!({
                "InstallerType": { "enum": ["msix", "msi", "appx", "exe", "zip", "inno", "nullsoft", "wix", "burn", "pwa", "portable", "font"] },
                "NestedInstallerType": { "enum": ["msix", "msi", "appx", "exe", "inno", "nullsoft", "wix", "burn", "portable", "font"] },
                "NestedInstallerFiles": { "type": "array", "maxItems": 1024, "items": {
                    "type": "object", "additionalProperties": false, "required": ["RelativeFilePath"],
                    "properties": { "RelativeFilePath": text(1, 512), "PortableCommandAlias": text(1, 40) } } },
                "Installers": { "type": "array", "minItems": 1, "maxItems": 1024, "items": {
                    "type": "object", "additionalProperties": false,
                    "required": ["Architecture", "InstallerUrl", "InstallerSha256"],
                    "properties": {
                        "Architecture": { "enum": ["x86", "x64", "arm", "arm64", "neutral"] },
                        "InstallerUrl": url,
                        "InstallerSha256": { "type": "string", "pattern": "^[A-Fa-f0-9]{64}$" } } } },
            }),
        ),
        "defaultLocale" => (
            json!([
                "PackageIdentifier",
                "PackageVersion",
                "PackageLocale",
                "Publisher",
                "PackageName",
                "License",
                "ShortDescription",
                "ManifestType",
                "ManifestVersion"
            ]),
            json!({
                "PackageLocale": locale, "Publisher": text(2, 256), "PublisherUrl": url,
                "PackageName": text(2, 256), "PackageUrl": url, "License": text(3, 512),
                "LicenseUrl": url, "ShortDescription": text(3, 256), "ReleaseNotesUrl": url,
                "Tags": { "type": "array", "maxItems": 16, "uniqueItems": true, "items": text(1, 40) },
            }),
        ),
        other => panic!("{other}"),
    };
    let mut properties = properties;
    let p = properties.as_object_mut().unwrap();
    p.insert("PackageIdentifier".into(), id);
    p.insert("PackageVersion".into(), version);
    p.insert("ManifestType".into(), json!({ "const": kind }));
    p.insert("ManifestVersion".into(), manifest_version);
    json!({ "type": "object", "required": required, "properties": properties, "additionalProperties": false })
}

/// The rules of Scoop's manifest schema (ScoopInstaller/Scoop `schema.json`) for the fields this
/// manifest uses, transcribed; like the real one, it refuses unknown fields.
fn scoop_schema() -> Value {
    let hash = json!({ "type": "string",
        "pattern": "^([a-fA-F0-9]{64}|(sha1|sha256|sha512|md5):([a-fA-F0-9]{32}|[a-fA-F0-9]{40}|[a-fA-F0-9]{64}|[a-fA-F0-9]{128}))$" });
    let uri = json!({ "type": "string", "pattern": "^https?://" });
    let arch = |inner: Value| {
        json!({ "type": "object", "additionalProperties": false,
        "properties": { "32bit": inner, "64bit": inner, "arm64": inner } })
    };
    json!({
        "type": "object", "additionalProperties": false, "required": ["version", "homepage", "license"],
        "properties": {
            "version": { "type": "string", "pattern": "^[\\w.\\-+_]+$" },
            "description": { "type": "string" },
            "homepage": uri,
            "license": { "type": "string" },
            "bin": { "type": "string" },
            "architecture": arch(json!({ "type": "object", "additionalProperties": false,
                "properties": { "url": uri, "hash": hash } })),
            "checkver": { "type": "object", "additionalProperties": false, "properties": { "github": uri } },
            "autoupdate": { "type": "object", "additionalProperties": false, "properties": {
                "architecture": arch(json!({ "type": "object", "additionalProperties": false,
                    "properties": { "url": { "type": "string" } } })),
                "hash": { "type": "object", "additionalProperties": false,
                    "properties": { "url": { "type": "string", "pattern": "^.*(\\$url|\\$baseurl).*$" } } } } },
        },
    })
}

fn winget_docs() -> Vec<(&'static str, Value)> {
    winget_manifests(VERSION, &parse_sums(&sums()).unwrap())
        .unwrap()
        .iter()
        .map(|(name, text)| {
            let kind = if name.ends_with(".installer.yaml") {
                "installer"
            } else if name.ends_with(".locale.en-US.yaml") {
                "defaultLocale"
            } else {
                "version"
            };
            assert!(
                text.starts_with(&format!(
                    "# yaml-language-server: $schema=https://aka.ms/winget-manifest.{kind}.{WINGET_MANIFEST_VERSION}.schema.json\n"
                )),
                "{name}"
            );
            (kind, yaml_to_json(&yaml(text)))
        })
        .collect()
}

#[test]
fn the_winget_manifests_follow_the_current_schema() {
    assert_eq!(WINGET_MANIFEST_VERSION, "1.12.0");
    let docs = winget_docs();
    assert_eq!(docs.len(), 3);
    for (kind, doc) in &docs {
        let v = violations(&winget_schema(kind), doc);
        assert!(v.is_empty(), "{kind}: {v:#?}");
        assert_eq!(doc["ManifestVersion"], WINGET_MANIFEST_VERSION);
    }
}

#[test]
fn a_winget_manifest_that_breaks_the_schema_is_caught() {
    let docs = winget_docs();
    let installer = &docs.iter().find(|(k, _)| *k == "installer").unwrap().1;
    let mut bad_hash = installer.clone();
    bad_hash["Installers"][0]["InstallerSha256"] = json!("not-a-sha256");
    let mut unknown = installer.clone();
    unknown["InstallerFlavour"] = json!("zip");
    let mut bad_arch = installer.clone();
    bad_arch["Installers"][1]["Architecture"] = json!("aarch64");
    for (what, doc) in [("hash", bad_hash), ("field", unknown), ("arch", bad_arch)] {
        assert!(
            !violations(&winget_schema("installer"), &doc).is_empty(),
            "a bad {what} passed"
        );
    }
    let locale = &docs.iter().find(|(k, _)| *k == "defaultLocale").unwrap().1;
    let mut no_license = locale.clone();
    no_license.as_object_mut().unwrap().remove("License");
    assert!(!violations(&winget_schema("defaultLocale"), &no_license).is_empty());
}

#[test]
fn the_scoop_manifest_follows_scoops_schema_and_a_broken_one_does_not() {
    let doc: Value =
        serde_json::from_str(&scoop_manifest(VERSION, &parse_sums(&sums()).unwrap()).unwrap())
            .unwrap();
    let v = violations(&scoop_schema(), &doc);
    assert!(v.is_empty(), "{v:#?}");
    let mut bad = doc.clone();
    bad["architecture"]["arm64"]["hash"] = json!("md5:xyz");
    assert!(!violations(&scoop_schema(), &bad).is_empty());
    let mut unknown = doc;
    unknown["shim"] = json!("condafix.exe");
    assert!(!violations(&scoop_schema(), &unknown).is_empty());
}

/// `cargo tree`'s graph of the release exe for `target`, as `dist sbom` reads it.
#[cfg(not(windows))]
fn release_tree(target: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(sbom::cargo_tree_args(target))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn meta(target: &str) -> Meta {
    Meta {
        version: env!("CARGO_PKG_VERSION").to_string(),
        target: target.to_string(),
        timestamp: sbom::rfc3339(1_764_547_200),
        serial_number: sbom::uuid_v4_urn([7; 16]),
    }
}

// It runs `cargo tree`: not a program the Windows lane's Wine can start (the SBOM is made on
// the Linux side of the release and of CI).
#[cfg(not(windows))]
#[test]
fn each_release_exes_sbom_lists_what_it_links_and_nothing_else() {
    let lock = include_str!("../Cargo.lock");
    let locked = lock.matches("[[package]]").count();
    let mut names_by_target = Vec::new();
    for (target, _, _) in TARGETS {
        let doc: Value = serde_json::from_str(
            &sbom_for_target(&release_tree(target), lock, &meta(target)).unwrap(),
        )
        .unwrap();
        assert_eq!(doc["bomFormat"], "CycloneDX");
        assert_eq!(doc["specVersion"], sbom::SPEC_VERSION);
        assert_eq!(
            doc["serialNumber"],
            "urn:uuid:07070707-0707-4707-8707-070707070707"
        );
        assert_eq!(doc["metadata"]["timestamp"], "2025-12-01T00:00:00Z");
        let app = &doc["metadata"]["component"];
        assert_eq!(
            (&app["type"], &app["name"]),
            (&json!("application"), &json!("condafix"))
        );
        assert_eq!(app["properties"][0]["value"], *target);
        let components = doc["components"].as_array().unwrap();
        let names: BTreeSet<&str> = components
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        // Test and dev-only crates, the demo's fixture builder, proc-macros: not in the exe.
        for absent in [
            "insta",
            "insta-cmd",
            "rcgen",
            "jsonschema",
            "rustls",
            "condafix-fixtures",
            "condafix-suite",
            "serde_derive",
            "thiserror-impl",
            "clap_derive",
            "syn",
        ] {
            assert!(!names.contains(absent), "{target}: {absent} is listed");
        }
        for present in [
            "condafix-detect",
            "condafix-txn",
            "serde_json",
            "sha2",
            "windows-sys",
            "winreg",
        ] {
            assert!(names.contains(present), "{target}: {present} is missing");
        }
        let (own, other) = if target.starts_with("x86_64") {
            ("windows_x86_64_msvc", "windows_aarch64_msvc")
        } else {
            ("windows_aarch64_msvc", "windows_x86_64_msvc")
        };
        assert!(
            names.contains(own) && !names.contains(other),
            "{target}: {own}/{other}"
        );
        assert!(
            components.len() < locked / 2,
            "{} of {locked}",
            components.len()
        );
        let refs: BTreeSet<&str> = components
            .iter()
            .map(|c| c["bom-ref"].as_str().unwrap())
            .collect();
        assert_eq!(refs.len(), components.len(), "bom-refs are unique");
        for c in components {
            assert_eq!(c["type"], "library", "{c}");
            if let Some(purl) = c["purl"].as_str() {
                assert_eq!(
                    purl,
                    format!(
                        "pkg:cargo/{}@{}",
                        c["name"].as_str().unwrap(),
                        c["version"].as_str().unwrap()
                    )
                );
                assert_eq!(c["hashes"][0]["alg"], "SHA-256", "{c}");
                assert_eq!(c["hashes"][0]["content"].as_str().unwrap().len(), 64);
            }
            assert!(c["licenses"][0]["expression"].is_string(), "{c}");
        }
        // The graph: an entry per component and for the exe, every edge to a listed one.
        let deps = doc["dependencies"].as_array().unwrap();
        assert_eq!(deps.len(), components.len() + 1);
        let root_ref = app["bom-ref"].as_str().unwrap();
        for d in deps {
            for r in d["dependsOn"].as_array().unwrap() {
                assert!(refs.contains(r.as_str().unwrap()), "{r}");
            }
        }
        let root_deps = deps.iter().find(|d| d["ref"] == root_ref).unwrap();
        assert!(root_deps["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "condafix-detect@0.1.0"));
        names_by_target.push(names.into_iter().map(String::from).collect::<BTreeSet<_>>());
    }
    assert_ne!(
        names_by_target[0], names_by_target[1],
        "one SBOM per target"
    );
}

#[test]
fn cargo_trees_lines_become_crates_and_edges() {
    let tree = "0condafix v0.2.0 (/src/crates/condafix)\t\n\
                1anyhow v1.0.1\tMIT OR Apache-2.0\n\
                1condafix-prefix v0.2.0 (C:\\src\\crates\\condafix-prefix)\t\n\
                2csv v1.4.0\tUnlicense/MIT\n\
                3memchr v2.8.0\tUnlicense OR MIT\n\
                2memchr v2.8.0\tUnlicense OR MIT (*)\n\
                1gitdep v0.1.0 (https://example.org/x.git#abc)\t\n";
    let g = sbom::parse_tree(tree).unwrap();
    assert_eq!(g.root, "condafix@0.2.0");
    assert_eq!(g.crates.len(), 6);
    assert_eq!(g.crates["condafix-prefix@0.2.0"].source, sbom::Source::Path);
    assert_eq!(
        g.crates["pkg:cargo/csv@1.4.0"].license.as_deref(),
        Some("Unlicense/MIT")
    );
    assert!(matches!(
        g.crates["gitdep@0.1.0"].source,
        sbom::Source::Other(_)
    ));
    let edges = |from: &str| g.edges[from].iter().cloned().collect::<Vec<_>>();
    assert_eq!(
        edges("condafix@0.2.0"),
        [
            "condafix-prefix@0.2.0",
            "gitdep@0.1.0",
            "pkg:cargo/anyhow@1.0.1"
        ]
    );
    assert_eq!(
        edges("condafix-prefix@0.2.0"),
        ["pkg:cargo/csv@1.4.0", "pkg:cargo/memchr@2.8.0"]
    );
    assert_eq!(edges("pkg:cargo/csv@1.4.0"), ["pkg:cargo/memchr@2.8.0"]);
    assert!(edges("pkg:cargo/memchr@2.8.0").is_empty());
    let doc: Value =
        serde_json::from_str(&sbom::document(&g, &Default::default(), &meta("t"))).unwrap();
    let csv = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "csv")
        .unwrap();
    assert_eq!(
        csv["licenses"][0]["expression"], "Unlicense OR MIT",
        "cargo's old / syntax"
    );
    for bad in [
        "condafix v0.2.0\t\n2deep v1.0.0\t\n",
        "1orphan v1.0.0\t\n",
        "",
        "0x\t\n",
    ] {
        assert!(sbom::parse_tree(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn an_sbom_for_another_version_than_the_built_package_is_refused() {
    let tree = "0condafix v0.1.0 (/src/crates/condafix)\t\n";
    let mut m = meta("x86_64-pc-windows-msvc");
    m.version = "9.9.9".into();
    assert!(sbom_for_target(tree, "", &m).unwrap_err().contains("0.1.0"));
}

#[test]
fn serial_numbers_are_version_4_uuids_and_differ() {
    let pattern = |s: &str| {
        let u = s.strip_prefix("urn:uuid:").unwrap();
        let b = u.as_bytes();
        u.len() == 36
            && b[14] == b'4'
            && b"89ab".contains(&b[19])
            && u.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    };
    let (a, b) = (sbom::random_serial_number(), sbom::random_serial_number());
    assert!(pattern(&a) && pattern(&b), "{a} {b}");
    assert_ne!(a, b);
    assert_eq!(sbom::rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(sbom::rfc3339(951_827_696), "2000-02-29T12:34:56Z");
}

#[test]
fn a_release_is_pinned_in_the_actions_checksums_once_and_never_repinned() {
    let header = "# pins\n";
    let sums = parse_sums(&sums()).unwrap();
    let (once, changed) = pin_checksums(header, VERSION, &sums).unwrap();
    assert!(changed);
    assert_eq!(
        once,
        format!(
            "# pins\n{VERSION} x86_64-pc-windows-msvc {}\n{VERSION} aarch64-pc-windows-msvc {}\n",
            "0".repeat(64),
            "1".repeat(64)
        )
    );
    assert_eq!(
        pin_checksums(&once, VERSION, &sums).unwrap(),
        (once.clone(), false)
    );
    let other = once.replace(&"1".repeat(64), &"f".repeat(64));
    let err = pin_checksums(&other, VERSION, &sums).unwrap_err();
    assert!(
        err.contains(&"f".repeat(64)) && err.contains(&"1".repeat(64)),
        "{err}"
    );
    let one = parse_sums(&format!(
        "{}  {}\n",
        "a".repeat(64),
        zip_name(VERSION, TARGETS[0].0)
    ))
    .unwrap();
    assert!(
        pin_checksums(header, VERSION, &one).is_err(),
        "a target missing from SHA256SUMS"
    );
}
