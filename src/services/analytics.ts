import { sql } from 'kysely';
import { z } from 'zod';
import { type CsvDelimiter, csvRecord, UTF8_BOM } from '../core/csv.js';
import { invalid } from '../core/errors.js';
import { LogFilters } from '../core/log-query.js';
import { localDate, makeZonedIsoFormatter, startOfLocalDay, startOfNextLocalDay } from '../core/time.js';
import { applyDialogFilter } from '../store/dialogs.js';
import type { ProjectContext } from './context.js';
import { resolveLogFilter } from './log-filters.js';

/**
 * Handling analytics (SPEC §4.10, issue 7). The definitions are in docs/ANALYTICS.md and this
 * module follows them to the letter; read that first. In short: the log's filters (without
 * `status`) choose the dialogs, `from`/`to` are the period (not a filter on creation), and
 *
 * - counts come from the dialogs' denormalised columns in one grouped query;
 * - the first-response median from `first_message_at`/`first_response_at` (maintained on every
 *   manager reply, never by auto-replies), as a window-function median that runs on both stores;
 * - each dialog's median response time from its messages, with window functions (LAG for the
 *   start of a client turn, a MIN over the following rows for the next manager reply), kept on the
 *   closed dialog (migration 007's cache columns, keyed by `closed_at`) so a period reads it back;
 * - trend buckets are local days, ISO weeks or months in the project's time zone, computed here
 *   with core/time.ts and assigned in SQL by a binary CASE over the bucket boundaries.
 */

export const GROUP_BY = ['none', 'manager'] as const;
export const TREND_UNITS = ['day', 'week', 'month'] as const;
/** More buckets than this in one response is refused (a year and a month of days). */
export const MAX_BUCKETS = 400;
/** Default period when `from` is absent: the 30 local days ending with `to` (or today). */
const DEFAULT_DAYS = 30;
const IDLE_MS = 24 * 3600 * 1000;

export const AnalyticsQuery = LogFilters.omit({ status: true, sort: true, order: true }).extend({
  groupBy: z.enum(GROUP_BY).default('none').describe('none: the project as a whole; manager: one row per manager'),
  trend: z.enum(TREND_UNITS).default('day').describe('Trend buckets in the project time zone'),
});
export type AnalyticsQuery = z.infer<typeof AnalyticsQuery>;

export const AnalyticsExportQuery = AnalyticsQuery.extend({
  table: z.enum(['summary', 'trend']).default('summary').describe('summary: totals and managers; trend: buckets'),
  delimiter: z.enum([';', ',']).default(';'),
});
export type AnalyticsExportQuery = z.infer<typeof AnalyticsExportQuery>;

export interface Figures {
  total: number;
  new: number;
  closed: number;
  closedWithoutReply: number;
  openIdle: number;
  medianFirstResponseSeconds: number | null;
  avgMedianResponseSeconds: number | null;
  /** Dialogs behind each of the two times. */
  firstResponseDialogs: number;
  responseDialogs: number;
}

export interface ManagerFigures extends Figures {
  managerId: number | null;
  managerName: string | null;
}

export interface TrendBucket {
  /** Local date the bucket starts on (the first bucket may start later, at `from`). */
  start: string;
  from: string;
  to: string;
  new: number;
  closed: number;
  closedWithoutReply: number;
  medianFirstResponseSeconds: number | null;
  avgMedianResponseSeconds: number | null;
}

export interface AnalyticsResult {
  period: { from: string; to: string; timeZone: string };
  now: string;
  groupBy: 'none' | 'manager';
  totals: Figures;
  managers: ManagerFigures[];
  trend: { unit: 'day' | 'week' | 'month'; buckets: TrendBucket[] };
}

const isDate = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v);

