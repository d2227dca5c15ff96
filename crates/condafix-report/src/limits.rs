//! Bounds on what one input may cost: nothing is read whole, a value that grows past its cap
//! stops being read, an archive member that expands too far stops being expanded. Memory stays
//! bounded by these caps times the number of worker threads, whatever the input.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

const MIB: u64 = 1 << 20;

/// The caps; the defaults are documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// One JSON value: a whole document, one Graph entry, one Ansible host result, one line of
    /// JSON Lines.
    pub value_bytes: u64,
    /// One CSV record.
    pub csv_record_bytes: u64,
    /// What one archive member may expand to.
    pub member_bytes: u64,
    /// How much larger than its compressed size a member may expand.
    pub member_ratio: u64,
    /// Folders deep below a folder given on the command line.
    pub depth: usize,
    /// Problems listed per file (the rest are counted).
    pub notes_per_file: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            value_bytes: 16 * MIB,
            csv_record_bytes: MIB,
            member_bytes: 1024 * MIB,
            member_ratio: 1000,
            depth: 32,
            notes_per_file: 5,
        }
    }
}

impl Limits {
    pub fn value_mib(&self) -> u64 {
        self.value_bytes / MIB
    }
}

/// How many bytes the value being read has taken so far, shared between a [`Capped`] reader
/// and the code that knows where values start.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    used: Rc<Cell<u64>>,
    exceeded: Rc<Cell<bool>>,
}

impl Budget {
    /// A new value starts here.
    pub fn reset(&self) {
        self.used.set(0);
    }

    /// Whether a read failed because a value grew past its cap.
    pub fn exceeded(&self) -> bool {
        self.exceeded.get()
    }
}

/// A reader that fails once the current value (since the last [`Budget::reset`]) passes `cap`.
pub struct Capped<R> {
    inner: R,
    cap: u64,
    budget: Budget,
}

impl<R: Read> Capped<R> {
    pub fn new(inner: R, cap: u64) -> (Self, Budget) {
        let budget = Budget::default();
        (
            Capped {
                inner,
                cap,
                budget: budget.clone(),
            },
            budget,
        )
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let used = self.budget.used.get();
        if used >= self.cap {
            self.budget.exceeded.set(true);
            return Err(io::Error::other("value larger than its cap"));
        }
        let room = (self.cap - used).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        self.budget.used.set(used + n as u64);
        Ok(n)
    }
}

/// An archive member's bytes, stopped when it expands too far.
pub struct Expansion<R> {
    inner: R,
    compressed: u64,
    declared: u64,
    read: u64,
    limits: Limits,
    /// Set when the expansion was stopped: why.
    pub stopped: Rc<Cell<Option<crate::error::Problem>>>,
}

impl<R: Read> Expansion<R> {
    /// `compressed` and `declared`: the sizes the archive gives for the member.
    pub fn new(inner: R, compressed: u64, declared: u64, limits: Limits) -> Self {
        Expansion {
            inner,
            compressed,
            declared,
            read: 0,
            limits,
            stopped: Rc::new(Cell::new(None)),
        }
    }
}

impl<R: Read> Read for Expansion<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                // The zip reader stops a member that goes on past its declared size (an
                // InvalidData error that says so): the archive lies about the member, which
                // is what a zip bomb does. Other errors are the archive's own (a bad CRC).
                let lies = e.kind() == io::ErrorKind::InvalidData
                    && e.to_string().contains("declared uncompressed size");
                self.stopped.set(Some(if lies {
                    crate::error::Problem::ZipLies
                } else {
                    crate::error::Problem::Zip(e.to_string())
                }));
                return Err(e);
            }
        };
        self.read += n as u64;
        let problem = if self.read > self.declared {
            Some(crate::error::Problem::ZipLies)
        } else if self.read > self.limits.member_bytes {
            Some(crate::error::Problem::ZipTooLarge {
                limit_mib: self.limits.member_bytes / MIB,
            })
        } else if self.read > MIB && self.read / self.compressed.max(1) > self.limits.member_ratio {
            Some(crate::error::Problem::ZipBomb {
                ratio: self.limits.member_ratio,
            })
        } else {
            None
        };
        if let Some(p) = problem {
            self.stopped.set(Some(p));
            return Err(io::Error::other("archive member expands too far"));
        }
        Ok(n)
    }
}

