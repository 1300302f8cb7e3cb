// The browser code against tests/vectors/v1.json, the known answers `burnlink-core` generates: every key derivation
// and every payload must come out the same, in Node with the very modules the page ships.
import { readFileSync } from "node:fs";
import { identityToRecipient } from "age-encryption";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { describe, expect, it } from "vitest";
import { ContainerError, ContainerWriter, decode, padme, safePath, type Sink } from "../src/container";
import { answerProof, b64url, deriveKeys, requestRecipient, secretCheck, unlock, validateKdf, KeyError } from "../src/keys";
import { idFromPath, secretFromFragment } from "../src/link";
import { DamagedError, openPayload, sealPayload } from "../src/payload";
import { ApiError } from "../src/relay";

interface KdfJson {
  salt: string;
  m_kib: number;
  t: number;
  p: number;
}
const vectors = JSON.parse(readFileSync(new URL("../../tests/vectors/v1.json", import.meta.url), "utf8"));
const kdfOf = (k: KdfJson | null) => (k ? { salt: hexToBytes(k.salt), m_kib: k.m_kib, t: k.t, p: k.p } : null);
const b64 = (s: string) => Uint8Array.from(Buffer.from(s, "base64"));
const streamOf = (b: Uint8Array, chunk = 7919) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < b.length; i += chunk) c.enqueue(b.slice(i, i + chunk));
      c.close();
    },
  });

class Collect implements Sink {
  secret: string | null = null;
  dirs: string[] = [];
  files: { name: string; data: Uint8Array[] }[] = [];
  text(t: string) {
    this.secret = t;
  }
  dir(p: string) {
    this.dirs.push(p);
  }
  beginFile(p: string) {
    this.files.push({ name: p, data: [] });
  }
  write(c: Uint8Array) {
    this.files[this.files.length - 1].data.push(c.slice());
  }
  endFile() {}
  bytesOf(i: number): Uint8Array {
    return new Uint8Array(Buffer.concat(this.files[i].data));
  }
}

describe("key schedule", () => {
  for (const [i, v] of vectors.keys.entries()) {
    it(`vector ${i}${v.passphrase ? " (passphrase)" : ""}`, async () => {
      const secret = b64url.decode(v.secret);
      const kdf = kdfOf(v.kdf);
      const keys = await deriveKeys(secret, kdf ? { passphrase: v.passphrase, kdf } : undefined);
      expect(keys.identity).toBe(v.identity);
      expect(bytesToHex(keys.claimKey)).toBe(v.claim_key);
      expect(bytesToHex(sha256(keys.claimKey))).toBe(v.claim_hash);
      expect(bytesToHex(secretCheck(secret))).toBe(v.check);
      expect(bytesToHex(keys.holder)).toBe(v.holder);
      expect(bytesToHex(sha256(keys.holder))).toBe(v.holder_hash);
      expect(await identityToRecipient(keys.identity)).toBe(v.recipient);
      // A request link carrying this recipient: its key reads back the same however it is cased, and the proof an
      // answer carries is the one the relay keeps the digest of.
      expect(requestRecipient(`#${v.recipient.toUpperCase()}`)).toBe(v.recipient);
      expect(bytesToHex(answerProof(v.recipient))).toBe(v.answer_proof);
      expect(requestRecipient(v.recipient.slice(0, -3))).toBeNull();
    });
  }

  it("tells a damaged link from a wrong passphrase", async () => {
    const v = vectors.keys.find((k: { kdf: unknown }) => k.kdf);
    const secret = b64url.decode(v.secret);
    const meta = { check: hexToBytes(v.check), kdf: kdfOf(v.kdf) };
    const damaged = secret.slice();
    damaged[0] ^= 1;
    await expect(unlock(damaged, meta, v.passphrase)).rejects.toMatchObject({ code: "wrong_key" });
    await expect(unlock(secret, meta, null)).rejects.toBeInstanceOf(KeyError);
    const wrong = await unlock(secret, meta, "not the passphrase");
    const right = await unlock(secret, meta, v.passphrase);
    expect(bytesToHex(right.claimKey)).toBe(v.claim_key);
    expect(bytesToHex(wrong.claimKey)).not.toBe(v.claim_key);
    // A wrong passphrase still proves holding the link, so the relay counts it as an attempt.
    expect(bytesToHex(wrong.holder)).toBe(v.holder);
  });

  it("refuses Argon2 parameters outside the caps", async () => {
    const secret = new Uint8Array(32);
    for (const [m_kib, t] of [
      [1024 * 1024, 3],
      // Each within its own cap, but together more than four times the default work (the same cases as core's).
      [256 * 1024, 4],
      [128 * 1024, 7],
    ]) {
      const meta = { check: secretCheck(secret), kdf: { salt: new Uint8Array(16), m_kib, t, p: 4 } };
      await expect(unlock(secret, meta, "x")).rejects.toMatchObject({ code: "kdf_params" });
    }
    expect(() => validateKdf({ salt: new Uint8Array(16), m_kib: 256 * 1024, t: 3, p: 4 })).not.toThrow();
    expect(() => validateKdf({ salt: new Uint8Array(16), m_kib: 64 * 1024, t: 10, p: 4 })).not.toThrow();
  });
});

