import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { SESSION_TTL_MS } from '../services/accounts.js';
import { insertDialog } from '../testing/fixtures.js';
import {
  buildTestApp,
  createProject,
  createToken,
  createUser,
  forEachStore,
  TEST_PASSWORD,
  testConfig,
} from '../testing/harness.js';
import { buildApp } from './app.js';

type App = Awaited<ReturnType<typeof buildTestApp>>['fastify'];

/** The one error body of SPEC §7, with the request id echoed in the header. */
function assertError(res: LightMyRequestResponse, status: number, code: string) {
  assert.equal(res.statusCode, status, `expected ${status} ${code}, got ${res.statusCode} ${res.body}`);
  const body = res.json() as { error: { code: string; message: string; requestId: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.equal(typeof body.error.requestId, 'string');
  assert.equal(body.error.requestId, res.headers['x-request-id']);
  return body.error;
}

interface Cookie {
  name: string;
  value: string;
  attrs: Map<string, string | true>;
}

function parseSetCookie(res: LightMyRequestResponse): Cookie {
  const raw = res.headers['set-cookie'];
  const line = Array.isArray(raw) ? raw[0] : raw;
  assert.ok(line, 'a Set-Cookie header');
  const [pair, ...rest] = line.split(';').map((s) => s.trim());
  const eq = pair!.indexOf('=');
  const attrs = new Map<string, string | true>();
  for (const a of rest) {
    const i = a.indexOf('=');
    if (i < 0) attrs.set(a.toLowerCase(), true);
    else attrs.set(a.slice(0, i).toLowerCase(), a.slice(i + 1));
  }
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attrs };
}

async function login(app: App, email: string, password = TEST_PASSWORD, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, headers });
}

async function signIn(app: App, email: string) {
  const res = await login(app, email);
  assert.equal(res.statusCode, 200, res.body);
  const cookie = parseSetCookie(res);
  return { cookie: `${cookie.name}=${cookie.value}`, csrf: (res.json() as { csrfToken: string }).csrfToken };
}

