//! Bounded on every input: archives and records built to cost a reader gigabytes (a 1 KB
//! `.tar.bz2` declaring a 6 GiB long name, an entry of 8 GiB ahead of the member, a zip listing
//! 400,000 entries, a 32 MiB record whose unneeded field is millions of values, a conda-meta of
//! 200,000 records) are each run through the commands that read them; every run ends with a
//! clear answer, and the largest resident set of any of them is printed and held to a generous
//! bound. Linux only: it reads the children's peak RSS from `getrusage`; the bombs are written
//! with Python's `bz2`/`zipfile` (fast C code), so the test does not spend its time compressing.
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::Command;

use common::TestContext;
use condafix_fixtures::scenarios::{self, ScenarioName};

/// Generous: the target is 64 MiB; this catches the hundreds of MiB a regression costs.
const BOUND: u64 = 96 << 20;
/// `audit --all` over 200,000 records (one job per recorded file): 142 MiB measured.
const AUDIT_BOUND: u64 = 192 << 20;

/// Run `cmd` and return its exit code, its stderr and the peak resident set of that one process
/// (`wait4`: the Python that writes the bombs is not counted). The child is reaped by `wait4`
/// itself, so std's `wait` is not called.
#[allow(unsafe_code, clippy::zombie_processes)]
fn measured(mut cmd: Command) -> (i32, String, u64) {
    use std::io::Read as _;
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: waits for our own child; wait4 writes a whole `rusage` into the pointer.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, usage.as_mut_ptr()) };
    assert_eq!(pid, child.id() as i32);
    // SAFETY: initialised by the successful call above.
    let usage = unsafe { usage.assume_init() };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, reader.join().unwrap(), usage.ru_maxrss as u64 * 1024)
}

fn python(script: &str, args: &[&Path]) {
    let py = std::env::var("CONDAFIX_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 writes the bombs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tar header (ustar) as Python bytes, for the bombs' scripts.
const TAR_HEADER_PY: &str = r#"
import sys, bz2, zipfile, json, os
def header(name, kind, size):
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:107] = b'0000644'
    h[124:135] = ('%011o' % size).encode() if size < 8**11 else b'\0' * 11
    if size >= 8**11:
        h[124] = 0x80
        h[128:136] = size.to_bytes(8, 'big')
    h[156] = ord(kind)
    h[257:263] = b'ustar\0'
    h[148:156] = b'        '
    h[148:155] = ('%06o\0' % sum(h)).encode()
    return bytes(h)
"#;

#[test]
fn every_bomb_ends_with_an_answer_and_bounded_memory() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        ScenarioName::Anaconda201910Py37Unactivated,
        &ctx.path().join("machine"),
    );
    let p = &s.prefixes[0];
    // Staging has to look in the package cache: Library\bin has no DLLs.
    for name in ["libssl-1_1-x64.dll", "libcrypto-1_1-x64.dll"] {
        let _ = fs_err::remove_file(p.join("Library").join("bin").join(name));
    }
    let pkgs = p.join("pkgs");
    fs_err::create_dir_all(&pkgs).unwrap();
    // 1. A 1 KB .tar.bz2 declaring a 6 GiB GNU long name.
    python(
        &format!(
            "{TAR_HEADER_PY}\nopen(sys.argv[1], 'wb').write(bz2.compress(header('././@LongLink', 'L', 6 << 30) + b'a' * 4096))"
        ),
        &[&pkgs.join("openssl-1.1.1d-he774522_2.tar.bz2")],
    );
    let mut peak = 0u64;
    let mut go = |what: &str, cmd: Command| {
        let (code, stderr, rss) = measured(cmd);
        eprintln!("{what}: exit {code}, {} MiB", rss >> 20);
        peak = peak.max(rss);
        (code, stderr)
    };
    let stage_dry = || {
        let mut c = ctx.on("stage", &s);
        c.arg("--dry-run");
        c
    };
    let (code, stderr) = go("long-name bomb", stage_dry());
    assert!(code <= 2, "{stderr}");
    // 2. An entry declaring 8 GiB (zeros follow) ahead of the member.
    python(
        &format!(
            "{TAR_HEADER_PY}\nc = bz2.BZ2Compressor()\nf = open(sys.argv[1], 'wb')\nf.write(c.compress(header('big.bin', '0', 8 << 30)))\nz = bytes(1 << 20)\nfor _ in range(200): f.write(c.compress(z))\nf.write(c.flush())"
        ),
        &[&pkgs.join("openssl-1.1.1d-he774522_2.tar.bz2")],
    );
    let (code, stderr) = go("8 GiB entry ahead", stage_dry());
    assert!(code <= 2, "{stderr}");
    assert!(
        stderr.contains("bomb"),
        "the scan stopped and says why: {stderr}"
    );
    // 3. An offline bundle listing 400,000 entries.
    let bundle = ctx.path().join("bundle.zip");
    python(
        "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED)\nfor i in range(400000): z.writestr('f%d' % i, b'')\nz.close()",
        &[&bundle],
    );
    let (code, stderr) = go("400,000-entry zip", {
        let mut c = ctx.on("stage", &s);
        c.arg("--from").arg(&bundle).arg("--dry-run");
        c
    });
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("400000 entries"), "{stderr}");
    // 4. A 32 MiB python record whose `noarch` is millions of values, and 200,000 records.
    let meta = p.join("conda-meta");
    python(
        "import sys, json, glob, os\np = glob.glob(os.path.join(sys.argv[1], 'python-*.json'))[0]\nr = json.load(open(p))\ns = json.dumps(r)\nn = (32 * 1024 * 1024 - len(s) - 100) // 2\nr['noarch'] = None\ns = json.dumps(r).replace('\"noarch\": null', '\"noarch\": [' + ','.join(['0'] * n) + ']')\nopen(p, 'w').write(s)\nfor i in range(200000):\n    n = 'pkg%06d' % i\n    open(os.path.join(sys.argv[1], n + '-1.0-0.json'), 'w').write(json.dumps({'name': n, 'version': '1.0', 'build': '0', 'files': ['Lib/' + n + '.py']}))",
        &[&meta],
    );
    for (sub, extra) in [
        ("detect", &["--json"][..]),
        ("check", &[][..]),
        ("stage", &["--dry-run"][..]),
        ("config", &["--remove-insecure", "--dry-run"][..]),
    ] {
        let (code, stderr) = go(&format!("{sub} over the record bombs"), {
            let mut c = ctx.on(sub, &s);
            c.args(extra);
            c
        });
        assert!(code <= 2, "{sub}: {stderr}");
    }
    // audit --all checks every file of every record: it holds one job per file (200,000
    // here) and lists the first 10,000 problems, so its bound is its own.
    let (code, stderr, rss) = measured({
        let mut c = ctx.on("audit", &s);
        c.args(["--all", "--json"]);
        c
    });
    eprintln!(
        "audit --all over the record bombs: exit {code}, {} MiB",
        rss >> 20
    );
    assert!(code <= 2, "audit: {stderr}");
    assert!(rss < AUDIT_BOUND, "audit used {} MiB", rss >> 20);
    eprintln!(
        "largest resident set of any run over the bombs: {} MiB (bound {} MiB)",
        peak >> 20,
        BOUND >> 20
    );
    assert!(peak < BOUND, "a run used {} MiB", peak >> 20);
}
