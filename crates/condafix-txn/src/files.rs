//! Reading, hashing and copying files through locations: every file a transaction touches is
//! reached through the store's location (its identity, no link followed), never by path.

use std::io::{Read, Write as _};

use condafix_actor::guard::RelPath;
use condafix_actor::{Kind, Location, WriteOptions};
use condafix_prefix::safe_read::MAX_DLL_BYTES;
use condafix_prefix::Sha256;

use crate::TxnError;

/// Whether a regular file is at `rel` (a link or a special file is not one).
pub(crate) fn is_file(loc: &Location, rel: &RelPath) -> bool {
    matches!(loc.stat(rel), Ok(Some(m)) if m.kind == Kind::File)
}

/// The hash of the regular file at `rel`, when it is there, readable and not larger than any
/// file condafix writes.
pub(crate) fn hash_of(loc: &Location, rel: &RelPath) -> Option<Sha256> {
    hash(loc, rel).ok().map(|(h, _)| h)
}

pub(crate) fn hash(loc: &Location, rel: &RelPath) -> Result<(Sha256, u64), TxnError> {
    let file = loc.open_file(rel)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let shown = rel.under(loc.root());
    if size > MAX_DLL_BYTES {
        return Err(TxnError::TooLarge {
            path: shown,
            cap: MAX_DLL_BYTES,
        });
    }
    let (sha, n) =
        Sha256::of_reader(file.take(MAX_DLL_BYTES + 1)).map_err(|source| TxnError::Read {
            path: shown.clone(),
            source,
        })?;
    if n > MAX_DLL_BYTES {
        return Err(TxnError::TooLarge {
            path: shown,
            cap: MAX_DLL_BYTES,
        });
    }
    Ok((sha, n))
}

/// A writer that hashes what passes through it.
pub(crate) struct HashingWriter<'a, W: std::io::Write> {
    inner: &'a mut W,
    hasher: sha2::Sha256,
}

impl<'a, W: std::io::Write> HashingWriter<'a, W> {
    pub fn new(inner: &'a mut W) -> Self {
        use sha2::Digest as _;
        Self {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    pub fn finish(self) -> Sha256 {
        use sha2::Digest as _;
        Sha256::from_bytes(self.hasher.finalize().into())
    }
}

impl<W: std::io::Write> std::io::Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest as _;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Stream `reader` into `rel` atomically, at most `cap` bytes, hashing on the way; `check`
/// sees the hash and size before the file takes its place. Returns them.
pub(crate) fn write_stream(
    loc: &Location,
    rel: &RelPath,
    reader: &mut dyn Read,
    opts: &WriteOptions,
    cap: u64,
    check: impl FnOnce(Sha256, u64) -> Result<(), TxnError>,
) -> Result<(Sha256, u64), TxnError> {
    let shown = rel.under(loc.root());
    loc.replace(
        rel,
        opts,
        |f| {
            let mut hashing = HashingWriter::new(f);
            let n = std::io::copy(&mut reader.take(cap + 1), &mut hashing).map_err(|source| {
                TxnError::Write {
                    path: shown.clone(),
                    source,
                }
            })?;
            if n > cap {
                return Err(TxnError::TooLarge {
                    path: shown.clone(),
                    cap,
                });
            }
            hashing.flush().map_err(|source| TxnError::Write {
                path: shown.clone(),
                source,
            })?;
            Ok((hashing.finish(), n))
        },
        |(sha, n)| check(*sha, *n),
    )
}

/// Copy the file at `from_rel` in `from` to `to_rel` in `to` atomically (a backup, or a restore
/// from one). Returns the hash and size of what was copied.
pub(crate) fn copy(
    from: &Location,
    from_rel: &RelPath,
    to: &Location,
    to_rel: &RelPath,
    opts: &WriteOptions,
) -> Result<(Sha256, u64), TxnError> {
    let mut source = from.open_file(from_rel)?;
    write_stream(to, to_rel, &mut source, opts, MAX_DLL_BYTES, |_, _| Ok(()))
}
