import { Readable } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type CompiledQuery, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import pg from 'pg';
import pgCopyStreams from 'pg-copy-streams';
import { type CsvCell, type CsvDelimiter, csvRecord, neutraliseCell, UTF8_BOM } from '../core/csv.js';
import { effectiveOrder, type ExportQuery } from '../core/log-query.js';
import { localDate } from '../core/time.js';
import { applyDialogFilter, applyKeyset, type DialogFilter, type SortSpec } from '../store/dialogs.js';
import type { Store } from '../store/open.js';
import type { Database } from '../store/types.js';
import { audit } from './audit.js';
import type { ProjectContext } from './context.js';
import {
  DIALOG_COLUMNS,
  DIALOG_SELECT,
  type DialogTuple,
  formatDialogRows,
  type Key,
  keyOfTuple,
  makeExportTimeFormatter,
  Utf8Chunk,
} from './export-format.js';
import { resolveLogFilter } from './log-filters.js';

export { DIALOG_COLUMNS, makeExportTimeFormatter };

/**
 * CSV export of the Message log (SPEC §4.6): `dialogs.csv`, one row per dialog, or `messages.csv`,
 * one row per message of those dialogs — exactly the set the list shows for the same filters and
 * the same actor (resolveLogFilter adds the project's time zone and a manager's visibility, and
 * applyDialogFilter turns them into SQL for the list and for this export alike).
 *
 * Streaming: dialogs are read in keyset chunks (`applyKeyset` after the last row's key); each
 * chunk becomes one piece of CSV handed to a Readable, which asks for the next chunk only when the
 * consumer has drained the previous one (back-pressure), and a turn of the event loop separates
 * chunks so that other requests are served meanwhile. Memory is about one chunk whatever the size.
 * Chunks are separate statements, not one snapshot: a long export to a slow client must not hold a
 * transaction open. The keyset never repeats a row nor skips one whose key does not change; a
 * dialog created meanwhile sorts before the part still to come when sorting by date (newest first).
 *
 * Two ways to produce a chunk, with the same bytes (a test compares them):
 * - generic (SQLite, and messages.csv everywhere): rows read as arrays through the raw driver (the
 *   SQL still built by Kysely), formatted by export-format.ts. Objects per row were measurable here.
 * - PostgreSQL dialogs.csv: `COPY (SELECT ...) TO STDOUT (FORMAT csv)`, the server doing the
 *   quoting, the timestamps (to_char in the project's zone) and the formula neutralisation (the
 *   same characters as core/csv.ts). Node then only turns LF into CRLF between records. Measured
 *   on 200k seeded dialogs: the generic path spent ~2 s of Node CPU (pg's row parsing alone
 *   ~1.1 s), COPY ~0.4 s; on a busy machine PostgreSQL's own CPU then sets the pace, so the
 *   next chunks are read while the current one is written (pgCopyDialogChunks).
 *
 * Every export is recorded in the audit log when it ends — completed, aborted (the client went
 * away) or failed — with the rows handed to the stream.
 */

/**
 * Dialogs per query. On SQLite a chunk is read and formatted without yielding (the driver is
 * synchronous), so it is small: the event loop's longest stall is one chunk. Measured on 200k
 * dialogs (quiet 2-core machine): 2,000 rows stalled 37 ms, 1,000 rows 11 ms, 500 rows 5 ms, at
 * 118,000–125,000 rows/s each. A worker thread was tried instead: the same stalls, slower (75,000
 * rows/s) and 50 MB more memory. PostgreSQL's queries do not block.
 */
export const DIALOG_CHUNK = { sqlite: 500, postgres: 5000 } as const;
/** Dialogs per COPY statement (PostgreSQL dialogs.csv); two such chunks at most are in memory. */
export const PG_COPY_CHUNK = 10_000;
/** Messages per query (a batch of whole dialogs; a longer dialog is paged on its own). */
export const MESSAGE_BATCH = 4000;
/** With more channels than this the channel names are not inlined into COPY's SQL. */
const COPY_MAX_CHANNELS = 200;

