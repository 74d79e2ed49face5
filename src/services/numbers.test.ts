import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { AppError, ValidationError } from '../core/errors.js';
import type { Store } from '../store/open.js';
import { createChannel as insertChannelRow } from '../testing/fixtures.js';
import { createProject, forEachStore, projectContext } from '../testing/harness.js';
import { createChannel } from './channels.js';
import type { ProjectContext } from './context.js';
import { createNumber, deleteNumber, listNumbers, outboundOnlyPrefixes, updateNumber } from './numbers.js';

/** Numbers of SMS channels and SPEC R6: the outbound-only range sends as "SMS" and cannot be answered. */

forEachStore('numbers', (env) => {
  let store: Store;
  let ctx: ProjectContext;
  let other: ProjectContext;
  let projectId: number;
  let smsChannel: number;
  let gatewayChannel: number;
  let telegramChannel: number;
  let foreignSmsChannel: number;

  async function rejects<E extends Error>(p: Promise<unknown>, type: new (...a: never[]) => E): Promise<E> {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof type, `expected ${type.name}, got ${(e as Error).name}: ${(e as Error).message}`);
      return e;
    }
    assert.fail(`expected ${type.name}`);
  }
  const admin = { type: 'user', id: 1, name: 'Agata Admin', role: 'admin' } as const;

  before(async () => {
    store = env.ts.store;
    projectId = await createProject(store, 'Rowery');
    const otherProjectId = await createProject(store, 'Inny');
    ctx = projectContext(store, projectId, admin);
    other = projectContext(store, otherProjectId, admin);
    smsChannel = (
      await createChannel(ctx, {
        type: 'sms',
        credentials: { host: 'smsc.example', port: 2775, systemId: 'rowery', password: 'tajne' },
      })
    ).id;
    gatewayChannel = (
      await createChannel(ctx, {
        type: 'sms-http',
        credentials: { sendUrl: 'https://bramka.example/send', secret: 'wspolny-sekret-0123456789' },
      })
    ).id;
    telegramChannel = await insertChannelRow(store, projectId, 'telegram');
    foreignSmsChannel = await insertChannelRow(store, otherProjectId, 'sms');
  });

  test('+48 799 123 456 is in the outbound-only range: sends as "SMS", cannot be answered', async () => {
    const n = await createNumber(ctx, { e164: '+48 799 123 456', channelId: smsChannel, smsEnabled: true });
    assert.deepEqual(
      { ...n, id: 0, createdAt: '' },
      {
        id: 0,
        e164: '+48799123456',
        channelId: smsChannel,
        smsEnabled: true,
        outboundOnly: true,
        outboundOnlyOverride: null,
        canReply: false,
        senderLabel: 'SMS',
        createdAt: '',
      },
    );
  });

  test('+48 601 234 567 is an ordinary number: it can be answered and shows as itself', async () => {
    const n = await createNumber(ctx, { e164: '0048 601-234-567', channelId: gatewayChannel, smsEnabled: true });
    assert.equal(n.e164, '+48601234567');
    assert.equal(n.outboundOnly, false);
    assert.equal(n.canReply, true);
    assert.equal(n.senderLabel, '+48601234567');
    const off = await createNumber(ctx, { e164: '+48 602 000 111', channelId: smsChannel, smsEnabled: false });
    assert.equal(off.canReply, false, 'SMS switched off');
    assert.equal(off.senderLabel, '+48602000111');
  });

  test('not numbers, foreign channels and non-SMS channels → 400 naming the field; duplicates → 409', async () => {
    for (const e164 of ['abc', '+48 60', '+48 601 234 567 890 12', '601234567', '+48601234567x', '']) {
      const e = await rejects(createNumber(ctx, { e164, channelId: smsChannel, smsEnabled: true }), ValidationError);
      assert.equal(e.fields?.[0]?.field, 'body.e164', `${e164}: ${e.message}`);
    }
    const foreign = await rejects(
      createNumber(ctx, { e164: '+48 603 000 000', channelId: foreignSmsChannel, smsEnabled: true }),
      ValidationError,
    );
    const missing = await rejects(
      createNumber(ctx, { e164: '+48 603 000 000', channelId: 987654321, smsEnabled: true }),
      ValidationError,
    );
    assert.equal(foreign.fields?.[0]?.field, 'body.channelId');
    assert.equal(missing.fields?.[0]?.field, 'body.channelId');
    assert.match(foreign.message, /no channel \d+ in this project/);
    const wrongType = await rejects(
      createNumber(ctx, { e164: '+48 603 000 000', channelId: telegramChannel, smsEnabled: true }),
      ValidationError,
    );
    assert.equal(wrongType.fields?.[0]?.field, 'body.channelId');
    assert.match(wrongType.message, /is a telegram channel/);
    const both = await rejects(createNumber(ctx, { e164: 'x', channelId: 'y', extra: 1 }), ValidationError);
    assert.deepEqual(both.fields?.map((f) => f.field).sort(), ['body.channelId', 'body.e164', 'body.extra']);
    const dup = await rejects(
      createNumber(ctx, { e164: '+48799123456', channelId: gatewayChannel, smsEnabled: true }),
      AppError,
    );
    assert.equal(dup.code, 'conflict');
    // The same number may exist in another project.
    const elsewhere = await createNumber(other, { e164: '+48799123456', channelId: foreignSmsChannel });
    assert.equal(elsewhere.outboundOnly, true);
  });

  test('the override wins over the prefixes; null returns to them', async () => {
    const n = (await listNumbers(ctx)).items.find((x) => x.e164 === '+48799123456')!;
    const replyable = await updateNumber(ctx, n.id, { outboundOnly: false });
    assert.deepEqual(
      [replyable.outboundOnly, replyable.canReply, replyable.senderLabel],
      [false, true, '+48799123456'],
    );
    const back = await updateNumber(ctx, n.id, { outboundOnly: null });
    assert.deepEqual([back.outboundOnly, back.outboundOnlyOverride, back.senderLabel], [true, null, 'SMS']);
    const forced = await updateNumber(ctx, (await listNumbers(ctx)).items.find((x) => x.e164 === '+48601234567')!.id, {
      outboundOnly: true,
      smsEnabled: true,
    });
    assert.deepEqual([forced.outboundOnly, forced.canReply, forced.senderLabel], [true, false, 'SMS']);
    await updateNumber(ctx, forced.id, { outboundOnly: null });
    const e = await rejects(updateNumber(ctx, forced.id, { outboundOnly: 'yes' }), ValidationError);
    assert.equal(e.fields?.[0]?.field, 'body.outboundOnly');
  });

  test('per-project prefixes in projects.settings override SMS_OUTBOUND_ONLY_PREFIXES', async () => {
    const setPrefixes = (v: unknown) =>
      store.db
        .updateTable('projects')
        .set({ settings: JSON.stringify({ smsOutboundOnlyPrefixes: v }) })
        .where('id', '=', projectId)
        .execute();
    const labels = async () => Object.fromEntries((await listNumbers(ctx)).items.map((n) => [n.e164, n.senderLabel]));
    try {
      await setPrefixes(['48601']);
      assert.deepEqual(await outboundOnlyPrefixes(ctx, projectId), ['48601']);
      assert.equal((await labels())['+48601234567'], 'SMS');
      assert.equal((await labels())['+48799123456'], '+48799123456');
      await setPrefixes('+48602, 48799');
      assert.deepEqual(await outboundOnlyPrefixes(ctx, projectId), ['48602', '48799']);
      await setPrefixes([]);
      assert.deepEqual(await outboundOnlyPrefixes(ctx, projectId), [], 'an empty list: no outbound-only range');
      assert.equal((await labels())['+48799123456'], '+48799123456');
      await setPrefixes([{ bad: true }]);
      assert.deepEqual(await outboundOnlyPrefixes(ctx, projectId), ['48799'], 'malformed: the installation default');
    } finally {
      await store.db.updateTable('projects').set({ settings: '{}' }).where('id', '=', projectId).execute();
    }
  });

  test('list filters by channel; delete removes; another project’s number is not found', async () => {
    const onSms = (await listNumbers(ctx, { channelId: smsChannel })).items.map((n) => n.e164);
    assert.deepEqual(onSms, ['+48602000111', '+48799123456']);
    const foreignNumber = (await listNumbers(other)).items[0]!;
    assert.equal(
      (await rejects(updateNumber(ctx, foreignNumber.id, { smsEnabled: false }), AppError)).code,
      'not_found',
    );
    assert.equal((await rejects(deleteNumber(ctx, foreignNumber.id), AppError)).code, 'not_found');
    const target = (await listNumbers(ctx)).items.find((n) => n.e164 === '+48602000111')!;
    await deleteNumber(ctx, target.id);
    assert.ok(!(await listNumbers(ctx)).items.some((n) => n.id === target.id));
    assert.equal((await rejects(deleteNumber(ctx, target.id), AppError)).code, 'not_found');
    const actions = (
      await store.db.selectFrom('audit_log').select('action').where('project_id', '=', projectId).execute()
    ).map((r) => r.action);
    for (const a of ['number.create', 'number.update', 'number.delete']) assert.ok(actions.includes(a), a);
  });
});
