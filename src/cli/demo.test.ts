import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { startSimulator } from '../../simulator/server.js';
import { loadConfig } from '../config.js';
import { type DemoHandle, type SimulatorModule, startDemo } from './demo.js';

/**
 * `dziennik demo` end to end, in-process: a client writes on the demo page, the dialog reaches the
 * app, a manager answers through the API, the outbox delivers the answer to the simulated platform
 * and the demo page shows it. Then a second start on the same data directory.
 *
 * The demo runs on SQLite (a temporary DATA_DIR) whether or not TEST_DATABASE_URL is set: what is
 * tested here is the composition of the CLI, the simulator and the channel set-up; the store
 * under it is tested on both databases by the store and service tests.
 */

// demo.ts loads the simulator at run time; this holds it to the shape demo.ts expects.
const _simulatorModule: SimulatorModule = { startSimulator };

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dziennik-demo-'));
const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
const running: DemoHandle[] = [];

after(async () => {
  for (const d of running) await d.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<{ demo: DemoHandle; printed: string }> {
  let printed = '';
  const demo = await startDemo(config, {
    dialogs: 20,
    simPort: 0,
    smppPort: 0,
    out: { write: (t: string) => (printed += t) },
  });
  running.push(demo);
  return { demo, printed };
}

async function request(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // HTML, JavaScript: the caller looks at text
  }
  return { status: res.status, text, body, headers: res.headers };
}

/** Polls until fn returns a value (the outbox and the webhooks are asynchronous). */
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A manager's browser: the session cookie and the CSRF token from POST /api/v1/auth/login. */
async function signIn(appUrl: string, email: string, password: string) {
  const res = await fetch(`${appUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  const headers = { cookie, 'x-csrf-token': csrfToken };
  return {
    get: (p: string) => request(`${appUrl}${p}`, { headers }),
    post: (p: string, body: unknown) =>
      request(`${appUrl}${p}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
  };
}

type Manager = Awaited<ReturnType<typeof signIn>>;
type DialogItem = { id: number; channel: string; status: string; client: { name: string } };
type PageMessage = { direction: 'in' | 'out'; text: string; state?: string };

function writeAsClient(demo: DemoHandle, body: Record<string, unknown>) {
  return request(`${demo.demoUrl}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function conversation(demo: DemoHandle, query: Record<string, string>): Promise<PageMessage[]> {
  const r = await request(`${demo.demoUrl}/conversation?${new URLSearchParams(query)}`);
  assert.equal(r.status, 200, r.text);
  return r.body.messages as PageMessage[];
}

async function findDialog(manager: Manager, projectId: number, q: string): Promise<DialogItem> {
  return until(`the dialog of ${q}`, async () => {
    const r = await manager.get(
      `/api/v1/projects/${projectId}/dialogs?status=all&channel=telegram&q=${encodeURIComponent(q)}`,
    );
    assert.equal(r.status, 200, r.text);
    return (r.body.items as DialogItem[])[0];
  });
}

async function answerAndSee(demo: DemoHandle, manager: Manager, dialogId: number, client: string, text: string) {
  const reply = await manager.post(`/api/v1/projects/${demo.projectId}/dialogs/${dialogId}/reply`, { text });
  assert.ok(reply.status >= 200 && reply.status < 300, reply.text);
  return until(`"${text}" on the demo page`, async () => {
    const messages = await conversation(demo, { platform: 'telegram', name: client });
    return messages.some((m) => m.direction === 'out' && m.text === text) ? messages : undefined;
  });
}

/** Where the simulator says each platform delivers: the app's webhook routes of the demo's channels. */
async function webhooks(demo: DemoHandle) {
  const summary = await request(demo.demoUrl.replace(/\/demo$/, ''));
  const first = (k: string) => (summary.body[k] as { webhook: string | null }[])[0]?.webhook;
  return { telegram: first('telegram'), viber: first('viber'), messenger: first('messenger') };
}

const CLIENT = 'Zenobia Testowa';
let password = '';
let firstChannels: DemoHandle['channels'];
let firstDialogId = 0;

test('demo: a Telegram client writes on the demo page, a manager answers in the app, the page shows the answer', async () => {
  const { demo, printed } = await start();
  assert.ok(demo.login.password, 'the first run creates the demo account');
  password = demo.login.password!;
  firstChannels = demo.channels;
  assert.match(printed, new RegExp(`${demo.appUrl.replace(/[.:/]/g, '\\$&')}`));
  assert.ok(printed.includes(demo.demoUrl), 'the demo page URL is printed');
  assert.ok(printed.includes(`${demo.login.email} / ${password}`), 'the login is printed once');

  // The page and its script, served by the simulator.
  const page = await request(demo.demoUrl);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.ok(page.text.includes('<script src="/_sim/demo.js"'));
  const script = await request(`${demo.demoUrl}.js`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type') ?? '', /javascript/);

  // Every channel was created through the service, so the webhooks are registered at the simulator.
  assert.deepEqual(await webhooks(demo), {
    telegram: `${demo.appUrl}/webhooks/telegram/${demo.channels.telegram}`,
    viber: `${demo.appUrl}/webhooks/viber/${demo.channels.viber}`,
    messenger: `${demo.appUrl}/webhooks/messenger/${demo.channels.messenger}`,
  });

  const written = await writeAsClient(demo, {
    platform: 'telegram',
    name: CLIENT,
    text: 'Dzień dobry, czy macie rower górski w rozmiarze M?',
  });
  assert.equal(written.status, 201, written.text);
  assert.equal((written.body.message as PageMessage).state, 'delivered');

  const manager = await signIn(demo.appUrl, demo.login.email, password);
  const dialog = await findDialog(manager, demo.projectId, CLIENT);
  assert.equal(dialog.client.name, CLIENT);
  assert.equal(dialog.channel, 'telegram');
  firstDialogId = dialog.id;

  const messages = await answerAndSee(demo, manager, dialog.id, CLIENT, 'Tak, mamy — zapraszamy do sklepu!');
  assert.deepEqual(
    messages.map((m) => [m.direction, m.text]),
    [
      ['in', 'Dzień dobry, czy macie rower górski w rozmiarze M?'],
      ['out', 'Tak, mamy — zapraszamy do sklepu!'],
    ],
  );

  // The SMS channel and its two numbers, one of them outbound-only (R6).
  const numbers = await manager.get(`/api/v1/projects/${demo.projectId}/numbers?channelId=${demo.channels.sms}`);
  assert.equal(numbers.status, 200, numbers.text);
  assert.deepEqual(
    (numbers.body.items as { e164: string; outboundOnly: boolean }[]).map((n) => [n.e164, n.outboundOnly]).sort(),
    [
      ['+48223071000', false],
      ['+48799100200', true],
    ],
  );

  // Bad input on the page's endpoints is refused with a reason, and only JSON is taken.
  const noName = await writeAsClient(demo, { platform: 'telegram', name: ' ', text: 'x' });
  assert.equal(noName.status, 400);
  const form = await request(`${demo.demoUrl}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({ platform: 'telegram', name: CLIENT, text: 'x' }),
  });
  assert.equal(form.status, 415);

  await demo.close();
});

