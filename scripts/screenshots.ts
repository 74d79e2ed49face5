// Refreshes docs/screenshots/ (issue 4): the main pages over seeded data, at desktop and phone sizes,
// in Polish. `npm run screenshots` (builds the web app first). Uses Debian's Chromium like the tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdmin } from '../src/services/accounts.js';
import { makeAppContext } from '../src/services/context.js';
import { seedProject } from '../src/services/seed.js';
import { migrate } from '../src/store/migrate.js';
import { openStore } from '../src/store/open.js';
import { browser, closeBrowser, newContext, signIn, startWebServer } from '../src/testing/browser.js';
import { testConfig } from '../src/testing/harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'docs', 'screenshots');
const PASSWORD = 'screenshots-password-1';

async function main() {
  fs.mkdirSync(out, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dziennik-shots-'));
  const store = await openStore({ dataDir: dir });
  try {
    await migrate(store);
    const admin = await createAdmin(makeAppContext({ store, config: testConfig() }), {
      email: 'anna@sklep.example',
      projectName: 'Sklep Rowerowy',
      password: PASSWORD,
      name: 'Anna Kowalska',
    });
    await seedProject(store, { projectId: admin.projectId, dialogs: 400, seed: 7, anchor: Date.now() });
    const server = await startWebServer(store);
    try {
      await browser();
      const shots: [string, { width: number; height: number }, (url: string) => string, string?][] = [
        ['log', { width: 1440, height: 900 }, (u) => `${u}/p/${admin.projectId}/log`],
        ['log-modal', { width: 1440, height: 900 }, (u) => `${u}/p/${admin.projectId}/log`, 'modal'],
        ['workspace', { width: 1440, height: 900 }, (u) => `${u}/p/${admin.projectId}/workspace`, 'first-dialog'],
        ['admin', { width: 1440, height: 900 }, (u) => `${u}/p/${admin.projectId}/admin`],
        ['log-phone', { width: 390, height: 844 }, (u) => `${u}/p/${admin.projectId}/log`],
        ['workspace-phone', { width: 390, height: 844 }, (u) => `${u}/p/${admin.projectId}/workspace`],
      ];
      for (const [name, viewport, url, action] of shots) {
        const ctx = await newContext({ viewport });
        const page = await signIn(ctx, server.url, 'anna@sklep.example', PASSWORD);
        await page.goto(url(server.url));
        await page.waitForLoadState('networkidle');
        if (action === 'modal') {
          await page.locator('[data-testid=log-rows] [data-dialog-id]').first().click();
          await page.getByRole('dialog').waitFor();
          await page.waitForLoadState('networkidle');
        } else if (action === 'first-dialog') {
          const item = page.getByTestId('queue-item').first();
          if (await item.count()) {
            await item.click();
            await page.waitForLoadState('networkidle');
          }
        }
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(out, `${name}.png`) });
        await ctx.close();
        process.stderr.write(`docs/screenshots/${name}.png\n`);
      }
    } finally {
      await closeBrowser();
      await server.fastify.close();
    }
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
