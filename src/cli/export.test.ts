import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { AppError, NotFoundError, ValidationError } from '../core/errors.js';
import { LogListQuery } from '../core/log-query.js';
import { listLog } from '../services/list-log.js';
import type { Store } from '../store/open.js';
import { createChannel, insertDialog } from '../testing/fixtures.js';
import { createProject, createUser, forEachStore, projectContext, testConfig } from '../testing/harness.js';
import { exportCommand } from './export.js';

/** `dziennik export`, run in-process with its output captured. */
async function run(store: Store, args: string[]) {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  const code = await exportCommand(args, { store, config: testConfig() }, out);
  return { code, body: Buffer.concat(parts) };
}

function rowsOf(body: Buffer, delimiter: ';' | ',' = ';') {
  assert.deepEqual([...body.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const [header, ...rows] = parse(body, { bom: true, delimiter, record_delimiter: '\r\n' }) as string[][];
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])) as Record<string, string>);
}

async function rejectsNaming(p: Promise<unknown>, flag: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.ok(err.message.includes(flag), `"${err.message}" names ${flag}`);
    return true;
  });
}

forEachStore('dziennik export', (env) => {
  let store: Store;
  let projectId: number;
  let managers: number[] = [];
  const ids: number[] = [];

  before(async () => {
    store = env.ts.store;
    projectId = await createProject(store, 'CLI');
    const other = await createProject(store, 'Obcy');
    const a = await createUser(store, projectId, 'manager', 'Ola Zając');
    const b = await createUser(store, projectId, 'manager', 'Ćwierć Ęłka');
    managers = [a.id, b.id];
    const tg = await createChannel(store, projectId, 'telegram');
    const sms = await createChannel(store, projectId, 'sms');
    for (let i = 0; i < 9; i++) {
      const at = Date.UTC(2026, 3, 1 + i, 12);
      const status = i % 3 === 0 ? 'new' : i % 3 === 1 ? 'open' : 'closed';
      const r = await insertDialog(store, {
        projectId,
        channelId: i % 2 ? sms : tg,
        status,
        managerId: status === 'new' ? null : managers[i % 2],
        createdAt: at,
        clientName: i === 5 ? '=WEBSERVICE("http://x")' : `Klient ${i} żółw; "${i}"`,
        clientPhone: i % 2 ? `+4860010020${i}` : null,
        messages: [
          { direction: 'in', text: `Pytanie ${i}\nw dwóch liniach`, at: at + 1000 },
          { direction: 'out', text: `Odpowiedź ${i} 👍`, at: at + 2000 },
        ],
      });
      ids.push(r.id);
    }
    await insertDialog(store, {
      projectId: other,
      channelType: 'telegram',
      status: 'closed',
      createdAt: Date.UTC(2026, 3, 5),
      clientName: 'Obcy',
    });
  });

  test('writes dialogs.csv to the output: BOM, ";", the closed dialogs of that project only', async () => {
    const { code, body } = await run(store, ['--project', String(projectId), '--kind', 'dialogs']);
    assert.equal(code, 0);
    const rows = rowsOf(body);
    const system = projectContext(store, projectId, { type: 'system', name: 'cli' });
    const listed = await listLog(system, LogListQuery.parse({ limit: 200 }));
    assert.deepEqual(
      rows.map((r) => Number(r.id)),
      listed.items.map((i) => i.id),
    );
    assert.equal(rows.length, 3);
    const formula = await run(store, ['--project', String(projectId), '--kind', 'dialogs', '--status', 'all']);
    const cell = rowsOf(formula.body).find((r) => Number(r.id) === ids[5])!;
    assert.equal(cell.client_name, `'=WEBSERVICE("http://x")`);
    assert.equal(cell.client_phone, "'+48600100205");
  });

  test('every filter flag maps onto the API filters (repeatable ones too)', async () => {
    const system = projectContext(store, projectId, { type: 'system', name: 'cli' });
    const cases: [string[], Record<string, unknown>][] = [
      [['--status', 'all'], { status: 'all' }],
      [
        ['--status', 'all', '--manager-id', String(managers[0]), '--manager-id', String(managers[1])],
        { status: 'all', managerId: managers.map(String) },
      ],
      [['--status', 'all', '--channel', 'sms'], { status: 'all', channel: ['sms'] }],
      [
        ['--status', 'open', '--from', '2026-04-02', '--to', '2026-04-05'],
        { status: 'open', from: '2026-04-02', to: '2026-04-05' },
      ],
      [['--status', 'all', '--sort', 'manager', '--order', 'desc'], { status: 'all', sort: 'manager', order: 'desc' }],
      [['--status', 'all', '--q', 'żółw; "3"'], { status: 'all', q: 'żółw; "3"' }],
      [['--status', 'all', '--source', 'google'], { status: 'all', source: 'google' }],
    ];
    for (const [flags, filters] of cases) {
      const { code, body } = await run(store, [
        '--project',
        String(projectId),
        '--kind',
        'dialogs',
        '--delimiter',
        ',',
        ...flags,
      ]);
      assert.equal(code, 0);
      const listed = await listLog(system, LogListQuery.parse({ ...filters, limit: 200 }));
      assert.deepEqual(
        rowsOf(body, ',').map((r) => Number(r.id)),
        listed.items.map((i) => i.id),
        flags.join(' '),
      );
    }
  });

  test('messages.csv, and the audit entry is written as the system actor "cli" with the row count', async () => {
    const { code, body } = await run(store, ['--project', String(projectId), '--kind', 'messages', '--status', 'all']);
    assert.equal(code, 0);
    const rows = rowsOf(body);
    assert.equal(rows.length, 18);
    assert.deepEqual(
      rows.slice(0, 2).map((r) => r.text),
      ['Pytanie 8\nw dwóch liniach', 'Odpowiedź 8 👍'],
    );
    const entry = await store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('action', '=', 'export.messages')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(entry.actor_type, 'system');
    assert.equal(entry.actor_id, null);
    assert.equal(entry.actor_name, 'cli');
    const details = JSON.parse(entry.details);
    assert.equal(details.rows, 18);
    assert.equal(details.dialogs, 9);
    assert.equal(details.outcome, 'completed');
  });

  test('bad flags are refused with a message naming the flag, and nothing is written', async () => {
    const p = String(projectId);
    const out = new PassThrough();
    let written = 0;
    out.on('data', (c: Buffer) => {
      written += c.length;
    });
    const deps = { store, config: testConfig() };
    await rejectsNaming(exportCommand(['--kind', 'dialogs'], deps, out), '--project');
    await rejectsNaming(exportCommand(['--project', 'abc', '--kind', 'dialogs'], deps, out), '--project');
    await rejectsNaming(exportCommand(['--project', p], deps, out), '--kind');
    await rejectsNaming(exportCommand(['--project', p, '--kind', 'xlsx'], deps, out), '--kind');
    await rejectsNaming(
      exportCommand(['--project', p, '--kind', 'dialogs', '--status', 'bogus'], deps, out),
      '--status',
    );
    await rejectsNaming(
      exportCommand(['--project', p, '--kind', 'dialogs', '--manager-id', 'abc'], deps, out),
      '--manager-id',
    );
    await rejectsNaming(
      exportCommand(['--project', p, '--kind', 'dialogs', '--channel', 'fax'], deps, out),
      '--channel',
    );
    await rejectsNaming(
      exportCommand(['--project', p, '--kind', 'dialogs', '--from', '2026-02-30'], deps, out),
      '--from',
    );
    await rejectsNaming(
      exportCommand(['--project', p, '--kind', 'dialogs', '--from', '2026-03-02', '--to', '2026-03-01'], deps, out),
      '--to',
    );
    await rejectsNaming(
      exportCommand(['--project', p, '--kind', 'dialogs', '--delimiter', '|'], deps, out),
      '--delimiter',
    );
    await rejectsNaming(exportCommand(['--project', p, '--kind', 'dialogs', '--statsu', 'all'], deps, out), '--statsu');
    await rejectsNaming(exportCommand(['--project', p, '--kind', 'dialogs', 'extra'], deps, out), 'extra');
    await assert.rejects(exportCommand(['--project', '999999', '--kind', 'dialogs'], deps, out), NotFoundError);
    assert.ok(new ValidationError([{ field: '--x', message: 'y' }]).message.includes('--x'));
    assert.equal(written, 0);
  });

  test('an output that closes early ends the export as aborted and the command fails', async () => {
    const broken = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const code = await exportCommand(
      ['--project', String(projectId), '--kind', 'dialogs'],
      { store, config: testConfig() },
      broken,
    );
    assert.equal(code, 1);
    const entry = await store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('action', '=', 'export.dialogs')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(entry.details).outcome, 'aborted');
  });
});
