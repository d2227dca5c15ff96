//! Real package archives and offline bundles, built in memory: a `.conda` (an uncompressed zip
//! holding `metadata.json`, `info-<dist>.tar.zst` and `pkg-<dist>.tar.zst`), a `.tar.bz2`, and
//! a bundle zip with a `SHA256SUMS` manifest, plus hostile variants for the refusal tests.

use std::io::Write as _;

use serde_json::json;
use sha2::Digest as _;
use zip::write::SimpleFileOptions;

/// A tar of `files` (`/` paths).
pub fn tar_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mtime(0);
        b.append_data(&mut h, path, bytes.as_slice())
            .expect("tar entry");
    }
    b.into_inner().expect("tar")
}

/// A tar whose single entry has a raw (unchecked) name, e.g. `../../evil.dll`.
pub fn tar_with_raw_name(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(bytes.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(bytes);
    out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
    out
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
}

fn paths_json(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let paths: Vec<_> = files
        .iter()
        .map(|(p, b)| {
            json!({"_path": p, "path_type": "hardlink", "sha256": hex::encode(sha2::Sha256::digest(b)), "size_in_bytes": b.len()})
        })
        .collect();
    serde_json::to_vec_pretty(&json!({"paths": paths, "paths_version": 1})).expect("json")
}

/// A `.conda` package (CEP 35) for `dist` (`openssl-3.0.15-h827c3e9_0`) holding `files`.
pub fn conda_package(dist: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let (name, rest) = dist.split_once('-').unwrap_or((dist, ""));
    let (version, build) = rest.rsplit_once('-').unwrap_or((rest, "0"));
    let info = vec![
        (
            "info/index.json".to_string(),
            serde_json::to_vec(
                &json!({"name": name, "version": version, "build": build, "subdir": "win-64"}),
            )
            .expect("json"),
        ),
        ("info/paths.json".to_string(), paths_json(files)),
    ];
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("metadata.json", stored).expect("zip");
    z.write_all(br#"{"conda_pkg_format_version": 2}"#)
        .expect("zip");
    z.start_file(format!("info-{dist}.tar.zst"), stored)
        .expect("zip");
    z.write_all(&zstd(&tar_of(&info))).expect("zip");
    z.start_file(format!("pkg-{dist}.tar.zst"), stored)
        .expect("zip");
    z.write_all(&zstd(&tar_of(files))).expect("zip");
    z.finish().expect("zip").into_inner()
}

/// A `.tar.bz2` package holding `files` and its `info/paths.json`.
pub fn tar_bz2_package(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut all = files.to_vec();
    all.push(("info/paths.json".to_string(), paths_json(files)));
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    enc.write_all(&tar_of(&all)).expect("bz2");
    enc.finish().expect("bz2")
}

/// An offline bundle: `files` deflated, and a `SHA256SUMS` manifest. `manifest_override` lets a
/// test lie about a hash.
/// An offline bundle whose `SHA256SUMS` is exactly `manifest` (a malformed one, say).
pub fn bundle_with_manifest(files: &[(String, Vec<u8>)], manifest: &str) -> Vec<u8> {
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, bytes) in files {
        z.start_file(path.as_str(), deflated).expect("zip");
        z.write_all(bytes).expect("zip");
    }
    z.start_file("SHA256SUMS", deflated).expect("zip");
    z.write_all(manifest.as_bytes()).expect("zip");
    z.finish().expect("zip").into_inner()
}

pub fn bundle(files: &[(String, Vec<u8>)], manifest_override: &[(String, String)]) -> Vec<u8> {
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut manifest = String::new();
    for (path, bytes) in files {
        let hash = manifest_override
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, h)| h.clone())
            .unwrap_or_else(|| hex::encode(sha2::Sha256::digest(bytes)));
        manifest.push_str(&format!("{hash}  {path}\n"));
        z.start_file(path.as_str(), deflated).expect("zip");
        z.write_all(bytes).expect("zip");
    }
    z.start_file("SHA256SUMS", deflated).expect("zip");
    z.write_all(manifest.as_bytes()).expect("zip");
    z.finish().expect("zip").into_inner()
}
