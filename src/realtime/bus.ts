/**
 * Domain events flow out of the services through this port. Payloads carry ids only (PostgreSQL
 * NOTIFY keeps payloads under 8,000 bytes; listeners load what they need). The in-process bus
 * serves one node (SQLite); the LISTEN/NOTIFY adapter for several nodes implements the same port.
 */
export type DomainEvent =
  | { type: 'dialog.created' | 'dialog.updated'; projectId: number; dialogId: number }
  | { type: 'message.created' | 'message.status'; projectId: number; dialogId: number; messageId: number }
  /** Internal: outbox rows are due now (wakes the outbox workers; not sent to browsers). */
  | { type: 'outbox.pending'; projectId: number }
  /** Internal: a channel was created, changed or removed (long-lived SMPP sessions reconnect). */
  | { type: 'channel.changed'; projectId: number; channelId: number }
  /** Internal: webhook deliveries were written (wakes the webhook workers; not sent to browsers). */
  | { type: 'webhook.pending'; projectId: number }
  /** Internal: a project's webhook endpoints were created, changed, paused or removed (cache drop). */
  | { type: 'webhook.changed'; projectId: number }
  /** Internal: a project's API tokens or its name, zone or language changed (token lookups cached per node are dropped). */
  | { type: 'tokens.changed'; projectId: number }
  /** Internal: a member's role changed or a member was disabled or enabled (open streams re-check their access). */
  | { type: 'access.changed'; projectId: number }
  /**
   * Internal: events may have been missed (the LISTEN connection was lost and is back); consumers
   * refetch. The hub forwards it to every WebSocket client as `{ type: 'resync' }`.
   */
  | { type: 'bus.resync' };

export interface EventBus {
  /** Publish after the transaction that made the change has committed. */
  publish(event: DomainEvent): void;
  subscribe(listener: (event: DomainEvent) => void): () => void;
  close(): Promise<void>;
}

export class InProcessBus implements EventBus {
  private readonly listeners = new Set<(event: DomainEvent) => void>();

  publish(event: DomainEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a failing listener must not break the publisher or the other listeners
      }
    }
  }

  subscribe(listener: (event: DomainEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
