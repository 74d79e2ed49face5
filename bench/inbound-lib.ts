/**
 * Helpers of `bench/inbound.ts`: where the machine's CPU went, counting the store's round trips,
 * summarising a CPU profile, and writing the per-store parts of the docs/PERFORMANCE.md section.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { fmt, fmtInt } from './lib.js';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU milliseconds used so far by each of these processes (user + system, from /proc); gone ones are left out. */
export function processCpuMs(pids: Iterable<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      // Fields after the parenthesised command: state is field 3, utime 14 and stime 15.
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK);
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** The whole machine's busy and total CPU milliseconds so far (all cores, from /proc/stat). */
export function machineCpuMs(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: ((total - idle) * 1000) / CLK_TCK, total: (total * 1000) / CLK_TCK };
}

/**
 * Counts statements sent to the store: every `query` of a pg client (Kysely's PostgreSQL driver,
 * BEGIN and COMMIT included) and every run/all/get/iterate of a better-sqlite3 statement, with the
 * time better-sqlite3 holds the event loop (its calls are synchronous; COMMIT includes the fsync).
 * A counter and two clock reads per call, so it stays on during the measured run.
 */
export function installQueryCounter() {
  /** n: statements; sqliteMs: main-thread milliseconds inside better-sqlite3, by the statement's first word. */
  const counter = { n: 0, sqliteMs: {} as Record<string, number> };
  const client = pg.Client.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const query = client.query!;
  client.query = function (this: unknown, ...args: unknown[]) {
    counter.n++;
    return query.apply(this, args);
  };
  const require = createRequire(import.meta.url);
  const Sqlite = require('better-sqlite3') as new (
    file: string,
  ) => {
    prepare(sql: string): object;
    close(): void;
  };
  const probe = new Sqlite(':memory:');
  const stmtProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
  probe.close();
  for (const m of ['run', 'all', 'get', 'iterate']) {
    const orig = stmtProto[m]!;
    stmtProto[m] = function (this: { source: string }, ...args: unknown[]) {
      counter.n++;
      const t = performance.now();
      try {
        return orig.apply(this, args);
      } finally {
        const verb = /^\s*(\w+)/.exec(this.source)?.[1]?.toLowerCase() ?? '?';
        counter.sqliteMs[verb] = (counter.sqliteMs[verb] ?? 0) + performance.now() - t;
      }
    };
  }
  return counter;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a function lives, coarsely: which library, our code, or Node itself. */
function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(idle)' || fn === '(program)') return fn;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.includes('/src/')) return `src/${url.split('/src/')[1]!.split('/')[0]}`;
  if (url.includes('/bench/')) return 'bench';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url === '' ? '(native)' : 'other';
}

/** Self time by area and the top functions of a V8 CPU profile, as text. */
export function summariseProfile(profile: Profile, top = 25): string {
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const byArea = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const n of profile.nodes) {
    const t = self.get(n.id) ?? 0;
    if (t === 0) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const a = area(url, functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + t);
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^.*\/src\//, 'src/')}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + t);
  }
  const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
  const lines = ['self time by area:'];
  for (const [a, t] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, 20)) lines.push(`  ${pct(t)}  ${a}`);
  lines.push('top functions (self time):');
  for (const [f, t] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`  ${pct(t)}  ${f}`);
  return lines.join('\n');
}

/** The text above the per-store parts: what is measured and how. */
export function inboundIntro(newUserShare: number, target: { rate: number; p99: number }): string {
  return [
    '`npm run bench:inbound` (bench/inbound.ts). The real server (`buildApp`, a real store, listening on',
    '127.0.0.1) runs in the benchmark process; a load generator in a child process (node:http, keep-alive)',
    'floods `POST /webhooks/telegram/{channelId}` with Telegram `message` Updates — unique `update_id` and',
    '`message_id`, Polish text, the secret-token header; the first 300 messages come from 300 new clients,',
    `then ${fmt(newUserShare * 100, 0)}% from a new client (a new dialog) and the rest from a known one (appended to`,
    'their open dialog) — over a fixed number of connections, each sending its next request when the last is',
    'answered (a closed loop: the throughput is the server’s capacity, and the latency includes queueing at',
    'that rate). Both share the machine’s 2 cores with PostgreSQL; the CPU table of each store says who used what.',
    '',
    '- **request → committed**: the generator’s clock from just before sending to the end of the 2xx; the',
    '  webhook answers only after the message’s transaction has committed.',
    '- **request → realtime event**: the server subscribes to the app’s event bus and records the wall-clock',
    '  time (`performance.timeOrigin + performance.now()`) of each `message.created`; the generator records',
    '  each message’s send time on its own wall clock; after the run the event’s message id is mapped to the',
    '  Telegram `message_id` through the stored row, and the offset between the two processes’ clocks',
    '  (measured by IPC pings before and after the flood and given with each store; the two clocks are not',
    '  assumed equal — they have differed by 4 ms) is subtracted.',
    '  The bus is in-process and publishes right after the commit, before the reply, so this is the request →',
    '  commit time as the server sees it.',
    '- **bare route**: `POST /bench/bare` on the same Fastify instance (added through Fastify’s',
    '  `fastify.initialization` diagnostics channel, so it has the app’s hooks), parsing the same JSON bodies',
    '  and answering 200, flooded the same way: the cost of HTTP, Fastify and the generator alone.',
    '- **checks**: messages stored = webhook 2xx answers (warm-up included), no 5xx, one `message.created`',
    '  per measured 2xx, dialogs = distinct clients (one open dialog each).',
    '- **PostgreSQL statistics**: the database is fresh, so `ANALYZE` runs after the warm-up, as autovacuum',
    '  would have on a running installation (with statistics saying "empty", the planner walked whole indexes).',
    `- Target (issue 3): at least ${fmtInt(target.rate)} messages/s on PostgreSQL with p99 under ${target.p99} ms.`,
    '',
    '`BENCH_STORES=postgres npm run bench:inbound` reruns one store and leaves the other’s figures; the variables',
    '(duration, connections, share of new clients, a CPU profile of the server) are listed at the top of',
    'bench/inbound.ts. The machine is shared: compare the webhook with the bare route and the CPU columns of the',
    'same run, and read the “other cores” column before trusting a throughput figure.',
  ].join('\n');
}

