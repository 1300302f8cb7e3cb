/**
 * The one layer all user-facing text goes through (i18next): the language, the translations (./locales), and
 * locale-aware dates, sizes and plurals. It initialises when first imported, before any module that holds text, so
 * texts kept in constants are already in the chosen language; switching language reloads the page.
 *
 * The language: the one picked in the switcher (kept in localStorage), else the first of the browser's (or the OS's,
 * in the app) that we have, else English. `<html lang>` follows it. A page may limit the languages it offers with
 * `<html data-languages="en de">`.
 */
import i18next from "i18next";
import de from "./locales/de.json";
import en from "./locales/en.json";
import es from "./locales/es.json";
import fr from "./locales/fr.json";
import ja from "./locales/ja.json";

/** Every language there is, by its own name. */
export const LANGUAGES: Record<string, string> = { en: "English", de: "Deutsch", fr: "Français", es: "Español", ja: "日本語" };
const RESOURCES = { en, de, fr, es, ja };
const STORE_KEY = "burnlink.lang";

/** Keys asked for that the language (or English) lacks: empty unless the code names a key no locale has. Tests read it. */
export const missing: string[] = [];

const hasDom = typeof document !== "undefined";

function offered(): string[] {
  const only = hasDom ? document.documentElement.dataset.languages?.split(/\s+/).filter((l) => l in LANGUAGES) : undefined;
  return only?.length ? only : Object.keys(LANGUAGES);
}

function stored(): string | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage.getItem(STORE_KEY);
  } catch {
    return null; // storage blocked: follow the browser
  }
}

function pick(): string {
  const ok = offered();
  const browser = typeof navigator === "undefined" ? [] : (navigator.languages ?? [navigator.language]);
  const wanted = [stored(), ...browser].filter((l): l is string => !!l);
  for (const w of wanted) {
    const base = w.toLowerCase().split("-")[0];
    if (ok.includes(base)) return base;
  }
  return ok.includes("en") ? "en" : ok[0];
}

/** The language in use. */
export const lang = pick();

void i18next.init({
  lng: lang,
  fallbackLng: "en",
  resources: Object.fromEntries(Object.entries(RESOURCES).map(([l, r]) => [l, { translation: r }])),
  initAsync: false,
  showSupportNotice: false,
  interpolation: { escapeValue: false }, // text goes into textContent, never into HTML
  returnNull: false,
  saveMissing: true,
  missingKeyHandler: (_lngs, _ns, key) => {
    missing.push(key);
  },
});
if (hasDom) {
  document.documentElement.lang = lang;
  // For the tests' check that no screen asks for a text that no language has.
  (window as unknown as { __i18nMissing: string[] }).__i18nMissing = missing;
}

/** The text of `key` in the language in use, with `vars` filled in (and `count` choosing the plural form). */
export function t(key: string, vars?: Record<string, unknown>): string {
  return String(i18next.t(key, vars as never));
}

/** Whether there is a text for `key` (in the language in use or English); `vars.count` picks a plural form. */
export function has(key: string, vars?: Record<string, unknown>): boolean {
  return i18next.exists(key, vars as never);
}

/** Switches language: remembered, then the page reloads in it. */
export function setLanguage(l: string) {
  try {
    localStorage.setItem(STORE_KEY, l);
  } catch {
    // storage blocked: the switch lasts only until the reload, which then follows the browser again
  }
  location.reload();
}

/** A date and time, the locale's way. */
export function when(ms: number): string {
  return new Date(ms).toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
}

/** A size in bytes, in the locale's numbers (decimal units, as file managers show them). */
export function bytes(n: number): string {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const digits = i === 0 ? 0 : v < 10 ? 1 : 0;
  return new Intl.NumberFormat(lang, { style: "unit", unit: units[i], unitDisplay: i === 0 ? "long" : "short", maximumFractionDigits: digits }).format(v);
}

/** The language switcher: a labelled select of every offered language, each named in its own. `before` runs just
 * before the page reloads in the new one. */
export function languageSwitcher(before?: () => void): HTMLElement {
  const label = document.createElement("label");
  label.className = "lang";
  label.textContent = `${t("common.language")} `;
  const select = document.createElement("select");
  select.dataset.testid = "language";
  for (const l of offered()) {
    const o = document.createElement("option");
    o.value = l;
    o.lang = l;
    o.textContent = LANGUAGES[l];
    o.selected = l === lang;
    select.append(o);
  }
  select.addEventListener("change", () => {
    before?.();
    setLanguage(select.value);
  });
  label.append(select);
  return label;
}
