//! conda-meta records (`<prefix>/conda-meta/<name>-<version>-<build>.json`) and CEP 34
//! `info/paths.json`, typed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Error, Layout, Sha256, CONDA_META};

/// One installed package, as conda records it in `conda-meta`.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
pub struct PrefixRecord {
    pub name: String,
    pub version: String,
    pub build: String,
    #[serde(default)]
    pub build_number: u64,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub subdir: Option<String>,
    #[serde(default, rename = "fn")]
    pub file_name: Option<String>,
    #[serde(default)]
    pub md5: Option<String>,
    #[serde(default, deserialize_with = "lenient_sha256")]
    pub sha256: Option<Sha256>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "bounded::seq")]
    pub depends: Vec<String>,
    /// Build time in milliseconds since the epoch (older records use seconds).
    #[serde(default)]
    pub timestamp: Option<u64>,
    #[serde(default, deserialize_with = "bounded::noarch")]
    pub noarch: Option<serde_json::Value>,
    /// Installed paths, prefix-relative, always `/`.
    #[serde(default, deserialize_with = "bounded::seq")]
    pub files: Vec<String>,
    #[serde(default)]
    pub paths_data: Option<PathsData>,
    #[serde(default)]
    pub extracted_package_dir: Option<String>,
    #[serde(default)]
    pub package_tarball_full_path: Option<String>,
}

/// Only what an integrity check needs from a record, borrowed from the bytes: the file lists
/// and their hashes. Several times cheaper than [`PrefixRecord`] on a 40,000-file record.
#[derive(Debug, Deserialize)]
pub struct RecordFiles<'a> {
    #[serde(borrow)]
    pub name: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub version: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub build: std::borrow::Cow<'a, str>,
    #[serde(default, deserialize_with = "bounded::noarch")]
    pub noarch: Option<serde_json::Value>,
    #[serde(default, borrow, deserialize_with = "bounded::seq")]
    pub files: Vec<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    pub paths_data: Option<PathsDataRef<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct PathsDataRef<'a> {
    #[serde(default, borrow, deserialize_with = "bounded::seq")]
    pub paths: Vec<PathEntryRef<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct PathEntryRef<'a> {
    #[serde(rename = "_path", borrow)]
    pub path: std::borrow::Cow<'a, str>,
    #[serde(default)]
    pub path_type: PathType,
    #[serde(default, deserialize_with = "lenient_sha256")]
    pub sha256: Option<Sha256>,
    #[serde(default, deserialize_with = "lenient_sha256")]
    pub sha256_in_prefix: Option<Sha256>,
    #[serde(default)]
    pub size_in_bytes: Option<u64>,
}

/// One file a record installed, as [`RecordFiles::installed`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledFile {
    /// Prefix-relative, `/`-separated, noarch mapped.
    pub rel: String,
    pub path_type: PathType,
    /// The hash of the file as installed (`sha256_in_prefix`, else `sha256`).
    pub sha256: Option<Sha256>,
    /// The size, when the record gives it and conda did not rewrite the file's prefix.
    pub size: Option<u64>,
}

impl RecordFiles<'_> {
    pub fn is_noarch_python(&self) -> bool {
        is_noarch_python(self.noarch.as_ref())
    }

    /// Every recorded entry, noarch mapped.
    pub fn installed(&self, layout: Layout, python: Option<(u64, u64)>) -> Vec<InstalledFile> {
        let noarch = self.is_noarch_python();
        self.paths_data
            .as_ref()
            .map(|p| p.paths.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|e| {
                let installed = if noarch {
                    installed_noarch_path(&e.path, layout, python)
                } else {
                    e.path.to_string()
                };
                let rewritten = e.sha256_in_prefix.is_some() && e.sha256_in_prefix != e.sha256;
                InstalledFile {
                    rel: installed,
                    path_type: e.path_type,
                    sha256: e.sha256_in_prefix.or(e.sha256),
                    size: e.size_in_bytes.filter(|_| !rewritten),
                }
            })
            .collect()
    }
}

/// The package fields of a record without its file lists: enough to place a Python build, and
/// cheap on a 2,000-file python record (the lists are skipped, not built).
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
pub struct RecordHeader {
    pub name: String,
    pub version: String,
    pub build: String,
    #[serde(default)]
    pub build_number: u64,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub subdir: Option<String>,
    #[serde(default)]
    pub timestamp: Option<u64>,
}

