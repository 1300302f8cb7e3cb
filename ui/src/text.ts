/**
 * User-facing text shared by the browser page and the app, in one place so that both say the same thing the same way.
 * Every text comes from the i18n layer (./i18n.ts, translations in ./locales), which is initialised before this
 * module's constants are evaluated.
 */
import { MAX_TEXT } from "./container";
import { t } from "./i18n";

const table = (prefix: string, keys: string[]): Record<string, string> =>
  Object.fromEntries(keys.map((k) => [k, t(`${prefix}.${k}`)]));

/** What a link's state means to its sender. */
export const STATE_TEXT = table("state", ["fresh", "claimed", "consumed", "expired", "revoked", "burned", "upload_failed", "asking", "unknown"]);

/** How the sender's event log names the kind of client that opened a link. */
export const CLIENT_TEXT = table("client", ["app", "browser", "cli"]);

/** How the sender's event log names the end of a link. */
export const ENDED_TEXT = table("ended", ["consumed", "expired", "revoked", "burned", "upload_failed"]);

/** While a live link's upload runs: the link works already, and the app must stay open. */
export const UPLOADING_NOTE = t("upload.running");
export const UPLOADED_NOTE = t("upload.done");
export const uploadFailedNote = (why: string) => t("upload.failed", { why });

export const GONE_TEXT = t("gone.text");

export const PASSPHRASE_HINT = t("passphrase.hint");

/** What to tell a recipient with the link. */
export const INSTRUCTIONS = t("share.instructions");

export const SHARE_HINT = t("share.hint", { instructions: INSTRUCTIONS });

export const PASSPHRASE_SEPARATELY = t("passphrase.separately");

export const PROGRESS_DOWNLOAD = t("progress.download");

export const CLIPBOARD_CLEARED = t("clipboard.cleared");

export const NO_LONGER_WORKS = t("link.no_longer_works");

/** After copying `what` (already in the language in use): where it is and when it leaves the clipboard (`secs` 0:
 * never). */
export function copiedText(what: string, secs: number): string {
  if (!secs) return t("clipboard.copied", { what });
  return t("clipboard.copied_until", { what, after: duration(secs) });
}

/** A span of seconds, in whole minutes where it is some. */
export function duration(secs: number): string {
  return secs % 60 === 0 ? t("time.minutes", { count: secs / 60 }) : t("time.seconds", { count: secs });
}

/** A wrong passphrase at a claim: nothing burned, unless it was the last attempt. */
export function wrongPassphrase(attemptsLeft: number): string {
  return attemptsLeft === 0 ? t("passphrase.wrong_last") : t("passphrase.wrong", { count: attemptsLeft });
}

export const MANAGE_HINT = t("manage.hint");

export const SEND_TITLE = t("send.create");

export const ABOUT_TO_OPEN = t("open.about_to");

export const PASSPHRASE_FROM_SENDER = t("passphrase.from_sender");

/** Why a text cannot be sent as a text secret, or null when it can. */
export function textTooLong(text: string): string | null {
  const n = new TextEncoder().encode(text).length;
  if (n <= MAX_TEXT) return null;
  return t("send.text_too_long", { size: (n / 2 ** 20).toFixed(1), max: MAX_TEXT / 2 ** 20 });
}

/** The answer page: what happens to what is typed there. */
export const ANSWER_HINT = t("answer.hint");
export const ANSWER_SENT = t("answer.sent");
export const ANSWER_CLOSED = t("answer.closed");
