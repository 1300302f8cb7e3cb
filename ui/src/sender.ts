/**
 * The web sender (`/`): type a secret or pick files, choose expiry and an optional passphrase, get a one-time link.
 * Everything is sealed here, in the browser; the relay receives ciphertext and hashes only. The desktop app is the main
 * sender; this page makes a relay useful on its own.
 */
import { ContainerWriter } from "./container";
import { bytes, copyWithClear, h, passphraseField, policyFields, progressBar, show, ttlSelect, when } from "./dom";
import { deriveKeys, KDF_DEFAULT, secretCheck, sha256Of, type KdfParams } from "./keys";
import { makeLink, makeManageLink } from "./link";
import { sealPayload } from "./payload";
import { ApiError, create, relayLimits } from "./relay";
import { MANAGE_HINT, PASSPHRASE_HINT, PASSPHRASE_SEPARATELY, SEND_TITLE, SHARE_HINT, textTooLong } from "./text";

/** Most links one upload gives (the relay's `MAX_RECIPIENTS`). */
export const MAX_RECIPIENTS = 20;

/** The web sender holds the payload in memory; larger sends belong to the app or the CLI, which stream. */
export const SEND_LIMIT = 256 * 1024 * 1024;


function random(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** A passphrase to send by another channel, as the app and the CLI make one: 5 groups of 5 characters from 31
 * (about 123 bits), easy to read out. Uniform: bytes past the largest multiple of 31 are drawn again. */
export function generatePassphrase(): string {
  const alphabet = "23456789abcdefghjkmnpqrstuvwxyz";
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < 29) {
    if (out.length % 6 === 5) {
      out += "-";
      continue;
    }
    const b = random(1)[0];
    if (b < limit) out += alphabet[b % alphabet.length];
  }
  return out;
}

export async function sender(root: HTMLElement) {
  const text = h("textarea", { id: "secret", rows: 6, testid: "secret-input", placeholder: "Type or paste the secret", autofocus: true });
  const files = h("input", { id: "files", type: "file", multiple: true, testid: "file-input" });
  const ttl = ttlSelect();
  // Offer only what this relay's operator allows.
  const limits = await relayLimits();
  for (const o of Array.from(ttl.options)) if (Number(o.value) > limits.maxTtlSecs) o.remove();
  const rules = policyFields(ttl, limits.policies, limits.policyRequired);
  const { input: pass, row: passRow } = passphraseField(generatePassphrase);
  const recipients = h("input", { id: "recipients", type: "number", min: 1, max: MAX_RECIPIENTS, value: 1, testid: "recipients" });
  const status = h("p", { class: "status", role: "status" });
  const go = h("button", { type: "submit", class: "primary", testid: "create" }, SEND_TITLE);
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "title" },
    h("h1", { id: "title" }, "Send a one-time link"),
    h("label", { for: "secret" }, "Secret"),
    text,
    h("label", { for: "files" }, `…or files (up to ${bytes(SEND_LIMIT)} here; use the app for more)`),
    files,
    h("label", { for: "ttl" }, "Expires unopened after"),
    ttl,
    rules.el,
    h("label", { for: "recipients" }, "Recipients (a one-time link for each)"),
    recipients,
    h("label", { for: "pass" }, "Passphrase (optional; one is generated if the policy requires it)"),
    passRow,
    h("p", { class: "muted" }, PASSPHRASE_HINT),
    go,
    status,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.removeAttribute("data-testid");
    go.disabled = true;
    try {
      const policy = rules.chosen();
      // A template that requires a passphrase gets one generated when none was typed; it is shown with the link.
      const generated = policy?.passphrase && !pass.value ? generatePassphrase() : null;
      const rule = { policy: policy?.name ?? null, allow: rules.allowList() };
      const n = Math.min(MAX_RECIPIENTS, Math.max(1, Math.floor(Number(recipients.value)) || 1));
      await send(root, text.value, Array.from(files.files ?? []), Number(ttl.value), generated ?? pass.value, generated, rule, n, status);
    } catch (e) {
      go.disabled = false;
      status.textContent = e instanceof ApiError || e instanceof Error ? e.message : String(e);
      status.setAttribute("data-testid", "error");
    }
  });
  show(root, form);
}

/** Several recipients: every link, each opening once on its own, with its own copy button (the first is also above). */
function recipientLinks(all: { link: string }[]): HTMLElement {
  const note = h("p", { class: "muted", role: "status" });
  return h(
    "div",
    { class: "recipients" },
    h("p", {}, `${all.length} links, one per recipient: each opens once, on its own. Send each person their own.`),
    h(
      "ol",
      { testid: "recipient-links" },
      ...all.map(({ link }, i) => {
        const copy = h("button", { type: "button" }, "Copy");
        copy.addEventListener("click", () => copyWithClear(`Link ${i + 1}`, link, 60, note));
        return h("li", { testid: "recipient-link" }, h("input", { readonly: true, value: link, class: "mono", "aria-label": `Link for recipient ${i + 1}` }), copy);
      }),
    ),
    note,
  );
}

