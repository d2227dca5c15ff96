//! A bounded tar reader for untrusted package archives: it finds one member and hands it on as
//! a stream, and whatever the archive declares, it costs little:
//!
//! - GNU long-name and long-link entries and PAX headers are refused before they are read when
//!   they declare more than [`MAX_META_BYTES`] (a 1 KB `.tar.bz2` can declare a 6 GiB name);
//! - the bytes scanned past (headers and the data of entries before the member) are capped in
//!   total ([`MAX_SCAN_BYTES`]) and against what was decompressed from ([`MAX_RATIO`]), so an
//!   8 GiB entry ahead of the member is not decompressed through;
//! - names go through the path guard; links and unsafe names refuse the whole archive.

use std::cell::Cell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use crate::archive::{unsafe_entry_name, ArchiveError, MAX_MEMBER_BYTES};

/// A GNU long name or a PAX header of more than this is not a real one.
pub const MAX_META_BYTES: u64 = 64 * 1024;
/// Bytes of the decompressed stream scanned past before the member (a real package's tar is
/// tens of MB).
pub const MAX_SCAN_BYTES: u64 = 512 * 1024 * 1024;
/// Decompressed bytes per compressed byte read: real packages compress a few times, a bomb
/// thousands of times. Under [`RATIO_FLOOR`] decompressed bytes the ratio is not judged.
pub const MAX_RATIO: u64 = 200;
pub const RATIO_FLOOR: u64 = 64 * 1024 * 1024;

/// Counts the bytes read through it (the compressed side), shared with the scanner.
pub struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R> Counted<R> {
    pub fn new(inner: R) -> (Self, Rc<Cell<u64>>) {
        let count = Rc::new(Cell::new(0));
        (
            Self {
                inner,
                count: count.clone(),
            },
            count,
        )
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

struct Scanner<'a, R> {
    inner: R,
    archive: &'a Path,
    scanned: u64,
    compressed: Option<Rc<Cell<u64>>>,
}

fn read_exact_or_eof<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the archive ends inside a block",
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

impl<R: Read> Scanner<'_, R> {
    fn bomb(&self, why: String) -> ArchiveError {
        ArchiveError::Hostile {
            archive: self.archive.to_path_buf(),
            entry: String::new(),
            reason: why,
        }
    }

    fn io(&self, e: std::io::Error) -> ArchiveError {
        ArchiveError::Read {
            path: self.archive.to_path_buf(),
            what: "tar archive",
            source: e,
        }
    }

    /// Count `n` more scanned bytes, refusing past the caps.
    fn charge(&mut self, n: u64) -> Result<(), ArchiveError> {
        self.scanned += n;
        if self.scanned > MAX_SCAN_BYTES {
            return Err(self.bomb(format!(
                "more than {} MiB would have to be decompressed to reach the file (a decompression bomb?)",
                MAX_SCAN_BYTES >> 20
            )));
        }
        if let Some(c) = &self.compressed {
            let limit = RATIO_FLOOR.max(c.get().saturating_mul(MAX_RATIO));
            if self.scanned > limit {
                return Err(self.bomb(format!(
                    "it decompresses more than {MAX_RATIO} times its size (a decompression bomb)"
                )));
            }
        }
        Ok(())
    }

    fn block(&mut self, buf: &mut [u8; 512]) -> Result<bool, ArchiveError> {
        let ok = read_exact_or_eof(&mut self.inner, buf).map_err(|e| self.io(e))?;
        if ok {
            self.charge(512)?;
        }
        Ok(ok)
    }

    /// Skip `n` bytes of data (and its padding), charged.
    fn skip(&mut self, n: u64) -> Result<(), ArchiveError> {
        let padded = n.div_ceil(512) * 512;
        let mut left = padded;
        let mut buf = [0u8; 16 * 1024];
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            self.charge(want as u64)?;
            if !read_exact_or_eof(&mut self.inner, &mut buf[..want]).map_err(|e| self.io(e))? {
                return Err(self.io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the archive ends inside an entry",
                )));
            }
            left -= want as u64;
        }
        Ok(())
    }

    /// Read `n` bytes of metadata (a long name, a PAX header), refusing more than the cap
    /// before reading any.
    fn meta(&mut self, n: u64, what: &str) -> Result<Vec<u8>, ArchiveError> {
        if n > MAX_META_BYTES {
            return Err(self.bomb(format!(
                "a {what} of {n} bytes declared (no real one is over {MAX_META_BYTES})"
            )));
        }
        let padded = n.div_ceil(512) * 512;
        self.charge(padded)?;
        let mut buf = vec![0u8; padded as usize];
        if !read_exact_or_eof(&mut self.inner, &mut buf).map_err(|e| self.io(e))? {
            return Err(self.io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the archive ends inside a header",
            )));
        }
        buf.truncate(n as usize);
        Ok(buf)
    }
}

