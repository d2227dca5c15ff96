//! Which loader a Python build has, from the build itself: conda's patch to `python3X.dll`
//! leaves UTF-16 strings in it that tell the era (docs/loader-model.md). The record's channel,
//! version and build number are the fallback when the DLL cannot be read.

use std::io::Read;

use condafix_prefix::Version;
use serde::Serialize;

/// The strings that tell the era, as they were found in a `python3X.dll`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Markers {
    /// `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` (UTF-16LE): every conda-patched build.
    pub enable: bool,
    /// `Library\mingw-w64\bin` (UTF-16LE): every conda-patched build, the 3.8.0 variant too.
    pub mingw: bool,
    /// A standalone wide `conda`, bounded by NULs (the patch's check of `argv`): era A only.
    pub wide_conda: bool,
    /// `CONDA_DLL_SEARCH_MODIFICATION_KEEP_GIL` (UTF-16LE): some era-A builds.
    pub keep_gil: bool,
    /// The ASCII text "not been activated": some era-A builds.
    pub not_activated: bool,
    /// `CONDA_DLL_SEARCH_MODIFICATION_NEVER_CACHE` (UTF-16LE): era A and era B up to 3.10.
    pub never_cache: bool,
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

struct Patterns {
    enable: Vec<u8>,
    mingw: Vec<u8>,
    wide_conda: Vec<u8>,
    keep_gil: Vec<u8>,
    not_activated: Vec<u8>,
    never_cache: Vec<u8>,
}

impl Patterns {
    fn new() -> Self {
        let mut wide_conda = vec![0, 0];
        wide_conda.extend(utf16le("conda"));
        wide_conda.extend([0, 0]);
        Self {
            enable: utf16le("CONDA_DLL_SEARCH_MODIFICATION_ENABLE"),
            mingw: utf16le("Library\\mingw-w64\\bin"),
            wide_conda,
            keep_gil: utf16le("CONDA_DLL_SEARCH_MODIFICATION_KEEP_GIL"),
            not_activated: b"not been activated".to_vec(),
            never_cache: utf16le("CONDA_DLL_SEARCH_MODIFICATION_NEVER_CACHE"),
        }
    }

    fn longest(&self) -> usize {
        [
            &self.enable,
            &self.mingw,
            &self.wide_conda,
            &self.keep_gil,
            &self.not_activated,
            &self.never_cache,
        ]
        .iter()
        .map(|p| p.len())
        .max()
        .unwrap_or(0)
    }
}

/// Scan a DLL's bytes for the markers, streaming in fixed buffers (the chunks overlap by the
/// longest marker, so none is missed at a boundary).
pub fn scan_markers(mut reader: impl Read) -> std::io::Result<Markers> {
    use memchr::memmem::find;
    let p = Patterns::new();
    let overlap = p.longest();
    let mut m = Markers::default();
    let mut buf = vec![0u8; 256 * 1024 + overlap];
    let mut kept = 0usize;
    loop {
        let n = match reader.read(&mut buf[kept..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let window = &buf[..kept + n];
        m.enable |= find(window, &p.enable).is_some();
        m.mingw |= find(window, &p.mingw).is_some();
        m.wide_conda |= find(window, &p.wide_conda).is_some();
        m.keep_gil |= find(window, &p.keep_gil).is_some();
        m.not_activated |= find(window, &p.not_activated).is_some();
        m.never_cache |= find(window, &p.never_cache).is_some();
        let keep = window.len().min(overlap);
        let start = window.len() - keep;
        buf.copy_within(start..start + keep, 0);
        kept = keep;
    }
    Ok(m)
}

/// The three loader behaviours (and the 3.8.0 variant of the second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Era {
    /// A: `LOAD_WITH_ALTERED_SEARCH_PATH`; `Library\bin` only through PATH.
    AlteredSearchPath,
    /// B: conda's default-mode patch; `Library\bin` found without activation.
    DefaultMode,
    /// B as the 3.8.0 builds have it (the folders, without the ENABLE switch).
    DefaultModeVariant,
    /// C: no conda patch (python.org, python-build-standalone, conda-forge 3.7).
    Upstream,
}

impl Era {
    pub fn label(self) -> &'static str {
        match self {
            Era::AlteredSearchPath => "A (altered search path)",
            Era::DefaultMode => "B (conda default mode)",
            Era::DefaultModeVariant => "B (the 3.8.0 variant)",
            Era::Upstream => "C (upstream, no conda patch)",
        }
    }

    /// Both B kinds behave alike for the loader.
    pub fn is_default_mode(self) -> bool {
        matches!(self, Era::DefaultMode | Era::DefaultModeVariant)
    }
}

