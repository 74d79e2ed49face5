import { LogListQuery } from '../../core/log-query.js';
import {
  AssignInput,
  assignDialog,
  CloseInput,
  closeDialog,
  ReopenInput,
  reopenDialog,
} from '../../services/dialog-lifecycle.js';
import { getDialog } from '../../services/get-dialog.js';
import { listLog } from '../../services/list-log.js';
import { listMessages, MessagesQuery } from '../../services/list-messages.js';
import type { RouteModule } from '../app.js';
import { ProjectItemParams, ProjectParams } from '../route.js';
import { DialogSchema, MessageSchema, page } from '../schemas.js';

export const dialogRoutes: RouteModule = ({ route }) => {
  const base = '/api/v1/projects/:projectId/dialogs';
  route({
    method: 'GET',
    url: base,
    summary: 'The Message log: dialogs filtered, sorted and paged by cursor (closed ones by default)',
    tags: ['dialogs'],
    auth: 'project',
    params: ProjectParams,
    query: LogListQuery,
    response: page(DialogSchema),
    handler: async ({ ctx, query }) => listLog(ctx, query),
  });
  route({
    method: 'GET',
    url: `${base}/:id`,
    summary: 'One dialog',
    tags: ['dialogs'],
    auth: 'project',
    params: ProjectItemParams,
    response: DialogSchema,
    handler: async ({ ctx, params }) => getDialog(ctx, params.id),
  });
  route({
    method: 'GET',
    url: `${base}/:id/messages`,
    summary: "A dialog's message history, paged by cursor",
    tags: ['dialogs'],
    auth: 'project',
    params: ProjectItemParams,
    query: MessagesQuery,
    response: page(MessageSchema),
    handler: async ({ ctx, params, query }) => listMessages(ctx, params.id, query),
  });
  route({
    method: 'POST',
    url: `${base}/:id/close`,
    summary: 'Close a dialog (the responsible manager, or a supervisor)',
    tags: ['dialogs'],
    auth: 'project',
    params: ProjectItemParams,
    body: CloseInput,
    response: DialogSchema,
    handler: async ({ ctx, params, body }) => closeDialog(ctx, params.id, body),
  });
  route({
    method: 'POST',
    url: `${base}/:id/assign`,
    summary: 'Make a user responsible: take an unassigned dialog, or transfer one',
    tags: ['dialogs'],
    auth: 'project',
    params: ProjectItemParams,
    body: AssignInput,
    response: DialogSchema,
    handler: async ({ ctx, params, body }) => assignDialog(ctx, params.id, body),
  });
  route({
    method: 'POST',
    url: `${base}/:id/reopen`,
    summary: 'Reopen a closed dialog',
    tags: ['dialogs'],
    auth: 'project',
    params: ProjectItemParams,
    body: ReopenInput,
    response: DialogSchema,
    handler: async ({ ctx, params }) => reopenDialog(ctx, params.id),
  });
};
