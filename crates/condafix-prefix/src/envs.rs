use std::path::{Path, PathBuf};

use crate::Error;

/// `~/.conda/environments.txt`: one prefix per line, blank lines allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvironmentsTxt {
    /// The prefixes with the 1-based line each stands on.
    pub entries: Vec<(usize, PathBuf)>,
}

/// Read `environments.txt`. A missing file is an empty list; a file that is not UTF-8 is read
/// lossily (a prefix with an undecodable name cannot be named on a command line anyway).
pub fn read_environments_txt(path: &Path) -> Result<EnvironmentsTxt, Error> {
    let bytes = match crate::safe_read::read(path, crate::safe_read::MAX_CONFIG_BYTES) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(EnvironmentsTxt::default()),
        Err(e) => return Err(e.into()),
    };
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let entries = text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim();
            (!line.is_empty()).then(|| (i + 1, PathBuf::from(line)))
        })
        .collect();
    Ok(EnvironmentsTxt { entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_crlf_and_bom_are_tolerated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("environments.txt");
        fs_err::write(
            &p,
            "\u{feff}C:\\a\r\n\r\nC:\\Users\\홍 길동\\anaconda3\\envs\\x\r\n",
        )
        .unwrap();
        let env = read_environments_txt(&p).unwrap();
        assert_eq!(
            env.entries,
            vec![
                (1, PathBuf::from("C:\\a")),
                (3, PathBuf::from("C:\\Users\\홍 길동\\anaconda3\\envs\\x"))
            ]
        );
        assert!(read_environments_txt(&dir.path().join("missing"))
            .unwrap()
            .entries
            .is_empty());
    }
}