impl RecordHeader {
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        read_json(path, "conda-meta record")
    }

    /// The build time in seconds since the epoch (conda writes milliseconds; very old records
    /// seconds).
    pub fn timestamp_secs(&self) -> Option<u64> {
        self.timestamp
            .map(|t| if t > 100_000_000_000 { t / 1000 } else { t })
    }
}

/// `paths_data` of a conda-meta record.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
pub struct PathsData {
    #[serde(default)]
    pub paths_version: u64,
    #[serde(default, deserialize_with = "bounded::seq")]
    pub paths: Vec<PathEntry>,
}

/// CEP 34 `info/paths.json` of an extracted package.
pub type PathsJson = PathsData;

/// One file of a package.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
pub struct PathEntry {
    #[serde(rename = "_path")]
    pub path: String,
    #[serde(default)]
    pub path_type: PathType,
    #[serde(default, deserialize_with = "lenient_sha256")]
    pub sha256: Option<Sha256>,
    #[serde(default, deserialize_with = "lenient_sha256")]
    pub sha256_in_prefix: Option<Sha256>,
    #[serde(default)]
    pub size_in_bytes: Option<u64>,
    #[serde(default)]
    pub file_mode: Option<FileMode>,
    #[serde(default)]
    pub prefix_placeholder: Option<String>,
    #[serde(default)]
    pub no_link: Option<bool>,
}

/// How conda rewrote the prefix placeholder in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileMode {
    Text,
    Binary,
    /// A mode this reader does not know.
    #[serde(other)]
    Other,
}

impl PathEntry {
    /// The hash an installed copy must have: `sha256_in_prefix` (after prefix replacement),
    /// else `sha256` (what `conda doctor altered-files` compares).
    pub fn expected_sha256(&self) -> Option<Sha256> {
        self.sha256_in_prefix.or(self.sha256)
    }
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PathType {
    #[default]
    Hardlink,
    Softlink,
    Directory,
    #[serde(other)]
    Other,
}

/// `noarch: python` (the old string form or the `{"type": "python"}` form).
fn is_noarch_python(noarch: Option<&serde_json::Value>) -> bool {
    match noarch {
        Some(serde_json::Value::String(s)) => s == "python",
        Some(serde_json::Value::Object(o)) => {
            o.get("type").and_then(|t| t.as_str()) == Some("python")
        }
        _ => false,
    }
}

/// Read and parse a JSON file, streaming (the file is never held whole: a 32 MiB record costs
/// what is kept of it, and unneeded fields are skipped without being built); errors name the
/// file and what it should have been.
pub fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &'static str,
) -> Result<T, Error> {
    use std::io::Read as _;
    let (file, _) = crate::safe_read::open_capped(path, crate::safe_read::MAX_RECORD_BYTES)?;
    let reader = std::io::BufReader::with_capacity(
        64 * 1024,
        file.take(crate::safe_read::MAX_RECORD_BYTES + 1),
    );
    serde_json::from_reader(reader).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        what,
        source,
    })
}

/// Deserializers that keep what an untrusted record can cost bounded whatever it holds.
pub(crate) mod bounded {
    use std::marker::PhantomData;

    use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;

    /// More entries than any real record's list (Anaconda's largest packages list about
    /// 40,000 files): a longer list is refused, not built.
    pub const MAX_ENTRIES: usize = 200_000;

    /// A list of at most [`MAX_ENTRIES`].
    pub fn seq<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a list of at most {MAX_ENTRIES} entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element()? {
                    if out.len() >= MAX_ENTRIES {
                        return Err(serde::de::Error::custom(format!(
                            "a list of more than {MAX_ENTRIES} entries (no real record has one)"
                        )));
                    }
                    out.push(x);
                }
                Ok(out)
            }
            fn visit_unit<E>(self) -> Result<Vec<T>, E> {
                Ok(Vec::new())
            }
        }
        d.deserialize_any(V(PhantomData))
    }

    /// `noarch` as its kind only: `"python"`, `{"type": "python", ...}` (the rest skipped,
    /// never built), anything else none.
    pub fn noarch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<serde_json::Value>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a noarch kind")
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Some(serde_json::Value::String(
                    s.chars().take(64).collect(),
                )))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(None)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut kind = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "type" && kind.is_none() {
                        if let Some(serde_json::Value::String(s)) = map.next_value_seed(KindSeed)? {
                            kind = Some(s);
                        }
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(kind.map(|k| {
                    let mut o = serde_json::Map::new();
                    o.insert("type".into(), serde_json::Value::String(k));
                    serde_json::Value::Object(o)
                }))
            }
        }
        struct KindSeed;
        impl<'de> serde::de::DeserializeSeed<'de> for KindSeed {
            type Value = Option<serde_json::Value>;
            fn deserialize<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(V)
            }
        }
        d.deserialize_any(V)
    }
}

