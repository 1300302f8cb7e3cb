/**
 * The recipient page (`/o/<id>#<secret>`): reads the fragment and clears it from the address bar, peeks (never burns),
 * shows an interstitial, and burns only when the person clicks Reveal. Decryption and checks run here, in the browser.
 */
import { ContainerError, type Sink } from "./container";
import { bytes, copyWithClear, errorCard, facts, h, progressBar, secretCard, show, when } from "./dom";
import { t } from "./i18n";
import { equal, KeyError, sha256Of, unlock } from "./keys";
import { idFromPath, LinkError, secretFromFragment } from "./link";
import { DamagedError, openPayload } from "./payload";
import { ack, ApiError, claim, peek, resume, type Claimed, type LinkMeta } from "./relay";
import { clearPending, loadPending, savePending, type Pending } from "./resume";
import { ABOUT_TO_OPEN, GONE_TEXT, NO_LONGER_WORKS, PASSPHRASE_FROM_SENDER, PROGRESS_DOWNLOAD, wrongPassphrase } from "./text";

/** Largest payload kept in memory when the browser cannot stream to disk (no File System Access API). */
export const MEMORY_LIMIT = 512 * 1024 * 1024;

function gone(root: HTMLElement) {
  show(root, h("section", { class: "card" }, h("h1", {}, t("gone.title")), h("p", { testid: "gone", role: "alert" }, GONE_TEXT)));
}

interface SavedFile {
  path: string;
  blob?: Blob;
}

/** Keeps files in memory as Blobs; nothing is offered for saving until the whole payload verified. */
class MemorySink implements Sink {
  secretText: string | null = null;
  files: SavedFile[] = [];
  private parts: BlobPart[] = [];
  private path = "";
  text(t: string) {
    this.secretText = t;
  }
  dir() {}
  beginFile(p: string) {
    this.path = p;
    this.parts = [];
  }
  write(c: Uint8Array) {
    this.parts.push(c.slice());
  }
  endFile() {
    this.files.push({ path: this.path, blob: new Blob(this.parts) });
    this.parts = [];
  }
}

/** Streams files into a folder the person picked (File System Access API). Each file is written to the browser's
 * swap file and appears only when closed, which happens after the last chunk verified; on failure all are aborted. */
class FolderSink implements Sink {
  secretText: string | null = null;
  files: SavedFile[] = [];
  private open: FileSystemWritableFileStream[] = [];
  private cur: FileSystemWritableFileStream | null = null;
  constructor(private readonly root: FileSystemDirectoryHandle) {}
  private async dirOf(parts: string[]): Promise<FileSystemDirectoryHandle> {
    let d = this.root;
    for (const p of parts) d = await d.getDirectoryHandle(p, { create: true });
    return d;
  }
  text(t: string) {
    this.secretText = t;
  }
  async dir(p: string) {
    await this.dirOf(p.split("/"));
  }
  async beginFile(p: string) {
    const parts = p.split("/");
    const name = parts.pop()!;
    const d = await this.dirOf(parts);
    // Never overwrite: "a.txt" becomes "a (1).txt".
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? name : name.replace(/(\.[^.]*)?$/, (ext) => ` (${n})${ext}`);
      const exists = await d.getFileHandle(candidate).then(
        () => true,
        () => false,
      );
      if (!exists) {
        const fh = await d.getFileHandle(candidate, { create: true });
        this.cur = await fh.createWritable();
        break;
      }
    }
    this.open.push(this.cur!);
    this.files.push({ path: p });
  }
  async write(c: Uint8Array) {
    await this.cur!.write(c as BufferSource);
  }
  endFile() {
    this.cur = null;
  }
  async commit() {
    for (const w of this.open) await w.close();
  }
  async abort() {
    for (const w of this.open) await w.abort().catch(() => {});
  }
}

export async function recipient(root: HTMLElement) {
  let id: string;
  try {
    id = idFromPath(location.pathname);
  } catch (e) {
    history.replaceState(null, "", location.pathname);
    errorCard(root, t("open.incomplete_title"), (e as LinkError).message);
    return;
  }
  let secret: Uint8Array | null = null;
  let incomplete: LinkError | null = null;
  try {
    secret = secretFromFragment(location.hash);
  } catch (e) {
    incomplete = e as LinkError;
  }
  // The key never stays in the address bar, the history or a screenshot of it.
  history.replaceState(null, "", location.pathname);
  // A download this tab started and lost (a reload, a crash of the page) comes first: the link is already burned for
  // everyone else, so a new claim could only say "gone".
  const pending = loadPending(id);
  if (pending) return resumeCard(root, id, pending);
  if (!secret) {
    errorCard(root, t("open.incomplete_title"), incomplete!.message);
    return;
  }
  show(root, h("p", { class: "muted" }, t("open.checking")));

  let meta: LinkMeta;
  try {
    meta = await peek(id);
  } catch (e) {
    if (e instanceof ApiError && e.code === "gone") gone(root);
    else errorCard(root, t("open.check_failed"), (e as Error).message);
    return;
  }
  interstitial(root, id, secret, meta);
}