/** Adds days to a `yyyy-mm-dd` date. */
function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** The local date starting the bucket that contains `date`. */
function bucketStartDate(date: string, unit: 'day' | 'week' | 'month'): string {
  if (unit === 'day') return date;
  if (unit === 'month') return `${date.slice(0, 8)}01`;
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const dow = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday = 0
  return addDays(date, -dow);
}

function nextBucketDate(date: string, unit: 'day' | 'week' | 'month'): string {
  if (unit === 'day') return addDays(date, 1);
  if (unit === 'week') return addDays(date, 7);
  const [y, m] = date.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
}

/** Buckets covering [from, to): local start dates and instants, the first and last clipped. */
export function trendBuckets(
  from: number,
  to: number,
  unit: 'day' | 'week' | 'month',
  tz: string,
): { start: string; from: number; to: number }[] {
  const out: { start: string; from: number; to: number }[] = [];
  let date = bucketStartDate(localDate(from, tz), unit);
  while (true) {
    const s = startOfLocalDay(date, tz);
    if (s >= to) break;
    const next = nextBucketDate(date, unit);
    const e = startOfNextLocalDay(addDays(next, -1), tz);
    out.push({ start: date, from: Math.max(s, from), to: Math.min(e, to) });
    if (out.length > MAX_BUCKETS)
      throw invalid('query.trend', `gives more than ${MAX_BUCKETS} buckets for this period`);
    date = next;
  }
  return out;
}

