#!/usr/bin/env python3
"""Check the release SBOMs (CycloneDX JSON, from `dist sbom`).

  python3 scripts/sbom-check.py validate [--forbid NAME,...] FILE.cdx.json...
      Strict validation against the CycloneDX JSON schema of the file's specVersion (the schema
      bundled in cyclonedx-python-lib, additional properties refused), then what an exe's SBOM
      must say: a serialNumber and a metadata timestamp, the exe as the `application`, every
      component a `library` with a unique bom-ref, a `dependencies` entry for each of them whose
      refs all exist, every component reachable from the exe, and none of the --forbid crates
      (dev-dependencies and test crates).
  python3 scripts/sbom-check.py self-test FILE.cdx.json
      The check must fail: each of several damaged copies of a valid SBOM must be refused.
  python3 scripts/sbom-check.py auditable EXE FILE.cdx.json
      Compare with the dependency list cargo-auditable embedded in the exe (its `.dep-v0`
      section, PE or ELF): every crate of the SBOM must be one the exe records as built for it
      (runtime); crates cargo-auditable records beyond the SBOM are listed (it reads cargo
      metadata, whose features are unified over the whole workspace).

Needs `pip install "cyclonedx-python-lib[json-validation]"` for validate and self-test.
"""
import copy
import json
import struct
import sys
import zlib


def strict_errors(doc):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    spec = doc.get("specVersion")
    versions = {f"{v.value[0]}.{v.value[1]}": v for v in SchemaVersion}
    if spec not in versions:
        return [f"specVersion {spec!r} is not a CycloneDX version this validator knows"]
    errors = JsonStrictValidator(versions[spec]).validate_str(json.dumps(doc), all_errors=True)
    if errors is None:
        return []
    if not isinstance(errors, (list, tuple)):
        errors = list(errors) if not hasattr(errors, "data") else [errors]
    return [f"schema: {getattr(e, 'data', e)}" for e in errors]


def shape_errors(doc, forbid=()):
    out = []
    if doc.get("bomFormat") != "CycloneDX":
        out.append("bomFormat is not CycloneDX")
    if not str(doc.get("serialNumber", "")).startswith("urn:uuid:"):
        out.append("no serialNumber")
    meta = doc.get("metadata") or {}
    if not meta.get("timestamp"):
        out.append("no metadata.timestamp")
    app = meta.get("component") or {}
    if app.get("type") != "application":
        out.append(f"metadata.component is {app.get('type')!r}, not the application")
    root = app.get("bom-ref")
    comps = doc.get("components") or []
    refs = [c.get("bom-ref") for c in comps]
    if len(set(refs)) != len(refs) or None in refs:
        out.append("bom-refs missing or not unique")
    for c in comps:
        if c.get("type") != "library":
            out.append(f"{c.get('name')} is typed {c.get('type')!r}, not library")
        if c.get("name") in forbid:
            out.append(f"{c.get('name')} is listed: it is not part of the exe")
    known = set(refs) | {root}
    deps = {d.get("ref"): d.get("dependsOn", []) for d in doc.get("dependencies") or []}
    for ref in known:
        if ref not in deps:
            out.append(f"no dependencies entry for {ref}")
    for ref, on in deps.items():
        for r in [ref] + list(on):
            if r not in known:
                out.append(f"dependencies name {r!r}, which is no component")
    seen, todo = set(), [root]
    while todo:
        r = todo.pop()
        if r in seen:
            continue
        seen.add(r)
        todo.extend(deps.get(r, []))
    for r in sorted(known - seen):
        out.append(f"{r} is not reachable from the exe")
    return out


def validate(files, forbid):
    bad = 0
    for f in files:
        doc = json.load(open(f, encoding="utf-8"))
        errors = strict_errors(doc) + shape_errors(doc, forbid)
        for e in errors:
            print(f"{f}: {e}")
        n = len(doc.get("components") or [])
        print(f"sbom-check: {f}: {'INVALID' if errors else 'valid'} (CycloneDX {doc.get('specVersion')}, {n} libraries)")
        bad += bool(errors)
    return 1 if bad else 0


