/** The Request view: ask someone for a secret. The link carries only a public key; what they send is encrypted to
 * this app's key (kept in the keychain) and shows up in the History, where it opens once. */
import { h, show, ttlSelect, when } from "../../dom";
import { REQUEST_HINT, REQUEST_MADE } from "../../text";
import { api, errorText, type Asked } from "../api";
import { nav, root } from "../state";

export function requestView() {
  const label = h("input", { id: "request-label", type: "text", placeholder: "e.g. Sam's Wi-Fi password", testid: "request-label" });
  const ttl = ttlSelect();
  const answers = h("input", { id: "request-answers", type: "number", min: 1, max: 20, value: 1, testid: "request-answers" });
  const status = h("div", { class: "status", role: "status" });
  const ask = h("button", { type: "submit", class: "primary", testid: "ask" }, "Make a request link");
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "request-title" },
    h("h1", { id: "request-title" }, "Ask someone for a secret"),
    h("p", {}, REQUEST_HINT),
    h(
      "div",
      { class: "grid2" },
      h("div", {}, h("label", { for: "ttl" }, "Takes answers for"), ttl),
      h("div", {}, h("label", { for: "request-label" }, "What you ask for (your history's name for it)"), label),
    ),
    h("label", { for: "request-answers" }, "How many answers (each opens once)"),
    answers,
    h("div", { class: "actions" }, ask, status),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    ask.disabled = true;
    try {
      const asked = await api.ask({
        ttl_secs: Number(ttl.value),
        answers: Math.min(20, Math.max(1, Number(answers.value) || 1)),
        label: label.value || null,
      });
      askedView(asked);
    } catch (e) {
      ask.disabled = false;
      status.replaceChildren(h("p", { testid: "error", role: "alert" }, errorText(e)));
    }
  });
  show(root, form);
}

function askedView(asked: Asked) {
  const link = h("input", { readonly: true, value: asked.link, testid: "request-link", "aria-label": "The request link", class: "mono" });
  const note = h("p", { class: "ok", role: "status" }, asked.copied ? "Request link copied." : "");
  const copy = h("button", { type: "button", class: "primary", testid: "copy" }, "Copy link");
  copy.addEventListener("click", async () => {
    await api.copy(asked.link);
    note.textContent = "Request link copied.";
  });
  const qr = h("img", { testid: "qr", class: "qr", alt: "QR code of the request link", src: `data:image/svg+xml;base64,${btoa(asked.qr_svg)}` });
  const history = h("button", { type: "button" }, "Go to History");
  history.addEventListener("click", () => nav("history"));
  show(
    root,
    h(
      "section",
      { class: "card", "aria-labelledby": "asked-title" },
      h("h1", { id: "asked-title" }, "Your request link is ready"),
      h("div", { class: "sent" }, h("div", { class: "sent-main" }, link, h("div", { class: "row" }, copy), note), qr),
      h("p", {}, REQUEST_MADE(asked.label, when(asked.expires_at))),
      asked.history_error
        ? h("p", { class: "warn", role: "alert" }, `This request was not saved (${asked.history_error}); its answers cannot be opened here.`)
        : null,
      history,
    ),
  );
  copy.focus();
}