/// UTF-16 text (what Windows PowerShell 5.1's `>` and `Out-File` write) read as UTF-8.
pub struct Utf16<R> {
    inner: R,
    little_endian: bool,
    pending: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    high: Option<u16>,
    done: bool,
}

impl<R: Read> Utf16<R> {
    /// `inner` starts after the byte order mark.
    pub fn new(inner: R, little_endian: bool) -> Self {
        Utf16 {
            inner,
            little_endian,
            pending: Vec::new(),
            out: Vec::new(),
            pos: 0,
            high: None,
            done: false,
        }
    }

    fn push_char(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    }

    fn fill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        let mut buf = [0u8; 8192];
        while self.out.is_empty() && !self.done {
            let n = self.inner.read(&mut buf)?;
            if n == 0 {
                self.done = true;
                if self.high.take().is_some() || !self.pending.is_empty() {
                    self.push_char(char::REPLACEMENT_CHARACTER);
                }
                break;
            }
            self.pending.extend_from_slice(&buf[..n]);
            let whole = self.pending.len() / 2 * 2;
            let units: Vec<u16> = self.pending[..whole]
                .chunks_exact(2)
                .map(|c| {
                    if self.little_endian {
                        u16::from_le_bytes([c[0], c[1]])
                    } else {
                        u16::from_be_bytes([c[0], c[1]])
                    }
                })
                .collect();
            self.pending.drain(..whole);
            for u in units {
                match (self.high.take(), u) {
                    (None, 0xD800..=0xDBFF) => self.high = Some(u),
                    (Some(h), 0xDC00..=0xDFFF) => {
                        let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                        self.push_char(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    (h, u) => {
                        if h.is_some() {
                            self.push_char(char::REPLACEMENT_CHARACTER);
                        }
                        if (0xD800..=0xDBFF).contains(&u) {
                            self.high = Some(u);
                        } else {
                            self.push_char(
                                char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER),
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf16<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.out.len() {
            self.fill()?;
        }
        let n = (self.out.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_reader_stops_at_its_cap_and_starts_again_after_a_reset() {
        let data = [b'a'; 100];
        let (mut r, budget) = Capped::new(&data[..], 40);
        let mut buf = [0u8; 30];
        assert_eq!(r.read(&mut buf).unwrap(), 30);
        assert_eq!(r.read(&mut buf).unwrap(), 10);
        assert!(r.read(&mut buf).is_err());
        assert!(budget.exceeded());
        budget.reset();
        assert_eq!(r.read(&mut buf).unwrap(), 30);
    }

    #[test]
    fn utf16_from_powershell_reads_as_utf8() {
        let text = "{\"host\": \"PC-Ä😀\"}\r\n";
        for le in [true, false] {
            let bytes: Vec<u8> = text
                .encode_utf16()
                .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
                .collect();
            let mut out = String::new();
            Utf16::new(&bytes[..], le).read_to_string(&mut out).unwrap();
            assert_eq!(out, text);
        }
    }

    #[test]
    fn an_expansion_far_beyond_its_compressed_size_is_stopped() {
        let zeros = std::io::repeat(0).take(10 << 20);
        let mut e = Expansion::new(zeros, 1000, 10 << 20, Limits::default());
        let mut sink = Vec::new();
        assert!(std::io::copy(&mut e, &mut sink).is_err());
        assert!(matches!(
            e.stopped.take(),
            Some(crate::error::Problem::ZipBomb { ratio: 1000 })
        ));
        assert!(sink.len() < 3 << 20);
        let more = std::io::repeat(0).take(10 << 20);
        let mut e = Expansion::new(more, 1 << 20, 4096, Limits::default());
        assert!(std::io::copy(&mut e, &mut Vec::new()).is_err());
        assert!(matches!(
            e.stopped.take(),
            Some(crate::error::Problem::ZipLies)
        ));
    }
}
