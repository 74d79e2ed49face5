import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/server.js';
import { replyToDialog } from '../services/send-reply.js';
import { insertSealedChannel } from '../testing/fixtures.js';
import {
  createProject,
  createToken,
  createUser,
  forEachStore,
  projectContext,
  TEST_SECRET,
} from '../testing/harness.js';
import { cliEnv, exited, startServerProcess } from '../testing/server-process.js';

/**
 * Shutdown and start-up around replies (issue 6 §3), with a real `dziennik start` process.
 *
 * SIGTERM while a reply is on its way to the platform: the process waits for the platform's answer,
 * records the reply as sent, then exits 0, and the next run does not send it again.
 *
 * Start-up after a crash: a reply claimed by a run that was killed before it sent it.
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

  /** The project's Telegram channel, and the environment of a `dziennik start` on the test store. */
  const telegramProject = async (projectId: number) => ({
    channelId: await insertSealedChannel(
      env.ts.store,
      projectId,
      'telegram',
      { botToken: TOKEN },
      { webhookSecret: SECRET },
    ),
    vars: cliEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SECRET_KEY: TEST_SECRET,
      TELEGRAM_API_URL: sim.urls.telegram,
      ...(env.kind === 'postgres' ? { DATABASE_URL: env.ts.location } : { DATA_DIR: env.ts.location }),
    }),
  });

  /** Points the bot's webhook at the server on `port`; the client writes; answers the project's dialog. */
  const clientWrites = async (
    port: number,
    projectId: number,
    channelId: number,
    message: { userId: number; firstName: string; text: string },
  ) => {
    const r = await fetch(`${sim.urls.telegram}/bot${TOKEN}/setWebhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://127.0.0.1:${port}/webhooks/telegram/${channelId}`, secret_token: SECRET }),
    });
    assert.equal(r.status, 200);
    assert.equal((await sim.telegram.sendFromUser(TOKEN, message)).status, 200);
    const d = await env.ts.store.db
      .selectFrom('dialogs')
      .select('id')
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    return d.id;
  };

  test('a reply the killed run had claimed but not sent', async (t) => {
    const store = env.ts.store;
    const projectId = await createProject(store, 'restart');
    const admin = await createUser(store, projectId, 'admin', 'Ala Admin');
    const { channelId, vars } = await telegramProject(projectId);

    // The first run takes the client's message, then dies.
    const first = startServerProcess(vars);
    let dialogId: number;
    try {
      const port = await first.listening;
      dialogId = await clientWrites(port, projectId, channelId, {
        userId: 811,
        firstName: 'Halina',
        text: 'Jest ktoś?',
      });
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
        // The platform answered; the server records it right after.
        const status = async () =>
          (await store.db.selectFrom('messages').select('status').where('id', '=', queued.id).executeTakeFirstOrThrow())
            .status;
        const until = Date.now() + 5000;
        while ((await status()) !== 'sent' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        assert.equal(await status(), 'sent');
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

  test('SIGTERM while a reply is being sent: it is finished and recorded before the exit, never sent again', async (t) => {
    const store = env.ts.store;
    const projectId = await createProject(store, 'sigterm send');
    const token = await createToken(store, projectId, 'admin');
    const { channelId, vars } = await telegramProject(projectId);
    const sentTexts = () => sim.telegram.sent(TOKEN).map((s) => s.text);
    const before = sentTexts().length;
    const server = startServerProcess(vars);
    let messageId: number;
    try {
      const port = await server.listening;
      const dialog = {
        id: await clientWrites(port, projectId, channelId, { userId: 812, firstName: 'Irena', text: 'Halo' }),
      };
      // Telegram answers after 1.5 s: the send is in flight when the signal comes.
      sim.telegram.setLatency(1500);
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/projects/${projectId}/dialogs/${dialog.id}/reply`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Już odpowiadam' }),
      });
      assert.equal(res.status, 201);
      messageId = ((await res.json()) as { id: number }).id;
      const claimed = async () =>
        (
          await store.db
            .selectFrom('outbox')
            .select('locked_by')
            .where('message_id', '=', messageId)
            .executeTakeFirstOrThrow()
        ).locked_by !== null;
      const until = Date.now() + 5000;
      while (!(await claimed()) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.ok(await claimed(), 'the worker took the reply');
      await new Promise((r) => setTimeout(r, 100));
      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      assert.equal(await exited(server.child), 0);
      t.diagnostic(`exited ${Date.now() - signalledAt} ms after SIGTERM`);
    } finally {
      sim.telegram.setLatency(0);
      server.child.kill('SIGKILL');
    }
    assert.deepEqual(sentTexts().slice(before), ['Już odpowiadam']);
    const m = await store.db
      .selectFrom('messages')
      .select('status')
      .where('id', '=', messageId)
      .executeTakeFirstOrThrow();
    assert.equal(m.status, 'sent', 'recorded before the exit');
    const o = await store.db
      .selectFrom('outbox')
      .select(['status', 'locked_by'])
      .where('message_id', '=', messageId)
      .executeTakeFirstOrThrow();
    assert.equal(o.status, 'done');

    // The next run has nothing to send again.
    const next = startServerProcess(vars);
    try {
      await next.listening;
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(sentTexts().slice(before), ['Już odpowiadam']);
    } finally {
      next.child.kill('SIGTERM');
      await exited(next.child);
    }
  });
});
