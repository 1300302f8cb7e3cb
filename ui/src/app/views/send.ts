/** The Send view: drop zone or text, expiry, label, passphrase -> the link, its QR code, on the clipboard for a while. */
import { h, passphraseField, policyFields, progressBar, show, ttlSelect, when } from "../../dom";
import { t } from "../../i18n";
import {
  ANSWER_SENT,
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
    { class: "drop", testid: "drop-zone", tabindex: 0, role: "group", "aria-label": t("app.send.drop_label") },
    h("p", { class: "drop-title" }, t("app.send.drop")),
  );
  const list = h("ul", { class: "picked", "aria-label": t("app.send.files") });
  const pickFiles = h("button", { type: "button" }, t("app.send.choose_files"));
  const pickFolder = h("button", { type: "button" }, t("app.send.choose_folder"));
  zone.append(h("div", { class: "row center" }, pickFiles, pickFolder), list);
  const renderList = () => {
    list.replaceChildren(
      ...state.draft.paths.map((p, i) => {
        const rm = h("button", { type: "button", class: "link", "aria-label": t("app.send.remove_path", { path: p }) }, t("app.send.remove"));
        rm.addEventListener("click", () => {
          state.draft.paths.splice(i, 1);
          renderList();
        });
        return h("li", { testid: "picked-file" }, h("span", {}, p), rm);
      }),
    );
    text.disabled = state.draft.paths.length > 0;
    text.placeholder = state.draft.paths.length ? t("app.send.sending_files") : t("send.placeholder");
  };
  const add = (paths: string[]) => {
    for (const p of paths) if (!state.draft.paths.includes(p)) state.draft.paths.push(p);
    renderList();
  };
  pickFiles.addEventListener("click", async () => add(await api.pickFiles(false)));
  pickFolder.addEventListener("click", async () => add(await api.pickFiles(true)));
  state.dropTarget = { add, zone };

  const text = h("textarea", { id: "secret", rows: 4, testid: "secret-input", placeholder: t("send.placeholder"), autofocus: true });
  const label = h("input", { id: "label", type: "text", placeholder: t("app.send.label_placeholder"), testid: "label" });
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
      again.retype ? t("app.send.again_text", { label: again.label }) : t("app.send.again_files", { label: again.label }),
    );
  }
  // Answering a request: the secret goes to the person who asked, so nothing here applies but the expiry.
  const answerTo = state.draft.answerTo;
  let answering: HTMLElement | null = null;
  if (answerTo) {
    const own = h("button", { type: "button", class: "link" }, t("app.send.own_instead"));
    own.addEventListener("click", () => {
      state.draft.answerTo = null;
      nav("send");
    });
    answering = h("div", {}, h("p", { class: "warn", role: "status", testid: "answering-note" }, t("app.send.answering")), own);
  }
  const status = h("div", { class: "status", role: "status" });
  const create = h("button", { type: "submit", class: "primary", testid: "create" }, answerTo ? t("answer.send") : SEND_TITLE);
  const ownLink = answerTo
    ? []
    : [
        rules.el,
        h("label", { for: "recipients" }, t("send.recipients")),
        recipients,
        h("label", { for: "pass" }, t("send.passphrase")),
        passRow,
        h("p", { class: "muted hint" }, PASSPHRASE_HINT),
      ];
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "send-title" },
    h("h1", { id: "send-title" }, answerTo ? t("app.send.answer_title") : t("app.send.title")),
    answering,
    againNote,
    zone,
    h("label", { for: "secret" }, t("app.send.or_secret")),
    text,
    h(
      "div",
      { class: "grid2" },
      h("div", {}, h("label", { for: "ttl" }, t("send.expires_after")), ttl),
      h("div", {}, h("label", { for: "label" }, t("app.send.label")), label),
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
    const bar = progressBar(t("app.send.progress"));
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
  const again = h("button", { type: "button" }, t("app.send.something_else"));
  again.addEventListener("click", () => nav("send"));
  show(
    root,
    h(
      "section",
      { class: "card", testid: "answered" },
      h("h1", {}, t("app.send.answered_title")),
      h("p", {}, ANSWER_SENT),
      h("p", { class: "muted" }, t("app.send.answered_until", { when: when(sent.expires_at) })),
      sent.history_error ? h("p", { class: "warn", role: "alert" }, t("app.send.answer_not_kept", { why: errorText(sent.history_error) })) : null,
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
    h("p", {}, t("app.send.links", { count: all.length })),
    h(
      "ol",
      { testid: "recipient-links" },
      ...all.map((link, i) => {
        const copy = h("button", { type: "button" }, t("secret.copy"));
        copy.addEventListener("click", async () => {
          await api.copy(link, sent.clear_after_secs || null);
          note.textContent = copiedText(t("send.link_n", { n: i + 1 }), sent.clear_after_secs);
        });
        const field = h("input", { readonly: true, value: link, class: "mono", "aria-label": t("send.link_for", { n: i + 1 }) });
        return h("li", { testid: "recipient-link" }, field, copy);
      }),
    ),
    note,
  );
}

/** The passphrase the policy required and the app generated: shown once, here, with its own copy button. */
function generatedPassphrase(passphrase: string): HTMLElement {
  const field = h("input", { readonly: true, value: passphrase, testid: "generated-passphrase", class: "mono", "aria-label": t("send.generated_label") });
  const note = h("span", { class: "ok", role: "status" });
  const copy = h("button", { type: "button" }, t("app.send.copy_passphrase"));
  copy.addEventListener("click", async () => {
    await api.copy(passphrase, 60);
    note.textContent = copiedText(t("app.send.passphrase"), 60);
  });
  return h("div", { class: "generated" }, h("label", {}, t("app.send.generated")), h("div", { class: "row" }, field, copy), note);
}

/** A shown link's upload: it ends stored or failed. */
interface Upload {
  done(): void;
  failed(why: string): void;
}

function sentView(sent: Sent, withPass: boolean, progress: HTMLElement): Upload {
  const link = h("input", { readonly: true, value: sent.link, testid: "link", "aria-label": t("send.link_label"), class: "mono" });
  const note = h("p", { class: "ok", role: "status", testid: "copied" }, sent.copied ? copiedText(t("send.link"), sent.clear_after_secs) : "");
  state.clipboardNote = note;
  const copy = h("button", { type: "button", class: "primary", testid: "copy" }, t("send.copy_link"));
  copy.addEventListener("click", async () => {
    await api.copy(sent.link, sent.clear_after_secs || null);
    note.textContent = copiedText(t("send.link"), sent.clear_after_secs);
  });
  const copyInstr = h("button", { type: "button" }, t("app.send.copy_instructions"));
  copyInstr.addEventListener("click", async () => {
    await api.copy(`${sent.link}\n\n${INSTRUCTIONS}`, sent.clear_after_secs || null);
    note.textContent = copiedText(t("app.send.link_and_instructions"), sent.clear_after_secs);
  });
  const qr = h("img", { testid: "qr", class: "qr", alt: t("app.send.qr"), src: `data:image/svg+xml;base64,${btoa(sent.qr_svg)}` });
  const again = h("button", { type: "button" }, t("app.send.something_else"));
  again.addEventListener("click", () => nav("send"));
  const uploadNote = h("p", { class: "warn", role: "status", testid: "upload-note" }, UPLOADING_NOTE);
  const upload = h("div", { class: "upload", testid: "upload", "data-state": "uploading" }, progress, uploadNote);
  show(
    root,
    h(
      "section",
      { class: "card", "aria-labelledby": "sent-title" },
      h("h1", { id: "sent-title" }, t("app.send.ready")),
      h("div", { class: "sent" }, h("div", { class: "sent-main" }, link, h("div", { class: "row" }, copy, copyInstr), note), qr),
      h("p", {}, t("app.send.opens_once", { label: sent.label, when: when(sent.expires_at) })),
      upload,
      sent.more.length ? recipientLinks(sent) : null,
      sent.passphrase ? generatedPassphrase(sent.passphrase) : null,
      withPass ? h("p", { class: "warn" }, PASSPHRASE_SEPARATELY) : null,
      sent.history_error
        ? h("p", { class: "warn", role: "alert" }, t("app.send.not_kept", { why: errorText(sent.history_error) }))
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

