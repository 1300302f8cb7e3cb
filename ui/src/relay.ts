/**
 * The relay's HTTPS API (same origin as the page): peek, claim, resume, ack, create, status. Only `claim` can burn a
 * link, and only with the claim key derived from the fragment.
 */
import { has, t } from "./i18n";
import { b64url, type KdfParams } from "./keys";

export interface LinkMeta {
  size: number;
  expiresAt: number;
  check: Uint8Array;
  kdf: KdfParams | null;
}

/** A failed API call with the relay's stable code (`gone`, `wrong_key`, `rate_limited`, `too_large`, ...). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly attemptsLeft?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const api = (id: string, what = "") => `/api/v1/links/${encodeURIComponent(id)}${what}`;

async function fail(r: Response): Promise<never> {
  let body: { error?: string; message?: string; attempts_left?: number } = {};
  try {
    body = await r.json();
  } catch {
    /* not JSON */
  }
  const code = body.error ?? `http_${r.status}`;
  // The relay explains in English; what a person may read here comes in their language where the code is known.
  const said = body.message ?? t("error.status", { status: r.status });
  throw new ApiError(code, has(`error.${code}`) ? t(`error.${code}`) : said, body.attempts_left);
}

/** Most time one call waits on "retry after" answers before it reports the relay busy. */
const RETRY_BUDGET_MS = 60_000;

/**
 * `fetch` that never caches, turns a network failure into the `unreachable` code, and honours a busy relay's
 * `429 Retry-After` (nothing was done; the same request is sent again after the wait, within a bound).
 */
async function request(url: string, init: RequestInit = {}): Promise<Response> {
  let waited = 0;
  for (;;) {
    let r: Response;
    try {
      r = await fetch(url, { ...init, cache: "no-store" });
    } catch {
      throw new ApiError("unreachable", t("error.unreachable"));
    }
    const after = Number(r.headers.get("retry-after")) * 1000;
    if (r.status !== 429 || !(after > 0) || waited + after > RETRY_BUDGET_MS) return r;
    waited += after;
    await new Promise((res) => setTimeout(res, after));
  }
}