export const MESSAGE_COLUMNS = [
  'dialog_id',
  'message_id',
  'created_at',
  'direction',
  'author_type',
  'author_name',
  'text',
  'status',
  'failure_reason',
] as const;

export type ExportKind = ExportQuery['kind'];
export type ExportOutcome = 'completed' | 'aborted' | 'failed';

export interface ExportResult {
  outcome: ExportOutcome;
  /**
   * Data rows handed to the stream (dialogs or messages, by kind), the header not counted. For an
   * aborted export the last chunk may not all have reached the client.
   */
  rows: number;
  /** Dialogs covered (equal to rows for dialogs.csv). */
  dialogs: number;
}

export interface ExportHandle {
  kind: ExportKind;
  filename: string;
  contentType: string;
  /** The CSV bytes: BOM, header, rows. Destroying it ends the export as aborted. */
  stream: Readable;
  /** Settles once the export has ended and its audit entry is written; never rejects. */
  done: Promise<ExportResult>;
  /** How the rows are produced: PostgreSQL's COPY, or rows read and written here. */
  producer: 'pg-copy' | 'rows';
}

export interface ExportOptions {
  /** Dialogs per query; tests lower it to cross chunk borders with little data. */
  chunkSize?: number;
  messageBatch?: number;
  /** PostgreSQL: use COPY for dialogs.csv when possible (default); false forces the generic path. */
  pgCopy?: boolean;
}

/** What the chunk producers share. */
interface Job {
  store: Store;
  projectId: number;
  timeZone: string;
  filter: DialogFilter;
  sort: SortSpec;
  delimiter: CsvDelimiter;
  chunkSize: number;
  copyChunkSize: number;
  messageBatch: number;
  channelNames: Map<number, string>;
  iso: (ms: number) => string;
}

const EMPTY = Buffer.alloc(0);

/** A piece of the CSV and what it covers; counted when it is handed to the stream. */
interface Piece {
  data: Buffer;
  rows: number;
  dialogs: number;
}

type DialogQuery = SelectQueryBuilder<Database, 'dialogs', object>;

/** Runs a query built by Kysely and returns its rows as arrays, through the raw driver. */
async function fetchArrays<T>(store: Store, q: CompiledQuery): Promise<T[]> {
  if (store.dialect === 'postgres' && store.pgPool) {
    const r = await store.pgPool.query({ text: q.sql, values: q.parameters as unknown[], rowMode: 'array' });
    return r.rows as T[];
  }
  // The read-only connection: only committed rows, whatever other requests are in the middle of.
  const sqlite = store.sqliteReader ?? store.sqlite;
  if (store.dialect === 'sqlite' && sqlite) {
    return sqlite
      .prepare(q.sql)
      .raw(true)
      .all(...(q.parameters as unknown[])) as T[];
  }
  const r = await store.db.executeQuery<Record<string, unknown>>(q);
  return r.rows.map((row) => Object.values(row)) as T[];
}

/** The filtered, visible dialogs after `after`, in the log's order. */
function filtered(job: Job, after: Key | undefined): DialogQuery {
  let q: DialogQuery = job.store.db.selectFrom('dialogs');
  q = applyDialogFilter(job.store, q, job.filter);
  return applyKeyset(q, job.sort, after);
}

// ---------------------------------------------------------------------------------------------
// dialogs.csv, generic path

async function* genericDialogChunks(job: Job): AsyncGenerator<Piece> {
  const { iso, delimiter, channelNames, chunkSize } = job;
  const cells: CsvCell[] = new Array(DIALOG_COLUMNS.length);
  const out = new Utf8Chunk();
  let after: Key | undefined;
  for (;;) {
    const chunk = await fetchArrays<DialogTuple>(
      job.store,
      filtered(job, after).select(DIALOG_SELECT).limit(chunkSize).compile(),
    );
    formatDialogRows(chunk, out, cells, iso, delimiter, channelNames);
    const data = out.take();
    if (data) yield { data, rows: chunk.length, dialogs: chunk.length };
    const last = chunk[chunk.length - 1];
    if (chunk.length < chunkSize || !last) return;
    after = keyOfTuple(last, job.sort);
    await yieldToEventLoop();
  }
}

