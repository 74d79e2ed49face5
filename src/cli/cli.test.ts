import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { DomainEvent } from '../realtime/bus.js';
import { PgNotifyBus } from '../realtime/pg-bus.js';
import { buildApp } from '../http/app.js';
import { buildTestApp, createProject, createToken, forEachStore, testConfig } from '../testing/harness.js';
import { BIN, cliEnv, exited, ROOT, startServerProcess as startServer } from '../testing/server-process.js';

/** The `dziennik` command as an operator runs it: a real process, its exit code and its output. */

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>, input?: string, timeoutMs = 30_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dziennik ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dziennik-cli-'));
}

forEachStore('dziennik create-admin and token create', (env) => {
  let vars: Record<string, string>;
  let secretDir: string;

  before(() => {
    secretDir = tempDir();
    vars =
      env.kind === 'sqlite'
        ? cliEnv({ DATA_DIR: env.ts.location })
        : cliEnv({ DATABASE_URL: env.ts.location, DATA_DIR: secretDir });
  });
  after(() => {
    fs.rmSync(secretDir, { recursive: true, force: true });
  });

  test('create-admin refuses a short password and creates nothing', async () => {
    const r = await runCli(['create-admin', '--email', 'short@example.test', '--project', 'Firma'], vars, 'short\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /password/i);
    assert.match(r.stderr, /10 characters/);
    const users = await env.ts.store.db.selectFrom('users').select('id').execute();
    assert.equal(users.length, 0);
  });

  test('create-admin reads the password from stdin; the admin signs in; token create prints a working token once', async () => {
    const password = 'Zażółć gęślą jaźń 2026';
    const r = await runCli(
      ['create-admin', '--email', 'Szef@Example.test', '--project', 'Hurtownia Kowalski', '--name', 'Jan Szef'],
      vars,
      `${password}\n`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'the password is never echoed');
    const m = /\(id (\d+)\)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const projectId = Number(m[1]);

    const { fastify: app } = await buildTestApp(env.ts.store);
    try {
      const login = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'szef@example.test', password },
      });
      assert.equal(login.statusCode, 200, login.body);
      const me = login.json() as { user: { name: string }; projects: { id: number; role: string; name: string }[] };
      assert.equal(me.user.name, 'Jan Szef');
      assert.deepEqual(me.projects, [
        { id: projectId, name: 'Hurtownia Kowalski', role: 'admin', timeZone: 'Europe/Warsaw', language: 'pl' },
      ]);
      // The trailing newline from stdin is not part of the password; nothing else is stripped.
      const wrong = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'szef@example.test', password: `${password}\n` },
      });
      assert.equal(wrong.statusCode, 401);

      const t = await runCli(
        ['token', 'create', '--project', String(projectId), '--role', 'supervisor', '--name', 'CRM'],
        vars,
      );
      assert.equal(t.code, 0, t.stderr);
      const lines = t.stdout.trim().split('\n');
      assert.equal(lines.length, 1, `stdout is the token alone: ${t.stdout}`);
      const token = lines[0]!;
      assert.match(token, new RegExp(`^dz_${projectId}_[A-Za-z0-9_-]{40,}$`));
      assert.match(t.stderr, /only this once/);
      const stored = await env.ts.store.db.selectFrom('api_tokens').selectAll().execute();
      assert.ok(!JSON.stringify(stored).includes(token.split('_').slice(2).join('_')), 'stored hashed');

      const asToken = await app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(asToken.statusCode, 200, asToken.body);
      assert.deepEqual((asToken.json() as { token: { projectId: number; role: string } }).token.role, 'supervisor');
      const log = await app.inject({
        method: 'GET',
        url: `/api/v1/projects/${projectId}/dialogs`,
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(log.statusCode, 200, log.body);
      // A supervisor token is not an admin.
      const audit = await app.inject({
        method: 'GET',
        url: `/api/v1/projects/${projectId}/audit`,
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(audit.statusCode, 403);
    } finally {
      await app.close();
    }
  });

  test('token list shows a table without secrets; token revoke makes the token answer 401 (and tells the nodes)', async () => {
    const store = env.ts.store;
    const projectId = await createProject(store, 'Tokeny CLI');
    const otherProjectId = await createProject(store, 'Cudzy projekt');
    const foreign = await createToken(store, otherProjectId, 'admin');
    const foreignId = (
      await store.db
        .selectFrom('api_tokens')
        .select('id')
        .where('project_id', '=', otherProjectId)
        .executeTakeFirstOrThrow()
    ).id;
    const made = await runCli(
      ['token', 'create', '--project', String(projectId), '--role', 'manager', '--name', 'Sklep WWW'],
      vars,
    );
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    const id = Number(/token (\d+) /.exec(made.stderr)?.[1]);
    assert.ok(id > 0, made.stderr);

    const listed = await runCli(['token', 'list', '--project', String(projectId)], vars);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+ROLE\s+NAME\s+CREATED\s+LAST USED\s+REVOKED\s+CREATED BY$/);
    assert.equal(lines.length, 2, listed.stdout);
    assert.match(
      lines[1]!,
      new RegExp(`^${id}\\s+manager\\s+Sklep WWW\\s+\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}Z\\s+-\\s+-\\s+-$`),
    );
    assert.ok(!listed.stdout.includes(token.split('_')[2]!), 'the list never shows a token');

    // A node as `dziennik start` runs it: on PostgreSQL with the LISTEN/NOTIFY bus, so the command's
    // revoke reaches it as `tokens.changed`.
    const seen: DomainEvent[] = [];
    const bus =
      env.kind === 'postgres'
        ? new PgNotifyBus({ connectionString: env.ts.location, pool: store.pgPool!, applicationName: 'cli-test' })
        : undefined;
    await bus?.start();
    bus?.subscribe((e) => seen.push(e));
    const { fastify: app } = await buildApp({ config: testConfig(), store, bus, logger: false });
    try {
      const dialogs = () =>
        app.inject({
          method: 'GET',
          url: `/api/v1/projects/${projectId}/dialogs`,
          headers: { authorization: `Bearer ${token}` },
        });
      assert.equal((await dialogs()).statusCode, 200);
      const revoked = await runCli(['token', 'revoke', '--project', String(projectId), '--id', String(id)], vars);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, new RegExp(`token ${id} of project ${projectId} is revoked`));
      if (bus) {
        const until = Date.now() + 5000;
        while (!seen.some((e) => e.type === 'tokens.changed' && e.projectId === projectId)) {
          assert.ok(Date.now() < until, 'tokens.changed from the command reaches a listening node');
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal((await dialogs()).statusCode, 401, 'refused as soon as the event arrived');
      } else {
        // SQLite: no event crosses processes; a server's cached lookup of the token lasts a few
        // seconds at most (accounts.ts TOKEN_TTL_MS), then the token is refused.
        const until = Date.now() + 10_000;
        while ((await dialogs()).statusCode !== 401) {
          assert.ok(Date.now() < until, 'the revoked token is refused within the lookup cache TTL');
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      await app.close();
      await bus?.close();
    }
    const again = await runCli(['token', 'list', '--project', String(projectId)], vars);
    // Created, last used and revoked are filled in; nobody created it (the command line).
    assert.match(again.stdout.trimEnd().split('\n')[1]!, /(\d{4}-\d{2}-\d{2} \d{2}:\d{2}Z\s+){3}-$/);
    const audit = await store.db
      .selectFrom('audit_log')
      .select(['action', 'actor_type', 'actor_name', 'target_id'])
      .where('project_id', '=', projectId)
      .execute();
    assert.deepEqual(audit, [
      { action: 'token.revoke', actor_type: 'system', actor_name: 'cli', target_id: String(id) },
    ]);

    // Another project's token, an unknown id, a missing --id: refused, nothing revoked.
    const [other, unknown, noId, noProject] = await Promise.all([
      runCli(['token', 'revoke', '--project', String(projectId), '--id', String(foreignId)], vars),
      runCli(['token', 'revoke', '--project', String(projectId), '--id', '987654'], vars),
      runCli(['token', 'revoke', '--project', String(projectId)], vars),
      runCli(['token', 'list', '--project', '99999'], vars),
    ]);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /API token not found/);
    assert.equal(unknown.stderr, other.stderr, 'a foreign token looks like a missing one');
    assert.notEqual(noId.code, 0);
    assert.match(noId.stderr, /--id/);
    assert.notEqual(noProject.code, 0);
    assert.match(noProject.stderr, /Project 99999 not found/);
    const f = await store.db
      .selectFrom('api_tokens')
      .select('revoked_at')
      .where('project_id', '=', otherProjectId)
      .executeTakeFirstOrThrow();
    assert.equal(f.revoked_at, null);
    assert.ok(foreign.startsWith(`dz_${otherProjectId}_`));
  });

  test('token create refuses a bad role and an unknown project', async () => {
    const [badRole, noProject] = await Promise.all([
      runCli(['token', 'create', '--project', '1', '--role', 'owner', '--name', 'x'], vars),
      runCli(['token', 'create', '--project', '99999', '--role', 'admin', '--name', 'x'], vars),
    ]);
    assert.notEqual(badRole.code, 0);
    assert.match(badRole.stderr, /--role/);
    assert.notEqual(noProject.code, 0);
    assert.match(noProject.stderr, /project 99999 does not exist/);
    assert.equal(noProject.stdout, '');
  });
});

