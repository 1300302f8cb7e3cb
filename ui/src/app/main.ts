/**
 * The desktop app's window: Send (drop zone, text, expiry, passphrase -> link, QR, clipboard), Open (paste a link ->
 * what is known -> Reveal), History (live states from the relay, copy, revoke, forget) and Settings. All calls to Rust
 * go through ./api.ts.
 */
import "../style.css";
import "./app.css";
import { bytes, DEFAULT_TTL, h, progressBar, secretCard, show, TTLS, when } from "../dom";
import { GONE_TEXT, PASSPHRASE_HINT, SEND_TITLE, STATE_TEXT, textTooLong } from "../text";
import { api, errorText, isCmdError, type HistoryEntry, type PeekInfo, type Sent } from "./api";

type View = "send" | "open" | "history" | "settings";
const root = document.getElementById("app")!;
const tabs = document.getElementById("tabs")!;
let current: View = "send";


function nav(view: View) {
  current = view;
  tabs.replaceChildren(
    ...(["send", "open", "history", "settings"] as View[]).map((v) => {
      const b = h("button", { type: "button", class: "tab", "aria-current": v === view ? "page" : undefined, testid: `tab-${v}` }, v[0].toUpperCase() + v.slice(1));
      b.addEventListener("click", () => nav(v));
      return b;
    }),
  );
  ({ send: sendView, open: openView, history: historyView, settings: settingsView })[view]();
}

// ---- Send

const draft = { paths: [] as string[] };

function sendView() {
  const zone = h(
    "div",
    { class: "drop", testid: "drop-zone", tabindex: 0, role: "group", "aria-label": "Files to send: drop them here" },
    h("p", { class: "drop-title" }, "Drop files or folders here"),
  );
  const list = h("ul", { class: "picked", "aria-label": "Files to send" });
  const pickFiles = h("button", { type: "button" }, "Choose files…");
  const pickFolder = h("button", { type: "button" }, "Choose a folder…");
  zone.append(h("div", { class: "row center" }, pickFiles, pickFolder), list);
  const renderList = () => {
    list.replaceChildren(
      ...draft.paths.map((p, i) => {
        const rm = h("button", { type: "button", class: "link", "aria-label": `Remove ${p}` }, "Remove");
        rm.addEventListener("click", () => {
          draft.paths.splice(i, 1);
          renderList();
        });
        return h("li", { testid: "picked-file" }, h("span", {}, p), rm);
      }),
    );
    text.disabled = draft.paths.length > 0;
    text.placeholder = draft.paths.length ? "Sending files (remove them to send text instead)" : "Type or paste the secret";
  };
  const add = (paths: string[]) => {
    for (const p of paths) if (!draft.paths.includes(p)) draft.paths.push(p);
    renderList();
  };
  pickFiles.addEventListener("click", async () => add(await api.pickFiles(false)));
  pickFolder.addEventListener("click", async () => add(await api.pickFiles(true)));
  dropTarget = { add, zone };

  const text = h("textarea", { id: "secret", rows: 4, testid: "secret-input", placeholder: "Type or paste the secret", autofocus: true });
  const label = h("input", { id: "label", type: "text", placeholder: "e.g. Wi-Fi password for Sam", testid: "label" });
  const ttl = h("select", { id: "ttl", testid: "ttl" });
  for (const [l, s] of TTLS) ttl.append(h("option", { value: s, selected: s === DEFAULT_TTL }, l));
  const pass = h("input", { id: "pass", type: "text", autocomplete: "off", spellcheck: "false", testid: "passphrase" });
  const gen = h("button", { type: "button" }, "Generate");
  gen.addEventListener("click", async () => {
    pass.value = await api.generatePassphrase();
  });
  const status = h("div", { class: "status", role: "status" });
  const create = h("button", { type: "submit", class: "primary", testid: "create" }, SEND_TITLE);
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "send-title" },
    h("h1", { id: "send-title" }, "Send something once"),
    zone,
    h("label", { for: "secret" }, "…or a secret"),
    text,
    h(
      "div",
      { class: "grid2" },
      h("div", {}, h("label", { for: "ttl" }, "Expires unopened after"), ttl),
      h("div", {}, h("label", { for: "label" }, "Name in your history (optional)"), label),
    ),
    h("label", { for: "pass" }, "Passphrase (optional)"),
    h("div", { class: "row" }, pass, gen),
    h("p", { class: "muted hint" }, PASSPHRASE_HINT),
    // The main action stays in view however the window is sized.
    h("div", { class: "actions" }, create, status),
  );
  renderList();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const tooLong = draft.paths.length ? null : textTooLong(text.value);
    if (tooLong) {
      status.replaceChildren(h("p", { testid: "error", role: "alert" }, tooLong));
      return;
    }
    create.disabled = true;
    const bar = progressBar("Encrypting and uploading");
    status.replaceChildren(bar.el);
    const un = await api.onProgress((p) => p.op === "send" && bar.set(p.done, p.total));
    try {
      const sent = await api.send({
        text: draft.paths.length ? null : text.value,
        paths: draft.paths,
        ttl_secs: Number(ttl.value),
        passphrase: pass.value || null,
        label: label.value || null,
      });
      draft.paths = [];
      sentView(sent, !!pass.value);
    } catch (e) {
      create.disabled = false;
      status.replaceChildren(h("p", { testid: "error", role: "alert" }, errorText(e)));
    } finally {
      un();
    }
  });
  show(root, form);
}