fn field_str(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// A numeric header field: octal text, or base-256 when its first byte has the high bit.
fn number(b: &[u8]) -> Option<u64> {
    if b.first().is_some_and(|&c| c & 0x80 != 0) {
        let mut v: u64 = u64::from(b[0] & 0x7f);
        for &c in &b[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(c))?;
        }
        return Some(v);
    }
    let t = field_str(b);
    let t = t.trim_matches(|c: char| c == ' ' || c == '\0');
    if t.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(t, 8).ok()
}

fn checksum_ok(h: &[u8; 512]) -> bool {
    let Some(want) = number(&h[148..156]) else {
        return false;
    };
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    sum == want
}

/// PAX records (`<len> key=value\n`): the keys condafix uses.
fn pax(data: &[u8]) -> (Option<String>, Option<String>, Option<u64>) {
    let (mut path, mut link, mut size) = (None, None, None);
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = rest.iter().position(|&c| c == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|t| t.parse::<usize>().ok())
        else {
            break;
        };
        if len <= sp || len > rest.len() {
            break;
        }
        let record = &rest[sp + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|&c| c == b'=') {
            let (k, v) = (
                &record[..eq],
                String::from_utf8_lossy(&record[eq + 1..]).into_owned(),
            );
            match k {
                b"path" => path = Some(v),
                b"linkpath" => link = Some(v),
                b"size" => size = v.parse().ok(),
                _ => {}
            }
        }
        rest = &rest[len..];
    }
    (path, link, size)
}

