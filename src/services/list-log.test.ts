import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type LogListQuery, LogListQuery as LogListQuerySchema, sortKey } from '../core/log-query.js';
import { startOfLocalDay, startOfNextLocalDay } from '../core/time.js';
import type { Store } from '../store/open.js';
import type { ChannelType, DialogStatus } from '../store/types.js';
import {
  buildTestApp,
  createProject,
  createToken,
  createUser,
  forEachStore,
  projectContext,
} from '../testing/harness.js';
import type { ProjectContext } from './context.js';
import { listLog } from './list-log.js';

/** A small deterministic generator (mulberry32), so failures reproduce. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row {
  id: number;
  status: DialogStatus;
  manager_id: number | null;
  manager_name: string | null;
  manager_sort: string;
  created_at: number;
  channel_type: ChannelType;
  source: string | null;
  channel_group: string | null;
  client_name: string;
  search_text: string;
  previous_manager: number | null;
  text: string;
}

const NAMES = [
  'Łukasz Wójcik',
  'Zofia Dąbrowska',
  'Anna Nowak',
  'Żaneta Kowalczyk',
  'Piotr Zieliński',
  'Ewa Lewandowska',
];
const SOURCES: [string | null, string | null][] = [
  ['google', 'Paid Search'],
  ['google', 'Organic Search'],
  ['facebook', 'Paid Social'],
  ['direct', 'Direct'],
  [null, null],
];
const CHANNELS: ChannelType[] = ['sms', 'telegram', 'viber', 'messenger'];
const STATUSES: DialogStatus[] = ['closed', 'closed', 'closed', 'open', 'new'];
const TEXTS = [
  'Dzień dobry, gdzie jest moja przesyłka?',
  'Czy rower jest dostępny w rozmiarze M?',
  'Poproszę fakturę; dziękuję',
  'Zwrot towaru — jak to zrobić?',
  'ŻÓŁTY kask 🚲 jest?',
];

let nextIdentity = 1;

async function insertRows(store: Store, projectId: number, rows: Omit<Row, 'id'>[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const r of rows) {
    const d = await store.db
      .insertInto('dialogs')
      .values({
        project_id: projectId,
        channel_id: 1,
        channel_type: r.channel_type,
        client_id: 1,
        // One identity per dialog: the store allows one open dialog per identity.
        identity_id: nextIdentity++,
        client_name: r.client_name,
        search_text: r.search_text,
        status: r.status,
        manager_id: r.manager_id,
        manager_name: r.manager_name,
        manager_sort: r.manager_sort,
        created_at: r.created_at,
        updated_at: r.created_at,
        closed_at: r.status === 'closed' ? r.created_at + 3600_000 : null,
        source: r.source,
        channel_group: r.channel_group,
        outbound_only: 0,
        messages_in: 1,
        messages_out: 0,
        unread_count: 0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (const uid of [r.previous_manager, r.manager_id]) {
      if (uid === null) continue;
      await store.db
        .insertInto('dialog_managers')
        .values({ project_id: projectId, dialog_id: d.id, user_id: uid, assigned_at: r.created_at })
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    await store.db
      .insertInto('messages')
      .values({
        project_id: projectId,
        dialog_id: d.id,
        channel_id: 1,
        direction: 'in',
        author_type: 'client',
        text: r.text,
        created_at: r.created_at,
        updated_at: r.created_at,
        status: 'received',
      })
      .execute();
    out.push({ ...r, id: d.id });
  }
  return out;
}

function generate(seed: number, n: number, managers: { id: number; name: string }[]): Omit<Row, 'id'>[] {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const start = Date.parse('2026-01-01T00:00:00Z');
  const span = 365 * 24 * 3600_000;
  const rows: Omit<Row, 'id'>[] = [];
  for (let i = 0; i < n; i++) {
    const status = pick(STATUSES);
    const m = status === 'new' ? null : rnd() < 0.1 ? null : pick(managers);
    const [source, group] = pick(SOURCES);
    const name = pick(NAMES);
    // Whole minutes, with deliberate ties on created_at to exercise the id tie-breaker.
    const created = start + Math.floor((rnd() * span) / 60000) * 60000 - (i % 5 === 0 ? (i % 3) * 0 : 0);
    rows.push({
      status,
      manager_id: m?.id ?? null,
      manager_name: m?.name ?? null,
      manager_sort: sortKey(m?.name),
      created_at: i % 17 === 0 && i > 0 ? rows[i - 1]!.created_at : created,
      channel_type: pick(CHANNELS),
      source,
      channel_group: group,
      client_name: name,
      search_text: `${name} +48600${String(i).padStart(6, '0')}`.toLowerCase(),
      previous_manager: m && rnd() < 0.2 ? pick(managers).id : null,
      text: pick(TEXTS),
    });
  }
  return rows;
}

/** The log's rules, computed independently in plain code over the inserted rows. */
function expected(rows: Row[], f: LogListQuery, tz: string, viewer?: number): number[] {
  const from = f.from ? (f.from.length === 10 ? startOfLocalDay(f.from, tz) : Date.parse(f.from)) : -Infinity;
  const before = f.to ? (f.to.length === 10 ? startOfNextLocalDay(f.to, tz) : Date.parse(f.to) + 1) : Infinity;
  const q = f.q?.toLowerCase();
  const sel = rows.filter(
    (r) =>
      (f.status === 'all' || r.status === f.status) &&
      (!f.managerId?.length || (r.manager_id !== null && f.managerId.includes(r.manager_id))) &&
      r.created_at >= from &&
      r.created_at < before &&
      (!f.channel?.length || f.channel.includes(r.channel_type)) &&
      (!f.source || r.source === f.source.toLowerCase() || r.channel_group === f.source) &&
      (!q || r.search_text.includes(q) || r.text.toLowerCase().includes(q)) &&
      (viewer === undefined || r.manager_id === null || r.manager_id === viewer || r.previous_manager === viewer),
  );
  const order = f.order ?? (f.sort === 'manager' ? 'asc' : 'desc');
  const dir = order === 'asc' ? 1 : -1;
  const cmp = (a: Row, b: Row) => {
    if (f.sort === 'manager' && a.manager_sort !== b.manager_sort)
      return (a.manager_sort < b.manager_sort ? -1 : 1) * dir;
    if (a.created_at !== b.created_at) return (a.created_at - b.created_at) * dir;
    return (a.id - b.id) * dir;
  };
  return sel.sort(cmp).map((r) => r.id);
}

