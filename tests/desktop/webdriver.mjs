// A minimal W3C WebDriver client (fetch over HTTP to tauri-driver), enough to drive the app: sessions, elements,
// clicks, typing, text, script, screenshots. Written out because it is forty lines and needs no dependency.
import { writeFileSync } from "node:fs";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(base, application, timeoutMs = 30_000) {
    const caps = { capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application } } } };
    const r = await call(base, "POST", "/session", caps, timeoutMs);
    return new Session(base, r.sessionId ?? r.value?.sessionId);
  }

  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }

  async quit() {
    await this.cmd("DELETE", "");
  }

  /** Waits until an element matching `css` exists (and is displayed, unless `hidden`). */
  async find(css, { timeout = 20_000, visible = true } = {}) {
    const end = Date.now() + timeout;
    let last;
    for (;;) {
      try {
        const v = await this.cmd("POST", "/element", { using: "css selector", value: css });
        const el = new Element(this, v[ELEMENT]);
        if (!visible || (await el.displayed())) return el;
      } catch (e) {
        last = e;
      }
      if (Date.now() > end) throw new Error(`no element ${css}: ${last?.message ?? "not displayed"}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async findAll(css) {
    const v = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return v.map((e) => new Element(this, e[ELEMENT]));
  }

  /** The element that has focus. */
  async active() {
    const v = await this.cmd("GET", "/element/active");
    return new Element(this, v[ELEMENT]);
  }

  /** Presses `key` (a WebDriver key code such as "\uE004" for Tab) on whatever has focus, as a keyboard would. */
  async press(key) {
    await (await this.active()).type(key);
  }

  testid(id, opts) {
    return this.find(`[data-testid="${id}"]`, opts);
  }

  script(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  execute(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }

  async screenshot(path) {
    const b64 = await this.cmd("GET", "/screenshot");
    writeFileSync(path, Buffer.from(b64, "base64"));
  }
}

export class Element {
  constructor(s, id) {
    this.s = s;
    this.id = id;
  }
  click() {
    return this.s.cmd("POST", `/element/${this.id}/click`, {});
  }
  type(text) {
    return this.s.cmd("POST", `/element/${this.id}/value`, { text });
  }
  clear() {
    return this.s.cmd("POST", `/element/${this.id}/clear`, {});
  }
  text() {
    return this.s.cmd("GET", `/element/${this.id}/text`);
  }
  value() {
    return this.s.cmd("GET", `/element/${this.id}/property/value`);
  }
  attr(name) {
    return this.s.cmd("GET", `/element/${this.id}/attribute/${name}`);
  }
  displayed() {
    return this.s.cmd("GET", `/element/${this.id}/displayed`);
  }
}

async function call(base, method, path, body, timeoutMs = 60_000) {
  const r = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const j = await r.json();
  if (!r.ok || j.value?.error) throw new Error(`${method} ${path}: ${j.value?.error ?? r.status} ${j.value?.message ?? ""}`);
  return j.value;
}
