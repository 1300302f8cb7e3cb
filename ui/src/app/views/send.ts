/** The Send view: drop zone or text, expiry, label, passphrase -> the link, its QR code, on the clipboard for a while. */
import { h, passphraseField, policyFields, progressBar, show, ttlSelect, when } from "../../dom";
import {
  ANSWER_SENT,
  ANSWERING_NOTE,
  copiedText,
  INSTRUCTIONS,
  PASSPHRASE_HINT,
  PASSPHRASE_SEPARATELY,
  SEND_TITLE,
  textTooLong,
  UPLOADED_NOTE,
  UPLOADING_NOTE,
  uploadFailedNote,
} from "../../text";
import { api, errorText, type Sent } from "../api";
import { nav, root, state } from "../state";

export function sendView() {
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
      ...state.draft.paths.map((p, i) => {
        const rm = h("button", { type: "button", class: "link", "aria-label": `Remove ${p}` }, "Remove");
        rm.addEventListener("click", () => {
          state.draft.paths.splice(i, 1);
          renderList();
        });
        return h("li", { testid: "picked-file" }, h("span", {}, p), rm);
      }),
    );
    text.disabled = state.draft.paths.length > 0;
    text.placeholder = state.draft.paths.length ? "Sending files (remove them to send text instead)" : "Type or paste the secret";
  };
  const add = (paths: string[]) => {
    for (const p of paths) if (!state.draft.paths.includes(p)) state.draft.paths.push(p);
    renderList();
  };
  pickFiles.addEventListener("click", async () => add(await api.pickFiles(false)));
  pickFolder.addEventListener("click", async () => add(await api.pickFiles(true)));
  state.dropTarget = { add, zone };

  const text = h("textarea", { id: "secret", rows: 4, testid: "secret-input", placeholder: "Type or paste the secret", autofocus: true });
  const label = h("input", { id: "label", type: "text", placeholder: "e.g. Wi-Fi password for Sam", testid: "label" });
  const ttl = ttlSelect();
  const { input: pass, row: passRow } = passphraseField(api.generatePassphrase);
  const rules = policyFields(ttl);
  const recipients = h("input", { id: "recipients", type: "number", min: 1, max: 20, value: 1, testid: "recipients" });
  // Sending a link of the history again: its settings, and a word on what happens to the old link.
  const again = state.draft.again;
  let againNote: HTMLElement | null = null;
  if (again) {
    rules.policy.value = again.policy ?? "";
    rules.policy.dispatchEvent(new Event("change"));
    ttl.value = String(again.ttl_secs);
    if (ttl.value !== String(again.ttl_secs)) ttl.value = String(rules.chosen()?.ttl ?? 86400);
    rules.allow.value = again.allow.join(", ");
    label.value = again.label;
    againNote = h(
      "p",
      { class: "warn", role: "status", testid: "reissue-note" },
      again.retype
        ? `Sending “${again.label}” again: type the secret again (Burnlink never keeps it). The old link is revoked if it still works.`
        : `Sending “${again.label}” again: a new link for the same files. The old link is revoked if it still works.`,
    );
  }
  // Answering a request: the secret goes to the person who asked, so nothing here applies but the expiry.
  const answerTo = state.draft.answerTo;
  let answering: HTMLElement | null = null;
  if (answerTo) {
    const own = h("button", { type: "button", class: "link" }, "Send something of your own instead");
    own.addEventListener("click", () => {
      state.draft.answerTo = null;
      nav("send");
    });
    answering = h("div", {}, h("p", { class: "warn", role: "status", testid: "answering-note" }, ANSWERING_NOTE), own);
  }
  const status = h("div", { class: "status", role: "status" });
  const create = h("button", { type: "submit", class: "primary", testid: "create" }, answerTo ? "Send it to them" : SEND_TITLE);
  const ownLink = answerTo
    ? []
    : [
        rules.el,
        h("label", { for: "recipients" }, "Recipients (a one-time link for each)"),
        recipients,
        h("label", { for: "pass" }, "Passphrase (optional; one is generated if the policy requires it)"),
        passRow,
        h("p", { class: "muted hint" }, PASSPHRASE_HINT),
      ];
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "send-title" },
    h("h1", { id: "send-title" }, answerTo ? "Answer a request" : "Send something once"),
    answering,
    againNote,
    zone,
    h("label", { for: "secret" }, "…or a secret"),
    text,
    h(
      "div",
      { class: "grid2" },
      h("div", {}, h("label", { for: "ttl" }, "Expires unopened after"), ttl),
      h("div", {}, h("label", { for: "label" }, "Name in your history (optional)"), label),
    ),
    ...ownLink,
    // The main action stays in view however the window is sized.
    h("div", { class: "actions" }, create, status),
  );
  renderList();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const tooLong = state.draft.paths.length ? null : textTooLong(text.value);
    if (tooLong) {
      status.replaceChildren(h("p", { testid: "error", role: "alert" }, tooLong));
      return;
    }
    create.disabled = true;
    const bar = progressBar("Encrypting and uploading");
    status.replaceChildren(bar.el);
    const withPass = !!pass.value || !!rules.chosen()?.passphrase;
    // The link shows the moment the relay has made it, with the upload's progress under it.
    let shown: Upload | null = null;
    const unReady = await api.onLinkReady((sent) => {
      shown ??= sentView(sent, withPass, bar.el);
    });
    const un = await api.onProgress((p) => p.op === "send" && bar.set(p.done, p.total));
    try {
      const sent = await api.send({
        text: state.draft.paths.length ? null : text.value,
        paths: state.draft.paths,
        ttl_secs: Number(ttl.value),
        passphrase: pass.value || null,
        label: label.value || null,
        policy: rules.policy.value || null,
        allow: rules.allowList(),
        replaces: again?.replaces ?? null,
        recipients: answerTo ? 1 : Math.min(20, Math.max(1, Number(recipients.value) || 1)),
        to: answerTo,
      });
      state.draft = { paths: [], again: null, answerTo: null };
      if (sent.answered) answeredView(sent);
      else (shown ?? sentView(sent, withPass, bar.el)).done();
    } catch (e) {
      if (shown) {
        (shown as Upload).failed(errorText(e));
      } else {
        create.disabled = false;
        status.replaceChildren(h("p", { testid: "error", role: "alert" }, errorText(e)));
      }
    } finally {
      un();
      unReady();
    }
  });
  show(root, form);
}

