import { randomUUID } from 'node:crypto';
import type { Logger } from './context.js';
import type { Store } from '../store/open.js';

/**
 * Who has the workspace open (SPEC §4.3 "round-robin among online managers"). A manager is online
 * in a project while at least one of their live connections (the project's WebSocket stream) is
 * open on some node. Each node keeps its own count per (project, user) and mirrors it into the
 * `presence` table: a row when the first connection opens, `seen_at` refreshed every
 * PRESENCE_HEARTBEAT_MS while any stays open, the row deleted when the last one closes or the node
 * stops. A node killed without stopping leaves rows that are no longer refreshed: a row counts only
 * while `seen_at` is younger than PRESENCE_TTL_MS, so its managers drop out within that time.
 * Works the same on both stores; with SQLite there is one node.
 */

export const PRESENCE_HEARTBEAT_MS = 20_000;
export const PRESENCE_TTL_MS = 60_000;

export class Presence {
  readonly nodeId = randomUUID();
  readonly #store: Store;
  readonly #clock: () => number;
  readonly #log: Pick<Logger, 'error'>;
  readonly #counts = new Map<string, { projectId: number; userId: number; n: number }>();
  #writes: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(store: Store, clock: () => number, log: Pick<Logger, 'error'>) {
    this.#store = store;
    this.#clock = clock;
    this.#log = log;
  }

  /** A manager's connection opened; the function returned is called when it closes. */
  enter(projectId: number, userId: number): () => void {
    const key = `${projectId}:${userId}`;
    const entry = this.#counts.get(key) ?? { projectId, userId, n: 0 };
    entry.n += 1;
    this.#counts.set(key, entry);
    if (entry.n === 1) this.#write(() => this.#upsert([entry]));
    this.#startTimer();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      entry.n -= 1;
      if (entry.n > 0) return;
      this.#counts.delete(key);
      this.#write(() =>
        this.#store.db
          .deleteFrom('presence')
          .where('project_id', '=', projectId)
          .where('user_id', '=', userId)
          .where('node_id', '=', this.nodeId)
          .execute()
          .then(() => undefined),
      );
    };
  }

  /** Refreshes this node's rows (and writes any that went missing), and forgets long-dead nodes' rows. */
  heartbeat(): Promise<void> {
    this.#write(async () => {
      await this.#upsert([...this.#counts.values()]);
      await this.#store.db
        .deleteFrom('presence')
        .where('seen_at', '<', this.#clock() - 10 * PRESENCE_TTL_MS)
        .execute();
    });
    return this.#writes;
  }

  /** Writes done so far (tests). */
  settled(): Promise<void> {
    return this.#writes;
  }

  /** Shutdown: this node's managers are no longer online here. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#counts.clear();
    this.#write(() =>
      this.#store.db
        .deleteFrom('presence')
        .where('node_id', '=', this.nodeId)
        .execute()
        .then(() => undefined),
    );
    await this.#writes;
  }

  #startTimer() {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.heartbeat(), PRESENCE_HEARTBEAT_MS);
    this.#timer.unref();
  }

  async #upsert(entries: { projectId: number; userId: number }[]): Promise<void> {
    if (entries.length === 0 || this.#stopped) return;
    const now = this.#clock();
    await this.#store.db
      .insertInto('presence')
      .values(entries.map((e) => ({ node_id: this.nodeId, project_id: e.projectId, user_id: e.userId, seen_at: now })))
      .onConflict((oc) => oc.columns(['project_id', 'user_id', 'node_id']).doUpdateSet({ seen_at: now }))
      .execute();
  }

  /** Writes run one after another, in the order of the events, so the table ends as the counts say. */
  #write(fn: () => Promise<void>) {
    this.#writes = this.#writes.then(fn).catch((err) => this.#log.error({ err }, 'presence write failed'));
  }
}
