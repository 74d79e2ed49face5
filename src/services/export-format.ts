/**
 * The pieces of an export that run without a database: the CSV of dialog rows, the keyset key of a
 * row, the timestamps. Imported by export-dialogs.ts and by the SQLite export worker
 * (export-worker.ts), which must start fast: no Kysely, no driver here.
 */
import { type CsvCell, type CsvDelimiter, csvRecord } from '../core/csv.js';
import { zoneOffsetMinutes } from '../core/time.js';
import type { SortSpec } from '../store/dialogs.js';

export type { SortSpec };

export type Key = (string | number)[];

/**
 * dialogs.csv header (English snake_case). `client_messenger_id` is the client's id on the
 * messenger (Telegram user id, Viber id, Messenger PSID: what a CRM matches on, SPEC §4.6 "client
 * phone / messenger id"), `client_handle` the public handle the log shows (a Telegram @username);
 * both empty for SMS, where `client_phone` identifies the client. The id is denormalised onto the
 * dialog (migration 005), so no row needs a join.
 */
export const DIALOG_COLUMNS = [
  'id',
  'created_at',
  'closed_at',
  'status',
  'channel',
  'channel_account',
  'client_id',
  'client_name',
  'client_phone',
  'client_messenger_id',
  'client_handle',
  'manager',
  'closed_by',
  'close_reason',
  'last_responder_type',
  'last_responder',
  'messages_in',
  'messages_out',
  'first_response_seconds',
  'source',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'referrer',
  'landing_page',
  'click_ids',
  'channel_group',
] as const;

/** messages.csv header: one row per message, keyed by dialog id. */

/**
 * A chunk's CSV as UTF-8, written record by record into one buffer: half the cost of building one
 * long string and encoding it at the end (measured; the string was a rope V8 had to flatten).
 */
export class Utf8Chunk {
  private buf: Buffer | undefined;
  private length = 0;
  /** Sized after the previous chunk, so that a buffer rarely has to grow. */
  private expected = 1 << 20;
  add(text: string): void {
    const room = text.length * 3; // UTF-8 takes at most 3 bytes per UTF-16 unit
    if (!this.buf) this.buf = Buffer.allocUnsafe(Math.max(this.expected, room));
    else if (this.buf.length - this.length < room) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + room));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.length += this.buf.write(text, this.length);
  }
  /** The bytes so far (undefined when none); the next add starts a new buffer. */
  take(): Buffer | undefined {
    const out = this.buf && this.length > 0 ? this.buf.subarray(0, this.length) : undefined;
    if (out) this.expected = Math.max(64 * 1024, Math.ceil(this.length * 1.1));
    this.buf = undefined;
    this.length = 0;
    return out;
  }
}

/** The keyset key of a row whose first three values are id, manager_sort, created_at. */
export function keyOfTuple(row: readonly unknown[], sort: SortSpec): Key {
  const id = row[0] as number;
  const created = row[2] as number;
  return sort.sort === 'manager' ? [row[1] as string, created, id] : [created, id];
}

export const DIALOG_SELECT = [
  'dialogs.id',
  'dialogs.manager_sort',
  'dialogs.created_at',
  'dialogs.closed_at',
  'dialogs.status',
  'dialogs.channel_type',
  'dialogs.channel_id',
  'dialogs.client_id',
  'dialogs.client_name',
  'dialogs.client_phone',
  'dialogs.client_handle',
  'dialogs.client_external_id',
  'dialogs.manager_name',
  'dialogs.closed_by_name',
  'dialogs.close_reason',
  'dialogs.last_responder_type',
  'dialogs.last_responder_name',
  'dialogs.messages_in',
  'dialogs.messages_out',
  'dialogs.first_response_seconds',
  'dialogs.source',
  'dialogs.utm_source',
  'dialogs.utm_medium',
  'dialogs.utm_campaign',
  'dialogs.utm_term',
  'dialogs.utm_content',
  'dialogs.referrer',
  'dialogs.landing_url',
  'dialogs.click_ids',
  'dialogs.channel_group',
] as const;
export type DialogTuple = [
  id: number,
  managerSort: string,
  createdAt: number,
  closedAt: number | null,
  status: string,
  channelType: string,
  channelId: number,
  clientId: number,
  clientName: string,
  clientPhone: string | null,
  clientHandle: string | null,
  clientExternalId: string | null,
  managerName: string | null,
  closedByName: string | null,
  closeReason: string | null,
  lastResponderType: string | null,
  lastResponderName: string | null,
  messagesIn: number,
  messagesOut: number,
  firstResponseSeconds: number | null,
  ...attribution: (string | null)[],
];
const ATTRIBUTION_FROM = 20;
const ATTRIBUTION_COUNT = 10;

