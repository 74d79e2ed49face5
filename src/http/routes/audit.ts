import { z } from 'zod';
import { AuditQuery, listAudit } from '../../services/list-audit.js';
import type { RouteModule } from '../app.js';
import { ProjectParams } from '../route.js';

export const auditRoutes: RouteModule = ({ route }) => {
  route({
    method: 'GET',
    url: '/api/v1/projects/:projectId/audit',
    summary: 'The audit log: exports and dialog changes, newest first',
    tags: ['audit'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    query: AuditQuery,
    response: z.object({
      items: z.array(
        z.object({
          id: z.number(),
          at: z.string(),
          actor: z.object({ type: z.string(), id: z.number().nullable(), name: z.string().nullable() }),
          action: z.string(),
          target: z.object({ type: z.string(), id: z.string() }).nullable(),
          details: z.record(z.string(), z.unknown()),
          ip: z.string().nullable(),
        }),
      ),
      nextCursor: z.string().nullable(),
    }),
    handler: async ({ ctx, query }) => listAudit(ctx, query),
  });
};
