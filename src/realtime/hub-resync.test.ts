import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InProcessBus } from './bus.js';
import { Hub, type HubClient } from './hub.js';

/** `bus.resync` (the LISTEN connection came back, realtime/pg-bus.ts) reaches every client as `resync`. */

test('a bus resync is forwarded to every client of every project as { type: "resync" }', async () => {
  const bus = new InProcessBus();
  const hub = new Hub(bus, async () => ({ unassigned: false, managers: [] }));
  const got: Record<string, string[]> = {};
  const client = (name: string, projectId: number, managerId: number | null): HubClient => {
    got[name] = [];
    return {
      projectId,
      managerId,
      send: (data) => got[name]!.push(data),
      bufferedAmount: () => 0,
      close: () => {},
    };
  };
  hub.add(client('admin', 1, null));
  hub.add(client('manager', 1, 7));
  hub.add(client('other project', 2, null));
  bus.publish({ type: 'bus.resync' });
  await new Promise((r) => setImmediate(r));
  for (const name of Object.keys(got)) assert.deepEqual(got[name], ['{"type":"resync"}'], name);
  // Internal events other than resync still never reach browsers.
  bus.publish({ type: 'outbox.pending', projectId: 1 });
  await new Promise((r) => setImmediate(r));
  assert.equal(got.admin!.length, 1);
  hub.stop();
});

test("a project's events reach a manager in the order published, however long each audience look-up takes", async () => {
  const bus = new InProcessBus();
  // The first dialog's look-up is the slow one: without ordering, the second event would overtake it.
  const delays: Record<number, number> = { 1: 30, 2: 0, 3: 10 };
  const hub = new Hub(bus, async (_projectId, dialogId) => {
    await new Promise((r) => setTimeout(r, delays[dialogId] ?? 0));
    return { unassigned: true, managers: [] };
  });
  const got: string[] = [];
  hub.add({ projectId: 1, managerId: 7, send: (d) => got.push(d), bufferedAmount: () => 0, close: () => {} });
  bus.publish({ type: 'dialog.created', projectId: 1, dialogId: 1 });
  bus.publish({ type: 'message.created', projectId: 1, dialogId: 2, messageId: 5 });
  bus.publish({ type: 'dialog.updated', projectId: 1, dialogId: 3 });
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    got.map((d) => JSON.parse(d).dialogId),
    [1, 2, 3],
  );
  hub.stop();
});