/** A CASE expression giving the bucket index of `col` by binary search over the boundaries. */
function bucketExpr(col: string, starts: number[]): string {
  const rec = (lo: number, hi: number): string => {
    if (lo === hi) return String(lo);
    const mid = (lo + hi + 1) >> 1;
    return `CASE WHEN ${col} < ${starts[mid]} THEN ${rec(lo, mid - 1)} ELSE ${rec(mid, hi)} END`;
  };
  return rec(0, starts.length - 1);
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Resolves the period: dates in the project's zone (`to` inclusive of its day), instants as given. */
export function resolvePeriod(ctx: ProjectContext, q: Pick<AnalyticsQuery, 'from' | 'to'>) {
  const tz = ctx.project.timeZone;
  const now = ctx.clock();
  const to =
    q.to === undefined
      ? startOfNextLocalDay(localDate(now, tz), tz)
      : isDate(q.to)
        ? startOfNextLocalDay(q.to, tz)
        : Date.parse(q.to) + 1;
  const from =
    q.from === undefined
      ? startOfLocalDay(addDays(localDate(to - 1, tz), 1 - DEFAULT_DAYS), tz)
      : isDate(q.from)
        ? startOfLocalDay(q.from, tz)
        : Date.parse(q.from);
  if (from >= to) throw invalid('query.to', 'must not be before from');
  return { from, to };
}

function emptyFigures(): Figures {
  return {
    total: 0,
    new: 0,
    closed: 0,
    closedWithoutReply: 0,
    openIdle: 0,
    medianFirstResponseSeconds: null,
    avgMedianResponseSeconds: null,
    firstResponseDialogs: 0,
    responseDialogs: 0,
  };
}

type Row = Record<string, unknown>;

/** The period, the trend buckets and the SQL of the figures (docs/ANALYTICS.md). */
export function analyticsStatements(ctx: ProjectContext, q: AnalyticsQuery) {
  const tz = ctx.project.timeZone;
  const now = ctx.clock();
  const { from, to } = resolvePeriod(ctx, q);
  const buckets = trendBuckets(from, to, q.trend, tz);
  const starts = buckets.map((b) => b.from);
  // The log's filters and visibility; the period is ours, so no creation bounds.
  const { filter } = resolveLogFilter(ctx, { ...q, from: undefined, to: undefined, status: 'all', sort: 'created' });
  const db = ctx.store.db;
  const base = () => applyDialogFilter(ctx.store, db.selectFrom('dialogs'), filter);
  const byManager = q.groupBy === 'manager';
  const mgr = sql.raw(byManager ? 'COALESCE(dialogs.manager_id, 0)' : '0');
  const closedIn = sql`dialogs.status = 'closed' AND dialogs.closed_at >= ${from} AND dialogs.closed_at < ${to}`;
  const noReply = sql`dialogs.first_message_at IS NOT NULL AND dialogs.first_response_at IS NULL`;
  const closedBucket = sql.raw(bucketExpr('dialogs.closed_at', starts));
  const createdBucket = sql.raw(bucketExpr('dialogs.created_at', starts));

  // 1. Counts per group: the dialogs active in the period, in three disjoint parts run in parallel,
  // each a range of a covering index (migration 007): created in the period; created before it and
  // still open; created before it and closed in or after it. Neither store reads the dialogs closed
  // before the period.
  const countsSelect = () =>
    base().select([
      sql<number>`${mgr}`.as('g'),
      sql<number>`COUNT(*)`.as('total'),
      sql<number>`SUM(CASE WHEN dialogs.created_at >= ${from} THEN 1 ELSE 0 END)`.as('new'),
      sql<number>`SUM(CASE WHEN ${closedIn} THEN 1 ELSE 0 END)`.as('closed'),
      sql<number>`SUM(CASE WHEN ${closedIn} AND ${noReply} THEN 1 ELSE 0 END)`.as('no_reply'),
      sql<number>`SUM(CASE WHEN dialogs.status <> 'closed' AND COALESCE(dialogs.last_message_at, dialogs.created_at) < ${now - IDLE_MS} THEN 1 ELSE 0 END)`.as(
        'idle',
      ),
    ]);
  const countsInQ = countsSelect()
    .where('dialogs.created_at', '>=', from)
    .where('dialogs.created_at', '<', to)
    .groupBy(sql`1`);
  const countsOpenBeforeQ = countsSelect()
    .where('dialogs.created_at', '<', from)
    .where(sql<boolean>`dialogs.status IN ('new', 'open')`)
    .groupBy(sql`1`);
  const countsClosedBeforeQ = countsSelect()
    .where('dialogs.created_at', '<', from)
    .where(sql<boolean>`dialogs.status = 'closed' AND dialogs.closed_at >= ${from}`)
    .groupBy(sql`1`);

  // 2. Trend counts: new by creation bucket, closed by closing bucket.
  const newTrendQ = base()
    .select([sql<number>`${createdBucket}`.as('b'), sql<number>`COUNT(*)`.as('n')])
    .where('dialogs.created_at', '>=', from)
    .where('dialogs.created_at', '<', to)
    .groupBy(sql`1`);
  const closedTrendQ = base()
    .select([
      sql<number>`${closedBucket}`.as('b'),
      sql<number>`COUNT(*)`.as('n'),
      sql<number>`SUM(CASE WHEN ${noReply} THEN 1 ELSE 0 END)`.as('no_reply'),
    ])
    .where(sql<boolean>`${closedIn}`)
    .groupBy(sql`1`);

  // 3. First-response median (closed in the period), overall, per group and per bucket.
  const firstQ = base()
    .select([
      sql<number>`${mgr}`.as('g'),
      sql<number>`${closedBucket}`.as('b'),
      sql<number>`dialogs.first_response_at - dialogs.first_message_at`.as('x'),
    ])
    .where(sql<boolean>`${closedIn}`)
    .where('dialogs.first_message_at', 'is not', null)
    .where('dialogs.first_response_at', 'is not', null);
  const median = (part: string, key: string) =>
    sql.raw(`SELECT t.k, AVG(t.x) AS med, MAX(t.c) AS n FROM (SELECT ${key} AS k, x,
      ROW_NUMBER() OVER (${part} ORDER BY x) AS rn, COUNT(*) OVER (${part}) AS c FROM v) t
      WHERE t.rn IN ((t.c + 1) / 2, (t.c + 2) / 2) GROUP BY t.k`);
  // PostgreSQL has the median built in (percentile_cont(0.5): the mean of the two middle values for
  // an even count, as defined) and one pass with grouping sets; SQLite gets window functions.
  const firstSql =
    ctx.store.dialect === 'postgres'
      ? sql<Row>`WITH v AS ${firstQ}
    SELECT CASE WHEN GROUPING(g) = 0 THEN 1 WHEN GROUPING(b) = 0 THEN 2 ELSE 0 END AS kind,
      COALESCE(g, b, 0) AS k, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS med, COUNT(*) AS n
    FROM v GROUP BY GROUPING SETS ((), (g), (b))`
      : sql<Row>`WITH v AS ${firstQ}
    SELECT 0 AS kind, q0.* FROM (${median('', '0')}) q0
    UNION ALL SELECT 1 AS kind, q1.* FROM (${median('PARTITION BY g', 'g')}) q1
    UNION ALL SELECT 2 AS kind, q2.* FROM (${median('PARTITION BY b', 'b')}) q2`;

  // 4. Each closed dialog's median response time: first the cache (migration 007) is filled for the
  // project's dialogs closed in the period that lack a current value, from their messages; then the
  // medians are summed per (group, bucket), so the service can form every mean without a second pass.
  // The CTEs are materialised so that PostgreSQL cannot re-run the window pass per updated row.
  const fillSql = sql`WITH d AS MATERIALIZED (
      SELECT id, closed_at FROM dialogs
      WHERE project_id = ${ctx.project.id} AND status = 'closed' AND closed_at >= ${from} AND closed_at < ${to}
        AND (response_median_for IS NULL OR response_median_for <> closed_at)
    ),
    m AS (
      SELECT m.dialog_id, m.created_at, m.author_type,
        LAG(m.author_type) OVER (PARTITION BY m.dialog_id ORDER BY m.created_at, m.id) AS prev,
        MIN(CASE WHEN m.author_type = 'manager' THEN m.created_at END) OVER (
          PARTITION BY m.dialog_id ORDER BY m.created_at, m.id ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
        ) AS next_mgr
      FROM messages m
      WHERE m.project_id = ${ctx.project.id} AND m.dialog_id IN (SELECT id FROM d)
        AND m.author_type IN ('client', 'manager')
    ),
    r AS (
      SELECT dialog_id, next_mgr - created_at AS x FROM m
      WHERE author_type = 'client' AND (prev IS NULL OR prev <> 'client') AND next_mgr IS NOT NULL
    ),
    rr AS (
      SELECT dialog_id, x, ROW_NUMBER() OVER (PARTITION BY dialog_id ORDER BY x) AS rn,
        COUNT(*) OVER (PARTITION BY dialog_id) AS c FROM r
    ),
    dm AS MATERIALIZED (
      SELECT dialog_id, AVG(x) AS med FROM rr WHERE rn IN ((c + 1) / 2, (c + 2) / 2) GROUP BY dialog_id
    ),
    x AS MATERIALIZED (SELECT d.id, d.closed_at, dm.med FROM d LEFT JOIN dm ON dm.dialog_id = d.id)
    UPDATE dialogs SET response_median_ms = x.med, response_median_for = x.closed_at
    FROM x
    WHERE dialogs.project_id = ${ctx.project.id} AND dialogs.id = x.id AND dialogs.closed_at = x.closed_at`;
  const responseQ = base()
    .select([
      sql<number>`${mgr}`.as('g'),
      sql<number>`${closedBucket}`.as('b'),
      sql<number>`SUM(dialogs.response_median_ms)`.as('s'),
      sql<number>`COUNT(dialogs.response_median_ms)`.as('n'),
    ])
    .where(sql<boolean>`${closedIn}`)
    .groupBy([sql`1`, sql`2`]);

  return {
    from,
    to,
    now,
    buckets,
    /** Whether any dialog closed in the period lacks a current per-dialog median (one row or none). */
    fillNeeded: sql`SELECT 1 AS one FROM dialogs
      WHERE project_id = ${ctx.project.id} AND status = 'closed' AND closed_at >= ${from} AND closed_at < ${to}
        AND (response_median_for IS NULL OR response_median_for <> closed_at) LIMIT 1`.compile(db),
    /** Fills the per-dialog median cache; run before the statements when fillNeeded finds a row. */
    fill: fillSql.compile(db),
    /** The seven statements, compiled (the benchmark runs them through the driver directly). */
    statements: [
      countsInQ.compile(),
      countsOpenBeforeQ.compile(),
      countsClosedBeforeQ.compile(),
      newTrendQ.compile(),
      closedTrendQ.compile(),
      firstSql.compile(db),
      responseQ.compile(),
    ],
  };
}

/** Computes the figures of docs/ANALYTICS.md for a period (see the module comment). */
export async function computeAnalytics(ctx: ProjectContext, q: AnalyticsQuery): Promise<AnalyticsResult> {
  const tz = ctx.project.timeZone;
  const db = ctx.store.db;
  const byManager = q.groupBy === 'manager';
  const { from, to, now, buckets, fillNeeded, fill, statements } = analyticsStatements(ctx, q);
  if ((await db.executeQuery(fillNeeded)).rows.length > 0) await db.executeQuery(fill);
  const [countsIn, countsOpenBefore, countsClosedBefore, newTrend, closedTrend, firsts, responses] = (await Promise.all(
    statements.map((s) => db.executeQuery(s).then((r) => r.rows)),
  )) as Row[][] as [Row[], Row[], Row[], Row[], Row[], Row[], Row[]];

  // Assemble.
  const groups = new Map<number, Figures>();
  const group = (g: number) => {
    let f = groups.get(g);
    if (!f) {
      f = emptyFigures();
      groups.set(g, f);
    }
    return f;
  };
  const totals = emptyFigures();
  for (const r of [...countsIn, ...countsOpenBefore, ...countsClosedBefore]) {
    const f = group(num(r.g));
    const add = (k: 'total' | 'new' | 'closed' | 'closedWithoutReply' | 'openIdle', v: unknown) => {
      f[k] += num(v);
      totals[k] += num(v);
    };
    add('total', r.total);
    add('new', r.new);
    add('closed', r.closed);
    add('closedWithoutReply', r.no_reply);
    add('openIdle', r.idle);
  }
  const trend: TrendBucket[] = buckets.map((b) => ({
    start: b.start,
    from: '',
    to: '',
    new: 0,
    closed: 0,
    closedWithoutReply: 0,
    medianFirstResponseSeconds: null,
    avgMedianResponseSeconds: null,
  }));
  const iso = makeZonedIsoFormatter(tz);
  buckets.forEach((b, i) => {
    trend[i]!.from = iso(b.from);
    trend[i]!.to = iso(b.to);
  });
  for (const r of newTrend) trend[num(r.b)]!.new = num(r.n);
  for (const r of closedTrend) {
    const t = trend[num(r.b)]!;
    t.closed = num(r.n);
    t.closedWithoutReply = num(r.no_reply);
  }
  const sec = (ms: unknown) => {
    const v = numOrNull(ms);
    return v === null ? null : v / 1000;
  };
  for (const r of firsts) {
    const n = num(r.n);
    if (n === 0) continue;
    const kind = num(r.kind);
    if (kind === 0) {
      totals.medianFirstResponseSeconds = sec(r.med);
      totals.firstResponseDialogs = n;
    } else if (kind === 1) {
      const f = group(num(r.k));
      f.medianFirstResponseSeconds = sec(r.med);
      f.firstResponseDialogs = n;
    } else {
      trend[num(r.k)]!.medianFirstResponseSeconds = sec(r.med);
    }
  }
  const sums = new Map<number, { s: number; n: number }>();
  const bucketSums = new Map<number, { s: number; n: number }>();
  let allS = 0;
  let allN = 0;
  for (const r of responses) {
    const s = num(r.s);
    const n = num(r.n);
    if (n === 0) continue;
    allS += s;
    allN += n;
    for (const [m, k] of [
      [sums, num(r.g)],
      [bucketSums, num(r.b)],
    ] as const) {
      const acc = m.get(k) ?? { s: 0, n: 0 };
      acc.s += s;
      acc.n += n;
      m.set(k, acc);
    }
  }
  if (allN > 0) {
    totals.avgMedianResponseSeconds = allS / allN / 1000;
    totals.responseDialogs = allN;
  }
  for (const [g, acc] of sums) {
    const f = group(g);
    f.avgMedianResponseSeconds = acc.s / acc.n / 1000;
    f.responseDialogs = acc.n;
  }
  for (const [b, acc] of bucketSums) trend[b]!.avgMedianResponseSeconds = acc.s / acc.n / 1000;

  let managers: ManagerFigures[] = [];
  if (byManager) {
    const ids = [...groups.keys()].filter((g) => g > 0);
    const names = new Map<number, string>();
    if (ids.length > 0) {
      for (const u of await db.selectFrom('users').select(['id', 'name']).where('id', 'in', ids).execute())
        names.set(u.id, u.name);
    }
    managers = [...groups.entries()]
      .map(([g, f]) => ({ managerId: g > 0 ? g : null, managerName: g > 0 ? (names.get(g) ?? null) : null, ...f }))
      .sort((a, b) =>
        a.managerId === null
          ? 1
          : b.managerId === null
            ? -1
            : (a.managerName ?? '').localeCompare(b.managerName ?? '', 'pl') || a.managerId - b.managerId,
      );
  }
  return {
    period: { from: iso(from), to: iso(to), timeZone: tz },
    now: iso(now),
    groupBy: q.groupBy,
    totals,
    managers,
    trend: { unit: q.trend, buckets: trend },
  };
}

const FIGURE_COLUMNS = [
  'total',
  'new',
  'closed',
  'closed_without_reply',
  'open_idle_24h',
  'median_first_response_seconds',
  'avg_median_response_seconds',
] as const;

const round1 = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);