/// The era the markers say: no conda strings → C; the mingw path without ENABLE → the 3.8.0
/// variant of B; ENABLE and an era-A marker → A; ENABLE without → B.
pub fn era_of(m: &Markers) -> Era {
    if !m.enable && !m.mingw {
        Era::Upstream
    } else if !m.enable {
        Era::DefaultModeVariant
    } else if m.wide_conda || m.keep_gil || m.not_activated {
        Era::AlteredSearchPath
    } else {
        Era::DefaultMode
    }
}

/// The markers found, in words (for evidence).
pub fn marker_names(m: &Markers) -> Vec<&'static str> {
    let mut v = Vec::new();
    if m.enable {
        v.push("CONDA_DLL_SEARCH_MODIFICATION_ENABLE");
    }
    if m.mingw {
        v.push("Library\\mingw-w64\\bin");
    }
    if m.wide_conda {
        v.push("\"conda\" (argv check)");
    }
    if m.keep_gil {
        v.push("CONDA_DLL_SEARCH_MODIFICATION_KEEP_GIL");
    }
    if m.not_activated {
        v.push("\"not been activated\"");
    }
    if m.never_cache {
        v.push("CONDA_DLL_SEARCH_MODIFICATION_NEVER_CACHE");
    }
    v
}

/// Which channel a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    CondaForge,
    /// Anaconda's defaults (`pkgs/main`, `repo.anaconda.com`) and anything else.
    Defaults,
}

impl Channel {
    pub fn of(channel: Option<&str>, build: &str) -> Self {
        if channel.is_some_and(|c| c.contains("conda-forge")) || build.ends_with("_cpython") {
            Channel::CondaForge
        } else {
            Channel::Defaults
        }
    }
}

/// The era of a record, from both feedstocks' history (docs/loader-model.md): the fallback when
/// the DLL cannot be read. `None`: the table does not place it (Python 2, <= 3.6).
pub fn era_from_record(channel: Channel, version: &Version, build_number: u64) -> Option<Era> {
    let (major, minor) = version.major_minor();
    if major != 3 || minor < 7 {
        return None;
    }
    let v = |s: &str| version.at_least(s);
    Some(match (channel, minor) {
        (Channel::CondaForge, 7) => Era::Upstream,
        (Channel::CondaForge, 8) if !v("3.8.1") => Era::DefaultModeVariant,
        (Channel::CondaForge, 8) if !v("3.8.13") => Era::AlteredSearchPath,
        (Channel::CondaForge, 8) => Era::DefaultMode,
        (Channel::CondaForge, 9) if !v("3.9.8") => Era::AlteredSearchPath,
        (Channel::CondaForge, _) => Era::DefaultMode,
        (Channel::Defaults, 7) => Era::AlteredSearchPath,
        (Channel::Defaults, 8) if !v("3.8.1") => Era::DefaultModeVariant,
        (Channel::Defaults, 8) if !v("3.8.15") => Era::AlteredSearchPath,
        (Channel::Defaults, 8) if version.patch() == 15 && build_number == 0 => {
            Era::AlteredSearchPath
        }
        (Channel::Defaults, 8) if version.patch() == 16 && build_number < 2 => {
            Era::AlteredSearchPath
        }
        (Channel::Defaults, 8) => Era::DefaultMode,
        (Channel::Defaults, 9) if !v("3.9.15") => Era::AlteredSearchPath,
        (Channel::Defaults, 9) if version.patch() == 15 && build_number == 0 => {
            Era::AlteredSearchPath
        }
        (Channel::Defaults, _) => Era::DefaultMode,
    })
}

