import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { type Simulator, startSimulator } from '../../simulator/server.js';
import { insertSealedChannel } from '../testing/fixtures.js';
import { createProject, createToken, forEachStore, TEST_SECRET } from '../testing/harness.js';
import { cliEnv, exited, startServerProcess } from '../testing/server-process.js';

/**
 * Two `dziennik start` processes on one PostgreSQL database, as two nodes behind a load balancer
 * (issue 6): a client's message received by node A reaches a manager's WebSocket on node B (the
 * LISTEN/NOTIFY bus wired by cli/start.ts), and replies queued through both nodes reach the
 * platform simulator exactly once each, in per-dialog order.
 */

const SKIP = 'two nodes need PostgreSQL; a SQLite data directory is locked by one process';
const BOT = '7012345680:AAE-two-nodes-test-token-00000000';
const SECRET = 'dz_tg-two-nodes_0123456789';

forEachStore('two app processes on one PostgreSQL', (env) => {
  if (env.kind !== 'postgres') {
    test('a webhook on node A reaches a socket on node B; replies sent once', { skip: SKIP }, () => {});
    return;
  }
  test('a webhook on node A reaches a manager’s socket on node B; replies queued on both are sent once, in order', async () => {
    const sim: Simulator = await startSimulator({ retry: { attempts: 1, delayMs: 5 } });
    const vars = cliEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SECRET_KEY: TEST_SECRET,
      DATABASE_URL: env.ts.location,
      TELEGRAM_API_URL: sim.urls.telegram,
    });
    const a = startServerProcess(vars);
    const b = startServerProcess(vars);
    const sockets: WebSocket[] = [];
    try {
      const [portA, portB] = await Promise.all([a.listening, b.listening]);
      const store = env.ts.store;
      const projectId = await createProject(store, 'dwa węzły');
      const admin = await createToken(store, projectId, 'admin');
      const manager = await createToken(store, projectId, 'manager');
      sim.telegram.createBot({ token: BOT, username: 'dwa_procesy_bot' });
      const channelId = await insertSealedChannel(
        store,
        projectId,
        'telegram',
        { botToken: BOT },
        { webhookSecret: SECRET },
      );
      const hook = await fetch(`${sim.urls.telegram}/bot${BOT}/setWebhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://127.0.0.1:${portA}/webhooks/telegram/${channelId}`, secret_token: SECRET }),
      });
      assert.equal(hook.status, 200);

      // A manager (token: sees unassigned dialogs) watches node B.
      const events: { type: string; dialogId?: number; messageId?: number }[] = [];
      const ws = new WebSocket(`ws://127.0.0.1:${portB}/api/v1/projects/${projectId}/stream`, {
        headers: { authorization: `Bearer ${manager}` },
      });
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data) => {
          const e = JSON.parse(String(data)) as (typeof events)[number];
          if (e.type === 'hello') resolve();
          else events.push(e);
        });
      });
      await sim.telegram.sendFromUser(BOT, { userId: 901, firstName: 'Hania', text: 'Dzień dobry, węzeł A' });
      await sim.telegram.sendFromUser(BOT, { userId: 902, firstName: 'Igor', text: 'Ja też do A' });
      const dialogs = await store.db
        .selectFrom('dialogs')
        .innerJoin('client_identities', 'client_identities.id', 'dialogs.identity_id')
        .select(['dialogs.id', 'client_identities.external_id'])
        .where('dialogs.project_id', '=', projectId)
        .orderBy('dialogs.id')
        .execute();
      assert.equal(dialogs.length, 2);
      const until = Date.now() + 10_000;
      while (events.filter((e) => e.type === 'message.created').length < 2 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 25));
      const created = events.filter((e) => e.type === 'message.created').map((e) => e.dialogId);
      assert.deepEqual(created, [dialogs[0]!.id, dialogs[1]!.id], 'node B’s socket got both messages, once each');

      // Replies queued alternately through A and B; both nodes' workers deliver.
      const N = 20;
      const expected = new Map<number, string[]>([
        [901, []],
        [902, []],
      ]);
      for (let i = 0; i < N; i++) {
        const d = dialogs[i % 2]!;
        const text = `odpowiedź ${i}`;
        const port = i % 4 < 2 ? portA : portB;
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/projects/${projectId}/dialogs/${d.id}/reply`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({ text }),
        });
        assert.equal(res.status, 201, await res.text());
        expected.get(Number(d.external_id))!.push(text);
      }
      const sentUntil = Date.now() + 20_000;
      while (sim.telegram.sent(BOT).length < N && Date.now() < sentUntil) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1500)); // a duplicate would show up by now (workers poll every second)
      const sent = sim.telegram.sent(BOT);
      assert.equal(sent.length, N, 'each reply exactly once');
      for (const [chat, texts] of expected) {
        assert.deepEqual(
          sent.filter((s) => s.chatId === chat).map((s) => s.text),
          texts,
        );
      }
    } finally {
      for (const ws of sockets) ws.terminate();
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      await Promise.all([exited(a.child), exited(b.child)]);
      await sim.close();
    }
  });
});