/// A missing, empty or malformed digest is "no digest" (unverifiable), not a parse failure of
/// the whole record: one bad field must not hide the rest of the record.
fn lenient_sha256<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Sha256>, D::Error> {
    let value: Option<std::borrow::Cow<'de, str>> = Option::deserialize(d)?;
    Ok(value.and_then(|v| Sha256::from_hex(&v).ok()))
}

impl PrefixRecord {
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        read_json(path, "conda-meta record")
    }

    /// `name-version-build`, the way conda names the record file and the package cache folder.
    pub fn dist_name(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.build)
    }

    pub fn is_noarch_python(&self) -> bool {
        is_noarch_python(self.noarch.as_ref())
    }

    /// The recorded entries keyed by the path they were installed at (prefix-relative, `/`).
    ///
    /// noarch: python packages record `site-packages/...` and `python-scripts/...` inside the
    /// package but install them under the prefix's site-packages and Scripts/bin (docs/formats-and-config.md); they are mapped here so that those files are checked rather than silently
    /// skipped. Keys are lower-cased for Windows layouts (the file system is case-insensitive).
    pub fn entries_by_installed_path(
        &self,
        layout: Layout,
        python: Option<(u64, u64)>,
    ) -> BTreeMap<String, &PathEntry> {
        self.installed_entries(layout, python)
            .into_iter()
            .map(|(installed, entry)| (normalize_key(&installed, layout), entry))
            .collect()
    }

    /// Every recorded entry with the prefix-relative path it was installed at (as written,
    /// `/`-separated), noarch: python paths mapped.
    pub fn installed_entries(
        &self,
        layout: Layout,
        python: Option<(u64, u64)>,
    ) -> Vec<(String, &PathEntry)> {
        let noarch = self.is_noarch_python();
        let Some(paths_data) = &self.paths_data else {
            return Vec::new();
        };
        paths_data
            .paths
            .iter()
            .map(|entry| {
                let installed = if noarch {
                    installed_noarch_path(&entry.path, layout, python)
                } else {
                    entry.path.clone()
                };
                (installed, entry)
            })
            .collect()
    }
}

fn installed_noarch_path(path: &str, layout: Layout, python: Option<(u64, u64)>) -> String {
    if let (Some(rest), Some(py)) = (path.strip_prefix("site-packages/"), python) {
        return format!("{}/{rest}", layout.site_packages(py));
    }
    if let Some(rest) = path.strip_prefix("python-scripts/") {
        let scripts = match layout {
            Layout::Windows => "Scripts",
            Layout::Unix => "bin",
        };
        return format!("{scripts}/{rest}");
    }
    path.to_string()
}

/// The key a prefix-relative path is compared by: `/`-separated, and lower-case on Windows.
pub(crate) fn normalize_key(path: &str, layout: Layout) -> String {
    let p = path.replace('\\', "/");
    match layout {
        Layout::Windows => p.to_lowercase(),
        Layout::Unix => p,
    }
}

/// A conda-meta file, known only by its name until it is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaEntry {
    pub name: String,
    pub version: String,
    pub build: String,
    pub path: PathBuf,
}

/// The package reference printed in reports: `openssl 1.1.1d (he774522_2)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PackageRef {
    pub name: String,
    pub version: String,
    pub build: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// The index of `<prefix>/conda-meta`: file names only, so that an Anaconda base with ~500
/// records (some over 1 MB) costs one directory listing, and only the records a caller asks
/// for are read and parsed.
#[derive(Debug, Clone, Default)]
pub struct CondaMeta {
    entries: Vec<MetaEntry>,
}

impl CondaMeta {
    /// List `<prefix>/conda-meta`. A prefix without it yields an empty index.
    pub fn scan(prefix: &Path) -> Result<Self, Error> {
        Self::scan_where(prefix, |_| true)
    }

    /// The records of the packages named in `names` only: what detection reads. A conda-meta
    /// folder of 200,000 records costs the few entries kept, not one per record.
    pub fn scan_only(prefix: &Path, names: &[&str]) -> Result<Self, Error> {
        Self::scan_where(prefix, |n| names.contains(&n))
    }

