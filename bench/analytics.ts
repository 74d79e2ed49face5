/**
 * Analytics for a month of a 1,000,000-dialog project on PostgreSQL (issue 7: under 300 ms).
 *
 *   node --import tsx bench/analytics.ts
 *
 * Uses the database dz_bench_<n> of bench/run.ts (project 1, seed 42) when it exists, and seeds it
 * otherwise (kept afterwards; ~7 minutes for 1M dialogs). Times the service call (computeAnalytics,
 * what GET .../analytics runs, without HTTP) for September 2026 — per project and per manager —
 * beside the same four statements run through the pg driver directly, and each statement alone.
 *
 *   BENCH_DIALOGS=1000000  BENCH_RUNS=10  BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { AnalyticsQuery, analyticsStatements, computeAnalytics } from '../src/services/analytics.js';
import { makeAppContext, type ProjectContext } from '../src/services/context.js';
import { seedProject } from '../src/services/seed.js';
import { migrate } from '../src/store/migrate.js';
import { openStore } from '../src/store/open.js';
import { stats } from './lib.js';

const N = Number(process.env.BENCH_DIALOGS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const PROJECT = 1;
const SECRET = 'bench-secret-key-0123456789-0123456789-abcdef';
const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

const name = `dz_bench_${N}`;
const admin = new pg.Client({ connectionString: PG_ADMIN });
await admin.connect();
const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
if (!exists) await admin.query(`CREATE DATABASE ${name}`);
await admin.end();
const url = new URL(PG_ADMIN);
url.pathname = `/${name}`;
const store = await openStore({ databaseUrl: url.toString(), dataDir: '/tmp', poolSize: 6 });
log('migrating…');
await migrate(store);
const count = async () =>
  Number((await store.pgPool!.query('SELECT count(*) AS n FROM dialogs WHERE project_id = $1', [PROJECT])).rows[0].n);
if ((await count()) === 0) {
  log(`seeding ${N} dialogs…`);
  await seedProject(store, { projectId: PROJECT, dialogs: N, seed: 42, progress: log });
  await sql`VACUUM ANALYZE`.execute(store.db);
}
const dialogs = await count();
const messages = Number(
  (await store.pgPool!.query('SELECT count(*) AS n FROM messages WHERE project_id = $1', [PROJECT])).rows[0].n,
);
log(`${dialogs} dialogs, ${messages} messages`);

const app = makeAppContext({
  store,
  config: { ...loadConfig({ LOG_LEVEL: 'silent', SECRET_KEY: SECRET }), secretKey: SECRET },
  clock: () => Date.UTC(2026, 10, 1),
});
const ctx: ProjectContext = {
  ...app,
  project: { id: PROJECT, name: 'bench', timeZone: 'Europe/Warsaw', language: 'pl' },
  actor: { type: 'system', name: 'bench' },
};

const fmt = (s: { p50: number; p95: number }) => `p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms`;
async function timeRuns(fn: () => Promise<unknown>) {
  for (let i = 0; i < 2; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return stats(samples);
}

const LABELS = [
  'A: created in the period',
  'B: open, created before',
  'C: closed in the period',
  'D: closed after, created before',
];
for (const groupBy of ['none', 'manager'] as const) {
  const q = AnalyticsQuery.parse({ from: '2026-09-01', to: '2026-09-30', groupBy, trend: 'day' });
  const t = performance.now();
  const result = await computeAnalytics(ctx, q);
  const first = performance.now() - t;
  if (groupBy === 'none') {
    // The first call wrote the per-dialog medians of the month; as autovacuum would afterwards
    // (statistics, and the visibility map for index-only scans).
    const v = performance.now();
    await sql`VACUUM ANALYZE dialogs`.execute(store.db);
    log(`VACUUM ANALYZE dialogs: ${(performance.now() - v).toFixed(0)} ms`);
  }
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ');
  console.log(
    `\nSeptember 2026, groupBy=${groupBy}, trend=day (${RUNS} runs after 2 warm-ups), load average ${load()}`,
  );
  console.log(`  totals: ${JSON.stringify(result.totals)}`);
  console.log(`  first call (fills the per-dialog median cache where missing): ${first.toFixed(1)} ms`);
  console.log(`  service (computeAnalytics):   ${fmt(await timeRuns(() => computeAnalytics(ctx, q)))}`);
  const { statements } = analyticsStatements(ctx, q);
  const pool = store.pgPool!;
  const raw = await timeRuns(() => Promise.all(statements.map((s) => pool.query(s.sql, s.parameters as unknown[]))));
  console.log(`  raw SQL (${statements.length} statements in parallel; cache check in C, medians in JS): ${fmt(raw)}`);
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i]!;
    const one = await timeRuns(() => pool.query(s.sql, s.parameters as unknown[]));
    console.log(`    ${LABELS[i]!.padEnd(30)} ${fmt(one)}`);
  }
  console.log(`  load average at the end: ${load()}`);
}
if (process.env.BENCH_EXPLAIN) {
  const { fill, statements } = analyticsStatements(ctx, AnalyticsQuery.parse({ from: '2026-09-01', to: '2026-09-30' }));
  for (const s of [fill, ...statements]) {
    const r = await store.pgPool!.query(`EXPLAIN (ANALYZE, BUFFERS) ${s.sql}`, s.parameters as unknown[]);
    console.log(r.rows.map((x) => x['QUERY PLAN']).join('\n'));
  }
}
await store.close();
