/**
 * What this tab needs to resume an interrupted download after a reload: the link's secret (the fragment is gone from
 * the address bar by then), the lease, the claim key's hash (to tell a mistyped passphrase from the right one before
 * anything is asked of the relay) and the link's public facts. Kept in `sessionStorage`, which belongs to this tab
 * alone and ends with it, and removed as soon as the download is verified, destroyed, or its lease is over. Never the
 * passphrase or a key derived from it: a passphrase link asks for it again.
 */
import { b64url, type KdfParams } from "./keys";
import type { LinkMeta } from "./relay";

/** A lease never runs longer than this after the claim (the relay's `MAX_LEASE_SPAN`). */
const MAX_SPAN_MS = 24 * 3600 * 1000;
const PREFIX = "burnlink:resume:";

export interface Pending {
  secret: Uint8Array;
  lease: string;
  claimHash: Uint8Array;
  meta: LinkMeta;
  claimedAt: number;
}

interface Stored {
  secret: string;
  lease: string;
  claimHash: string;
  size: number;
  expiresAt: number;
  check: string;
  kdf: { salt: string; m_kib: number; t: number; p: number } | null;
  claimedAt: number;
}

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: resuming after a reload is not offered, everything else works
  }
}

export function savePending(id: string, p: Pending): void {
  const kdf: KdfParams | null = p.meta.kdf;
  const s: Stored = {
    secret: b64url.encode(p.secret),
    lease: p.lease,
    claimHash: b64url.encode(p.claimHash),
    size: p.meta.size,
    expiresAt: p.meta.expiresAt,
    check: b64url.encode(p.meta.check),
    kdf: kdf ? { salt: b64url.encode(kdf.salt), m_kib: kdf.m_kib, t: kdf.t, p: kdf.p } : null,
    claimedAt: p.claimedAt,
  };
  try {
    storage()?.setItem(PREFIX + id, JSON.stringify(s));
  } catch {
    /* quota or storage disabled: the in-page resume still works */
  }
}

export function clearPending(id: string): void {
  storage()?.removeItem(PREFIX + id);
}

/** The pending download of `id`, if this tab has one whose lease may still run; stale entries are removed. */
export function loadPending(id: string, now = Date.now()): Pending | null {
  const st = storage();
  if (!st) return null;
  for (let i = st.length - 1; i >= 0; i--) {
    const k = st.key(i);
    if (!k?.startsWith(PREFIX)) continue;
    try {
      const s = JSON.parse(st.getItem(k) ?? "") as Stored;
      if (!(now - s.claimedAt < MAX_SPAN_MS)) st.removeItem(k);
    } catch {
      st.removeItem(k);
    }
  }
  const raw = st.getItem(PREFIX + id);
  if (!raw) return null;
  const s = JSON.parse(raw) as Stored;
  return {
    secret: b64url.decode(s.secret),
    lease: s.lease,
    claimHash: b64url.decode(s.claimHash),
    claimedAt: s.claimedAt,
    meta: {
      size: s.size,
      expiresAt: s.expiresAt,
      check: b64url.decode(s.check),
      kdf: s.kdf ? { salt: b64url.decode(s.kdf.salt), m_kib: s.kdf.m_kib, t: s.kdf.t, p: s.kdf.p } : null,
    },
  };
}
