import { z } from 'zod';
import { isCalendarDate } from './time.js';

/**
 * The Message log's filters (SPEC §7 `GET .../dialogs`), shared by the list, the export and the
 * command line, so that an export contains exactly what the list shows.
 */
export const CHANNELS = ['sms', 'telegram', 'viber', 'messenger'] as const;
export const STATUS_FILTERS = ['closed', 'new', 'open', 'all'] as const;
export const MAX_LIMIT = 200;

/** Accepts a repeated query parameter (`a=1&a=2`) or a single value, and yields an array. */
const repeatable = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]), z.array(item).max(100)).optional();

const dateOrInstant = z
  .string()
  .trim()
  .refine((v) => {
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return isCalendarDate(v);
    // An instant must say which zone it is in.
    return (
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(v) &&
      isCalendarDate(v.slice(0, 10)) &&
      !Number.isNaN(Date.parse(v))
    );
  }, 'must be a date (YYYY-MM-DD, in the project time zone) or an ISO 8601 instant with a zone (2026-03-01T10:00:00+01:00)');

export const LogFilters = z.strictObject({
  status: z.enum(STATUS_FILTERS).default('closed').describe('Dialog status; the log shows closed dialogs by default'),
  managerId: repeatable(z.coerce.number().int().positive()).describe('Responsible manager ids (repeatable)'),
  from: dateOrInstant.optional().describe('Created on or after: a date in the project time zone or an instant'),
  to: dateOrInstant.optional().describe('Created on or before: a date (inclusive, whole day) or an instant'),
  channel: repeatable(z.enum(CHANNELS)).describe('Channels (repeatable)'),
  source: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe('Traffic source (utm_source or referrer host) or channel group'),
  q: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe('Search in client name, phone, messenger handle and message text'),
  sort: z.enum(['created', 'manager']).default('created'),
  order: z.enum(['desc', 'asc']).optional().describe('Default: desc for created, asc for manager'),
});
export type LogFilters = z.infer<typeof LogFilters>;

export const LogListQuery = LogFilters.extend({
  cursor: z.string().max(1000).optional().describe('Opaque cursor from nextCursor'),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(50),
});
export type LogListQuery = z.infer<typeof LogListQuery>;

export const ExportQuery = LogFilters.extend({
  kind: z.enum(['dialogs', 'messages']).default('dialogs'),
  delimiter: z.enum([';', ',']).default(';'),
});
export type ExportQuery = z.infer<typeof ExportQuery>;

export function effectiveOrder(f: Pick<LogFilters, 'sort' | 'order'>): 'asc' | 'desc' {
  return f.order ?? (f.sort === 'manager' ? 'asc' : 'desc');
}

/** Folds a name for sorting: lower case, diacritics removed (ł counts as l). */
export function sortKey(name: string | null | undefined): string {
  if (!name) return '';
  return name
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '')
    .replace(/ł/g, 'l')
    .replace(/Ł/g, 'L')
    .toLowerCase();
}
