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
 * - every figure comes from four passes over the dialogs' denormalised columns, each a range of a
 *   covering index of migration 007, grouped by (manager, bucket) so the totals, the per-manager
 *   rows and the trend are sums of the same rows;
 * - the first-response median from `first_message_at`/`first_response_at` (maintained on every
 *   manager reply, never by auto-replies): the closed pass returns the times as lists per (manager,
 *   bucket) and the medians are selected here, on both stores alike (no sort in SQL);
 * - each dialog's median response time from its messages, with window functions (LAG for the
 *   start of a client turn, a MIN over the following rows for the next manager reply), kept on the
 *   closed dialog (migration 007's cache columns, keyed by `closed_at`) so a period reads it back;
 * - trend buckets are local days, ISO weeks or months in the project's time zone, computed here
 *   with core/time.ts and assigned in SQL by a join with the list of buckets (PostgreSQL) or a
 *   binary CASE over the bucket boundaries (SQLite).
 */

export const GROUP_BY = ['none', 'manager'] as const;
export const TREND_UNITS = ['day', 'week', 'month'] as const;
/** More buckets than this in one response is refused (a year and a month of days). */
export const MAX_BUCKETS = 400;
/** Default period when `from` is absent: the 30 local days ending with `to` (or today). */
const DEFAULT_DAYS = 30;
const IDLE_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

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

/**
 * The buckets as a relation (b, lo, hi) for PostgreSQL: joined on `lo <= col < hi`, each bucket is a
 * range of the index and the planner knows the number of groups (over the CASE above it expects as
 * many groups as rows, and sorts instead of hashing). UNION ALL keeps it plain SQL.
 */
function bucketRelation(buckets: { from: number; to: number }[]) {
  const big = (v: number) => `CAST(${Math.trunc(v)} AS BIGINT)`;
  return sql<{ b: number; lo: number; hi: number }>`(${sql.raw(
    buckets.map((k, i) => `SELECT ${i} AS b, ${big(k.from)} AS lo, ${big(k.to)} AS hi`).join(' UNION ALL '),
  )})`.as('bk');
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

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

/** A comma-separated list of integers (string_agg/group_concat), parsed without a string per value. */
function parseList(list: string): Float64Array {
  const out = new Float64Array((list.length + 1) >> 1);
  let k = 0;
  let v = 0;
  let neg = false;
  for (let p = 0; p < list.length; p++) {
    const c = list.charCodeAt(p);
    if (c === 44) {
      out[k++] = neg ? -v : v;
      v = 0;
      neg = false;
    } else if (c >= 48 && c <= 57) v = v * 10 + (c - 48);
    else if (c === 45) neg = true;
    else return Float64Array.from(list.split(','), Number); // not an integer list: the general way
  }
  out[k++] = neg ? -v : v;
  return out.subarray(0, k);
}

/** The k-th smallest value (0-based), rearranging `a` so that a[0..k) ≤ a[k] (Hoare's selection). */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const x = a[lo]!;
    const y = a[(lo + hi) >> 1]!;
    const z = a[hi]!;
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z)); // the median of three
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

/** The median of the values of several lists: the middle one, or the mean of the two middle ones. */
function medianOf(lists: Float64Array[]): { median: number; n: number } {
  const n = lists.reduce((acc, l) => acc + l.length, 0);
  const a = new Float64Array(n);
  let at = 0;
  for (const l of lists) {
    a.set(l, at);
    at += l.length;
  }
  const m = n >> 1;
  const upper = select(a, m);
  if (n % 2) return { median: upper, n };
  let lower = a[0]!;
  for (let i = 1; i < m; i++) if (a[i]! > lower) lower = a[i]!;
  return { median: (lower + upper) / 2, n };
}