    fn scan_where(prefix: &Path, keep: impl Fn(&str) -> bool) -> Result<Self, Error> {
        let dir = prefix.join(CONDA_META);
        let read_dir = match fs_err::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(Error::Read { path: dir, source }),
        };
        let mut entries = Vec::new();
        for item in read_dir {
            let item = item.map_err(|source| Error::Read {
                path: dir.clone(),
                source,
            })?;
            let file_name = item.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            if let Some((name, version, build)) = parse_record_file_name(file_name) {
                if !keep(name) {
                    continue;
                }
                entries.push(MetaEntry {
                    name: name.to_string(),
                    version: version.to_string(),
                    build: build.to_string(),
                    path: item.path(),
                });
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name).then(a.version.cmp(&b.version)));
        entries.shrink_to_fit();
        Ok(Self { entries })
    }

    pub fn entries(&self) -> &[MetaEntry] {
        &self.entries
    }

    /// The record file of package `name`, if installed.
    pub fn find(&self, name: &str) -> Option<&MetaEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Read only the package fields of the record of `name`. conda writes records with sorted
    /// keys, so `build`, `build_number` and `channel` come before the file lists and
    /// `timestamp` and `version` after them: those are read without parsing the lists (a
    /// python record is half a megabyte of them) when the record agrees with its file name;
    /// any other layout is parsed whole.
    pub fn load_header(&self, name: &str) -> Result<Option<RecordHeader>, Error> {
        let Some(e) = self.find(name) else {
            return Ok(None);
        };
        let bytes = crate::safe_read::read(&e.path, crate::safe_read::MAX_RECORD_BYTES)?;
        if let Some(h) = header_fast(&bytes, e) {
            return Ok(Some(h));
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::Json {
                path: e.path.clone(),
                what: "conda-meta record",
                source,
            })
    }

    /// Read and parse the record of package `name`.
    pub fn load(&self, name: &str) -> Result<Option<PrefixRecord>, Error> {
        self.find(name)
            .map(|e| PrefixRecord::from_path(&e.path))
            .transpose()
    }
}

/// The fields read before the first file list.
#[derive(Default)]
struct Leading {
    build: Option<String>,
    build_number: Option<u64>,
    channel: Option<Option<String>>,
    reached_lists: bool,
}

struct LeadingVisitor<'a>(&'a mut Leading);

