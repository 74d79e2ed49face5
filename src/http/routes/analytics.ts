import { z } from 'zod';
import { AnalyticsExportQuery, AnalyticsQuery, computeAnalytics, exportAnalytics } from '../../services/analytics.js';
import type { RouteModule } from '../app.js';
import { ProjectParams } from '../route.js';

const Figures = z.object({
  total: z.number(),
  new: z.number(),
  closed: z.number(),
  closedWithoutReply: z.number(),
  openIdle: z.number(),
  medianFirstResponseSeconds: z.number().nullable(),
  avgMedianResponseSeconds: z.number().nullable(),
  firstResponseDialogs: z.number(),
  responseDialogs: z.number(),
});

/** Handling analytics (SPEC §4.10; definitions in docs/ANALYTICS.md). */
export const analyticsRoutes: RouteModule = ({ route }) => {
  route({
    method: 'GET',
    url: '/api/v1/projects/:projectId/analytics',
    summary:
      'Handling analytics for a period (from/to, in the project time zone) over the log filters: counts, ' +
      'first-response median, average per-dialog median response time, per manager, and a trend',
    tags: ['analytics'],
    auth: 'project',
    params: ProjectParams,
    query: AnalyticsQuery,
    response: z.object({
      period: z.object({ from: z.string(), to: z.string(), timeZone: z.string() }),
      now: z.string(),
      groupBy: z.enum(['none', 'manager']),
      totals: Figures,
      managers: z.array(Figures.extend({ managerId: z.number().nullable(), managerName: z.string().nullable() })),
      trend: z.object({
        unit: z.enum(['day', 'week', 'month']),
        buckets: z.array(
          z.object({
            start: z.string(),
            from: z.string(),
            to: z.string(),
            new: z.number(),
            closed: z.number(),
            closedWithoutReply: z.number(),
            medianFirstResponseSeconds: z.number().nullable(),
            avgMedianResponseSeconds: z.number().nullable(),
          }),
        ),
      }),
    }),
    handler: async ({ ctx, query }) => computeAnalytics(ctx, query),
  });
  route({
    method: 'GET',
    url: '/api/v1/projects/:projectId/analytics/export',
    summary:
      'The analytics tables as CSV (UTF-8 with BOM, ";" by default): table=summary gives one row per manager ' +
      'and a total, table=trend one row per bucket',
    tags: ['analytics'],
    auth: 'project',
    params: ProjectParams,
    query: AnalyticsExportQuery,
    produces: 'text/csv',
    handler: async ({ ctx, query, reply }) => {
      const exp = await exportAnalytics(ctx, query);
      reply
        .header('content-type', exp.contentType)
        .header('content-disposition', `attachment; filename="${exp.filename}"`);
      return reply.send(exp.body);
    },
  });
};
