#!/usr/bin/env node
// Runs every *.test.ts under src/ (and simulator/) with node's test runner. Node 20 has no glob
// support in --test, so the files are listed here. Extra arguments are passed through as filters
// on the file path: `npm test -- export` runs the export tests only.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = [];
for (const dir of ['src', 'simulator']) {
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
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...selected],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(r.status ?? 1);