describe("payloads", () => {
  for (const [i, v] of vectors.payloads.entries()) {
    it(`payload ${i}: ${v.kind}${v.passphrase ? " with passphrase" : ""}`, async () => {
      const kdf = kdfOf(v.kdf);
      const keys = await deriveKeys(b64url.decode(v.secret), kdf ? { passphrase: v.passphrase, kdf } : undefined);
      const sink = new Collect();
      const summary = await openPayload(streamOf(b64(v.ciphertext)), keys.identity, sink);
      if (v.kind === "text") {
        expect(sink.secret).toBe(v.text);
        expect(summary.text).toBe(true);
      } else {
        expect(sink.dirs).toEqual(v.dirs);
        expect(sink.files.map((f) => f.name)).toEqual(v.files.map((f: { name: string }) => f.name));
        for (const [j, f] of v.files.entries()) {
          const data = sink.bytesOf(j);
          expect(data.length).toBe(f.size);
          expect(bytesToHex(sha256(data))).toBe(f.sha256);
        }
      }
    });
  }

  it("rejects any flipped byte and a truncated payload", async () => {
    const v = vectors.payloads.find((p: { kind: string; kdf: unknown }) => p.kind === "files" && !p.kdf);
    const keys = await deriveKeys(b64url.decode(v.secret));
    const ct = b64(v.ciphertext);
    for (const at of [10, 200, ct.length >> 1, ct.length - 1]) {
      const bad = ct.slice();
      bad[at] ^= 0x40;
      await expect(openPayload(streamOf(bad), keys.identity, new Collect())).rejects.toBeInstanceOf(DamagedError);
    }
    await expect(openPayload(streamOf(ct.slice(0, ct.length - 100)), keys.identity, new Collect())).rejects.toBeInstanceOf(
      DamagedError,
    );
  });

  it("a relay or network failure is reported as such, never as damage (the download can resume)", async () => {
    const v = vectors.payloads.find((p: { kind: string; kdf: unknown }) => p.kind === "files" && !p.kdf);
    const keys = await deriveKeys(b64url.decode(v.secret));
    const ct = b64(v.ciphertext);
    // Cut while the age header is read, and later in the body.
    for (const cut of [20, ct.length >> 1]) {
      const failing = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(ct.slice(0, cut));
          c.error(new ApiError("unreachable", "The connection to the relay was lost."));
        },
      });
      await expect(openPayload(failing, keys.identity, new Collect())).rejects.toMatchObject({ name: "ApiError", code: "unreachable" });
    }
  });

  it("a wrong identity fails", async () => {
    const v = vectors.payloads[0];
    const other = await deriveKeys(new Uint8Array(32).fill(9));
    await expect(openPayload(streamOf(b64(v.ciphertext)), other.identity, new Collect())).rejects.toBeInstanceOf(DamagedError);
  });
});

