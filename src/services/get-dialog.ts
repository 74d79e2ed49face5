import { NotFoundError } from '../core/errors.js';
import { findDialog, identityReachability, lastInboundAt } from '../store/dialogs.js';
import { actorRole, actorUserId, type ProjectContext } from './context.js';
import { dialogDto } from './dto.js';
import { projectRules } from './service-switches.js';

/** The manager visibility rule of SPEC §1, as a store filter argument. */
export function managerVisibility(ctx: ProjectContext): number | undefined {
  if (actorRole(ctx.actor) !== 'manager') return undefined;
  return actorUserId(ctx.actor) ?? -1;
}

/** A dialog the actor may see; a foreign or hidden dialog is reported exactly like a missing one. */
export async function loadVisibleDialog(ctx: ProjectContext, id: number) {
  const row = await findDialog(ctx.store, ctx.project.id, id, managerVisibility(ctx));
  if (!row) throw new NotFoundError('Dialog');
  return row;
}

export async function getDialog(ctx: ProjectContext, id: number) {
  return dialogDto(await loadVisibleDialog(ctx, id));
}

/** One dialog with what the composer needs to warn before a send (reachability, Messenger's window). */
export async function getDialogDetail(ctx: ProjectContext, id: number) {
  const d = await loadVisibleDialog(ctx, id);
  const [reach, lastIn, rules] = await Promise.all([
    identityReachability(ctx.store, ctx.project.id, d.identity_id),
    lastInboundAt(ctx.store, d.identity_id, ctx.project.id),
    projectRules(ctx, ctx.project.id),
  ]);
  return {
    ...dialogDto(d),
    distributionMode: rules.distributionMode,
    clientReachable: reach,
    lastClientMessageAt: lastIn === null ? null : new Date(lastIn).toISOString(),
  };
}
