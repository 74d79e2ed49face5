import type { Dialect } from '../types.js';
import { coveringIndexes } from './007_analytics.js';

/**
 * `dialogs.active_hour`: the hour (epoch ms / 3,600,000, rounded down) of the dialog's last activity —
 * its last message, or its creation — computed by the database from `last_message_at`.
 *
 * The analytics' covering indexes (migration 007) carried `last_message_at` for the "open without
 * activity for over 24 hours" figure. Every message changes that column, so on PostgreSQL no update
 * of a dialog could be HOT: each message wrote a new entry into all sixteen indexes of `dialogs`
 * (docs/PERFORMANCE.md, inbound). The indexes now carry `active_hour` instead, which changes at most
 * once an hour per dialog, and the figure counts whole hours (docs/ANALYTICS.md). On SQLite the
 * column is virtual (computed when read) and the indexes it is in are updated only when it changes.
 */
export function activityHour(d: Dialect): string[] {
  const pg = d === 'postgres';
  return [
    pg
      ? 'ALTER TABLE dialogs ADD COLUMN active_hour BIGINT GENERATED ALWAYS AS (COALESCE(last_message_at, created_at) / 3600000) STORED'
      : 'ALTER TABLE dialogs ADD COLUMN active_hour INTEGER GENERATED ALWAYS AS (COALESCE(last_message_at, created_at) / 3600000) VIRTUAL',
    'DROP INDEX dialogs_closed_at',
    'DROP INDEX dialogs_created_cover',
    'DROP INDEX dialogs_open_cover',
    ...coveringIndexes(d, 'active_hour'),
  ];
}
