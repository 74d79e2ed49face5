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