/// Find `member` (a `/` path, compared case-insensitively) in the tar stream `reader` and hand
/// it to `f`, capped at [`MAX_MEMBER_BYTES`]. `compressed`: the count of bytes read on the
/// compressed side, to judge the ratio. Every entry before it is checked: a link that leaves
/// the archive or an unsafe name refuses the whole archive.
pub fn find_member<R: Read, T>(
    reader: R,
    compressed: Option<Rc<Cell<u64>>>,
    archive: &Path,
    member: &str,
    f: impl FnOnce(&mut dyn Read) -> T,
) -> Result<Option<T>, ArchiveError> {
    let hostile = |entry: &str, reason: &str| ArchiveError::Hostile {
        archive: archive.to_path_buf(),
        entry: entry.to_string(),
        reason: reason.to_string(),
    };
    let mut s = Scanner {
        inner: reader,
        archive,
        scanned: 0,
        compressed,
    };
    let wanted = member.to_lowercase();
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut pax_next: (Option<String>, Option<String>, Option<u64>) = (None, None, None);
    let mut zero_blocks = 0;
    let mut h = [0u8; 512];
    loop {
        if !s.block(&mut h)? {
            return Ok(None);
        }
        if h.iter().all(|&b| b == 0) {
            zero_blocks += 1;
            if zero_blocks == 2 {
                return Ok(None);
            }
            continue;
        }
        zero_blocks = 0;
        if !checksum_ok(&h) {
            return Err(s.io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a tar header with a wrong checksum",
            )));
        }
        let declared =
            number(&h[124..136]).ok_or_else(|| hostile("", "a size that is not a number"))?;
        let kind = h[156];
        match kind {
            b'L' => {
                long_name = Some(field_str(&s.meta(declared, "GNU long name")?));
                continue;
            }
            b'K' => {
                long_link = Some(field_str(&s.meta(declared, "GNU long link")?));
                continue;
            }
            b'x' => {
                pax_next = pax(&s.meta(declared, "PAX header")?);
                continue;
            }
            b'g' => {
                s.meta(declared, "PAX global header")?;
                continue;
            }
            _ => {}
        }
        let (pax_path, pax_link, pax_size) = std::mem::take(&mut pax_next);
        let name = pax_path.or(long_name.take()).unwrap_or_else(|| {
            let base = field_str(&h[0..100]);
            let prefix = if &h[257..262] == b"ustar" {
                field_str(&h[345..500])
            } else {
                String::new()
            };
            if prefix.is_empty() {
                base
            } else {
                format!("{prefix}/{base}")
            }
        });
        let link = pax_link
            .or(long_link.take())
            .unwrap_or_else(|| field_str(&h[157..257]));
        let size = pax_size.unwrap_or(declared);
        if let Some(reason) = unsafe_entry_name(&name) {
            return Err(hostile(&name, &reason));
        }
        let is_link = kind == b'1' || kind == b'2';
        if is_link && unsafe_entry_name(&link).is_some() {
            return Err(hostile(
                &name,
                "it is a link that points outside the archive",
            ));
        }
        let data = if matches!(kind, b'5' | b'1' | b'2' | b'3' | b'4' | b'6') {
            0
        } else {
            size
        };
        if name.trim_start_matches("./").to_lowercase() != wanted {
            s.skip(data)?;
            continue;
        }
        if is_link {
            return Err(hostile(&name, "it is a link, not a file"));
        }
        if size > MAX_MEMBER_BYTES {
            return Err(hostile(
                &name,
                "it is larger than any DLL (a decompression bomb?)",
            ));
        }
        return Ok(Some(f(&mut (&mut s.inner).take(size))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ustar header for `name` of type `kind` declaring `size` bytes.
    fn header(name: &str, kind: u8, size: u64) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        let sz = format!("{size:011o}");
        h[124..135].copy_from_slice(sz.as_bytes());
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    fn tar(entries: &[(&str, u8, &[u8], u64)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, kind, data, declared) in entries {
            out.extend(header(name, *kind, *declared));
            out.extend(*data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend([0u8; 1024]);
        out
    }

    fn find(bytes: &[u8], member: &str) -> Result<Option<Vec<u8>>, ArchiveError> {
        find_member(bytes, None, Path::new("x.tar"), member, |r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v).unwrap();
            v
        })
    }

    #[test]
    fn the_member_is_found_past_others_and_through_a_gnu_long_name() {
        let long = format!("Library/bin/{}", "d".repeat(120));
        let t = tar(&[
            ("info/index.json", b'0', b"{}", 2),
            ("././@LongLink", b'L', long.as_bytes(), long.len() as u64),
            ("ignored", b'0', b"long", 4),
            ("Library/bin/libssl-3-x64.dll", b'0', b"MZ ssl", 6),
        ]);
        assert_eq!(find(&t, &long).unwrap(), Some(b"long".to_vec()));
        assert_eq!(
            find(&t, "library/bin/LIBSSL-3-x64.dll").unwrap(),
            Some(b"MZ ssl".to_vec())
        );
        assert_eq!(find(&t, "missing").unwrap(), None);
    }

    #[test]
    fn a_huge_declared_long_name_or_pax_header_is_refused_before_it_is_read() {
        for kind in [b'L', b'K', b'x', b'g'] {
            // Declares 6 GiB; only the header is there.
            let mut t = header("././@LongLink", kind, 6 << 30).to_vec();
            t.extend([0u8; 1024]);
            let e = find(&t, "x").unwrap_err();
            assert!(e.to_string().contains("declared"), "{e}");
        }
    }

    #[test]
    fn scanning_past_entries_is_bounded_by_the_ratio_and_the_total() {
        // An entry "ahead" of 80 MiB, read from a stream that says it decompressed from 1 KB.
        let mut t = header("big.bin", b'0', 80 << 20).to_vec();
        t.resize(512 + (80 << 20) + 512, 0);
        let (_, counter) = Counted::new(std::io::empty());
        counter.set(1024);
        let e =
            find_member(&t[..], Some(counter), Path::new("x.tar.bz2"), "m", |_| ()).unwrap_err();
        assert!(e.to_string().contains("decompression bomb"), "{e}");
    }

    #[test]
    fn links_out_and_climbing_names_refuse_the_archive() {
        let t = tar(&[("../../etc/passwd", b'0', b"x", 1)]);
        assert!(matches!(find(&t, "x"), Err(ArchiveError::Hostile { .. })));
        let mut link = header("Library/bin/libssl-3-x64.dll", b'2', 0);
        link[157..168].copy_from_slice(b"/etc/shadow");
        link[148..156].copy_from_slice(b"        ");
        let sum: u64 = link.iter().map(|&b| u64::from(b)).sum();
        link[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        let mut t = link.to_vec();
        t.extend([0u8; 1024]);
        assert!(matches!(
            find(&t, "Library/bin/libssl-3-x64.dll"),
            Err(ArchiveError::Hostile { .. })
        ));
    }
}