// ---------------------------------------------------------------------------------------------
// dialogs.csv, PostgreSQL COPY path

/**
 * The characters of core/csv.ts's isFormulaStart, as code points: `ascii()` of a text is its first
 * character's code point (0 for '', NULL for NULL), and comparing integers is cheaper than
 * `left(x, 1) IN (...)` over text. The formatting expressions were ~85% of the COPY's time.
 */
const FORMULA_START_CODES_SQL = '(61, 43, 45, 64, 9, 13, 65309, 65291, 65293, 65312)';

/** A text column as core/csv.ts writes it: neutralised, and '' written like NULL (no quotes). */
function pgText(column: string): RawBuilder<unknown> {
  return sql.raw(
    `CASE WHEN ascii(${column}) IN ${FORMULA_START_CODES_SQL} THEN '''' || ${column} ELSE NULLIF(${column}, '') END`,
  );
}

/**
 * An instant (epoch ms) as ISO 8601 in the session's zone, which runCopy sets to the project's. The
 * whole seconds by integer arithmetic (floored, also before 1970): `floor(x / 1000.0)` went through
 * numeric and cost more than to_char itself.
 */
function pgTime(column: string): RawBuilder<unknown> {
  return sql.raw(
    `to_char(to_timestamp(${column} / 1000 - CASE WHEN ${column} % 1000 < 0 THEN 1 ELSE 0 END), 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')`,
  );
}

function pgDialogColumns(channelNames: Map<number, string>) {
  // The project's few channels become a CASE of literals: no join per row.
  const whens = [...channelNames].map(([id, name]) => sql`WHEN ${id} THEN ${neutraliseCell(name) || null}`);
  const channelAccount = whens.length ? sql`CASE dialogs.channel_id ${sql.join(whens, sql` `)} END` : sql`NULL`;
  const columns: RawBuilder<unknown>[] = [
    sql.raw('dialogs.id'),
    pgTime('dialogs.created_at'),
    pgTime('dialogs.closed_at'),
    sql.raw('dialogs.status'),
    sql.raw('dialogs.channel_type'),
    channelAccount,
    sql.raw('dialogs.client_id'),
    pgText('dialogs.client_name'),
    pgText('dialogs.client_phone'),
    pgText(`(CASE WHEN dialogs.channel_type = 'sms' THEN NULL ELSE dialogs.client_external_id END)`),
    pgText(`(CASE WHEN dialogs.channel_type = 'sms' THEN NULL ELSE dialogs.client_handle END)`),
    pgText('dialogs.manager_name'),
    pgText('dialogs.closed_by_name'),
    pgText('dialogs.close_reason'),
    sql.raw('dialogs.last_responder_type'),
    pgText('dialogs.last_responder_name'),
    sql.raw('dialogs.messages_in'),
    sql.raw('dialogs.messages_out'),
    sql.raw('dialogs.first_response_seconds'),
    ...[
      'source',
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'utm_term',
      'utm_content',
      'referrer',
      'landing_url',
      'click_ids',
      'channel_group',
    ].map((c) => pgText(`dialogs.${c}`)),
  ];
  // COPY writes no header, so the aliases only satisfy SQL.
  return columns.map((c, n) => c.as(`c${n}`));
}

/**
 * COPY takes no bind parameters, so the compiled query's parameters are written in as literals:
 * finite numbers as numbers, strings through pg's escapeLiteral. Anything else — or a string with
 * a NUL, which the simple-query protocol cannot carry — returns undefined, and the export takes
 * the generic path.
 */
function inlineParameters(q: CompiledQuery): string | undefined {
  let ok = true;
  const text = q.sql.replace(/\$(\d+)/g, (_m, n: string) => {
    const v = q.parameters[Number(n) - 1];
    if (typeof v === 'number' && Number.isFinite(v)) return `(${v})`;
    if (typeof v === 'string' && !v.includes('\0')) return pg.escapeLiteral(v);
    ok = false;
    return 'NULL';
  });
  return ok ? text : undefined;
}

