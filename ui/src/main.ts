/** Entry of the browser page: `/o/<id>` opens a link, anything else is the web sender. */
import "./style.css";
import { recipient } from "./recipient";
import { sender } from "./sender";

const root = document.getElementById("app")!;
if (location.pathname.startsWith("/o/")) void recipient(root);
else sender(root);
