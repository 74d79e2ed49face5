import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Hub, type HubClient } from '../../realtime/hub.js';
import { setStreamRecheckInterval } from './stream.js';
import { InProcessBus } from '../../realtime/bus.js';
import { insertDialog } from '../../testing/fixtures.js';
import {
  buildTestApp,
  createProject,
  createToken,
  createUser,
  forEachStore,
  TEST_PASSWORD,
} from '../../testing/harness.js';

/**
 * The realtime stream: who may open it, and who receives which dialog's events (SPEC §1 visibility,
 * the same rule as the log), over a real WebSocket.
 */

interface Conn {
  ws: WebSocket;
  events: { type: string; dialogId?: number; messageId?: number }[];
}

forEachStore('realtime stream', (env) => {
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  let base: string;
  let wsBase: string;
  let projectId: number;
  let otherProjectId: number;
  let admin: { id: number; email: string };
  let m1: { id: number; email: string };
  let m2: { id: number; email: string };
  const open: WebSocket[] = [];

  const login = async (email: string) => {
    const res = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: TEST_PASSWORD }),
    });
    assert.equal(res.status, 200);
    return String(res.headers.get('set-cookie')).split(';')[0]!;
  };

  /** Opens the stream; resolves once the server said hello, or rejects with the HTTP status. */
  const connect = (project: number, headers: Record<string, string>): Promise<Conn> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${wsBase}/api/v1/projects/${project}/stream`, { headers });
      open.push(ws);
      const conn: Conn = { ws, events: [] };
      ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.on('error', reject);
      ws.on('message', (data) => {
        const e = JSON.parse(String(data)) as Conn['events'][number];
        if (e.type === 'hello') resolve(conn);
        else conn.events.push(e);
      });
    });

  const settle = () => new Promise((r) => setTimeout(r, 150));

  before(async () => {
    app = await buildTestApp(env.ts.store);
    await app.fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.fastify.server.address() as { port: number };
    base = `http://127.0.0.1:${port}`;
    wsBase = `ws://127.0.0.1:${port}`;
    projectId = await createProject(env.ts.store, 'stream');
    otherProjectId = await createProject(env.ts.store, 'other');
    admin = await createUser(env.ts.store, projectId, 'admin', 'Admin');
    m1 = await createUser(env.ts.store, projectId, 'manager', 'Marek');
    m2 = await createUser(env.ts.store, projectId, 'manager', 'Monika');
  });
  after(async () => {
    for (const ws of open) ws.terminate();
    await app?.fastify.close();
  });

  test('no credentials → 401; a foreign project → 404; a session from another site → 403', async () => {
    await assert.rejects(connect(projectId, {}), /HTTP 401/);
    const cookie = await login(admin.email);
    await assert.rejects(connect(otherProjectId, { cookie, origin: base }), /HTTP 404/);
    await assert.rejects(connect(999_999, { cookie, origin: base }), /HTTP 404/);
    await assert.rejects(connect(projectId, { cookie, origin: 'https://evil.example' }), /HTTP 403/);
    await assert.rejects(connect(projectId, { cookie }), /HTTP 403/, 'no Origin: not a page of ours');
    const token = await createToken(env.ts.store, otherProjectId, 'admin');
    await assert.rejects(connect(projectId, { authorization: `Bearer ${token}` }), /HTTP 404/);
  });

  test('each client receives the events of the dialogs it may see, ids only; internal events never', async () => {
    const adminConn = await connect(projectId, { cookie: await login(admin.email), origin: base });
    const m1Conn = await connect(projectId, { cookie: await login(m1.email), origin: base });
    const m2Conn = await connect(projectId, { cookie: await login(m2.email), origin: base });
    const managerToken = await connect(projectId, {
      authorization: `Bearer ${await createToken(env.ts.store, projectId, 'manager')}`,
    });
    const supervisorToken = await connect(projectId, {
      authorization: `Bearer ${await createToken(env.ts.store, projectId, 'supervisor')}`,
    });
    const foreign = await connect(otherProjectId, {
      authorization: `Bearer ${await createToken(env.ts.store, otherProjectId, 'admin')}`,
    });

    const unassigned = await insertDialog(env.ts.store, {
      projectId,
      status: 'new',
      clientName: 'Nowy',
      createdAt: Date.now(),
    });
    const mine = await insertDialog(env.ts.store, {
      projectId,
      status: 'open',
      managerId: m1.id,
      clientName: 'M1',
      createdAt: Date.now(),
    });
    const bus = app.app.bus;
    bus.publish({ type: 'dialog.created', projectId, dialogId: unassigned.id });
    bus.publish({ type: 'message.created', projectId, dialogId: mine.id, messageId: 77 });
    bus.publish({ type: 'outbox.pending', projectId });
    bus.publish({ type: 'channel.changed', projectId, channelId: 1 });
    await settle();

    const all = [
      { type: 'dialog.created', dialogId: unassigned.id },
      { type: 'message.created', dialogId: mine.id, messageId: 77 },
    ];
    assert.deepEqual(adminConn.events, all);
    assert.deepEqual(supervisorToken.events, all);
    assert.deepEqual(m1Conn.events, all);
    assert.deepEqual(m2Conn.events, [all[0]], 'another manager’s dialog stays hidden');
    assert.deepEqual(managerToken.events, [all[0]], 'a manager token sees unassigned dialogs only');
    assert.deepEqual(foreign.events, [], 'no project sees another’s events');
  });

  test('a manager with the stream open is online (round-robin presence); tokens and admins never count', async () => {
    const m3 = await createUser(env.ts.store, projectId, 'manager', 'Maria');
    const online = () =>
      env.ts.store.db
        .selectFrom('presence')
        .select('user_id')
        .where('project_id', '=', projectId)
        .execute()
        .then((rows) => rows.map((r) => r.user_id));
    const before = await online();
    const a = await connect(projectId, { cookie: await login(m3.email), origin: base });
    const b = await connect(projectId, { cookie: await login(m3.email), origin: base });
    await connect(projectId, { authorization: `Bearer ${await createToken(env.ts.store, projectId, 'manager')}` });
    await connect(projectId, { cookie: await login(admin.email), origin: base });
    await settle();
    assert.deepEqual(
      (await online()).filter((id) => !before.includes(id)),
      [m3.id],
    );
    a.ws.close();
    await settle();
    assert.ok((await online()).includes(m3.id), 'one of her two tabs is still open');
    b.ws.close();
    await settle();
    assert.ok(!(await online()).includes(m3.id), 'her last tab closed');
  });

  /** Resolves with the close code and reason once the server closes the socket (fails after 5 s). */
  const closed = (c: Conn) =>
    new Promise<[number, string]>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the server did not close the stream within 5 s')), 5000);
      c.ws.once('close', (code, reason) => {
        clearTimeout(t);
        resolve([code, String(reason)]);
      });
    });

  test('access is re-checked while open: a revoked token, a disabled member, a new role, a sign-out', async () => {
    const adminToken = await createToken(env.ts.store, projectId, 'admin');
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${base}/api/v1/projects/${projectId}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });

    // A revoked token's stream is closed at once (tokens.changed), not at its next periodic check.
    const created = (await (await api('POST', '/tokens', { name: 'doomed', role: 'supervisor' })).json()) as {
      id: number;
      token: string;
    };
    const byToken = await connect(projectId, { authorization: `Bearer ${created.token}` });
    const tokenClosed = closed(byToken);
    assert.equal((await api('DELETE', `/tokens/${created.id}`)).status, 204);
    assert.deepEqual(await tokenClosed, [4401, 'unauthenticated']);

    // A member disabled in the project: closed at once (access.changed) with 4403.
    const m4 = await createUser(env.ts.store, projectId, 'manager', 'Marta');
    const m4Conn = await connect(projectId, { cookie: await login(m4.email), origin: base });
    const m4Closed = closed(m4Conn);
    assert.equal((await api('PATCH', `/users/${m4.id}`, { disabled: true })).status, 200);
    assert.deepEqual(await m4Closed, [4403, 'forbidden']);

    // Another role: the client reconnects (4000 "resync") and gets the new role's events.
    const m5 = await createUser(env.ts.store, projectId, 'manager', 'Mirek');
    const m5Conn = await connect(projectId, { cookie: await login(m5.email), origin: base });
    const m5Closed = closed(m5Conn);
    assert.equal((await api('PATCH', `/users/${m5.id}`, { role: 'supervisor' })).status, 200);
    assert.deepEqual(await m5Closed, [4000, 'resync']);

    // An unrelated change re-checks and keeps a stream whose access holds.
    const keeper = await connect(projectId, { cookie: await login(admin.email), origin: base });
    assert.equal((await api('PATCH', `/users/${m5.id}`, { role: 'manager' })).status, 200);
    await settle();
    assert.equal(keeper.ws.readyState, WebSocket.OPEN);

    // Signing out is noticed by the periodic check.
    setStreamRecheckInterval(100);
    try {
      const res = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: m2.email, password: TEST_PASSWORD }),
      });
      const cookie = String(res.headers.get('set-cookie')).split(';')[0]!;
      const { csrfToken } = (await res.json()) as { csrfToken: string };
      const m2Conn = await connect(projectId, { cookie, origin: base });
      await settle();
      assert.equal(m2Conn.ws.readyState, WebSocket.OPEN, 'a valid session stays open across checks');
      const m2Closed = closed(m2Conn);
      const out = await fetch(`${base}/api/v1/auth/logout`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrfToken },
      });
      assert.ok(out.status < 300, `logout ${out.status}`);
      assert.deepEqual(await m2Closed, [4401, 'unauthenticated']);
    } finally {
      setStreamRecheckInterval(60_000);
    }
  });

  test('a non-WebSocket GET gets 426', async () => {
    const res = await fetch(`${base}/api/v1/projects/${projectId}/stream`, {
      headers: { authorization: `Bearer ${await createToken(env.ts.store, projectId, 'admin')}` },
    });
    assert.equal(res.status, 426);
  });
});

