/** The Open view: paste a link -> what is known (never burns) -> Reveal -> the text, or the files saved. */
import { bytes, facts, h, progressBar, show, when } from "../../dom";
import { t } from "../../i18n";
import { ABOUT_TO_OPEN, GONE_TEXT, PASSPHRASE_FROM_SENDER, PROGRESS_DOWNLOAD } from "../../text";
import { api, errorText, isCmdError, type PeekInfo } from "../api";
import { showOpened } from "../opened";
import { nav, root, state } from "../state";

export function openView() {
  const input = h("input", { id: "open-link", type: "text", placeholder: "https://…/o/…#… or burnlink://o/…#…", testid: "open-input", class: "mono", autofocus: true, value: state.pendingLink });
  const info = h("div", { class: "info", "aria-live": "polite" });
  const pass = h("input", { id: "open-pass", type: "password", autocomplete: "off", testid: "passphrase" });
  const passRow = h("div", { hidden: true }, h("label", { for: "open-pass" }, PASSPHRASE_FROM_SENDER), pass);
  const folder = h("input", { id: "folder", type: "text", readonly: true, class: "mono", "aria-label": t("app.open.save_to") });
  const change = h("button", { type: "button" }, t("app.open.change"));
  change.addEventListener("click", async () => {
    const f = await api.pickFolder();
    if (f) folder.value = f;
  });
  void api.defaultFolder().then((d) => (folder.value = folder.value || d));
  const status = h("div", { class: "status", role: "status" });
  const reveal = h("button", { type: "submit", class: "primary", testid: "open" }, t("app.open.reveal"));
  let peeked: { link: string; info: PeekInfo } | null = null;
  let isGone = false; // Reveal stays off for a gone link until the link changes

  const doPeek = async (): Promise<PeekInfo | null> => {
    const link = input.value.trim();
    if (!link) return null;
    if (isRequestLink(link)) {
      // Not a link to open: someone asks for a secret. Offer to answer it.
      peeked = null;
      reveal.disabled = true;
      const answer = h("button", { type: "button", class: "primary", testid: "answer-request" }, t("app.open.answer_request"));
      answer.addEventListener("click", () => {
        state.pendingLink = "";
        state.draft = { paths: [], again: null, answerTo: link };
        nav("send");
      });
      info.replaceChildren(h("p", { testid: "request-note" }, t("app.open.request_note")), answer);
      return null;
    }
    if (peeked?.link === link) return peeked.info;
    try {
      const p = await api.peek(link);
      peeked = { link, info: p };
      info.replaceChildren(
        facts([
          [t("open.size"), t("open.about", { size: bytes(p.size) })],
          [t("open.expires"), when(p.expires_at)],
          [t("app.open.passphrase"), p.passphrase ? t("app.open.needed") : t("app.open.not_needed")],
        ]),
        h("p", {}, ABOUT_TO_OPEN),
      );
      passRow.hidden = !p.passphrase;
      if (!p.key_matches) info.append(h("p", { testid: "error", role: "alert" }, t("key.wrong")));
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
    h("h1", { id: "open-title" }, t("app.open.title")),
    h("label", { for: "open-link" }, t("send.link")),
    input,
    info,
    passRow,
    h("label", { for: "folder" }, t("app.open.saved_to")),
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
        status.replaceChildren(h("p", { testid: "error", role: "alert" }, t("open.enter_passphrase")));
        pass.focus();
        return;
      }
      const bar = progressBar(PROGRESS_DOWNLOAD);
      status.replaceChildren(bar.el);
      const un = await api.onProgress((e) => e.op === "open" && bar.set(e.done, e.total));
      try {
        const opened = await api.open(input.value.trim(), pass.value || null, folder.value || null);
        state.pendingLink = "";
        const done = h("button", { type: "button" }, t("app.open.done"));
        done.addEventListener("click", () => nav("open"));
        showOpened(opened, { filesTitle: t("open.saved"), footer: t("app.open.footer") }, done);
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
  if (state.pendingLink) void doPeek();
}

/** A request for a secret (`/r/<id>#age1…`, or `burnlink://r/…`), which is answered rather than opened. */
function isRequestLink(link: string): boolean {
  return /^(https:\/\/[^/]+\/r\/|burnlink:\/\/r\/)[A-Za-z0-9_-]{22}#age1/i.test(link);
}

function gone(where: HTMLElement) {
  where.replaceChildren(h("p", { testid: "gone", role: "alert", class: "gone" }, GONE_TEXT));
}


