//! `condafix check`'s one summary line: what the Intune console shows and exports as the
//! detection output, so it carries what the fleet report needs, in a stable form, in at most
//! 2,048 characters (what Intune keeps). Written by `check`, read back by `report` (from Graph's
//! `preRemediationDetectionScriptOutput`/`postRemediationDetectionScriptOutput`, the console's
//! CSV export, Ansible's stdout): one definition for both sides.
//!
//! ```text
//! condafix check: NOT COMPLIANT (1 of 2 prefixes) | condafix=0.1.0 healthy=1 broken=1 skipped=0 | broken era=A py=3.7.4 openssl=1.1.1d scope=just-me codes=D010,D022 C:\Users\me\anaconda3 | healthy era=B py=3.12.7 openssl=3.0.15 scope=all-users codes=- C:\ProgramData\anaconda3
//! ```
//!
//! - The text before the first ` | ` is for people, as before: `compliant (N prefixes)` or
//!   `NOT COMPLIANT (K of N prefixes)`.
//! - Then the head: `condafix=<version> healthy=<n> broken=<n> skipped=<n>` (counts of all
//!   installs, listed or not).
//! - Then one segment per install, still-broken ones first, then `config` segments (findings
//!   about the machine or a user's settings that fail the check), skipped, healthy: the
//!   verdict word, `key=value` tokens (`era` A/B/C, `py`, `openssl`, `scope`
//!   just-me/all-users, `codes` comma-separated error and warning codes; `?` unknown, `-` none),
//!   then the path, last, as the rest of the segment (`%`, `=`, `|` and control characters
//!   percent-encoded; a Windows path never holds `|`). A config segment's place is a profile
//!   folder or `(machine)`.
//! - Segments that do not fit in 2,048 characters are left out and counted: ` | +N more`.
//! - Stable: new keys may be added before the path; readers ignore keys they do not know.

use crate::model::{tidy_codes, Era, Install, UserScope, Verdict};

/// What Intune keeps of a script's output.
pub const MAX_CHARS: usize = 2048;
/// How the line starts.
pub const LEAD: &str = "condafix check: ";
/// The machine-wide place of a config segment.
pub const MACHINE: &str = "(machine)";
/// The most installs one line may count. A machine has a handful; a line claiming more is not
/// condafix's (a device's output is the device's to forge: "1 of 88888888 prefixes" made the
/// reader build 88 million installs, found by the first libFuzzer campaign).
pub const MAX_COUNTED: usize = 10_000;

/// An install as `check` judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineVerdict {
    Healthy,
    Broken,
    Skipped,
}

impl LineVerdict {
    fn word(self) -> &'static str {
        match self {
            LineVerdict::Healthy => "healthy",
            LineVerdict::Broken => "broken",
            LineVerdict::Skipped => "skipped",
        }
    }

    fn verdict(self) -> Verdict {
        match self {
            LineVerdict::Healthy => Verdict::Healthy,
            LineVerdict::Broken => Verdict::StillBroken,
            LineVerdict::Skipped => Verdict::Skipped,
        }
    }
}

/// One install in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInstall {
    pub path: String,
    pub verdict: LineVerdict,
    pub era: Option<Era>,
    pub python: Option<String>,
    pub openssl: Option<String>,
    pub scope: Option<UserScope>,
    pub codes: Vec<String>,
}

/// Failing findings about a place that is not an install (a user's settings, the machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineConfig {
    pub place: String,
    pub codes: Vec<String>,
}

/// What `check` knows, to be written as the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub compliant: bool,
    pub condafix_version: String,
    pub installs: Vec<LineInstall>,
    pub config: Vec<LineConfig>,
}

fn plural(n: usize) -> String {
    format!("{n} prefix{}", if n == 1 { "" } else { "es" })
}

/// A value token: no spaces, no `|`, nothing a parser could mistake.
fn token(v: Option<&str>) -> String {
    match v {
        None | Some("") => "?".into(),
        Some(s) => s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._+!-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect(),
    }
}

