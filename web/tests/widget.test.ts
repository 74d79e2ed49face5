import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Simulator, startSimulator } from '../../simulator/server.js';
import { browserUnavailable, closeBrowser, newContext, signIn, startWebServer } from '../../src/testing/browser.js';
import { createChannel, insertSealedChannel } from '../../src/testing/fixtures.js';
import { createProject, createToken, createUser, forEachStore } from '../../src/testing/harness.js';

/**
 * The website widget in a real browser, on a host page served from another origin under a strict
 * Content-Security-Policy: UTM tags on the landing page → Telegram in the widget → the deep link's
 * token → the simulator's user presses Start → the dialog carries google / cpc / wiosna. With the
 * app down or silent the widget stays hidden and the host page is untouched.
 */

const skip = browserUnavailable();
type Doc = { document: { activeElement: { getAttribute(n: string): string | null } | null } };
const WIDGET_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../widget/dist/widget.js');
const BOT = '7012345678:AAE-widget-test-token-00000000000';
const SECRET = 'dz_tg-widget_0123456789';
const VIBER = '4a1b2c3d4e5f6a7b-widget-6e7f8a9b0c1d2e3f';
const PAGE = '104857600000099';
const PAGE_TOKEN = 'EAAGwidgetpagetoken0123456789';
const APP_SECRET = 'f00dfacecafe0123456789abcdef0199';
const VERIFY = 'dz-verify-widget';

