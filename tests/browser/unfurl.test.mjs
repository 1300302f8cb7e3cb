// Link previews, prefetchers and scanners must never burn a link: GET and HEAD of every URL with the user agents of
// the common unfurlers, prefetch headers, and a real page load with JavaScript that never clicks Reveal. Then the link
// must still be FRESH and open normally. Also: the security headers on pages, assets and the API.
import assert from "node:assert/strict";
import { hkdfSync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { browser, cli, request, sendJson, startRelay, status, tempDir } from "./harness.mjs";

let relay;
before(async () => {
  relay = await startRelay();
});
after(() => relay?.stop());

const AGENTS = [
  "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
  "Slackbot 1.0 (+https://api.slack.com/robots)",
  "Twitterbot/1.0",
  "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
  "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.12026; Pro)",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) SafeLinks",
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  "curl/8.5.0",
  "WhatsApp/2.23.20.0 A",
  "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
  "TelegramBot (like TwitterBot)",
  "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
];

describe("unfurler gauntlet", () => {
  it("no GET, HEAD, prefetch or JS page load burns a link", async () => {
    const sent = sendJson(relay, ["-"], "survives the bots");
    const path = new URL(sent.link).pathname;
    const id = sent.id;
    for (const ua of AGENTS) {
      for (const method of ["GET", "HEAD"]) {
        for (const p of [path, `/api/v1/links/${id}`, `/o/${id}/`, "/"]) {
          const r = await request(relay, method, p, { headers: { "user-agent": ua } });
          assert.ok(r.status < 500, `${method} ${p} as ${ua}: ${r.status}`);
        }
      }
    }
    for (const h of [{ purpose: "prefetch" }, { "sec-purpose": "prefetch" }, { "sec-purpose": "prefetch;prerender" }]) {
      await request(relay, "GET", path, { headers: h });
      await request(relay, "GET", `/api/v1/links/${id}`, { headers: h });
    }
    const chrome = await browser();
    try {
      const page = await chrome.page();
      await page.goto(sent.link);
      await page.getByTestId("reveal").waitFor();
      await page.waitForTimeout(500);
    } finally {
      await chrome.close();
    }
    const before = status(relay, sent);
    assert.equal(before.state, "fresh");
    // Each GET of the link's page is counted for the sender's event log (12 unfurlers, 3 prefetches, 1 real page
    // load); HEADs, other paths and the API are not.
    assert.equal(before.previews, 16);
    const r = cli(relay, ["open", sent.link]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "survives the bots");
    const after = status(relay, sent);
    assert.deepEqual(
      after.events.map((e) => [e.event, e.count ?? e.client ?? null]),
      [["created", null], ["previewed", 16], ["claimed", "cli"], ["consumed", null]],
    );
  });

  it("cross-site POSTs are refused, and only the link's holder can spend an attempt", async () => {
    const sent = sendJson(relay, ["-"], "not for forms");
    const claimPost = (body, headers = {}) =>
      request(relay, "POST", `/api/v1/links/${sent.id}/claim`, {
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    const b64 = (buf) => Buffer.from(buf).toString("base64url");
    const stranger = { holder: b64(randomBytes(32)), claim_key: b64(randomBytes(32)) };
    assert.equal((await claimPost(stranger, { "sec-fetch-site": "cross-site" })).status, 403);
    // Someone who holds only the id (a proxy log, an unfurler): 30 guesses, each answered "gone", none counted.
    for (let i = 0; i < 30; i++) {
      const r = await claimPost({ holder: b64(randomBytes(32)), claim_key: b64(randomBytes(32)) });
      assert.equal(r.status, 404);
      assert.equal(JSON.parse(r.body).error, "gone");
    }
    let st = status(relay, sent);
    assert.equal(st.state, "fresh");
    assert.equal(st.failed_attempts, 0);
    // The holder with a wrong claim key (a wrong passphrase) is counted.
    const secret = Buffer.from(sent.link.split("#")[1], "base64url");
    const holder = b64(hkdfSync("sha256", secret, Buffer.alloc(0), "burnlink/v1/holder", 32));
    const wrong = await claimPost({ holder, claim_key: b64(randomBytes(32)) });
    assert.equal(wrong.status, 403);
    assert.equal(JSON.parse(wrong.body).attempts_left, 9);
    st = status(relay, sent);
    assert.equal(st.state, "fresh");
    assert.equal(st.failed_attempts, 1);
    const r = cli(relay, ["open", sent.link]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "not for forms");
  });

  it("unknown, opened and revoked links get the same neutral answer", async () => {
    const opened = sendJson(relay, ["-"], "a");
    assert.equal(cli(relay, ["open", opened.link]).code, 0);
    const revoked = sendJson(relay, ["-"], "b");
    assert.equal(cli(relay, ["revoke", revoked.id, "--manage", revoked.manage_token]).code, 0);
    const answers = [];
    for (const id of [opened.id, revoked.id, "AAAAAAAAAAAAAAAAAAAAAA", "not-an-id"]) {
      const r = await request(relay, "GET", `/api/v1/links/${id}`);
      answers.push([r.status, r.body.toString()]);
    }
    for (const a of answers) assert.deepEqual(a, answers[0]);
    assert.equal(answers[0][0], 404);
    // The page itself, and so the card an unfurler shows, is the same for every id: fresh (with a named file in it),
    // opened, revoked or unknown.
    const dir = tempDir();
    writeFileSync(join(dir, "quarterly-layoffs.pdf"), randomBytes(300_000));
    const fresh = sendJson(relay, [join(dir, "quarterly-layoffs.pdf")]);
    const pages = await Promise.all(
      [fresh.id, opened.id, revoked.id, "AAAAAAAAAAAAAAAAAAAAAA"].map((id) =>
        request(relay, "GET", `/o/${id}`, { headers: { "user-agent": AGENTS[0] } }).then((r) => r.body.toString()),
      ),
    );
    assert.ok(pages.every((p) => p === pages[0]));
    const card = (prop) => new RegExp(`<meta (?:property|name)="${prop}" content="([^"]*)"`).exec(pages[0])?.[1];
    assert.equal(card("og:title"), "A one-time link");
    assert.equal(card("twitter:card"), "summary");
    assert.match(card("og:description"), /opens once/);
    assert.doesNotMatch(pages[0], /quarterly|layoffs|pdf|300/i, "no hint of the content");
    assert.equal(status(relay, fresh).state, "fresh", "the unfurl changed nothing");
  });
});

describe("security headers", () => {
  it("are on pages, assets and the API", async () => {
    const sent = sendJson(relay, ["-"], "headers");
    const html = (await request(relay, "GET", "/")).body.toString();
    const css = /href="(\/assets\/[^"]+\.css)"/.exec(html)[1];
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)[1];
    const targets = [
      ["GET", "/"],
      ["GET", `/o/${sent.id}`],
      ["GET", js],
      ["GET", css],
      ["GET", `/api/v1/links/${sent.id}`],
      ["GET", "/api/v1/links/AAAAAAAAAAAAAAAAAAAAAA"],
      ["HEAD", `/o/${sent.id}`],
      ["GET", "/.well-known/burnlink"],
      ["GET", "/nope"],
    ];
    for (const [method, path] of targets) {
      const r = await request(relay, method, path);
      const h = r.headers;
      const csp = h["content-security-policy"] ?? "";
      assert.match(csp, /default-src 'none'/, `${path} CSP`);
      assert.match(csp, /script-src 'self'(;|$)/, `${path}: scripts from self only, no inline`);
      assert.match(csp, /connect-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(h["referrer-policy"], "no-referrer", path);
      assert.equal(h["cache-control"], "no-store", path);
      assert.equal(h["x-content-type-options"], "nosniff", path);
    }
    const page = await request(relay, "GET", "/");
    assert.doesNotMatch(page.body.toString(), /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script in the page");
    const script = await request(relay, "GET", js);
    assert.match(script.headers["content-type"], /javascript/);
    assert.equal(status(relay, sent).state, "fresh");
  });
});
