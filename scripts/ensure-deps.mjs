#!/usr/bin/env node
// Makes `npm start` and `npm test` work on a fresh clone with only Node.js: installs the locked
// dependencies when node_modules is missing or older than package-lock.json. Built-ins only.
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const lock = path.join(root, 'package-lock.json');
const stamp = path.join(root, 'node_modules', '.dziennik-lock-hash');
const hash = createHash('sha256').update(fs.readFileSync(lock)).digest('hex');
let current = '';
try {
  current = fs.readFileSync(stamp, 'utf8').trim();
} catch {}
if (current !== hash) {
  console.error('dziennik: installing dependencies (the first run compiles better-sqlite3, about 90 s)…');
  // `npm install` with the lock file, not `npm ci`: the registries some machines use lack the
  // optional per-platform builds of a few tools for other systems (e.g. Biome for Windows), which
  // `npm ci` counts as a lock mismatch. --no-save keeps package.json and the lock untouched.
  execSync('npm install --no-save --no-audit --no-fund', { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  fs.writeFileSync(stamp, hash);
}
