import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import pg from 'pg';
import { type CopyStreamQuery, from as copyFrom } from 'pg-copy-streams';
import { classifyChannelGroup, sourceLabel } from '../core/attribution.js';
import { sortKey } from '../core/log-query.js';
import * as PL from '../core/polish-data.js';
import { mix32, Rng, Weighted } from '../core/prng.js';
import { localDate, startOfLocalDay, zonedWallTimeToInstant, zoneOffsetMinutes } from '../core/time.js';
import type { Store } from '../store/open.js';
import type { AuthorType, ChannelType, MessageStatus } from '../store/types.js';

/**
 * `dziennik seed`: a deterministic, realistic history for demos and benchmarks. Managers, channels
 * and numbers are created (or reused) through Kysely; the bulk — visits, clients, identities,
 * dialogs, dialog_managers, messages — is generated in creation order and streamed: PostgreSQL
 * through COPY (one connection per table, so the tables load in parallel while the next rows are
 * generated), SQLite through prepared statements in transactions of some 50k rows. Memory stays
 * flat at any size. Ids are assigned here (after the current maximum of each table) so that every
 * row can be written once, already consistent with the rows that refer to it.
 *
 * Determinism: every choice comes from one seeded generator consumed in a fixed order, times
 * derive from the anchor (never from the clock), and external ids derive from row ids through a
 * bijection, so a second run into the same project adds rows without colliding with the first.
 * While it runs, nothing else should insert into these tables (the ids are taken up front).
 */

export interface SeedOptions {
  projectId: number;
  dialogs: number;
  seed?: number;
  /** The "now" of the generated history (epoch ms); default 2026-11-01T00:00:00Z. */
  anchor?: number;
  progress?: (msg: string) => void;
}

export interface SeedResult {
  projectId: number;
  dialogs: number;
  messages: number;
  managers: number;
  ms: number;
}

export const DEFAULT_SEED_ANCHOR = Date.UTC(2026, 10, 1);
const TZ = 'Europe/Warsaw';
const WINDOW_DAYS = 183;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const OUTBOUND_ONLY_PREFIX = '48799';
const AUTO_CLOSE_AFTER = 48 * HOUR;
const RETURNING_POOL_SIZE = 4096;

// ---------------------------------------------------------------------------------------------
// Tables written in bulk, with their columns in the order the generator emits values.

type Cell = string | number | null;

const T_VISITS = 0;
const T_CLIENTS = 1;
const T_IDENTITIES = 2;
const T_DIALOGS = 3;
const T_DIALOG_MANAGERS = 4;
const T_MESSAGES = 5;

const BULK_TABLES: readonly { name: string; columns: readonly string[] }[] = [
  {
    name: 'visits',
    columns: [
      'project_id',
      'id',
      'token',
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'utm_term',
      'utm_content',
      'referrer',
      'landing_url',
      'ga_client_id',
      'click_ids',
      'channel_group',
      'messenger',
      'created_at',
      'expires_at',
    ],
  },
  { name: 'clients', columns: ['project_id', 'id', 'name', 'phone', 'created_at', 'updated_at'] },
  {
    name: 'client_identities',
    columns: [
      'project_id',
      'id',
      'client_id',
      'channel_id',
      'channel_type',
      'external_id',
      'display_name',
      'handle',
      'unreachable',
      'unreachable_reason',
      'created_at',
    ],
  },
  {
    name: 'dialogs',
    columns: [
      'project_id',
      'id',
      'channel_id',
      'channel_type',
      'number_id',
      'outbound_only',
      'client_id',
      'identity_id',
      'client_name',
      'client_phone',
      'client_handle',
      'client_external_id',
      'search_text',
      'status',
      'manager_id',
      'manager_name',
      'manager_sort',
      'created_at',
      'updated_at',
      'closed_at',
      'closed_by',
      'closed_by_name',
      'close_reason',
      'last_message_at',
      'last_direction',
      'last_author_type',
      'last_author_id',
      'last_author_name',
      'last_responder_type',
      'last_responder_id',
      'last_responder_name',
      'first_message_at',
      'first_response_at',
      'first_response_seconds',
      'messages_in',
      'messages_out',
      'unread_count',
      'visit_id',
      'source',
      'channel_group',
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'utm_term',
      'utm_content',
      'referrer',
      'landing_url',
      'click_ids',
    ],
  },
  { name: 'dialog_managers', columns: ['project_id', 'dialog_id', 'user_id', 'assigned_at'] },
  {
    name: 'messages',
    columns: [
      'project_id',
      'id',
      'dialog_id',
      'channel_id',
      'direction',
      'author_type',
      'author_id',
      'author_name',
      'text',
      'attachments',
      'created_at',
      'status',
      'failure_reason',
      'platform_message_id',
      'updated_at',
    ],
  },
];

/** Tables whose ids the seed assigns (their identity sequences are bumped afterwards on PostgreSQL). */
const ID_TABLES = ['visits', 'clients', 'client_identities', 'dialogs', 'messages'] as const;

interface Sink {
  begin(): Promise<void>;
  row(table: number, values: Cell[]): void;
  /** True when the consumer is behind: await drain() before producing more. */
  readonly pressured: boolean;
  drain(): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  close(): Promise<void>;
}

/** The FTS5 insert trigger of migration 002, as the seed expects to find it (whitespace-normalised). */
const FTS_TRIGGER = 'messages_fts_ai';
const FTS_TRIGGER_BODY =
  'CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END';

/**
 * Prepared statements in one transaction per batch. Indexing message text row by row through the
 * FTS5 trigger costs about twice as much as indexing the batch in one statement, so each batch
 * drops the trigger, indexes its messages at the end and re-creates the trigger — all inside the
 * batch's transaction, so no reader or crash ever sees the table without it. Done only when the
 * trigger is exactly the one the seed knows; any other schema is left alone.
 */
class SqliteSink implements Sink {
  readonly pressured = false;
  private readonly stmts: Statement[];
  private readonly ftsTriggerSql: string | null;
  private minMessageId = Infinity;
  private maxMessageId = -Infinity;
  constructor(private readonly db: SqliteDatabase) {
    this.stmts = BULK_TABLES.map((t) =>
      db.prepare(`INSERT INTO ${t.name} (${t.columns.join(', ')}) VALUES (${t.columns.map(() => '?').join(', ')})`),
    );
    const trigger = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?").get(FTS_TRIGGER) as
      | { sql: string }
      | undefined;
    this.ftsTriggerSql = trigger && trigger.sql.replace(/\s+/g, ' ').trim() === FTS_TRIGGER_BODY ? trigger.sql : null;
  }
  async begin() {
    this.db.exec('BEGIN');
    if (this.ftsTriggerSql) this.db.exec(`DROP TRIGGER ${FTS_TRIGGER}`);
    this.minMessageId = Infinity;
    this.maxMessageId = -Infinity;
  }
  row(table: number, values: Cell[]) {
    this.stmts[table]!.run(values);
    if (table === T_MESSAGES) {
      const id = values[1] as number;
      if (id < this.minMessageId) this.minMessageId = id;
      if (id > this.maxMessageId) this.maxMessageId = id;
    }
  }
  async drain() {}
  async commit() {
    if (this.ftsTriggerSql) {
      if (this.maxMessageId >= this.minMessageId) {
        this.db
          .prepare('INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages WHERE id BETWEEN ? AND ?')
          .run(this.minMessageId, this.maxMessageId);
      }
      this.db.exec(this.ftsTriggerSql);
    }
    this.db.exec('COMMIT');
  }
  async abort() {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }
  async close() {}
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_G = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const copyEscape = (c: string) => COPY_ESCAPES[c]!;

/** One row in COPY's text format: tab-separated, `\N` for NULL, backslash escapes. */
export function copyLine(values: readonly Cell[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) line += '\t';
    if (v === null || v === undefined) line += '\\N';
    else if (typeof v === 'number') line += String(v);
    else line += COPY_SPECIAL.test(v) ? v.replace(COPY_SPECIAL_G, copyEscape) : v;
  }
  return `${line}\n`;
}

