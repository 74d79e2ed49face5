import { sql } from 'kysely';
import type { InboundMessageEvent } from '../core/inbound.js';
import type { DomainEvent } from '../realtime/bus.js';
import { sortKey } from '../core/log-query.js';
import type { AppContext } from './context.js';

/**
 * PostgreSQL: the commonest webhook — a known client writes again into their open dialog — as one
 * statement in its own (implicit) transaction instead of BEGIN, the identity lock, the dialog lock,
 * the message INSERT and COMMIT (~5 round trips). Each round trip is a socket write and read on both
 * sides, and they were most of the server's CPU per webhook (docs/PERFORMANCE.md, inbound).
 *
 * The statement does exactly what receive-inbound.ts does for that case, in the same order: it locks
 * the identity (deliveries of one client serialise on it), then the identity's open dialog, appends
 * the message (idempotent on the platform id) and updates the dialog's denormalised fields. It
 * writes nothing and answers `undefined` unless the case is the plain one: the identity and an open
 * dialog exist; the platform's name, handle and phone for the client add nothing new; the dialog's
 * copy of the client's name, phone and handle is current; round-robin has nobody to assign. Anything
 * else (a new client, a rename, a deep link, webhook endpoints to record) goes through the general
 * path, which then finds everything as it was. A test compares both paths row for row.
 */

let enabled = true;

/** Tests: run the general path for every event. */
export function setInboundFastPath(on: boolean): void {
  enabled = on;
}

/** Events this process stored (or found duplicate) on the fast path; tests check that it ran. */
export const fastPathCount = { handled: 0 };

export interface FastOutcome {
  outcome: 'stored' | 'duplicate';
  dialogId: number;
  messageId?: number;
  dialogCreated?: boolean;
  events: DomainEvent[];
}

type Row = {
  dialog_id: string | number | null;
  message_id: string | number | null;
  identities: string | number;
};

