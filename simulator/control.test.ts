import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from './server.js';
import { call, type Receiver, startReceiver } from './test-receiver.js';

let sim: Simulator;
let hook: Receiver;

before(async () => {
  sim = await startSimulator({ control: true });
  hook = await startReceiver();
});

after(async () => {
  await sim.close();
  await hook.close();
});

test('the HTTP control API drives the same simulator as the programmatic one', async () => {
  const created = await call(`${sim.urls.control}/telegram/bots`, { token: '77:demo', username: 'demo_bot' });
  assert.equal(created.status, 201);
  await call(`${sim.urls.telegram}/bot77:demo/setWebhook`, { url: hook.url });
  const d = await call(`${sim.urls.control}/telegram/bots/77:demo/messages`, {
    userId: 9,
    firstName: 'Ala',
    text: 'hej',
  });
  assert.equal(d.json.ok, true);
  assert.equal(hook.received.length, 1);
  await call(`${sim.urls.telegram}/bot77:demo/sendMessage`, { chat_id: 9, text: 'Dzień dobry' });
  const sent = await call(`${sim.urls.control}/telegram/bots/77:demo/sent`);
  assert.deepEqual(
    (sent.json as unknown as { text: string }[]).map((s) => s.text),
    ['Dzień dobry'],
  );
  const summary = await call(sim.urls.control);
  assert.deepEqual(summary.json.smpp, sim.smpp);
  const bad = await call(`${sim.urls.control}/telegram/bots/nope/sent`);
  assert.equal(bad.status, 400);
});
