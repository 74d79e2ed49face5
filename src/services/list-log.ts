import { decodeCursor, encodeCursor } from '../core/cursor.js';
import { invalid } from '../core/errors.js';
import type { LogListQuery } from '../core/log-query.js';
import { keyOf, listDialogs } from '../store/dialogs.js';
import type { ProjectContext } from './context.js';
import { dialogDto } from './dto.js';
import { filterDigest, resolveLogFilter } from './log-filters.js';

/** A page of the Message log (R1–R3): filtered, visible to the actor, in keyset order. */
export async function listLog(ctx: ProjectContext, input: LogListQuery) {
  const { filter, sort } = resolveLogFilter(ctx, input);
  const digest = filterDigest(input);
  const scope = `log:${ctx.project.id}`;
  let after: (string | number)[] | undefined;
  if (input.cursor) {
    const c = decodeCursor(ctx.config.secretKey, scope, input.cursor, 'query.cursor');
    if (c.f !== digest) throw invalid('query.cursor', 'belongs to a different set of filters');
    const expectedLen = sort.sort === 'manager' ? 3 : 2;
    if (c.k.length !== expectedLen) throw invalid('query.cursor', 'is malformed');
    after = c.k;
  }
  const rows = await listDialogs(ctx.store, filter, sort, after, input.limit + 1);
  const more = rows.length > input.limit;
  const page = more ? rows.slice(0, input.limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map(dialogDto),
    nextCursor: more && last ? encodeCursor(ctx.config.secretKey, scope, { k: keyOf(last, sort), f: digest }) : null,
  };
}
