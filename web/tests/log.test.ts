// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (the text as rendered), not the DOM property
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { localDate, startOfLocalDay } from '../../src/core/time.js';
import type { BrowserContext } from 'playwright-core';
import {
  browser,
  browserUnavailable,
  closeBrowser,
  newContext,
  seriousA11yViolations,
  signIn,
  startWebServer,
} from '../../src/testing/browser.js';
import { createChannel, type FixtureMessage, insertDialog } from '../../src/testing/fixtures.js';
import { createProject, createToken, createUser, forEachStore } from '../../src/testing/harness.js';

/**
 * The Message log in a real browser (issue 4 §3, R1–R5): closed dialogs newest first with the
 * seed's columns; filters by manager and date in the URL (back works); a row opens the history
 * modal (Esc closes, focus returns, `?dialog=` reopens it, paging, print stylesheet); the CSV
 * export holds exactly the filtered dialogs; Polish/English; a phone screen; axe.
 */

const skip = browserUnavailable();
const TZ = 'Europe/Warsaw';
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** The ids of the rows on screen, in display order. */
async function shownIds(page: Page): Promise<number[]> {
  const rows = await page
    .locator('[data-testid=log-rows] [data-dialog-id]')
    .evaluateAll((els) => els.map((e) => [Number(e.dataset.rowIndex), Number(e.dataset.dialogId)] as const));
  return rows.sort((x, y) => x[0] - y[0]).map((r) => r[1]);
}

/** Waits until the rows on screen are exactly `ids` (the list reloads asynchronously). */
async function expectRows(page: Page, ids: number[], message?: string) {
  const until = Date.now() + 10_000;
  let shown = await shownIds(page);
  while (JSON.stringify(shown) !== JSON.stringify(ids) && Date.now() < until) {
    await page.waitForTimeout(50);
    shown = await shownIds(page);
  }
  assert.deepEqual(shown, ids, message);
}

