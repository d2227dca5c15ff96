//! The CycloneDX SBOM of one release exe: the crates `condafix.exe` links for one target, as
//! `cargo build --release -p condafix --no-default-features --target <target>` resolves them
//! (normal dependencies only: no dev-dependencies, no build-dependencies, no proc-macros and
//! nothing only they pull in; features as that build turns them on), with the dependency graph
//! between them.
//!
//! The graph comes from `cargo tree -p condafix -e normal,no-proc-macro --target <target>`, which
//! resolves features for the one package built. `cargo metadata` (what cargo-cyclonedx and
//! cargo-auditable read) unifies features over the whole workspace and so lists crates the exe
//! does not contain (for x86_64-pc-windows-msvc today: ring, untrusted, getrandom 0.2, log,
//! allocator-api2, jiff-static). The registry checksums come from `Cargo.lock`.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};

/// The binary package a release ships.
pub const PACKAGE: &str = "condafix";

/// The CycloneDX specification version of the SBOM.
pub const SPEC_VERSION: &str = "1.6";

/// The licence of this repository, and so of its workspace crates (which do not repeat it).
pub const LICENSE: &str = "MIT OR Apache-2.0";

/// Where a crate comes from, as `cargo tree` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// crates.io (no suffix in `cargo tree`).
    Registry,
    /// A path dependency: a crate of this workspace.
    Path,
    /// Another source (git, another registry), as printed.
    Other(String),
}

/// One crate in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    pub name: String,
    pub version: String,
    pub source: Source,
    /// The `license` field of its `Cargo.toml`, when it has one.
    pub license: Option<String>,
}

impl Crate {
    /// The crate's `bom-ref`: its purl for registry crates, `name@version` otherwise.
    pub fn bom_ref(&self) -> String {
        match self.purl() {
            Some(p) => p,
            None => format!("{}@{}", self.name, self.version),
        }
    }

    /// `pkg:cargo/<name>@<version>` for crates.io crates (the purl type names crates.io).
    pub fn purl(&self) -> Option<String> {
        (self.source == Source::Registry)
            .then(|| format!("pkg:cargo/{}@{}", self.name, self.version))
    }
}

/// The exe's crates and which depends on which (by `bom-ref`). `root` is the binary's package.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub root: String,
    pub crates: BTreeMap<String, Crate>,
    pub edges: BTreeMap<String, BTreeSet<String>>,
}

/// The arguments of the `cargo tree` run whose output [`parse_tree`] reads.
pub fn cargo_tree_args(target: &str) -> Vec<String> {
    [
        "tree",
        "--locked",
        "-p",
        PACKAGE,
        "--no-default-features",
        "--target",
        target,
        "-e",
        "normal,no-proc-macro",
        "--prefix",
        "depth",
        "--format",
        "{p}\t{l}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Parse `cargo tree --prefix depth --format "{p}\t{l}"`: each line is the depth, then
/// `name vVERSION [(path|source)] [(proc-macro)]`, a TAB, the license, and ` (*)` when the
/// crate's dependencies were printed earlier. A line's parent is the last line one level up.
pub fn parse_tree(text: &str) -> Result<Graph, String> {
    let mut graph = Graph::default();
    let mut stack: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |what: &str| format!("cargo tree line {}: {what}: {line:?}", i + 1);
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        let depth: usize = line[..digits].parse().map_err(|_| err("no depth"))?;
        let rest = line[digits..].trim_end();
        let rest = rest.strip_suffix("(*)").unwrap_or(rest).trim_end();
        let (package, license) = rest.split_once('\t').unwrap_or((rest, ""));
        let mut words = package.split(' ');
        let name = words
            .next()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| err("no name"))?;
        let version = words
            .next()
            .and_then(|v| v.strip_prefix('v'))
            .ok_or_else(|| err("no version"))?;
        let suffix = words.collect::<Vec<_>>().join(" ");
        let source = source_of(&suffix);
        let license = Some(license.trim().to_string()).filter(|l| !l.is_empty());
        let krate = Crate {
            name: name.to_string(),
            version: version.to_string(),
            source,
            license,
        };
        let id = krate.bom_ref();
        if depth == 0 {
            if !graph.root.is_empty() {
                return Err(err("a second root"));
            }
            graph.root = id.clone();
        } else {
            let parent = stack
                .get(depth - 1)
                .ok_or_else(|| err("no parent at that depth"))?;
            graph
                .edges
                .entry(parent.clone())
                .or_default()
                .insert(id.clone());
        }
        stack.truncate(depth);
        stack.push(id.clone());
        graph.edges.entry(id.clone()).or_default();
        graph.crates.entry(id).or_insert(krate);
    }
    if graph.root.is_empty() {
        return Err("cargo tree printed no package".into());
    }
    Ok(graph)
}

