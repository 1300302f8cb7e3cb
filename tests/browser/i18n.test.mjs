// The page in each of its languages, chosen the way a visitor's browser chooses (its locale) and by the switcher:
// every screen renders with no text missing, <html lang> follows, dates and sizes are the locale's.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli, relayAndBrowser, sendJson, tempDir } from "./harness.mjs";

let relay;
let chrome;
relayAndBrowser((r, c) => ([relay, chrome] = [r, c]));

/** A page in a browser whose locale is `locale`. */
async function pageIn(locale) {
  const ctx = await chrome.browser.newContext({ ignoreHTTPSErrors: true, locale });
  const page = await ctx.newPage();
  page.setDefaultTimeout(60_000);
  return page;
}

async function checked(page, lang, screen) {
  assert.equal(await page.evaluate(() => document.documentElement.lang), lang, `${screen}: <html lang>`);
  assert.deepEqual(await page.evaluate(() => window.__i18nMissing), [], `${screen} in ${lang}: texts missing`);
}

// One text per language that proves the screen is not in English.
const REVEAL = { en: "Reveal", de: "Aufdecken", fr: "Révéler", es: "Revelar", ja: "表示する" };

describe("languages", () => {
  for (const [lang, locale] of [["en", "en-US"], ["de", "de-DE"], ["fr", "fr-FR"], ["es", "es-ES"], ["ja", "ja-JP"]]) {
    it(`${lang}: every screen, no text missing`, async () => {
      const page = await pageIn(locale);
      await page.goto(relay.url + "/");
      await page.getByTestId("secret-input").fill("multilingual");
      await checked(page, lang, "sender");
      await page.getByTestId("create").click();
      const link = await page.getByTestId("link").inputValue();
      await checked(page, lang, "sent");
      const manage = await page.getByTestId("manage-link").getAttribute("href");

      const dir = tempDir();
      writeFileSync(join(dir, "pass"), "pw");
      const guarded = sendJson(relay, ["--passphrase-file", join(dir, "pass"), "-"], "x");
      await page.goto(guarded.link);
      await page.getByTestId("reveal").waitFor();
      assert.equal(await page.getByTestId("reveal").textContent(), REVEAL[lang]);
      await page.getByTestId("passphrase").fill("wrong");
      await page.getByTestId("reveal").click();
      await page.getByTestId("error").waitFor();
      await checked(page, lang, "wrong passphrase");

      await page.goto(link);
      await page.getByTestId("reveal").click();
      await page.getByTestId("secret").waitFor();
      await checked(page, lang, "secret");
      await page.goto("about:blank"); // the same link again: a new load, not a change of fragment
      await page.goto(link);
      await page.getByTestId("gone").waitFor();
      await checked(page, lang, "gone");
      await page.goto(manage);
      await page.getByTestId("manage-state").waitFor();
      await checked(page, lang, "manage");

      const { link: request } = JSON.parse(cli(relay, ["request", "--json"], { cwd: tempDir() }).stdout);
      await page.goto(request);
      await page.getByTestId("answer").waitFor();
      await checked(page, lang, "answer");
      await page.context().close();
    });
  }

  it("the switcher changes the language, remembers it, and dates follow", async () => {
    const page = await pageIn("en-US");
    await page.goto(relay.url + "/");
    await page.getByTestId("language").selectOption("de");
    await page.waitForFunction(() => document.documentElement.lang === "de");
    assert.equal(await page.getByTestId("create").textContent(), "Einmal-Link erstellen");
    const sent = sendJson(relay, ["--ttl", "1h", "-"], "dated");
    await page.goto(sent.link);
    await page.getByTestId("reveal").waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "de", "remembered across pages");
    const facts = await page.locator("dl.facts").textContent();
    const expires = new Date(Date.parse(sent.expires_at)).toLocaleString("de", { dateStyle: "medium", timeStyle: "short" });
    assert.ok(facts.includes(expires), `the expiry as Germans write it (${expires}): ${facts}`);
    await page.context().close();
  });
});
