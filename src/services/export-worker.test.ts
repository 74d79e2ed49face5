import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openStore } from '../store/open.js';
import { ExportWorker, exportWorkerFor } from './export-worker.js';

const request = (sql: string, params: unknown[] = []) => ({
  sql,
  params,
  timeZone: 'Europe/Warsaw',
  delimiter: ';' as const,
  channelNames: new Map<number, string>(),
  sort: { sort: 'created' as const, order: 'desc' as const },
});

test('the export worker answers a bad query or a missing database with that error, and keeps serving', async () => {
  const missing = new ExportWorker(path.join(os.tmpdir(), `dz-missing-${process.pid}.db`));
  await assert.rejects(missing.run(request('SELECT 1')), /unable to open database file/);
  await missing.stop();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dz-export-worker-'));
  const store = await openStore({ dataDir: dir });
  try {
    const worker = exportWorkerFor(store, store.sqlitePath!);
    assert.equal(exportWorkerFor(store, store.sqlitePath!), worker, 'one worker per store');
    await assert.rejects(worker.run(request('SELECT * FROM no_such_table')), /no such table/);
    // A row shaped like DIALOG_SELECT, formatted as one CSV record, with its keyset key.
    const row = await worker.run(
      request(
        `SELECT 7, '', 1790000000000, NULL, 'new', 'telegram', 1, 3, '=cmd', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 0, NULL${', NULL'.repeat(10)}`,
      ),
    );
    assert.equal(row.rows, 1);
    assert.deepEqual(row.lastKey, [1790000000000, 7]);
    const text = row.data.toString('utf8');
    assert.match(text, /^7;2026-09-21T\d\d:\d\d:\d\d\+02:00;;new;telegram;;3;'=cmd;/);
    assert.ok(text.endsWith('\r\n'));
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
