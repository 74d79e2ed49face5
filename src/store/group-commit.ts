import { sql, type Transaction } from 'kysely';
import type { Store } from './open.js';
import type { Database } from './types.js';

/**
 * Group commit for the embedded store. SQLite commits one transaction at a time, and with
 * `synchronous = FULL` each COMMIT waits for the WAL's fsync — about 70% of the time a webhook held
 * the (synchronous) driver in bench:inbound. Units of work that arrive together (webhooks from many
 * connections) therefore share one transaction: each runs inside its own SAVEPOINT, so a unit that
 * fails is rolled back alone and its caller gets its error; the others commit together, and every
 * caller's promise settles only after that COMMIT (a webhook is still acknowledged only once its
 * message is durable). A batch takes what queued while the previous one ran, at most MAX_BATCH.
 *
 * On PostgreSQL each unit is an ordinary transaction: there a transaction holds one of many pooled
 * connections, and the server already shares WAL flushes between concurrent commits.
 */

const MAX_BATCH = 64;

type Trx = Transaction<Database>;

interface Unit {
  fn: (trx: Trx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Queue {
  pending: Unit[];
  running: boolean;
}

const queues = new WeakMap<Store, Queue>();

/** Runs `fn` in a transaction, on SQLite possibly shared with other units (see above). */
export function groupTransaction<T>(store: Store, fn: (trx: Trx) => Promise<T>): Promise<T> {
  if (store.dialect !== 'sqlite') return store.db.transaction().execute(fn);
  let q = queues.get(store);
  if (!q) {
    q = { pending: [], running: false };
    queues.set(store, q);
  }
  const queue = q;
  return new Promise<T>((resolve, reject) => {
    queue.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
    if (!queue.running) {
      queue.running = true;
      // After the I/O callbacks of this turn: the requests parsed in it join the same batch.
      setImmediate(() => void drain(store, queue));
    }
  });
}

async function drain(store: Store, queue: Queue): Promise<void> {
  try {
    while (queue.pending.length > 0) {
      const batch = queue.pending.splice(0, MAX_BATCH);
      await runBatch(store, batch);
    }
  } finally {
    queue.running = false;
  }
}

async function runBatch(store: Store, batch: Unit[]): Promise<void> {
  if (batch.length === 1) {
    // Alone: no savepoint needed.
    const [u] = batch as [Unit];
    try {
      u.resolve(await store.db.transaction().execute(u.fn));
    } catch (err) {
      u.reject(err);
    }
    return;
  }
  const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
  try {
    await store.db.transaction().execute(async (trx) => {
      for (const u of batch) {
        await sql`SAVEPOINT dz_unit`.execute(trx);
        try {
          const value = await u.fn(trx);
          await sql`RELEASE dz_unit`.execute(trx);
          results.push({ ok: true, value });
        } catch (error) {
          await sql`ROLLBACK TO dz_unit`.execute(trx);
          await sql`RELEASE dz_unit`.execute(trx);
          results.push({ ok: false, error });
        }
      }
    });
  } catch (err) {
    // The COMMIT (or a rollback to a savepoint) failed: nothing of the batch is stored.
    for (const u of batch) u.reject(err);
    return;
  }
  batch.forEach((u, i) => {
    const r = results[i]!;
    if (r.ok) u.resolve(r.value);
    else u.reject(r.error);
  });
}
