import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Store } from '../store/open.js';
import { createChannel } from '../testing/fixtures.js';
import { buildTestApp, createProject, forEachStore } from '../testing/harness.js';
import type { AppContext, ProjectContext } from './context.js';
import { closeDialog } from './dialog-lifecycle.js';
import { type InboundMessageEvent, receiveInbound } from './receive-inbound.js';
import { WebhookWorker } from './webhook-worker.js';
import { createWebhook, listDeliveries, recordWebhookEvents, redeliver, updateWebhook } from './webhooks.js';

/**
 * Outgoing webhooks end to end (issue 7 §2): deliveries written by receiving and closing dialogs,
 * delivered to a local receiver that fails, times out, answers slowly and then recovers; every event
 * arrives, in order per dialog, signed as docs/WEBHOOKS.md says; retries stop after 24 hours of a
 * controllable clock; an endpoint that keeps failing is paused and audited; projects stay apart.
 */

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  /** Our clock when it arrived (unix seconds): the receiver's replay check uses it. */
  at: number;
  body: {
    id: string;
    type: string;
    projectId: number;
    data: { dialog: { id: number; status: string }; message?: { id: number } };
  };
}

/** The recipe of docs/WEBHOOKS.md: HMAC over `<id>.<timestamp>.<raw body>`, 5-minute replay window. */
function verify(secret: string, headers: IncomingHttpHeaders, raw: string, nowSeconds: number): boolean {
  const id = String(headers['dziennik-webhook-id']);
  const ts = Number(headers['dziennik-webhook-timestamp']);
  const sig = String(headers['dziennik-webhook-signature']);
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > 300) return false;
  const expected = `v1=${createHmac('sha256', secret).update(`${id}.${ts}.${raw}`).digest('hex')}`;
  return sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
}

