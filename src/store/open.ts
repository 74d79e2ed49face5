import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { registerFunctions } from './sqlite-functions.js';
import type { Database, Db, Dialect } from './types.js';

// BIGINT columns hold ids and epoch milliseconds, all far below 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export interface Store {
  db: Db;
  dialect: Dialect;
  /** The raw driver, for the few places that stream or bulk-load below Kysely (export, seed). */
  sqlite?: SqliteDatabase.Database;
  /**
   * A second, read-only SQLite connection for long reads below Kysely (the export). The main
   * connection is shared by every request, and a read on it between two statements of another
   * request's transaction would see that transaction's uncommitted rows; this one sees only
   * committed data (WAL).
   */
  sqliteReader?: SqliteDatabase.Database;
  pgPool?: pg.Pool;
  close(): Promise<void>;
}

export class StoreLockedError extends Error {
  constructor(dir: string) {
    super(
      `Another Dziennik process is already using the data directory ${path.resolve(dir)}. ` +
        'Stop it first, or start this one with a different DATA_DIR.',
    );
    this.name = 'StoreLockedError';
  }
}

export interface OpenStoreOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  /**
   * Hold the data directory's exclusive lock (the server and demo do; short CLI commands such as
   * export read alongside a running server and do not).
   */
  exclusive?: boolean;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolSize ?? 10);
  return openSqlite(opts.dataDir, opts.exclusive ?? false);
}

function openSqlite(dataDir: string, exclusive: boolean): Store {
  fs.mkdirSync(dataDir, { recursive: true });
  let lock: SqliteDatabase.Database | undefined;
  if (exclusive) {
    // An OS-level lock that dies with the process (even on kill -9): an open write transaction on
    // a small lock database. A second process fails to take it at once.
    lock = new SqliteDatabase(path.join(dataDir, 'dziennik.lock'), { timeout: 0 });
    try {
      lock.pragma('locking_mode = EXCLUSIVE');
      lock.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      lock.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new StoreLockedError(dataDir);
      throw err;
    }
  }
  const file = path.join(dataDir, 'dziennik.db');
  const sqlite = new SqliteDatabase(file, { timeout: 5000 });
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -65536');
  sqlite.pragma('temp_store = MEMORY');
  registerFunctions(sqlite);
  const optimizer = exclusive ? keepStatisticsFresh(sqlite) : undefined;
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  const reader = new SqliteDatabase(file, { readonly: true, timeout: 5000 });
  reader.pragma('busy_timeout = 5000');
  reader.pragma('cache_size = -16384');
  registerFunctions(reader);
  return {
    db,
    dialect: 'sqlite',
    sqlite,
    sqliteReader: reader,
    async close() {
      if (optimizer) clearInterval(optimizer);
      await db.destroy();
      reader.close();
      if (lock) {
        try {
          lock.exec('ROLLBACK');
        } catch {
          // already released
        }
        lock.close();
      }
    },
  };
}

/** How often the server refreshes SQLite's planner statistics (SQLite has no autovacuum/autoanalyze). */
export const SQLITE_OPTIMIZE_EVERY_MS = 60 * 60 * 1000;

/**
 * The planner chooses between the log's indexes by their statistics (sqlite_stat1), which nothing
 * keeps fresh by itself: a store that filled up after its last ANALYZE would be planned as the
 * small store it was. SQLite's advice for long-lived connections (https://sqlite.org/pragma.html
 * #pragma_optimize): `PRAGMA optimize=0x10002` when the connection opens, then `PRAGMA optimize`
 * now and then; it analyses only tables whose size changed a lot, each on a bounded sample
 * (analysis_limit), so it takes milliseconds. Only the server's connection does this.
 */
function keepStatisticsFresh(sqlite: SqliteDatabase.Database): NodeJS.Timeout {
  sqlite.pragma('analysis_limit = 1000');
  sqlite.pragma('optimize = 0x10002');
  const timer = setInterval(() => {
    try {
      sqlite.pragma('optimize');
    } catch {
      // busy or closing: the next round tries again
    }
  }, SQLITE_OPTIMIZE_EVERY_MS);
  timer.unref();
  return timer;
}

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs as much as running a log
 * page's query. Statements are reusable, so the compiled SQL text keys a small cache. A statement
 * still iterating (a streamed query) is busy and is not handed out twice.
 */
function withStatementCache(sqlite: SqliteDatabase.Database): SqliteDatabase.Database {
  const cache = new Map<string, SqliteDatabase.Statement>();
  const prepare = (source: string) => {
    const hit = cache.get(source);
    if (hit && !hit.busy) return hit;
    const stmt = sqlite.prepare(source);
    if (!hit) {
      if (cache.size >= 1000) cache.delete(cache.keys().next().value as string);
      cache.set(source, stmt);
    }
    return stmt;
  };
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop === 'prepare') return prepare;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function openPostgres(url: string, poolSize: number): Store {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client's error (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    pgPool: pool,
    async close() {
      await db.destroy();
    },
  };
}