async function pageAll(ctx: ProjectContext, raw: Record<string, unknown>, limit: number) {
  const ids: number[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await listLog(ctx, LogListQuerySchema.parse({ ...raw, limit, ...(cursor ? { cursor } : {}) }));
    assert.ok(page.items.length <= limit);
    ids.push(...page.items.map((d) => d.id));
    if (!page.nextCursor) return ids;
    cursor = page.nextCursor;
  }
  throw new Error('paging did not end');
}

forEachStore('Message log list', (env) => {
  let projectId: number;
  let foreignId: number;
  let managers: { id: number; name: string }[];
  let rows: Row[];
  let adminCtx: ProjectContext;
  const tz = 'Europe/Warsaw';

  before(async () => {
    const store = env.ts.store;
    projectId = await createProject(store, 'Sklep');
    foreignId = await createProject(store, 'Obcy');
    managers = [];
    for (const n of ['Łukasz Wójcik', 'Anna Nowak', 'Zofia Dąbrowska']) {
      const u = await createUser(store, projectId, 'manager', n);
      managers.push({ id: u.id, name: n });
    }
    rows = await insertRows(store, projectId, generate(7, 260, managers));
    // Edge rows: 23:30 Warsaw on 2026-06-30 (21:30Z) and 00:30 local on the DST day 2026-03-29.
    rows.push(
      ...(await insertRows(store, projectId, [
        { ...generate(8, 1, managers)[0]!, status: 'closed', created_at: Date.parse('2026-06-30T21:30:00Z') },
        { ...generate(9, 1, managers)[0]!, status: 'closed', created_at: Date.parse('2026-03-28T23:30:00Z') },
      ])),
    );
    await insertRows(store, foreignId, generate(11, 40, managers));
    adminCtx = projectContext(store, projectId, { type: 'user', id: 0, name: 'Admin', role: 'admin' }, tz);
  });

  const cases: Record<string, unknown>[] = [
    {},
    { status: 'all' },
    { status: 'open' },
    { status: 'new', order: 'asc' },
    { status: 'all', sort: 'manager' },
    { status: 'closed', sort: 'manager', order: 'desc' },
    { status: 'all', channel: ['telegram', 'viber'] },
    { status: 'all', from: '2026-03-01', to: '2026-03-31' },
    { from: '2026-06-30', to: '2026-06-30' },
    { status: 'all', from: '2026-02-10T12:00:00+01:00', to: '2026-05-01T00:00:00Z' },
    { status: 'all', source: 'google' },
    { status: 'all', source: 'Paid Social' },
    { status: 'all', q: 'żółty' },
    { status: 'all', q: 'NOWAK' },
    { status: 'all', q: '+48600000' },
    { status: 'all', q: 'zw' },
    // The same rule on both stores: case folds (Polish letters too), diacritics count.
    { status: 'all', q: 'łą' },
    { status: 'all', q: 'żółw' },
    { status: 'all', q: 'ŻÓŁW' },
    { status: 'all', q: 'zolw' },
  ];

  test('every filter, sort and order agrees with an independent computation, paged without loss or repeats', async () => {
    for (const c of cases) {
      const f = LogListQuerySchema.parse(c);
      const want = expected(rows, f, tz);
      const got = await pageAll(adminCtx, c, 13);
      assert.deepEqual(got, want, `filters ${JSON.stringify(c)}`);
    }
  });

  test('filters by managers (several) and month', async () => {
    const c = { status: 'all', managerId: [managers[0]!.id, managers[2]!.id], from: '2026-05-01', to: '2026-05-31' };
    const want = expected(rows, LogListQuerySchema.parse(c), tz);
    assert.ok(want.length > 0);
    assert.deepEqual(await pageAll(adminCtx, c, 5), want);
  });

  test('the to date includes 23:30 Warsaw time; the DST day starts at local midnight', async () => {
    const late = rows.find((r) => r.created_at === Date.parse('2026-06-30T21:30:00Z'))!;
    assert.ok((await pageAll(adminCtx, { to: '2026-06-30' }, 200)).includes(late.id));
    assert.ok(!(await pageAll(adminCtx, { from: '2026-07-01' }, 200)).includes(late.id));
    const dst = rows.find((r) => r.created_at === Date.parse('2026-03-28T23:30:00Z'))!;
    assert.ok((await pageAll(adminCtx, { from: '2026-03-29', to: '2026-03-29' }, 200)).includes(dst.id));
    assert.ok(!(await pageAll(adminCtx, { from: '2026-03-28', to: '2026-03-28' }, 200)).includes(dst.id));
  });

  test('a manager sees unassigned dialogs and those they are or were responsible for', async () => {
    const m = managers[1]!;
    const ctx = projectContext(env.ts.store, projectId, { type: 'user', id: m.id, name: m.name, role: 'manager' }, tz);
    for (const c of [{ status: 'all' }, { status: 'closed', sort: 'manager' }]) {
      const want = expected(rows, LogListQuerySchema.parse(c), tz, m.id);
      assert.deepEqual(await pageAll(ctx, c, 17), want);
      assert.ok(
        want.some(
          (id) =>
            rows.find((r) => r.id === id)!.previous_manager === m.id &&
            rows.find((r) => r.id === id)!.manager_id !== m.id,
        ),
      );
    }
  });

  test('paging loses and repeats nothing while new dialogs arrive', async () => {
    const c = { status: 'all' };
    const before = expected(rows, LogListQuerySchema.parse(c), tz);
    const seen: number[] = [];
    let cursor: string | undefined;
    let inserted = 0;
    for (;;) {
      const page = await listLog(
        adminCtx,
        LogListQuerySchema.parse({ ...c, limit: 20, ...(cursor ? { cursor } : {}) }),
      );
      seen.push(...page.items.map((d) => d.id));
      if (inserted < 3) {
        // New dialogs, newer than anything, arrive between pages.
        const fresh = generate(100 + inserted, 2, managers).map((r) => ({
          ...r,
          created_at: Date.parse('2027-01-01T00:00:00Z') + inserted,
        }));
        rows.push(...(await insertRows(env.ts.store, projectId, fresh)));
        inserted++;
      }
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    assert.equal(new Set(seen).size, seen.length, 'no repeats');
    assert.deepEqual(seen, before, 'everything that existed at the start, once, in order');
  });

  test('tampered, foreign and reused cursors are refused with the field named', async () => {
    const page = await listLog(adminCtx, LogListQuerySchema.parse({ status: 'all', limit: 5 }));
    const cursor = page.nextCursor!;
    const tampered = `${cursor.slice(0, 5)}${cursor[5] === 'A' ? 'B' : 'A'}${cursor.slice(6)}`;
    await assert.rejects(listLog(adminCtx, LogListQuerySchema.parse({ status: 'all', cursor: tampered })), /cursor/);
    const foreign = projectContext(env.ts.store, foreignId, { type: 'user', id: 0, name: 'A', role: 'admin' }, tz);
    await assert.rejects(listLog(foreign, LogListQuerySchema.parse({ status: 'all', cursor })), /cursor/);
    await assert.rejects(
      listLog(adminCtx, LogListQuerySchema.parse({ status: 'closed', cursor })),
      /different set of filters/,
    );
    await assert.rejects(listLog(adminCtx, LogListQuerySchema.parse({ status: 'all', cursor: 'garbage' })), /cursor/);
  });

  test('over HTTP: the SPEC shape, and bad input gets 400 naming the field', async () => {
    const { fastify } = await buildTestApp(env.ts.store);
    const token = await createToken(env.ts.store, projectId, 'supervisor');
    const auth = { authorization: `Bearer ${token}` };
    const ok = await fastify.inject({
      url: `/api/v1/projects/${projectId}/dialogs?status=all&limit=3&channel=sms&channel=viber`,
      headers: auth,
    });
    assert.equal(ok.statusCode, 200);
    const body = ok.json();
    assert.equal(body.items.length, 3);
    const d = body.items[0];
    for (const k of [
      'id',
      'status',
      'channel',
      'createdAt',
      'closedAt',
      'client',
      'manager',
      'lastResponder',
      'source',
      'canReply',
      'senderLabel',
    ]) {
      assert.ok(k in d, `dialog has ${k}`);
    }
    assert.ok(['sms', 'viber'].includes(d.channel));
    assert.equal(typeof body.nextCursor, 'string');
    const bad: [string, string][] = [
      ['foo=1', 'query.foo'],
      ['limit=500', 'query.limit'],
      ['limit=0', 'query.limit'],
      ['from=2026-02-30', 'query.from'],
      ['to=2026-13-01', 'query.to'],
      ['from=2026-05-02&to=2026-05-01', 'query.to'],
      ['from=2026-05-01T10:00:00', 'query.from'],
      ['channel=fax', 'query.channel'],
      ['status=archived', 'query.status'],
      ['managerId=abc', 'query.managerId'],
      ['sort=client', 'query.sort'],
      ['cursor=xyz', 'query.cursor'],
    ];
    for (const [qs, field] of bad) {
      const r = await fastify.inject({ url: `/api/v1/projects/${projectId}/dialogs?${qs}`, headers: auth });
      assert.equal(r.statusCode, 400, qs);
      const err = r.json().error;
      assert.equal(err.code, 'validation_failed', qs);
      assert.ok(
        err.fields.some((f: { field: string }) => f.field.startsWith(field)),
        `${qs}: ${JSON.stringify(err.fields)}`,
      );
      assert.ok(err.requestId);
    }
    const unknown = await fastify.inject({ url: '/api/v1/projects/999999/dialogs', headers: auth });
    assert.equal(unknown.statusCode, 404);
    const foreign = await fastify.inject({ url: `/api/v1/projects/${foreignId}/dialogs`, headers: auth });
    assert.equal(foreign.statusCode, 404);
    assert.deepEqual({ ...foreign.json().error, requestId: '' }, { ...unknown.json().error, requestId: '' });
    await fastify.close();
  });
});
