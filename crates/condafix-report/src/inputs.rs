//! The PATHs given on the command line as the files to read: a file is read whatever its name;
//! a folder is walked (not through links, at most [`Limits::depth`] deep) for `.json`,
//! `.jsonl`, `.ndjson`, `.csv` and `.zip` files; a PATH that does not exist but holds `*` or
//! `?` is a pattern (expanded by condafix, since Windows shells leave that to the program).

use std::path::{Component, Path, PathBuf};

use crate::error::{Note, Problem};
use crate::limits::Limits;

/// The files to read, sorted, each once.
#[derive(Debug, Default)]
pub struct Expanded {
    pub files: Vec<PathBuf>,
    pub notes: Vec<Note>,
    /// Files in the folders that are none of the kinds read (counted, not listed).
    pub skipped: u64,
    /// PATHs that matched nothing.
    pub missing: Vec<PathBuf>,
}

const READ: &[&str] = &["json", "jsonl", "ndjson", "csv", "zip"];

fn wanted(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') || n.starts_with('~'));
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    !hidden && ext.is_some_and(|e| READ.contains(&e.as_str()))
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

/// Walk a folder, links not followed.
fn walk(dir: &Path, depth: usize, limits: &Limits, out: &mut Expanded) {
    if depth > limits.depth {
        out.notes.push(Note::new(
            show(dir),
            &Problem::Unreadable(format!(
                "more than {} folders deep: not walked further",
                limits.depth
            )),
        ));
        return;
    }
    let entries = match fs_err::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.notes
                .push(Note::new(show(dir), &Problem::Unreadable(e.to_string())));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let Ok(meta) = fs_err::symlink_metadata(&p) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            out.notes.push(Note::new(show(&p), &Problem::Link));
        } else if meta.is_dir() {
            walk(&p, depth + 1, limits, out);
        } else if meta.is_file() && wanted(&p) {
            out.files.push(p);
        } else {
            out.skipped += 1;
        }
    }
}

fn has_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// `*` any run of characters, `?` one; case-insensitive on Windows.
pub fn matches(pattern: &str, name: &str) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if cfg!(windows) {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, n) = (fold(pattern), fold(name));
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Expand a pattern, component by component (wildcards in any folder or file name).
fn glob(pattern: &Path, limits: &Limits, out: &mut Expanded) -> bool {
    let mut bases: Vec<PathBuf> = vec![PathBuf::new()];
    let comps: Vec<Component> = pattern.components().collect();
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let text = c.as_os_str().to_string_lossy();
        if !matches!(c, Component::Normal(_)) || !has_wildcard(&text) {
            for b in &mut bases {
                b.push(c.as_os_str());
            }
            continue;
        }
        let mut next = Vec::new();
        for b in &bases {
            let dir = if b.as_os_str().is_empty() {
                Path::new(".")
            } else {
                b.as_path()
            };
            let Ok(rd) = fs_err::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<PathBuf> = rd
                .flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    // As shells do: a wildcard does not match a leading dot.
                    (!name.starts_with('.') || text.starts_with('.')) && matches(&text, &name)
                })
                .map(|e| b.join(e.file_name()))
                .collect();
            names.sort();
            for p in names {
                let Ok(meta) = fs_err::symlink_metadata(&p) else {
                    continue;
                };
                if meta.file_type().is_symlink() {
                    out.notes.push(Note::new(show(&p), &Problem::Link));
                } else if last || meta.is_dir() {
                    next.push(p);
                }
            }
        }
        bases = next;
    }
    let found = !bases.is_empty();
    for b in bases {
        add(&b, limits, out);
    }
    found
}

fn add(p: &Path, limits: &Limits, out: &mut Expanded) {
    match fs_err::symlink_metadata(p) {
        Ok(m) if m.file_type().is_symlink() => out.notes.push(Note::new(show(p), &Problem::Link)),
        Ok(m) if m.is_dir() => walk(p, 0, limits, out),
        Ok(_) => out.files.push(p.to_path_buf()),
        Err(e) => out
            .notes
            .push(Note::new(show(p), &Problem::Unreadable(e.to_string()))),
    }
}

/// Expand the command line's PATHs.
pub fn expand(paths: &[PathBuf], limits: &Limits) -> Expanded {
    let mut out = Expanded::default();
    for p in paths {
        if fs_err::symlink_metadata(p).is_ok() {
            add(p, limits, &mut out);
        } else if !(has_wildcard(&p.to_string_lossy()) && glob(p, limits, &mut out)) {
            out.missing.push(p.clone());
        }
    }
    out.files.sort();
    out.files.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_a_shell() {
        assert!(matches("*.json", "PC-1-20250102T030405Z.json"));
        assert!(matches("PC-??-*.json", "PC-12-x.json"));
        assert!(!matches("PC-??-*.json", "PC-123-x.json"));
        assert!(!matches("*.json", "a.jsonl"));
        assert!(matches("*", ""));
    }

    #[test]
    fn folders_are_walked_for_the_kinds_read_and_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs_err::create_dir_all(d.join("a/b")).unwrap();
        for f in [
            "a/x.json",
            "a/b/y.JSONL",
            "a/z.txt",
            "a/.tmp-1.json",
            "c.csv",
        ] {
            fs_err::write(d.join(f), "{}").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(d.join("a"), d.join("a/b/loop")).unwrap();
        let e = expand(
            &[d.to_path_buf(), d.join("nope/*.json")],
            &Limits::default(),
        );
        let rel: Vec<String> = e
            .files
            .iter()
            .map(|p| {
                p.strip_prefix(d)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        assert_eq!(rel, ["a/b/y.JSONL", "a/x.json", "c.csv"]);
        assert_eq!(e.skipped, 2);
        assert_eq!(e.missing, [d.join("nope/*.json")]);
        #[cfg(unix)]
        assert!(e.notes.iter().any(|n| n.kind == "link"), "{:?}", e.notes);
        let g = expand(&[d.join("a/*.json")], &Limits::default());
        assert_eq!(g.files, [d.join("a/x.json")]);
    }
}
