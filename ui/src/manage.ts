/**
 * The manage page (`/m/<id>#<manage token>`): the web sender's view of a link it made, with the manage token from the
 * fragment (cleared from the address bar at once, like a link's key). Shows the state and when the link was opened,
 * follows it while the page is open, and revokes it.
 */
import { errorCard, facts, h, show, when } from "./dom";
import { idFromPath, tokenFromFragment } from "./link";
import { ApiError, revoke, status, type LinkStatus } from "./relay";
import { t } from "./i18n";
import { CLIENT_TEXT, STATE_TEXT } from "./text";

/** How often an open manage page asks the relay again. */
const FOLLOW_MS = 10_000;

export async function manage(root: HTMLElement) {
  let id: string;
  let token: string;
  try {
    id = idFromPath(location.pathname, "m");
    token = tokenFromFragment(location.hash);
  } catch {
    return errorCard(root, t("manage.incomplete_title"), t("manage.incomplete"));
  } finally {
    history.replaceState(null, "", location.pathname);
  }
  const list = h("div");
  const state = h("p", { class: "state", testid: "manage-state", role: "status", "aria-live": "polite" });
  const note = h("p", { class: "status", role: "status" });
  const revokeBtn = h("button", { type: "button", testid: "revoke" }, t("manage.revoke"));
  let timer: ReturnType<typeof setInterval> | undefined;
  let armed = false;
  let stopped = false;
  const render = (s: LinkStatus) => {
    state.textContent = STATE_TEXT[s.state] ?? s.state;
    state.dataset.state = s.state;
    const rows: [string, string][] = [
      [t("manage.created"), when(s.createdAt)],
      [t("manage.expires"), when(s.expiresAt)],
    ];
    if (s.previews) rows.push([t("manage.fetched"), t("manage.fetched_times", { count: s.previews })]);
    if (s.claimedAt) rows.push([t("manage.opened"), when(s.claimedAt) + (s.claimedVia ? ` ${CLIENT_TEXT[s.claimedVia] ?? ""}` : "")]);
    if (s.endedAt && s.state !== "consumed") rows.push([t("manage.ended"), when(s.endedAt)]);
    if (s.failedAttempts) rows.push([t("manage.wrong_passphrases"), String(s.failedAttempts)]);
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
        return errorCard(root, t("gone.title"), t("manage.unknown"));
      }
      note.textContent = t("manage.ask_failed", { why: (e as Error).message });
    }
  };
  revokeBtn.addEventListener("click", async () => {
    // Two clicks, without a modal dialog: the first one says what the second does.
    if (!armed) {
      armed = true;
      revokeBtn.textContent = t("manage.revoke_confirm");
      setTimeout(() => {
        armed = false;
        revokeBtn.textContent = t("manage.revoke");
      }, 8000);
      return;
    }
    revokeBtn.disabled = true;
    try {
      render(await revoke(id, token));
      note.textContent = t("manage.revoked");
    } catch (e) {
      note.textContent = (e as Error).message;
    } finally {
      revokeBtn.disabled = false;
    }
  });
  show(root, h("section", { class: "card" }, h("h1", {}, t("send.your_link")), state, list, h("div", { class: "row" }, revokeBtn), note));
  await refresh();
  if (!stopped) timer = setInterval(() => {
    if (document.visibilityState === "visible") void refresh();
  }, FOLLOW_MS);
}
