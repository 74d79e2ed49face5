import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/server.js';
import { SenderRegistry } from '../channels/senders.js';
import { buildApp } from '../http/app.js';
import { openStore, type Store } from '../store/open.js';
import { insertSealedChannel } from '../testing/fixtures.js';
import { createProject, createToken, forEachStore, testConfig } from '../testing/harness.js';
import { OutboxWorker } from './outbox-worker.js';

/**
 * Delivery across nodes (issue 6 §2): two nodes — each its own Store (its own pool) and outbox
 * worker — on one PostgreSQL database. Replies queued through both are each sent exactly once and
 * in per-dialog order (the simulator counts); a node that claims a row and dies leaves it to the
 * other once the lease expires.
 */

const SKIP = 'several nodes need PostgreSQL; SQLite has one writer process (cli/start.ts holds its lock)';
const TOKEN = '7012345679:AAE-multinode-test-token-0000000';
const SECRET = 'dz_tg-multinode_0123456789';
const LEASE_MS = 5_000;

forEachStore('outbox delivery across nodes', (env) => {
  if (env.kind !== 'postgres') {
    test('two nodes deliver each reply once', { skip: SKIP }, () => {});
    return;
  }
  let sim: Simulator;
  let storeB: Store;
  let nodeA: Awaited<ReturnType<typeof buildApp>>;
  let nodeB: Awaited<ReturnType<typeof buildApp>>;
  let projectId: number;
  let token: string;
  let channelId: number;
  let now = Date.now();
  const clock = () => now;
  const workers: OutboxWorker[] = [];
  // One row per claim, so that the two nodes share the work instead of one taking both dialogs' heads.
  const worker = (node: typeof nodeA, nodeId: string) => {
    const w = new OutboxWorker(node.app, new SenderRegistry(node.app), {
      nodeId,
      leaseMs: LEASE_MS,
      pollMs: 20,
      batchSize: 1,
    });
    workers.push(w);
    return w;
  };
  const reply = async (node: typeof nodeA, dialogId: number, text: string) => {
    const res = await node.fastify.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/dialogs/${dialogId}/reply`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ text }),
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: number };
  };
  const dialogOf = async (externalId: string) => {
    const row = await env.ts.store.db
      .selectFrom('dialogs')
      .innerJoin('client_identities', 'client_identities.id', 'dialogs.identity_id')
      .select('dialogs.id')
      .where('dialogs.channel_id', '=', channelId)
      .where('client_identities.external_id', '=', externalId)
      .executeTakeFirstOrThrow();
    return row.id;
  };
  const waitFor = async (cond: () => boolean | Promise<boolean>, what: string, ms = 15_000) => {
    const until = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  before(async () => {
    sim = await startSimulator({ retry: { attempts: 1, delayMs: 5 } });
    const config = testConfig({ TELEGRAM_API_URL: sim.urls.telegram });
    storeB = await openStore({ databaseUrl: env.ts.location, dataDir: os.tmpdir(), poolSize: 5 });
    nodeA = await buildApp({ config, store: env.ts.store, logger: false, clock });
    nodeB = await buildApp({ config, store: storeB, logger: false, clock });
    await nodeA.fastify.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(nodeA.fastify.server.address() as { port: number }).port}`;
    projectId = await createProject(env.ts.store, 'two nodes');
    token = await createToken(env.ts.store, projectId, 'admin');
    sim.telegram.createBot({ token: TOKEN, username: 'dwa_wezly_bot' });
    channelId = await insertSealedChannel(
      env.ts.store,
      projectId,
      'telegram',
      { botToken: TOKEN },
      { webhookSecret: SECRET },
    );
    const r = await fetch(`${sim.urls.telegram}/bot${TOKEN}/setWebhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${base}/webhooks/telegram/${channelId}`, secret_token: SECRET }),
    });
    assert.equal(r.status, 200);
  });
  after(async () => {
    for (const w of workers) await w.stop();
    await nodeA?.fastify.close();
    await nodeB?.fastify.close();
    await storeB?.close();
    await sim?.close();
  });

  test('N replies queued across both nodes: each reaches the simulator exactly once, in per-dialog order', async (t) => {
    await sim.telegram.sendFromUser(TOKEN, { userId: 801, firstName: 'Ewa', text: 'Pytanie o zamówienie' });
    await sim.telegram.sendFromUser(TOKEN, { userId: 802, firstName: 'Filip', text: 'Pytanie o dostawę' });
    const d1 = await dialogOf('801');
    const d2 = await dialogOf('802');
    const N = 40;
    const expected = new Map<number, string[]>([
      [801, []],
      [802, []],
    ]);
    // Queued alternately through node A and node B, one dialog after the other, before any worker runs.
    for (let i = 0; i < N; i++) {
      const [chat, dialogId] = i % 2 === 0 ? [801, d1] : [802, d2];
      const text = `odpowiedź ${i} dla ${chat}`;
      await reply(i % 4 < 2 ? nodeA : nodeB, dialogId, text);
      expected.get(chat)!.push(text);
    }
    sim.telegram.setLatency(5);
    const before = sim.telegram.sent(TOKEN).length;
    worker(nodeA, 'node-a').start();
    worker(nodeB, 'node-b').start();
    await waitFor(() => sim.telegram.sent(TOKEN).length - before >= N, `${N} sends`);
    // Nothing more arrives later: no second delivery of anything.
    await new Promise((r) => setTimeout(r, 300));
    sim.telegram.setLatency(0);
    const sent = sim.telegram.sent(TOKEN).slice(before);
    assert.equal(sent.length, N, 'each reply exactly once');
    for (const [chat, texts] of expected) {
      assert.deepEqual(
        sent.filter((s) => s.chatId === chat).map((s) => s.text),
        texts,
        `dialog of ${chat} in order`,
      );
    }
    const rows = await env.ts.store.db
      .selectFrom('outbox')
      .select(['locked_by', 'status'])
      .where('project_id', '=', projectId)
      .execute();
    assert.ok(rows.every((r) => r.status !== 'pending'));
    const byNode = new Map<string, number>();
    for (const r of rows) byNode.set(r.locked_by ?? 'none', (byNode.get(r.locked_by ?? 'none') ?? 0) + 1);
    t.diagnostic(`rows last claimed by: ${[...byNode].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    assert.ok(byNode.has('node-a') && byNode.has('node-b'), 'both nodes delivered');
    for (const w of workers.splice(0)) await w.stop();
  });

  test('a node that claims a row and dies: the other delivers it once the lease has expired', async () => {
    await sim.telegram.sendFromUser(TOKEN, { userId: 803, firstName: 'Gosia', text: 'Halo?' });
    const d = await dialogOf('803');
    const { id: messageId } = await reply(nodeA, d, 'Odpowiedź po awarii węzła');
    const dying = worker(nodeA, 'node-dying');
    const survivor = worker(nodeB, 'node-survivor');
    const claimed = await dying.claim();
    assert.deepEqual(
      claimed.map((r) => r.message_id),
      [messageId],
    );
    // "Dies": never sends, never releases. While the lease holds, the survivor leaves the row alone.
    const before = sim.telegram.sent(TOKEN).length;
    now += LEASE_MS - 1;
    assert.equal(await survivor.runOnce(), 0);
    assert.equal(sim.telegram.sent(TOKEN).length, before);
    now += 2;
    await survivor.drain();
    const sent = sim.telegram.sent(TOKEN).slice(before);
    assert.deepEqual(
      sent.map((s) => [s.chatId, s.text]),
      [[803, 'Odpowiedź po awarii węzła']],
    );
    const row = await env.ts.store.db
      .selectFrom('outbox')
      .select(['status', 'attempts', 'locked_by'])
      .where('message_id', '=', messageId)
      .executeTakeFirstOrThrow();
    assert.equal(row.attempts, 2, 'claimed twice: by the node that died, then by the survivor');
    const message = await env.ts.store.db
      .selectFrom('messages')
      .select('status')
      .where('id', '=', messageId)
      .executeTakeFirstOrThrow();
    assert.equal(message.status, 'sent');
    // Nothing is sent twice afterwards.
    now += LEASE_MS * 2;
    assert.equal(await survivor.runOnce(), 0);
    assert.equal(await dying.runOnce(), 0);
    assert.equal(sim.telegram.sent(TOKEN).length, before + 1);
  });
});
