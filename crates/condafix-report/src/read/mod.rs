//! Reading one input file: what it is (a zip, JSON, JSON Lines, CSV; UTF-8 with or without a
//! BOM, or UTF-16 as Windows PowerShell 5.1 writes it), then the reader for that format. Every
//! problem is a note for this file; nothing stops the run.

mod ansible;
pub mod condafix;
mod csv;
pub mod intune;
mod json;
pub mod sink;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::de::DeserializeSeed;

use crate::error::Problem;
use crate::limits::{Budget, Capped, Expansion};
use sink::Sink;

const SNIFF: usize = 4096;

/// Read a file from disk into the sink. Links are not followed.
pub fn read_file(path: &Path, sink: &mut Sink<'_>) {
    let file = match open_no_follow(path) {
        Ok(f) => f,
        Err(p) => {
            sink.note(None, &p);
            return;
        }
    };
    sink.mtime = file
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| jiff::Timestamp::try_from(t).ok());
    let mut magic = [0u8; 4];
    let mut file = file;
    let n = read_up_to(&mut file, &mut magic);
    if n == 4 && &magic == b"PK\x03\x04" {
        read_zip(file, sink);
        return;
    }
    let start = std::io::Cursor::new(magic[..n].to_vec());
    read_stream(start.chain(file), sink);
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

fn open_no_follow(path: &Path) -> Result<fs_err::File, Problem> {
    let meta = fs_err::symlink_metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Problem::Missing,
        _ => Problem::Unreadable(e.to_string()),
    })?;
    if meta.file_type().is_symlink() {
        return Err(Problem::Link);
    }
    let mut opts = fs_err::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt as _;
        // Not through a link swapped in since the check, and never blocked on a FIFO.
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = opts
        .open(path)
        .map_err(|e| Problem::Unreadable(e.to_string()))?;
    match file.metadata() {
        Ok(m) if m.is_file() => Ok(file),
        Ok(_) => Err(Problem::Unreadable("not a regular file".into())),
        Err(e) => Err(Problem::Unreadable(e.to_string())),
    }
}

/// The first bytes, for a note: printable ASCII kept, the rest as hex.
fn describe_start(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes
        .iter()
        .take(8)
        .map(|b| {
            if b.is_ascii_graphic() {
                format!("'{}'", *b as char)
            } else {
                format!("0x{b:02x}")
            }
        })
        .collect();
    shown.join(" ")
}

fn looks_binary(bytes: &[u8]) -> bool {
    let controls = bytes
        .iter()
        .filter(|b| (**b < 0x09) || (**b > 0x0d && **b < 0x20))
        .count();
    bytes.contains(&0) || controls * 10 > bytes.len().max(1)
}

enum Kind {
    Json,
    JsonLines,
    Csv(u8),
}

fn name_ends_with(name: &str, exts: &[&str]) -> bool {
    let lower = name.to_ascii_lowercase();
    exts.iter().any(|e| lower.ends_with(e))
}

/// The first bytes of a stream (up to [`SNIFF`]), and the whole stream again.
fn sniffed<'r>(mut reader: impl Read + 'r) -> (Vec<u8>, Box<dyn Read + 'r>) {
    let mut head = vec![0u8; SNIFF];
    let n = read_up_to(&mut reader, &mut head);
    head.truncate(n);
    let again = std::io::Cursor::new(head.clone()).chain(reader);
    (head, Box::new(again))
}

/// Read a stream (a file's bytes, an archive member) into the sink.
pub fn read_stream(reader: impl Read, sink: &mut Sink<'_>) {
    let (first, mut whole) = sniffed(reader);
    let (head, text): (Vec<u8>, Box<dyn Read + '_>) = match first.as_slice() {
        [0xff, 0xfe, ..] | [0xfe, 0xff, ..] => {
            let mut bom = [0u8; 2];
            let _ = read_up_to(&mut whole, &mut bom);
            sniffed(crate::limits::Utf16::new(whole, first[0] == 0xff))
        }
        [0xef, 0xbb, 0xbf, ..] => {
            let mut bom = [0u8; 3];
            let _ = read_up_to(&mut whole, &mut bom);
            (first[3..].to_vec(), whole)
        }
        _ => (first, whole),
    };
    let mut reader: Box<dyn BufRead + '_> = Box::new(BufReader::with_capacity(64 * 1024, text));
    if head.starts_with(b"PK\x03\x04") {
        sink.note(None, &Problem::NestedArchive);
        return;
    }
    if head.iter().all(u8::is_ascii_whitespace) {
        if head.is_empty() {
            sink.note(None, &Problem::Unknown("it is empty".into()));
        } else {
            sink.note(None, &Problem::Unknown("it holds only white space".into()));
        }
        return;
    }
    if looks_binary(&head) {
        sink.note(
            None,
            &Problem::Binary {
                start: describe_start(&head),
            },
        );
        return;
    }
    let first = head.iter().copied().find(|b| !b.is_ascii_whitespace());
    let kind = match first {
        Some(b'{' | b'[') if name_ends_with(&sink.name, &[".jsonl", ".ndjson"]) => Kind::JsonLines,
        Some(b'{' | b'[') => Kind::Json,
        _ => {
            let line = String::from_utf8_lossy(&head);
            let line = line.lines().next().unwrap_or("");
            let delim = csv::delimiter(line);
            if name_ends_with(&sink.name, &[".csv"]) || line.contains(delim as char) {
                Kind::Csv(delim)
            } else {
                let start: String = line.chars().take(60).collect();
                sink.note(
                    None,
                    &Problem::Unknown(format!("it starts with \"{}\"", (sink.redact)(&start))),
                );
                return;
            }
        }
    };
    match kind {
        Kind::Json => read_json(reader, sink),
        Kind::JsonLines => read_json_lines(&mut reader, sink),
        Kind::Csv(d) => csv::read(reader, d, sink),
    }
}

