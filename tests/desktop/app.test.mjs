// The desktop app in a real window (Xvfb + tauri-driver + WebKitWebDriver), against a real relay, with the real CLI
// on the other end, the real Secret Service keychain (gnome-keyring in this dbus session) and the X clipboard.
// Run through tests/desktop/run.sh, which sets all of that up. Screenshots go to tests/e2e/artifacts/.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { artifacts, bin, cli, cliAsync, pacedUplink, root, sendJson, sha256, startRelay, status, tempDir } from "../browser/harness.mjs";
import { Session } from "./webdriver.mjs";

const DRIVER = process.env.TAURI_DRIVER_URL ?? "http://127.0.0.1:4444";
const APP = bin("burnlink-app");
let relay;
let s;

/** The clipboard timer the tests' settings choose (the app's default is 2 minutes). */
const CLEAR_SECS = 8;
const shot = (name) => s.screenshot(join(artifacts, `desktop-${name}.png`));
const clipboard = () => {
  try {
    return execFileSync("xclip", ["-selection", "clipboard", "-o"], { stdio: ["ignore", "pipe", "ignore"] }).toString();
  } catch {
    return ""; // nothing on the clipboard
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, f, timeout = 30_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** axe-core's WCAG 2.2 A and AA rules on the app's window as it is now: the violations, "rule: targets" each. */
async function axeViolations() {
  const { default: axe } = await import("axe-core");
  if (!(await s.script("return typeof window.axe === 'object'"))) await s.script(axe.source);
  return s.script(
    "return window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })" +
      ".then((r) => r.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))",
  );
}

async function tab(name) {
  await (await s.testid(`tab-${name}`)).click();
}

/** id -> state of every history row, read in one script (the list re-renders as states arrive). */
function historyStates() {
  return s.script(
    "return Object.fromEntries([...document.querySelectorAll('[data-testid=history-row]')].map((r) => [r.dataset.id, r.dataset.state]))",
  );
}

/** Clicks `css`, finding it again if the list re-rendered under us. */
async function clickFresh(css) {
  for (let i = 0; ; i++) {
    try {
      return await (await s.find(css)).click();
    } catch (e) {
      if (i > 10) throw e;
      await sleep(200);
    }
  }
}

before(async () => {
  relay = await startRelay();
  // The app's settings, as a user would save them: this relay and its certificate.
  const dir = join(homedir(), ".config", "dev.burnlink.app");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "settings.json"), JSON.stringify({ relay_url: relay.url, ca_path: relay.ca, link_clear_secs: CLEAR_SECS }));
  s = await Session.start(DRIVER, APP);
});
after(async () => {
  await s?.quit().catch(() => {});
  relay?.stop();
});