/** The passphrase field a recipient types into, when the link has one. */
function passphraseInput(meta: LinkMeta): HTMLInputElement | null {
  if (!meta.kdf) return null;
  return h("input", { id: "passphrase", type: "password", autocomplete: "off", spellcheck: "false", testid: "passphrase", required: true, autofocus: true });
}

function interstitial(root: HTMLElement, id: string, secret: Uint8Array, meta: LinkMeta) {
  const status = h("p", { class: "status", role: "status", "aria-live": "assertive" });
  const pass = passphraseInput(meta);
  const tooBig = meta.size > MEMORY_LIMIT && !("showDirectoryPicker" in window);
  const reveal = h("button", { type: "submit", testid: "reveal", class: "primary", disabled: tooBig }, t("open.reveal"));
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "title" },
    h("h1", { id: "title" }, t("open.title")),
    h("p", {}, ABOUT_TO_OPEN),
    facts([
      [t("open.size"), t("open.about", { size: bytes(meta.size) })],
      [t("open.expires"), when(meta.expiresAt)],
    ]),
    pass && h("label", { for: "passphrase" }, PASSPHRASE_FROM_SENDER),
    pass,
    tooBig &&
      h(
        "p",
        { testid: "error", role: "alert" },
        t("open.too_big", { size: bytes(meta.size), limit: bytes(MEMORY_LIMIT) }),
      ),
    reveal,
    status,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    reveal.disabled = true;
    status.removeAttribute("data-testid");
    try {
      await open(root, id, secret, meta, pass?.value ?? null, status);
    } catch (e) {
      reveal.disabled = false;
      if (e instanceof ApiError && e.code === "gone") return gone(root);
      const msg =
        e instanceof ApiError && e.code === "wrong_key"
          ? wrongPassphrase(e.attemptsLeft ?? 0)
          : (e as Error).message;
      status.textContent = msg;
      status.setAttribute("data-testid", "error");
      pass?.focus();
      pass?.select();
    }
  });
  show(root, form);
}

/** Asks for a folder when the payload is too big for memory, while the click still counts as a user gesture. */
async function pickFolder(meta: LinkMeta): Promise<FileSystemDirectoryHandle | null> {
  if (meta.size <= MEMORY_LIMIT) return null;
  return (window as unknown as { showDirectoryPicker(o: object): Promise<FileSystemDirectoryHandle> }).showDirectoryPicker({
    mode: "readwrite",
  });
}

async function open(root: HTMLElement, id: string, secret: Uint8Array, meta: LinkMeta, passphrase: string | null, status: HTMLElement) {
  const folder = await pickFolder(meta);
  if (meta.kdf && !passphrase) throw new KeyError("passphrase_required", t("open.enter_passphrase"));
  status.textContent = meta.kdf ? t("open.deriving") : t("open.opening");
  const keys = await unlock(secret, meta, passphrase);
  const bar = progressBar(PROGRESS_DOWNLOAD);
  const claimed = await claim(id, keys, bar.set);
  // From here on the link is burned for everyone else. Until the content is verified, this tab keeps what it needs to
  // resume after a reload.
  const pending: Pending = { secret, lease: claimed.lease, claimHash: sha256Of(keys.claimKey), meta, claimedAt: Date.now() };
  savePending(id, pending);
  await receive(root, id, pending, keys.identity, claimed, bar, folder);
}

