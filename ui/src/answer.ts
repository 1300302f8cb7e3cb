/**
 * The answer page (`/r/<id>#age1…`): someone asked for a secret, and whoever holds the request link types it or picks
 * files here. It is sealed in this browser to the requester's public key from the fragment, so only the requester can
 * open it, once; the relay never sees the key and cannot swap it, and the page shows no link to pass on.
 */
import { errorCard, h, progressBar, show, when } from "./dom";
import { t } from "./i18n";
import { answerProof, requestRecipient, sha256Of } from "./keys";
import { idFromPath, LinkError } from "./link";
import { sealPayloadTo } from "./payload";
import { ApiError, create } from "./relay";
import { secretFields } from "./sender";
import { ANSWER_CLOSED, ANSWER_HINT, ANSWER_SENT } from "./text";

export async function answer(root: HTMLElement) {
  let id: string;
  try {
    id = idFromPath(location.pathname, "r");
  } catch (e) {
    return errorCard(root, t("answer.not_request"), (e as LinkError).message);
  }
  const recipient = requestRecipient(location.hash);
  if (!recipient) {
    return errorCard(root, t("answer.incomplete_title"), t("answer.incomplete"));
  }
  const { text, ttl, el, picked } = await secretFields();
  const status = h("p", { class: "status", role: "status" });
  const go = h("button", { type: "submit", class: "primary", testid: "answer" }, t("answer.send"));
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "title" },
    h("h1", { id: "title" }, t("answer.title")),
    h("p", {}, ANSWER_HINT),
    ...el,
    h("label", { for: "ttl" }, t("answer.ttl")),
    ttl,
    go,
    status,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.removeAttribute("data-testid");
    go.disabled = true;
    try {
      const c = picked();
      status.textContent = t("send.encrypting");
      const sealed = await sealPayloadTo(c.finish(), recipient);
      const bar = progressBar(t("send.uploading"));
      status.replaceChildren(bar.el);
      bar.set(0, sealed.size);
      const manage = crypto.getRandomValues(new Uint8Array(32));
      const made = await create(sealed, {
        ttlSecs: Number(ttl.value),
        manageHash: sha256Of(manage),
        kdf: null,
        answerTo: id,
        answerProof: answerProof(recipient),
      });
      text.value = "";
      show(
        root,
        h(
          "section",
          { class: "card", "data-testid": "answered" },
          h("h1", {}, t("answer.sent_title")),
          h("p", {}, ANSWER_SENT),
          h("p", { class: "muted" }, t("answer.deleted_at", { when: when(made.expiresAt) })),
        ),
      );
    } catch (e) {
      go.disabled = false;
      const closed = e instanceof ApiError && e.code === "gone";
      status.textContent = closed ? ANSWER_CLOSED : e instanceof Error ? e.message : String(e);
      status.setAttribute("data-testid", "error");
    }
  });
  show(root, form);
}
