//! No credential reaches any output: a table of every form pip, conda and requests accept
//! (URL userinfo, a token in the user position, a `%40`-encoded password, scheme-less
//! `user:pass@host`, anaconda.org `/t/<token>/`, in `index-url`, `extra-index-url`,
//! `find-links`, `proxy`, `proxy_servers`, `channel_alias`, `custom_channels` and proxy
//! variables) is planted, every command is run in every output mode (human text, `--json`, the
//! log, the GitHub files, the support bundle), and none of the secrets may appear anywhere.

mod common;

use std::io::Read as _;

use common::{run, TestContext};
use condafix_fixtures::scenarios::{self, ScenarioName};

const SECRETS: &[&str] = &[
    "TOKEN1SECRET",
    "P4SS2SECRET",
    "SS3SECRET",
    "PROXYPASS4SECRET",
    "CONDAPASS5SECRET",
    "CONDAPASS6SECRET",
    "SECRETTOKEN7",
    "CUSTOMPASS8SECRET",
    "ENVPASS9SECRET",
    "CLIPASS10SECRET",
];

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} shows the secret {s}:\n{text}");
    }
}

#[test]
fn no_credential_in_any_form_reaches_any_output() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        ScenarioName::Anaconda202410Py312DefaultMode,
        &ctx.path().join("machine"),
    );
    let prefix = &s.prefixes[0];
    fs_err::write(
        prefix.join("pip.ini"),
        "[global]\n\
         index-url = https://TOKEN1SECRET@pkgs.dev.azure.com/org/_packaging/feed/pypi/simple/\n\
         extra-index-url = https://user:P4SS2SECRET@idx.corp/simple\n\
         find-links = https://u:p%40SS3SECRET@links.corp/\n\
         proxy = puser:PROXYPASS4SECRET@proxy.corp:3128\n",
    )
    .unwrap();
    fs_err::write(
        prefix.join(".condarc"),
        "proxy_servers:\n  http: cuser:CONDAPASS5SECRET@proxy.corp:8080\n  https: http://cuser:CONDAPASS6SECRET@proxy.corp:8080\n\
         channel_alias: https://conda.anaconda.org/t/tk-SECRETTOKEN7/\n\
         custom_channels:\n  corp: https://cu:CUSTOMPASS8SECRET@conda.corp\n",
    )
    .unwrap();
    let gh = ctx.path().join("gh");
    fs_err::create_dir_all(&gh).unwrap();
    let log = ctx.path().join("post-install.log");
    let zip = ctx.path().join("support.zip");
    let runs: Vec<(&str, Vec<String>)> = vec![
        ("detect", vec![]),
        ("detect", vec!["--json".into()]),
        ("check", vec![]),
        ("stage", vec!["--dry-run".into()]),
        ("stage", vec!["--json".into()]),
        (
            "config",
            vec![
                "--dry-run".into(),
                "--proxy".into(),
                "http://a:CLIPASS10SECRET@p.corp:1".into(),
            ],
        ),
        (
            "config",
            vec![
                "--json".into(),
                "--proxy".into(),
                "http://a:CLIPASS10SECRET@p.corp:1".into(),
            ],
        ),
        (
            "verify",
            vec!["--json".into(), "--timeout".into(), "5".into()],
        ),
        ("audit", vec!["--json".into()]),
        (
            "post-install",
            vec![
                "--no-verify".into(),
                "--log-file".into(),
                log.display().to_string(),
            ],
        ),
        (
            "post-install",
            vec![
                "--json".into(),
                "--no-verify".into(),
                "--proxy".into(),
                "http://a:CLIPASS10SECRET@p.corp:1".into(),
            ],
        ),
        ("undo", vec![]),
        ("undo", vec!["--json".into()]),
        ("bundle", vec!["-o".into(), zip.display().to_string()]),
    ];
    for (sub, extra) in &runs {
        let r = run({
            let mut c = ctx.on(sub, &s);
            c.args(extra)
                .env("HTTPS_PROXY", "http://eu:ENVPASS9SECRET@proxy.corp:8080")
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", gh.join("summary.md"))
                .env("GITHUB_OUTPUT", gh.join("output"))
                .env("GITHUB_ENV", gh.join("env"))
                .env("GITHUB_PATH", gh.join("path"));
            c
        });
        let what = format!("condafix {sub} {}", extra.join(" "));
        assert!(r.code != 2 || *sub == "verify", "{what}: {}", r.stderr);
        assert_clean(&format!("{what} (stdout)"), &r.stdout);
        assert_clean(&format!("{what} (stderr)"), &r.stderr);
    }
    assert!(log.is_file(), "the log was written");
    assert_clean("the log", &fs_err::read_to_string(&log).unwrap());
    for f in ["summary.md", "output", "env", "path"] {
        if let Ok(text) = fs_err::read_to_string(gh.join(f)) {
            assert_clean(&format!("${f}"), &text);
        }
    }
    let mut z = zip::ZipArchive::new(fs_err::File::open(&zip).unwrap()).unwrap();
    assert!(
        z.len() >= 3,
        "the bundle holds the report and the config files"
    );
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        assert_clean(&format!("support.zip :: {name}"), &text);
    }
}
