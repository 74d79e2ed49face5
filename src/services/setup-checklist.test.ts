import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Store } from '../store/open.js';
import { createChannel as insertChannelRow } from '../testing/fixtures.js';
import { createProject, createUser, forEachStore, projectContext } from '../testing/harness.js';
import type { ProjectContext } from './context.js';
import { createNumber, updateNumber } from './numbers.js';
import { updateProjectSettings } from './project-settings.js';
import { getSetupChecklist, type SetupChecklist } from './setup-checklist.js';

/** The setup checklist of R8 follows the project's data: numbers, channels, people, switches. */

forEachStore('setup-checklist', (env) => {
  let store: Store;
  let ctx: ProjectContext;
  let projectId: number;
  let otherProjectId: number;
  const admin = { type: 'user', id: 1, name: 'Agata Admin', role: 'admin' } as const;

  const state = (c: SetupChecklist) => Object.fromEntries(c.items.map((i) => [i.key, i.ok ? 'ok' : i.reason]));
  const item = (c: SetupChecklist, key: string) => c.items.find((i) => i.key === key)!;

  before(async () => {
    store = env.ts.store;
    projectId = await createProject(store, 'Sklep');
    otherProjectId = await createProject(store, 'Inny');
    ctx = projectContext(store, projectId, admin);
    // Everything the other project has must not count here.
    const foreignSms = await insertChannelRow(store, otherProjectId, 'sms');
    await insertChannelRow(store, otherProjectId, 'telegram');
    await createNumber(projectContext(store, otherProjectId, admin), {
      e164: '+48 601 000 001',
      channelId: foreignSms,
      smsEnabled: true,
    });
    await createUser(store, otherProjectId, 'manager', 'Obcy Menedżer');
  });

  test('a fresh project without people: nothing holds, each item says what to fix and where', async () => {
    const c = await getSetupChecklist(ctx);
    assert.equal(c.ready, false);
    assert.deepEqual(c.paths, { sms: false, web: false });
    assert.deepEqual(state(c), {
      smsNumber: 'no_sms_channel',
      widget: 'no_widget_origin',
      messenger: 'no_messenger',
      workspaceUsers: 'no_managers',
      serviceSwitches: 'ok',
    });
    assert.deepEqual(
      c.items.map((i) => [i.key, i.section, i.path]),
      [
        ['smsNumber', 'channels', 'sms'],
        ['widget', 'widget', 'web'],
        ['messenger', 'channels', 'web'],
        ['workspaceUsers', 'users', null],
        ['serviceSwitches', 'services', null],
      ],
    );
    assert.match(item(c, 'widget').hint ?? '', /allowed websites/);
    assert.ok(c.items.every((i) => i.ok === (i.hint === null)));
  });

  test('an SMS number with SMS on and a manager make the log ready', async () => {
    const channelId = await insertChannelRow(store, projectId, 'sms-http');
    assert.equal(state(await getSetupChecklist(ctx)).smsNumber, 'no_number');
    assert.equal(item(await getSetupChecklist(ctx), 'smsNumber').section, 'numbers');
    const n = await createNumber(ctx, { e164: '+48 799 123 456', channelId, smsEnabled: false });
    assert.equal(state(await getSetupChecklist(ctx)).smsNumber, 'sms_disabled_on_numbers');
    await updateNumber(ctx, n.id, { smsEnabled: true });
    let c = await getSetupChecklist(ctx);
    assert.equal(state(c).smsNumber, 'ok');
    assert.equal(c.ready, false, 'nobody answers yet');

    // A supervisor cannot answer; an account without a password cannot sign in.
    await createUser(store, projectId, 'supervisor', 'Sonia Supervisor');
    const noPassword = await createUser(store, projectId, 'manager', 'Bez Hasła');
    await store.db.updateTable('users').set({ password_hash: null }).where('id', '=', noPassword.id).execute();
    assert.equal(state(await getSetupChecklist(ctx)).workspaceUsers, 'no_managers');
    await createUser(store, projectId, 'manager', 'Marek Menedżer');
    c = await getSetupChecklist(ctx);
    assert.equal(state(c).workspaceUsers, 'ok');
    assert.equal(c.ready, true);
    assert.deepEqual(c.paths, { sms: true, web: false });
  });

  test('service switches: SMS off breaks the SMS path; the workspace off breaks everything', async () => {
    await updateProjectSettings(ctx, { services: { sms: false } });
    let c = await getSetupChecklist(ctx);
    assert.equal(state(c).smsNumber, 'sms_off');
    assert.equal(item(c, 'smsNumber').section, 'services');
    assert.equal(state(c).serviceSwitches, 'ok', 'widget + messengers are still on: a path remains');
    assert.equal(c.ready, false);

    await updateProjectSettings(ctx, { services: { sms: true, workspace: false } });
    c = await getSetupChecklist(ctx);
    assert.equal(state(c).workspaceUsers, 'workspace_off');
    assert.equal(state(c).serviceSwitches, 'services_off');
    assert.match(item(c, 'serviceSwitches').hint ?? '', /workspace/);
    assert.equal(c.ready, false);
    await updateProjectSettings(ctx, { services: { workspace: true } });
    assert.equal((await getSetupChecklist(ctx)).ready, true);
  });

  test('a connected messenger counts unless its last connection test failed; removed ones never', async () => {
    const removed = await insertChannelRow(store, projectId, 'viber');
    await store.db
      .updateTable('channels')
      .set({ enabled: 0, config: JSON.stringify({ removedAt: Date.now() }) })
      .where('project_id', '=', projectId)
      .where('id', '=', removed)
      .execute();
    assert.equal(state(await getSetupChecklist(ctx)).messenger, 'no_messenger');
    const tg = await insertChannelRow(store, projectId, 'telegram');
    assert.equal(state(await getSetupChecklist(ctx)).messenger, 'ok');
    await store.db
      .updateTable('channels')
      .set({ config: JSON.stringify({ lastTest: { at: 1, ok: false, message: 'Telegram refused: Unauthorized' } }) })
      .where('project_id', '=', projectId)
      .where('id', '=', tg)
      .execute();
    const c = await getSetupChecklist(ctx);
    assert.equal(state(c).messenger, 'messenger_failing');
    assert.match(item(c, 'messenger').hint ?? '', /Unauthorized/);
    // Without an allowed website for the widget the web path cannot hold.
    assert.equal(c.paths.web, false);

    // An allowed website and a working messenger: the web path holds.
    await store.db.updateTable('channels').set({ config: '{}' }).where('id', '=', tg).execute();
    await updateProjectSettings(ctx, { widgetAllowedOrigins: ['https://sklep.pl'] });
    const web = await getSetupChecklist(ctx);
    assert.equal(state(web).widget, 'ok');
    assert.equal(web.paths.web, true);
  });
});
