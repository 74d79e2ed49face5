/**
 * `npm run bench:inbound`: sustained inbound Telegram webhooks (issue 3) — messages/s, and p50/p99
 * from the request to the committed message (the 2xx: the webhook answers after the commit) and to
 * the realtime event, on SQLite and PostgreSQL, beside a bare route of the same server; written to
 * docs/PERFORMANCE.md between the `bench:inbound-<store>` markers.
 *
 * The server is the real app (buildApp, a real store, 127.0.0.1) in this process; the load
 * generator (bench/inbound-load.ts) is a child process on the same 2-core machine.
 *
 *   BENCH_STORES=sqlite,postgres        which stores (default both)
 *   BENCH_INBOUND_SECONDS=20            measured seconds of webhook flood per store
 *   BENCH_INBOUND_WARMUP=3              seconds of webhook flood before measuring (stored, not measured)
 *   BENCH_INBOUND_BARE_SECONDS=10       measured seconds of the bare route (after 2 s of warm-up)
 *   BENCH_INBOUND_CONCURRENCY=40        keep-alive connections (Telegram's default max_connections)
 *   BENCH_INBOUND_NEW_USERS=0.1         share of messages from a new client (each opens a dialog)
 *   BENCH_INBOUND_SEED_DIALOGS=0        experiment: dialogs written by the seed service first (a store that
 *                                       is not empty: larger indexes, a larger search index)
 *   BENCH_INBOUND_PROFILE=1             CPU-profile the server during the measured webhook flood
 *                                       (.bench-data/inbound-<store>.cpuprofile; figures not written)
 *   BENCH_INBOUND_PG_POOL=10            experiment: another PostgreSQL pool size than the server's default
 *   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres   admin connection (creates and drops
 *                                       the database dz_bench_inbound_<pid>)
 *   BENCH_WRITE=0                       do not touch docs/PERFORMANCE.md
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import inspector from 'node:inspector';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/http/app.js';
import type { DomainEvent } from '../src/realtime/bus.js';
import { sealCredentials } from '../src/store/channels.js';
import { migrate } from '../src/store/migrate.js';
import { openStore, type Store } from '../src/store/open.js';
import type { RunRequest, RunResult } from './inbound-load.js';
import {
  benchDataDir,
  inboundIntro,
  installQueryCounter,
  machineCpuMs,
  processCpuMs,
  summariseProfile,
  writeInboundSection,
} from './inbound-lib.js';
import { fmt, fmtInt, machine, ROOT, sampleRss, type Stats, stats } from './lib.js';

type Kind = 'sqlite' | 'postgres';
const env = process.env;
const STORES = (env.BENCH_STORES ?? 'sqlite,postgres')
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is Kind => s === 'sqlite' || s === 'postgres');
const SECONDS = Number(env.BENCH_INBOUND_SECONDS ?? 20);
const WARMUP = Number(env.BENCH_INBOUND_WARMUP ?? 3);
const BARE_SECONDS = Number(env.BENCH_INBOUND_BARE_SECONDS ?? 10);
const CONCURRENCY = Number(env.BENCH_INBOUND_CONCURRENCY ?? 40);
const NEW_USERS = Number(env.BENCH_INBOUND_NEW_USERS ?? 0.1);
const PROFILE = env.BENCH_INBOUND_PROFILE === '1';
const SEED_DIALOGS = Number(env.BENCH_INBOUND_SEED_DIALOGS ?? 0);
const PG_POOL = env.BENCH_INBOUND_PG_POOL ? Number(env.BENCH_INBOUND_PG_POOL) : undefined;
const PG_ADMIN = env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WRITE = env.BENCH_WRITE !== '0' && !PROFILE;
const SECRET = 'bench-secret-key-0123456789-0123456789-abcdef';
const TARGET = { rate: 2000, p99: 50 };
const BARE_PATH = '/bench/bare';
const NAMES: Record<Kind, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

const log = (m: string) => process.stderr.write(`[bench:inbound] ${m}\n`);
const wall = () => performance.timeOrigin + performance.now();
const mib = (bytes: number) => bytes / 2 ** 20;
// A full collection before reading the heap, so that growth means live objects, not garbage.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const liveHeapMiB = () => {
  gc();
  return mib(process.memoryUsage().heapUsed);
};

// The bare baseline route, on the very Fastify instance buildApp creates (so the same hooks,
// request ids, error handler and connection handling): Fastify announces every new instance on
// this diagnostics channel, before its plugins load, for instrumentation like this.
dc.subscribe('fastify.initialization', (msg) => {
  const { fastify } = msg as { fastify: FastifyInstance };
  fastify.post(BARE_PATH, async (req) => ({ ok: typeof req.body === 'object' && req.body !== null }));
});

const queries = installQueryCounter();

// ——— the store ———

interface BenchStore {
  store: Store;
  settings: string;
  /**
   * PostgreSQL: the processes whose CPU is ours — the backends of the benchmark's database and the
   * WAL writer, checkpointer and background writer (shared with other databases, if any are busy).
   */
  pgPids?: () => Promise<number[]>;
  drop(): Promise<void>;
}