test('a client that cannot keep up is dropped with 4000 "resync"; the others still get the event', async () => {
  const bus = new InProcessBus();
  const hub = new Hub(bus, async () => ({ unassigned: true, managers: [] }), { maxBufferedBytes: 10 });
  const fast: string[] = [];
  const closed: [number, string][] = [];
  const client = (buffered: number, sink: string[]): HubClient => ({
    projectId: 1,
    managerId: null,
    send: (d) => sink.push(d),
    bufferedAmount: () => buffered,
    close: (code, reason) => closed.push([code, reason]),
  });
  const slow: string[] = [];
  hub.add(client(0, fast));
  hub.add(client(1_000, slow));
  bus.publish({ type: 'dialog.updated', projectId: 1, dialogId: 5 });
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(fast, ['{"type":"dialog.updated","dialogId":5}']);
  assert.deepEqual(slow, ['{"type":"resync"}'], 'a resync message instead of the event');
  assert.deepEqual(closed, [[4000, 'resync']]);
  assert.equal(hub.size, 1);
  hub.stop();
});

test('the store failing to say who may see an event: managers get "resync" instead, supervisors the event', async () => {
  const bus = new InProcessBus();
  const errors: unknown[] = [];
  let fail = true;
  const hub = new Hub(
    bus,
    async () => {
      if (fail) throw new Error('the database is gone');
      return { unassigned: false, managers: [2] };
    },
    { onError: (e) => errors.push(e) },
  );
  const got = new Map<number | null, string[]>();
  for (const managerId of [null, 2, 3]) {
    const sink: string[] = [];
    got.set(managerId, sink);
    hub.add({ projectId: 1, managerId, send: (d) => sink.push(d), bufferedAmount: () => 0, close: () => {} });
  }
  bus.publish({ type: 'dialog.updated', projectId: 1, dialogId: 5 });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(errors.length, 1);
  assert.deepEqual(got.get(null), ['{"type":"dialog.updated","dialogId":5}']);
  assert.deepEqual(got.get(2), ['{"type":"resync"}']);
  assert.deepEqual(got.get(3), ['{"type":"resync"}'], 'told nothing about the dialog, only to refetch');
  fail = false;
  bus.publish({ type: 'dialog.updated', projectId: 1, dialogId: 5 });
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(got.get(2)?.at(-1), '{"type":"dialog.updated","dialogId":5}');
  assert.equal(got.get(3)?.length, 1, 'the rule applies again once the store answers');
  hub.stop();
});
