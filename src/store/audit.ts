import type { Db } from './types.js';

export interface AuditEntry {
  projectId: number;
  actorType: string;
  actorId: number | null;
  actorName: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  details?: Record<string, unknown>;
  ip?: string | undefined;
  at: number;
}

export async function writeAudit(db: Db, e: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      project_id: e.projectId,
      actor_type: e.actorType,
      actor_id: e.actorId,
      actor_name: e.actorName,
      action: e.action,
      target_type: e.targetType ?? null,
      target_id: e.targetId ?? null,
      details: JSON.stringify(e.details ?? {}),
      ip: e.ip ?? null,
      created_at: e.at,
    })
    .execute();
}