export async function appendToOpenDialog(
  ctx: AppContext,
  channel: { id: number; projectId: number; type: string },
  ev: InboundMessageEvent,
  opts: { now: number; platformAt: number; roundRobin: boolean },
): Promise<FastOutcome | undefined> {
  if (!enabled || ctx.store.dialect !== 'postgres' || ev.deepLinkToken) return undefined;
  const p = channel.projectId;
  const ch = channel.id;
  const { now, platformAt, roundRobin } = opts;
  const attachments = ev.attachments && ev.attachments.length > 0 ? JSON.stringify(ev.attachments) : null;
  const statement = sql<Row>`
    WITH ident AS (
      SELECT ci.id, ci.display_name, ci.handle, c.name AS client_name, c.phone AS client_phone
      FROM client_identities ci
      JOIN clients c ON c.project_id = ci.project_id AND c.id = ci.client_id
      WHERE ci.project_id = ${p} AND ci.channel_id = ${ch} AND ci.external_id = ${ev.externalUserId}
      FOR UPDATE OF ci
    ), dlg AS (
      SELECT d.id, d.created_at, d.last_message_at, d.manager_id, d.client_name, d.client_phone, d.client_handle
      FROM dialogs d
      -- At most one (dialogs_one_open_per_identity), found through that index: with ORDER BY id
      -- and LIMIT the planner, not knowing the identity yet, walked the primary key instead.
      WHERE d.project_id = ${p} AND d.identity_id = (SELECT id FROM ident) AND d.status IN ('new', 'open')
      FOR UPDATE
    ), ok AS (
      SELECT dlg.id AS dialog_id,
        GREATEST(dlg.created_at, COALESCE(dlg.last_message_at, 0), LEAST(${now}::bigint, ${platformAt}::bigint)) AS at,
        COALESCE(NULLIF(ident.client_name, ''), NULLIF(ident.client_phone, ''), NULLIF(ident.handle, ''), '') AS author
      FROM ident, dlg
      WHERE (CAST(${ev.displayName ?? null} AS text) IS NULL OR ${ev.displayName ?? null} = ident.display_name)
        AND (CAST(${ev.handle ?? null} AS text) IS NULL OR ${ev.handle ?? null} = ident.handle)
        AND (ident.client_phone IS NOT NULL OR CAST(${ev.phone ?? null} AS text) IS NULL)
        AND dlg.client_name IS NOT DISTINCT FROM ident.client_name
        AND dlg.client_phone IS NOT DISTINCT FROM ident.client_phone
        AND dlg.client_handle IS NOT DISTINCT FROM ident.handle
        AND NOT (${roundRobin}::boolean AND dlg.manager_id IS NULL)
    ), ins AS (
      INSERT INTO messages (project_id, dialog_id, channel_id, direction, author_type, author_id, author_name,
        text, attachments, created_at, status, failure_reason, platform_message_id, updated_at)
      SELECT ${p}, ok.dialog_id, ${ch}, 'in', 'client', NULL, ok.author,
        ${ev.text}, ${attachments}, ok.at, 'received', NULL, ${ev.platformMessageId}, ${now}
      FROM ok
      ON CONFLICT (project_id, channel_id, platform_message_id) DO NOTHING
      RETURNING id, dialog_id, created_at
    ), upd AS (
      -- The row by its key, whatever the statistics say (a join with ins let a planner that
      -- thought the table empty scan every dialog of the project).
      UPDATE dialogs d SET
        updated_at = ${now},
        last_message_at = (SELECT created_at FROM ins),
        last_direction = 'in',
        last_author_type = 'client',
        last_author_id = NULL,
        last_author_name = (SELECT author FROM ok),
        last_responder_type = 'client',
        last_responder_id = NULL,
        last_responder_name = (SELECT author FROM ok),
        first_message_at = COALESCE(d.first_message_at, (SELECT created_at FROM ins)),
        messages_in = d.messages_in + 1,
        unread_count = d.unread_count + 1
      WHERE d.project_id = ${p} AND d.id = (SELECT dialog_id FROM ins)
      RETURNING d.id
    )
    SELECT (SELECT dialog_id FROM ok) AS dialog_id, (SELECT id FROM ins) AS message_id,
      (SELECT count(*) FROM upd) AS updated, (SELECT count(*) FROM ident) AS identities
  `;
  const compiled = statement.compile(ctx.store.db);
  const pool = ctx.store.pgPool;
  // A named statement: each pooled connection parses it once and, after a few runs, keeps a plan
  // (parsing and planning were a third of PostgreSQL's CPU per webhook). The text never changes.
  const res = pool
    ? await pool.query<Row>({ name: 'dz_inbound_append', text: compiled.sql, values: compiled.parameters as unknown[] })
    : await ctx.store.db.executeQuery(compiled);
  const row = res.rows[0];
  if (row && Number(row.identities) === 0 && !roundRobin) return firstMessage(ctx, channel, ev, opts);
  if (!row || row.dialog_id === null) return undefined;
  fastPathCount.handled++;
  const dialogId = Number(row.dialog_id);
  if (row.message_id === null) return { outcome: 'duplicate', dialogId, events: [] };
  const messageId = Number(row.message_id);
  return {
    outcome: 'stored',
    dialogId,
    messageId,
    events: [
      { type: 'dialog.updated', projectId: p, dialogId },
      { type: 'message.created', projectId: p, dialogId, messageId },
    ],
  };
}

/**
 * A client never seen on this channel: their client and identity rows, the dialog and the message
 * in one named statement, in a transaction (BEGIN, the statement, COMMIT: three round trips instead
 * of eight). Written as receive-inbound.ts writes them for a new identity. When the identity turns
 * out to exist after all (a concurrent first message won), the transaction is rolled back and the
 * general path runs; a message id seen before is a duplicate, rolled back the same way.
 */