async function openBenchStore(kind: Kind): Promise<BenchStore> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dz-bench-inbound-'));
    const store = await openStore({ dataDir: dir, exclusive: true });
    return {
      store,
      settings:
        'SQLite in a fresh DATA_DIR under the system temp directory (WAL, synchronous=FULL, as the server opens it)',
      async drop() {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `dz_bench_inbound_${process.pid}`;
  const url0 = new URL(PG_ADMIN);
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  const show = async (s: string) => (await admin.query(`SHOW ${s}`)).rows[0]?.[s] as string;
  const settings =
    `PostgreSQL ${await show('server_version')} on the same machine (fsync ${await show('fsync')}, ` +
    `synchronous_commit ${await show('synchronous_commit')}, shared_buffers ${await show('shared_buffers')}), ` +
    `a fresh database, ${PG_POOL ? `a pool of ${PG_POOL} connections (experiment)` : 'the server’s default pool of 10 connections'}, ` +
    `connected over ${url0.hostname.startsWith('%2F') || url0.hostname === '' ? 'a Unix socket' : `TCP to ${url0.hostname}`}`;
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  // The pool size `dziennik start` uses (openStore's default), unless an experiment asks otherwise.
  const store = await openStore({
    databaseUrl: url.toString(),
    dataDir: os.tmpdir(),
    ...(PG_POOL ? { poolSize: PG_POOL } : {}),
  });
  return {
    store,
    settings,
    async pgPids() {
      const r = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = $1 OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
        [name],
      );
      return r.rows.map((row) => row.pid);
    },
    async drop() {
      await store.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** A project and a Telegram channel with a known webhook secret, written as the channel service writes them. */
async function createChannel(store: Store) {
  const now = Date.now();
  const project = await store.db
    .insertInto('projects')
    .values({
      name: 'Bench inbound',
      time_zone: 'Europe/Warsaw',
      language: 'pl',
      public_key: `pk_bench_${randomBytes(8).toString('hex')}`,
      settings: '{}',
      created_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const secret = randomBytes(32).toString('base64url');
  const channel = await store.db
    .insertInto('channels')
    .values({
      project_id: project.id,
      type: 'telegram',
      name: 'Sklep — Telegram',
      credentials: '',
      config: JSON.stringify({ botUsername: 'sklep_bench_bot' }),
      webhook_secret: secret,
      enabled: 1,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await store.db
    .updateTable('channels')
    .set({
      credentials: sealCredentials(SECRET, project.id, channel.id, {
        botToken: '123456789:AAbenchbenchbenchbenchbenchbenchben',
      }),
    })
    .where('id', '=', channel.id)
    .execute();
  return { projectId: project.id, channelId: channel.id, secret };
}

// ——— the load generator ———

interface Generator {
  run(r: Omit<RunRequest, 'type' | 'id'>): Promise<RunResult>;
  /** Child clock minus ours (ms), from the ping with the shortest round trip, and that round trip. */
  clockOffset(): Promise<{ offset: number; rtt: number }>;
  stop(): Promise<void>;
}

async function startGenerator(): Promise<Generator> {
  const child: ChildProcess = fork(path.join(ROOT, 'bench/inbound-load.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, (m: Record<string, unknown>) => void>();
  let seq = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'ready') resolve();
      const w = waiting.get(m.id as number);
      if (w) {
        waiting.delete(m.id as number);
        w(m);
      }
    });
  });
  await ready;
  const ask = (m: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++seq;
      waiting.set(id, resolve);
      child.send({ ...m, id });
    });
  return {
    async run(r) {
      const res = await ask({ type: 'run', ...r });
      if (res.type !== 'done') throw new Error(`load generator failed: ${String(res.message)}`);
      return res as unknown as RunResult;
    },
    async clockOffset() {
      let best = { offset: 0, rtt: Number.POSITIVE_INFINITY };
      for (let i = 0; i < 50; i++) {
        const t0 = wall();
        const res = await ask({ type: 'ping' });
        const t1 = wall();
        if (t1 - t0 < best.rtt) best = { offset: (res.wall as number) - (t0 + t1) / 2, rtt: t1 - t0 };
      }
      return best;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.send({ type: 'exit' });
      await done;
    },
  };
}

// ——— one store ———

interface Phase {
  result: RunResult;
  latency: Stats;
  rate: number;
  non2xx: number;
  s5xx: number;
}

const phase = (result: RunResult): Phase => {
  let ok = 0;
  let s5xx = 0;
  for (const [status, n] of Object.entries(result.statuses)) {
    if (status.startsWith('2')) ok += n;
    if (status.startsWith('5')) s5xx += n;
  }
  return {
    result,
    latency: stats(result.latencies),
    rate: ok / (result.elapsedMs / 1000),
    non2xx: result.latencies.length - ok + result.errors,
    s5xx,
  };
};
const ok2xx = (r: RunResult) => Object.entries(r.statuses).reduce((a, [s, n]) => (s.startsWith('2') ? a + n : a), 0);

/** CPU milliseconds used during one flood, by whom, and the flood's wall-clock seconds. */
interface Cpu {
  server: number;
  serverKernel: number;
  generator: number;
  postgres: number;
  machine: number;
  wallS: number;
  requests: number;
  /** Share of the time the server's event loop was busy (not waiting for I/O). */
  elu: number;
}

/** Starts counting CPU time: this process (the server), PostgreSQL's processes, the whole machine. */
async function cpuMeter(pgPids: BenchStore['pgPids']) {
  const pids0 = pgPids ? await pgPids() : [];
  const cpu0 = process.cpuUsage();
  const pg0 = processCpuMs(pids0);
  const m0 = machineCpuMs();
  const t0 = performance.now();
  const elu0 = performance.eventLoopUtilization();
  return async (run: RunResult): Promise<Cpu> => {
    const elu = performance.eventLoopUtilization(elu0).utilization;
    const wallS = (performance.now() - t0) / 1000;
    const m1 = machineCpuMs();
    const pg1 = processCpuMs(new Set([...pids0, ...(pgPids ? await pgPids() : [])]));
    let postgres = 0;
    for (const [pid, ms] of pg1) postgres += ms - (pg0.get(pid) ?? 0);
    const cpu = process.cpuUsage(cpu0);
    return {
      server: (cpu.user + cpu.system) / 1000,
      serverKernel: cpu.system / 1000,
      generator: run.cpuMs,
      postgres,
      machine: m1.busy - m0.busy,
      wallS,
      requests: run.latencies.length,
      elu,
    };
  };
}

interface StoreResult {
  kind: Kind;
  started: Date;
  loadBefore: number[];
  settings: string;
  bare: Phase;
  hook: Phase;
  event: Stats;
  eventsMissing: number;
  clock: { offset: number; rtt: number; offsetAfter: number };
  cpu: { hook: Cpu; bare: Cpu };
  queriesPerWebhook: number;
  /** SQLite: microseconds per webhook spent inside better-sqlite3 (the event loop held), by verb. */
  sqliteUs: Record<string, number>;
  checks: {
    hook2xx: number;
    stored: number;
    created: number;
    dialogs: number;
    users: number;
    any5xx: number;
    errors: number;
    ok: boolean;
  };
  rss: { idle: number; afterWarmup: number; after: number; peak: number };
  heap: { idle: number; after: number };
  profile?: string;
}

async function runStore(kind: Kind): Promise<StoreResult> {
  const started = new Date();
  const loadBefore = os.loadavg();
  log(`${kind}: load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  const bs = await openBenchStore(kind);
  // Interrupted (Ctrl-C): still remove the database or the temporary directory.
  const onSignal = () => void bs.drop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let fastify: FastifyInstance | undefined;
  let gen: Generator | undefined;
  try {
    const { store } = bs;
    await migrate(store);
    const { projectId, channelId, secret } = await createChannel(store);
    const seeded = { dialogs: 0, messages: 0 };
    if (SEED_DIALOGS > 0) {
      const { seedProject } = await import('../src/services/seed.js');
      Object.assign(seeded, await seedProject(store, { projectId, dialogs: SEED_DIALOGS, seed: 42 }));
      if (kind === 'postgres') await sql`VACUUM ANALYZE`.execute(store.db);
      else store.sqlite!.exec('ANALYZE');
      log(`${kind}: seeded ${fmtInt(seeded.dialogs)} dialogs, ${fmtInt(seeded.messages)} messages first`);
    }
    const config = { ...loadConfig({ SECRET_KEY: SECRET, LOG_LEVEL: 'warn' }), secretKey: SECRET };
    const built = await buildApp({ config, store });
    fastify = built.fastify;
    await fastify.listen({ host: '127.0.0.1', port: 0 });
    const port = (fastify.server.address() as AddressInfo).port;

    // Request → realtime event: the publish time of each message.created, keyed by message id.
    let recording = false;
    const published: number[] = [];
    built.app.bus.subscribe((e: DomainEvent) => {
      if (recording && e.type === 'message.created') published.push(e.messageId, wall());
    });

    gen = await startGenerator();
    const clock = await gen.clockOffset();
    log(`${kind}: generator clock offset ${fmt(clock.offset, 3)} ms (ping round trip ${fmt(clock.rtt, 3)} ms)`);
    const rssIdle = process.memoryUsage().rss;
    const heapIdle = liveHeapMiB();
    const common = { port, secret, concurrency: CONCURRENCY, newUserShare: NEW_USERS };

    // The bare route first: the webhook flood leaves background work (checkpoints, autovacuum).
    await gen.run({ ...common, path: BARE_PATH, stream: 'bare', seconds: 2, recordSends: false });
    const bareMeter = await cpuMeter(bs.pgPids);
    const bareRun = await gen.run({
      ...common,
      path: BARE_PATH,
      stream: 'bare',
      seconds: BARE_SECONDS,
      recordSends: false,
    });
    const bareCpu = await bareMeter(bareRun);
    const bare = phase(bareRun);
    log(`${kind}: bare route ${fmtInt(bare.rate)} req/s, p50 ${fmt(bare.latency.p50)} p99 ${fmt(bare.latency.p99)} ms`);

    const hookPath = `/webhooks/telegram/${channelId}`;
    const warm = await gen.run({ ...common, path: hookPath, stream: 'webhook', seconds: WARMUP, recordSends: false });
    log(`${kind}: warm-up ${fmtInt(ok2xx(warm) / (warm.elapsedMs / 1000))} msg/s`);
    // Planner statistics as a running installation has them (autovacuum analyzes a table once a
    // tenth of it changed): the fresh database's say "empty", and plans chosen for an empty table
    // walk a whole index once it holds thousands of rows.
    if (kind === 'postgres') await sql`ANALYZE`.execute(store.db);
    const rssAfterWarmup = process.memoryUsage().rss;

    const sampler = sampleRss(process.pid, 100);
    const profiler = PROFILE ? new inspector.Session() : undefined;
    if (profiler) {
      profiler.connect();
      await new Promise((r) => profiler.post('Profiler.enable', () => profiler.post('Profiler.start', r)));
    }
    const hookMeter = await cpuMeter(bs.pgPids);
    const q0 = queries.n;
    const sq0 = { ...queries.sqliteMs };
    recording = true;
    const hookRun = await gen.run({
      ...common,
      path: hookPath,
      stream: 'webhook',
      seconds: SECONDS,
      recordSends: true,
    });
    recording = false;
    const hookCpu = await hookMeter(hookRun);
    const rssAfter = process.memoryUsage().rss;
    const q1 = queries.n;
    const sqliteUs: Record<string, number> = {};
    for (const [verb, ms] of Object.entries(queries.sqliteMs)) {
      const d = ms - (sq0[verb] ?? 0);
      if (d > 0) sqliteUs[verb] = (d * 1000) / Math.max(1, hookRun.latencies.length);
    }
    let profile: string | undefined;
    if (profiler) {
      const p = await new Promise<unknown>((resolve, reject) =>
        profiler.post('Profiler.stop', (err, res) => (err ? reject(err) : resolve(res.profile))),
      );
      profiler.disconnect();
      const file = path.join(benchDataDir(ROOT), `inbound-${kind}.cpuprofile`);
      fs.writeFileSync(file, JSON.stringify(p));
      profile = summariseProfile(p as Parameters<typeof summariseProfile>[0]);
      log(`${kind}: CPU profile written to ${path.relative(ROOT, file)}\n${profile}`);
    }
    const peak = Math.max(sampler.stop(), mib(rssAfter));
    const heapAfter = liveHeapMiB();
    const hook = phase(hookRun);
    log(`${kind}: webhooks ${fmtInt(hook.rate)} msg/s, p50 ${fmt(hook.latency.p50)} p99 ${fmt(hook.latency.p99)} ms`);

    // Event latency: our publish time minus the generator's send time, moved onto our clock (with
    // the mean of the offsets measured before and after the flood: a clock adjustment would show).
    const clockAfter = await gen.clockOffset();
    const offset = (clock.offset + clockAfter.offset) / 2;
    const sentAt = new Map<number, number>();
    for (let i = 0; i < hookRun.sends.length; i += 2) sentAt.set(hookRun.sends[i]!, hookRun.sends[i + 1]!);
    const ids = new Map<number, number>();
    const rows = await store.db
      .selectFrom('messages')
      .select(['id', 'platform_message_id'])
      .where('project_id', '=', projectId)
      .execute();
    for (const r of rows) ids.set(r.id, Number(String(r.platform_message_id).split(':')[1]));
    const eventLatencies: number[] = [];
    for (let i = 0; i < published.length; i += 2) {
      const sent = sentAt.get(ids.get(published[i]!) ?? -1);
      if (sent !== undefined) eventLatencies.push(published[i + 1]! - (sent - offset));
    }
    const event = stats(eventLatencies);
    log(`${kind}: realtime event p50 ${fmt(event.p50)} p99 ${fmt(event.p99)} ms (${fmtInt(event.n)} events)`);

    // Correctness: every 2xx is a stored message, every message had its event, one dialog per client.
    const count = async (table: 'messages' | 'dialogs') =>
      Number(
        (
          await store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('project_id', '=', projectId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    // What the flood stored: the seeded dialogs and messages are not its.
    const stored = (await count('messages')) - seeded.messages;
    const dialogs = (await count('dialogs')) - seeded.dialogs;
    const hook2xx = ok2xx(warm) + ok2xx(hookRun);
    const any5xx = [warm, hookRun, bare.result].reduce(
      (a, r) => a + Object.entries(r.statuses).reduce((b, [s, n]) => (s.startsWith('5') ? b + n : b), 0),
      0,
    );
    const errors = warm.errors + hookRun.errors + bare.result.errors;
    const checks = {
      hook2xx,
      stored,
      created: published.length / 2,
      dialogs,
      users: hookRun.users,
      any5xx,
      errors,
      ok:
        stored === hook2xx &&
        any5xx === 0 &&
        errors === 0 &&
        published.length / 2 === ok2xx(hookRun) &&
        dialogs === hookRun.users,
    };
    if (!checks.ok) log(`${kind}: CORRECTNESS CHECK FAILED ${JSON.stringify(checks)} ${hookRun.firstError ?? ''}`);
    if (kind === 'postgres') await sql`VACUUM ANALYZE`.execute(store.db).catch(() => {});

    return {
      kind,
      started,
      loadBefore,
      settings: bs.settings,
      bare,
      hook,
      event,
      eventsMissing: ok2xx(hookRun) - event.n,
      clock: { ...clock, offsetAfter: clockAfter.offset },
      cpu: { hook: hookCpu, bare: bareCpu },
      queriesPerWebhook: (q1 - q0) / Math.max(1, hookRun.latencies.length),
      sqliteUs,
      checks,
      rss: { idle: mib(rssIdle), afterWarmup: mib(rssAfterWarmup), after: mib(rssAfter), peak },
      heap: { idle: heapIdle, after: heapAfter },
      ...(profile ? { profile } : {}),
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await gen?.stop();
    await fastify?.close();
    await bs.drop();
  }
}

// ——— the report ———

/** Who used the CPU: per request (µs) and in cores, for the webhook and the bare route. */
function cpuTable(r: StoreResult): string[] {
  const n = os.cpus().length;
  // /proc counts in ticks of 10 ms: a difference of two counts can come out a hair below zero.
  const per = (ms: number, c: Cpu) => fmtInt(Math.max(0, (ms * 1000) / Math.max(1, c.requests)));
  const cores = (ms: number, c: Cpu) => fmt(Math.max(0, ms / 1000 / c.wallS));
  const pgRow = r.kind === 'postgres';
  const line = (label: string, c: Cpu) => {
    const other = c.machine - c.server - c.generator - c.postgres;
    return (
      `| ${label} | ${per(c.server, c)} (${per(c.serverKernel, c)}) | ${pgRow ? per(c.postgres, c) : '—'} | ${per(c.generator, c)} | ` +
      `${cores(c.server, c)} | ${pgRow ? cores(c.postgres, c) : '—'} | ${cores(c.generator, c)} | ${cores(other, c)} | ${cores(c.machine, c)} | ` +
      `${fmt(100 * c.elu, 0)}% |`
    );
  };
  const h = r.cpu.hook;
  const perMsg = (h.server + h.postgres + h.generator) / h.requests;
  const perMsgServer = (h.server + h.postgres) / h.requests;
  return [
    `**CPU** during each measured flood (from /proc; the machine has ${n} cores): per request in microseconds, and in cores. ` +
      (r.kind === 'postgres'
        ? 'PostgreSQL is the backends of the benchmark’s database with the WAL writer, checkpointer and background writer; '
        : '') +
      `“Other” is everything else running on the machine meanwhile. Statements sent to the store per webhook: ${fmt(r.queriesPerWebhook, 1)} (BEGIN and COMMIT included).`,
    '',
    '| flood | server µs/req (kernel) | PostgreSQL µs/req | generator µs/req | server cores | PostgreSQL cores | generator cores | other cores | machine cores | server event loop busy |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    line('webhook', h),
    line('bare route', r.cpu.bare),
    '',
    ...(r.kind === 'sqlite'
      ? [
          `better-sqlite3 is synchronous: per webhook the event loop is held inside SQLite for ${fmtInt(
            Object.values(r.sqliteUs).reduce((a, b) => a + b, 0),
          )} µs (${Object.entries(r.sqliteUs)
            .sort((a, b) => b[1] - a[1])
            .map(([v, us]) => `${v.toUpperCase()} ${fmtInt(us)}`)
            .join(', ')}; COMMIT includes the WAL fsync of synchronous=FULL), a ceiling of ${fmtInt(
            1e6 / Object.values(r.sqliteUs).reduce((a, b) => a + b, 0),
          )} webhooks/s before any JavaScript runs.`,
          '',
        ]
      : []),
    `CPU alone bounds this machine at about ${fmtInt((n * 1000) / perMsg)} webhooks/s with the generator on it, ` +
      `${fmtInt((n * 1000) / perMsgServer)}/s for the server${pgRow ? ' and PostgreSQL' : ''} with both cores to themselves; ` +
      `and the server’s JavaScript runs on one thread, which at ${fmtInt((h.server * 1000) / h.requests)} µs per webhook ` +
      `caps one process at about ${fmtInt((1000 * h.requests) / h.server)} webhooks/s whatever the cores.`,
  ];
}

function storePart(r: StoreResult): string {
  const m = machine();
  const p99 = Math.max(r.hook.latency.p99, r.event.p99);
  const met = r.hook.rate >= TARGET.rate && p99 < TARGET.p99;
  const misses = [
    r.hook.rate < TARGET.rate ? `${fmtInt(r.hook.rate)} msg/s < ${fmtInt(TARGET.rate)}` : '',
    p99 >= TARGET.p99 ? `p99 ${fmt(p99, 1)} ms ≥ ${TARGET.p99} ms` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const verdict =
    r.kind === 'postgres'
      ? `**Verdict (target: ≥ ${fmtInt(TARGET.rate)} msg/s on PostgreSQL, p99 < ${TARGET.p99} ms): ${met ? 'met' : `not met — ${misses}`}.**`
      : `**Against the PostgreSQL target, for reference (issue 3 sets none for SQLite): ${met ? 'would be met' : `would not be met — ${misses}`}.**`;
  const c = r.checks;
  const row = (label: string, n: number, rate: string, s: Stats, bad: string) =>
    `| ${label} | ${fmtInt(n)} | ${rate} | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.p99)} | ${fmt(s.max)} | ${bad} |`;
  const lines = [
    `### ${NAMES[r.kind]}`,
    '',
    `Measured ${r.started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${m.cpu}, ${m.memoryGiB} GiB, ${m.os}, ` +
      `Node ${m.node}; load average before the run ${r.loadBefore.map((l) => l.toFixed(2)).join(' / ')} (1/5/15 min). ` +
      `${r.settings}. ${CONCURRENCY} keep-alive connections, ${WARMUP} s warm-up then ${SECONDS} s measured ` +
      `(bare route: 2 s warm-up, ${BARE_SECONDS} s measured); the load generator shares the machine.`,
    '',
    verdict,
    '',
    '| | requests | per second | p50 ms | p95 ms | p99 ms | max ms | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    row(
      'webhook: request → committed (2xx)',
      r.hook.latency.n,
      fmtInt(r.hook.rate),
      r.hook.latency,
      fmtInt(r.hook.non2xx),
    ),
    row(
      'webhook: request → realtime event',
      r.event.n,
      '',
      r.event,
      r.eventsMissing ? `${r.eventsMissing} missing` : '',
    ),
    row(
      `baseline: bare route \`POST ${BARE_PATH}\``,
      r.bare.latency.n,
      fmtInt(r.bare.rate),
      r.bare.latency,
      fmtInt(r.bare.non2xx),
    ),
    '',
    ...cpuTable(r),
    '',
    `Checks ${c.ok ? 'passed' : '**FAILED**'}: ${fmtInt(c.hook2xx)} webhook 2xx (warm-up included), ${fmtInt(c.stored)} messages stored; ` +
      `${fmtInt(c.any5xx)} 5xx, ${fmtInt(c.errors)} connection errors; ${fmtInt(c.created)} \`message.created\` events in the measured run; ` +
      `${fmtInt(c.dialogs)} dialogs for ${fmtInt(c.users)} distinct clients. Generator clock minus the server’s: ${fmt(r.clock.offset, 3)} ms ` +
      `before the flood, ${fmt(r.clock.offsetAfter, 3)} ms after (IPC ping round trip ${fmt(r.clock.rtt, 3)} ms).`,
    '',
    `Server process RSS (this process runs the TypeScript through tsx, ~60 MB above the compiled server): ` +
      `${fmt(r.rss.idle, 0)} MiB after start, ${fmt(r.rss.afterWarmup, 0)} MiB after the bare route and the warm-up, ` +
      `${fmt(r.rss.after, 0)} MiB after the measured flood (peak ${fmt(r.rss.peak, 0)} MiB): ` +
      `${r.rss.after - r.rss.idle >= 0 ? '+' : ''}${fmt(r.rss.after - r.rss.idle, 0)} MiB. Live JavaScript heap after a full ` +
      `collection: ${fmt(r.heap.idle, 1)} MiB after start, ${fmt(r.heap.after, 1)} MiB after the flood (the benchmark's own ` +
      'records of the run, under 1 MiB, included).',
  ];
  return lines.join('\n');
}

async function main() {
  if (STORES.length === 0) throw new Error('BENCH_STORES names no store (sqlite, postgres)');
  const parts: Record<string, string> = {};
  for (const kind of STORES) {
    const r = await runStore(kind);
    parts[kind] = storePart(r);
    process.stdout.write(`${parts[kind]}\n\n`);
  }
  if (WRITE) {
    writeInboundSection(path.join(ROOT, 'docs/PERFORMANCE.md'), inboundIntro(NEW_USERS, TARGET), parts, [
      'sqlite',
      'postgres',
    ]);
    log('docs/PERFORMANCE.md updated');
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
