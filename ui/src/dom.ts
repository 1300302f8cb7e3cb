/** Tiny DOM helpers: build elements without innerHTML, so no content is ever parsed as markup. */
import { bytes as fmtBytes, t, when as fmtWhen } from "./i18n";
import { CLIPBOARD_CLEARED, copiedText } from "./text";

type Attrs = Record<string, string | boolean | number | undefined>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "testid") el.setAttribute("data-testid", String(v));
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c) el.append(c);
  return el;
}

/** A card that says what went wrong (`data-testid="error"`), in place of the page. */
export function errorCard(root: HTMLElement, title: string, msg: string) {
  show(root, h("section", { class: "card" }, h("h1", {}, title), h("p", { testid: "error", role: "alert" }, msg)));
}

export function show(root: HTMLElement, ...children: Child[]) {
  root.replaceChildren(...(children.filter(Boolean) as (Node | string)[]));
  // The screen's main action: the field or button marked autofocus, wherever it is; else the first control.
  const focus = root.querySelector<HTMLElement>("[autofocus]") ?? root.querySelector<HTMLElement>("button, input, textarea");
  focus?.focus();
}

/** A size, the locale's way (see ./i18n.ts). */
export function bytes(n: number): string {
  return fmtBytes(n);
}

/** A date and time, the locale's way. */
export function when(ms: number): string {
  return fmtWhen(ms);
}

export function progressBar(label: string): { el: HTMLElement; set: (done: number, total: number) => void } {
  const bar = h("progress", { max: 1, value: 0, "aria-label": label, testid: "progress" });
  const text = h("span", { class: "muted" }, "");
  const el = h("div", { class: "progress" }, h("div", {}, label), bar, text);
  return {
    el,
    set(done, total) {
      bar.max = Math.max(total, 1);
      bar.value = done;
      text.textContent = t("progress.of", { done: bytes(done), total: bytes(total) });
    },
  };
}

/** Copies text, then clears the clipboard after `secs` if it still holds it (best effort: browsers allow writes only
 * while the page has focus). `what` names it in the note ("Link", "Secret"). */
export async function copyWithClear(what: string, text: string, secs: number, note: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    note.textContent = t("clipboard.blocked");
    return;
  }
  const clear = h("button", { type: "button", class: "link" }, t("clipboard.clear_now"));
  const wipe = async () => {
    try {
      await navigator.clipboard.writeText("");
      note.textContent = CLIPBOARD_CLEARED;
    } catch {
      note.textContent = t("clipboard.clear_failed");
    }
  };
  clear.addEventListener("click", wipe);
  note.replaceChildren(`${copiedText(what, secs)} `, clear);
  setTimeout(wipe, secs * 1000);
}

/** The revealed secret with Copy and Hide/Show, shared by the browser page and the app. `copy` copies and says in
 * `note` how the clipboard gets cleared; `extra` buttons go beside them. */
export function secretCard(text: string, copy: (note: HTMLElement) => void, footer: string, ...extra: HTMLElement[]): HTMLElement {
  const secret = h("pre", { testid: "secret", class: "secret", tabindex: 0, "aria-label": t("secret.label") }, text);
  const note = h("p", { class: "muted", role: "status", testid: "copy-note" });
  const copyBtn = h("button", { type: "button", class: "primary", testid: "copy-secret" }, t("secret.copy"));
  copyBtn.addEventListener("click", () => copy(note));
  const hide = h("button", { type: "button" }, t("secret.hide"));
  hide.addEventListener("click", () => {
    const hidden = secret.classList.toggle("hidden");
    hide.textContent = hidden ? t("secret.show") : t("secret.hide");
    secret.setAttribute("aria-hidden", String(hidden));
  });
  return h(
    "section",
    { class: "card" },
    h("h1", {}, t("secret.title")),
    secret,
    h("div", { class: "row" }, copyBtn, hide, ...extra),
    note,
    h("p", { class: "muted" }, footer),
  );
}

