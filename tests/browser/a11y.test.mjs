// Accessibility of every screen of the browser page (WCAG 2.2 A and AA, as axe-core checks them) against a real
// relay, and the main flows by keyboard alone: Tab to move, Enter or Space to act.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { axeViolations, cli, relayAndBrowser, sendJson, tempDir } from "./harness.mjs";

let relay;
let chrome;
relayAndBrowser((r, c) => ([relay, chrome] = [r, c]));

async function clean(page, screen) {
  assert.deepEqual(await axeViolations(page), [], `${screen}: axe-core found WCAG violations`);
}

describe("every screen of the page passes axe-core", () => {
  it("sender, sent link, several links", async () => {
    const page = await chrome.page();
    await page.goto(relay.url + "/");
    await page.getByTestId("secret-input").waitFor();
    await clean(page, "sender");
    await page.getByTestId("secret-input").fill("axe");
    await page.getByTestId("recipients").fill("2");
    await page.getByTestId("create").click();
    await page.getByTestId("recipient-links").waitFor();
    await clean(page, "sent links");
  });

  it("recipient: interstitial, passphrase, secret, gone, damaged", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "pass"), "pw");
    const sent = sendJson(relay, ["--passphrase-file", join(dir, "pass"), "-"], "behind a passphrase");
    const page = await chrome.page();
    await page.goto(sent.link);
    await page.getByTestId("reveal").waitFor();
    await clean(page, "interstitial with passphrase");
    await page.getByTestId("passphrase").fill("nope");
    await page.getByTestId("reveal").click();
    await page.getByTestId("error").waitFor();
    await clean(page, "wrong passphrase");
    await page.getByTestId("passphrase").fill("pw");
    await page.getByTestId("reveal").click();
    await page.getByTestId("secret").waitFor();
    await clean(page, "secret");
    const gone = await chrome.page();
    await gone.goto(sent.link);
    await gone.getByTestId("gone").waitFor();
    await clean(gone, "gone");
    const damaged = await chrome.page();
    await damaged.goto(sent.link.slice(0, -4));
    await damaged.waitForSelector("h1");
    await clean(damaged, "damaged link");
  });

  it("files, manage page, answer page", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.txt"), "file body");
    const sent = sendJson(relay, [join(dir, "a.txt")]);
    const page = await chrome.page();
    await page.goto(sent.link);
    await page.getByTestId("reveal").click();
    await page.getByTestId("download").waitFor();
    await clean(page, "files received");

    const m = await chrome.page();
    await m.goto(relay.url + "/");
    await m.getByTestId("secret-input").fill("managed");
    await m.getByTestId("create").click();
    const manage = await m.getByTestId("manage-link").getAttribute("href");
    await m.goto(manage);
    await m.getByTestId("manage-state").waitFor();
    await clean(m, "manage");

    const asker = tempDir();
    const { link } = JSON.parse(cli(relay, ["request", "--json"], { cwd: asker }).stdout);
    const a = await chrome.page();
    await a.goto(link);
    await a.getByTestId("answer").waitFor();
    await clean(a, "answer");
    await a.getByTestId("secret-input").fill("answered");
    await a.getByTestId("answer").click();
    await a.getByTestId("answered").waitFor();
    await clean(a, "answered");
  });
});

/** The data-testid (or tag) of the focused element. */
const focused = (page) => page.evaluate(() => document.activeElement?.dataset?.testid ?? document.activeElement?.tagName);

/** Presses Tab until the element with `testid` has focus (at most 30 times). */
async function tabTo(page, testid) {
  for (let i = 0; i < 30; i++) {
    if ((await focused(page)) === testid) return;
    await page.keyboard.press("Tab");
  }
  assert.fail(`Tab never reached ${testid}`);
}

describe("by keyboard alone", () => {
  it("sends a secret and copies its link with Tab, Enter and Space", async () => {
    const page = await chrome.page();
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.goto(relay.url + "/");
    await page.getByTestId("secret-input").waitFor();
    assert.equal(await focused(page), "secret-input", "focus starts on the secret");
    await page.keyboard.type("typed, never clicked");
    await tabTo(page, "create");
    await page.keyboard.press("Enter");
    await page.getByTestId("link").waitFor();
    assert.equal(await focused(page), "link", "focus lands on the new link");
    await tabTo(page, "copy");
    await page.keyboard.press("Space");
    const link = await page.getByTestId("link").inputValue();
    await page.waitForFunction(async (l) => (await navigator.clipboard.readText()) === l, link);
    const r = cli(relay, ["open", "-"], { input: link });
    assert.equal(r.stdout, "typed, never clicked");
  });

  it("reveals a secret and copies it with Tab, Enter and Space", async () => {
    const sent = sendJson(relay, ["-"], "revealed by keyboard");
    const page = await chrome.page();
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.goto(sent.link);
    await page.getByTestId("reveal").waitFor();
    assert.equal(await focused(page), "reveal", "focus lands on Reveal");
    await page.keyboard.press("Enter");
    await page.getByTestId("secret").waitFor();
    await tabTo(page, "copy-secret");
    await page.keyboard.press("Space");
    await page.waitForFunction(async () => (await navigator.clipboard.readText()) === "revealed by keyboard");
  });
});