let dropTarget: { add: (p: string[]) => void; zone: HTMLElement } | null = null;

const INSTRUCTIONS =
  "This link opens once. Open it only when you are ready to read it: after that it is gone, for you and for everyone else.";

/** What the window says after copying a link: where it is and when it leaves the clipboard. */
function copiedText(what: string, secs: number): string {
  if (!secs) return `${what} copied to the clipboard.`;
  const after = secs % 60 === 0 ? `${secs / 60} minute${secs === 60 ? "" : "s"}` : `${secs} seconds`;
  return `${what} copied. The clipboard will be cleared in ${after}.`;
}

function sentView(sent: Sent, withPass: boolean) {
  const link = h("input", { readonly: true, value: sent.link, testid: "link", "aria-label": "The one-time link", class: "mono" });
  const note = h("p", { class: "ok", role: "status", testid: "copied" }, sent.copied ? copiedText("Link", sent.clear_after_secs) : "");
  clipboardNote = note;
  const copy = h("button", { type: "button", class: "primary", testid: "copy" }, "Copy link");
  copy.addEventListener("click", async () => {
    await api.copy(sent.link, sent.clear_after_secs || null);
    note.textContent = copiedText("Link", sent.clear_after_secs);
  });
  const copyInstr = h("button", { type: "button" }, "Copy with instructions");
  copyInstr.addEventListener("click", async () => {
    await api.copy(`${sent.link}\n\n${INSTRUCTIONS}`, sent.clear_after_secs || null);
    note.textContent = copiedText("Link and instructions", sent.clear_after_secs);
  });
  const qr = h("img", { testid: "qr", class: "qr", alt: "QR code of the link", src: `data:image/svg+xml;base64,${btoa(sent.qr_svg)}` });
  const again = h("button", { type: "button" }, "Send something else");
  again.addEventListener("click", () => nav("send"));
  show(
    root,
    h(
      "section",
      { class: "card", "aria-labelledby": "sent-title" },
      h("h1", { id: "sent-title" }, "Your one-time link is ready"),
      h("div", { class: "sent" }, h("div", { class: "sent-main" }, link, h("div", { class: "row" }, copy, copyInstr), note), qr),
      h("p", {}, `“${sent.label}” opens once and expires ${when(sent.expires_at)} if nobody opens it. You will be told when it is opened.`),
      withPass ? h("p", { class: "warn" }, "Send the passphrase separately, not in the same message as the link.") : null,
      sent.history_error
        ? h("p", { class: "warn", role: "alert" }, `This link was not saved to your history (${sent.history_error}). Copy it now.`)
        : null,
      h("blockquote", { class: "muted" }, INSTRUCTIONS),
      again,
    ),
  );
  copy.focus();
}

// ---- Open

let pendingLink = "";

