import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Store } from '../store/open.js';
import { buildTestApp, createToken, forEachStore, projectContext } from '../testing/harness.js';
import { AnalyticsQuery, type AnalyticsResult, computeAnalytics, type Figures, trendBuckets } from './analytics.js';
import type { ProjectContext } from './context.js';
import { seedProject } from './seed.js';

/**
 * Analytics against a straightforward computation in JS over the raw seeded rows (docs/ANALYTICS.md
 * written out again from messages, not from the dialogs' denormalised columns). Zone boundaries
 * are written as UTC instants here (Warsaw is UTC+2 in summer, UTC+1 from 2026-10-25 03:00), so
 * the service's zone arithmetic is checked, not reused.
 */

const PROJECT = 42;
const N = 3000;
const NOW = Date.UTC(2026, 10, 1); // the seed's anchor
const H = 3600_000;
// September 2026 in Warsaw: [2026-08-31T22:00Z, 2026-09-30T22:00Z).
const SEP_FROM = Date.UTC(2026, 7, 31, 22);
const SEP_TO = Date.UTC(2026, 8, 30, 22);

type Row = Record<string, unknown>;
async function all(store: Store, q: string): Promise<Row[]> {
  if (store.dialect === 'postgres') return (await store.pgPool!.query(q)).rows as Row[];
  return store.sqlite!.prepare(q).all() as Row[];
}
async function run(store: Store, q: string) {
  if (store.dialect === 'postgres') await store.pgPool!.query(q);
  else store.sqlite!.prepare(q).run();
}

