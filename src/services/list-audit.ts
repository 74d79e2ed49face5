import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../core/cursor.js';
import type { ProjectContext } from './context.js';

export const AuditQuery = z.strictObject({
  action: z.string().max(100).optional().describe('Only this action, e.g. export.dialogs'),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export async function listAudit(ctx: ProjectContext, input: z.infer<typeof AuditQuery>) {
  const scope = `audit:${ctx.project.id}`;
  let q = ctx.store.db.selectFrom('audit_log').selectAll().where('project_id', '=', ctx.project.id);
  if (input.action) q = q.where('action', '=', input.action);
  if (input.cursor) {
    const c = decodeCursor(ctx.config.secretKey, scope, input.cursor, 'query.cursor');
    const [at, id] = c.k as [number, number];
    q = q.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(at, id)));
  }
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(input.limit + 1)
    .execute();
  const more = rows.length > input.limit;
  const page = more ? rows.slice(0, input.limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({
      id: r.id,
      at: new Date(r.created_at).toISOString(),
      actor: { type: r.actor_type, id: r.actor_id, name: r.actor_name },
      action: r.action,
      target: r.target_type && r.target_id ? { type: r.target_type, id: r.target_id } : null,
      details: JSON.parse(r.details) as Record<string, unknown>,
      ip: r.ip,
    })),
    nextCursor:
      more && last ? encodeCursor(ctx.config.secretKey, scope, { k: [last.created_at, last.id], f: '' }) : null,
  };
}
