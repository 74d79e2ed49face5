import { NotFoundError } from '../core/errors.js';
import { findDialog } from '../store/dialogs.js';
import { actorRole, actorUserId, type ProjectContext } from './context.js';
import { dialogDto } from './dto.js';

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