/** The period, the trend buckets and the SQL of the figures (docs/ANALYTICS.md). */
export function analyticsStatements(ctx: ProjectContext, q: AnalyticsQuery) {
  const tz = ctx.project.timeZone;
  const now = ctx.clock();
  const { from, to } = resolvePeriod(ctx, q);
  const buckets = trendBuckets(from, to, q.trend, tz);
  // The log's filters and visibility; the period is ours, so no creation bounds.
  const { filter } = resolveLogFilter(ctx, { ...q, from: undefined, to: undefined, status: 'all', sort: 'created' });
  const db = ctx.store.db;
  const pg = ctx.store.dialect === 'postgres';
  const base = () => applyDialogFilter(ctx.store, db.selectFrom('dialogs'), filter);
  const byManager = q.groupBy === 'manager';
  const mgr = sql.raw(byManager ? 'COALESCE(dialogs.manager_id, 0)' : '0');
  const closedIn = sql`dialogs.status = 'closed' AND dialogs.closed_at >= ${from} AND dialogs.closed_at < ${to}`;
  const noReply = sql`dialogs.first_message_at IS NOT NULL AND dialogs.first_response_at IS NULL`;
  // Open and idle: the last activity more than 24 hours before the start of the current hour, in whole
  // hours (migration 010's `active_hour`, which the covering indexes carry; last_message_at they
  // cannot: it changes with every message).
  const idle = sql`dialogs.status <> 'closed' AND dialogs.active_hour < ${Math.floor(now / HOUR_MS) - IDLE_MS / HOUR_MS}`;
  const current = sql`dialogs.response_median_for = dialogs.closed_at`;
  // The trend bucket of a row: on PostgreSQL by a join with the buckets (bucketRelation), on SQLite
  // by the binary CASE (its GROUP BY sorts anyway, and it would scan the bucket list per row).
  const bk = bucketRelation(buckets);
  const starts = buckets.map((b) => b.from);
  const inBuckets = (col: 'created_at' | 'closed_at') =>
    pg
      ? (base().innerJoin(bk, (j) =>
          j.on(sql<boolean>`${sql.ref(`dialogs.${col}`)} >= bk.lo AND ${sql.ref(`dialogs.${col}`)} < bk.hi`),
        ) as unknown as ReturnType<typeof base>)
      : base();
  const bucketOf = (col: 'created_at' | 'closed_at') =>
    pg ? sql<number>`bk.b` : sql<number>`${sql.raw(bucketExpr(`dialogs.${col}`, starts))}`;

  // Every figure comes from four passes, each a range of a covering index of migration 007
  // (index-only on PostgreSQL once vacuumed), grouped by (manager, bucket) so that the totals, the
  // per-manager rows and the trend are sums of the same rows. `total` is A + B + the dialogs of C
  // created before the period + D (disjoint). Aggregates with FILTER (SQLite ≥ 3.30). The dialogs
  // closed before the period are never read.
  //
  // A. Created in the period (dialogs_created_cover): total, new, open idle, by creation bucket.
  const createdQ = inBuckets('created_at')
    .select([
      sql<number>`${mgr}`.as('g'),
      bucketOf('created_at').as('b'),
      sql<number>`COUNT(*)`.as('n'),
      sql<number>`COUNT(*) FILTER (WHERE ${idle})`.as('idle'),
    ])
    .where('dialogs.created_at', '>=', from)
    .where('dialogs.created_at', '<', to)
    .groupBy([sql`1`, sql`2`]);
  // B. Created before the period and still open (dialogs_open_cover): total, open idle.
  const openBeforeQ = base()
    .select([
      sql<number>`${mgr}`.as('g'),
      sql<number>`COUNT(*)`.as('n'),
      sql<number>`COUNT(*) FILTER (WHERE ${idle})`.as('idle'),
    ])
    .where('dialogs.created_at', '<', from)
    .where(sql<boolean>`dialogs.status IN ('new', 'open')`)
    .groupBy(sql`1`);
  // C. Closed in the period (dialogs_closed_at), by closing bucket: closed, without reply, the
  // created-before ones (for total), the first-response times as a list (NULL unless both columns
  // are set; the service takes the medians: no sort in SQL), the sums of the cached per-dialog
  // medians that are current (`response_median_for = closed_at`), and how many are not (the cache
  // check: when any is, the service fills the cache and runs this statement again).
  const firstMs = sql`dialogs.first_response_at - dialogs.first_message_at`;
  const firstList = pg ? sql`string_agg(CAST(${firstMs} AS TEXT), ',')` : sql`group_concat(${firstMs}, ',')`;
  const closedQ = inBuckets('closed_at')
    .select([
      sql<number>`${mgr}`.as('g'),
      bucketOf('closed_at').as('b'),
      sql<number>`COUNT(*)`.as('n'),
      sql<number>`COUNT(*) FILTER (WHERE dialogs.created_at < ${from})`.as('before'),
      sql<number>`COUNT(*) FILTER (WHERE ${noReply})`.as('no_reply'),
      sql<string | null>`${firstList}`.as('firsts'),
      sql<number>`SUM(dialogs.response_median_ms) FILTER (WHERE ${current})`.as('s'),
      sql<number>`COUNT(dialogs.response_median_ms) FILTER (WHERE ${current})`.as('rn'),
      sql<number>`COUNT(*) FILTER (WHERE dialogs.response_median_for IS NULL OR NOT (${current}))`.as('stale'),
    ])
    .where(sql<boolean>`${closedIn}`)
    .groupBy([sql`1`, sql`2`]);
  // D. Created before the period and closed after it: total only.
  const closedAfterQ = base()
    .select([sql<number>`${mgr}`.as('g'), sql<number>`COUNT(*)`.as('n')])
    .where(sql<boolean>`dialogs.status = 'closed' AND dialogs.closed_at >= ${to}`)
    .where('dialogs.created_at', '<', from)
    .groupBy(sql`1`);

  // The per-dialog median cache (migration 007): filled for the project's dialogs closed in the
  // period that lack a current value, from their messages. The CTEs are materialised so that
  // PostgreSQL cannot re-run the window pass per updated row.
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

  return {
    from,
    to,
    now,
    buckets,
    /** Fills the per-dialog median cache; run when the closed pass (statement 2) counts `stale` rows. */
    fill: fillSql.compile(db),
    /**
     * The four statements, compiled, run in parallel (the benchmark runs them through the driver
     * directly): created in the period, open created before, closed in the period, closed after.
     */
    statements: [createdQ.compile(), openBeforeQ.compile(), closedQ.compile(), closedAfterQ.compile()],
  };
}

