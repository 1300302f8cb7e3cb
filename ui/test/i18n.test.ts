import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LANGUAGES } from "../src/i18n";

const dir = join(__dirname, "../src/locales");
const locale = (l: string): Record<string, string> => JSON.parse(readFileSync(join(dir, `${l}.json`), "utf8"));
const en = locale("en");
const PLURAL = /_(zero|one|two|few|many|other)$/;
const vars = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

/** Every `t("…")` key written out in the code (keys built at run time are checked where they are built). */
function keysInCode(d: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) out.push(...keysInCode(p));
    else if (p.endsWith(".ts")) out.push(...[...readFileSync(p, "utf8").matchAll(/\bt\("([\w.]+)"/g)].map((m) => m[1]));
  }
  return out;
}

describe("translations", () => {
  const bases = new Map<string, string>(); // a key as the code asks for it -> an English text of it
  for (const [k, v] of Object.entries(en)) bases.set(k.replace(PLURAL, ""), v);

  it("cover every key the code uses", () => {
    const missing = keysInCode(join(__dirname, "../src")).filter((k) => !bases.has(k));
    expect(missing).toEqual([]);
  });

  for (const lang of Object.keys(LANGUAGES)) {
    it(`${lang}: every text, every plural form the language needs, the same placeholders, nothing stale`, () => {
      const l = locale(lang);
      const forms = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
      const want: string[] = [];
      for (const [k, v] of Object.entries(en)) {
        if (!PLURAL.test(k)) want.push(k);
        else if (k.endsWith("_other")) for (const f of forms) want.push(k.replace(/_other$/, `_${f}`));
        void v;
      }
      expect(want.filter((k) => !(k in l))).toEqual([]);
      expect(Object.keys(l).filter((k) => !bases.has(k.replace(PLURAL, "")))).toEqual([]);
      for (const [k, v] of Object.entries(l)) {
        const source = en[k] ?? bases.get(k.replace(PLURAL, ""))!;
        expect(vars(v), `${lang} ${k}`).toEqual(vars(source));
        expect(v.trim().length, `${lang} ${k}`).toBeGreaterThan(0);
      }
    });
  }
});
