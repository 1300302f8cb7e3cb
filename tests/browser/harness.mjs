// Shared by the browser tests: a real burnlink-relay process, the real burnlink CLI, and Debian's Chromium driven by
// playwright-core. Everything on 127.0.0.1; every process is stopped by the test that started it.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import dgram from "node:dgram";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const profile = process.env.BURNLINK_PROFILE ?? "debug";
export const bin = (name) => join(root, "target", profile, name);
export const artifacts = join(root, "tests", "e2e", "artifacts");
mkdirSync(artifacts, { recursive: true });

export function tempDir(prefix = "burnlink-browser-") {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts a relay on a fresh data dir; resolves with its ready line and a stop(). */
export async function startRelay() {
  const data = tempDir("burnlink-relay-");
  const child = spawn(bin("burnlink-relay"), ["--data", data, "--rate", "0", "--max-conns-per-ip", "1000"], {
    stdio: ["ignore", "pipe", "ignore"],
    env: { ...process.env, BURNLINK_LOG: "warn" },
  });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once("line", resolve);
    child.once("exit", (c) => reject(new Error(`relay exited ${c}`)));
  });
  const ready = JSON.parse(line);
  return {
    ...ready,
    data,
    stop() {
      child.kill("SIGKILL");
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Runs the burnlink CLI against `relay`; secrets go through stdin or files, never argv. */
export function cli(relay, args, { input = "", env = {}, cwd } = {}) {
  const home = cwd ?? tempDir("burnlink-cli-");
  const r = spawnSync(bin("burnlink"), args, {
    input,
    cwd: home,
    env: { ...process.env, BURNLINK_RELAY: relay.url, BURNLINK_CA: relay.ca, BURNLINK_STATE_DIR: join(home, ".state"), ...env },
    maxBuffer: 1 << 30,
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** `burnlink send --json`; returns {link, id, manage_token, expires_at}. */
export function sendJson(relay, args, input = "") {
  const r = cli(relay, ["send", "--json", ...args], { input });
  if (r.code !== 0) throw new Error(`send failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function status(relay, sent) {
  const r = cli(relay, ["status", sent.id, "--manage", sent.manage_token]);
  if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** A raw HTTPS request to the relay, trusting its certificate. */
export function request(relay, method, path, { headers = {}, body } = {}) {
  const url = new URL(path, relay.url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      { method, hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers, ca: readFileSync(relay.ca) },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

export function sha256(buf) {
  return createHash("sha256").update(buf).digest("hex");
}

export async function browser() {
  // playwright-core gives every launch a fresh, empty profile directory of its own.
  const b = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-quic",
    ],
  });
  return {
    browser: b,
    async page() {
      const ctx = await b.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
      const page = await ctx.newPage();
      // A cold Chromium on a busy 2-core CI machine can take a while for its first page.
      page.setDefaultTimeout(60_000);
      page.cspViolations = [];
      page.on("console", (m) => {
        if (/Content Security Policy/i.test(m.text())) page.cspViolations.push(m.text());
      });
      return page;
    },
    async close() {
      await b.close();
    },
  };
}

/** For a test file whose tests share one relay and one browser: starts both before its first test and stops both after
 * its last. `use` receives them once they run. */
export function relayAndBrowser(use) {
  let relay;
  let chrome;
  before(async () => {
    relay = await startRelay();
    chrome = await browser();
    use(relay, chrome);
  });
  after(async () => {
    await chrome?.close();
    relay?.stop();
  });
}

/** A slow uplink to `relay`: a UDP (QUIC) forwarder whose datagrams towards the relay pass at `bytesPerSec` at most,
 * so a test can watch an upload while it runs. What its queue cannot hold is lost, as on a slow link; QUIC resends.
 * Runs on this process's event loop: while it is in use, run other commands with `cliAsync`, never `cli`. */
export async function pacedUplink(relay, bytesPerSec) {
  const port = Number(new URL(relay.url).port);
  const front = dgram.createSocket("udp4");
  await new Promise((r) => front.bind(0, "127.0.0.1", r));
  const flows = new Map();
  const queue = [];
  let timer = null;
  let sendAt = 0;
  const pump = () => {
    timer = null;
    while (queue.length) {
      const now = performance.now();
      if (sendAt > now) {
        timer = setTimeout(pump, sendAt - now);
        return;
      }
      const [up, msg] = queue.shift();
      up.send(msg, port, "127.0.0.1");
      sendAt = Math.max(now, sendAt) + (msg.length / bytesPerSec) * 1000;
    }
  };
  front.on("message", (msg, from) => {
    const key = `${from.address}:${from.port}`;
    let up = flows.get(key);
    if (!up) {
      up = dgram.createSocket("udp4");
      up.on("message", (m) => front.send(m, from.port, from.address));
      flows.set(key, up);
    }
    if (queue.length < 2000) queue.push([up, msg]);
    if (!timer) pump();
  });
  return {
    url: `https://127.0.0.1:${front.address().port}`,
    stop() {
      if (timer) clearTimeout(timer);
      front.close();
      for (const up of flows.values()) up.close();
    },
  };
}

/** `cli`, without blocking this process's event loop (a `pacedUplink` in it keeps forwarding). */
export function cliAsync(relay, args, { input = "", env = {}, cwd } = {}) {
  const home = cwd ?? tempDir("burnlink-cli-");
  const child = spawn(bin("burnlink"), args, {
    cwd: home,
    env: { ...process.env, BURNLINK_RELAY: relay.url, BURNLINK_CA: relay.ca, BURNLINK_STATE_DIR: join(home, ".state"), ...env },
  });
  child.stdin.end(input);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** `burnlink send --json ARGS` through `via` (a `pacedUplink`), running on: resolves with the link's JSON as soon as
 * it is printed (a live link), and the process, to wait for or kill. */
export async function sendLive(relay, via, args, input = "") {
  const home = tempDir("burnlink-cli-");
  const child = spawn(bin("burnlink"), ["send", "--json", ...args], {
    cwd: home,
    env: { ...process.env, BURNLINK_RELAY: via.url, BURNLINK_CA: relay.ca, BURNLINK_STATE_DIR: join(home, ".state") },
  });
  child.stdin.end(input);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    exited.then(({ code }) => reject(new Error(`send exited ${code} before printing a link: ${stderr}`)));
  });
  const sent = JSON.parse(line);
  // Recipients elsewhere open it at the relay itself, not through the sender's slow uplink.
  sent.link = sent.link.replace(via.url, relay.url);
  return { sent, child, exited, running: () => child.exitCode === null && child.signalCode === null };
}

/** `status` without blocking the event loop. */
export async function statusAsync(relay, sent) {
  const r = await cliAsync(relay, ["status", sent.id, "--manage", sent.manage_token]);
  if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** axe-core's WCAG 2.2 A and AA rules on what `page` shows now: the violations, each as "rule: target, …". The
 * script is evaluated through the DevTools protocol, which the page's CSP (scripts from self only) does not stop. */
export async function axeViolations(page) {
  const { default: axe } = await import("axe-core");
  await page.evaluate(axe.source);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  return found;
}
