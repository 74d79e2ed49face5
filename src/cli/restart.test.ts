import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/server.js';
import { replyToDialog } from '../services/send-reply.js';
import { insertSealedChannel } from '../testing/fixtures.js';
import { createProject, createUser, forEachStore, projectContext, TEST_SECRET } from '../testing/harness.js';
import { cliEnv, exited, startServerProcess } from '../testing/server-process.js';

/**
 * Start-up after a crash (issue 6 §3): a reply claimed by a run that was killed before it sent it.
 * SQLite has one server process (it holds the data directory's lock), so whatever claim is left is a
 * dead run's: the restarted server sends it at once. On PostgreSQL another node's claim may be live,
 * so it waits for the lease (bench/crash.ts and outbox-multinode.test.ts cover the expiry).
 */

const TOKEN = '7012345680:AAE-restart-test-token-00000000000';
const SECRET = 'dz_tg-restart_0123456789';

forEachStore('start-up after a crash', (env) => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ retry: { attempts: 1, delayMs: 5 } });
    sim.telegram.createBot({ token: TOKEN, username: 'restart_bot' });
  });
  after(async () => {
    await sim?.close();
  });

  test('a reply the killed run had claimed but not sent', async (t) => {
    const store = env.ts.store;
    const projectId = await createProject(store, 'restart');
    const admin = await createUser(store, projectId, 'admin', 'Ala Admin');
    const channelId = await insertSealedChannel(
      store,
      projectId,
      'telegram',
      { botToken: TOKEN },
      { webhookSecret: SECRET },
    );
    const vars = cliEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SECRET_KEY: TEST_SECRET,
      TELEGRAM_API_URL: sim.urls.telegram,
      ...(env.kind === 'postgres' ? { DATABASE_URL: env.ts.location } : { DATA_DIR: env.ts.location }),
    });

    // The first run takes the client's message, then dies.
    const first = startServerProcess(vars);
    let dialogId: number;
    try {
      const port = await first.listening;
      const r = await fetch(`${sim.urls.telegram}/bot${TOKEN}/setWebhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://127.0.0.1:${port}/webhooks/telegram/${channelId}`, secret_token: SECRET }),
      });
      assert.equal(r.status, 200);
      const delivery = await sim.telegram.sendFromUser(TOKEN, { userId: 811, firstName: 'Halina', text: 'Jest ktoś?' });
      assert.equal(delivery.status, 200);
      const d = await store.db
        .selectFrom('dialogs')
        .select('id')
        .where('project_id', '=', projectId)
        .executeTakeFirstOrThrow();
      dialogId = d.id;
    } finally {
      first.child.kill('SIGKILL');
      await exited(first.child);
    }

    // Its last act: a reply queued and claimed (a lease of 60 s from now), never sent.
    const ctx = projectContext(store, projectId, { type: 'user', id: admin.id, name: 'Ala Admin', role: 'admin' });
    const queued = await replyToDialog(ctx, dialogId, { text: 'Tak, słucham!' });
    await store.db
      .updateTable('outbox')
      .set({ locked_by: 'the-killed-run', locked_until: Date.now() + 60_000, attempts: 1 })
      .where('project_id', '=', projectId)
      .where('message_id', '=', queued.id)
      .execute();
    const sentTexts = () => sim.telegram.sent(TOKEN).map((s) => s.text);

    const second = startServerProcess(vars);
    try {
      await second.listening;
      const started = Date.now();
      if (env.kind === 'sqlite') {
        while (!sentTexts().includes('Tak, słucham!') && Date.now() - started < 10_000) {
          await new Promise((r) => setTimeout(r, 50));
        }
        t.diagnostic(`sent ${Date.now() - started} ms after the restarted server listened`);
        assert.deepEqual(sentTexts(), ['Tak, słucham!'], 'sent at once, and once');
        const m = await store.db
          .selectFrom('messages')
          .select('status')
          .where('id', '=', queued.id)
          .executeTakeFirstOrThrow();
        assert.equal(m.status, 'sent');
      } else {
        // Two polls of the outbox: the claim could be a live node's, so it holds until its lease ends.
        await new Promise((r) => setTimeout(r, 2500));
        assert.deepEqual(sentTexts(), []);
        const row = await store.db
          .selectFrom('outbox')
          .select('locked_by')
          .where('message_id', '=', queued.id)
          .executeTakeFirstOrThrow();
        assert.equal(row.locked_by, 'the-killed-run');
      }
    } finally {
      second.child.kill('SIGTERM');
      await exited(second.child);
    }
  });
});
