import type SqliteDatabase from 'better-sqlite3';

/** SQL functions every SQLite connection needs (the server's, the export worker's). */
export function registerFunctions(sqlite: SqliteDatabase.Database): void {
  // SQLite's lower() folds ASCII only; searches need Polish letters folded as PostgreSQL does.
  sqlite.function('dz_lower', { deterministic: true }, (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v));
}