function openView() {
  const input = h("input", { id: "open-link", type: "text", placeholder: "https://…/o/…#… or burnlink://o/…#…", testid: "open-input", class: "mono", autofocus: true, value: pendingLink });
  const info = h("div", { class: "info", "aria-live": "polite" });
  const pass = h("input", { id: "open-pass", type: "password", autocomplete: "off", testid: "passphrase" });
  const passRow = h("div", { hidden: true }, h("label", { for: "open-pass" }, "Passphrase (the sender gave it to you separately)"), pass);
  const folder = h("input", { id: "folder", type: "text", readonly: true, class: "mono", "aria-label": "Save files to" });
  const change = h("button", { type: "button" }, "Change…");
  change.addEventListener("click", async () => {
    const f = await api.pickFolder();
    if (f) folder.value = f;
  });
  void api.defaultFolder().then((d) => (folder.value = folder.value || d));
  const status = h("div", { class: "status", role: "status" });
  const reveal = h("button", { type: "submit", class: "primary", testid: "open" }, "Reveal (opens once)");
  let peeked: { link: string; info: PeekInfo } | null = null;
  let isGone = false; // Reveal stays off for a gone link until the link changes

  const doPeek = async (): Promise<PeekInfo | null> => {
    const link = input.value.trim();
    if (!link) return null;
    if (peeked?.link === link) return peeked.info;
    try {
      const p = await api.peek(link);
      peeked = { link, info: p };
      info.replaceChildren(
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Size"),
          h("dd", {}, `about ${bytes(p.size)}`),
          h("dt", {}, "Expires"),
          h("dd", {}, when(p.expires_at)),
          h("dt", {}, "Passphrase"),
          h("dd", {}, p.passphrase ? "needed" : "no"),
        ),
        h("p", {}, "You are about to view private content. It opens once: after Reveal, the link stops working for everyone."),
      );
      passRow.hidden = !p.passphrase;
      if (!p.key_matches) info.append(h("p", { testid: "error", role: "alert" }, "This link's key does not match. Was it copied completely?"));
      return p;
    } catch (e) {
      peeked = null;
      if (isCmdError(e) && e.code === "gone") {
        gone(info);
        isGone = true;
        reveal.disabled = true;
      } else info.replaceChildren(h("p", { testid: "error", role: "alert" }, errorText(e)));
      return null;
    }
  };
  let timer = 0;
  input.addEventListener("input", () => {
    isGone = false;
    reveal.disabled = false;
    clearTimeout(timer);
    timer = window.setTimeout(doPeek, 250);
  });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "open-title" },
    h("h1", { id: "open-title" }, "Open a link"),
    h("label", { for: "open-link" }, "Link"),
    input,
    info,
    passRow,
    h("label", { for: "folder" }, "Files are saved to"),
    h("div", { class: "row" }, folder, change),
    reveal,
    status,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    reveal.disabled = true;
    status.replaceChildren();
    try {
      const p = await doPeek();
      if (!p) return;
      if (p.passphrase && !pass.value) {
        passRow.hidden = false;
        status.replaceChildren(h("p", { testid: "error", role: "alert" }, "Enter the passphrase first."));
        pass.focus();
        return;
      }
      const bar = progressBar("Downloading and decrypting");
      status.replaceChildren(bar.el);
      const un = await api.onProgress((e) => e.op === "open" && bar.set(e.done, e.total));
      try {
        const opened = await api.open(input.value.trim(), pass.value || null, folder.value || null);
        pendingLink = "";
        if (opened.kind === "text") textView(opened.text);
        else filesView(opened.saved, opened.files, opened.bytes);
      } finally {
        un();
      }
    } catch (e) {
      if (isCmdError(e) && e.code === "gone") {
        gone(status);
        isGone = true;
        peeked = null;
      } else status.replaceChildren(h("p", { testid: "error", role: "alert" }, errorText(e)));
      if (isCmdError(e) && e.code === "wrong_passphrase") pass.select();
    } finally {
      reveal.disabled = isGone;
    }
  });
  show(root, form);
  if (pendingLink) void doPeek();
}

function gone(where: HTMLElement) {
  where.replaceChildren(h("p", { testid: "gone", role: "alert", class: "gone" }, GONE_TEXT));
}

/** Where "Clipboard cleared." is said when Rust clears a copied secret. */
let clipboardNote: HTMLElement | null = null;

function textView(text: string) {
  const done = h("button", { type: "button" }, "Done");
  done.addEventListener("click", () => nav("open"));
  const card = secretCard(
    text,
    (note) => {
      clipboardNote = note;
      void api.copy(text, 30).then(
        () => (note.textContent = "Copied. The clipboard will be cleared in 30 seconds."),
        (e) => (note.textContent = errorText(e)),
      );
    },
    "The link no longer works. Keep the text somewhere safe if you need it later.",
    done,
  );
  show(root, card);
}

function filesView(saved: string[], files: number, total: number) {
  const done = h("button", { type: "button" }, "Done");
  done.addEventListener("click", () => nav("open"));
  show(
    root,
    h(
      "section",
      { class: "card" },
      h("h1", {}, "Saved"),
      h("p", { testid: "saved" }, `${files} file${files === 1 ? "" : "s"}, ${bytes(total)}, verified and saved:`),
      h("ul", { class: "files" }, ...saved.map((p) => h("li", { class: "mono" }, p))),
      done,
    ),
  );
}

// ---- History


/** Redraws the history list in place when a state changes (no new relay round trip). */
let redrawHistory: (() => void) | null = null;

