import assert from 'node:assert/strict';
import { test } from 'node:test';
import { insertDialog } from '../testing/fixtures.js';
import { appContext, createProject, createUser, forEachStore } from '../testing/harness.js';
import { AUTO_CLOSE_REASON, autoCloseDue } from './auto-close.js';

const HOUR = 3_600_000;

forEachStore('auto-close', (env) => {
  test('closes new and open dialogs idle for the project’s hours; nothing else, nowhere else', async () => {
    const now = Date.parse('2026-11-20T12:00:00Z');
    const store = env.ts.store;
    const p = await createProject(store, 'auto');
    const other = await createProject(store, 'manual');
    await store.db
      .updateTable('projects')
      .set({ settings: JSON.stringify({ autoCloseHours: 24 }) })
      .where('id', '=', p)
      .execute();
    const m = await createUser(store, p, 'manager', 'Marta');
    const idle = await insertDialog(store, {
      projectId: p,
      status: 'open',
      managerId: m.id,
      createdAt: now - 40 * HOUR,
      clientName: 'Cichy',
      messages: [{ direction: 'in', text: 'Halo', at: now - 25 * HOUR }],
    });
    const empty = await insertDialog(store, {
      projectId: p,
      status: 'new',
      createdAt: now - 30 * HOUR,
      clientName: 'Pusty',
    });
    const recent = await insertDialog(store, {
      projectId: p,
      status: 'open',
      managerId: m.id,
      createdAt: now - 40 * HOUR,
      clientName: 'Aktywny',
      messages: [{ direction: 'in', text: 'Jestem', at: now - 2 * HOUR }],
    });
    const elsewhere = await insertDialog(store, {
      projectId: other,
      status: 'new',
      createdAt: now - 100 * HOUR,
      clientName: 'Inny projekt',
    });
    const ctx = appContext(store, () => now);
    const events: unknown[] = [];
    ctx.bus.subscribe((e) => events.push(e));

    assert.equal(await autoCloseDue(ctx), 2);
    const rows = await store.db
      .selectFrom('dialogs')
      .select(['id', 'status', 'close_reason', 'closed_at', 'closed_by', 'closed_by_name'])
      .orderBy('id')
      .where('id', 'in', [idle.id, empty.id, recent.id, elsewhere.id])
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of [idle.id, empty.id]) {
      const r = byId.get(id)!;
      assert.equal(r.status, 'closed');
      assert.equal(r.close_reason, AUTO_CLOSE_REASON);
      assert.equal(Number(r.closed_at), now);
      assert.equal(r.closed_by, null);
      assert.equal(r.closed_by_name, 'Auto-close');
    }
    assert.equal(byId.get(recent.id)!.status, 'open');
    assert.equal(byId.get(elsewhere.id)!.status, 'new', 'a project without auto-close keeps its dialogs');
    assert.equal(events.length, 2);
    assert.equal(await autoCloseDue(ctx), 0, 'idempotent');
  });
});