function post(url: string, body: unknown): Promise<Response> {
  return request(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

export async function peek(id: string): Promise<LinkMeta> {
  const r = await request(api(id));
  if (!r.ok) return fail(r);
  const j = await r.json();
  const kdf = j.meta.kdf;
  return {
    size: j.size,
    expiresAt: j.expires_at,
    check: b64url.decode(j.meta.check),
    kdf: kdf ? { salt: b64url.decode(kdf.salt), m_kib: kdf.m_kib, t: kdf.t, p: kdf.p } : null,
  };
}

export interface Claimed {
  lease: string;
  size: number;
  body: ReadableStream<Uint8Array>;
}

/**
 * The burn: proves holding the link and the claim key; on success the ciphertext streams, resuming under the lease if
 * the connection drops.
 */
export async function claim(
  id: string,
  keys: { holder: Uint8Array; claimKey: Uint8Array },
  onProgress: (done: number, total: number) => void,
): Promise<Claimed> {
  const r = await post(api(id, "/claim"), { holder: b64url.encode(keys.holder), claim_key: b64url.encode(keys.claimKey) });
  if (!r.ok || !r.body) return fail(r);
  return downloading(r, r.body, id, r.headers.get("burnlink-lease") ?? "", onProgress);
}

/** A download answer (claim or resume) as a body that resumes by itself under `lease`. */
function downloading(
  r: Response,
  body: ReadableStream<Uint8Array>,
  id: string,
  lease: string,
  onProgress: (done: number, total: number) => void,
): Claimed {
  const size = Number(r.headers.get("burnlink-size") ?? r.headers.get("content-length"));
  return { lease, size, body: resumable(id, lease, size, isLive(r), body, onProgress) };
}

/** A live download: the sender is still uploading, `size` is its estimate, and the body's clean end is the end. */
const isLive = (r: Response) => r.headers.get("burnlink-live") === "1";

/** What a recipient of a live link hears when the sender's upload stops short: the link is gone, nothing saved. */
export const UPLOAD_FAILED = t("error.upload_failed");

/** Downloads again, from the start, under a lease this page holds from an earlier claim (a reload after a cut). */
export async function resume(id: string, lease: string, onProgress: (done: number, total: number) => void): Promise<Claimed> {
  const r = await post(api(id, "/resume"), { lease, offset: 0 });
  if (!r.ok || !r.body) return fail(r);
  return downloading(r, r.body, id, lease, onProgress);
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

function resumable(
  id: string,
  lease: string,
  size: number,
  live: boolean,
  first: ReadableStream<Uint8Array>,
  onProgress: (done: number, total: number) => void,
): ReadableStream<Uint8Array> {
  let reader = first.getReader();
  let offset = 0;
  let tries = 0;
  onProgress(0, size);
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      for (;;) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            // The relay cuts a live body off if the upload stops short, and ends it cleanly only at the upload's end.
            if (live || offset >= size) {
              ctrl.close();
              return;
            }
            throw new Error(t("error.cut_short"));
          }
          offset += value.length;
          onProgress(offset, Math.max(size, offset));
          ctrl.enqueue(value);
          return;
        } catch (e) {
          if (++tries > 5) {
            if (e instanceof ApiError) throw e;
            throw new ApiError("unreachable", t("error.connection_lost"));
          }
          await sleep(250 * 2 ** tries);
          const r = await post(api(id, "/resume"), { lease, offset });
          if (!r.ok || !r.body) {
            // A live download whose lease is gone: the upload behind it stopped (the relay ended the link).
            return await fail(r).catch((e) => {
              throw live && e instanceof ApiError && e.code === "gone" ? new ApiError("upload_failed", UPLOAD_FAILED) : e;
            });
          }
          live = isLive(r);
          size = Number(r.headers.get("burnlink-size") ?? size);
          reader = r.body.getReader();
        }
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Tells the relay the last chunk verified, so it deletes the ciphertext now rather than when the lease ends. */
export async function ack(id: string, lease: string): Promise<void> {
  try {
    await post(api(id, "/ack"), { lease });
  } catch {
    /* the relay deletes it when the lease ends anyway */
  }
}

export interface Created {
  id: string;
  expiresAt: number;
  /** The ids of the other recipients' links, in the order given. */
  more: string[];
}

/** What the relay keeps of one more recipient's link of an upload. */
export interface RecipientHashes {
  claimHash: Uint8Array;
  holderHash: Uint8Array;
  manageHash: Uint8Array;
  check: Uint8Array;
  kdf: KdfParams | null;
}

const kdfText = (k: KdfParams) => `${b64url.encode(k.salt)}.${k.m_kib}.${k.t}.${k.p}`;

export async function create(
  ciphertext: Blob,
  h: {
    ttlSecs: number;
    manageHash: Uint8Array;
    kdf: KdfParams | null;
    policy?: string | null;
    allow?: string[];
    /** More recipients' links of the same upload, each burning on its own. */
    recipients?: RecipientHashes[];
  } & ({ claimHash: Uint8Array; holderHash: Uint8Array; check: Uint8Array } | { answerTo: string; answerProof: Uint8Array }),
): Promise<Created> {
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    "burnlink-ttl": String(h.ttlSecs),
    "burnlink-manage-hash": b64url.encode(h.manageHash),
  };
  if ("answerTo" in h) {
    // An answer to a request takes the request's keys; it only proves holding the request link.
    headers["burnlink-answer-to"] = h.answerTo;
    headers["burnlink-answer-proof"] = b64url.encode(h.answerProof);
  } else {
    headers["burnlink-claim-hash"] = b64url.encode(h.claimHash);
    headers["burnlink-holder-hash"] = b64url.encode(h.holderHash);
    headers["burnlink-check"] = b64url.encode(h.check);
  }
  if (h.kdf) headers["burnlink-kdf"] = kdfText(h.kdf);
  if (h.recipients?.length) {
    headers["burnlink-recipients"] = h.recipients
      .map((r) => [r.claimHash, r.holderHash, r.manageHash, r.check].map((b) => b64url.encode(b)).concat(r.kdf ? [kdfText(r.kdf)] : []).join("."))
      .join(",");
  }
  if (h.policy) headers["burnlink-policy"] = h.policy;
  if (h.allow?.length) headers["burnlink-allow"] = h.allow.join(",");
  const r = await request("/api/v1/links", { method: "POST", headers, body: ciphertext });
  if (!r.ok) return fail(r);
  const j = await r.json();
  return { id: j.id, expiresAt: j.expires_at, more: j.more ?? [] };
}

/** What this relay's operator allows senders (from `/.well-known/burnlink`); the protocol's bounds if it cannot say. */
export async function relayLimits(): Promise<{ maxTtlSecs: number; policies: string[] | undefined; policyRequired: boolean }> {
  try {
    const r = await request("/.well-known/burnlink", {});
    const j = await r.json();
    return { maxTtlSecs: j.max_ttl_secs ?? 30 * 86400, policies: j.policies, policyRequired: !!j.policy_required };
  } catch {
    return { maxTtlSecs: 30 * 86400, policies: undefined, policyRequired: false };
  }
}

/** The sender's view of a link (`state` is one of fresh, claimed, consumed, expired, revoked, burned). */
export interface LinkStatus {
  state: string;
  createdAt: number;
  expiresAt: number;
  claimedAt: number | null;
  endedAt: number | null;
  failedAttempts: number;
  /** Fetches of the link's page (link previews count too). */
  previews: number;
  /** The kind of client that claimed it: app, browser or cli. */
  claimedVia: string | null;
}

async function manageCall(id: string, manage: string, what: "/status" | "/revoke"): Promise<LinkStatus> {
  const r = await post(api(id, what), { manage });
  if (!r.ok) return fail(r);
  const j = await r.json();
  return {
    state: j.state,
    createdAt: j.created_at,
    expiresAt: j.expires_at,
    claimedAt: j.claimed_at ?? null,
    endedAt: j.ended_at ?? null,
    failedAttempts: j.failed_attempts,
    previews: j.previews ?? 0,
    claimedVia: j.claimed_via ?? null,
  };
}

/** The sender's exact view, with the manage token. */
export const status = (id: string, manage: string) => manageCall(id, manage, "/status");

/** Revokes the link (the ciphertext is deleted at once); answers the new view. */
export const revoke = (id: string, manage: string) => manageCall(id, manage, "/revoke");
