/** The Settings view: which relay, which certificate to trust, how long a copied link stays on the clipboard. */
import { h, show } from "../../dom";
import { api, errorText } from "../api";
import { root } from "../state";

const CLEAR_CHOICES: [string, number][] = [
  ["After 30 seconds", 30],
  ["After 2 minutes", 120],
  ["After 10 minutes", 600],
  ["Never", 0],
];

export async function settingsView() {
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

