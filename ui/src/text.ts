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
  unknown: "No longer on the relay",
};

export const GONE_TEXT =
  "This link is gone. It was already opened, it expired, it was revoked, or it never existed. Ask the sender for a new one if you still need it.";

export const PASSPHRASE_HINT = "Send the passphrase through another channel than the link: say it, or use another app.";

export const SHARE_HINT = "Paste this with it: “This link opens once. Don't click it before you are ready to read it.”";

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
