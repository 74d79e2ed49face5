import type { Dialect } from '../types.js';

/**
 * Analytics (issue 7 §1, docs/ANALYTICS.md).
 * - Covering indexes for the dialogs closed in a period, created in a period, and open, with the
 *   columns the figures read (bench/analytics.ts: a month of a 1M-dialog project went from seconds
 *   of sequential scans to index-only ranges). Closed dialogs always have `closed_at` (reopening
 *   clears it). The cost: three more indexes to maintain on every dialog write.
 * - `response_median_ms`, `response_median_for`: a cache of the dialog's median response time,
 *   computed from its messages by the analytics service for a closed dialog and valid while
 *   `response_median_for` equals `closed_at` (a closed dialog takes no messages; reopening and
 *   closing again changes `closed_at`, so a stale value is never read). NULL median with a set
 *   `response_median_for`: no client turn was answered. Nothing else writes these columns.
 */
const COUNTED = ['status', 'closed_at', 'manager_id', 'last_message_at', 'first_message_at', 'first_response_at'];

export function analyticsIndexes(d: Dialect): string[] {
  const pg = d === 'postgres';
  // SQLite has no INCLUDE: the covered columns become trailing key columns.
  const idx = (name: string, keys: string[], include: string[], where?: string) =>
    `CREATE INDEX ${name} ON dialogs (project_id, ${pg ? keys.join(', ') : [...keys, ...include].join(', ')})` +
    (pg ? ` INCLUDE (${include.join(', ')})` : '') +
    (where ? ` WHERE ${where}` : '');
  return [
    `ALTER TABLE dialogs ADD COLUMN response_median_ms ${pg ? 'DOUBLE PRECISION' : 'REAL'}`,
    `ALTER TABLE dialogs ADD COLUMN response_median_for ${pg ? 'BIGINT' : 'INTEGER'}`,
    // Covering indexes: the figures over a month read only these (PostgreSQL: index-only scans once
    // vacuumed) unless a filter needs other columns. Closed in a period; created in a period; open.
    idx(
      'dialogs_closed_at',
      ['closed_at'],
      [
        'status',
        'manager_id',
        'created_at',
        'last_message_at',
        'first_message_at',
        'first_response_at',
        'response_median_ms',
        'response_median_for',
      ],
    ),
    idx('dialogs_created_cover', ['created_at'], COUNTED),
    idx('dialogs_open_cover', ['created_at'], COUNTED, "status IN ('new', 'open')"),
  ];
}
