import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createChannel } from '../testing/fixtures.js';
import { appContext, createProject, forEachStore } from '../testing/harness.js';
import { fastPathCount, setInboundFastPath } from './inbound-fast-path.js';
import { type InboundEvent, type InboundMessageEvent, receiveInbound } from './receive-inbound.js';

/**
 * The PostgreSQL fast path for a known client's next message (inbound-fast-path.ts) must leave
 * exactly the rows the general path leaves. The same events go into two projects, one with the fast
 * path and one without, and every dialog and message column but the ids is compared.
 */

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

forEachStore('inbound fast path', (env) => {
  after(() => setInboundFastPath(true));

  test('the same events leave the same rows with and without the fast path', async () => {
    let now = T0;
    const msg = (over: Partial<InboundMessageEvent> & { id: string }): InboundMessageEvent => ({
      kind: 'message',
      externalUserId: '5001',
      displayName: 'Zofia Wójcik',
      handle: '@zofia',
      platformMessageId: over.id,
      text: `Wiadomość ${over.id}`,
      sentAt: now,
      ...over,
    });
    // Each step runs in both projects with the clock at the same instant.
    const steps: ((closeOpen: () => Promise<void>) => Promise<InboundEvent[] | null>)[] = [
      async () => [msg({ id: 'm1' })], // a new client: general path
      async () => [msg({ id: 'm2' })], // the plain case
      async () => [msg({ id: 'm2' })], // a redelivery: duplicate
      async () => [msg({ id: 'm3', sentAt: now + 60_000 })], // a clock ahead: clamped to now
      async () => [msg({ id: 'm4', sentAt: now - 3_600_000 })], // late: kept after the last message
      async () => [msg({ id: 'm5', attachments: [{ type: 'photo', fileId: 'f1' }] })],
      async () => [msg({ id: 'm6', displayName: 'Zofia Nowak' })], // renamed: general path
      async () => [msg({ id: 'm7', displayName: 'Zofia Nowak', handle: undefined })], // no handle sent: same
      async () => [msg({ id: 'm8', displayName: undefined, handle: '@zofia_n' })], // new handle
      async () => [msg({ id: 'm9', displayName: undefined, handle: undefined, text: '' })],
      async (closeOpen) => {
        await closeOpen();
        return null;
      },
      async () => [msg({ id: 'm10', displayName: 'Zofia Nowak', handle: '@zofia_n' })], // a new dialog (R7)
      async () => [msg({ id: 'm11', displayName: 'Zofia Nowak', handle: '@zofia_n' })],
      async () => [msg({ id: 'm12', externalUserId: '5002', displayName: 'Jan', handle: undefined })],
      async () => [msg({ id: 'm13', externalUserId: '5002', displayName: 'Jan', handle: undefined })],
    ];

    const setup = async (name: string) => {
      const projectId = await createProject(env.ts.store, name);
      const channelId = await createChannel(env.ts.store, projectId, 'telegram');
      const ctx = appContext(env.ts.store, () => now);
      return { projectId, channel: { id: channelId, projectId, type: 'telegram' as const }, ctx };
    };
    const fastProject = await setup('fast path');
    const slowProject = await setup('general path');
    const before = fastPathCount.handled;
    const outcomes: { fast: unknown[]; slow: unknown[] } = { fast: [], slow: [] };
    for (const step of steps) {
      now += 1_000;
      for (const [which, p] of [
        ['fast', fastProject],
        ['slow', slowProject],
      ] as const) {
        setInboundFastPath(which === 'fast');
        const closeOpen = async () => {
          await env.ts.store.db
            .updateTable('dialogs')
            .set({ status: 'closed', closed_at: now, updated_at: now })
            .where('project_id', '=', p.projectId)
            .where('status', '!=', 'closed')
            .execute();
        };
        const events = await step(closeOpen);
        if (!events) continue;
        const got = await receiveInbound(p.ctx, p.channel, events);
        outcomes[which].push(got.map((o) => ({ kind: o.kind, outcome: o.outcome })));
      }
    }
    setInboundFastPath(true);
    assert.deepEqual(outcomes.fast, outcomes.slow);
    if (env.kind === 'postgres') {
      // m1 and m12 (new clients); m2, its redelivery, m3, m4, m5, m7, m9, m11, m13: the plain cases.
      assert.equal(fastPathCount.handled - before, 11, 'the fast path handled the plain cases');
    }

    const rows = async (projectId: number) => {
      const dialogs = await env.ts.store.db
        .selectFrom('dialogs')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('id')
        .execute();
      const messages = await env.ts.store.db
        .selectFrom('messages')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('id')
        .execute();
      const strip = <T extends Record<string, unknown>>(r: T, keys: string[]) =>
        Object.fromEntries(Object.entries(r).filter(([k]) => !keys.includes(k)));
      const ids = ['id', 'project_id', 'channel_id', 'client_id', 'identity_id', 'dialog_id'];
      return {
        dialogs: dialogs.map((d) => strip(d, ids)),
        messages: messages.map((m) => strip(m, ids)),
        dialogOfMessage: messages.map((m) => dialogs.findIndex((d) => d.id === m.dialog_id)),
      };
    };
    const fast = await rows(fastProject.projectId);
    const slow = await rows(slowProject.projectId);
    assert.equal(fast.dialogs.length, 3);
    assert.equal(fast.messages.length, 13);
    assert.deepEqual(fast, slow);
  });

  test('a new client’s first messages racing: one client, one identity, one dialog, no message twice', async () => {
    const projectId = await createProject(env.ts.store, 'first message race');
    const channelId = await createChannel(env.ts.store, projectId, 'telegram');
    const ctx = appContext(env.ts.store);
    const channel = { id: channelId, projectId, type: 'telegram' as const };
    const first = (id: string): InboundMessageEvent => ({
      kind: 'message',
      externalUserId: '7007',
      displayName: 'Nowy Klient',
      platformMessageId: id,
      text: `pierwsza ${id}`,
      sentAt: Date.now(),
    });
    // Two different messages and a redelivery of one of them, all at once.
    const outcomes = await Promise.all(
      [first('r1'), first('r2'), first('r1')].map((e) => receiveInbound(ctx, channel, [e])),
    );
    assert.deepEqual(outcomes.map(([o]) => o?.outcome).sort(), ['duplicate', 'stored', 'stored']);
    const count = async (table: 'clients' | 'client_identities' | 'dialogs' | 'messages') =>
      Number(
        (
          await env.ts.store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('project_id', '=', projectId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    assert.equal(await count('clients'), 1, 'no client row left behind by the loser');
    assert.equal(await count('client_identities'), 1);
    assert.equal(await count('dialogs'), 1);
    assert.equal(await count('messages'), 2);
  });
});
