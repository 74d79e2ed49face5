#!/usr/bin/env node
// Runs every *.test.ts under src/ (and simulator/) with node's test runner. Node 20 has no glob
// support in --test, so the files are listed here. Extra arguments are passed through as filters
// on the file path: `npm test -- export` runs the export tests only.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = [];
for (const dir of ['src', 'simulator', 'web/tests']) {
  const walk = (d) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.ts')) files.push(path.relative(root, p));
    }
  };
  walk(path.join(root, dir));
}
const selected = files.sort().filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (selected.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const store = process.env.TEST_DATABASE_URL ? 'SQLite and PostgreSQL' : 'SQLite';
console.error(`dziennik: ${selected.length} test files on ${store}`);
// Human-readable output on the terminal, TAP into a file for the closing summary line.
const tap = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dziennik-tap-')), 'results.tap');
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...selected,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const text = fs.readFileSync(tap, 'utf8');
  passed = Number(/^# pass (\d+)/m.exec(text)?.[1] ?? 0);
  failed = Number(/^# fail (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(text)?.[1] ?? 0);
  skipped = Number(/^# skipped (\d+)/m.exec(text)?.[1] ?? 0);
} catch {
  failed = Math.max(failed, 1);
}
const status = r.status ?? 1;
if (status !== 0 && failed === 0) failed = 1;
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status);