/// The source in `cargo tree`'s suffix: `(/path)` or `(C:\path)` for a path dependency,
/// `(proc-macro)` says nothing about the source, anything else is another source.
fn source_of(suffix: &str) -> Source {
    let parts: Vec<&str> = suffix
        .split(['(', ')'])
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "proc-macro")
        .collect();
    match parts.first() {
        None => Source::Registry,
        Some(p)
            if p.starts_with('/') || p.as_bytes().get(1) == Some(&b':') || p.starts_with(r"\\") =>
        {
            Source::Path
        }
        Some(p) => Source::Other(p.to_string()),
    }
}

/// The registry checksum of each locked package, by `(name, version)`.
pub fn lock_checksums(cargo_lock: &str) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    let mut current: BTreeMap<&str, String> = BTreeMap::new();
    let mut flush = |c: &mut BTreeMap<&str, String>| {
        if let (Some(n), Some(v), Some(sum)) = (c.get("name"), c.get("version"), c.get("checksum"))
        {
            out.insert((n.clone(), v.clone()), sum.clone());
        }
        c.clear();
    };
    for line in cargo_lock.lines().map(str::trim) {
        if line == "[[package]]" {
            flush(&mut current);
            continue;
        }
        for key in ["name", "version", "checksum"] {
            if let Some(v) = line
                .strip_prefix(key)
                .and_then(|r| r.trim_start().strip_prefix('='))
            {
                current.insert(key, v.trim().trim_matches('"').to_string());
            }
        }
    }
    flush(&mut current);
    out
}

/// What the SBOM says about itself besides the graph.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The release version (`0.2.0`).
    pub version: String,
    /// The target triple the exe is built for.
    pub target: String,
    /// RFC 3339, UTC (`2026-12-01T10:00:00Z`).
    pub timestamp: String,
    /// `urn:uuid:<uuid>`, unique per SBOM.
    pub serial_number: String,
}

/// A `urn:uuid:` with a random (version 4) UUID: every SBOM gets its own serial number, as
/// CycloneDX asks, even when its contents repeat. The bits come from the standard library's
/// per-process random hash keys (no cryptographic strength is needed for uniqueness).
pub fn random_serial_number() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    uuid_v4_urn(bytes)
}

/// `urn:uuid:` of 16 bytes with the version (4) and variant bits set.
pub fn uuid_v4_urn(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// RFC 3339 (UTC, seconds) of a Unix time.
pub fn rfc3339(secs: u64) -> String {
    let rem = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        condafix_detect::date(secs),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Cargo's old `A/B` license syntax as the SPDX expression it means (`A OR B`).
fn spdx_expression(license: &str) -> String {
    if license.contains('/') && !license.contains(" OR ") && !license.contains(" AND ") {
        license
            .split('/')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" OR ")
    } else {
        license.to_string()
    }
}

fn component(
    c: &Crate,
    kind: &str,
    checksums: &BTreeMap<(String, String), String>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "type": kind,
        "bom-ref": c.bom_ref(),
        "name": c.name,
        "version": c.version,
    });
    if let Some(purl) = c.purl() {
        v["purl"] = purl.into();
    }
    if let Some(sum) = checksums.get(&(c.name.clone(), c.version.clone())) {
        v["hashes"] = serde_json::json!([{ "alg": "SHA-256", "content": sum }]);
    }
    let license = match (&c.license, &c.source) {
        (Some(l), _) => Some(spdx_expression(l)),
        (None, Source::Path) => Some(LICENSE.to_string()),
        (None, _) => None,
    };
    if let Some(l) = license {
        v["licenses"] = serde_json::json!([{ "expression": l }]);
    }
    v
}

/// The CycloneDX JSON document: the exe as the `application` in `metadata.component`, every
/// crate it links as a `library` component, and a `dependencies` entry for each of them.
pub fn document(
    graph: &Graph,
    checksums: &BTreeMap<(String, String), String>,
    meta: &Meta,
) -> String {
    let root = &graph.crates[&graph.root];
    let mut app = component(root, "application", checksums);
    app["version"] = meta.version.clone().into();
    app["externalReferences"] = serde_json::json!([
        { "type": "vcs", "url": super::REPOSITORY },
        { "type": "distribution", "url": format!("{}/releases/tag/v{}", super::REPOSITORY, meta.version) },
    ]);
    app["properties"] = serde_json::json!([{ "name": "condafix:target", "value": meta.target }]);
    let components: Vec<serde_json::Value> = graph
        .crates
        .iter()
        .filter(|(id, _)| **id != graph.root)
        .map(|(_, c)| component(c, "library", checksums))
        .collect();
    let dependencies: Vec<serde_json::Value> = graph
        .edges
        .iter()
        .map(|(id, deps)| serde_json::json!({ "ref": id, "dependsOn": deps }))
        .collect();
    let doc = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": meta.serial_number,
        "version": 1,
        "metadata": {
            "timestamp": meta.timestamp,
            "tools": { "components": [{
                "type": "application",
                "name": "condafix dist sbom",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "cargo tree -e normal,no-proc-macro per target, checksums from Cargo.lock",
            }] },
            "component": app,
        },
        "components": components,
        "dependencies": dependencies,
    });
    serde_json::to_string_pretty(&doc).expect("json") + "\n"
}
