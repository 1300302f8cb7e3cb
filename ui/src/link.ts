/** The link format of DESIGN §1: `https://HOST[:PORT]/o/<id>#<secret>` (id 16 bytes, secret 32, base64url). */
import { t } from "./i18n";
import { b64url } from "./keys";

export class LinkError extends Error {}

const B64URL = /^[A-Za-z0-9_-]+$/;

/** `what`: which part, as a key of the i18n layer's `link.malformed_*` texts. */
function decodeExact(s: string, bytes: number, what: "id" | "key" | "token"): Uint8Array {
  const chars = Math.ceil((bytes * 4) / 3);
  if (s.length !== chars || !B64URL.test(s)) throw new LinkError(t(`link.malformed_${what}`));
  try {
    const b = b64url.decode(s);
    if (b.length !== bytes) throw new Error();
    return b;
  } catch {
    throw new LinkError(t(`link.malformed_${what}`));
  }
}

/** The id from a `/o/<id>` path (a link), `/m/<id>` (a manage link) or `/r/<id>` (a request for a secret). */
export function idFromPath(path: string, page: "o" | "m" | "r" = "o"): string {
  const m = new RegExp(`^/${page}/([^/]+)/?$`).exec(path);
  if (!m) throw new LinkError(t("link.not_a_link_page"));
  decodeExact(m[1], 16, "id");
  return m[1];
}

/** The 32-byte secret from a fragment (`#...`). Never echoes it in errors. */
export function secretFromFragment(fragment: string): Uint8Array {
  const f = fragment.startsWith("#") ? fragment.slice(1) : fragment;
  if (!f) throw new LinkError(t("link.no_fragment"));
  return decodeExact(f, 32, "key");
}

export function makeLink(origin: string, id: string, secret: Uint8Array): string {
  return `${origin}/o/${id}#${b64url.encode(secret)}`;
}

/** The sender's private manage link: `/m/<id>#<manage token>` (status and revoke; it cannot open the content). */
export function makeManageLink(origin: string, id: string, token: Uint8Array): string {
  return `${origin}/m/${id}#${b64url.encode(token)}`;
}

/** The 32-byte manage token from a manage link's fragment. */
export function tokenFromFragment(fragment: string): string {
  const f = fragment.startsWith("#") ? fragment.slice(1) : fragment;
  decodeExact(f, 32, "token");
  return f;
}
