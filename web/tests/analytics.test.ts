// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (the text as rendered), not the DOM property
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { localDate } from '../../src/core/time.js';
import { seedProject } from '../../src/services/seed.js';
import {
  browserUnavailable,
  closeBrowser,
  newContext,
  seriousA11yViolations,
  signIn,
  startWebServer,
} from '../../src/testing/browser.js';
import { createToken, createUser, forEachStore } from '../../src/testing/harness.js';

/**
 * The Analytics page in a real browser (issue 7 §1): the KPI cards show the API's totals for the
 * same period, a filter changes them (and the URL), the per-manager table and the chart are there,
 * and axe reports no serious violation.
 */

const skip = browserUnavailable();
const TZ = 'Europe/Warsaw';
const PROJECT = 9;

function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

async function kpi(page: Page, key: string): Promise<number> {
  const text = await page.locator(`[data-kpi=${key}] [data-value]`).innerText();
  return Number(text.replace(/\D/g, ''));
}

describe('analytics page', { skip }, () => {
  after(closeBrowser);

  forEachStore('analytics page', (env) => {
    let server: Awaited<ReturnType<typeof startWebServer>>;
    let api: string;
    let token: string;
    let supervisor: { email: string };
    const today = localDate(Date.now(), TZ);
    const period = `from=${addDays(today, -29)}&to=${today}`;

    before(async () => {
      const store = env.ts.store;
      await seedProject(store, { projectId: PROJECT, dialogs: 400, seed: 3, anchor: Date.now() });
      server = await startWebServer(store);
      api = `${server.url}/api/v1/projects/${PROJECT}/analytics`;
      token = await createToken(store, PROJECT, 'supervisor');
      supervisor = await createUser(store, PROJECT, 'supervisor', 'Sylwia Analityczna');
    });
    after(async () => {
      await server?.fastify.close();
    });

    async function totals(qs: string) {
      const res = await fetch(`${api}?${qs}&groupBy=manager`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      return (await res.json()) as { totals: Record<string, number>; managers: unknown[] };
    }

    test('the page shows the API totals, a filter changes them, axe is clean', async () => {
      const ctx = await newContext({ locale: 'en-GB' });
      try {
        const page = await signIn(ctx, server.url, supervisor.email);
        await page.goto(`${server.url}/p/${PROJECT}/analytics`);
        await page.getByRole('heading', { name: 'Handling analytics' }).waitFor();
        await page.locator('[data-kpi=total]').waitFor();
        const all = await totals(period);
        assert.ok(all.totals.total! > 0);
        for (const k of ['total', 'new', 'closed', 'closedWithoutReply', 'openIdle'])
          assert.equal(await kpi(page, k), all.totals[k], k);
        const rows = await page.locator('[data-testid=analytics-managers] tbody tr').count();
        assert.equal(rows, all.managers.length);
        assert.equal(await page.getByRole('img', { name: /New and closed dialogs/ }).count(), 1);
        assert.deepEqual(await seriousA11yViolations(page), []);

        // A filter: Telegram only.
        await page.getByLabel('Channel', { exact: true }).first().click();
        await page.getByRole('option', { name: 'telegram' }).click();
        await page.waitForURL(/channel=telegram/);
        const tg = await totals(`${period}&channel=telegram`);
        assert.ok(tg.totals.total! < all.totals.total!);
        const until = Date.now() + 10_000;
        while ((await kpi(page, 'total')) !== tg.totals.total && Date.now() < until) await page.waitForTimeout(50);
        for (const k of ['total', 'new', 'closed']) assert.equal(await kpi(page, k), tg.totals[k], `telegram ${k}`);

        // The export links carry the filters.
        const href = await page.getByRole('link', { name: 'Export table (CSV)' }).getAttribute('href');
        assert.match(href ?? '', /channel=telegram/);
        assert.match(href ?? '', /table=summary/);
      } finally {
        await ctx.close();
      }
    });
  });
});
