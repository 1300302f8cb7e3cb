import { describe, expect, it } from "vitest";
import { copiedText, textTooLong, wrongPassphrase } from "../src/text";

describe("shared text", () => {
  it("says what was copied and when it leaves the clipboard", () => {
    expect(copiedText("Secret", 30)).toBe(
      "Secret copied. Anyone with access to this device's clipboard can read it; it will be cleared in 30 seconds.",
    );
    expect(copiedText("Link", 120)).toMatch(/^Link copied\. .* cleared in 2 minutes\.$/);
    expect(copiedText("Link", 60)).toMatch(/cleared in 1 minute\.$/);
    expect(copiedText("Link", 0)).toBe("Link copied to the clipboard.");
  });

  it("counts attempts and bytes as people read them", () => {
    expect(wrongPassphrase(1)).toMatch(/1 attempt left/);
    expect(wrongPassphrase(0)).toMatch(/last attempt/);
    expect(textTooLong("x".repeat(4 << 20))).toBeNull();
    expect(textTooLong("é".repeat(2 << 20) + "x")).toMatch(/4\.0 MiB, more than the 4 MiB/);
  });
});
