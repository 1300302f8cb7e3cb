/** The History view: the links this person sent, their live states from the relays, copy, revoke, forget. */
import { h, show, when } from "../../dom";
import { t } from "../../i18n";
import { CLIENT_TEXT, ENDED_TEXT, STATE_TEXT } from "../../text";
import { api, errorText, type HistoryEntry } from "../api";
import { showOpened } from "../opened";
import { nav, root, state } from "../state";

/** The link's event log, oldest first: what the relay counted and when things happened (never who, never where). */
function eventLog(e: HistoryEntry): HTMLElement {
  const item = (event: string, text: string) => h("li", { "data-event": event }, text);
  const items = [item("created", t("app.history.created", { when: when(e.created_at) }))];
  if (e.log.previews > 0) items.push(item("previewed", t("app.history.previewed", { count: e.log.previews })));
  if (e.log.wrong_passphrases > 0) {
    items.push(item("wrong_passphrase", t("app.history.wrong_passphrases", { count: e.log.wrong_passphrases })));
  }
  if (e.claimed_at) {
    const at = when(e.claimed_at);
    const via = e.log.claimed_via;
    items.push(item("claimed", via ? t("app.history.opened_via", { when: at, via: CLIENT_TEXT[via] }) : t("app.history.opened", { when: at })));
  }
  if (e.ended_at && ENDED_TEXT[e.state]) items.push(item(e.state, t("app.history.ended", { what: ENDED_TEXT[e.state], when: when(e.ended_at) })));
  return h("ol", { class: "events muted", testid: "history-events", "aria-label": t("app.history.event_log") }, ...items);
}

/** A request's answers, each with its own Open button while it can be opened (once, here). */
function answersOf(e: HistoryEntry, status: HTMLElement): HTMLElement {
  const r = e.request!;
  const waiting = r.answers.filter((a) => a.state === "fresh" || a.state === "claimed").length;
  const head = h(
    "p",
    { testid: "answer-count" },
    r.answers.length
      ? t("app.history.answers", { count: r.answers.length, asked: r.asked, waiting })
      : t("app.history.no_answer", { count: r.asked }),
  );
  const items = r.answers.map((a, i) => {
    const what = a.state === "fresh" ? t("app.history.answer_unopened") : (STATE_TEXT[a.state] ?? a.state);
    const li = h("li", { testid: "answer", "data-state": a.state }, `${t("app.history.answer", { n: i + 1, state: what })} `);
    if (a.state === "fresh" || a.state === "claimed") {
      const open = h("button", { type: "button", class: "primary", testid: "open-answer" }, t("app.history.open_answer"));
      open.addEventListener("click", async () => {
        open.disabled = true;
        try {
          const o = await api.openAnswer(e.id, a.id, null);
          // Shown on its own card: the list below re-renders as states change, and must not take the secret away.
          const back = h("button", { type: "button" }, t("app.history.back"));
          back.addEventListener("click", () => nav("history"));
          const title = t("app.history.answer_title", { n: i + 1, label: e.label });
          showOpened(o, { filesTitle: title, footer: t("app.history.answer_footer", { title }) }, back);
        } catch (err) {
          open.disabled = false;
          status.textContent = errorText(err);
        }
      });
      li.append(open);
    }
    return li;
  });
  return h("div", { class: "answers" }, head, h("ol", {}, ...items));
}

export function historyView() {
  const list = h("ul", { class: "history", testid: "history" });
  const status = h("div", { class: "status", role: "status" });
  const render = (entries: HistoryEntry[]) => {
    if (!entries.length) {
      list.replaceChildren(h("li", { class: "muted" }, t("app.history.empty")));
      return;
    }
    list.replaceChildren(
      ...entries.map((e) => {
        const opened = e.claimed_at ? t("app.history.opened_at", { when: when(e.claimed_at) }) : t("state.consumed");
        const badge = h("span", { class: `badge ${e.state}`, testid: "history-state" }, e.state === "claimed" || e.state === "consumed" ? opened : STATE_TEXT[e.state]);
        const actions = h("div", { class: "row" });
        if (e.link) {
          const c = h("button", { type: "button" }, t("send.copy_link"));
          c.addEventListener("click", async () => {
            await api.copy(e.link!);
            status.textContent = t("app.history.link_copied");
          });
          actions.append(c);
        }
        if (e.state === "fresh" || e.state === "asking") {
          const r = h("button", { type: "button", testid: "revoke" }, e.state === "asking" ? t("app.history.stop_answers") : t("app.history.revoke"));
          r.addEventListener("click", async () => {
            try {
              await api.revoke(e.id);
              status.textContent = t("app.history.revoked", { label: e.label });
            } catch (err) {
              status.textContent = errorText(err);
            }
            render(await api.history());
          });
          actions.append(r);
        }
        // Send again: a new link for the same files (or the text typed again); the old one is revoked if still live.
        const again = h("button", { type: "button", testid: "send-again" }, t("app.history.send_again"));
        again.addEventListener("click", async () => {
          try {
            const d = await api.sendAgain(e.id);
            state.draft = {
              answerTo: null,
              paths: d.paths,
              again: { ttl_secs: d.ttl_secs, policy: d.policy, allow: d.allow, label: d.label, replaces: d.replaces, retype: d.paths.length === 0 },
            };
            nav("send");
          } catch (err) {
            status.textContent = errorText(err);
          }
        });
        if (!e.request) actions.append(again);
        const f = h("button", { type: "button", class: "link" }, t("app.history.forget"));
        f.addEventListener("click", async () => {
          await api.forget(e.id);
          render(await api.history());
        });
        actions.append(f);
        return h(
          "li",
          { class: "entry", testid: "history-row", "data-id": e.id, "data-state": e.state },
          h("div", { class: "entry-main" }, h("strong", {}, e.label), badge),
          e.state === "fresh" || e.state === "claimed" ? h("div", { class: "muted" }, t("app.history.expires", { when: when(e.expires_at) })) : null,
          e.state === "asking" ? h("div", { class: "muted" }, t("app.history.answers_until", { when: when(e.expires_at) })) : null,
          e.request ? answersOf(e, status) : eventLog(e),
          actions,
        );
      }),
    );
  };
  show(root, h("section", { class: "card" }, h("h1", {}, t("app.history.title")), list, status));
  const unavailable = (e: unknown) =>
    list.replaceChildren(h("li", { testid: "error", role: "alert" }, t("app.history.unavailable", { why: errorText(e) })));
  state.redrawHistory = () => void api.history().then(render, unavailable);
  void api.history().then(render, unavailable);
  void api.refreshHistory().then(render, () => {});
}