fn codes_token(codes: &[String]) -> String {
    if codes.is_empty() {
        "-".into()
    } else {
        codes
            .iter()
            .map(|c| token(Some(c)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// `%`, `=`, `|` and control characters percent-encoded: a path never reads as a `key=value`
/// token or a segment's end.
fn encode_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        if c == '%' || c == '=' || c == '|' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn decode_path(p: &str) -> String {
    let bytes = p.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn install_segment(i: &LineInstall) -> String {
    format!(
        "{} era={} py={} openssl={} scope={} codes={} {}",
        i.verdict.word(),
        i.era.map_or("?", Era::letter),
        token(i.python.as_deref()),
        token(i.openssl.as_deref()),
        i.scope.map_or("?", UserScope::label),
        codes_token(&i.codes),
        encode_path(&i.path)
    )
}

fn config_segment(c: &LineConfig) -> String {
    format!(
        "config codes={} {}",
        codes_token(&c.codes),
        encode_path(&c.place)
    )
}

/// The line, at most [`MAX_CHARS`] characters.
pub fn format(line: &Line) -> String {
    let n = line.installs.len();
    let count = |v: LineVerdict| line.installs.iter().filter(|i| i.verdict == v).count();
    let broken = count(LineVerdict::Broken);
    let mut out = if line.compliant {
        format!("{LEAD}compliant ({})", plural(n))
    } else {
        format!("{LEAD}NOT COMPLIANT ({broken} of {})", plural(n))
    };
    out.push_str(&format!(
        " | condafix={} healthy={} broken={broken} skipped={}",
        token(Some(&line.condafix_version)),
        count(LineVerdict::Healthy),
        count(LineVerdict::Skipped)
    ));
    let of = |v: LineVerdict| line.installs.iter().filter(move |i| i.verdict == v);
    let segments: Vec<String> = of(LineVerdict::Broken)
        .map(install_segment)
        .chain(line.config.iter().map(config_segment))
        .chain(of(LineVerdict::Skipped).map(install_segment))
        .chain(of(LineVerdict::Healthy).map(install_segment))
        .collect();
    let total = segments.len();
    let mut used = out.chars().count();
    for (listed, seg) in segments.iter().enumerate() {
        let len = 3 + seg.chars().count();
        let left_after = total - listed - 1;
        let reserve = if left_after == 0 {
            0
        } else {
            format!(" | +{left_after} more").len()
        };
        if used + len + reserve > MAX_CHARS {
            out.push_str(&format!(" | +{} more", total - listed));
            return out;
        }
        out.push_str(" | ");
        out.push_str(seg);
        used += len;
    }
    out
}

/// What a summary line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub compliant: bool,
    pub condafix_version: Option<String>,
    /// Every install the line counts; those it does not name have no prefix.
    pub installs: Vec<Install>,
    pub config_codes: Vec<String>,
    /// 1: this module's form; 0: the form before it (`compliant (N prefixes)` /
    /// `NOT COMPLIANT (K of N prefixes): <place> <codes>; ...`).
    pub form: u32,
}

/// The last line of `output` that holds a `condafix check:` summary, parsed; `None` when there
/// is none (the output is not condafix's).
pub fn parse(output: &str) -> Option<Parsed> {
    let line = output.lines().rev().find(|l| l.contains(LEAD.trim_end()))?;
    let at = line.find(LEAD.trim_end())?;
    let text = line[at + LEAD.trim_end().len()..].trim_start();
    let (human, rest) = match text.split_once(" | ") {
        Some((h, r)) => (h, Some(r)),
        None => (text, None),
    };
    let compliant = if human.starts_with("compliant") {
        true
    } else if human.starts_with("NOT COMPLIANT") {
        false
    } else {
        return None;
    };
    match rest {
        Some(rest) if rest.starts_with("condafix=") => parse_form1(compliant, rest),
        _ => parse_form0(compliant, human),
    }
}

/// `(N prefixes)` or `(K of N prefixes)`: (K, N).
fn counts_in_parens(human: &str) -> Option<(usize, usize)> {
    let inner = human.split_once('(')?.1.split_once(')')?.0;
    let words: Vec<&str> = inner.split_whitespace().collect();
    match words.as_slice() {
        [n, _] => Some((0, n.parse().ok()?)),
        [k, "of", n, _] => Some((k.parse().ok()?, n.parse().ok()?)),
        _ => None,
    }
}

fn parse_form0(compliant: bool, human: &str) -> Option<Parsed> {
    let (k, n) = counts_in_parens(human)?;
    if k > MAX_COUNTED || n > MAX_COUNTED {
        return None;
    }
    let mut installs = Vec::new();
    let mut config_codes = Vec::new();
    if let Some((_, listed)) = human.split_once("): ") {
        for item in listed.split("; ") {
            let Some((place, codes)) = item.rsplit_once(' ') else {
                continue;
            };
            let codes: Vec<String> = codes.split(',').map(str::to_string).collect();
            if place == "machine" {
                config_codes.extend(codes);
            } else {
                let mut i = Install::unnamed(Verdict::StillBroken);
                i.prefix = Some(place.to_string());
                i.codes = codes;
                tidy_codes(&mut i.codes);
                installs.push(i);
            }
        }
    }
    let named_broken = installs.len();
    for _ in named_broken..k {
        installs.push(Install::unnamed(Verdict::StillBroken));
    }
    for _ in k.max(named_broken)..n {
        installs.push(Install::unnamed(Verdict::Healthy));
    }
    tidy_codes(&mut config_codes);
    Some(Parsed {
        compliant,
        condafix_version: None,
        installs,
        config_codes,
        form: 0,
    })
}

fn parse_form1(compliant: bool, rest: &str) -> Option<Parsed> {
    let mut parts = rest.split(" | ");
    let head = parts.next().unwrap_or_default();
    let mut version = None;
    let mut counted = [0usize; 3]; // healthy, broken, skipped
    for t in head.split_whitespace() {
        match t.split_once('=') {
            Some(("condafix", v)) => version = Some(v.to_string()),
            Some(("healthy", v)) => counted[0] = v.parse().unwrap_or(0),
            Some(("broken", v)) => counted[1] = v.parse().unwrap_or(0),
            Some(("skipped", v)) => counted[2] = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    if counted.iter().fold(0usize, |a, b| a.saturating_add(*b)) > MAX_COUNTED {
        return None;
    }
    let mut installs: Vec<Install> = Vec::new();
    let mut config_codes = Vec::new();
    for seg in parts {
        let Some((kind, rest)) = seg.split_once(' ') else {
            continue;
        };
        let verdict = match kind {
            "healthy" => Some(LineVerdict::Healthy),
            "broken" => Some(LineVerdict::Broken),
            "skipped" => Some(LineVerdict::Skipped),
            "config" => None,
            _ => continue,
        };
        let mut fields: Vec<(&str, &str)> = Vec::new();
        let mut path = rest;
        while let Some((tok, after)) = path.split_once(' ') {
            match tok.split_once('=') {
                Some((k, v))
                    if !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
                {
                    fields.push((k, v));
                    path = after;
                }
                _ => break,
            }
        }
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .filter(|v| *v != "?")
        };
        let codes: Vec<String> = get("codes")
            .filter(|c| *c != "-")
            .map(|c| c.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        match verdict {
            None => config_codes.extend(codes),
            Some(v) => {
                let mut i = Install::unnamed(v.verdict());
                i.prefix = Some(decode_path(path));
                i.era = get("era").and_then(Era::from_detect);
                i.python = get("py").map(str::to_string);
                i.openssl = get("openssl").map(str::to_string);
                i.scope = get("scope").and_then(UserScope::from_word);
                i.codes = codes;
                tidy_codes(&mut i.codes);
                installs.push(i);
            }
        }
    }
    // Installs the line counts but does not name (cut for length).
    for (v, want) in [
        (Verdict::Healthy, counted[0]),
        (Verdict::StillBroken, counted[1]),
        (Verdict::Skipped, counted[2]),
    ] {
        let have = installs.iter().filter(|i| i.verdict == v).count();
        for _ in have..want {
            installs.push(Install::unnamed(v));
        }
    }
    tidy_codes(&mut config_codes);
    Some(Parsed {
        compliant,
        condafix_version: version,
        installs,
        config_codes,
        form: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(path: &str, verdict: LineVerdict, codes: &[&str]) -> LineInstall {
        LineInstall {
            path: path.into(),
            verdict,
            era: Some(Era::A),
            python: Some("3.7.4".into()),
            openssl: Some("1.1.1d".into()),
            scope: Some(UserScope::JustMe),
            codes: codes.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn line(installs: Vec<LineInstall>) -> Line {
        Line {
            compliant: installs.iter().all(|i| i.verdict != LineVerdict::Broken),
            condafix_version: "0.1.0".into(),
            installs,
            config: vec![LineConfig {
                place: MACHINE.into(),
                codes: vec!["T008".into()],
            }],
        }
    }

    #[test]
    fn the_line_reads_back_as_what_was_written() {
        let l = line(vec![
            inst(r"C:\ProgramData\anaconda3", LineVerdict::Healthy, &[]),
            inst(
                r"C:\Users\Jo Smith\anaconda3",
                LineVerdict::Broken,
                &["D010", "D022"],
            ),
            inst(r"C:\odd%folder", LineVerdict::Skipped, &[]),
        ]);
        let text = format(&l);
        assert!(
            text.starts_with("condafix check: NOT COMPLIANT (1 of 3 prefixes) | condafix=0.1.0 healthy=1 broken=1 skipped=1 | broken era=A py=3.7.4 openssl=1.1.1d scope=just-me codes=D010,D022 C:\\Users\\Jo Smith\\anaconda3 | config codes=T008 (machine) | skipped"),
            "{text}"
        );
        let p = parse(&format!("some output first\n{text}\n")).unwrap();
        assert_eq!(p.form, 1);
        assert!(!p.compliant);
        assert_eq!(p.condafix_version.as_deref(), Some("0.1.0"));
        assert_eq!(p.config_codes, vec!["T008".to_string()]);
        let prefixes: Vec<_> = p
            .installs
            .iter()
            .map(|i| i.prefix.clone().unwrap())
            .collect();
        assert_eq!(
            prefixes,
            [
                r"C:\Users\Jo Smith\anaconda3",
                r"C:\odd%folder",
                r"C:\ProgramData\anaconda3"
            ]
        );
        assert_eq!(p.installs[0].verdict, Verdict::StillBroken);
        assert_eq!(p.installs[0].codes, ["D010", "D022"]);
        assert_eq!(p.installs[0].era, Some(Era::A));
        assert_eq!(p.installs[0].scope, Some(UserScope::JustMe));
        assert_eq!(p.installs[1].verdict, Verdict::Skipped);
    }

    #[test]
    fn a_line_that_counts_more_installs_than_a_machine_has_is_not_read() {
        // fuzz/regressions/summary-line/oom-a384ab24…: 88 million installs were built.
        assert_eq!(
            parse("condafix check: NOT COMPLIANT (1 of 88888888 prefixes): C:\\Users\\me D010"),
            None
        );
        assert_eq!(
            parse("condafix check: compliant (2 prefixes) | condafix=0.1.0 healthy=18446744073709551615 broken=1 skipped=1"),
            None
        );
        let max = format!("condafix check: compliant ({MAX_COUNTED} prefixes)");
        assert_eq!(parse(&max).unwrap().installs.len(), MAX_COUNTED);
        let one_more = format!(
            "condafix check: compliant (1 prefixes) | condafix=0.1.0 healthy={MAX_COUNTED} broken=1 skipped=0"
        );
        assert_eq!(parse(&one_more), None);
    }

    #[test]
    fn a_path_that_looks_like_tokens_stays_a_path() {
        let l = line(vec![inst(
            "machinepy=3.7.4 openssl=1.1.1d scope=j",
            LineVerdict::Broken,
            &[],
        )]);
        let p = parse(&format(&l)).unwrap();
        assert_eq!(
            p.installs[0].prefix.as_deref(),
            Some("machinepy=3.7.4 openssl=1.1.1d scope=j")
        );
        assert_eq!(p.installs[0].python.as_deref(), Some("3.7.4"));
    }

    #[test]
    fn a_path_cannot_break_the_line_or_forge_a_segment() {
        let l = line(vec![inst(
            "/home/x|healthy era=B codes=- /fake\nnext",
            LineVerdict::Broken,
            &["D010"],
        )]);
        let text = format(&l);
        assert_eq!(text.lines().count(), 1);
        let p = parse(&text).unwrap();
        assert_eq!(p.installs.len(), 1);
        assert_eq!(
            p.installs[0].prefix.as_deref(),
            Some("/home/x|healthy era=B codes=- /fake\nnext")
        );
    }

    #[test]
    fn a_fleet_machine_with_many_installs_stays_within_2048_characters_and_counts_the_rest() {
        let installs: Vec<LineInstall> = (0..200)
            .map(|n| {
                inst(
                    &format!(
                        r"C:\Users\someone-with-a-long-name\miniconda3\envs\environment-{n:03}"
                    ),
                    if n % 3 == 0 {
                        LineVerdict::Broken
                    } else {
                        LineVerdict::Healthy
                    },
                    &["D010"],
                )
            })
            .collect();
        let text = format(&line(installs));
        assert!(
            text.chars().count() <= MAX_CHARS,
            "{}",
            text.chars().count()
        );
        assert!(text.contains(" more"), "{text}");
        let p = parse(&text).unwrap();
        assert_eq!(p.installs.len(), 200);
        let broken = p
            .installs
            .iter()
            .filter(|i| i.verdict == Verdict::StillBroken)
            .count();
        assert_eq!(broken, 67);
        // The broken ones are listed first: every named install is broken.
        assert!(p
            .installs
            .iter()
            .filter(|i| i.prefix.is_some())
            .all(|i| i.verdict == Verdict::StillBroken));
    }

    #[test]
    fn the_form_before_this_one_still_reads() {
        let p = parse("condafix check: compliant (3 prefixes)").unwrap();
        assert_eq!(p.form, 0);
        assert!(p.compliant);
        assert_eq!(p.installs.len(), 3);
        assert!(p.installs.iter().all(|i| i.verdict == Verdict::Healthy));
        let p = parse(
            r"condafix check: NOT COMPLIANT (2 of 3 prefixes): C:\Users\me\anaconda3 D010,D020; C:\x y\m3 T001; machine T008",
        )
        .unwrap();
        assert!(!p.compliant);
        let broken: Vec<_> = p
            .installs
            .iter()
            .filter(|i| i.verdict == Verdict::StillBroken)
            .map(|i| i.prefix.clone().unwrap())
            .collect();
        assert_eq!(broken, [r"C:\Users\me\anaconda3", r"C:\x y\m3"]);
        assert_eq!(p.installs.len(), 3);
        assert_eq!(p.config_codes, ["T008"]);
    }

    #[test]
    fn output_that_is_not_condafix_is_not_a_summary() {
        assert_eq!(parse("condafix.exe not found at C:\\Program Files\\condafix\\condafix.exe: deploy the condafix Win32 app first"), None);
        assert_eq!(parse("condafix check: what is this"), None);
        assert_eq!(parse(""), None);
    }
}