fn json_problem(e: &serde_json::Error, budget: &Budget, limit_mib: u64) -> Problem {
    if budget.exceeded() {
        Problem::TooLarge {
            what: "JSON value",
            limit_mib,
        }
    } else if e.is_io() {
        Problem::Unreadable(e.to_string())
    } else {
        let message = if e.is_eof() {
            "the file ends in the middle of a value".to_string()
        } else {
            let full = e.to_string();
            full.split(" at line ").next().unwrap_or(&full).to_string()
        };
        Problem::Json {
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}

/// One JSON value, or several one after another (concatenated documents).
fn read_json(reader: impl Read, sink: &mut Sink<'_>) {
    let limit_mib = sink.limits.value_mib();
    let (capped, budget) = Capped::new(reader, sink.limits.value_bytes);
    let mut de = serde_json::Deserializer::from_reader(capped);
    loop {
        budget.reset();
        let seed = json::Any {
            sink: &mut *sink,
            budget: &budget,
            depth: 0,
        };
        if let Err(e) = seed.deserialize(&mut de) {
            let p = json_problem(&e, &budget, limit_mib);
            sink.note(None, &p);
            return;
        }
        if de.end().is_ok() {
            return;
        }
    }
}

/// One JSON value per line; a bad line is noted and the next one read.
fn read_json_lines(reader: &mut dyn BufRead, sink: &mut Sink<'_>) {
    let cap = sink.limits.value_bytes;
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        number += 1;
        line.clear();
        let n = match reader.take(cap + 1).read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(e) => {
                sink.note(
                    Some(number.to_string()),
                    &Problem::Unreadable(e.to_string()),
                );
                return;
            }
        };
        if n == 0 {
            return;
        }
        if line.len() as u64 > cap && line.last() != Some(&b'\n') {
            sink.note(
                Some(number.to_string()),
                &Problem::TooLarge {
                    what: "line",
                    limit_mib: sink.limits.value_mib(),
                },
            );
            // Skip the rest of the line without keeping it.
            loop {
                let (done, used) = match reader.fill_buf() {
                    Ok([]) => return,
                    Ok(buf) => match buf.iter().position(|b| *b == b'\n') {
                        Some(i) => (true, i + 1),
                        None => (false, buf.len()),
                    },
                    Err(_) => return,
                };
                reader.consume(used);
                if done {
                    break;
                }
            }
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let budget = Budget::default();
        let mut de = serde_json::Deserializer::from_slice(&line);
        let seed = json::Any {
            sink: &mut *sink,
            budget: &budget,
            depth: 0,
        };
        let result = seed.deserialize(&mut de).and_then(|()| de.end());
        if let Err(e) = result {
            let p = json_problem(&e, &budget, sink.limits.value_mib());
            sink.note(Some(number.to_string()), &p);
        }
    }
}

/// Every member of a zip archive (not archives inside it), each expansion bounded.
fn read_zip(file: fs_err::File, sink: &mut Sink<'_>) {
    let archive_name = sink.name.clone();
    let mut archive = match zip::ZipArchive::new(file) {
        Ok(a) => a,
        Err(e) => {
            sink.note(None, &Problem::Zip(e.to_string()));
            return;
        }
    };
    for i in 0..archive.len() {
        let mut member = match archive.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                sink.switch_to(format!("{archive_name}!#{i}"));
                sink.note(None, &Problem::Zip(e.to_string()));
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        let name = match member.name() {
            Ok(n) => n.into_owned(),
            Err(_) => String::from_utf8_lossy(member.name_raw()).into_owned(),
        };
        sink.switch_to(format!("{archive_name}!{name}"));
        if member.is_symlink() {
            sink.note(None, &Problem::Link);
            continue;
        }
        if name_ends_with(&name, &[".zip"]) {
            sink.note(None, &Problem::NestedArchive);
            continue;
        }
        let declared = member.size();
        if declared > sink.limits.member_bytes {
            sink.note(
                None,
                &Problem::ZipTooLarge {
                    limit_mib: sink.limits.member_bytes >> 20,
                },
            );
            continue;
        }
        let compressed = member.compressed_size();
        let ratio = sink.limits.member_ratio;
        if declared > 1 << 20 && declared / compressed.max(1) > ratio {
            sink.note(None, &Problem::ZipBomb { ratio });
            continue;
        }
        let expansion = Expansion::new(&mut member, compressed, declared, sink.limits);
        let stopped = expansion.stopped.clone();
        let before = sink.notes.len();
        read_stream(expansion, sink);
        if let Some(p) = stopped.take() {
            // The reader saw an I/O error; say what it really was.
            sink.notes.truncate(before);
            sink.note(None, &p);
        }
    }
    sink.switch_to(archive_name);
}
