/**
 * `npm run bench`: the Message log and export benchmarks of issue 2, each beside a baseline measured
 * in the same run, written to docs/PERFORMANCE.md.
 *
 *   BENCH_STORES=sqlite,postgres   which stores (default both)
 *   BENCH_SQLITE_DIALOGS=200000    dataset sizes (messages ≈ 10 per dialog)
 *   BENCH_PG_DIALOGS=1000000
 *   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres   an admin connection to create databases
 *   BENCH_REUSE=1                  reuse a dataset left by an earlier run with BENCH_KEEP=1
 *   BENCH_KEEP=1                   keep the datasets (the database dz_bench_<n>, .bench-data/sqlite-<n>)
 *   BENCH_WRITE=0                  do not touch docs/PERFORMANCE.md
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { loadConfig } from '../src/config.js';
import { decodeCursor } from '../src/core/cursor.js';
import { LogListQuery } from '../src/core/log-query.js';
import { createApiToken } from '../src/services/accounts.js';
import { makeAppContext, type ProjectContext } from '../src/services/context.js';
import { resolveLogFilter } from '../src/services/log-filters.js';
import { seedProject } from '../src/services/seed.js';
import { applyDialogFilter, applyKeyset } from '../src/store/dialogs.js';
import { migrate } from '../src/store/migrate.js';
import { openStore, type Store } from '../src/store/open.js';
import { fmt, fmtInt, machine, ROOT, rssMiB, sampleRss, type Stats, startServer, stats, timeIt } from './lib.js';

const SECRET = 'bench-secret-key-0123456789-0123456789-abcdef';
const PROJECT = 1;
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',').map((s) => s.trim());
const SIZES = {
  sqlite: Number(process.env.BENCH_SQLITE_DIALOGS ?? 200_000),
  postgres: Number(process.env.BENCH_PG_DIALOGS ?? 1_000_000),
};
const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REUSE = process.env.BENCH_REUSE === '1';
const KEEP = process.env.BENCH_KEEP === '1';
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

interface Dataset {
  kind: 'sqlite' | 'postgres';
  dialogs: number;
  messages: number;
  seedSeconds: number | null;
  env: Record<string, string>;
  store: Store;
  drop(): Promise<void>;
}

async function prepare(kind: 'sqlite' | 'postgres'): Promise<Dataset> {
  const n = SIZES[kind];
  let store: Store;
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  let fresh = true;
  if (kind === 'sqlite') {
    const dir = path.join(ROOT, '.bench-data', `sqlite-${n}`);
    if (fs.existsSync(path.join(dir, 'dziennik.db')) && REUSE) fresh = false;
    else fs.rmSync(dir, { recursive: true, force: true });
    store = await openStore({ dataDir: dir });
    env = { DATA_DIR: dir, SECRET_KEY: SECRET };
    drop = async () => {
      await store.close();
      if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
    };
  } else {
    const name = `dz_bench_${n}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
    if (exists && REUSE) fresh = false;
    else {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
    }
    await admin.end();
    const url = new URL(PG_ADMIN);
    url.pathname = `/${name}`;
    store = await openStore({ databaseUrl: url.toString(), dataDir: '/tmp', poolSize: 4 });
    env = { DATABASE_URL: url.toString(), SECRET_KEY: SECRET };
    drop = async () => {
      await store.close();
      if (KEEP) return;
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  await migrate(store);
  let seedSeconds: number | null = null;
  if (fresh) {
    log(`${kind}: seeding ${fmtInt(n)} dialogs…`);
    const t = performance.now();
    await seedProject(store, { projectId: PROJECT, dialogs: n, seed: 42, progress: (m) => log(`${kind}: ${m}`) });
    seedSeconds = (performance.now() - t) / 1000;
    // As autovacuum would after a bulk load: statistics, and the visibility map for index-only scans.
    if (kind === 'postgres') await sql`VACUUM ANALYZE`.execute(store.db);
    else store.sqlite!.exec('ANALYZE');
  }
  // SQLite: the WAL into the database first, as a running server's automatic checkpoints keep it. A
  // reused dataset can carry a WAL of tens of MB from earlier (interrupted) runs, and every page read
  // then looks in it first. Two runs on a reused dataset measured 77,937 and 83,816 rows/s; with the
  // 78 MB WAL found after them checkpointed, 132,354.
  if (kind === 'sqlite') store.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
  const counts = await store.db
    .selectFrom('dialogs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', PROJECT)
    .executeTakeFirstOrThrow();
  const msgs = await store.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', PROJECT)
    .executeTakeFirstOrThrow();
  return { kind, dialogs: Number(counts.n), messages: Number(msgs.n), seedSeconds, env, store, drop };
}

/** The same SQL the app runs for a log page, compiled from the same store functions, run raw. */
function rawLogQuery(store: Store, ctx: ProjectContext, raw: Record<string, unknown>) {
  const q = LogListQuery.parse(raw);
  const { filter, sort } = resolveLogFilter(ctx, q);
  let after: (string | number)[] | undefined;
  if (q.cursor) after = decodeCursor(SECRET, `log:${PROJECT}`, q.cursor).k;
  let qb = store.db.selectFrom('dialogs').selectAll('dialogs');
  qb = applyDialogFilter(store, qb, filter);
  qb = applyKeyset(qb, sort, after);
  const compiled = qb.limit(q.limit + 1).compile();
  if (store.dialect === 'sqlite') {
    const stmt = store.sqlite!.prepare(compiled.sql);
    const params = compiled.parameters as unknown[];
    return async () => stmt.all(...params);
  }
  const pool = store.pgPool!;
  return async () => (await pool.query({ text: compiled.sql, values: compiled.parameters as unknown[] })).rows;
}

