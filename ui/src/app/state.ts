/**
 * The app window's shared state: which view is showing, and what outlives a view (the files picked to send, a link
 * waiting to be opened, where to say the clipboard was cleared). Views read and change it here and switch with
 * `nav`; no view imports another.
 */
import { h } from "../dom";
import { t } from "../i18n";

export type View = "send" | "request" | "open" | "history" | "settings";

/** A link of the history being sent again: its settings, and the id of the link the new one replaces. */
export interface Again {
  ttl_secs: number;
  policy: string | null;
  allow: string[];
  label: string;
  replaces: string;
  /** A text: the app never kept it, so the person types it again. */
  retype: boolean;
}

export const root = document.getElementById("app")!;

/** Where the window goes after it reloads itself (a new language), in sessionStorage: it outlives the reload only. */
export const RELOADED_TO = "burnlink.reloaded-to";
const tabs = document.getElementById("tabs")!;
tabs.setAttribute("aria-label", t("app.sections"));

export const state = {
  current: "send" as View,
  /** Files and folders picked or dropped, until they are sent; and, for "send again", the old link's settings. */
  draft: { paths: [] as string[], again: null as Again | null, answerTo: null as string | null },
  /** A link handed over by the system (a clicked burnlink:// link), for the Open view. */
  pendingLink: "",
  /** Where "Clipboard cleared." is said when Rust clears a copied link or secret. */
  clipboardNote: null as HTMLElement | null,
  /** The Send view's drop zone, while it shows. */
  dropTarget: null as { add: (p: string[]) => void; zone: HTMLElement } | null,
  /** Redraws the history list in place when a state changes (no new relay round trip). */
  redrawHistory: null as (() => void) | null,
};

let views: Record<View, () => void> | null = null;

/** The views, once, by main.ts. */
export function register(v: Record<View, () => void>) {
  views = v;
}

export function nav(view: View) {
  state.current = view;
  tabs.replaceChildren(
    ...(["send", "request", "open", "history", "settings"] as View[]).map((v) => {
      const b = h("button", { type: "button", class: "tab", "aria-current": v === view ? "page" : undefined, testid: `tab-${v}` }, t(`app.tab.${v}`));
      b.addEventListener("click", () => nav(v));
      return b;
    }),
  );
  views![view]();
}
