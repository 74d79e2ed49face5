import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import WebSocket from 'ws';
import { createProject, createToken, forEachStore, TEST_SECRET } from '../testing/harness.js';
import { cliEnv, exited, startServerProcess } from '../testing/server-process.js';

/**
 * Shutdown (issue 6 §3): a real `dziennik start` process holding an open WebSocket gets SIGTERM:
 * the socket is closed with 1012 ("service restart", the client reconnects to another node or to
 * the restarted one), a request in flight still gets its answer, and the process exits 0.
 */

forEachStore('SIGTERM shutdown', (env) => {
  test('SIGTERM: open WebSockets get 1012, in-flight requests finish, the process exits 0', async (t) => {
    const projectId = await createProject(env.ts.store, 'shutdown');
    const token = await createToken(env.ts.store, projectId, 'admin');
    const server = startServerProcess(
      cliEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        SECRET_KEY: TEST_SECRET,
        ...(env.kind === 'postgres' ? { DATABASE_URL: env.ts.location } : { DATA_DIR: env.ts.location }),
      }),
    );
    try {
      const port = await server.listening;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/projects/${projectId}/stream`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      await new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data) => {
          if ((JSON.parse(String(data)) as { type: string }).type === 'hello') resolve();
        });
      });
      // A request in flight when the signal arrives (routed, its body half sent) still gets its answer.
      const body = JSON.stringify({ email: 'nobody@example.test', password: 'not the password at all' });
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/auth/login',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      const answered = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
      });
      req.write(body.slice(0, 10));
      await new Promise((r) => setTimeout(r, 200));
      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      req.end(body.slice(10));
      assert.equal(await answered, 401, 'the in-flight login was answered');
      assert.deepEqual(await closed, { code: 1012, reason: 'restarting' });
      assert.equal(await exited(server.child), 0);
      t.diagnostic(`exited ${Date.now() - signalledAt} ms after SIGTERM`);
      // It stopped accepting: nothing listens on the port any more.
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
