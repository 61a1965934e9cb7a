// Builds dist/widget.js (one script: socket.io-client and the CSS bundled in) and dist/index.html
// (the demo page). Run by scripts/build_widget.sh; nothing is fetched at run time.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";

await mkdir("dist", { recursive: true });
await build({
  entryPoints: ["src/widget.js"],
  outfile: "dist/widget.js",
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["chrome90", "firefox90", "safari15", "edge90"],
  minify: true,
  loader: { ".css": "text" },
  legalComments: "eof",
  logLevel: "warning",
});
await copyFile("src/demo.html", "dist/index.html");