describe("container", () => {
  it("round-trips text and files written by the web sender", async () => {
    const keys = await deriveKeys(new Uint8Array(32).fill(3));
    const long = `${"d".repeat(150)}/${"é".repeat(60)}.txt`;
    const w = new ContainerWriter();
    w.addDir("folder");
    w.addFile("folder/a.bin", new Blob([new Uint8Array(70_000).fill(5)]));
    w.addFile(long, new Blob(["long name"]));
    w.addFile("empty", new Blob([]));
    const plain = w.finish();
    expect(plain.size).toBe(padme(plain.size));
    const sealed = new Uint8Array(await (await sealPayload(plain, keys.identity)).arrayBuffer());
    const sink = new Collect();
    const s = await openPayload(streamOf(sealed, 65536), keys.identity, sink);
    expect(s).toMatchObject({ files: 3, dirs: 1, bytes: 70_000 + 9 });
    expect(sink.files.map((f) => f.name)).toEqual(["folder/a.bin", long, "empty"]);
    expect(new TextDecoder().decode(sink.bytesOf(1))).toBe("long name");

    const t = new ContainerWriter();
    t.addText("ünïcode secret ☕");
    const sink2 = new Collect();
    await openPayload(streamOf(new Uint8Array(await (await sealPayload(t.finish(), keys.identity)).arrayBuffer())), keys.identity, sink2);
    expect(sink2.secret).toBe("ünïcode secret ☕");
  });

  it("refuses unsafe names and data after the archive", async () => {
    for (const bad of ["../x", "/etc/passwd", "a/../../b", "C:/x", "a\\b", "", "a//b", "nul\u0000"]) {
      expect(() => safePath(bad)).toThrow(ContainerError);
    }
    const w = new ContainerWriter();
    w.addFile("a", new Blob(["x"]));
    const good = new Uint8Array(await w.finish().arrayBuffer());
    const junk = good.slice();
    junk[junk.length - 1] = 1;
    await expect(decode(streamOf(junk), new Collect())).rejects.toThrow(/after the end/);
    await expect(decode(streamOf(good), new Collect())).resolves.toMatchObject({ files: 1 });
  });
});

const containers = JSON.parse(readFileSync(new URL("../../tests/vectors/containers.json", import.meta.url), "utf8"));

/** The same cases as core's decoder (`core/tests/vectors.rs`): what one accepts the other shows alike, and what one
 * refuses the other refuses. Fed in odd-sized chunks so that no case passes by lining up with the reads. */
describe("containers both decoders agree on", () => {
  for (const v of containers.accept) {
    it(`accepts: ${v.why}`, async () => {
      const sink = new Collect();
      await decode(streamOf(b64(v.tar), 333), sink);
      expect(sink.secret).toBe(v.text);
      expect(sink.dirs).toEqual(v.dirs);
      expect(sink.files.map((f) => f.name)).toEqual(v.files.map((f: { name: string }) => f.name));
      for (const [j, f] of v.files.entries()) expect(bytesToHex(sha256(sink.bytesOf(j)))).toBe(f.sha256);
    });
  }
  for (const v of containers.refuse) {
    it(`refuses: ${v.why}`, async () => {
      await expect(decode(streamOf(b64(v.tar), 333), new Collect())).rejects.toBeInstanceOf(ContainerError);
    });
  }
});

describe("link", () => {
  it("parses ids and fragments and never echoes the secret", () => {
    expect(idFromPath("/o/AAAAAAAAAAAAAAAAAAAAAA")).toBe("AAAAAAAAAAAAAAAAAAAAAA");
    expect(() => idFromPath("/o/short")).toThrow();
    expect(idFromPath("/m/AAAAAAAAAAAAAAAAAAAAAA", "m")).toBe("AAAAAAAAAAAAAAAAAAAAAA");
    expect(() => idFromPath("/o/AAAAAAAAAAAAAAAAAAAAAA", "m")).toThrow();
    expect(() => idFromPath("/m/AAAAAAAAAAAAAAAAAAAAAA")).toThrow();
    const s = "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tk";
    expect(secretFromFragment(`#${s}`).length).toBe(32);
    for (const bad of ["", "#", `#${s}x`, `#${s.slice(0, 42)}*`]) {
      try {
        secretFromFragment(bad);
        throw new Error("accepted");
      } catch (e) {
        expect((e as Error).message).not.toContain(s.slice(0, 20));
        expect((e as Error).message).not.toBe("accepted");
      }
    }
  });
});
