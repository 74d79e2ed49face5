import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { type Simulator, startSimulator } from '../../simulator/server.js';
import {
  browserUnavailable,
  closeBrowser,
  newContext,
  seriousA11yViolations,
  signIn,
  startWebServer,
} from '../../src/testing/browser.js';
import { createProject, createUser, forEachStore } from '../../src/testing/harness.js';

/**
 * Administration in a real browser, against the platform simulator: the setup checklist follows
 * the changes; a channel form shows the platform's own refusal; a number in the outbound-only range
 * gets its badge; an invitation link opened in another browser makes a manager who lands in the app;
 * an API token is shown once, works, and is refused once revoked.
 */

const skip = browserUnavailable();
const botToken = (id: number, fill: string) => `${id}:${fill.repeat(35).slice(0, 35)}`;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Picks an option of a Mantine Select by its label. */
async function choose(page: Page, testId: string, option: string) {
  await page.getByTestId(testId).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

describe('administration', { skip }, () => {
  after(closeBrowser);

  forEachStore('admin', (env) => {
    let server: Awaited<ReturnType<typeof startWebServer>>;
    let sim: Simulator;
    let projectId: number;
    let admin: { email: string };

    before(async () => {
      sim = await startSimulator({ retry: { attempts: 1, delayMs: 5, timeoutMs: 2000 } });
      server = await startWebServer(env.ts.store, { config: { TELEGRAM_API_URL: sim.urls.telegram } });
      projectId = await createProject(env.ts.store, 'Sklep Rowerowy');
      admin = await createUser(env.ts.store, projectId, 'admin', 'Anna Admin');
    });
    after(async () => {
      await server?.fastify.close();
      await sim?.close();
    });

    const adminPage = async (section = '') => {
      const ctx = await newContext();
      const page = await signIn(ctx, server.url, admin.email);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}/p/${projectId}/admin${section}`);
      await page.getByTestId('setup-smsNumber').waitFor({ state: 'attached' });
      return { ctx, page, errors };
    };
    const okOf = (page: Page, key: string) => page.getByTestId(`setup-${key}`).getAttribute('data-ok');

    test('a channel form shows the platform’s refusal; an SMS number in 48799 is outbound-only; the checklist follows', async () => {
      const { ctx, page, errors } = await adminPage();
      assert.equal(await okOf(page, 'smsNumber'), 'false');
      await page.getByTestId('setup-not-ready').waitFor();
      await page.getByTestId('setup-smsNumber').getByText('Podłącz kanał SMS').waitFor();
      assert.deepEqual(await seriousA11yViolations(page), [], 'axe on the admin page');

      // The checklist's link leads to the section that fixes the item.
      await page.getByTestId('setup-smsNumber').getByRole('link').click();
      await page.waitForURL(/\/admin\/channels$/);

      // Telegram refuses a token it does not know: its words, under the field.
      await page.getByTestId('channel-add').click();
      await page.getByTestId('cred-botToken').fill(botToken(700001, 'z'));
      await page.getByTestId('channel-submit').click();
      await page.getByText('Telegram refused it: Unauthorized (error 401)').waitFor();
      assert.deepEqual(await seriousA11yViolations(page), [], 'axe on the channel form with an error');

      // An SMPP channel (nothing is asked of the SMSC on create).
      await choose(page, 'channel-type', 'SMS (SMPP)');
      await page.getByTestId('cred-host').fill('smsc.example');
      await page.getByTestId('cred-port').fill('2775');
      await page.getByTestId('cred-systemId').fill('rowery');
      await page.getByTestId('cred-password').fill('tajne1');
      await page.getByTestId('channel-submit').click();
      await page.getByTestId('setup-smsNumber').getByText('Dodaj numer do kanału SMS.').waitFor();
      assert.ok(!(await page.content()).includes('tajne1'), 'the SMPP password is never shown back');

      // The number: +48 799… is in the outbound-only range.
      await page.getByTestId('admin-tab-numbers').click();
      await page.getByTestId('number-e164').fill('+48 799 123 456');
      await page.getByTestId('number-submit').click();
      const row = page.getByTestId('number-+48799123456');
      await row.getByTestId('outbound-only').getByText('Tylko wychodzące').waitFor();
      await row.getByText('klient nie odpowie').waitFor();
      // A bad number: the API's field error under the field.
      await page.getByTestId('number-e164').fill('+48 12');
      await page.getByTestId('number-submit').click();
      await page.getByText('is too short for a phone number').or(page.getByText('is not a valid number')).waitFor();

      // The checklist: an SMS number and an admin who can answer → the log works.
      await page.getByTestId('setup-ready').waitFor();
      assert.equal(await okOf(page, 'smsNumber'), 'true');
      assert.deepEqual(await seriousA11yViolations(page), [], 'axe on the numbers section');

      // Switching SMS off in the service switches undoes it.
      await page.getByTestId('admin-tab-services').click();
      await page.getByTestId('service-sms').setChecked(false);
      await page.getByTestId('setup-smsNumber').getByText('SMS są wyłączone').waitFor();
      assert.equal(await okOf(page, 'smsNumber'), 'false');
      assert.equal(await page.getByTestId('service-sms').isChecked(), false);
      await page.getByTestId('service-sms').setChecked(true);
      await page.getByTestId('setup-ready').waitFor();
      assert.deepEqual(errors, []);
      await ctx.close();
    });

    test('a connection test shows the platform’s own error plainly', async () => {
      const token = botToken(700002, 'R');
      sim.telegram.createBot({ token, username: 'rowery_bot' });
      const { ctx, page } = await adminPage('/channels');
      await page.getByTestId('channel-add').click();
      await page.getByTestId('cred-botToken').fill(token);
      await page.getByTestId('channel-submit').click();
      const card = page.locator('section[aria-label="rowery_bot"], section:has-text("t.me/rowery_bot")').first();
      await card.waitFor();
      assert.ok(!(await page.content()).includes(token), 'the bot token is never shown back');
      await card.getByTestId('channel-test').click();
      await card.getByTestId('channel-test-result').getByText('Connected to @rowery_bot').waitFor();

      sim.telegram.failNext({ kind: 'error', status: 401, description: 'Unauthorized' }, { method: 'getMe' });
      await card.getByTestId('channel-test').click();
      await card
        .getByTestId('channel-test-result')
        .getByText('Telegram refused the connection: Unauthorized (error 401)')
        .waitFor();
      await ctx.close();
    });

    test('an API token is created with a role, shown once with a copy button, works, and stops working when revoked', async () => {
      const { ctx, page, errors } = await adminPage('/tokens');
      await page.getByTestId('admin-tokens').waitFor();
      await page.getByText('Nie ma jeszcze żadnego tokenu.').waitFor();
      const asToken = (token: string) =>
        fetch(`${server.url}/api/v1/projects/${projectId}/dialogs`, { headers: { authorization: `Bearer ${token}` } });

      // A name is required: the server's field error comes back under the field.
      await page.getByTestId('token-name').fill('   ');
      await page.getByTestId('token-submit').click();
      await page.getByText('must not be empty').waitFor();

      await page.getByTestId('token-name').fill('CRM Bitrix');
      await choose(page, 'token-role', 'Kierownik');
      await page.getByTestId('token-submit').click();
      const shown = page.getByTestId('token-created');
      await shown.getByText('Utworzono token „CRM Bitrix”').waitFor();
      await shown.getByText('nie zostanie pokazany ponownie').waitFor();
      const token = await page.getByTestId('token-value').inputValue();
      assert.match(token, new RegExp(`^dz_${projectId}_[A-Za-z0-9_-]{43}$`));
      await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      await page.getByTestId('token-copy').click();
      await shown.getByRole('button', { name: 'Skopiowano' }).waitFor();
      assert.deepEqual(await seriousA11yViolations(page), [], 'axe on the tokens section with a new token');

      // The list: a supervisor token made by this admin, never used, active.
      const row = page.locator('tr', { hasText: 'CRM Bitrix' });
      await row.getByText('Kierownik').waitFor();
      await row.getByText('Anna Admin').waitFor();
      await row.getByText('nigdy').waitFor();
      await row.getByTestId('token-status').getByText('Aktywny').waitFor();
      assert.equal((await asToken(token)).status, 200, 'the token works');

      // Gone from the page after a reload: it is shown only once.
      await page.reload();
      await row.waitFor();
      assert.equal(await page.getByTestId('token-value').count(), 0);
      assert.ok(!(await page.content()).includes(token), 'the token is not shown again');

      // Revoking asks first; cancelling changes nothing.
      await row.getByRole('button', { name: 'Unieważnij' }).click();
      const dialog = page.getByRole('dialog', { name: 'Unieważnić token „CRM Bitrix”?' });
      await dialog.getByText('od razu przestaną mieć dostęp').waitFor();
      assert.deepEqual(await seriousA11yViolations(page), [], 'axe on the revoke confirmation');
      await dialog.getByRole('button', { name: 'Anuluj' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal((await asToken(token)).status, 200, 'cancelled: still works');

      await row.getByRole('button', { name: 'Unieważnij' }).click();
      await page.getByTestId('token-revoke-confirm').click();
      await row.getByTestId('token-status').getByText('Unieważniony').waitFor();
      assert.equal(await row.getByRole('button', { name: 'Unieważnij' }).count(), 0);
      assert.equal((await asToken(token)).status, 401, 'the revoked token is refused');
      const audit = await env.ts.store.db
        .selectFrom('audit_log')
        .select(['action', 'actor_name'])
        .where('project_id', '=', projectId)
        .where('action', 'like', 'token.%')
        .orderBy('id')
        .execute();
      assert.deepEqual(audit, [
        { action: 'token.create', actor_name: 'Anna Admin' },
        { action: 'token.revoke', actor_name: 'Anna Admin' },
      ]);
      assert.deepEqual(errors, []);
      await ctx.close();
    });

    test('an invitation link opened in another browser makes a manager who lands in the app', async () => {
      const { ctx, page } = await adminPage('/users');
      await page.getByTestId('invite-email').fill('nowa.menedzerka@example.test');
      await page.getByRole('button', { name: 'Utwórz link' }).click();
      const link = await page.getByTestId('invite-link').inputValue();
      assert.match(link, new RegExp(`^${server.url}/invite/dzi_${projectId}_`));

      const guest = await newContext();
      const p2 = await guest.newPage();
      const errors: string[] = [];
      p2.on('pageerror', (e) => errors.push(e.message));
      await p2.goto(link);
      await p2.getByText('Zaproszenie do projektu „Sklep Rowerowy” z rolą: Menedżer.').waitFor();
      assert.deepEqual(await seriousA11yViolations(p2), [], 'axe on the invitation page');
      await p2.getByTestId('accept-name').fill('Nowa Menedżerka');
      await p2.getByTestId('accept-password').fill('bardzo-dobre-haslo');
      await p2.getByTestId('accept-repeat').fill('bardzo-dobre-haslo');
      await p2.getByTestId('accept-submit').click();
      await p2.waitForURL(new RegExp(`/p/${projectId}/workspace`));
      await p2.getByRole('link', { name: 'Dziennik wiadomości' }).waitFor();
      assert.equal(await p2.getByRole('link', { name: 'Ustawienia' }).count(), 0, 'a manager has no administration');
      const me = await p2.evaluate(async () => (await fetch('/api/v1/me')).json());
      assert.deepEqual(
        (me as { projects: { id: number; role: string }[] }).projects.map((p) => [p.id, p.role]),
        [[projectId, 'manager']],
      );
      assert.deepEqual(errors, []);

      // The link works once.
      const p3 = await (await newContext()).newPage();
      await p3.goto(link);
      await p3.getByText('Tego zaproszenia nie można już użyć').waitFor();
      await p3.context().close();

      // The admin sees the new member and can change her role.
      await page.reload();
      const member = page.getByTestId('member-nowa.menedzerka@example.test');
      await member.waitFor();
      const role = member.getByLabel('Rola: Nowa Menedżerka');
      await role.click();
      await page.getByRole('option', { name: 'Kierownik', exact: true }).click();
      await until(async () => {
        const row = await env.ts.store.db
          .selectFrom('memberships')
          .innerJoin('users', 'users.id', 'memberships.user_id')
          .select('memberships.role')
          .where('users.email', '=', 'nowa.menedzerka@example.test')
          .executeTakeFirst();
        return row?.role === 'supervisor';
      }, 'the role change reaches the server');
      await until(async () => (await role.inputValue()) === 'Kierownik', 'the list shows the new role');
      await guest.close();
      await ctx.close();
    });
  });
});
