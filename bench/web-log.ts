/**
 * The Message log in a real browser (issue 4, performance): Debian's Chromium, driven by
 * playwright-core, against the real server (this process) with a seeded SQLite project.
 *
 *   1. First load: the JavaScript a signed-in user downloads to open /p/:id/log (gzip -6 sizes of
 *      every script fetched, cold cache, no service worker). Budget: 250 KB.
 *   2. Render: from the moment the first page of rows has arrived (Resource Timing `responseEnd` of
 *      the list request) to 50 rows in the DOM, and to the end of the next frame. Budget: 100 ms.
 *      Measured twice: on a page load (cold — the answer usually lands while the page is still
 *      laying out its first frame, so this includes waiting for that) and on a filter change in an
 *      open page (the rows' own rendering).
 *   3. Scroll: 10,000+ rows loaded by cursor, then scrolled programmatically every animation frame
 *      (steady and fling speeds), frame intervals from requestAnimationFrame and long tasks from the
 *      Long Tasks API. Budget: no dropped frames (an interval over 1.5 frames at 60 Hz counts as one).
 *
 *   npm run build:web && node --import tsx bench/web-log.ts
 *
 *   BENCH_WEB_DIALOGS=10050   dialogs seeded (all of them are loaded into the list)
 *   BENCH_WEB_RUNS=7          page loads for the render timing
 *   BENCH_DEBUG=1             print each page load's timings
 *
 * Headless Chromium draws in software and shares the machine's cores with the server; the numbers
 * are an upper bound of what a desktop browser does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import type { Page } from 'playwright-core';
import { seedProject } from '../src/services/seed.js';
import {
  browser,
  browserUnavailable,
  closeBrowser,
  newContext,
  signIn,
  startWebServer,
} from '../src/testing/browser.js';
import { createProject, createTestStore, createUser } from '../src/testing/harness.js';
import { fmt, fmtInt, machine, ROOT, stats } from './lib.js';

const DIALOGS = Number(process.env.BENCH_WEB_DIALOGS ?? 10_050);
const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 7);
const FRAME = 1000 / 60;
const log = (m: string) => process.stderr.write(`[bench:web-log] ${m}\n`);

/**
 * On an open page: changes the filters through the router (as the filter controls do), then times
 * the new first page's arrival (responseEnd) → 50 new rows in the DOM. The list keeps the previous
 * rows dimmed (aria-busy) meanwhile, so "new rows" is the first commit after aria-busy goes away.
 */
const FILTER_CHANGE = (search: string) => `
new Promise((resolve) => {
  const ends = [];
  const po = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) if (/\\/dialogs\\?/.test(e.name) && /limit=50(&|$)/.test(e.name)) ends.push(e.responseEnd);
  });
  po.observe({ type: 'resource' });
  let sawBusy = false;
  const scroller = () => document.querySelector('[data-testid=log-rows]');
  const mo = new MutationObserver(() => {
    const el = scroller();
    if (!el) return;
    if (el.hasAttribute('aria-busy')) { sawBusy = true; return; }
    if (sawBusy && el.querySelectorAll('[data-dialog-id]').length >= 50) {
      const inDom = performance.now();
      mo.disconnect();
      setTimeout(() => { po.disconnect(); resolve({ inDom, responseEnd: ends[ends.length - 1] ?? null }); }, 100);
    }
  });
  mo.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-busy'] });
  history.pushState({}, '', location.pathname + ${JSON.stringify(search)});
  dispatchEvent(new PopStateEvent('popstate'));
})
`;

/** Installed before the app's scripts: when the list's response ended, when 50 rows were in the DOM. */
const RENDER_PROBE = `
(() => {
  const b = (window.__bench = { responseEnd: null, inDom: null, framed: null });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // The list's first page (limit=50), not the change watcher's (limit=20) or the members.
      if (b.responseEnd === null && /\\/dialogs\\?/.test(e.name) && /limit=50(&|$)/.test(e.name)) b.responseEnd = e.responseEnd;
    }
  }).observe({ type: 'resource', buffered: true });
  const mo = new MutationObserver(() => {
    if (b.inDom !== null) return;
    if (document.querySelectorAll('[data-testid=log-rows] [data-dialog-id]').length >= 50) {
      b.inDom = performance.now();
      mo.disconnect();
      // After the next frame is produced: a task queued from its animation-frame callback.
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => { b.framed = performance.now(); };
        ch.port2.postMessage(0);
      });
    }
  });
  mo.observe(document, { subtree: true, childList: true });
})();
`;

