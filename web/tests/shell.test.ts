import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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
 * The web app's frame in a real browser: sign-in, the language (Polish for a Polish browser, a switch
 * in the user menu), the security headers of the HTML, and the asset cache policy.
 */

const skip = browserUnavailable();

describe('web app shell', { skip }, () => {
  after(closeBrowser);

  forEachStore('shell', (env) => {
    let server: Awaited<ReturnType<typeof startWebServer>>;
    let user: { email: string };

    before(async () => {
      server = await startWebServer(env.ts.store);
      const projectId = await createProject(env.ts.store, 'Sklep Rowerowy');
      user = await createUser(env.ts.store, projectId, 'admin', 'Anna Admin');
    });
    after(async () => {
      await server?.fastify.close();
    });

    test('the HTML is served with a strict CSP and no cache; hashed assets for a year', async () => {
      const res = await fetch(`${server.url}/p/1/log?status=all`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'(;|$)/);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      const html = await res.text();
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      assert.ok(asset, 'the built index.html names its script');
      const js = await fetch(`${server.url}${asset}`);
      assert.equal(js.status, 200);
      assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal((await fetch(`${server.url}/assets/nope.js`)).status, 404);
      const api = await fetch(`${server.url}/api/v1/nope`);
      assert.equal(api.status, 404);
      assert.match(api.headers.get('content-type') ?? '', /json/, 'unknown API paths stay JSON');
    });

    test('a wrong password is told plainly; signing in lands on the workspace, in Polish', async () => {
      const ctx = await newContext();
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // 401s while signed out are expected; a CSP violation or a script error is not.
      page.on('console', (m) => m.type() === 'error' && !/status of 401/.test(m.text()) && errors.push(m.text()));
      await page.goto(server.url);
      await page.locator('input[type=email]').fill(user.email);
      await page.locator('input[type=password]').fill('wrong password');
      await page.locator('button[type=submit]').click();
      await page.getByRole('alert').getByText('Nieprawidłowy e-mail lub hasło').waitFor();
      await ctx.close();

      const ctx2 = await newContext();
      const p2 = await signIn(ctx2, server.url, user.email);
      assert.match(p2.url(), /\/p\/\d+\/workspace$/);
      await p2.getByRole('link', { name: 'Dziennik wiadomości' }).waitFor();
      assert.equal(await p2.locator('html').getAttribute('lang'), 'pl');
      await p2.getByTestId('live-indicator').getByText('live').waitFor();
      assert.deepEqual(errors, [], 'no script errors (a CSP violation would show here)');
      assert.deepEqual(await seriousA11yViolations(p2), [], 'axe: no serious violations');
      await ctx2.close();
    });

    test('an English browser gets English; the user menu switches to Ukrainian and it sticks', async () => {
      const ctx = await newContext({ locale: 'en-US' });
      const page = await signIn(ctx, server.url, user.email);
      await page.getByRole('link', { name: 'Message log' }).waitFor();
      await page.getByTestId('user-menu').click();
      await page.getByTestId('lang-uk').click();
      await page.getByRole('link', { name: 'Журнал повідомлень' }).waitFor();
      await page.reload();
      await page.getByRole('link', { name: 'Журнал повідомлень' }).waitFor();
      assert.equal(await page.locator('html').getAttribute('lang'), 'uk');
      await ctx.close();
    });
  });
});