/// Whether a default-mode build computes the five conda folders from the exe's folder rather
/// than from `python3X.dll`'s (the first builds: conda-forge 3.9.9 and 3.10.0-3.10.1, defaults
/// 3.10.0-3.10.4). Only a venv tells the difference.
pub fn conda_dirs_from_exe(channel: Channel, version: &Version) -> bool {
    let (_, minor) = version.major_minor();
    let p = version.patch();
    match (channel, minor) {
        (Channel::CondaForge, 9) => p == 9,
        (Channel::CondaForge, 10) => p <= 1,
        (Channel::Defaults, 10) => p <= 4,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(s: &str) -> Vec<u8> {
        utf16le(s)
    }

    #[test]
    fn markers_are_found_across_buffer_boundaries_and_the_rule_places_each_era() {
        // A DLL whose markers straddle the 256 KiB chunk boundary.
        let mut dll = vec![0x90u8; 256 * 1024 - 7];
        dll.extend(wide("CONDA_DLL_SEARCH_MODIFICATION_ENABLE"));
        dll.extend([0, 0]);
        dll.extend(wide("Library\\mingw-w64\\bin"));
        dll.extend(vec![0x90u8; 300 * 1024]);
        let m = scan_markers(&dll[..]).unwrap();
        assert!(m.enable && m.mingw && !m.wide_conda);
        assert_eq!(era_of(&m), Era::DefaultMode);
        let mut a = dll.clone();
        a.extend([0, 0]);
        a.extend(wide("conda"));
        a.extend([0, 0]);
        assert_eq!(
            era_of(&scan_markers(&a[..]).unwrap()),
            Era::AlteredSearchPath
        );
        // "conda" inside other wide text is not the argv check.
        let mut b = dll.clone();
        b.extend(wide("Anaconda Prompt"));
        assert_eq!(era_of(&scan_markers(&b[..]).unwrap()), Era::DefaultMode);
        let variant = wide("Library\\mingw-w64\\bin");
        assert_eq!(
            era_of(&scan_markers(&variant[..]).unwrap()),
            Era::DefaultModeVariant
        );
        assert_eq!(
            era_of(&scan_markers(&b"MZ plain"[..]).unwrap()),
            Era::Upstream
        );
    }

    #[test]
    fn every_row_of_the_fallback_table() {
        use Channel::*;
        use Era::*;
        let rows: &[(Channel, &str, u64, Option<Era>)] = &[
            (CondaForge, "3.6.15", 0, None),
            (CondaForge, "3.7.12", 0, Some(Upstream)),
            (CondaForge, "3.8.0", 0, Some(DefaultModeVariant)),
            (CondaForge, "3.8.1", 0, Some(AlteredSearchPath)),
            (CondaForge, "3.8.12", 3, Some(AlteredSearchPath)),
            (CondaForge, "3.8.13", 0, Some(DefaultMode)),
            (CondaForge, "3.9.0", 0, Some(AlteredSearchPath)),
            (CondaForge, "3.9.7", 3, Some(AlteredSearchPath)),
            (CondaForge, "3.9.9", 0, Some(DefaultMode)),
            (CondaForge, "3.10.0", 0, Some(DefaultMode)),
            (CondaForge, "3.13.1", 0, Some(DefaultMode)),
            (Defaults, "3.7.0", 1, Some(AlteredSearchPath)),
            (Defaults, "3.7.16", 0, Some(AlteredSearchPath)),
            (Defaults, "3.8.0", 0, Some(DefaultModeVariant)),
            (Defaults, "3.8.1", 0, Some(AlteredSearchPath)),
            (Defaults, "3.8.13", 0, Some(AlteredSearchPath)),
            (Defaults, "3.8.15", 0, Some(AlteredSearchPath)),
            (Defaults, "3.8.15", 1, Some(DefaultMode)),
            (Defaults, "3.8.16", 0, Some(AlteredSearchPath)),
            (Defaults, "3.8.16", 2, Some(DefaultMode)),
            (Defaults, "3.8.17", 0, Some(DefaultMode)),
            (Defaults, "3.9.12", 0, Some(AlteredSearchPath)),
            (Defaults, "3.9.15", 0, Some(AlteredSearchPath)),
            (Defaults, "3.9.15", 1, Some(DefaultMode)),
            (Defaults, "3.9.16", 0, Some(DefaultMode)),
            (Defaults, "3.10.0", 0, Some(DefaultMode)),
            (Defaults, "3.10.6", 0, Some(DefaultMode)),
            (Defaults, "3.11.5", 0, Some(DefaultMode)),
            (Defaults, "2.7.18", 0, None),
        ];
        for (channel, version, build, want) in rows {
            assert_eq!(
                era_from_record(*channel, &Version::parse(version), *build),
                *want,
                "{channel:?} {version} build {build}"
            );
        }
        assert!(conda_dirs_from_exe(Defaults, &Version::parse("3.10.4")));
        assert!(!conda_dirs_from_exe(Defaults, &Version::parse("3.10.5")));
        assert!(conda_dirs_from_exe(CondaForge, &Version::parse("3.9.9")));
        assert!(!conda_dirs_from_exe(CondaForge, &Version::parse("3.10.2")));
    }
}