/**
 * PostgreSQL writes records ending in LF; RFC 4180 wants CRLF. An LF inside a quoted field is data
 * and stays. Quotes inside a field are doubled, so counting them keeps track of being inside one.
 */
export function lfToCrlf(buf: Buffer): Buffer {
  const ends: number[] = [];
  let quote = buf.indexOf(0x22);
  let lf = buf.indexOf(0x0a);
  while (lf !== -1) {
    if (quote === -1 || lf < quote) {
      ends.push(lf);
      lf = buf.indexOf(0x0a, lf + 1);
      continue;
    }
    const close = buf.indexOf(0x22, quote + 1);
    if (close === -1) throw new Error('COPY output ends inside a quoted field');
    quote = buf.indexOf(0x22, close + 1);
    if (lf < close) lf = buf.indexOf(0x0a, close + 1);
  }
  if (ends.length === 0) return buf;
  const out = Buffer.allocUnsafe(buf.length + ends.length);
  let from = 0;
  let to = 0;
  for (const at of ends) {
    to += buf.copy(out, to, from, at);
    out[to++] = 0x0d;
    out[to++] = 0x0a;
    from = at + 1;
  }
  buf.copy(out, to, from);
  return out;
}

/** One COPY in a read-only transaction whose TimeZone is the project's; the connection is released before returning. */
async function runCopy(pool: pg.Pool, timeZone: string, text: string): Promise<{ data: Buffer; rows: number }> {
  const client = await pool.connect();
  let clean = false;
  try {
    await client.query('BEGIN READ ONLY');
    // No parallel workers: the chunks already run side by side (READ_AHEAD), and a Gather per chunk
    // was slower (1M dialogs in-process: ~225,000 rows/s with workers, ~250,000 without).
    await client.query(
      `SELECT set_config('TimeZone', $1, true), set_config('max_parallel_workers_per_gather', '0', true)`,
      [timeZone],
    );
    const copy = client.query(pgCopyStreams.to(text));
    const parts: Buffer[] = [];
    for await (const part of copy) parts.push(part as Buffer);
    await client.query('COMMIT');
    clean = true;
    return { data: lfToCrlf(Buffer.concat(parts)), rows: copy.rowCount };
  } finally {
    // A connection left mid-COPY or mid-transaction is not given back to the pool.
    client.release(clean ? undefined : true);
  }
}

/** Rows with a key up to and including `key`, in the sort's direction (the end of a chunk). */
function through(q: DialogQuery, sort: SortSpec, key: Key): DialogQuery {
  const cmp = sort.order === 'desc' ? '>=' : '<=';
  if (sort.sort === 'manager') {
    const [m, c, i] = key as [string, number, number];
    return q.where((eb) =>
      eb(eb.refTuple('dialogs.manager_sort', 'dialogs.created_at', 'dialogs.id'), cmp, eb.tuple(m, c, i)),
    );
  }
  const [c, i] = key as [number, number];
  return q.where((eb) => eb(eb.refTuple('dialogs.created_at', 'dialogs.id'), cmp, eb.tuple(c, i)));
}

/**
 * Whether this export can use COPY: PostgreSQL, few channels, parameters that can be inlined, and
 * a zone name PostgreSQL knows (its tz database and Node's ICU both follow IANA).
 */
