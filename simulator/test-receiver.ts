// A tiny webhook receiver for tests: a plain node:http server standing in for the app. It keeps
// every request with its exact body bytes and answers with whatever the test's handler says.
import http from 'node:http';

export interface Received {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Answer = { status: number; body?: string; headers?: Record<string, string> };
export type Handler = (req: Received) => Answer | Promise<Answer>;

export interface Receiver {
  url: string;
  received: Received[];
  setHandler(handler: Handler): void;
  /** resolves once at least n requests arrived (all of them, in order) */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(handler: Handler = () => ({ status: 200, body: '' })): Promise<Receiver> {
  let current = handler;
  const received: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const r: Received = {
        method: req.method ?? '',
        url: new URL(req.url ?? '/', 'http://receiver'),
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      received.push(r);
      for (const w of waiters.filter((x) => received.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const a = await current(r);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    setHandler(h) {
      current = h;
    },
    waitFor(n, timeoutMs = 5000) {
      if (received.length >= n) return Promise.resolve(received.slice());
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`receiver: ${received.length} of ${n} requests`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve(received.slice());
          },
        });
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** POSTs JSON (or GETs when body is undefined) and returns the status and the raw answer. */
export async function call(
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the test looks at text
  }
  return { status: res.status, text, json: parsed, headers: res.headers };
}
