import type { AppContext } from './context.js';

/**
 * The scheduling both queue workers share (outbox-worker.ts, webhook-worker.ts): run rounds until one
 * finds nothing, then wait `pollMs`; a `kick()` during a round runs another right after it instead of
 * a second loop in parallel. `round` answers how many rows it handled.
 */
export class RoundLoop {
  readonly #round: () => Promise<number>;
  readonly #pollMs: number;
  readonly #onError: (e: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(round: () => Promise<number>, opts: { pollMs: number; onError: (e: unknown) => void }) {
    this.#round = round;
    this.#pollMs = opts.pollMs;
    this.#onError = opts.onError;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.kick();
  }

  /** Looks for due rows now (or right after the round in progress). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.kick();
      } else {
        this.#timer = setTimeout(() => this.kick(), this.#pollMs);
        this.#timer.unref();
      }
    });
  }

  /** Stops scheduling and waits for the round in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #loop(): Promise<void> {
    try {
      // A full round may have unblocked the next row of each dialog: go again until nothing is due.
      while (!this.#stopped && (await this.#round()) > 0) {}
    } catch (e) {
      this.#onError(e);
    }
  }
}

/**
 * Every pending row's claim released (a lease table: `outbox`, `webhook_deliveries`): due now. Only
 * for a store no other process writes; answers how many.
 */
export async function releaseClaims(
  db: AppContext['store']['db'],
  table: 'outbox' | 'webhook_deliveries',
): Promise<number> {
  const res = await db
    .updateTable(table)
    .set({ locked_by: null, locked_until: null })
    .where('status', '=', 'pending')
    .where('locked_by', 'is not', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}