interface ScrollResult {
  frames: number[];
  longTasks: number[];
  rowsPassed: number;
  ms: number;
  /** Main-thread time over the run, from the DevTools protocol (Performance.getMetrics), ms. */
  script: number;
  layout: number;
  style: number;
  task: number;
}

const METRICS = ['ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration', 'TaskDuration'] as const;
type Cdp = Awaited<ReturnType<ReturnType<Page['context']>['newCDPSession']>>;
async function mainThread(cdp: Cdp): Promise<Record<(typeof METRICS)[number], number>> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (n: string) => (metrics.find((x) => x.name === n)?.value ?? 0) * 1000;
  return Object.fromEntries(METRICS.map((n) => [n, get(n)])) as Record<(typeof METRICS)[number], number>;
}

/** Scrolls the log's scroller by `px` every animation frame, until the end or `maxFrames`. */
async function scrollRun(page: Page, px: number, maxFrames: number): Promise<ScrollResult> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const before = await mainThread(cdp);
  const r = (await page.evaluate(`
    new Promise((resolve) => {
      const el = document.querySelector('[data-testid=log-rows]');
      el.scrollTop = 0;
      const frames = [];
      const longTasks = [];
      const po = new PerformanceObserver((l) => { for (const e of l.getEntries()) longTasks.push(e.duration); });
      po.observe({ type: 'longtask' });
      let last = 0;
      const t0 = performance.now();
      const step = (t) => {
        frames.push(t - last);
        last = t;
        const before = el.scrollTop;
        el.scrollTop = before + ${px};
        const atEnd = el.scrollTop === before || el.scrollTop + el.clientHeight >= el.scrollHeight - 1;
        if (atEnd || frames.length >= ${maxFrames}) {
          // Let the long-task observer deliver the last entries.
          setTimeout(() => { po.disconnect(); resolve({ frames, longTasks, rowsPassed: Math.round(el.scrollTop / 52), ms: performance.now() - t0 }); }, 100);
        } else requestAnimationFrame(step);
      };
      requestAnimationFrame((t) => { last = t; requestAnimationFrame(step); });
    })
  `)) as ScrollResult;
  const after = await mainThread(cdp);
  await cdp.detach();
  return {
    ...r,
    script: after.ScriptDuration - before.ScriptDuration,
    layout: after.LayoutDuration - before.LayoutDuration,
    style: after.RecalcStyleDuration - before.RecalcStyleDuration,
    task: after.TaskDuration - before.TaskDuration,
  };
}

function frameSummary(r: ScrollResult) {
  const s = stats(r.frames);
  const dropped = r.frames.reduce((n, f) => n + Math.max(0, Math.round(f / FRAME) - 1), 0);
  return {
    frames: r.frames.length,
    rows: r.rowsPassed,
    p50: s.p50,
    p95: s.p95,
    p99: s.p99,
    max: s.max,
    over25ms: r.frames.filter((f) => f > FRAME * 1.5).length,
    dropped,
    longTasks: r.longTasks.length,
    longestTask: r.longTasks.length ? Math.max(...r.longTasks) : 0,
    perFrame: {
      script: r.script / r.frames.length,
      layout: r.layout / r.frames.length,
      style: r.style / r.frames.length,
      task: r.task / r.frames.length,
    },
  };
}

