import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProject, forEachStore } from '../testing/harness.js';
import { groupTransaction } from './group-commit.js';

/**
 * Group commit (store/group-commit.ts): units arriving together share a transaction on SQLite, yet
 * each behaves as its own — a failing unit leaves nothing and gets its own error, the others commit.
 */
forEachStore('group commit', (env) => {
  test('concurrent units: each commits or fails alone; every promise settles after its commit', async () => {
    const store = env.ts.store;
    const projectId = await createProject(store, 'group commit');
    const insert = (name: string) =>
      groupTransaction(store, async (trx) => {
        const now = Date.now();
        const row = await trx
          .insertInto('clients')
          .values({ project_id: projectId, name, phone: null, created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        if (name.startsWith('fail')) throw new Error(`unit ${name} failed`);
        return row.id;
      });
    const names = Array.from({ length: 30 }, (_, i) => (i % 7 === 3 ? `fail-${i}` : `ok-${i}`));
    const settled = await Promise.allSettled(names.map((n) => insert(n)));
    const stored = await store.db
      .selectFrom('clients')
      .select(['id', 'name'])
      .where('project_id', '=', projectId)
      .orderBy('id')
      .execute();
    names.forEach((n, i) => {
      const s = settled[i]!;
      if (n.startsWith('fail')) {
        assert.equal(s.status, 'rejected');
        assert.match(String((s as PromiseRejectedResult).reason), new RegExp(`unit ${n} failed`));
      } else {
        assert.equal(s.status, 'fulfilled');
        assert.ok(stored.some((r) => r.id === (s as PromiseFulfilledResult<number>).value && r.name === n));
      }
    });
    // SQLite: one batch, in the order of arrival; PostgreSQL: concurrent transactions.
    const expected = names.filter((n) => !n.startsWith('fail'));
    const got = stored.map((r) => r.name);
    if (env.kind === 'sqlite') assert.deepEqual(got, expected);
    else assert.deepEqual([...got].sort(), [...expected].sort());
  });

  test('a unit sees the writes of the units before it in the same batch', async () => {
    const store = env.ts.store;
    const projectId = await createProject(store, 'group commit order');
    const now = Date.now();
    const counts = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        groupTransaction(store, async (trx) => {
          await trx
            .insertInto('clients')
            .values({ project_id: projectId, name: `c${i}`, phone: null, created_at: now, updated_at: now })
            .execute();
          const r = await trx
            .selectFrom('clients')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('project_id', '=', projectId)
            .executeTakeFirstOrThrow();
          return Number(r.n);
        }),
      ),
    );
    // SQLite: one after another in one transaction. PostgreSQL: concurrent transactions, each
    // seeing its own row and those committed before it.
    if (env.kind === 'sqlite') assert.deepEqual(counts, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    else assert.ok(counts.every((n) => n >= 1 && n <= 10));
  });
});