/** Decrypts, verifies, then offers the result; on a cut connection, offers to resume. */
async function receive(
  root: HTMLElement,
  id: string,
  pending: Pending,
  identity: string,
  claimed: Claimed,
  bar: ReturnType<typeof progressBar>,
  folder: FileSystemDirectoryHandle | null,
) {
  show(root, h("section", { class: "card" }, h("h1", {}, t("open.opening")), bar.el));
  const sink = folder ? new FolderSink(folder) : new MemorySink();
  let summary;
  try {
    summary = await openPayload(claimed.body, identity, sink);
  } catch (e) {
    if (sink instanceof FolderSink) await sink.abort();
    if (e instanceof DamagedError || e instanceof ContainerError) {
      // Downloading it again gives the same bytes: nothing to resume.
      clearPending(id);
      errorCard(root, t("open.damaged_title"), t("open.damaged", { why: (e as Error).message }));
    } else if (e instanceof ApiError && e.code === "upload_failed") {
      clearPending(id);
      errorCard(root, t("open.upload_failed_title"), e.message);
    } else if (e instanceof ApiError && e.code === "gone") {
      clearPending(id);
      errorCard(root, t("open.lease_over_title"), LEASE_OVER);
    } else {
      interrupted(root, id, pending, (e as Error).message);
    }
    return;
  }
  if (sink instanceof FolderSink) await sink.commit();
  await ack(id, claimed.lease);
  clearPending(id);
  if (sink.secretText !== null) return revealText(root, sink.secretText);
  revealFiles(root, sink, summary.bytes, !!folder);
}

const LEASE_OVER = t("open.lease_over");

function interrupted(root: HTMLElement, id: string, pending: Pending, why: string) {
  const again = h("button", { type: "button", class: "primary", testid: "resume" }, t("open.resume"));
  again.addEventListener("click", () => resumeCard(root, id, pending));
  show(
    root,
    h(
      "section",
      { class: "card" },
      h("h1", {}, t("open.interrupted_title")),
      h("p", { testid: "error", role: "alert" }, t("open.interrupted", { why })),
      again,
    ),
  );
}

/** Resumes this tab's interrupted download: asks for the passphrase again if there is one, checks it against the claim
 * key's hash kept from the claim (a typo costs nothing), then downloads again under the lease. */
function resumeCard(root: HTMLElement, id: string, pending: Pending) {
  const { meta } = pending;
  const status = h("p", { class: "status", role: "status", "aria-live": "assertive" });
  const pass = passphraseInput(meta);
  const go = h("button", { type: "submit", testid: "resume", class: "primary" }, t("open.resume"));
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "title" },
    h("h1", { id: "title" }, t("open.resume_title")),
    h("p", {}, t("open.resume_text", { size: bytes(meta.size) })),
    pass && h("label", { for: "passphrase" }, t("open.same_passphrase")),
    pass,
    go,
    status,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    go.disabled = true;
    status.removeAttribute("data-testid");
    try {
      const folder = await pickFolder(meta);
      if (pass) status.textContent = t("open.deriving");
      const keys = await unlock(pending.secret, meta, pass?.value ?? null);
      if (!equal(sha256Of(keys.claimKey), pending.claimHash)) {
        throw new KeyError("wrong_key", t("open.wrong_on_resume"));
      }
      const bar = progressBar(PROGRESS_DOWNLOAD);
      const claimed = await resume(id, pending.lease, bar.set);
      await receive(root, id, pending, keys.identity, claimed, bar, folder);
    } catch (e) {
      go.disabled = false;
      if (e instanceof ApiError && e.code === "gone") {
        clearPending(id);
        return errorCard(root, t("open.lease_over_title"), LEASE_OVER);
      }
      status.textContent = (e as Error).message;
      status.setAttribute("data-testid", "error");
      pass?.focus();
      pass?.select();
    }
  });
  show(root, form);
}

function revealText(root: HTMLElement, text: string) {
  show(
    root,
    secretCard(
      text,
      (note) => void copyWithClear(t("open.secret"), text, 30, note),
      `${NO_LONGER_WORKS} ${t("open.keep_text")}`,
    ),
  );
}

function revealFiles(root: HTMLElement, sink: MemorySink | FolderSink, total: number, toFolder: boolean) {
  const list = h("ul", { class: "files" });
  for (const f of sink.files) {
    if (f.blob) {
      const name = f.path.split("/").join("_");
      const a = h("a", { href: URL.createObjectURL(f.blob), download: name, testid: "download", class: "button" }, t("open.save", { path: f.path }));
      list.append(h("li", {}, a, h("span", { class: "muted" }, ` ${bytes(f.blob.size)}`)));
    } else {
      list.append(h("li", {}, f.path));
    }
  }
  show(
    root,
    h(
      "section",
      { class: "card" },
      h("h1", {}, toFolder ? t("open.saved") : t("open.received")),
      h("p", {}, `${t("open.files_verified", { count: sink.files.length, size: bytes(total) })} ${toFolder ? t("open.in_folder") : t("open.save_now")}`),
      list,
      h("p", { class: "muted" }, NO_LONGER_WORKS),
    ),
  );
}