async function canCopy(job: Job): Promise<boolean> {
  const pool = job.store.pgPool;
  if (job.store.dialect !== 'postgres' || !pool || job.channelNames.size > COPY_MAX_CHANNELS) return false;
  if (inlineParameters(filtered(job, undefined).select(pgDialogColumns(job.channelNames)).compile()) === undefined) {
    return false;
  }
  try {
    await pool.query('SELECT now() AT TIME ZONE $1', [job.timeZone]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Each chunk: find its last key (the chunkSize-th row: a narrow query on the log's indexes), then
 * COPY the rows after the previous chunk's key through that one. The last chunk has no end key.
 * The end keys are found one after another; the COPYs of the next READ_AHEAD chunks run (on other
 * pooled connections) while the current one is written to the client, so PostgreSQL's work and
 * ours overlap. At most READ_AHEAD + 1 chunks are held in memory.
 */
const READ_AHEAD = 2;

async function* pgCopyDialogChunks(job: Job): AsyncGenerator<Piece> {
  const pool = job.store.pgPool!;
  const columns = pgDialogColumns(job.channelNames);
  const copyOptions = `(FORMAT csv, DELIMITER '${job.delimiter}')`;
  const endKeyAfter = async (after: Key | undefined) => {
    const [end] = await fetchArrays<[number, string, number]>(
      job.store,
      filtered(job, after)
        // Only the key's columns: for a date sort they are all in the index being walked, so the
        // end key comes from an index-only scan instead of a heap read per row.
        .select([
          'dialogs.id',
          job.sort.sort === 'manager' ? 'dialogs.manager_sort' : sql<string>`''`.as('manager_sort'),
          'dialogs.created_at',
        ])
        .offset(job.copyChunkSize - 1)
        .limit(1)
        .compile(),
    );
    return end ? keyOfTuple(end, job.sort) : undefined;
  };
  const copy = async (after: Key | undefined, endKey: Key | undefined) => {
    let q = filtered(job, after);
    if (endKey) q = through(q, job.sort, endKey);
    const text = inlineParameters(q.select(columns).compile());
    if (text === undefined) throw new Error('export: a parameter cannot be inlined into COPY');
    const { data, rows } = await runCopy(pool, job.timeZone, `COPY (${text}) TO STDOUT WITH ${copyOptions}`);
    return { data, rows, last: endKey === undefined };
  };
  // The start key of the next chunk to schedule; null once the last chunk has been scheduled.
  let start: Promise<Key | undefined | null> = Promise.resolve(undefined);
  const schedule = () => {
    const range = start.then(async (after) => (after === null ? null : { after, end: await endKeyAfter(after) }));
    start = range.then((r) => (r === null || r.end === undefined ? null : r.end));
    start.catch(() => {}); // the read below reports the same failure
    return range.then((r) => (r === null ? null : copy(r.after, r.end)));
  };
  const reads = Array.from({ length: READ_AHEAD }, schedule);
  try {
    for (;;) {
      const chunk = await reads.shift()!;
      if (chunk === null) return;
      reads.push(schedule());
      if (chunk.data.length > 0) yield { data: chunk.data, rows: chunk.rows, dialogs: chunk.rows };
      if (chunk.last) return;
      await yieldToEventLoop();
    }
  } finally {
    // An export ended early (aborted, or failed) leaves reads behind: let them finish unheard.
    for (const r of reads) r.catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// messages.csv

/** For messages.csv only the keys and the message counts of each dialog are needed. */
const DIALOG_KEY_SELECT = [
  'dialogs.id',
  'dialogs.manager_sort',
  'dialogs.created_at',
  'dialogs.messages_in',
  'dialogs.messages_out',
] as const;
type DialogKeyTuple = [id: number, managerSort: string, createdAt: number, messagesIn: number, messagesOut: number];

const MESSAGE_SELECT = [
  'messages.dialog_id',
  'messages.id',
  'messages.created_at',
  'messages.direction',
  'messages.author_type',
  'messages.author_name',
  'messages.text',
  'messages.status',
  'messages.failure_reason',
] as const;
type MessageTuple = [
  dialogId: number,
  id: number,
  createdAt: number,
  direction: string,
  authorType: string,
  authorName: string | null,
  text: string,
  status: string,
  failureReason: string | null,
];

function messagesQuery(job: Job, dialogIds: number[], after?: [number, number], limit?: number) {
  let q = job.store.db
    .selectFrom('messages')
    .select(MESSAGE_SELECT)
    .where('messages.project_id', '=', job.projectId)
    .where('messages.dialog_id', 'in', dialogIds);
  if (after) {
    q = q.where((eb) => eb(eb.refTuple('messages.created_at', 'messages.id'), '>', eb.tuple(after[0], after[1])));
  }
  q = q.orderBy('messages.dialog_id').orderBy('messages.created_at').orderBy('messages.id');
  if (limit !== undefined) q = q.limit(limit);
  return q.compile();
}

async function* messageChunks(job: Job): AsyncGenerator<Piece> {
  const { iso, delimiter, chunkSize, messageBatch } = job;
  const cells: CsvCell[] = new Array(MESSAGE_COLUMNS.length);
  const out = new Utf8Chunk();
  const format = (m: MessageTuple) => {
    cells[0] = m[0];
    cells[1] = m[1];
    cells[2] = iso(m[2]);
    cells[3] = m[3];
    cells[4] = m[4];
    cells[5] = m[5];
    cells[6] = m[6];
    // As in the API: an inbound message reached us, so it is delivered.
    cells[7] = m[7] === 'received' ? 'delivered' : m[7];
    cells[8] = m[8];
    out.add(csvRecord(cells, delimiter));
  };
  let after: Key | undefined;
  for (;;) {
    const chunk = await fetchArrays<DialogKeyTuple>(
      job.store,
      filtered(job, after).select(DIALOG_KEY_SELECT).limit(chunkSize).compile(),
    );
    // Batches of whole dialogs in the list's order, of at most `messageBatch` messages by the
    // dialogs' own counts; a dialog longer than that is paged on its own.
    let i = 0;
    while (i < chunk.length) {
      const batch: number[] = [];
      let expected = 0;
      while (i < chunk.length) {
        const d = chunk[i]!;
        const n = d[3] + d[4];
        if (batch.length > 0 && expected + n > messageBatch) break;
        batch.push(d[0]);
        expected += n;
        i++;
      }
      if (batch.length === 1 && expected > messageBatch) {
        let page: [number, number] | undefined;
        for (;;) {
          const msgs = await fetchArrays<MessageTuple>(job.store, messagesQuery(job, batch, page, messageBatch));
          for (const m of msgs) format(m);
          const data = out.take();
          if (data) yield { data, rows: msgs.length, dialogs: 0 };
          const last = msgs[msgs.length - 1];
          if (msgs.length < messageBatch || !last) break;
          page = [last[2], last[1]];
          await yieldToEventLoop();
        }
      } else {
        const msgs = await fetchArrays<MessageTuple>(job.store, messagesQuery(job, batch));
        // Sorted by dialog id, so each dialog's messages are one run: emit the runs in list order.
        const runStart = new Map<number, number>();
        for (let k = msgs.length - 1; k >= 0; k--) runStart.set(msgs[k]![0], k);
        for (const dialogId of batch) {
          let k = runStart.get(dialogId);
          if (k === undefined) continue;
          for (; k < msgs.length && msgs[k]![0] === dialogId; k++) format(msgs[k]!);
        }
        const data = out.take();
        if (data) yield { data, rows: msgs.length, dialogs: 0 };
      }
      await yieldToEventLoop();
    }
    // The chunk's dialogs are covered once all their messages have been handed over.
    yield { data: EMPTY, rows: 0, dialogs: chunk.length };
    const last = chunk[chunk.length - 1];
    if (chunk.length < chunkSize || !last) return;
    after = keyOfTuple(last, job.sort);
  }
}

/** The filters as given, for the audit entry. */
function filtersForAudit(query: ExportQuery) {
  return {
    status: query.status,
    managerId: query.managerId ?? null,
    from: query.from ?? null,
    to: query.to ?? null,
    channel: query.channel ?? null,
    source: query.source ?? null,
    q: query.q ?? null,
    sort: query.sort,
    order: effectiveOrder(query),
  };
}

/**
 * Starts an export. Everything that can be refused (bad filters, an unknown project) is refused
 * here, and the first chunk is read here too, so that a failing query is an error response rather
 * than a truncated file; the stream then carries the rest.
 */
export async function exportLog(
  ctx: ProjectContext,
  query: ExportQuery,
  opts: ExportOptions = {},
): Promise<ExportHandle> {
  const { filter, sort } = resolveLogFilter(ctx, query);
  const kind = query.kind;
  const store = ctx.store;
  const startedAt = ctx.clock();
  const counts = { rows: 0, dialogs: 0 };
  const channels =
    kind === 'dialogs'
      ? await store.db.selectFrom('channels').select(['id', 'name']).where('project_id', '=', ctx.project.id).execute()
      : [];
  const job: Job = {
    store,
    projectId: ctx.project.id,
    timeZone: ctx.project.timeZone,
    filter,
    sort,
    delimiter: query.delimiter,
    chunkSize: opts.chunkSize ?? DIALOG_CHUNK[store.dialect],
    copyChunkSize: opts.chunkSize ?? PG_COPY_CHUNK,
    messageBatch: opts.messageBatch ?? MESSAGE_BATCH,
    channelNames: new Map(channels.map((c) => [c.id, c.name])),
    iso: makeExportTimeFormatter(ctx.project.timeZone),
  };

  let body: AsyncGenerator<Piece>;
  let producer: ExportHandle['producer'] = 'rows';
  if (kind === 'messages') body = messageChunks(job);
  else if (opts.pgCopy !== false && (await canCopy(job))) {
    body = pgCopyDialogChunks(job);
    producer = 'pg-copy';
  } else body = genericDialogChunks(job);
  const first = await body.next();

  let settle!: (r: ExportResult) => void;
  const done = new Promise<ExportResult>((resolve) => {
    settle = resolve;
  });
  let recorded = false;
  const record = async (outcome: ExportOutcome, error?: unknown) => {
    if (recorded) return;
    recorded = true;
    const result: ExportResult = { outcome, rows: counts.rows, dialogs: counts.dialogs };
    try {
      await audit(
        ctx,
        store.db,
        `export.${kind}`,
        { type: 'project', id: ctx.project.id },
        {
          kind,
          outcome,
          rows: result.rows,
          dialogs: result.dialogs,
          delimiter: query.delimiter,
          filters: filtersForAudit(query),
          durationMs: ctx.clock() - startedAt,
          ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }),
        },
      );
    } catch (err) {
      ctx.log.error({ err, export: result }, 'could not write the audit entry of an export');
    }
    settle(result);
  };

  const header = UTF8_BOM + csvRecord(kind === 'dialogs' ? DIALOG_COLUMNS : MESSAGE_COLUMNS, query.delimiter);
  // The outcome follows the stream: completed when the consumer has read the end of it (not
  // merely when the last chunk was produced), failed when producing failed, aborted when the
  // stream was destroyed before its end (the client went away).
  async function* csv(): AsyncGenerator<string | Buffer> {
    let finished = false;
    try {
      yield header;
      let next = first;
      while (!next.done) {
        const piece = next.value;
        counts.rows += piece.rows;
        counts.dialogs += piece.dialogs;
        if (piece.data.length > 0) yield piece.data;
        try {
          next = await body.next();
        } catch (err) {
          // Only an error of the producer (a query) is a failed export; an error thrown in at a
          // yield is the consumer's (EPIPE, a reset connection): the export was aborted.
          await record('failed', err);
          throw err;
        }
      }
      finished = true;
    } finally {
      if (!finished) {
        await body.return(undefined);
        await record('aborted');
      }
    }
  }
  // Not object mode: strings become UTF-8 bytes. The buffer holds a few SQLite chunks (~150 KB
  // each), so the next is read while the socket drains the last instead of after it (with 64 KB the
  // export waited for the client once per chunk); PostgreSQL's COPY chunks are larger than this and
  // go one at a time, read ahead by pgCopyDialogChunks.
  const stream = Readable.from(csv(), { objectMode: false, highWaterMark: 512 * 1024 });
  stream.on('end', () => {
    // Readable.from also ends a stream destroyed while a read was pending: that one was aborted.
    if (!stream.destroyed) void record('completed');
  });
  stream.on('close', () => {
    // Destroyed early; if it was never read, the generator has not closed the producer.
    void body.return(undefined);
    void record('aborted');
  });
  const filename = `${kind}-${ctx.project.id}-${localDate(startedAt, ctx.project.timeZone)}.csv`;
  return { kind, filename, contentType: 'text/csv; charset=utf-8', stream, done, producer };
}
