import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Store } from '../store/open.js';
import { createProject, createUser, forEachStore, projectContext } from '../testing/harness.js';
import type { Actor } from './context.js';
import { assignDialog, closeDialog, reopenDialog } from './dialog-lifecycle.js';
import { getDialog } from './get-dialog.js';
import { listMessages, MessagesQuery } from './list-messages.js';

async function newDialog(store: Store, projectId: number, identityId: number, managerId: number | null = null) {
  const now = Date.now();
  const d = await store.db
    .insertInto('dialogs')
    .values({
      project_id: projectId,
      channel_id: 1,
      channel_type: 'telegram',
      client_id: identityId,
      identity_id: identityId,
      client_name: 'Jan Kowalski',
      search_text: 'jan kowalski',
      status: managerId ? 'open' : 'new',
      manager_id: managerId,
      manager_name: managerId ? 'someone' : null,
      manager_sort: '',
      created_at: now,
      updated_at: now,
      outbound_only: 0,
      messages_in: 0,
      messages_out: 0,
      unread_count: 2,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  if (managerId) {
    await store.db
      .insertInto('dialog_managers')
      .values({ project_id: projectId, dialog_id: d.id, user_id: managerId, assigned_at: now })
      .execute();
  }
  return d.id;
}

forEachStore('dialog lifecycle', (env) => {
  let projectId: number;
  let anna: { id: number; name: string };
  let piotr: { id: number; name: string };
  let supervisor: Actor;
  const as = (u: { id: number; name: string }): Actor => ({ type: 'user', id: u.id, name: u.name, role: 'manager' });
  const ctx = (a: Actor) => projectContext(env.ts.store, projectId, a);

  before(async () => {
    projectId = await createProject(env.ts.store);
    anna = await createUser(env.ts.store, projectId, 'manager', 'Anna Nowak');
    piotr = await createUser(env.ts.store, projectId, 'manager', 'Piotr Zieliński');
    const s = await createUser(env.ts.store, projectId, 'supervisor', 'Szef');
    supervisor = { type: 'user', id: s.id, name: s.name, role: 'supervisor' };
  });

  test('take, transfer, close with a reason, reopen', async () => {
    const id = await newDialog(env.ts.store, projectId, 101);
    const taken = await assignDialog(ctx(as(anna)), id, { managerId: anna.id });
    assert.equal(taken.status, 'open');
    assert.deepEqual(taken.manager, { id: anna.id, name: 'Anna Nowak' });
    // Anna cannot take a dialog for Piotr unless she owns it — she does now, so she can transfer.
    const moved = await assignDialog(ctx(as(anna)), id, { managerId: piotr.id });
    assert.equal(moved.manager?.id, piotr.id);
    // Anna was responsible earlier: she still sees it; but she can no longer close it.
    assert.equal((await getDialog(ctx(as(anna)), id)).id, id);
    await assert.rejects(closeDialog(ctx(as(anna)), id, {}), { code: 'forbidden' });
    const closed = await closeDialog(ctx(as(piotr)), id, { reason: 'Sprawa załatwiona' });
    assert.equal(closed.status, 'closed');
    assert.equal(closed.closeReason, 'Sprawa załatwiona');
    assert.deepEqual(closed.closedBy, { id: piotr.id, name: 'Piotr Zieliński' });
    assert.ok(closed.closedAt);
    assert.equal(closed.unreadCount, 0);
    await assert.rejects(closeDialog(ctx(as(piotr)), id, {}), { code: 'invalid_state' });
    await assert.rejects(assignDialog(ctx(supervisor), id, { managerId: anna.id }), { code: 'invalid_state' });
    const reopened = await reopenDialog(ctx(as(piotr)), id);
    assert.equal(reopened.status, 'open');
    assert.equal(reopened.closedAt, null);
    const audit = await env.ts.store.db
      .selectFrom('audit_log')
      .select('action')
      .where('project_id', '=', projectId)
      .where('target_id', '=', String(id))
      .orderBy('id')
      .execute();
    assert.deepEqual(
      audit.map((a) => a.action),
      ['dialog.assign', 'dialog.assign', 'dialog.close', 'dialog.reopen'],
    );
  });

  test("a manager cannot take a dialog for someone else or touch another manager's dialog", async () => {
    const id = await newDialog(env.ts.store, projectId, 102);
    await assert.rejects(assignDialog(ctx(as(anna)), id, { managerId: piotr.id }), { code: 'forbidden' });
    await assignDialog(ctx(as(piotr)), id, { managerId: piotr.id });
    // Invisible to Anna now: reported as missing.
    await assert.rejects(getDialog(ctx(as(anna)), id), { code: 'not_found' });
    await assert.rejects(closeDialog(ctx(as(anna)), id, {}), { code: 'not_found' });
    const before = await env.ts.store.db
      .selectFrom('dialogs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    await assert.rejects(assignDialog(ctx(as(anna)), id, { managerId: anna.id }), { code: 'not_found' });
    const after = await env.ts.store.db
      .selectFrom('dialogs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(after, before);
    // A supervisor can transfer anything, but only to a member of the project.
    await assert.rejects(assignDialog(ctx(supervisor), id, { managerId: 987654 }), { code: 'validation_failed' });
    const other = await createProject(env.ts.store, 'Inny');
    const stranger = await createUser(env.ts.store, other, 'manager', 'Obcy');
    await assert.rejects(assignDialog(ctx(supervisor), id, { managerId: stranger.id }), { code: 'validation_failed' });
    assert.equal((await assignDialog(ctx(supervisor), id, { managerId: anna.id })).manager?.id, anna.id);
  });

  test('reopening is refused while the client has another open dialog (R7)', async () => {
    const first = await newDialog(env.ts.store, projectId, 103, anna.id);
    await closeDialog(ctx(as(anna)), first, {});
    const second = await newDialog(env.ts.store, projectId, 103);
    await assert.rejects(reopenDialog(ctx(supervisor), first), { code: 'conflict' });
    await closeDialog(ctx(supervisor), second, {});
    assert.equal((await reopenDialog(ctx(supervisor), first)).status, 'open');
  });

  test('the history pages in both directions without loss', async () => {
    const id = await newDialog(env.ts.store, projectId, 104, anna.id);
    const t0 = Date.parse('2026-05-01T10:00:00Z');
    for (let i = 0; i < 23; i++) {
      await env.ts.store.db
        .insertInto('messages')
        .values({
          project_id: projectId,
          dialog_id: id,
          channel_id: 1,
          direction: i % 2 ? 'out' : 'in',
          author_type: i % 2 ? 'manager' : 'client',
          author_id: i % 2 ? anna.id : null,
          author_name: i % 2 ? 'Anna Nowak' : 'Jan Kowalski',
          text: `wiadomość ${i}`,
          // pairs share a timestamp: the id breaks the tie
          created_at: t0 + Math.floor(i / 2) * 1000,
          updated_at: t0,
          status: i % 2 ? 'delivered' : 'received',
        })
        .execute();
    }
    for (const order of ['asc', 'desc'] as const) {
      const texts: string[] = [];
      let cursor: string | undefined;
      do {
        const p = await listMessages(
          ctx(as(anna)),
          id,
          MessagesQuery.parse({ order, limit: 5, ...(cursor ? { cursor } : {}) }),
        );
        texts.push(...p.items.map((m) => m.text));
        cursor = p.nextCursor ?? undefined;
      } while (cursor);
      const want = Array.from({ length: 23 }, (_, i) => `wiadomość ${i}`);
      assert.deepEqual(texts, order === 'asc' ? want : want.reverse());
    }
    const first = await listMessages(ctx(as(anna)), id, MessagesQuery.parse({ limit: 2 }));
    assert.deepEqual(first.items[0]!.author, { type: 'client', id: null, name: 'Jan Kowalski' });
    assert.equal(first.items[0]!.status, 'delivered');
    assert.equal(first.items[1]!.author.type, 'manager');
    await assert.rejects(listMessages(ctx(as(piotr)), id, MessagesQuery.parse({})), { code: 'not_found' });
    await assert.rejects(
      listMessages(ctx(as(anna)), id, MessagesQuery.parse({ order: 'desc', cursor: first.nextCursor! })),
      { code: 'validation_failed' },
    );
  });
});

forEachStore('dialog lifecycle events', (env) => {
  test('take, close and reopen each tell the workspaces (dialog.updated after the commit)', async () => {
    const projectId = await createProject(env.ts.store);
    const anna = await createUser(env.ts.store, projectId, 'manager', 'Anna Nowak');
    const c = projectContext(env.ts.store, projectId, { type: 'user', id: anna.id, name: anna.name, role: 'manager' });
    const events: unknown[] = [];
    c.bus.subscribe((e) => events.push(e));
    const id = await newDialog(env.ts.store, projectId, 9001);
    await assignDialog(c, id, { managerId: anna.id });
    await closeDialog(c, id, {});
    await reopenDialog(c, id);
    assert.deepEqual(events, Array(3).fill({ type: 'dialog.updated', projectId, dialogId: id }));
  });
});
