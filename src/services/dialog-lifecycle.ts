import { z } from 'zod';
import { sortKey } from '../core/log-query.js';
import { ConflictError, ForbiddenError, InvalidStateError, invalid } from '../core/errors.js';
import { addDialogManager } from '../store/dialogs.js';
import type { DomainEvent } from '../realtime/bus.js';
import { isUniqueViolation } from '../store/errors.js';
import { audit } from './audit.js';
import { actorUserId, type ProjectContext } from './context.js';
import { dialogDto } from './dto.js';
import { loadVisibleDialog } from './get-dialog.js';
import { isSupervising, requireMayTakeUnassigned, requireOwnOrUnassigned } from './distribution.js';
import { recordWebhookEvents } from './webhooks.js';

/**
 * The lifecycle of SPEC §4.3: new (unassigned) → open (a responsible manager) → closed.
 * Each verb re-checks the state in its UPDATE, so two people acting at once cannot both win.
 */

export const CloseInput = z.strictObject({
  reason: z.string().trim().max(500).optional().describe('Why the dialog was closed (optional)'),
});
export const AssignInput = z.strictObject({
  managerId: z.number().int().positive().describe('The user who becomes responsible'),
});
export const ReopenInput = z.strictObject({});

/** After the commit: tell the workspaces (and, for a close, the webhook workers), then answer the dialog as it is now. */
async function reload(ctx: ProjectContext, id: number, events: readonly DomainEvent[] = [updated(ctx, id)]) {
  for (const e of events) ctx.bus.publish(e);
  return dialogDto(await loadVisibleDialog(ctx, id));
}

function updated(ctx: ProjectContext, dialogId: number): DomainEvent {
  return { type: 'dialog.updated', projectId: ctx.project.id, dialogId };
}

export async function closeDialog(ctx: ProjectContext, id: number, input: z.infer<typeof CloseInput>) {
  const d = await loadVisibleDialog(ctx, id);
  await requireOwnOrUnassigned(ctx, d, 'close');
  if (d.status === 'closed') throw new InvalidStateError('The dialog is already closed');
  const now = ctx.clock();
  const events = [updated(ctx, d.id)];
  await ctx.store.db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('dialogs')
      .set({
        status: 'closed',
        closed_at: now,
        closed_by: actorUserId(ctx.actor),
        closed_by_name: ctx.actor.name,
        close_reason: input.reason || null,
        unread_count: 0,
        updated_at: now,
      })
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', d.id)
      .where('status', '=', d.status)
      // Not if it was transferred or a client message arrived since the permission check read it.
      .where((eb) => (d.manager_id === null ? eb('manager_id', 'is', null) : eb('manager_id', '=', d.manager_id)))
      .where('updated_at', '=', d.updated_at)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new ConflictError('The dialog changed meanwhile; reload it');
    await audit(ctx, trx, 'dialog.close', { type: 'dialog', id: d.id }, { reason: input.reason ?? null });
    // `dialog.closed` commits with the close. Assigning and reopening need no such call: only a
    // close of a dialog is a webhook event.
    await recordWebhookEvents(trx, ctx, events);
  });
  return reload(ctx, d.id, events);
}

export async function assignDialog(ctx: ProjectContext, id: number, input: z.infer<typeof AssignInput>) {
  const d = await loadVisibleDialog(ctx, id);
  if (d.status === 'closed') throw new InvalidStateError('A closed dialog cannot be assigned; reopen it first');
  const me = actorUserId(ctx.actor);
  if (!isSupervising(ctx)) {
    const taking = d.manager_id === null && me !== null && input.managerId === me;
    const transferringOwn = me !== null && d.manager_id === me;
    if (!taking && !transferringOwn) {
      throw new ForbiddenError('A manager can take an unassigned dialog or transfer their own');
    }
    if (taking) await requireMayTakeUnassigned(ctx, 'take');
  }
  const target = await ctx.store.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id', 'users.name', 'users.disabled'])
    .where('memberships.project_id', '=', ctx.project.id)
    .where('memberships.user_id', '=', input.managerId)
    .executeTakeFirst();
  if (!target || target.disabled) throw invalid('body.managerId', 'is not an active member of this project');
  const now = ctx.clock();
  await ctx.store.db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('dialogs')
      .set({
        manager_id: target.id,
        manager_name: target.name,
        manager_sort: sortKey(target.name),
        status: 'open',
        updated_at: now,
      })
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', d.id)
      .where('status', '=', d.status)
      .where((eb) => (d.manager_id === null ? eb('manager_id', 'is', null) : eb('manager_id', '=', d.manager_id)))
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new ConflictError('The dialog changed meanwhile; reload it');
    await addDialogManager(trx, { project_id: ctx.project.id, dialog_id: d.id, user_id: target.id, assigned_at: now });
    await audit(ctx, trx, 'dialog.assign', { type: 'dialog', id: d.id }, { from: d.manager_id, to: target.id });
  });
  return reload(ctx, d.id);
}

export async function reopenDialog(ctx: ProjectContext, id: number) {
  const d = await loadVisibleDialog(ctx, id);
  if (!isSupervising(ctx)) {
    if (actorUserId(ctx.actor) === null) throw new ForbiddenError('A manager token cannot reopen dialogs');
    // Visibility alone is not enough: a manager also sees dialogs transferred away from them.
    await requireOwnOrUnassigned(ctx, d, 'reopen');
  }
  if (d.status !== 'closed') throw new InvalidStateError('Only a closed dialog can be reopened');
  // One open dialog per client identity: the client's next message goes to it (R7).
  const other = await ctx.store.db
    .selectFrom('dialogs')
    .select('id')
    .where('project_id', '=', ctx.project.id)
    .where('identity_id', '=', d.identity_id)
    .where('status', 'in', ['new', 'open'])
    .executeTakeFirst();
  if (other) throw new ConflictError(`The client already has an open dialog (${other.id}); continue there`);
  const now = ctx.clock();
  await ctx.store.db
    .transaction()
    .execute(async (trx) => {
      const res = await trx
        .updateTable('dialogs')
        .set({
          status: d.manager_id === null ? 'new' : 'open',
          closed_at: null,
          closed_by: null,
          closed_by_name: null,
          close_reason: null,
          updated_at: now,
        })
        .where('project_id', '=', ctx.project.id)
        .where('id', '=', d.id)
        .where('status', '=', 'closed')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw new ConflictError('The dialog changed meanwhile; reload it');
      await audit(ctx, trx, 'dialog.reopen', { type: 'dialog', id: d.id });
    })
    .catch((err: unknown) => {
      // The client wrote meanwhile and a new dialog opened: the store's one-open-dialog index says no.
      if (isUniqueViolation(err)) throw new ConflictError('The client already has an open dialog; continue there');
      throw err;
    });
  return reload(ctx, d.id);
}