function historyView() {
  const list = h("ul", { class: "history", testid: "history" });
  const status = h("div", { class: "status", role: "status" });
  const render = (entries: HistoryEntry[]) => {
    if (!entries.length) {
      list.replaceChildren(h("li", { class: "muted" }, "Links you send appear here."));
      return;
    }
    list.replaceChildren(
      ...entries.map((e) => {
        const opened = e.claimed_at ? ` at ${when(e.claimed_at)}` : "";
        const badge = h("span", { class: `badge ${e.state}`, testid: "history-state" }, (e.state === "claimed" || e.state === "consumed" ? "Opened" + opened : STATE_TEXT[e.state]));
        const actions = h("div", { class: "row" });
        if (e.link) {
          const c = h("button", { type: "button" }, "Copy link");
          c.addEventListener("click", async () => {
            await api.copy(e.link!);
            status.textContent = "Link copied.";
          });
          actions.append(c);
        }
        if (e.state === "fresh") {
          const r = h("button", { type: "button", testid: "revoke" }, "Revoke");
          r.addEventListener("click", async () => {
            try {
              await api.revoke(e.id);
              status.textContent = `“${e.label}” was revoked.`;
            } catch (err) {
              status.textContent = errorText(err);
            }
            render(await api.history());
          });
          actions.append(r);
        }
        const f = h("button", { type: "button", class: "link" }, "Forget");
        f.addEventListener("click", async () => {
          await api.forget(e.id);
          render(await api.history());
        });
        actions.append(f);
        return h(
          "li",
          { class: "entry", testid: "history-row", "data-id": e.id, "data-state": e.state },
          h("div", { class: "entry-main" }, h("strong", {}, e.label), badge),
          h("div", { class: "muted" }, `Sent ${when(e.created_at)} · expires ${when(e.expires_at)}`),
          actions,
        );
      }),
    );
  };
  show(root, h("section", { class: "card" }, h("h1", {}, "Sent links"), list, status));
  const unavailable = (e: unknown) =>
    list.replaceChildren(h("li", { testid: "error", role: "alert" }, `Your history is unavailable: ${errorText(e)}`));
  redrawHistory = () => void api.history().then(render, unavailable);
  void api.history().then(render, unavailable);
  void api.refreshHistory().then(render, () => {});
}

// ---- Settings

const CLEAR_CHOICES: [string, number][] = [
  ["After 30 seconds", 30],
  ["After 2 minutes", 120],
  ["After 10 minutes", 600],
  ["Never", 0],
];

async function settingsView() {
  const s = await api.getSettings();
  const relay = h("input", { id: "relay", type: "url", value: s.relay_url, testid: "relay-url", class: "mono" });
  const ca = h("input", { id: "ca", type: "text", value: s.ca_path ?? "", testid: "relay-ca", class: "mono" });
  const clear = h("select", { id: "clear", testid: "link-clear" });
  for (const [label, secs] of CLEAR_CHOICES) clear.append(h("option", { value: secs, selected: secs === s.link_clear_secs }, label));
  if (!CLEAR_CHOICES.some(([, secs]) => secs === s.link_clear_secs)) clear.append(h("option", { value: s.link_clear_secs, selected: true }, `After ${s.link_clear_secs} seconds`));
  const status = h("p", { class: "status", role: "status" });
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h(
    "form",
    { class: "card" },
    h("h1", {}, "Settings"),
    h("label", { for: "relay" }, "Relay"),
    relay,
    h("label", { for: "ca" }, "Certificate to trust for a self-hosted relay (PEM file; empty for a relay with a public certificate)"),
    ca,
    h("label", { for: "clear" }, "Clear a copied link from the clipboard"),
    clear,
    save,
    status,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api.setSettings({ relay_url: relay.value.trim(), ca_path: ca.value.trim() || null, link_clear_secs: Number(clear.value) });
      status.textContent = "Saved.";
    } catch (e) {
      status.textContent = errorText(e);
      status.setAttribute("data-testid", "error");
    }
  });
  show(root, form);
}

// ---- start

void api.onDrop((paths, over) => {
  if (!dropTarget || current !== "send") {
    if (paths.length) {
      nav("send");
      dropTarget?.add(paths);
    }
    return;
  }
  dropTarget.zone.classList.toggle("over", over);
  if (paths.length) dropTarget.add(paths);
});
void api.onClipboardCleared(() => {
  if (clipboardNote?.isConnected) clipboardNote.textContent = "Clipboard cleared.";
});
void api.onHistoryChanged(() => {
  if (current === "history") redrawHistory?.();
});
void api.onOpenLink((link) => {
  pendingLink = link;
  nav("open");
});
nav("send");
void api.initialLink().then((l) => {
  if (l) {
    pendingLink = l;
    nav("open");
  }
});
