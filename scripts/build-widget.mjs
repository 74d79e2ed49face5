#!/usr/bin/env node
// Builds the website widget (widget/src/widget.ts) into one minified IIFE, widget/dist/widget.js,
// served at /widget.js. Fails above the size budget: 6 KB gzipped (WIDGET_BUDGET_BYTES overrides
// it, for the test that proves the budget fails the build).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(root, 'widget/dist/widget.js');
const budget = Number(process.env.WIDGET_BUDGET_BYTES ?? 6 * 1024);

await build({
  entryPoints: [path.join(root, 'widget/src/widget.ts')],
  outfile,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2019'],
  legalComments: 'none',
  logLevel: 'warning',
});
const bytes = fs.readFileSync(outfile);
const gzipped = zlib.gzipSync(bytes, { level: 9 }).length;
const line = `widget.js: ${bytes.length} B, ${gzipped} B gzipped (budget ${budget} B)`;
if (gzipped > budget) {
  console.error(`${line}: over the budget`);
  process.exit(1);
}
console.log(line);
