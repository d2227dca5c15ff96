//! Targets for text condafix parses or rewrites: the path guard, the credential redaction
//! (idempotent and complete), what `condafix report` reads from a fleet, and `check`'s summary
//! line.

use std::path::Path;

use condafix_prefix::guard::{bare_file_name, RelPath};

pub fn guard_seeds() -> Vec<Vec<u8>> {
    [
        "Library/bin/libssl-3-x64.dll",
        "DLLs\\_ssl.pyd",
        "../../x",
        "C:\\Windows\\x.dll",
        "DLLs/NUL.dll",
        ".condafix/backup/txn-0001/DLLs/x.dll",
        "a/./b",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

pub fn run_guard(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(rel) = RelPath::parse(&text) {
        let root = Path::new("/prefix");
        let p = rel.under(root);
        assert!(
            p.starts_with(root),
            "{text:?} left the root: {}",
            p.display()
        );
        assert!(
            p.components().all(|c| matches!(
                c,
                std::path::Component::RootDir | std::path::Component::Normal(_)
            )),
            "{text:?} kept a special component: {}",
            p.display()
        );
        assert!(
            rel.components()
                .all(|c| c != ".." && c != "." && !c.is_empty()),
            "{text:?} kept a `..`, `.` or empty component"
        );
    }
    if let Ok(name) = bare_file_name(&text) {
        assert!(!name.contains(['/', '\\']), "{text:?} is not bare");
    }
}

pub fn redact_seeds() -> Vec<Vec<u8>> {
    [
        "proxy = http://user:pass@proxy:8080",
        "https://TOKEN@pkgs.dev.azure.com/x",
        "u:p@h:1 and x@y",
        "channel_alias: https://conda.anaconda.org/t/tk-123456789/",
        "C:\\Users\\me@corp\\x",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

pub fn run_redact(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let once = condafix_detect::redact::redact_credentials(&text);
    let twice = condafix_detect::redact::redact_credentials(&once);
    assert_eq!(once, twice, "redaction is not idempotent for {text:?}");
}

pub fn run_text(data: &[u8]) {
    let _ = condafix_prefix::text::decode_text(data);
}

/// What a fleet sends, in every format `condafix report` reads.
pub fn report_seeds() -> Vec<Vec<u8>> {
    use condafix_fixtures::fleet;
    let errors = vec![("D010".to_string(), "stage it".to_string())];
    let warnings = vec![("D022".to_string(), "adopt it".to_string())];
    let devices = fleet::generated(3, 59, &errors, &warnings, 1);
    let mut v = vec![
        fleet::post_install_document(&devices[1], fleet::Vintage::Current)
            .to_string()
            .into_bytes(),
        fleet::post_install_document(&devices[2], fleet::Vintage::Schema2)
            .to_string()
            .into_bytes(),
        fleet::detect_document(&devices[0]).to_string().into_bytes(),
        fleet::graph_run_states(&devices).to_string().into_bytes(),
        fleet::intune_csv(&devices).into_bytes(),
        fleet::ansible_json(&devices[..1]).to_string().into_bytes(),
    ];
    let text = String::from_utf8(v[3].clone()).unwrap_or_default();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    v.push(utf16);
    v
}

pub fn run_report_input(data: &[u8]) {
    let redact = |s: &str| condafix_detect::redact::redact_credentials(s);
    for name in ["fuzz.json", "fuzz.jsonl", "fuzz.csv"] {
        let (observations, notes) =
            condafix_report::read_bytes(name, data, condafix_report::Limits::default(), &redact);
        for n in &notes {
            assert!(
                !n.kind.is_empty() && !n.problem.is_empty(),
                "an empty note: {n:?}"
            );
        }
        for o in &observations {
            assert!(!o.host.trim().is_empty(), "a device without a name: {o:?}");
        }
    }
}

pub fn summary_line_seeds() -> Vec<Vec<u8>> {
    [
        "condafix check: compliant (3 prefixes)",
        "condafix check: NOT COMPLIANT (1 of 3 prefixes): C:\\Users\\me\\anaconda3 D010; machine T008",
        "condafix check: NOT COMPLIANT (1 of 2 prefixes) | condafix=0.1.0 healthy=1 broken=1 skipped=0 | broken era=A py=3.7.4 openssl=1.1.1d scope=just-me codes=D010,D022 C:\\Users\\me\\anaconda3 | healthy era=B py=3.12.7 openssl=3.0.15 scope=all-users codes=- C:\\ProgramData\\anaconda3 | +2 more",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// Parsing a summary line never panics, and a line written from what was parsed reads back
/// as the same installs.
pub fn run_summary_line(data: &[u8]) {
    use condafix_report::summary_line::{self, Line, LineInstall, LineVerdict};
    let text = String::from_utf8_lossy(data);
    let Some(parsed) = summary_line::parse(&text) else {
        return;
    };
    let installs: Vec<LineInstall> = parsed
        .installs
        .iter()
        .filter_map(|i| {
            Some(LineInstall {
                path: i.prefix.clone()?,
                verdict: match i.verdict {
                    condafix_report::Verdict::StillBroken => LineVerdict::Broken,
                    condafix_report::Verdict::Skipped => LineVerdict::Skipped,
                    _ => LineVerdict::Healthy,
                },
                era: i.era,
                python: None,
                openssl: None,
                scope: i.scope,
                codes: Vec::new(),
            })
        })
        .collect();
    let line = summary_line::format(&Line {
        compliant: parsed.compliant,
        condafix_version: "0.1.0".into(),
        installs: installs.clone(),
        config: Vec::new(),
    });
    assert!(line.chars().count() <= summary_line::MAX_CHARS, "{line}");
    assert_eq!(line.lines().count(), 1, "{line:?}");
    let again = summary_line::parse(&line).expect("a line condafix wrote reads back");
    if !line.contains(" more") {
        let paths: Vec<Option<String>> = again.installs.iter().map(|i| i.prefix.clone()).collect();
        let mut want: Vec<Option<String>> = installs.iter().map(|i| Some(i.path.clone())).collect();
        let mut got = paths;
        want.sort();
        got.sort();
        assert_eq!(got, want, "{line}");
    }
}

#[derive(Debug, arbitrary::Arbitrary)]
struct Credential {
    /// Which form: `scheme://user:secret@host`, `scheme://token@host`, `user:secret@host:port`
    /// without a scheme, anaconda.org's `/t/<token>/`.
    form: u8,
    user: String,
    secret: String,
    host: String,
}

#[derive(Debug, arbitrary::Arbitrary)]
struct CredentialText {
    pieces: Vec<(String, Credential)>,
}

fn only(s: &str, keep: impl Fn(char) -> bool, or: &str) -> String {
    let v: String = s.chars().filter(|&c| keep(c)).take(24).collect();
    if v.is_empty() {
        or.to_string()
    } else {
        v
    }
}

/// Redaction is complete: every credential, in each form pip, conda and requests accept, set in
/// any text (whitespace around it), is gone from the redacted text.
pub fn run_redact_complete(data: &[u8]) {
    use arbitrary::Arbitrary as _;
    let Ok(arb) = CredentialText::arbitrary_take_rest(arbitrary::Unstructured::new(data)) else {
        return;
    };
    let mut text = String::new();
    for (filler, c) in arb.pieces.iter().take(8) {
        // The marker only ever appears in a secret.
        text.push_str(&filler.replace("SECRET", "secret"));
        // A user name stays (`user:****`): it must not hold the marker (a campaign's first find
        // was this, in the target).
        let user = only(&c.user, |c| c.is_ascii_alphanumeric(), "u").replace("SECRET", "secret");
        let secret = format!(
            "SECRET{}",
            only(
                &c.secret,
                |c| c.is_ascii_alphanumeric() || "-_".contains(c),
                "0"
            )
        );
        let host = only(
            &c.host,
            |c| c.is_ascii_alphanumeric() || c == '.',
            "proxy.corp",
        )
        .replace("SECRET", "secret");
        let host = if host.starts_with('.') {
            format!("h{host}")
        } else {
            host
        };
        let scheme = ["http", "https", "socks5"][usize::from(c.form / 4) % 3];
        let cred = match c.form % 4 {
            0 => format!("{scheme}://{user}:{secret}@{host}/simple"),
            1 => format!("{scheme}://{secret}@{host}/"),
            2 => format!("{user}:{secret}@{host}:3128"),
            _ => format!("https://conda.anaconda.org/t/{secret}-12345678/main"),
        };
        text.push(' ');
        text.push_str(&cred);
        text.push(' ');
    }
    let out = condafix_detect::redact::redact_credentials(&text);
    assert!(
        !out.contains("SECRET"),
        "a credential survived redaction:\n{text:?}\n{out:?}"
    );
}
