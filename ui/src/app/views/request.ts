/** The Request view: ask someone for a secret. The link carries only a public key; what they send is encrypted to
 * this app's key (kept in the keychain) and shows up in the History, where it opens once. */
import { h, show, ttlSelect, when } from "../../dom";
import { t } from "../../i18n";
import { api, errorText, type Asked } from "../api";
import { nav, root } from "../state";

export function requestView() {
  const label = h("input", { id: "request-label", type: "text", placeholder: t("app.request.label_placeholder"), testid: "request-label" });
  const ttl = ttlSelect();
  const answers = h("input", { id: "request-answers", type: "number", min: 1, max: 20, value: 1, testid: "request-answers" });
  const status = h("div", { class: "status", role: "status" });
  const ask = h("button", { type: "submit", class: "primary", testid: "ask" }, t("app.request.ask"));
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "request-title" },
    h("h1", { id: "request-title" }, t("app.request.title")),
    h("p", {}, t("app.request.hint")),
    h(
      "div",
      { class: "grid2" },
      h("div", {}, h("label", { for: "ttl" }, t("app.request.ttl")), ttl),
      h("div", {}, h("label", { for: "request-label" }, t("app.request.label")), label),
    ),
    h("label", { for: "request-answers" }, t("app.request.answers")),
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
  const link = h("input", { readonly: true, value: asked.link, testid: "request-link", "aria-label": t("app.request.link"), class: "mono" });
  const note = h("p", { class: "ok", role: "status" }, asked.copied ? t("app.request.copied") : "");
  const copy = h("button", { type: "button", class: "primary", testid: "copy" }, t("send.copy_link"));
  copy.addEventListener("click", async () => {
    await api.copy(asked.link);
    note.textContent = t("app.request.copied");
  });
  const qr = h("img", { testid: "qr", class: "qr", alt: t("app.request.qr"), src: `data:image/svg+xml;base64,${btoa(asked.qr_svg)}` });
  const history = h("button", { type: "button" }, t("app.request.to_history"));
  history.addEventListener("click", () => nav("history"));
  show(
    root,
    h(
      "section",
      { class: "card", "aria-labelledby": "asked-title" },
      h("h1", { id: "asked-title" }, t("app.request.ready")),
      h("div", { class: "sent" }, h("div", { class: "sent-main" }, link, h("div", { class: "row" }, copy), note), qr),
      h("p", {}, t("app.request.made", { label: asked.label, when: when(asked.expires_at) })),
      asked.history_error
        ? h("p", { class: "warn", role: "alert" }, t("app.request.not_kept", { why: errorText(asked.history_error) }))
        : null,
      history,
    ),
  );
  copy.focus();
}