/** What the page sends: the picked files, or else the typed text. Throws a message for the person at the page. */
export function containerOf(text: string, files: File[]): ContainerWriter {
  const c = new ContainerWriter();
  if (files.length) {
    const total = files.reduce((a, f) => a + f.size, 0);
    if (total > SEND_LIMIT) throw new Error(`That is ${bytes(total)}; this page sends up to ${bytes(SEND_LIMIT)}. Use the Burnlink app.`);
    const names = new Set<string>();
    for (const f of files) {
      if (names.has(f.name)) throw new Error(`Two files are named ${f.name}; rename one.`);
      names.add(f.name);
      c.addFile(f.name, f);
    }
  } else if (text.length) {
    const tooLong = textTooLong(text);
    if (tooLong) throw new Error(tooLong);
    c.addText(text);
  } else {
    throw new Error("Type a secret or pick a file first.");
  }
  return c;
}

async function send(
  root: HTMLElement,
  text: string,
  files: File[],
  ttlSecs: number,
  passphrase: string,
  generated: string | null,
  rule: { policy: string | null; allow: string[] },
  recipients: number,
  status: HTMLElement,
) {
  const c = containerOf(text, files);
  // One upload, a link for each recipient: each its own secret, keys, passphrase salt and manage token.
  const links: { secret: Uint8Array; manage: Uint8Array; kdf: KdfParams | null; keys: Awaited<ReturnType<typeof deriveKeys>> }[] = [];
  for (let i = 0; i < recipients; i++) {
    const secret = random(32);
    const kdf: KdfParams | null = passphrase ? { salt: random(16), ...KDF_DEFAULT } : null;
    if (kdf) status.textContent = recipients > 1 ? `Deriving keys from the passphrase (${i + 1} of ${recipients})…` : "Deriving a key from the passphrase…";
    const keys = await deriveKeys(secret, kdf ? { passphrase, kdf } : undefined);
    links.push({ secret, manage: random(32), kdf, keys });
  }
  status.textContent = "Encrypting…";
  const sealed = await sealPayload(c.finish(), ...links.map((l) => l.keys.identity));
  const bar = progressBar("Uploading");
  status.replaceChildren(bar.el);
  bar.set(0, sealed.size);
  const hashes = links.map((l) => ({
    claimHash: sha256Of(l.keys.claimKey),
    holderHash: sha256Of(l.keys.holder),
    manageHash: sha256Of(l.manage),
    check: secretCheck(l.secret),
    kdf: l.kdf,
  }));
  const made = await create(sealed, { ttlSecs, ...hashes[0], policy: rule.policy, allow: rule.allow, recipients: hashes.slice(1) });
  bar.set(sealed.size, sealed.size);
  const ids = [made.id, ...made.more];
  if (ids.length !== links.length) throw new Error("The relay made a different number of links; try again.");
  const all = ids.map((id, i) => ({ link: makeLink(location.origin, id, links[i].secret), manage: makeManageLink(location.origin, id, links[i].manage) }));
  const link = all[0].link;
  const out = h("input", { id: "link", readonly: true, value: link, testid: "link", "aria-label": "The one-time link" });
  const note = h("p", { class: "muted", role: "status" });
  const copy = h("button", { type: "button", class: "primary", testid: "copy" }, "Copy link");
  copy.addEventListener("click", () => copyWithClear("Link", link, 60, note));
  show(
    root,
    h(
      "section",
      { class: "card" },
      h("h1", {}, "Your one-time link"),
      out,
      h("div", { class: "row" }, copy),
      note,
      h("p", {}, `It opens once and expires ${when(made.expiresAt)} if nobody opens it.`),
      all.length > 1 ? recipientLinks(all) : null,
      generated
        ? h(
            "p",
            {},
            "Passphrase (generated for this policy): ",
            h("input", { readonly: true, value: generated, testid: "generated-passphrase", class: "mono", "aria-label": "Generated passphrase" }),
          )
        : null,
      passphrase ? h("p", {}, PASSPHRASE_SEPARATELY) : null,
      h("p", { class: "muted" }, SHARE_HINT),
      h(
        "details",
        { class: "manage" },
        h("summary", {}, all.length > 1 ? "Follow or revoke these links" : "Follow or revoke this link"),
        h("p", {}, MANAGE_HINT),
        ...all.map((l, i) =>
          h("p", {}, h("a", { href: l.manage, target: "_blank", rel: "noopener noreferrer", testid: i ? "manage-link-more" : "manage-link", class: "mono" }, l.manage)),
        ),
      ),
    ),
  );
  out.select();
}