/** After answering a request: nothing to share, and where the answer's state shows. */
function answeredView(sent: Sent) {
  const again = h("button", { type: "button" }, "Send something else");
  again.addEventListener("click", () => nav("send"));
  show(
    root,
    h(
      "section",
      { class: "card", testid: "answered" },
      h("h1", {}, "Sent to the person who asked"),
      h("p", {}, ANSWER_SENT),
      h("p", { class: "muted" }, `If they do not open it, it is deleted ${when(sent.expires_at)}. Your History shows when it is opened.`),
      sent.history_error ? h("p", { class: "warn", role: "alert" }, `It was not saved to your history (${sent.history_error}).`) : null,
      again,
    ),
  );
}

/** Several recipients: every link, each opening once on its own, with its own copy button. */
function recipientLinks(sent: Sent): HTMLElement {
  const all = [sent.link, ...sent.more.map((m) => m.link)];
  const note = h("span", { class: "ok", role: "status" });
  return h(
    "div",
    { class: "recipients" },
    h("p", {}, `${all.length} links, one per recipient: each opens once, on its own. All of them are on the clipboard, one per line.`),
    h(
      "ol",
      { testid: "recipient-links" },
      ...all.map((link, i) => {
        const copy = h("button", { type: "button" }, "Copy");
        copy.addEventListener("click", async () => {
          await api.copy(link, sent.clear_after_secs || null);
          note.textContent = copiedText(`Link ${i + 1}`, sent.clear_after_secs);
        });
        return h("li", { testid: "recipient-link" }, h("input", { readonly: true, value: link, class: "mono", "aria-label": `Link for recipient ${i + 1}` }), copy);
      }),
    ),
    note,
  );
}

/** The passphrase the policy required and the app generated: shown once, here, with its own copy button. */
function generatedPassphrase(passphrase: string): HTMLElement {
  const field = h("input", { readonly: true, value: passphrase, testid: "generated-passphrase", class: "mono", "aria-label": "Generated passphrase" });
  const note = h("span", { class: "ok", role: "status" });
  const copy = h("button", { type: "button" }, "Copy passphrase");
  copy.addEventListener("click", async () => {
    await api.copy(passphrase, 60);
    note.textContent = copiedText("Passphrase", 60);
  });
  return h("div", { class: "generated" }, h("label", {}, "Passphrase (generated)"), h("div", { class: "row" }, field, copy), note);
}

/** A shown link's upload: it ends stored or failed. */
interface Upload {
  done(): void;
  failed(why: string): void;
}

function sentView(sent: Sent, withPass: boolean, progress: HTMLElement): Upload {
  const link = h("input", { readonly: true, value: sent.link, testid: "link", "aria-label": "The one-time link", class: "mono" });
  const note = h("p", { class: "ok", role: "status", testid: "copied" }, sent.copied ? copiedText("Link", sent.clear_after_secs) : "");
  state.clipboardNote = note;
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
  const uploadNote = h("p", { class: "warn", role: "status", testid: "upload-note" }, UPLOADING_NOTE);
  const upload = h("div", { class: "upload", testid: "upload", "data-state": "uploading" }, progress, uploadNote);
  show(
    root,
    h(
      "section",
      { class: "card", "aria-labelledby": "sent-title" },
      h("h1", { id: "sent-title" }, "Your one-time link is ready"),
      h("div", { class: "sent" }, h("div", { class: "sent-main" }, link, h("div", { class: "row" }, copy, copyInstr), note), qr),
      h("p", {}, `“${sent.label}” opens once and expires ${when(sent.expires_at)} if nobody opens it. You will be told when it is opened.`),
      upload,
      sent.more.length ? recipientLinks(sent) : null,
      sent.passphrase ? generatedPassphrase(sent.passphrase) : null,
      withPass ? h("p", { class: "warn" }, PASSPHRASE_SEPARATELY) : null,
      sent.history_error
        ? h("p", { class: "warn", role: "alert" }, `This link was not saved to your history (${sent.history_error}). Copy it now.`)
        : null,
      h("blockquote", { class: "muted" }, INSTRUCTIONS),
      again,
    ),
  );
  copy.focus();
  return {
    done() {
      upload.dataset.state = "done";
      uploadNote.className = "ok";
      uploadNote.textContent = UPLOADED_NOTE;
    },
    failed(why) {
      upload.dataset.state = "failed";
      uploadNote.className = "error";
      uploadNote.setAttribute("role", "alert");
      uploadNote.setAttribute("data-testid", "upload-failed");
      uploadNote.textContent = uploadFailedNote(why);
    },
  };
}

