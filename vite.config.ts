// Builds the browser page and the desktop app's window (ui/) into ui/dist, which the relay and the app embed. Stable file names (no hashes) so the relay's
// build notices changes, and no inline script anywhere: the page runs under `script-src 'self'`.
import { resolve } from "node:path";
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
      // index.html: the browser page the relay serves; app.html: the desktop app's window.
      input: { index: resolve(__dirname, "ui/index.html"), app: resolve(__dirname, "ui/app.html") },
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