impl<'de> serde::de::Visitor<'de> for LeadingVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a conda-meta record")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "build" => self.0.build = Some(map.next_value()?),
                "build_number" => self.0.build_number = Some(map.next_value()?),
                "channel" => self.0.channel = Some(map.next_value()?),
                "files" | "paths_data" => {
                    self.0.reached_lists = true;
                    return Err(serde::de::Error::custom("stopped before the file lists"));
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The JSON value after the last `"key":` in the record's last 4 KiB.
fn tail_value<T: serde::de::DeserializeOwned>(bytes: &[u8], key: &str) -> Option<T> {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    let pattern = format!("\"{key}\":");
    let at = memchr::memmem::rfind(tail, pattern.as_bytes())?;
    let mut de = serde_json::Deserializer::from_slice(&tail[at + pattern.len()..]);
    T::deserialize(&mut de).ok()
}

/// The header of a record in conda's sorted layout, read around its file lists; `None` when
/// the record is laid out otherwise or does not agree with its file name.
fn header_fast(bytes: &[u8], entry: &MetaEntry) -> Option<RecordHeader> {
    use serde::Deserializer as _;
    let mut leading = Leading::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let _ = (&mut de).deserialize_map(LeadingVisitor(&mut leading));
    if !leading.reached_lists {
        return None;
    }
    let version: String = tail_value(bytes, "version")?;
    if leading.build.as_deref() != Some(entry.build.as_str()) || version != entry.version {
        return None;
    }
    Some(RecordHeader {
        name: entry.name.clone(),
        version,
        build: leading.build?,
        build_number: leading.build_number?,
        channel: leading.channel?,
        subdir: tail_value(bytes, "subdir"),
        timestamp: tail_value(bytes, "timestamp"),
    })
}

/// Split `name-version-build.json`. Versions and builds never contain `-`; names may.
pub fn parse_record_file_name(file_name: &str) -> Option<(&str, &str, &str)> {
    let stem = file_name.strip_suffix(".json")?;
    let (rest, build) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || build.is_empty() {
        return None;
    }
    Some((name, version, build))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_with(dir: &Path, file: &str, json: &serde_json::Value) -> CondaMeta {
        let meta = dir.join(CONDA_META);
        fs_err::create_dir_all(&meta).unwrap();
        // Python's json.dump(sort_keys=True, indent=2), as conda writes it.
        fs_err::write(meta.join(file), serde_json::to_string_pretty(json).unwrap()).unwrap();
        CondaMeta::scan(dir).unwrap()
    }

    #[test]
    fn the_header_read_around_the_file_lists_is_the_header_parsed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<serde_json::Value> = (0..3000)
            .map(|i| serde_json::json!({"_path": format!("Lib/f{i}.py"), "path_type": "hardlink", "sha256": "00"}))
            .collect();
        let record = serde_json::json!({
            "build": "h6244533_2",
            "build_number": 2,
            "channel": "https://repo.anaconda.com/pkgs/main/win-64",
            "files": ["python.exe"],
            "name": "python",
            "paths_data": {"paths": paths, "paths_version": 1},
            "subdir": "win-64",
            "timestamp": 1_670_000_000_000u64,
            "version": "3.9.15",
        });
        let meta = meta_with(dir.path(), "python-3.9.15-h6244533_2.json", &record);
        let entry = meta.find("python").unwrap();
        let bytes = fs_err::read(&entry.path).unwrap();
        let fast = header_fast(&bytes, entry).expect("conda's layout takes the fast path");
        let whole: RecordHeader = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            serde_json::to_value(&fast).unwrap(),
            serde_json::to_value(&whole).unwrap()
        );
        assert_eq!(meta.load_header("python").unwrap().unwrap().build_number, 2);
    }

    #[test]
    fn a_record_that_disagrees_with_its_file_name_or_is_laid_out_otherwise_is_parsed_whole() {
        let dir = tempfile::tempdir().unwrap();
        // The name says build 2; the record says build 0: the record's own fields win.
        let record = serde_json::json!({
            "build": "h6244533_0", "build_number": 0, "channel": "pkgs/main",
            "files": [], "name": "python", "version": "3.9.15",
        });
        let meta = meta_with(dir.path(), "python-3.9.15-h6244533_2.json", &record);
        let entry = meta.find("python").unwrap();
        assert!(header_fast(&fs_err::read(&entry.path).unwrap(), entry).is_none());
        let h = meta.load_header("python").unwrap().unwrap();
        assert_eq!((h.build.as_str(), h.build_number), ("h6244533_0", 0));
        // No file list at all (another writer): parsed whole.
        let dir = tempfile::tempdir().unwrap();
        let record = serde_json::json!({
            "name": "python", "version": "3.10.6", "build": "h966fe2a_1", "build_number": 1,
        });
        let meta = meta_with(dir.path(), "python-3.10.6-h966fe2a_1.json", &record);
        let entry = meta.find("python").unwrap();
        assert!(header_fast(&fs_err::read(&entry.path).unwrap(), entry).is_none());
        assert_eq!(meta.load_header("python").unwrap().unwrap().build_number, 1);
    }

    #[test]
    fn record_file_names_split_from_the_right() {
        assert_eq!(
            parse_record_file_name("ca-certificates-2019.08.28-0.json"),
            Some(("ca-certificates", "2019.08.28", "0"))
        );
        assert_eq!(
            parse_record_file_name("python-3.7.4-h5263a28_0.json"),
            Some(("python", "3.7.4", "h5263a28_0"))
        );
        assert_eq!(parse_record_file_name("history"), None);
        assert_eq!(parse_record_file_name("condafix-receipt.json"), None);
    }

    #[test]
    fn lenient_hashes_and_noarch_mapping() {
        let json = r#"{"name":"pip","version":"23.2.1","build":"py_0","noarch":"python",
            "sha256":"", "files":["Lib/site-packages/pip/__init__.py"],
            "paths_data":{"paths_version":1,"paths":[{"_path":"site-packages/pip/__init__.py",
            "path_type":"hardlink","sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "size_in_bytes":3}]}}"#;
        let rec: PrefixRecord = serde_json::from_str(json).unwrap();
        assert!(rec.sha256.is_none());
        let map = rec.entries_by_installed_path(Layout::Windows, Some((3, 11)));
        let e = map
            .get("lib/site-packages/pip/__init__.py")
            .expect("mapped");
        assert_eq!(e.expected_sha256(), Some(Sha256::of_bytes(b"abc")));
        let unix = rec.entries_by_installed_path(Layout::Unix, Some((3, 11)));
        assert!(unix.contains_key("lib/python3.11/site-packages/pip/__init__.py"));
    }
}
