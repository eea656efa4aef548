// Copies the UI's front-end libraries (and Swagger UI, for /docs) from node_modules (installed
// by `npm ci` from package-lock.json) into src/bettercallsold/web/static/vendor/, with their
// licences and a VERSIONS.json that a test compares with package-lock.json.
// Run: `npm ci && npm run vendor`.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "src/bettercallsold/web/static/vendor");
const files = {
  "htmx.org": { "dist/htmx.min.js": "htmx.min.js", LICENSE: "htmx.LICENSE" },
  sortablejs: { "Sortable.min.js": "Sortable.min.js", LICENSE: "Sortable.LICENSE" },
  // The insights charts (the flows' runs per hour).
  uplot: {
    "dist/uPlot.iife.min.js": "uPlot.iife.min.js",
    "dist/uPlot.min.css": "uPlot.min.css",
    LICENSE: "uPlot.LICENSE",
  },
  // Only the browser tests load it (the accessibility check); pages never do.
  "axe-core": { "axe.min.js": "axe.min.js", LICENSE: "axe.LICENSE" },
  // Only what /docs loads, plus the licences: Apache-2.0 asks for NOTICE to travel with it, and
  // the bundle's first line points at its own file of bundled third-party licences.
  "swagger-ui-dist": {
    "swagger-ui-bundle.js": "swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui.css",
    "favicon-32x32.png": "swagger-ui-favicon-32x32.png",
    "swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt",
    LICENSE: "swagger-ui.LICENSE",
    NOTICE: "swagger-ui.NOTICE",
  },
};

mkdirSync(target, { recursive: true });
const versions = {};
for (const [name, copies] of Object.entries(files)) {
  const dir = join(root, "node_modules", name);
  versions[name] = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  for (const [from, to] of Object.entries(copies)) copyFileSync(join(dir, from), join(target, to));
}
writeFileSync(join(target, "VERSIONS.json"), JSON.stringify(versions, null, 2) + "\n");
console.log("vendored", versions);
