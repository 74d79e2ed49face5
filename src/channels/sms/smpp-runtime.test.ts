// The SMPP runtime end to end: simulator SMSC → SmppClient → receiveInbound → the store (SQLite and,
// with TEST_DATABASE_URL, PostgreSQL), and the senders the outbox uses.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from '../../../simulator/server.js';
import { createChannel, updateChannel } from '../../services/channels.js';
import type { AppContext, ProjectContext } from '../../services/context.js';
import { createNumber } from '../../services/numbers.js';
import type { Store } from '../../store/open.js';
import { appContext, createProject, forEachStore, projectContext } from '../../testing/harness.js';
import type { SmppTiming } from './smpp-client.js';
import { SmppChannels } from './smpp-runtime.js';

const FAST: Partial<SmppTiming> = {
  connectTimeoutMs: 2000,
  responseTimeoutMs: 2000,
  reconnectMinMs: 20,
  reconnectMaxMs: 100,
  ackConfirmDelayMs: 10,
  closeGraceMs: 200,
};

async function until<T>(f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 4000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let accounts = 0;

forEachStore('SMPP channels', (env) => {
  let sim: Simulator;
  let store: Store;
  let pctx: ProjectContext;
  let projectId: number;
  let channelId: number;
  let systemId: string;
  let runtime: SmppChannels;
  let ctx: AppContext;
  const numbers: Record<string, number> = {};

  const dialogs = () =>
    store.db.selectFrom('dialogs').selectAll().where('project_id', '=', projectId).orderBy('id').execute();
  const messages = () =>
    store.db.selectFrom('messages').selectAll().where('project_id', '=', projectId).orderBy('id').execute();

  before(async () => {
    store = env.ts.store;
    sim = await startSimulator({ smsc: { enquireLinkIntervalMs: 0, responseTimeoutMs: 1000 } });
    systemId = `sklep${++accounts}`;
    sim.smsc.addAccount({ systemId, password: 'tajne12' });
    projectId = await createProject(store, 'Rowery');
    pctx = projectContext(store, projectId, { type: 'system', name: 'test' });
    const channel = await createChannel(pctx, {
      type: 'sms',
      credentials: { host: sim.smpp.host, port: sim.smpp.port, systemId, password: 'tajne12' },
    });
    channelId = channel.id;
    for (const [e164, smsEnabled] of [
      ['+48500100200', true],
      ['+48799100200', true], // outbound-only by the default prefix 48799
      ['+48500100300', false],
    ] as const) {
      numbers[e164] = (await createNumber(pctx, { e164, channelId, smsEnabled })).id;
    }
    ctx = appContext(store);
    runtime = new SmppChannels(ctx, { timing: FAST });
    await runtime.start();
    await runtime.client(channelId)!.whenBound();
  });
  after(async () => {
    await runtime?.close();
    await sim?.close();
  });

  test('a client message becomes a dialog on the receiving number; its redelivery changes nothing', async () => {
    const text = 'Dzień dobry, czy rower jest jeszcze dostępny?';
    assert.deepEqual(await sim.smsc.sendMo(systemId, { from: '48601234567', to: '48500100200', text }), [0]);
    const [dialog, ...more] = await dialogs();
    assert.equal(more.length, 0);
    assert.equal(dialog!.channel_id, channelId);
    assert.equal(dialog!.channel_type, 'sms');
    assert.equal(dialog!.number_id, numbers['+48500100200']);
    assert.equal(dialog!.client_phone, '+48601234567');
    assert.equal(dialog!.status, 'new');
    const [message] = await messages();
    assert.equal(message!.direction, 'in');
    assert.equal(message!.text, text);

    // A long message, concatenated by the handset, is one message in the dialog.
    const long = 'Proszę o kontakt w sprawie roweru, który widziałam na stronie — czy mogę go obejrzeć jutro? '.repeat(
      2,
    );
    assert.deepEqual(
      await sim.smsc.sendMo(systemId, { from: '48601234567', to: '48500100200', text: long }),
      [0, 0, 0],
    );
    const all = await messages();
    assert.equal(all.length, 2);
    assert.equal(all[1]!.text, long);
    assert.equal(all[1]!.dialog_id, dialog!.id);

    // Stored, and then the connection drops before the ack reaches the SMSC: it delivers again
    // after the next bind, and the store keeps one message.
    let drop = true;
    const unsubscribe = ctx.bus.subscribe((e) => {
      if (e.type === 'message.created' && drop) {
        drop = false;
        sim.smsc.dropConnections(systemId);
      }
    });
    const again = await sim.smsc.sendMo(systemId, { from: '48601234567', to: '48500100200', text: 'Halo?' });
    unsubscribe();
    assert.equal(drop, false);
    // The first answer went into the dropped connection: this [0] answers the redelivery.
    assert.deepEqual(again, [0]);
    const texts = (await messages()).map((m) => m.text);
    assert.deepEqual(texts.slice(2), ['Halo?']);
  });

  test('an outbound-only number and a number with SMS off refuse client messages: acknowledged, not stored', async () => {
    const before = (await messages()).length;
    assert.deepEqual(
      await sim.smsc.sendMo(systemId, { from: '48601234567', to: '48799100200', text: 'Czy mogę odpisać?' }),
      [0],
    );
    assert.deepEqual(await sim.smsc.sendMo(systemId, { from: '48601234567', to: '48500100300', text: 'Halo?' }), [0]);
    assert.equal((await messages()).length, before);
  });

  test('the sender: a reply goes out from the dialog number, and its receipt reaches the message', async () => {
    const sender = runtime.sender(channelId);
    assert.ok(sender);
    sim.smsc.setReceipts(systemId, { stat: 'DELIVRD', err: '000', delayMs: 300 });
    const r = await sender.send(
      { projectId, channelId, externalUserId: '+48601234567', fromNumber: '+48500100200' },
      { messageId: 1, text: 'Tak, rower jest dostępny. Zapraszamy!' },
    );
    const sent = sim.smsc.messages(systemId).find((m) => m.parts[0]?.messageId === r.platformMessageId)!;
    assert.deepEqual(sent.from, { ton: 1, npi: 1, addr: '48500100200' });
    assert.equal(sent.text, 'Tak, rower jest dostępny. Zapraszamy!');

    // What the outbox would have written before the receipt comes.
    const dialog = (await dialogs())[0]!;
    const now = Date.now();
    const row = await store.db
      .insertInto('messages')
      .values({
        project_id: projectId,
        dialog_id: dialog.id,
        channel_id: channelId,
        direction: 'out',
        author_type: 'auto',
        author_id: null,
        author_name: 'Auto-reply',
        text: 'Tak, rower jest dostępny. Zapraszamy!',
        attachments: null,
        created_at: now,
        status: 'sent',
        failure_reason: null,
        platform_message_id: r.platformMessageId,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const status = async () =>
      (await store.db.selectFrom('messages').select('status').where('id', '=', row.id).executeTakeFirstOrThrow())
        .status;
    await until(async () => (await status()) === 'delivered');
    sim.smsc.setReceipts(systemId, { stat: 'DELIVRD' });
  });

  test('reload: a disabled channel closes its session, enabling it binds again', async () => {
    await updateChannel(pctx, channelId, { enabled: false });
    await runtime.reload(channelId);
    assert.equal(runtime.sender(channelId), undefined);
    assert.equal(runtime.client(channelId), undefined);
    await until(() => sim.smsc.sessions().every((s) => s.systemId !== systemId));

    await updateChannel(pctx, channelId, { enabled: true });
    await runtime.reload(channelId);
    await runtime.client(channelId)!.whenBound();
    assert.ok(runtime.sender(channelId));
    assert.deepEqual(runtime.status(), [{ channelId, projectId, state: 'bound', lastError: null }]);
  });
});