/** A tiny website on its own port: `/` is the host page; `/widget.js` + a silent API stand in for a hung app. */
async function hostSite(
  scriptSrc: (port: number) => string,
  key: string,
  connect: (port: number) => string,
  lang = 'pl',
) {
  const server = http.createServer((req, res) => {
    const port = (server.address() as { port: number }).port;
    if (req.url?.startsWith('/widget.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(fs.readFileSync(WIDGET_JS));
      return;
    }
    if (req.url?.startsWith('/api/')) return; // never answers
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      // Strict: no inline script or style, scripts and fetches only from the app.
      'content-security-policy': `default-src 'none'; script-src ${scriptSrc(port).replace(/\/widget\.js$/, '')}; connect-src ${connect(port)}; style-src 'self'`,
    });
    res.end(`<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>Sklep</title></head>
<body><h1 id="own">Sklep rowerowy</h1>
<script async src="${scriptSrc(port)}" data-key="${key}"></script></body></html>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://localhost:${port}`, origin: `http://localhost:${port}`, close: () => server.close() };
}

describe('website widget', { skip }, () => {
  after(closeBrowser);

  forEachStore('widget', (env) => {
    let server: Awaited<ReturnType<typeof startWebServer>>;
    let sim: Simulator;
    let projectId: number;
    let token: string;
    let site: Awaited<ReturnType<typeof hostSite>>;
    let siteUk: Awaited<ReturnType<typeof hostSite>>;
    let admin: { email: string };

    before(async () => {
      sim = await startSimulator({ retry: { attempts: 1, delayMs: 5, timeoutMs: 2000 } });
      server = await startWebServer(env.ts.store, {
        config: { TELEGRAM_API_URL: sim.urls.telegram, VIBER_API_URL: sim.urls.viber, GRAPH_API_URL: sim.urls.graph },
      });
      projectId = await createProject(env.ts.store, 'Sklep Rowerowy');
      token = await createToken(env.ts.store, projectId, 'admin');
      const { public_key: key } = await env.ts.store.db
        .selectFrom('projects')
        .select('public_key')
        .where('id', '=', projectId)
        .executeTakeFirstOrThrow();
      site = await hostSite(
        () => `${server.url}/widget.js`,
        key,
        () => server.url,
      );
      siteUk = await hostSite(
        () => `${server.url}/widget.js`,
        key,
        () => server.url,
        'uk',
      );
      admin = await createUser(env.ts.store, projectId, 'admin', 'Anna Admin');
      await createChannel(env.ts.store, projectId, 'sms-http');
      const res = await fetch(`${server.url}/api/v1/projects/${projectId}/settings`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ widgetAllowedOrigins: [site.origin] }),
      });
      assert.equal(res.status, 200, await res.text());
      sim.telegram.createBot({ token: BOT, username: 'sklep_bot' });
      const channelId = await insertSealedChannel(
        env.ts.store,
        projectId,
        'telegram',
        { botToken: BOT },
        { webhookSecret: SECRET, config: { botUsername: 'sklep_bot' } },
      );
      const r = await fetch(`${sim.urls.telegram}/bot${BOT}/setWebhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${server.url}/webhooks/telegram/${channelId}`, secret_token: SECRET }),
      });
      assert.equal(r.status, 200);

      sim.viber.createAccount({ authToken: VIBER, uri: 'sklepviber', name: 'Sklep Rowerowy' });
      const viberId = await insertSealedChannel(
        env.ts.store,
        projectId,
        'viber',
        { authToken: VIBER },
        { config: { botName: 'Sklep Rowerowy', uri: 'sklepviber' } },
      );
      const v = await fetch(`${sim.urls.viber}/set_webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Viber-Auth-Token': VIBER },
        body: JSON.stringify({ url: `${server.url}/webhooks/viber/${viberId}` }),
      });
      assert.equal(((await v.json()) as { status: number }).status, 0);

      const page = sim.messenger.createPage({ pageId: PAGE, pageAccessToken: PAGE_TOKEN, appSecret: APP_SECRET });
      const messengerId = await insertSealedChannel(
        env.ts.store,
        projectId,
        'messenger',
        { pageId: PAGE, pageAccessToken: PAGE_TOKEN, appSecret: APP_SECRET, verifyToken: VERIFY },
        { config: { pageId: PAGE } },
      );
      const m = await fetch(
        `${sim.urls.graph}/${page.appId}/subscriptions?access_token=${encodeURIComponent(page.appAccessToken)}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            object: 'page',
            callback_url: `${server.url}/webhooks/messenger/${messengerId}`,
            verify_token: VERIFY,
            fields: 'messages,messaging_postbacks,messaging_referrals',
          }),
        },
      );
      assert.deepEqual(await m.json(), { success: true });
    });
    after(async () => {
      site?.close();
      siteUk?.close();
      await server?.fastify.close();
      await sim?.close();
    });

    test('UTM tags → Telegram in the widget → /start <token> → the dialog shows google / cpc / wiosna', async () => {
      const ctx = await newContext();
      await ctx.route('https://t.me/**', (r) => r.fulfill({ status: 200, contentType: 'text/html', body: 'Telegram' }));
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
      });
      await page.goto(`${site.url}/oferta?utm_source=google&utm_medium=cpc&utm_campaign=wiosna`);
      // The first touch stays; a later tagged visit is kept as the last non-direct touch.
      const stored = (k: string) =>
        page.evaluate(
          (key) =>
            JSON.parse(
              (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem(
                key,
              ) ?? 'null',
            ),
          k,
        );
      assert.equal((await stored('dziennik_first')).utmCampaign, 'wiosna');
      await page.goto(`${site.url}/?utm_source=bing&utm_medium=cpc&utm_campaign=jesien`);
      assert.equal((await stored('dziennik_first')).utmCampaign, 'wiosna');
      assert.equal((await stored('dziennik_last')).utmCampaign, 'jesien');
      const open = page.getByRole('button', { name: 'Napisz do nas' });
      await open.click();
      const dialog = page.getByRole('dialog', { name: 'Jak możemy pomóc?' });
      await dialog.waitFor();
      // Focus moves into the panel and stays there; Esc closes and returns to the button.
      assert.equal(
        await page.evaluate(() => (globalThis as unknown as Doc).document.activeElement?.getAttribute('data-dziennik')),
        '',
      );
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await open.getAttribute('aria-expanded'), 'false');
      await page.evaluate(() => {
        (globalThis as unknown as { dziennik: { push(c: unknown[]): void } }).dziennik.push(['open']);
      });
      await dialog.waitFor();

      const [popup] = await Promise.all([
        ctx.waitForEvent('page'),
        dialog.getByRole('button', { name: 'Telegram' }).click(),
      ]);
      const link = new URL(popup.url());
      assert.equal(`${link.origin}${link.pathname}`, 'https://t.me/sklep_bot');
      const start = link.searchParams.get('start')!;
      assert.match(start, /^[A-Za-z0-9_-]{1,64}$/);

      await sim.telegram.start(BOT, { userId: 9101, firstName: 'Ola' }, start);
      // A /start opens a dialog without a message (the log lists dialogs with messages): read it by id.
      let row: { id: number } | undefined;
      for (let i = 0; i < 50 && !row; i++) {
        row = await env.ts.store.db
          .selectFrom('dialogs')
          .select('id')
          .where('project_id', '=', projectId)
          .where('channel_type', '=', 'telegram')
          .executeTakeFirst();
        if (!row) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(row, 'the /start made a dialog');
      const res = await fetch(`${server.url}/api/v1/projects/${projectId}/dialogs/${row.id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const d = (await res.json()) as { source: Record<string, string | null> | null };
      assert.ok(d.source);
      assert.equal(d.source.utmSource, 'google');
      assert.equal(d.source.utmMedium, 'cpc');
      assert.equal(d.source.channelGroup, 'Paid Search');
      assert.match(String(d.source.landingUrl), /\/oferta\?utm_source=google/);
      assert.deepEqual(problems, [], 'no errors or CSP violations on the host page');
      await ctx.close();
    });

    /** The source of the project's dialog on a channel, through the API, once the webhook has made it. */
    async function sourceOf(channelType: string) {
      let row: { id: number } | undefined;
      for (let i = 0; i < 50 && !row; i++) {
        row = await env.ts.store.db
          .selectFrom('dialogs')
          .select('id')
          .where('project_id', '=', projectId)
          .where('channel_type', '=', channelType as 'viber')
          .executeTakeFirst();
        if (!row) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(row, `a ${channelType} dialog was made`);
      const res = await fetch(`${server.url}/api/v1/projects/${projectId}/dialogs/${row.id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return ((await res.json()) as { source: Record<string, string | null> }).source;
    }

    /** Clicks a messenger in the widget and returns the link the server answered for it. */
    async function clickMessenger(query: string, name: string, type: string) {
      const ctx = await newContext({ locale: 'en-GB' });
      const page = await ctx.newPage();
      await page.goto(`${site.url}/?${query}`);
      await page.getByRole('button', { name: 'Napisz do nas' }).click();
      const [visit] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/visits') && r.request().method() === 'POST'),
        page.getByRole('dialog').getByRole('button', { name }).click(),
      ]);
      const body = (await visit.json()) as { token: string; links: Record<string, string> };
      await ctx.close();
      return { token: body.token, link: body.links[type]! };
    }

    test('Viber: the link carries the token as context; conversation_started gives the dialog its source', async () => {
      const { token: t, link } = await clickMessenger(
        'utm_source=facebook&utm_medium=paid_social&utm_campaign=lato',
        'Viber',
        'viber',
      );
      assert.equal(link, `viber://pa?chatURI=sklepviber&context=${t}`);
      await sim.viber.conversationStarted(VIBER, { userId: 'vWidget1==', name: 'Zofia', context: t });
      const source = await sourceOf('viber');
      assert.deepEqual([source.utmSource, source.utmMedium, source.utmCampaign], ['facebook', 'paid_social', 'lato']);
      assert.equal(source.channelGroup, 'Paid Social');
    });

    test('Messenger: the m.me link carries the token as ref; Get Started gives the dialog its source', async () => {
      const { token: t, link } = await clickMessenger(
        'utm_source=newsletter&utm_medium=email&utm_campaign=listopad',
        'Messenger',
        'messenger',
      );
      assert.equal(link, `https://m.me/${PAGE}?ref=${t}`);
      await sim.messenger.getStarted(PAGE, { psid: '8801', firstName: 'Ola', ref: t });
      const source = await sourceOf('messenger');
      assert.deepEqual([source.utmSource, source.utmMedium, source.utmCampaign], ['newsletter', 'email', 'listopad']);
      assert.equal(source.channelGroup, 'Email');
    });

    test('the admin allows a second website; there, in Ukrainian, a callback request becomes an SMS dialog', async () => {
      const adminCtx = await newContext();
      const adminPage = await signIn(adminCtx, server.url, admin.email);
      await adminPage.goto(`${server.url}/p/${projectId}/admin/widget`);
      const origins = adminPage.getByTestId('widget-origins');
      await origins.fill(`${site.origin}\n${siteUk.origin}`);
      await adminPage.getByTestId('widget-save').click();
      await adminPage.getByText('Zapisano.').waitFor();
      await adminCtx.close();

      const ctx = await newContext({ locale: 'uk-UA' });
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${siteUk.url}/?utm_source=google&utm_medium=organic`);
      await page.getByRole('button', { name: 'Напишіть нам' }).click();
      const panel = page.getByRole('dialog', { name: 'Чим можемо допомогти?' });
      await panel.getByLabel("Ім'я").fill('Олена');
      await panel.getByLabel('Телефон').fill('+48 601 234 599');
      await panel.getByRole('button', { name: 'Передзвоніть мені' }).click();
      await panel.getByText('Введіть правильний номер телефону.').waitFor(); // consent not given yet
      await panel.getByLabel('Я погоджуюся на дзвінок щодо мого запиту.').check();
      await panel.getByRole('button', { name: 'Передзвоніть мені' }).click();
      await panel.getByText('Дякуємо! Ми скоро передзвонимо.').waitFor();
      const row = await env.ts.store.db
        .selectFrom('dialogs')
        .select(['client_phone', 'client_name', 'status', 'channel_group'])
        .where('project_id', '=', projectId)
        .where('channel_type', '=', 'sms')
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, {
        client_phone: '+48601234599',
        client_name: 'Олена',
        status: 'new',
        channel_group: 'Organic Search',
      });
      assert.deepEqual(errors, []);
      await ctx.close();
    });

    test('the app down or silent: no widget, no errors, the host page untouched', async () => {
      const down = await hostSite(
        () => 'http://127.0.0.1:9/widget.js',
        'pk_x',
        () => 'http://127.0.0.1:9',
      );
      const silent = await hostSite(
        (port) => `http://127.0.0.1:${port}/widget.js`,
        'pk_x',
        (port) => `http://127.0.0.1:${port}`,
      );
      const ctx = await newContext();
      try {
        for (const [site2, wait] of [
          [down, 500],
          [silent, 3600],
        ] as const) {
          const page = await ctx.newPage();
          const errors: string[] = [];
          page.on('pageerror', (e) => errors.push(e.message));
          await page.goto(site2.url);
          await page.waitForTimeout(wait);
          assert.equal(await page.locator('[data-dziennik]').count(), 0);
          assert.equal(await page.locator('#own').textContent(), 'Sklep rowerowy');
          assert.deepEqual(errors, []);
        }
      } finally {
        await ctx.close();
        down.close();
        silent.close();
      }
    });
  });
});
