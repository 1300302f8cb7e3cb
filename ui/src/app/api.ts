/** The one place the app's UI talks to Rust: `invoke()` of the commands in src-tauri/commands.rs, and their events.
 * Errors arrive as `{code, message, text, vars}`; the UI branches on `code` and says `text` in its language. */
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { has, t } from "../i18n";

export interface CmdError {
  code: string;
  /** The English sentence: shown only if this language has no `text`. */
  message: string;
  /** The sentence's key under `apperror.` (src-tauri/error.rs `Text`), and what fills it. */
  text?: string;
  vars?: Record<string, unknown>;
}

export function isCmdError(e: unknown): e is CmdError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** What went wrong, in the language in use. */
export function errorText(e: unknown): string {
  if (isCmdError(e)) {
    const key = `apperror.${e.text}`;
    return e.text && has(key, e.vars) ? t(key, e.vars) : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

/** What Rust says itself (src-tauri/words.rs), as templates with `{name}` placeholders for it to fill. */
export interface Words {
  secret_text: string;
  file: string;
  items: string;
  a_secret: string;
  recipient: string;
  opened: string;
  answered_one: string;
  answered_other: string;
}

export interface Settings {
  relay_url: string;
  ca_path: string | null;
  link_clear_secs: number;
}
export interface Sent {
  link: string;
  id: string;
  expires_at: number;
  label: string;
  qr_svg: string;
  copied: boolean;
  /** Seconds until the app clears the link from the clipboard (0: never). */
  clear_after_secs: number;
  history_error: CmdError | null;
  /** The passphrase generated for a policy that requires one. */
  passphrase: string | null;
  /** The other recipients' links of the same upload. */
  more: { link: string; id: string; qr_svg: string }[];
  /** An answer to a request: nothing to share (`link` is the request it answered). */
  answered: boolean;
}
/** A request for a secret just made. */
export interface Asked {
  link: string;
  id: string;
  expires_at: number;
  label: string;
  qr_svg: string;
  copied: boolean;
  history_error: CmdError | null;
}
export interface PeekInfo {
  size: number;
  expires_at: number;
  passphrase: boolean;
  key_matches: boolean;
}
export type Opened = { kind: "text"; text: string } | { kind: "files"; saved: string[]; files: number; bytes: number };
export interface HistoryEntry {
  id: string;
  label: string;
  created_at: number;
  expires_at: number;
  link: string | null;
  state: "fresh" | "claimed" | "consumed" | "expired" | "revoked" | "burned" | "upload_failed" | "asking" | "unknown";
  claimed_at: number | null;
  ended_at: number | null;
  log: { previews: number; wrong_passphrases: number; claimed_via: "app" | "browser" | "cli" | null };
  /** A request for a secret: how many answers it takes, and those seen (each opens once). */
  request: { asked: number; answers: { id: string; state: HistoryEntry["state"] }[] } | null;
}
export interface Progress {
  op: "send" | "open";
  done: number;
  total: number;
}

export const api = {
  getSettings: () => invoke<Settings>("get_settings"),
  setSettings: (settings: Settings) => invoke<Settings>("set_settings", { settings }),
  send: (req: {
    text: string | null;
    paths: string[];
    ttl_secs: number;
    passphrase: string | null;
    label: string | null;
    policy: string | null;
    allow: string[];
    replaces: string | null;
    recipients: number;
    /** A request link to answer. */
    to?: string | null;
  }) =>
    invoke<Sent>("send", { req }),
  ask: (req: { ttl_secs: number; answers: number; label: string | null }) => invoke<Asked>("ask_secret", { req }),
  openAnswer: (id: string, answer: string, outDir: string | null) => invoke<Opened>("open_answer", { id, answer, outDir }),
  peek: (link: string) => invoke<PeekInfo>("peek", { link }),
  open: (link: string, passphrase: string | null, outDir: string | null) =>
    invoke<Opened>("open", { link, passphrase, outDir }),
  history: () => invoke<HistoryEntry[]>("history"),
  refreshHistory: () => invoke<HistoryEntry[]>("refresh_history"),
  revoke: (id: string) => invoke<HistoryEntry>("revoke", { id }),
  forget: (id: string) => invoke<boolean>("forget", { id }),
  sendAgain: (id: string) =>
    invoke<{ paths: string[]; ttl_secs: number; policy: string | null; allow: string[]; label: string; replaces: string }>("send_again", { id }),
  copy: (text: string, clearAfterSecs: number | null = null) => invoke<void>("copy_text", { text, clearAfterSecs }),
  generatePassphrase: () => invoke<string>("generate_passphrase"),
  initialLink: () => invoke<string | null>("initial_link"),
  defaultFolder: () => invoke<string>("default_folder"),
  setWords: (words: Words) => invoke<void>("set_words", { words }),

  /** The system's dialog, run by Rust: only what the person picks (or drops) may be sent. */
  pickFiles: (directory: boolean) => invoke<string[]>("pick_files", { directory }),
  /** Only the default folder or one the person picks may receive files. */
  pickFolder: () => invoke<string | null>("pick_folder"),

  onProgress: (f: (p: Progress) => void): Promise<UnlistenFn> => listen<Progress>("progress", (e) => f(e.payload)),
  /** A live link exists: shown at once while its upload goes on (`send` resolves when it is stored). */
  onLinkReady: (f: (sent: Sent) => void): Promise<UnlistenFn> => listen<Sent>("link-ready", (e) => f(e.payload)),
  onHistoryChanged: (f: () => void): Promise<UnlistenFn> => listen("history-changed", () => f()),
  onOpenLink: (f: (link: string) => void): Promise<UnlistenFn> => listen<string>("open-link", (e) => f(e.payload)),
  onClipboardCleared: (f: () => void): Promise<UnlistenFn> => listen("clipboard-cleared", () => f()),
  onDrop: (f: (paths: string[], over: boolean) => void): Promise<UnlistenFn> =>
    getCurrentWebview().onDragDropEvent((e) => {
      const p = e.payload;
      if (p.type === "drop") f(p.paths, false);
      else if (p.type === "enter" || p.type === "over") f([], true);
      else f([], false);
    }),
};
