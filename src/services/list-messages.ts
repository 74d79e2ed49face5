import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../core/cursor.js';
import { invalid } from '../core/errors.js';
import type { ProjectContext } from './context.js';
import { messageDto } from './dto.js';
import { loadVisibleDialog } from './get-dialog.js';

export const MessagesQuery = z.strictObject({
  order: z
    .enum(['asc', 'desc'])
    .default('asc')
    .describe('asc: oldest first (history); desc: newest first (scroll back)'),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type MessagesQuery = z.infer<typeof MessagesQuery>;

/** One page of a dialog's history (R4), in keyset order over (created_at, id). */
export async function listMessages(ctx: ProjectContext, dialogId: number, input: MessagesQuery) {
  const dialog = await loadVisibleDialog(ctx, dialogId);
  const scope = `messages:${ctx.project.id}:${dialog.id}`;
  let after: [number, number] | undefined;
  if (input.cursor) {
    const c = decodeCursor(ctx.config.secretKey, scope, input.cursor, 'query.cursor');
    if (c.f !== input.order || c.k.length !== 2 || !c.k.every((v) => typeof v === 'number')) {
      throw invalid('query.cursor', 'is not valid for this order');
    }
    after = c.k as [number, number];
  }
  const cmp = input.order === 'asc' ? '>' : '<';
  let q = ctx.store.db
    .selectFrom('messages')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .where('dialog_id', '=', dialog.id);
  if (after) {
    const [c, i] = after;
    q = q.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(c, i)));
  }
  const rows = await q
    .orderBy('created_at', input.order)
    .orderBy('id', input.order)
    .limit(input.limit + 1)
    .execute();
  const more = rows.length > input.limit;
  const page = more ? rows.slice(0, input.limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map(messageDto),
    nextCursor:
      more && last
        ? encodeCursor(ctx.config.secretKey, scope, { k: [last.created_at, last.id], f: input.order })
        : null,
  };
}