interface PageResult {
  name: string;
  app: Stats;
  raw: Stats;
  bare: Stats;
  rows: number;
}

async function logPages(
  ds: Dataset,
  url: string,
  token: string,
): Promise<{ pages: PageResult[]; params: Record<string, unknown> }> {
  const headers = { authorization: `Bearer ${token}` };
  const ctx: ProjectContext = {
    ...makeAppContext({ store: ds.store, config: { ...loadConfig({ SECRET_KEY: SECRET }), secretKey: SECRET } }),
    project: { id: PROJECT, name: 'bench', timeZone: 'Europe/Warsaw', language: 'pl' },
    actor: { type: 'token', id: 0, name: 'bench', role: 'supervisor' },
  };
  const busiest = await ds.store.db
    .selectFrom('dialogs')
    .select(['manager_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('project_id', '=', PROJECT)
    .where('status', '=', 'closed')
    .where('manager_id', 'is not', null)
    .groupBy('manager_id')
    .orderBy('n', 'desc')
    .executeTakeFirstOrThrow();
  const qs = (o: Record<string, unknown>) =>
    new URLSearchParams(
      Object.entries(o).flatMap(([k, v]): [string, string][] =>
        Array.isArray(v) ? v.map((x) => [k, String(x)]) : [[k, String(v)]],
      ),
    ).toString();
  const get = async (o: Record<string, unknown>) => {
    const r = await fetch(`${url}/api/v1/projects/${PROJECT}/dialogs?${qs(o)}`, { headers });
    if (!r.ok) throw new Error(`log page ${r.status}: ${await r.text()}`);
    return (await r.json()) as { items: unknown[]; nextCursor: string | null };
  };
  // Page 1,000 of the default view, reached by following cursors from page 1.
  let cursor: string | null = null;
  const walk = performance.now();
  for (let i = 1; i < 1000; i++) {
    const p = await get({ limit: 50, ...(cursor ? { cursor } : {}) });
    cursor = p.nextCursor;
    if (!cursor) throw new Error(`only ${i} pages of closed dialogs`);
  }
  log(`${ds.kind}: walked 999 pages in ${fmt((performance.now() - walk) / 1000)} s`);
  const scenarios: [string, Record<string, unknown>][] = [
    ['first page (closed, newest first, 50 rows)', { limit: 50 }],
    ['page 1,000 by cursor (50 rows)', { limit: 50, cursor }],
    [
      'manager + month (October 2026)',
      { limit: 50, managerId: busiest.manager_id, from: '2026-10-01', to: '2026-10-31' },
    ],
    ['sorted by manager, first page', { limit: 50, sort: 'manager' }],
    ['all statuses, two channels', { limit: 50, status: 'all', channel: ['telegram', 'viber'] }],
  ];
  const pages: PageResult[] = [];
  const bareRoute = async () => (await fetch(`${url}/healthz`)).text();
  for (const [name, params] of scenarios) {
    const rows = (await get(params)).items.length;
    const app = await timeIt(300, () => get(params));
    const raw = await timeIt(300, rawLogQuery(ds.store, ctx, params));
    const bare = await timeIt(300, bareRoute);
    pages.push({ name, app, raw, bare, rows });
    log(
      `${ds.kind}: ${name}: app p50 ${fmt(app.p50)} p95 ${fmt(app.p95)} | SQL p50 ${fmt(raw.p50)} p95 ${fmt(raw.p95)} ms`,
    );
  }
  return { pages, params: { managerId: busiest.manager_id } };
}

interface ExportRun {
  rows: number;
  seconds: number;
  bytes: number;
  peakRss: number;
}

async function runExport(url: string, token: string, query: string, pid: number): Promise<ExportRun> {
  const sampler = sampleRss(pid, 25);
  const t = performance.now();
  // node:http, not fetch: undici's web streams cost the client more CPU than the server spends
  // producing the CSV (1M dialogs: 70,000 rows/s through fetch, the same server twice as fast here).
  const bytes = await new Promise<number>((resolve, reject) => {
    http
      .get(
        `${url}/api/v1/projects/${PROJECT}/dialogs/export?${query}`,
        { headers: { authorization: `Bearer ${token}` } },
        (res) => {
          let n = 0;
          if (res.statusCode !== 200) {
            res.setEncoding('utf8');
            let body = '';
            res.on('data', (c: string) => {
              body += c;
            });
            res.on('end', () => reject(new Error(`export ${res.statusCode}: ${body}`)));
            return;
          }
          res.on('data', (c: Buffer) => {
            n += c.length;
          });
          res.on('end', () => resolve(n));
          res.on('error', reject);
        },
      )
      .on('error', reject);
  });
  const seconds = (performance.now() - t) / 1000;
  const peakRss = sampler.stop();
  return { rows: 0, seconds, bytes, peakRss };
}

/** The newest export audit entry's id (exports are audited just after their last byte). */
async function lastExportAuditId(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('audit_log')
    .select('id')
    .where('project_id', '=', PROJECT)
    .where('action', 'like', 'export%')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return row?.id ?? 0;
}

/** Row count of the export audited after `afterId`, waiting for its entry to be written. */
async function exportRowsAfter(store: Store, afterId: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const row = await store.db
      .selectFrom('audit_log')
      .select('details')
      .where('project_id', '=', PROJECT)
      .where('action', 'like', 'export%')
      .where('id', '>', afterId)
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (row) {
      const d = JSON.parse(row.details) as Record<string, unknown>;
      return Number(d.rows ?? Number.NaN);
    }
    await sleep(50);
  }
  throw new Error('the export was not audited');
}

const EXPORT_SQL = `SELECT d.id, d.manager_sort, d.created_at, d.closed_at, d.status, d.channel_type, d.channel_id, d.client_name,
  d.client_phone, d.client_external_id, d.client_handle, d.manager_name, d.closed_by_name, d.close_reason, d.last_responder_type,
  d.last_responder_name, d.messages_in, d.messages_out, d.first_response_seconds, d.source, d.utm_source, d.utm_medium,
  d.utm_campaign, d.utm_term, d.utm_content, d.referrer, d.landing_url, d.click_ids, d.channel_group
  FROM dialogs d
  WHERE d.project_id = ${PROJECT}`;

async function exportBaselines(ds: Dataset) {
  const out: { name: string; rows: number; seconds: number }[] = [];
  if (ds.kind === 'postgres') {
    const client = await ds.store.pgPool!.connect();
    try {
      const t = performance.now();
      const stream = client.query(
        copyTo(`COPY (${EXPORT_SQL} ORDER BY d.created_at DESC, d.id DESC) TO STDOUT WITH (FORMAT csv)`),
      );
      let lines = 0;
      for await (const chunk of stream) {
        const b = chunk as Buffer;
        for (let i = 0; i < b.length; i++) if (b[i] === 10) lines++;
      }
      out.push({ name: 'COPY (same query) TO STDOUT, CSV', rows: lines, seconds: (performance.now() - t) / 1000 });
    } finally {
      client.release();
    }
    // Raw row iteration of the same query, in the same keyset chunks the export uses.
    const t = performance.now();
    let rows = 0;
    let last: [number, number] | undefined;
    for (;;) {
      const where = last ? ` AND (d.created_at, d.id) < (${last[0]}, ${last[1]})` : '';
      const r = await ds.store.pgPool!.query({
        text: `${EXPORT_SQL}${where} ORDER BY d.created_at DESC, d.id DESC LIMIT 5000`,
        rowMode: 'array',
      });
      rows += r.rows.length;
      if (r.rows.length < 5000) break;
      const l = r.rows[r.rows.length - 1] as unknown[];
      last = [Number(l[2]), Number(l[0])];
    }
    out.push({
      name: 'raw rows of the same query (keyset chunks of 5,000, pg)',
      rows,
      seconds: (performance.now() - t) / 1000,
    });
  } else {
    const t = performance.now();
    let rows = 0;
    for (const _ of ds.store.sqlite!.prepare(`${EXPORT_SQL} ORDER BY d.created_at DESC, d.id DESC`).raw().iterate())
      rows++;
    out.push({
      name: 'raw rows of the same query (one better-sqlite3 iterate)',
      rows,
      seconds: (performance.now() - t) / 1000,
    });
  }
  return out;
}

async function latencyDuringExport(url: string, token: string, pid: number) {
  const headers = { authorization: `Bearer ${token}` };
  const probe = async (until: () => boolean, minSamples: number) => {
    const health: number[] = [];
    const page: number[] = [];
    while (!until() || health.length < minSamples) {
      let t = performance.now();
      await (await fetch(`${url}/healthz`)).text();
      health.push(performance.now() - t);
      t = performance.now();
      await (await fetch(`${url}/api/v1/projects/${PROJECT}/dialogs?limit=50`, { headers })).text();
      page.push(performance.now() - t);
      if (until() && health.length >= minSamples) break;
    }
    return { health: stats(health), page: stats(page) };
  };
  const idle = await probe(() => true, 200);
  let finished = false;
  const exp = runExport(url, token, 'status=all&kind=dialogs', pid).then((r) => {
    finished = true;
    return r;
  });
  await sleep(50);
  const busy = await probe(() => finished, 20);
  await exp;
  return { idle, busy };
}

async function main() {
  const results: string[] = [];
  const m = machine();
  const started = new Date();
  for (const kind of STORES as ('sqlite' | 'postgres')[]) {
    const ds = await prepare(kind);
    log(`${kind}: ${fmtInt(ds.dialogs)} dialogs, ${fmtInt(ds.messages)} messages`);
    const { token } = await createApiToken(
      makeAppContext({ store: ds.store, config: { ...loadConfig({ SECRET_KEY: SECRET }), secretKey: SECRET } }),
      { projectId: PROJECT, role: 'supervisor', name: 'bench', createdBy: null },
    );
    const server = await startServer(ds.env);
    try {
      const startRss = rssMiB(server.pid).rss;
      const { pages } = await logPages(ds, server.url, token);

      // Export: a month, then everything, each on a fresh server so the peaks are independent.
      await server.stop();
      const exports: { name: string; run: ExportRun }[] = [];
      for (const [name, query] of [
        ['dialogs.csv, one month (October 2026)', 'status=all&kind=dialogs&from=2026-10-01&to=2026-10-31'],
        ['dialogs.csv, everything', 'status=all&kind=dialogs'],
        ['messages.csv, one month (October 2026)', 'status=all&kind=messages&from=2026-10-01&to=2026-10-31'],
      ] as const) {
        const s = await startServer(ds.env);
        try {
          const before = await lastExportAuditId(ds.store);
          const run = await runExport(s.url, token, query, s.pid);
          run.rows = await exportRowsAfter(ds.store, before);
          exports.push({ name, run });
          log(
            `${kind}: export ${name}: ${fmtInt(run.rows)} rows in ${fmt(run.seconds)} s = ${fmtInt(run.rows / run.seconds)} rows/s, peak RSS ${fmt(run.peakRss, 0)} MiB`,
          );
        } finally {
          await s.stop();
        }
      }
      const baselines = await exportBaselines(ds);
      for (const b of baselines) log(`${kind}: baseline ${b.name}: ${fmtInt(b.rows / b.seconds)} rows/s`);

      const s2 = await startServer(ds.env);
      let during: Awaited<ReturnType<typeof latencyDuringExport>>;
      try {
        during = await latencyDuringExport(s2.url, token, s2.pid);
      } finally {
        await s2.stop();
      }
      log(
        `${kind}: during export: healthz p99 ${fmt(during.busy.health.p99)} ms, log page p99 ${fmt(during.busy.page.p99)} ms`,
      );

      const lines: string[] = [];
      lines.push(
        `### ${kind === 'postgres' ? 'PostgreSQL' : 'SQLite'}: ${fmtInt(ds.dialogs)} dialogs, ${fmtInt(ds.messages)} messages`,
      );
      lines.push('');
      if (ds.seedSeconds !== null) {
        lines.push(
          `Seeded by \`dziennik seed\` in ${fmt(ds.seedSeconds, 0)} s (${fmtInt(ds.dialogs / ds.seedSeconds)} dialogs/s, ${fmtInt(ds.messages / ds.seedSeconds)} messages/s, indexes included).`,
        );
        lines.push('');
      }
      lines.push(
        '**Log page** — the app over HTTP (keep-alive, Bearer token, JSON) beside the same SQL run directly through the driver (a prepared statement), and beside a bare route (`/healthz`) over the same HTTP connection; 300 requests each, milliseconds. "App overhead" is app − SQL − bare route: authentication, validation, the query builder, the JSON.',
      );
      lines.push('');
      lines.push(
        '| page | rows | app p50 | app p95 | SQL p50 | SQL p95 | bare route p50 | app / SQL (p50) | app overhead p50 |',
      );
      lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const p of pages) {
        lines.push(
          `| ${p.name} | ${p.rows} | ${fmt(p.app.p50)} | ${fmt(p.app.p95)} | ${fmt(p.raw.p50)} | ${fmt(p.raw.p95)} | ${fmt(p.bare.p50)} | ${fmt(p.app.p50 / p.raw.p50)}× | ${fmt(p.app.p50 - p.raw.p50 - p.bare.p50)} |`,
        );
      }
      lines.push('');
      lines.push(
        '**Export** — streamed over HTTP to the benchmark client; peak RSS of the server process (sampled every 25 ms; idle after start: ' +
          `${fmt(startRss, 0)} MiB).`,
      );
      lines.push('');
      lines.push('| export | rows | seconds | rows/s | MB | server peak RSS |');
      lines.push('|---|---:|---:|---:|---:|---:|');
      for (const e of exports) {
        lines.push(
          `| ${e.name} | ${fmtInt(e.run.rows)} | ${fmt(e.run.seconds)} | ${fmtInt(e.run.rows / e.run.seconds)} | ${fmt(e.run.bytes / 1e6, 1)} | ${fmt(e.run.peakRss, 0)} MiB |`,
        );
      }
      for (const b of baselines)
        lines.push(
          `| baseline: ${b.name} | ${fmtInt(b.rows)} | ${fmt(b.seconds)} | ${fmtInt(b.rows / b.seconds)} | | |`,
        );
      lines.push('');
      lines.push(
        '**Responsiveness while the full export runs** — one client alternating `/healthz` and a log page, milliseconds.',
      );
      lines.push('');
      lines.push('| | samples | p50 | p95 | p99 | max |');
      lines.push('|---|---:|---:|---:|---:|---:|');
      for (const [label, st] of [
        ['/healthz, idle', during.idle.health],
        ['/healthz, during export', during.busy.health],
        ['log page, idle', during.idle.page],
        ['log page, during export', during.busy.page],
      ] as const) {
        lines.push(`| ${label} | ${st.n} | ${fmt(st.p50)} | ${fmt(st.p95)} | ${fmt(st.p99)} | ${fmt(st.max)} |`);
      }
      lines.push('');
      results.push(lines.join('\n'));
    } finally {
      await server.stop();
      await ds.drop();
    }
  }
  const header = [
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${m.cpu}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}.`,
    'The benchmark client runs on the same machine as the server (2 cores shared).',
    '',
  ].join('\n');
  const body = `${header}\n${results.join('\n')}`;
  process.stdout.write(`${body}\n`);
  if (process.env.BENCH_WRITE !== '0') {
    const file = path.join(ROOT, 'docs/PERFORMANCE.md');
    const text = fs.readFileSync(file, 'utf8');
    const begin = '<!-- bench:log-export:begin -->';
    const end = '<!-- bench:log-export:end -->';
    const i = text.indexOf(begin);
    const j = text.indexOf(end);
    if (i < 0 || j < 0) throw new Error('docs/PERFORMANCE.md lacks the bench markers');
    fs.writeFileSync(file, `${text.slice(0, i + begin.length)}\n${body}\n${text.slice(j)}`);
    log('docs/PERFORMANCE.md updated');
  }
  // Issue 3: inbound webhooks (bench/inbound.ts: the server in a process of its own; same BENCH_* variables).
  execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/inbound.ts')], { stdio: 'inherit' });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
