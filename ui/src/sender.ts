/**
 * The web sender (`/`): type a secret or pick files, choose expiry and an optional passphrase, get a one-time link.
 * Everything is sealed here, in the browser; the relay receives ciphertext and hashes only. The desktop app is the main
 * sender; this page makes a relay useful on its own.
 */
import { ContainerWriter } from "./container";
import { t } from "./i18n";
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

/** What the web sender and the answer page both ask for: a secret or files, and an expiry this relay's operator
 * allows (`limits` says what else they allow). `el`: the secret's and the files' labelled fields. */
export async function secretFields() {
  const text = h("textarea", { id: "secret", rows: 6, testid: "secret-input", placeholder: t("send.placeholder"), autofocus: true });
  const files = h("input", { id: "files", type: "file", multiple: true, testid: "file-input" });
  const ttl = ttlSelect();
  const limits = await relayLimits();
  for (const o of Array.from(ttl.options)) if (Number(o.value) > limits.maxTtlSecs) o.remove();
  const el = [
    h("label", { for: "secret" }, t("send.secret")),
    text,
    h("label", { for: "files" }, t("send.files", { limit: bytes(SEND_LIMIT) })),
    files,
  ];
  // What was picked, as a container to seal (the files if any, else the text); throws a message for the person.
  const picked = () => containerOf(text.value, Array.from(files.files ?? []));
  return { text, ttl, limits, el, picked };
}

export async function sender(root: HTMLElement) {
  const { ttl, limits, el, picked } = await secretFields();
  const rules = policyFields(ttl, limits.policies, limits.policyRequired);
  const { input: pass, row: passRow } = passphraseField(generatePassphrase);
  const recipients = h("input", { id: "recipients", type: "number", min: 1, max: MAX_RECIPIENTS, value: 1, testid: "recipients" });
  const status = h("p", { class: "status", role: "status" });
  const go = h("button", { type: "submit", class: "primary", testid: "create" }, SEND_TITLE);
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "title" },
    h("h1", { id: "title" }, t("send.title")),
    ...el,
    h("label", { for: "ttl" }, t("send.expires_after")),
    ttl,
    rules.el,
    h("label", { for: "recipients" }, t("send.recipients")),
    recipients,
    h("label", { for: "pass" }, t("send.passphrase")),
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
      await send(root, picked(), Number(ttl.value), generated ?? pass.value, generated, rule, n, status);
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
    h("p", {}, t("send.links_each", { count: all.length })),
    h(
      "ol",
      { testid: "recipient-links" },
      ...all.map(({ link }, i) => {
        const copy = h("button", { type: "button" }, t("secret.copy"));
        copy.addEventListener("click", () => copyWithClear(t("send.link_n", { n: i + 1 }), link, 60, note));
        return h("li", { testid: "recipient-link" }, h("input", { readonly: true, value: link, class: "mono", "aria-label": t("send.link_for", { n: i + 1 }) }), copy);
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
    if (total > SEND_LIMIT) throw new Error(t("send.too_big", { size: bytes(total), limit: bytes(SEND_LIMIT) }));
    const names = new Set<string>();
    for (const f of files) {
      if (names.has(f.name)) throw new Error(t("send.same_name", { name: f.name }));
      names.add(f.name);
      c.addFile(f.name, f);
    }
  } else if (text.length) {
    const tooLong = textTooLong(text);
    if (tooLong) throw new Error(tooLong);
    c.addText(text);
  } else {
    throw new Error(t("send.nothing"));
  }
  return c;
}

async function send(
  root: HTMLElement,
  c: ContainerWriter,
  ttlSecs: number,
  passphrase: string,
  generated: string | null,
  rule: { policy: string | null; allow: string[] },
  recipients: number,
  status: HTMLElement,
) {
  // One upload, a link for each recipient: each its own secret, keys, passphrase salt and manage token.
  const links: { secret: Uint8Array; manage: Uint8Array; kdf: KdfParams | null; keys: Awaited<ReturnType<typeof deriveKeys>> }[] = [];
  for (let i = 0; i < recipients; i++) {
    const secret = random(32);
    const kdf: KdfParams | null = passphrase ? { salt: random(16), ...KDF_DEFAULT } : null;
    if (kdf) status.textContent = recipients > 1 ? t("send.deriving_n", { n: i + 1, count: recipients }) : t("send.deriving");
    const keys = await deriveKeys(secret, kdf ? { passphrase, kdf } : undefined);
    links.push({ secret, manage: random(32), kdf, keys });
  }
  status.textContent = t("send.encrypting");
  const sealed = await sealPayload(c.finish(), ...links.map((l) => l.keys.identity));
  const bar = progressBar(t("send.uploading"));
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
  if (ids.length !== links.length) throw new Error(t("send.count_mismatch"));
  const all = ids.map((id, i) => ({ link: makeLink(location.origin, id, links[i].secret), manage: makeManageLink(location.origin, id, links[i].manage) }));
  const link = all[0].link;
  const out = h("input", { id: "link", readonly: true, value: link, testid: "link", "aria-label": t("send.link_label") });
  const note = h("p", { class: "muted", role: "status" });
  const copy = h("button", { type: "button", class: "primary", testid: "copy" }, t("send.copy_link"));
  copy.addEventListener("click", () => copyWithClear(t("send.link"), link, 60, note));
  show(
    root,
    h(
      "section",
      { class: "card" },
      h("h1", {}, t("send.your_link")),
      out,
      h("div", { class: "row" }, copy),
      note,
      h("p", {}, t("send.opens_once", { when: when(made.expiresAt) })),
      all.length > 1 ? recipientLinks(all) : null,
      generated
        ? h(
            "p",
            {},
            t("send.generated_passphrase"),
            h("input", { readonly: true, value: generated, testid: "generated-passphrase", class: "mono", "aria-label": t("send.generated_label") }),
          )
        : null,
      passphrase ? h("p", {}, PASSPHRASE_SEPARATELY) : null,
      h("p", { class: "muted" }, SHARE_HINT),
      h(
        "details",
        { class: "manage" },
        h("summary", {}, t("send.follow", { count: all.length })),
        h("p", {}, MANAGE_HINT),
        ...all.map((l, i) =>
          h("p", {}, h("a", { href: l.manage, target: "_blank", rel: "noopener noreferrer", testid: i ? "manage-link-more" : "manage-link", class: "mono" }, l.manage)),
        ),
      ),
    ),
  );
  out.select();
}