async function main() {
  const skip = browserUnavailable();
  if (skip) throw new Error(skip);
  if (!fs.existsSync(path.join(ROOT, 'web/dist/index.html'))) throw new Error('web/dist is missing: npm run build:web');

  const ts = await createTestStore('sqlite');
  const server = await startWebServer(ts.store);
  try {
    const projectId = await createProject(ts.store, 'Bench', 'Europe/Warsaw');
    const user = await createUser(ts.store, projectId, 'supervisor', 'Bench Supervisor');
    let t = performance.now();
    const seeded = await seedProject(ts.store, { projectId, dialogs: DIALOGS });
    log(
      `seeded ${fmtInt(seeded.dialogs)} dialogs, ${fmtInt(seeded.messages)} messages in ${fmt((performance.now() - t) / 1000, 1)} s`,
    );
    const logUrl = `${server.url}/p/${projectId}/log`;

    const signedIn = await (async () => {
      const ctx = await newContext();
      await signIn(ctx, server.url, user.email);
      const state = await ctx.storageState();
      await ctx.close();
      return state;
    })();
    const context = async (viewport: { width: number; height: number }) =>
      (await browser()).newContext({
        locale: 'pl-PL',
        timezoneId: 'Europe/Warsaw',
        viewport,
        storageState: signedIn,
        serviceWorkers: 'block',
      });

    // 1. First load: every script fetched to show the log.
    const ctx1 = await context({ width: 1400, height: 900 });
    const page1 = await ctx1.newPage();
    const scripts = new Map<string, Promise<Buffer>>();
    page1.on('response', (r) => {
      if (r.request().resourceType() === 'script') scripts.set(r.url(), r.body());
    });
    await page1.goto(logUrl);
    await page1.locator('[data-dialog-id]').first().waitFor();
    await page1.waitForLoadState('networkidle');
    const sizes = await Promise.all(
      [...scripts].map(async ([url, body]) => {
        const b = await body;
        return { file: new URL(url).pathname.replace('/assets/', ''), raw: b.length, gzip: zlib.gzipSync(b).length };
      }),
    );
    await ctx1.close();
    const jsGzip = sizes.reduce((n, s) => n + s.gzip, 0);
    const jsRaw = sizes.reduce((n, s) => n + s.raw, 0);

    // 2. Render: data arrived → 50 rows. A tall window, so that 50 rows are on screen.
    const inDom: number[] = [];
    const framed: number[] = [];
    const firstRows: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const ctx = await context({ width: 1400, height: 3000 });
      await ctx.addInitScript({ content: RENDER_PROBE });
      const page = await ctx.newPage();
      await page.goto(`${logUrl}?status=all`);
      // A function, not a string: the page's CSP forbids eval.
      await page.waitForFunction(() => {
        const b = (globalThis as unknown as { __bench: { framed: number | null; responseEnd: number | null } }).__bench;
        return b.framed !== null && b.responseEnd !== null;
      });
      const b = (await page.evaluate('window.__bench')) as { responseEnd: number; inDom: number; framed: number };
      inDom.push(b.inDom - b.responseEnd);
      if (process.env.BENCH_DEBUG)
        log(`load ${i}: response end ${fmt(b.responseEnd, 0)} ms, 50 rows ${fmt(b.inDom, 0)} ms`);
      framed.push(b.framed - b.responseEnd);
      firstRows.push(b.inDom);
      await ctx.close();
    }

    // 2b. The same on an open page: a filter change (no page load competing for the main thread).
    const warm: number[] = [];
    {
      const ctx = await context({ width: 1400, height: 3000 });
      const page = await ctx.newPage();
      await page.goto(`${logUrl}?status=open`);
      await page.locator('[data-dialog-id]').first().waitFor();
      for (const search of [
        '?status=all&order=asc',
        '?status=all',
        '?status=all&sort=manager',
        '?status=all&sort=manager&order=desc',
        '?order=asc',
        '?',
        '?sort=manager',
        '?sort=manager&order=desc',
      ]) {
        const r = (await page.evaluate(FILTER_CHANGE(search))) as { inDom: number; responseEnd: number | null };
        if (r.responseEnd !== null) warm.push(r.inDom - r.responseEnd);
      }
      await ctx.close();
    }

    // 3. Scroll through 10,000+ loaded rows.
    const ctx3 = await context({ width: 1400, height: 900 });
    const page = await ctx3.newPage();
    await page.goto(`${logUrl}?status=all`);
    await page.locator('[data-dialog-id]').first().waitFor();
    t = performance.now();
    const target = Math.min(DIALOGS, 10_000);
    let loaded = 0;
    for (let guard = 0; loaded < target && guard < 2000; guard++) {
      await page.evaluate(
        `(() => { const el = document.querySelector('[data-testid=log-rows]'); el.scrollTop = el.scrollHeight; })()`,
      );
      await page.waitForTimeout(30);
      loaded = Number(((await page.getByTestId('log-count').textContent()) ?? '').replace(/\D/g, ''));
    }
    const loadSeconds = (performance.now() - t) / 1000;
    log(`loaded ${fmtInt(loaded)} rows by cursor in ${fmt(loadSeconds, 1)} s`);
    await page.waitForTimeout(300);
    const steady = frameSummary(await scrollRun(page, 104, 900));
    const fling = frameSummary(await scrollRun(page, 2600, 100_000));
    const domNodes = Number(await page.evaluate(`document.querySelectorAll('*').length`));
    const heap = Number(await page.evaluate(`performance.memory ? performance.memory.usedJSHeapSize : NaN`));
    await ctx3.close();

    const m = machine();
    const out: string[] = [];
    out.push(`Message log in Chromium (headless, software rendering) — ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}`);
    out.push(
      `dataset: ${fmtInt(seeded.dialogs)} dialogs (SQLite); load average at the end: ${(await import('node:os'))
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    out.push('');
    out.push(
      `First load of the log page: JavaScript ${fmt(jsGzip / 1024, 1)} KB gzipped (${fmt(jsRaw / 1024, 0)} KB raw), budget 250 KB`,
    );
    for (const s of sizes.sort((a, b) => b.gzip - a.gzip))
      out.push(
        `  ${s.file.padEnd(34)} ${fmt(s.gzip / 1024, 1).padStart(7)} KB gz ${fmt(s.raw / 1024, 0).padStart(6)} KB`,
      );
    out.push('');
    const a = stats(inDom);
    const f = stats(framed);
    out.push(
      `Render, first page arrived → 50 rows, budget 100 ms; a page load (${RUNS} loads, cold: the page is still starting up):`,
    );
    out.push(`  in the DOM:          median ${fmt(a.p50, 1)} ms, max ${fmt(a.max, 1)} ms`);
    out.push(`  next frame produced: median ${fmt(f.p50, 1)} ms, max ${fmt(f.max, 1)} ms`);
    out.push(`  (navigation start → 50 rows in the DOM: median ${fmt(stats(firstRows).p50, 0)} ms)`);
    const w = stats(warm);
    out.push(
      `  filter change on an open page (${warm.length} changes), in the DOM: median ${fmt(w.p50, 1)} ms, max ${fmt(w.max, 1)} ms`,
    );
    out.push('');
    out.push(
      `Scrolling ${fmtInt(loaded)} loaded rows (${fmt(loadSeconds, 1)} s to load them by cursor; ${fmtInt(domNodes)} DOM elements at the end, JS heap ${fmt(heap / 2 ** 20, 1)} MiB):`,
    );
    for (const [name, r] of [
      ['steady, 104 px/frame (≈ 6,200 px/s)', steady],
      ['fling, 2,600 px/frame (≈ 156,000 px/s)', fling],
    ] as const) {
      out.push(
        `  ${name}: ${fmtInt(r.frames)} frames over ${fmtInt(r.rows)} rows; frame interval p50 ${fmt(r.p50, 1)} / p95 ${fmt(r.p95, 1)} / p99 ${fmt(r.p99, 1)} / max ${fmt(r.max, 1)} ms; ` +
          `dropped frames ${r.dropped} (${r.over25ms} intervals > 25 ms); long tasks ${r.longTasks}${r.longTasks ? ` (longest ${fmt(r.longestTask, 0)} ms)` : ''}`,
      );
      out.push(
        `    main thread per frame: script ${fmt(r.perFrame.script, 2)} ms, style ${fmt(r.perFrame.style, 2)} ms, layout ${fmt(r.perFrame.layout, 2)} ms, all tasks ${fmt(r.perFrame.task, 2)} ms`,
      );
    }
    console.log(out.join('\n'));
  } finally {
    await closeBrowser();
    await server.fastify.close();
    await ts.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
