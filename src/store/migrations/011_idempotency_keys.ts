import type { Dialect } from '../types.js';

/**
 * `Idempotency-Key` on the API's sending requests (reply, start a dialog): the key is written in the
 * same transaction as the message it created, so a client that retries a request whose answer it
 * never got (a timeout, a dropped connection, a server killed after its commit) gets that message
 * back instead of sending it twice. Keys are scoped to the project and the caller (`token:<id>`,
 * `user:<id>`) and kept for 24 hours (services/idempotency.ts).
 */
export function idempotencyKeys(_d: Dialect): string[] {
  return [
    `CREATE TABLE idempotency_keys (
      project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
      principal TEXT NOT NULL,
      idempotency_key TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      dialog_id BIGINT NOT NULL,
      message_id BIGINT NOT NULL,
      dialog_created INTEGER NOT NULL,
      created_at BIGINT NOT NULL,
      PRIMARY KEY (project_id, principal, idempotency_key)
    )`,
    'CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)',
  ];
}
