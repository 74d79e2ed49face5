import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Store } from '../store/open.js';
import { createChannel as insertChannelRow } from '../testing/fixtures.js';
import { buildTestApp, createProject, createToken, forEachStore, projectContext } from '../testing/harness.js';
import { createNumber, listNumbers } from './numbers.js';

/** Project settings over HTTP: defaults, changes, validation that names each field, and who may. */

type Headers = Record<string, string>;

forEachStore('project-settings', (env) => {
  let store: Store;
  let app: FastifyInstance;
  let projectId: number;
  const as = {} as Record<'admin' | 'supervisor' | 'manager', Headers>;
  const url = () => `/api/v1/projects/${projectId}/settings`;
  const errorOf = (res: LightMyRequestResponse) =>
    (res.json() as { error: { code: string; fields?: { field: string; message: string }[] } }).error;
  const patch = (payload: object, h = as.admin) => app.inject({ method: 'PATCH', url: url(), headers: h, payload });
  const row = () => store.db.selectFrom('projects').selectAll().where('id', '=', projectId).executeTakeFirstOrThrow();

  before(async () => {
    store = env.ts.store;
    app = (await buildTestApp(store)).fastify;
    projectId = await createProject(store, 'Sklep');
    for (const role of ['admin', 'supervisor', 'manager'] as const) {
      as[role] = { authorization: `Bearer ${await createToken(store, projectId, role)}` };
    }
  });
  after(async () => {
    await app?.close();
  });

  test('defaults: first to answer, no auto-close, every service on, the installation prefixes', async () => {
    const res = await app.inject({ method: 'GET', url: url(), headers: as.admin });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as Record<string, unknown>;
    assert.match(String(body.publicKey), /^pk_/);
    assert.deepEqual(
      { ...body, publicKey: undefined },
      {
        name: 'Sklep',
        timeZone: 'Europe/Warsaw',
        language: 'pl',
        distributionMode: 'first_to_answer',
        autoCloseHours: null,
        services: { sms: true, widget: true, messengers: true, workspace: true },
        smsOutboundOnlyPrefixes: null,
        defaultSmsOutboundOnlyPrefixes: ['48799'],
        publicKey: undefined,
        widgetAllowedOrigins: [],
        widget: { color: '#1c7ed6', greeting: null, position: 'bottom-right', callbackForm: true },
      },
    );
  });

  test('a change is stored in the columns and the settings JSON, audited, and other keys are kept', async () => {
    await store.db
      .updateTable('projects')
      .set({ settings: JSON.stringify({ widget: { color: '#123456' } }) })
      .where('id', '=', projectId)
      .execute();
    const res = await patch({
      name: '  Sklep Rowerowy  ',
      timeZone: 'Europe/Kyiv',
      language: 'uk',
      distributionMode: 'round_robin',
      autoCloseHours: 48,
      services: { widget: false },
      smsOutboundOnlyPrefixes: ['+48799', '48600'],
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as Record<string, unknown>;
    assert.equal(body.name, 'Sklep Rowerowy');
    assert.equal(body.timeZone, 'Europe/Kyiv');
    assert.deepEqual(body.services, { sms: true, widget: false, messengers: true, workspace: true });
    assert.deepEqual(body.smsOutboundOnlyPrefixes, ['48799', '48600']);
    const r = await row();
    assert.deepEqual([r.name, r.time_zone, r.language], ['Sklep Rowerowy', 'Europe/Kyiv', 'uk']);
    assert.deepEqual(JSON.parse(r.settings), {
      widget: { color: '#123456' },
      distributionMode: 'round_robin',
      autoCloseHours: 48,
      services: { sms: true, widget: false, messengers: true, workspace: true },
      smsOutboundOnlyPrefixes: ['48799', '48600'],
    });
    const audit = await store.db
      .selectFrom('audit_log')
      .select(['action', 'details'])
      .where('project_id', '=', projectId)
      .where('action', '=', 'project.settings')
      .execute();
    assert.equal(audit.length, 1);
    assert.deepEqual(JSON.parse(audit[0]!.details).autoCloseHours, { from: null, to: 48 });

    // Partial: what is left out stays; null turns auto-close off and returns to the default prefixes.
    const next = await patch({ autoCloseHours: null, smsOutboundOnlyPrefixes: null, services: { sms: false } });
    assert.equal(next.statusCode, 200, next.body);
    const b2 = next.json() as Record<string, unknown>;
    assert.equal(b2.autoCloseHours, null);
    assert.equal(b2.smsOutboundOnlyPrefixes, null);
    assert.equal(b2.distributionMode, 'round_robin');
    assert.deepEqual(b2.services, { sms: false, widget: false, messengers: true, workspace: true });
    assert.equal(JSON.parse((await row()).settings).smsOutboundOnlyPrefixes, undefined);
  });

  test('validation errors name every bad field, and nothing is changed', async () => {
    const before = await row();
    const res = await patch({
      name: '',
      timeZone: 'Mars/Olympus_Mons',
      language: 'de',
      distributionMode: 'random',
      autoCloseHours: 0,
      services: { sms: 'yes' },
      smsOutboundOnlyPrefixes: ['48 799'],
    });
    assert.equal(res.statusCode, 400);
    assert.equal(errorOf(res).code, 'validation_failed');
    assert.deepEqual(
      errorOf(res)
        .fields?.map((f) => f.field)
        .sort(),
      [
        'body.autoCloseHours',
        'body.distributionMode',
        'body.language',
        'body.name',
        'body.services.sms',
        'body.smsOutboundOnlyPrefixes.0',
        'body.timeZone',
      ],
    );
    for (const [payload, field] of [
      [{ autoCloseHours: 721 }, 'body.autoCloseHours'],
      [{ autoCloseHours: 1.5 }, 'body.autoCloseHours'],
      [{ services: { sms: true, fax: true } }, 'body.services'],
      [{ colour: 'red' }, 'body.colour'],
    ] as const) {
      const r = await patch(payload);
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.equal(errorOf(r).fields?.[0]?.field, field, JSON.stringify(payload));
    }
    const tz = errorOf(await patch({ timeZone: 'Europe/Warszawa' })).fields?.[0];
    assert.deepEqual(tz, {
      field: 'body.timeZone',
      message: 'is not a time zone; use an IANA name such as Europe/Warsaw',
    });
    assert.deepEqual(await row(), before);
  });

  test('supervisors read the settings; only admins change them; managers neither', async () => {
    assert.equal((await app.inject({ method: 'GET', url: url(), headers: as.supervisor })).statusCode, 200);
    const spelled = await patch({ timeZone: ' europe/warsaw ' });
    assert.equal((spelled.json() as { timeZone: string }).timeZone, 'Europe/Warsaw');
    assert.equal((await app.inject({ method: 'GET', url: url(), headers: as.manager })).statusCode, 403);
    assert.equal((await patch({ language: 'en' }, as.supervisor)).statusCode, 403);
    assert.equal((await patch({ language: 'en' }, as.manager)).statusCode, 403);
  });

  test('widget: allowed origins are normalised, the look merges, bad values name their field', async () => {
    const res = await patch({
      widgetAllowedOrigins: ['https://sklep.pl/', 'http://localhost:8080', 'https://sklep.pl'],
      widget: { color: '#ff0000', position: 'bottom-left' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as Record<string, unknown>;
    assert.deepEqual(body.widgetAllowedOrigins, ['https://sklep.pl', 'http://localhost:8080']);
    assert.deepEqual(body.widget, { color: '#ff0000', greeting: null, position: 'bottom-left', callbackForm: true });
    const next = await patch({ widget: { greeting: 'Cześć!', callbackForm: false } });
    assert.deepEqual((next.json() as Record<string, unknown>).widget, {
      color: '#ff0000',
      greeting: 'Cześć!',
      position: 'bottom-left',
      callbackForm: false,
    });
    const bad = await patch({ widgetAllowedOrigins: ['https://sklep.pl/koszyk'], widget: { color: 'red' } });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(
      errorOf(bad)
        .fields?.map((f) => f.field)
        .sort(),
      ['body.widget.color', 'body.widgetAllowedOrigins.0'],
    );
  });

  test('the outbound-only prefixes decide which numbers send as "SMS"', async () => {
    const ctx = projectContext(store, projectId, { type: 'user', id: 1, name: 'Admin', role: 'admin' });
    const channelId = await insertChannelRow(store, projectId, 'sms');
    await createNumber(ctx, { e164: '+48 601 234 567', channelId, smsEnabled: true });
    await createNumber(ctx, { e164: '+48 799 123 456', channelId, smsEnabled: true });
    const outboundOnly = async () =>
      Object.fromEntries((await listNumbers(ctx)).items.map((n) => [n.e164, n.outboundOnly]));
    assert.deepEqual(await outboundOnly(), { '+48601234567': false, '+48799123456': true });
    assert.equal((await patch({ smsOutboundOnlyPrefixes: ['48601'] })).statusCode, 200);
    assert.deepEqual(await outboundOnly(), { '+48601234567': true, '+48799123456': false });
    assert.equal((await patch({ smsOutboundOnlyPrefixes: [] })).statusCode, 200);
    assert.deepEqual(await outboundOnly(), { '+48601234567': false, '+48799123456': false });
    assert.equal((await patch({ smsOutboundOnlyPrefixes: null })).statusCode, 200);
    assert.deepEqual(await outboundOnly(), { '+48601234567': false, '+48799123456': true });
  });
});
