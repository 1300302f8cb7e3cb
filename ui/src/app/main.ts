/**
 * The desktop app's window: Send, Open, History and Settings (one module each under ./views), the state they share
 * (./state.ts), and here the wiring of the events Rust sends. All calls to Rust go through ./api.ts.
 */
import "../style.css";
import "./app.css";
import { t } from "../i18n";
import { CLIPBOARD_CLEARED } from "../text";
import { api } from "./api";
import { nav, register, RELOADED_TO, state } from "./state";
import { historyView } from "./views/history";
import { openView } from "./views/open";
import { requestView } from "./views/request";
import { sendView } from "./views/send";
import { settingsView } from "./views/settings";

// What Rust says itself (notifications, names of unnamed links), in this language; `{…}` is for Rust to fill.
const fill = { label: "{label}", count: "{count}", i: "{i}", n: "{n}" };
void api.setWords({
  secret_text: t("app.words.secret_text"),
  file: t("app.words.file"),
  items: t("app.words.items", fill),
  a_secret: t("app.words.a_secret"),
  recipient: t("app.words.recipient", fill),
  opened: t("app.words.opened", fill),
  answered_one: t("app.words.answered", { ...fill, count: 1 }),
  answered_other: t("app.words.answered", { ...fill, count: 2, n: "{count}" }),
});

register({ send: sendView, request: requestView, open: openView, history: historyView, settings: settingsView });

void api.onDrop((paths, over) => {
  if (!state.dropTarget || state.current !== "send") {
    if (paths.length) {
      nav("send");
      state.dropTarget?.add(paths);
    }
    return;
  }
  state.dropTarget.zone.classList.toggle("over", over);
  if (paths.length) state.dropTarget.add(paths);
});
void api.onClipboardCleared(() => {
  if (state.clipboardNote?.isConnected) state.clipboardNote.textContent = CLIPBOARD_CLEARED;
});
void api.onHistoryChanged(() => {
  if (state.current === "history") state.redrawHistory?.();
});
void api.onOpenLink((link) => {
  state.pendingLink = link;
  nav("open");
});
const back = sessionStorage.getItem(RELOADED_TO);
sessionStorage.removeItem(RELOADED_TO);
if (back === "settings") nav("settings");
else {
  nav("send");
  void api.initialLink().then((l) => {
    if (l) {
      state.pendingLink = l;
      nav("open");
    }
  });
}
