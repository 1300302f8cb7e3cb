// Builds the browser page (ui/) into ui/dist, which the relay embeds. Stable file names (no hashes) so the relay's
// build notices changes, and no inline script anywhere: the page runs under `script-src 'self'`.
import { defineConfig } from "vite";

export default defineConfig({
  root: "ui",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name].js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: "assets/[name][extname]",
      },
    },
  },
  test: {
    root: ".",
    include: ["ui/test/**/*.test.ts"],
    testTimeout: 120_000,
  },
});
