import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Store } from '../store/open.js';
import { createChannel } from '../testing/fixtures.js';
import { appContext, createProject, createUser, forEachStore, projectContext } from '../testing/harness.js';
import type { Actor, AppContext } from './context.js';
import { assignDialog, closeDialog } from './dialog-lifecycle.js';
import { getDialogDetail } from './get-dialog.js';
import { PRESENCE_TTL_MS, Presence } from './presence.js';
import { type DistributionMode, updateProjectSettings } from './project-settings.js';
import { type InboundChannel, type InboundMessageEvent, receiveInbound } from './receive-inbound.js';
import { replyToDialog } from './send-reply.js';

/**
 * Distribution modes (SPEC §4.3, services/distribution.ts) on both stores: who a new dialog goes
 * to, and what a manager may do with an unassigned one. Online means a live stream connection
 * (services/presence.ts); the tests open and close "connections" through the same Presence the
 * stream route uses.
 */

const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);
let seq = 0;

interface User {
  id: number;
  name: string;
}

forEachStore('distribution', (env) => {
  let now = T0;
  const clock = () => now;

  async function project(mode: DistributionMode) {
    const projectId = await createProject(env.ts.store, `distribution ${++seq}`);
    const channelId = await createChannel(env.ts.store, projectId, 'telegram');
    const admin = await createUser(env.ts.store, projectId, 'admin', 'Admin Główny');
    const anna = await createUser(env.ts.store, projectId, 'manager', 'Anna Nowak');
    const piotr = await createUser(env.ts.store, projectId, 'manager', 'Piotr Zieliński');
    const ewa = await createUser(env.ts.store, projectId, 'manager', 'Ewa Lis');
    const szef = await createUser(env.ts.store, projectId, 'supervisor', 'Szef Zmiany');
    const adminCtx = projectContext(env.ts.store, projectId, actor(admin, 'admin'));
    await updateProjectSettings(adminCtx, { distributionMode: mode });
    const channel: InboundChannel = { id: channelId, projectId, type: 'telegram' };
    const ctx: AppContext = appContext(env.ts.store, clock);
    const presence = new Presence(env.ts.store, clock, { error: (o) => assert.fail(String(JSON.stringify(o))) });
    return { projectId, channel, ctx, presence, anna, piotr, ewa, szef };
  }

  function actor(u: User, role: 'admin' | 'supervisor' | 'manager'): Actor {
    return { type: 'user', id: u.id, name: u.name, role };
  }
  const as = (projectId: number, u: User, role: 'admin' | 'supervisor' | 'manager' = 'manager') =>
    projectContext(env.ts.store, projectId, actor(u, role));

  const message = (client: string, text = 'Dzień dobry'): InboundMessageEvent => ({
    kind: 'message',
    externalUserId: client,
    displayName: `Klient ${client}`,
    platformMessageId: `${client}:${++seq}`,
    text,
    sentAt: now,
  });

  async function dialogOf(store: Store, projectId: number, dialogId: number) {
    return store.db
      .selectFrom('dialogs')
      .select(['status', 'manager_id', 'manager_name'])
      .where('project_id', '=', projectId)
      .where('id', '=', dialogId)
      .executeTakeFirstOrThrow();
  }

  async function managersOf(store: Store, projectId: number, dialogId: number) {
    const rows = await store.db
      .selectFrom('dialog_managers')
      .select('user_id')
      .where('project_id', '=', projectId)
      .where('dialog_id', '=', dialogId)
      .execute();
    return rows.map((r) => r.user_id);
  }

  before(() => {
    now = T0;
  });

  test('presence: a row while any connection is open, none after the last closes or the node stops', async () => {
    const p = await project('first_to_answer');
    const rows = () =>
      env.ts.store.db.selectFrom('presence').select(['user_id']).where('project_id', '=', p.projectId).execute();
    const leave1 = p.presence.enter(p.projectId, p.anna.id);
    const leave2 = p.presence.enter(p.projectId, p.anna.id);
    p.presence.enter(p.projectId, p.piotr.id);
    await p.presence.settled();
    assert.equal((await rows()).length, 2);
    leave1();
    leave1(); // a second call changes nothing
    await p.presence.settled();
    assert.deepEqual((await rows()).map((r) => r.user_id).sort(), [p.anna.id, p.piotr.id].sort());
    leave2();
    await p.presence.settled();
    assert.deepEqual(
      (await rows()).map((r) => r.user_id),
      [p.piotr.id],
    );
    await p.presence.stop();
    assert.deepEqual(await rows(), []);
  });

  test('round-robin: new dialogs go to online managers in turn; offline managers and supervisors get none', async () => {
    const p = await project('round_robin');
    p.presence.enter(p.projectId, p.anna.id);
    p.presence.enter(p.projectId, p.piotr.id);
    p.presence.enter(p.projectId, p.szef.id); // a supervisor with the workspace open is not a manager
    await p.presence.settled();
    const got: (number | null)[] = [];
    for (let i = 0; i < 4; i++) {
      now += 1_000;
      const [o] = await receiveInbound(p.ctx, p.channel, [message(`rr-${seq}-${i}`)]);
      assert.equal(o?.outcome, 'stored');
      const id = (o as { dialogId: number }).dialogId;
      const d = await dialogOf(env.ts.store, p.projectId, id);
      got.push(d.manager_id);
      assert.equal(d.status, 'open');
      assert.deepEqual(await managersOf(env.ts.store, p.projectId, id), [d.manager_id]);
    }
    // Anna has the lower id: she is first among the never-served; then turns alternate.
    const [first, second] = [p.anna.id, p.piotr.id].sort((a, b) => a - b);
    assert.deepEqual(got, [first, second, first, second]);
    // The manager sees it as theirs in the workspace.
    const d = await dialogOf(
      env.ts.store,
      p.projectId,
      (
        await env.ts.store.db
          .selectFrom('dialogs')
          .select('id')
          .where('project_id', '=', p.projectId)
          .orderBy('id', 'desc')
          .executeTakeFirstOrThrow()
      ).id,
    );
    assert.ok(d.manager_name === p.anna.name || d.manager_name === p.piotr.name);
    await p.presence.stop();
  });

  test('round-robin: a message to an existing open dialog keeps its manager', async () => {
    const p = await project('round_robin');
    p.presence.enter(p.projectId, p.anna.id);
    await p.presence.settled();
    const [o1] = await receiveInbound(p.ctx, p.channel, [message('same-client')]);
    const id = (o1 as { dialogId: number }).dialogId;
    p.presence.enter(p.projectId, p.piotr.id);
    await p.presence.settled();
    now += 1_000;
    const [o2] = await receiveInbound(p.ctx, p.channel, [message('same-client', 'Jeszcze jedno')]);
    assert.equal((o2 as { dialogId: number }).dialogId, id);
    assert.equal((await dialogOf(env.ts.store, p.projectId, id)).manager_id, p.anna.id);
    await p.presence.stop();
  });

  test('round-robin with nobody online: the dialog waits unassigned; the next message goes to whoever came online', async () => {
    const p = await project('round_robin');
    const [o1] = await receiveInbound(p.ctx, p.channel, [message('waiting')]);
    const id = (o1 as { dialogId: number }).dialogId;
    assert.deepEqual(await dialogOf(env.ts.store, p.projectId, id), {
      status: 'new',
      manager_id: null,
      manager_name: null,
    });

    // Piotr's node died long ago: his row is stale and does not count.
    p.presence.enter(p.projectId, p.piotr.id);
    await p.presence.settled();
    now += PRESENCE_TTL_MS + 1;
    const fresh = new Presence(env.ts.store, clock, { error: () => {} });
    fresh.enter(p.projectId, p.ewa.id);
    await fresh.settled();
    const [o2] = await receiveInbound(p.ctx, p.channel, [message('waiting', 'Halo?')]);
    assert.equal((o2 as { dialogId: number }).dialogId, id);
    const d = await dialogOf(env.ts.store, p.projectId, id);
    assert.deepEqual(d, { status: 'open', manager_id: p.ewa.id, manager_name: p.ewa.name });
    assert.deepEqual(await managersOf(env.ts.store, p.projectId, id), [p.ewa.id]);
    await fresh.stop();
    await p.presence.stop();
  });

  test('round-robin: two new clients at once with two managers online go to both', async () => {
    const p = await project('round_robin');
    p.presence.enter(p.projectId, p.anna.id);
    p.presence.enter(p.projectId, p.piotr.id);
    await p.presence.settled();
    const outcomes = await Promise.all(
      ['together-1', 'together-2'].map((c) => receiveInbound(p.ctx, p.channel, [message(c)])),
    );
    const managers = await Promise.all(
      outcomes.map(
        async ([o]) => (await dialogOf(env.ts.store, p.projectId, (o as { dialogId: number }).dialogId)).manager_id,
      ),
    );
    assert.deepEqual([...managers].sort(), [p.anna.id, p.piotr.id].sort());
    await p.presence.stop();
  });

  test('first to answer (default): a new dialog stays unassigned even with managers online', async () => {
    const p = await project('first_to_answer');
    p.presence.enter(p.projectId, p.anna.id);
    await p.presence.settled();
    const [o] = await receiveInbound(p.ctx, p.channel, [message('fta')]);
    const id = (o as { dialogId: number }).dialogId;
    assert.equal((await dialogOf(env.ts.store, p.projectId, id)).manager_id, null);
    // Any manager takes it.
    const taken = await assignDialog(as(p.projectId, p.piotr), id, { managerId: p.piotr.id });
    assert.equal(taken.manager?.id, p.piotr.id);
    await p.presence.stop();
  });

  test('manual: managers cannot answer, take or close an unassigned dialog; a supervisor assigns it', async () => {
    const p = await project('manual');
    p.presence.enter(p.projectId, p.anna.id);
    await p.presence.settled();
    const [o] = await receiveInbound(p.ctx, p.channel, [message('manual')]);
    const id = (o as { dialogId: number }).dialogId;
    assert.equal((await dialogOf(env.ts.store, p.projectId, id)).manager_id, null);

    const anna = as(p.projectId, p.anna);
    const detail = await getDialogDetail(anna, id);
    assert.equal(detail.distributionMode, 'manual');
    await assert.rejects(replyToDialog(anna, id, { text: 'Dzień dobry' }), {
      code: 'forbidden',
      message: /assigned by a supervisor/,
    });
    await assert.rejects(assignDialog(anna, id, { managerId: p.anna.id }), { code: 'forbidden' });
    await assert.rejects(closeDialog(anna, id, {}), { code: 'forbidden' });
    // Nothing changed.
    assert.deepEqual(await dialogOf(env.ts.store, p.projectId, id), {
      status: 'new',
      manager_id: null,
      manager_name: null,
    });
    const messages = await env.ts.store.db
      .selectFrom('messages')
      .select('id')
      .where('project_id', '=', p.projectId)
      .where('dialog_id', '=', id)
      .execute();
    assert.equal(messages.length, 1);

    const assigned = await assignDialog(as(p.projectId, p.szef, 'supervisor'), id, { managerId: p.anna.id });
    assert.equal(assigned.manager?.id, p.anna.id);
    // Now it is hers: she may act on it.
    const closed = await closeDialog(anna, id, { reason: 'Załatwione' });
    assert.equal(closed.status, 'closed');
    await p.presence.stop();
  });
});
