/** What an opened link (or a request's answer) held, on a card of its own: a text with Copy and Hide, or the files
 * saved and verified. Shared by the Open view and the History (no view imports another). */
import { bytes, h, secretCard, show } from "../dom";
import { t } from "../i18n";
import { copiedText } from "../text";
import { api, errorText, type Opened } from "./api";
import { root, state } from "./state";

/** Shows `opened`. `filesTitle` heads the files' card, `footer` goes under a text, `leave` is the way out. */
export function showOpened(opened: Opened, words: { filesTitle: string; footer: string }, leave: HTMLElement) {
  if (opened.kind === "text") {
    const { text } = opened;
    const copy = (note: HTMLElement) => {
      state.clipboardNote = note;
      void api.copy(text, 30).then(
        () => (note.textContent = copiedText(t("open.secret"), 30)),
        (e) => (note.textContent = errorText(e)),
      );
    };
    return show(root, secretCard(text, copy, words.footer, leave));
  }
  show(
    root,
    h(
      "section",
      { class: "card" },
      h("h1", {}, words.filesTitle),
      h("p", { testid: "saved" }, t("app.opened.saved", { count: opened.files, size: bytes(opened.bytes) })),
      h("ul", { class: "files" }, ...opened.saved.map((p) => h("li", { class: "mono" }, p))),
      leave,
    ),
  );
}
