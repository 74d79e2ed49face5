import { writeAudit } from '../store/audit.js';
import type { Db } from '../store/types.js';
import type { ProjectContext } from './context.js';

/** Records what the context's actor did; `db` may be a transaction. */
export function audit(
  ctx: ProjectContext,
  db: Db,
  action: string,
  target?: { type: string; id: string | number },
  details?: Record<string, unknown>,
) {
  const a = ctx.actor;
  return writeAudit(db, {
    projectId: ctx.project.id,
    actorType: a.type,
    actorId: a.type === 'system' ? null : a.id,
    actorName: a.name,
    action,
    targetType: target?.type,
    targetId: target === undefined ? undefined : String(target.id),
    details,
    ip: ctx.ip,
    at: ctx.clock(),
  });
}
