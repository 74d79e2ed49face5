import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `dziennik` as an operator runs it: a real process, for tests that start, kill and restart it. */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/dziennik.mjs');

/** A clean environment: nothing of the test runner's (TEST_DATABASE_URL, NODE_OPTIONS...) leaks in. */
export function cliEnv(vars: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? os.tmpdir(),
    LOG_LEVEL: 'silent',
    ...vars,
  };
}

/** Starts `dziennik start` and resolves with its port once it listens (LOG_LEVEL must be info or lower). */
export function startServerProcess(env: Record<string, string>): { child: ChildProcess; listening: Promise<number> } {
  const child = spawn(process.execPath, [BIN, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in time:\n${out}`)), 30_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /listening at http:\/\/[^:]+:(\d+)/i.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}:\n${out}`));
    });
  });
  // A test that kills the server on purpose must not see an unhandled rejection.
  listening.catch(() => {});
  return { child, listening };
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