def self_test(file):
    good = json.load(open(file, encoding="utf-8"))
    if strict_errors(good) + shape_errors(good):
        print("sbom-check self-test: the SBOM given is not valid to begin with")
        return 1

    def damage(name, fn):
        doc = copy.deepcopy(good)
        fn(doc)
        return name, doc

    cases = [
        damage("a component typed as a Cargo crate", lambda d: d["components"][0].__setitem__("type", "crate")),
        damage("an unknown property (strict schema)", lambda d: d["metadata"].__setitem__("generator", "x")),
        damage("a serialNumber that is no UUID", lambda d: d.__setitem__("serialNumber", "urn:uuid:not-a-uuid")),
        damage("no timestamp", lambda d: d["metadata"].pop("timestamp")),
        damage("a library typed application", lambda d: d["components"][1].__setitem__("type", "application")),
        damage("no dependency graph", lambda d: d.pop("dependencies")),
        damage("an edge to nothing", lambda d: d["dependencies"][0]["dependsOn"].append("pkg:cargo/ghost@1.0.0")),
        damage("a hash that is no SHA-256", lambda d: next(c for c in d["components"] if "hashes" in c)["hashes"][0].__setitem__("content", "xyz")),
    ]
    failed = 0
    for name, doc in cases:
        errors = strict_errors(doc) + shape_errors(doc)
        print(f"sbom-check self-test: {name}: {'refused (' + ' '.join(errors[0].split())[:90] + ')' if errors else 'ACCEPTED'}")
        failed += not errors
    return 1 if failed else 0


def section(data, wanted=".dep-v0"):
    """The bytes of a named section of a PE or ELF file, or None."""
    if data[:2] == b"MZ":
        pe = struct.unpack_from("<I", data, 0x3C)[0]
        if data[pe:pe + 4] != b"PE\0\0":
            return None
        nsec, _, _, _, optsize = struct.unpack_from("<HIIIH", data, pe + 6)
        table = pe + 24 + optsize
        for i in range(nsec):
            s = table + 40 * i
            name = data[s:s + 8].rstrip(b"\0").decode("latin-1")
            vsize, _, rawsize, rawptr = struct.unpack_from("<IIII", data, s + 8)
            if name == wanted:
                return data[rawptr:rawptr + min(vsize or rawsize, rawsize)]
        return None
    if data[:4] == b"\x7fELF":
        is64 = data[4] == 2
        end = "<" if data[5] == 1 else ">"
        if is64:
            shoff, = struct.unpack_from(end + "Q", data, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
        else:
            shoff, = struct.unpack_from(end + "I", data, 0x20)
            shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x2E)

        def header(i):
            o = shoff + i * shentsize
            if is64:
                name, _, _, _, off, size = struct.unpack_from(end + "IIQQQQ", data, o)
            else:
                name, _, _, _, off, size = struct.unpack_from(end + "IIIIII", data, o)
            return name, off, size

        _, stroff, _ = header(shstrndx)
        for i in range(shnum):
            name, off, size = header(i)
            n = data[stroff + name:data.index(b"\0", stroff + name)].decode("latin-1")
            if n == wanted:
                return data[off:off + size]
    return None


def auditable(exe, file):
    raw = section(open(exe, "rb").read())
    if raw is None:
        print(f"sbom-check: {exe} has no .dep-v0 section (not built with cargo auditable)")
        return 1
    info = json.loads(zlib.decompress(raw))
    built = {(p["name"], p["version"]) for p in info["packages"] if p.get("kind", "runtime") == "runtime"}
    doc = json.load(open(file, encoding="utf-8"))
    listed = {(c["name"], c["version"]) for c in doc["components"]}
    app = doc["metadata"]["component"]
    listed.add((app["name"], app["version"]))
    missing = sorted(listed - built)
    extra = sorted(built - listed)
    for n, v in missing:
        print(f"sbom-check: {file} lists {n} {v}, which {exe} does not record as built for it")
    for n, v in extra:
        print(f"sbom-check: note: {exe} records {n} {v} (cargo-auditable reads cargo metadata, which unifies features over the workspace and counts some proc-macro dependencies); the SBOM leaves it out")
    print(f"sbom-check: {exe}: {len(built)} runtime crates recorded by cargo-auditable, {len(listed)} in the SBOM, {len(missing)} of them unrecorded")
    return 1 if missing else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "validate":
        forbid = set()
        files = argv[1:]
        if files[0] == "--forbid":
            forbid = set(files[1].split(","))
            files = files[2:]
        return validate(files, forbid)
    if len(argv) == 2 and argv[0] == "self-test":
        return self_test(argv[1])
    if len(argv) == 3 and argv[0] == "auditable":
        return auditable(argv[1], argv[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
