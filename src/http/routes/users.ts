import { z } from 'zod';
import { listMembers } from '../../services/users.js';
import type { RouteModule } from '../app.js';
import { ProjectParams } from '../route.js';

export const userRoutes: RouteModule = ({ route }) => {
  route({
    method: 'GET',
    url: '/api/v1/projects/:projectId/users',
    summary:
      "The project's members and their roles (every role may list them: managers transfer dialogs to each other)",
    tags: ['users'],
    auth: 'project',
    params: ProjectParams,
    response: z.object({
      items: z.array(
        z.object({
          id: z.number(),
          name: z.string(),
          email: z.string().optional(),
          role: z.enum(['admin', 'supervisor', 'manager']),
        }),
      ),
    }),
    handler: async ({ ctx }) => ({ items: await listMembers(ctx) }),
  });
};