function figureCells(f: Figures) {
  return [
    f.total,
    f.new,
    f.closed,
    f.closedWithoutReply,
    f.openIdle,
    round1(f.medianFirstResponseSeconds),
    round1(f.avgMedianResponseSeconds),
  ];
}

/** The analytics tables as CSV: the same cells and file shape as the log's export (core/csv.ts). */
export async function exportAnalytics(ctx: ProjectContext, q: AnalyticsExportQuery) {
  const result = await computeAnalytics(ctx, { ...q, groupBy: q.table === 'summary' ? 'manager' : q.groupBy });
  const d: CsvDelimiter = q.delimiter;
  let out = UTF8_BOM;
  if (q.table === 'summary') {
    out += csvRecord(['manager_id', 'manager', ...FIGURE_COLUMNS], d);
    for (const m of result.managers) out += csvRecord([m.managerId, m.managerName, ...figureCells(m)], d);
    out += csvRecord([null, 'TOTAL', ...figureCells(result.totals)], d);
  } else {
    out += csvRecord(
      [
        'bucket',
        'from',
        'to',
        'new',
        'closed',
        'closed_without_reply',
        'median_first_response_seconds',
        'avg_median_response_seconds',
      ],
      d,
    );
    for (const b of result.trend.buckets)
      out += csvRecord(
        [
          b.start,
          b.from,
          b.to,
          b.new,
          b.closed,
          b.closedWithoutReply,
          round1(b.medianFirstResponseSeconds),
          round1(b.avgMedianResponseSeconds),
        ],
        d,
      );
  }
  const name = `analytics-${q.table}-${result.period.from.slice(0, 10)}.csv`;
  return { body: out, filename: name, contentType: 'text/csv; charset=utf-8' };
}
