import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import { ConflictError, invalid } from '../core/errors.js';
import type { Database } from '../store/types.js';
import type { AppContext, ProjectContext } from './context.js';

/**
 * `Idempotency-Key` on the requests that send a message (`POST .../dialogs/{id}/reply`,
 * `POST .../dialogs`). A client that did not get an answer — a timeout, a dropped connection, a
 * server killed right after its commit — repeats the request with the same key and gets the message
 * the first one created instead of a second message to the client.
 *
 * The key is written in the transaction that creates the message, so it exists exactly when the
 * message does (a crash before the commit leaves neither, and the retry sends it). Keys belong to the
 * project and the caller (an API token, or a signed-in user), last 24 hours, and bind the request:
 * the same key with another path or body is a 409 that names the header. Two requests racing with one
 * key: one commits; the other's insert of the key fails, its transaction (message included) rolls
 * back, and it answers with the winner's message.
 */

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyRequest {
  /** `token:<id>` or `user:<id>`: whose keys these are. */
  principal: string;
  key: string;
  /** SHA-256 of the method, the path and the parsed body. */
  requestHash: string;
}

/** What the first request created; a repeat answers with it. */
export interface IdempotentResult {
  dialogId: number;
  messageId: number;
  dialogCreated: boolean;
}

/**
 * The header of a request, if it carries one: visible ASCII, 1–255 characters (a UUID is the usual
 * choice). Anything else is a 400 naming the header.
 */
export function parseIdempotency(
  header: string | string[] | undefined,
  principal: string,
  method: string,
  path: string,
  body: unknown,
): IdempotencyRequest | undefined {
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header.join(',') : header;
  if (!KEY_PATTERN.test(key)) {
    throw invalid(`header.${IDEMPOTENCY_HEADER}`, 'must be 1–255 visible ASCII characters, e.g. a UUID');
  }
  const requestHash = createHash('sha256')
    .update(`${method} ${path}\n${JSON.stringify(body ?? null)}`)
    .digest('base64url');
  return { principal, key, requestHash };
}

/** The result of an earlier request with this key (within 24 hours), if there was one. */
export async function findIdempotent(
  ctx: ProjectContext,
  req: IdempotencyRequest,
): Promise<IdempotentResult | undefined> {
  const row = await ctx.store.db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .where('principal', '=', req.principal)
    .where('idempotency_key', '=', req.key)
    .where('created_at', '>', ctx.clock() - IDEMPOTENCY_TTL_MS)
    .executeTakeFirst();
  if (!row) return undefined;
  if (row.request_hash !== req.requestHash) {
    throw new ConflictError(
      `The ${IDEMPOTENCY_HEADER} was already used for another request (a different path or body); use a new key`,
    );
  }
  return { dialogId: row.dialog_id, messageId: row.message_id, dialogCreated: row.dialog_created === 1 };
}

/** Records what the request created, in its transaction. A key taken meanwhile fails the transaction. */
export async function recordIdempotent(
  trx: Transaction<Database>,
  ctx: ProjectContext,
  req: IdempotencyRequest,
  result: IdempotentResult,
): Promise<void> {
  const now = ctx.clock();
  // A key older than 24 hours may be used again: its old row goes first.
  await trx
    .deleteFrom('idempotency_keys')
    .where('project_id', '=', ctx.project.id)
    .where('principal', '=', req.principal)
    .where('idempotency_key', '=', req.key)
    .where('created_at', '<=', now - IDEMPOTENCY_TTL_MS)
    .execute();
  await trx
    .insertInto('idempotency_keys')
    .values({
      project_id: ctx.project.id,
      principal: req.principal,
      idempotency_key: req.key,
      request_hash: req.requestHash,
      dialog_id: result.dialogId,
      message_id: result.messageId,
      dialog_created: result.dialogCreated ? 1 : 0,
      created_at: now,
    })
    .execute();
}

/** Deletes keys past their 24 hours (the server runs it hourly); answers how many. */
export async function deleteExpiredIdempotencyKeys(ctx: AppContext): Promise<number> {
  const res = await ctx.store.db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<=', ctx.clock() - IDEMPOTENCY_TTL_MS)
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