interface CopyTarget {
  client: pg.Client;
  stream: CopyStreamQuery;
  buf: string;
}

/**
 * One COPY per table per batch, each on its own connection and in its own transaction: PostgreSQL
 * ingests the tables in parallel, and in parallel with the generator. The connections are the
 * seed's own (same settings as the store's pool), so a small pool cannot starve them.
 */
class PgCopySink implements Sink {
  private targets: CopyTarget[] = [];
  private connections: pg.Client[] = [];
  private waits: Promise<unknown>[] = [];
  private failure: Error | null = null;
  constructor(private readonly pool: pg.Pool) {}

  get pressured() {
    return this.waits.length > 0 || this.failure !== null;
  }

  async begin() {
    this.targets = [];
    while (this.connections.length < BULK_TABLES.length) {
      const client = new pg.Client(this.pool.options);
      client.on('error', (err: Error) => {
        this.failure ??= err;
      });
      await client.connect();
      this.connections.push(client);
    }
    for (let i = 0; i < BULK_TABLES.length; i++) {
      const t = BULK_TABLES[i]!;
      const client = this.connections[i]!;
      await client.query('BEGIN');
      // A lost seed batch after a crash is harmless; waiting for each WAL flush is not free.
      await client.query('SET LOCAL synchronous_commit = off');
      const stream = client.query(
        copyFrom(`COPY ${t.name} (${t.columns.join(', ')}) FROM STDIN`, { highWaterMark: 1 << 20 }),
      );
      stream.on('error', (err: Error) => {
        this.failure ??= err;
      });
      this.targets.push({ client, stream, buf: '' });
    }
  }

  row(table: number, values: Cell[]) {
    const t = this.targets[table]!;
    t.buf += copyLine(values);
    if (t.buf.length >= 1 << 16) this.flush(t);
  }

  private flush(t: CopyTarget) {
    if (t.buf.length === 0) return;
    const ok = t.stream.write(t.buf);
    t.buf = '';
    if (!ok) {
      const wait = once(t.stream, 'drain');
      wait.catch(() => {}); // observed in drain(); a failure also surfaces through `failure`
      this.waits.push(wait);
    }
  }

  async drain() {
    if (this.failure) throw this.failure;
    const waits = this.waits;
    this.waits = [];
    await Promise.all(waits);
    if (this.failure) throw this.failure;
  }

  async commit() {
    for (const t of this.targets) {
      this.flush(t);
      t.stream.end();
    }
    await Promise.all(this.targets.map((t) => finished(t.stream)));
    if (this.failure) throw this.failure;
    for (const t of this.targets) await t.client.query('COMMIT');
    this.targets = [];
    this.waits = [];
  }

  async abort() {
    // Closing the connections rolls back whatever each one had not committed.
    this.targets = [];
    this.waits = [];
    await this.close();
  }

  async close() {
    const connections = this.connections;
    this.connections = [];
    await Promise.all(connections.map((c) => c.end().catch(() => {})));
  }
}

// ---------------------------------------------------------------------------------------------
// Setup: project, users, channels, numbers (a handful of rows, through Kysely).

interface ManagerRef {
  id: number;
  name: string;
  first: string;
  sort: string;
  weight: number;
  activeFrom: number;
  activeTo: number;
  female: boolean;
}

interface ChannelRef {
  id: number;
  type: ChannelType;
  /** Per-channel salt for platform ids. */
  salt: number;
}

interface NumberRef {
  id: number;
  e164: string;
}

interface Setup {
  managers: ManagerRef[];
  supervisor: { id: number; name: string } | null;
  channels: Record<ChannelType, ChannelRef>;
  smsNumbers: NumberRef[];
  outboundNumber: NumberRef;
}

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const HEX = '0123456789abcdef';

/** The numbers outbound-only by the default rule (SPEC R6). */
function isOutboundOnly(e164: string): boolean {
  return e164.replace(/^\+/, '').startsWith(OUTBOUND_ONLY_PREFIX);
}

async function bumpIdentity(store: Store, table: string) {
  await store.pgPool!.query(
    `SELECT setval(pg_get_serial_sequence('${table}', 'id'), m) FROM (SELECT max(id) AS m FROM ${table}) t WHERE m IS NOT NULL`,
  );
}

