/**
 * User-facing text shared by the browser page and the app, in one place so that both say the same thing the same way
 * (and so that one file is what a translation replaces).
 */
import { MAX_TEXT } from "./container";

/** What a link's state means to its sender. */
export const STATE_TEXT: Record<string, string> = {
  fresh: "Waiting to be opened",
  claimed: "Being opened",
  consumed: "Opened",
  expired: "Expired unopened",
  revoked: "Revoked",
  burned: "Burned after failed attempts",
  upload_failed: "Upload failed: it will not open",
  asking: "Waiting for answers",
  unknown: "No longer on the relay",
};

/** How the sender's event log names the kind of client that opened a link. */
export const CLIENT_TEXT: Record<string, string> = { app: "in the Burnlink app", browser: "in a browser", cli: "with the burnlink command" };

/** How the sender's event log names the end of a link. */
export const ENDED_TEXT: Record<string, string> = {
  consumed: "Received",
  expired: "Expired unopened",
  revoked: "Revoked",
  burned: "Burned after too many wrong passphrases",
  upload_failed: "Upload failed",
};

/** While a live link's upload runs: the link works already, and the app must stay open. */
export const UPLOADING_NOTE =
  "Keep Burnlink open until the upload is done. The link works already: whoever opens it now receives everything as it uploads.";
export const UPLOADED_NOTE = "Upload complete. You can close Burnlink; the link waits on the relay until it is opened or expires.";
export const uploadFailedNote = (why: string) =>
  `The upload failed (${why}). This link will not open; send it again.`;

export const GONE_TEXT =
  "This link is gone. It was already opened, it expired, it was revoked, or it never existed. Ask the sender for a new one if you still need it.";

export const PASSPHRASE_HINT = "Send the passphrase through another channel than the link: say it, or use another app.";

/** What to tell the recipient with the link (the app copies it along with the link on request). */
export const INSTRUCTIONS =
  "This link opens once. Open it only when you are ready to read it: after that it is gone, for you and for everyone else.";

export const SHARE_HINT = `Paste this with it: “${INSTRUCTIONS}”`;

export const PASSPHRASE_SEPARATELY = "Send the passphrase separately, not in the same message as the link.";

export const PROGRESS_DOWNLOAD = "Downloading and decrypting";

export const CLIPBOARD_CLEARED = "Clipboard cleared.";

export const NO_LONGER_WORKS = "This link no longer works.";

/** After copying `what`: where it is and when it leaves the clipboard (`secs` 0: never). */
export function copiedText(what: string, secs: number): string {
  if (!secs) return `${what} copied to the clipboard.`;
  const after = secs % 60 === 0 ? plural(secs / 60, "minute") : plural(secs, "second");
  return `${what} copied. Anyone with access to this device's clipboard can read it; it will be cleared in ${after}.`;
}

/** A wrong passphrase at a claim: nothing burned, unless it was the last attempt. */
export function wrongPassphrase(attemptsLeft: number): string {
  return attemptsLeft === 0
    ? "Wrong passphrase. That was the last attempt: the link has been destroyed."
    : `Wrong passphrase. Nothing was opened or burned; ${plural(attemptsLeft, "attempt")} left.`;
}

export const MANAGE_HINT =
  "Keep this manage link to yourself: it shows whether the link was opened and can revoke it. It cannot open the content.";

export const SEND_TITLE = "Create one-time link";

export const ABOUT_TO_OPEN =
  "You are about to view private content. It can be opened once: after you reveal it, this link stops working for everyone.";

export const PASSPHRASE_FROM_SENDER = "Passphrase (the sender gave it to you separately)";

/** Why a text cannot be sent as a text secret, or null when it can. */
export function textTooLong(text: string): string | null {
  const n = new TextEncoder().encode(text).length;
  if (n <= MAX_TEXT) return null;
  return `The text is ${(n / 2 ** 20).toFixed(1)} MiB, more than the ${MAX_TEXT / 2 ** 20} MiB a text secret may hold. Save it to a file and send the file instead.`;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The answer page: what happens to what is typed there. */
export const ANSWER_HINT =
  "What you enter is encrypted in this browser to the key in the link you were sent. Only the person who asked can open it, and only once; the relay cannot read it.";
export const ANSWER_SENT = "Only the person who asked can open it, once. There is no link to pass on: they will find it where they asked.";
export const ANSWER_CLOSED =
  "This request takes no more answers: it was answered already, it expired, or it was withdrawn. Ask the person for a new request link.";

/** The app's Request view. */
export const REQUEST_HINT =
  "You get a link to send to the person who has the secret. It carries only a public key, so it reveals nothing if it leaks. What they send is encrypted to a key that stays in this app's keychain; it appears in your History and opens once.";
export const REQUEST_MADE = (label: string, until: string) =>
  `Send this link to whoever should answer “${label}”. It takes answers until ${until}; you will be told when one arrives.`;
/** The Send view answering a request. */
export const ANSWERING_NOTE =
  "You are answering a request for a secret. It is encrypted here to the key of the person who asked; only they can open it, once. There is no link to pass on.";
/** The Open view, given a request link. */
export const REQUEST_LINK_NOTE =
  "This link asks you for a secret. Whatever you send is encrypted to the key of the person who asked; only they can open it, once.";
