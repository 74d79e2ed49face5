import pg from 'pg';
import type { DomainEvent, EventBus } from './bus.js';

/**
 * The event bus of several nodes on one PostgreSQL (SPEC §5): `publish` sends a NOTIFY on
 * `dziennik_events`; every node, the publisher included, hands an event to its listeners only when
 * it comes back through its own LISTEN, so each node sees each event once and in the order of the
 * database. Payloads carry ids only (NOTIFY's limit is 8,000 bytes).
 *
 * LISTEN needs a connection of its own for as long as the node runs, so it is a dedicated client,
 * not one of the pool's. When that connection is lost the bus reconnects with backoff and jitter,
 * then emits `{ type: 'bus.resync' }`: whatever was published meanwhile is gone (NOTIFY is not
 * stored), so the consumers refetch — the browsers through the hub's `resync`, the outbox worker
 * by polling anyway.
 *
 * Publishing goes through the pool. Events published while a batch is in flight are sent together
 * in one statement (one transaction keeps their order); PostgreSQL folds identical payloads of
 * one transaction into one notification, which ids-only events can afford.
 */

export const PG_CHANNEL = 'dziennik_events';
export const MAX_PAYLOAD_BYTES = 8000;

export interface PgNotifyBusOptions {
  /** The LISTEN connection's settings (the same database as the pool). */
  connectionString: string;
  /** Publishes go through it. */
  pool: pg.Pool;
  onError?: (err: unknown, what: string) => void;
  /** Reconnect backoff: the first delay and the cap. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** The LISTEN connection's application_name (pg_stat_activity shows it). */
  applicationName?: string;
  /** How often the LISTEN connection is checked (a silently dropped TCP connection raises nothing). */
  heartbeatMs?: number;
  /** After a failed NOTIFY, how soon the resync it owes every node is tried again. */
  retryMs?: number;
}

const RESYNC_PAYLOAD = JSON.stringify({ type: 'bus.resync' });

export class PgNotifyBus implements EventBus {
  readonly #opts: Required<Omit<PgNotifyBusOptions, 'onError'>> & Pick<PgNotifyBusOptions, 'onError'>;
  readonly #listeners = new Set<(event: DomainEvent) => void>();
  #client: pg.Client | undefined;
  #closed = false;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #queue: string[] = [];
  #flushing: Promise<void> | undefined;
  /** Connections made so far: every one after the first is a reconnect (and a resync). */
  #connections = 0;
  /** A NOTIFY failed: every node must resync once one gets through again. */
  #lost = false;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(opts: PgNotifyBusOptions) {
    this.#opts = {
      minBackoffMs: 100,
      maxBackoffMs: 10_000,
      heartbeatMs: 15_000,
      retryMs: 1_000,
      applicationName: 'dziennik-listen',
      ...opts,
    };
  }

  /** Opens the LISTEN connection; rejects if the first attempt fails (start-up should fail loudly). */
  async start(): Promise<void> {
    await this.#connect();
  }

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  publish(event: DomainEvent): void {
    if (this.#closed) return;
    const payload = JSON.stringify(event);
    if (Buffer.byteLength(payload) >= MAX_PAYLOAD_BYTES) {
      throw new Error(`Event ${event.type} is ${Buffer.byteLength(payload)} bytes; NOTIFY takes under 8000 (ids only)`);
    }
    this.#queue.push(payload);
    if (!this.#flushing) this.#flushing = this.#flush();
  }

  subscribe(listener: (event: DomainEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends what is queued (one last try for what a failed NOTIFY still owes), then stops listening. */
  async close(): Promise<void> {
    await this.#flushing;
    if (this.#queue.length > 0 || this.#lost) {
      this.#flushing = this.#flush();
      await this.#flushing;
    }
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = undefined;
    this.#listeners.clear();
    if (client) await client.end().catch(() => {});
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0 || this.#lost) {
        const batch = this.#queue;
        this.#queue = [];
        // Events were lost by an earlier failure: every node's clients refetch, this first.
        const lost = this.#lost;
        if (lost) batch.unshift(RESYNC_PAYLOAD);
        try {
          // Named: each pooled connection parses and plans it once (it runs after every change).
          await this.#opts.pool.query({
            name: 'dz_notify',
            text: 'SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i',
            values: [PG_CHANNEL, batch],
          });
          this.#lost = false;
        } catch (err) {
          // The events are lost for every node, and another node's LISTEN may be up and never
          // notice. This node's clients refetch now; every node's once a NOTIFY gets through again
          // (retried every retryMs, or with the next event, whichever comes first).
          this.#opts.onError?.(err, 'publish');
          this.#lost = true;
          if (!lost) this.#deliver({ type: 'bus.resync' });
          this.#scheduleRetry();
          return;
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  #scheduleRetry(): void {
    if (this.#retryTimer || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed && !this.#flushing) this.#flushing = this.#flush();
    }, this.#opts.retryMs);
    this.#retryTimer.unref();
  }

  #deliver(event: DomainEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (err) {
        this.#opts.onError?.(err, 'listener');
      }
    }
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#opts.connectionString,
      application_name: this.#opts.applicationName,
      keepAlive: true,
    });
    let lost = false;
    const onLost = (err?: unknown) => {
      if (lost) return;
      lost = true;
      if (err) this.#opts.onError?.(err, 'listen connection lost');
      if (this.#client === client) this.#client = undefined;
      if (this.#heartbeat) clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
      client.end().catch(() => {});
      this.#scheduleReconnect();
    };
    client.on('notification', (msg) => {
      if (msg.channel !== PG_CHANNEL || !msg.payload) return;
      let event: DomainEvent;
      try {
        event = JSON.parse(msg.payload) as DomainEvent;
      } catch {
        return;
      }
      this.#deliver(event);
    });
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_CHANNEL}`);
    } catch (err) {
      lost = true;
      client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#attempt = 0;
    this.#heartbeat = setInterval(() => {
      client.query('SELECT 1').catch((err) => onLost(err));
    }, this.#opts.heartbeatMs);
    this.#heartbeat.unref();
    if (this.#connections++ > 0) this.#deliver({ type: 'bus.resync' });
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer) return;
    const { minBackoffMs, maxBackoffMs } = this.#opts;
    const delay = Math.min(maxBackoffMs, minBackoffMs * 2 ** this.#attempt) * (0.5 + Math.random() / 2);
    this.#attempt++;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect().catch((err) => {
        this.#opts.onError?.(err, 'listen reconnect');
        this.#scheduleReconnect();
      });
    }, delay);
    this.#reconnectTimer.unref();
  }
}
