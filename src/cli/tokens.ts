import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import { NotFoundError } from '../core/errors.js';
import type { EventBus } from '../realtime/bus.js';
import { PgNotifyBus } from '../realtime/pg-bus.js';
import { listApiTokens, revokeApiToken } from '../services/api-tokens.js';
import { makeAppContext, type ProjectContext } from '../services/context.js';
import type { Store } from '../store/open.js';

/**
 * `dziennik token list --project ID` and `dziennik token revoke --project ID --id N`, acting as the
 * system and audited as `cli` (services/api-tokens.ts). On PostgreSQL the revoke's `tokens.changed`
 * goes out through NOTIFY, so running nodes drop cached lookups of the token at once; a SQLite server
 * beside this command is another process that no event reaches.
 */
export type TokenCommand = { kind: 'list'; projectId: number } | { kind: 'revoke'; projectId: number; tokenId: number };

export async function tokenCommand(
  cmd: TokenCommand,
  deps: { store: Store; config: Config & { secretKey: string } },
  out: Writable,
): Promise<number> {
  const { store, config } = deps;
  const project = await store.db
    .selectFrom('projects')
    .select(['id', 'name', 'time_zone', 'language'])
    .where('id', '=', cmd.projectId)
    .executeTakeFirst();
  if (!project) throw new NotFoundError(`Project ${cmd.projectId}`);
  // Publishing only: no LISTEN connection is opened (start() is not called); close() sends what is queued.
  const bus: EventBus | undefined =
    store.pgPool && config.databaseUrl
      ? new PgNotifyBus({ connectionString: config.databaseUrl, pool: store.pgPool })
      : undefined;
  const ctx: ProjectContext = {
    ...makeAppContext({ store, config, bus }),
    project: { id: project.id, name: project.name, timeZone: project.time_zone, language: project.language },
    actor: { type: 'system', name: 'cli' },
  };
  try {
    if (cmd.kind === 'revoke') {
      await revokeApiToken(ctx, cmd.tokenId);
      out.write(`token ${cmd.tokenId} of project ${project.id} is revoked\n`);
      return 0;
    }
    const { items } = await listApiTokens(ctx);
    const rows = [
      ['ID', 'ROLE', 'NAME', 'CREATED', 'LAST USED', 'REVOKED', 'CREATED BY'],
      ...items.map((t) => [
        String(t.id),
        t.role,
        printable(t.name),
        minute(t.createdAt),
        minute(t.lastUsedAt),
        minute(t.revokedAt),
        printable(t.createdBy?.name ?? '-'),
      ]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
    for (const r of rows) {
      out.write(`${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
    }
    return 0;
  } finally {
    await ctx.bus.close();
  }
}

/** `2026-03-02 09:00Z`: UTC to the minute (a table, not an exchange format). */
const minute = (iso: string | null) => (iso === null ? '-' : `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`);

/** Control characters in a name must not reach the operator's terminal (escape sequences). */
const printable = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
