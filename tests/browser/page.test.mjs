// The recipient and sender pages in a real browser (Debian's Chromium, headless, via playwright-core) against a real
// relay, with the real CLI on the other end. Screenshots of each screen go to tests/e2e/artifacts/ (not in git).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { artifacts, browser, cli, sendJson, sha256, startRelay, status, tempDir } from "./harness.mjs";
import { randomBytes } from "node:crypto";

let relay;
let chrome;
before(async () => {
  relay = await startRelay();
  chrome = await browser();
});
after(async () => {
  await chrome?.close();
  relay?.stop();
});

const shot = (page, name) => page.screenshot({ path: join(artifacts, `browser-${name}.png`), fullPage: true });

describe("recipient page", () => {
  it("opens a text link once, clears the fragment, then shows gone", async () => {
    const sent = sendJson(relay, ["-"], "the vault code is 0451");
    const page = await chrome.page();
    await page.goto(sent.link);
    const reveal = page.getByTestId("reveal");
    await reveal.waitFor();
    assert.equal(new URL(page.url()).hash, "", "the fragment is cleared from the address bar");
    await shot(page, "interstitial");
    assert.equal(status(relay, sent).state, "fresh", "loading the page burns nothing");
    await reveal.click();
    const secret = page.getByTestId("secret");
    await secret.waitFor();
    assert.equal(await secret.textContent(), "the vault code is 0451");
    await shot(page, "secret");
    assert.equal(status(relay, sent).state, "consumed");
    assert.deepEqual(page.cspViolations, [], "no CSP violations");

    const again = await chrome.page();
    await again.goto(sent.link);
    await again.getByTestId("gone").waitFor();
    await shot(again, "gone");
    assert.equal(await again.getByTestId("reveal").count(), 0);
  });

  it("says wrong passphrase without burning, then opens with the right one", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "pass"), "correct horse battery staple");
    const sent = sendJson(relay, ["--passphrase-file", join(dir, "pass"), "-"], "behind a passphrase");
    const page = await chrome.page();
    await page.goto(sent.link);
    const pass = page.getByTestId("passphrase");
    await pass.fill("Tr0ub4dor&3");
    await page.getByTestId("reveal").click();
    const err = page.getByTestId("error");
    await err.waitFor({ timeout: 60_000 });
    assert.match(await err.textContent(), /Wrong passphrase.*nothing was opened or burned.*9 attempts left/i);
    await shot(page, "wrong-passphrase");
    const st = status(relay, sent);
    assert.equal(st.state, "fresh");
    assert.equal(st.failed_attempts, 1);
    await pass.fill("correct horse battery staple");
    await page.getByTestId("reveal").click();
    await page.getByTestId("secret").waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId("secret").textContent(), "behind a passphrase");
  });

  it("a damaged link says so and burns nothing", async () => {
    const sent = sendJson(relay, ["-"], "intact");
    const [head, key] = sent.link.split("#");
    const page = await chrome.page();
    await page.goto(`${head}#${key.slice(0, 10)}${key[10] === "A" ? "B" : "A"}${key.slice(11)}`);
    await page.getByTestId("reveal").click();
    await page.getByTestId("error").waitFor();
    assert.match(await page.getByTestId("error").textContent(), /does not match/);
    assert.equal(status(relay, sent).state, "fresh");
    const incomplete = await chrome.page();
    await incomplete.goto(head);
    await incomplete.getByTestId("error").waitFor();
    assert.equal(status(relay, sent).state, "fresh");
  });

  it("downloads a 50 MiB file that matches its hash", async () => {
    const dir = tempDir();
    const data = randomBytes(50 << 20);
    writeFileSync(join(dir, "fifty.bin"), data);
    const sent = sendJson(relay, [join(dir, "fifty.bin")]);
    const page = await chrome.page();
    await page.goto(sent.link);
    await page.getByTestId("reveal").click();
    const link = page.getByTestId("download");
    await link.waitFor({ timeout: 120_000 });
    await shot(page, "files");
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    assert.equal(download.suggestedFilename(), "fifty.bin");
    const saved = join(dir, "saved.bin");
    await download.saveAs(saved);
    assert.equal(sha256(readFileSync(saved)), sha256(data));
    assert.equal(status(relay, sent).state, "consumed", "acked after the last chunk verified");
  });
});

describe("web sender", () => {
  it("makes a text link the CLI opens", async () => {
    const page = await chrome.page();
    await page.goto(relay.url + "/");
    await shot(page, "sender");
    await page.getByTestId("secret-input").fill("made in the browser ☕");
    await page.getByTestId("create").click();
    const link = await page.getByTestId("link").inputValue();
    await shot(page, "sender-link");
    assert.match(link, new RegExp(`^${relay.url}/o/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{43}$`));
    const r = cli(relay, ["open", "-"], { input: link });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "made in the browser ☕");
  });

  it("makes a file link with a passphrase that the CLI opens", async () => {
    const dir = tempDir();
    const data = randomBytes(3 << 20);
    writeFileSync(join(dir, "photo.raw"), data);
    const page = await chrome.page();
    await page.goto(relay.url + "/");
    await page.getByTestId("file-input").setInputFiles(join(dir, "photo.raw"));
    await page.getByTestId("passphrase").fill("second channel");
    await page.getByTestId("create").click();
    const link = await page.getByTestId("link").inputValue({ timeout: 60_000 });
    const out = join(dir, "out");
    mkdirSync(out);
    writeFileSync(join(dir, "pass"), "second channel");
    const wrong = cli(relay, ["open", "-", "--out", out, "--passphrase-env", "PW"], { input: link, env: { PW: "nope" } });
    assert.equal(wrong.code, 4, wrong.stderr);
    const r = cli(relay, ["open", "-", "--out", out, "--passphrase-file", join(dir, "pass")], { input: link });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(readFileSync(join(out, "photo.raw"))), sha256(data));
  });
});
