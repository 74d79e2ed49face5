// Shared plumbing of one simulator instance: timers that die with it, webhook delivery with
// retries, fault queues, request-body parsing and JSON that can carry 64-bit integers.
// Nothing here is module-global: every simulator owns its own Runtime.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

export class SimulatorClosedError extends Error {
  constructor() {
    super('simulator closed');
    this.name = 'SimulatorClosedError';
  }
}

/** How the simulator retries a webhook that did not answer 2xx (per platform, overridable). */
export interface RetryPolicy {
  /** total attempts, the first one included */
  attempts: number;
  /** delay before the second attempt; each later delay doubles */
  delayMs: number;
  /** per-attempt timeout */
  timeoutMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 3, delayMs: 50, timeoutMs: 5000 };

export interface WebhookRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: Buffer;
}

export interface WebhookAttempt {
  status: number;
  body: string;
  error?: string;
}

export interface WebhookResult {
  ok: boolean;
  /** status of the last attempt (0 when the connection failed) */
  status: number;
  /** body of the last answer */
  body: string;
  attempts: WebhookAttempt[];
}

/** Timers, sleeps and outgoing requests that all stop when the simulator closes. */
export class Runtime {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #abort = new AbortController();
  readonly #inflight = new Set<http.ClientRequest>();

  constructor(
    readonly now: () => number,
    readonly retry: RetryPolicy,
  ) {}

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Runs fn after ms unless the simulator closes first. */
  after(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  /** Runs fn every ms until the returned function is called or the simulator closes. */
  every(ms: number, fn: () => void): () => void {
    if (this.closed) return () => {};
    const t = setInterval(fn, ms);
    this.#timers.add(t);
    return () => {
      clearInterval(t);
      this.#timers.delete(t);
    };
  }

  /** Resolves after ms; rejects with SimulatorClosedError if the simulator closes meanwhile. */
  sleep(ms: number): Promise<void> {
    if (ms <= 0) return this.closed ? Promise.reject(new SimulatorClosedError()) : Promise.resolve();
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new SimulatorClosedError());
      const onAbort = () => {
        clearTimeout(t);
        this.#timers.delete(t);
        reject(new SimulatorClosedError());
      };
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#abort.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.#timers.add(t);
      this.#abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** One HTTP request to the app, exact bytes, no connection reuse (nothing left open on close). */
  request(req: WebhookRequest, timeoutMs = this.retry.timeoutMs): Promise<WebhookAttempt> {
    if (this.closed) return Promise.reject(new SimulatorClosedError());
    const url = new URL(req.url);
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const headers: Record<string, string | number> = { ...req.headers };
      if (req.body) headers['Content-Length'] = req.body.length;
      const r = lib.request(url, { method: req.method, headers, agent: false, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          this.#inflight.delete(r);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (e) => {
          this.#inflight.delete(r);
          resolve({ status: 0, body: '', error: e.message });
        });
      });
      this.#inflight.add(r);
      r.on('timeout', () => r.destroy(new Error(`timeout after ${timeoutMs} ms`)));
      r.on('error', (e) => {
        this.#inflight.delete(r);
        resolve({ status: 0, body: '', error: e.message });
      });
      r.end(req.body);
    });
  }

  /**
   * Delivers a webhook, retrying like the platforms do when the answer is not 2xx (Telegram:
   * "In case of an unsuccessful request, we will give up after a reasonable amount of attempts",
   * https://core.telegram.org/bots/api#setwebhook; Meta: failed deliveries are retried,
   * https://developers.facebook.com/docs/graph-api/webhooks/getting-started).
   */
  async deliver(req: WebhookRequest, policy: RetryPolicy = this.retry): Promise<WebhookResult> {
    const attempts: WebhookAttempt[] = [];
    let delay = policy.delayMs;
    for (let i = 0; i < Math.max(1, policy.attempts); i++) {
      if (i > 0) {
        await this.sleep(delay);
        delay *= 2;
      }
      const a = await this.request(req, policy.timeoutMs);
      attempts.push(a);
      if (a.status >= 200 && a.status < 300) return { ok: true, status: a.status, body: a.body, attempts };
    }
    const last = attempts[attempts.length - 1]!;
    return { ok: false, status: last.status, body: last.body, attempts };
  }

  close(): void {
    this.#abort.abort();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const r of this.#inflight) r.destroy();
    this.#inflight.clear();
  }
}