/**
 * Appends the CSV records of dialog rows (selected as DIALOG_SELECT, as arrays) to `out`. One cells
 * array for the whole export: nothing is allocated per row but the output text.
 */
export function formatDialogRows(
  rows: readonly DialogTuple[],
  out: Utf8Chunk,
  cells: CsvCell[],
  iso: (ms: number) => string,
  delimiter: CsvDelimiter,
  channelNames: ReadonlyMap<number, string>,
): void {
  for (const r of rows) {
    const channelType = r[5];
    cells[0] = r[0];
    cells[1] = iso(r[2]);
    cells[2] = r[3] === null ? null : iso(r[3]);
    cells[3] = r[4];
    cells[4] = channelType;
    cells[5] = channelNames.get(r[6]);
    cells[6] = r[7];
    cells[7] = r[8];
    cells[8] = r[9];
    cells[9] = channelType === 'sms' ? null : r[11];
    cells[10] = channelType === 'sms' ? null : r[10];
    for (let i = 12; i <= 19; i++) cells[i - 1] = r[i];
    for (let i = 0; i < ATTRIBUTION_COUNT; i++) cells[19 + i] = r[ATTRIBUTION_FROM + i];
    out.add(csvRecord(cells, delimiter));
  }
}

// Timestamps

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const QUARTER_HOUR = 900_000;
const DAY = 86_400_000;

function offsetSuffix(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${TWO_DIGITS[abs % 60]}`;
}

/** ISO 8601 without milliseconds for an instant and its zone offset in minutes. */
function isoAt(ms: number, offsetMinutes: number): string {
  return new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19) + offsetSuffix(offsetMinutes);
}

/**
 * ISO 8601 with the zone's offset (`2026-03-29T03:30:00+02:00`), as `makeZonedIsoFormatter` writes
 * it, at a fraction of the cost per call: the timestamps were ~18% of an export's CPU, and the
 * shared formatter asks Intl once per quarter-hour seen. Here Intl is asked twice per UTC day (its
 * first and last millisecond); a day with one offset throughout needs nothing more. Offsets are whole
 * quarter-hours, so within a UTC quarter-hour the text up to the hour (`2026-03-29T03:`), the local
 * minute it starts at and the offset are fixed and cached; minutes and seconds are filled in by
 * arithmetic. A day with a transition is checked per quarter-hour, and a quarter-hour with a
 * transition inside it (or an offset that is not a whole quarter-hour, as in some zones before
 * 1980) is formatted exactly, instant by instant.
 */
export function makeExportTimeFormatter(timeZone: string): (ms: number) => string {
  const days = new Map<number, number | null>();
  const buckets = new Map<number, { prefix: string; minute: number; suffix: string } | null>();
  const dayOffset = (day: number) => {
    let off = days.get(day);
    if (off === undefined) {
      const a = zoneOffsetMinutes(day * DAY, timeZone);
      off = a === zoneOffsetMinutes(day * DAY + DAY - 1, timeZone) ? a : null;
      days.set(day, off);
    }
    return off;
  };
  return (ms: number) => {
    const bucket = Math.floor(ms / QUARTER_HOUR);
    let b = buckets.get(bucket);
    if (b === undefined) {
      const start = bucket * QUARTER_HOUR;
      let off = dayOffset(Math.floor(ms / DAY));
      if (off === null) {
        const a = zoneOffsetMinutes(start, timeZone);
        off = a === zoneOffsetMinutes(start + QUARTER_HOUR - 1, timeZone) ? a : null;
      }
      if (off !== null && off % 15 === 0) {
        const s = isoAt(start, off);
        b = { prefix: s.slice(0, 14), minute: Number(s.slice(14, 16)), suffix: s.slice(19) };
      } else {
        b = null;
      }
      if (buckets.size > 100_000) buckets.clear();
      buckets.set(bucket, b);
    }
    if (b === null) return isoAt(ms, zoneOffsetMinutes(ms, timeZone));
    const within = ms - bucket * QUARTER_HOUR;
    return `${b.prefix}${TWO_DIGITS[b.minute + Math.floor(within / 60_000)]}:${TWO_DIGITS[Math.floor((within % 60_000) / 1000)]}${b.suffix}`;
  };
}