describe("desktop app", () => {
  let typedSent;
  let ultraSent;

  it("types a secret, creates a link that is on the clipboard for a while, with a QR code; the CLI opens it", async () => {
    await shot("send");
    const fold = await s.script(
      "const b = document.querySelector('[data-testid=create]').getBoundingClientRect(); return [b.bottom, window.innerHeight, document.scrollingElement.scrollTop]",
    );
    assert.ok(fold[0] > 0 && fold[0] <= fold[1] && fold[2] === 0, `the Send button is in view without scrolling: ${fold}`);
    await (await s.testid("secret-input")).type("desktop secret 42");
    const ttl = await s.testid("ttl");
    assert.equal(await ttl.value(), "86400", "default expiry 24 h");
    await (await s.testid("create")).click();
    const link = await (await s.testid("link", { timeout: 30_000 })).value();
    const copiedAt = Date.now();
    assert.match(link, new RegExp(`^${relay.url}/o/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{43}$`));
    await s.testid("qr");
    await shot("sent");
    assert.equal(clipboard(), link, "the link is on the clipboard");
    assert.match(await (await s.testid("copied")).text(), /cleared in 8 seconds/);
    typedSent = link;
    const r = cli(relay, ["open", "-"], { input: link });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "desktop secret 42");
    // Then the app takes it off the clipboard, and says so.
    await until("the clipboard to be cleared", () => clipboard() === "", CLEAR_SECS * 1000 + 15_000);
    assert.ok(Date.now() - copiedAt >= (CLEAR_SECS - 1) * 1000, "not before its time");
    await until("the window to say so", async () => /^Clipboard cleared/.test(await (await s.testid("copied")).text()));
  });

  it("refuses a text over 4 MiB before anything is sent", async () => {
    await tab("send");
    await s.script("const t = document.querySelector('[data-testid=secret-input]'); t.value = 'x'.repeat(4 * 1024 * 1024 + 1);");
    await (await s.testid("create")).click();
    const err = await s.testid("error");
    assert.match(await err.text(), /more than the 4 MiB a text secret may hold/);
    assert.equal((await s.findAll('[data-testid="link"]')).length, 0);
    await s.script("document.querySelector('[data-testid=secret-input]').value = '';");
  });

  it("opens a link made by the CLI, shows the secret, and a second open shows gone", async () => {
    const sent = sendJson(relay, ["-"], "from the command line");
    await tab("open");
    const input = await s.testid("open-input");
    await input.type(sent.link);
    await sleep(600); // the peek (never burns) shows what is known
    await shot("open-interstitial");
    assert.equal(status(relay, sent).state, "fresh", "pasting a link burns nothing");
    await (await s.testid("open")).click();
    const secret = await s.testid("secret", { timeout: 30_000 });
    assert.equal(await secret.text(), "from the command line");
    await shot("open-secret");
    await (await s.testid("copy-secret")).click();
    await until("the copy note", async () => (await (await s.testid("copy-note")).text()) !== "");
    assert.match(await (await s.testid("copy-note")).text(), /^Secret copied\. .*cleared in 30 seconds\.$/);
    assert.equal(clipboard(), "from the command line");
    await tab("open");
    await (await s.testid("open-input")).type(sent.link);
    await (await s.testid("open")).click();
    await s.testid("gone", { timeout: 30_000 });
    await shot("open-gone");
  });

  it("opens a passphrase link: wrong passphrase burns nothing, the right one shows the secret", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "pass"), "correct horse battery staple");
    const sent = sendJson(relay, ["--passphrase-file", join(dir, "pass"), "-"], "behind a passphrase");
    await tab("open");
    await (await s.testid("open-input")).type(sent.link);
    const pass = await s.testid("passphrase"); // appears once the peek says a passphrase is needed
    await pass.type("Tr0ub4dor&3");
    await (await s.testid("open")).click();
    const err = await s.testid("error", { timeout: 60_000 });
    assert.match(await err.text(), /wrong passphrase.*nothing was burned.*9 attempts left/i);
    assert.equal(status(relay, sent).state, "fresh");
    await pass.clear();
    await pass.type("correct horse battery staple");
    await (await s.testid("open")).click();
    assert.equal(await (await s.testid("secret", { timeout: 60_000 })).text(), "behind a passphrase");
  });

  it("sends a dropped file that arrives intact through the CLI", async () => {
    const dir = tempDir();
    const data = randomBytes(5 << 20);
    writeFileSync(join(dir, "dropped.bin"), data);
    await tab("send");
    await s.testid("drop-zone");
    await s.execute("const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('test_drop', { paths: arguments[0] }).then(() => done(true), (e) => done(String(e)))", [[join(dir, "dropped.bin")]]);
    await s.find('[data-testid="picked-file"]');
    await shot("dropped");
    await (await s.testid("create")).click();
    const link = await (await s.testid("link", { timeout: 60_000 })).value();
    const out = join(dir, "out");
    mkdirSync(out);
    const r = cli(relay, ["open", "-", "--out", out], { input: link });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(readFileSync(join(out, "dropped.bin"))), sha256(data));
  });

  it("keeps history across a restart (keychain) and shows opened links; revoking makes the CLI exit 3", async () => {
    const id = (l) => new URL(l).pathname.slice(3);
    await tab("send");
    await (await s.testid("secret-input")).type("to be revoked");
    await (await s.testid("create")).click();
    const revokeMe = await (await s.testid("link", { timeout: 30_000 })).value();

    await s.quit();
    s = await Session.start(DRIVER, APP);
    await tab("history");
    await s.testid("history");
    const states = await until("history after restart", async () => {
      const st = await historyStates();
      return st[id(typedSent)] === "consumed" && st[id(revokeMe)] === "fresh" ? st : null;
    });
    assert.equal(Object.keys(states).length, 3, "the three links this app sent");
    const openedText = await s.script(
      "return document.querySelector(`[data-id='${arguments[0]}'] [data-testid=history-state]`).textContent",
      [id(typedSent)],
    );
    assert.match(openedText, /^Opened at /);
    // Its event log: made here, opened by the command line, received.
    const log = (l) =>
      s.script(
        "return [...document.querySelectorAll(`[data-id='${arguments[0]}'] [data-testid=history-events] li`)].map((li) => [li.dataset.event, li.textContent])",
        [id(l)],
      );
    const events = await log(typedSent);
    assert.deepEqual(
      events.map(([e]) => e),
      ["created", "claimed", "consumed"],
      JSON.stringify(events),
    );
    assert.match(events[1][1], /^Opened .* with the burnlink command$/);
    assert.match(events[2][1], /^Received /);
    await shot("history");

    await clickFresh(`[data-id="${id(revokeMe)}"] [data-testid="revoke"]`);
    await until("revoked", async () => (await historyStates())[id(revokeMe)] === "revoked");
    const r = cli(relay, ["open", "-"], { input: revokeMe });
    assert.equal(r.code, 3, r.stderr);
    const revokedLog = await until("the revoke in the event log", async () => {
      const l = await log(revokeMe);
      return l.length === 2 ? l : null;
    });
    assert.deepEqual(
      revokedLog.map(([e]) => e),
      ["created", "revoked"],
    );
    await shot("history-revoked");
  });

  it("shows the relay and certificate it uses in Settings", async () => {
    await tab("settings");
    assert.equal(await (await s.testid("relay-url")).value(), relay.url);
    assert.equal(await (await s.testid("relay-ca")).value(), relay.ca);
    await shot("settings");
  });
  it("shows a live link at once, with the upload's progress and a note to stay open; it opens while uploading", async () => {
    // The app's uplink is slow (4 MiB/s), so 16 MiB upload for about four seconds after the link shows.
    const up = await pacedUplink(relay, 4 << 20);
    const settings = (url) =>
      s.execute(
        "const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('set_settings', { settings: arguments[0] }).then(() => done(true), (e) => done(String(e)))",
        [{ relay_url: url, ca_path: relay.ca, link_clear_secs: CLEAR_SECS }],
      );
    assert.equal(await settings(up.url), true);
    try {
      const dir = tempDir();
      const data = randomBytes(16 << 20);
      writeFileSync(join(dir, "live.bin"), data);
      await tab("send");
      await s.testid("drop-zone");
      await s.execute("const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('test_drop', { paths: arguments[0] }).then(() => done(true), (e) => done(String(e)))", [[join(dir, "live.bin")]]);
      await s.find('[data-testid="picked-file"]');
      await (await s.testid("create")).click();
      const link = await (await s.testid("link", { timeout: 60_000 })).value();
      const upload = () => s.script("return document.querySelector('[data-testid=upload]').dataset.state");
      assert.equal(await upload(), "uploading", "the link shows while the upload runs");
      assert.match(await (await s.testid("upload-note")).text(), /Keep Burnlink open until the upload is done/);
      assert.equal(clipboard(), link, "and it is on the clipboard already");
      await shot("live-uploading");
      // A recipient opens it now, at the relay itself; the bytes follow the upload.
      const out = join(dir, "out");
      mkdirSync(out);
      const opened = cliAsync(relay, ["open", "-", "--out", out], { input: link.replace(up.url, relay.url) });
      await until("the upload's end", async () => (await upload()) === "done", 60_000);
      assert.match(await (await s.testid("upload-note")).text(), /Upload complete/);
      await shot("live-done");
      const r = await opened;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha256(readFileSync(join(out, "live.bin"))), sha256(data));
    } finally {
      await settings(relay.url);
      up.stop();
    }
  });

  it("sends under the Ultra Secure policy: an hour, a generated passphrase shown once, and the CLI needs it", async () => {
    await tab("send");
    const policy = await s.testid("policy");
    await s.script(
      "const p = document.querySelector('[data-testid=policy]'); p.value = 'ultra-secure'; p.dispatchEvent(new Event('change'));",
    );
    assert.equal(await policy.value(), "ultra-secure");
    assert.equal(await (await s.testid("ttl")).value(), "3600", "the template's expiry");
    await (await s.testid("secret-input")).type("ultra secret");
    await (await s.testid("create")).click();
    const link = await (await s.testid("link", { timeout: 30_000 })).value();
    const pass = await (await s.testid("generated-passphrase")).value();
    assert.match(pass, /^([a-z2-9]{5}-){4}[a-z2-9]{5}$/);
    await shot("sent-policy");
    ultraSent = link;
    assert.equal(cli(relay, ["open", "-"], { input: link }).code, 4, "no passphrase, no secret; nothing burned");
  });

  it("sends a burned file link again from the history, and a live text link again after retyping, revoking the old", async () => {
    const linkId = (l) => new URL(l).pathname.slice(3);
    const dir = tempDir();
    const data = randomBytes(1 << 20);
    writeFileSync(join(dir, "again.bin"), data);
    await tab("send");
    await s.testid("drop-zone");
    await s.execute("const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('test_drop', { paths: arguments[0] }).then(() => done(true), (e) => done(String(e)))", [[join(dir, "again.bin")]]);
    await s.find('[data-testid="picked-file"]');
    await (await s.testid("create")).click();
    const first = await (await s.testid("link", { timeout: 60_000 })).value();
    // The recipient's download went wrong on their side: the link is burned. The sender sends it again.
    assert.equal(cli(relay, ["open", "-", "--out", dir], { input: first }).code, 0);
    await tab("history");
    await until("the burned link in the history", async () => (await historyStates())[linkId(first)] === "consumed");
    await clickFresh(`[data-id="${linkId(first)}"] [data-testid="send-again"]`);
    assert.match(await (await s.testid("reissue-note")).text(), /again.bin.*same files/);
    assert.match(await (await s.testid("picked-file")).text(), /again\.bin/);
    await (await s.testid("create")).click();
    const second = await (await s.testid("link", { timeout: 60_000 })).value();
    assert.notEqual(second, first);
    const out = join(dir, "out");
    mkdirSync(out);
    const r = cli(relay, ["open", "-", "--out", out], { input: second });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(readFileSync(join(out, "again.bin"))), sha256(data));

    // A text link still live: the text is typed again (never kept), the template comes back, the old link is revoked.
    await tab("history");
    await clickFresh(`[data-id="${linkId(ultraSent)}"] [data-testid="send-again"]`);
    assert.match(await (await s.testid("reissue-note")).text(), /type the secret again/);
    assert.equal(await (await s.testid("secret-input")).value(), "");
    assert.equal(await (await s.testid("policy")).value(), "ultra-secure");
    await shot("send-again");
    await (await s.testid("secret-input")).type("ultra secret, again");
    await (await s.testid("create")).click();
    const third = await (await s.testid("link", { timeout: 30_000 })).value();
    const pass = await (await s.testid("generated-passphrase")).value();
    await tab("history");
    await until("the old link revoked", async () => (await historyStates())[linkId(ultraSent)] === "revoked");
    assert.equal(cli(relay, ["open", "-"], { input: ultraSent }).code, 3, "the old link no longer opens");
    const t = cli(relay, ["open", "-", "--passphrase-env", "PW"], { input: third, env: { PW: pass } });
    assert.equal(t.code, 0, t.stderr);
    assert.equal(t.stdout, "ultra secret, again");
  });

  it("sends one secret to three recipients: three links, each opening once, each with its state in the history", async () => {
    await tab("send");
    await s.script("const r = document.querySelector('[data-testid=recipients]'); r.value = '3';");
    await (await s.testid("secret-input")).type("for the three of you");
    await (await s.testid("create")).click();
    await s.testid("recipient-links", { timeout: 30_000 });
    const links = await s.script("return [...document.querySelectorAll('[data-testid=recipient-link] input')].map((i) => i.value)");
    assert.equal(links.length, 3);
    assert.equal(new Set(links).size, 3);
    assert.equal(clipboard(), links.join("\n"), "all three on the clipboard, one per line");
    await shot("sent-recipients");
    for (const l of links.slice(0, 2)) {
      const r = cli(relay, ["open", "-"], { input: l });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "for the three of you");
    }
    assert.equal(cli(relay, ["open", "-"], { input: links[0] }).code, 3, "each opens once");
    await tab("history");
    const ids = links.map((l) => new URL(l).pathname.slice(3));
    await until("each link's own state", async () => {
      const st = await historyStates();
      return st[ids[0]] === "consumed" && st[ids[1]] === "consumed" && st[ids[2]] === "fresh";
    });
    const label = await s.script("return document.querySelector(`[data-id='${arguments[0]}'] strong`).textContent", [ids[2]]);
    assert.equal(label, "Secret text · recipient 3 of 3");
    const r = cli(relay, ["open", "-"], { input: links[2] });
    assert.equal(r.code, 0, r.stderr);
  });

  it("asks for a secret: the CLI answers the request link, the app tells and opens the answer once", async () => {
    await tab("request");
    await (await s.testid("request-label")).type("the alarm code");
    await (await s.testid("ask")).click();
    const link = await (await s.testid("request-link", { timeout: 30_000 })).value();
    assert.match(link, new RegExp(`^${relay.url}/r/[A-Za-z0-9_-]{22}#age1[a-z0-9]{58}$`));
    assert.equal(clipboard(), link, "the request link is on the clipboard");
    await shot("request-link");
    const id = new URL(link).pathname.slice(3);
    // Elsewhere, someone answers with the CLI; the request link is all they have.
    const answered = cli(relay, ["send", "--to", link, "-"], { input: "4711" });
    assert.equal(answered.code, 0, answered.stderr);
    await tab("history");
    await until("the answer in the history", async () =>
      s.script("return document.querySelector(`[data-id='${arguments[0]}'] [data-testid=answer][data-state=fresh]`) !== null", [id]),
    );
    await shot("request-answered");
    await clickFresh(`[data-id='${id}'] [data-testid=open-answer]`);
    const secret = await s.testid("secret", { timeout: 30_000 });
    assert.equal(await secret.text(), "4711");
    await shot("request-opened");
    await tab("history");
    await until("the answer shown as opened", async () =>
      s.script("return document.querySelector(`[data-id='${arguments[0]}'] [data-testid=answer][data-state=consumed]`) !== null", [id]),
    );
    // One answer was asked for: the request takes no more.
    assert.equal(cli(relay, ["send", "--to", link, "-"], { input: "again" }).code, 3);
  });

  it("answers a request link made by the CLI: sealed to the requester, who opens it once", async () => {
    const asker = tempDir("burnlink-asker-");
    const asked = cli(relay, ["request", "--json"], { cwd: asker });
    assert.equal(asked.code, 0, asked.stderr);
    const { link } = JSON.parse(asked.stdout);
    await tab("open");
    await (await s.testid("open-input")).type(link);
    await (await s.testid("answer-request", { timeout: 10_000 })).click();
    await s.testid("answering-note");
    await (await s.testid("secret-input")).type("the spare key is under the mat");
    await shot("answering");
    await (await s.testid("create")).click();
    await s.testid("answered", { timeout: 30_000 });
    assert.notEqual(clipboard(), link, "nothing to share, nothing copied");
    const r = cli(relay, ["open", "-"], { input: link, cwd: asker });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "the spare key is under the mat");
    assert.equal(cli(relay, ["open", "-"], { input: link, cwd: asker }).code, 3);
  });

  it("has no WCAG violations that axe-core finds on any screen", async () => {
    for (const name of ["send", "request", "open", "history", "settings"]) {
      await tab(name);
      await sleep(300);
      assert.deepEqual(await axeViolations(), [], `the ${name} screen`);
    }
    await tab("send");
    await (await s.testid("secret-input")).type("checked by axe");
    await (await s.testid("create")).click();
    await s.testid("link", { timeout: 30_000 });
    assert.deepEqual(await axeViolations(), [], "the sent link");
    await tab("request");
    await (await s.testid("ask")).click();
    await s.testid("request-link", { timeout: 30_000 });
    assert.deepEqual(await axeViolations(), [], "the request link");
  });

  it("sends a secret and reveals one by keyboard alone: Tab, Enter and Space", async () => {
    const [TAB, ENTER, SPACE] = ["\uE004", "\uE007", "\uE00D"];
    const focused = () => s.script("return document.activeElement?.dataset?.testid ?? document.activeElement?.tagName");
    const tabTo = async (testid) => {
      for (let i = 0; i < 40; i++) {
        if ((await focused()) === testid) return;
        await s.press(TAB);
      }
      assert.fail(`Tab never reached ${testid}`);
    };
    await tab("send");
    await until("focus on the secret", async () => (await focused()) === "secret-input");
    await s.press("typed in the app, never clicked");
    await tabTo("create");
    await s.press(ENTER);
    const link = await (await s.testid("link", { timeout: 30_000 })).value();
    assert.equal(await focused(), "copy", "focus lands on Copy link");
    await s.press(SPACE);
    await until("the link on the clipboard", async () => clipboard() === link);
    const r = cli(relay, ["open", "-"], { input: link });
    assert.equal(r.stdout, "typed in the app, never clicked");

    const sent = sendJson(relay, ["-"], "revealed by keys");
    await tab("open");
    await until("focus on the link field", async () => (await focused()) === "open-input");
    await s.press(sent.link);
    await sleep(600);
    await tabTo("open");
    await s.press(ENTER);
    await s.testid("secret", { timeout: 30_000 });
    await tabTo("copy-secret");
    await s.press(SPACE);
    await until("the secret on the clipboard", async () => clipboard() === "revealed by keys");
  });

  it("speaks each of the five languages on every screen, errors from Rust and its own words included", async () => {
    const LANGS = ["de", "fr", "es", "ja", "en"];
    const texts = (l) => JSON.parse(readFileSync(join(root, "ui", "src", "locales", `${l}.json`), "utf8"));
    /** The window as it is: no text asked for that its language lacks, and `<html lang>` is the language. */
    const check = async (lang, screen) => {
      const [missing, htmlLang] = await s.script("return [window.__i18nMissing, document.documentElement.lang]");
      assert.deepEqual(missing, [], `${screen} in ${lang}: texts missing`);
      assert.equal(htmlLang, lang, `${screen} in ${lang}`);
    };
    for (const lang of LANGS) {
      const words = texts(lang);
      // The switcher in Settings, as a person would use it: the window reloads in the language, back on Settings.
      await tab("settings");
      await s.script(
        "const sel = document.querySelector('[data-testid=language]'); setTimeout(() => { sel.value = arguments[0]; sel.dispatchEvent(new Event('change')); }, 50)",
        [lang],
      );
      await until(`the window in ${lang}`, async () => {
        try {
          return (await s.script("return document.documentElement.lang + ' ' + !!document.querySelector('[data-testid=link-clear]')")) === `${lang} true`;
        } catch {
          return false; // reloading
        }
      });
      await check(lang, "settings");
      for (const v of ["send", "request", "open", "history", "settings"]) {
        assert.equal(await (await s.testid(`tab-${v}`)).text(), words[`app.tab.${v}`], `the ${v} tab in ${lang}`);
      }

      // A text sent without a name gets the language's name for it in the history (Rust says it, in these words).
      await tab("send");
      await check(lang, "send");
      await (await s.testid("secret-input")).type(`in ${lang}`);
      await (await s.testid("create")).click();
      const link = await (await s.testid("link", { timeout: 30_000 })).value();
      await check(lang, "sent link");
      const id = new URL(link).pathname.split("/")[2];
      await tab("history");
      // Read in one script: the list re-renders as the relay's states arrive.
      const name = () => s.script("return document.querySelector(`[data-testid=history-row][data-id='${arguments[0]}'] strong`)?.textContent", [id]);
      assert.equal(await until("the new link in the history", name), words["app.words.secret_text"], `the unnamed text's name in ${lang}`);
      await check(lang, "history");

      await tab("request");
      await check(lang, "request");
      await (await s.testid("ask")).click();
      await s.testid("request-link", { timeout: 30_000 });
      await check(lang, "request link");

      // An error from Rust, said in the language: a wrong passphrase, with the attempts left.
      const dir = tempDir();
      writeFileSync(join(dir, "pass"), "right one");
      const sent = sendJson(relay, ["--passphrase-file", join(dir, "pass"), "-"], `passphrase in ${lang}`);
      await tab("open");
      await check(lang, "open");
      await (await s.testid("open-input")).type(sent.link);
      const pass = await s.testid("passphrase");
      await check(lang, "peeked link");
      await pass.type("wrong one");
      await (await s.testid("open")).click();
      const err = await s.testid("error", { timeout: 60_000 });
      const said = words[`apperror.wrong_passphrase_${new Intl.PluralRules(lang).select(9)}`].replace("{{count}}", "9");
      assert.equal(await err.text(), said, `the wrong passphrase in ${lang}`);
      await pass.clear();
      await pass.type("right one");
      await (await s.testid("open")).click();
      await s.testid("secret", { timeout: 60_000 });
      await check(lang, "opened secret");
      await shot(`lang-${lang}`);
    }
  });
});
