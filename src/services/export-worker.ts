import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { CsvCell, CsvDelimiter } from '../core/csv.js';
import type { Store } from '../store/open.js';
import {
  DIALOG_COLUMNS,
  type DialogTuple,
  formatDialogRows,
  type Key,
  keyOfTuple,
  makeExportTimeFormatter,
  type SortSpec,
  Utf8Chunk,
} from './export-format.js';

/**
 * The SQLite export's worker thread: one per store, started with the first SQLite dialogs.csv and
 * kept (idle, it does not keep the process alive) until the store closes. It opens its own
 * read-only connection to the database file (WAL: it sees committed rows only, and never blocks the
 * server's writes), runs the chunk queries the main thread built, and formats their rows as CSV.
 * Requests from several exports are answered one at a time, in order of arrival.
 *
 * This module is both ends: imported on the main thread it exports `exportWorkerFor`; loaded as
 * the worker (workerData.dzExportWorker) it serves. The worker imports only export-format.ts and
 * better-sqlite3, so it starts in tens of milliseconds when compiled.
 */

export interface ChunkRequest {
  sql: string;
  params: unknown[];
  timeZone: string;
  delimiter: CsvDelimiter;
  channelNames: ReadonlyMap<number, string>;
  sort: SortSpec;
}

export interface ChunkResult {
  data: Buffer;
  rows: number;
  /** The keyset key of the last row (undefined when there were no rows). */
  lastKey: Key | undefined;
}

type Reply = { id: number; data: Uint8Array; rows: number; lastKey: Key | undefined } | { id: number; error: string };

export class ExportWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private dead: Error | undefined;

  constructor(file: string) {
    const self = import.meta.url;
    const data = { dzExportWorker: true, file };
    // Compiled (dist/, `npm start`): the worker runs this very file. From TypeScript sources (tests,
    // development under tsx) the worker registers tsx's loader first, as the main thread did.
    this.worker = self.endsWith('.ts')
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(self)}); });`,
          {
            eval: true,
            workerData: data,
          },
        )
      : new Worker(new URL(self), { workerData: data });
    this.worker.unref();
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if ('error' in m) p.reject(new Error(m.error));
      else
        p.resolve({
          data: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
          rows: m.rows,
          lastKey: m.lastKey,
        });
    });
    const fail = (reason: unknown) => {
      const err = reason instanceof Error ? reason : new Error(`the export worker failed: ${String(reason)}`);
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the export worker exited (code ${code})`)));
  }

  run(req: ChunkRequest): Promise<ChunkResult> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // While a request is out, the worker keeps the process alive (a CLI export waits for it).
      this.worker.ref();
      this.worker.postMessage({ id, ...req });
    });
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

const workers = new WeakMap<Store, ExportWorker>();

/** The store's export worker, started on first use (and again if it died). */
export function exportWorkerFor(store: Store, file: string): ExportWorker {
  let w = workers.get(store);
  if (!w?.alive) {
    const fresh = new ExportWorker(file);
    workers.set(store, fresh);
    store.onClose(() => fresh.stop());
    w = fresh;
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// The worker's side

async function serve(file: string): Promise<void> {
  const { default: SqliteDatabase } = await import('better-sqlite3');
  const { registerFunctions } = await import('../store/sqlite-functions.js');
  // Opened on the first request, so that a failure to open is that request's error.
  let db: InstanceType<typeof SqliteDatabase> | undefined;
  const open = () => {
    if (!db) {
      const fresh = new SqliteDatabase(file, { readonly: true, fileMustExist: true, timeout: 5000 });
      fresh.pragma('busy_timeout = 5000');
      fresh.pragma('cache_size = -16384');
      registerFunctions(fresh);
      db = fresh;
    }
    return db;
  };
  const statements = new Map<string, ReturnType<InstanceType<typeof SqliteDatabase>['prepare']>>();
  const formatters = new Map<string, (ms: number) => string>();
  const cells: CsvCell[] = new Array(DIALOG_COLUMNS.length);
  const out = new Utf8Chunk();
  parentPort!.on('message', (m: ChunkRequest & { id: number }) => {
    try {
      let stmt = statements.get(m.sql);
      if (!stmt) {
        if (statements.size >= 100) statements.clear();
        stmt = open().prepare(m.sql).raw(true);
        statements.set(m.sql, stmt);
      }
      const rows = (stmt.all as (...params: unknown[]) => unknown[]).apply(stmt, m.params) as DialogTuple[];
      let iso = formatters.get(m.timeZone);
      if (!iso) {
        iso = makeExportTimeFormatter(m.timeZone);
        formatters.set(m.timeZone, iso);
      }
      formatDialogRows(rows, out, cells, iso, m.delimiter, m.channelNames);
      const data = out.take() ?? new Uint8Array(0);
      const last = rows[rows.length - 1];
      // A fresh buffer per chunk (Utf8Chunk.take starts a new one): it can be moved, not copied.
      const transfer = data.byteOffset === 0 && data.buffer.byteLength === data.byteLength ? [data.buffer] : [];
      parentPort!.postMessage(
        { id: m.id, data, rows: rows.length, lastKey: last ? keyOfTuple(last, m.sort) : undefined },
        transfer as ArrayBuffer[],
      );
    } catch (err) {
      parentPort!.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
}

if (!isMainThread && (workerData as { dzExportWorker?: boolean } | null)?.dzExportWorker) {
  await serve((workerData as { file: string }).file);
}
