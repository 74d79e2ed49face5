import type { DomainEvent, EventBus } from './bus.js';

/**
 * Fans domain events out to the WebSocket clients of each project (SPEC §7 "Realtime"), applying
 * the visibility rule of SPEC §1 per client: admins and supervisors get every dialog's events; a
 * manager only those of dialogs without a manager and of dialogs they are or were responsible for
 * (the same rule as the log's SQL); a manager token only unassigned ones. Payloads carry ids only;
 * the client loads what it shows through the API, which applies the rule again.
 *
 * A client that cannot keep up (its send buffer over `maxBufferedBytes`) is dropped with close
 * code 4000 "resync": it reconnects and refetches instead of holding the server's memory.
 */

export interface HubClient {
  projectId: number;
  /** null: sees every dialog (admin, supervisor); a user id: a manager; -1: a manager token. */
  managerId: number | null;
  send(data: string): void;
  bufferedAmount(): number;
  close(code: number, reason: string): void;
}

/** Who may see a dialog's events: its manager and everyone who ever was (dialog_managers). */
export type DialogAudience = (
  projectId: number,
  dialogId: number,
) => Promise<{ unassigned: boolean; managers: number[] }>;

export type WireEvent =
  | { type: 'dialog.created' | 'dialog.updated'; dialogId: number }
  | { type: 'message.created' | 'message.status'; dialogId: number; messageId: number };

const RESYNC = JSON.stringify({ type: 'resync' });

export class Hub {
  readonly #projects = new Map<number, Set<HubClient>>();
  readonly #audience: DialogAudience;
  readonly #maxBuffered: number;
  readonly #unsubscribe: () => void;
  readonly #onError: (e: unknown) => void;
  readonly #queues = new Map<number, Promise<void>>();

  constructor(
    bus: EventBus,
    audience: DialogAudience,
    opts: { maxBufferedBytes?: number; onError?: (e: unknown) => void } = {},
  ) {
    this.#audience = audience;
    this.#maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
    this.#onError = opts.onError ?? (() => {});
    this.#unsubscribe = bus.subscribe((e) => {
      if (e.type === 'bus.resync') {
        void this.#deliver(e).catch(this.#onError);
        return;
      }
      // One project's events go out in the order published: a manager's audience look-up (awaited)
      // must not let a later event overtake an earlier one. Projects do not wait for each other.
      const projectId = e.projectId;
      const next = (this.#queues.get(projectId) ?? Promise.resolve()).then(() => this.#deliver(e)).catch(this.#onError);
      this.#queues.set(projectId, next);
      void next.then(() => {
        if (this.#queues.get(projectId) === next) this.#queues.delete(projectId);
      });
    });
  }

  add(client: HubClient): () => void {
    let set = this.#projects.get(client.projectId);
    if (!set) {
      set = new Set();
      this.#projects.set(client.projectId, set);
    }
    set.add(client);
    return () => {
      set.delete(client);
      if (set.size === 0) this.#projects.delete(client.projectId);
    };
  }

  get size(): number {
    let n = 0;
    for (const s of this.#projects.values()) n += s.size;
    return n;
  }

  /** Closes every client with a reconnect hint (shutdown). */
  closeAll(code = 1012, reason = 'restarting'): void {
    for (const set of this.#projects.values()) for (const c of set) c.close(code, reason);
    this.#projects.clear();
  }

  stop(): void {
    this.#unsubscribe();
  }

  async #deliver(e: DomainEvent): Promise<void> {
    if (e.type === 'bus.resync') {
      // Events may have been missed (realtime/pg-bus.ts): every client refetches.
      for (const clients of this.#projects.values()) for (const c of [...clients]) this.#send(clients, c, RESYNC);
      return;
    }
    const wire = toWire(e);
    if (!wire) return;
    const clients = this.#projects.get(e.projectId);
    if (!clients || clients.size === 0) return;
    const data = JSON.stringify(wire);
    let audience: { unassigned: boolean; managers: number[] } | 'unknown' | undefined;
    for (const c of [...clients]) {
      if (c.managerId !== null) {
        if (audience === undefined) {
          try {
            audience = await this.#audience(e.projectId, wire.dialogId);
          } catch (err) {
            // The store failed: who may see the event is unknown, so the managers are not told what
            // happened, only that something did — they refetch through the API, which applies the rule.
            this.#onError(err);
            audience = 'unknown';
          }
        }
        if (audience === 'unknown') {
          this.#send(clients, c, RESYNC);
          continue;
        }
        if (!audience.unassigned && !audience.managers.includes(c.managerId)) continue;
      }
      this.#send(clients, c, data);
    }
  }

  #send(clients: Set<HubClient>, c: HubClient, data: string): void {
    if (c.bufferedAmount() > this.#maxBuffered) {
      // Dropped with a resync message: the frame goes out after what it has not read yet, then the
      // close (4000 "resync"); either tells the client to reconnect and refetch.
      clients.delete(c);
      c.send(RESYNC);
      c.close(4000, 'resync');
      return;
    }
    c.send(data);
  }
}

function toWire(e: DomainEvent): WireEvent | undefined {
  switch (e.type) {
    case 'dialog.created':
    case 'dialog.updated':
      return { type: e.type, dialogId: e.dialogId };
    case 'message.created':
    case 'message.status':
      return { type: e.type, dialogId: e.dialogId, messageId: e.messageId };
    default:
      // internal events (outbox and webhook wake-ups, channel and endpoint changes) never leave the server
      return undefined;
  }
}
