/**
 * The manage page (`/m/<id>#<manage token>`): the web sender's view of a link it made, with the manage token from the
 * fragment (cleared from the address bar at once, like a link's key). Shows the state and when the link was opened,
 * follows it while the page is open, and revokes it.
 */
import { errorCard, facts, h, show, when } from "./dom";
import { idFromPath, tokenFromFragment } from "./link";
import { ApiError, revoke, status, type LinkStatus } from "./relay";
import { CLIENT_TEXT, plural, STATE_TEXT } from "./text";

/** How often an open manage page asks the relay again. */
const FOLLOW_MS = 10_000;

export async function manage(root: HTMLElement) {
  let id: string;
  let token: string;
  try {
    id = idFromPath(location.pathname, "m");
    token = tokenFromFragment(location.hash);
  } catch {
    return errorCard(root, "This manage link is not complete", "Copy the whole manage link, including the part after #.");
  } finally {
    history.replaceState(null, "", location.pathname);
  }
  const list = h("div");
  const state = h("p", { class: "state", testid: "manage-state", role: "status", "aria-live": "polite" });
  const note = h("p", { class: "status", role: "status" });
  const revokeBtn = h("button", { type: "button", testid: "revoke" }, "Revoke now");
  let timer: ReturnType<typeof setInterval> | undefined;
  let armed = false;
  let stopped = false;
  const render = (s: LinkStatus) => {
    state.textContent = STATE_TEXT[s.state] ?? s.state;
    state.dataset.state = s.state;
    const rows: [string, string][] = [
      ["Created", when(s.createdAt)],
      ["Expires unopened", when(s.expiresAt)],
    ];
    if (s.previews) rows.push(["Page fetched", plural(s.previews, "time") + " (link previews count too)"]);
    if (s.claimedAt) rows.push(["Opened", when(s.claimedAt) + (s.claimedVia ? ` ${CLIENT_TEXT[s.claimedVia] ?? ""}` : "")]);
    if (s.endedAt && s.state !== "consumed") rows.push(["Ended", when(s.endedAt)]);
    if (s.failedAttempts) rows.push(["Wrong passphrases", String(s.failedAttempts)]);
    list.replaceChildren(facts(rows, "manage-facts"));
    revokeBtn.hidden = !(s.state === "fresh" || s.state === "claimed");
  };
  const refresh = async () => {
    try {
      render(await status(id, token));
      note.textContent = "";
    } catch (e) {
      if (e instanceof ApiError && e.code === "gone") {
        stopped = true;
        clearInterval(timer);
        return errorCard(root, "Nothing here", "The relay knows no link with this manage link. Links are forgotten a week after they end.");
      }
      note.textContent = `Could not ask the relay: ${(e as Error).message}`;
    }
  };
  revokeBtn.addEventListener("click", async () => {
    // Two clicks, without a modal dialog: the first one says what the second does.
    if (!armed) {
      armed = true;
      revokeBtn.textContent = "Click again to revoke: nobody will be able to open it";
      setTimeout(() => {
        armed = false;
        revokeBtn.textContent = "Revoke now";
      }, 8000);
      return;
    }
    revokeBtn.disabled = true;
    try {
      render(await revoke(id, token));
      note.textContent = "Revoked: the content was destroyed.";
    } catch (e) {
      note.textContent = (e as Error).message;
    } finally {
      revokeBtn.disabled = false;
    }
  });
  show(root, h("section", { class: "card" }, h("h1", {}, "Your one-time link"), state, list, h("div", { class: "row" }, revokeBtn), note));
  await refresh();
  if (!stopped) timer = setInterval(() => {
    if (document.visibilityState === "visible") void refresh();
  }, FOLLOW_MS);
}
