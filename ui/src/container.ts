/**
 * The plaintext container inside the age payload, as `burnlink-core`'s container module defines it: a tar stream
 * (ustar/GNU headers, pax records) followed by zero padding to the Padmé length. A text secret is one regular entry
 * `secret.txt` whose pax `comment` is `burnlink/v1 text`.
 *
 * Written by hand because no maintained tar library streams in the browser without Node's stream shims; it reads only
 * what our writers produce (regular files, folders, pax `x` and GNU `L` long names) and refuses anything else, with the
 * same rules as the Rust decoder: safe relative names, no duplicates, nothing after the archive but zeros. The two are
 * held to each other by `tests/vectors/containers.json`.
 */

export const TEXT_MARKER = "burnlink/v1 text";
export const TEXT_NAME = "secret.txt";
export const MAX_TEXT = 4 * 1024 * 1024;
export const MAX_ENTRIES = 100_000;

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** Padmé: at most ~12 % overhead, leaks O(log log n) bits of the length. */
export function padme(len: number): number {
  if (len < 2) return len;
  const e = Math.floor(Math.log2(len));
  const s = Math.floor(Math.log2(e)) + 1;
  const lastBits = e - s;
  const mask = 2 ** lastBits;
  return Math.ceil(len / mask) * mask;
}

export class ContainerError extends Error {}

/** Checks a `/`-separated relative entry name (the Rust `SafePath` rules). */
export function safePath(name: string): string {
  const n = name.endsWith("/") ? name.slice(0, -1) : name;
  if (!n) throw new ContainerError("empty entry name");
  if (enc.encode(n).length > 4096) throw new ContainerError("entry name too long");
  if (n.startsWith("/") || n[1] === ":") throw new ContainerError("entry name escapes the output folder");
  for (const c of n.split("/")) {
    if (c === "" || c === "." || c === "..") throw new ContainerError("entry name escapes the output folder");
    if (enc.encode(c).length > 255) throw new ContainerError("entry name too long");
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f\\:]/.test(c)) throw new ContainerError("entry name has a character that is not allowed");
  }
  return n;
}

/** Where decoded entries go. */
export interface Sink {
  text(text: string): void | Promise<void>;
  dir(path: string): void | Promise<void>;
  beginFile(path: string, size: number): void | Promise<void>;
  write(chunk: Uint8Array): void | Promise<void>;
  endFile(): void | Promise<void>;
}

export interface Summary {
  text: boolean;
  files: number;
  dirs: number;
  bytes: number;
}

/** Buffered reads of exact lengths from a byte stream. */
class ByteReader {
  private buf: Uint8Array = new Uint8Array(0);
  private done = false;
  constructor(private readonly r: ReadableStreamDefaultReader<Uint8Array>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.done) {
      const { done, value } = await this.r.read();
      if (done) {
        this.done = true;
        break;
      }
      if (this.buf.length === 0) this.buf = value;
      else {
        const b = new Uint8Array(this.buf.length + value.length);
        b.set(this.buf);
        b.set(value, this.buf.length);
        this.buf = b;
      }
    }
    return this.buf.length >= n;
  }

  /** Exactly `n` bytes, or null at a clean end of stream. */
  async exact(n: number): Promise<Uint8Array | null> {
    if (!(await this.fill(n))) {
      if (this.buf.length === 0) return null;
      throw new ContainerError("the payload ends in the middle of an entry");
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Up to `max` bytes (at least one), for streaming file contents. */
  async some(max: number): Promise<Uint8Array> {
    if (!(await this.fill(1))) throw new ContainerError("the payload ends in the middle of a file");
    const n = Math.min(max, this.buf.length);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Reads everything left (so the age layer verifies its last chunk), refusing anything but zeros. */
  async rest(): Promise<void> {
    for (;;) {
      if (this.buf.some((b) => b !== 0)) throw new ContainerError("data after the end of the archive");
      this.buf = new Uint8Array(0);
      if (this.done) return;
      const { done, value } = await this.r.read();
      if (done) return;
      this.buf = value;
    }
  }
}

function field(h: Uint8Array, off: number, len: number): Uint8Array {
  const f = h.subarray(off, off + len);
  const nul = f.indexOf(0);
  return nul < 0 ? f : f.subarray(0, nul);
}

const ascii = (b: Uint8Array) => String.fromCharCode(...b);

/** Only the two header layouts our senders write; anything else is refused rather than guessed at. */
function formatOf(h: Uint8Array): "ustar" | "gnu" {
  const magic = ascii(h.subarray(257, 265));
  if (magic === "ustar\u000000") return "ustar";
  if (magic === "ustar  \u0000") return "gnu";
  throw new ContainerError("unknown tar header format");
}

/** A numeric field: octal digits (spaces around, NULs after), or GNU base-256 (`0x80`, then big-endian, below 2^53). */
function numeric(h: Uint8Array, off: number, len: number): number {
  const f = h.subarray(off, off + len);
  if (f[0] & 0x80) {
    if (f[0] !== 0x80) throw new ContainerError("negative size");
    let v = 0;
    for (let i = 1; i < f.length; i++) {
      v = v * 256 + f[i];
      if (v >= 2 ** 53) throw new ContainerError("size too large");
    }
    return v;
  }
  const s = ascii(field(h, off, len)).replace(/^ +| +$/g, "");
  if (!/^[0-7]*$/.test(s)) throw new ContainerError("bad number in a tar header");
  const v = s ? parseInt(s, 8) : 0;
  if (v >= 2 ** 53) throw new ContainerError("size too large");
  return v;
}

function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  return numeric(h, 148, 8) === sum;
}

interface Pax {
  path?: Uint8Array;
  comment?: Uint8Array;
}

/** Pax records, strictly (the Rust `parse_pax` rules): `<decimal length> <key>=<value>\n` with exact lengths, nothing
 * after the last record, no key twice, and only `path`, `comment` and the times (which change nothing here). Any
 * other key (`size`, `linkpath`, `hdrcharset`, `GNU.sparse.*`...) could make another reader show other content. */
function paxRecords(data: Uint8Array): Pax {
  const out: Pax = {};
  const seen = new Set<string>();
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    const digits = sp < 0 ? "" : ascii(data.subarray(i, sp));
    if (!/^[0-9]{1,7}$/.test(digits)) throw new ContainerError("bad pax record");
    const len = parseInt(digits, 10);
    if (len <= sp - i + 1 || i + len > data.length || data[i + len - 1] !== 0x0a) throw new ContainerError("bad pax record");
    const rec = data.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new ContainerError("bad pax record");
    const key = new TextDecoder().decode(rec.subarray(0, eq));
    if (seen.has(key)) throw new ContainerError("a pax key appears twice");
    seen.add(key);
    const value = rec.subarray(eq + 1);
    if (key === "path") out.path = value;
    else if (key === "comment") out.comment = value;
    else if (key !== "mtime" && key !== "atime" && key !== "ctime") throw new ContainerError(`unsupported pax record ${JSON.stringify(key)}`);
    i += len;
  }
  return out;
}

