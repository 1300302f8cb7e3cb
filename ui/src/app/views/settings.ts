/** The Settings view: which relay, which certificate to trust, how long a copied link stays on the clipboard. */
import { h, show } from "../../dom";
import { languageSwitcher, t } from "../../i18n";
import { duration } from "../../text";
import { api, errorText } from "../api";
import { RELOADED_TO, root } from "../state";

/** How long a copied link stays on the clipboard: the choices, in seconds (0: never). */
const CLEAR_CHOICES = [30, 120, 600, 0];

const clearText = (secs: number) => (secs === 0 ? t("app.settings.never") : t("app.settings.after", { time: duration(secs) }));

export async function settingsView() {
  const s = await api.getSettings();
  const relay = h("input", { id: "relay", type: "url", value: s.relay_url, testid: "relay-url", class: "mono" });
  const ca = h("input", { id: "ca", type: "text", value: s.ca_path ?? "", testid: "relay-ca", class: "mono" });
  const clear = h("select", { id: "clear", testid: "link-clear" });
  const choices = CLEAR_CHOICES.includes(s.link_clear_secs) ? CLEAR_CHOICES : [...CLEAR_CHOICES, s.link_clear_secs];
  for (const secs of choices) clear.append(h("option", { value: secs, selected: secs === s.link_clear_secs }, clearText(secs)));
  const status = h("p", { class: "status", role: "status" });
  const save = h("button", { type: "submit", class: "primary" }, t("app.settings.save"));
  const form = h(
    "form",
    { class: "card" },
    h("h1", {}, t("app.settings.title")),
    h("label", { for: "relay" }, t("app.settings.relay")),
    relay,
    h("label", { for: "ca" }, t("app.settings.ca")),
    ca,
    h("label", { for: "clear" }, t("app.settings.clear")),
    clear,
    save,
    status,
    // A new language applies at once: the window reloads in it, back on this view.
    languageSwitcher(() => sessionStorage.setItem(RELOADED_TO, "settings")),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api.setSettings({ relay_url: relay.value.trim(), ca_path: ca.value.trim() || null, link_clear_secs: Number(clear.value) });
      status.textContent = t("app.settings.saved");
    } catch (e) {
      status.textContent = errorText(e);
      status.setAttribute("data-testid", "error");
    }
  });
  show(root, form);
}

