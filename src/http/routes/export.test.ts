import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { localDate } from '../../core/time.js';
import type { Store } from '../../store/open.js';
import { createChannel, insertDialog } from '../../testing/fixtures.js';
import {
  buildTestApp,
  createProject,
  createToken,
  createUser,
  forEachStore,
  TEST_PASSWORD,
} from '../../testing/harness.js';

/** `GET .../dialogs/export` over HTTP: the same filters and visibility as `GET .../dialogs`. */

type Headers = Record<string, string>;

function parseCsv(body: Buffer, delimiter: ';' | ',' = ';') {
  assert.deepEqual([...body.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
  const [header, ...rows] = parse(body, { bom: true, delimiter, record_delimiter: '\r\n' }) as string[][];
  assert.ok(header);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])) as Record<string, string>);
}

forEachStore('GET /dialogs/export', (env) => {
  let store: Store;
  let app: FastifyInstance;
  let projectId: number;
  let otherProjectId: number;
  let supervisor: Headers;
  let managerSession: Headers;
  let otherAdmin: Headers;
  const ids = { mine: 0, theirs: 0, unassigned: 0, open: 0, foreign: 0 };
  let managerId = 0;
  const base = () => `/api/v1/projects/${projectId}/dialogs`;

  before(async () => {
    store = env.ts.store;
    app = (await buildTestApp(store)).fastify;
    projectId = await createProject(store, 'Rowery');
    otherProjectId = await createProject(store, 'Inny');
    const manager = await createUser(store, projectId, 'manager', 'Marta Wiśniewska');
    const colleague = await createUser(store, projectId, 'manager', 'Kamil Dąbrowski');
    managerId = manager.id;
    const channel = await createChannel(store, projectId, 'telegram');
    const at = Date.UTC(2026, 1, 10, 9);
    ids.mine = (
      await insertDialog(store, {
        projectId,
        channelId: channel,
        status: 'closed',
        managerId: manager.id,
        createdAt: at,
        clientName: 'Łucja "Lu"; Żółć, 🚲',
        messages: [
          { direction: 'in', text: 'Cześć;\n"pytanie"', at: at + 1000 },
          { direction: 'out', text: '=1+1 to 2', at: at + 2000 },
        ],
        attribution: { utm_source: '@evil', source: 'newsletter' },
      })
    ).id;
    ids.theirs = (
      await insertDialog(store, {
        projectId,
        channelId: channel,
        status: 'closed',
        managerId: colleague.id,
        createdAt: at + 3_600_000,
        clientName: 'Cudzy',
        messages: [{ direction: 'in', text: 'Nie twoje', at: at + 3_601_000 }],
      })
    ).id;
    ids.unassigned = (
      await insertDialog(store, {
        projectId,
        channelId: channel,
        status: 'closed',
        createdAt: at + 7_200_000,
        clientName: 'Niczyj',
      })
    ).id;
    ids.open = (
      await insertDialog(store, {
        projectId,
        channelId: channel,
        status: 'open',
        managerId: manager.id,
        createdAt: at + 10_800_000,
        clientName: 'Otwarty',
      })
    ).id;
    ids.foreign = (
      await insertDialog(store, {
        projectId: otherProjectId,
        channelType: 'sms',
        status: 'closed',
        createdAt: at,
        clientName: 'Obcy',
        clientPhone: '+48500600700',
      })
    ).id;

    supervisor = { authorization: `Bearer ${await createToken(store, projectId, 'supervisor')}` };
    otherAdmin = { authorization: `Bearer ${await createToken(store, otherProjectId, 'admin')}` };
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: manager.email, password: TEST_PASSWORD },
    });
    assert.equal(login.statusCode, 200, login.body);
    const raw = login.headers['set-cookie'];
    managerSession = { cookie: String(Array.isArray(raw) ? raw[0] : raw).split(';')[0]! };
  });

  /** Every id `GET .../dialogs` lists for a query string, through all its pages. */
  async function listed(headers: Headers, qs: string): Promise<number[]> {
    const out: number[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `${base()}?${qs}&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await app.inject({ method: 'GET', url, headers });
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json() as { items: { id: number }[]; nextCursor: string | null };
      out.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  test('streams text/csv as an attachment, with BOM, header and the filtered rows', async () => {
    const res = await app.inject({ method: 'GET', url: `${base()}/export`, headers: supervisor });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
    const today = localDate(Date.now(), 'Europe/Warsaw');
    assert.equal(res.headers['content-disposition'], `attachment; filename="dialogs-${projectId}-${today}.csv"`);
    assert.equal(res.headers['cache-control'], 'no-store');
    const rows = parseCsv(res.rawPayload);
    assert.deepEqual(
      rows.map((r) => Number(r.id)),
      [ids.unassigned, ids.theirs, ids.mine],
    );
    const mine = rows.find((r) => Number(r.id) === ids.mine)!;
    assert.equal(mine.client_name, 'Łucja "Lu"; Żółć, 🚲');
    assert.equal(mine.utm_source, "'@evil");
    assert.equal(mine.created_at, '2026-02-10T10:00:00+01:00');
  });

  test('the export equals the paged list for the same filters, also with "," and for messages', async () => {
    const filterSets = [
      'status=all',
      'status=closed',
      `status=all&managerId=${managerId}`,
      'status=all&sort=manager&order=desc',
      'from=2026-02-10&to=2026-02-10',
      'status=all&channel=telegram&channel=sms',
      'status=all&q=%C5%82ucja',
      'source=newsletter',
    ];
    for (const headers of [supervisor, managerSession]) {
      for (const qs of filterSets) {
        const expected = await listed(headers, qs);
        const res = await app.inject({ method: 'GET', url: `${base()}/export?${qs}&delimiter=,`, headers });
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(
          parseCsv(res.rawPayload, ',').map((r) => Number(r.id)),
          expected,
          qs,
        );
        const msgs = await app.inject({ method: 'GET', url: `${base()}/export?${qs}&kind=messages`, headers });
        assert.equal(msgs.statusCode, 200, msgs.body);
        assert.match(String(msgs.headers['content-disposition']), /filename="messages-\d+-\d{4}-\d{2}-\d{2}\.csv"/);
        const dialogIds = new Set(parseCsv(msgs.rawPayload).map((r) => Number(r.dialog_id)));
        for (const id of dialogIds) assert.ok(expected.includes(id), `${qs}: message of dialog ${id} not in the list`);
      }
    }
  });

  test("a manager's export holds only what that manager may see; messages too", async () => {
    const res = await app.inject({ method: 'GET', url: `${base()}/export?status=all`, headers: managerSession });
    assert.equal(res.statusCode, 200);
    const got = parseCsv(res.rawPayload)
      .map((r) => Number(r.id))
      .sort((a, b) => a - b);
    assert.deepEqual(
      got,
      [ids.mine, ids.unassigned, ids.open].sort((a, b) => a - b),
    );
    const msgs = await app.inject({
      method: 'GET',
      url: `${base()}/export?status=all&kind=messages`,
      headers: managerSession,
    });
    const texts = parseCsv(msgs.rawPayload).map((r) => r.text);
    assert.deepEqual(texts, ['Cześć;\n"pytanie"', "'=1+1 to 2"]);
  });

  test('bad filters get a 400 JSON error naming the field, before any CSV', async () => {
    for (const [qs, field] of [
      ['status=bogus', 'query.status'],
      ['managerId=abc', 'query.managerId.0'],
      ['from=2026-02-30', 'query.from'],
      ['from=2026-03-02&to=2026-03-01', 'query.to'],
      ['kind=xlsx', 'query.kind'],
      ['delimiter=%09', 'query.delimiter'],
      ['channel=fax', 'query.channel.0'],
      ['limit=10', 'query.limit'],
      ['cursor=abc', 'query.cursor'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: `${base()}/export?${qs}`, headers: supervisor });
      assert.equal(res.statusCode, 400, `${qs}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.notEqual(res.rawPayload[0], 0xef, 'no BOM: nothing of the CSV was sent');
      const body = res.json() as { error: { code: string; fields: { field: string }[]; requestId: string } };
      assert.equal(body.error.code, 'validation_failed');
      assert.ok(body.error.requestId);
      assert.ok(
        body.error.fields.some((f) => f.field === field),
        `${qs}: ${JSON.stringify(body.error.fields)}`,
      );
    }
  });

  test('an unknown or foreign project is a 404, a stranger a 401, and nothing leaks', async () => {
    const unknown = await app.inject({
      method: 'GET',
      url: '/api/v1/projects/999999/dialogs/export',
      headers: supervisor,
    });
    assert.equal(unknown.statusCode, 404);
    assert.equal((unknown.json() as { error: { code: string } }).error.code, 'not_found');
    const foreign = await app.inject({ method: 'GET', url: `${base()}/export?status=all`, headers: otherAdmin });
    assert.equal(foreign.statusCode, 404);
    assert.ok(!foreign.body.includes('Łucja'));
    const stranger = await app.inject({ method: 'GET', url: `${base()}/export` });
    assert.equal(stranger.statusCode, 401);
    // The other project's own export never shows this project's dialogs, nor the reverse.
    const theirs = await app.inject({
      method: 'GET',
      url: `/api/v1/projects/${otherProjectId}/dialogs/export?status=all`,
      headers: otherAdmin,
    });
    assert.deepEqual(
      parseCsv(theirs.rawPayload).map((r) => Number(r.id)),
      [ids.foreign],
    );
    const ours = await app.inject({ method: 'GET', url: `${base()}/export?status=all`, headers: supervisor });
    assert.ok(!parseCsv(ours.rawPayload).some((r) => Number(r.id) === ids.foreign));
  });

  test('"export" is not taken for a dialog id, and the route is in the OpenAPI document', async () => {
    const res = await app.inject({ method: 'GET', url: `${base()}/export/`, headers: supervisor });
    assert.equal(res.statusCode, 200);
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
    };
    const op = doc.paths['/api/v1/projects/{projectId}/dialogs/export']?.get;
    assert.ok(op, 'documented');
    assert.ok(JSON.stringify(op).includes('text/csv'));
  });

  test('each export over HTTP is audited with who, the filters and the row count', async () => {
    await app.inject({ method: 'GET', url: `${base()}/export?status=all&kind=messages`, headers: managerSession });
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/projects/${projectId}/audit?action=export.messages&limit=1`,
      headers: { authorization: `Bearer ${await createToken(store, projectId, 'admin')}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    const entry = (
      res.json() as {
        items: {
          actor: { type: string; id: number; name: string };
          details: Record<string, unknown>;
          ip: string | null;
        }[];
      }
    ).items[0]!;
    assert.equal(entry.actor.type, 'user');
    assert.equal(entry.actor.id, managerId);
    assert.equal(entry.details.outcome, 'completed');
    assert.equal(entry.details.rows, 2);
    assert.equal(entry.details.dialogs, 3);
    assert.equal((entry.details.filters as { status: string }).status, 'all');
  });
});