test('a bad variable stops the command with a message naming it', async () => {
  const dir = tempDir();
  try {
    const [r, two] = await Promise.all([
      runCli(['start'], cliEnv({ DATA_DIR: dir, PORT: 'abc' })),
      runCli(['start'], cliEnv({ DATA_DIR: dir, PORT: '70000', LOG_LEVEL: 'loud' })),
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /PORT/);
    // Every bad variable is named at once, not one per attempt.
    assert.notEqual(two.code, 0);
    assert.match(two.stderr, /PORT/);
    assert.match(two.stderr, /LOG_LEVEL/);
    assert.ok(!fs.existsSync(path.join(dir, 'dziennik.db')), 'nothing was created');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a second `start` on the same DATA_DIR refuses with a clear message; the first keeps serving', async () => {
  const dir = tempDir();
  const env = cliEnv({ DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
  const first = startServer(env);
  try {
    const port = await first.listening;
    // A second server would keep running: give it a bounded time to refuse.
    const second = await runCli(['start'], env, undefined, 15_000);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /already using the data directory/);
    assert.ok(second.stderr.includes(fs.realpathSync(dir)) || second.stderr.includes(dir), second.stderr);
    assert.ok(!/\n\s+at /.test(second.stderr), `a message, not a stack trace:\n${second.stderr}`);

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
  } finally {
    first.child.kill('SIGTERM');
  }
  assert.equal(await exited(first.child), 0, 'SIGTERM shuts down cleanly');

  // The lock went with the process: the directory can be served again.
  const again = startServer(env);
  try {
    await again.listening;
  } finally {
    again.child.kill('SIGTERM');
    await exited(again.child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
