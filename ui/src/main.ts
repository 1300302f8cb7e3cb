/** Entry of the browser page: `/o/<id>` opens a link, `/m/<id>` manages one, `/r/<id>` answers a request for a
 * secret, anything else is the web sender. */
import "./style.css";
import { languageSwitcher, t } from "./i18n";
import { answer } from "./answer";
import { manage } from "./manage";
import { recipient } from "./recipient";
import { sender } from "./sender";

const root = document.getElementById("app")!;
document.getElementById("foot-text")!.textContent = t("common.footer");
document.querySelector("footer")!.append(" ", languageSwitcher());
if (location.pathname.startsWith("/o/")) void recipient(root);
else if (location.pathname.startsWith("/m/")) void manage(root);
else if (location.pathname.startsWith("/r/")) void answer(root);
else void sender(root);
