import type SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { AppError } from '../core/errors.js';
import { migrate } from '../store/migrate.js';
import { openStore, type Store } from '../store/open.js';

/**
 * `dziennik migrate-to-postgres --database-url URL`: moves a one-node installation (SQLite in
 * DATA_DIR) into PostgreSQL (issue 6 §5). The server must be stopped (the data directory's lock is
 * taken). Both databases are brought to the latest migration; every table of the PostgreSQL schema
 * is copied from SQLite with its ids, in one transaction, parents before children; the identity
 * sequences are moved past the copied ids; the row counts of every table are compared before
 * commit. A target that already holds rows is refused: this is a move, not a merge.
 *
 * SQLite-only tables (the FTS5 search index and its shadow tables) are not copied: PostgreSQL's
 * search indexes are built from the copied rows.
 */

export interface TableReport {
  table: string;
  source: number;
  target: number;
}

interface TargetColumn {
  name: string;
  dataType: string;
  identity: boolean;
}

/** Rows per INSERT; PostgreSQL takes at most 65,535 parameters a statement. */
const MAX_PARAMS = 30_000;

export async function migrateToPostgres(opts: {
  dataDir: string;
  databaseUrl: string;
  log?: (line: string) => void;
}): Promise<TableReport[]> {
  const log = opts.log ?? (() => {});
  const source = await openStore({ dataDir: opts.dataDir, exclusive: true });
  let target: Store | undefined;
  const client = new pg.Client({ connectionString: opts.databaseUrl });
  try {
    await migrate(source);
    target = await openStore({ databaseUrl: opts.databaseUrl, dataDir: opts.dataDir, poolSize: 1 });
    await migrate(target);
    await target.close();
    target = undefined;
    await client.connect();
    const sqlite = source.sqlite!;

    const sourceMigrations = migrationNames(
      sqlite.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[],
    );
    const targetMigrations = migrationNames(
      (await client.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name')).rows,
    );
    if (sourceMigrations !== targetMigrations) {
      throw new AppError(
        'conflict',
        `The databases are at different migrations (SQLite: ${sourceMigrations}; PostgreSQL: ${targetMigrations}). ` +
          'Run the same version of Dziennik against both.',
      );
    }

    const tables = await targetTables(client);
    const sourceTables = new Set(
      (
        sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
          name: string;
        }[]
      ).map((r) => r.name),
    );
    const missing = [...tables.keys()].filter((t) => !sourceTables.has(t));
    if (missing.length > 0) {
      throw new AppError('conflict', `Tables missing from the SQLite database: ${missing.join(', ')}`);
    }

    const nonEmpty: string[] = [];
    for (const table of tables.keys()) {
      const { rows } = await client.query(`SELECT 1 FROM ${q(table)} LIMIT 1`);
      if (rows.length > 0) nonEmpty.push(table);
    }
    if (nonEmpty.length > 0) {
      throw new AppError(
        'conflict',
        `The PostgreSQL database is not empty (rows in ${nonEmpty.join(', ')}). ` +
          'Migrate into a new, empty database.',
      );
    }

    const order = parentsFirst(sqlite, [...tables.keys()]);
    const report: TableReport[] = [];
    await client.query('BEGIN');
    try {
      for (const table of order) {
        const columns = tables.get(table)!;
        const copied = await copyTable(sqlite, client, table, columns);
        log(`${table}: ${copied} rows`);
      }
      for (const table of order) {
        for (const col of tables.get(table)!.filter((c) => c.identity)) {
          await client.query(
            `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX(${q(col.name)}) FROM ${q(table)}), 0) + 1, false)`,
            [table, col.name],
          );
        }
      }
      for (const table of order) {
        const s = (sqlite.prepare(`SELECT COUNT(*) AS n FROM ${q(table)}`).get() as { n: number }).n;
        const { rows } = await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${q(table)}`);
        report.push({ table, source: Number(s), target: Number(rows[0]!.n) });
      }
      const wrong = report.filter((r) => r.source !== r.target);
      if (wrong.length > 0) {
        throw new AppError(
          'conflict',
          `Row counts differ: ${wrong.map((r) => `${r.table} ${r.source} → ${r.target}`).join(', ')}`,
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
    return report;
  } finally {
    await client.end().catch(() => {});
    await target?.close();
    await source.close();
  }
}

function migrationNames(rows: { name: string }[]): string {
  return rows.map((r) => r.name).join(', ') || '(none)';
}

function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The application's tables in PostgreSQL (the migrator's own excluded), with their insertable columns. */
async function targetTables(client: pg.Client): Promise<Map<string, TargetColumn[]>> {
  const { rows } = await client.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_identity: string;
    is_generated: string;
    column_default: string | null;
  }>(
    `SELECT c.table_name, c.column_name, c.data_type, c.is_identity, c.is_generated, c.column_default
     FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
       AND c.table_name NOT LIKE 'kysely\\_%'
     ORDER BY c.table_name, c.ordinal_position`,
  );
  const out = new Map<string, TargetColumn[]>();
  for (const r of rows) {
    if (r.is_generated === 'ALWAYS') continue;
    let cols = out.get(r.table_name);
    if (!cols) {
      cols = [];
      out.set(r.table_name, cols);
    }
    cols.push({
      name: r.column_name,
      dataType: r.data_type,
      identity: r.is_identity === 'YES' || (r.column_default?.startsWith('nextval(') ?? false),
    });
  }
  return out;
}

/** Tables ordered so that every foreign key's parent comes before its children. */
function parentsFirst(sqlite: SqliteDatabase.Database, tables: string[]): string[] {
  const parents = new Map<string, Set<string>>();
  for (const t of tables) {
    const fks = sqlite.prepare('SELECT "table" AS parent FROM pragma_foreign_key_list(?)').all(t) as {
      parent: string;
    }[];
    parents.set(t, new Set(fks.map((f) => f.parent).filter((p) => p !== t && tables.includes(p))));
  }
  const out: string[] = [];
  const done = new Set<string>();
  const visit = (t: string, path: Set<string>) => {
    if (done.has(t)) return;
    if (path.has(t)) throw new Error(`foreign keys form a cycle through ${t}`);
    path.add(t);
    for (const p of parents.get(t) ?? []) visit(p, path);
    path.delete(t);
    done.add(t);
    out.push(t);
  };
  for (const t of [...tables].sort()) visit(t, new Set());
  return out;
}

async function copyTable(
  sqlite: SqliteDatabase.Database,
  client: pg.Client,
  table: string,
  columns: TargetColumn[],
): Promise<number> {
  const sourceColumns = new Set(
    (sqlite.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((r) => r.name),
  );
  const absent = columns.filter((c) => !sourceColumns.has(c.name)).map((c) => c.name);
  if (absent.length > 0) throw new Error(`${table}: columns missing in SQLite: ${absent.join(', ')}`);
  const list = columns.map((c) => q(c.name)).join(', ');
  const overriding = columns.some((c) => c.identity) ? ' OVERRIDING SYSTEM VALUE' : '';
  const perBatch = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const convert = columns.map((c) => converter(c.dataType));
  let batch: unknown[][] = [];
  let total = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const params: unknown[] = [];
    const tuples = batch.map((row) => {
      const ph = row.map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      return `(${ph.join(', ')})`;
    });
    await client.query(`INSERT INTO ${q(table)} (${list})${overriding} VALUES ${tuples.join(', ')}`, params);
    total += batch.length;
    batch = [];
  };
  const stmt = sqlite.prepare(`SELECT ${list} FROM ${q(table)}`).raw(true);
  for (const row of stmt.iterate() as IterableIterator<unknown[]>) {
    batch.push(row.map((v, i) => convert[i]!(v)));
    if (batch.length >= perBatch) await flush();
  }
  await flush();
  return total;
}

/** SQLite keeps booleans as 0/1; everything else is passed as it is stored. */
function converter(dataType: string): (v: unknown) => unknown {
  if (dataType === 'boolean') return (v) => (v === null ? null : Boolean(v));
  return (v) => v;
}