/** Expiry choices (DESIGN §2: 5 min to 30 days, default 24 h), for the web sender and the app. */
export const TTLS: [string, number][] = [
  [t("ttl.minutes", { count: 5 }), 300],
  [t("ttl.hours", { count: 1 }), 3600],
  [t("ttl.hours", { count: 24 }), 86400],
  [t("ttl.days", { count: 7 }), 7 * 86400],
  [t("ttl.days", { count: 30 }), 30 * 86400],
];
export const DEFAULT_TTL = 86400;

/** The expiry choice, the same in the web sender and the app. */
export function ttlSelect(): HTMLSelectElement {
  const ttl = h("select", { id: "ttl", testid: "ttl" });
  for (const [label, secs] of TTLS) ttl.append(h("option", { value: secs, selected: secs === DEFAULT_TTL }, label));
  return ttl;
}

/** The policy templates (mirroring `burnlink_core::policy::Template`): name, title, expiry default and longest (in
 * seconds), whether a passphrase is required (generated when none is typed). */
export const POLICIES: { name: string; title: string; ttl: number; maxTtl: number; passphrase: boolean; about: string }[] = [
  { name: "ultra-secure", title: t("policy.ultra_secure"), ttl: 3600, maxTtl: 86400, passphrase: true, about: t("policy.ultra_secure_about") },
  { name: "standard", title: t("policy.standard"), ttl: 86400, maxTtl: 7 * 86400, passphrase: false, about: t("policy.standard_about") },
  { name: "lightweight", title: t("policy.lightweight"), ttl: 7 * 86400, maxTtl: 30 * 86400, passphrase: false, about: t("policy.lightweight_about") },
];

/** The policy picker and the network allowlist. Picking a template sets the expiry to its default and disables the
 * longer ones; `offered` limits the templates to what the relay allows (`required`: no "no template" choice). */
export function policyFields(
  ttl: HTMLSelectElement,
  offered: string[] = POLICIES.map((p) => p.name),
  required = false,
): { policy: HTMLSelectElement; allow: HTMLInputElement; el: HTMLElement; chosen(): (typeof POLICIES)[number] | null; allowList(): string[] } {
  const policy = h("select", { id: "policy", testid: "policy" });
  if (!required) policy.append(h("option", { value: "" }, t("policy.custom")));
  for (const p of POLICIES.filter((p) => offered.includes(p.name))) {
    policy.append(h("option", { value: p.name }, `${p.title} (${p.about})`));
  }
  const allow = h("input", {
    id: "allow",
    type: "text",
    testid: "allow",
    placeholder: t("policy.allow_placeholder"),
    autocomplete: "off",
    spellcheck: "false",
  });
  const chosen = () => POLICIES.find((p) => p.name === policy.value) ?? null;
  const apply = () => {
    const p = chosen();
    for (const o of Array.from(ttl.options)) o.disabled = !!p && Number(o.value) > p.maxTtl;
    if (p) ttl.value = String(p.ttl);
  };
  policy.addEventListener("change", apply);
  apply();
  const el = h(
    "div",
    { class: "grid2" },
    h("div", {}, h("label", { for: "policy" }, t("policy.label")), policy),
    h("div", {}, h("label", { for: "allow" }, t("policy.allow_label")), allow),
  );
  const allowList = () =>
    allow.value
      .split(/[\s,]+/)
      .map((c) => c.trim())
      .filter(Boolean);
  return { policy, allow, el, chosen, allowList };
}

/** The optional passphrase with its Generate button (`generate` makes one: in the page, or in Rust for the app). */
export function passphraseField(generate: () => string | Promise<string>): { input: HTMLInputElement; row: HTMLElement } {
  const input = h("input", { id: "pass", type: "text", autocomplete: "off", spellcheck: "false", testid: "passphrase" });
  const gen = h("button", { type: "button" }, t("passphrase.generate"));
  gen.addEventListener("click", async () => {
    input.value = await generate();
  });
  return { input, row: h("div", { class: "row" }, input, gen) };
}

/** A list of facts about a link (size, expiry...), as the page, the manage page and the app show them. */
export function facts(rows: [string, string][], testid?: string): HTMLElement {
  return h("dl", { class: "facts", testid }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}
