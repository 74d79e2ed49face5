import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { DomainEvent } from '../realtime/bus.js';
import { insertDialog } from '../testing/fixtures.js';
import {
  buildTestApp,
  createProject,
  createToken,
  createUser,
  forEachStore,
  projectContext,
} from '../testing/harness.js';
import type { Actor } from './context.js';
import { getDialog } from './get-dialog.js';
import { markDialogRead } from './mark-read.js';

forEachStore('mark a dialog read', (env) => {
  let projectId: number;
  let anna: Actor;
  let piotr: Actor;
  const t0 = Date.parse('2026-03-02T09:00:00Z');
  const ctx = (a: Actor) => projectContext(env.ts.store, projectId, a);
  const row = (id: number) =>
    env.ts.store.db
      .selectFrom('dialogs')
      .select(['unread_count', 'updated_at'])
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  const unreadDialog = (managerId: number | null, name: string) =>
    insertDialog(env.ts.store, {
      projectId,
      status: managerId === null ? 'new' : 'open',
      managerId,
      createdAt: t0,
      clientName: name,
      messages: [
        { direction: 'in', text: 'Dzień dobry', at: t0 },
        { direction: 'in', text: 'Czy jest ktoś?', at: t0 + 60_000 },
      ],
    });

  before(async () => {
    projectId = await createProject(env.ts.store);
    const a = await createUser(env.ts.store, projectId, 'manager', 'Anna Nowak');
    const p = await createUser(env.ts.store, projectId, 'manager', 'Piotr Zieliński');
    anna = { type: 'user', id: a.id, name: a.name, role: 'manager' };
    piotr = { type: 'user', id: p.id, name: p.name, role: 'manager' };
  });

  test('opening a dialog resets its unread count, announces it once, and is not activity', async () => {
    const d = await unreadDialog(null, 'Jan Kowalski');
    const c = ctx(anna);
    const events: DomainEvent[] = [];
    c.bus.subscribe((e) => events.push(e));
    const before = await row(d.id);
    assert.equal(before.unread_count, 2);

    await markDialogRead(c, d.id);
    const after = await row(d.id);
    assert.equal(after.unread_count, 0);
    assert.equal(Number(after.updated_at), Number(before.updated_at), 'reading does not count as activity');
    assert.equal((await getDialog(c, d.id)).unreadCount, 0);
    assert.deepEqual(events, [{ type: 'dialog.updated', projectId, dialogId: d.id }]);

    // Already read: nothing changes, nobody is bothered.
    await markDialogRead(c, d.id);
    assert.equal(events.length, 1);
  });

  test('a dialog the user may not see is not found, and its count stays', async () => {
    const d = await unreadDialog((piotr as { id: number }).id, 'Ewa Wiśniewska');
    await assert.rejects(markDialogRead(ctx(anna), d.id), { code: 'not_found' });
    assert.equal((await row(d.id)).unread_count, 2);
    await markDialogRead(ctx(piotr), d.id);
    assert.equal((await row(d.id)).unread_count, 0);
  });

  test('POST .../dialogs/{id}/read answers 204 with no body', async () => {
    const d = await unreadDialog(null, 'Zofia Lewandowska');
    const { fastify } = await buildTestApp(env.ts.store);
    try {
      const token = await createToken(env.ts.store, projectId, 'supervisor');
      const res = await fastify.inject({
        method: 'POST',
        url: `/api/v1/projects/${projectId}/dialogs/${d.id}/read`,
        headers: { authorization: `Bearer ${token}` },
        payload: {},
      });
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(res.body, '');
      assert.equal((await row(d.id)).unread_count, 0);
      const missing = await fastify.inject({
        method: 'POST',
        url: `/api/v1/projects/${projectId}/dialogs/987654321/read`,
        headers: { authorization: `Bearer ${token}` },
        payload: {},
      });
      assert.equal(missing.statusCode, 404);
    } finally {
      await fastify.close();
    }
  });
});
