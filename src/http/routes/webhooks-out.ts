import { z } from 'zod';
import {
  CreatedWebhookSchema,
  CreateWebhookInput,
  createWebhook,
  DeliveriesQuery,
  DeliverySchema,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  redeliver,
  UpdateWebhookInput,
  updateWebhook,
  WebhookSchema,
} from '../../services/webhooks.js';
import type { RouteModule } from '../app.js';
import { ProjectItemParams, ProjectParams } from '../route.js';

/** Outgoing webhooks (issue 7 §2, SPEC §4.9, docs/WEBHOOKS.md): admins only. */

const DeliveryParams = ProjectItemParams.extend({
  deliveryId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});

export const webhooksOutRoutes: RouteModule = ({ route }) => {
  const base = '/api/v1/projects/:projectId/webhooks';
  route({
    method: 'GET',
    url: base,
    summary: 'Outgoing webhook endpoints, with their pause state',
    tags: ['webhooks'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    response: z.object({ items: z.array(WebhookSchema) }),
    handler: async ({ ctx }) => listWebhooks(ctx),
  });
  route({
    method: 'POST',
    url: base,
    summary: 'Add an endpoint; answers its signing secret (whsec_…) once',
    tags: ['webhooks'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    body: CreateWebhookInput,
    response: CreatedWebhookSchema,
    status: 201,
    handler: async ({ ctx, body }) => createWebhook(ctx, body),
  });
  route({
    method: 'PATCH',
    url: `${base}/:id`,
    summary: 'Change the URL or events, or disable / enable (enabling resumes a paused endpoint)',
    tags: ['webhooks'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    body: UpdateWebhookInput,
    response: WebhookSchema,
    handler: async ({ ctx, params, body }) => updateWebhook(ctx, params.id, body),
  });
  route({
    method: 'DELETE',
    url: `${base}/:id`,
    summary: 'Remove an endpoint and its delivery log',
    tags: ['webhooks'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    status: 204,
    handler: async ({ ctx, params, reply }) => {
      await deleteWebhook(ctx, params.id);
      return reply.code(204).send();
    },
  });
  route({
    method: 'GET',
    url: `${base}/:id/deliveries`,
    summary: "The endpoint's delivery log, newest first, with response codes (page with `before`)",
    tags: ['webhooks'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    query: DeliveriesQuery,
    response: z.object({ items: z.array(DeliverySchema), nextBefore: z.number().nullable() }),
    handler: async ({ ctx, params, query }) => listDeliveries(ctx, params.id, query),
  });
  route({
    method: 'POST',
    url: `${base}/:id/deliveries/:deliveryId/redeliver`,
    summary: 'Send a delivery again (pending now; its attempts are kept)',
    tags: ['webhooks'],
    auth: 'project',
    roles: ['admin'],
    params: DeliveryParams,
    response: DeliverySchema,
    handler: async ({ ctx, params }) => redeliver(ctx, params.id, params.deliveryId),
  });
};
