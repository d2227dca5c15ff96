//! `condafix report`: a generated fleet (every verdict, era and error or warning finding code)
//! in every input format, read into one summary whose outputs agree; Intune's and Ansible's
//! formats give the same numbers as the documents they came from; `check` and `post-install`
//! drop documents with `--report-dir` that the report reads back.

mod common;

use std::path::Path;

use common::fleet::{self as gen, report, summary};
use common::{run, TestContext};
use condafix_fixtures::fleet::{self, Vintage};
use insta_cmd::assert_cmd_snapshot;

/// A share as a fleet fills it: today's documents, yesterday's and the day before's (the
/// history), first-version documents without host or time, `check` documents, Intune's Graph
/// export with a device whose detection script found no condafix, a device not heard from for
/// a month, a stage document, and a half-written file.
fn share(ctx: &TestContext) -> std::path::PathBuf {
    let share = ctx.path().join("share");
    let today = gen::devices(40, 59, 7);
    gen::write_post_install(&share, &today, Vintage::Current);
    gen::write_post_install(
        &share.join("history"),
        &fleet::before(&today, 1),
        Vintage::Current,
    );
    gen::write_post_install(
        &share.join("history"),
        &fleet::before(&today, 2),
        Vintage::Current,
    );
    let mut old = gen::devices(3, 59, 8);
    for (n, d) in old.iter_mut().enumerate() {
        d.host = format!("OLD-{n}");
        d.condafix_version = "0.0.5".into();
    }
    gen::write_post_install(&share.join("old"), &old, Vintage::Schema2);
    let mut lab = gen::devices(3, 59, 9);
    for (n, d) in lab.iter_mut().enumerate() {
        d.host = format!("LAB-{n}");
    }
    gen::write_detect(&share.join("check"), &lab);
    let mut kiosks = gen::devices(2, 58, 10);
    for (n, d) in kiosks.iter_mut().enumerate() {
        d.host = format!("KIOSK-{n}");
    }
    let mut graph = fleet::graph_run_states(&kiosks);
    graph["value"][1]["preRemediationDetectionScriptOutput"] = serde_json::json!(
        "condafix.exe not found at C:\\Program Files\\condafix\\condafix.exe: deploy the condafix Win32 app first"
    );
    graph["value"][1]["postRemediationDetectionScriptOutput"] = serde_json::Value::Null;
    fs_err::write(
        share.join("intune-runstates.json"),
        serde_json::to_string_pretty(&graph).unwrap(),
    )
    .unwrap();
    let mut gone = gen::devices(1, 28, 11);
    gone[0].host = "ON-LEAVE".into();
    gen::write_post_install(&share.join("history"), &gone, Vintage::Current);
    let stage = serde_json::json!({
        "schema_version": 2, "condafix_version": "0.1.0",
        "build": {"commit": "x", "date": "2025-01-01", "target": "x86_64-pc-windows-msvc"},
        "host": "PC-00001", "time": "2025-03-01T23:00:00Z",
        "dry_run": true, "changed": false, "prefixes": [{"plan": {"prefix": "C:\\x"}, "remaining": [], "applied": null}],
    });
    fs_err::write(share.join("PC-00001-stage.json"), stage.to_string()).unwrap();
    let whole =
        serde_json::to_string(&fleet::post_install_document(&today[0], Vintage::Current)).unwrap();
    fs_err::write(
        share.join("PC-99999-20250301T000000Z.json"),
        &whole[..whole.len() / 2],
    )
    .unwrap();
    share
}

