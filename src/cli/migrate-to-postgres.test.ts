import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { seedProject } from '../services/seed.js';
import {
  createProject,
  createTestStore,
  createToken,
  createUser,
  storeKinds,
  TEST_SECRET,
  type TestStore,
} from '../testing/harness.js';
import { BIN, cliEnv, ROOT } from '../testing/server-process.js';
import { migrateToPostgres } from './migrate-to-postgres.js';

/**
 * `dziennik migrate-to-postgres` (issue 6 §5): a seeded SQLite installation moves into an empty
 * PostgreSQL database with its ids, every table's row count verified; the identity sequences
 * continue after the copied ids; a database that already holds rows is refused.
 */

const SKIP = storeKinds().includes('postgres') ? false : 'needs PostgreSQL (TEST_DATABASE_URL)';

describe('migrate-to-postgres', { skip: SKIP }, () => {
  let source: TestStore;
  let target: TestStore;
  let projectId: number;

  before(async () => {
    source = await createTestStore('sqlite');
    target = await createTestStore('postgres');
    projectId = await createProject(source.store, 'przeprowadzka');
    await createUser(source.store, projectId, 'admin', 'Ada Admin');
    await createToken(source.store, projectId, 'manager');
    await seedProject(source.store, { projectId, dialogs: 150, seed: 7 });
  });
  after(async () => {
    await source?.destroy();
    await target?.destroy();
  });

  test('copies every table with its ids and verifies the row counts', async () => {
    const report = await migrateToPostgres({ dataDir: source.location, databaseUrl: target.location });
    const byTable = new Map(report.map((r) => [r.table, r]));
    for (const table of [
      'projects',
      'users',
      'memberships',
      'api_tokens',
      'channels',
      'clients',
      'dialogs',
      'messages',
    ]) {
      const r = byTable.get(table);
      assert.ok(r, `${table} was copied`);
      assert.ok(r.source > 0, `${table} has rows in the seeded store`);
      assert.equal(r.target, r.source, `${table}: the same number of rows`);
    }
    assert.ok(!byTable.has('messages_fts'), 'the SQLite search index is not a table to copy');
    for (const r of report) assert.equal(r.target, r.source, r.table);

    // The same rows under the same ids.
    const pick = async (s: TestStore) =>
      s.store.db
        .selectFrom('messages')
        .select(['id', 'dialog_id', 'direction', 'text', 'status', 'created_at'])
        .where('project_id', '=', projectId)
        .orderBy('id')
        .execute();
    assert.deepEqual(await pick(target), await pick(source));
    const dialogs = async (s: TestStore) =>
      s.store.db.selectFrom('dialogs').selectAll().where('project_id', '=', projectId).orderBy('id').execute();
    assert.deepEqual(await dialogs(target), await dialogs(source));

    // New rows continue after the copied ids.
    const maxId = (
      await target.store.db
        .selectFrom('messages')
        .select((eb) => eb.fn.max('id').as('m'))
        .executeTakeFirstOrThrow()
    ).m as number;
    const created = await createProject(target.store, 'po przeprowadzce');
    assert.ok(created > projectId, 'a new project gets a fresh id');
    const dialog = await target.store.db.selectFrom('dialogs').select(['id', 'project_id']).executeTakeFirstOrThrow();
    const msg = await target.store.db
      .selectFrom('messages')
      .selectAll()
      .where('id', '=', maxId)
      .executeTakeFirstOrThrow();
    const { id: newId } = await target.store.db
      .insertInto('messages')
      .values({
        ...msg,
        id: undefined,
        platform_message_id: null,
        dialog_id: dialog.id,
        project_id: dialog.project_id,
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    assert.ok(newId > maxId, `a new message gets an id after the copied ones (${newId} > ${maxId})`);
  });

  test('refuses a PostgreSQL database that already holds rows (the command exits 2, nothing copied)', async () => {
    const before = await target.store.db.selectFrom('projects').select('id').execute();
    const r = spawnSync(process.execPath, [BIN, 'migrate-to-postgres', '--database-url', target.location], {
      cwd: ROOT,
      env: cliEnv({ DATA_DIR: source.location, SECRET_KEY: TEST_SECRET }),
      encoding: 'utf8',
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /not empty/);
    assert.deepEqual(await target.store.db.selectFrom('projects').select('id').execute(), before);
  });
});
