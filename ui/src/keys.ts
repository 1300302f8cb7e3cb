/**
 * The key schedule of DESIGN §1, the same as `burnlink-core`'s keys module (checked against tests/vectors/v1.json):
 *
 *   K      = S, or HKDF-SHA256(S || Argon2id(NFC(passphrase), salt, m, t, p), "burnlink/v1/pass") with a passphrase
 *   x25519 = HKDF-SHA256(K, "burnlink/v1/x25519")  -> AGE-SECRET-KEY-1... (Bech32)
 *   claim  = HKDF-SHA256(K, "burnlink/v1/claim")   the relay stores SHA-256(claim)
 *   holder = HKDF-SHA256(S, "burnlink/v1/holder")  from S alone; the relay stores SHA-256(holder), and a claim
 *            without it is refused without counting, so an id alone can neither burn a link nor use it up
 *   check  = HKDF-SHA256(S, "burnlink/v1/check")[..16]  public: tells a damaged link from a wrong passphrase
 *   answer = HKDF-SHA256("age1…", "burnlink/v1/answer")  a request link's answer proof, from its public key alone
 *
 * No IO here; only the crypto, with the well-kept @noble / @scure libraries.
 */
import { argon2idAsync } from "@noble/hashes/argon2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64urlnopad, bech32 } from "@scure/base";
import { t } from "./i18n";

const enc = new TextEncoder();
export const LABEL_X25519 = "burnlink/v1/x25519";
export const LABEL_CLAIM = "burnlink/v1/claim";
export const LABEL_PASS = "burnlink/v1/pass";
export const LABEL_CHECK = "burnlink/v1/check";
export const LABEL_HOLDER = "burnlink/v1/holder";
export const LABEL_ANSWER = "burnlink/v1/answer";

/** A request link's key: an age X25519 recipient (`age1…`, 32 bytes), in its canonical lower-case form; `null` if the
 * text is not one (cut off, or not a key at all). */
export function requestRecipient(fragment: string): string | null {
  const f = (fragment.startsWith("#") ? fragment.slice(1) : fragment).toLowerCase();
  try {
    const { prefix, words } = bech32.decode(f as `${string}1${string}`, 100);
    return prefix === "age" && bech32.fromWords(words).length === 32 ? f : null;
  } catch {
    return null;
  }
}

/** The proof that an answer comes from someone who holds the request link. */
export function answerProof(recipient: string): Uint8Array {
  return hkdf32(enc.encode(recipient.toLowerCase()), LABEL_ANSWER);
}

/** Argon2id parameters and salt of a passphrase link (public link metadata). */
export interface KdfParams {
  salt: Uint8Array;
  m_kib: number;
  t: number;
  p: number;
}

/** The caps `burnlink-core` applies when opening: a hostile sender must not make a browser allocate GiBs. */
export const KDF_DEFAULT = { m_kib: 64 * 1024, t: 3, p: 4 };
/** `maxCost` bounds memory × passes (KiB) to four times the default: the other caps alone allow about a minute of
 * Argon2 here. */
export const KDF_LIMITS = { minM: 8 * 1024, maxM: 256 * 1024, maxT: 10, maxP: 16, maxCost: 4 * KDF_DEFAULT.m_kib * KDF_DEFAULT.t };

export class KeyError extends Error {
  constructor(
    readonly code: "wrong_key" | "passphrase_required" | "kdf_params",
    message: string,
  ) {
    super(message);
  }
}

function hkdf32(ikm: Uint8Array, label: string): Uint8Array {
  return hkdf(sha256, ikm, undefined, enc.encode(label), 32);
}

/** The public 16-byte check of a link secret. */
export function secretCheck(secret: Uint8Array): Uint8Array {
  return hkdf32(secret, LABEL_CHECK).slice(0, 16);
}

/** Compares without an early exit, so timing does not tell how much of a secret value matched. */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function validateKdf(k: KdfParams): void {
  const ok =
    k.salt.length === 16 &&
    k.m_kib >= KDF_LIMITS.minM &&
    k.m_kib <= KDF_LIMITS.maxM &&
    k.t >= 1 &&
    k.t <= KDF_LIMITS.maxT &&
    k.p >= 1 &&
    k.p <= KDF_LIMITS.maxP &&
    k.m_kib >= 8 * k.p &&
    k.m_kib * k.t <= KDF_LIMITS.maxCost;
  if (!ok) throw new KeyError("kdf_params", t("key.kdf_params"));
}

/** Argon2id(NFC(passphrase)) -> 32 bytes. Yields to the event loop so the page stays responsive. */
export async function stretch(passphrase: string, k: KdfParams): Promise<Uint8Array> {
  validateKdf(k);
  return argon2idAsync(enc.encode(passphrase.normalize("NFC")), k.salt, {
    m: k.m_kib,
    t: k.t,
    p: k.p,
    dkLen: 32,
    asyncTick: 20,
  });
}

/** The keys of one link. */
export interface LinkKeys {
  /** `AGE-SECRET-KEY-1...`, the age identity. */
  identity: string;
  /** The claim key C. */
  claimKey: Uint8Array;
  /** The holder proof H (from the link secret alone, whatever the passphrase). */
  holder: Uint8Array;
}

export async function deriveKeys(secret: Uint8Array, pass?: { passphrase: string; kdf: KdfParams }): Promise<LinkKeys> {
  let base = secret;
  if (pass) {
    const p = await stretch(pass.passphrase, pass.kdf);
    const ikm = new Uint8Array(64);
    ikm.set(secret, 0);
    ikm.set(p, 32);
    base = hkdf32(ikm, LABEL_PASS);
    ikm.fill(0);
    p.fill(0);
  }
  const x = hkdf32(base, LABEL_X25519);
  const identity = bech32.encode("age-secret-key-", bech32.toWords(x), false).toUpperCase();
  x.fill(0);
  return { identity, claimKey: hkdf32(base, LABEL_CLAIM), holder: hkdf32(secret, LABEL_HOLDER) };
}

/** Recipient-side derivation: checks the secret against the link's public check first. */
export async function unlock(
  secret: Uint8Array,
  meta: { check: Uint8Array; kdf: KdfParams | null },
  passphrase: string | null,
): Promise<LinkKeys> {
  if (!equal(secretCheck(secret), meta.check)) {
    throw new KeyError("wrong_key", t("key.wrong"));
  }
  if (!meta.kdf) return deriveKeys(secret);
  if (!passphrase) throw new KeyError("passphrase_required", t("key.passphrase_required"));
  return deriveKeys(secret, { passphrase, kdf: meta.kdf });
}

export function sha256Of(b: Uint8Array): Uint8Array {
  return sha256(b);
}

export const b64url = {
  encode: (b: Uint8Array) => base64urlnopad.encode(b),
  decode: (s: string) => base64urlnopad.decode(s),
};