/** Index of the closed-in-the-period pass in `statements`, the one that checks the cache. */
const CLOSED_PASS = 2;
/** Fill and re-read at most this often when dialogs keep closing during the request. */
const MAX_FILLS = 3;

/** Computes the figures of docs/ANALYTICS.md for a period (see the module comment). */
export async function computeAnalytics(ctx: ProjectContext, q: AnalyticsQuery): Promise<AnalyticsResult> {
  const tz = ctx.project.timeZone;
  const db = ctx.store.db;
  const byManager = q.groupBy === 'manager';
  const { from, to, now, buckets, fill, statements } = analyticsStatements(ctx, q);
  const rowsOf = (i: number) => db.executeQuery(statements[i]!).then((r) => r.rows as Row[]);
  const [created, openBefore, closedIn0, closedAfter] = await Promise.all(statements.map((_, i) => rowsOf(i)));
  let closedIn = closedIn0!;
  // The per-dialog median cache: when a dialog closed in the period lacks a current value (the first
  // request for a period, or dialogs closed since), fill it and read the closed pass again.
  for (let i = 0; i < MAX_FILLS && closedIn.some((r) => num(r.stale) > 0); i++) {
    await db.executeQuery(fill);
    closedIn = await rowsOf(CLOSED_PASS);
  }

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
  const add = (g: unknown, k: 'total' | 'new' | 'closed' | 'closedWithoutReply' | 'openIdle', v: unknown) => {
    const n = num(v);
    group(num(g))[k] += n;
    totals[k] += n;
  };
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
  for (const r of created!) {
    add(r.g, 'total', r.n);
    add(r.g, 'new', r.n);
    add(r.g, 'openIdle', r.idle);
    trend[num(r.b)]!.new += num(r.n);
  }
  for (const r of openBefore!) {
    add(r.g, 'total', r.n);
    add(r.g, 'openIdle', r.idle);
  }
  for (const r of closedAfter!) add(r.g, 'total', r.n);

  // The closed pass: counts, the first-response times per (group, bucket), the per-dialog medians'
  // sums per (group, bucket), so every median and mean is formed here without a second pass.
  const firsts = {
    all: [] as Float64Array[],
    byGroup: new Map<number, Float64Array[]>(),
    byBucket: new Map<number, Float64Array[]>(),
  };
  const push = (m: Map<number, Float64Array[]>, k: number, v: Float64Array) => {
    const a = m.get(k);
    if (a) a.push(v);
    else m.set(k, [v]);
  };
  const sums = new Map<number, { s: number; n: number }>();
  const bucketSums = new Map<number, { s: number; n: number }>();
  let allS = 0;
  let allN = 0;
  for (const r of closedIn) {
    const g = num(r.g);
    const b = num(r.b);
    add(g, 'total', r.before);
    add(g, 'closed', r.n);
    add(g, 'closedWithoutReply', r.no_reply);
    trend[b]!.closed += num(r.n);
    trend[b]!.closedWithoutReply += num(r.no_reply);
    if (typeof r.firsts === 'string' && r.firsts !== '') {
      const xs = parseList(r.firsts);
      firsts.all.push(xs);
      push(firsts.byGroup, g, xs);
      push(firsts.byBucket, b, xs);
    }
    const s = num(r.s);
    const n = num(r.rn);
    if (n === 0) continue;
    allS += s;
    allN += n;
    for (const [m, k] of [
      [sums, g],
      [bucketSums, b],
    ] as const) {
      const acc = m.get(k) ?? { s: 0, n: 0 };
      acc.s += s;
      acc.n += n;
      m.set(k, acc);
    }
  }
  if (firsts.all.length > 0) {
    const { median, n } = medianOf(firsts.all);
    totals.medianFirstResponseSeconds = median / 1000;
    totals.firstResponseDialogs = n;
  }
  if (byManager) {
    for (const [g, lists] of firsts.byGroup) {
      const { median, n } = medianOf(lists);
      const f = group(g);
      f.medianFirstResponseSeconds = median / 1000;
      f.firstResponseDialogs = n;
    }
  }
  for (const [b, lists] of firsts.byBucket) trend[b]!.medianFirstResponseSeconds = medianOf(lists).median / 1000;
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
