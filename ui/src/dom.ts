/** Tiny DOM helpers: build elements without innerHTML, so no content is ever parsed as markup. */
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
  const focus = root.querySelector<HTMLElement>("[autofocus], button, input, textarea");
  focus?.focus();
}

export function bytes(n: number): string {
  const u = ["bytes", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(n < 10 ? 1 : 0)} ${u[i]}`;
}

export function when(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
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
      text.textContent = `${bytes(done)} of ${bytes(total)}`;
    },
  };
}

/** Copies text, then clears the clipboard after `secs` if it still holds it (best effort: browsers allow writes only
 * while the page has focus). `what` names it in the note ("Link", "Secret"). */
export async function copyWithClear(what: string, text: string, secs: number, note: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    note.textContent = "Copying was blocked by the browser. Select the text and copy it by hand.";
    return;
  }
  const clear = h("button", { type: "button", class: "link" }, "Clear clipboard now");
  const wipe = async () => {
    try {
      await navigator.clipboard.writeText("");
      note.textContent = CLIPBOARD_CLEARED;
    } catch {
      note.textContent = "Could not clear the clipboard; copy something else over it.";
    }
  };
  clear.addEventListener("click", wipe);
  note.replaceChildren(`${copiedText(what, secs)} `, clear);
  setTimeout(wipe, secs * 1000);
}

/** The revealed secret with Copy and Hide/Show, shared by the browser page and the app. `copy` copies and says in
 * `note` how the clipboard gets cleared; `extra` buttons go beside them. */
export function secretCard(text: string, copy: (note: HTMLElement) => void, footer: string, ...extra: HTMLElement[]): HTMLElement {
  const secret = h("pre", { testid: "secret", class: "secret", tabindex: 0, "aria-label": "The secret" }, text);
  const note = h("p", { class: "muted", role: "status", testid: "copy-note" });
  const copyBtn = h("button", { type: "button", class: "primary", testid: "copy-secret" }, "Copy");
  copyBtn.addEventListener("click", () => copy(note));
  const hide = h("button", { type: "button" }, "Hide");
  hide.addEventListener("click", () => {
    const hidden = secret.classList.toggle("hidden");
    hide.textContent = hidden ? "Show" : "Hide";
    secret.setAttribute("aria-hidden", String(hidden));
  });
  return h(
    "section",
    { class: "card" },
    h("h1", {}, "The secret"),
    secret,
    h("div", { class: "row" }, copyBtn, hide, ...extra),
    note,
    h("p", { class: "muted" }, footer),
  );
}

/** Expiry choices (DESIGN §2: 5 min to 30 days, default 24 h), for the web sender and the app. */
export const TTLS: [string, number][] = [
  ["5 minutes", 300],
  ["1 hour", 3600],
  ["24 hours", 86400],
  ["7 days", 7 * 86400],
  ["30 days", 30 * 86400],
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
  { name: "ultra-secure", title: "Ultra Secure", ttl: 3600, maxTtl: 86400, passphrase: true, about: "1 hour, a passphrase, you are told when it is opened" },
  { name: "standard", title: "Standard", ttl: 86400, maxTtl: 7 * 86400, passphrase: false, about: "1 day, you are told when it is opened" },
  { name: "lightweight", title: "Lightweight", ttl: 7 * 86400, maxTtl: 30 * 86400, passphrase: false, about: "7 days, no notification" },
];

/** The policy picker and the network allowlist. Picking a template sets the expiry to its default and disables the
 * longer ones; `offered` limits the templates to what the relay allows (`required`: no "no template" choice). */
export function policyFields(
  ttl: HTMLSelectElement,
  offered: string[] = POLICIES.map((p) => p.name),
  required = false,
): { policy: HTMLSelectElement; allow: HTMLInputElement; el: HTMLElement; chosen(): (typeof POLICIES)[number] | null; allowList(): string[] } {
  const policy = h("select", { id: "policy", testid: "policy" });
  if (!required) policy.append(h("option", { value: "" }, "Custom (no template)"));
  for (const p of POLICIES.filter((p) => offered.includes(p.name))) {
    policy.append(h("option", { value: p.name }, `${p.title} (${p.about})`));
  }
  const allow = h("input", {
    id: "allow",
    type: "text",
    testid: "allow",
    placeholder: "e.g. 192.0.2.0/24, 2001:db8::/32 (empty: anywhere)",
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
    h("div", {}, h("label", { for: "policy" }, "Policy"), policy),
    h("div", {}, h("label", { for: "allow" }, "Only from these networks (optional)"), allow),
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
  const gen = h("button", { type: "button" }, "Generate");
  gen.addEventListener("click", async () => {
    input.value = await generate();
  });
  return { input, row: h("div", { class: "row" }, input, gen) };
}

/** A list of facts about a link (size, expiry...), as the page, the manage page and the app show them. */
export function facts(rows: [string, string][], testid?: string): HTMLElement {
  return h("dl", { class: "facts", testid }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}