const pad512 = (n: number) => Math.ceil(n / 512) * 512;

/** Decodes a container from a plaintext stream into `sink`; resolves only after everything was read and checked.
 * The rules are the Rust decoder's, case for case (`tests/vectors/containers.json`): only ustar and GNU headers;
 * regular files, folders without data, one pax `x` header and/or one GNU `L` long name before an entry but never a
 * name from both; the size from the header alone; everything else refused. */
export async function decode(input: ReadableStream<Uint8Array>, sink: Sink): Promise<Summary> {
  const r = new ByteReader(input.getReader());
  const summary: Summary = { text: false, files: 0, dirs: 0, bytes: 0 };
  const files = new Set<string>();
  const dirs = new Set<string>();
  let count = 0;
  let pax: Pax | null = null;
  let longName: Uint8Array | null = null;
  const ancestorsIn = (p: string, set: Set<string>) => {
    for (let i = p.indexOf("/"); i >= 0; i = p.indexOf("/", i + 1)) if (set.has(p.slice(0, i))) return true;
    return false;
  };
  for (;;) {
    const h = await r.exact(512);
    if (h === null || h.every((b) => b === 0)) break;
    if (!checksumOk(h)) throw new ContainerError("bad tar header checksum");
    const format = formatOf(h);
    const type = String.fromCharCode(h[156]);
    const size = numeric(h, 124, 12);
    if (type === "x" || type === "L") {
      if (type === "x" && pax) throw new ContainerError("two pax headers for one entry");
      if (type === "L" && longName) throw new ContainerError("two long names for one entry");
      if (size > (type === "x" ? 1 << 20 : 4097)) throw new ContainerError("oversized extended header");
      const data = (await r.exact(pad512(size)))?.slice(0, size);
      if (!data) throw new ContainerError("the payload ends in an extended header");
      if (type === "x") pax = paxRecords(data);
      else longName = field(data, 0, data.length);
      continue;
    }
    if (type !== "0" && type !== "\0" && type !== "5") throw new ContainerError(`unsupported entry type ${JSON.stringify(type)}`);
    count += 1;
    if (count > MAX_ENTRIES || summary.text) throw new ContainerError("too many entries");
    if (pax?.path && longName) throw new ContainerError("two long names for one entry");
    let rawName: Uint8Array;
    if (pax?.path) rawName = pax.path;
    else if (longName) rawName = longName;
    else {
      const base = field(h, 0, 100);
      const prefix = format === "ustar" ? field(h, 345, 155) : new Uint8Array(0);
      rawName = prefix.length ? new Uint8Array([...prefix, 0x2f, ...base]) : base;
    }
    let name: string;
    try {
      name = dec.decode(rawName);
    } catch {
      throw new ContainerError("entry name is not UTF-8");
    }
    const isText = !!pax?.comment && equalBytes(pax.comment, enc.encode(TEXT_MARKER));
    pax = null;
    longName = null;
    const path = safePath(name);
    if (type === "5") {
      if (size !== 0) throw new ContainerError("a folder with data");
      if (files.has(path) || ancestorsIn(path, files)) throw new ContainerError(`\`${path}\` is both a file and a folder`);
      if (!dirs.has(path)) {
        dirs.add(path);
        await sink.dir(path);
        summary.dirs += 1;
      }
    } else if (isText) {
      if (count !== 1 || size > MAX_TEXT) throw new ContainerError("text secret in an unexpected place");
      const data = await r.exact(pad512(size));
      if (!data) throw new ContainerError("the payload ends in the text");
      let text: string;
      try {
        text = dec.decode(data.subarray(0, size));
      } catch {
        throw new ContainerError("text secret is not UTF-8");
      }
      summary.text = true;
      summary.bytes = size;
      await sink.text(text);
    } else {
      if (files.has(path) || dirs.has(path)) throw new ContainerError(`\`${path}\` appears twice`);
      if (ancestorsIn(path, files)) throw new ContainerError(`\`${path}\` is inside a file`);
      await sink.beginFile(path, size);
      let left = size;
      while (left > 0) {
        const chunk = await r.some(Math.min(left, 1 << 20));
        await sink.write(chunk);
        left -= chunk.length;
      }
      const skip = pad512(size) - size;
      if (skip && !(await r.exact(skip))) throw new ContainerError("the payload ends in a file");
      await sink.endFile();
      files.add(path);
      summary.files += 1;
      summary.bytes += size;
    }
  }
  if (pax || longName) throw new ContainerError("an extended header without its entry");
  await r.rest();
  if (count === 0) throw new ContainerError("empty payload");
  return summary;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// ---- writing (the web sender)

function octalField(h: Uint8Array, off: number, len: number, v: number) {
  h.set(enc.encode(v.toString(8).padStart(len - 1, "0")), off);
}

function header(name: string, type: string, size: number, mode: number): Uint8Array {
  const h = new Uint8Array(512);
  // Longer names travel in a pax `path` record; the header keeps a truncated copy for old readers.
  h.set(enc.encode(name).subarray(0, 100), 0);
  octalField(h, 100, 8, mode);
  octalField(h, 108, 8, 0);
  octalField(h, 116, 8, 0);
  octalField(h, 124, 12, size);
  octalField(h, 136, 12, 0);
  h[156] = type.charCodeAt(0);
  h.set(enc.encode("ustar\u000000"), 257);
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\u0000 "), 148);
  return h;
}

function paxRecord(key: string, value: string): Uint8Array {
  const body = ` ${key}=${value}\n`;
  const bl = enc.encode(body).length;
  let len = bl + 1;
  while (String(len).length + bl !== len) len = String(len).length + bl;
  return enc.encode(`${len}${body}`);
}

/** Builds a container in memory: parts to wrap in a Blob, padded to the Padmé length. */
export class ContainerWriter {
  private parts: BlobPart[] = [];
  private size = 0;

  private push(p: BlobPart, n: number) {
    this.parts.push(p);
    this.size += n;
  }

  private entry(name: string, type: string, size: number, mode: number, extra: Uint8Array[] = []) {
    const recs = [...extra];
    if (enc.encode(name).length > 100) recs.push(paxRecord("path", name));
    if (recs.length) {
      const len = recs.reduce((a, r) => a + r.length, 0);
      this.push(header("PaxHeader", "x", len, 0o644) as BlobPart, 512);
      for (const r of recs) this.push(r as BlobPart, r.length);
      this.zeros(pad512(len) - len);
    }
    this.push(header(name, type, size, mode) as BlobPart, 512);
  }

  private zeros(n: number) {
    if (n > 0) this.push(new Uint8Array(n) as BlobPart, n);
  }

  addText(text: string) {
    const b = enc.encode(text);
    // The decoders refuse longer texts; a link made from one would only burn and report "damaged".
    if (b.length > MAX_TEXT) throw new ContainerError(`a text secret holds at most ${MAX_TEXT} bytes`);
    this.entry(TEXT_NAME, "0", b.length, 0o600, [paxRecord("comment", TEXT_MARKER)]);
    this.push(b as BlobPart, b.length);
    this.zeros(pad512(b.length) - b.length);
  }

  addDir(path: string) {
    this.entry(safePath(path), "5", 0, 0o755);
  }

  addFile(path: string, data: Blob) {
    this.entry(safePath(path), "0", data.size, 0o644);
    this.push(data, data.size);
    this.zeros(pad512(data.size) - data.size);
  }

  /** The archive end, then zeros up to the Padmé length. */
  finish(): Blob {
    this.zeros(1024);
    this.zeros(padme(this.size) - this.size);
    return new Blob(this.parts);
  }
}
