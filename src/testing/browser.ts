import fs from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildApp } from '../http/app.js';
import type { Store } from '../store/open.js';
import { TEST_PASSWORD, testConfig } from './harness.js';

/**
 * Browser tests: Debian's Chromium (never a downloaded browser) driven by playwright-core, against
 * the real server on a free port serving the built web app (web/dist; `npm test` builds it first).
 * Where Chromium is missing, browser tests are skipped with a reason, except under CI=true, where
 * that is a failure (.ci/run installs it).
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Why browser tests cannot run here, or undefined when they can. Throws under CI. */
export function browserUnavailable(): string | undefined {
  if (fs.existsSync(CHROMIUM)) return undefined;
  const reason = `Chromium not found at ${CHROMIUM} (apt-get install chromium)`;
  if (process.env.CI === 'true') throw new Error(reason);
  return reason;
}

let shared: Promise<Browser> | undefined;

/** One browser per test process (each test gets its own context: cookies, storage, locale). */
export function browser(): Promise<Browser> {
  shared ??= chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  return shared;
}

export async function closeBrowser(): Promise<void> {
  if (!shared) return;
  const b = await shared;
  shared = undefined;
  await b.close();
}

/** The real server with the web app, listening on a free port. */
export async function startWebServer(
  store: Store,
  opts: { clock?: () => number; config?: Record<string, string> } = {},
) {
  const app = await buildApp({
    config: testConfig(opts.config),
    store,
    logger: false,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  await app.fastify.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.fastify.server.address() as { port: number };
  return { ...app, url: `http://127.0.0.1:${port}` };
}

/** A fresh browser context in the given language (Polish by default, like a Polish browser). */
export async function newContext(opts: { locale?: string; viewport?: { width: number; height: number } } = {}) {
  const b = await browser();
  return b.newContext({
    locale: opts.locale ?? 'pl-PL',
    timezoneId: 'Europe/Warsaw',
    viewport: opts.viewport ?? { width: 1280, height: 800 },
  });
}

/** Signs in through the login form and waits for the app. */
export async function signIn(
  ctx: BrowserContext,
  baseUrl: string,
  email: string,
  password = TEST_PASSWORD,
): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(baseUrl);
  await page.locator('input[type=email]').fill(email);
  await page.locator('input[type=password]').fill(password);
  await page.locator('button[type=submit]').click();
  await page.waitForURL(/\/p\/\d+\//);
  return page;
}

/**
 * axe-core against the page as it is now; answers the serious and critical violations (the issue's
 * bar), each as "rule: target, ...". Injected through the DevTools protocol, so the page's CSP
 * (no inline scripts) stays on.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  // Colour contrast is measured on what is painted: a modal still fading in (a CSS transition, slower
  // on a loaded machine) blends its text with the page and fails it. Wait for transitions to end (the
  // infinite ones, spinners, are left alone).
  // Polled from here: the app's CSP forbids the eval that waitForFunction's in-page polling needs.
  const settled = `document.getAnimations().every((a) => a.playState !== 'running' || a.effect?.getComputedTiming().endTime === Infinity)`;
  for (let waited = 0; waited < 5000 && !(await page.evaluate(settled)); waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const { createRequire } = await import('node:module');
  const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
  await page.evaluate(fs.readFileSync(axePath, 'utf8'));
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(opts?: unknown): Promise<AxeResult> } }).axe;
    const r = await axe.run({ resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return result
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.targets.slice(0, 5).join(', ')}`);
}

interface AxeResult {
  violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[];
}