describe('message log', { skip }, () => {
  after(closeBrowser);

  forEachStore('log', (env) => {
    let server: Awaited<ReturnType<typeof startWebServer>>;
    let base: string;
    let api: string;
    let token: string;
    let supervisor: { email: string };
    let marek: { id: number };
    let anna: { id: number };
    const ids = { a: 0, b: 0, c: 0, d: 0, e: 0, open: 0, fresh: 0 };
    let today = '';
    let eFailedText = '';
    let signedIn: Awaited<ReturnType<BrowserContext['storageState']>>;

    /** A new browser context, already signed in as the supervisor (signing in once per store). */
    async function open(opts: { locale?: string; viewport?: { width: number; height: number } } = {}) {
      const ctx = await (await browser()).newContext({
        locale: opts.locale ?? 'pl-PL',
        timezoneId: TZ,
        viewport: opts.viewport ?? { width: 1280, height: 800 },
        storageState: signedIn,
      });
      return { ctx, page: await ctx.newPage() };
    }

    before(async () => {
      const store = env.ts.store;
      server = await startWebServer(store);
      const projectId = await createProject(store, 'Sklep Rowerowy', TZ);
      base = `${server.url}/p/${projectId}/log`;
      api = `${server.url}/api/v1/projects/${projectId}`;
      token = await createToken(store, projectId, 'supervisor');
      supervisor = await createUser(store, projectId, 'supervisor', 'Sylwia Nadzorcza');
      marek = await createUser(store, projectId, 'manager', 'Marek Nowak');
      anna = await createUser(store, projectId, 'manager', 'Anna Kowalska');
      const tg = await createChannel(store, projectId, 'telegram');
      const viber = await createChannel(store, projectId, 'viber');
      const fb = await createChannel(store, projectId, 'messenger');
      const sms = await createChannel(store, projectId, 'sms');

      const now = Date.now();
      today = localDate(now, TZ);
      const todayStart = startOfLocalDay(today, TZ);
      const talk = (at: number, ...texts: [dir: 'in' | 'out', text: string, status?: 'read'][]): FixtureMessage[] =>
        texts.map(([direction, text, status], i) => ({
          direction,
          text,
          at: at + (i + 1) * MIN,
          ...(status ? { status } : {}),
        }));

      // Created in the first minutes of today (in Warsaw), so "today" holds whenever the test runs.
      const aAt = todayStart + MIN;
      ids.a = (
        await insertDialog(store, {
          projectId,
          channelId: tg,
          status: 'closed',
          managerId: marek.id,
          createdAt: aAt,
          clientName: 'Jan Kowalski',
          clientHandle: 'jank',
          attribution: {
            source: 'google',
            channel_group: 'Paid Search',
            utm_source: 'google',
            utm_medium: 'cpc',
            utm_campaign: 'wiosna',
          },
          messages: talk(
            aAt,
            ['in', 'Dzień dobry, <b>ile kosztuje</b> rower?'],
            ['out', 'Zapraszamy: https://example.com/oferta?x=1 oraz javascript:alert(1)', 'read'],
            ['in', 'Dziękuję!'],
          ),
        })
      ).id;
      ids.b = (
        await insertDialog(store, {
          projectId,
          channelId: viber,
          status: 'closed',
          managerId: anna.id,
          createdAt: todayStart - 10 * HOUR,
          clientName: 'Olena Szewczenko',
          attribution: { source: 'facebook', channel_group: 'Organic Social', utm_source: 'facebook' },
          messages: talk(todayStart - 10 * HOUR, ['in', 'Привіт'], ['out', 'Dzień dobry!']),
        })
      ).id;
      ids.c = (
        await insertDialog(store, {
          projectId,
          channelId: sms,
          status: 'closed',
          managerId: marek.id,
          createdAt: todayStart - 3 * DAY + 10 * HOUR,
          clientName: 'Piotr Wiśniewski',
          clientPhone: '+48799123456',
          outboundOnly: true,
          messages: talk(todayStart - 3 * DAY + 10 * HOUR, ['out', 'Przypominamy o wizycie jutro o 10:00.']),
        })
      ).id;
      ids.d = (
        await insertDialog(store, {
          projectId,
          channelId: fb,
          status: 'closed',
          managerId: anna.id,
          createdAt: todayStart - 10 * DAY + 12 * HOUR,
          clientName: 'Kasia Zielińska',
          attribution: { source: 'direct', channel_group: 'Direct' },
          messages: talk(todayStart - 10 * DAY + 12 * HOUR, ['in', 'Czy macie rowery dziecięce?'], ['out', 'Tak.']),
        })
      ).id;
      // A long dialog: the modal pages through it (100 messages a page).
      const eAt = todayStart - 20 * DAY + 9 * HOUR;
      const long: FixtureMessage[] = Array.from({ length: 130 }, (_, i) => ({
        direction: i % 2 === 0 ? 'in' : 'out',
        text: `Wiadomość numer ${i + 1}`,
        at: eAt + (i + 1) * MIN,
        ...(i === 129 ? { status: 'failed' as const } : {}),
      }));
      const e = await insertDialog(store, {
        projectId,
        channelId: tg,
        status: 'closed',
        managerId: marek.id,
        createdAt: eAt,
        clientName: 'Tomasz Lewandowski',
        clientHandle: 'tomek',
        closeReason: 'Sprzedaż zakończona',
        messages: long,
      });
      ids.e = e.id;
      eFailedText = 'Wiadomość numer 130';
      await store.db
        .updateTable('messages')
        .set({ failure_reason: 'Bot was blocked by the user' })
        .where('id', '=', e.messageIds[129]!)
        .execute();
      // Not closed: not in the log's default view.
      ids.open = (
        await insertDialog(store, {
          projectId,
          channelId: tg,
          status: 'open',
          managerId: anna.id,
          createdAt: todayStart + 2 * MIN,
          clientName: 'Otwarty Klient',
          messages: talk(todayStart + 2 * MIN, ['in', 'Halo?']),
        })
      ).id;
      ids.fresh = (
        await insertDialog(store, {
          projectId,
          channelId: viber,
          status: 'new',
          createdAt: todayStart + 3 * MIN,
          clientName: 'Nowy Klient',
          messages: talk(todayStart + 3 * MIN, ['in', 'Dzień dobry']),
        })
      ).id;
      const ctx = await newContext();
      await signIn(ctx, server.url, supervisor.email);
      signedIn = await ctx.storageState();
      await ctx.close();
    });
    after(async () => {
      await server?.fastify.close();
    });

    test('closed dialogs newest first, with the seed’s columns; optional columns are remembered', async () => {
      const { ctx, page } = await open();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(base);
      await expectRows(page, [ids.a, ids.b, ids.c, ids.d, ids.e]);
      const headers = await page.getByRole('columnheader').allInnerTexts();
      for (const h of ['Klient', 'Kanał', 'Ostatnia odpowiedź', 'Utworzony', 'Odpowiedzialny', 'Źródło']) {
        assert.ok(
          headers.some((x) => x.startsWith(h)),
          `column ${h} in ${headers.join(', ')}`,
        );
      }
      const rowA = page.locator(`[data-dialog-id="${ids.a}"]`);
      const cells = await rowA.getByRole('cell').allInnerTexts();
      assert.match(cells[0]!, /Jan Kowalski\s+@jank/);
      await rowA.getByRole('img', { name: 'Telegram' }).waitFor();
      assert.equal(cells[2], 'Klient', 'the client wrote last');
      const hhmm = new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', minute: '2-digit' }).format(
        startOfLocalDay(today, TZ) + MIN,
      );
      assert.ok(cells[3]!.includes(hhmm), `created at ${hhmm} Warsaw time: ${cells[3]}`);
      assert.equal(cells[4], 'Marek Nowak');
      assert.match(cells[5]!, /google\s*Paid Search/);
      // The source's details in a tooltip.
      await rowA.locator('.dz-src').hover();
      assert.match(await page.getByRole('tooltip').innerText(), /utm_medium:\s*cpc[\s\S]*utm_campaign:\s*wiosna/);
      // The outbound-only SMS number shows "SMS"; the channel logos have accessible names.
      const rowC = page.locator(`[data-dialog-id="${ids.c}"]`);
      assert.match(await rowC.getByRole('cell').first().innerText(), /SMS\s*\+48799123456/);
      await rowC.getByRole('img', { name: 'SMS' }).waitFor();
      await page.locator(`[data-dialog-id="${ids.b}"]`).getByRole('img', { name: 'Viber' }).waitFor();
      await page.locator(`[data-dialog-id="${ids.d}"]`).getByRole('img', { name: 'Messenger' }).waitFor();
      assert.match(await page.getByTestId('log-count').innerText(), /Razem: 5/);
      assert.deepEqual(await seriousA11yViolations(page), [], 'axe: the log page');

      // An optional column, switched on, survives a reload.
      await page.getByTestId('columns-button').click();
      await page.getByTestId('column-closeReason').check();
      await page.keyboard.press('Escape');
      await page.getByRole('columnheader', { name: 'Powód zamknięcia' }).waitFor();
      await page.reload();
      await page.getByRole('columnheader', { name: 'Powód zamknięcia' }).waitFor();
      assert.match(await page.locator(`[data-dialog-id="${ids.e}"]`).innerText(), /Sprzedaż zakończona/);
      assert.deepEqual(errors, [], 'no script errors');
      await ctx.close();
    });

    test('filter by manager and by date: the URL follows, the rows match, back undoes', async () => {
      const { ctx, page } = await open();
      await page.goto(base);
      await expectRows(page, [ids.a, ids.b, ids.c, ids.d, ids.e]);

      await page.getByTestId('filter-managers').click();
      await page.getByRole('option', { name: 'Marek Nowak' }).click();
      await page.keyboard.press('Escape');
      await page.waitForURL((u) => u.searchParams.getAll('managerId').join() === String(marek.id));
      await expectRows(page, [ids.a, ids.c, ids.e], 'Marek’s dialogs');

      await page.getByTestId('filter-dates').click();
      await page.getByRole('button', { name: 'Następny miesiąc' }).waitFor();
      assert.deepEqual(await seriousA11yViolations(page), [], 'axe: the date filter open');
      await page.getByTestId('preset-last7').click();
      const weekAgo = localDate(startOfLocalDay(today, TZ) - 6 * DAY + 12 * HOUR, TZ);
      await page.waitForURL((u) => u.searchParams.get('from') === weekAgo && u.searchParams.get('to') === today);
      await expectRows(page, [ids.a, ids.c], 'Marek’s dialogs of the last 7 days');
      assert.match(await page.getByTestId('filter-dates').innerText(), /Ostatnie 7 dni/);

      await page.goBack();
      await page.waitForURL((u) => !u.searchParams.has('from'));
      await expectRows(page, [ids.a, ids.c, ids.e], 'back: the date filter is gone');

      // Sort by manager, then the other way round.
      await page.getByTestId('sort-manager').click();
      await page.waitForURL((u) => u.searchParams.get('sort') === 'manager');
      await expectRows(page, [ids.e, ids.c, ids.a], 'by manager (A–Z), then oldest first');
      await page.getByTestId('sort-manager').click();
      await page.waitForURL((u) => u.searchParams.get('order') === 'desc');
      await expectRows(page, [ids.a, ids.c, ids.e]);

      // A shared link with a custom range reproduces the view.
      const from = localDate(startOfLocalDay(today, TZ) - 3 * DAY + 12 * HOUR, TZ);
      const to = localDate(startOfLocalDay(today, TZ) - 12 * HOUR, TZ);
      await page.goto(`${base}?from=${from}&to=${to}`);
      await expectRows(page, [ids.b, ids.c], 'a custom range');
      // Status "all" shows the new and open dialogs too.
      await page.goto(`${base}?status=all&from=${today}&to=${today}`);
      await expectRows(page, [ids.fresh, ids.open, ids.a]);
      // Search, debounced, into the URL.
      await page.goto(base);
      await page.getByTestId('filter-q').fill('Wiśniewski');
      await page.waitForURL((u) => u.searchParams.get('q') === 'Wiśniewski');
      await expectRows(page, [ids.c]);
      await page.getByTestId('filter-q').fill('zzzz-nothing');
      await page.getByTestId('log-empty').waitFor();
      await ctx.close();
    });

    test('a row opens the history modal; Esc closes it and focus returns; ?dialog= reopens it', async () => {
      const { ctx, page } = await open();
      await page.goto(base);
      await expectRows(page, [ids.a, ids.b, ids.c, ids.d, ids.e]);

      // Keyboard: the row's link, Enter.
      await page.locator(`[data-dialog-id="${ids.a}"] [data-row-link]`).focus();
      await page.keyboard.press('Enter');
      const modal = page.getByRole('dialog');
      await modal.getByRole('heading', { name: `Dialog #${ids.a}` }).waitFor();
      await page.waitForURL((u) => u.searchParams.get('dialog') === String(ids.a));
      const history = modal.getByTestId('history-messages');
      // Text is text: the markup shows literally and makes no element.
      await history.getByText('Dzień dobry, <b>ile kosztuje</b> rower?').waitFor();
      assert.equal(await history.locator('b').count(), 0);
      const link = history.getByRole('link', { name: 'https://example.com/oferta?x=1' });
      assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
      assert.equal(await link.getAttribute('target'), '_blank');
      assert.equal(await history.getByRole('link').count(), 1, 'javascript: is not a link');
      const reply = history.locator('li', { hasText: 'Zapraszamy' });
      assert.match(await reply.innerText(), /Marek Nowak[\s\S]*Przeczytano/i);
      assert.match(await modal.getByTestId('history-details').innerText(), /utm_campaign\s*wiosna/);
      assert.deepEqual(await seriousA11yViolations(page), [], 'axe: the modal');

      await page.keyboard.press('Escape');
      await modal.waitFor({ state: 'hidden' });
      assert.equal(new URL(page.url()).searchParams.has('dialog'), false);
      await page.locator(`[data-dialog-id="${ids.a}"] [data-row-link]:focus`).waitFor();

      // The arrow keys move between the rows.
      await page.keyboard.press('ArrowDown');
      await page.locator(`[data-dialog-id="${ids.b}"] [data-row-link]:focus`).waitFor();

      // A click on the row (not the link) opens it too; the back button closes it.
      await page.locator(`[data-dialog-id="${ids.b}"] .dz-c-created`).click();
      await modal.getByRole('heading', { name: `Dialog #${ids.b}` }).waitFor();
      await page.goBack();
      await modal.waitFor({ state: 'hidden' });

      // A link with ?dialog= opens it straight away; the long history pages.
      await page.goto(`${base}?dialog=${ids.e}`);
      await modal.getByRole('heading', { name: `Dialog #${ids.e}` }).waitFor();
      await modal.getByText('Wiadomości: 100 z 130').waitFor();
      await modal.getByTestId('history-more').click();
      await modal.getByText('Wiadomości: 130 z 130').waitFor();
      const failed = modal.locator('li', { hasText: eFailedText });
      assert.match(await failed.innerText(), /Nie wysłano[\s\S]*Bot was blocked by the user/i);
      // Printing shows the modal's content only.
      await page.emulateMedia({ media: 'print' });
      assert.equal(await page.locator('#root').isVisible(), false, 'the app is not printed');
      assert.equal(await modal.getByText('Wiadomość numer 1', { exact: true }).isVisible(), true);
      assert.equal(await modal.getByTestId('history-print').isVisible(), false);
      await page.emulateMedia({ media: 'screen' });
      await modal.getByRole('button', { name: 'Zamknij' }).click();
      await modal.waitFor({ state: 'hidden' });
      assert.equal(new URL(page.url()).searchParams.has('dialog'), false);
      await ctx.close();
    });

    test('export: the CSV downloaded through the page holds exactly the filtered dialogs', async () => {
      const { ctx, page } = await open();
      await page.goto(`${base}?managerId=${marek.id}`);
      await expectRows(page, [ids.a, ids.c, ids.e]);
      const shown = await shownIds(page);

      await page.getByTestId('export-button').click();
      await page.getByTestId('delimiter-comma').check();
      const [dialogsFile] = await Promise.all([
        page.waitForEvent('download'),
        page.getByTestId('export-dialogs').click(),
      ]);
      const dialogsCsv = fs.readFileSync((await dialogsFile.path())!, 'utf8');
      assert.ok(dialogsCsv.startsWith('\uFEFF'), 'UTF-8 with BOM');
      const dialogs = parse(dialogsCsv, { bom: true, columns: true, delimiter: ',' }) as Record<string, string>[];
      assert.deepEqual(
        dialogs.map((r) => Number(r.id)),
        shown,
        'the rows of the export are the rows shown',
      );

      await page.getByTestId('delimiter-semicolon').check();
      const [messagesFile] = await Promise.all([
        page.waitForEvent('download'),
        page.getByTestId('export-messages').click(),
      ]);
      const messages = parse(fs.readFileSync((await messagesFile.path())!, 'utf8'), {
        bom: true,
        columns: true,
        delimiter: ';',
      }) as Record<string, string>[];
      assert.deepEqual(
        [...new Set(messages.map((r) => Number(r.dialog_id)))].sort((x, y) => x - y),
        [...shown].sort((x, y) => x - y),
      );
      assert.equal(messages.length, 3 + 1 + 130);
      await ctx.close();
    });

    test('in English for an English browser; the user menu switches to Polish', async () => {
      const { ctx, page } = await open({ locale: 'en-US' });
      await page.goto(base);
      await page.getByRole('heading', { name: 'Message log' }).waitFor();
      await page.getByRole('columnheader', { name: 'Answered last' }).waitFor();
      await page.getByText('Total: 5').waitFor();
      await page.getByTestId('user-menu').click();
      await page.getByTestId('lang-pl').click();
      await page.getByRole('heading', { name: 'Dziennik wiadomości' }).waitFor();
      await page.getByRole('columnheader', { name: 'Ostatnia odpowiedź' }).waitFor();
      await page.getByTestId('user-menu').click();
      await page.getByTestId('lang-uk').click();
      await page.getByRole('heading', { name: 'Журнал повідомлень' }).waitFor();
      await page.getByRole('columnheader', { name: 'Відповідальний' }).waitFor();
      await ctx.close();
    });

    test('on a phone: cards, filters behind a button, the modal full screen', async () => {
      const { ctx, page } = await open({ viewport: { width: 390, height: 844 } });
      await page.goto(base);
      await expectRows(page, [ids.a, ids.b, ids.c, ids.d, ids.e]);
      const list = page.getByRole('list', { name: 'Dziennik wiadomości' });
      assert.equal(await list.getByRole('listitem').count(), 5);
      const overflow = await page.locator('html').evaluate((html) => html.scrollWidth - html.clientWidth);
      assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
      assert.deepEqual(await seriousA11yViolations(page), [], 'axe: the log on a phone');

      await page.getByRole('button', { name: 'Filtry' }).click();
      await page.getByTestId('filter-managers').waitFor();
      await page.getByRole('button', { name: 'Filtry' }).click();

      await list.getByRole('link', { name: /Olena Szewczenko/ }).click();
      const modal = page.getByRole('dialog');
      await modal.getByRole('heading', { name: `Dialog #${ids.b}` }).waitFor();
      await modal.getByText('Привіт').waitFor();
      const box = await modal.boundingBox();
      assert.ok(box && box.width >= 389, 'full screen');
      await page.keyboard.press('Escape');
      await modal.waitFor({ state: 'hidden' });
      await ctx.close();
    });

    // Last: it changes what the log shows.
    test('live: a dialog closed elsewhere appears at the top without a reload', async () => {
      const { ctx, page } = await open();
      await page.goto(base);
      await expectRows(page, [ids.a, ids.b, ids.c, ids.d, ids.e]);
      await page.getByTestId('live-indicator').getByText('live').waitFor();
      const res = await fetch(`${api}/dialogs/${ids.open}/close`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'Załatwione' }),
      });
      assert.equal(res.status, 200);
      await expectRows(page, [ids.open, ids.a, ids.b, ids.c, ids.d, ids.e], 'the WebSocket event refreshed the list');
      await ctx.close();
    });
  });
});