interface D {
  id: number;
  status: string;
  manager: number | null;
  created: number;
  closed: number | null;
  channel: string;
  managers: Set<number>;
  msgs: { type: string; at: number; id: number }[];
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The definitions of docs/ANALYTICS.md, over one dialog's messages (sorted by time, id). */
function firstResponseMs(d: D): number | null {
  const msgs = d.msgs.filter((m) => m.type === 'client' || m.type === 'manager');
  const i = msgs.findIndex((m) => m.type === 'client');
  if (i < 0) return null;
  const r = msgs.slice(i + 1).find((m) => m.type === 'manager');
  return r ? r.at - msgs[i]!.at : null;
}
function dialogMedianResponseMs(d: D): number | null {
  const msgs = d.msgs.filter((m) => m.type === 'client' || m.type === 'manager');
  const times: number[] = [];
  for (let i = 0; i < msgs.length; i++) {
    if (msgs[i]!.type !== 'client' || (i > 0 && msgs[i - 1]!.type === 'client')) continue;
    const r = msgs.slice(i + 1).find((m) => m.type === 'manager');
    if (r) times.push(r.at - msgs[i]!.at);
  }
  return median(times);
}
function expected(ds: D[], from: number, to: number, now: number): Figures {
  const active = ds.filter((d) => d.created < to && !(d.status === 'closed' && d.closed! < from));
  const closed = active.filter((d) => d.status === 'closed' && d.closed! >= from && d.closed! < to);
  const firsts = closed.map(firstResponseMs).filter((x): x is number => x !== null);
  const meds = closed.map(dialogMedianResponseMs).filter((x): x is number => x !== null);
  return {
    total: active.length,
    new: active.filter((d) => d.created >= from).length,
    closed: closed.length,
    closedWithoutReply: closed.filter((d) => d.msgs.some((m) => m.type === 'client') && firstResponseMs(d) === null)
      .length,
    openIdle: active.filter((d) => {
      if (d.status === 'closed') return false;
      const last = d.msgs.length ? Math.max(...d.msgs.map((m) => m.at)) : d.created;
      // More than 24 hours before the start of the current hour (docs/ANALYTICS.md).
      return last < Math.floor(now / H) * H - 24 * H;
    }).length,
    medianFirstResponseSeconds: firsts.length ? median(firsts)! / 1000 : null,
    avgMedianResponseSeconds: meds.length ? meds.reduce((a, b) => a + b, 0) / meds.length / 1000 : null,
    firstResponseDialogs: firsts.length,
    responseDialogs: meds.length,
  };
}

function assertFigures(actual: Figures, exp: Figures, label: string) {
  for (const k of Object.keys(exp) as (keyof Figures)[]) {
    const a = actual[k];
    const e = exp[k];
    if (typeof a === 'number' && typeof e === 'number')
      assert.ok(Math.abs(a - e) < 1e-6 * Math.max(1, e), `${label} ${k}: ${a} ≠ ${e}`);
    else assert.equal(a, e, `${label} ${k}`);
  }
}

const q = (o: Record<string, unknown>) => AnalyticsQuery.parse(o);

forEachStore('analytics', (env) => {
  let ds: D[];
  let supervisorCtx: ProjectContext;
  let app: Awaited<ReturnType<typeof buildTestApp>>['fastify'];
  let token: string;
  let managerIds: number[];

  before(async () => {
    const store = env.ts.store;
    await seedProject(store, { projectId: PROJECT, dialogs: N, seed: 11 });
    // Zone edges: one dialog on the last evening of September (in), one just after midnight (out),
    // one at 23:30 on the day the clocks go back (still 25 October).
    // Whole dialogs move (every time column and their messages by the same amount).
    const [a, b, c] = (
      await all(store, `SELECT id FROM dialogs WHERE project_id = ${PROJECT} ORDER BY id LIMIT 3`)
    ).map((r) => Number(r.id));
    const move = async (id: number, createdAt: number) => {
      const [r] = await all(store, `SELECT created_at FROM dialogs WHERE id = ${id}`);
      const delta = createdAt - Number(r!.created_at);
      const cols = [
        'created_at',
        'updated_at',
        'closed_at',
        'last_message_at',
        'first_message_at',
        'first_response_at',
      ];
      await run(store, `UPDATE dialogs SET ${cols.map((k) => `${k} = ${k} + ${delta}`).join(', ')} WHERE id = ${id}`);
      await run(store, `UPDATE messages SET created_at = created_at + ${delta} WHERE dialog_id = ${id}`);
    };
    await move(a!, Date.UTC(2026, 8, 30, 21, 30));
    await move(b!, Date.UTC(2026, 8, 30, 22, 10));
    await move(c!, Date.UTC(2026, 9, 25, 22, 30));
    const rows = await all(
      store,
      `SELECT id, status, manager_id, created_at, closed_at, channel_type FROM dialogs WHERE project_id = ${PROJECT}`,
    );
    const byId = new Map<number, D>();
    for (const r of rows) {
      byId.set(Number(r.id), {
        id: Number(r.id),
        status: String(r.status),
        manager: r.manager_id === null ? null : Number(r.manager_id),
        created: Number(r.created_at),
        closed: r.closed_at === null ? null : Number(r.closed_at),
        channel: String(r.channel_type),
        managers: new Set(),
        msgs: [],
      });
    }
    for (const m of await all(
      store,
      `SELECT dialog_id, author_type, created_at, id FROM messages WHERE project_id = ${PROJECT}`,
    ))
      byId
        .get(Number(m.dialog_id))!
        .msgs.push({ type: String(m.author_type), at: Number(m.created_at), id: Number(m.id) });
    for (const dm of await all(store, `SELECT dialog_id, user_id FROM dialog_managers WHERE project_id = ${PROJECT}`))
      byId.get(Number(dm.dialog_id))?.managers.add(Number(dm.user_id));
    ds = [...byId.values()];
    for (const d of ds) d.msgs.sort((x, y) => x.at - y.at || x.id - y.id);
    managerIds = (
      await all(
        store,
        `SELECT user_id FROM memberships WHERE project_id = ${PROJECT} AND role = 'manager' ORDER BY user_id`,
      )
    ).map((r) => Number(r.user_id));
    supervisorCtx = { ...projectContext(store, PROJECT, { type: 'system', name: 'test' }), clock: () => NOW };
    app = (await buildTestApp(store, () => NOW)).fastify;
    token = await createToken(store, PROJECT, 'supervisor');
  });
  after(async () => {
    await app?.close();
  });

  test('the seeded data has what the figures need', () => {
    assert.ok(
      ds.some((d) => d.msgs.some((m) => m.type === 'auto')),
      'auto-replies',
    );
    assert.ok(
      ds.some((d) => d.status !== 'closed'),
      'open dialogs',
    );
    const e = expected(ds, SEP_FROM, SEP_TO, NOW);
    assert.ok(
      e.closed > 200 && e.closedWithoutReply > 0 && e.openIdle >= 0 && e.responseDialogs > 100,
      JSON.stringify(e),
    );
  });

  test('a month, per project and per manager, matches the independent computation', async () => {
    const r = await computeAnalytics(supervisorCtx, q({ from: '2026-09-01', to: '2026-09-30', groupBy: 'manager' }));
    assert.equal(r.period.from, '2026-09-01T00:00:00+02:00');
    assert.equal(r.period.to, '2026-10-01T00:00:00+02:00');
    assertFigures(r.totals, expected(ds, SEP_FROM, SEP_TO, NOW), 'totals');
    const seen = new Set<number | null>();
    for (const m of r.managers) {
      seen.add(m.managerId);
      assertFigures(
        m,
        expected(
          ds.filter((d) => d.manager === m.managerId),
          SEP_FROM,
          SEP_TO,
          NOW,
        ),
        `manager ${m.managerId}`,
      );
    }
    // Every group with a dialog in the period is listed.
    for (const d of ds)
      if (d.created < SEP_TO && (d.status !== 'closed' || d.closed! >= SEP_FROM)) assert.ok(seen.has(d.manager));
    const none = await computeAnalytics(supervisorCtx, q({ from: '2026-09-01', to: '2026-09-30' }));
    assert.deepEqual(none.totals, r.totals);
    assert.deepEqual(none.managers, []);
  });

  test('the log filters apply: manager, channel', async () => {
    const mid = managerIds[0]!;
    const r = await computeAnalytics(
      supervisorCtx,
      q({ from: '2026-09-01', to: '2026-09-30', managerId: [String(mid)], channel: ['telegram', 'sms'] }),
    );
    const subset = ds.filter((d) => d.manager === mid && (d.channel === 'telegram' || d.channel === 'sms'));
    assertFigures(r.totals, expected(subset, SEP_FROM, SEP_TO, NOW), 'filtered');
  });

  test('the 23:30 dialog of the last day is in, 00:10 the next day is out', async () => {
    const day = await computeAnalytics(supervisorCtx, q({ from: '2026-09-30', to: '2026-09-30' }));
    const from = Date.UTC(2026, 8, 29, 22);
    const exp = ds.filter((d) => d.created >= from && d.created < SEP_TO).length;
    assert.equal(day.totals.new, exp);
    assert.ok(ds.some((d) => d.created === Date.UTC(2026, 8, 30, 21, 30)));
  });

  test('day and week buckets across the October DST change', async () => {
    const r = await computeAnalytics(supervisorCtx, q({ from: '2026-10-19', to: '2026-10-27', trend: 'day' }));
    const b = r.trend.buckets.find((x) => x.start === '2026-10-25')!;
    assert.equal(b.from, '2026-10-25T00:00:00+02:00');
    assert.equal(b.to, '2026-10-26T00:00:00+01:00');
    const count = (f: number, t: number) => ds.filter((d) => d.created >= f && d.created < t).length;
    assert.equal(b.new, count(Date.UTC(2026, 9, 24, 22), Date.UTC(2026, 9, 25, 23)));
    assert.equal(r.trend.buckets.length, 9);
    assert.equal(
      r.trend.buckets.reduce((s, x) => s + x.new, 0),
      r.totals.new,
    );
    assert.equal(
      r.trend.buckets.reduce((s, x) => s + x.closed, 0),
      r.totals.closed,
    );
    const w = await computeAnalytics(supervisorCtx, q({ from: '2026-10-21', to: '2026-10-28', trend: 'week' }));
    assert.deepEqual(
      w.trend.buckets.map((x) => [x.start, x.from, x.to]),
      [
        ['2026-10-19', '2026-10-21T00:00:00+02:00', '2026-10-26T00:00:00+01:00'],
        ['2026-10-26', '2026-10-26T00:00:00+01:00', '2026-10-29T00:00:00+01:00'],
      ],
    );
    assert.equal(w.trend.buckets[0]!.new, count(Date.UTC(2026, 9, 20, 22), Date.UTC(2026, 9, 25, 23)));
    const m = await computeAnalytics(supervisorCtx, q({ from: '2026-08-15', to: '2026-10-31', trend: 'month' }));
    assert.deepEqual(
      m.trend.buckets.map((x) => x.start),
      ['2026-08-01', '2026-09-01', '2026-10-01'],
    );
    const sep = m.trend.buckets[1]!;
    const e = expected(ds, SEP_FROM, SEP_TO, NOW);
    assert.equal(sep.new, e.new);
    assert.equal(sep.closed, e.closed);
    assert.equal(sep.closedWithoutReply, e.closedWithoutReply);
    assert.ok(Math.abs(sep.medianFirstResponseSeconds! - e.medianFirstResponseSeconds!) < 1e-6);
    assert.ok(Math.abs(sep.avgMedianResponseSeconds! - e.avgMedianResponseSeconds!) < 1e-6);
  });

  test('spring-forward day is 23 hours long', () => {
    const b = trendBuckets(Date.UTC(2026, 2, 27, 23), Date.UTC(2026, 2, 30, 22), 'day', 'Europe/Warsaw');
    assert.deepEqual(
      b.map((x) => [x.start, (x.to - x.from) / H]),
      [
        ['2026-03-28', 24],
        ['2026-03-29', 23],
        ['2026-03-30', 24],
      ],
    );
  });

  test('a manager sees only what the log shows them', async () => {
    const uid = managerIds[1]!;
    const ctx: ProjectContext = {
      ...projectContext(env.ts.store, PROJECT, { type: 'user', id: uid, name: 'M', role: 'manager' }),
      clock: () => NOW,
    };
    const r = await computeAnalytics(ctx, q({ from: '2026-09-01', to: '2026-09-30', groupBy: 'manager' }));
    const visible = ds.filter((d) => d.manager === null || d.managers.has(uid));
    assertFigures(r.totals, expected(visible, SEP_FROM, SEP_TO, NOW), 'manager view');
    assert.ok(r.totals.total < expected(ds, SEP_FROM, SEP_TO, NOW).total);
  });

  test('the per-dialog median cache follows a dialog closed again', async () => {
    const store = env.ts.store;
    await computeAnalytics(supervisorCtx, q({ from: '2026-09-01', to: '2026-09-30' }));
    // As if the dialog were reopened, its manager messages gone, and closed again a moment later.
    const d = ds.find(
      (x) =>
        x.status === 'closed' && x.closed! >= SEP_FROM && x.closed! < SEP_TO - 1 && dialogMedianResponseMs(x) !== null,
    )!;
    await run(store, `DELETE FROM messages WHERE dialog_id = ${d.id} AND author_type = 'manager'`);
    await run(
      store,
      `UPDATE dialogs SET closed_at = closed_at + 1, first_response_at = NULL, first_response_seconds = NULL WHERE id = ${d.id}`,
    );
    d.msgs = d.msgs.filter((m) => m.type !== 'manager');
    d.closed! += 1;
    const r = await computeAnalytics(supervisorCtx, q({ from: '2026-09-01', to: '2026-09-30' }));
    assertFigures(r.totals, expected(ds, SEP_FROM, SEP_TO, NOW), 'after re-close');
  });

  test('over HTTP: figures, CSV export, and 400 naming the field', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const base = `/api/v1/projects/${PROJECT}/analytics`;
    const res = await app.inject({
      method: 'GET',
      url: `${base}?from=2026-09-01&to=2026-09-30&groupBy=manager`,
      headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as AnalyticsResult;
    assertFigures(body.totals, expected(ds, SEP_FROM, SEP_TO, NOW), 'http');
    const csv = await app.inject({
      method: 'GET',
      url: `${base}/export?from=2026-09-01&to=2026-09-30&delimiter=,`,
      headers,
    });
    assert.equal(csv.statusCode, 200, csv.body);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    const lines = csv.body
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    assert.equal(
      lines[0],
      'manager_id,manager,total,new,closed,closed_without_reply,open_idle_24h,median_first_response_seconds,avg_median_response_seconds',
    );
    assert.equal(lines.length, body.managers.length + 2);
    assert.ok(lines.at(-1)!.startsWith(`,TOTAL,${body.totals.total},${body.totals.new},${body.totals.closed},`));
    const trend = await app.inject({
      method: 'GET',
      url: `${base}/export?from=2026-09-01&to=2026-09-30&table=trend`,
      headers,
    });
    assert.equal(
      trend.body
        .replace(/^\uFEFF/, '')
        .trimEnd()
        .split('\r\n').length,
      31,
    );
    for (const [qs, field] of [
      ['trend=hour', 'query.trend'],
      ['groupBy=channel', 'query.groupBy'],
      ['from=2026-02-30', 'query.from'],
      ['from=2026-09-10&to=2026-09-01', 'query.to'],
      ['from=2020-01-01&to=2026-01-01&trend=day', 'query.trend'],
      ['status=closed', 'query'],
      ['managerId=x', 'query.managerId'],
    ] as const) {
      const r = await app.inject({ method: 'GET', url: `${base}?${qs}`, headers });
      assert.equal(r.statusCode, 400, `${qs}: ${r.body}`);
      const e = r.json() as { error: { fields: { field: string }[] } };
      assert.ok(
        e.error.fields.some((f) => f.field.startsWith(field)),
        `${qs}: ${r.body}`,
      );
    }
  });
});