forEachStore('http auth', (env) => {
  let now = Date.now();
  const clock = () => now;
  let app: App;
  let projectId: number;
  let admin: { id: number; email: string };
  let manager: { id: number; email: string };
  let dialogId: number;

  before(async () => {
    const store = env.ts.store;
    projectId = await createProject(store, 'Auth');
    admin = await createUser(store, projectId, 'admin', 'Ewa Admin');
    manager = await createUser(store, projectId, 'manager', 'Jan Kowalski');
    const d = await insertDialog(store, {
      projectId,
      status: 'open',
      managerId: manager.id,
      createdAt: now - 3600_000,
      clientName: 'Klient Testowy',
      messages: [{ direction: 'in', text: 'Dzień dobry', at: now - 3600_000 }],
    });
    dialogId = d.id;
    app = (await buildTestApp(store, clock)).fastify;
  });
  after(async () => {
    await app?.close();
  });

  const dialogRow = () =>
    env.ts.store.db
      .selectFrom('dialogs')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', dialogId)
      .executeTakeFirstOrThrow();
  const auditCount = async () =>
    (await env.ts.store.db.selectFrom('audit_log').select('id').where('project_id', '=', projectId).execute()).length;

  test('login sets an httpOnly, SameSite=Lax session cookie, not Secure on plain http', async () => {
    const res = await login(app, admin.email);
    assert.equal(res.statusCode, 200, res.body);
    const c = parseSetCookie(res);
    assert.equal(c.name, 'dz_session');
    assert.ok(c.value.length >= 40);
    assert.equal(c.attrs.get('httponly'), true);
    assert.equal(String(c.attrs.get('samesite')).toLowerCase(), 'lax');
    assert.equal(c.attrs.get('path'), '/');
    assert.equal(c.attrs.has('secure'), false);
    assert.ok(Number(c.attrs.get('max-age')) > 0);
    const body = res.json() as {
      user: { id: number; email: string };
      csrfToken: string;
      projects: { id: number; role: string }[];
    };
    assert.equal(body.user.id, admin.id);
    assert.ok(body.csrfToken.length >= 20);
    assert.deepEqual(
      body.projects.map((p) => [p.id, p.role]),
      [[projectId, 'admin']],
    );
    assert.ok(!res.body.includes(c.value), 'the session token is only in the cookie');
    assert.ok(!res.body.includes('password'), 'no password hash in the answer');
  });

  test('the cookie is Secure when PUBLIC_URL is https', async () => {
    const built = await buildApp({
      config: testConfig({ PUBLIC_URL: 'https://desk.example.com' }),
      store: env.ts.store,
      logger: false,
    });
    try {
      const res = await login(built.fastify, admin.email);
      assert.equal(res.statusCode, 200, res.body);
      const c = parseSetCookie(res);
      assert.equal(c.attrs.get('secure'), true);
      assert.equal(c.attrs.get('httponly'), true);
      assert.equal(String(c.attrs.get('samesite')).toLowerCase(), 'lax');
    } finally {
      await built.fastify.close();
    }
  });

  test('wrong password, unknown email and a disabled user get the same 401', async () => {
    const disabled = await createUser(env.ts.store, projectId, 'manager', 'Wyłączony');
    await env.ts.store.db.updateTable('users').set({ disabled: 1 }).where('id', '=', disabled.id).execute();
    const a = assertError(await login(app, manager.email, 'wrong password!'), 401, 'unauthenticated');
    const b = assertError(await login(app, 'nobody@example.test'), 401, 'unauthenticated');
    const c = assertError(await login(app, disabled.email), 401, 'unauthenticated');
    assert.equal(a.message, b.message);
    assert.equal(b.message, c.message);
  });

  test('a malformed login body is a 400 naming the field', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'x', password: '' } });
    assertError(res, 400, 'validation_failed');
    const fields = (res.json() as { error: { fields: { field: string }[] } }).error.fields.map((f) => f.field);
    assert.ok(fields.includes('body.email') && fields.includes('body.password'), JSON.stringify(fields));
  });

  test('/me works by cookie and by Bearer token, and not without either', async () => {
    const s = await signIn(app, manager.email);
    const byCookie = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: s.cookie } });
    assert.equal(byCookie.statusCode, 200, byCookie.body);
    const me = byCookie.json() as { user: { id: number }; csrfToken: string; projects: { id: number; role: string }[] };
    assert.equal(me.user.id, manager.id);
    assert.equal(me.csrfToken, s.csrf);
    assert.deepEqual(
      me.projects.map((p) => [p.id, p.role]),
      [[projectId, 'manager']],
    );

    const token = await createToken(env.ts.store, projectId, 'supervisor');
    const byToken = await app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(byToken.statusCode, 200, byToken.body);
    assert.deepEqual((byToken.json() as { token: { projectId: number; role: string } }).token.projectId, projectId);
    assert.equal((byToken.json() as { token: { role: string } }).token.role, 'supervisor');

    assertError(await app.inject({ method: 'GET', url: '/api/v1/me' }), 401, 'unauthenticated');
    assertError(
      await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: 'dz_session=forged-value' } }),
      401,
      'unauthenticated',
    );
    assertError(
      await app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: 'Bearer dz_1_not-a-real-token-at-all-000' },
      }),
      401,
      'unauthenticated',
    );
    assertError(
      await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Basic ${btoa('a:b')}` } }),
      401,
      'unauthenticated',
    );
  });

  test('cookie writes without or with a wrong X-CSRF-Token are refused and change nothing', async () => {
    const s = await signIn(app, manager.email);
    const before = await dialogRow();
    const audits = await auditCount();
    const url = `/api/v1/projects/${projectId}/dialogs/${dialogId}/close`;
    const attempts: Record<string, string>[] = [
      { cookie: s.cookie },
      { cookie: s.cookie, 'x-csrf-token': 'wrong' },
      { cookie: s.cookie, 'x-csrf-token': `${s.csrf.slice(0, -1)}${s.csrf.endsWith('A') ? 'B' : 'A'}` },
      { cookie: s.cookie, 'x-csrf-token': '' },
    ];
    for (const headers of attempts) {
      const res = await app.inject({ method: 'POST', url, headers, payload: { reason: 'csrf attempt' } });
      assertError(res, 403, 'csrf_failed');
    }
    // Another session's CSRF token does not fit this session.
    const other = await signIn(app, admin.email);
    assertError(
      await app.inject({ method: 'POST', url, headers: { cookie: s.cookie, 'x-csrf-token': other.csrf }, payload: {} }),
      403,
      'csrf_failed',
    );
    // Logging out is a write too: a cross-site request cannot sign the user out.
    assertError(
      await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: s.cookie } }),
      403,
      'csrf_failed',
    );
    assert.deepEqual(await dialogRow(), before);
    assert.equal(await auditCount(), audits);
    const still = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: s.cookie } });
    assert.equal(still.statusCode, 200);

    // With the right token the same request goes through.
    const ok = await app.inject({
      method: 'POST',
      url,
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      payload: { reason: 'done' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await dialogRow()).status, 'closed');
    assert.equal(await auditCount(), audits + 1);
  });

  test('Bearer writes need no CSRF token', async () => {
    const token = await createToken(env.ts.store, projectId, 'admin');
    const d = await insertDialog(env.ts.store, {
      projectId,
      status: 'closed',
      managerId: manager.id,
      createdAt: now - 7200_000,
      clientName: 'Zamknięty Klient',
    });
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/dialogs/${d.id}/reopen`,
      headers: { authorization: `Bearer ${token}` },
      payload: {},
    });
    assert.equal(res.statusCode, 200, res.body);
    const row = await env.ts.store.db
      .selectFrom('dialogs')
      .select('status')
      .where('id', '=', d.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, 'open');
  });

  test('logout ends the session and clears the cookie', async () => {
    const s = await signIn(app, manager.email);
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    });
    assert.equal(res.statusCode, 204, res.body);
    const c = parseSetCookie(res);
    assert.equal(c.name, 'dz_session');
    assert.equal(c.value, '');
    assert.equal(c.attrs.get('max-age'), '0');
    assertError(
      await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: s.cookie } }),
      401,
      'unauthenticated',
    );
    assertError(
      await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/dialogs`, headers: { cookie: s.cookie } }),
      401,
      'unauthenticated',
    );
  });

  test('a session ends after its lifetime without use', async () => {
    const s = await signIn(app, manager.email);
    now += SESSION_TTL_MS + 1;
    try {
      assertError(
        await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: s.cookie } }),
        401,
        'unauthenticated',
      );
    } finally {
      now -= SESSION_TTL_MS + 1;
    }
  });

  test('repeated failed logins for one email are rate limited with Retry-After; others still sign in', async () => {
    let t = Date.now();
    const limited = (await buildTestApp(env.ts.store, () => t)).fastify;
    try {
      for (let i = 0; i < 10; i++)
        assertError(await login(limited, manager.email, `wrong password ${i}`), 401, 'unauthenticated');
      // Locked now: even the right password is refused, before it is checked.
      const res = await login(limited, manager.email);
      assertError(res, 429, 'rate_limited');
      const retry = Number(res.headers['retry-after']);
      assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 15 * 60, `Retry-After ${res.headers['retry-after']}`);
      assert.equal(res.headers['set-cookie'], undefined);
      // The same address typed differently is the same account.
      assertError(await login(limited, ` ${manager.email.toUpperCase()}`), 429, 'rate_limited');
      // The lock is per email: another user is not locked out by someone guessing this one.
      assert.equal((await login(limited, admin.email)).statusCode, 200);
      // The window passes.
      t += 15 * 60_000 + 1000;
      assert.equal((await login(limited, manager.email)).statusCode, 200);
    } finally {
      await limited.close();
    }
  });

  test('many attempts from one address are rate limited, whatever X-Forwarded-For says', async () => {
    const limited = (await buildTestApp(env.ts.store)).fastify;
    try {
      let first429: LightMyRequestResponse | undefined;
      for (let i = 0; i < 60 && !first429; i++) {
        const res = await login(limited, `guess${i}@example.test`, 'whatever it is', {
          'x-forwarded-for': `10.0.0.${i}`,
        });
        if (res.statusCode === 429) first429 = res;
        else assertError(res, 401, 'unauthenticated');
      }
      assert.ok(first429, 'the per-address limit engaged within 60 failed attempts (limit 50)');
      assertError(first429, 429, 'rate_limited');
      assert.ok(Number(first429.headers['retry-after']) > 0);
      // Even a correct login from that address waits.
      assertError(await login(limited, admin.email), 429, 'rate_limited');
    } finally {
      await limited.close();
    }
  });

  test('behind a proxy (TRUST_PROXY=true) the client is the address the proxy appended, not what the client wrote', async () => {
    const proxied = (
      await buildApp({ config: testConfig({ TRUST_PROXY: 'true' }), store: env.ts.store, logger: false })
    ).fastify;
    try {
      // The proxy (the socket's peer) appends the address it saw; the client forges the entries before it.
      const from = (client: string, forged: string) => ({ 'x-forwarded-for': `${forged}, ${client}` });
      let first429: LightMyRequestResponse | undefined;
      for (let i = 0; i < 60 && !first429; i++) {
        const res = await login(
          proxied,
          `proxied${i}@example.test`,
          'whatever it is',
          from('203.0.113.7', `10.9.0.${i}`),
        );
        if (res.statusCode === 429) first429 = res;
        else assertError(res, 401, 'unauthenticated');
      }
      assert.ok(first429, 'the forged entries did not spread the attempts over 60 addresses');
      // Another client behind the same proxy is not locked out.
      assert.equal(
        (await login(proxied, admin.email, TEST_PASSWORD, from('203.0.113.8', '203.0.113.7'))).statusCode,
        200,
      );
    } finally {
      await proxied.close();
    }
  });

  test('TRUST_PROXY takes true/false, a number of proxies or their addresses; anything else is refused by name', () => {
    assert.equal(testConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
    assert.equal(testConfig({ TRUST_PROXY: '0' }).trustProxy, false);
    assert.equal(testConfig({ TRUST_PROXY: 'true' }).trustProxy, 1);
    assert.equal(testConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(testConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy, ['10.0.0.0/8', '127.0.0.1']);
    assert.throws(() => testConfig({ TRUST_PROXY: 'yes' }), /TRUST_PROXY/);
  });

  test('unknown routes and methods answer with the same error body', async () => {
    assertError(await app.inject({ method: 'GET', url: '/api/v1/nothing-here' }), 404, 'not_found');
    assertError(
      await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: '{bad json',
      }),
      400,
      'validation_failed',
    );
  });
});