async function setUp(store: Store, projectId: number, rng: Rng, windowStart: number): Promise<Setup> {
  const db = store.db;
  const now = windowStart - 30 * DAY;

  const project = await db.selectFrom('projects').select('id').where('id', '=', projectId).executeTakeFirst();
  if (!project) {
    // The key must be unique across projects: mix the project id into the generator's choice.
    const keyRng = new Rng(mix32(rng.u32() ^ mix32(projectId)));
    await db
      .insertInto('projects')
      .values({
        id: projectId,
        name: 'Demo — Sklep Rowerowy',
        time_zone: TZ,
        language: 'pl',
        public_key: `pk_${keyRng.chars(B62, 24)}`,
        settings: '{}',
        created_at: now,
      })
      .execute();
    if (store.dialect === 'postgres') await bumpIdentity(store, 'projects');
  }

  // Managers: those of the project, or a new team.
  const members = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id', 'users.name', 'memberships.role'])
    .where('memberships.project_id', '=', projectId)
    .orderBy('users.id')
    .execute();
  const managers: ManagerRef[] = [];
  let supervisor: { id: number; name: string } | null = null;
  const existingManagers = members.filter((m) => m.role === 'manager');
  if (existingManagers.length > 0) {
    for (const m of existingManagers) {
      managers.push({
        id: m.id,
        name: m.name,
        first: m.name.split(' ')[0] ?? m.name,
        sort: sortKey(m.name),
        weight: 0.6 + rng.next(),
        activeFrom: -Infinity,
        activeTo: Infinity,
        female: PL.isFemaleName(m.name.split(' ')[0] ?? ''),
      });
    }
    const sup = members.find((m) => m.role === 'supervisor') ?? members.find((m) => m.role === 'admin');
    supervisor = sup ? { id: sup.id, name: sup.name } : null;
  } else {
    const count = rng.range(8, 15);
    const seen = new Set<string>();
    const people: { first: string; last: string }[] = [];
    while (people.length < count + 1) {
      const female = rng.chance(0.5);
      const first = rng.pick(female ? PL.FEMALE_FIRST_NAMES : PL.MALE_FIRST_NAMES);
      const last = rng.pick(PL.SURNAMES)[female ? 1 : 0];
      if (seen.has(`${first} ${last}`)) continue;
      seen.add(`${first} ${last}`);
      people.push({ first, last });
    }
    for (let i = 0; i < people.length; i++) {
      const { first, last } = people[i]!;
      const name = `${first} ${last}`;
      const isSupervisor = i === people.length - 1;
      // A realistic team: most were there all along, a couple joined later, one has left.
      let activeFrom = -Infinity;
      let activeTo = Infinity;
      if (!isSupervisor && i >= 2 && i < 4) activeFrom = windowStart + rng.range(30, 120) * DAY;
      if (!isSupervisor && i === 4) activeTo = windowStart + rng.range(60, 150) * DAY;
      const joined = Number.isFinite(activeFrom) ? activeFrom - rng.range(1, 5) * DAY : now - rng.range(0, 300) * DAY;
      const email = `${PL.asciiFold(first)}.${PL.asciiFold(last)}+p${projectId}@demo.dziennik.local`.toLowerCase();
      const existing = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
      const id =
        existing?.id ??
        (
          await db
            .insertInto('users')
            .values({
              email,
              name,
              password_hash: null,
              locale: 'pl',
              disabled: Number.isFinite(activeTo) ? 1 : 0,
              created_at: joined,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id;
      await db
        .insertInto('memberships')
        .values({
          project_id: projectId,
          user_id: id,
          role: isSupervisor ? 'supervisor' : 'manager',
          created_at: joined,
        })
        .onConflict((oc) => oc.columns(['project_id', 'user_id']).doNothing())
        .execute();
      if (isSupervisor) supervisor = { id, name };
      else {
        managers.push({
          id,
          name,
          first,
          sort: sortKey(name),
          weight: 0.5 + rng.next() * 1.2,
          activeFrom,
          activeTo,
          female: PL.isFemaleName(first),
        });
      }
    }
  }

  // Channels: one of each platform.
  const existingChannels = await db
    .selectFrom('channels')
    .select(['id', 'type'])
    .where('project_id', '=', projectId)
    .orderBy('id')
    .execute();
  const channelConfig: Record<ChannelType, { name: string; config: object }> = {
    telegram: { name: 'Telegram: @SklepRowerowyBot', config: { botUsername: 'SklepRowerowyBot' } },
    viber: { name: 'Viber: Sklep Rowerowy', config: { botName: 'Sklep Rowerowy', uri: 'sklep-rowerowy' } },
    messenger: {
      name: 'Messenger: Sklep Rowerowy',
      config: { pageId: `10${rng.chars('0123456789', 13)}`, pageName: 'Sklep Rowerowy' },
    },
    sms: { name: 'SMS: bramka SMPP', config: { protocol: 'smpp', systemId: 'sklep_rowerowy' } },
  };
  const channels = {} as Record<ChannelType, ChannelRef>;
  for (const type of ['telegram', 'viber', 'messenger', 'sms'] as const) {
    const salt = rng.u32();
    const found = existingChannels.find((c) => c.type === type || (type === 'sms' && c.type === 'sms-http'));
    const webhookSecret = rng.chars(HEX, 32);
    const id =
      found?.id ??
      (
        await db
          .insertInto('channels')
          .values({
            project_id: projectId,
            type,
            name: channelConfig[type].name,
            credentials: '',
            config: JSON.stringify(channelConfig[type].config),
            webhook_secret: webhookSecret,
            enabled: 1,
            created_at: now + DAY,
            updated_at: now + DAY,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
    channels[type] = { id, type, salt };
  }

  // Numbers of the SMS channel: a few ordinary ones and one outbound-only.
  const sms = channels.sms;
  const existingNumbers = await db
    .selectFrom('numbers')
    .select(['id', 'e164', 'channel_id', 'outbound_only'])
    .where('project_id', '=', projectId)
    .orderBy('id')
    .execute();
  const taken = new Set(existingNumbers.map((n) => n.e164));
  const onSms = existingNumbers.filter((n) => n.channel_id === sms.id);
  const isOutbound = (n: { e164: string; outbound_only: number | null }) =>
    n.outbound_only === null ? isOutboundOnly(n.e164) : n.outbound_only === 1;
  const smsNumbers: NumberRef[] = onSms.filter((n) => !isOutbound(n)).map((n) => ({ id: n.id, e164: n.e164 }));
  let outbound = onSms.filter(isOutbound).map((n) => ({ id: n.id, e164: n.e164 }))[0];
  const addNumber = async (e164: string): Promise<NumberRef> => {
    taken.add(e164);
    const row = await db
      .insertInto('numbers')
      .values({
        project_id: projectId,
        channel_id: sms.id,
        e164,
        sms_enabled: 1,
        outbound_only: null,
        created_at: now + DAY,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: row.id, e164 };
  };
  const freshNumber = (prefix: string, digits: number) => {
    for (;;) {
      const e164 = `+${prefix}${rng.chars('0123456789', digits)}`;
      if (!taken.has(e164)) return e164;
    }
  };
  if (smsNumbers.length === 0) {
    for (const p of ['4850', '4860', '4872', '4888']) smsNumbers.push(await addNumber(freshNumber(p, 7)));
  }
  if (!outbound) outbound = await addNumber(freshNumber(OUTBOUND_ONLY_PREFIX, 6));
  return { managers, supervisor, channels, smsNumbers, outboundNumber: outbound };
}

async function maxId(store: Store, table: string): Promise<number> {
  if (store.dialect === 'postgres') {
    const r = await store.pgPool!.query(`SELECT coalesce(max(id), 0) AS m FROM ${table}`);
    return Number(r.rows[0].m);
  }
  const r = store.sqlite!.prepare(`SELECT coalesce(max(id), 0) AS m FROM ${table}`).get() as { m: number };
  return Number(r.m);
}

// ---------------------------------------------------------------------------------------------
// Time: Warsaw's rhythm.

/** Local (project zone) weekday and hour of instants, with offsets cached per UTC hour. */
class LocalClock {
  private readonly offsets = new Map<number, number>();
  constructor(private readonly tz: string) {}
  offsetMs(ms: number): number {
    const bucket = Math.floor(ms / HOUR);
    let off = this.offsets.get(bucket);
    if (off === undefined) {
      off = zoneOffsetMinutes(bucket * HOUR, this.tz) * MINUTE;
      this.offsets.set(bucket, off);
    }
    return off;
  }
  /** Whether the shop's team is at work: Mon–Fri 8–20, Sat 9–15. */
  isWorking(ms: number): boolean {
    const local = ms + this.offsetMs(ms);
    const day = Math.floor(local / DAY);
    const dow = (day + 4) % 7; // 1970-01-01 was a Thursday
    const hour = Math.floor((local - day * DAY) / HOUR);
    if (dow >= 1 && dow <= 5) return hour >= 8 && hour < 20;
    if (dow === 6) return hour >= 9 && hour < 15;
    return false;
  }
  /** The first working moment at or after `ms` (on a local hour boundary if not already working). */
  nextWorking(ms: number): number {
    let t = ms;
    for (let i = 0; i < 24 * 8 && !this.isWorking(t); i++) {
      const off = this.offsetMs(t);
      t = (Math.floor((t + off) / HOUR) + 1) * HOUR - off;
    }
    return t;
  }
}

const HOURLY_WEEKDAY = [
  0.15, 0.08, 0.05, 0.04, 0.05, 0.1, 0.3, 0.8, 1.6, 2.4, 2.8, 2.9, 2.7, 2.6, 2.7, 2.6, 2.4, 2.2, 2.0, 1.9, 1.8, 1.5,
  1.0, 0.5,
];
const HOURLY_WEEKEND = [
  0.25, 0.12, 0.06, 0.04, 0.04, 0.06, 0.15, 0.35, 0.8, 1.4, 1.9, 2.1, 2.1, 2.0, 1.9, 1.9, 1.8, 1.8, 1.9, 2.0, 1.9, 1.5,
  1.0, 0.6,
];
/** Sunday first. */
const WEEKDAY_FACTOR = [0.55, 1.15, 1.1, 1.05, 1.0, 0.95, 0.7];
/** Public holidays in Poland (month-day), when few people write to a shop. */
const HOLIDAYS = new Set(['01-01', '01-06', '05-01', '05-03', '08-15', '11-01', '11-11', '12-25', '12-26']);
const MOVABLE_HOLIDAYS = new Set([
  '2025-04-20',
  '2025-04-21',
  '2025-06-19',
  '2026-04-05',
  '2026-04-06',
  '2026-06-04',
  '2027-03-28',
  '2027-03-29',
  '2027-05-27',
]);

interface DayPlan {
  /** Instants at which each local hour starts, plus the next day's start (25 entries). */
  hourStarts: number[];
  /** How busy each local hour is, zero for hours outside the window (the anchor's day). */
  hours: Weighted<number>;
  count: number;
}

function planDays(total: number, windowStart: number, anchor: number, rng: Rng): DayPlan[] {
  const days: { weight: number; hourStarts: number[]; hours: Weighted<number> }[] = [];
  const first = new Date(windowStart + zoneOffsetMinutes(windowStart, TZ) * MINUTE);
  let cursor = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate());
  const spikes = new Set<number>();
  for (let i = 0; i < 5; i++) spikes.add(rng.int(WINDOW_DAYS + 1));
  for (let i = 0; ; i++, cursor += DAY) {
    const date = new Date(cursor);
    const y = date.getUTCFullYear();
    const m = date.getUTCMonth() + 1;
    const d = date.getUTCDate();
    if (zonedWallTimeToInstant(y, m, d, 0, 0, TZ) >= anchor) break;
    const dow = date.getUTCDay();
    const iso = date.toISOString().slice(0, 10);
    const doy = (cursor - Date.UTC(y, 0, 1)) / DAY;
    let w = WEEKDAY_FACTOR[dow]!;
    w *= 1 + 0.35 * Math.cos((2 * Math.PI * (doy - 160)) / 365); // the cycling season peaks in June
    w *= 1 + (0.25 * i) / WINDOW_DAYS; // a growing business
    if (HOLIDAYS.has(iso.slice(5)) || MOVABLE_HOLIDAYS.has(iso)) w *= 0.35;
    if (spikes.has(i)) w *= 1.6; // a newsletter or a sale
    w *= Math.max(0.6, 1 + 0.12 * rng.normal());
    const hourStarts: number[] = [];
    for (let h = 0; h < 24; h++) hourStarts.push(zonedWallTimeToInstant(y, m, d, h, 0, TZ));
    const next = new Date(cursor + DAY);
    hourStarts.push(zonedWallTimeToInstant(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, TZ));
    // Only the part of the day inside [windowStart, anchor) counts.
    const base = dow === 0 || dow === 6 ? HOURLY_WEEKEND : HOURLY_WEEKDAY;
    const clipped = base.map((hw, h) => {
      const from = Math.max(hourStarts[h]!, windowStart);
      const to = Math.min(hourStarts[h + 1]!, anchor);
      return to > from ? (hw * (to - from)) / HOUR : 0;
    });
    const full = base.reduce((a, b) => a + b, 0);
    const inside = clipped.reduce((a, b) => a + b, 0);
    if (inside === 0) continue;
    days.push({
      weight: (w * inside) / full,
      hourStarts,
      hours: new Weighted(clipped.map((hw, h) => [h, hw] as const)),
    });
  }
  const totalWeight = days.reduce((s, x) => s + x.weight, 0);
  const plans: DayPlan[] = [];
  let cumulative = 0;
  let assigned = 0;
  for (const day of days) {
    cumulative += (total * day.weight) / totalWeight;
    const upTo = Math.round(cumulative);
    plans.push({ hourStarts: day.hourStarts, hours: day.hours, count: upTo - assigned });
    assigned = upTo;
  }
  return plans;
}

// ---------------------------------------------------------------------------------------------
// Traffic sources of website visits.

interface Attribution {
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmTerm: string | null;
  utmContent: string | null;
  referrer: string | null;
  clickIds: string | null;
}

const SITE = 'https://sklep-rowerowy.pl';
const LANDING_PATHS = [
  '/',
  '/rowery/elektryczne',
  '/rowery/gorskie',
  '/rowery/gorskie/kross-hexagon-6-0',
  '/rowery/trekkingowe',
  '/rowery/dzieciece',
  '/akcesoria/kaski',
  '/akcesoria/oswietlenie',
  '/serwis',
  '/promocje',
  '/kontakt',
];
const REFERRAL_SITES = [
  'https://forum.rowerowe.pl/viewtopic.php?t=48213',
  'https://www.bikeboard.pl/porady/jaki-rower-elektryczny',
  'https://rowerowetrasy.pl/blog/najlepsze-sklepy-rowerowe',
  'https://www.mtbxc.pl/forum/temat/serwis-krakow',
  'https://www.wirtualnemedia.pl/',
  'https://jakirower.pl/ranking-2026',
];

type Profile =
  | 'google-cpc'
  | 'google-organic'
  | 'bing-organic'
  | 'facebook-paid'
  | 'instagram-bio'
  | 'instagram-ref'
  | 'facebook-ref'
  | 'newsletter'
  | 'direct'
  | 'referral';
const PROFILES = new Weighted<Profile>([
  ['google-cpc', 22],
  ['google-organic', 20],
  ['bing-organic', 2],
  ['facebook-paid', 12],
  ['instagram-bio', 5],
  ['instagram-ref', 2],
  ['facebook-ref', 4],
  ['newsletter', 8],
  ['direct', 14],
  ['referral', 8],
]);
const CPC_CAMPAIGNS = [
  'rowery_elektryczne_2026',
  'rowery_gorskie',
  'marka_sklep_rowerowy',
  'akcesoria_jesien',
  'serwis_krakow',
];
const CPC_TERMS = [
  'rower elektryczny',
  'rower górski 29',
  'kask rowerowy',
  'sklep rowerowy kraków',
  'rower trekkingowy damski',
  'serwis rowerowy',
];
const FB_CAMPAIGNS = ['lato_2026_promocja', 'retargeting_koszyk', 'e-bike_lookalike', 'wyprzedaz_jesien'];
const FB_CONTENT = ['karuzela', 'wideo_15s', 'post_1', 'stories'];

function attribution(rng: Rng, at: number): Attribution {
  const a: Attribution = {
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    utmTerm: null,
    utmContent: null,
    referrer: null,
    clickIds: null,
  };
  switch (PROFILES.pick(rng)) {
    case 'google-cpc':
      a.utmSource = 'google';
      a.utmMedium = 'cpc';
      a.utmCampaign = rng.pick(CPC_CAMPAIGNS);
      a.utmTerm = rng.pick(CPC_TERMS);
      a.utmContent = rng.chance(0.6) ? `rsa_${rng.range(1, 4)}` : null;
      a.referrer = 'https://www.google.com/';
      a.clickIds = `gclid=Cj0KCQjw${randomChars(rng, B64URL, 60)}`;
      break;
    case 'google-organic':
      a.referrer = rng.chance(0.7) ? 'https://www.google.com/' : 'https://www.google.pl/';
      break;
    case 'bing-organic':
      a.referrer = 'https://www.bing.com/';
      break;
    case 'facebook-paid':
      a.utmSource = 'facebook';
      a.utmMedium = 'paid_social';
      a.utmCampaign = rng.pick(FB_CAMPAIGNS);
      a.utmContent = rng.pick(FB_CONTENT);
      a.referrer = rng.chance(0.5) ? 'https://m.facebook.com/' : 'https://l.facebook.com/';
      a.clickIds = `fbclid=IwAR${randomChars(rng, B64URL, 56)}`;
      break;
    case 'instagram-bio':
      a.utmSource = 'instagram';
      a.utmMedium = 'social';
      a.utmCampaign = 'bio_link';
      a.referrer = 'https://l.instagram.com/';
      break;
    case 'instagram-ref':
      a.referrer = 'https://l.instagram.com/';
      break;
    case 'facebook-ref':
      a.referrer = 'https://l.facebook.com/';
      a.clickIds = `fbclid=IwAR${randomChars(rng, B64URL, 56)}`;
      break;
    case 'newsletter': {
      const d = new Date(at);
      a.utmSource = 'newsletter';
      a.utmMedium = 'email';
      a.utmCampaign = `newsletter_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
      a.utmContent = rng.chance(0.5) ? 'baner_gora' : 'przycisk_cta';
      break;
    }
    case 'direct':
      break;
    case 'referral':
      a.referrer = rng.pick(REFERRAL_SITES);
      break;
  }
  return a;
}

function landingUrl(rng: Rng, a: Attribution): string {
  const params: string[] = [];
  const add = (k: string, v: string | null) => {
    if (v !== null) params.push(`${k}=${encodeURIComponent(v)}`);
  };
  add('utm_source', a.utmSource);
  add('utm_medium', a.utmMedium);
  add('utm_campaign', a.utmCampaign);
  add('utm_term', a.utmTerm);
  add('utm_content', a.utmContent);
  if (a.clickIds) params.push(a.clickIds);
  return `${SITE}${rng.pick(LANDING_PATHS)}${params.length ? `?${params.join('&')}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// External ids: random-looking, unique by construction (a bijection of the row id), plausible.

function randomChars(rng: Rng, alphabet: string, n: number): string {
  // Five 6-bit characters per 32-bit draw; alphabets here have 64 or fewer symbols.
  let s = '';
  while (s.length < n) {
    let x = rng.u32();
    for (let k = 0; k < 5 && s.length < n; k++) {
      s += alphabet[(x & 63) % alphabet.length];
      x >>>= 6;
    }
  }
  return s;
}

/** A 32-bit value as six base64 digits (injective). */
function enc6(x: number, alphabet: string): string {
  let s = '';
  for (let k = 0; k < 6; k++) {
    s += alphabet[x & 63];
    x = Math.floor(x / 64);
  }
  return s;
}

/** A non-negative integer as `width` base64url digits, most significant first (order-preserving prefix). */
function encBigEndian(x: number, width: number): string {
  let s = '';
  for (let k = 0; k < width; k++) {
    s = B64URL[x % 64] + s;
    x = Math.floor(x / 64);
  }
  return s;
}

const TWO32 = 4294967296;
function lo32(id: number) {
  return id % TWO32;
}
function hi32(id: number) {
  return Math.floor(id / TWO32);
}

/** Valid Polish mobile prefixes (excluding 79x, whose 799 block is the outbound-only range). */
const MOBILE_PREFIXES = ['45', '50', '51', '53', '57', '60', '66', '69', '72', '73', '78', '88'];
const PHONE_SPACE = MOBILE_PREFIXES.length * 1e7;
const PHONE_MULT = 1234567; // coprime with PHONE_SPACE (2^9·3·5^7): the map below is a bijection

function phoneFor(identityId: number, salt: number): string {
  const y =
    ((((identityId % PHONE_SPACE) * PHONE_MULT + (salt % PHONE_SPACE)) % PHONE_SPACE) + PHONE_SPACE) % PHONE_SPACE;
  return `+48${MOBILE_PREFIXES[Math.floor(y / 1e7)]}${String(y % 1e7).padStart(7, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// The generator.

interface ClientRef {
  clientId: number;
  identityId: number;
  name: string;
  phone: string | null;
  handle: string | null;
  authorName: string;
  female: boolean;
  unreachable: boolean;
  externalId: string;
  /** Messages so far in the chat (Telegram numbers messages per chat). */
  chatMessages: number;
}

interface PoolEntry {
  client: ClientRef;
  availableAt: number;
}

interface Msg {
  at: number;
  dir: 'in' | 'out';
  type: AuthorType;
  authorId: number | null;
  authorName: string | null;
  text: string;
  status: MessageStatus;
  failure: string | null;
  receiptAt: number;
}

type Fate = 'new' | 'open' | 'closed' | 'auto' | 'spam';
type DialogKind = ChannelType | 'outbound';

const KINDS = new Weighted<DialogKind>([
  ['telegram', 30],
  ['messenger', 25],
  ['viber', 15],
  ['sms', 27],
  ['outbound', 3],
]);

const FAILURES: Record<ChannelType, readonly string[]> = {
  telegram: ['Forbidden: bot was blocked by the user', 'Bad Request: chat not found'],
  viber: ['receiverNotSubscribed', 'Viber status 5: receiver not registered'],
  messenger: ['(#10) This message is sent outside of allowed window.', "(#551) This person isn't available right now."],
  sms: ['SMPP receipt: UNDELIV (err 001)', 'SMPP receipt: EXPIRED', 'submit_sm_resp: ESME_RINVDSTADR'],
};
const FAILURE_RATE: Record<ChannelType, number> = { telegram: 0.02, viber: 0.03, messenger: 0.03, sms: 0.03 };

const SPAM_TEXTS = [
  'Zarabiaj 5000 zł tygodniowo z domu!!! Kliknij: bit.ly/3xYz9Q',
  'Dzień dobry, oferujemy pozycjonowanie stron w TOP10 Google; cena od 299 zł/mies.',
  'Gratulacje! Wygrałeś iPhone 17. Odbierz nagrodę: hxxp://nagroda-pl.top',
];

/** A template other than `not` (when the pool has another), so that no one repeats themselves at once. */
function pickOther(rng: Rng, pool: readonly PL.Template[], not: PL.Template): PL.Template {
  const t = rng.pick(pool);
  return t === not && pool.length > 1 ? pool[(pool.indexOf(t) + 1) % pool.length]! : t;
}

function clamp(x: number, lo: number, hi: number) {
  return Math.min(hi, Math.max(lo, x));
}

class Generator {
  readonly counts = { dialogs: 0, messages: 0 };
  private nextId: Record<(typeof ID_TABLES)[number], number>;
  private readonly pools: Record<ChannelType, PoolEntry[]> = { sms: [], telegram: [], viber: [], messenger: [] };
  private readonly clock = new LocalClock(TZ);
  private readonly msgs: Msg[] = [];
  private readonly salts: { phone: number; telegram: number; viber: number; messenger: number; visit: number };
  private readonly smsNumberPick: Weighted<NumberRef>;
  private pendingClient: Cell[] | null = null;
  private pendingIdentity: Cell[] | null = null;

  constructor(
    private readonly rng: Rng,
    private readonly projectId: number,
    private readonly setup: Setup,
    private readonly sink: Sink,
    private readonly anchor: number,
    startIds: Record<(typeof ID_TABLES)[number], number>,
  ) {
    this.nextId = { ...startIds };
    this.salts = { phone: rng.u32(), telegram: rng.u32(), viber: rng.u32(), messenger: rng.u32(), visit: rng.u32() };
    this.smsNumberPick = new Weighted(setup.smsNumbers.map((n, i) => [n, i === 0 ? 3 : 1] as const));
  }

  private take(table: (typeof ID_TABLES)[number]): number {
    return ++this.nextId[table];
  }

  private sec(seconds: number): number {
    return Math.max(1, Math.round(seconds)) * SECOND;
  }

  private pickManager(at: number): ManagerRef {
    const ms = this.setup.managers;
    let total = 0;
    for (const m of ms) if (at >= m.activeFrom && at < m.activeTo) total += m.weight;
    if (total === 0) return this.rng.pick(ms);
    let x = this.rng.next() * total;
    for (const m of ms) {
      if (at >= m.activeFrom && at < m.activeTo) {
        x -= m.weight;
        if (x < 0) return m;
      }
    }
    return ms[ms.length - 1]!;
  }

  /** When a manager answers a message that arrived at `after`. */
  private replyAt(after: number, first: boolean): number {
    const r = this.rng;
    if (this.clock.isWorking(after)) return after + this.sec(clamp(r.logNormal(first ? 240 : 100, 1.0), 10, 4 * 3600));
    if (r.chance(0.1)) return after + this.sec(clamp(r.logNormal(900, 1.0), 30, 3 * 3600)); // someone on duty
    return this.clock.nextWorking(after) + this.sec(clamp(r.logNormal(1200, 0.8), 60, 3 * 3600));
  }

  private clientGap(): number {
    const r = this.rng;
    if (r.chance(0.08)) return this.sec(clamp(r.logNormal(4 * 3600, 0.8), 600, 3 * 86400));
    return this.sec(clamp(r.logNormal(150, 1.1), 5, 6 * 3600));
  }

  private newClient(kind: ChannelType, at: number, channel: ChannelRef, anonymous: boolean): ClientRef {
    const r = this.rng;
    const clientId = this.take('clients');
    const identityId = this.take('client_identities');
    const female = r.chance(0.55);
    const first = r.pick(female ? PL.FEMALE_FIRST_NAMES : PL.MALE_FIRST_NAMES);
    const last = r.pick(PL.SURNAMES)[female ? 1 : 0];
    const short = PL.DIMINUTIVES[first] ?? first;
    let name = `${first} ${last}`;
    let phone: string | null = null;
    let handle: string | null = null;
    let externalId: string;
    switch (kind) {
      case 'sms':
        phone = phoneFor(identityId, this.salts.phone);
        externalId = phone;
        if (anonymous || r.chance(0.35)) name = '';
        break;
      case 'telegram': {
        externalId = String(1e9 + mix32(lo32(identityId) ^ this.salts.telegram) + hi32(identityId) * TWO32);
        const v = r.next();
        if (v < 0.2) name = short;
        else if (v < 0.4) name = `${short} ${last}`;
        else if (v < 0.48) name = `${short} 🚴`;
        if (r.chance(0.6)) {
          const base = PL.asciiFold(r.chance(0.5) ? `${short}_${last}` : `${first}${last}`).toLowerCase();
          handle = `@${base}${r.chance(0.5) ? r.range(70, 99) : ''}`;
        }
        break;
      }
      case 'viber':
        externalId = `${enc6(mix32(lo32(identityId) ^ this.salts.viber), B64)}${hi32(identityId) ? enc6(hi32(identityId), B64) : ''}${randomChars(r, B64, 16)}==`;
        if (r.chance(0.3)) name = short;
        break;
      case 'messenger':
        externalId = `${r.range(2, 9)}${String(mix32(lo32(identityId) ^ this.salts.messenger)).padStart(10, '0')}${String(r.int(100000)).padStart(5, '0')}${hi32(identityId) || ''}`;
        break;
    }
    // Written once the dialog is generated: a failed delivery may mark the identity unreachable.
    this.pendingClient = [this.projectId, clientId, name, phone, at, at];
    this.pendingIdentity = [
      this.projectId,
      identityId,
      clientId,
      channel.id,
      channel.type,
      externalId,
      name,
      handle,
      0,
      null,
      at,
    ];
    return {
      clientId,
      identityId,
      name,
      phone,
      handle,
      authorName: name || phone || handle || '',
      female,
      unreachable: false,
      externalId,
      chatMessages: 0,
    };
  }

  private visit(
    at: number,
    messenger: ChannelType | null,
  ): { id: number; a: Attribution; landing: string; group: string; source: string } {
    const r = this.rng;
    const id = this.take('visits');
    const createdAt = at - this.sec(clamp(r.logNormal(180, 1.0), 20, 7200));
    const a = attribution(r, createdAt);
    const landing = landingUrl(r, a);
    const group = classifyChannelGroup({ ...a, landingUrl: landing });
    const source = sourceLabel(a);
    const token = `${enc6(mix32(lo32(id) ^ this.salts.visit), B64URL)}${hi32(id) ? enc6(hi32(id), B64URL) : ''}${randomChars(r, B64URL, 16)}`;
    const ga = r.chance(0.7)
      ? `${r.range(100000000, 2147483647)}.${Math.floor(createdAt / 1000) - r.range(0, 90 * 86400)}`
      : null;
    this.sink.row(T_VISITS, [
      this.projectId,
      id,
      token,
      a.utmSource,
      a.utmMedium,
      a.utmCampaign,
      a.utmTerm,
      a.utmContent,
      a.referrer,
      landing,
      ga,
      a.clickIds,
      group,
      messenger === 'sms' ? null : messenger,
      createdAt,
      createdAt + DAY,
    ]);
    return { id, a, landing, group, source };
  }

  /**
   * Platform ids, unique by construction. Viber tokens, Messenger mids and SMSC ids grow with the
   * message id (real ones are roughly time-ordered too), so consecutive rows land side by side in
   * the unique index instead of all over it: random ids made the PostgreSQL load about half as fast.
   */
  private platformId(channel: ChannelRef, messageId: number, client: ClientRef): string {
    switch (channel.type) {
      case 'telegram': // chat id and the chat's own message number, as the Telegram adapter records them
        return `${client.externalId}:${++client.chatMessages}`;
      case 'viber': // 19 digits, like 5190231884526402375
        return `5${String(channel.salt % 1000).padStart(3, '0')}${String(messageId * 100 + this.rng.int(100)).padStart(15, '0')}`;
      case 'messenger': // m_ and some 70 URL-safe characters
        return `m_${enc6(channel.salt, B64URL).slice(0, 4)}${encBigEndian(messageId, 8)}${randomChars(this.rng, B64URL, 58)}`;
      case 'sms': // an SMSC's hexadecimal message_id
        return `${(channel.salt & 0xfff).toString(16).padStart(3, '0')}${messageId.toString(16).padStart(9, '0')}`;
    }
  }

  /** Generates one dialog created at `created` and emits all its rows. */
  dialog(created: number) {
    const r = this.rng;
    const s = this.setup;
    const kind = KINDS.pick(r);
    const type: ChannelType = kind === 'outbound' ? 'sms' : kind;
    const channel = s.channels[type];
    const msgs = this.msgs;
    msgs.length = 0;

    // Fate: most dialogs are closed; recent ones are more often still open.
    const ageDays = (this.anchor - created) / DAY;
    let fate: Fate;
    if (kind === 'outbound') fate = r.chance(0.8) ? 'closed' : 'open';
    else if (r.chance(0.11 + 0.45 * Math.exp(-ageDays / 8))) fate = r.chance(0.67) ? 'open' : 'new';
    else {
      const x = r.next();
      fate = x < 0.04 ? 'auto' : x < 0.06 ? 'spam' : 'closed';
    }

    // The client: a returning one (R7: a new dialog after the previous closed) or a new one.
    let returning: ClientRef | null = null;
    if (kind !== 'outbound' && fate !== 'spam' && r.chance(0.15)) {
      const pool = this.pools[type];
      if (pool.length > 0) {
        const i = r.int(pool.length);
        const e = pool[i]!;
        if (e.availableAt < created - HOUR) {
          returning = e.client;
          pool[i] = pool[pool.length - 1]!;
          pool.pop();
        }
      }
    }
    const isNewClient = returning === null;
    const client = returning ?? this.newClient(type, created, channel, kind === 'outbound');

    // The visit that led to the dialog.
    let visit: ReturnType<Generator['visit']> | null = null;
    if (kind !== 'outbound' && r.chance(type === 'sms' ? 0.08 : 0.7)) visit = this.visit(created, type);

    const topic = r.pick(PL.TOPICS);
    const opening = r.int(topic.clientOpen.length);
    const city = r.pick(PL.CITIES);
    const m1 = this.pickManager(created);
    let m2: ManagerRef | null = null;
    const slots: PL.TemplateSlots = {
      product: r.pick(PL.PRODUCTS),
      order: r.chance(0.5) ? `ZAM/2026/${String(r.int(100000)).padStart(5, '0')}` : `#${r.range(10000, 99999)}`,
      price: `${r.range(3, 89) * 100 - 1} zł`.replace(/^(\d)(\d{3}) /, '$1 $2 '),
      day: r.pick(PL.DAYS),
      hour: r.pick(PL.HOURS),
      city: city[0],
      cityGen: city[1],
      cityIn: city[2],
      size: r.pick(PL.SIZES),
      tracking: r.chance(0.5)
        ? `${r.range(1000, 9999)}${r.range(10000000, 99999999)}U`
        : `6${r.chars('0123456789', 23)}`,
      manager: m1.first,
      nextManager: '',
    };
    let manager = m1;
    const render = (t: PL.Template) => PL.renderTemplate(t, slots, client.female);
    const renderM = (t: PL.Template) => PL.renderTemplate(t, slots, manager.female);
    const clientMsg = (at: number, text: string) => {
      if (r.chance(0.08)) text = PL.asciiFold(text).toLowerCase(); // typed in a hurry
      msgs.push({
        at,
        dir: 'in',
        type: 'client',
        authorId: null, // author ids are users'; the client is the dialog's
        authorName: client.authorName,
        text,
        status: 'received',
        failure: null,
        receiptAt: at,
      });
    };
    const outMsg = (at: number, type: AuthorType, m: ManagerRef | null, text: string) => {
      msgs.push({
        at,
        dir: 'out',
        type,
        authorId: m?.id ?? null,
        authorName: m?.name ?? null,
        text,
        status: 'sent',
        failure: null,
        receiptAt: at,
      });
    };

    let assigned: { m: ManagerRef; at: number }[] = [];
    let closedAt: number | null = null;
    let closedBy: { id: number; name: string } | null = null;
    let closeReason: string | null = null;
    let transferIndex = -1;

    if (kind === 'outbound') {
      // A manager writes from the outbound-only number; the client cannot answer.
      assigned = [{ m: m1, at: created }];
      let t = created;
      const n = 1 + (r.chance(0.35) ? 1 : 0) + (r.chance(0.1) ? 1 : 0);
      for (let i = 0; i < n; i++) {
        if (i > 0) t += this.sec(clamp(r.logNormal(2 * 86400, 0.6), 3600, 10 * 86400));
        outMsg(t, 'manager', m1, renderM(r.pick(PL.OUTBOUND_ONLY_SMS)));
      }
      if (fate === 'closed') {
        closedAt = t + this.sec(clamp(r.logNormal(300, 1.0), 5, 86400));
        closedBy = m1;
      }
    } else {
      let t = created;
      clientMsg(t, fate === 'spam' ? r.pick(SPAM_TEXTS) : render(topic.clientOpen[opening]!));
      const working = this.clock.isWorking(created);
      if (fate !== 'spam' && r.chance(working ? 0.15 : 0.9)) {
        outMsg(
          created + this.sec(r.range(1, 3)),
          'auto',
          null,
          render(working ? PL.AUTO_REPLY_WORKING : PL.AUTO_REPLY_CLOSED),
        );
      }
      if (fate !== 'spam' && r.chance(0.3)) {
        t += this.sec(r.range(8, 90));
        clientMsg(t, render(r.pick(PL.CLIENT_ADDONS)));
      }

      if (fate === 'new' || fate === 'auto') {
        if (r.chance(0.3)) {
          t += this.sec(clamp(r.logNormal(2400, 1.0), 120, 86400));
          clientMsg(t, render(r.pick(PL.CLIENT_NUDGES)));
        }
        if (fate === 'auto') {
          closedAt = t + AUTO_CLOSE_AFTER;
          closeReason = 'Zamknięte automatycznie po 48 h bez aktywności';
        }
      } else if (fate === 'spam') {
        const closer = this.pickManager(created);
        closedAt = this.replyAt(t, true);
        closedBy = closer;
        closeReason = 'Spam';
      } else if (fate === 'open' && r.chance(0.12)) {
        // Taken, not answered yet.
        assigned = [{ m: m1, at: this.replyAt(t, true) }];
      } else {
        // A conversation: the first answer, a few exchanges, perhaps a transfer, a goodbye.
        t = this.replyAt(t, true);
        assigned = [{ m: m1, at: t }];
        outMsg(t, 'manager', manager, renderM(topic.managerFirst[opening]!));
        if (r.chance(0.2)) {
          t += this.sec(r.range(20, 120));
          outMsg(t, 'manager', manager, renderM(r.pick(PL.MANAGER_ADDONS)));
        }
        const exchanges = Math.min(14, Math.floor(-Math.log(1 - r.next()) * 3.9));
        const transferAt = r.chance(0.06) && exchanges > 0 ? r.int(exchanges) : -1;
        const follows = topic.clientFollow.length;
        const fStart = r.int(follows);
        for (let k = 0; k < exchanges; k++) {
          t += this.clientGap();
          // The topic's follow-up questions, each with its answer, then small talk.
          const question = k < follows ? topic.clientFollow[(fStart + k) % follows]! : r.pick(PL.CLIENT_FILLERS);
          const answer = k < follows ? topic.managerFollow[(fStart + k) % follows]! : r.pick(PL.MANAGER_FILLERS);
          clientMsg(t, render(question));
          if (r.chance(0.2)) {
            t += this.sec(r.range(5, 60));
            clientMsg(t, render(pickOther(r, PL.CLIENT_FILLERS, question)));
          }
          if (k === transferAt) {
            const next = this.pickManager(t);
            if (next.id !== manager.id) {
              t += this.sec(r.range(60, 900));
              slots.nextManager = next.first;
              slots.manager = manager.first;
              transferIndex = msgs.length;
              outMsg(t, 'system', null, render(PL.TRANSFER_NOTE));
              manager = next;
              m2 = next;
              slots.manager = next.first;
              assigned.push({ m: next, at: t });
            }
          }
          t = this.replyAt(t, false);
          outMsg(t, 'manager', manager, renderM(answer));
          if (r.chance(0.2)) {
            t += this.sec(r.range(15, 120));
            outMsg(t, 'manager', manager, renderM(pickOther(r, PL.MANAGER_ADDONS, answer)));
          }
        }
        if (r.chance(0.7)) {
          t = this.replyAt(t, false);
          outMsg(t, 'manager', manager, renderM(r.pick(PL.MANAGER_CLOSINGS)));
          if (r.chance(0.5)) {
            t += this.clientGap();
            clientMsg(t, render(r.pick(PL.CLIENT_THANKS)));
          }
        }
        if (fate === 'closed') {
          const late = r.chance(0.05);
          closedAt =
            t +
            this.sec(late ? clamp(r.logNormal(86400, 0.5), 3600, 5 * 86400) : clamp(r.logNormal(600, 1.2), 10, 86400));
          const bySupervisor = late && s.supervisor !== null;
          closedBy = bySupervisor ? s.supervisor : manager;
          closeReason = bySupervisor ? 'Klient nie odpowiada' : r.chance(0.3) ? r.pick(PL.CLOSE_REASONS) : null;
        } else {
          // Still open: the conversation so far, cut after the first answer.
          const firstManager = msgs.findIndex((m) => m.type === 'manager');
          const keep = r.range(firstManager + 1, msgs.length);
          msgs.length = keep;
        }
      }
    }

    // Messages sorted by time (stable), then cut at the anchor: nothing happens after "now".
    msgs.sort((a, b) => a.at - b.at);
    let cut = msgs.length;
    while (cut > 1 && msgs[cut - 1]!.at >= this.anchor) cut--;
    if (cut < msgs.length) msgs.length = cut;
    if (transferIndex >= 0 && !msgs.some((m) => m.type === 'system')) {
      assigned = assigned.slice(0, 1);
      m2 = null;
    }
    const lastAt = msgs[msgs.length - 1]!.at;
    assigned = assigned.filter((a) => a.at < this.anchor);
    if (closedAt !== null && closedAt >= this.anchor) {
      closedAt = null;
      closedBy = null;
      closeReason = null;
    }
    const managerRef = m2 ?? (assigned.length > 0 ? assigned[0]!.m : null);
    const currentManager = assigned.length > 0 ? managerRef : null;
    const status = closedAt !== null ? 'closed' : currentManager ? 'open' : 'new';

    // Delivery states of outbound messages; a failure only ever ends a dialog.
    let clientLater = false;
    for (let i = msgs.length - 1; i >= 0; i--) {
      const m = msgs[i]!;
      if (m.dir === 'in') {
        clientLater = true;
        continue;
      }
      if (m.type === 'system') continue;
      if (type === 'telegram') m.status = 'sent';
      else if (type === 'sms') m.status = r.chance(0.94) ? 'delivered' : 'sent';
      else m.status = clientLater || r.chance(0.75) ? 'read' : 'delivered';
      m.receiptAt =
        m.at +
        (m.status === 'read' ? this.sec(r.range(5, 900)) : m.status === 'delivered' ? this.sec(r.range(1, 10)) : 0);
    }
    const last = msgs[msgs.length - 1]!;
    if (last.type === 'manager' && r.chance(FAILURE_RATE[type])) {
      last.status = 'failed';
      last.failure = r.pick(FAILURES[type]);
      last.receiptAt = last.at + this.sec(r.range(1, 30));
      if (last.failure.startsWith('Forbidden') || last.failure.startsWith('receiverNot')) client.unreachable = true;
    }

    // Denormalised fields, from the messages as they will be stored.
    let inCount = 0;
    let outCount = 0;
    let firstClientAt: number | null = null;
    let firstResponseAt: number | null = null;
    let responder: Msg | null = null;
    let unread = 0;
    for (const m of msgs) {
      if (m.dir === 'in') inCount++;
      else outCount++;
      if (m.type === 'client') {
        if (firstClientAt === null) firstClientAt = m.at;
        responder = m;
        unread++;
      } else if (m.type === 'manager') {
        if (firstClientAt !== null && firstResponseAt === null) firstResponseAt = m.at;
        responder = m;
        unread = 0;
      }
    }
    if (status === 'closed') unread = 0;
    let updatedAt = Math.max(lastAt, closedAt ?? 0);
    for (const a of assigned) updatedAt = Math.max(updatedAt, a.at);

    const dialogId = this.take('dialogs');
    const number = type === 'sms' ? (kind === 'outbound' ? s.outboundNumber : this.smsNumberPick.pick(r)) : null;
    const searchText = [client.name, client.phone, client.handle]
      .filter((x) => x)
      .join(' ')
      .toLowerCase();
    const a = visit?.a;
    this.sink.row(T_DIALOGS, [
      this.projectId,
      dialogId,
      channel.id,
      type,
      number?.id ?? null,
      kind === 'outbound' ? 1 : 0,
      client.clientId,
      client.identityId,
      client.name,
      client.phone,
      client.handle,
      client.externalId,
      searchText,
      status,
      currentManager?.id ?? null,
      currentManager?.name ?? null,
      currentManager?.sort ?? '',
      created,
      updatedAt,
      closedAt,
      closedBy?.id ?? null,
      closedBy?.name ?? null,
      closeReason,
      last.at,
      last.dir,
      last.type,
      last.authorId,
      last.authorName,
      responder ? responder.type : null,
      responder ? responder.authorId : null,
      responder ? responder.authorName : null,
      firstClientAt,
      firstResponseAt,
      firstResponseAt !== null && firstClientAt !== null
        ? Math.round((firstResponseAt - firstClientAt) / SECOND)
        : null,
      inCount,
      outCount,
      unread,
      visit?.id ?? null,
      visit?.source ?? null,
      visit?.group ?? null,
      a?.utmSource ?? null,
      a?.utmMedium ?? null,
      a?.utmCampaign ?? null,
      a?.utmTerm ?? null,
      a?.utmContent ?? null,
      a?.referrer ?? null,
      visit?.landing ?? null,
      a?.clickIds ?? null,
    ]);
    for (const as of assigned) this.sink.row(T_DIALOG_MANAGERS, [this.projectId, dialogId, as.m.id, as.at]);
    for (const m of msgs) {
      const id = this.take('messages');
      const pid = m.type === 'system' || m.status === 'failed' ? null : this.platformId(channel, id, client);
      this.sink.row(T_MESSAGES, [
        this.projectId,
        id,
        dialogId,
        channel.id,
        m.dir,
        m.type,
        m.authorId,
        m.authorName,
        m.text,
        null,
        m.at,
        m.status,
        m.failure,
        pid,
        m.receiptAt,
      ]);
    }
    this.counts.dialogs++;
    this.counts.messages += msgs.length;

    if (isNewClient && this.pendingClient && this.pendingIdentity) {
      if (client.unreachable) {
        this.pendingIdentity[8] = 1;
        this.pendingIdentity[9] = last.failure;
      }
      this.sink.row(T_CLIENTS, this.pendingClient);
      this.sink.row(T_IDENTITIES, this.pendingIdentity);
      this.pendingClient = null;
      this.pendingIdentity = null;
    }

    // A client whose dialog is over may come back later (R7), unless they blocked us.
    if (status === 'closed' && fate !== 'spam' && kind !== 'outbound' && !client.unreachable) {
      const pool = this.pools[type];
      const entry = { client, availableAt: closedAt! };
      if (pool.length < RETURNING_POOL_SIZE) pool.push(entry);
      else pool[r.int(RETURNING_POOL_SIZE)] = entry;
    }
  }
}

// ---------------------------------------------------------------------------------------------

export async function seedProject(store: Store, opts: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  if (!Number.isInteger(opts.projectId) || opts.projectId <= 0)
    throw new RangeError('projectId must be a positive integer');
  if (!Number.isInteger(opts.dialogs) || opts.dialogs < 0)
    throw new RangeError('dialogs must be a non-negative integer');
  const seed = opts.seed ?? 1;
  const anchor = opts.anchor ?? DEFAULT_SEED_ANCHOR;
  const windowStart = startOfLocalDay(localDate(anchor - WINDOW_DAYS * DAY, TZ), TZ);
  const master = new Rng(mix32(seed) ^ 0x5eed);
  // Separate streams, so that what exists already (reused managers, channels) does not shift the history.
  const setupRng = master.fork(1);
  const planRng = master.fork(2);
  const dialogRng = master.fork(3);

  const setup = await setUp(store, opts.projectId, setupRng, windowStart);
  const startIds = {
    visits: await maxId(store, 'visits'),
    clients: await maxId(store, 'clients'),
    client_identities: await maxId(store, 'client_identities'),
    dialogs: await maxId(store, 'dialogs'),
    messages: await maxId(store, 'messages'),
  };

  const sink: Sink = store.dialect === 'postgres' ? new PgCopySink(store.pgPool!) : new SqliteSink(store.sqlite!);
  const batch = store.dialect === 'postgres' ? 50_000 : 5_000;
  const gen = new Generator(dialogRng, opts.projectId, setup, sink, anchor, startIds);
  const plan = planDays(opts.dialogs, windowStart, anchor, planRng);

  let inBatch = 0;
  let lastReport = performance.now();
  let reported = { at: started, dialogs: 0, messages: 0 };
  const report = (final: boolean) => {
    if (!opts.progress) return;
    const now = performance.now();
    if (!final && now - lastReport < 2000) return;
    lastReport = now;
    const dt = (now - reported.at) / 1000 || 1;
    const d = gen.counts.dialogs;
    const m = gen.counts.messages;
    opts.progress(
      `seed: ${d.toLocaleString('en-US')}/${opts.dialogs.toLocaleString('en-US')} dialogs, ${m.toLocaleString('en-US')} messages` +
        ` (${Math.round((d - reported.dialogs) / dt).toLocaleString('en-US')} dialogs/s, ${Math.round((m - reported.messages) / dt).toLocaleString('en-US')} messages/s)`,
    );
    reported = { at: now, dialogs: d, messages: m };
  };

  const times: number[] = [];
  try {
    if (opts.dialogs > 0) await sink.begin();
    let open = opts.dialogs > 0;
    for (const day of plan) {
      if (day.count === 0) continue;
      times.length = 0;
      for (let i = 0; i < day.count; i++) {
        const h = day.hours.pick(planRng);
        const from = Math.max(day.hourStarts[h]!, windowStart);
        const to = Math.min(day.hourStarts[h + 1]!, anchor);
        const span = Math.max(1, Math.floor((to - from) / SECOND));
        times.push(from + planRng.int(span) * SECOND);
      }
      times.sort((x, y) => x - y);
      for (const t of times) {
        if (!open) {
          await sink.begin();
          open = true;
        }
        gen.dialog(t);
        if (sink.pressured) await sink.drain();
        if (++inBatch >= batch) {
          await sink.commit();
          open = false;
          inBatch = 0;
        }
        if ((gen.counts.dialogs & 255) === 0) report(false);
      }
    }
    if (open) await sink.commit();
  } catch (err) {
    await sink.abort();
    throw err;
  } finally {
    await sink.close();
  }
  if (store.dialect === 'postgres') for (const t of ID_TABLES) await bumpIdentity(store, t);
  report(true);
  return {
    projectId: opts.projectId,
    dialogs: gen.counts.dialogs,
    messages: gen.counts.messages,
    managers: setup.managers.length,
    ms: Math.round(performance.now() - started),
  };
}