/** A queue of injected faults: each API call of a matching kind takes the next one. */
export class FaultQueue<F> {
  #items: { fault: F; left: number; match?: (method: string) => boolean }[] = [];
  #latencyMs = 0;

  push(fault: F, times = 1, match?: (method: string) => boolean): void {
    this.#items.push({ fault, left: times, match });
  }

  take(method: string): F | undefined {
    const i = this.#items.findIndex((x) => !x.match || x.match(method));
    if (i < 0) return undefined;
    const item = this.#items[i]!;
    item.left -= 1;
    if (item.left <= 0) this.#items.splice(i, 1);
    return item.fault;
  }

  set latencyMs(ms: number) {
    this.#latencyMs = Math.max(0, ms);
  }

  get latencyMs(): number {
    return this.#latencyMs;
  }

  clear(): void {
    this.#items = [];
    this.#latencyMs = 0;
  }
}

export function hmacSha256Hex(key: string, body: Buffer): string {
  return createHmac('sha256', key).update(body).digest('hex');
}

export function hmacSha1Hex(key: string, body: Buffer): string {
  return createHmac('sha1', key).update(body).digest('hex');
}

const BIG = '\u0001big:';

/**
 * JSON.stringify that writes bigint values as bare JSON integers. Viber's message_token is a
 * 64-bit integer sent as a JSON number (e.g. 4912661846655238145 in
 * https://developers.viber.com/docs/api/rest-bot-api/#callbacks), beyond Number's 2^53: an app
 * that JSON.parses it naively loses digits, and the simulator must expose that, not hide it.
 */
export function stringifyJson(value: unknown): string {
  const text = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${BIG}${v}` : v));
  return text.replace(/"\\u0001big:(-?\d+)"/g, '$1');
}

export type Params = Record<string, unknown>;

/**
 * Parses an API request the way the platforms accept them: JSON, form-urlencoded or the query
 * string (Telegram: "We support GET and POST HTTP methods. We support four ways of passing
 * parameters", https://core.telegram.org/bots/api#making-requests). Body fields override query.
 */
export function parseParams(
  contentType: string | undefined,
  raw: Buffer | undefined,
  query: Record<string, unknown>,
): { ok: true; params: Params } | { ok: false; error: string } {
  const params: Params = { ...query };
  if (!raw || raw.length === 0) return { ok: true, params };
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) params[k] = v;
    return { ok: true, params };
  }
  if (type === 'application/json' || type === '') {
    try {
      const body: unknown = JSON.parse(raw.toString('utf8'));
      if (body === null || typeof body !== 'object' || Array.isArray(body))
        return { ok: false, error: 'not an object' };
      return { ok: true, params: { ...params, ...(body as Params) } };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }
  return { ok: false, error: `unsupported content type ${type}` };
}

/** A form field that may hold JSON (Telegram reply_markup, Graph recipient/message in forms). */
export function jsonField(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  if (!s.startsWith('{') && !s.startsWith('[')) return v;
  try {
    return JSON.parse(s);
  } catch {
    return v;
  }
}

export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** What server.ts hands a platform module: the path after its prefix, parsed parameters. */
export interface ApiRequest {
  httpMethod: string;
  /** path segments after the platform prefix, URL-decoded */
  segments: string[];
  parsed: ReturnType<typeof parseParams>;
  headers: Record<string, string | string[] | undefined>;
}

export interface ApiResponse {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** One API call as the simulator saw it, kept for assertions. */
export interface ApiCall {
  method: string;
  params: Params;
  status: number;
  response: unknown;
  at: number;
}

/** The outcome of the simulator posting one event to the app's webhook. */
export interface Delivery<E> {
  event: E;
  /** true when no webhook was set: the event waits, like on the real platform */
  queued: boolean;
  ok: boolean;
  status: number;
  body: string;
  attempts: number;
}

export function json(status: number, value: unknown, headers?: Record<string, string>): ApiResponse {
  return { status, body: stringifyJson(value), headers };
}
