#!/usr/bin/env python3
"""Writes tests/vectors/containers.json: tar containers that both decoders (core's Rust, the page's TypeScript) must
accept with the same result, and hostile ones that both must refuse.

Headers are built byte by byte here, independently of either decoder and of any tar library, so that a case means
what its name says. Run: python3 tests/vectors/gen-containers.py > tests/vectors/containers.json
"""
import base64
import hashlib
import json

MAX_TEXT = 4 * 1024 * 1024
TEXT_MARKER = b"burnlink/v1 text"


def header(name=b"", typ=b"0", size=0, fmt="ustar", prefix=b"", size_field=None, bad_checksum=False):
    h = bytearray(512)
    h[0 : len(name[:100])] = name[:100]
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = size_field if size_field is not None else b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[156] = typ[0]
    if fmt == "ustar":
        h[257:265] = b"ustar\x0000"
        h[345 : 345 + len(prefix)] = prefix
    elif fmt == "gnu":
        h[257:265] = b"ustar  \0"
    elif fmt == "badversion":
        h[257:265] = b"ustar\0  "
        h[345 : 345 + len(prefix)] = prefix
    h[148:156] = b" " * 8
    s = sum(h) + (1 if bad_checksum else 0)
    h[148:156] = b"%06o\0 " % s
    return bytes(h)


def blocks(data):
    return data + b"\0" * (-len(data) % 512)


def record(key, value):
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n = len(str(n)) + len(body)
    return str(n).encode() + body


def pax(*records, fmt="ustar"):
    data = b"".join(records)
    return header(b"PaxHeader", b"x", len(data), fmt=fmt) + blocks(data)


def longname(name, typ=b"L"):
    data = name + b"\0"
    return header(b"././@LongLink", typ, len(data), fmt="gnu") + blocks(data)


def file(name, data, fmt="ustar", **kw):
    return header(name, b"0", len(data), fmt=fmt, **kw) + blocks(data)


END = b"\0" * 1024
A = b"0123456789"
LONG = b"deep/" * 30 + b"name.txt"  # 158 bytes: needs a long-name mechanism


