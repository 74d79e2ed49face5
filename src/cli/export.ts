import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { ExportQuery } from '../core/log-query.js';
import { makeAppContext } from '../services/context.js';
import { exportLog } from '../services/export-dialogs.js';
import type { Store } from '../store/open.js';

/**
 * `dziennik export --project ID --kind dialogs|messages [filters] > file.csv`: the same export as
 * `GET .../dialogs/export`, acting as the system (admin visibility) and audited as `cli`. The flags
 * are mapped onto ExportQuery, so the API's validation applies; errors name the flag.
 */
const FLAGS = {
  project: { type: 'string' },
  kind: { type: 'string' },
  status: { type: 'string' },
  'manager-id': { type: 'string', multiple: true },
  from: { type: 'string' },
  to: { type: 'string' },
  channel: { type: 'string', multiple: true },
  source: { type: 'string' },
  q: { type: 'string' },
  sort: { type: 'string' },
  order: { type: 'string' },
  delimiter: { type: 'string' },
} as const;

/** ExportQuery field → the flag that sets it. */
const FLAG_OF: Record<string, string> = { managerId: 'manager-id' };

export const EXPORT_USAGE =
  'usage: dziennik export --project ID --kind dialogs|messages [--status closed|new|open|all] ' +
  '[--manager-id N]... [--from DATE] [--to DATE] [--channel sms|telegram|viber|messenger]... ' +
  '[--source S] [--q TEXT] [--sort created|manager] [--order desc|asc] [--delimiter ";"|","] > file.csv';

function parseFlags(args: string[]) {
  try {
    return parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // node:util names the offending option in its message ("Unknown option '--statsu'").
    throw new ValidationError([{ field: 'arguments', message: `${(err as Error).message}\n${EXPORT_USAGE}` }]);
  }
}

export async function exportCommand(
  args: string[],
  deps: { store: Store; config: Config & { secretKey: string } },
  out: Writable,
): Promise<number> {
  const flags = parseFlags(args);
  if (flags.project === undefined || !/^\d{1,15}$/.test(flags.project) || Number(flags.project) === 0) {
    throw new ValidationError([
      { field: '--project', message: `must be a project id (a positive integer)\n${EXPORT_USAGE}` },
    ]);
  }
  if (flags.kind === undefined) {
    throw new ValidationError([{ field: '--kind', message: `is required: dialogs or messages\n${EXPORT_USAGE}` }]);
  }
  const raw: Record<string, unknown> = {
    kind: flags.kind,
    status: flags.status,
    managerId: flags['manager-id'],
    from: flags.from,
    to: flags.to,
    channel: flags.channel,
    source: flags.source,
    q: flags.q,
    sort: flags.sort,
    order: flags.order,
    delimiter: flags.delimiter,
  };
  for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
  const parsed = ExportQuery.safeParse(raw);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0] ?? '');
        return { field: `--${FLAG_OF[key] ?? key}`, message: i.message };
      }),
    );
  }

  const { store, config } = deps;
  const projectId = Number(flags.project);
  const project = await store.db
    .selectFrom('projects')
    .select(['id', 'name', 'time_zone', 'language'])
    .where('id', '=', projectId)
    .executeTakeFirst();
  if (!project) throw new NotFoundError(`Project ${projectId}`);

  let exp: Awaited<ReturnType<typeof exportLog>>;
  try {
    exp = await exportLog(
      {
        ...makeAppContext({ store, config }),
        project: { id: project.id, name: project.name, timeZone: project.time_zone, language: project.language },
        actor: { type: 'system', name: 'cli' },
      },
      parsed.data,
    );
  } catch (err) {
    // resolveLogFilter reports fields as the API names them (query.to): name the flag instead.
    if (err instanceof ValidationError && err.fields) {
      throw new ValidationError(
        err.fields.map((f) => {
          const key = f.field.replace(/^query\./, '');
          return { field: `--${FLAG_OF[key] ?? key}`, message: f.message };
        }),
      );
    }
    throw err;
  }
  try {
    // `out` may be the process's stdout, which must not be ended by us.
    await pipeline(exp.stream, out, { end: false });
  } catch (err) {
    // The reader went away (`| head`): the export is recorded as aborted; report it and fail.
    await exp.done;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED') return 1;
    throw err;
  }
  // The audit entry is written before the store is closed by the caller.
  const result = await exp.done;
  return result.outcome === 'completed' ? 0 : 1;
}