async function firstMessage(
  ctx: AppContext,
  channel: { id: number; projectId: number; type: string },
  ev: InboundMessageEvent,
  opts: { now: number; platformAt: number },
): Promise<FastOutcome | undefined> {
  const pool = ctx.store.pgPool;
  if (!pool) return undefined;
  const p = channel.projectId;
  const ch = channel.id;
  const { now } = opts;
  const name = ev.displayName ?? ev.externalUserId;
  const phone = ev.phone ?? null;
  const handle = ev.handle ?? null;
  const authorName = name || phone || handle || '';
  const searchText = [name, phone, handle].filter(Boolean).join(' ').toLowerCase();
  const at = Math.min(now, opts.platformAt);
  const dialogChannelType = channel.type === 'sms-http' ? 'sms' : channel.type;
  const attachments = ev.attachments && ev.attachments.length > 0 ? JSON.stringify(ev.attachments) : null;
  const compiled = sql<FirstRow>`
    WITH c AS (
      INSERT INTO clients (project_id, name, phone, created_at, updated_at)
      VALUES (${p}, ${name}, ${phone}, ${now}, ${now})
      RETURNING id
    ), ci AS (
      INSERT INTO client_identities (project_id, client_id, channel_id, channel_type, external_id, display_name, handle, created_at)
      SELECT ${p}, c.id, ${ch}, ${channel.type}, ${ev.externalUserId}, ${name}, ${handle}, ${now} FROM c
      ON CONFLICT (project_id, channel_id, external_id) DO NOTHING
      RETURNING id, client_id
    ), d AS (
      INSERT INTO dialogs (project_id, channel_id, channel_type, number_id, outbound_only, client_id, identity_id,
        client_name, client_phone, client_handle, client_external_id, search_text, status, manager_id, manager_name,
        manager_sort, created_at, updated_at, last_message_at, last_direction, last_author_type, last_author_name,
        last_responder_type, last_responder_name, first_message_at, messages_in, messages_out, unread_count)
      SELECT ${p}, ${ch}, ${dialogChannelType}, ${ev.numberId ?? null}, 0, ci.client_id, ci.id,
        ${name}, ${phone}, ${handle}, ${ev.externalUserId}, ${searchText}, 'new', NULL, NULL,
        ${sortKey(null)}, ${at}, ${now}, ${at}, 'in', 'client', ${authorName},
        'client', ${authorName}, ${at}, 1, 0, 1
      FROM ci
      RETURNING id
    ), m AS (
      INSERT INTO messages (project_id, dialog_id, channel_id, direction, author_type, author_id, author_name,
        text, attachments, created_at, status, failure_reason, platform_message_id, updated_at)
      SELECT ${p}, d.id, ${ch}, 'in', 'client', NULL, ${authorName},
        ${ev.text}, ${attachments}, ${at}, 'received', NULL, ${ev.platformMessageId}, ${now}
      FROM d
      ON CONFLICT (project_id, channel_id, platform_message_id) DO NOTHING
      RETURNING id
    )
    SELECT (SELECT id FROM ci) AS identity_id, (SELECT id FROM d) AS dialog_id, (SELECT id FROM m) AS message_id
  `.compile(ctx.store.db);
  const client = await pool.connect();
  let done = false;
  try {
    await client.query('BEGIN');
    const res = await client.query<FirstRow>({
      name: 'dz_inbound_first',
      text: compiled.sql,
      values: compiled.parameters as unknown[],
    });
    const row = res.rows[0];
    if (!row || row.identity_id === null || row.message_id === null) {
      await client.query('ROLLBACK');
      done = true;
      // A known identity after all: the general path; the message id seen before: a duplicate.
      if (!row || row.identity_id === null) return undefined;
      fastPathCount.handled++;
      return { outcome: 'duplicate', dialogId: Number(row.dialog_id), events: [] };
    }
    await client.query('COMMIT');
    done = true;
    fastPathCount.handled++;
    const dialogId = Number(row.dialog_id);
    const messageId = Number(row.message_id);
    return {
      outcome: 'stored',
      dialogId,
      messageId,
      dialogCreated: true,
      events: [
        { type: 'dialog.created', projectId: p, dialogId },
        { type: 'message.created', projectId: p, dialogId, messageId },
      ],
    };
  } finally {
    if (!done) await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

type FirstRow = {
  identity_id: string | number | null;
  dialog_id: string | number | null;
  message_id: string | number | null;
};
