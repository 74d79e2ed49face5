import { LogListQuery } from '../../core/log-query.js';
import {
  AssignInput,
  assignDialog,
  CloseInput,
  closeDialog,
  ReopenInput,
  reopenDialog,
} from '../../services/dialog-lifecycle.js';
import { getDialogDetail } from '../../services/get-dialog.js';
import { listLog } from '../../services/list-log.js';
import { listMessages, MessagesQuery } from '../../services/list-messages.js';
import { markDialogRead } from '../../services/mark-read.js';
import { ReplyInput, replyToDialog, StartDialogInput, startDialog } from '../../services/send-reply.js';
import type { RouteModule } from '../app.js';
import { ProjectItemParams, ProjectParams } from '../route.js';
import { z } from 'zod';
import { DialogDetailSchema, DialogSchema, MessageSchema, page } from '../schemas.js';

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
    response: DialogDetailSchema,
    handler: async ({ ctx, params }) => getDialogDetail(ctx, params.id),
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
    url: base,
    summary:
      'Start a dialog: SMS to any number from one of the channel’s numbers; a messenger to someone who wrote to it before. A client with an open dialog on the channel gets the message there.',
    tags: ['dialogs'],
    auth: 'project',
    params: ProjectParams,
    body: StartDialogInput,
    status: 201,
    response: z.object({ created: z.boolean(), dialog: DialogSchema, message: MessageSchema }),
    idempotent: true,
    handler: async ({ ctx, body, send }) => startDialog(ctx, body, send),
  });
  route({
    method: 'POST',
    url: `${base}/:id/reply`,
    summary:
      'Answer the client: the message is queued (status "queued") and delivered by the outbox; an unassigned dialog is taken by the user who answers',
    tags: ['dialogs'],
    auth: 'project',
    params: ProjectItemParams,
    body: ReplyInput,
    status: 201,
    response: MessageSchema,
    idempotent: true,
    handler: async ({ ctx, params, body, send }) => replyToDialog(ctx, params.id, body, send),
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
  route({
    method: 'POST',
    url: `${base}/:id/read`,
    summary: 'Mark a dialog read: its unread count becomes 0 (the workspace calls this when a dialog is opened)',
    tags: ['dialogs'],
    auth: 'project',
    params: ProjectItemParams,
    body: z.strictObject({}),
    status: 204,
    handler: async ({ ctx, params, reply }) => {
      await markDialogRead(ctx, params.id);
      return reply.code(204).send();
    },
  });
};
