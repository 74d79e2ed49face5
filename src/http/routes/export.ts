import { ExportQuery } from '../../core/log-query.js';
import { exportLog } from '../../services/export-dialogs.js';
import type { RouteModule } from '../app.js';
import { ProjectParams } from '../route.js';

/**
 * `GET .../dialogs/export`: the Message log as CSV, with the list's filters. Registered as a static
 * path, which find-my-way prefers to `dialogs/:id`, so `export` never reaches the id parser.
 * Everything that can be refused — authentication, the filters, the project — is refused by
 * defineRoute and exportLog before a byte of CSV is sent, with the JSON error body.
 */
export const exportRoutes: RouteModule = ({ route }) => {
  route({
    method: 'GET',
    url: '/api/v1/projects/:projectId/dialogs/export',
    summary:
      'Export the Message log as CSV (UTF-8 with BOM, ";" by default): kind=dialogs gives one row per dialog, ' +
      'kind=messages one row per message of those dialogs; the same filters and visibility as the list',
    tags: ['dialogs'],
    auth: 'project',
    params: ProjectParams,
    query: ExportQuery,
    produces: 'text/csv',
    handler: async ({ ctx, query, reply }) => {
      const exp = await exportLog(ctx, query);
      reply
        .header('content-type', exp.contentType)
        .header('content-disposition', `attachment; filename="${exp.filename}"`)
        // A proxy that buffers the response would defeat the constant-memory streaming.
        .header('x-accel-buffering', 'no');
      return reply.send(exp.stream);
    },
  });
};