forEachStore('webhook-worker', (env) => {
  let store: Store;
  let app: AppContext;
  let close: () => Promise<void>;
  let server: Server;
  let base: string;
  let now = Date.parse('2026-05-04T08:00:00Z');
  const clock = () => now;
  const received: Received[] = [];
  /** Scripted answers for `/flaky`, consumed in arrival order; then 200. */
  const script: ('500' | 'hang' | 'slow')[] = [];
  let failAlways = true;
  let seq = 0;

  const ctxOf = (projectId: number): ProjectContext => ({
    ...app,
    project: { id: projectId, name: 'p', timeZone: 'Europe/Warsaw', language: 'pl' },
    actor: { type: 'system', name: 'test' },
  });
  const msg = (user: string, text: string): InboundMessageEvent => ({
    kind: 'message',
    externalUserId: user,
    displayName: `Klient ${user}`,
    platformMessageId: `${user}:${++seq}`,
    text,
    sentAt: now,
  });

  before(async () => {
    store = env.ts.store;
    const built = await buildTestApp(store, clock);
    app = built.app;
    close = () => built.fastify.close();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '';
        if (path === '/fail' && failAlways) {
          res.writeHead(500).end('receiver broken');
          return;
        }
        const step = path === '/flaky' ? script.shift() : undefined;
        if (step === '500') {
          res.writeHead(500).end('try later');
          return;
        }
        if (step === 'hang') return; // never answers: the worker's timeout gives up
        const answer = () => {
          received.push({ path, headers: req.headers, raw, at: Math.floor(now / 1000), body: JSON.parse(raw) });
          res.writeHead(204).end();
        };
        if (step === 'slow') setTimeout(answer, 150);
        else answer();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => server?.close(() => r()));
    await close?.();
  });

  async function runUntilSettled(worker: WebhookWorker, projectId: number, stepMs: number, rounds = 60) {
    for (let i = 0; i < rounds; i++) {
      await worker.drain();
      const pending = await store.db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('project_id', '=', projectId)
        .where('status', '=', 'pending')
        .execute();
      if (pending.length === 0) return;
      now += stepMs;
    }
  }

  test('fails, times out, answers slowly, recovers: every event delivered once, in order per dialog, signed', async () => {
    const projectId = await createProject(store, 'Sklep');
    const otherId = await createProject(store, 'Kwiaciarnia');
    const channelId = await createChannel(store, projectId, 'telegram');
    const otherChannel = await createChannel(store, otherId, 'telegram');
    const ep = await createWebhook(ctxOf(projectId), {
      url: `${base}/flaky`,
      events: ['dialog.opened', 'dialog.closed', 'message.created'],
    });
    const otherEp = await createWebhook(ctxOf(otherId), {
      url: `${base}/other`,
      events: ['dialog.opened', 'message.created'],
    });
    assert.match(ep.secret, /^whsec_/);
    script.push('500', 'hang', 'slow', '500');
    const worker = new WebhookWorker(app, { timeoutMs: 400, random: () => 0.5 });
    try {
      const channel = { id: channelId, projectId, type: 'telegram' as const };
      const [a1] = await receiveInbound(app, channel, [msg('501', 'Dzień dobry')]);
      await receiveInbound(app, channel, [msg('501', 'Czy jest rower 26"?')]);
      await receiveInbound(app, channel, [msg('502', 'Pytanie o dostawę')]);
      await receiveInbound(app, { id: otherChannel, projectId: otherId, type: 'telegram' }, [msg('601', 'Kwiaty')]);
      await receiveInbound(app, channel, [msg('501', 'Halo?')]);
      assert.equal(a1?.outcome, 'stored');
      const dialogA = (a1 as { dialogId: number }).dialogId;
      now += 1000;
      await closeDialog(ctxOf(projectId), dialogA, { reason: 'done' });
      // A later update of the closed dialog records nothing more: one `dialog.closed` per close.
      const again = await store.db
        .transaction()
        .execute((trx) => recordWebhookEvents(trx, app, [{ type: 'dialog.updated', projectId, dialogId: dialogA }]));
      assert.equal(again, 0);

      await runUntilSettled(worker, projectId, 10 * 60_000);
      await runUntilSettled(worker, otherId, 10 * 60_000);

      const rows = await store.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('id')
        .execute();
      assert.equal(rows.length, 7, 'opened ×2, message ×4, closed ×1');
      assert.deepEqual(
        rows.map((r) => r.status),
        rows.map(() => 'delivered'),
      );
      const mine = received.filter((r) => r.path === '/flaky');
      assert.deepEqual(
        mine.map((r) => r.body.id).sort(),
        rows.map((r) => r.uid).sort(),
        'each event arrived exactly once',
      );
      // In order per dialog: the receiver saw each dialog's events in the order they happened.
      for (const dialogId of new Set(rows.map((r) => Number(r.dialog_id)))) {
        const seen = mine.filter((r) => r.body.data.dialog.id === dialogId).map((r) => r.body.id);
        const expected = rows.filter((r) => Number(r.dialog_id) === dialogId).map((r) => r.uid);
        assert.deepEqual(seen, expected, `dialog ${dialogId} in order`);
      }
      const typesOfA = mine.filter((r) => r.body.data.dialog.id === dialogA).map((r) => r.body.type);
      assert.deepEqual(typesOfA, [
        'dialog.opened',
        'message.created',
        'message.created',
        'message.created',
        'dialog.closed',
      ]);
      const closed = mine.find((r) => r.body.type === 'dialog.closed')!;
      assert.equal(closed.body.data.dialog.status, 'closed');
      for (const r of mine) {
        assert.ok(verify(ep.secret, r.headers, r.raw, r.at), `signature of ${r.body.id}`);
        assert.equal(r.headers['content-type'], 'application/json');
        assert.equal(r.body.projectId, projectId);
      }
      assert.ok(
        !verify(otherEp.secret, mine[0]!.headers, mine[0]!.raw, Math.floor(now / 1000)),
        'another secret does not verify',
      );
      assert.ok(
        !verify(ep.secret, mine[0]!.headers, `${mine[0]!.raw} `, Math.floor(now / 1000)),
        'a changed body does not verify',
      );
      // Failed attempts were logged with their answers.
      const retried = rows.filter((r) => Number(r.attempts) > 1);
      assert.ok(retried.length >= 2, 'the 500s and the timeout were retried');
      const log = await listDeliveries(ctxOf(projectId), ep.id, { limit: 3 });
      assert.equal(log.items.length, 3);
      assert.ok(log.items[0]!.id > log.items[1]!.id, 'newest first');
      assert.equal(log.items[0]!.responseStatus, 204);
      const page2 = await listDeliveries(ctxOf(projectId), ep.id, { limit: 50, before: log.nextBefore! });
      assert.equal(page2.items.length, 4);

      // Projects apart: the other project's endpoint got only its own dialog.
      const theirs = received.filter((r) => r.path === '/other');
      assert.equal(theirs.length, 2);
      assert.ok(theirs.every((r) => r.body.projectId === otherId));
      assert.ok(theirs.every((r) => verify(otherEp.secret, r.headers, r.raw, r.at)));
    } finally {
      await worker.stop();
    }
  });

  test('retries stop 24 hours after the first attempt (dead); redeliver sends it again, attempts kept', async () => {
    const projectId = await createProject(store, 'Serwis');
    const channelId = await createChannel(store, projectId, 'telegram');
    const ep = await createWebhook(ctxOf(projectId), { url: `${base}/fail`, events: ['dialog.opened'] });
    failAlways = true;
    const worker = new WebhookWorker(app, { timeoutMs: 400, pauseAfterFailures: 1000 });
    try {
      await receiveInbound(app, { id: channelId, projectId, type: 'telegram' }, [msg('701', 'Serwis roweru')]);
      const start = now;
      await runUntilSettled(worker, projectId, 30 * 60_000, 200);
      const [row] = await store.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('project_id', '=', projectId)
        .execute();
      assert.equal(row!.status, 'dead');
      assert.equal(row!.response_status, 500);
      assert.equal(row!.response_body_excerpt, 'receiver broken');
      assert.ok(
        now - start >= 23 * 3600_000 && now - start <= 25 * 3600_000,
        `dead after ~24 h (${(now - start) / 3600_000} h)`,
      );
      const attempts = Number(row!.attempts);
      assert.ok(attempts > 5);

      failAlways = false;
      const again = await redeliver(ctxOf(projectId), ep.id, Number(row!.id));
      assert.equal(again.status, 'pending');
      assert.equal(again.attempts, attempts);
      await worker.drain();
      const after = await store.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('id', '=', row!.id)
        .executeTakeFirstOrThrow();
      assert.equal(after.status, 'delivered');
      assert.equal(Number(after.attempts), attempts + 1);
      assert.ok(received.some((r) => r.body.id === row!.uid));
    } finally {
      failAlways = true;
      await worker.stop();
    }
  });

  test('an endpoint that keeps failing is paused, audited, skipped; enabling resumes it', async () => {
    const projectId = await createProject(store, 'Apteka');
    const channelId = await createChannel(store, projectId, 'telegram');
    const ep = await createWebhook(ctxOf(projectId), {
      url: `${base}/fail`,
      events: ['dialog.opened', 'message.created'],
    });
    failAlways = true;
    const worker = new WebhookWorker(app, { timeoutMs: 400, pauseAfterFailures: 3, pauseAfterMs: 3 * 60 * 60_000 });
    try {
      await receiveInbound(app, { id: channelId, projectId, type: 'telegram' }, [msg('801', 'Leki')]);
      const start = now;
      for (let i = 0; i < 10; i++) {
        await worker.drain();
        now += 60 * 60_000;
      }
      const endpoint = await store.db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('project_id', '=', projectId)
        .executeTakeFirstOrThrow();
      assert.notEqual(endpoint.paused_at, null);
      assert.match(String(endpoint.pause_reason), /failed attempts in a row/);
      assert.ok(Number(endpoint.paused_at) - start >= 3 * 60 * 60_000, 'not before failing for the whole period');
      // Paused: nothing more is tried.
      for (let i = 0; i < 3; i++) {
        await worker.drain();
        now += 60 * 60_000;
      }
      const later = await store.db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('project_id', '=', projectId)
        .executeTakeFirstOrThrow();
      assert.equal(
        Number(later.consecutive_failures),
        Number(endpoint.consecutive_failures),
        'nothing was tried once paused',
      );
      const audits = await store.db
        .selectFrom('audit_log')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('action', '=', 'webhook.pause')
        .execute();
      assert.equal(audits.length, 1);
      assert.equal(audits[0]!.target_id, String(ep.id));
      // Paused: new events are not even queued.
      await receiveInbound(app, { id: channelId, projectId, type: 'telegram' }, [msg('802', 'Inny klient')]);
      assert.equal((await listDeliveries(ctxOf(projectId), ep.id, { limit: 50 })).items.length, 2);

      failAlways = false;
      const resumed = await updateWebhook(ctxOf(projectId), ep.id, { enabled: true });
      assert.equal(resumed.paused, false);
      assert.equal(resumed.pauseReason, null);
      await runUntilSettled(worker, projectId, 60 * 60_000);
      const log = await listDeliveries(ctxOf(projectId), ep.id, { limit: 50 });
      assert.deepEqual(
        log.items.map((d) => d.status),
        ['delivered', 'delivered'],
      );
    } finally {
      failAlways = true;
      await worker.stop();
    }
  });
});