#[test]
fn the_summary_of_a_generated_fleet_covering_every_verdict_era_and_finding() {
    let ctx = TestContext::new();
    let share = share(&ctx);
    let (code, v) = summary(&ctx, &[share.to_str().unwrap()]);
    assert_eq!(code, 1, "still broken devices: exit 1");
    // Every verdict, era and error or warning code is in the summary.
    for key in ["healthy", "fixed", "still-broken", "skipped"] {
        let n = v["installs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .unwrap()["count"]
            .as_u64()
            .unwrap();
        assert!(n > 0, "no {key} install");
    }
    for key in ["still-broken", "no-result", "fixed", "healthy"] {
        assert!(
            v["devices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["key"] == key && c["count"].as_u64().unwrap() > 0),
            "no {key} device"
        );
    }
    let eras: Vec<&str> = v["eras"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(eras, ["A", "B", "C", "unknown"]);
    let (errors, warnings) = gen::codes();
    let found: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for (c, _) in errors.iter().chain(&warnings) {
        assert!(found.contains(&c.as_str()), "{c} is not in the summary");
    }
    ctx.settings().bind(|| {
        assert_cmd_snapshot!(
            "report_fleet_summary",
            report(&ctx, &[share.to_str().unwrap(), "--json"])
        );
        // Without an output: the report for people, on stderr.
        assert_cmd_snapshot!(
            "report_fleet_text",
            report(&ctx, &[share.to_str().unwrap()])
        );
    });
}

fn counts(v: &serde_json::Value, section: &str) -> Vec<(String, u64)> {
    v[section]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_string(),
                c["count"].as_u64().or(c["total"].as_u64()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_page_the_csv_and_the_events_carry_the_same_numbers_as_the_json() {
    let ctx = TestContext::new();
    let share = share(&ctx);
    let out = ctx.path().join("out");
    let (page, csv, events) = (
        out.join("fleet.html"),
        out.join("fleet.csv"),
        out.join("events.ndjson"),
    );
    let (_, v) = summary(
        &ctx,
        &[
            share.to_str().unwrap(),
            "-o",
            page.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
            "--ndjson",
            events.to_str().unwrap(),
        ],
    );
    // CSV: the devices and installs sections hold the JSON's counts.
    let text = fs_err::read_to_string(&csv).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    for section in ["devices", "installs"] {
        let from_csv: Vec<(String, u64)> = rows
            .iter()
            .filter(|r| &r[0] == section)
            .map(|r| (r[1].to_string(), r[2].parse().unwrap()))
            .collect();
        assert_eq!(from_csv, counts(&v, section), "{section}");
    }
    let from_csv: Vec<(String, u64)> = rows
        .iter()
        .filter(|r| &r[0] == "era")
        .map(|r| (r[1].to_string(), r[2].parse().unwrap()))
        .collect();
    assert_eq!(from_csv, counts(&v, "eras"));
    // NDJSON: one event per install, each valid against the published schema.
    let installs: u64 = counts(&v, "installs").iter().map(|c| c.1).sum();
    let lines: Vec<serde_json::Value> = fs_err::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, installs);
    for e in &lines {
        common::schema::assert_valid("report-event", e);
        assert_eq!(e["event"], "condafix.install");
        assert!(
            e.as_object().unwrap().values().all(|v| !v.is_object()),
            "flat: {e}"
        );
    }
    // The page: every number of the devices table is there, and every chart has its table.
    let html = fs_err::read_to_string(&page).unwrap();
    for (key, n) in counts(&v, "devices") {
        assert!(
            html.contains(&format!("<td>{key}</td><td class=\"n\">{n}</td>")),
            "{key} {n}"
        );
    }
    assert_eq!(
        html.matches("<svg").count(),
        html.matches("<figure").count() - html.matches("class=\"muted\">No ").count()
    );
    assert!(!html.contains("<script"), "no script on the page");
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("http://www.w3.org/2000/svg").count()
    );
}

#[test]
fn intune_and_ansible_exports_give_the_same_numbers_as_the_documents_they_came_from() {
    let ctx = TestContext::new();
    let devices = gen::devices(21, 59, 3);
    let docs = ctx.path().join("docs");
    gen::write_post_install(&docs, &devices, Vintage::Current);
    let graph = ctx.path().join("runstates.json");
    fs_err::write(
        &graph,
        serde_json::to_string_pretty(&fleet::graph_run_states(&devices)).unwrap(),
    )
    .unwrap();
    let csv = ctx.path().join("DeviceStatus.csv");
    fs_err::write(&csv, fleet::intune_csv(&devices)).unwrap();
    let ansible = ctx.path().join("ansible.json");
    fs_err::write(
        &ansible,
        serde_json::to_string_pretty(&fleet::ansible_json(&devices)).unwrap(),
    )
    .unwrap();
    let (_, want) = summary(&ctx, &[docs.to_str().unwrap()]);
    let compared = [
        "devices",
        "installs",
        "findings",
        "eras",
        "pythons",
        "openssl",
        "scopes",
        "condafix_versions",
    ];
    for input in [&graph, &csv, &ansible] {
        let (_, got) = summary(&ctx, &[input.to_str().unwrap()]);
        assert_eq!(got["notes"], serde_json::json!([]), "{}", input.display());
        for section in compared {
            let strip = |v: &serde_json::Value| -> serde_json::Value {
                // The fix texts differ by source: the documents carry condafix's own, a
                // summary line carries none (the catalog's is used).
                let mut v = v[section].clone();
                if let Some(rows) = v.as_array_mut() {
                    for r in rows {
                        r.as_object_mut().unwrap().remove("fix");
                    }
                }
                v
            };
            assert_eq!(
                strip(&got),
                strip(&want),
                "{section} from {} differs",
                input.display()
            );
        }
        let hosts = |v: &serde_json::Value| -> Vec<String> {
            v["attention"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["host"].as_str().unwrap().to_uppercase())
                .collect()
        };
        assert_eq!(hosts(&got), hosts(&want), "{}", input.display());
    }
}

#[test]
fn powershell_utf16_graph_output_reads_the_same_as_utf8() {
    let ctx = TestContext::new();
    let devices = gen::devices(5, 59, 4);
    let text = serde_json::to_string_pretty(&fleet::graph_run_states(&devices)).unwrap();
    let utf8 = ctx.path().join("utf8.json");
    fs_err::write(&utf8, &text).unwrap();
    let utf16 = ctx.path().join("utf16.json");
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    fs_err::write(&utf16, bytes).unwrap();
    let (_, a) = summary(&ctx, &[utf8.to_str().unwrap()]);
    let (_, b) = summary(&ctx, &[utf16.to_str().unwrap()]);
    assert_eq!(a["devices"], b["devices"]);
    assert_eq!(a["findings"], b["findings"]);
    assert_eq!(b["notes"], serde_json::json!([]));
}

#[test]
fn graph_run_states_without_the_expanded_device_are_named_by_id_with_a_note_saying_how() {
    let ctx = TestContext::new();
    let devices = gen::devices(3, 59, 6);
    let mut graph = fleet::graph_run_states(&devices);
    for entry in graph["value"].as_array_mut().unwrap() {
        entry.as_object_mut().unwrap().remove("managedDevice");
    }
    let path = ctx.path().join("no-expand.json");
    fs_err::write(&path, graph.to_string()).unwrap();
    let (_, v) = summary(&ctx, &[path.to_str().unwrap()]);
    assert_eq!(v["inputs"]["devices"], 3);
    let notes = v["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes[0]["problem"]
            .as_str()
            .unwrap()
            .contains("?$expand=managedDevice"),
        "{notes:?}"
    );
}

#[test]
fn a_zip_of_documents_and_json_lines_read_like_the_files() {
    use std::io::Write as _;
    let ctx = TestContext::new();
    let devices = gen::devices(6, 59, 5);
    let dir = ctx.path().join("files");
    gen::write_post_install(&dir, &devices, Vintage::Current);
    let zip_path = ctx.path().join("reports.zip");
    let mut zip = zip::ZipWriter::new(fs_err::File::create(&zip_path).unwrap());
    let mut lines = String::new();
    for d in &devices {
        let doc = fleet::post_install_document(d, Vintage::Current);
        zip.start_file(
            format!("share/{}", gen::file_name(d)),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(serde_json::to_string_pretty(&doc).unwrap().as_bytes())
            .unwrap();
        lines.push_str(&doc.to_string());
        lines.push('\n');
    }
    zip.finish().unwrap();
    let jsonl = ctx.path().join("all.jsonl");
    fs_err::write(&jsonl, lines).unwrap();
    let (_, want) = summary(&ctx, &[dir.to_str().unwrap()]);
    for input in [&zip_path, &jsonl] {
        let (_, got) = summary(&ctx, &[input.to_str().unwrap()]);
        assert_eq!(got["devices"], want["devices"], "{}", input.display());
        assert_eq!(got["findings"], want["findings"], "{}", input.display());
        assert_eq!(got["inputs"]["documents"], 6, "{}", input.display());
    }
    // A pattern, as Windows shells leave it to the program.
    let pattern = dir.join("nothing-*.json");
    let (_, none) = summary(&ctx, &[&format!("{}", dir.join("*.json").display())]);
    assert_eq!(none["inputs"]["documents"], 6);
    let r = run(report(&ctx, &[pattern.to_str().unwrap()]));
    assert_eq!(r.code, 2, "a pattern that matches nothing: {}", r.stderr);
    assert!(r.stderr.contains("nothing to read"), "{}", r.stderr);
}

/// What a second run of the same command on the same machine does within the same second.
fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs_err::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn check_and_post_install_drop_documents_the_report_reads_back() {
    use condafix_fixtures::scenarios::{self, ScenarioName};
    let ctx = TestContext::new();
    let s = scenarios::build(ScenarioName::Anaconda201910Py37Unactivated, ctx.path());
    let dir = ctx.path().join("share");
    let mut check = ctx.on("check", &s);
    check
        .env("COMPUTERNAME", "PC-LAB-7")
        .arg("--report-dir")
        .arg(&dir);
    let r = run(check);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The summary line: the installs' era, Python, OpenSSL and codes, read back by the report.
    let line = r.stdout.trim();
    assert!(
        line.starts_with("condafix check: NOT COMPLIANT (1 of 1 prefix) | condafix="),
        "{line}"
    );
    assert!(
        line.contains(" broken era=A py=3.7.4 openssl=1.1.1d scope=just-me codes=D010"),
        "{line}"
    );
    let parsed = condafix_report::summary_line::parse(line).unwrap();
    assert_eq!(parsed.installs.len(), 1);
    let files = files_in(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].starts_with("PC-LAB-7-2") && files[0].ends_with("Z.json"),
        "{files:?}"
    );
    let raw = fs_err::read_to_string(dir.join(&files[0])).unwrap();
    assert_eq!(
        raw.matches("\"schema_version\"").count(),
        1,
        "one document: {raw}"
    );
    let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
    common::schema::assert_valid("detect", &doc);
    assert_eq!(doc["host"], "PC-LAB-7");

    let mut fix = ctx.on("post-install", &s);
    fix.env("COMPUTERNAME", "PC-LAB-7")
        .args(["--no-verify", "--report-dir"])
        .arg(&dir);
    let r = run(fix);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let files = files_in(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    for f in &files {
        let raw = fs_err::read_to_string(dir.join(f)).unwrap();
        assert_eq!(raw.matches("\"host\"").count(), 1, "one document: {raw}");
        let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
        if doc.get("exit_code").is_some() {
            common::schema::assert_valid("post-install", &doc);
            assert_eq!(doc["prefixes"][0]["era"], "A");
            assert_eq!(doc["prefixes"][0]["python_version"], "3.7.4");
            assert_eq!(doc["prefixes"][0]["scope"], "just-me");
        }
    }
    // The post-install document is the newer one: the device is fixed, its check the history.
    let (code, v) = summary(&ctx, &[dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["inputs"]["devices"], 1);
    assert_eq!(v["inputs"]["history"], 1);
    let fixed = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "fixed")
        .unwrap();
    assert_eq!(fixed["count"], 1, "{v}");
}

#[cfg(unix)]
#[test]
fn a_report_dir_that_cannot_be_written_is_a_warning_and_the_fix_still_succeeds() {
    use condafix_fixtures::scenarios::{self, ScenarioName};
    let ctx = TestContext::new();
    let s = scenarios::build(ScenarioName::Anaconda201910Py37Unactivated, ctx.path());
    // The share is a link to a folder someone else chose: nothing is written through it.
    let elsewhere = ctx.path().join("elsewhere");
    fs_err::create_dir_all(&elsewhere).unwrap();
    let link = ctx.path().join("share");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let mut fix = ctx.on("post-install", &s);
    fix.args(["--no-verify", "--json", "--report-dir"])
        .arg(&link);
    let r = run(fix);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("condafix: warning: the report document could not be written")
            && r.stderr.contains("is a link"),
        "{}",
        r.stderr
    );
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["prefixes"][0]["verdict"], "fixed");
    assert!(files_in(&elsewhere).is_empty());
    // A file where the folder should be: the same.
    let file = ctx.path().join("not-a-folder");
    fs_err::write(&file, "x").unwrap();
    let mut check = ctx.on("check", &s);
    check.arg("--report-dir").arg(&file);
    let r = run(check);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("is not a folder"), "{}", r.stderr);
    assert!(
        r.stdout.starts_with("condafix check: compliant"),
        "{}",
        r.stdout
    );
}

#[test]
fn report_help_teaches_the_inputs_the_outputs_and_the_exit_codes() {
    let ctx = TestContext::new();
    let mut cmd = ctx.command();
    cmd.args(["report", "--help"]);
    ctx.settings()
        .bind(|| assert_cmd_snapshot!("report_help", cmd));
}

#[test]
fn only_one_output_may_use_stdout() {
    let ctx = TestContext::new();
    let r = run(report(&ctx, &[".", "--json", "--ndjson", "-"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("only one of --json, --csv - and --ndjson -"),
        "{}",
        r.stderr
    );
}