def described(data):
    return {"name": None, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def accept(why, tar, files=(), dirs=(), text=None):
    fs = []
    for name, data in files:
        d = described(data)
        d["name"] = name
        fs.append(d)
    return {"why": why, "tar": base64.b64encode(tar).decode(), "files": fs, "dirs": list(dirs), "text": text}


def refuse(why, tar):
    return {"why": why, "tar": base64.b64encode(tar).decode()}


accepted = [
    accept("ustar file", file(b"a.txt", A) + END, files=[("a.txt", A)]),
    accept("gnu file, as the Rust sender writes", file(b"a.txt", A, fmt="gnu") + END, files=[("a.txt", A)]),
    accept("ustar prefix joins the name", file(b"f.txt", A, prefix=b"dir") + END, files=[("dir/f.txt", A)]),
    accept("gnu header ignores the prefix field", file(b"f.txt", A, fmt="gnu") + END, files=[("f.txt", A)]),
    accept("gnu long name", longname(LONG) + file(LONG[:100], A, fmt="gnu") + END, files=[(LONG.decode(), A)]),
    accept("pax path, as the web sender writes", pax(record(b"path", LONG)) + file(LONG[:100], A) + END, files=[(LONG.decode(), A)]),
    accept(
        "pax times are ignored",
        pax(record(b"mtime", b"1700000000.5"), record(b"atime", b"1"), record(b"ctime", b"2")) + file(b"t.bin", A) + END,
        files=[("t.bin", A)],
    ),
    accept(
        "a folder, then a file in it",
        header(b"d/", b"5", 0) + file(b"d/x", b"xyz") + END,
        files=[("d/x", b"xyz")],
        dirs=["d"],
    ),
    accept("text secret", pax(record(b"comment", TEXT_MARKER)) + file(b"secret.txt", "s3cret ☕".encode()) + END, text="s3cret ☕"),
    accept(
        "base-256 size",
        header(b"b.bin", b"0", size_field=b"\x80" + (10).to_bytes(11, "big")) + blocks(A) + END,
        files=[("b.bin", A)],
    ),
    accept("padding after the end", file(b"a.txt", A) + END + b"\0" * 4096, files=[("a.txt", A)]),
]

refused = [
    refuse(
        "pax size overrides the header's size",
        pax(record(b"size", b"5")) + header(b"a.txt", b"0", 10) + blocks(A) + END,
    ),
    refuse("pax global header", header(b"g", b"g", len(record(b"path", b"evil.txt"))) + blocks(record(b"path", b"evil.txt")) + file(b"a.txt", A) + END),
    refuse("gnu long link name", longname(b"target", typ=b"K") + file(b"a.txt", A, fmt="gnu") + END),
    refuse("pax path and gnu long name for one entry", pax(record(b"path", b"one.txt")) + longname(b"two.txt") + file(b"a.txt", A) + END),
    refuse("two pax headers for one entry", pax(record(b"comment", b"hi")) + pax(record(b"path", b"b.txt")) + file(b"a.txt", A) + END),
    refuse("two gnu long names for one entry", longname(b"one.txt") + longname(b"two.txt") + file(b"a.txt", A, fmt="gnu") + END),
    refuse("unknown pax key", pax(record(b"GNU.sparse.size", b"99")) + file(b"a.txt", A) + END),
    refuse("pax linkpath", pax(record(b"linkpath", b"/etc/passwd")) + file(b"a.txt", A) + END),
    refuse("pax hdrcharset", pax(record(b"hdrcharset", b"BINARY")) + file(b"a.txt", A) + END),
    refuse("pax uid", pax(record(b"uid", b"0")) + file(b"a.txt", A) + END),
    refuse("pax record length off by one", pax(record(b"path", b"b.txt").replace(b"14 ", b"15 ", 1)) + file(b"a.txt", A) + END),
    refuse("pax record without its newline", pax(b"14 path=b.txt!") + file(b"a.txt", A) + END),
    refuse("bytes after the last pax record", pax(record(b"path", b"b.txt") + b"xx") + file(b"a.txt", A) + END),
    refuse("pax record without a length", pax(b" path=b.txt\n") + file(b"a.txt", A) + END),
    refuse("pax record without =", pax(b"11 pathbtxt\n") + file(b"a.txt", A) + END),
    refuse("duplicate pax key", pax(record(b"path", b"one.txt"), record(b"path", b"two.txt")) + file(b"a.txt", A) + END),
    refuse("pax header and no entry", file(b"a.txt", A) + pax(record(b"path", b"b.txt")) + END),
    refuse("gnu long name and no entry", file(b"a.txt", A, fmt="gnu") + longname(b"b.txt") + END),
    refuse("v7 header without magic", file(b"a.txt", A, fmt="v7") + END),
    refuse("ustar magic with a wrong version", file(b"f.txt", A, fmt="badversion", prefix=b"dir") + END),
    refuse("symlink", header(b"link", b"2", 0) + END),
    refuse("hard link", header(b"link", b"1", 0) + END),
    refuse("contiguous file", header(b"c.txt", b"7", 10) + blocks(A) + END),
    refuse("gnu sparse file", header(b"s.txt", b"S", 10, fmt="gnu") + blocks(A) + END),
    refuse("fifo", header(b"fifo", b"6", 0) + END),
    refuse("folder with data", header(b"d/", b"5", 10) + blocks(A) + END),
    refuse("negative base-256 size", header(b"b.bin", b"0", size_field=b"\xff" * 12) + blocks(A) + END),
    refuse("base-256 size beyond 2^53", header(b"b.bin", b"0", size_field=b"\x80" + (2**53).to_bytes(11, "big")) + blocks(A) + END),
    refuse("size field that is not octal", header(b"a.txt", b"0", size_field=b"0000000012a\0") + blocks(A) + END),
    refuse("bad checksum", file(b"a.txt", A, bad_checksum=True) + END),
    refuse("data after the end", file(b"a.txt", A) + END + b"\0" * 100 + b"x"),
    refuse("text secret after a file", file(b"a.txt", A) + pax(record(b"comment", TEXT_MARKER)) + file(b"secret.txt", b"s") + END),
    refuse("text secret over the limit", pax(record(b"comment", TEXT_MARKER)) + header(b"secret.txt", b"0", MAX_TEXT + 1) + END),
    refuse("a file after a text secret", pax(record(b"comment", TEXT_MARKER)) + file(b"secret.txt", b"s") + file(b"b.txt", A) + END),
    refuse("name escapes the folder", file(b"../evil.txt", A) + END),
    refuse("pax path escapes the folder", pax(record(b"path", b"../evil.txt")) + file(b"ok.txt", A) + END),
    refuse("absolute name", file(b"/etc/evil", A) + END),
    refuse("the same name twice", file(b"a.txt", A) + file(b"a.txt", b"other") + END),
    refuse("a file inside a file", file(b"a", A) + file(b"a/b", A) + END),
    refuse("name that is not UTF-8", file(b"\xff.txt", A) + END),
    refuse("empty archive", END),
    refuse("cut inside a file", header(b"a.txt", b"0", 10) + b"01234"),
]

doc = {
    "description": (
        "Tar containers (the plaintext inside the age payload, without encryption). Every 'accept' case must decode "
        "to exactly its files (name, size, sha256), folders and text in both decoders; every 'refuse' case must be "
        "refused by both. tar: standard base64. Made by tests/vectors/gen-containers.py."
    ),
    "accept": accepted,
    "refuse": refused,
}
print(json.dumps(doc, indent=1, ensure_ascii=False))
