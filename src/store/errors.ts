/**
 * Driver errors translated by their codes, never by message text (messages differ between
 * versions, locales and the two databases).
 */

// better-sqlite3 reports the extended result code: a UNIQUE index or a PRIMARY KEY clash.
const SQLITE_UNIQUE = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);
// PostgreSQL SQLSTATE 23505 unique_violation (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const PG_UNIQUE = '23505';

/** True when the error is a unique-key (or primary-key) violation on either store. */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code === PG_UNIQUE || SQLITE_UNIQUE.has(code))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