export const SECTION_HEADING = '## Inbound webhooks (issue 3)';

/**
 * Writes the inbound section of docs/PERFORMANCE.md: the intro, and the part of each store that
 * ran; a store that did not run keeps its figures. Creates the section (heading, markers) if absent.
 */
export function writeInboundSection(file: string, intro: string, parts: Record<string, string>, kinds: string[]) {
  writeBenchSection(file, { name: 'inbound', heading: SECTION_HEADING }, intro, parts, kinds);
}

/**
 * Rewrites one benchmark's section of docs/PERFORMANCE.md between `<!-- bench:<name>:begin -->` and
 * `<!-- bench:<name>:end -->`: the intro, then one part per store between
 * `<!-- bench:<name>-<kind>:begin/end -->`; a store that did not run keeps its figures. Creates the
 * section (heading, markers) at the end of the file, or under the heading, if absent.
 */
export function writeBenchSection(
  file: string,
  section: { name: string; heading: string },
  intro: string,
  parts: Record<string, string>,
  kinds: string[],
) {
  const outerBegin = `<!-- bench:${section.name}:begin -->`;
  const outerEnd = `<!-- bench:${section.name}:end -->`;
  const partBegin = (kind: string) => `<!-- bench:${section.name}-${kind}:begin -->`;
  const partEnd = (kind: string) => `<!-- bench:${section.name}-${kind}:end -->`;
  let text = fs.readFileSync(file, 'utf8');
  if (!text.includes(outerBegin) || !text.includes(outerEnd)) {
    const skeleton = [outerBegin, ...kinds.flatMap((k) => [partBegin(k), partEnd(k)]), outerEnd].join('\n');
    text = text.includes(section.heading)
      ? text.replace(section.heading, `${section.heading}\n\n${skeleton}\n`)
      : `${text.replace(/\s*$/, '')}\n\n${section.heading}\n\n${skeleton}\n`;
  }
  for (const k of kinds) {
    if (text.includes(partBegin(k))) continue;
    const j = text.indexOf(outerEnd);
    text = `${text.slice(0, j)}${partBegin(k)}\n${partEnd(k)}\n${text.slice(j)}`;
  }
  // The intro: from the outer begin marker to the first store's part.
  const i = text.indexOf(outerBegin) + outerBegin.length;
  const firstPart = Math.min(...kinds.map((k) => text.indexOf(partBegin(k))));
  text = `${text.slice(0, i)}\n${intro}\n\n${text.slice(firstPart)}`;
  for (const [k, body] of Object.entries(parts)) {
    const b = text.indexOf(partBegin(k)) + partBegin(k).length;
    const e = text.indexOf(partEnd(k));
    text = `${text.slice(0, b)}\n${body}\n${text.slice(e)}`;
  }
  fs.writeFileSync(file, text);
}

/** A forked helper process spoken to over IPC (`{ type, id }` requests, answers with the same id). */
export interface BenchWorker {
  child: ChildProcess;
  /** Sends a request and resolves with the answer; an answer `{ type: 'failed', message }` rejects. */
  ask<T = Record<string, unknown>>(m: Record<string, unknown>): Promise<T>;
  /** Child clock minus ours (ms), from the ping with the shortest round trip, and that round trip. */
  clockOffset(): Promise<{ offset: number; rtt: number }>;
  stop(): Promise<void>;
}

/**
 * Forks a TypeScript file (through tsx) that speaks the protocol of bench/inbound-load.ts: it sends
 * `{ type: 'ready' }` once, answers `{ type: 'ping', id }` with `{ type: 'pong', id, wall }` (wall-clock
 * milliseconds, `performance.timeOrigin + performance.now()`), and exits on `{ type: 'exit' }`.
 */
export async function forkBenchWorker(file: string, args: string[] = []): Promise<BenchWorker> {
  const child = fork(file, args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  let seq = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => {
      const err = new Error(`${path.basename(file)} exited (${code})`);
      reject(err);
      for (const w of waiting.values()) w.reject(err);
      waiting.clear();
    });
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'ready') resolve();
      const w = waiting.get(m.id as number);
      if (!w) return;
      waiting.delete(m.id as number);
      if (m.type === 'failed') w.reject(new Error(`${path.basename(file)}: ${String(m.message)}`));
      else w.resolve(m);
    });
  });
  const ask = <T>(m: Record<string, unknown>) =>
    new Promise<T>((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve: resolve as (m: Record<string, unknown>) => void, reject });
      child.send({ ...m, id });
    });
  const wall = () => performance.timeOrigin + performance.now();
  return {
    child,
    ask,
    async clockOffset() {
      let best = { offset: 0, rtt: Number.POSITIVE_INFINITY };
      for (let i = 0; i < 50; i++) {
        const t0 = wall();
        const res = await ask<{ wall: number }>({ type: 'ping' });
        const t1 = wall();
        if (t1 - t0 < best.rtt) best = { offset: res.wall - (t0 + t1) / 2, rtt: t1 - t0 };
      }
      return best;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.send({ type: 'exit' });
      await done;
    },
  };
}

export const benchDataDir = (root: string) => {
  const dir = path.join(root, '.bench-data');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
};