test('demo: a second start on the same data directory keeps the project and works again', async () => {
  assert.ok(password, 'runs after the first test');
  const { demo, printed } = await start();
  assert.equal(demo.login.password, null, 'the password is not made again');
  assert.ok(!printed.includes(password), 'nor printed again');
  assert.ok(printed.includes('using the existing demo project'));
  assert.deepEqual(demo.channels, firstChannels, 'the same channels, none added');

  // The new simulator knows the bots again, and the webhooks were registered again.
  assert.deepEqual(await webhooks(demo), {
    telegram: `${demo.appUrl}/webhooks/telegram/${demo.channels.telegram}`,
    viber: `${demo.appUrl}/webhooks/viber/${demo.channels.viber}`,
    messenger: `${demo.appUrl}/webhooks/messenger/${demo.channels.messenger}`,
  });

  const manager = await signIn(demo.appUrl, demo.login.email, password);
  const written = await writeAsClient(demo, { platform: 'telegram', name: CLIENT, text: 'A jaka cena?' });
  assert.equal(written.status, 201, written.text);
  assert.equal((written.body.message as PageMessage).state, 'delivered');
  // The dialog is still open: the client's next message joins it.
  const dialog = await findDialog(manager, demo.projectId, CLIENT);
  assert.equal(dialog.id, firstDialogId);
  const messages = await answerAndSee(demo, manager, dialog.id, CLIENT, '2 499 zł.');
  assert.deepEqual(
    messages.map((m) => m.text),
    ['A jaka cena?', '2 499 zł.'],
  );
  await demo.close();
});
