import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { migrate } from './migrate.js';
import { openStore } from './open.js';

/**
 * SQLite has no autoanalyze: the server's connection refreshes the planner's statistics itself
 * (`PRAGMA optimize`, store/open.ts). PostgreSQL's are kept by its autovacuum (docs/DEPLOY.md).
 */
test('SQLite: the server connection gathers statistics for a table that grew since the last ANALYZE', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dz-optimize-'));
  try {
    let store = await openStore({ dataDir: dir, exclusive: true });
    await migrate(store);
    const now = Date.now();
    const projectId = Number(
      store
        .sqlite!.prepare("INSERT INTO projects (name, public_key, created_at) VALUES ('p', 'pk-optimize', ?)")
        .run(now).lastInsertRowid,
    );
    const insert = store.sqlite!.prepare(
      'INSERT INTO clients (project_id, name, phone, created_at, updated_at) VALUES (?, ?, NULL, ?, ?)',
    );
    store.sqlite!.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run(projectId, `client ${i}`, now, now);
    })();
    const stats = (s: typeof store) =>
      s.sqlite!.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_stat1'").get() as { n: number };
    const clientStats = (s: typeof store) =>
      stats(s).n === 0
        ? []
        : (s.sqlite!.prepare("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'clients'").all() as { stat: string }[]);
    assert.deepEqual(clientStats(store), [], 'nothing analysed the new rows yet');
    await store.close();

    store = await openStore({ dataDir: dir, exclusive: true });
    const rows = clientStats(store);
    assert.ok(rows.length > 0, 'the reopened server connection analysed clients');
    assert.ok(
      rows.some((r) => Number(r.stat.split(' ')[0]) >= 1000),
      `statistics count the rows: ${JSON.stringify(rows)}`,
    );
    await store.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
