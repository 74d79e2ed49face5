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
export function analyticsIndexes(d: Dialect): string[] {
  const pg = d === 'postgres';
  return [
    `ALTER TABLE dialogs ADD COLUMN response_median_ms ${pg ? 'DOUBLE PRECISION' : 'REAL'}`,
    `ALTER TABLE dialogs ADD COLUMN response_median_for ${pg ? 'BIGINT' : 'INTEGER'}`,
    ...coveringIndexes(d, 'last_message_at'),
  ];
}

/**
 * The three covering indexes of the figures, with `activity` as the column of the last activity
 * (migration 010 builds them again with `active_hour` in place of `last_message_at`).
 */
export function coveringIndexes(d: Dialect, activity: 'last_message_at' | 'active_hour'): string[] {
  const pg = d === 'postgres';
  const counted = ['status', 'closed_at', 'manager_id', activity, 'first_message_at', 'first_response_at'];
  // SQLite has no INCLUDE: the covered columns become trailing key columns.
  const idx = (name: string, keys: string[], include: string[], where?: string) =>
    `CREATE INDEX ${name} ON dialogs (project_id, ${pg ? keys.join(', ') : [...keys, ...include].join(', ')})` +
    (pg ? ` INCLUDE (${include.join(', ')})` : '') +
    (where ? ` WHERE ${where}` : '');
  return [
    // Covering indexes: the figures over a month read only these (PostgreSQL: index-only scans once
    // vacuumed) unless a filter needs other columns. Closed in a period; created in a period; open.
    idx(
      'dialogs_closed_at',
      ['closed_at'],
      [
        'status',
        'manager_id',
        'created_at',
        activity,
        'first_message_at',
        'first_response_at',
        'response_median_ms',
        'response_median_for',
      ],
    ),
    idx('dialogs_created_cover', ['created_at'], counted),
    idx('dialogs_open_cover', ['created_at'], counted, "status IN ('new', 'open')"),
  ];
}
