// Shared by the browser tests: a real burnlink-relay process, the real burnlink CLI, and Debian's Chromium driven by
// playwright-core. Everything on 127.0.0.1; every process is stopped by the test that started it.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
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
